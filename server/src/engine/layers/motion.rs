//! The motion layer: a flat photo moves as a plane, a head does not; a real sensor never
//! repeats a frame; a live face is never perfectly still.
//!
//! - **Frozen frames**: byte-identical consecutive frames (a camera's sensor noise changes every
//!   frame's bytes). A hard finding.
//! - **Micro-motion**: the median rigid-landmark displacement between consecutive frames.
//! - **Still image** ([`super::stillness`]): postural sway and drift against jitter. A hard
//!   finding.
//! - **Parallax**: the residual of a homography fitted between two views, ÷ the inter-eye
//!   distance. Measured on image texture ([`parallax`]): a plane there is a hard finding and a
//!   head the layer's proof, each only above the measure's noise floor; when it abstains, on the
//!   rigid landmarks across ≥ [`PARALLAX_YAW_DEG`] of yaw, which only weighs: the landmark
//!   network's own prior puts prints (0.058–0.073 measured) inside the range of heads.
use app::api::Reason;

use super::{
    parallax::{self, Finding},
    sample::{FaceSample, Sample},
    stats::{median, ramp},
    stillness::{drift_ratio, is_jitter_only, longest_track, sway_range, SWAY_MIN},
    LayerScore,
};
use crate::engine::{geometry, parallax::KeyframeSet};

pub use crate::engine::parallax::PARALLAX_YAW_DEG;
pub use geometry::{HEAD_MIN, PLANAR_MAX};
/// Share of identical consecutive frames that makes a stream frozen.
const FROZEN_SHARE: f64 = 0.5;
/// Median step of the rigid landmarks (÷ inter-eye distance) below which nothing moved.
const MICRO_MOTION_MIN: f64 = 0.0015;
/// Pairs of landmark views compared, from both ends of the yaw range inward.
const LANDMARK_PAIRS: usize = 7;

/// Scores motion: frozen frames, micro-motion, stillness, parallax.
pub fn motion(samples: &[Sample], keyframes: &KeyframeSet) -> LayerScore {
    let mut l = LayerScore::clean(1.0);
    let pairs = samples.windows(2).count().max(1);
    let dupes = samples
        .windows(2)
        .filter(|w| w[0].hash == w[1].hash)
        .count();
    if samples.len() >= 5 && dupes as f64 / pairs as f64 >= FROZEN_SHARE {
        l.fail(Reason::FrozenFrames);
        return l;
    }
    let faces: Vec<&FaceSample> = samples
        .iter()
        .filter_map(|s| s.face.as_ref())
        .filter(|f| f.has_rigid())
        .collect();
    if faces.len() < 3 {
        l.score = 0.5;
        l.reasons.push(Reason::InsufficientFrames);
        return l;
    }
    let micro = micro_motion(&faces);
    let sway = sway_range(&faces);
    let track = longest_track(samples);
    let drift = drift_ratio(&track);
    l.measures.push(("micro_motion", micro));
    l.measures.push(("sway", sway));
    if let Some(d) = drift {
        l.measures.push(("drift_ratio", d));
    }
    let still = micro < MICRO_MOTION_MIN || (faces.len() >= 30 && sway < SWAY_MIN);
    if is_jitter_only(&track, drift) {
        l.fail(Reason::StillImage);
    } else if still {
        l.reasons.push(Reason::NoMicroMotion);
        l.score = l.score.min(0.3);
    }
    let evidence = parallax::measure(keyframes);
    l.measures.extend(evidence.measures());
    match evidence.finding {
        Finding::Plane => {
            l.reasons.push(Reason::NoMotionParallax);
            l.hard_fail = true;
            l.score = 0.0;
        }
        Finding::Head => l.proof = true,
        Finding::Abstain(_) => {
            // The landmark residual only weighs: the landmark network's prior moves a print's
            // points like a head's (prints measured 0.058–0.073).
            if let Some(r) = landmark_parallax(&faces) {
                l.measures.push(("planar_residual_landmarks", r));
                l.score = l.score.min(ramp(r, PLANAR_MAX, HEAD_MIN).max(0.3));
                if r < (PLANAR_MAX + HEAD_MIN) / 2.0 {
                    l.reasons.push(Reason::WeakMotionParallax);
                }
            }
        }
    }
    l
}

