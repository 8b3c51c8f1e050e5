//! Capture capacity through the real server: captures beyond it are refused up front with
//! `capacity` and `Retry-After` (at direct-session creation and at the WebSocket upgrade), a
//! refused link stays usable, and without the override the capacity is measured at start-up.
mod common;

use std::time::Duration;

use common::{expect_error, TestServer, PUBLIC_URL};
use futures_util::{SinkExt, StreamExt};
use reqwest::StatusCode;
use serde_json::{json, Value};
use tokio_tungstenite::{connect_async, tungstenite::Message};

type Ws =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

async fn next_json(ws: &mut Ws) -> Option<Value> {
    loop {
        match tokio::time::timeout(Duration::from_secs(30), ws.next())
            .await
            .ok()??
        {
            Ok(Message::Text(t)) => return Some(common::protocol::server_message(&t)),
            Ok(Message::Close(_)) | Err(_) => return None,
            Ok(_) => continue,
        }
    }
}

async fn create_direct(srv: &TestServer) -> reqwest::Response {
    reqwest::Client::new()
        .post(srv.url("/api/v1/session"))
        .json(&json!({ "mode": "passive" }))
        .send()
        .await
        .unwrap()
}

fn ws_url(srv: &TestServer, created: &Value) -> String {
    let page = created["session_url"].as_str().unwrap();
    let (_, rest) = page.split_once("/session/").unwrap();
    format!(
        "{}/api/v1/session/{}",
        srv.base.replacen("http", "ws", 1),
        rest.replacen("?c=", "/ws?c=", 1)
    )
}

#[tokio::test]
async fn captures_beyond_capacity_are_refused_up_front_with_retry_after() {
    let srv = TestServer::start(&["--max-live-sessions", "1", "--direct-rate-limit", "100"]).await;
    let ready: Value = srv.get_json("/readyz").await;
    assert_eq!(ready["capacity"]["captures"], 1, "{ready}");
    assert_eq!(ready["capacity"]["source"], "configured", "{ready}");

    // The first direct session holds the only slot while its page connects.
    let first = create_direct(&srv).await;
    assert_eq!(first.status(), StatusCode::CREATED);
    let first: Value = first.json().await.unwrap();
    let refused = create_direct(&srv).await;
    assert_eq!(
        refused.headers()["retry-after"].to_str().unwrap(),
        server::capacity::RETRY_AFTER_SECS.to_string()
    );
    expect_error(refused, StatusCode::SERVICE_UNAVAILABLE, "capacity").await;

    // A managed session is created whatever the load, and refused at its upgrade while the
    // slot is taken, without using up its link.
    let (key, _) = srv.create_key("acme").await;
    let managed = srv
        .create_managed(
            &key,
            &json!({"redirect_url": PUBLIC_URL, "mode": "passive"}),
        )
        .await;
    let (mut live, _) = connect_async(ws_url(&srv, &first)).await.unwrap();
    assert_eq!(next_json(&mut live).await.unwrap()["type"], "ready");
    let (mut busy, resp) = connect_async(ws_url(&srv, &managed)).await.unwrap();
    assert!(resp.headers().contains_key("retry-after"));
    let msg = next_json(&mut busy).await.unwrap();
    assert_eq!(msg["type"], "error");
    assert_eq!(msg["code"], "capacity", "{msg}");
    let ready: Value = srv.get_json("/readyz").await;
    assert_eq!(ready["capacity"]["live"], 1, "{ready}");

    // The live capture ends; its slot frees, and the refused link works.
    live.send(Message::Text(r#"{"type":"cancel"}"#.into()))
        .await
        .unwrap();
    while let Some(m) = next_json(&mut live).await {
        if m["type"] == "verdict" {
            break;
        }
    }
    drop(live);
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    let mut again = loop {
        let (mut ws, _) = connect_async(ws_url(&srv, &managed)).await.unwrap();
        let m = next_json(&mut ws).await.unwrap();
        if m["type"] == "ready" {
            break ws;
        }
        assert_eq!(m["code"], "capacity", "{m}");
        assert!(std::time::Instant::now() < deadline, "the slot never freed");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    again
        .send(Message::Text(r#"{"type":"cancel"}"#.into()))
        .await
        .unwrap();
    while next_json(&mut again).await.is_some() {}

    let metrics = reqwest::get(srv.url("/metrics"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains("ilive_capacity_refusals_total{at=\"create\"} 1"),
        "{metrics}"
    );
    assert!(metrics.contains("ilive_capacity_refusals_total{at=\"upgrade\"}"));
    assert!(metrics.contains("ilive_capture_capacity 1"));
    srv.stop().await;
}

#[tokio::test]
async fn without_the_override_the_capacity_is_measured_at_start_up() {
    let srv = TestServer::start_measuring(&["--inference-workers", "1"]).await;
    let ready: Value = srv.get_json("/readyz").await;
    let cap = &ready["capacity"];
    assert_eq!(cap["source"], "measured", "{ready}");
    assert_eq!(cap["workers"], 1, "{ready}");
    let fps = cap["frames_per_second"].as_f64().unwrap();
    assert!(fps > 0.0, "{ready}");
    assert_eq!(
        cap["captures"].as_u64().unwrap() as usize,
        server::capacity::sessions_for(fps),
        "{ready}"
    );
    srv.stop().await;
}
