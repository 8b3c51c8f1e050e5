//! The presentation attacks and the other non-live clips, and the camera sensor they all share.
//!
//! - **Print** ([`Paper`], [`render_plane`]): the framed photo printed on paper (raised black
//!   level, warm paper white, paper fibres, a white margin) and held up on a moving plane: a
//!   homography with perspective tilt, so the whole picture — face included — moves rigidly.
//!   A glossy highlight drifts across it as it tilts. The face never deforms in 3-D, which is
//!   the cue of the motion layer (`docs/architecture.md`, "The verification layers", 2).
//! - **Replay** ([`Screen`]): a live-like frame shown on a monitor filmed by the camera:
//!   display gamma and tint, the screen's RGB sub-pixel grid sampled by the camera's pixels
//!   (which aliases into moiré), a dark bezel around the active area, slight perspective
//!   (the image cues of layer 3).
//! - **No face**: a face-less photo with the camera's slow drift.
//! - [`sensor`]: photon noise and exposure flicker, added to every clip but the exact frozen one.

use crate::canvas::{smoothstep, value_noise, Canvas};
use crate::geom::{apply_h, inv3, mul3, rotation, Mat3};
use crate::head::CameraState;
use crate::rng::{Rng, Wobble};

/// A plane's pose in front of the camera: angles in degrees (yaw about the vertical axis, as
/// [`models::HeadPose`]), translation in pixels, and distance relative to the frontal one.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct PlanePose {
    pub yaw: f32,
    pub pitch: f32,
    pub roll: f32,
    pub shift: [f32; 2],
    pub distance: f32,
}

/// The homography from plane coordinates (pixels of a `w×h` picture, centred on the plane's
/// centre) to the camera image: a pinhole with a focal length of one frame width (a ~53°
/// webcam), the plane at the distance where it appears at its own size when frontal.
pub fn plane_homography(pose: &PlanePose, w: usize, h: usize) -> Mat3 {
    let f = w as f64;
    let r = rotation(
        pose.yaw.to_radians() as f64,
        pose.pitch.to_radians() as f64,
        pose.roll.to_radians() as f64,
    );
    let t = [
        pose.shift[0] as f64,
        pose.shift[1] as f64,
        f * pose.distance as f64,
    ];
    // Columns r1, r2, t; the z axis points away from the camera.
    let m = [
        [r[0][0], r[0][1], t[0]],
        [r[1][0], r[1][1], t[1]],
        [r[2][0], r[2][1], t[2]],
    ];
    let k = [
        [f, 0.0, w as f64 / 2.0],
        [0.0, f, h as f64 / 2.0],
        [0.0, 0.0, 1.0],
    ];
    mul3(&k, &m)
}

/// A room behind the attack instrument: a wall with a soft vertical gradient and blotches.
pub fn room(w: usize, h: usize, seed: u64) -> Canvas {
    let mut r = Rng::derive(seed, 10, 0);
    let n = value_noise(w, h, w as f32 / 5.0, &mut r);
    let mut c = Canvas::new(w, h, [0.0; 3]);
    c.map_pixels(|x, y, _| {
        let t = y as f32 / h as f32;
        let v = n[y * w + x] * 10.0;
        [
            172.0 - 50.0 * t + v,
            164.0 - 48.0 * t + v,
            150.0 - 40.0 * t + v,
        ]
    });
    c
}

/// The printed photo: `content` with a white margin of `margin` (fraction of the width) on
/// each side, in print tones on fibrous paper.
#[derive(Debug, Clone)]
pub struct Paper {
    tex: Canvas,
    margin: f32,
    cw: usize,
    ch: usize,
}

impl Paper {
    pub fn new(content: &Canvas, seed: u64) -> Self {
        let margin_frac = 0.06;
        let m = (margin_frac * content.w as f32).round() as usize;
        let (tw, th) = (content.w + 2 * m, content.h + 2 * m);
        let mut r = Rng::derive(seed, 11, 0);
        let fibres = value_noise(tw, th, 1.6, &mut r);
        let blotch = value_noise(tw, th, tw as f32 / 8.0, &mut r);
        let white = [242.0, 237.0, 222.0];
        let black = 24.0;
        let mut tex = Canvas::new(tw, th, white);
        tex.map_pixels(|x, y, _| {
            let inside = x >= m && y >= m && x < m + content.w && y < m + content.h;
            let ink = if inside {
                let p = content.px[(y - m) * content.w + (x - m)];
                // Print: less saturated, compressed between the ink's black and the paper.
                let l = 0.299 * p[0] + 0.587 * p[1] + 0.114 * p[2];
                let mut o = [0.0; 3];
                for k in 0..3 {
                    let v = (l + 0.82 * (p[k] - l)).clamp(0.0, 255.0) / 255.0;
                    o[k] = black + (white[k] - black) * v.powf(1.08);
                }
                o
            } else {
                white
            };
            let g = 1.0 + 0.03 * fibres[y * tw + x] + 0.02 * blotch[y * tw + x];
            ink.map(|v| v * g)
        });
        Self {
            tex,
            margin: m as f32,
            cw: content.w,
            ch: content.h,
        }
    }
}

