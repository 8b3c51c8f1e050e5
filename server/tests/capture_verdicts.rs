//! Captures through the real server and models that end in a stored verdict because of what the
//! client sent: a still photo streamed as video (`fail`, frozen frames), a message over 4 MiB
//! (`retry`, the connection cannot go on). The capture link's other rules are in `capture.rs`.
mod common;

use std::time::Duration;

use common::{
    capture::{face_frame, id_and_capture, next_json, open_capture, ws_url},
    TestServer, PUBLIC_URL,
};
use futures_util::{SinkExt, StreamExt};
use serde_json::json;
use tokio_tungstenite::{connect_async, tungstenite::Message};

#[tokio::test]
async fn a_still_photo_streamed_as_video_fails_as_frozen() {
    let srv = TestServer::start(&["--dev-allow-insecure-urls"]).await;
    let (key, _) = srv.create_key("acme").await;
    let created = srv
        .create_managed(
            &key,
            &json!({"redirect_url": PUBLIC_URL, "mode": "passive"}),
        )
        .await;
    let (mut ws, _) = connect_async(ws_url(&srv, &created)).await.unwrap();
    assert_eq!(next_json(&mut ws).await.unwrap()["type"], "ready");
    ws.send(Message::Text(
        json!({"type":"hello","camera":{"label":"test camera","width":640,"height":480,"frame_rate":15.0}})
            .to_string()
            .into(),
    ))
    .await
    .unwrap();
    let frame = face_frame();
    let (mut tx, mut rx) = ws.split();
    let sender = tokio::spawn(async move {
        for _ in 0..150 {
            if tx
                .send(Message::Binary(frame.clone().into()))
                .await
                .is_err()
            {
                break;
            }
            tokio::time::sleep(Duration::from_millis(66)).await;
        }
    });
    let mut statuses = vec![];
    let mut verdict = None;
    let mut others = vec![];
    while let Some(Ok(msg)) = tokio::time::timeout(Duration::from_secs(60), rx.next())
        .await
        .ok()
        .flatten()
    {
        let Message::Text(t) = msg else { continue };
        let m = common::protocol::server_message(&t);
        match m["type"].as_str() {
            Some("face") => {
                if statuses.is_empty() {
                    eprintln!("first face message: {m}");
                }
                statuses.push(m["status"].as_str().unwrap().to_owned())
            }
            Some("verdict") => {
                verdict = Some(m);
                break;
            }
            Some("error") => others.push(m),
            _ => {}
        }
    }
    sender.abort();
    assert!(
        statuses.iter().any(|s| s == "ok"),
        "the face was seen: {statuses:?}"
    );
    let v = verdict.unwrap_or_else(|| panic!("no verdict; errors: {others:?}"));
    assert_eq!(v["verdict"], "fail", "{v}");
    assert!(
        v["reasons"]
            .as_array()
            .unwrap()
            .contains(&json!("frozen_frames")),
        "{v}"
    );
    assert!(v["redirect"].as_str().unwrap().contains("session_id="));
    srv.stop().await;
}

/// A message over the WebSocket layer's 4 MiB limit cannot be skipped (nothing after it can be
/// read), but it is not a silent drop either: the browser is told `frame_too_large`, and the
/// capture ends with a stored and sent verdict.
#[tokio::test]
async fn a_message_over_4_mib_is_answered_and_ends_with_a_verdict() {
    let srv = TestServer::start(&[]).await;
    let (created, ws) = open_capture(&srv, "passive").await;
    let huge = vec![0u8; server::ws::MAX_MESSAGE_BYTES + 1];
    let (mut tx, mut rx) = ws.split();
    // The server stops reading after the message's header: the rest may never be written, so
    // the replies are read meanwhile.
    let sender = tokio::spawn(async move {
        let _ = tx.send(Message::Binary(huge.into())).await;
        tx
    });
    let mut seen = vec![];
    while let Ok(Some(Ok(msg))) = tokio::time::timeout(Duration::from_secs(30), rx.next()).await {
        let Message::Text(t) = msg else { continue };
        let m = common::protocol::server_message(&t);
        let last = m["type"] == "verdict";
        seen.push(m);
        if last {
            break;
        }
    }
    sender.abort();
    let types: Vec<_> = seen.iter().map(|m| m["type"].as_str().unwrap()).collect();
    assert_eq!(types, ["error", "analyzing", "verdict"], "{seen:?}");
    assert_eq!(seen[0]["code"], "frame_too_large");
    assert_eq!(seen[2]["verdict"], "retry");
    assert!(
        seen[2]["reasons"]
            .as_array()
            .unwrap()
            .contains(&json!("connection_lost")),
        "{seen:?}"
    );
    let (id, _) = id_and_capture(&created);
    let stored = server::store::sessions::get(&srv.db().await, &id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.verdict, Some(app::api::Verdict::Retry));
    srv.stop().await;
}
