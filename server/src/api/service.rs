//! Operational routes: liveness and readiness probes and Prometheus metrics.
use axum::{
    extract::State,
    http::{header, HeaderValue, StatusCode},
    response::{IntoResponse, Response},
    routing::get,
    Json, Router,
};

use crate::{
    store::{self, StatusTable},
    AppState,
};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
}

/// The process is up.
#[utoipa::path(get, path = "/healthz", tag = "service",
    responses((status = 200, description = "`{\"status\":\"ok\"}`")))]
async fn healthz() -> Json<serde_json::Value> {
    Json(serde_json::json!({ "status": "ok" }))
}

/// The database answers and the face models are loaded. The body also reports the capture
/// capacity: captures served at once, how many run now, and where the limit comes from
/// (measured at start-up, or `ILIVE_MAX_LIVE_SESSIONS`).
#[utoipa::path(get, path = "/readyz", tag = "service",
    responses((status = 200, description = "Ready."), (status = 503, description = "Not ready; the body says what is missing.")))]
async fn readyz(State(state): State<AppState>) -> Response {
    let database = store::ping(&state.db).await;
    let status = if database {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    // `serve` builds the state only once the models have loaded, so a handler running on it has
    // them; of the two, only the database can fail after start-up.
    (
        status,
        Json(serde_json::json!({
            "status": if database { "ready" } else { "not_ready" },
            "database": if database { "ok" } else { "unavailable" },
            "models": "ok",
            "capacity": capacity(&state),
        })),
    )
        .into_response()
}

/// The capacity as `/readyz` reports it.
fn capacity(state: &AppState) -> serde_json::Value {
    let mut v = serde_json::json!({
        "captures": state.capacity.limit(),
        "live": state.capacity.live(),
        "page_fps": crate::capacity::SESSION_FPS,
    });
    if let (Some(v), Ok(serde_json::Value::Object(source))) = (
        v.as_object_mut(),
        serde_json::to_value(state.capacity.source()),
    ) {
        v.extend(source);
    }
    v
}

/// Prometheus text exposition.
#[utoipa::path(get, path = "/metrics", tag = "service",
    responses((status = 200, content_type = "text/plain", description = "Prometheus text format 0.0.4")))]
async fn metrics(State(state): State<AppState>) -> Response {
    // A failed count leaves its gauge empty: the rest of the metrics still render.
    let samples = |rows: store::Result<Vec<(String, i64)>>| {
        rows.unwrap_or_default()
            .into_iter()
            .map(|(s, n)| (format!("status=\"{s}\""), n as f64))
            .collect::<Vec<_>>()
    };
    let rows = samples(store::count_by_status(&state.db, StatusTable::Sessions).await);
    let pending = samples(store::count_by_status(&state.db, StatusTable::WebhookDeliveries).await);
    let body = state.metrics.render(&[
        ("ilive_sessions", "Stored sessions by status.", rows),
        (
            "ilive_webhook_deliveries",
            "Webhook deliveries by status.",
            pending,
        ),
        (
            "ilive_capture_capacity",
            "Captures served at once (measured at start-up or ILIVE_MAX_LIVE_SESSIONS).",
            vec![(String::new(), state.capacity.limit() as f64)],
        ),
        (
            "ilive_live_captures",
            "Captures running now.",
            vec![(String::new(), state.capacity.live() as f64)],
        ),
    ]);
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
        )],
        body,
    )
        .into_response()
}
