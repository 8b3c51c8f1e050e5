//! The warp rig: control points (the landmarks, rings around the face oval that follow the head
//! partially, fixed points beyond the border), their Delaunay mesh, and the head's pose and
//! expressions applied to them; rendering warps the photo triangle by triangle.

use anyhow::{bail, Result};
use models::face::NUM_LANDMARKS;

use super::expressions::{blink_field, mouth_field, paint_mouth, smile_field};
use super::{Subject, CHEEK_SIDES, FACE_OVAL};
use crate::canvas::Canvas;
use crate::geom::{delaunay, rotate, rotation};

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
/// The screen's light gain on what the rings cover (hair, ears, neck: near, partly facing it)
/// and on the room behind (a wall a metre or more away: the inverse square leaves ~5 %).
const RING_GAIN: f32 = 0.35;
const ROOM_GAIN: f32 = 0.05;
/// Skin's specular lobe: broad (oily skin's highlights spread over tens of degrees).
const SKIN_SHININESS: f32 = 12.0;

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
        let (w, h) = (subject.base.w, subject.base.h);
        let ie = lm.inter_eye().max(1.0);
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
        if tris.len() < NUM_LANDMARKS {
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
            rest: lm.to_vec(),
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
            &self.src
                [NUM_LANDMARKS + self.ring.len()..NUM_LANDMARKS + self.ring.len() + self.n_border],
        );
        for p in dst.iter_mut() {
            *p = cam.apply(*p, self.w, self.h);
        }
        (dst, lm.iter().map(|p| p[2]).collect())
    }

    /// The screen's light on the head in `state`: a gain map for `models::light::relight`
    /// (diffuse gain in red, specular in green, 0–255 for 0–1). The screen sits beside the
    /// camera, so light and view share one axis: each face triangle's diffuse gain is the cosine
    /// between its normal (from the rotated 3-D landmarks) and that axis (Lambertian), its
    /// specular gain that cosine to the power [`SKIN_SHININESS`] (Blinn–Phong with the half
    /// vector on the axis). Hair, ears and neck (the rings) face the screen partly; the room
    /// behind is far and barely lit.
    pub fn gains(&self, state: &HeadState, cam: &CameraState) -> Canvas {
        let (dst, depth) = self.destinations(state, cam);
        let lm = self.landmarks(state);
        let mut out = Canvas::new(self.w, self.h, [ROOM_GAIN * 255.0, 0.0, 0.0]);
        let is_face = |t: &[usize; 3]| t.iter().all(|&v| v < NUM_LANDMARKS);
        // The innermost ring hangs from the face's outline (hair, ears, jaw's underside); the
        // outer rings and the border are the room.
        let inner = self.ring.iter().take_while(|r| r.1 == RINGS[0].1).count();
        let is_head = |t: &[usize; 3]| t.iter().all(|&v| v < NUM_LANDMARKS + inner);
        let mut face: Vec<(f32, [usize; 3])> = Vec::new();
        for t in &self.tris {
            if is_face(t) {
                face.push(((depth[t[0]] + depth[t[1]] + depth[t[2]]) / 3.0, *t));
            } else if is_head(t) {
                out.fill_triangle(t.map(|v| dst[v]), [RING_GAIN * 255.0, 0.0, 0.0]);
            }
        }
        face.sort_by(|a, b| b.0.total_cmp(&a.0));
        for (_, t) in &face {
            let [a, b, c] = t.map(|v| lm[v]);
            let (u, v) = (
                [b[0] - a[0], b[1] - a[1], b[2] - a[2]],
                [c[0] - a[0], c[1] - a[1], c[2] - a[2]],
            );
            let n = [
                u[1] * v[2] - u[2] * v[1],
                u[2] * v[0] - u[0] * v[2],
                u[0] * v[1] - u[1] * v[0],
            ];
            let len = (n[0] * n[0] + n[1] * n[1] + n[2] * n[2]).sqrt();
            // Larger z is farther: the camera and the screen look along +z.
            let cos = if len > 0.0 { (n[2] / len).abs() } else { 0.0 };
            out.fill_triangle(
                t.map(|v| dst[v]),
                [cos * 255.0, cos.powf(SKIN_SHININESS) * 255.0, 0.0],
            );
        }
        out
    }

    /// Renders the head in `state` seen by a camera in `cam` (no sensor noise).
    pub fn render(&self, base: &Canvas, state: &HeadState, cam: &CameraState) -> Canvas {
        let (dst, depth) = self.destinations(state, cam);
        let mut out = base.clone();
        let is_face = |t: &[usize; 3]| t.iter().all(|&v| v < NUM_LANDMARKS);
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
