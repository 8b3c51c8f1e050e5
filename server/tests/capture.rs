//! The verification WebSocket through the real server and the real models: the single-use
//! capture link, frame limits, cancel, and a full capture that ends in a stored verdict. Every
//! message the server sends is checked against `docs/protocol.schema.json` as it arrives.
mod common;

use std::time::Duration;

use common::{TestServer, PUBLIC_URL};
use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use tokio_tungstenite::{connect_async, tungstenite::Message};

/// A 640×480 JPEG of a real face (obama.jpg centred on a grey canvas).
fn face_frame() -> Vec<u8> {
    let img = common::photo("obama.jpg");
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
    let (id, capture) = id_and_capture(created);
    format!(
        "{}/api/v1/session/{id}/ws?c={capture}",
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
            Ok(Message::Text(t)) => return Some(common::protocol::server_message(&t)),
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

/// What a stranger sends cannot make the server decode gigapixels, decode formats the protocol
/// does not take, or store an unbounded camera label.
#[tokio::test]
async fn frames_and_metadata_are_bounded_before_any_work() {
    let srv = TestServer::start(&[]).await;
    let created = session(&srv, "passive").await;
    let (mut ws, _) = connect_async(&ws_url(&srv, &created)).await.unwrap();
    assert_eq!(next_json(&mut ws).await.unwrap()["type"], "ready");
    let label = "x".repeat(1_000_000);
    let hello = json!({"type": "hello", "camera": {"label": label, "frame_rate": 30.0}});
    ws.send(Message::Text(hello.to_string().into()))
        .await
        .unwrap();

    // A few hundred bytes declaring 23000×23000 pixels: refused from the header, at once.
    let bomb = server::decode::jpeg_declaring(16, 16, 23_000, 23_000);
    assert!(bomb.len() < 1000);
    let started = std::time::Instant::now();
    ws.send(Message::Binary(bomb.into())).await.unwrap();
    let refused = next_json(&mut ws).await.unwrap();
    assert_eq!(refused["code"], "invalid_frame", "{refused}");
    assert!(
        refused["message"].as_str().unwrap().contains("23000×23000"),
        "{refused}"
    );
    assert!(started.elapsed() < Duration::from_secs(2));
    // The protocol's frames are JPEG: a PNG is not decoded.
    let mut png = Vec::new();
    image::RgbImage::new(64, 48)
        .write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png)
        .unwrap();
    ws.send(Message::Binary(png.into())).await.unwrap();
    let refused = next_json(&mut ws).await.unwrap();
    assert_eq!(refused["code"], "invalid_frame", "{refused}");

    ws.send(Message::Text(r#"{"type":"cancel"}"#.into()))
        .await
        .unwrap();
    while let Some(m) = next_json(&mut ws).await {
        if m["type"] == "verdict" {
            break;
        }
    }
    let id = created["session_id"].as_str().unwrap();
    let token = created["token"].as_str().unwrap();
    let result: Value = srv
        .get_json(&format!("/api/v1/session/{id}/result?token={token}"))
        .await;
    let stored = result["camera_metadata"]["label"].as_str().unwrap();
    assert_eq!(
        stored.chars().count(),
        app::ws::CameraMetadata::MAX_LABEL_CHARS
    );
    srv.stop().await;
}

/// The id and the capture secret of a session's page URL.
fn id_and_capture(created: &Value) -> (String, String) {
    let page = created["session_url"].as_str().unwrap();
    let (_, rest) = page.split_once("/session/").unwrap();
    let (id, query) = rest.split_once("?c=").unwrap();
    (id.to_owned(), query.to_owned())
}

/// A capture that a crash left open (the session is `in_progress`, nobody holds it) gets its
/// verdict when the server starts again: `retry`, `interrupted`.
#[tokio::test]
async fn a_capture_left_open_by_a_crash_is_settled_at_start_up() {
    let srv = TestServer::start(&[]).await;
    let created = session(&srv, "passive").await;
    let (id, capture) = id_and_capture(&created);
    let db = srv.db().await;
    server::store::sessions::start_capture(&db, &id, &capture)
        .await
        .unwrap();
    db.close().await;
    let dir = srv.dir.clone();
    srv.stop().await;

    let srv = TestServer::start_in(dir, &[]).await;
    let token = created["token"].as_str().unwrap();
    let result: Value = srv
        .get_json(&format!("/api/v1/session/{id}/result?token={token}"))
        .await;
    assert_eq!(result["status"], "completed", "{result}");
    assert_eq!(result["verdict"], "retry");
    assert_eq!(result["reasons"], json!(["interrupted"]));
    srv.stop().await;
}

/// The session's lifetime ending mid-capture is a deadline like the others: the verdict is
/// stored and sent, not dropped.
#[tokio::test]
async fn a_capture_at_the_end_of_its_session_lifetime_gets_a_verdict() {
    let srv = TestServer::start(&["--session-ttl-secs", "2"]).await;
    let created = session(&srv, "passive").await;
    let (mut ws, _) = connect_async(&ws_url(&srv, &created)).await.unwrap();
    assert_eq!(next_json(&mut ws).await.unwrap()["type"], "ready");
    let mut verdict = None;
    while let Some(m) = next_json(&mut ws).await {
        if m["type"] == "verdict" {
            verdict = Some(m);
            break;
        }
    }
    let verdict = verdict.expect("a verdict at the session's end");
    assert_eq!(verdict["verdict"], "retry");
    assert!(verdict["reasons"]
        .as_array()
        .unwrap()
        .contains(&json!("timeout")));
    let (id, _) = id_and_capture(&created);
    let stored = server::store::sessions::get(&srv.db().await, &id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.verdict, Some(app::api::Verdict::Retry));
    srv.stop().await;
}

/// A sink that never takes a message: a client that stopped reading its replies.
struct NeverReads;

impl futures_util::Sink<app::ws::ServerMessage> for NeverReads {
    type Error = ();
    fn poll_ready(
        self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Result<(), ()>> {
        std::task::Poll::Pending
    }
    fn start_send(self: std::pin::Pin<&mut Self>, _: app::ws::ServerMessage) -> Result<(), ()> {
        Ok(())
    }
    fn poll_flush(
        self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Result<(), ()>> {
        std::task::Poll::Pending
    }
    fn poll_close(
        self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Result<(), ()>> {
        std::task::Poll::Pending
    }
}

/// A client that never reads its replies cannot hold its capture (and its live-session slot)
/// open: sends give up, and the capture ends with a stored verdict.
#[tokio::test]
async fn a_client_that_never_reads_cannot_stall_its_capture() {
    use std::sync::Arc;
    let srv = TestServer::start(&[]).await;
    let created = session(&srv, "passive").await;
    let (id, capture) = id_and_capture(&created);
    let db = srv.db().await;
    let session = server::store::sessions::start_capture(&db, &id, &capture)
        .await
        .unwrap();
    let models = models::FaceModels::load(&models::cache_dir("ILIVE_MODELS_DIR", "models"))
        .expect("weights (run bash scripts/models/setup.sh)");
    let ctx = server::ws::SessionContext {
        db: db.clone(),
        pool: Arc::new(server::engine::pool::InferencePool::new(
            Arc::new(models),
            1,
        )),
        thresholds: Default::default(),
        metrics: Default::default(),
        webhooks: Default::default(),
    };
    let silent = futures_util::stream::pending::<server::ws::Incoming>();
    tokio::time::timeout(
        Duration::from_secs(40),
        server::ws::run(ctx, session, silent, NeverReads),
    )
    .await
    .expect("the capture ended by itself");
    let stored = server::store::sessions::get(&db, &id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.verdict, Some(app::api::Verdict::Retry));
    srv.stop().await;
}

/// WebSocket handshakes dropped before the server's 101: none leaves its session `in_progress`
/// with nobody to end it.
#[tokio::test]
async fn a_handshake_dropped_before_the_upgrade_leaves_no_session_open() {
    use tokio::io::AsyncWriteExt;
    let srv = TestServer::start(&["--direct-rate-limit", "100"]).await;
    let addr = srv.base.trim_start_matches("http://").to_owned();
    let mut ids = vec![];
    for _ in 0..16 {
        let created = session(&srv, "passive").await;
        let (id, capture) = id_and_capture(&created);
        let mut tcp = tokio::net::TcpStream::connect(&addr).await.unwrap();
        let request = format!(
            "GET /api/v1/session/{id}/ws?c={capture} HTTP/1.1\r\nHost: {addr}\r\n\
             Connection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\n\
             Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n"
        );
        tcp.write_all(request.as_bytes()).await.unwrap();
        drop(tcp);
        ids.push(id);
    }
    let db = srv.db().await;
    // Let the server read the requests; then no redeemed link may stay open.
    tokio::time::sleep(Duration::from_secs(1)).await;
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        let mut statuses = vec![];
        for id in &ids {
            let s = server::store::sessions::get(&db, id)
                .await
                .unwrap()
                .unwrap();
            statuses.push(s.status);
        }
        let open = statuses
            .iter()
            .filter(|s| **s == app::api::SessionStatus::InProgress)
            .count();
        if open == 0 {
            let redeemed = statuses
                .iter()
                .filter(|s| **s == app::api::SessionStatus::Completed)
                .count();
            assert!(
                redeemed > 0,
                "no handshake reached the server: {statuses:?}"
            );
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "{open} sessions left in progress"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
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
    let created = session(&srv, "passive").await;
    let (mut ws, _) = connect_async(&ws_url(&srv, &created)).await.unwrap();
    assert_eq!(next_json(&mut ws).await.unwrap()["type"], "ready");
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
