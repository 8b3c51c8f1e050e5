//! The OpenAPI 3.1 document, generated from the handlers' annotations and the shared types.
use axum::{routing::get, Json, Router};
use utoipa::{
    openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme},
    Modify, OpenApi,
};

use crate::AppState;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "iLive",
        description = "Self-hosted face liveness verification. Errors are always \
            `{\"detail\":{\"code\",\"message\"}}`; clients match on `code`.",
        license(name = "MIT"),
    ),
    paths(
        super::sessions::create_managed,
        super::sessions::create_direct,
        super::sessions::captcha,
        super::sessions::result,
        super::sessions::photo,
        super::faces::compare,
        super::faces::session_compare,
        super::faces::detect,
        super::service::healthz,
        super::service::readyz,
        super::service::metrics,
        openapi_json,
    ),
    components(schemas(app::api::WebhookPayload)),
    modifiers(&ApiKeyScheme),
    tags(
        (name = "sessions", description = "Liveness sessions"),
        (name = "faces", description = "Face comparison and detection"),
        (name = "service", description = "Probes, metrics and this document"),
    )
)]
pub struct ApiDoc;

struct ApiKeyScheme;

impl Modify for ApiKeyScheme {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "api_key",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("iksk_…")
                    .build(),
            ),
        );
    }
}

pub fn router() -> Router<AppState> {
    Router::new().route("/api/openapi.json", get(openapi_json))
}

/// This document.
#[utoipa::path(get, path = "/api/openapi.json", tag = "service",
    responses((status = 200, description = "OpenAPI 3.1 JSON")))]
async fn openapi_json() -> Json<utoipa::openapi::OpenApi> {
    Json(ApiDoc::openapi())
}
