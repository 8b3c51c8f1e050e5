//! Enrolment in a collection: the largest face of an uploaded image, or the face verified in a
//! session that passed. The image is described and dropped; the answer lists the faces already
//! enrolled that match the new one, so a person enrolled twice shows at once.
use axum::{
    extract::{multipart::MultipartRejection, Multipart, State},
    http::StatusCode,
    response::{IntoResponse, Response},
    Json,
};
use bytes::Bytes;
use tracing::instrument;

use app::api::{
    collections::{EnrolResponse, EnrolSessionRequest, EnrolledFace},
    ErrorBody, SessionStatus, Verdict,
};

use super::{
    check_label,
    faces::{matches, vectors},
    owned, spend, CollectionPath,
};
use crate::{
    api::{
        faces::{decision, decision_from, infer, upload},
        openapi::RateLimited,
    },
    error::{Error, Result},
    extract::{ApiJson, ApiKey, ApiPath},
    faces::{self, collections as index, similarity::Decision},
    store::{
        self, collections as stored,
        sessions::{self, SessionKind},
    },
    AppState,
};

/// Matches listed with an enrolment, to spot a person enrolled twice.
const ENROL_MATCHES: usize = 10;

/// Multipart body of an enrolment (for the OpenAPI document).
#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
struct EnrolForm {
    /// JPEG, PNG or WebP, at most 8 MB.
    #[schema(value_type = String, format = Binary)]
    image: Vec<u8>,
    /// The integrator's id for the person (at most 128 characters, without U+0000).
    #[schema(max_length = 128, pattern = r"^[^\u0000]*$")]
    external_id: Option<String>,
    /// For `matches`, as in `faces:compare`.
    #[schema(minimum = 0.0, maximum = 1.0)]
    threshold: Option<f64>,
    /// For `matches`, as in `faces:compare`; absent or `null`: `fmr_1e-3`.
    operating_point: Option<app::api::OperatingPoint>,
}

/// The verified photo of a managed session of the caller's tenant that passed, with the
/// session's result token.
async fn session_photo(
    state: &AppState,
    owner: Option<&str>,
    id: &str,
    token: &str,
) -> Result<Bytes> {
    // Session ids are UUIDs; anything else is no session (and no database lookup).
    if uuid::Uuid::parse_str(id).is_err() {
        return Err(Error::SessionNotFound);
    }
    let s = sessions::require(&state.db, id).await?;
    // Another tenant's session, or a direct one (whose token the browser holds), is not this
    // key's to enrol: the same answer as an unknown id.
    if s.kind != SessionKind::Managed || s.tenant_id.as_deref() != owner {
        return Err(Error::SessionNotFound);
    }
    s.check_token(token)?;
    if s.status != SessionStatus::Completed || s.verdict != Some(Verdict::Pass) {
        return Err(Error::PhotoNotAvailable);
    }
    let photo = sessions::photo(&state.db, &s.id).await?;
    photo.map(Bytes::from).ok_or(Error::PhotoNotAvailable)
}

/// Enrols the largest face of `image` in `c`, with the faces already enrolled that match it.
async fn enrol_image(
    state: &AppState,
    c: &stored::Collection,
    image: Bytes,
    external_id: Option<String>,
    decision: Decision,
) -> Result<EnrolResponse> {
    if let Some(e) = &external_id {
        check_label("external_id", e)?;
    }
    let v = vectors(state, c).await?;
    let held = v.clone();
    let (descriptor, bounding_box, hits) = infer(state, move |m| {
        let (descriptor, bbox) = faces::describe(m, &image)?;
        let hits = index::search(&held, &descriptor, decision.threshold, ENROL_MATCHES);
        Ok((descriptor, bbox, hits))
    })
    .await?;
    let (face, generation) = stored::add_face(
        &state.db,
        &c.id,
        external_id.as_deref(),
        &descriptor,
        state.config.collection_max_faces,
    )
    .await
    .map_err(|e| match e {
        store::Error::NotFound => Error::CollectionNotFound,
        other => other.into(),
    })?;
    let matches = matches(&v, hits);
    // Released first, so that the held copy can take the new face in place.
    drop(v);
    state
        .collections
        .enrolled(
            &c.id,
            generation,
            &face.id,
            face.external_id.as_deref(),
            &descriptor,
        )
        .await;
    Ok(EnrolResponse {
        face: EnrolledFace {
            face_id: face.id,
            external_id: face.external_id,
            created_at: store::rfc3339(face.created_at),
        },
        bounding_box,
        matches,
        threshold: decision.threshold,
        operating_point: decision.operating_point,
    })
}

