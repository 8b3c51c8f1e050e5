//! The capture WebSocket from a test's side: a real face frame, a session, its socket URL, and
//! the server's next JSON message (checked against the protocol's schema as it arrives).
use std::time::Duration;

use futures_util::StreamExt;
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::Message;

use super::TestServer;

/// A 640×480 JPEG of a real face (obama.jpg centred on a grey canvas).
pub fn face_frame() -> Vec<u8> {
    let img = super::photo("obama.jpg");
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

pub async fn session(srv: &TestServer, mode: &str) -> Value {
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

pub fn ws_url(srv: &TestServer, created: &Value) -> String {
    let (id, capture) = id_and_capture(created);
    format!(
        "{}/api/v1/session/{id}/ws?c={capture}",
        srv.base.replacen("http", "ws", 1)
    )
}

pub type Ws =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

pub async fn next_json(ws: &mut Ws) -> Option<Value> {
    loop {
        match tokio::time::timeout(Duration::from_secs(30), ws.next())
            .await
            .ok()??
        {
            Ok(Message::Text(t)) => return Some(super::protocol::server_message(&t)),
            Ok(Message::Close(_)) | Err(_) => return None,
            Ok(_) => continue,
        }
    }
}

/// The id and the capture secret of a session's page URL.
pub fn id_and_capture(created: &Value) -> (String, String) {
    let page = created["session_url"].as_str().unwrap();
    let (_, rest) = page.split_once("/session/").unwrap();
    let (id, query) = rest.split_once("?c=").unwrap();
    (id.to_owned(), query.to_owned())
}

/// A direct session of `mode` with its capture socket open past `ready`.
pub async fn open_capture(srv: &TestServer, mode: &str) -> (Value, Ws) {
    let created = session(srv, mode).await;
    let (mut ws, _) = tokio_tungstenite::connect_async(&ws_url(srv, &created))
        .await
        .unwrap();
    assert_eq!(next_json(&mut ws).await.unwrap()["type"], "ready");
    (created, ws)
}
