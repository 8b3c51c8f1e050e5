//! Face comparison and detection (API.md "Face comparison"): `POST /api/v2/faces:compare`,
//! `POST /api/v1/session/{id}/compare` and `POST /api/v2/faces:detect`.
//!
//! Uploads are multipart images up to 8 MB ([`upload`]); decoding and inference run on blocking
//! threads, at most one job per core at a time. When an image holds several faces, the largest
//! (by box area) is the one compared. Similarity is a logistic map of the descriptor distance
//! ([`similarity`]); `ilive faces-eval` ([`eval`]) measures it on real photos.
pub mod eval;
pub mod similarity;
pub mod upload;

use std::sync::{Arc, LazyLock};

use axum::{
    extract::{multipart::MultipartRejection, DefaultBodyLimit, Multipart, Path, RawQuery, State},
    response::{IntoResponse, Response},
    routing::post,
    Json, Router,
};
use image::RgbImage;
use models::{AnalyzeOptions, Face, FaceModels};
use tokio::sync::Semaphore;
use tracing::instrument;

use app::api::{
    BoolAttribute, CompareResponse, DetectResponse, DetectedFace, ErrorBody, FaceAttributes,
    FaceBoundingBox, FaceLandmark, FacePose, ImageSize, SessionStatus, Verdict,
};

use crate::{
    error::{Error, Result},
    extract::ApiKey,
    store::{sessions, tenants::Principal},
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
    /// In [0, 1]; default 0.5 (descriptor distance 0.6).
    threshold: Option<f64>,
}

/// Multipart body of the session compare route (for the OpenAPI document).
#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
struct SessionCompareForm {
    /// JPEG, PNG or WebP, at most 8 MB.
    #[schema(value_type = String, format = Binary)]
    image: Vec<u8>,
    /// In [0, 1]; default 0.5.
    threshold: Option<f64>,
}

/// Multipart body of `faces:detect` (for the OpenAPI document).
#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
struct DetectForm {
    /// JPEG, PNG or WebP, at most 8 MB.
    #[schema(value_type = String, format = Binary)]
    image: Vec<u8>,
    /// `none`, `default` (pose, brightness, sharpness, eyes_open, mouth_closed) or `all`
    /// (adds `eyeglasses`, not measured yet: `value` null).
    attributes: Option<String>,
}

/// Compare the largest face of two images.
#[utoipa::path(
    post, path = "/api/v2/faces:compare", tag = "faces",
    request_body(content = inline(CompareForm), content_type = "multipart/form-data"),
    security(("api_key" = [])),
    responses(
        (status = 200, body = CompareResponse),
        (status = 400, body = ErrorBody, description = "invalid_request / empty_image / invalid_image"),
        (status = 401, body = ErrorBody, description = "missing_api_key / invalid_api_key"),
        (status = 403, body = ErrorBody, description = "account_inactive"),
        (status = 413, body = ErrorBody, description = "image_too_large"),
        (status = 422, body = ErrorBody, description = "no_face_in_source / no_face_in_target"),
        (status = 429, body = ErrorBody, description = "rate_limited"),
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
        .check(&tenant_key(&principal)?, state.config.key_rate_limit)?;
    let mut form =
        upload::read_form(multipart, &["source_image", "target_image"], &["threshold"]).await?;
    let threshold = parse_threshold(form.text("threshold"))?;
    let source = form.image("source_image")?;
    let target = form.image("target_image")?;
    let models = state.inference.models().clone();
    let answer = blocking(move || compare_images(&models, &source, &target, threshold)).await?;
    Ok((rate, Json(answer)).into_response())
}

/// Compare an image (e.g. an ID photo) with the face verified in a `pass` session.
#[utoipa::path(
    post, path = "/api/v1/session/{id}/compare", tag = "faces",
    params(("id" = String, Path), ("token" = String, Query, description = "The result token from creation.")),
    request_body(content = inline(SessionCompareForm), content_type = "multipart/form-data"),
    responses(
        (status = 200, body = CompareResponse, description = "`source_face` is the face in the session's photo."),
        (status = 400, body = ErrorBody, description = "invalid_request / empty_image / invalid_image"),
        (status = 401, body = ErrorBody, description = "invalid_token"),
        (status = 404, body = ErrorBody, description = "session_not_found / photo_not_available (the verdict is not `pass`)"),
        (status = 413, body = ErrorBody, description = "image_too_large"),
        (status = 422, body = ErrorBody, description = "no_face_in_target (no_face_in_source: the stored photo shows no face)"),
        (status = 429, body = ErrorBody, description = "rate_limited"),
    )
)]
#[instrument(skip_all, err)]
async fn session_compare(
    State(state): State<AppState>,
    Path(id): Path<String>,
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
    let mut form = upload::read_form(multipart, &["image"], &["threshold"]).await?;
    let threshold = parse_threshold(form.text("threshold"))?;
    let target = form.image("image")?;
    let models = state.inference.models().clone();
    let answer = blocking(move || compare_images(&models, &photo, &target, threshold)).await?;
    Ok((rate, Json(answer)).into_response())
}

