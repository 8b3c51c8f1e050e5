//! CORS for direct sessions through the real server: the allow-list's origins get the headers on
//! the public routes and their preflights; other origins, keyed routes and a server without the
//! setting get none.
mod common;

use clap::Parser;
use common::{TestServer, PUBLIC_URL};
use reqwest::{header::HeaderMap, Client, Method, StatusCode};
use serde_json::{json, Value};

const ALLOWED: &str = "https://app.example.com";
const SECOND: &str = "http://localhost:5173";
const FOREIGN: &str = "https://evil.example.net";

fn allow_origin(h: &HeaderMap) -> Option<&str> {
    h.get("access-control-allow-origin")
        .and_then(|v| v.to_str().ok())
}

/// No `Access-Control-*` header at all.
fn assert_no_cors(h: &HeaderMap, what: &str) {
    let cors: Vec<_> = h
        .keys()
        .filter(|k| k.as_str().starts_with("access-control-"))
        .collect();
    assert!(cors.is_empty(), "{what}: {cors:?}");
}

async fn preflight(srv: &TestServer, path: &str, origin: &str, method: &str) -> reqwest::Response {
    Client::new()
        .request(Method::OPTIONS, srv.url(path))
        .header("origin", origin)
        .header("access-control-request-method", method)
        .header("access-control-request-headers", "content-type")
        .send()
        .await
        .expect("preflight sent")
}

async fn get(srv: &TestServer, path: &str, origin: &str) -> reqwest::Response {
    Client::new()
        .get(srv.url(path))
        .header("origin", origin)
        .send()
        .await
        .expect("request sent")
}

/// Creates a direct session from `origin`'s page; returns the response's headers and body.
async fn create_direct(srv: &TestServer, origin: &str) -> (HeaderMap, Value) {
    let r = Client::new()
        .post(srv.url("/api/v1/session"))
        .header("origin", origin)
        .json(&json!({"mode": "passive"}))
        .send()
        .await
        .expect("request sent");
    assert_eq!(r.status(), StatusCode::CREATED);
    let headers = r.headers().clone();
    (headers, r.json().await.expect("JSON"))
}

#[tokio::test]
async fn allowed_origins_reach_the_public_routes() {
    let origins = format!("{ALLOWED}, {SECOND}");
    let srv = TestServer::start(&["--cors-origins", &origins]).await;

    // The preflight of a JSON POST is answered, for each origin of the list.
    for origin in [ALLOWED, SECOND] {
        let r = preflight(&srv, "/api/v1/session", origin, "POST").await;
        assert!(r.status().is_success(), "preflight: {}", r.status());
        let h = r.headers();
        assert_eq!(allow_origin(h), Some(origin));
        let methods = h["access-control-allow-methods"].to_str().unwrap();
        assert!(methods.contains("POST"), "{methods}");
        let headers = h["access-control-allow-headers"].to_str().unwrap();
        assert!(headers.contains("content-type"), "{headers}");
        assert!(h.get("access-control-allow-credentials").is_none());
    }

    // The request itself, and the routes the page then uses with the session's token.
    let (h, created) = create_direct(&srv, ALLOWED).await;
    assert_eq!(allow_origin(&h), Some(ALLOWED));
    let exposed = h["access-control-expose-headers"].to_str().unwrap();
    assert!(exposed.contains("x-ratelimit-remaining"), "{exposed}");
    let id = created["session_id"].as_str().unwrap();
    let token = created["token"].as_str().unwrap();
    for path in [
        "/api/v1/captcha".to_owned(),
        format!("/api/v1/session/{id}/result?token={token}"),
        format!("/api/v1/session/{id}/photo?token={token}"),
    ] {
        let r = get(&srv, &path, ALLOWED).await;
        assert!(r.status().is_success(), "{path}: {}", r.status());
        assert_eq!(allow_origin(r.headers()), Some(ALLOWED), "{path}");
        let r = preflight(&srv, &path, ALLOWED, "GET").await;
        assert_eq!(allow_origin(r.headers()), Some(ALLOWED), "preflight {path}");
    }
    // A refusal carries the headers too, so the page can read the error's code.
    let r = get(
        &srv,
        &format!("/api/v1/session/{id}/result?token=0"),
        ALLOWED,
    )
    .await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(allow_origin(r.headers()), Some(ALLOWED));
    srv.stop().await;
}

#[tokio::test]
async fn foreign_origins_and_keyed_routes_get_nothing() {
    let srv = TestServer::start(&["--cors-origins", ALLOWED]).await;
    let (key, _) = srv.create_key("acme").await;

    // Another origin: the request is served (CORS is the browser's check), without the headers
    // that would let its page read the answer.
    let r = preflight(&srv, "/api/v1/session", FOREIGN, "POST").await;
    assert!(allow_origin(r.headers()).is_none());
    let (h, created) = create_direct(&srv, FOREIGN).await;
    assert!(allow_origin(&h).is_none());
    let id = created["session_id"].as_str().unwrap();
    let token = created["token"].as_str().unwrap();
    let r = get(
        &srv,
        &format!("/api/v1/session/{id}/result?token={token}"),
        FOREIGN,
    )
    .await;
    assert!(allow_origin(r.headers()).is_none());

    // Keyed routes never answer CORS, not even to an allowed origin.
    let r = Client::new()
        .post(srv.url("/api/v1/managed-session"))
        .header("origin", ALLOWED)
        .bearer_auth(&key)
        .json(&json!({"redirect_url": PUBLIC_URL}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    assert_no_cors(r.headers(), "managed-session");
    let managed: Value = r.json().await.unwrap();
    let managed_id = managed["session_id"].as_str().unwrap();
    let keyed = [
        ("/api/v1/managed-session".to_owned(), "POST"),
        (format!("/api/v1/session/{managed_id}"), "DELETE"),
        ("/api/v2/faces:compare".to_owned(), "POST"),
        ("/api/v2/faces:detect".to_owned(), "POST"),
        (
            format!("/api/v1/session/{id}/compare?token={token}"),
            "POST",
        ),
    ];
    for (path, method) in &keyed {
        let r = preflight(&srv, path, ALLOWED, method).await;
        assert!(!r.status().is_success(), "preflight {path}: {}", r.status());
        assert_no_cors(r.headers(), path);
    }
    let r = Client::new()
        .delete(srv.url(&format!("/api/v1/session/{managed_id}")))
        .header("origin", ALLOWED)
        .bearer_auth(&key)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    assert_no_cors(r.headers(), "erase");
    srv.stop().await;
}

#[tokio::test]
async fn without_the_setting_there_is_no_cors() {
    let srv = TestServer::start(&[]).await;
    let r = preflight(&srv, "/api/v1/session", ALLOWED, "POST").await;
    assert_eq!(r.status(), StatusCode::METHOD_NOT_ALLOWED);
    assert_no_cors(r.headers(), "preflight");
    let (h, _) = create_direct(&srv, ALLOWED).await;
    assert_no_cors(&h, "direct session");
    srv.stop().await;
}

#[tokio::test]
async fn a_malformed_origin_stops_the_server_at_start() {
    for bad in ["app.example.com", "https://app.example.com/path", "*"] {
        let cli = server::cli::Cli::try_parse_from(["ilive", "--cors-origins", bad]).unwrap();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let err = server::serve(cli.config, listener, async {})
            .await
            .expect_err("a malformed origin is refused");
        assert!(err.to_string().contains("ILIVE_CORS_ORIGINS"), "{err}");
    }
}
