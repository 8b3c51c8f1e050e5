//! What a stranger cannot make the server do through the sessions API: more sessions than the
//! rate limits allow, sessions without the proof-of-work CAPTCHA, endless guesses at API keys,
//! connections held open without sending anything (the real server, as in `sessions.rs`).
mod common;

use common::{error_code, expect_error, TestServer, PUBLIC_URL};
use reqwest::{Client, StatusCode};
use serde_json::{json, Value};

#[tokio::test]
async fn direct_sessions_are_rate_limited_per_address() {
    let srv = TestServer::start(&["--direct-rate-limit", "2"]).await;
    let c = Client::new();
    for remaining in ["1", "0"] {
        let r = c.post(srv.url("/api/v1/session")).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::CREATED);
        assert_eq!(r.headers()["x-ratelimit-limit"], "2");
        assert_eq!(r.headers()["x-ratelimit-remaining"], remaining);
        let reset: u64 = r.headers()["x-ratelimit-reset"]
            .to_str()
            .unwrap()
            .parse()
            .unwrap();
        assert!((1..=60).contains(&reset));
    }
    let r = c.post(srv.url("/api/v1/session")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(r.headers().contains_key("retry-after"));
    assert_eq!(error_code(r).await, "rate_limited");
    srv.stop().await;
}

#[tokio::test]
async fn keyed_routes_are_rate_limited_per_key() {
    let srv = TestServer::start(&["--key-rate-limit", "1"]).await;
    let (a, _) = srv.create_key("a").await;
    let (b, _) = srv.create_key("b").await;
    let body = json!({"redirect_url": PUBLIC_URL});
    assert_eq!(
        srv.managed(&a, &body.clone()).await.status(),
        StatusCode::CREATED
    );
    let r = srv.managed(&a, &body.clone()).await;
    expect_error(r, StatusCode::TOO_MANY_REQUESTS, "rate_limited").await;
    assert_eq!(srv.managed(&b, &body).await.status(), StatusCode::CREATED);
    srv.stop().await;
}

#[tokio::test]
async fn proof_of_work_captcha_guards_direct_sessions() {
    let srv = TestServer::start(&["--captcha", "pow", "--pow-difficulty", "8"]).await;
    let c = Client::new();
    let r = c.post(srv.url("/api/v1/session")).send().await.unwrap();
    expect_error(r, StatusCode::FORBIDDEN, "captcha_required").await;

    let info: Value = c
        .get(srv.url("/api/v1/captcha"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(info["provider"], "pow");
    let challenge = info["challenge"].as_str().unwrap();
    let difficulty = info["difficulty"].as_u64().unwrap() as u32;

    let forged = format!("{}0:1", &challenge[..challenge.len() - 1]);
    let r = c
        .post(srv.url("/api/v1/session"))
        .json(&json!({ "captcha": forged }))
        .send()
        .await
        .unwrap();
    assert_eq!(error_code(r).await, "captcha_invalid");

    let solution = server::captcha::solve_pow(challenge, difficulty);
    let r = c
        .post(srv.url("/api/v1/session"))
        .json(&json!({ "captcha": solution, "mode": "passive" }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    let r = c
        .post(srv.url("/api/v1/session"))
        .json(&json!({ "captcha": solution }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN, "a challenge works once");
    assert_eq!(error_code(r).await, "captcha_invalid");
    srv.stop().await;
}

/// Guessing keys costs a database lookup each: past a budget of failures per minute, a client
/// network gets `rate_limited` instead.
#[tokio::test]
async fn failed_authentications_are_limited() {
    let srv = TestServer::start(&[]).await;
    let c = Client::new();
    let budget = server::extract::AUTH_FAILURES_PER_MINUTE as usize;
    for i in 0..budget {
        let r = c
            .post(srv.url("/api/v1/managed-session"))
            .bearer_auth(format!("iksk_guess{i}"))
            .json(&json!({}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED, "attempt {i}");
    }
    let r = c
        .post(srv.url("/api/v1/managed-session"))
        .bearer_auth("iksk_one_more_guess")
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    expect_error(r, StatusCode::TOO_MANY_REQUESTS, "rate_limited").await;
    srv.stop().await;
}

/// Whether the server closes `tcp` within `secs` (a read that ends or fails).
async fn closed_within(mut tcp: tokio::io::ReadHalf<tokio::net::TcpStream>, secs: u64) -> bool {
    use tokio::io::AsyncReadExt;
    let mut buf = [0u8; 4096];
    tokio::time::timeout(std::time::Duration::from_secs(secs), async {
        while let Ok(n) = tcp.read(&mut buf).await {
            if n == 0 {
                break;
            }
        }
    })
    .await
    .is_ok()
}

/// Connections that send nothing, trickle their headers, or never send the body they announced
/// are closed by the server: strangers cannot hold file descriptors for ever.
#[tokio::test]
async fn silent_and_slow_connections_are_closed() {
    use tokio::io::AsyncWriteExt;
    let srv = TestServer::start(&["--header-timeout-secs", "1", "--body-timeout-secs", "1"]).await;
    let addr = srv.base.trim_start_matches("http://").to_owned();
    let connect =
        || async { tokio::io::split(tokio::net::TcpStream::connect(&addr).await.unwrap()) };

    let (silent, _keep) = connect().await;
    assert!(
        closed_within(silent, 4).await,
        "a silent connection stayed open"
    );

    let (slow, mut w) = connect().await;
    tokio::spawn(async move {
        for b in b"GET /healthz HTTP/1.1\r\nHost: ilive\r\nX-Slow: "
            .iter()
            .cycle()
            .take(40)
        {
            if w.write_all(&[*b]).await.is_err() {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        }
    });
    assert!(
        closed_within(slow, 4).await,
        "trickled headers kept the connection"
    );

    let (bodyless, mut w) = connect().await;
    w.write_all(
        b"POST /api/v1/session HTTP/1.1\r\nHost: ilive\r\nContent-Type: application/json\r\n\
          Content-Length: 100\r\n\r\n{",
    )
    .await
    .unwrap();
    assert!(
        closed_within(bodyless, 5).await,
        "a missing body kept the connection"
    );
    srv.stop().await;
}
