//! The faces of a collection: enrol (from an image, or from a session that passed), list,
//! delete, search 1:N, and find duplicates. Images are read, described and dropped: only the
//! descriptor and the integrator's `external_id` are stored.
use std::collections::HashMap;

use axum::{
    extract::{multipart::MultipartRejection, Multipart, Path, RawQuery, State},
    http::StatusCode,
    response::{IntoResponse, Response},
    Json,
};
use bytes::Bytes;
use tracing::instrument;

use app::api::{
    collections::{
        DuplicatePair, DuplicatesResponse, EnrolResponse, EnrolSessionRequest, EnrolledFace,
        FaceList, FaceMatch, FaceMatchRef, SearchResponse,
    },
    ErrorBody, SessionStatus, Verdict,
};

use super::{check_label, owned, spend, CollectionPath};
use crate::{
    api::{
        faces::{decision, decision_of, infer, upload},
        openapi::RateLimited,
    },
    error::{Error, Result},
    extract::{ApiJson, ApiKey},
    faces::{self, collections as index, similarity::Decision},
    store::{
        self, collections as stored,
        sessions::{self, SessionKind},
    },
    AppState,
};

/// Matches listed with an enrolment, to spot a person enrolled twice.
const ENROL_MATCHES: usize = 10;
/// `max_results` of a search when the request gives none, and its largest value.
const SEARCH_RESULTS: (usize, usize) = (10, 100);
/// `limit` of a face listing when the request gives none, and its largest value.
const LIST_PAGE: (usize, usize) = (100, 1000);
/// `max_results` of a duplicates report when the request gives none, and its largest value.
const DUPLICATE_PAIRS: (usize, usize) = (100, 1000);

/// A face id in the path.
#[derive(utoipa::IntoParams)]
#[into_params(parameter_in = Path)]
#[allow(dead_code)]
pub(crate) struct FacePath {
    /// The `collection_id` given at creation.
    #[param(pattern = r"^[A-Za-z0-9._-]{1,64}$")]
    collection_id: String,
    /// The `face_id` from enrolment.
    #[param(format = Uuid)]
    face_id: String,
}

/// Multipart body of an enrolment (for the OpenAPI document).
#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
struct EnrolForm {
    /// JPEG, PNG or WebP, at most 8 MB.
    #[schema(value_type = String, format = Binary)]
    image: Vec<u8>,
    /// The integrator's id for the person (at most 128 characters).
    #[schema(max_length = 128)]
    external_id: Option<String>,
    /// For `matches`, as in `faces:compare`.
    #[schema(minimum = 0.0, maximum = 1.0)]
    threshold: Option<f64>,
    /// For `matches`, as in `faces:compare`; absent or `null`: `fmr_1e-3`.
    operating_point: Option<app::api::OperatingPoint>,
}

/// Multipart body of a search (for the OpenAPI document).
#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
struct SearchForm {
    /// JPEG, PNG or WebP, at most 8 MB.
    #[schema(value_type = String, format = Binary)]
    image: Vec<u8>,
    /// 1 to 100; absent or `null`: 10.
    #[schema(minimum = 1, maximum = 100)]
    max_results: Option<u32>,
    /// As in `faces:compare`.
    #[schema(minimum = 0.0, maximum = 1.0)]
    threshold: Option<f64>,
    /// As in `faces:compare`; absent or `null`: `fmr_1e-3`.
    operating_point: Option<app::api::OperatingPoint>,
}

/// The paging of a face listing.
#[derive(utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)]
struct ListQuery {
    /// `next_after` of the previous page.
    after: Option<String>,
    /// 1 to 1000; absent: 100.
    #[param(minimum = 1, maximum = 1000)]
    limit: Option<u32>,
}

/// The options of a duplicates report.
#[derive(utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)]
struct DuplicatesQuery {
    /// As in `faces:compare`.
    #[param(minimum = 0.0, maximum = 1.0)]
    threshold: Option<f64>,
    /// As in `faces:compare`; absent: `fmr_1e-3`.
    operating_point: Option<app::api::OperatingPoint>,
    /// 1 to 1000; absent: 100.
    #[param(minimum = 1, maximum = 1000)]
    max_results: Option<u32>,
}

