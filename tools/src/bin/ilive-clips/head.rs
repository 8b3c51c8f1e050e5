//! The live head: a still photo turned into a deformable, rotatable 3-D face from our own
//! FaceMesh landmarks, rendered by piecewise-affine warping.
//!
//! - **Framing** ([`Subject::frame`]): the photo is rotated so the eyes are level and scaled and
//!   cropped to the clip size with the eyes at a fixed place and spacing (so two people can be
//!   framed alike for the swap clip); the framed picture is analysed again, and those landmarks
//!   are the rest pose.
//! - **Rig** ([`Rig::new`]): control points = the 468 landmarks (depth from FaceMesh's z, which
//!   is in the same pixel units as x and y) + three rings around the face oval that follow the
//!   head partially (hair, ears, neck) + fixed points beyond the frame border (the room). A
//!   Delaunay triangulation of their rest positions is the warp mesh.
//! - **Expressions**: linear displacement fields of the landmarks at full strength — eyelids
//!   closed (blink), mouth corners out and up (smile), jaw dropped (mouth open) — scaled per
//!   frame.
//! - **Pose**: the deformed 3-D landmarks are rotated about a pivot behind the face (yaw, pitch,
//!   roll) and projected orthographically; the depth differences between nose, cheeks and face
//!   edge give real parallax, which is exactly what a planar print lacks (DESIGN.md, "The
//!   verification layers", 2).
//! - **Drawing**: background triangles first, then face triangles from far to near (painter's
//!   algorithm), so the near cheek hides the far one when the head turns; an open mouth's
//!   interior is painted dark with a hint of teeth.

use anyhow::{bail, Context, Result};
use image::RgbImage;
use models::{AnalyzeOptions, FaceModels};

use crate::canvas::{smoothstep, Canvas};
use crate::geom::{delaunay, rotate, rotation};

/// The 36 points of the face's outline, in order around the face.
pub const FACE_OVAL: [usize; 36] = [
    10, 338, 297, 332, 284, 251, 389, 356, 454, 323, 361, 288, 397, 365, 379, 378, 400, 377, 152,
    148, 176, 149, 150, 136, 172, 58, 132, 93, 234, 127, 162, 21, 54, 103, 67, 109,
];
/// Eyelid contours from the outer corner to the inner corner (the subject's right eye is on the
/// image's left). The EAR points of `models` (160/144, 158/153 and 387/373, 385/380) are on them.
pub const RIGHT_UPPER_LID: [usize; 9] = [33, 246, 161, 160, 159, 158, 157, 173, 133];
pub const RIGHT_LOWER_LID: [usize; 9] = [33, 7, 163, 144, 145, 153, 154, 155, 133];
pub const LEFT_UPPER_LID: [usize; 9] = [263, 466, 388, 387, 386, 385, 384, 398, 362];
pub const LEFT_LOWER_LID: [usize; 9] = [263, 249, 390, 373, 374, 380, 381, 382, 362];
/// Inner lip contours from the subject's right mouth corner to the left one.
pub const UPPER_INNER_LIP: [usize; 11] = [78, 191, 80, 81, 82, 13, 312, 311, 310, 415, 308];
pub const LOWER_INNER_LIP: [usize; 11] = [78, 95, 88, 178, 87, 14, 317, 402, 318, 324, 308];
pub const UPPER_OUTER_LIP: [usize; 11] = [61, 185, 40, 39, 37, 0, 267, 269, 270, 409, 291];
pub const LOWER_OUTER_LIP: [usize; 11] = [61, 146, 91, 181, 84, 17, 314, 405, 321, 375, 291];
pub const MOUTH_RIGHT: usize = 61;
pub const MOUTH_LEFT: usize = 291;
#[cfg(test)]
pub const NOSE_TIP: usize = 1;
/// Points at the side of the face near the ears: the yaw pivot lies at about their depth.
pub const CHEEK_SIDES: [usize; 2] = [234, 454];

/// Number of FaceMesh landmarks.
pub const N_LM: usize = 468;

/// Where the eyes go in the frame, as fractions of the frame width/height (a webcam selfie at
/// arm's length: the face is about half the frame height).
#[derive(Debug, Clone, Copy)]
pub struct Placement {
    /// Midpoint of the eyes, fractions of width and height.
    pub eyes_at: [f32; 2],
    /// Distance between the eye centres as a fraction of the width.
    pub eye_distance: f32,
}

impl Default for Placement {
    fn default() -> Self {
        Self {
            eyes_at: [0.5, 0.42],
            eye_distance: 0.16,
        }
    }
}

