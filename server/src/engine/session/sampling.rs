//! Which extra analyses each frame gets: the heavier networks, the image cues and the parallax
//! test's face crops, each on its own period.
use super::{Phase, SessionEngine};
use crate::engine::pool::FrameRequest;

/// Sampling periods of the heavier networks and image cues, in seconds.
const ANTISPOOF_EVERY: f64 = 0.5;
const EMBEDDING_EVERY: f64 = 0.8;
/// Frames with a face before the first anti-spoof sample and the first descriptor: the frame
/// that finds the face runs the detector, so no frame runs all three (docs/performance.md,
/// "First frames"). Counted from the start, never reset: a face that comes and goes is sampled.
const ANTISPOOF_AFTER_FACES: u32 = 1;
const EMBEDDING_AFTER_FACES: u32 = 2;
/// Period of the face crops kept for the image parallax test.
const KEYFRAME_EVERY: f64 = 0.2;

impl SessionEngine {
    /// Which extra analyses the next frame at time `t` should get.
    pub fn request(&self, t: f64) -> FrameRequest {
        let emotion =
            matches!(&self.phase, Phase::Challenge { detector, .. } if detector.wants_emotion());
        let anti_spoof =
            t - self.last_antispoof >= ANTISPOOF_EVERY && self.faces_seen >= ANTISPOOF_AFTER_FACES;
        FrameRequest {
            anti_spoof,
            embedding: t - self.last_embedding >= EMBEDDING_EVERY
                && self.faces_seen >= EMBEDDING_AFTER_FACES,
            emotion,
            cues: anti_spoof,
            keyframe: t - self.last_keyframe >= KEYFRAME_EVERY,
            light: matches!(self.phase, Phase::Light { .. }),
        }
    }
}
