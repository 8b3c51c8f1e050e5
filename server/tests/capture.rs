//! The verification WebSocket through the real server and the real models: the single-use
//! capture link, frame limits, cancel, and a full capture that ends in a stored verdict.
mod common;

use std::time::Duration;

use common::{fixtures, TestServer, PUBLIC_URL};
use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use tokio_tungstenite::{connect_async, tungstenite::Message};

/// A 640×480 JPEG of a real face (obama.jpg centred on a grey canvas).
fn face_frame() -> Vec<u8> {
    let path = fixtures().join("images/obama.jpg");
    let img = image::open(&path)
        .unwrap_or_else(|e| {
            panic!(
                "{}: {e}; run bash scripts/fixtures/fetch-images.sh",
                path.display()
            )
        })
        .to_rgb8();
    // The head and shoulders: the portrait's upper 60%, 480 px tall.
    let (w, h) = img.dimensions();
    let head = image::imageops::crop_imm(&img, w / 8, 0, w * 3 / 4, h * 3 / 5).to_image();
    let small = image::imageops::resize(
        &head,
        480 * head.width() / head.height(),
        480,
        image::imageops::FilterType::Triangle,
    );
    let mut canvas = image::RgbImage::from_pixel(640, 480, image::Rgb([128, 128, 128]));
    image::imageops::overlay(&mut canvas, &small, (640 - small.width() as i64) / 2, 0);
    let mut out = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 85)
        .encode_image(&canvas)
        .unwrap();
    out
}

async fn session(srv: &TestServer, mode: &str) -> Value {
    reqwest::Client::new()
        .post(srv.url("/api/v1/session"))
        .json(&json!({ "mode": mode }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

fn ws_url(srv: &TestServer, created: &Value) -> String {
    let page = created["session_url"].as_str().unwrap();
    let (_, rest) = page.split_once("/session/").unwrap();
    let (id, query) = rest.split_once('?').unwrap();
    format!(
        "{}/api/v1/session/{id}/ws?{query}",
        srv.base.replacen("http", "ws", 1)
    )
}

type Ws =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

async fn next_json(ws: &mut Ws) -> Option<Value> {
    loop {
        match tokio::time::timeout(Duration::from_secs(30), ws.next())
            .await
            .ok()??
        {
            Ok(Message::Text(t)) => return serde_json::from_str(&t).ok(),
            Ok(Message::Close(_)) | Err(_) => return None,
            Ok(_) => continue,
        }
    }
}

#[tokio::test]
async fn capture_links_work_once() {
    let srv = TestServer::start(&[]).await;
    let created = session(&srv, "passive").await;
    let url = ws_url(&srv, &created);

    let (mut ws, _) = connect_async(&url).await.unwrap();
    let ready = next_json(&mut ws).await.unwrap();
    assert_eq!(ready["type"], "ready");
    assert_eq!(ready["mode"], "passive");

    let (mut again, _) = connect_async(&url).await.unwrap();
    let refused = next_json(&mut again).await.unwrap();
    assert_eq!(refused["type"], "error");
    assert_eq!(refused["code"], "session_already_started");

    let bad = url.replace("?c=", "?c=0");
    let other = session(&srv, "passive").await;
    let (mut wrong, _) = connect_async(ws_url(&srv, &other).replace("?c=", "?c=x"))
        .await
        .unwrap();
    assert_eq!(
        next_json(&mut wrong).await.unwrap()["code"],
        "invalid_token"
    );
    let (mut gone, _) = connect_async(bad.replace(
        created["session_id"].as_str().unwrap(),
        "00000000-0000-4000-8000-000000000000",
    ))
    .await
    .unwrap();
    assert_eq!(
        next_json(&mut gone).await.unwrap()["code"],
        "session_not_found"
    );

    // Oversized and undecodable frames are refused without ending the session; cancel ends it.
    ws.send(Message::Binary(vec![0u8; 1_600_000].into()))
        .await
        .unwrap();
    assert_eq!(next_json(&mut ws).await.unwrap()["code"], "frame_too_large");
    ws.send(Message::Binary(b"not a jpeg".to_vec().into()))
        .await
        .unwrap();
    assert_eq!(next_json(&mut ws).await.unwrap()["code"], "invalid_frame");
    ws.send(Message::Text(r#"{"type":"cancel"}"#.into()))
        .await
        .unwrap();
    let mut verdict = None;
    while let Some(m) = next_json(&mut ws).await {
        if m["type"] == "verdict" {
            verdict = Some(m);
            break;
        }
    }
    let verdict = verdict.expect("a verdict after cancel");
    assert_eq!(verdict["verdict"], "retry");
    assert!(verdict["reasons"]
        .as_array()
        .unwrap()
        .contains(&json!("cancelled")));

    let id = created["session_id"].as_str().unwrap();
    let token = created["token"].as_str().unwrap();
    let result: Value = srv
        .get_json(&format!("/api/v1/session/{id}/result?token={token}"))
        .await;
    assert_eq!(result["status"], "completed");
    assert_eq!(result["verdict"], "retry");
    srv.stop().await;
}

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
        let m: Value = serde_json::from_str(&t).unwrap();
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