/// A framed photo and the landmarks FaceMesh finds on it.
#[derive(Debug, Clone)]
pub struct Subject {
    pub base: Canvas,
    pub lm: Vec<[f32; 3]>,
}

fn eye_centres(lm: &[[f32; 3]]) -> ([f32; 2], [f32; 2]) {
    let mid = |a: usize, b: usize| [(lm[a][0] + lm[b][0]) / 2.0, (lm[a][1] + lm[b][1]) / 2.0];
    (mid(33, 133), mid(263, 362))
}

/// Distance between the eye centres.
pub fn inter_eye(lm: &[[f32; 3]]) -> f32 {
    let (r, l) = eye_centres(lm);
    ((l[0] - r[0]).powi(2) + (l[1] - r[1]).powi(2)).sqrt()
}

/// The best face of an image, or an error naming the image.
pub fn landmarks_of(models: &FaceModels, img: &RgbImage, what: &str) -> Result<Vec<[f32; 3]>> {
    let opts = AnalyzeOptions {
        max_faces: 1,
        ..Default::default()
    };
    let faces = models
        .analyze(img, &opts)
        .with_context(|| format!("analysing {what}"))?;
    match faces.into_iter().next() {
        Some(f) => Ok(f.landmarks),
        None => bail!("no face found in {what}"),
    }
}

impl Subject {
    /// Frames `photo` to `w×h` with the eyes placed by `place` and analyses the result.
    pub fn frame(
        models: &FaceModels,
        photo: &RgbImage,
        what: &str,
        w: usize,
        h: usize,
        place: Placement,
    ) -> Result<Self> {
        let lm = landmarks_of(models, photo, what)?;
        let base = frame_photo(photo, &lm, w, h, place);
        let lm = landmarks_of(models, &base.to_rgb8(), &format!("{what} (framed)"))?;
        Ok(Self { base, lm })
    }
}

/// Rotates, scales and crops `photo` so that its eyes land where `place` says (exactly, when
/// the photo is large enough to fill the frame; otherwise the scale grows until it fills, and
/// the crop slides to stay inside the photo).
pub fn frame_photo(
    photo: &RgbImage,
    lm: &[[f32; 3]],
    w: usize,
    h: usize,
    place: Placement,
) -> Canvas {
    let (er, el) = eye_centres(lm);
    let angle = (el[1] - er[1]).atan2(el[0] - er[0]);
    let ie = ((el[0] - er[0]).powi(2) + (el[1] - er[1]).powi(2))
        .sqrt()
        .max(1.0);
    let (pw, ph) = (photo.width() as f32, photo.height() as f32);
    // Output pixels per photo pixel.
    let s = (place.eye_distance * w as f32 / ie)
        .max(w as f32 / pw)
        .max(h as f32 / ph);
    // Downscaling by more than a little aliases with bilinear sampling: resize first with an
    // area-aware filter, so that the remaining map is (close to) a rotation.
    let (src, s_rest) = if s < 0.9 {
        let nw = (pw * s).round().max(1.0) as u32;
        let nh = (ph * s).round().max(1.0) as u32;
        let small = image::imageops::resize(photo, nw, nh, image::imageops::FilterType::Triangle);
        (Canvas::from_rgb8(&small), 1.0)
    } else {
        (Canvas::from_rgb8(photo), s)
    };
    let k = s / s_rest; // photo → src
    let emid = [(er[0] + el[0]) / 2.0 * k, (er[1] + el[1]) / 2.0 * k];
    let (sin, cos) = angle.sin_cos();
    // out → src: src = centre + R(angle)·(out − out_centre)/s_rest
    let target = [place.eyes_at[0] * w as f32, place.eyes_at[1] * h as f32];
    let (hw, hh) = (w as f32 / 2.0, h as f32 / 2.0);
    let d = [(hw - target[0]) / s_rest, (hh - target[1]) / s_rest];
    let mut c = [
        emid[0] + cos * d[0] - sin * d[1],
        emid[1] + sin * d[0] + cos * d[1],
    ];
    // Keep the crop inside the photo where it can be.
    let (ew, eh) = (hw / s_rest, hh / s_rest);
    let (sw, sh) = (src.w as f32, src.h as f32);
    if sw >= 2.0 * ew {
        c[0] = c[0].clamp(ew, sw - ew);
    }
    if sh >= 2.0 * eh {
        c[1] = c[1].clamp(eh, sh - eh);
    }
    let mut out = Canvas::new(w, h, [0.0; 3]);
    out.map_pixels(|x, y, _| {
        let (ox, oy) = (
            (x as f32 + 0.5 - hw) / s_rest,
            (y as f32 + 0.5 - hh) / s_rest,
        );
        src.sample(c[0] + cos * ox - sin * oy, c[1] + sin * ox + cos * oy)
    });
    out
}

