//! The face-recognition networks `ilive faces-eval` can measure, behind one small trait so that
//! another network (a MobileFaceNet port, say) plugs in as one more [`DescriptorKind`].
use app::api::OperatingPoint;
use image::RgbImage;
use models::{AnalyzeOptions, FaceModels};

use crate::faces::{self, similarity};

/// One face found in an image, with its descriptor.
#[derive(Debug, Clone)]
pub struct Described {
    pub width: f32,
    pub height: f32,
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
    /// The similarity threshold the API applies at an operating point, where this network is
    /// the API's.
    fn configured(&self, point: OperatingPoint) -> Option<f64>;
}

/// The networks that can be measured (`--descriptor`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum DescriptorKind {
    /// face-api's dlib ResNet (128-d, Euclidean distance): what the API uses.
    #[default]
    FaceApi,
}

impl DescriptorKind {
    /// The network over the loaded models.
    pub fn with<'a>(self, models: &'a FaceModels) -> Box<dyn Descriptor + 'a> {
        match self {
            DescriptorKind::FaceApi => Box::new(FaceApi(models)),
        }
    }
}

/// The API's own detector and descriptor.
struct FaceApi<'a>(&'a FaceModels);

impl Descriptor for FaceApi<'_> {
    fn name(&self) -> &'static str {
        "face-api dlib ResNet (128-d)"
    }

    fn describe(&self, img: &RgbImage, max: usize) -> anyhow::Result<Vec<Described>> {
        let opts = AnalyzeOptions {
            embedding: true,
            max_faces: max,
            ..AnalyzeOptions::default()
        };
        let found = faces::faces_in(self.0, img, &opts).map_err(|e| anyhow::anyhow!("{e}"))?;
        Ok(found
            .into_iter()
            .filter_map(|f| {
                Some(Described {
                    width: f.bbox.w,
                    height: f.bbox.h,
                    descriptor: f.embedding?.0.to_vec(),
                })
            })
            .collect())
    }

    fn distance(&self, a: &[f32], b: &[f32]) -> f64 {
        let sum: f32 = a.iter().zip(b).map(|(x, y)| (x - y) * (x - y)).sum();
        f64::from(sum.sqrt())
    }

    fn similarity(&self, distance: f64) -> f64 {
        similarity::similarity(distance as f32)
    }

    fn distance_at(&self, threshold: f64) -> f64 {
        similarity::distance_at(threshold)
    }

    fn configured(&self, point: OperatingPoint) -> Option<f64> {
        Some(similarity::operating_threshold(point))
    }
}
