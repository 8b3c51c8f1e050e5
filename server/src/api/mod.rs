//! The REST API: one module per resource, each with its own `router()`.
pub mod faces;
pub mod openapi;
pub mod service;
pub mod sessions;

use axum::Router;

use crate::AppState;

/// Every API route.
pub fn router() -> Router<AppState> {
    Router::new()
        .merge(sessions::router())
        .merge(faces::router())
        .merge(service::router())
        .merge(openapi::router())
}
