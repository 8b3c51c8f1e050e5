//! From descriptor distance to the `similarity` the API reports, and the thresholds of the named
//! operating points.
//!
//! The face descriptor is dlib's ResNet (as ported to TF.js and re-implemented in `models`):
//! a 128-d vector per face, compared by Euclidean distance, with dlib's published same-person
//! cut-off at 0.6. Integrators, though, expect a score in [0, 1] where higher means "more alike"
//! and a threshold they can move, so the distance `d` is mapped through a logistic curve centred
//! on that cut-off:
//!
//! ```text
//! similarity(d) = 1 / (1 + exp((d − 0.6) / 0.05))
//! ```
//!
//! Why this shape:
//! - **Centred on 0.6**, so similarity 0.5 *is* dlib's cut-off. That cut-off is no longer the
//!   default: on photos of many people it accepts a few percent of different-person pairs
//!   (`ilive faces-eval`), so the API applies a named operating point instead (below).
//! - **Scale 0.05**, chosen from the distances measured on real photos: `ilive faces-eval` on
//!   the fixture photos puts its 10 genuine pairs at 0.22–0.45 and its 18 impostor pairs at
//!   0.67–0.90, and the checks of the `models` crate saw 0.22–0.49 and 0.64–0.90, so the empty
//!   gap around 0.6 is about ±0.05 wide. One scale unit per half-gap spreads the scores over the useful range:
//!   the weakest genuine pair measured (0.49) maps to ≈ 0.90, the closest impostor (0.64) to
//!   ≈ 0.31, a typical genuine pair (0.35) to ≈ 0.99 and a typical impostor (0.8) to ≈ 0.02.
//!   A linear map (`1 − d`) would put both groups in the middle of the range (0.5–0.8 vs
//!   0.1–0.35) and make a threshold of 0.5 meaningless.
//! - **Monotone and smooth**, so moving the threshold moves the operating point predictably:
//!   `threshold = t` accepts distances below `0.6 + 0.05 · ln((1 − t) / t)`; e.g. 0.8 → 0.531,
//!   0.9 → 0.490, 0.99 → 0.370 (stricter: fewer false matches, more false non-matches).
//!
//! It is not a probability: what a threshold means is the false-match rate measured for it, which
//! is what [`operating_threshold`] records; real-world error rates still depend on image quality,
//! age gaps and population.

use app::api::OperatingPoint;

/// dlib's same-person cut-off on the descriptor distance; similarity 0.5 there.
pub const DISTANCE_CUTOFF: f32 = 0.6;
/// Distance units per unit of log-odds (the logistic's scale).
pub const DISTANCE_SCALE: f32 = 0.05;
/// dlib's own cut-off as a similarity threshold (distance 0.6): what the API applied by default
/// before operating points, kept for `ilive faces-eval`'s report.
pub const DLIB_THRESHOLD: f64 = 0.5;

/// The similarity threshold of each operating point, measured with `ilive faces-eval` on the
/// identity set (`scripts/fixtures/fetch-identities.sh`); how, and the measured rates, are in
/// docs/api.md ("Operating points"). Never fitted to one person's pairs: a false-match rate
/// depends only on pairs of different people.
pub fn operating_threshold(point: OperatingPoint) -> f64 {
    match point {
        // The observed limit: 7 of 756 impostor pairs at or above it (d ≤ 0.517).
        OperatingPoint::Fmr1e2 => 0.84,
        // Not observable on 756 pairs: below every impostor pair seen (the closest, d = 0.4105),
        // which is stricter than a normal fit of the impostor distances (d ≤ 0.465).
        OperatingPoint::Fmr1e3 => 0.978,
        // The normal fit's d ≤ 0.403, stricter still.
        OperatingPoint::Fmr1e4 => 0.981,
    }
}

/// The threshold a comparison applies, and the operating point it came from (none for a raw
/// threshold).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Decision {
    pub threshold: f64,
    pub operating_point: Option<OperatingPoint>,
}

impl Decision {
    /// A raw threshold from the request.
    pub fn raw(threshold: f64) -> Self {
        Decision {
            threshold,
            operating_point: None,
        }
    }

    /// A named operating point's threshold.
    pub fn at(point: OperatingPoint) -> Self {
        Decision {
            threshold: operating_threshold(point),
            operating_point: Some(point),
        }
    }
}

/// Similarity in [0, 1] for a descriptor distance (see the module docs), rounded to 4 decimals.
pub fn similarity(distance: f32) -> f64 {
    let z = f64::from((distance - DISTANCE_CUTOFF) / DISTANCE_SCALE);
    let s = 1.0 / (1.0 + z.exp());
    (s * 10_000.0).round() / 10_000.0
}

/// The largest distance that `similarity >= threshold` accepts (for reports).
pub fn distance_at(threshold: f64) -> f64 {
    let t = threshold.clamp(1e-9, 1.0 - 1e-9);
    f64::from(DISTANCE_CUTOFF) + f64::from(DISTANCE_SCALE) * ((1.0 - t) / t).ln()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn centred_on_dlib_cutoff_and_monotone() {
        assert_eq!(similarity(0.6), 0.5);
        assert!(similarity(0.49) > 0.89 && similarity(0.49) < 0.91);
        assert!(similarity(0.64) > 0.30 && similarity(0.64) < 0.32);
        assert!(similarity(0.0) > 0.9999 && similarity(2.0) < 0.0001);
        let mut last = 1.1;
        for i in 0..=200 {
            let s = similarity(i as f32 * 0.01);
            assert!(s <= last);
            last = s;
        }
        assert!((distance_at(0.8) - 0.5307).abs() < 1e-3);
        assert!((distance_at(DLIB_THRESHOLD) - 0.6).abs() < 1e-6);
    }
}
