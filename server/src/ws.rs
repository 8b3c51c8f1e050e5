//! The verification WebSocket (`GET /api/v1/session/{id}/ws?c=<capture secret>`).
//!
//! The upgrade handler redeems the single-use capture secret; the message loop ([`run`]) is
//! generic over a stream of [`Incoming`] and a sink of [`ServerMessage`], so tests drive it with
//! channels. The loop keeps only the newest unanalysed frame (a browser sending faster than the
//! server analyses drops stale frames, never queues them), has at most one frame in analysis,
//! and ends on the verdict, a cancel, a disconnect or the session's expiry.
use std::{
    future::Future,
    pin::Pin,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use app::{
    api::{ErrorBody, Reason},
    ws::{CameraMetadata, ClientMessage, ServerMessage},
};
use axum::{
    extract::{
        ws::{rejection::WebSocketUpgradeRejection, Message, WebSocketUpgrade},
        RawQuery, State,
    },
    http::{header, HeaderValue},
    response::{IntoResponse, Response},
    routing::get,
    Router,
};
use bytes::Bytes;
use futures_util::{Sink, SinkExt, Stream, StreamExt};
use tracing::{info, warn};

pub use crate::engine::capture::SessionContext;
use crate::{
    api::openapi::{CaptureSecret, SessionId},
    engine::{
        capture::{self, error},
        pool::FrameError,
        session::SessionEngine,
        Observation,
    },
    error::Error,
    extract::{query_param, ApiPath},
    store::{
        self,
        sessions::{self, Session},
        Db,
    },
    webhook::WebhookSignal,
    AppState,
};

/// Largest JPEG frame accepted (`docs/protocol.md`, "Limits").
pub const MAX_FRAME_BYTES: usize = 1_500_000;
/// The WebSocket layer's message limit. Frames between the two limits are dropped with
/// `frame_too_large` and the capture goes on; a message above this one is answered
/// `frame_too_large` too, but ends the capture: the layer refuses it from its header and cannot
/// skip its payload, so nothing after it can be read.
pub const MAX_MESSAGE_BYTES: usize = 4 * 1024 * 1024;
const TICK: Duration = Duration::from_millis(200);
/// How long the server waits for the browser's half of the closing handshake.
const CLOSE_GRACE: Duration = Duration::from_secs(3);
/// Longest a message may wait to be sent: a client that stops reading its replies is a lost
/// connection, not a capture that waits for ever.
pub const SEND_TIMEOUT: Duration = Duration::from_secs(5);

pub fn router() -> Router<AppState> {
    Router::new().route("/api/v1/session/{id}/ws", get(upgrade))
}

/// What the loop reads from the browser.
#[derive(Debug, Clone, PartialEq)]
pub enum Incoming {
    Frame(Bytes),
    Text(String),
    /// A message over [`MAX_MESSAGE_BYTES`]: the connection can carry nothing more.
    TooLarge,
    Closed,
}

/// The browser's messages as the loop reads them: a message over the layer's limit is
/// [`Incoming::TooLarge`]; any other failure is a lost connection.
fn incoming(m: Result<Message, axum::Error>) -> Option<Incoming> {
    match m {
        Ok(Message::Binary(b)) => Some(Incoming::Frame(b)),
        Ok(Message::Text(t)) => Some(Incoming::Text(t.to_string())),
        Ok(Message::Close(_)) => Some(Incoming::Closed),
        Ok(_) => None,
        Err(e) => {
            let inner = e.into_inner();
            let too_long = matches!(
                inner.downcast_ref::<tungstenite::Error>(),
                Some(tungstenite::Error::Capacity(
                    tungstenite::error::CapacityError::MessageTooLong { .. }
                ))
            );
            Some(if too_long {
                Incoming::TooLarge
            } else {
                Incoming::Closed
            })
        }
    }
}

/// Open the capture WebSocket (`docs/protocol.md`; each message's JSON Schema is in
/// `docs/protocol.schema.json`). The person's browser opens it from the session page; the
/// capture secret works once.
#[utoipa::path(
    get, path = "/api/v1/session/{id}/ws", tag = "sessions", operation_id = "capture",
    params(SessionId, CaptureSecret),
    responses(
        (status = 101, description = "Switching Protocols: the capture WebSocket. A refused \
            capture still upgrades, then sends one `error` message (`session_not_found`, \
            `session_expired`, `invalid_token`, `session_already_started`, `capacity` with \
            `Retry-After` on the 101, `internal_error`) and closes."),
        (status = 400, body = ErrorBody, description = "`invalid_request`: not a WebSocket upgrade request"),
    )
)]
pub(crate) async fn upgrade(
    ws: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
    State(state): State<AppState>,
    ApiPath(id): ApiPath<String>,
    RawQuery(query): RawQuery,
) -> Response {
    let ws = match ws {
        Ok(ws) => ws,
        Err(e) => {
            return Error::InvalidRequest(format!(
                "open this route as a WebSocket (docs/protocol.md): {}",
                e.body_text()
            ))
            .into_response()
        }
    };
    let capture = query_param(query.as_deref(), "c").unwrap_or_default();
    let ws = ws.max_message_size(MAX_MESSAGE_BYTES);
    // The slot is taken before the link is redeemed: a capture refused for capacity leaves its
    // link unused, and the same link works once a slot frees.
    let started = match state.capacity.admit(&id) {
        Err(refused) => {
            state
                .metrics
                .inc("ilive_capacity_refusals_total", &[("at", "upgrade")]);
            Err(refused)
        }
        Ok(slot) => redeem(&state, id, capture).await.map(|(s, r)| (s, r, slot)),
    };
    match started {
        Ok((session, redeemed, slot)) => ws.on_upgrade(move |socket| async move {
            redeemed.claim();
            let (sink, stream) = socket.split();
            let stream = stream.filter_map(|m| async move { incoming(m) });
            let sink = sink.with(|m: ServerMessage| async move {
                let text = serde_json::to_string(&m).map_err(axum::Error::new)?;
                Ok::<_, axum::Error>(Message::Text(text.into()))
            });
            let ctx = SessionContext {
                db: state.db.clone(),
                pool: state.inference.clone(),
                thresholds: state.thresholds,
                metrics: state.metrics.clone(),
                webhooks: state.webhooks.clone(),
                holder: state.holder.clone(),
            };
            run(ctx, session, Box::pin(stream), Box::pin(sink)).await;
            drop(slot);
        }),
        Err(err) => {
            // A browser cannot read the status of a refused upgrade, so the refusal travels as
            // an `error` message after the 101; `Retry-After` rides on the 101 for other clients.
            let retry_after = match err {
                Error::Capacity { retry_after } => Some(retry_after),
                _ => None,
            };
            let mut resp = ws.on_upgrade(move |mut socket| async move {
                let msg = ServerMessage::Error {
                    code: err.code().to_owned(),
                    message: err.to_string(),
                };
                if let Ok(text) = serde_json::to_string(&msg) {
                    let _ = socket.send(Message::Text(text.into())).await;
                }
                let _ = socket.send(Message::Close(None)).await;
            });
            if let Some(secs) = retry_after {
                resp.headers_mut()
                    .insert(header::RETRY_AFTER, HeaderValue::from(secs.max(1)));
            }
            resp
        }
    }
}

