//! The webhook client ignores proxy variables: a proxy would connect to the receiver itself,
//! past the addresses the URL guard checked and pinned. Its own test binary, because it sets
//! `HTTP_PROXY`/`HTTPS_PROXY` for the whole process.
mod common;

use std::{
    sync::{
        atomic::{AtomicUsize, Ordering},
        Arc,
    },
    time::Duration,
};

use app::api::Verdict;
use axum::{http::StatusCode, routing::post, Router};
use common::{TestServer, PUBLIC_URL};
use serde_json::json;
use server::store::sessions::{self, Completion, ResultDetails};

/// Counts the connections accepted on a local port, and answers none of them.
async fn trap() -> (String, Arc<AtomicUsize>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let hits = Arc::new(AtomicUsize::new(0));
    let counter = hits.clone();
    tokio::spawn(async move {
        while let Ok((socket, _)) = listener.accept().await {
            counter.fetch_add(1, Ordering::SeqCst);
            drop(socket);
        }
    });
    (url, hits)
}

#[tokio::test]
async fn the_webhook_goes_direct_whatever_the_proxy_variables_say() {
    let delivered = Arc::new(AtomicUsize::new(0));
    let seen = delivered.clone();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let hook_url = format!("http://{}/hook", listener.local_addr().unwrap());
    let app = Router::new().route(
        "/hook",
        post(move || {
            let seen = seen.clone();
            async move {
                seen.fetch_add(1, Ordering::SeqCst);
                StatusCode::OK
            }
        }),
    );
    tokio::spawn(async move { axum::serve(listener, app).await });

    let srv =
        TestServer::start(&["--dev-allow-insecure-urls", "--webhook-backoff-secs", "1"]).await;
    let (key, _) = srv.create_key("acme").await;
    let created = srv
        .create_managed(
            &key,
            &json!({"redirect_url": PUBLIC_URL, "webhook_url": hook_url, "reference_id": "p"}),
        )
        .await;
    let id = created["session_id"].as_str().expect("created").to_owned();

    // From here on every client that honours the environment would go through the trap.
    let (proxy, hits) = trap().await;
    for var in [
        "HTTP_PROXY",
        "HTTPS_PROXY",
        "ALL_PROXY",
        "http_proxy",
        "https_proxy",
    ] {
        std::env::set_var(var, &proxy);
    }
    std::env::remove_var("NO_PROXY");
    std::env::remove_var("no_proxy");
    sessions::complete(
        &srv.db().await,
        &id,
        Completion {
            verdict: Verdict::Pass,
            confidence: 0.9,
            details: ResultDetails::default(),
            camera_metadata: None,
            photo: None,
        },
    )
    .await
    .unwrap();
    for _ in 0..200 {
        if delivered.load(Ordering::SeqCst) > 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(delivered.load(Ordering::SeqCst), 1, "delivered directly");
    assert_eq!(hits.load(Ordering::SeqCst), 0, "the proxy was never asked");
}