/// Find faces, with landmarks and (optionally) attributes.
#[utoipa::path(
    post, path = "/api/v2/faces:detect", tag = "faces",
    request_body(content = inline(DetectForm), content_type = "multipart/form-data"),
    security(("api_key" = [])),
    responses(
        (status = 200, body = DetectResponse, description = "Faces, largest first."),
        (status = 400, body = ErrorBody, description = "invalid_request / empty_image / invalid_image"),
        (status = 401, body = ErrorBody, description = "missing_api_key / invalid_api_key"),
        (status = 403, body = ErrorBody, description = "account_inactive"),
        (status = 413, body = ErrorBody, description = "image_too_large"),
        (status = 422, body = ErrorBody, description = "no_face"),
        (status = 429, body = ErrorBody, description = "rate_limited"),
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
        .check(&tenant_key(&principal)?, state.config.key_rate_limit)?;
    let mut form = upload::read_form(multipart, &["image"], &["attributes"]).await?;
    let level = match form.text("attributes").unwrap_or("default") {
        "none" => Attributes::None,
        "default" => Attributes::Default,
        "all" => Attributes::All,
        other => {
            return Err(Error::InvalidRequest(format!(
                "attributes must be none, default or all (got {other:?})"
            )))
        }
    };
    let image = form.image("image")?;
    let models = state.inference.models().clone();
    let answer = blocking(move || detect_image(&models, &image, level)).await?;
    Ok((rate, Json(answer)).into_response())
}

/// The per-key rate-limit bucket; the legacy global key is only for the managed-session route.
fn tenant_key(principal: &Principal) -> Result<String> {
    match principal {
        Principal::Legacy => Err(Error::InvalidApiKey),
        p => Ok(p.rate_key()),
    }
}

fn parse_threshold(raw: Option<&str>) -> Result<f64> {
    let Some(raw) = raw else {
        return Ok(similarity::DEFAULT_THRESHOLD);
    };
    raw.parse::<f64>()
        .ok()
        .filter(|t| (0.0..=1.0).contains(t))
        .ok_or_else(|| {
            Error::InvalidRequest(format!(
                "threshold must be a number between 0 and 1 (got {raw:?})"
            ))
        })
}

/// Decoding and inference jobs running at once: one per core, so a burst of uploads queues
/// instead of oversubscribing the CPU the liveness sessions also need.
static JOBS: LazyLock<Semaphore> = LazyLock::new(|| {
    Semaphore::new(
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(2),
    )
});

/// Runs CPU work on a blocking thread, off the async runtime.
async fn blocking<T: Send + 'static>(
    job: impl FnOnce() -> Result<T> + Send + 'static,
) -> Result<T> {
    let _permit = JOBS
        .acquire()
        .await
        .map_err(|e| Error::Internal(anyhow::Error::from(e)))?;
    tokio::task::spawn_blocking(job)
        .await
        .map_err(|e| Error::Internal(anyhow::Error::from(e)))?
}

/// An image's faces, largest first.
pub fn faces_in(models: &FaceModels, img: &RgbImage, opts: &AnalyzeOptions) -> Result<Vec<Face>> {
    let mut faces = models
        .analyze(img, opts)
        .map_err(|e| Error::Internal(anyhow::Error::from(e)))?;
    faces.sort_by(|a, b| (b.bbox.w * b.bbox.h).total_cmp(&(a.bbox.w * a.bbox.h)));
    Ok(faces)
}

/// The largest face of an image, with its descriptor.
pub fn largest_face(models: &FaceModels, img: &RgbImage) -> Result<Option<Face>> {
    let opts = AnalyzeOptions {
        embedding: true,
        ..AnalyzeOptions::default()
    };
    Ok(faces_in(models, img, &opts)?.into_iter().next())
}

/// The descriptor distance between two faces analysed with embeddings.
pub fn distance(a: &Face, b: &Face) -> Result<f32> {
    match (&a.embedding, &b.embedding) {
        (Some(x), Some(y)) => Ok(models::embedding_distance(x, y)),
        _ => Err(Error::Internal(anyhow::anyhow!(
            "face without a descriptor"
        ))),
    }
}

fn compare_images(
    models: &Arc<FaceModels>,
    source: &[u8],
    target: &[u8],
    threshold: f64,
) -> Result<CompareResponse> {
    // Both uploads are validated before any inference, so a bad target is reported as such
    // even when the source shows no face.
    let source = upload::decode(source)?;
    let target = upload::decode(target)?;
    let s = largest_face(models, &source)?.ok_or(Error::NoFaceInSource)?;
    let t = largest_face(models, &target)?.ok_or(Error::NoFaceInTarget)?;
    let sim = similarity::similarity(distance(&s, &t)?);
    Ok(CompareResponse {
        similarity: sim,
        is_match: sim >= threshold,
        threshold,
        source_face: bounding_box(&s, &source),
        target_face: bounding_box(&t, &target),
    })
}

