//! The SSRF corpus: each row is a `redirect_url`/`webhook_url` and whether the real server must
//! accept it. Hosts are literals (or `localhost`), so no test depends on outside DNS.
mod common;

use common::{error_code, TestServer, PUBLIC_URL};
use reqwest::StatusCode;
use serde_json::json;

/// (url, accepted)
const CORPUS: &[(&str, bool)] = &[
    // Public addresses pass.
    ("https://93.184.216.34/cb", true),
    ("https://8.8.8.8:8443/cb?x=1", true),
    ("https://[2606:4700:4700::1111]/cb", true),
    // Scheme and form.
    ("http://93.184.216.34/cb", false),
    ("ftp://93.184.216.34/cb", false),
    ("javascript:alert(1)", false),
    ("https://", false),
    ("//93.184.216.34/cb", false),
    ("not a url", false),
    // Loopback in every spelling.
    ("https://127.0.0.1/", false),
    ("https://127.1/", false),
    ("https://127.0.1/", false),
    ("https://2130706433/", false),
    ("https://0x7f000001/", false),
    ("https://0x7f.0.0.1/", false),
    ("https://0177.0.0.1/", false),
    ("https://017700000001/", false),
    ("https://localhost/", false),
    ("https://localhost./", false),
    ("https://app.localhost/", false),
    ("https://[::1]/", false),
    ("https://[0:0:0:0:0:0:0:1]/", false),
    // Unspecified.
    ("https://0.0.0.0/", false),
    ("https://0/", false),
    ("https://[::]/", false),
    // Private ranges.
    ("https://10.0.0.1/", false),
    ("https://10.255.255.255/", false),
    ("https://172.16.0.1/", false),
    ("https://172.31.255.1/", false),
    ("https://192.168.1.1/", false),
    ("https://0xc0a80101/", false),
    // Link-local and cloud metadata.
    ("https://169.254.169.254/latest/meta-data/", false),
    ("https://169.254.0.1/", false),
    ("https://2852039166/", false),
    // CGNAT.
    ("https://100.64.0.1/", false),
    ("https://100.127.255.254/", false),
    // Multicast, reserved, broadcast.
    ("https://224.0.0.1/", false),
    ("https://239.255.255.250/", false),
    ("https://240.0.0.1/", false),
    ("https://255.255.255.255/", false),
    // Documentation and benchmarking.
    ("https://192.0.2.1/", false),
    ("https://198.18.0.1/", false),
    // IPv6 private forms.
    ("https://[fc00::1]/", false),
    ("https://[fd12:3456:789a::1]/", false),
    ("https://[fe80::1]/", false),
    ("https://[ff02::1]/", false),
    ("https://[::ffff:127.0.0.1]/", false),
    ("https://[::ffff:7f00:1]/", false),
    ("https://[::ffff:10.0.0.1]/", false),
    ("https://[::ffff:93.184.216.34]/", false),
    ("https://[::127.0.0.1]/", false),
    ("https://[64:ff9b::a00:1]/", false),
    ("https://[2002:7f00:1::]/", false),
    ("https://[2001:db8::1]/", false),
    // Userinfo tricks.
    ("https://x@10.0.0.1/", false),
    ("https://93.184.216.34@10.0.0.1/", false),
    ("https://user:pass@93.184.216.34/", false),
    ("https://10.0.0.1#@93.184.216.34/", false),
    ("https://10.0.0.1\\@93.184.216.34/", false),
];

#[tokio::test]
async fn ssrf_corpus_on_redirect_and_webhook_urls() {
    let srv = TestServer::start(&["--key-rate-limit", "10000"]).await;
    let (key, _) = srv.create_key("acme").await;
    let mut wrong = Vec::new();
    for &(url, accepted) in CORPUS {
        for (field, code) in [
            ("redirect_url", "invalid_redirect_url"),
            ("webhook_url", "invalid_webhook_url"),
        ] {
            let mut body = json!({ "redirect_url": PUBLIC_URL });
            body[field] = json!(url);
            let r = srv.managed(&key, &body).await;
            let status = r.status();
            let ok = if accepted {
                status == StatusCode::CREATED
            } else {
                status == StatusCode::UNPROCESSABLE_ENTITY && error_code(r).await == code
            };
            if !ok {
                wrong.push(format!("{field}={url}: got {status}"));
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "SSRF corpus mismatches:\n{}",
        wrong.join("\n")
    );
    srv.stop().await;
}

#[tokio::test]
async fn dev_setting_allows_loopback_http() {
    let srv = TestServer::start(&["--dev-allow-insecure-urls"]).await;
    let (key, _) = srv.create_key("acme").await;
    let r = srv
        .managed(
            &key,
            &json!({"redirect_url": "http://127.0.0.1:9/back", "webhook_url": "http://localhost:9/hook"}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::CREATED);
    srv.stop().await;
}

/// Only the person's browser follows `redirect_url`, so its name is not resolved: a name no
/// resolver knows (`.invalid`, RFC 6761) is accepted there — a tour or a backend without DNS
/// works — and refused as `webhook_url`, which the server itself calls.
#[tokio::test]
async fn redirect_names_are_not_resolved_webhook_names_are() {
    let srv = TestServer::start(&[]).await;
    let (key, _) = srv.create_key("acme").await;
    let redirect = "https://shop.invalid/back?order=7";
    let r = srv
        .managed(&key, &json!({ "redirect_url": redirect }))
        .await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let r = srv
        .managed(
            &key,
            &json!({ "redirect_url": redirect, "webhook_url": "https://hooks.invalid/ilive" }),
        )
        .await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(error_code(r).await, "invalid_webhook_url");
    srv.stop().await;
}

/// A server listening where other machines reach it must be told the address their browsers
/// use: without `ILIVE_PUBLIC_URL` it would hand out links to an address nobody can open.
#[tokio::test]
async fn a_server_reachable_from_elsewhere_needs_its_public_url() {
    use clap::Parser;
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", dir.path().join("ilive.db").display());
    let cli = server::cli::Cli::try_parse_from(["ilive", "--database-url", db.as_str()]).unwrap();
    assert!(cli.config.public_url.is_none());
    let listener = tokio::net::TcpListener::bind("0.0.0.0:0").await.unwrap();
    let err = server::serve(cli.config, listener, async {})
        .await
        .expect_err("refused without a public URL");
    assert!(err.to_string().contains("ILIVE_PUBLIC_URL"), "{err}");
}
