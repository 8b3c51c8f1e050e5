//! Crash consistency: the real `ilive` binary killed with SIGKILL mid-capture and mid-webhook
//! delivery, again and again at pseudo-random points, and restarted on the same database.
//! Afterwards every capture that started has a stored verdict, every verdict of a managed
//! session is delivered to its webhook at least once and always under one webhook id, and
//! nothing is delivered for a session without a verdict.
mod common;

use std::{
    collections::HashMap,
    process::{Child, Command, Stdio},
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use app::api::SessionStatus;
use axum::{body::Bytes, extract::State, http::HeaderMap, routing::post, Router};
use common::{fixtures, PUBLIC_URL};
use futures_util::SinkExt;
use serde_json::{json, Value};
use server::store::{self, sessions};
use tokio_tungstenite::{connect_async, tungstenite::Message};

/// Kill-and-restart rounds.
const ROUNDS: usize = 8;
/// Managed sessions created per round; all but the last start a capture.
const SESSIONS_PER_ROUND: usize = 3;

/// Every webhook request received: (session id, webhook id); `arrived` wakes on each.
#[derive(Clone, Default)]
struct Deliveries(Arc<Mutex<Vec<(String, String)>>>, Arc<tokio::sync::Notify>);

async fn receive(State(d): State<Deliveries>, headers: HeaderMap, body: Bytes) -> &'static str {
    let body: Value = serde_json::from_slice(&body).unwrap_or_default();
    let session = body["session_id"].as_str().unwrap_or_default().to_owned();
    let id = headers
        .get("x-ilive-webhook-id")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    d.0.lock().unwrap().push((session, id));
    d.1.notify_waiters();
    // A slow receiver: a kill can land while the delivery waits for its answer.
    tokio::time::sleep(Duration::from_millis(500)).await;
    "ok"
}

async fn start_receiver() -> (Deliveries, String) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    let d = Deliveries::default();
    let app = Router::new()
        .route("/hook", post(receive))
        .with_state(d.clone());
    tokio::spawn(async move { axum::serve(listener, app).await });
    (d, url)
}

/// The `ilive` binary on a free port over the database in `dir`.
struct Server {
    child: Child,
    base: String,
}

