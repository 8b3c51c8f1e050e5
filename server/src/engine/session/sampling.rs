//! Which extra analyses each frame gets: the heavier networks, the image cues and the parallax
//! test's face crops, each on its own period.
use super::{Phase, SessionEngine};
use crate::engine::pool::FrameRequest;

/// Sampling periods of the anti-spoof samples and of the descriptor, in seconds.
///
/// Every anti-spoof sample takes the image cues (moiré, glare: the findings that can fail a
/// screen by themselves) and one of the two anti-spoof networks, AntiSpoof and MiniFASNet in
/// turn, so each network runs once a second. Only their medians over the capture count, and
/// only AntiSpoof's weighs (docs/architecture.md, "Anti-spoof"). On the real video, a sample
/// every 0.5 s at 320 and 640 px, AntiSpoof's per-sample score stayed within 0.70–0.75, a tenth
/// of the 0.2–0.7 ramp that maps its median, so half the samples move the median little (over
/// every `ilive eval` run: by 0.005 on average, 0.04 at most; no verdict changed). MiniFASNet's
/// spans 0.10–0.98 on the same frames, one reason it weighs nothing. One network a sample halves
/// their cost (a fifth of a loaded server's CPU) and the heaviest frame's
/// (docs/performance.md, "Session 18").
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
    /// Which extra analyses the next frame at time `t` should get. A descriptor that falls due
    /// on an anti-spoof sample's frame waits for the next frame, so no frame runs two of the
    /// heavier networks.
    pub fn request(&self, t: f64) -> FrameRequest {
        let emotion =
            matches!(&self.phase, Phase::Challenge { detector, .. } if detector.wants_emotion());
        let sample =
            t - self.last_antispoof >= ANTISPOOF_EVERY && self.faces_seen >= ANTISPOOF_AFTER_FACES;
        // AntiSpoof (which weighs) on the first sample, MiniFASNet on the second, and so on.
        let pad_turn = self.antispoof_samples % 2 == 1;
        FrameRequest {
            anti_spoof: sample && !pad_turn,
            pad: sample && pad_turn,
            embedding: !sample
                && t - self.last_embedding >= EMBEDDING_EVERY
                && self.faces_seen >= EMBEDDING_AFTER_FACES,
            emotion,
            cues: sample,
            keyframe: t - self.last_keyframe >= KEYFRAME_EVERY,
            light: matches!(self.phase, Phase::Light { .. }),
        }
    }
}
