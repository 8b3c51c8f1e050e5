//! The face routes (docs/api.md, "Face comparison"): `POST /api/v2/faces:compare`,
//! `POST /api/v1/session/{id}/compare` and `POST /api/v2/faces:detect`.
//!
//! Thin handlers: they authenticate, rate-limit and read the multipart upload ([`upload`], at
//! most 8 MB an image), then hand the images to `crate::faces` on one of the inference pool's
//! workers, so uploads and live sessions share the cores instead of oversubscribing them.
pub mod upload;

use axum::{
    extract::{multipart::MultipartRejection, DefaultBodyLimit, Multipart, RawQuery, State},
    response::{IntoResponse, Response},
    routing::post,
    Json, Router,
};
use models::FaceModels;
use tracing::instrument;

use app::api::{
    CompareResponse, DetectResponse, ErrorBody, OperatingPoint, SessionStatus, Verdict,
};

use super::openapi::{RateLimited, ResultToken, SessionId};
use crate::{
    error::{Error, Result},
    extract::{ApiKey, ApiPath},
    faces::{self, Attributes, Decision},
    store::sessions,
    AppState,
};

use upload::{PAIR_BODY_LIMIT, SINGLE_BODY_LIMIT};

pub fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/api/v2/faces:compare",
            post(compare).layer(DefaultBodyLimit::max(PAIR_BODY_LIMIT)),
        )
        .route(
            "/api/v2/faces:detect",
            post(detect).layer(DefaultBodyLimit::max(SINGLE_BODY_LIMIT)),
        )
        .route(
            "/api/v1/session/{id}/compare",
            post(session_compare).layer(DefaultBodyLimit::max(SINGLE_BODY_LIMIT)),
        )
}

/// Multipart body of `faces:compare` (for the OpenAPI document).
#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
struct CompareForm {
    /// JPEG, PNG or WebP, at most 8 MB.
    #[schema(value_type = String, format = Binary)]
    source_image: Vec<u8>,
    /// JPEG, PNG or WebP, at most 8 MB.
    #[schema(value_type = String, format = Binary)]
    target_image: Vec<u8>,
    /// In [0, 1]: a raw similarity threshold, which wins over `operating_point`; absent or
    /// `null` (the text `null`): the operating point's.
    #[schema(minimum = 0.0, maximum = 1.0)]
    threshold: Option<f64>,
    /// The threshold named by its measured false-match rate; absent or `null`: `fmr_1e-3`.
    operating_point: Option<OperatingPoint>,
}

/// Multipart body of the session compare route (for the OpenAPI document).
#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
struct SessionCompareForm {
    /// JPEG, PNG or WebP, at most 8 MB.
    #[schema(value_type = String, format = Binary)]
    image: Vec<u8>,
    /// In [0, 1]: a raw similarity threshold, which wins over `operating_point`; absent or
    /// `null`: the operating point's.
    #[schema(minimum = 0.0, maximum = 1.0)]
    threshold: Option<f64>,
    /// As for `faces:compare`; absent or `null`: `fmr_1e-3`.
    operating_point: Option<OperatingPoint>,
}

/// Multipart body of `faces:detect` (for the OpenAPI document).
#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
struct DetectForm {
    /// JPEG, PNG or WebP, at most 8 MB.
    #[schema(value_type = String, format = Binary)]
    image: Vec<u8>,
    /// `none`, `default` (pose, brightness, sharpness, eyes_open, mouth_closed) or `all`
    /// (adds `eyeglasses`, not measured yet: `value` null); absent or `null`: `default`.
    attributes: Option<AttributeLevel>,
}

/// `attributes` of `faces:detect` (for the OpenAPI document).
#[derive(utoipa::ToSchema)]
#[schema(rename_all = "snake_case")]
#[allow(dead_code)]
enum AttributeLevel {
    None,
    Default,
    All,
}

