//! Motion parallax measured on the image itself, not on the landmark model's output.
//!
//! The landmark network has learned what a head looks like from every angle, so on a photo
//! tilted in front of the camera it places its points where a turning *head's* points would be,
//! inventing part of the parallax the planar test looks for (a print tilted ±38° reads as only
//! a few degrees of yaw, with a landmark residual in the range of real heads). Skin, eyes and
//! brows carry texture, and texture does not lie: on a print every patch moves exactly as the
//! paper's plane does; on a head the nose moves against the cheeks.
//!
//! So for two keyframes of different pose we predict where each textured patch of the first
//! frame lands in the second with the homography fitted to the landmarks, find where it really
//! landed by normalised cross-correlation around that prediction (the template is warped by the
//! same homography, so scale, rotation and foreshortening are undone), fit a homography to the
//! matched points, and report its RMS residual ÷ inter-eye distance — the planar test of
//! `docs/architecture.md` ("Motion analysis") on measured positions.
use image::{GrayImage, RgbImage};

use crate::{
    face::SKULL_POINTS,
    geometry::{apply_homography, fit_homography, invert, planar_residual},
    ncc::SearchRegion,
    Face,
};

/// Least yaw (or pitch) difference between two views for the planar test, in degrees
/// (`docs/architecture.md`: the residuals of heads and prints separate from 10° on).
pub const PARALLAX_YAW_DEG: f32 = 10.0;

/// Mesh points whose neighbourhoods carry trackable texture and are fixed to the skull: eye
/// corners, the nose from bridge to tip with its wings and sides, the forehead and the glabella.
/// Lips, eyelids, brows, cheeks, chin and jaw are left out: they move with expressions and
/// speech, and a moving jaw reads as parallax on any face, a printed one included once it is
/// animated.
pub const TEXTURE_POINTS: [usize; 25] = [
    33, 133, 362, 263, 130, 359, 1, 4, 5, 6, 168, 197, 195, 98, 327, 48, 278, 193, 417, 122, 351,
    10, 151, 9, 8,
];

/// Longest side of a stored face crop; larger faces are stored at a lower resolution.
const MAX_CROP: u32 = 224;
/// Patch half-size and search radius, as fractions of the inter-eye distance.
const PATCH_HALF: f64 = 0.11;
const SEARCH: f64 = 0.22;
/// Least normalised cross-correlation of an accepted match, and least grey-level standard
/// deviation of a template (flat skin gives no reliable match).
const MIN_NCC: f64 = 0.7;
const MIN_TEXTURE_STD: f64 = 3.0;
/// Fewest matched points for a homography fit worth reporting (8 unknowns, and some
/// redundancy so that one point cannot carry the residual alone).
const MIN_MATCHES: usize = 12;

/// A face crop kept for the parallax test, with where it came from.
#[derive(Debug, Clone)]
pub struct Keyframe {
    pub t: f64,
    pub yaw: f32,
    pub pitch: f32,
    /// Inter-eye distance ÷ eye-line-to-nose-tip distance: changes with any rotation of a
    /// head or a photo, whatever the landmark model believes the pose to be.
    pub aspect: f32,
    pub inter_eye: f32,
    /// Grey crop; frame point `p` is at `(p - origin) * scale` in it.
    crop: GrayImage,
    origin: [f64; 2],
    scale: f64,
    /// [`TEXTURE_POINTS`] and [`SKULL_POINTS`], in frame pixels.
    texture: Vec<[f64; 2]>,
    rigid: Vec<[f64; 2]>,
}

