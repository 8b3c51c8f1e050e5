//! One simulated user: creates a direct session, streams the clip's frames over its WebSocket at
//! the chosen rate until the verdict, and starts the next capture, until the run's deadline.
use std::{
    collections::BTreeMap,
    sync::{Arc, Mutex},
    time::Duration,
};

use bytes::Bytes;
use futures_util::{stream::SplitSink, SinkExt, StreamExt};
use serde_json::{json, Value};
use tokio::{net::TcpStream, time::Instant};
use tokio_tungstenite::{connect_async, tungstenite::Message, MaybeTlsStream, WebSocketStream};

use crate::replies::match_replies;

/// Longest wait for any server message before the capture counts as stalled.
const SILENCE: Duration = Duration::from_secs(30);
/// How long a capture cut by the run's end may take to return its verdict.
const CUT_GRACE: Duration = Duration::from_secs(10);
/// Pause before a user whose own previous capture just ended asks again after a refusal: its
/// slot is freed a moment after the verdict reaches it.
const REQUEUE_PAUSE: Duration = Duration::from_millis(200);

/// What the users share.
pub struct Plan {
    pub base: String,
    pub mode: String,
    pub frames: Arc<Vec<Bytes>>,
    /// The frame each capture starts at.
    pub start_frame: usize,
    pub period: Duration,
    pub deadline: Instant,
    /// Refused users wait `Retry-After` and try again instead of leaving.
    pub retry_refused: bool,
    pub http: reqwest::Client,
}

/// What one user saw.
#[derive(Debug, Default, Clone)]
pub struct UserReport {
    /// Captures that started (a `ready` arrived).
    pub captures: u64,
    /// Refused with `capacity` before its first capture (and, without `--retry-refused`, left).
    pub refused_first: bool,
    /// Every `capacity` refusal, at creation or at the upgrade.
    pub refusals: u64,
    pub sent: usize,
    pub answered: usize,
    pub dropped: usize,
    pub unplaced: usize,
    pub latencies_ms: Vec<f64>,
    /// Verdicts of the captures that ran to their end, by kind.
    pub verdicts: BTreeMap<String, u64>,
    /// Captures the run's deadline cancelled.
    pub cut: u64,
    /// Everything that went wrong, by kind.
    pub errors: BTreeMap<String, u64>,
    /// The `face` messages' statuses (`ok`, `not_frontal`, …): what the engine made of the clip.
    pub statuses: BTreeMap<String, u64>,
    /// Reason codes of the verdicts of captures that ran to their end.
    pub reasons: BTreeMap<String, u64>,
}

/// Why a capture attempt did not run.
enum Refusal {
    Capacity { retry_after: Option<u64> },
    Error(String),
}

type Sink = SplitSink<WebSocketStream<MaybeTlsStream<TcpStream>>, Message>;

/// Runs captures back to back until the deadline.
/// One user, from `start` to the end of the run.
pub async fn user(plan: Arc<Plan>, start: Instant) -> UserReport {
    let mut report = UserReport::default();
    tokio::time::sleep_until(start).await;
    while Instant::now() < plan.deadline {
        match capture(&plan, &mut report).await {
            Ok(()) => {}
            Err(Refusal::Capacity { retry_after }) => {
                report.refusals += 1;
                if report.captures == 0 {
                    report.refused_first = true;
                    if !plan.retry_refused {
                        break;
                    }
                    let wait = Duration::from_secs(retry_after.unwrap_or(1).max(1));
                    tokio::time::sleep_until(plan.deadline.min(Instant::now() + wait)).await;
                } else {
                    tokio::time::sleep(REQUEUE_PAUSE).await;
                }
            }
            Err(Refusal::Error(kind)) => {
                *report.errors.entry(kind).or_default() += 1;
                break;
            }
        }
    }
    report
}