impl Server {
    async fn start(dir: &std::path::Path) -> Server {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let base = format!("http://127.0.0.1:{port}");
        let site = std::env::var("ILIVE_SITE_ROOT")
            .unwrap_or_else(|_| format!("{}/../target/site", env!("CARGO_MANIFEST_DIR")));
        let child = Command::new(env!("CARGO_BIN_EXE_ilive"))
            .args(["--addr", &format!("127.0.0.1:{port}")])
            .args(["--public-url", &base])
            .args([
                "--database-url",
                &format!("sqlite://{}", dir.join("ilive.db").display()),
            ])
            .args(["--site-root", &site])
            .args(["--dev-allow-insecure-urls", "--webhook-backoff-secs", "1"])
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("the ilive binary starts");
        let deadline = Instant::now() + Duration::from_secs(60);
        while Instant::now() < deadline {
            if let Ok(r) = reqwest::get(format!("{base}/healthz")).await {
                if r.status().is_success() {
                    return Server { child, base };
                }
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let _ = Server { child, base };
        panic!("the server did not come up");
    }

    /// SIGKILL: no shutdown code runs.
    fn kill(self) {
        drop(self);
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A JPEG of a real face for the capture to analyse.
fn frame() -> Vec<u8> {
    let img = image::open(fixtures().join("images/obama.jpg"))
        .expect("run bash scripts/fixtures/fetch-images.sh")
        .to_rgb8();
    let small = image::imageops::resize(&img, 480, 480, image::imageops::FilterType::Triangle);
    let mut canvas = image::RgbImage::from_pixel(640, 480, image::Rgb([128, 128, 128]));
    image::imageops::overlay(&mut canvas, &small, 80, 0);
    let mut out = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 85)
        .encode_image(&canvas)
        .unwrap();
    out
}

/// Streams `frame` at 10 fps to the session's capture socket, then cancels after `cancel_after`
/// (the verdict is stored and its webhook queued at once), until the server goes away.
async fn stream(base: String, created: Value, frame: Arc<Vec<u8>>, cancel_after: Duration) {
    let page = created["session_url"].as_str().unwrap_or_default();
    let Some((_, rest)) = page.split_once("/session/") else {
        return;
    };
    let url = format!(
        "{}/api/v1/session/{}",
        base.replacen("http", "ws", 1),
        rest.replacen('?', "/ws?", 1)
    );
    let Ok((mut ws, _)) = connect_async(&url).await else {
        return;
    };
    let hello = json!({"type": "hello", "camera": {"label": "crash test"}});
    if ws
        .send(Message::Text(hello.to_string().into()))
        .await
        .is_err()
    {
        return;
    }
    let started = Instant::now();
    while started.elapsed() < cancel_after {
        let bytes = frame.as_ref().clone();
        if ws.send(Message::Binary(bytes.into())).await.is_err() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let _ = ws.send(Message::Text(r#"{"type":"cancel"}"#.into())).await;
    tokio::time::sleep(Duration::from_secs(30)).await;
}

#[tokio::test]
async fn killed_at_any_point_nothing_is_lost_or_delivered_twice_differently() {
    let dir = tempfile::tempdir().unwrap();
    let (deliveries, hook) = start_receiver().await;
    let frame = Arc::new(frame());
    let mut seed: u32 = 20_261_203;
    let mut next = move || {
        seed = seed.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
        seed >> 8
    };
    let mut created: Vec<String> = vec![];
    let mut key = None;
    for round in 0..ROUNDS {
        let srv = Server::start(dir.path()).await;
        let key = match &key {
            Some(k) => k,
            None => {
                let db = store::connect(&format!(
                    "sqlite://{}",
                    dir.path().join("ilive.db").display()
                ))
                .await
                .unwrap();
                let (t, _) = store::tenants::find_or_create(&db, "acme").await.unwrap();
                let (_, k) = store::tenants::create_key(&db, &t.id).await.unwrap();
                db.close().await;
                key.insert(k)
            }
        };
        let client = reqwest::Client::new();
        let mut streams = vec![];
        for i in 0..SESSIONS_PER_ROUND {
            let body = json!({"redirect_url": PUBLIC_URL, "webhook_url": hook, "mode": "passive"});
            let r = client
                .post(format!("{}/api/v1/managed-session", srv.base))
                .bearer_auth(key.as_str())
                .json(&body)
                .send()
                .await
                .unwrap();
            let session: Value = r.json().await.unwrap();
            created.push(session["session_id"].as_str().unwrap().to_owned());
            if i + 1 < SESSIONS_PER_ROUND {
                let cancel_after = Duration::from_millis(u64::from(200 + next() % 3_000));
                streams.push(tokio::spawn(stream(
                    srv.base.clone(),
                    session,
                    frame.clone(),
                    cancel_after,
                )));
            }
        }
        if round % 2 == 1 {
            // Kill while a webhook request waits for its answer.
            let arrived = deliveries.1.notified();
            let _ = tokio::time::timeout(Duration::from_secs(5), arrived).await;
        } else {
            // Kill at a point between 0.3 s (captures just started) and 4 s (verdicts
            // stored, webhooks queued, in flight or delivered).
            let wait = 300 + next() % 3_700;
            tokio::time::sleep(Duration::from_millis(u64::from(wait))).await;
        }
        srv.kill();
        for s in streams {
            s.abort();
        }
    }

    // A last start settles what the kills left open and delivers what is queued.
    let srv = Server::start(dir.path()).await;
    let db = store::connect(&format!(
        "sqlite://{}",
        dir.path().join("ilive.db").display()
    ))
    .await
    .unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    let (completed, open) = loop {
        let mut completed = vec![];
        let mut open = vec![];
        for id in &created {
            let s = sessions::get(&db, id).await.unwrap().unwrap();
            match s.status {
                SessionStatus::Completed => completed.push(id.clone()),
                SessionStatus::InProgress => open.push(id.clone()),
                _ => {}
            }
        }
        let delivered: Vec<String> = deliveries
            .0
            .lock()
            .unwrap()
            .iter()
            .map(|(s, _)| s.clone())
            .collect();
        let all_delivered = completed.iter().all(|id| delivered.contains(id));
        if (open.is_empty() && all_delivered) || Instant::now() > deadline {
            break (completed, open);
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    srv.kill();

    let mut interrupted = 0;
    for id in &completed {
        let s = sessions::get(&db, id).await.unwrap().unwrap();
        if s.result_json
            .unwrap_or_default()
            .contains("\"interrupted\"")
        {
            interrupted += 1;
        }
    }
    eprintln!(
        "{ROUNDS} kills: {} sessions, {} with a verdict ({interrupted} settled as interrupted \
         after a kill), {} webhook requests for them",
        created.len(),
        completed.len(),
        deliveries.0.lock().unwrap().len()
    );
    assert!(open.is_empty(), "captures left without a verdict: {open:?}");
    assert!(!completed.is_empty(), "no capture was ever started");
    let got = deliveries.0.lock().unwrap().clone();
    let mut ids: HashMap<String, Vec<String>> = HashMap::new();
    for (session, webhook) in &got {
        assert!(
            completed.contains(session),
            "a webhook for {session}, which has no verdict"
        );
        ids.entry(session.clone())
            .or_default()
            .push(webhook.clone());
    }
    for id in &completed {
        let seen = ids.get(id).unwrap_or_else(|| panic!("no webhook for {id}"));
        assert!(
            seen.iter().all(|w| w == &seen[0]),
            "{id} was delivered under several webhook ids: {seen:?}"
        );
    }
}
