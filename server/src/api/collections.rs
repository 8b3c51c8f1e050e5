//! The collection routes (docs/api.md, "Collections"): a tenant's named sets of enrolled faces.
//! This module holds the collections themselves — create, list, read, delete — and the router;
//! [`enrol`] and [`faces`] hold what is done with their faces: enrol; list, delete, search,
//! de-duplicate.
//!
//! Every route takes an API key, and every lookup is by the key's owner and the
//! `collection_id`: another tenant's collection of the same name is a different collection, and
//! an unknown one is `collection_not_found` whether or not someone else has one by that name.
pub mod enrol;
pub mod faces;

use axum::{
    extract::{DefaultBodyLimit, State},
    http::StatusCode,
    response::{IntoResponse, Response},
    routing::{get, post},
    Json, Router,
};
use tracing::instrument;

use app::api::{
    collections::{
        valid_collection_id, Collection, CollectionList, CreateCollectionRequest, MAX_LABEL_CHARS,
    },
    ErrorBody,
};

use super::{faces::upload::SINGLE_BODY_LIMIT, openapi::RateLimited};
use crate::{
    error::{Error, Result},
    extract::{ApiJson, ApiKey, ApiPath},
    ratelimit::RateInfo,
    store::{self, collections as stored, tenants::Principal},
    AppState,
};

pub fn router() -> Router<AppState> {
    let collection = "/api/v2/collections/{collection_id}";
    Router::new()
        .route("/api/v2/collections", post(create).get(list))
        .route(collection, get(read).delete(delete))
        .route(
            &format!("{collection}/faces"),
            post(enrol::enrol)
                .get(faces::list)
                .layer(DefaultBodyLimit::max(SINGLE_BODY_LIMIT)),
        )
        .route(
            &format!("{collection}/faces:fromSession"),
            post(enrol::enrol_session),
        )
        .route(
            &format!("{collection}/faces/{{face_id}}"),
            axum::routing::delete(faces::delete),
        )
        .route(
            &format!("{collection}/faces:search"),
            post(faces::search).layer(DefaultBodyLimit::max(SINGLE_BODY_LIMIT)),
        )
        .route(&format!("{collection}/duplicates"), get(faces::duplicates))
}

/// A collection id in the path.
#[derive(utoipa::IntoParams)]
#[into_params(parameter_in = Path)]
#[allow(dead_code)]
pub(crate) struct CollectionPath {
    /// The `collection_id` given at creation.
    #[param(pattern = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")]
    collection_id: String,
}

/// The caller's rate-limit window, spent by one request (as on every keyed route).
fn spend(state: &AppState, principal: &Principal) -> Result<RateInfo> {
    state
        .limits
        .check(&principal.rate_key(), state.config.key_rate_limit)
}

/// The caller's collection `name`; `collection_not_found` for a name it does not own, or one
/// that no collection could have.
pub(crate) async fn owned(
    state: &AppState,
    principal: &Principal,
    name: &str,
) -> Result<stored::Collection> {
    if !valid_collection_id(name) {
        return Err(Error::CollectionNotFound);
    }
    stored::find(&state.db, principal.owner(), name)
        .await?
        .ok_or(Error::CollectionNotFound)
}

fn shown(c: &stored::Collection) -> Collection {
    Collection {
        collection_id: c.name.clone(),
        description: c.description.clone(),
        face_count: c.face_count.max(0) as u64,
        descriptor: c.descriptor.clone(),
        created_at: store::rfc3339(c.created_at),
    }
}

/// Checks a short label (`description`, `external_id`): at most [`MAX_LABEL_CHARS`]
/// characters, as every stored text ([`super::check_text`]).
pub(crate) fn check_label(field: &str, value: &str) -> Result<()> {
    super::check_text(field, value, MAX_LABEL_CHARS)
}

