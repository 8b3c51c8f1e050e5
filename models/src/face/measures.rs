//! What one face's landmarks measure: eye aspect ratios, head pose, mouth ratios and the
//! landmark box (the figures [`crate::Face`] reports for every frame).

use serde::Serialize;

use super::{
    dist2, Landmarks, CHIN, FOREHEAD, LEFT_EYE, LIP_LOWER_INNER, LIP_UPPER_INNER, MOUTH_LEFT,
    MOUTH_RIGHT, RIGHT_EYE,
};

/// An axis-aligned box in image pixels.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct FaceBox {
    pub x: f32,
    pub y: f32,
    pub w: f32,
    pub h: f32,
}

impl FaceBox {
    /// Intersection over union with `other` (0 when either is empty).
    pub fn iou(&self, other: &FaceBox) -> f32 {
        let w = ((self.x + self.w).min(other.x + other.w) - self.x.max(other.x)).max(0.0);
        let h = ((self.y + self.h).min(other.y + other.h) - self.y.max(other.y)).max(0.0);
        let inter = w * h;
        let union = self.w * self.h + other.w * other.h - inter;
        if union > 0.0 {
            inter / union
        } else {
            0.0
        }
    }
}

/// Head pose in degrees, for an unmirrored camera frame.
///
/// - `yaw > 0`: the subject turns their head to **their own left** (the nose moves toward the
///   image's right edge).
/// - `pitch > 0`: the subject looks **up** (chin raised).
/// - `roll > 0`: the head tilts toward the subject's **left shoulder** (clockwise as seen on
///   screen: the eye on the image's right is lower).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct HeadPose {
    pub yaw: f32,
    pub pitch: f32,
    pub roll: f32,
}

/// Per-eye values; `left`/`right` are the **subject's** sides (the subject's left eye appears on
/// the image's right in an unmirrored frame).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct EyePair {
    pub left: f32,
    pub right: f32,
}

impl EyePair {
    /// The mean of both eyes.
    pub fn mean(&self) -> f32 {
        (self.left + self.right) / 2.0
    }
}

impl Landmarks {
    /// Eye aspect ratio of each eye, `(|p2−p6| + |p3−p5|) / (2·|p1−p4|)` in the image plane over
    /// the six points of [`LEFT_EYE`] and [`RIGHT_EYE`]: ~0.25–0.35 open, below ~0.2 closed.
    pub fn eye_aspect_ratios(&self) -> EyePair {
        EyePair {
            left: self.eye_aspect_ratio(LEFT_EYE),
            right: self.eye_aspect_ratio(RIGHT_EYE),
        }
    }

    fn eye_aspect_ratio(&self, idx: [usize; 6]) -> f32 {
        let p = |i: usize| self[idx[i]];
        let width = dist2(p(0), p(3));
        if width <= f32::EPSILON {
            return 0.0;
        }
        (dist2(p(1), p(5)) + dist2(p(2), p(4))) / (2.0 * width)
    }

    /// Head pose from landmarks in image coordinates (x right, y down, z away from the camera).
    ///
    /// The face frame: x from the subject's right eye to their left eye, y from forehead to chin
    /// (made orthogonal to x), z = x × y (pointing into the head). Frontal: yaw = pitch = 0.
    pub fn head_pose(&self) -> HeadPose {
        let [right_eye, left_eye] = self.eye_centres();
        let x = normalize(sub(left_eye, right_eye));
        let down = sub(self[CHIN], self[FOREHEAD]);
        let y = normalize(sub(down, scale(x, dot(down, x))));
        let z = cross(x, y);
        let deg = 180.0 / std::f32::consts::PI;
        HeadPose {
            // The face's forward direction is −z; turning to the subject's left swings it to +x.
            yaw: (-z[0]).atan2(z[2]) * deg,
            // Looking up swings −z toward −y (up in the image).
            pitch: z[1].atan2(z[2]) * deg,
            roll: x[1].atan2(x[0]) * deg,
        }
    }

    /// `(open, wide)`: the inner-lip gap over the mouth width (~0 closed, > 0.3 open), and the
    /// mouth width over the inter-eye distance (grows with a smile).
    pub fn mouth_ratios(&self) -> (f32, f32) {
        let width = dist2(self[MOUTH_RIGHT], self[MOUTH_LEFT]);
        let gap = dist2(self[LIP_UPPER_INNER], self[LIP_LOWER_INNER]);
        let eyes = self.inter_eye();
        let open = if width > f32::EPSILON {
            gap / width
        } else {
            0.0
        };
        let wide = if eyes > f32::EPSILON {
            width / eyes
        } else {
            0.0
        };
        (open, wide)
    }

    /// The bounding box of all the landmarks.
    pub fn bbox(&self) -> FaceBox {
        let (mut x0, mut y0, mut x1, mut y1) = (f32::MAX, f32::MAX, f32::MIN, f32::MIN);
        for p in self.iter() {
            x0 = x0.min(p[0]);
            y0 = y0.min(p[1]);
            x1 = x1.max(p[0]);
            y1 = y1.max(p[1]);
        }
        FaceBox {
            x: x0,
            y: y0,
            w: (x1 - x0).max(0.0),
            h: (y1 - y0).max(0.0),
        }
    }
}

