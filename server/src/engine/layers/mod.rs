//! The verification layers. Each turns the session's evidence into a score in [0, 1] and typed
//! [`Reason`]s; a *hard* finding (a clear spoof, swap or injected stream) makes the session fail
//! whatever the other layers say. What each layer measures, and where each cut-off comes from,
//! is in `docs/architecture.md` ("The verification layers"); the constants sit at the top of
//! each layer's file with the measurement behind them.
//!
//! - [`challenges`]: the share of prompts met (active mode).
//! - [`motion`]: frozen frames, micro-motion, parallax on image texture ([`parallax`], with its
//!   reliability model) or on the landmarks; [`stillness`] is its still-image test (postural
//!   sway and drift against jitter).
//! - [`anti_spoof`]: the AntiSpoof network, a screen's moiré, glare.
//! - [`consistency`]: one face, the same person throughout.
//! - [`deepfake`]: virtual cameras, impossible frame rates, noiseless landmark motion.
//! - [`light`]: the screen-light challenge — timing, strength and shape of the face's answer.
//!
//! [`sample`] holds what is kept of each frame, [`stats`] the small statistics they share.
use app::api::Reason;
use serde::Serialize;

pub mod anti_spoof;
pub mod challenges;
pub mod consistency;
pub mod deepfake;
#[cfg(test)]
pub(crate) mod fixtures;
pub mod light;
pub mod motion;
pub mod parallax;
pub mod sample;
pub mod stats;
pub mod stillness;

pub use anti_spoof::{anti_spoof, ImageCues, MOIRE_PEAK};
pub use challenges::challenges;
pub use consistency::face_consistency;
pub use deepfake::deepfake;
pub use light::light;
pub use motion::motion;
pub use sample::{FaceSample, Sample};

/// A layer's result.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LayerScore {
    pub score: f64,
    pub reasons: Vec<Reason>,
    /// A finding that fails the session by itself.
    pub hard_fail: bool,
    /// Positive proof of a live, present, three-dimensional person (reliable parallax,
    /// challenges answered): a `pass` needs at least one layer with it (`docs/architecture.md`,
    /// "Reliability").
    pub proof: bool,
    /// The raw measures behind the score (for `ilive eval --details` and the logs).
    #[serde(skip)]
    pub measures: Vec<(&'static str, f64)>,
}

impl LayerScore {
    /// A score with no finding yet.
    pub fn clean(score: f64) -> Self {
        LayerScore {
            score: score.clamp(0.0, 1.0),
            reasons: vec![],
            hard_fail: false,
            proof: false,
            measures: vec![],
        }
    }

    /// A finding that fails the session by itself: the score drops to 0.
    pub(crate) fn fail(&mut self, reason: Reason) {
        self.reasons.push(reason);
        self.hard_fail = true;
        self.score = 0.0;
    }
}