/// One capture: create, connect, stream, verdict.
async fn capture(plan: &Plan, report: &mut UserReport) -> Result<(), Refusal> {
    let (id, secret) = create(plan).await?;
    let url = format!(
        "{}/api/v1/session/{id}/ws?c={secret}",
        plan.base.replacen("http", "ws", 1)
    );
    let (ws, response) = connect_async(&url)
        .await
        .map_err(|e| Refusal::Error(format!("ws_connect: {e}")))?;
    let retry_after = response
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok()?.parse().ok());
    let (tx, mut rx) = ws.split();
    match next_json(&mut rx).await {
        Some(m) if m["type"] == "ready" => {}
        Some(m) if m["type"] == "error" && m["code"] == "capacity" => {
            return Err(Refusal::Capacity { retry_after });
        }
        Some(m) if m["type"] == "error" => {
            return Err(Refusal::Error(format!(
                "ws_{}",
                m["code"].as_str().unwrap_or("error")
            )))
        }
        _ => return Err(Refusal::Error("ws_no_ready".into())),
    }
    report.captures += 1;
    let tx = Arc::new(tokio::sync::Mutex::new(tx));
    let hello = json!({"type": "hello", "camera": {
        "label": "ilive-load", "width": 640, "height": 480, "frame_rate": 30.0, "facing_mode": "user"}});
    send(&tx, Message::Text(hello.to_string().into())).await;

    let sent = Arc::new(Mutex::new(Vec::new()));
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let sender = tokio::spawn(stream_frames(
        tx.clone(),
        plan.frames.clone(),
        plan.start_frame,
        plan.period,
        sent.clone(),
        stopped,
    ));

    let mut faces = Vec::new();
    let mut cut_at: Option<Instant> = None;
    let mut verdict = None;
    loop {
        let until = match cut_at {
            Some(t) => t + CUT_GRACE,
            None => plan.deadline,
        };
        let msg = tokio::select! {
            m = tokio::time::timeout(SILENCE, rx.next()) => m,
            _ = tokio::time::sleep_until(until) => {
                if cut_at.is_some() {
                    bump(&mut report.errors, "no_verdict_after_cancel");
                    break;
                }
                // The run is over: cancel, and wait for the capture's verdict.
                cut_at = Some(Instant::now());
                let _ = stop.send(true);
                send(&tx, Message::Text(r#"{"type":"cancel"}"#.into())).await;
                continue;
            }
        };
        let text = match msg {
            Err(_) => {
                bump(&mut report.errors, "stalled");
                break;
            }
            Ok(None) | Ok(Some(Err(_))) | Ok(Some(Ok(Message::Close(_)))) => {
                bump(&mut report.errors, "closed_before_verdict");
                break;
            }
            Ok(Some(Ok(Message::Text(t)))) => t,
            Ok(Some(Ok(_))) => continue,
        };
        let Ok(m) = serde_json::from_str::<Value>(&text) else {
            bump(&mut report.errors, "unreadable_message");
            continue;
        };
        match m["type"].as_str().unwrap_or_default() {
            "face" => {
                faces.push(Instant::now());
                bump(
                    &mut report.statuses,
                    m["status"].as_str().unwrap_or("unknown"),
                );
            }
            "analyzing" => {
                let _ = stop.send(true);
            }
            "verdict" => {
                verdict = m["verdict"].as_str().map(str::to_owned);
                if cut_at.is_none() {
                    for r in m["reasons"].as_array().into_iter().flatten() {
                        bump(&mut report.reasons, r.as_str().unwrap_or("unknown"));
                    }
                }
                break;
            }
            "error" => {
                let code = m["code"].as_str().unwrap_or("error");
                bump(&mut report.errors, &format!("ws_{code}"));
            }
            _ => {}
        }
    }
    let _ = stop.send(true);
    let _ = sender.await;
    match (verdict, cut_at) {
        (Some(_), Some(_)) => report.cut += 1,
        (Some(v), None) => bump(&mut report.verdicts, &v),
        (None, _) => {}
    }
    // The closing handshake: the server frees the capture's slot once it completes.
    let _ = tx.lock().await.close().await;
    let _ = tokio::time::timeout(Duration::from_secs(5), async {
        while let Some(Ok(_)) = rx.next().await {}
    })
    .await;

    let sent = std::mem::take(&mut *sent.lock().unwrap_or_else(|p| p.into_inner()));
    let sent: Vec<_> = sent.into_iter().map(Instant::into_std).collect();
    let faces: Vec<_> = faces.into_iter().map(Instant::into_std).collect();
    let matched = match_replies(&sent, &faces);
    report.sent += sent.len();
    report.answered += matched.latencies_ms.len();
    report.dropped += matched.dropped;
    report.unplaced += matched.unplaced;
    report.latencies_ms.extend(matched.latencies_ms);
    Ok(())
}

/// `POST /api/v1/session`; the id and capture secret of the created session.
async fn create(plan: &Plan) -> Result<(String, String), Refusal> {
    let resp = plan
        .http
        .post(format!("{}/api/v1/session", plan.base))
        .json(&json!({ "mode": plan.mode }))
        .send()
        .await
        .map_err(|e| Refusal::Error(format!("create: {e}")))?;
    let status = resp.status();
    let retry_after = resp
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok()?.parse().ok());
    let body: Value = resp.json().await.unwrap_or(Value::Null);
    if status == reqwest::StatusCode::SERVICE_UNAVAILABLE && body["detail"]["code"] == "capacity" {
        return Err(Refusal::Capacity { retry_after });
    }
    if status != reqwest::StatusCode::CREATED {
        let code = body["detail"]["code"].as_str().unwrap_or("unknown");
        return Err(Refusal::Error(format!("create_{}_{code}", status.as_u16())));
    }
    body["session_url"]
        .as_str()
        .and_then(|u| u.split_once("/session/"))
        .and_then(|(_, rest)| rest.split_once("?c="))
        .map(|(id, c)| (id.to_owned(), c.to_owned()))
        .ok_or_else(|| Refusal::Error("create_no_session_url".into()))
}

