//! The REST API: one module per resource, each with its own `router()`.
pub mod collections;
pub mod faces;
pub mod openapi;
pub mod service;
pub mod sessions;

use axum::Router;
use tower_http::cors::CorsLayer;

use crate::AppState;

/// Every API route; `cors` goes on the public routes only (`crate::cors`).
pub fn router(cors: Option<CorsLayer>) -> Router<AppState> {
    Router::new()
        .merge(sessions::router(cors))
        .merge(faces::router())
        .merge(collections::router())
        .merge(service::router())
        .merge(openapi::router())
}