/// One frame's head state. Angles in degrees with [`models::HeadPose`]'s conventions;
/// expression strengths in `[0, 1]`.
#[derive(Debug, Clone, Copy, Default, PartialEq, serde::Serialize)]
pub struct HeadState {
    pub yaw: f32,
    pub pitch: f32,
    pub roll: f32,
    pub blink: f32,
    pub smile: f32,
    pub mouth: f32,
    /// Head translation in pixels.
    pub shift: [f32; 2],
}

/// The camera's own small motion: a similarity about the frame centre.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct CameraState {
    pub shift: [f32; 2],
    pub scale: f32,
    /// Degrees, clockwise on screen.
    pub rot: f32,
}

impl Default for CameraState {
    fn default() -> Self {
        Self {
            shift: [0.0; 2],
            scale: 1.0,
            rot: 0.0,
        }
    }
}

impl CameraState {
    pub fn apply(&self, p: [f32; 2], w: usize, h: usize) -> [f32; 2] {
        let (cx, cy) = (w as f32 / 2.0, h as f32 / 2.0);
        let (s, c) = self.rot.to_radians().sin_cos();
        let (x, y) = ((p[0] - cx) * self.scale, (p[1] - cy) * self.scale);
        [
            cx + c * x - s * y + self.shift[0],
            cy + s * x + c * y + self.shift[1],
        ]
    }
}

/// How much each ring around the face follows the head: (radius as a multiple of the oval's,
/// fraction of the head's motion). Hair and ears move almost with the head; the room does not.
const RINGS: [(f32, f32); 3] = [(1.22, 0.85), (1.55, 0.5), (2.1, 0.15)];

/// The warp rig of one subject.
#[derive(Debug, Clone)]
pub struct Rig {
    /// Rest positions of every control point: landmarks, then ring points, then border points.
    pub src: Vec<[f32; 2]>,
    /// For ring points: (oval landmark they hang from, fraction of its motion they follow).
    ring: Vec<(usize, f32, [f32; 3])>,
    n_border: usize,
    tris: Vec<[usize; 3]>,
    rest: Vec<[f32; 3]>,
    pivot: [f32; 3],
    blink: Vec<[f32; 2]>,
    smile: Vec<[f32; 2]>,
    mouth: Vec<[f32; 2]>,
    w: usize,
    h: usize,
}

impl Rig {
    pub fn new(subject: &Subject) -> Result<Self> {
        let lm = &subject.lm;
        if lm.len() != N_LM {
            bail!("expected {N_LM} landmarks, got {}", lm.len());
        }
        let (w, h) = (subject.base.w, subject.base.h);
        let ie = inter_eye(lm).max(1.0);
        let mut src: Vec<[f32; 2]> = lm.iter().map(|p| [p[0], p[1]]).collect();

        let n = FACE_OVAL.len() as f32;
        let oc = FACE_OVAL.iter().fold([0.0f32; 2], |a, &i| {
            [a[0] + lm[i][0] / n, a[1] + lm[i][1] / n]
        });
        let margin = 0.08 * w.max(h) as f32;
        let inside = |p: [f32; 2]| {
            p[0] > -margin * 0.5
                && p[1] > -margin * 0.5
                && p[0] < w as f32 + margin * 0.5
                && p[1] < h as f32 + margin * 0.5
        };
        let mut ring = Vec::new();
        for (radius, frac) in RINGS {
            for &i in &FACE_OVAL {
                let p = [
                    oc[0] + (lm[i][0] - oc[0]) * radius,
                    oc[1] + (lm[i][1] - oc[1]) * radius,
                ];
                if inside(p) {
                    src.push(p);
                    ring.push((i, frac, [p[0], p[1], lm[i][2]]));
                }
            }
        }
        // Fixed points beyond the border: the triangulation then covers the whole frame.
        let mut border = Vec::new();
        let steps = 8;
        for k in 0..=steps {
            let t = k as f32 / steps as f32;
            let x = -margin + t * (w as f32 + 2.0 * margin);
            let y = -margin + t * (h as f32 + 2.0 * margin);
            border.push([x, -margin]);
            border.push([x, h as f32 + margin]);
            if k > 0 && k < steps {
                border.push([-margin, y]);
                border.push([w as f32 + margin, y]);
            }
        }
        let n_border = border.len();
        src.extend(border);
        let tris = delaunay(&src);
        if tris.len() < N_LM {
            bail!("triangulation failed ({} triangles)", tris.len());
        }

        // The pivot: centred on the oval, at the depth of the face's sides (near the ears),
        // a little behind them, where the neck's rotation axis is.
        let side_z = CHEEK_SIDES.iter().map(|&i| lm[i][2]).sum::<f32>() / 2.0;
        let pivot = [oc[0], oc[1], side_z + 0.25 * ie];

        Ok(Self {
            blink: blink_field(lm),
            smile: smile_field(lm),
            mouth: mouth_field(lm),
            src,
            ring,
            n_border,
            tris,
            rest: lm.clone(),
            pivot,
            w,
            h,
        })
    }