/// The parameters of a query string, each named in `allowed` and given once; empty values
/// count as absent.
fn query_params(query: Option<&str>, allowed: &[&str]) -> Result<HashMap<String, String>> {
    let mut out = HashMap::new();
    for (k, v) in url::form_urlencoded::parse(query.unwrap_or_default().as_bytes()) {
        if !allowed.contains(&k.as_ref()) {
            return Err(Error::InvalidRequest(format!(
                "unknown query parameter `{k}`: this route reads {}",
                allowed.join(", ")
            )));
        }
        if out.insert(k.to_string(), v.trim().to_owned()).is_some() {
            return Err(Error::InvalidRequest(format!(
                "the query parameter `{k}` is repeated"
            )));
        }
    }
    out.retain(|_, v| !v.is_empty());
    Ok(out)
}

/// A count in `1..=max` from text, `default` when absent.
fn count(field: &str, raw: Option<&str>, (default, max): (usize, usize)) -> Result<usize> {
    match raw {
        None => Ok(default),
        Some(raw) => raw
            .parse::<usize>()
            .ok()
            .filter(|n| (1..=max).contains(n))
            .ok_or_else(|| {
                Error::InvalidRequest(format!("{field} must be a whole number from 1 to {max}"))
            }),
    }
}

/// The collection's descriptors now, refused if they come from another descriptor.
async fn vectors(
    state: &AppState,
    c: &stored::Collection,
) -> Result<std::sync::Arc<stored::Vectors>> {
    if c.descriptor != faces::DESCRIPTOR {
        return Err(Error::CollectionOutdated(c.descriptor.clone()));
    }
    state
        .collections
        .current(&state.db, &c.id)
        .await?
        .ok_or(Error::CollectionNotFound)
}

