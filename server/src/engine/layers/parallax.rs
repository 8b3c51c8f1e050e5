//! The texture parallax measure and its reliability model (`docs/architecture.md`,
//! "Reliability").
//!
//! Between two views of a head turned by θ, the skull's texture points leave a residual r to the
//! best-fitting homography; a flat print leaves only the measurement's noise. The model:
//!
//! - **signal**: a head leaves at least `RESIDUAL_PER_DEG · θ` (the smaller of yaw and pitch,
//!   from the landmark network's 3-D points of a real face), where θ is a *lower bound* of the
//!   rotation: the landmark model's pose difference ([`parallax::rotation_deg`]) less the
//!   session's pose jitter. The 2-D cues of [`parallax::pose_gap`] are not used here: on real
//!   video of a person talking they moved like a 10–20° turn while the head barely turned;
//! - **noise floor** n: what two views at the *same* pose measure — a match's sub-pixel error at
//!   the face's resolution, `MATCH_NOISE_PX` ÷ the inter-eye distance in crop samples, combined
//!   with a floor for skin that moves a little with speech and breathing (`NONRIGID_FLOOR`); or,
//!   when the session holds same-pose pairs, their own median residual if larger;
//! - a pair **decides** only when its signal is `SIGNAL_TO_NOISE` times the noise floor: then a
//!   residual above `n + signal / 2` is a head, and one within the plane's own noise (at most
//!   `PLANE_CEILING` floors) a plane. A residual between the two fits neither model (a head
//!   turned so far that its far side's patches are lost, leaving a few near-side matches that
//!   lie almost on a plane) and is read as neither. Below the floor a pair abstains. The
//!   session's measure is a head or a plane when two thirds of its deciding pairs agree, and
//!   abstains otherwise.
//!
//! Nothing here is fitted to clips: the signal comes from face geometry, the noise from
//! same-pose pairs of real video at 320, 480 and 640 px, and the ratio from the error rates it
//! gives (`SIGNAL_TO_NOISE`).
use crate::engine::parallax::{self, KeyframeSet, TextureParallax};

use super::stats::median;

/// Residual per degree of rotation a head leaves on the texture points for a perfect tracker:
/// 0.00246 for a turn, 0.0034 for a nod (`models/tests/parallax.rs`,
/// `head_rotation_figures_of_the_reliability_model`); the turn, the smaller, is the bound.
pub const RESIDUAL_PER_DEG: f64 = 0.00246;
/// Standard error of one sub-pixel texture match, in crop samples. Same-pose pairs (under 2° of
/// pose gap) of the real videos measured a median residual of 0.0066–0.0090 at inter-eye
/// distances of 35–70 px; `hypot(0.3 / ied, 0.005)` gives 0.0099 at 35 px and 0.0066 at 70 px.
pub const MATCH_NOISE_PX: f64 = 0.3;
/// Residual of two same-pose views of a live face that no resolution removes (skin moving with
/// speech and breathing, the landmark seeds' error), as a fraction of the inter-eye distance.
pub const NONRIGID_FLOOR: f64 = 0.005;
/// A pair decides only when a head's least residual is this many noise floors: the plane's
/// residual is about one floor and the head's at least four, so the cut (midway) lies 1.5 floors
/// from each — with a residual that is a median over ≥ 12 matches, whose spread is well under
/// half a floor, a live person is not read as a plane by chance.
pub const SIGNAL_TO_NOISE: f64 = 4.0;
/// Most residual a plane leaves, in noise floors. The residual is an RMS over k matches of a
/// homography fitted with 8 unknowns: for a plane, k·r² ≈ σ²·χ²(2k − 8), and the floor is the
/// median of same-pose pairs, most of whose 25 patches match (n² ≈ σ²·42 / 25). The 99.9th
/// percentile of r ÷ n is then 1.35–1.40 for every k from 12 to 25 (Wilson–Hilferty; the test
/// `the_plane_ceiling_covers_the_planes_noise` recomputes it), and the model's floor was up to
/// 1.15× below the measured one on real video: 1.4 × 1.15 ≈ 1.6, rounded up to 2 for matching
/// errors' heavier tails. A print measured 0.6–1.1 floors at 320–640 px.
pub const PLANE_CEILING: f64 = 2.0;
/// Pairs of keyframes measured: the widest apart in pose.
const PAIRS: usize = 6;
/// Same-pose pairs measured for the session's own noise floor: at most this pose gap (2°).
const SAME_POSE_GAP: f64 = 0.2;
const SAME_POSE_PAIRS: usize = 5;
/// Least rotation of a pair worth measuring: below it no face size decides (a head turned by 8°
/// leaves 0.0197, four times the [`NONRIGID_FLOOR`]).
const MIN_ROTATION_DEG: f64 = 8.0;
/// Share of deciding pairs that must agree.
const AGREEMENT: f64 = 2.0 / 3.0;