    /// The landmarks (x, y in the frame, z) of the head in `state`, before the camera's motion.
    pub fn landmarks(&self, state: &HeadState) -> Vec<[f32; 3]> {
        let r = rotation(
            state.yaw.to_radians() as f64,
            state.pitch.to_radians() as f64,
            state.roll.to_radians() as f64,
        );
        let pv = self.pivot;
        self.rest
            .iter()
            .enumerate()
            .map(|(i, p)| {
                let d = [
                    p[0] + state.blink * self.blink[i][0]
                        + state.smile * self.smile[i][0]
                        + state.mouth * self.mouth[i][0],
                    p[1] + state.blink * self.blink[i][1]
                        + state.smile * self.smile[i][1]
                        + state.mouth * self.mouth[i][1],
                    p[2],
                ];
                let q = rotate(
                    &r,
                    [
                        (d[0] - pv[0]) as f64,
                        (d[1] - pv[1]) as f64,
                        (d[2] - pv[2]) as f64,
                    ],
                );
                [
                    pv[0] + q[0] as f32 + state.shift[0],
                    pv[1] + q[1] as f32 + state.shift[1],
                    pv[2] + q[2] as f32,
                ]
            })
            .collect()
    }

    /// Destinations of every control point (after the camera's motion) and the landmarks' depth.
    fn destinations(&self, state: &HeadState, cam: &CameraState) -> (Vec<[f32; 2]>, Vec<f32>) {
        let lm = self.landmarks(state);
        let r = rotation(
            state.yaw.to_radians() as f64,
            state.pitch.to_radians() as f64,
            state.roll.to_radians() as f64,
        );
        let pv = self.pivot;
        let mut dst: Vec<[f32; 2]> = lm.iter().map(|p| [p[0], p[1]]).collect();
        for &(_, frac, p) in &self.ring {
            let q = rotate(
                &r,
                [
                    (p[0] - pv[0]) as f64,
                    (p[1] - pv[1]) as f64,
                    (p[2] - pv[2]) as f64,
                ],
            );
            let moved = [
                pv[0] + q[0] as f32 + state.shift[0],
                pv[1] + q[1] as f32 + state.shift[1],
            ];
            dst.push([
                p[0] + frac * (moved[0] - p[0]),
                p[1] + frac * (moved[1] - p[1]),
            ]);
        }
        dst.extend_from_slice(
            &self.src[N_LM + self.ring.len()..N_LM + self.ring.len() + self.n_border],
        );
        for p in dst.iter_mut() {
            *p = cam.apply(*p, self.w, self.h);
        }
        (dst, lm.iter().map(|p| p[2]).collect())
    }

    /// Renders the head in `state` seen by a camera in `cam` (no sensor noise).
    pub fn render(&self, base: &Canvas, state: &HeadState, cam: &CameraState) -> Canvas {
        let (dst, depth) = self.destinations(state, cam);
        let mut out = base.clone();
        let is_face = |t: &[usize; 3]| t.iter().all(|&v| v < N_LM);
        let mut face: Vec<(f32, [usize; 3])> = Vec::new();
        for t in &self.tris {
            if is_face(t) {
                face.push(((depth[t[0]] + depth[t[1]] + depth[t[2]]) / 3.0, *t));
            } else {
                out.warp_triangle(base, t.map(|v| dst[v]), t.map(|v| self.src[v]));
            }
        }
        // Far first (larger z is farther from the camera).
        face.sort_by(|a, b| b.0.total_cmp(&a.0));
        for (_, t) in &face {
            out.warp_triangle(base, t.map(|v| dst[v]), t.map(|v| self.src[v]));
        }
        if state.mouth > 0.05 {
            paint_mouth(&mut out, &dst, state.mouth);
        }
        out
    }
}