/// Redeems the capture link in a task of its own, so that a client leaving mid-request cannot
/// cancel it between the database's commit and the upgrade: whatever happens to the request,
/// the redeemed session is handed to a [`Redeemed`] guard.
async fn redeem(
    state: &AppState,
    id: String,
    capture: String,
) -> Result<(Session, Redeemed), Error> {
    let (db, webhooks, holder) = (
        state.db.clone(),
        state.webhooks.clone(),
        state.holder.clone(),
    );
    tokio::spawn(async move {
        let session = sessions::start_capture(&db, &id, &capture, &holder).await?;
        let guard = Redeemed {
            db,
            id: session.id.clone(),
            webhooks,
            armed: true,
        };
        Ok((session, guard))
    })
    .await
    .map_err(|e| Error::Internal(anyhow::anyhow!("redeeming the capture link: {e}")))?
}

/// A redeemed capture link that no capture loop has taken over yet. Dropped while armed — the
/// request was cancelled, or the WebSocket handshake failed (the client left before the 101) —
/// it stores the session's `retry` / `connection_lost` verdict itself, so no session is left
/// `in_progress` with nobody to end it.
struct Redeemed {
    db: Db,
    id: String,
    webhooks: WebhookSignal,
    armed: bool,
}

impl Redeemed {
    /// The capture loop takes the session over.
    fn claim(mut self) {
        self.armed = false;
    }
}

impl Drop for Redeemed {
    fn drop(&mut self) {
        if !self.armed {
            return;
        }
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return;
        };
        let (db, id, webhooks) = (
            self.db.clone(),
            std::mem::take(&mut self.id),
            self.webhooks.clone(),
        );
        warn!(session = %id, "the capture link was redeemed but no capture started");
        runtime.spawn(async move {
            let lost = capture::unfinished(Reason::ConnectionLost, None);
            if capture::store_verdict(&db, &id, &lost).await.is_some() {
                webhooks.wake();
            }
        });
    }
}

