//! From descriptor distance to the `similarity` the API reports, and the thresholds of the named
//! operating points.
//!
//! The face descriptor is MobileFaceNet (`models::nets::mobilefacenet`): a 512-d vector per face,
//! aligned by five landmarks, compared by cosine distance `d = 1 − cos` (0 for the same
//! direction, 1 for unrelated, up to 2). Integrators expect a score in [0, 1] where higher means
//! "more alike" and a threshold they can move, so `d` is mapped through a logistic curve:
//!
//! ```text
//! similarity(d) = 1 / (1 + exp((d − 0.70) / 0.07))
//! ```
//!
//! Why this shape, from the impostor distances `ilive faces-eval` measured (796 pairs of
//! different people; mean d 0.977, sd 0.103):
//! - **Centred on 0.70**, the observed 1 % point: 7 of the 796 impostor pairs lie below it, so
//!   similarity 0.5 accepts about one pair of different people in a hundred.
//! - **Scale 0.07**, so that a typical impostor pair (the mean, d 0.977) maps to ≈ 0.02, as it
//!   did for the previous descriptor; the closest impostor pair measured (d 0.486) maps to
//!   ≈ 0.955 (the strict default, 0.964, keeps a margin below it), and the same-person pairs of
//!   the set (d 0.30–0.34) to ≥ 0.994.
//! - **Monotone and smooth**, so moving the threshold moves the operating point predictably:
//!   `threshold = t` accepts distances below `0.70 + 0.07 · ln((1 − t) / t)`.
//!
//! It is not a probability: what a threshold means is the false-match rate measured for it, which
//! is what [`operating_threshold`] records; real-world error rates still depend on image quality,
//! age gaps and population. The previous descriptor, face-api's dlib ResNet (128-d, Euclidean,
//! centred on dlib's cut-off 0.6), keeps its own mapping ([`FACE_API`]) and thresholds
//! ([`face_api_threshold`]) for `ilive faces-eval --descriptor face-api`.

use app::api::OperatingPoint;

/// A descriptor distance's logistic map to a similarity in [0, 1]: 0.5 at `cutoff`, one unit of
/// log-odds per `scale` of distance.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Mapping {
    pub cutoff: f32,
    pub scale: f32,
}

/// MobileFaceNet's cosine distance, the API's (see the module docs).
pub const MOBILEFACENET: Mapping = Mapping {
    cutoff: 0.70,
    scale: 0.07,
};

/// face-api's dlib ResNet: Euclidean distance, centred on dlib's same-person cut-off 0.6, one
/// unit per 0.05 (half the empty gap its genuine and impostor pairs left around 0.6 on the
/// first photos measured).
pub const FACE_API: Mapping = Mapping {
    cutoff: 0.6,
    scale: 0.05,
};

impl Mapping {
    /// Similarity in [0, 1] for a descriptor distance, rounded to 4 decimals.
    pub fn similarity(&self, distance: f32) -> f64 {
        let z = f64::from((distance - self.cutoff) / self.scale);
        let s = 1.0 / (1.0 + z.exp());
        (s * 10_000.0).round() / 10_000.0
    }

    /// The largest distance that `similarity >= threshold` accepts.
    pub fn distance_at(&self, threshold: f64) -> f64 {
        let t = threshold.clamp(1e-9, 1.0 - 1e-9);
        f64::from(self.cutoff) + f64::from(self.scale) * ((1.0 - t) / t).ln()
    }
}

/// dlib's own cut-off as a similarity threshold of [`FACE_API`] (distance 0.6): what the API
/// applied by default before operating points, kept for `ilive faces-eval`'s report.
pub const DLIB_THRESHOLD: f64 = 0.5;

/// The similarity threshold of each operating point for MobileFaceNet, measured with `ilive
/// faces-eval` on the identity set (`scripts/fixtures/fetch-identities.sh`); how, and the
/// measured rates, are in docs/api.md ("Operating points"). Derived from the impostor distances
/// only: a false-match rate depends only on pairs of different people.
pub fn operating_threshold(point: OperatingPoint) -> f64 {
    match point {
        // The observed limit: 7 of 796 impostor pairs accepted (d ≤ 0.699; the normal fit of the
        // impostor distances says d ≤ 0.739, looser).
        OperatingPoint::Fmr1e2 => 0.503,
        // Not observable on 796 pairs: clear of every impostor pair seen (the closest, d =
        // 0.4864) by a margin for the crop: that pair moved by 0.003 when the detector cropped its
        // faces differently, and the margin is five times that, d ≤ 0.470. Stricter than the
        // normal fit (d ≤ 0.660). Accepts d ≤ 0.4699.
        OperatingPoint::Fmr1e3 => 0.964,
        // As far below fmr_1e-3 as a normal distribution of the impostors' spread puts its 1e-4
        // quantile below its 1e-3 one (0.629 sd = 0.065): d ≤ 0.405, stricter than the normal
        // fit (d ≤ 0.596). Accepts d ≤ 0.4022.
        OperatingPoint::Fmr1e4 => 0.986,
    }
}

/// [`operating_threshold`] for face-api's dlib ResNet under [`FACE_API`], measured the same way
/// on the 756 pairs of the set before the uploads' second detector found one more face.
pub fn face_api_threshold(point: OperatingPoint) -> f64 {
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
    MOBILEFACENET.similarity(distance)
}

/// The largest descriptor distance that `similarity >= threshold` accepts.
pub fn distance_at(threshold: f64) -> f64 {
    MOBILEFACENET.distance_at(threshold)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn centred_on_the_cutoff_and_monotone() {
        for m in [MOBILEFACENET, FACE_API] {
            assert_eq!(m.similarity(m.cutoff), 0.5);
            assert!(m.similarity(0.0) > 0.999 && m.similarity(2.0) < 0.0001);
            let mut last = 1.1;
            for i in 0..=200 {
                let s = m.similarity(i as f32 * 0.01);
                assert!(s <= last);
                last = s;
            }
            for t in [0.1, 0.5, 0.9, 0.99] {
                let d = m.distance_at(t) as f32;
                assert!((m.similarity(d) - t).abs() < 1e-3, "{t}");
            }
        }
        assert!((FACE_API.distance_at(0.8) - 0.5307).abs() < 1e-3);
        assert!((FACE_API.distance_at(DLIB_THRESHOLD) - 0.6).abs() < 1e-6);
    }

    #[test]
    fn operating_points_accept_what_their_comments_say() {
        let at = |p| MOBILEFACENET.distance_at(operating_threshold(p));
        // fmr_1e-2 keeps the 8th closest impostor pair (0.6994) out; fmr_1e-3 the closest
        // (0.4864) with its margin of 0.016, and fmr_1e-4 0.065 below that.
        assert!(at(OperatingPoint::Fmr1e2) < 0.6994 && at(OperatingPoint::Fmr1e2) > 0.6973);
        assert!(at(OperatingPoint::Fmr1e3) <= 0.4864 - 0.016 && at(OperatingPoint::Fmr1e3) > 0.465);
        assert!(
            at(OperatingPoint::Fmr1e4) <= 0.4864 - 0.016 - 0.065
                && at(OperatingPoint::Fmr1e4) > 0.40
        );
    }
}