/// Unit vector along the eye (outer → inner corner) and its normal toward the chin.
fn axes(a: [f32; 3], b: [f32; 3], chin_side: [f32; 3]) -> ([f32; 2], [f32; 2]) {
    let d = [b[0] - a[0], b[1] - a[1]];
    let l = (d[0] * d[0] + d[1] * d[1]).sqrt().max(1e-6);
    let u = [d[0] / l, d[1] / l];
    let mut n = [-u[1], u[0]];
    if (chin_side[0] - a[0]) * n[0] + (chin_side[1] - a[1]) * n[1] < 0.0 {
        n = [-n[0], -n[1]];
    }
    (u, n)
}

/// Piecewise-linear `b(a)` through `pts` (sorted by a inside).
fn interp(pts: &[(f32, f32)], a: f32) -> f32 {
    let mut s: Vec<(f32, f32)> = pts.to_vec();
    s.sort_by(|x, y| x.0.total_cmp(&y.0));
    if a <= s[0].0 {
        return s[0].1;
    }
    for w in s.windows(2) {
        if a <= w[1].0 {
            let t = (a - w[0].0) / (w[1].0 - w[0].0).max(1e-6);
            return w[0].1 + t * (w[1].1 - w[0].1);
        }
    }
    s[s.len() - 1].1
}

/// Fractions of the opening the upper lid comes down and the lower lid goes up.
const CLOSE_UP: f32 = 0.9;
const CLOSE_LOW: f32 = 0.1;
/// How far above the upper lid (in eye widths) the skin follows it down.
const LID_SKIN: f32 = 0.8;

/// Displacements that close both eyes: the upper lid comes down to a line 10% of the opening
/// above the lower lid, the lower lid rises to meet it, and the skin above the lid follows,
/// fading out over [`LID_SKIN`] eye widths (what covers the eye is the stretched lid skin; the
/// eye's own pixels are squeezed to nothing). FaceMesh reads such a closed eye at about 0.6 of
/// the open EAR (obama 0.23 → 0.13, grace_hopper 0.24 → 0.16, astronaut 0.35 → 0.20).
fn blink_field(lm: &[[f32; 3]]) -> Vec<[f32; 2]> {
    let mut out = vec![[0.0; 2]; N_LM];
    let chin = lm[152];
    for (upper, lower) in [
        (RIGHT_UPPER_LID, RIGHT_LOWER_LID),
        (LEFT_UPPER_LID, LEFT_LOWER_LID),
    ] {
        let (o, inner) = (lm[upper[0]], lm[upper[8]]);
        let (u, n) = axes(o, inner, chin);
        let ab = |p: [f32; 3]| {
            let d = [p[0] - o[0], p[1] - o[1]];
            (d[0] * u[0] + d[1] * u[1], d[0] * n[0] + d[1] * n[1])
        };
        let width = ab(inner).0.max(1.0);
        let up: Vec<(f32, f32)> = upper.iter().map(|&i| ab(lm[i])).collect();
        let lo: Vec<(f32, f32)> = lower.iter().map(|&i| ab(lm[i])).collect();
        let gap = |a: f32| (interp(&lo, a) - interp(&up, a)).max(0.0);
        for (i, p) in lm.iter().enumerate() {
            let (a, b) = ab(*p);
            let taper =
                smoothstep(-0.3 * width, 0.0, a) * (1.0 - smoothstep(width, 1.3 * width, a));
            if taper <= 0.0 {
                continue;
            }
            let ac = a.clamp(0.0, width);
            let g = gap(ac);
            let (bu, bl) = (interp(&up, ac), interp(&lo, ac));
            let db = if upper.contains(&i) {
                CLOSE_UP * g
            } else if lower.contains(&i) {
                -CLOSE_LOW * g
            } else if b < bu {
                CLOSE_UP * g * (1.0 - (bu - b) / (LID_SKIN * width)).max(0.0) * taper
            } else if b > bl {
                -CLOSE_LOW * g * (1.0 - (b - bl) / (0.3 * width)).max(0.0) * taper
            } else {
                // Inside the opening (no such landmark in the 468-point mesh): onto the line
                // where the lids meet.
                (bl - CLOSE_LOW * g) - b
            };
            if db != 0.0 {
                out[i][0] += db * n[0];
                out[i][1] += db * n[1];
            }
        }
    }
    out
}

/// Mouth frame: centre, axis from the subject's right corner to the left, normal toward the
/// chin, width.
fn mouth_frame(lm: &[[f32; 3]]) -> ([f32; 2], [f32; 2], [f32; 2], f32) {
    let (r, l) = (lm[MOUTH_RIGHT], lm[MOUTH_LEFT]);
    let (u, n) = axes(r, l, lm[152]);
    let width = ((l[0] - r[0]).powi(2) + (l[1] - r[1]).powi(2))
        .sqrt()
        .max(1.0);
    ([(r[0] + l[0]) / 2.0, (r[1] + l[1]) / 2.0], u, n, width)
}

