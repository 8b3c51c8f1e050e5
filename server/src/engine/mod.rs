//! The liveness engine: from a stream of analysed frames to a verdict.
//!
//! - [`pool`] runs the face networks off the async runtime, bounded to the cores.
//! - [`session`] is the per-session state machine (guidance, challenges, passive hold);
//!   [`guidance`] says what is wrong with a face's placement, [`challenges`] holds the detector
//!   of each challenge kind and draws the plan.
//! - [`layers`] scores the five verification layers; [`fusion`] turns them into a verdict;
//!   [`outcome`] is that verdict ready to store, and [`capture`] stores it and signals it.
//! - [`photo`] renders the 480×600 portrait; [`geometry`] and [`parallax`] (from `models`) are
//!   the planar-motion tests.
//!
//! Every threshold is named, documented with the measurement it comes from, and lives in
//! [`Thresholds`] (configuration) or at the top of the file that uses it. The design behind
//! them: `docs/architecture.md`.
pub mod capture;
pub mod challenges;
#[cfg(test)]
pub(crate) mod fixtures;
pub mod fusion;
pub mod guidance;
pub mod layers;
pub mod light;
pub mod outcome;
pub mod photo;
pub mod pool;
pub mod session;
pub use models::{geometry, parallax};

use std::sync::Arc;

use models::Face;

/// One analysed frame, as the engine sees it.
#[derive(Debug, Clone)]
pub struct Observation {
    /// Seconds since the session started, when the frame arrived.
    pub t: f64,
    pub frame_width: u32,
    pub frame_height: u32,
    /// Number of faces found.
    pub face_count: usize,
    /// The largest face, if any.
    pub face: Option<Face>,
    /// A hash of the JPEG bytes, to spot repeated frames.
    pub frame_hash: u64,
    /// Image cues of the face region, when computed for this frame.
    pub cues: Option<layers::ImageCues>,
    /// A grey face crop for the image parallax test, when requested for this frame.
    pub keyframe: Option<parallax::Keyframe>,
    /// The frame's capture time on the page's clock (`frame_time`), when the page sent one.
    pub page_ms: Option<f64>,
    /// The face regions' colours for the screen-light challenge, when requested for this frame.
    pub light: Option<models::light::RegionColours>,
    /// The decoded frame, kept only while it is the best portrait candidate.
    pub image: Option<Arc<image::RgbImage>>,
}

/// Verdict cut-offs and engine timings, from configuration.
#[derive(Debug, Clone, Copy)]
pub struct Thresholds {
    /// Confidence at or above which the verdict is `pass` (default 0.70, `docs/api.md`).
    pub pass: f64,
    /// Confidence at or above which a non-pass is `retry` rather than `fail` (default 0.45).
    pub retry: f64,
    /// Seconds allowed for each challenge.
    pub challenge_secs: f64,
    /// Seconds the face must be held in place in passive mode (at least; the screen-light
    /// sequence runs during the hold and may take longer).
    pub passive_hold_secs: f64,
    /// Fewest and most challenges drawn in active mode (3–6 by default, `docs/api.md`).
    pub min_challenges: usize,
    pub max_challenges: usize,
    /// Seconds without a usable face before the session ends with `retry`.
    pub no_face_secs: f64,
    /// Longest a whole capture may take.
    pub max_session_secs: f64,
}

impl Default for Thresholds {
    fn default() -> Self {
        Self {
            pass: 0.70,
            retry: 0.45,
            challenge_secs: 8.0,
            passive_hold_secs: 3.0,
            min_challenges: 3,
            max_challenges: 6,
            no_face_secs: 12.0,
            max_session_secs: 90.0,
        }
    }
}
