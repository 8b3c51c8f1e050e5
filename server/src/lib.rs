//! iLive's server as a library: [`serve`] runs the whole service (REST API, WebSocket, Leptos
//! SSR, webhook delivery, expiry sweeps) on a listener until a shutdown signal, so tests can run
//! the real thing on port 0.
#![forbid(unsafe_code)]
// The SSR views' Leptos types nest deeper than the default limit of 128 allows in optimised
// builds (release and `cargo fuzz build` stop with "queries overflow the depth limit").
#![recursion_limit = "256"]

pub mod api;
pub mod capacity;
pub mod captcha;
pub mod cli;
pub mod config;
pub mod cors;
pub mod decode;
pub mod directory;
pub mod engine;
pub mod error;
pub mod extract;
pub mod faces;
#[doc(hidden)]
pub mod fuzzing;
pub mod listen;
pub mod metrics;
pub mod ratelimit;
pub mod ssr;
pub mod store;
pub mod url_safety;
pub mod webhook;
pub mod ws;

use std::{future::Future, sync::Arc, time::Duration};

use axum::{
    extract::{DefaultBodyLimit, FromRef, MatchedPath, Request, State},
    middleware::{self, Next},
    response::Response,
    Router,
};
use leptos::config::LeptosOptions;
use tokio::net::TcpListener;
use tower_http::trace::TraceLayer;
use tracing::{info, warn};

use crate::{
    captcha::Captcha, config::Config, metrics::Metrics, ratelimit::RateLimiter, store::Db,
    webhook::WebhookSignal,
};

/// Shared by every handler.
#[derive(Clone, FromRef)]
pub struct AppState {
    pub leptos_options: LeptosOptions,
    pub db: Db,
    pub config: Arc<Config>,
    pub limits: Arc<RateLimiter>,
    pub captcha: Arc<Captcha>,
    pub metrics: Arc<Metrics>,
    pub webhooks: WebhookSignal,
    /// The face models, loaded before the state is built, and the workers that share the cores.
    pub inference: Arc<engine::pool::InferencePool>,
    pub thresholds: engine::Thresholds,
    /// The capture slots: how many captures the cores can serve, and who holds them.
    pub capacity: Arc<capacity::Capacity>,
    /// CORS for the public routes, when `ILIVE_CORS_ORIGINS` names any origin.
    pub cors: Option<tower_http::cors::CorsLayer>,
    /// This replica's name and hold on the captures it runs.
    pub holder: store::sessions::Holder,
    /// The collections' descriptors held in memory for 1:N searches.
    pub collections: Arc<faces::collections::Indexes>,
}

/// How long a replica's hold on a running capture counts without renewal: a capture whose
/// replica died is settled (`interrupted`) by another within this plus one sweep interval.
pub const CAPTURE_LEASE_SECS: i64 = 15;

/// Runs the service on `listener` until `shutdown` completes. In-flight requests finish; queued
/// webhooks stay in the database for the next start.
pub async fn serve(
    config: Config,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    if config.dev_allow_insecure_urls {
        warn!("DEVELOPMENT SETTING ON: plain-http and private/loopback redirect and webhook URLs are accepted. Never use this in production.");
    }
    if !(0.0..=1.0).contains(&config.retry_threshold)
        || !(config.retry_threshold..=1.0).contains(&config.pass_threshold)
    {
        anyhow::bail!("thresholds must satisfy 0 ≤ retry ≤ pass ≤ 1");
    }
    let local = listener.local_addr()?;
    if config.public_url.is_none() && !local.ip().is_loopback() {
        anyhow::bail!(
            "listening on {local}, which people reach from other machines: set ILIVE_PUBLIC_URL \
             (--public-url) to the https address their browsers use, e.g. \
             https://verify.example.com (docs/deployment.md)"
        );
    }
    if config.session_ttl_secs < 1 || config.retention_secs < 0 {
        anyhow::bail!("the session TTL must be at least 1 s and the retention at least 0 s");
    }
    let cors = cors::layer(&config.cors_origins)?;
    let models_dir = config.models_dir();
    let models =
        tokio::task::spawn_blocking(move || models::FaceModels::load(&models_dir)).await??;
    let workers = config.inference_workers.unwrap_or_else(|| {
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(2)
    });
    let models = Arc::new(models);
    let capacity = match config.max_live_sessions {
        Some(n) => capacity::Capacity::new(n, capacity::Source::Configured),
        None => {
            let m = models.clone();
            let measured =
                tokio::task::spawn_blocking(move || capacity::calibrate(&m, workers)).await??;
            capacity::Capacity::new(
                capacity::sessions_for(measured.frames_per_second),
                capacity::Source::Measured(measured),
            )
        }
    };
    info!(
        captures = capacity.limit(),
        source = ?capacity.source(),
        page_fps = capacity::SESSION_FPS,
        "capture capacity"
    );
    let db = store::connect(&config.database_url).await?;
    let holder = store::sessions::Holder {
        replica: config.replica_name(listener.local_addr()?),
        lease_secs: CAPTURE_LEASE_SECS,
    };
    info!(replica = %holder.replica, database = db.kind(), "store ready");
    // Captures this replica's previous run left open get their verdict before any new one starts.
    engine::capture::reconcile(&db, Some(&holder.replica)).await?;
    let config = Arc::new(config);
    let metrics = Arc::new(Metrics::default());
    let signal = WebhookSignal::default();
    let state = AppState {
        leptos_options: ssr::leptos_options(&config, listener.local_addr()?),
        db: db.clone(),
        config: config.clone(),
        limits: Arc::new(RateLimiter::default()),
        captcha: Arc::new(Captcha::new(&config, &db).await?),
        metrics: metrics.clone(),
        webhooks: signal.clone(),
        inference: Arc::new(engine::pool::InferencePool::new(models, workers)),
        thresholds: config.thresholds(),
        capacity: Arc::new(capacity),
        cors,
        holder,
        collections: Arc::new(faces::collections::Indexes::new(
            config.collection_cache_mb * 1024 * 1024,
        )),
    };

    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let worker = webhook::Worker::new(db.clone(), config.clone(), metrics, signal)?;
    let worker = tokio::spawn(worker.run(stop_rx.clone()));
    let sweeper = tokio::spawn(sweep_loop(db.clone(), config.clone(), stop_rx));

    let app = router(state);
    info!(addr = %listener.local_addr()?, "iLive listening");
    let deadlines = listen::Deadlines {
        headers: Duration::from_secs(config.header_timeout_secs.max(1)),
        body: Duration::from_secs(config.body_timeout_secs.max(1)),
    };
    listen::serve(listener, app, deadlines, shutdown).await;

    info!("shutting down: finishing webhook attempts in flight");
    let _ = stop_tx.send(true);
    let _ = tokio::join!(worker, sweeper);
    db.close().await;
    Ok(())
}

