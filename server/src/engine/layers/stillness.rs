//! The still-image test of the motion layer: a person holding still still sways and breathes,
//! moving the head by millimetres over seconds, while a still image (even one fed with fresh
//! sensor noise) does not drift at all — its landmarks only jitter.
//!
//! Two measures on the rigid landmarks' centroid, in units of the inter-eye distance:
//! - **sway**: the range of the centroid after a 7-frame moving average (≈ 0.5 s at 15 fps),
//!   which averages the detector's own jitter away;
//! - **drift ratio**: the von Neumann ratio of the centroid track, 2 for independent jitter and
//!   near 0.05 for a person (sway is slow, < 1 Hz; a detector's jitter on a still image is not).
//!   It is read on the longest unbroken track of one face: a face that leaves and comes back,
//!   or a detection jumping elsewhere, would read as jitter.
use super::{
    sample::{FaceSample, Sample},
    stats::{von_neumann_ratio, white_noise_floor},
};

/// Least postural sway of a live face: 0.01 ≈ 0.6 mm at a 63 mm inter-eye distance, well under
/// the head sway of a seated person over a few seconds.
pub const SWAY_MIN: f64 = 0.01;
/// Most smoothed sway of a stream that can be a still image: averaging 7 frames leaves a
/// detector's white jitter a range of ≈0.02 of the inter-eye distance (0.018–0.022 on a still
/// photo with sensor noise); a face whose smoothed track spans 0.05 (≈3 mm) has moved, whatever
/// the shape of its track.
pub const STILL_SWAY_MAX: f64 = 0.05;
/// Fewest frames of one track (2 s at 15 fps) before the drift test may call it a still image.
pub const STILL_MIN_FRAMES: usize = 30;
/// Largest step of the centroid between consecutive frames of one face track (÷ inter-eye
/// distance); a longer jump is another detection, not motion.
const TRACK_JUMP_MAX: f64 = 0.5;
/// Frames averaged by the sway's moving average.
const SWAY_WINDOW: usize = 7;
/// Fewest frames for a drift ratio.
const DRIFT_MIN_FRAMES: usize = 10;

/// Range of the rigid landmarks' centroid after a 7-frame moving average, ÷ inter-eye distance.
pub fn sway_range(faces: &[&FaceSample]) -> f64 {
    let cents: Vec<[f64; 2]> = faces.iter().map(|f| f.scaled_centroid()).collect();
    if cents.len() < SWAY_WINDOW {
        return 0.0;
    }
    let smooth: Vec<[f64; 2]> = cents
        .windows(SWAY_WINDOW)
        .map(|w| {
            let s = w.iter().fold([0.0, 0.0], |a, p| [a[0] + p[0], a[1] + p[1]]);
            [s[0] / SWAY_WINDOW as f64, s[1] / SWAY_WINDOW as f64]
        })
        .collect();
    let range = |i: usize| {
        let (lo, hi) = smooth.iter().fold((f64::MAX, f64::MIN), |(lo, hi), p| {
            (lo.min(p[i]), hi.max(p[i]))
        });
        hi - lo
    };
    range(0).hypot(range(1))
}

/// The longest run of consecutive frames with a face whose centroid moves by less than
/// [`TRACK_JUMP_MAX`] from frame to frame.
pub fn longest_track(samples: &[Sample]) -> Vec<&FaceSample> {
    let (mut best, mut run): (Vec<&FaceSample>, Vec<&FaceSample>) = (vec![], vec![]);
    for s in samples {
        let face = s.face.as_ref().filter(|f| f.has_rigid());
        let continues = match (face, run.last()) {
            (Some(f), Some(prev)) => {
                let (a, b) = (prev.centroid(), f.centroid());
                (a[0] - b[0]).hypot(a[1] - b[1]) / prev.scale() <= TRACK_JUMP_MAX
            }
            _ => false,
        };
        if !continues {
            if run.len() > best.len() {
                best = std::mem::take(&mut run);
            }
            run.clear();
        }
        if let Some(f) = face {
            run.push(f);
        }
    }
    if run.len() > best.len() {
        best = run;
    }
    best
}

/// The smaller of the von Neumann ratios of the centroid track in x and y.
pub fn drift_ratio(faces: &[&FaceSample]) -> Option<f64> {
    if faces.len() < DRIFT_MIN_FRAMES {
        return None;
    }
    let axis = |i: usize| {
        let xs: Vec<f64> = faces.iter().map(|f| f.scaled_centroid()[i]).collect();
        von_neumann_ratio(&xs)
    };
    match (axis(0), axis(1)) {
        (Some(x), Some(y)) => Some(x.min(y)),
        (a, b) => a.or(b),
    }
}

/// A track that is jitter and nothing else: long enough, with little smoothed sway, and no
/// drift at the 0.1% level.
pub fn is_jitter_only(track: &[&FaceSample], drift: Option<f64>) -> bool {
    track.len() >= STILL_MIN_FRAMES
        && sway_range(track) < STILL_SWAY_MAX
        && drift.is_some_and(|d| d >= white_noise_floor(track.len()))
}