/// What one text message from the browser asks of the capture loop.
#[derive(Debug, Clone, PartialEq)]
pub enum Command {
    /// `hello`: the camera's metadata, already [bounded](CameraMetadata::bounded), and the
    /// person's reduced-motion preference.
    Hello {
        camera: CameraMetadata,
        reduced_motion: bool,
    },
    /// `frame_time`: the page's capture time of the next frame, in ms (finite).
    FrameTime(f64),
    /// `light_shown`: colour `index` of the light sequence was painted at `t_ms` (finite).
    LightShown { index: u32, t_ms: f64 },
    /// `cancel`: the person gave up.
    Cancel,
}

/// Reads one text message: the [`Command`] it carries, or the `invalid_message` error to send
/// back (the capture goes on). A function of its own so that the fuzz targets and their corpus
/// test read text exactly as the loop does.
pub fn read_text(text: &str) -> Result<Command, ServerMessage> {
    match serde_json::from_str::<ClientMessage>(text) {
        Ok(ClientMessage::Hello {
            camera,
            reduced_motion,
            ..
        }) => Ok(Command::Hello {
            camera: camera.bounded(),
            reduced_motion,
        }),
        Ok(ClientMessage::FrameTime { t_ms }) if t_ms.is_finite() => Ok(Command::FrameTime(t_ms)),
        Ok(ClientMessage::LightShown { index, t_ms }) if t_ms.is_finite() => {
            Ok(Command::LightShown { index, t_ms })
        }
        Ok(ClientMessage::FrameTime { .. } | ClientMessage::LightShown { .. }) => Err(error(
            "invalid_message",
            "times must be finite numbers of milliseconds",
        )),
        Ok(ClientMessage::Cancel) => Ok(Command::Cancel),
        Err(e) => Err(error(
            "invalid_message",
            &format!("unreadable message: {e}"),
        )),
    }
}

mod clock;
use clock::FrameClock;

type Analysis = Pin<Box<dyn Future<Output = Result<(Observation, FrameClock), FrameError>> + Send>>;

/// A frame waiting for the capture's analysis in flight to end.
struct Pending {
    frame: Bytes,
    /// Seconds since the capture started, at arrival.
    t: f64,
    arrived: Instant,
    /// The page's capture time (`frame_time`).
    page_ms: Option<f64>,
}