/// Median rigid-landmark displacement between consecutive frames, ÷ inter-eye distance.
fn micro_motion(faces: &[&FaceSample]) -> f64 {
    let steps: Vec<f64> = faces
        .windows(2)
        .map(|w| {
            let d: f64 = w[0]
                .rigid
                .iter()
                .zip(&w[1].rigid)
                .map(|(a, b)| (a[0] - b[0]).hypot(a[1] - b[1]))
                .sum::<f64>()
                / w[0].rigid.len() as f64;
            d / w[0].scale()
        })
        .collect();
    median(steps).unwrap_or(0.0)
}

/// Median landmark planar residual over views ≥ [`PARALLAX_YAW_DEG`] apart, taken from both
/// ends of the yaw range (the most-left-turned against the most-right-turned, and inward).
fn landmark_parallax(faces: &[&FaceSample]) -> Option<f64> {
    let mut by_yaw = faces.to_vec();
    by_yaw.sort_by(|a, b| a.yaw.total_cmp(&b.yaw));
    let n = by_yaw.len();
    let residuals: Vec<f64> = (0..n / 2)
        .take(LANDMARK_PAIRS)
        .map(|k| (by_yaw[k], by_yaw[n - 1 - k]))
        .take_while(|(a, b)| b.yaw - a.yaw >= PARALLAX_YAW_DEG)
        .filter_map(|(a, b)| {
            let scale = ((a.inter_eye + b.inter_eye) / 2.0) as f64;
            geometry::planar_residual(&a.rigid, &b.rigid, scale)
        })
        .collect();
    median(residuals)
}

#[cfg(test)]
mod tests {
    use super::super::fixtures::{rigid_at, sample, track};
    use super::*;

    #[test]
    fn repeated_identical_frames_are_frozen() {
        let s: Vec<Sample> = (0..10)
            .map(|i| sample(i as f64 * 0.1, 7, 0.0, vec![], None))
            .collect();
        let l = motion(&s, &KeyframeSet::new(2));
        assert!(l.hard_fail && l.reasons.contains(&Reason::FrozenFrames));
    }

    #[test]
    fn a_still_image_has_no_postural_sway() {
        // A still photo with fresh sensor noise: the landmarks jitter but never drift.
        let still = motion(&track(0.0), &KeyframeSet::new(2));
        assert!(
            still.hard_fail && still.reasons.contains(&Reason::StillImage),
            "{still:?}"
        );
        // The same jitter on a head swaying by ±1.5 px (≈ ±1.6 mm at 60 px between the eyes).
        let live = motion(&track(1.5), &KeyframeSet::new(2));
        assert!(!live.hard_fail && live.reasons.is_empty(), "{live:?}");
    }

    #[test]
    fn a_track_broken_by_another_detection_is_not_a_still_image() {
        // A face, then every 20th frame a false detection far away: the drift test reads only
        // unbroken tracks of one face (here 19 frames, too short to judge).
        let mut s = track(0.0);
        for (i, x) in s.iter_mut().enumerate().filter(|(i, _)| i % 20 == 19) {
            let f = x.face.as_mut().expect("a face");
            f.rigid = rigid_at(200.0 + i as f32, 0.0);
        }
        assert_eq!(longest_track(&s).len(), 19);
        let l = motion(&s, &KeyframeSet::new(2));
        assert!(!l.reasons.contains(&Reason::StillImage), "{l:?}");
    }

    #[test]
    fn the_landmark_residual_alone_never_fails_a_session() {
        // Views 30° apart whose landmarks move as one plane, and no face crops to confirm it:
        // the landmark network's prior makes this weak evidence, so it only weighs.
        let mut s = track(1.5);
        let n = s.len();
        for (i, x) in s.iter_mut().enumerate() {
            let f = x.face.as_mut().expect("a face");
            f.yaw = -15.0 + 30.0 * i as f32 / (n - 1) as f32;
            f.rigid = rigid_at(i as f32 * 0.2, 0.0);
        }
        let l = motion(&s, &KeyframeSet::new(2));
        assert!(!l.hard_fail, "{l:?}");
        assert!(l.reasons.contains(&Reason::WeakMotionParallax), "{l:?}");
        assert!(l
            .measures
            .iter()
            .any(|(m, _)| *m == "planar_residual_landmarks"));
    }
}
