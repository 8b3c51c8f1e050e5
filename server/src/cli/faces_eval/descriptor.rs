//! The face-recognition networks `ilive faces-eval` can measure, behind one small trait so that
//! another network plugs in as one more [`DescriptorKind`]: MobileFaceNet (the API's) and
//! face-api's dlib ResNet (the API's before it).
use app::api::OperatingPoint;
use image::RgbImage;
use models::{AnalyzeOptions, FaceModels};

use crate::faces::{self, similarity};

/// One face found in an image, with its descriptor.
#[derive(Debug, Clone)]
pub struct Described {
    pub width: f32,
    pub height: f32,
    /// The five points the descriptor networks align by (image pixels).
    pub points: [[f32; 2]; 5],
    pub descriptor: Vec<f32>,
}

/// A detector and descriptor under evaluation.
pub trait Descriptor {
    /// The name in reports.
    fn name(&self) -> &'static str;
    /// The faces of `img`, largest first, at most `max`, each with its descriptor.
    fn describe(&self, img: &RgbImage, max: usize) -> anyhow::Result<Vec<Described>>;
    /// Dissimilarity of two descriptors: smaller is more alike.
    fn distance(&self, a: &[f32], b: &[f32]) -> f64;
    /// The similarity in [0, 1] the API reports for a distance.
    fn similarity(&self, distance: f64) -> f64;
    /// The largest distance that a similarity threshold accepts.
    fn distance_at(&self, threshold: f64) -> f64;
    /// The similarity threshold of an operating point, measured for this network.
    fn configured(&self, point: OperatingPoint) -> Option<f64>;
    /// A further similarity threshold the report names (a published cut-off), if any.
    fn reference(&self) -> Option<(&'static str, f64)> {
        None
    }
}

/// The networks that can be measured (`--descriptor`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum DescriptorKind {
    /// MobileFaceNet (512-d, aligned by five landmarks, cosine distance `1 − cos`): what the API
    /// uses.
    #[default]
    MobileFaceNet,
    /// face-api's dlib ResNet (128-d, Euclidean distance): the API's before MobileFaceNet.
    FaceApi,
}

impl DescriptorKind {
    /// The network over the loaded models.
    pub fn with<'a>(self, models: &'a FaceModels) -> Box<dyn Descriptor + 'a> {
        match self {
            DescriptorKind::FaceApi => Box::new(FaceApi(models)),
            DescriptorKind::MobileFaceNet => Box::new(MobileFaceNet(models)),
        }
    }
}

/// The faces of `img` as the API finds them, largest first, each described by `describe`.
fn found(
    models: &FaceModels,
    img: &RgbImage,
    max: usize,
    embedding: bool,
    describe: impl Fn(&models::Face) -> anyhow::Result<Option<Vec<f32>>>,
) -> anyhow::Result<Vec<Described>> {
    let opts = AnalyzeOptions {
        embedding,
        max_faces: max,
        ..AnalyzeOptions::default()
    };
    let faces = faces::faces_in(models, img, &opts).map_err(|e| anyhow::anyhow!("{e}"))?;
    let mut out = Vec::new();
    for f in &faces {
        if let Some(descriptor) = describe(f)? {
            out.push(Described {
                width: f.bbox.w,
                height: f.bbox.h,
                points: f.landmarks.five_points(),
                descriptor,
            });
        }
    }
    Ok(out)
}

/// face-api's descriptor on the API's detector.
struct FaceApi<'a>(&'a FaceModels);

impl Descriptor for FaceApi<'_> {
    fn name(&self) -> &'static str {
        "face-api dlib ResNet (128-d)"
    }

    fn describe(&self, img: &RgbImage, max: usize) -> anyhow::Result<Vec<Described>> {
        found(self.0, img, max, true, |f| {
            Ok(f.embedding.map(|e| e.0.to_vec()))
        })
    }

    fn distance(&self, a: &[f32], b: &[f32]) -> f64 {
        let sum: f32 = a.iter().zip(b).map(|(x, y)| (x - y) * (x - y)).sum();
        f64::from(sum.sqrt())
    }

    fn similarity(&self, distance: f64) -> f64 {
        similarity::FACE_API.similarity(distance as f32)
    }

    fn distance_at(&self, threshold: f64) -> f64 {
        similarity::FACE_API.distance_at(threshold)
    }

    fn configured(&self, point: OperatingPoint) -> Option<f64> {
        Some(similarity::face_api_threshold(point))
    }

    fn reference(&self) -> Option<(&'static str, f64)> {
        Some(("dlib 0.6", similarity::DLIB_THRESHOLD))
    }
}

/// The API's detector, landmarks and descriptor.
struct MobileFaceNet<'a>(&'a FaceModels);

impl Descriptor for MobileFaceNet<'_> {
    fn name(&self) -> &'static str {
        "MobileFaceNet (512-d, cosine)"
    }

    fn describe(&self, img: &RgbImage, max: usize) -> anyhow::Result<Vec<Described>> {
        found(self.0, img, max, false, |f| {
            Ok(Some(faces::descriptor(self.0, img, f)?))
        })
    }

    fn distance(&self, a: &[f32], b: &[f32]) -> f64 {
        f64::from(faces::distance(a, b))
    }

    fn similarity(&self, distance: f64) -> f64 {
        similarity::MOBILEFACENET.similarity(distance as f32)
    }

    fn distance_at(&self, threshold: f64) -> f64 {
        similarity::MOBILEFACENET.distance_at(threshold)
    }

    fn configured(&self, point: OperatingPoint) -> Option<f64> {
        Some(similarity::operating_threshold(point))
    }
}

/// Descriptors computed outside iLive (`--external`), by another network on the crops that
/// `--crops` wrote, compared by cosine distance `1 − cos`; the similarity reported is the cosine
/// itself, clamped to [0, 1]. No operating point is configured for them: the report's
/// thresholds for a target FMR are what compares networks.
pub struct External;

impl Descriptor for External {
    fn name(&self) -> &'static str {
        "external descriptors (cosine)"
    }

    fn describe(&self, _: &RgbImage, _: usize) -> anyhow::Result<Vec<Described>> {
        anyhow::bail!("external descriptors are read from a file, not computed")
    }

    fn distance(&self, a: &[f32], b: &[f32]) -> f64 {
        f64::from(1.0 - models::nets::mobilefacenet::cosine(a, b))
    }

    fn similarity(&self, distance: f64) -> f64 {
        (1.0 - distance).clamp(0.0, 1.0)
    }

    fn distance_at(&self, threshold: f64) -> f64 {
        1.0 - threshold
    }

    fn configured(&self, _: OperatingPoint) -> Option<f64> {
        None
    }
}
