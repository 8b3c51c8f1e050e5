//! The real `ilive` binary as a separate process (to be killed with SIGKILL, or run as one of
//! several replicas on one database), a webhook receiver that records every request, and a
//! capture client that streams a real face to a session's socket.
use std::{
    collections::HashMap,
    process::{Child, Command, Stdio},
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use axum::{body::Bytes, extract::State, http::HeaderMap, routing::post, Router};
use futures_util::SinkExt;
use serde_json::{json, Value};
use tokio_tungstenite::{connect_async, tungstenite::Message};

/// The `ilive` binary on a free loopback port over the database at `database_url`.
pub struct Process {
    child: Child,
    pub base: String,
}

impl Process {
    /// Starts the binary with quick webhook retries and `args` added; waits until healthy.
    pub async fn start(database_url: &str, args: &[&str]) -> Process {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let base = format!("http://127.0.0.1:{port}");
        let child = Command::new(env!("CARGO_BIN_EXE_ilive"))
            .args(["--addr", &format!("127.0.0.1:{port}")])
            .args(["--public-url", &base])
            .args(["--database-url", database_url])
            .args(["--site-root", &super::site_root().display().to_string()])
            .args(["--dev-allow-insecure-urls", "--webhook-backoff-secs", "1"])
            .args(args)
            .env("RUST_LOG", "warn")
            .env("RAYON_NUM_THREADS", "1")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("the ilive binary starts");
        let process = Process { child, base };
        let deadline = Instant::now() + Duration::from_secs(60);
        while Instant::now() < deadline {
            if let Ok(r) = reqwest::get(format!("{}/healthz", process.base)).await {
                if r.status().is_success() {
                    return process;
                }
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("the server did not come up");
    }

    /// SIGKILL: no shutdown code runs.
    pub fn kill(self) {
        drop(self);
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Every webhook request received, as (session id, webhook id), and the most requests with one
/// webhook id that were ever open at once; `arrived` wakes on each request.
#[derive(Clone, Default)]
pub struct Deliveries {
    pub got: Arc<Mutex<Vec<(String, String)>>>,
    open: Arc<Mutex<HashMap<String, usize>>>,
    pub most_at_once: Arc<Mutex<usize>>,
    pub arrived: Arc<tokio::sync::Notify>,
}

impl Deliveries {
    /// The sessions that have had at least one webhook request.
    pub fn sessions(&self) -> Vec<String> {
        self.got
            .lock()
            .unwrap()
            .iter()
            .map(|(s, _)| s.clone())
            .collect()
    }
}

async fn receive(State(d): State<Deliveries>, headers: HeaderMap, body: Bytes) -> &'static str {
    let body: Value = serde_json::from_slice(&body).unwrap_or_default();
    let session = body["session_id"].as_str().unwrap_or_default().to_owned();
    let id = headers
        .get("x-ilive-webhook-id")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    d.got.lock().unwrap().push((session, id.clone()));
    {
        let mut open = d.open.lock().unwrap();
        let n = open.entry(id.clone()).or_default();
        *n += 1;
        let mut most = d.most_at_once.lock().unwrap();
        *most = (*most).max(*n);
    }
    d.arrived.notify_waiters();
    // A slow receiver: a kill can land while the delivery waits for its answer, and a second
    // sender of the same delivery would overlap with this one.
    tokio::time::sleep(Duration::from_millis(500)).await;
    *d.open.lock().unwrap().get_mut(&id).expect("counted above") -= 1;
    "ok"
}

/// A webhook receiver on a free loopback port; returns what it records and its URL.
pub async fn start_receiver() -> (Deliveries, String) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    let d = Deliveries::default();
    let app = Router::new()
        .route("/hook", post(receive))
        .with_state(d.clone());
    tokio::spawn(async move { axum::serve(listener, app).await });
    (d, url)
}

/// The capture socket's URL for the session `created` on the server at `base`.
pub fn socket_url(base: &str, created: &Value) -> String {
    let (id, capture) = super::capture::id_and_capture(created);
    format!(
        "{}/api/v1/session/{id}/ws?c={capture}",
        base.replacen("http", "ws", 1)
    )
}

/// Streams `frame` at 10 fps to the session's capture socket on `base`, then cancels after
/// `cancel_after` (the verdict is stored and its webhook queued at once), until the server goes
/// away.
pub async fn stream(base: String, created: Value, frame: Arc<Vec<u8>>, cancel_after: Duration) {
    let Ok((mut ws, _)) = connect_async(&socket_url(&base, &created)).await else {
        return;
    };
    let hello = json!({"type": "hello", "camera": {"label": "test camera"}});
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