impl Keyframe {
    /// Crops the face (its landmark box with a 15% margin) from the frame.
    pub fn capture(img: &RgbImage, face: &Face, t: f64) -> Option<Keyframe> {
        let lm = &face.landmarks;
        let inter_eye = lm.inter_eye();
        if inter_eye < 8.0 {
            return None;
        }
        let b = face.bbox;
        let m = 0.15 * b.w.max(b.h);
        let x0 = (b.x - m).max(0.0).floor() as u32;
        let y0 = (b.y - m).max(0.0).floor() as u32;
        let x1 = ((b.x + b.w + m).ceil() as u32).min(img.width());
        let y1 = ((b.y + b.h + m).ceil() as u32).min(img.height());
        if x1 <= x0 + 8 || y1 <= y0 + 8 {
            return None;
        }
        let (w, h) = (x1 - x0, y1 - y0);
        let scale = (MAX_CROP as f64 / w.max(h) as f64).min(1.0);
        let (cw, ch) = (
            ((w as f64 * scale).round() as u32).max(1),
            ((h as f64 * scale).round() as u32).max(1),
        );
        let crop = crate::imageops::box_average_luma(img, (x0, y0, x1, y1), (cw, ch), scale);
        let pt = |i: usize| [lm[i][0] as f64, lm[i][1] as f64];
        let eye_mid = {
            let (a, b, c, d) = (pt(33), pt(133), pt(362), pt(263));
            [
                (a[0] + b[0] + c[0] + d[0]) / 4.0,
                (a[1] + b[1] + c[1] + d[1]) / 4.0,
            ]
        };
        let nose = pt(4);
        let down = (nose[0] - eye_mid[0]).hypot(nose[1] - eye_mid[1]);
        Some(Keyframe {
            t,
            yaw: face.pose.yaw,
            pitch: face.pose.pitch,
            aspect: if down > 1.0 {
                (inter_eye as f64 / down) as f32
            } else {
                0.0
            },
            inter_eye,
            crop,
            origin: [x0 as f64, y0 as f64],
            scale,
            texture: lm.xy(&TEXTURE_POINTS),
            rigid: lm.xy(&SKULL_POINTS),
        })
    }

    /// Bytes held (for the memory bound of a session).
    pub fn size(&self) -> usize {
        self.crop.len()
    }

    /// Bilinear grey value at a frame point; `None` outside the crop.
    fn sample(&self, p: [f64; 2]) -> Option<f64> {
        let x = (p[0] - self.origin[0]) * self.scale;
        let y = (p[1] - self.origin[1]) * self.scale;
        let (w, h) = (self.crop.width() as f64, self.crop.height() as f64);
        if !(0.0..w - 1.0).contains(&x) || !(0.0..h - 1.0).contains(&y) {
            return None;
        }
        let (xi, yi) = (x.floor() as u32, y.floor() as u32);
        let (fx, fy) = (x - xi as f64, y - yi as f64);
        let g = |dx: u32, dy: u32| self.crop.get_pixel(xi + dx, yi + dy)[0] as f64;
        Some(
            g(0, 0) * (1.0 - fx) * (1.0 - fy)
                + g(1, 0) * fx * (1.0 - fy)
                + g(0, 1) * (1.0 - fx) * fy
                + g(1, 1) * fx * fy,
        )
    }
}

pub use crate::keyframes::KeyframeSet;

/// The rotation between two keyframes by the landmark model's head pose: the larger of the yaw and
/// the pitch difference, in degrees. On real video of a person talking the 2-D cues of
/// [`pose_gap`] (aspect, foreshortening) moved as much as a 10–20° turn while the head turned by
/// 1–3° (the landmark network's points deform with the mouth), so the parallax measure's
/// reliability rests on this; the landmark model underestimates a tilted photo's pose, which
/// only makes the measure abstain.
pub fn rotation_deg(a: &Keyframe, b: &Keyframe) -> f64 {
    ((a.yaw - b.yaw).abs().max((a.pitch - b.pitch).abs())) as f64
}

/// Change of ln([`Keyframe::aspect`]) per degree of a head's nod: the eyes-to-nose-tip distance
/// is foreshortened to first order, because the nose tip stands forward of the eyes (0.0217 at
/// 5°, 0.0198 at 10°, measured on the landmark network's 3-D points of a real face in
/// `tests/parallax.rs`). A turn, or a tilted photo, changes the aspect only to second order, so
/// for any face this is the *smallest* rotation an aspect change can mean.
pub const ASPECT_PER_DEG: f64 = 0.0217;