/// How much `faces:detect` reports per face.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Attributes {
    None,
    Default,
    All,
}

fn detect_image(models: &FaceModels, bytes: &[u8], level: Attributes) -> Result<DetectResponse> {
    let img = upload::decode(bytes)?;
    let opts = AnalyzeOptions {
        max_faces: 16,
        ..AnalyzeOptions::default()
    };
    let faces = faces_in(models, &img, &opts)?;
    if faces.is_empty() {
        return Err(Error::NoFace);
    }
    Ok(DetectResponse {
        faces: faces
            .iter()
            .map(|f| DetectedFace {
                bounding_box: bounding_box(f, &img),
                confidence: round4(f.score),
                landmarks: landmarks(f),
                attributes: (level != Attributes::None).then(|| attributes(f, level)),
            })
            .collect(),
        image_size: ImageSize {
            width: img.width(),
            height: img.height(),
        },
    })
}

/// The face's box in whole pixels, clamped to the image.
fn bounding_box(face: &Face, img: &RgbImage) -> FaceBoundingBox {
    let (w, h) = (img.width() as f32, img.height() as f32);
    let b = face.bbox;
    let (x0, y0) = (b.x.clamp(0.0, w).round(), b.y.clamp(0.0, h).round());
    let (x1, y1) = (
        (b.x + b.w).clamp(0.0, w).round(),
        (b.y + b.h).clamp(0.0, h).round(),
    );
    FaceBoundingBox {
        left: x0 as u32,
        top: y0 as u32,
        width: (x1 - x0).max(0.0) as u32,
        height: (y1 - y0).max(0.0) as u32,
    }
}

/// Named points as means of MediaPipe face-mesh indices (subject's left/right).
const LANDMARKS: &[(&str, &[usize])] = &[
    ("left_eye", &[263, 362, 387, 373]),
    ("right_eye", &[33, 133, 160, 144]),
    ("nose_tip", &[1]),
    ("mouth_left", &[291]),
    ("mouth_right", &[61]),
    ("upper_lip", &[13]),
    ("lower_lip", &[14]),
    ("chin", &[152]),
    ("forehead", &[10]),
];

fn landmarks(face: &Face) -> Vec<FaceLandmark> {
    LANDMARKS
        .iter()
        .filter_map(|(kind, idx)| {
            let pts: Vec<&[f32; 3]> = idx.iter().filter_map(|&i| face.landmarks.get(i)).collect();
            if pts.len() != idx.len() {
                return None;
            }
            let n = pts.len() as f32;
            Some(FaceLandmark {
                kind: (*kind).to_owned(),
                x: round1(pts.iter().map(|p| p[0]).sum::<f32>() / n),
                y: round1(pts.iter().map(|p| p[1]).sum::<f32>() / n),
            })
        })
        .collect()
}

/// Eye aspect ratio where "open" and "closed" are equally likely: open eyes measure ~0.25–0.35,
/// closed ones below ~0.15 (Soukupová & Čech).
const EAR_CUT: f32 = 0.2;
const EAR_SCALE: f32 = 0.025;
/// Inner-lip gap over mouth width where "closed" and "open" are equally likely: closed lips
/// measure ~0–0.05 (a smile with parted lips up to ~0.1), an open mouth above ~0.2.
const MOUTH_CUT: f32 = 0.12;
const MOUTH_SCALE: f32 = 0.03;

/// A yes/no answer from a measure on a logistic around its cut-off; the confidence is that of
/// the answer given (0.5 at the cut-off, towards 1 away from it).
fn yes_no(measure: f32, cut: f32, scale: f32) -> BoolAttribute {
    let p = 1.0 / (1.0 + (-(measure - cut) / scale).exp());
    BoolAttribute {
        value: Some(p >= 0.5),
        confidence: round4(p.max(1.0 - p)),
    }
}

fn attributes(face: &Face, level: Attributes) -> FaceAttributes {
    let ear = (face.eye_aspect_ratio.left + face.eye_aspect_ratio.right) / 2.0;
    FaceAttributes {
        pose: FacePose {
            roll: round1(face.pose.roll),
            yaw: round1(face.pose.yaw),
            pitch: round1(face.pose.pitch),
        },
        brightness: round4(face.brightness),
        sharpness: round1(face.sharpness),
        eyes_open: yes_no(ear, EAR_CUT, EAR_SCALE),
        // Closed when the gap is *below* the cut: flip the measure's sign.
        mouth_closed: yes_no(-face.mouth_open_ratio, -MOUTH_CUT, MOUTH_SCALE),
        // No model measures eyeglasses yet; say so rather than guess.
        eyeglasses: (level == Attributes::All).then_some(BoolAttribute {
            value: None,
            confidence: 0.0,
        }),
    }
}

fn round1(v: f32) -> f32 {
    (v * 10.0).round() / 10.0
}

fn round4(v: f32) -> f32 {
    (v * 10_000.0).round() / 10_000.0
}
