//! The geometry of one face's landmarks: the 468 points of MediaPipe's FaceMesh as
//! [`Landmarks`], the mesh indices the measures read, the eye centres and the inter-eye distance
//! that scales every landmark measure, and the one set of rigid points the planar-motion tests
//! fit. The per-face measures (eye aspect ratios, head pose, mouth ratios, the landmark box) are
//! methods of [`Landmarks`] in [`measures`].
//!
//! Sides are the **subject's**: the subject's right eye appears on the image's left in an
//! unmirrored frame.

pub mod measures;

use std::ops::Deref;

use serde::Serialize;

pub use measures::{EyePair, FaceBox, HeadPose};

/// Number of FaceMesh landmarks.
pub const NUM_LANDMARKS: usize = crate::nets::facemesh::NUM_LANDMARKS;

/// Mesh indices of the six eye-aspect-ratio points of the subject's right eye: outer corner,
/// two upper-lid points, inner corner, two lower-lid points (p1…p6 of Soukupová & Čech 2016).
pub const RIGHT_EYE: [usize; 6] = [33, 160, 158, 133, 153, 144];
/// The same six points of the subject's left eye.
pub const LEFT_EYE: [usize; 6] = [263, 387, 385, 362, 380, 373];
/// The middle of the upper inner lip.
pub const LIP_UPPER_INNER: usize = 13;
/// The middle of the lower inner lip.
pub const LIP_LOWER_INNER: usize = 14;
/// The subject's right mouth corner.
pub const MOUTH_RIGHT: usize = 61;
/// The subject's left mouth corner.
pub const MOUTH_LEFT: usize = 291;
/// The top of the forehead, on the face's midline.
pub const FOREHEAD: usize = 10;
/// The bottom of the chin, on the face's midline.
pub const CHIN: usize = 152;
/// The tip of the nose.
pub const NOSE_TIP: usize = 1;

/// Mesh indices of points that move with the skull (eye corners, nose, forehead, chin, cheeks,
/// jaw, brows), excluding lips and eyelids, which move with expressions: the points the
/// planar-motion test fits (see [`crate::geometry`]).
pub const RIGID_POINTS: [usize; 33] = [
    33, 133, 362, 263, 1, 4, 5, 6, 168, 197, 195, 98, 327, 10, 151, 9, 152, 175, 199, 234, 454, 93,
    323, 132, 361, 58, 288, 172, 397, 136, 365, 70, 300,
];

/// Mesh indices of points fixed to the skull itself: eye corners, the nose from bridge to tip and
/// its wings, the forehead. Unlike [`RIGID_POINTS`] they leave out the chin, the jaw and the
/// face's outline, which move with the mouth: on real video of a person talking, they moved the
/// rigid points as much as a 20° turn would (`docs/architecture.md`, "Reliability"). The pose
/// gap and the image parallax test use these.
pub const SKULL_POINTS: [usize; 16] = [
    33, 133, 362, 263, 1, 4, 5, 6, 168, 197, 195, 98, 327, 10, 151, 9,
];

/// The landmarks of one face: [`NUM_LANDMARKS`] points `[x, y, z]` in image pixels (z relative,
/// larger = farther from the camera). Always exactly that many, so any mesh index can be read
/// without a check. Reads as a slice of points and serialises as an array of them.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(transparent)]
pub struct Landmarks(Vec<[f32; 3]>);

impl Landmarks {
    /// The points as landmarks; `None` unless there are exactly [`NUM_LANDMARKS`].
    pub fn new(points: Vec<[f32; 3]>) -> Option<Self> {
        (points.len() == NUM_LANDMARKS).then_some(Self(points))
    }

    /// The centres of the subject's right and left eye: the mean of each eye's two corners
    /// (33/133 and 362/263).
    pub fn eye_centres(&self) -> [[f32; 3]; 2] {
        let mid = |a: usize, b: usize| {
            let (p, q) = (self.0[a], self.0[b]);
            [
                (p[0] + q[0]) / 2.0,
                (p[1] + q[1]) / 2.0,
                (p[2] + q[2]) / 2.0,
            ]
        };
        [
            mid(RIGHT_EYE[0], RIGHT_EYE[3]),
            mid(LEFT_EYE[0], LEFT_EYE[3]),
        ]
    }

    /// The five points face descriptors are aligned by, `x, y` in image pixels, in the order of
    /// ArcFace's template ([`crate::nets::mobilefacenet::TEMPLATE`]) for an unmirrored photo:
    /// the subject's right eye (on the image's left), the left eye, the nose tip, the right and
    /// the left mouth corner.
    pub fn five_points(&self) -> [[f32; 2]; 5] {
        let [right, left] = self.eye_centres();
        let xy = |i: usize| [self.0[i][0], self.0[i][1]];
        [
            [right[0], right[1]],
            [left[0], left[1]],
            xy(NOSE_TIP),
            xy(MOUTH_RIGHT),
            xy(MOUTH_LEFT),
        ]
    }

    /// Distance between the eye centres in the image plane, in pixels: the scale of every
    /// landmark measure.
    pub fn inter_eye(&self) -> f32 {
        let [right, left] = self.eye_centres();
        dist2(right, left)
    }

    /// The `x, y` of the points `idx`, in image pixels, for the planar-motion fits.
    pub fn xy(&self, idx: &[usize]) -> Vec<[f64; 2]> {
        idx.iter()
            .map(|&i| [self.0[i][0] as f64, self.0[i][1] as f64])
            .collect()
    }
}

impl Default for Landmarks {
    /// Every point at the origin: a placeholder for synthetic faces in tests.
    fn default() -> Self {
        Self(vec![[0.0; 3]; NUM_LANDMARKS])
    }
}

impl Deref for Landmarks {
    type Target = [[f32; 3]];

    fn deref(&self) -> &Self::Target {
        &self.0
    }
}

/// Distance between two points in the image plane (z ignored).
fn dist2(a: [f32; 3], b: [f32; 3]) -> f32 {
    ((a[0] - b[0]).powi(2) + (a[1] - b[1]).powi(2)).sqrt()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_full_mesh_makes_landmarks() {
        assert!(Landmarks::new(vec![[0.0; 3]; NUM_LANDMARKS - 1]).is_none());
        assert!(Landmarks::new(vec![[0.0; 3]; NUM_LANDMARKS + 1]).is_none());
        assert_eq!(
            Landmarks::new(vec![[1.0; 3]; NUM_LANDMARKS]).map(|l| l.len()),
            Some(NUM_LANDMARKS)
        );
    }

    #[test]
    fn the_eyes_are_the_mean_of_their_corners() {
        let mut lm = Landmarks::default();
        lm.0[33] = [10.0, 20.0, 1.0];
        lm.0[133] = [30.0, 24.0, 3.0];
        lm.0[362] = [50.0, 20.0, 0.0];
        lm.0[263] = [70.0, 24.0, 0.0];
        assert_eq!(lm.eye_centres(), [[20.0, 22.0, 2.0], [60.0, 22.0, 0.0]]);
        assert_eq!(lm.inter_eye(), 40.0);
    }

    #[test]
    fn landmarks_serialise_as_an_array_of_points() {
        let json = serde_json::to_value(Landmarks::default()).unwrap_or_default();
        assert_eq!(json.as_array().map(Vec::len), Some(NUM_LANDMARKS));
        assert_eq!(json[0], serde_json::json!([0.0, 0.0, 0.0]));
    }
}