fn sub(a: [f32; 3], b: [f32; 3]) -> [f32; 3] {
    [a[0] - b[0], a[1] - b[1], a[2] - b[2]]
}
fn dot(a: [f32; 3], b: [f32; 3]) -> f32 {
    a[0] * b[0] + a[1] * b[1] + a[2] * b[2]
}
fn cross(a: [f32; 3], b: [f32; 3]) -> [f32; 3] {
    [
        a[1] * b[2] - a[2] * b[1],
        a[2] * b[0] - a[0] * b[2],
        a[0] * b[1] - a[1] * b[0],
    ]
}
fn normalize(a: [f32; 3]) -> [f32; 3] {
    let n = dot(a, a).sqrt().max(f32::EPSILON);
    [a[0] / n, a[1] / n, a[2] / n]
}
fn scale(a: [f32; 3], s: f32) -> [f32; 3] {
    [a[0] * s, a[1] * s, a[2] * s]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::face::NUM_LANDMARKS;

    /// A synthetic "face": eyes, mouth, forehead and chin on a plane, rotated by yaw (about the
    /// vertical axis, positive toward the subject's left) and pitch.
    fn synthetic(yaw_deg: f32, pitch_deg: f32, roll_deg: f32) -> Landmarks {
        let mut lm = vec![[0f32; 3]; NUM_LANDMARKS];
        // Canonical frontal face, image axes (x right, y down, z away from camera), centred.
        // The subject's right eye is on the image's left.
        let set = |lm: &mut Vec<[f32; 3]>, i: usize, p: [f32; 3]| lm[i] = p;
        set(&mut lm, RIGHT_EYE[0], [-45.0, -20.0, 0.0]);
        set(&mut lm, RIGHT_EYE[3], [-15.0, -20.0, 0.0]);
        set(&mut lm, RIGHT_EYE[1], [-35.0, -25.0, 0.0]);
        set(&mut lm, RIGHT_EYE[2], [-25.0, -25.0, 0.0]);
        set(&mut lm, RIGHT_EYE[4], [-25.0, -15.0, 0.0]);
        set(&mut lm, RIGHT_EYE[5], [-35.0, -15.0, 0.0]);
        for k in 0..6 {
            let p = lm[RIGHT_EYE[k]];
            lm[LEFT_EYE[k]] = [-p[0], p[1], p[2]];
        }
        set(&mut lm, FOREHEAD, [0.0, -70.0, 0.0]);
        set(&mut lm, CHIN, [0.0, 80.0, 0.0]);
        set(&mut lm, MOUTH_RIGHT, [-25.0, 45.0, 0.0]);
        set(&mut lm, MOUTH_LEFT, [25.0, 45.0, 0.0]);
        set(&mut lm, LIP_UPPER_INNER, [0.0, 43.0, 0.0]);
        set(&mut lm, LIP_LOWER_INNER, [0.0, 47.0, 0.0]);
        let (sy, cy) = yaw_deg.to_radians().sin_cos();
        let (sp, cp) = pitch_deg.to_radians().sin_cos();
        let (sr, cr) = roll_deg.to_radians().sin_cos();
        for p in lm.iter_mut() {
            // The face's forward vector is (0,0,−1). Turning to the subject's left sends it to +x:
            // rotate about y so that (0,0,−1) → (sin yaw, 0, −cos yaw).
            let [x, y, z] = *p;
            let (x, z) = (x * cy - z * sy, x * sy + z * cy);
            // Looking up sends forward to −y: (0,0,−1) → (0, −sin pitch, −cos pitch).
            let (y, z) = (y * cp + z * sp, -y * sp + z * cp);
            // Roll: rotate in the image plane, clockwise on screen for positive angles.
            let (x, y) = (x * cr - y * sr, x * sr + y * cr);
            *p = [x + 300.0, y + 200.0, z];
        }
        Landmarks(lm)
    }

    #[test]
    fn head_pose_signs_follow_the_documented_convention() {
        let p = synthetic(0.0, 0.0, 0.0).head_pose();
        assert!(
            p.yaw.abs() < 1e-3 && p.pitch.abs() < 1e-3 && p.roll.abs() < 1e-3,
            "{p:?}"
        );
        let p = synthetic(25.0, 0.0, 0.0).head_pose();
        assert!((p.yaw - 25.0).abs() < 0.5, "{p:?}");
        let p = synthetic(-30.0, 0.0, 0.0).head_pose();
        assert!((p.yaw + 30.0).abs() < 0.5, "{p:?}");
        let p = synthetic(0.0, 20.0, 0.0).head_pose();
        assert!((p.pitch - 20.0).abs() < 0.5 && p.yaw.abs() < 0.5, "{p:?}");
        let p = synthetic(0.0, 0.0, 15.0).head_pose();
        assert!((p.roll - 15.0).abs() < 0.5 && p.yaw.abs() < 0.5, "{p:?}");
    }

    #[test]
    fn eye_and_mouth_ratios_on_a_synthetic_face() {
        let lm = synthetic(0.0, 0.0, 0.0);
        // eye: lids 10 px apart over a 30 px wide eye
        let ear = lm.eye_aspect_ratios();
        assert!((ear.left - 10.0 / 30.0).abs() < 1e-5);
        assert!((ear.right - 10.0 / 30.0).abs() < 1e-5);
        let (open, wide) = lm.mouth_ratios();
        assert!((open - 4.0 / 50.0).abs() < 1e-5, "{open}");
        // eye centres at ±30 → 60 px apart; mouth 50 px wide
        assert!((wide - 50.0 / 60.0).abs() < 1e-5, "{wide}");
    }
}