/// Displacements of a smile: each mouth corner moves out by 20% and up by 8% of the mouth
/// width, dragging the lips and cheeks within 0.55 mouth widths with it (FaceMesh reads about
/// a third of the corners' travel back as mouth width, so this gives a measured widening of
/// 10–15%).
fn smile_field(lm: &[[f32; 3]]) -> Vec<[f32; 2]> {
    let (_, u, n, width) = mouth_frame(lm);
    let mut out = vec![[0.0; 2]; N_LM];
    for (corner, sign) in [(MOUTH_RIGHT, -1.0), (MOUTH_LEFT, 1.0)] {
        let c = lm[corner];
        let dir = [
            sign * 0.2 * width * u[0] - 0.08 * width * n[0],
            sign * 0.2 * width * u[1] - 0.08 * width * n[1],
        ];
        for (i, p) in lm.iter().enumerate() {
            let d = ((p[0] - c[0]).powi(2) + (p[1] - c[1]).powi(2)).sqrt();
            let wgt = (1.0 - d / (0.55 * width)).max(0.0).powi(2);
            out[i][0] += wgt * dir[0];
            out[i][1] += wgt * dir[1];
        }
    }
    out
}

/// Displacements of an open mouth: the jaw (lower lip, chin, lower face) drops by 45% of the
/// mouth width; the drop fades toward the mouth corners and the jaw's angles, which lie near
/// the jaw's hinge.
fn mouth_field(lm: &[[f32; 3]]) -> Vec<[f32; 2]> {
    let (m, u, n, width) = mouth_frame(lm);
    let drop = 0.45 * width;
    let ab = |p: [f32; 3]| {
        let d = [p[0] - m[0], p[1] - m[1]];
        (d[0] * u[0] + d[1] * u[1], d[0] * n[0] + d[1] * n[1])
    };
    // The lip seam: from each corner to the middle of the inner lips.
    let seam_mid = ab([
        (lm[13][0] + lm[14][0]) / 2.0,
        (lm[13][1] + lm[14][1]) / 2.0,
        0.0,
    ])
    .1;
    let (ar, br) = ab(lm[MOUTH_RIGHT]);
    let (al, bl) = ab(lm[MOUTH_LEFT]);
    let seam = |a: f32| {
        if a < 0.0 {
            br + (seam_mid - br) * (1.0 - a / ar.min(-1e-3)).clamp(0.0, 1.0)
        } else {
            bl + (seam_mid - bl) * (1.0 - a / al.max(1e-3)).clamp(0.0, 1.0)
        }
    };
    let upper: Vec<usize> = UPPER_INNER_LIP
        .iter()
        .chain(UPPER_OUTER_LIP.iter())
        .copied()
        .collect();
    let lower: Vec<usize> = LOWER_INNER_LIP
        .iter()
        .chain(LOWER_OUTER_LIP.iter())
        .copied()
        .collect();
    let half = width / 2.0;
    lm.iter()
        .enumerate()
        .map(|(i, p)| {
            let (a, b) = ab(*p);
            // Lips: full drop in the middle, none at the corners.
            let lip_taper = (1.0 - (a.abs() / half).powi(2)).max(0.0);
            // Jaw: full within the mouth's width, fading to a third at the jaw's angles.
            let jaw_taper = 1.0 - 0.67 * smoothstep(0.6 * width, 1.8 * width, a.abs());
            let wgt = if upper.contains(&i) && !lower.contains(&i) {
                0.0
            } else if lower.contains(&i) {
                lip_taper
            } else {
                smoothstep(0.0, 0.25 * width, b - seam(a)) * jaw_taper
            };
            [wgt * drop * n[0], wgt * drop * n[1]]
        })
        .collect()
}

