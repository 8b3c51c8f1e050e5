//! The verification WebSocket through the real server and the real models: the single-use
//! capture link, frame and metadata bounds, a crash or the session's end mid-capture, clients
//! that never read or drop the handshake (`capture_verdicts.rs` has the captures that end on
//! what the client sent). Every message the server sends is checked against
//! `docs/protocol.schema.json` as it arrives.
mod common;

use std::time::Duration;

use app::api::SessionStatus;
use common::{
    capture::{id_and_capture, next_json, open_capture, session, ws_url},
    holder, TestServer,
};
use futures_util::SinkExt;
use serde_json::{json, Value};
use server::store::sessions;
use tokio_tungstenite::{connect_async, tungstenite::Message};

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
    let (created, mut ws) = open_capture(&srv, "passive").await;
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

/// A capture that a crash left open (the session is `in_progress` under this replica's name,
/// nobody runs it) gets its verdict when the server starts again: `retry`, `interrupted` — at
/// once, though its hold has not lapsed, since the replica knows it holds nothing at start-up.
#[tokio::test]
async fn a_capture_left_open_by_a_crash_is_settled_at_start_up() {
    let flags = ["--replica-id", "replica-a"];
    let srv = TestServer::start(&flags).await;
    let created = session(&srv, "passive").await;
    let (id, capture) = id_and_capture(&created);
    let db = srv.db().await;
    sessions::start_capture(&db, &id, &capture, &holder("replica-a", 3600))
        .await
        .unwrap();
    db.close().await;
    let dir = srv.dir.clone();
    srv.stop().await;

    let srv = TestServer::start_in(dir, &flags).await;
    let token = created["token"].as_str().unwrap();
    let result: Value = srv
        .get_json(&format!("/api/v1/session/{id}/result?token={token}"))
        .await;
    assert_eq!(result["status"], "completed", "{result}");
    assert_eq!(result["verdict"], "retry");
    assert_eq!(result["reasons"], json!(["interrupted"]));
    srv.stop().await;
}

/// A capture held by another replica is left alone while its hold is renewed, and settled as
/// `interrupted` by a running replica's sweeper once the hold lapses (its replica died).
#[tokio::test]
async fn a_capture_whose_replica_died_is_settled_by_another() {
    let srv = TestServer::start(&["--replica-id", "replica-a", "--sweep-interval-secs", "1"]).await;
    let db = srv.db().await;
    let (alive, dead) = (
        session(&srv, "passive").await,
        session(&srv, "passive").await,
    );
    let (alive_id, alive_capture) = id_and_capture(&alive);
    let (dead_id, dead_capture) = id_and_capture(&dead);
    let other = holder("replica-b", 2);
    sessions::start_capture(&db, &alive_id, &alive_capture, &other)
        .await
        .unwrap();
    sessions::start_capture(&db, &dead_id, &dead_capture, &other)
        .await
        .unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(15);
    loop {
        // replica-b keeps renewing one of its two holds.
        assert!(sessions::renew_hold(&db, &alive_id, &other).await.unwrap());
        let s = sessions::get(&db, &dead_id).await.unwrap().unwrap();
        if s.status == SessionStatus::Completed {
            assert_eq!(s.verdict, Some(app::api::Verdict::Retry));
            assert!(s.result_json.unwrap().contains("interrupted"));
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the lapsed capture was never settled"
        );
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    let s = sessions::get(&db, &alive_id).await.unwrap().unwrap();
    assert_eq!(
        s.status,
        SessionStatus::InProgress,
        "a held capture was settled"
    );
    srv.stop().await;
}

/// The session's lifetime ending mid-capture is a deadline like the others: the verdict is
/// stored and sent, not dropped.
#[tokio::test]
async fn a_capture_at_the_end_of_its_session_lifetime_gets_a_verdict() {
    let srv = TestServer::start(&["--session-ttl-secs", "2"]).await;
    let (created, mut ws) = open_capture(&srv, "passive").await;
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
    let session = sessions::start_capture(&db, &id, &capture, &holder("test", 3600))
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
        holder: holder("test", 3600),
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

/// The inference pool's workers take jobs from one queue: a job that panics answers its caller
/// with an error, and the worker goes on with the next job (one worker, so the same thread).
#[tokio::test]
async fn a_panicking_analysis_answers_an_error_and_the_worker_goes_on() {
    let models = models::FaceModels::load(&models::cache_dir("ILIVE_MODELS_DIR", "models"))
        .expect("weights (run bash scripts/models/setup.sh)");
    let pool = server::engine::pool::InferencePool::new(std::sync::Arc::new(models), 1);
    let failed = pool.run(|_| -> u32 { panic!("a job that fails") }).await;
    assert!(failed.is_err());
    let worker = |_: &models::FaceModels| std::thread::current().name().map(str::to_owned);
    let first = pool
        .run(worker)
        .await
        .expect("the worker survived the panic");
    let second = pool.run(worker).await.unwrap();
    assert_eq!(first.as_deref(), Some("ilive-inference-0"));
    assert_eq!(first, second);
}

/// A queued job whose caller has gone (its future dropped: a capture that ended, a client that
/// hung up) is skipped when a worker reaches it; the callers still waiting are served.
#[tokio::test]
async fn a_job_whose_caller_has_gone_is_skipped() {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::{Arc, Barrier};
    let models = models::FaceModels::load(&models::cache_dir("ILIVE_MODELS_DIR", "models"))
        .expect("weights (run bash scripts/models/setup.sh)");
    let pool = server::engine::pool::InferencePool::new(Arc::new(models), 1);
    let (gate, ran) = (Arc::new(Barrier::new(2)), Arc::new(AtomicUsize::new(0)));
    // Each call queues its job when first polled. The only worker is busy until the gate opens.
    let gate_job = gate.clone();
    let mut busy = Box::pin(pool.run(move |_| {
        gate_job.wait();
    }));
    assert!(futures_util::poll!(busy.as_mut()).is_pending());
    // A job queued behind it whose caller gives up before it starts.
    let ran_abandoned = ran.clone();
    let mut abandoned = Box::pin(pool.run(move |_| ran_abandoned.fetch_add(1, Ordering::SeqCst)));
    assert!(futures_util::poll!(abandoned.as_mut()).is_pending());
    drop(abandoned);
    let ran_waited = ran.clone();
    let mut waited = Box::pin(pool.run(move |_| ran_waited.fetch_add(10, Ordering::SeqCst)));
    assert!(futures_util::poll!(waited.as_mut()).is_pending());
    gate.wait();
    busy.await.unwrap();
    waited.await.unwrap();
    assert_eq!(
        ran.load(Ordering::SeqCst),
        10,
        "only the job still awaited ran"
    );
}
