//! What the engine concluded about a capture, and how it becomes a stored result.
use app::api::ChallengeOutcome;

use super::{fusion::Fused, photo};
use crate::store::sessions::{Completion, Photo, ResultDetails};

/// What the engine concluded, ready to store.
#[derive(Debug, Clone)]
pub struct Outcome {
    pub fused: Fused,
    pub challenges: Vec<ChallengeOutcome>,
    pub photo: Option<(Vec<u8>, photo::Geometry)>,
    /// Each layer's raw measures, as `layer.measure` (for evaluation and logs).
    pub measures: Vec<(String, f64)>,
}

impl Outcome {
    /// The stored form of this outcome, with the camera the browser reported.
    pub fn completion(&self, camera_metadata: Option<serde_json::Value>) -> Completion {
        let fused = &self.fused;
        Completion {
            verdict: fused.verdict,
            confidence: fused.confidence,
            details: ResultDetails {
                layers: Some(fused.layers.clone()),
                challenges: self.challenges.clone(),
                reasons: fused.reasons.clone(),
            },
            camera_metadata,
            photo: self.photo.as_ref().map(|(jpeg, geometry)| Photo {
                jpeg: jpeg.clone(),
                geometry: serde_json::to_value(geometry).unwrap_or_default(),
            }),
        }
    }
}