/// Paints the inside of an open mouth (the polygon of the inner lips) dark red-brown, with a
/// band of teeth under the upper lip, blended by `amount`.
fn paint_mouth(out: &mut Canvas, dst: &[[f32; 2]], amount: f32) {
    let poly: Vec<[f32; 2]> = UPPER_INNER_LIP
        .iter()
        .chain(
            LOWER_INNER_LIP
                .iter()
                .rev()
                .skip(1)
                .take(LOWER_INNER_LIP.len() - 2),
        )
        .map(|&i| dst[i])
        .collect();
    let (mut x0, mut y0, mut x1, mut y1) = (f32::MAX, f32::MAX, f32::MIN, f32::MIN);
    for p in &poly {
        x0 = x0.min(p[0]);
        y0 = y0.min(p[1]);
        x1 = x1.max(p[0]);
        y1 = y1.max(p[1]);
    }
    let upper: Vec<[f32; 2]> = UPPER_INNER_LIP.iter().map(|&i| dst[i]).collect();
    let lower: Vec<[f32; 2]> = LOWER_INNER_LIP.iter().map(|&i| dst[i]).collect();
    let at_x = |line: &[[f32; 2]], x: f32| -> f32 {
        let pts: Vec<(f32, f32)> = line.iter().map(|p| (p[0], p[1])).collect();
        interp(&pts, x)
    };
    let alpha = smoothstep(0.05, 0.4, amount);
    let (w, h) = (out.w as i64, out.h as i64);
    for y in (y0.floor() as i64).max(0)..(y1.ceil() as i64).min(h) {
        for x in (x0.floor() as i64).max(0)..(x1.ceil() as i64).min(w) {
            let p = [x as f32 + 0.5, y as f32 + 0.5];
            // Soft edge: the fraction of a 4×4 sub-grid inside the polygon.
            let mut cover = 0.0;
            for sy in 0..4 {
                for sx in 0..4 {
                    let q = [
                        p[0] - 0.375 + sx as f32 * 0.25,
                        p[1] - 0.375 + sy as f32 * 0.25,
                    ];
                    if point_in_polygon(&poly, q) {
                        cover += 1.0 / 16.0;
                    }
                }
            }
            if cover <= 0.0 {
                continue;
            }
            let (top, bot) = (at_x(&upper, p[0]), at_x(&lower, p[0]));
            let t = ((p[1] - top) / (bot - top).max(1.0)).clamp(0.0, 1.0);
            // Teeth in the top fifth, then the dark of the mouth, a little lighter at the bottom
            // (the tongue).
            let col = if t < 0.2 {
                [205.0, 198.0, 185.0]
            } else {
                let k = smoothstep(0.6, 1.0, t);
                [38.0 + 60.0 * k, 14.0 + 18.0 * k, 16.0 + 18.0 * k]
            };
            let i = (y * w + x) as usize;
            let a = alpha * cover;
            for (v, c) in out.px[i].iter_mut().zip(col) {
                *v = *v * (1.0 - a) + c * a;
            }
        }
    }
}

fn point_in_polygon(poly: &[[f32; 2]], p: [f32; 2]) -> bool {
    let mut inside = false;
    let mut j = poly.len() - 1;
    for i in 0..poly.len() {
        let (a, b) = (poly[i], poly[j]);
        if (a[1] > p[1]) != (b[1] > p[1])
            && p[0] < (b[0] - a[0]) * (p[1] - a[1]) / (b[1] - a[1]) + a[0]
        {
            inside = !inside;
        }
        j = i;
    }
    inside
}

#[cfg(test)]
pub mod tests {
    use super::*;

    /// A plausible synthetic landmark set: an ellipse of points with the named features placed
    /// where a frontal face has them (enough for the rig's geometry, not for FaceMesh).
    pub fn synthetic_landmarks(cx: f32, cy: f32, s: f32) -> Vec<[f32; 3]> {
        let mut lm = vec![[0f32; 3]; N_LM];
        // Fill everything with a spread of points inside the face so nothing coincides.
        for (i, p) in lm.iter_mut().enumerate() {
            let t = i as f32 * 2.399;
            let r = (i as f32 / N_LM as f32).sqrt() * 0.8;
            *p = [
                cx + s * r * t.cos(),
                cy + 1.2 * s * r * t.sin(),
                s * (r * r - 0.5) * 0.6,
            ];
        }
        for (k, &i) in FACE_OVAL.iter().enumerate() {
            let t = k as f32 / 36.0 * std::f32::consts::TAU - std::f32::consts::FRAC_PI_2;
            lm[i] = [cx + s * t.cos(), cy + 1.25 * s * t.sin(), 0.3 * s];
        }
        for (upper, lower, ex) in [
            (RIGHT_UPPER_LID, RIGHT_LOWER_LID, -0.42f32),
            (LEFT_UPPER_LID, LEFT_LOWER_LID, 0.42),
        ] {
            for k in 0..9 {
                // outer corner at |x| = 0.62 s, inner at 0.22 s
                let f = k as f32 / 8.0;
                let x = cx + s * ex.signum() * (0.62 - 0.40 * f);
                let open = (f * std::f32::consts::PI).sin() * 0.07 * s;
                lm[upper[k]] = [x, cy - 0.3 * s - open, -0.1 * s];
                lm[lower[k]] = [x, cy - 0.3 * s + open, -0.1 * s];
            }
        }
        for k in 0..11 {
            let f = k as f32 / 10.0;
            let x = cx - 0.35 * s + 0.7 * s * f;
            let bulge = (f * std::f32::consts::PI).sin();
            lm[UPPER_OUTER_LIP[k]] = [x, cy + 0.55 * s - 0.08 * s * bulge, -0.15 * s];
            lm[LOWER_OUTER_LIP[k]] = [x, cy + 0.55 * s + 0.1 * s * bulge, -0.15 * s];
            let xi = cx - 0.3 * s + 0.6 * s * f;
            lm[UPPER_INNER_LIP[k]] = [xi, cy + 0.55 * s - 0.005 * s * bulge, -0.15 * s];
            lm[LOWER_INNER_LIP[k]] = [xi, cy + 0.55 * s + 0.005 * s * bulge, -0.15 * s];
        }
        lm[NOSE_TIP] = [cx, cy, -0.5 * s];
        lm
    }