/// Draws a textured plane in `pose` over `bg`; `shade(u, v, colour)` can light the plane at
/// plane coordinates (centred pixels) — the glare of a print, the bezel of a screen.
pub(crate) fn draw_plane(
    bg: &Canvas,
    pose: &PlanePose,
    half: [f32; 2],
    shade: impl Fn(f32, f32, [f64; 2], f64) -> Option<[f32; 3]> + Sync,
) -> Canvas {
    let (w, h) = (bg.w, bg.h);
    let hm = plane_homography(pose, w, h);
    let Some(inv) = inv3(&hm) else {
        return bg.clone();
    };
    let mut out = bg.clone();
    out.map_pixels(|x, y, p| {
        // `step`: how many plane pixels one image pixel spans here (the screen's grid needs it).
        let q = apply_h(&inv, [x as f64 + 0.5, y as f64 + 0.5]);
        let q1 = apply_h(&inv, [x as f64 + 1.5, y as f64 + 0.5]);
        let step = ((q1[0] - q[0]).powi(2) + (q1[1] - q[1]).powi(2)).sqrt();
        let (u, v) = (q[0] as f32, q[1] as f32);
        if u.abs() > half[0] || v.abs() > half[1] {
            return p;
        }
        shade(u, v, q, step).unwrap_or(p)
    });
    out
}

impl Paper {
    /// Half the sheet's size, margins included, in plane pixels.
    pub fn half(&self) -> [f32; 2] {
        [
            self.cw as f32 / 2.0 + self.margin,
            self.ch as f32 / 2.0 + self.margin,
        ]
    }
}

/// One frame of the print attack.
pub fn render_print(paper: &Paper, bg: &Canvas, pose: &PlanePose) -> Canvas {
    let (cw, ch) = (paper.cw as f32, paper.ch as f32);
    let half = paper.half();
    // The glare: where the reflection of a ceiling light lands on a glossy print; it slides
    // across the print as the print turns.
    let gu = cw * (0.12 - 1.1 * pose.yaw.to_radians().sin());
    let gv = ch * (-0.25 + 1.1 * pose.pitch.to_radians().sin());
    let sigma = 0.22 * cw;
    draw_plane(bg, pose, half, |u, v, _, _| {
        let c = paper.tex.sample(u + half[0], v + half[1]);
        let d2 = ((u - gu).powi(2) + (v - gv).powi(2)) / (sigma * sigma);
        let g = 95.0 * (-d2).exp();
        Some(c.map(|x| x + g))
    })
}

/// The print's motion: held in the hand and tilted left and right (twice per clip) and up and
/// down, as someone imitating a head turn with a photo would.
pub fn print_pose(i: usize, frames: usize, seed: u64, width: usize) -> PlanePose {
    let mut r = Rng::derive(seed, 12, 0);
    let unit = width as f32 / 640.0;
    let (sx, sy) = (
        Wobble::new(&mut r, 10.0 * unit, 2),
        Wobble::new(&mut r, 8.0 * unit, 2),
    );
    let roll = Wobble::new(&mut r, 3.0, 2);
    let dist = Wobble::new(&mut r, 0.04, 2);
    let mut tremor = Rng::derive(seed, 13, i as u64);
    let t = i as f32 / frames.max(1) as f32 * std::f32::consts::TAU;
    PlanePose {
        yaw: 38.0 * (2.0 * t).sin(),
        pitch: 10.0 * (t + 1.0).sin(),
        roll: roll.at(i, frames),
        shift: [
            sx.at(i, frames) + 0.4 * unit * tremor.normal(),
            sy.at(i, frames) + 0.4 * unit * tremor.normal(),
        ],
        distance: 1.0 + dist.at(i, frames),
    }
}

