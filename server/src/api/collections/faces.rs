//! The faces of a collection: list, delete, search 1:N, and find duplicates (enrolment is
//! [`super::enrol`]). Images are read, described and dropped: only the descriptor and the
//! integrator's `external_id` are stored.
use std::collections::HashMap;

use axum::{
    extract::{multipart::MultipartRejection, Multipart, RawQuery, State},
    http::StatusCode,
    response::{IntoResponse, Response},
    Json,
};
use tracing::instrument;

use app::api::{
    collections::{
        DuplicatePair, DuplicatesResponse, EnrolledFace, FaceList, FaceMatch, FaceMatchRef,
        SearchResponse,
    },
    ErrorBody,
};

use super::{owned, spend, CollectionPath};
use crate::{
    api::{
        faces::{decision, decision_of, infer, upload},
        openapi::RateLimited,
    },
    error::{Error, Result},
    extract::{ApiKey, ApiPath},
    faces::{self, collections as index, similarity::Decision},
    store::{self, collections as stored},
    AppState,
};

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
    #[param(pattern = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")]
    collection_id: String,
    /// The `face_id` from enrolment.
    #[param(format = Uuid)]
    face_id: String,
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
    #[param(pattern = r"^[^\u0000]*$")]
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
pub(super) async fn vectors(
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
pub(super) fn matches(v: &stored::Vectors, hits: Vec<index::Hit>) -> Vec<FaceMatch> {
    hits.into_iter()
        .map(|h| FaceMatch {
            face_id: v.faces[h.index].0.clone(),
            external_id: v.faces[h.index].1.clone(),
            similarity: h.similarity,
        })
        .collect()
}

/// The collection's faces, one page at a time.
#[utoipa::path(
    get, path = "/api/v2/collections/{collection_id}/faces", tag = "collections", operation_id = "list_faces",
    params(CollectionPath, ListQuery),
    security(("api_key" = [])),
    responses(
        (status = 200, body = FaceList),
        (status = 400, body = ErrorBody, description = "`invalid_request`: an unknown query parameter, `limit` not 1–1000, an `after` with U+0000"),
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
    ApiPath(name): ApiPath<String>,
    RawQuery(query): RawQuery,
) -> Result<Response> {
    let rate = spend(&state, &principal)?;
    let q = query_params(query.as_deref(), &["after", "limit"])?;
    let limit = count("limit", q.get("limit").map(String::as_str), LIST_PAGE)?;
    let after = q.get("after").map(String::as_str);
    // Any text orders the faces' ids, but PostgreSQL's text cannot hold U+0000.
    if after.is_some_and(|a| a.contains('\0')) {
        return Err(Error::InvalidRequest(
            "after must not contain the character U+0000".into(),
        ));
    }
    let c = owned(&state, &principal, &name).await?;
    let page = stored::faces(&state.db, &c.id, after, limit as i64 + 1).await?;
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
        (status = 400, body = ErrorBody, description = "`invalid_request`: a path segment that is not UTF-8 once percent-decoded"),
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
    ApiPath((name, face_id)): ApiPath<(String, String)>,
) -> Result<Response> {
    let rate = spend(&state, &principal)?;
    let c = owned(&state, &principal, &name).await?;
    // Face ids are UUIDs; anything else is no face, without asking the database (whose text
    // would refuse a U+0000 in it).
    if uuid::Uuid::parse_str(&face_id).is_err()
        || !stored::delete_face(&state.db, &c.id, &face_id).await?
    {
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
    ApiPath(name): ApiPath<String>,
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
        (status = 422, body = ErrorBody, description = "`collection_too_large`: more than 5,000 faces to compare pairwise; search them one by one instead"),
        (status = 429, response = RateLimited),
    )
)]
#[instrument(skip_all, err)]
pub(super) async fn duplicates(
    State(state): State<AppState>,
    ApiKey(principal): ApiKey,
    ApiPath(name): ApiPath<String>,
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
    let too_large = |faces: usize| {
        Error::CollectionTooLarge(format!(
            "the collection holds {faces} faces: duplicates are found among at most {}",
            index::DUPLICATES_MAX_FACES
        ))
    };
    // Refused before its descriptors are read (seconds for the largest collections); checked
    // again on what was read, which an enrolment may have grown meanwhile.
    if c.face_count.max(0) as usize > index::DUPLICATES_MAX_FACES {
        return Err(too_large(c.face_count as usize));
    }
    let v = vectors(&state, &c).await?;
    if v.faces.len() > index::DUPLICATES_MAX_FACES {
        return Err(too_large(v.faces.len()));
    }
    let (pairs, truncated) = state
        .collections
        .find_duplicates(v.clone(), decision.threshold, max)
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