/// The whole application router.
pub fn router(state: AppState) -> Router {
    Router::new()
        .merge(api::router(state.cors.clone()))
        .layer(DefaultBodyLimit::max(extract::JSON_LIMIT))
        .merge(ws::router())
        .merge(ssr::router(&state))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            count_requests,
        ))
        .layer(middleware::from_fn(security_headers))
        .layer(TraceLayer::new_for_http().make_span_with(|req: &Request| {
            let route = req
                .extensions()
                .get::<MatchedPath>()
                .map(MatchedPath::as_str)
                .unwrap_or("unmatched");
            tracing::info_span!("http", method = %req.method(), route)
        }))
        .with_state(state)
}

async fn count_requests(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map(|m| m.as_str().to_owned())
        .unwrap_or_else(|| "unmatched".into());
    let method = method_label(req.method());
    let resp = next.run(req).await;
    state.metrics.inc(
        "ilive_http_requests_total",
        &[
            ("route", &route),
            ("method", method),
            ("status", resp.status().as_str()),
        ],
    );
    resp
}

/// Headers on every response: the session page's URL carries its capture secret, so no page
/// sends a referrer; no page may be framed (a framed capture page could be overlaid to make a
/// user perform the challenges for someone else); nothing is sniffed into another type.
const SECURITY_HEADERS: [(&str, &str); 4] = [
    ("referrer-policy", "no-referrer"),
    ("x-content-type-options", "nosniff"),
    (
        "content-security-policy",
        "frame-ancestors 'none'; base-uri 'none'; object-src 'none'",
    ),
    ("x-frame-options", "DENY"),
];

async fn security_headers(req: Request, next: Next) -> Response {
    let mut resp = next.run(req).await;
    let headers = resp.headers_mut();
    for (name, value) in SECURITY_HEADERS {
        headers
            .entry(name)
            .or_insert(axum::http::HeaderValue::from_static(value));
    }
    resp
}

/// The method as a metrics label: the standard methods by name, every other one as `other`, so
/// that clients inventing methods cannot grow the label set.
fn method_label(method: &axum::http::Method) -> &'static str {
    const KNOWN: [&str; 7] = ["GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"];
    KNOWN
        .into_iter()
        .find(|m| *m == method.as_str())
        .unwrap_or("other")
}

async fn sweep_loop(db: Db, config: Arc<Config>, mut stop: tokio::sync::watch::Receiver<bool>) {
    let every = Duration::from_secs(config.sweep_interval_secs.max(1));
    loop {
        // Captures whose replica died (its hold lapsed) get their verdict from this one.
        if let Err(e) = engine::capture::reconcile(&db, None).await {
            warn!(error = %e, "settling abandoned captures failed");
        }
        match store::retention::sweep(&db, store::now(), config.tombstone_secs).await {
            Ok(s) if s.expired + s.removed > 0 => {
                info!(expired = s.expired, removed = s.removed, "swept sessions")
            }
            Ok(_) => {}
            Err(e) => warn!(error = %e, "sweep failed"),
        }
        tokio::select! {
            _ = stop.changed() => break,
            _ = tokio::time::sleep(every) => {}
        }
    }
}

/// Unknown paths under `/api` answer in the API's error shape; other unknown paths get the
/// app's "not found" page.
async fn api_not_found(State(state): State<AppState>, req: Request) -> Response {
    use axum::response::IntoResponse;
    if req.uri().path().starts_with("/api/") {
        return error::Error::NotFound.into_response();
    }
    let options = state.leptos_options.clone();
    let handler = leptos_axum::render_app_to_stream(move || app::shell(options.clone()));
    handler(req).await.into_response()
}

#[cfg(test)]
mod tests {
    #[test]
    fn invented_methods_share_one_label() {
        use axum::http::Method;
        assert_eq!(super::method_label(&Method::POST), "POST");
        let odd = Method::from_bytes(b"BREW").unwrap();
        assert_eq!(super::method_label(&odd), "other");
    }
}