/// How far apart two keyframes' poses are, in units of [`PARALLAX_YAW_DEG`]: the smallest head
/// rotation that explains what changed between them, whichever of these is largest — the yaw or
/// pitch of the landmark model; the change of the 2-D aspect ([`Keyframe::aspect`]) read as a
/// nod ([`ASPECT_PER_DEG`]); the foreshortening of the skull points ([`anisotropy`], 0.04 per
/// 16° of turn). Each is a lower bound of the rotation of a head (the landmark model
/// underestimates the pose of a tilted photo, the aspect and the foreshortening catch it), so
/// their maximum is too, up to the jitter ([`KeyframeSet::jitter`]). An aspect change used to
/// count as a turn (0.04 per 16°): on real video a nod of a few degrees, which changes the
/// aspect ten times faster, read as a 25° turn.
pub fn pose_gap(a: &Keyframe, b: &Keyframe) -> f64 {
    let deg = PARALLAX_YAW_DEG as f64;
    let yaw = (a.yaw - b.yaw).abs() as f64 / deg;
    let pitch = (a.pitch - b.pitch).abs() as f64 / deg;
    let aspect = if a.aspect > 0.0 && b.aspect > 0.0 {
        ((a.aspect / b.aspect).ln().abs() as f64) / (ASPECT_PER_DEG * deg)
    } else {
        0.0
    };
    let turn = head_turn_deg(anisotropy(a, b)) / deg;
    yaw.max(pitch).max(aspect).max(turn)
}

/// Foreshortening ([`foreshortening`] of the skull points) of a head turned or nodded by 5°, 10°
/// and 20°, whichever is larger (`tests/parallax.rs`, the landmark network's 3-D points of a real
/// face): the nose standing forward makes it grow to first order, far faster than a plane's
/// −ln cos θ.
const HEAD_FORESHORTENING: [(f64, f64); 4] =
    [(0.0, 0.0), (5.0, 0.0263), (10.0, 0.0560), (20.0, 0.1451)];

/// The head turn, in degrees, that foreshortens the skull points by `f`: the smallest rotation
/// that explains it (a plane needs more).
fn head_turn_deg(f: f64) -> f64 {
    let t = &HEAD_FORESHORTENING;
    let i = t
        .windows(2)
        .position(|w| f <= w[1].1)
        .unwrap_or(t.len() - 2);
    let (a, b) = (t[i], t[i + 1]);
    a.0 + (f - a.1) * (b.0 - a.0) / (b.1 - a.1)
}

/// Foreshortening between two views measured on all rigid landmarks: ln(σ₁/σ₂) of the Jacobian of
/// their homography at the face centre (0 for a pure move, turn in the image plane or change of
/// scale; −ln cos θ for a plane turned by θ out of the image plane, faster for a head).
fn anisotropy(a: &Keyframe, b: &Keyframe) -> f64 {
    foreshortening(&a.rigid, &b.rigid)
}

