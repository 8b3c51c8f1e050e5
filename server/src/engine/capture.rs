//! The end of a capture: conclude the engine off the async runtime, store the verdict, wake the
//! webhook sender, count it, and say what the browser is told. The WebSocket loop (`crate::ws`)
//! only moves messages; everything a verdict means for the service happens here.
use std::sync::Arc;

use app::ws::ServerMessage;
use tracing::{info, warn};

use super::{pool::InferencePool, session::SessionEngine, Thresholds};
use crate::{
    metrics::Metrics,
    store::{
        sessions::{self, Session},
        Db,
    },
    webhook::WebhookSignal,
};

/// What a capture needs from the service.
#[derive(Clone)]
pub struct SessionContext {
    pub db: Db,
    pub pool: Arc<InferencePool>,
    pub thresholds: Thresholds,
    pub metrics: Arc<Metrics>,
    pub webhooks: WebhookSignal,
}

/// Concludes a finished capture and stores its verdict; returns the message for the browser:
/// the verdict, or an `internal_error` when it could not be computed or stored.
pub async fn finish(
    ctx: &SessionContext,
    session: &Session,
    engine: SessionEngine,
) -> ServerMessage {
    let camera = serde_json::to_value(engine.camera()).ok();
    let mut engine = engine;
    let outcome = match tokio::task::spawn_blocking(move || engine.conclude()).await {
        Ok(o) => o,
        Err(e) => {
            warn!(session = %session.id, error = %e, "concluding the session failed");
            return internal_error("the verdict could not be computed");
        }
    };
    let fused = &outcome.fused;
    match sessions::complete(&ctx.db, &session.id, outcome.completion(camera)).await {
        Ok(done) => {
            ctx.webhooks.wake();
            let verdict = fused.verdict.as_str();
            ctx.metrics
                .inc("ilive_verdicts_total", &[("verdict", verdict)]);
            info!(session = %session.id, verdict, confidence = fused.confidence, reasons = ?fused.reasons, measures = ?outcome.measures, "verdict");
            ServerMessage::Verdict {
                verdict: fused.verdict,
                confidence: fused.confidence,
                reasons: fused.reasons.clone(),
                redirect: done.redirect_target(),
            }
        }
        Err(e) => {
            warn!(session = %session.id, error = %e, "storing the verdict failed");
            internal_error("the verdict could not be stored")
        }
    }
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