/// A monitor showing a video, as the camera sees it.
#[derive(Debug, Clone)]
pub struct Screen {
    /// Active area as a fraction of the frame (at frontal view).
    pub fill: f32,
    /// Screen pixel pitch in camera pixels at frontal view: near 1, so the camera's own pixel
    /// grid beats against it (moiré).
    pub pitch: f32,
    /// Bezel width as a fraction of the frame width.
    pub bezel: f32,
    reflection: Vec<f32>,
}

impl Screen {
    pub fn new(w: usize, h: usize, seed: u64) -> Self {
        let mut r = Rng::derive(seed, 14, 0);
        Self {
            fill: 0.9,
            pitch: 1.31,
            bezel: 0.035,
            reflection: value_noise(w, h, w as f32 / 3.0, &mut r),
        }
    }

    /// Displays `content` (a `w×h` frame) on the screen, filmed in `pose`, over `bg`.
    pub fn render(&self, content: &Canvas, bg: &Canvas, pose: &PlanePose) -> Canvas {
        let (w, h) = (content.w as f32, content.h as f32);
        let (aw, ah) = (w * self.fill / 2.0, h * self.fill / 2.0);
        let b = self.bezel * w;
        let half = [aw + b, ah + b];
        let mean_lit = (1.0 / 3.0 - 0.06) * 0.88;
        draw_plane(bg, pose, half, |u, v, q, step| {
            if u.abs() > aw || v.abs() > ah {
                // Bezel: dark plastic, a faint sheen toward the top edge.
                let sheen = 14.0 * smoothstep(ah + 0.6 * b, ah + b, -v);
                return Some([20.0 + sheen, 20.0 + sheen, 23.0 + sheen]);
            }
            let c = content.sample(u / self.fill + w / 2.0, v / self.fill + h / 2.0);
            // Display tone: a brighter gamma, cooler white, a raised black.
            let tint = [0.94, 0.98, 1.06];
            let mut d = [0.0f32; 3];
            for k in 0..3 {
                d[k] = 9.0 + 236.0 * (c[k] / 255.0).clamp(0.0, 1.0).powf(0.82) * tint[k];
            }
            // The sub-pixel grid under a 2×2 super-sampled camera pixel.
            let mut lit = [0.0f32; 3];
            for (ox, oy) in [(-0.25, -0.25), (0.25, -0.25), (-0.25, 0.25), (0.25, 0.25)] {
                let sx = ((q[0] + ox * step) as f32 + aw) / self.pitch;
                let sy = ((q[1] + oy * step) as f32 + ah) / self.pitch;
                let (fx, fy) = (sx.rem_euclid(1.0), sy.rem_euclid(1.0));
                if fy < 0.88 {
                    let k = ((fx * 3.0) as usize).min(2);
                    let within = fx * 3.0 - k as f32;
                    if (0.09..0.91).contains(&within) {
                        lit[k] += 0.25;
                    }
                }
            }
            // The lens and the sensor's demosaicing blur the grid: an eighth of its contrast
            // survives (enough for visible moiré; more hides the face from the detector, which
            // a real camera at this distance does not).
            let alpha = 0.12;
            let refl = 10.0
                * (self.reflection[(v + h / 2.0).clamp(0.0, h - 1.0) as usize * content.w
                    + (u + w / 2.0).clamp(0.0, w - 1.0) as usize]
                    + 0.5);
            let mut o = [0.0; 3];
            for k in 0..3 {
                o[k] = d[k] * (1.0 - alpha + alpha * lit[k] / mean_lit) + refl;
            }
            Some(o)
        })
    }
}

/// The camera's view of the screen: a slight fixed tilt plus the hand's small motion.
pub fn screen_pose(i: usize, frames: usize, seed: u64, width: usize) -> PlanePose {
    let mut r = Rng::derive(seed, 15, 0);
    let unit = width as f32 / 640.0;
    let (yaw, pitch) = (Wobble::new(&mut r, 2.0, 2), Wobble::new(&mut r, 1.5, 2));
    let (sx, sy) = (
        Wobble::new(&mut r, 4.0 * unit, 3),
        Wobble::new(&mut r, 3.0 * unit, 3),
    );
    let roll = Wobble::new(&mut r, 1.2, 2);
    PlanePose {
        yaw: 7.0 + yaw.at(i, frames),
        pitch: -4.0 + pitch.at(i, frames),
        roll: roll.at(i, frames),
        shift: [sx.at(i, frames), sy.at(i, frames)],
        distance: 1.0,
    }
}