/// [`anisotropy`] of two views of any point set.
pub fn foreshortening(a: &[[f64; 2]], b: &[[f64; 2]]) -> f64 {
    let Some(h) = fit_homography(a, b) else {
        return 0.0;
    };
    let n = a.len() as f64;
    let c = a
        .iter()
        .fold([0.0, 0.0], |s, p| [s[0] + p[0] / n, s[1] + p[1] / n]);
    let w = h[2][0] * c[0] + h[2][1] * c[1] + h[2][2];
    let Some(q) = apply_homography(&h, c) else {
        return 0.0;
    };
    let j = [
        [
            (h[0][0] - q[0] * h[2][0]) / w,
            (h[0][1] - q[0] * h[2][1]) / w,
        ],
        [
            (h[1][0] - q[1] * h[2][0]) / w,
            (h[1][1] - q[1] * h[2][1]) / w,
        ],
    ];
    // Singular values of a 2×2 matrix.
    let sum_sq = j[0][0].powi(2) + j[0][1].powi(2) + j[1][0].powi(2) + j[1][1].powi(2);
    let det = (j[0][0] * j[1][1] - j[0][1] * j[1][0]).abs();
    let root = (sum_sq * sum_sq - 4.0 * det * det).max(0.0).sqrt();
    let (s1, s2) = (
        ((sum_sq + root) / 2.0).sqrt(),
        ((sum_sq - root) / 2.0).sqrt(),
    );
    if s2 > 1e-9 {
        (s1 / s2).ln()
    } else {
        0.0
    }
}

/// The planar residual of two keyframes measured on image texture: RMS transfer error of the
/// homography fitted to the matched patch centres, ÷ the mean inter-eye distance. `None` when too
/// few patches could be matched (blur, occlusion, a flat region).
pub fn image_planar_residual(a: &Keyframe, b: &Keyframe) -> Option<f64> {
    texture_parallax(a, b).map(|p| p.residual)
}

/// One image parallax measurement with the conditions it was taken under, which its reliability
/// depends on (`docs/architecture.md`, "Reliability").
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TextureParallax {
    /// RMS transfer error of the homography fitted to the matches, ÷ the mean inter-eye distance.
    pub residual: f64,
    /// Patches matched (of [`TEXTURE_POINTS`]).
    pub matches: usize,
    /// Mean inter-eye distance of the two views, in frame pixels.
    pub inter_eye_px: f64,
    /// Frame pixels per crop pixel of the coarser view: a face larger than the crop is measured
    /// at the crop's resolution, not the frame's.
    pub px_per_sample: f64,
}

/// [`image_planar_residual`] with the conditions of the measurement.
pub fn texture_parallax(a: &Keyframe, b: &Keyframe) -> Option<TextureParallax> {
    let h = fit_homography(&a.rigid, &b.rigid)?;
    let hinv = invert(&h)?;
    let ied = ((a.inter_eye + b.inter_eye) / 2.0) as f64;
    // Work in B's frame pixels; patch step of one B-crop pixel.
    let step = 1.0 / b.scale;
    let half = ((PATCH_HALF * ied * b.scale).round() as i32).max(3);
    let radius = ((SEARCH * ied * b.scale).round() as i32).max(3);
    let mut src = Vec::new();
    let mut dst = Vec::new();
    for p in &a.texture {
        let Some(q0) = apply_homography(&h, *p) else {
            continue;
        };
        // The template: A's pixels around p, warped into B's geometry.
        let mut tpl = Vec::with_capacity(((2 * half + 1) * (2 * half + 1)) as usize);
        for dy in -half..=half {
            for dx in -half..=half {
                let q = [q0[0] + dx as f64 * step, q0[1] + dy as f64 * step];
                match apply_homography(&hinv, q).and_then(|pa| a.sample(pa)) {
                    Some(v) => tpl.push(v),
                    None => break,
                }
            }
        }
        if tpl.len() != ((2 * half + 1) * (2 * half + 1)) as usize {
            continue;
        }
        let Some(tpl) = zero_mean(tpl) else { continue };
        // Search B around the prediction: sample the searched region once (every candidate
        // patch lies on the same sub-pixel grid), then correlate by indexing.
        let side = (2 * radius + 1) as usize;
        let span = (2 * (radius + half) + 1) as usize;
        let region: Vec<f64> = (0..span * span)
            .map(|i| {
                let (x, y) = (
                    (i % span) as i32 - radius - half,
                    (i / span) as i32 - radius - half,
                );
                b.sample([q0[0] + x as f64 * step, q0[1] + y as f64 * step])
                    .unwrap_or(f64::NAN)
            })
            .collect();
        let region = SearchRegion::new(&region, span);
        let mut scores = vec![f64::NAN; side * side];
        for sy in 0..side {
            for sx in 0..side {
                if let Some(s) = region.ncc(&tpl, sx, sy, (2 * half + 1) as usize) {
                    scores[sy * side + sx] = s;
                }
            }
        }
        let (best, &score) = match scores
            .iter()
            .enumerate()
            .filter(|(_, s)| s.is_finite())
            .max_by(|x, y| x.1.total_cmp(y.1))
        {
            Some(b) => b,
            None => continue,
        };
        let (bx, by) = ((best % side) as i32, (best / side) as i32);
        // A peak on the edge of the search window is not a located match.
        if score < MIN_NCC || bx == 0 || by == 0 || bx == 2 * radius || by == 2 * radius {
            continue;
        }
        // Sub-pixel peak by a parabola through the neighbours on each axis.
        let at = |x: i32, y: i32| scores[y as usize * side + x as usize];
        let vertex = |l: f64, c: f64, r: f64| {
            let d = l - 2.0 * c + r;
            if d.abs() < 1e-12 || !d.is_finite() {
                0.0
            } else {
                (0.5 * (l - r) / d).clamp(-0.5, 0.5)
            }
        };
        let ox = vertex(at(bx - 1, by), score, at(bx + 1, by));
        let oy = vertex(at(bx, by - 1), score, at(bx, by + 1));
        src.push(*p);
        dst.push([
            q0[0] + ((bx - radius) as f64 + ox) * step,
            q0[1] + ((by - radius) as f64 + oy) * step,
        ]);
    }
    if src.len() < MIN_MATCHES {
        return None;
    }
    Some(TextureParallax {
        residual: planar_residual(&src, &dst, ied)?,
        matches: src.len(),
        inter_eye_px: ied,
        px_per_sample: (1.0 / a.scale).max(1.0 / b.scale),
    })
}