/// What the measure concluded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Finding {
    /// The face has depth: positive proof of a three-dimensional face.
    Head,
    /// The face moved as one plane, by a rotation a head could not have made without parallax.
    Plane,
    /// Below the floor or inconclusive: decides nothing.
    Abstain(Abstention),
}

/// Why the measure abstained.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Abstention {
    /// No two views far enough apart in pose to measure (a person who held still).
    NoPoseGap,
    /// Views apart, but no pair's signal reached its noise floor (a small or blurred face,
    /// too little rotation for the resolution).
    BelowFloor,
    /// Deciding pairs disagreed.
    Inconclusive,
}

/// The measure, with the conditions it was taken under (logged as `motion.parallax_*`).
#[derive(Debug, Clone, PartialEq)]
pub struct Evidence {
    pub finding: Finding,
    /// Median residual of the deciding pairs (of all measured pairs when none decided).
    pub residual: Option<f64>,
    /// Median lower bound of the rotation of the measured pairs, in degrees.
    pub rotation_deg: Option<f64>,
    /// The noise floor used.
    pub noise_floor: Option<f64>,
    /// Median inter-eye distance of the measured pairs, in frame pixels.
    pub inter_eye_px: Option<f64>,
    /// Median matches per measured pair.
    pub matches: Option<f64>,
    pub pairs_measured: usize,
    pub pairs_deciding: usize,
}

impl Evidence {
    /// The measures as `(name, value)` for the layer's log.
    pub fn measures(&self) -> Vec<(&'static str, f64)> {
        let mut m = vec![
            (
                "parallax_finding",
                match self.finding {
                    Finding::Head => 1.0,
                    Finding::Plane => -1.0,
                    Finding::Abstain(_) => 0.0,
                },
            ),
            ("parallax_pairs", self.pairs_measured as f64),
            ("parallax_pairs_deciding", self.pairs_deciding as f64),
        ];
        let opt = [
            ("planar_residual_image", self.residual),
            ("parallax_rotation_deg", self.rotation_deg),
            ("parallax_noise_floor", self.noise_floor),
            ("parallax_inter_eye_px", self.inter_eye_px),
            ("parallax_matches", self.matches),
        ];
        m.extend(opt.iter().filter_map(|(k, v)| v.map(|v| (*k, v))));
        m
    }
}

/// The noise floor the model gives for one measurement.
pub fn model_floor(p: &TextureParallax) -> f64 {
    let samples = p.inter_eye_px / p.px_per_sample.max(1.0);
    (MATCH_NOISE_PX / samples.max(1.0)).hypot(NONRIGID_FLOOR)
}

/// How a pair above its noise floor reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reading {
    Head,
    Plane,
    /// Too much residual for a plane's noise, too little for a head's least parallax.
    Neither,
}

/// How one pair is read, given its residual `r`, the noise floor `n` and the rotation's lower
/// bound `deg`; `None` below the floor.
pub fn read_pair(r: f64, n: f64, deg: f64) -> Option<Reading> {
    let signal = RESIDUAL_PER_DEG * deg;
    (signal >= SIGNAL_TO_NOISE * n).then(|| {
        if r >= n + signal / 2.0 {
            Reading::Head
        } else if r <= PLANE_CEILING * n {
            Reading::Plane
        } else {
            Reading::Neither
        }
    })
}

