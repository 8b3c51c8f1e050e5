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

/// Checks a short text the integrator gives and gets back (`reference_id`, a collection's
/// `description`, a face's `external_id`): at most `max_chars` characters, none of them U+0000,
/// which PostgreSQL's text cannot hold (the schemas say so with the pattern `^[^\u0000]*$`).
pub(crate) fn check_text(field: &str, value: &str, max_chars: usize) -> crate::error::Result<()> {
    use crate::error::Error;
    if value.chars().count() > max_chars {
        return Err(Error::InvalidRequest(format!(
            "{field} must be at most {max_chars} characters"
        )));
    }
    if value.contains('\0') {
        return Err(Error::InvalidRequest(format!(
            "{field} must not contain the character U+0000"
        )));
    }
    Ok(())
}