/// The search's hits as the API lists them.
fn matches(v: &stored::Vectors, hits: Vec<index::Hit>) -> Vec<FaceMatch> {
    hits.into_iter()
        .map(|h| FaceMatch {
            face_id: v.faces[h.index].0.clone(),
            external_id: v.faces[h.index].1.clone(),
            similarity: h.similarity,
        })
        .collect()
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
    let face = stored::add_face(
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
    Ok(EnrolResponse {
        face: EnrolledFace {
            face_id: face.id,
            external_id: face.external_id,
            created_at: store::rfc3339(face.created_at),
        },
        bounding_box,
        matches: matches(&v, hits),
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
        (status = 400, body = ErrorBody, description = "`invalid_request` (not multipart, a missing, unknown or repeated field, an `external_id` over 128 characters) / `invalid_operating_point` / `empty_image` / `invalid_image`"),
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
    Path(name): Path<String>,
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
        (status = 400, body = ErrorBody, description = "`invalid_request` (not a JSON object, an unknown field, an `external_id` over 128 characters, `threshold` not in [0, 1]) / `invalid_operating_point`"),
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
    Path(name): Path<String>,
    ApiJson(req): ApiJson<EnrolSessionRequest>,
) -> Result<Response> {
    let rate = spend(&state, &principal)?;
    let c = owned(&state, &principal, &name).await?;
    if req.threshold.is_some_and(|t| !(0.0..=1.0).contains(&t)) {
        return Err(Error::InvalidRequest(
            "threshold must be a number between 0 and 1".into(),
        ));
    }
    let decision = match req.threshold {
        Some(t) => Decision::raw(t),
        None => Decision::at(req.operating_point.unwrap_or_default()),
    };
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

/// The collection's faces, one page at a time.
#[utoipa::path(
    get, path = "/api/v2/collections/{collection_id}/faces", tag = "collections", operation_id = "list_faces",
    params(CollectionPath, ListQuery),
    security(("api_key" = [])),
    responses(
        (status = 200, body = FaceList),
        (status = 400, body = ErrorBody, description = "`invalid_request`: an unknown query parameter, `limit` not 1–1000"),
        (status = 401, body = ErrorBody, description = "`missing_api_key` / `invalid_api_key`"),
        (status = 403, body = ErrorBody, description = "`account_inactive`"),
        (status = 404, body = ErrorBody, description = "`collection_not_found`"),
        (status = 429, response = RateLimited),
    )
)]
#[instrument(skip_all, err)]
pub(super) async fn list(
    State(state): State<AppState>,
    ApiKey(principal): ApiKey,
    Path(name): Path<String>,
    RawQuery(query): RawQuery,
) -> Result<Response> {
    let rate = spend(&state, &principal)?;
    let q = query_params(query.as_deref(), &["after", "limit"])?;
    let limit = count("limit", q.get("limit").map(String::as_str), LIST_PAGE)?;
    let c = owned(&state, &principal, &name).await?;
    let page = stored::faces(
        &state.db,
        &c.id,
        q.get("after").map(String::as_str),
        limit as i64 + 1,
    )
    .await?;
    let more = page.len() > limit;
    let faces: Vec<EnrolledFace> = page
        .into_iter()
        .take(limit)
        .map(|f| EnrolledFace {
            face_id: f.id,
            external_id: f.external_id,
            created_at: store::rfc3339(f.created_at),
        })
        .collect();
    let next_after = more
        .then(|| faces.last().map(|f| f.face_id.clone()))
        .flatten();
    Ok((rate, Json(FaceList { faces, next_after })).into_response())
}

/// Delete one enrolled face.
#[utoipa::path(
    delete, path = "/api/v2/collections/{collection_id}/faces/{face_id}", tag = "collections", operation_id = "delete_face",
    params(FacePath),
    security(("api_key" = [])),
    responses(
        (status = 204, description = "Deleted: its descriptor is gone."),
        (status = 401, body = ErrorBody, description = "`missing_api_key` / `invalid_api_key`"),
        (status = 403, body = ErrorBody, description = "`account_inactive`"),
        (status = 404, body = ErrorBody, description = "`collection_not_found` / `face_not_found`"),
        (status = 429, response = RateLimited),
    )
)]
#[instrument(skip_all, err)]
pub(super) async fn delete(
    State(state): State<AppState>,
    ApiKey(principal): ApiKey,
    Path((name, face_id)): Path<(String, String)>,
) -> Result<Response> {
    let rate = spend(&state, &principal)?;
    let c = owned(&state, &principal, &name).await?;
    if !stored::delete_face(&state.db, &c.id, &face_id).await? {
        return Err(Error::FaceNotFound);
    }
    Ok((StatusCode::NO_CONTENT, rate, ()).into_response())
}

/// Search the collection for the largest face of an image (1:N).
#[utoipa::path(
    post, path = "/api/v2/collections/{collection_id}/faces:search", tag = "collections", operation_id = "search_faces",
    params(CollectionPath),
    request_body(content = inline(SearchForm), content_type = "multipart/form-data"),
    security(("api_key" = [])),
    responses(
        (status = 200, body = SearchResponse),
        (status = 400, body = ErrorBody, description = "`invalid_request` (not multipart, an unknown or repeated field, `max_results` not 1–100, `threshold` not in [0, 1]) / `invalid_operating_point` / `empty_image` / `invalid_image`"),
        (status = 401, body = ErrorBody, description = "`missing_api_key` / `invalid_api_key`"),
        (status = 403, body = ErrorBody, description = "`account_inactive`"),
        (status = 404, body = ErrorBody, description = "`collection_not_found`"),
        (status = 409, body = ErrorBody, description = "`collection_outdated`"),
        (status = 413, body = ErrorBody, description = "`image_too_large`"),
        (status = 422, body = ErrorBody, description = "`no_face`: no face in the image"),
        (status = 429, response = RateLimited),
    )
)]
#[instrument(skip_all, err)]
pub(super) async fn search(
    State(state): State<AppState>,
    ApiKey(principal): ApiKey,
    Path(name): Path<String>,
    multipart: std::result::Result<Multipart, MultipartRejection>,
) -> Result<Response> {
    let rate = spend(&state, &principal)?;
    let c = owned(&state, &principal, &name).await?;
    let texts = ["max_results", "threshold", "operating_point"];
    let mut form = upload::read_form(multipart, &["image"], &texts).await?;
    let decision = decision(&form)?;
    let max = count("max_results", form.text("max_results"), SEARCH_RESULTS)?;
    let image = form.image("image")?;
    let v = vectors(&state, &c).await?;
    let held = v.clone();
    let (searched_face, hits) = infer(&state, move |m| {
        let (descriptor, bbox) = faces::describe(m, &image)?;
        Ok((
            bbox,
            index::search(&held, &descriptor, decision.threshold, max),
        ))
    })
    .await?;
    let body = SearchResponse {
        matches: matches(&v, hits),
        threshold: decision.threshold,
        operating_point: decision.operating_point,
        searched_face,
        face_count: v.faces.len() as u64,
    };
    Ok((rate, Json(body)).into_response())
}