/// Runs one capture to its end and stores the verdict.
pub async fn run<S, K>(ctx: SessionContext, session: Session, mut rx: S, mut tx: K)
where
    S: Stream<Item = Incoming> + Unpin + Send,
    K: Sink<ServerMessage> + Unpin + Send,
{
    let started = Instant::now();
    let elapsed = || started.elapsed().as_secs_f64();
    let _hold = capture::hold(&ctx, &session.id);
    let mut engine = SessionEngine::new(session.mode, ctx.thresholds, &mut rand::thread_rng());
    let expires_in = (session.expires_at - store::now()).max(0) as u64;
    let expiry = tokio::time::sleep(Duration::from_secs(expires_in));
    tokio::pin!(expiry);
    let mut tick = tokio::time::interval(TICK);
    let mut pending: Option<Pending> = None;
    // The page's capture time of the next frame, from the `frame_time` just before it.
    let mut frame_time: Option<f64> = None;
    let mut inflight: Option<Analysis> = None;
    // The capture's faces, followed from frame to frame (the detector runs only when needed).
    let tracker = Arc::new(Mutex::new(models::FaceTracker::default()));
    let mut connected = true;
    if !send(&mut tx, engine.ready()).await {
        connected = false;
        engine.abort(Reason::ConnectionLost);
    }
    info!(session = %session.id, plan = ?engine.plan(), "capture started");

    loop {
        if inflight.is_none() {
            if let Some(p) = pending.take() {
                let pool = ctx.pool.clone();
                let req = engine.request(p.t);
                let tracker = tracker.clone();
                let started = Instant::now();
                inflight = Some(Box::pin(async move {
                    let (mut obs, timing) = pool.analyze(p.frame, p.t, req, tracker).await?;
                    obs.page_ms = p.page_ms;
                    let clock = FrameClock {
                        arrived: p.arrived,
                        started,
                        pool: timing,
                    };
                    Ok((obs, clock))
                }));
            }
        }
        let mut replies = vec![];
        let mut answered = None;
        tokio::select! {
            msg = rx.next() => match msg {
                Some(Incoming::Frame(bytes)) => {
                    if bytes.len() > MAX_FRAME_BYTES {
                        ctx.metrics.inc("ilive_frames_total", &[("outcome", "too_large")]);
                        replies.push(error("frame_too_large", "frames must be at most 1.5 MB; the frame was dropped"));
                    } else {
                        if pending.is_some() {
                            ctx.metrics.inc("ilive_frames_total", &[("outcome", "dropped_stale")]);
                        }
                        pending = Some(Pending {
                            frame: bytes,
                            t: elapsed(),
                            arrived: Instant::now(),
                            page_ms: frame_time.take(),
                        });
                    }
                }
                Some(Incoming::Text(text)) => match read_text(&text) {
                    Ok(Command::Hello { camera, reduced_motion }) => {
                        engine.set_camera(camera);
                        engine.set_reduced_motion(reduced_motion);
                    }
                    Ok(Command::FrameTime(t_ms)) => frame_time = Some(t_ms),
                    Ok(Command::LightShown { index, t_ms }) => engine.light_shown(index, t_ms, elapsed()),
                    Ok(Command::Cancel) => engine.abort(Reason::Cancelled),
                    Err(reply) => replies.push(reply),
                },
                // The connection still sends but can read nothing more: the browser is told
                // why, and the capture ends as a lost connection, with its verdict sent.
                Some(Incoming::TooLarge) => {
                    ctx.metrics.inc("ilive_frames_total", &[("outcome", "too_large")]);
                    replies.push(error("frame_too_large", "messages must be at most 4 MiB (frames at most 1.5 MB); the connection cannot go on, so the capture ended"));
                    engine.abort(Reason::ConnectionLost);
                }
                Some(Incoming::Closed) | None => {
                    connected = false;
                    engine.abort(Reason::ConnectionLost);
                }
            },
            res = async { inflight.as_mut().map(|f| f.as_mut()).expect("guarded").await }, if inflight.is_some() => {
                inflight = None;
                match res {
                    Ok((obs, clock)) => {
                        ctx.metrics.inc("ilive_frames_total", &[("outcome", "analysed")]);
                        replies.extend(engine.on_frame(obs));
                        answered = Some(clock);
                    }
                    Err(FrameError::Decode(e)) => {
                        ctx.metrics.inc("ilive_frames_total", &[("outcome", "undecodable")]);
                        replies.push(error("invalid_frame", &format!("the frame was refused: {e}")));
                    }
                    Err(FrameError::Internal(e)) => warn!(session = %session.id, error = %e, "frame analysis failed"),
                }
            }
            _ = tick.tick() => replies.extend(engine.on_tick(elapsed())),
            // The session's lifetime ends the capture like any other deadline: with a stored
            // verdict (retry, timeout), not a silent drop.
            _ = &mut expiry => {
                info!(session = %session.id, "capture ended: session lifetime reached");
                engine.abort(Reason::Timeout);
            }
        }
        for m in replies {
            if connected && !send(&mut tx, m).await {
                connected = false;
                engine.abort(Reason::ConnectionLost);
            }
        }
        if let Some(clock) = answered {
            clock.log(&session.id);
        }
        if engine.is_done() {
            break;
        }
    }

    connected = connected && send(&mut tx, ServerMessage::Analyzing).await;
    // The verdict is stored before anything more is sent.
    let verdict = capture::finish(&ctx, &session, engine).await;
    if connected {
        send(&mut tx, verdict).await;
    }
    close(rx, tx).await;
}

/// Sends one message within [`SEND_TIMEOUT`]; false when it could not be sent.
async fn send<K>(tx: &mut K, m: ServerMessage) -> bool
where
    K: Sink<ServerMessage> + Unpin + Send,
{
    matches!(
        tokio::time::timeout(SEND_TIMEOUT, tx.send(m)).await,
        Ok(Ok(()))
    )
}

/// Closes the socket with the closing handshake: sends Close, then reads and discards what the
/// browser still sends (it streams frames until the verdict reaches it) until its own Close.
/// Dropping a socket with unread data resets the connection, and a reset can destroy the
/// verdict still on its way to the browser.
async fn close<S, K>(mut rx: S, mut tx: K)
where
    S: Stream<Item = Incoming> + Unpin + Send,
    K: Sink<ServerMessage> + Unpin + Send,
{
    let _ = tokio::time::timeout(SEND_TIMEOUT, tx.close()).await;
    let _ = tokio::time::timeout(CLOSE_GRACE, async {
        while let Some(m) = rx.next().await {
            if matches!(m, Incoming::Closed) {
                break;
            }
        }
    })
    .await;
}