/// Enrol a face: the largest face of an image.
#[utoipa::path(
    post, path = "/api/v2/collections/{collection_id}/faces", tag = "collections", operation_id = "enrol_face",
    params(CollectionPath),
    request_body(content = inline(EnrolForm), content_type = "multipart/form-data"),
    security(("api_key" = [])),
    responses(
        (status = 201, body = EnrolResponse),
        (status = 400, body = ErrorBody, description = "`invalid_request` (not multipart, a missing, unknown or repeated field, an `external_id` over 128 characters or with U+0000) / `invalid_operating_point` / `empty_image` / `invalid_image`"),
        (status = 401, body = ErrorBody, description = "`missing_api_key` / `invalid_api_key`"),
        (status = 403, body = ErrorBody, description = "`account_inactive`"),
        (status = 404, body = ErrorBody, description = "`collection_not_found`"),
        (status = 409, body = ErrorBody, description = "`collection_full` (`ILIVE_COLLECTION_MAX_FACES`) / `collection_outdated` (enrolled with a descriptor this server no longer uses)"),
        (status = 413, body = ErrorBody, description = "`image_too_large`"),
        (status = 422, body = ErrorBody, description = "`no_face`: no face in the image"),
        (status = 429, response = RateLimited),
    )
)]
#[instrument(skip_all, err)]
pub(super) async fn enrol(
    State(state): State<AppState>,
    ApiKey(principal): ApiKey,
    ApiPath(name): ApiPath<String>,
    multipart: std::result::Result<Multipart, MultipartRejection>,
) -> Result<Response> {
    let rate = spend(&state, &principal)?;
    let c = owned(&state, &principal, &name).await?;
    let texts = ["external_id", "threshold", "operating_point"];
    let mut form = upload::read_form(multipart, &["image"], &texts).await?;
    let decision = decision(&form)?;
    let external_id = form.text("external_id").map(str::to_owned);
    let image = form.image("image")?;
    let body = enrol_image(&state, &c, image, external_id, decision).await?;
    Ok((StatusCode::CREATED, rate, Json(body)).into_response())
}

/// Enrol the face verified in a session: a managed session of this tenant that passed, with its
/// result token — a key alone cannot enrol a session's face, nor can a token alone.
#[utoipa::path(
    post, path = "/api/v2/collections/{collection_id}/faces:fromSession", tag = "collections", operation_id = "enrol_session_face",
    params(CollectionPath),
    request_body = EnrolSessionRequest,
    security(("api_key" = [])),
    responses(
        (status = 201, body = EnrolResponse, description = "`bounding_box` is the face in the session's photo."),
        (status = 400, body = ErrorBody, description = "`invalid_request` (not a JSON object, an unknown field, an `external_id` over 128 characters or with U+0000, `threshold` not in [0, 1]) / `invalid_operating_point`"),
        (status = 401, body = ErrorBody, description = "`missing_api_key` / `invalid_api_key` / `invalid_token` (not the session's result token)"),
        (status = 403, body = ErrorBody, description = "`account_inactive`"),
        (status = 404, body = ErrorBody, description = "`collection_not_found` / `session_not_found` (no managed session of this tenant with this id) / `photo_not_available` (the session did not pass)"),
        (status = 409, body = ErrorBody, description = "`collection_full` / `collection_outdated`"),
        (status = 410, body = ErrorBody, description = "`session_expired`"),
        (status = 413, body = ErrorBody, description = "`request_too_large`"),
        (status = 422, body = ErrorBody, description = "`no_face`: the session's photo shows no face"),
        (status = 429, response = RateLimited),
    )
)]
#[instrument(skip_all, err)]
pub(super) async fn enrol_session(
    State(state): State<AppState>,
    ApiKey(principal): ApiKey,
    ApiPath(name): ApiPath<String>,
    ApiJson(req): ApiJson<EnrolSessionRequest>,
) -> Result<Response> {
    let rate = spend(&state, &principal)?;
    let c = owned(&state, &principal, &name).await?;
    let decision = decision_from(req.operating_point.as_deref(), req.threshold)?;
    let photo = session_photo(
        &state,
        principal.tenant_id(),
        &req.session_id,
        &req.session_token,
    )
    .await?;
    let body = enrol_image(&state, &c, photo, req.external_id, decision).await?;
    Ok((StatusCode::CREATED, rate, Json(body)).into_response())
}