/// Captures started so far, for [`phase`].
static CAPTURES: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// Where in the frame period a new capture's camera ticks: real users' cameras run on their own
/// clocks, so their frames arrive spread over the period, not all at once. Without this the
/// simulated users, started together and ending their captures at about the same time, sent
/// their frames in one burst every period, a queue no crowd of real users makes. The n-th
/// capture takes the fractional part of n·φ (the golden ratio) of the period: as evenly spread
/// as n points can be, and the same from run to run.
fn phase(period: Duration) -> Duration {
    let n = CAPTURES.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let golden = (5f64.sqrt() - 1.0) / 2.0;
    period.mul_f64((n as f64 * golden).fract())
}

/// Sends the clip's frames, looping, one per `period` (after a [`phase`] offset), until told to
/// stop; records when each was handed to the socket.
async fn stream_frames(
    tx: Arc<tokio::sync::Mutex<Sink>>,
    frames: Arc<Vec<Bytes>>,
    start: usize,
    period: Duration,
    sent: Arc<Mutex<Vec<Instant>>>,
    mut stop: tokio::sync::watch::Receiver<bool>,
) {
    tokio::select! {
        _ = stop.wait_for(|s| *s) => return,
        _ = tokio::time::sleep(phase(period)) => {}
    }
    let mut tick = tokio::time::interval(period);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    for frame in frames.iter().cycle().skip(start) {
        tokio::select! {
            _ = stop.wait_for(|s| *s) => break,
            _ = tick.tick() => {}
        }
        if *stop.borrow() {
            break;
        }
        let mut tx = tx.lock().await;
        sent.lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(Instant::now());
        if tx.send(Message::Binary(frame.clone())).await.is_err() {
            break;
        }
    }
}

async fn send(tx: &tokio::sync::Mutex<Sink>, m: Message) {
    let _ = tx.lock().await.send(m).await;
}

async fn next_json(
    rx: &mut futures_util::stream::SplitStream<WebSocketStream<MaybeTlsStream<TcpStream>>>,
) -> Option<Value> {
    loop {
        match tokio::time::timeout(SILENCE, rx.next()).await.ok()?? {
            Ok(Message::Text(t)) => return serde_json::from_str(&t).ok(),
            Ok(Message::Close(_)) | Err(_) => return None,
            Ok(_) => continue,
        }
    }
}

fn bump(map: &mut BTreeMap<String, u64>, key: &str) {
    *map.entry(key.to_owned()).or_default() += 1;
}
