//! The end of a capture: conclude the engine off the async runtime, store the verdict, wake the
//! webhook sender, count it, and say what the browser is told. The WebSocket loop (`crate::ws`)
//! only moves messages; everything a verdict means for the service happens here.
//!
//! Every capture that started ends in a stored verdict, and every stored verdict of a managed
//! session queues its webhook in the same transaction: a failed store is retried, a conclusion
//! that panics is stored as `retry` / `interrupted`, and captures that a crash or a restart left
//! open are settled the same way when the server starts ([`reconcile`]).
use std::{sync::Arc, time::Duration};

use app::{
    api::{Reason, Verdict},
    ws::ServerMessage,
};
use tracing::{info, warn};

use super::{pool::InferencePool, session::SessionEngine, Thresholds};
use crate::{
    metrics::Metrics,
    store::{
        self,
        sessions::{self, Completion, Holder, ResultDetails, Session},
        Db,
    },
    webhook::WebhookSignal,
};

/// Waits between attempts to store a verdict (a busy or briefly unavailable database).
const STORE_RETRIES: [Duration; 3] = [
    Duration::from_millis(200),
    Duration::from_secs(1),
    Duration::from_secs(3),
];

/// What a capture needs from the service.
#[derive(Clone)]
pub struct SessionContext {
    pub db: Db,
    pub pool: Arc<InferencePool>,
    pub thresholds: Thresholds,
    pub metrics: Arc<Metrics>,
    pub webhooks: WebhookSignal,
    /// This replica's hold on the captures it runs.
    pub holder: Holder,
}

/// Concludes a finished capture and stores its verdict; returns the message for the browser:
/// the verdict, or an `internal_error` when none could be stored.
pub async fn finish(
    ctx: &SessionContext,
    session: &Session,
    engine: SessionEngine,
) -> ServerMessage {
    let camera = serde_json::to_value(engine.camera()).ok();
    let mut engine = engine;
    let started = std::time::Instant::now();
    let concluded = tokio::task::spawn_blocking(move || engine.conclude()).await;
    let conclude_ms = started.elapsed().as_millis() as u64;
    let (completion, measures) = match concluded {
        Ok(o) => (o.completion(camera), o.measures),
        Err(e) => {
            warn!(session = %session.id, error = %e, "concluding the session failed");
            (unfinished(Reason::Interrupted, camera), vec![])
        }
    };
    let Some(done) = store_verdict(&ctx.db, &session.id, &completion).await else {
        return internal_error("the verdict could not be stored");
    };
    ctx.webhooks.wake();
    let verdict = completion.verdict.as_str();
    ctx.metrics
        .inc("ilive_verdicts_total", &[("verdict", verdict)]);
    let reasons = completion.details.reasons;
    info!(session = %session.id, verdict, confidence = completion.confidence, conclude_ms, ?reasons, ?measures, "verdict");
    ServerMessage::Verdict {
        verdict: completion.verdict,
        confidence: completion.confidence,
        reasons,
        redirect: done.redirect_target(),
    }
}

/// Stores a verdict, retrying while the database fails; `None` when the session is no longer
/// open or every attempt failed.
pub async fn store_verdict(db: &Db, id: &str, completion: &Completion) -> Option<Session> {
    for wait in STORE_RETRIES.iter().map(Some).chain([None]) {
        match sessions::complete(db, id, completion.clone()).await {
            Ok(done) => return Some(done),
            Err(store::Error::NotOpen) => {
                warn!(session = %id, "the session closed before its verdict was stored");
                return None;
            }
            Err(e) => {
                warn!(session = %id, error = %e, "storing the verdict failed");
                tokio::time::sleep(*wait?).await;
            }
        }
    }
    None
}

/// The verdict of a capture that ended before the engine could judge it (`reason` says why):
/// `retry`, because nothing was found against the person.
pub fn unfinished(reason: Reason, camera_metadata: Option<serde_json::Value>) -> Completion {
    Completion {
        verdict: Verdict::Retry,
        confidence: 0.0,
        details: ResultDetails {
            layers: None,
            challenges: vec![],
            reasons: vec![reason],
        },
        camera_metadata,
        photo: None,
    }
}

/// Settles the captures that nobody holds any more: each gets the `interrupted` verdict (and
/// its webhook). At start-up `mine` is this replica's name, so that the captures its previous
/// run left open are settled before any new one starts; the sweeper passes `None` and settles
/// the captures whose holder stopped renewing its hold (another replica that died). Returns how
/// many were settled.
pub async fn reconcile(db: &Db, mine: Option<&str>) -> store::Result<usize> {
    let open = sessions::abandoned(db, mine, store::now()).await?;
    let mut settled = 0;
    for id in &open {
        match sessions::complete(db, id, unfinished(Reason::Interrupted, None)).await {
            Ok(_) => settled += 1,
            // Finished meanwhile, or settled by another replica: nothing to settle.
            Err(store::Error::NotOpen) => {}
            Err(e) => return Err(e),
        }
    }
    if settled > 0 {
        info!(
            settled,
            "captures left open by a stopped server settled as interrupted"
        );
    }
    Ok(settled)
}

/// Keeps this replica's hold on a running capture fresh (a third of the lease apart) until it
/// is dropped, when the capture loop ends.
pub struct Hold(tokio::task::JoinHandle<()>);

impl Drop for Hold {
    fn drop(&mut self) {
        self.0.abort();
    }
}

pub fn hold(ctx: &SessionContext, id: &str) -> Hold {
    let (db, id, holder) = (ctx.db.clone(), id.to_owned(), ctx.holder.clone());
    let every = Duration::from_secs((holder.lease_secs / 3).max(1) as u64);
    Hold(tokio::spawn(async move {
        loop {
            tokio::time::sleep(every).await;
            match sessions::renew_hold(&db, &id, &holder).await {
                Ok(true) => {}
                Ok(false) => break,
                Err(e) => warn!(session = %id, error = %e, "renewing the capture's hold failed"),
            }
        }
    }))
}

/// The `error` message with a stable code.
pub fn error(code: &str, message: &str) -> ServerMessage {
    ServerMessage::Error {
        code: code.to_owned(),
        message: message.to_owned(),
    }
}

fn internal_error(message: &str) -> ServerMessage {
    error("internal_error", message)
}
