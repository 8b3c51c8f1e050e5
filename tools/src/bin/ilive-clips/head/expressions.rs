//! The expressions of the live head as displacement fields of the landmarks at full strength
//! (eyes closed, smile, mouth open), and the inside of an open mouth.

use models::face::{
    Landmarks, CHIN, LIP_LOWER_INNER, LIP_UPPER_INNER, MOUTH_LEFT, MOUTH_RIGHT, NUM_LANDMARKS,
};

use super::{
    LEFT_LOWER_LID, LEFT_UPPER_LID, LOWER_INNER_LIP, LOWER_OUTER_LIP, RIGHT_LOWER_LID,
    RIGHT_UPPER_LID, UPPER_INNER_LIP, UPPER_OUTER_LIP,
};
use crate::canvas::{smoothstep, Canvas};

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
pub fn blink_field(lm: &Landmarks) -> Vec<[f32; 2]> {
    let mut out = vec![[0.0; 2]; NUM_LANDMARKS];
    let chin = lm[CHIN];
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
fn mouth_frame(lm: &Landmarks) -> ([f32; 2], [f32; 2], [f32; 2], f32) {
    let (r, l) = (lm[MOUTH_RIGHT], lm[MOUTH_LEFT]);
    let (u, n) = axes(r, l, lm[CHIN]);
    let width = ((l[0] - r[0]).powi(2) + (l[1] - r[1]).powi(2))
        .sqrt()
        .max(1.0);
    ([(r[0] + l[0]) / 2.0, (r[1] + l[1]) / 2.0], u, n, width)
}

/// Displacements of a smile: each mouth corner moves out by 20% and up by 8% of the mouth
/// width, dragging the lips and cheeks within 0.55 mouth widths with it (FaceMesh reads about
/// a third of the corners' travel back as mouth width, so this gives a measured widening of
/// 10–15%).
pub fn smile_field(lm: &Landmarks) -> Vec<[f32; 2]> {
    let (_, u, n, width) = mouth_frame(lm);
    let mut out = vec![[0.0; 2]; NUM_LANDMARKS];
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
pub fn mouth_field(lm: &Landmarks) -> Vec<[f32; 2]> {
    let (m, u, n, width) = mouth_frame(lm);
    let drop = 0.45 * width;
    let ab = |p: [f32; 3]| {
        let d = [p[0] - m[0], p[1] - m[1]];
        (d[0] * u[0] + d[1] * u[1], d[0] * n[0] + d[1] * n[1])
    };
    // The lip seam: from each corner to the middle of the inner lips.
    let seam_mid = ab([
        (lm[LIP_UPPER_INNER][0] + lm[LIP_LOWER_INNER][0]) / 2.0,
        (lm[LIP_UPPER_INNER][1] + lm[LIP_LOWER_INNER][1]) / 2.0,
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
pub fn paint_mouth(out: &mut Canvas, dst: &[[f32; 2]], amount: f32) {
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