/// Create a collection.
#[utoipa::path(
    post, path = "/api/v2/collections", tag = "collections", operation_id = "create_collection",
    request_body = CreateCollectionRequest,
    security(("api_key" = [])),
    responses(
        (status = 201, body = Collection),
        (status = 400, body = ErrorBody, description = "`invalid_request`: not a JSON object, an unknown field, a `collection_id` that is not 1–64 of `A-Z a-z 0-9 . _ -` starting with a letter or digit, a `description` over 128 characters or with U+0000"),
        (status = 401, body = ErrorBody, description = "`missing_api_key` / `invalid_api_key`"),
        (status = 403, body = ErrorBody, description = "`account_inactive`"),
        (status = 409, body = ErrorBody, description = "`collection_exists`: this tenant already has a collection with this `collection_id`"),
        (status = 413, body = ErrorBody, description = "`request_too_large`"),
        (status = 429, response = RateLimited),
    )
)]
#[instrument(skip_all, err)]
async fn create(
    State(state): State<AppState>,
    ApiKey(principal): ApiKey,
    ApiJson(req): ApiJson<CreateCollectionRequest>,
) -> Result<Response> {
    let rate = spend(&state, &principal)?;
    if !valid_collection_id(&req.collection_id) {
        return Err(Error::InvalidRequest(
            "collection_id must be 1 to 64 letters, digits, `.`, `_` or `-`, starting with a letter or digit".into(),
        ));
    }
    if let Some(d) = &req.description {
        check_label("description", d)?;
    }
    let c = stored::create(
        &state.db,
        principal.owner(),
        &req.collection_id,
        req.description.as_deref(),
        crate::faces::DESCRIPTOR,
    )
    .await?;
    Ok((StatusCode::CREATED, rate, Json(shown(&c))).into_response())
}

/// The tenant's collections.
#[utoipa::path(
    get, path = "/api/v2/collections", tag = "collections", operation_id = "list_collections",
    security(("api_key" = [])),
    responses(
        (status = 200, body = CollectionList),
        (status = 401, body = ErrorBody, description = "`missing_api_key` / `invalid_api_key`"),
        (status = 403, body = ErrorBody, description = "`account_inactive`"),
        (status = 429, response = RateLimited),
    )
)]
#[instrument(skip_all, err)]
async fn list(State(state): State<AppState>, ApiKey(principal): ApiKey) -> Result<Response> {
    let rate = spend(&state, &principal)?;
    let collections = stored::list(&state.db, principal.owner())
        .await?
        .iter()
        .map(shown)
        .collect();
    Ok((rate, Json(CollectionList { collections })).into_response())
}

/// One collection.
#[utoipa::path(
    get, path = "/api/v2/collections/{collection_id}", tag = "collections", operation_id = "get_collection",
    params(CollectionPath),
    security(("api_key" = [])),
    responses(
        (status = 200, body = Collection),
        (status = 400, body = ErrorBody, description = "`invalid_request`: a path segment that is not UTF-8 once percent-decoded"),
        (status = 401, body = ErrorBody, description = "`missing_api_key` / `invalid_api_key`"),
        (status = 403, body = ErrorBody, description = "`account_inactive`"),
        (status = 404, body = ErrorBody, description = "`collection_not_found`: this tenant has no collection with this `collection_id`"),
        (status = 429, response = RateLimited),
    )
)]
#[instrument(skip_all, err)]
async fn read(
    State(state): State<AppState>,
    ApiKey(principal): ApiKey,
    ApiPath(name): ApiPath<String>,
) -> Result<Response> {
    let rate = spend(&state, &principal)?;
    let c = owned(&state, &principal, &name).await?;
    Ok((rate, Json(shown(&c))).into_response())
}

/// Delete a collection and every face enrolled in it.
#[utoipa::path(
    delete, path = "/api/v2/collections/{collection_id}", tag = "collections", operation_id = "delete_collection",
    params(CollectionPath),
    security(("api_key" = [])),
    responses(
        (status = 204, description = "Deleted, with its faces."),
        (status = 400, body = ErrorBody, description = "`invalid_request`: a path segment that is not UTF-8 once percent-decoded"),
        (status = 401, body = ErrorBody, description = "`missing_api_key` / `invalid_api_key`"),
        (status = 403, body = ErrorBody, description = "`account_inactive`"),
        (status = 404, body = ErrorBody, description = "`collection_not_found`"),
        (status = 429, response = RateLimited),
    )
)]
#[instrument(skip_all, err)]
async fn delete(
    State(state): State<AppState>,
    ApiKey(principal): ApiKey,
    ApiPath(name): ApiPath<String>,
) -> Result<Response> {
    let rate = spend(&state, &principal)?;
    if !valid_collection_id(&name) || !stored::delete(&state.db, principal.owner(), &name).await? {
        return Err(Error::CollectionNotFound);
    }
    Ok((StatusCode::NO_CONTENT, rate, ()).into_response())
}