/// Compare the largest face of two images.
#[utoipa::path(
    post, path = "/api/v2/faces:compare", tag = "faces",
    request_body(content = inline(CompareForm), content_type = "multipart/form-data"),
    security(("api_key" = [])),
    responses(
        (status = 200, body = CompareResponse),
        (status = 400, body = ErrorBody, description = "`invalid_request` (not multipart, a missing or repeated field, `threshold` not a number in [0, 1]) / `invalid_operating_point` (not `fmr_1e-2`, `fmr_1e-3` or `fmr_1e-4`) / `empty_image` / `invalid_image` (not a decodable JPEG, PNG or WebP)"),
        (status = 401, body = ErrorBody, description = "`missing_api_key` / `invalid_api_key`"),
        (status = 403, body = ErrorBody, description = "`account_inactive`"),
        (status = 413, body = ErrorBody, description = "`image_too_large`: an image over 8 MiB"),
        (status = 422, body = ErrorBody, description = "`no_face_in_source` / `no_face_in_target`: no face in that image"),
        (status = 429, response = RateLimited),
    )
)]
#[instrument(skip_all, err)]
async fn compare(
    State(state): State<AppState>,
    ApiKey(principal): ApiKey,
    multipart: std::result::Result<Multipart, MultipartRejection>,
) -> Result<Response> {
    let rate = state
        .limits
        .check(&principal.rate_key(), state.config.key_rate_limit)?;
    let mut form = upload::read_form(
        multipart,
        &["source_image", "target_image"],
        DECISION_FIELDS,
    )
    .await?;
    let decision = decision(&form)?;
    let source = form.image("source_image")?;
    let target = form.image("target_image")?;
    let answer = infer(&state, move |m| {
        faces::compare(m, &source, &target, decision)
    })
    .await?;
    Ok((rate, Json(answer)).into_response())
}

/// Compare an image (e.g. an ID photo) with the face verified in a `pass` session.
#[utoipa::path(
    post, path = "/api/v1/session/{id}/compare", tag = "faces",
    params(SessionId, ResultToken),
    request_body(content = inline(SessionCompareForm), content_type = "multipart/form-data"),
    responses(
        (status = 200, body = CompareResponse, description = "`source_face` is the face in the session's photo."),
        (status = 400, body = ErrorBody, description = "`invalid_request` (not multipart, a missing or repeated field, `threshold` not a number in [0, 1]) / `invalid_operating_point` / `empty_image` / `invalid_image`"),
        (status = 401, body = ErrorBody, description = "`invalid_token`"),
        (status = 404, body = ErrorBody, description = "`session_not_found` / `photo_not_available` (the verdict is not `pass`)"),
        (status = 410, body = ErrorBody, description = "`session_expired`"),
        (status = 413, body = ErrorBody, description = "`image_too_large`"),
        (status = 422, body = ErrorBody, description = "`no_face_in_target` (`no_face_in_source`: the stored photo shows no face)"),
        (status = 429, response = RateLimited),
    )
)]
#[instrument(skip_all, err)]
async fn session_compare(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<String>,
    RawQuery(query): RawQuery,
    multipart: std::result::Result<Multipart, MultipartRejection>,
) -> Result<Response> {
    let session = super::sessions::authorised(&state, &id, query.as_deref()).await?;
    // The token holder may probe the verified face; bound how fast, as for keyed routes.
    let rate = state.limits.check(
        &format!("session-compare:{}", session.id),
        state.config.key_rate_limit,
    )?;
    if session.status != SessionStatus::Completed || session.verdict != Some(Verdict::Pass) {
        return Err(Error::PhotoNotAvailable);
    }
    let photo = sessions::photo(&state.db, &session.id)
        .await?
        .ok_or(Error::PhotoNotAvailable)?;
    let mut form = upload::read_form(multipart, &["image"], DECISION_FIELDS).await?;
    let decision = decision(&form)?;
    let target = form.image("image")?;
    let answer = infer(&state, move |m| {
        faces::compare(m, &photo, &target, decision)
    })
    .await?;
    Ok((rate, Json(answer)).into_response())
}