/// Subtracts the mean and scales to unit norm; `None` for a flat patch.
fn zero_mean(mut v: Vec<f64>) -> Option<Vec<f64>> {
    let n = v.len() as f64;
    let mean = v.iter().sum::<f64>() / n;
    v.iter_mut().for_each(|x| *x -= mean);
    let norm = v.iter().map(|x| x * x).sum::<f64>().sqrt();
    if norm / n.sqrt() < MIN_TEXTURE_STD {
        return None;
    }
    v.iter_mut().for_each(|x| *x /= norm);
    Some(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(yaw: f32) -> Keyframe {
        Keyframe {
            t: 0.0,
            yaw,
            pitch: 0.0,
            aspect: 1.0,
            inter_eye: 60.0,
            crop: GrayImage::new(1, 1),
            origin: [0.0; 2],
            scale: 1.0,
            texture: vec![],
            rigid: (0..6).map(|i| [i as f64 * 10.0, (i * i) as f64]).collect(),
        }
    }

    #[test]
    fn a_full_set_keeps_the_widest_poses() {
        let mut set = KeyframeSet::new(4);
        for yaw in [0.0, 2.0, -25.0, 1.0, 3.0, 20.0, 0.5, 1.5] {
            set.push(key(yaw));
        }
        assert_eq!(set.len(), 4);
        let yaws: Vec<f32> = set.frames.iter().map(|k| k.yaw).collect();
        assert!(yaws.contains(&-25.0) && yaws.contains(&20.0), "{yaws:?}");
        // The kept gaps are those of the kept frames.
        for i in 0..4 {
            for j in 0..4 {
                assert_eq!(set.gaps[i][j], pose_gap(&set.frames[i], &set.frames[j]));
            }
        }
        let pairs = set.widest_pairs(2.0, 5);
        assert!((pairs[0].0 - 4.5).abs() < 1e-6, "{}", pairs[0].0);
        assert!(pairs.iter().all(|p| p.0 >= 2.0));
    }
}
