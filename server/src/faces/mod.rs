//! Face comparison and detection, the domain half of the face routes (docs/api.md, "Face
//! comparison"): decoding an image ([`decode`]), finding its faces, comparing descriptors
//! ([`similarity`]) and shaping what the API reports about each face ([`shape`]). The HTTP
//! handlers are in `api::faces`; `ilive faces-eval` measures this same code on real photos.
//!
//! When an image holds several faces, the largest (by box area) is the one compared, by its
//! MobileFaceNet descriptor ([`descriptor`]).
pub mod collections;
pub mod shape;
pub mod similarity;

use app::api::{CompareResponse, DetectResponse, DetectedFace, FaceBoundingBox, ImageSize};

use image::RgbImage;
use models::{AnalyzeOptions, Face, FaceModels};
pub use similarity::Decision;

use crate::error::{Error, Result};

/// The descriptor the faces' vectors come from; a collection records it, so that vectors of
/// another descriptor are never compared with this one's.
pub const DESCRIPTOR: &str = "mobilefacenet-512";

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

/// An image's faces, largest first, however small their share of it or turned their head: the
/// detector also runs on tiles of the image (`models::tiled`), and where it still finds no face,
/// the second detector does (`models::uploads`).
pub fn faces_in(models: &FaceModels, img: &RgbImage, opts: &AnalyzeOptions) -> Result<Vec<Face>> {
    let faces = models
        .analyze_upload(img, opts)
        .map_err(|e| Error::Internal(anyhow::Error::from(e)))?;
    Ok(largest_first(faces))
}

fn largest_first(mut faces: Vec<Face>) -> Vec<Face> {
    faces.sort_by(|a, b| (b.bbox.w * b.bbox.h).total_cmp(&(a.bbox.w * a.bbox.h)));
    faces
}

/// The largest face of an image. One look at the whole photo finds a face that fills a fair
/// part of it; only when it finds none is the rest of [`faces_in`] tried.
pub fn largest_face(models: &FaceModels, img: &RgbImage) -> Result<Option<Face>> {
    let opts = AnalyzeOptions::default();
    let whole = models
        .analyze(img, &opts)
        .map_err(|e| Error::Internal(anyhow::Error::from(e)))?;
    let faces = if whole.is_empty() {
        faces_in(models, img, &opts)?
    } else {
        largest_first(whole)
    };
    Ok(faces.into_iter().next())
}

/// The descriptor of the largest face of an encoded image, with that face's box; `no_face`
/// when it shows none (enrolment and search in collections).
pub fn describe(models: &FaceModels, bytes: &[u8]) -> Result<(Vec<f32>, FaceBoundingBox)> {
    let img = decode(bytes)?;
    let face = largest_face(models, &img)?.ok_or(Error::NoFace)?;
    Ok((
        descriptor(models, &img, &face)?,
        shape::bounding_box(&face, &img),
    ))
}

/// The unit-length MobileFaceNet descriptor of a face found in `img`, aligned by its landmarks.
pub fn descriptor(models: &FaceModels, img: &RgbImage, face: &Face) -> Result<Vec<f32>> {
    models
        .recognizer()
        .describe(img, &face.landmarks.five_points())
        .map_err(|e| Error::Internal(anyhow::Error::from(e)))
}

/// The cosine distance `1 − cos` between two descriptors of [`descriptor`], which are unit
/// length: one dot product (a collection search runs it once per enrolled face).
pub fn distance(a: &[f32], b: &[f32]) -> f32 {
    1.0 - a.iter().zip(b).map(|(x, y)| x * y).sum::<f32>()
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