/// Find faces, with landmarks and (optionally) attributes.
#[utoipa::path(
    post, path = "/api/v2/faces:detect", tag = "faces",
    request_body(content = inline(DetectForm), content_type = "multipart/form-data"),
    security(("api_key" = [])),
    responses(
        (status = 200, body = DetectResponse, description = "Up to 16 faces, largest first; `faces` is empty when the image shows none."),
        (status = 400, body = ErrorBody, description = "`invalid_request` (not multipart, a missing or repeated field, an unknown `attributes`) / `empty_image` / `invalid_image`"),
        (status = 401, body = ErrorBody, description = "`missing_api_key` / `invalid_api_key`"),
        (status = 403, body = ErrorBody, description = "`account_inactive`"),
        (status = 413, body = ErrorBody, description = "`image_too_large`"),
        (status = 429, response = RateLimited),
    )
)]
#[instrument(skip_all, err)]
async fn detect(
    State(state): State<AppState>,
    ApiKey(principal): ApiKey,
    multipart: std::result::Result<Multipart, MultipartRejection>,
) -> Result<Response> {
    let rate = state
        .limits
        .check(&principal.rate_key(), state.config.key_rate_limit)?;
    let mut form = upload::read_form(multipart, &["image"], &["attributes"]).await?;
    let name = form.text("attributes").unwrap_or("default");
    let level = Attributes::parse(name).ok_or_else(|| {
        Error::InvalidRequest(format!(
            "attributes must be none, default or all (got {name:?})"
        ))
    })?;
    let image = form.image("image")?;
    let answer = infer(&state, move |m| faces::detect(m, &image, level)).await?;
    Ok((rate, Json(answer)).into_response())
}

/// The optional text fields of both compare routes.
pub const DECISION_FIELDS: &[&str] = &["threshold", "operating_point"];

/// The request's `threshold`, else its `operating_point`, else the default operating point.
pub(crate) fn decision(form: &upload::Form) -> Result<Decision> {
    decision_of(form.text("operating_point"), form.text("threshold"))
}

/// [`decision`] from the two fields' text, wherever they came from (a form, a query).
pub(crate) fn decision_of(point: Option<&str>, threshold: Option<&str>) -> Result<Decision> {
    let threshold = match threshold {
        None => None,
        Some(raw) => Some(raw.parse::<f64>().map_err(|_| {
            Error::InvalidRequest(format!(
                "threshold must be a number between 0 and 1 (got {raw:?})"
            ))
        })?),
    };
    decision_from(point, threshold)
}

/// The decision a request asks for: its raw `threshold` (in [0, 1]) when it gives one — the more
/// specific request wins, and the result then names no point — else its `operating_point`
/// (checked in either case), else the default point. For bodies whose threshold is already a
/// number (JSON) and, through [`decision_of`], for text fields.
pub(crate) fn decision_from(point: Option<&str>, threshold: Option<f64>) -> Result<Decision> {
    let point = match point {
        None => None,
        Some(name) => Some(OperatingPoint::parse(name).ok_or_else(|| {
            Error::InvalidOperatingPoint(format!(
                "operating_point must be one of {} (got {name:?})",
                OperatingPoint::ALL.map(OperatingPoint::as_str).join(", ")
            ))
        })?),
    };
    match threshold {
        Some(t) if !(0.0..=1.0).contains(&t) => Err(Error::InvalidRequest(format!(
            "threshold must be a number between 0 and 1 (got {t})"
        ))),
        Some(t) => Ok(Decision::raw(t)),
        None => Ok(Decision::at(point.unwrap_or_default())),
    }
}

/// Runs face work on one of the inference pool's workers, in turn with the frames.
pub(crate) async fn infer<T: Send + 'static>(
    state: &AppState,
    job: impl FnOnce(&FaceModels) -> Result<T> + Send + 'static,
) -> Result<T> {
    state
        .inference
        .run(job)
        .await
        .map_err(|e| Error::Internal(e.into()))?
}
