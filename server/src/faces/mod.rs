//! Face comparison and detection, the domain half of the face routes (docs/api.md, "Face
//! comparison"): decoding an image ([`decode`]), finding its faces, comparing descriptors
//! ([`similarity`]) and shaping what the API reports about each face ([`shape`]). The HTTP
//! handlers are in `api::faces`; `ilive faces-eval` measures this same code on real photos.
//!
//! When an image holds several faces, the largest (by box area) is the one compared, by its
//! MobileFaceNet descriptor ([`descriptor`]).
pub mod shape;
pub mod similarity;

use app::api::{CompareResponse, DetectResponse, DetectedFace, ImageSize};

use image::RgbImage;
use models::{AnalyzeOptions, Face, FaceModels};
pub use similarity::Decision;

use crate::error::{Error, Result};

/// Decodes an uploaded photo under the upload caps ([`crate::decode::UPLOAD`]).
pub fn decode(bytes: &[u8]) -> Result<RgbImage> {
    Ok(crate::decode::decode(bytes, &crate::decode::UPLOAD)?)
}

/// How much `faces:detect` reports per face.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Attributes {
    None,
    Default,
    All,
}

impl Attributes {
    /// The level named by the `attributes` field: `none`, `default` or `all`.
    pub fn parse(name: &str) -> Option<Self> {
        match name {
            "none" => Some(Attributes::None),
            "default" => Some(Attributes::Default),
            "all" => Some(Attributes::All),
            _ => None,
        }
    }
}

/// An image's faces, largest first: BlazeFace's, or where it finds none, the second detector's
/// (`models::uploads`).
pub fn faces_in(models: &FaceModels, img: &RgbImage, opts: &AnalyzeOptions) -> Result<Vec<Face>> {
    let mut faces = models
        .analyze_upload(img, opts)
        .map_err(|e| Error::Internal(anyhow::Error::from(e)))?;
    faces.sort_by(|a, b| (b.bbox.w * b.bbox.h).total_cmp(&(a.bbox.w * a.bbox.h)));
    Ok(faces)
}

/// The largest face of an image.
pub fn largest_face(models: &FaceModels, img: &RgbImage) -> Result<Option<Face>> {
    Ok(faces_in(models, img, &AnalyzeOptions::default())?
        .into_iter()
        .next())
}

/// The unit-length MobileFaceNet descriptor of a face found in `img`, aligned by its landmarks.
pub fn descriptor(models: &FaceModels, img: &RgbImage, face: &Face) -> Result<Vec<f32>> {
    models
        .recognizer()
        .describe(img, &face.landmarks.five_points())
        .map_err(|e| Error::Internal(anyhow::Error::from(e)))
}

/// The cosine distance `1 − cos` between two descriptors.
pub fn distance(a: &[f32], b: &[f32]) -> f32 {
    1.0 - models::nets::mobilefacenet::cosine(a, b)
}

/// Compares the largest face of two encoded images.
pub fn compare(
    models: &FaceModels,
    source: &[u8],
    target: &[u8],
    decision: Decision,
) -> Result<CompareResponse> {
    // Both uploads are validated before any inference, so a bad target is reported as such
    // even when the source shows no face.
    let source = decode(source)?;
    let target = decode(target)?;
    let s = largest_face(models, &source)?.ok_or(Error::NoFaceInSource)?;
    let t = largest_face(models, &target)?.ok_or(Error::NoFaceInTarget)?;
    let d = distance(
        &descriptor(models, &source, &s)?,
        &descriptor(models, &target, &t)?,
    );
    let sim = similarity::similarity(d);
    Ok(CompareResponse {
        similarity: sim,
        is_match: sim >= decision.threshold,
        threshold: decision.threshold,
        operating_point: decision.operating_point,
        source_face: shape::bounding_box(&s, &source),
        target_face: shape::bounding_box(&t, &target),
    })
}

/// Finds the faces of an encoded image (at most 16, largest first) and describes each.
pub fn detect(models: &FaceModels, bytes: &[u8], level: Attributes) -> Result<DetectResponse> {
    let img = decode(bytes)?;
    let opts = AnalyzeOptions {
        max_faces: 16,
        ..AnalyzeOptions::default()
    };
    // No face is an answer, not an error: `faces` is empty.
    let faces = faces_in(models, &img, &opts)?;
    Ok(DetectResponse {
        faces: faces
            .iter()
            .map(|f| DetectedFace {
                bounding_box: shape::bounding_box(f, &img),
                confidence: shape::round4(f.score),
                landmarks: shape::landmarks(f),
                attributes: (level != Attributes::None).then(|| shape::attributes(f, level)),
            })
            .collect(),
        image_size: ImageSize {
            width: img.width(),
            height: img.height(),
        },
    })
}