/// Measures the session's keyframes.
pub fn measure(keyframes: &KeyframeSet) -> Evidence {
    let jitter = keyframes.jitter().unwrap_or(0.0);
    let same_pose: Vec<f64> = keyframes
        .nearest_pairs(SAME_POSE_GAP, SAME_POSE_PAIRS)
        .into_iter()
        .filter_map(|(_, a, b)| parallax::texture_parallax(a, b).map(|p| p.residual))
        .collect();
    let session_floor = (same_pose.len() >= 3).then(|| median(same_pose)).flatten();
    let measured: Vec<(f64, TextureParallax)> = keyframes
        .widest_rotations(PAIRS)
        .into_iter()
        .filter(|(d, _, _)| *d >= MIN_ROTATION_DEG)
        .filter_map(|(d, a, b)| {
            let deg = (d - jitter).max(0.0);
            parallax::texture_parallax(a, b).map(|p| (deg, p))
        })
        .collect();
    let floor_of = |p: &TextureParallax| model_floor(p).max(session_floor.unwrap_or(0.0));
    let readings: Vec<(Reading, f64)> = measured
        .iter()
        .filter_map(|(deg, p)| read_pair(p.residual, floor_of(p), *deg).map(|h| (h, p.residual)))
        .collect();
    let count = |r: Reading| readings.iter().filter(|(h, _)| *h == r).count() as f64;
    let n = readings.len();
    let finding = if measured.is_empty() {
        Finding::Abstain(Abstention::NoPoseGap)
    } else if n == 0 {
        Finding::Abstain(Abstention::BelowFloor)
    } else if count(Reading::Head) >= AGREEMENT * n as f64 {
        Finding::Head
    } else if count(Reading::Plane) >= AGREEMENT * n as f64 {
        Finding::Plane
    } else {
        Finding::Abstain(Abstention::Inconclusive)
    };
    let residual = if n > 0 {
        median(readings.iter().map(|(_, r)| *r).collect())
    } else {
        median(measured.iter().map(|(_, p)| p.residual).collect())
    };
    Evidence {
        finding,
        residual,
        rotation_deg: median(measured.iter().map(|(d, _)| *d).collect()),
        noise_floor: median(measured.iter().map(|(_, p)| floor_of(p)).collect()),
        inter_eye_px: median(measured.iter().map(|(_, p)| p.inter_eye_px).collect()),
        matches: median(measured.iter().map(|(_, p)| p.matches as f64).collect()),
        pairs_measured: measured.len(),
        pairs_deciding: n,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(ied: f64) -> TextureParallax {
        TextureParallax {
            residual: 0.0,
            matches: 20,
            inter_eye_px: ied,
            px_per_sample: 1.0,
        }
    }

    #[test]
    fn the_floor_falls_with_resolution_to_the_nonrigid_floor() {
        let small = model_floor(&p(35.0));
        let large = model_floor(&p(70.0));
        assert!(small > large && large > NONRIGID_FLOOR);
        assert!((small - 0.0099).abs() < 0.0005 && (large - 0.0066).abs() < 0.0005);
        // A face larger than the crop is measured at the crop's resolution.
        let cropped = TextureParallax {
            px_per_sample: 2.0,
            ..p(140.0)
        };
        assert!((model_floor(&cropped) - large).abs() < 1e-12);
    }

    #[test]
    fn a_small_rotation_abstains_whatever_the_residual() {
        // The live faces of the real video: a residual of 0.02–0.03 on a face 35 px
        // between the eyes after a nod of a few degrees: no reading either way.
        let n = model_floor(&p(35.0));
        for r in [0.0, 0.02, 0.033, 0.07] {
            assert_eq!(read_pair(r, n, 8.0), None);
        }
    }

    #[test]
    fn a_wide_turn_reads_a_plane_and_a_head_apart() {
        let n = model_floor(&p(70.0));
        // 25°: a head leaves ≥ 0.0615, a plane about one floor.
        assert_eq!(read_pair(0.0066, n, 25.0), Some(Reading::Plane));
        assert_eq!(read_pair(0.06, n, 25.0), Some(Reading::Head));
    }

    #[test]
    fn a_residual_far_above_the_planes_noise_is_never_a_plane() {
        // The rendered head of `live_grace_hopper` turned by 46° at 480 and 640 px: only 12–13
        // near-side patches matched, residuals 0.035–0.058 on a floor of 0.0067 — below a
        // head's least parallax at that turn (0.063), and 5–9 floors above a plane's.
        let n = model_floor(&p(72.0));
        for r in [0.035, 0.058] {
            assert_eq!(read_pair(r, n, 46.0), Some(Reading::Neither), "{r}");
        }
        assert_eq!(read_pair(PLANE_CEILING * n, n, 46.0), Some(Reading::Plane));
    }

    /// The 99.9th percentile of χ²(ν) ÷ ν by the Wilson–Hilferty approximation.
    fn chi2_quantile_999_over_nu(nu: f64) -> f64 {
        let a = 2.0 / (9.0 * nu);
        (1.0 - a + 3.09 * a.sqrt()).powi(3)
    }

    #[test]
    fn the_plane_ceiling_covers_the_planes_noise() {
        // Checked against the table value χ²(16) at 99.9 % = 39.25.
        assert!((chi2_quantile_999_over_nu(16.0) * 16.0 - 39.25).abs() < 0.3);
        // The floor: a same-pose pair with 25 matches, n² = σ² · 42 / 25.
        let floor2 = 42.0 / 25.0;
        let model_error = 1.15;
        for k in 12..=25 {
            let nu = (2 * k - 8) as f64;
            let r2 = chi2_quantile_999_over_nu(nu) * nu / k as f64;
            let ratio = (r2 / floor2).sqrt() * model_error;
            assert!(
                ratio < PLANE_CEILING && ratio > 0.75 * PLANE_CEILING,
                "{k}: {ratio}"
            );
        }
    }
}