/// Pairs of enrolled faces that match each other: people enrolled more than once.
#[utoipa::path(
    get, path = "/api/v2/collections/{collection_id}/duplicates", tag = "collections", operation_id = "find_duplicates",
    params(CollectionPath, DuplicatesQuery),
    security(("api_key" = [])),
    responses(
        (status = 200, body = DuplicatesResponse),
        (status = 400, body = ErrorBody, description = "`invalid_request` (an unknown query parameter, `max_results` not 1–1000, `threshold` not in [0, 1]) / `invalid_operating_point`"),
        (status = 401, body = ErrorBody, description = "`missing_api_key` / `invalid_api_key`"),
        (status = 403, body = ErrorBody, description = "`account_inactive`"),
        (status = 404, body = ErrorBody, description = "`collection_not_found`"),
        (status = 409, body = ErrorBody, description = "`collection_outdated`"),
        (status = 422, body = ErrorBody, description = "`collection_too_large`: more than 10,000 faces to compare pairwise; search them one by one instead"),
        (status = 429, response = RateLimited),
    )
)]
#[instrument(skip_all, err)]
pub(super) async fn duplicates(
    State(state): State<AppState>,
    ApiKey(principal): ApiKey,
    Path(name): Path<String>,
    RawQuery(query): RawQuery,
) -> Result<Response> {
    let rate = spend(&state, &principal)?;
    let q = query_params(
        query.as_deref(),
        &["threshold", "operating_point", "max_results"],
    )?;
    let text = |k: &str| q.get(k).map(String::as_str);
    let decision: Decision = decision_of(text("operating_point"), text("threshold"))?;
    let max = count("max_results", text("max_results"), DUPLICATE_PAIRS)?;
    let c = owned(&state, &principal, &name).await?;
    let v = vectors(&state, &c).await?;
    if v.faces.len() > index::DUPLICATES_MAX_FACES {
        return Err(Error::CollectionTooLarge(format!(
            "the collection holds {} faces: duplicates are found among at most {}",
            v.faces.len(),
            index::DUPLICATES_MAX_FACES
        )));
    }
    let held = v.clone();
    let (pairs, truncated) = infer(&state, move |_| {
        Ok(index::duplicates(&held, decision.threshold, max))
    })
    .await?;
    let face = |i: usize| FaceMatchRef {
        face_id: v.faces[i].0.clone(),
        external_id: v.faces[i].1.clone(),
    };
    let body = DuplicatesResponse {
        pairs: pairs
            .into_iter()
            .map(|(a, b, similarity)| DuplicatePair {
                first: face(a),
                second: face(b),
                similarity,
            })
            .collect(),
        truncated,
        threshold: decision.threshold,
        operating_point: decision.operating_point,
        face_count: v.faces.len() as u64,
    };
    Ok((rate, Json(body)).into_response())
}