/// A face-less picture cover-fitted (and a little enlarged, so the drift never shows an edge)
/// to `w×h`, seen by a drifting camera.
pub fn render_scene(photo: &Canvas, w: usize, h: usize, cam: &CameraState) -> Canvas {
    let s = (w as f32 / photo.w as f32).max(h as f32 / photo.h as f32) * 1.08;
    let (cx, cy) = (photo.w as f32 / 2.0, photo.h as f32 / 2.0);
    let (sin, cos) = cam.rot.to_radians().sin_cos();
    let mut out = Canvas::new(w, h, [0.0; 3]);
    out.map_pixels(|x, y, _| {
        // Invert the camera's similarity, then the cover fit.
        let (dx, dy) = (
            x as f32 + 0.5 - w as f32 / 2.0 - cam.shift[0],
            y as f32 + 0.5 - h as f32 / 2.0 - cam.shift[1],
        );
        let (ux, uy) = (
            (cos * dx + sin * dy) / cam.scale,
            (-sin * dx + cos * dy) / cam.scale,
        );
        photo.sample(cx + ux / s, cy + uy / s)
    });
    out
}

/// The sensor: exposure flicker of ±`flicker` (fraction) and Gaussian noise of `sigma` grey
/// levels, mostly luma with a little chroma, as a webcam in room light.
pub fn sensor(img: &mut Canvas, sigma: f32, flicker: f32, rng: &mut Rng) {
    let gain = 1.0 + flicker * rng.range(-1.0, 1.0);
    let seed = rng.next_u64();
    img.map_pixels(|x, y, p| {
        let mut r = Rng::derive(seed, y as u64, x as u64);
        let l = sigma * r.normal();
        let c = 0.35 * sigma;
        [
            p[0] * gain + l + c * r.normal(),
            p[1] * gain + l + c * r.normal(),
            p[2] * gain + l + c * r.normal(),
        ]
        .map(|v| v.clamp(0.0, 255.0))
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A plane at its frontal distance, turned by `yaw` degrees.
    fn turned(yaw: f32) -> PlanePose {
        PlanePose {
            yaw,
            pitch: 0.0,
            roll: 0.0,
            shift: [0.0; 2],
            distance: 1.0,
        }
    }

    #[test]
    fn frontal_plane_is_the_identity() {
        let pose = turned(0.0);
        let hm = plane_homography(&pose, 640, 480);
        let p = apply_h(&hm, [-320.0, 100.0]);
        assert!(
            (p[0] - 0.0).abs() < 1e-9 && (p[1] - 340.0).abs() < 1e-9,
            "{p:?}"
        );
    }

    #[test]
    fn a_turned_plane_foreshortens_and_puts_the_near_side_larger() {
        let pose = turned(30.0);
        let hm = plane_homography(&pose, 640, 480);
        let l = apply_h(&hm, [-100.0, 0.0]);
        let r = apply_h(&hm, [100.0, 0.0]);
        assert!(r[0] - l[0] < 200.0 * 0.95);
        // The plane's left half comes nearer the camera (x' = x cos − z sin, z' = x sin + z cos
        // with z = 0: the left edge gets z' < 0) and shows larger.
        let c = apply_h(&hm, [0.0, 0.0]);
        assert!(c[0] - l[0] > r[0] - c[0]);
    }

    #[test]
    fn sensor_noise_has_the_asked_spread() {
        let mut img = Canvas::new(64, 64, [128.0; 3]);
        sensor(&mut img, 2.0, 0.0, &mut Rng::new(1));
        let m = img.px.iter().map(|p| p[1]).sum::<f32>() / 4096.0;
        let v = img.px.iter().map(|p| (p[1] - m).powi(2)).sum::<f32>() / 4096.0;
        assert!(
            (m - 128.0).abs() < 0.2 && (v.sqrt() - 2.03).abs() < 0.2,
            "{m} {v}"
        );
    }

    #[test]
    fn the_screen_grid_makes_a_periodic_pattern_on_flat_content() {
        let content = Canvas::new(160, 120, [150.0; 3]);
        let bg = Canvas::new(160, 120, [0.0; 3]);
        let pose = turned(0.0);
        let out = Screen::new(160, 120, 1).render(&content, &bg, &pose);
        let row: Vec<f32> = (40..120).map(|x| out.px[60 * 160 + x][0]).collect();
        let (lo, hi) = row
            .iter()
            .fold((f32::MAX, f32::MIN), |(a, b), &v| (a.min(v), b.max(v)));
        assert!(
            hi - lo > 30.0,
            "flat content shows the sub-pixel grid: {lo}..{hi}"
        );
        // bezel at the active area's edge, room outside
        assert!(out.px[60 * 160 + 4][0] < 40.0);
    }
}