    fn subject() -> Subject {
        let (w, h) = (160, 120);
        let mut base = Canvas::new(w, h, [0.0; 3]);
        for y in 0..h {
            for x in 0..w {
                base.px[y * w + x] = [
                    (x * 255 / w) as f32,
                    (y * 255 / h) as f32,
                    ((x ^ y) & 255) as f32,
                ];
            }
        }
        Subject {
            base,
            lm: synthetic_landmarks(80.0, 60.0, 30.0),
        }
    }

    fn ear(lm: &[[f32; 3]], upper: [usize; 9], lower: [usize; 9]) -> f32 {
        let d = |a: usize, b: usize| {
            ((lm[a][0] - lm[b][0]).powi(2) + (lm[a][1] - lm[b][1]).powi(2)).sqrt()
        };
        (d(upper[3], lower[3]) + d(upper[5], lower[5])) / (2.0 * d(upper[0], upper[8]))
    }

    #[test]
    fn blink_closes_the_eyes_in_the_landmarks() {
        let rig = Rig::new(&subject()).unwrap();
        let open = rig.landmarks(&HeadState::default());
        let shut = rig.landmarks(&HeadState {
            blink: 1.0,
            ..Default::default()
        });
        for (u, l) in [
            (RIGHT_UPPER_LID, RIGHT_LOWER_LID),
            (LEFT_UPPER_LID, LEFT_LOWER_LID),
        ] {
            assert!(ear(&open, u, l) > 0.25, "{}", ear(&open, u, l));
            assert!(ear(&shut, u, l) < 0.02, "{}", ear(&shut, u, l));
        }
    }

    #[test]
    fn smile_widens_and_open_mouth_parts_the_lips() {
        let rig = Rig::new(&subject()).unwrap();
        let rest = rig.landmarks(&HeadState::default());
        let width = |lm: &[[f32; 3]]| lm[MOUTH_LEFT][0] - lm[MOUTH_RIGHT][0];
        let smile = rig.landmarks(&HeadState {
            smile: 1.0,
            ..Default::default()
        });
        assert!(width(&smile) > 1.25 * width(&rest));
        let open = rig.landmarks(&HeadState {
            mouth: 1.0,
            ..Default::default()
        });
        let gap = open[14][1] - open[13][1];
        assert!(gap / width(&open) > 0.35, "{}", gap / width(&open));
        // the upper lip does not move
        assert_eq!(open[13], rest[13]);
    }

    #[test]
    fn yaw_moves_the_nose_toward_the_documented_side_with_parallax() {
        let rig = Rig::new(&subject()).unwrap();
        let rest = rig.landmarks(&HeadState::default());
        let left = rig.landmarks(&HeadState {
            yaw: 25.0,
            ..Default::default()
        });
        // yaw > 0: the nose moves toward the image's right, more than the face's edge does.
        let nose = left[NOSE_TIP][0] - rest[NOSE_TIP][0];
        let edge = left[FACE_OVAL[9]][0] - rest[FACE_OVAL[9]][0];
        assert!(nose > 3.0 && nose > edge + 3.0, "nose {nose} edge {edge}");
    }

    #[test]
    fn rest_render_reproduces_the_base_image() {
        let s = subject();
        let rig = Rig::new(&s).unwrap();
        let out = rig.render(&s.base, &HeadState::default(), &CameraState::default());
        let err = out
            .px
            .iter()
            .zip(&s.base.px)
            .map(|(a, b)| (0..3).map(|k| (a[k] - b[k]).abs()).fold(0.0, f32::max))
            .fold(0.0, f32::max);
        assert!(err < 0.5, "{err}");
    }
}
