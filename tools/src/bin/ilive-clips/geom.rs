//! Plane geometry for the clips: a Delaunay triangulation of the control points (the warp's
//! mesh), 3×3 homographies (the print and screen planes), and the least-squares homography fit
//! that measures how planar the landmark motion between two frames is (`docs/architecture.md`,
//! "The verification layers", 2: a flat photo moves as a plane, a head does not).

/// 3×3 matrices (row-major, acting on `[x, y, 1]`), their product and inverse: the engine's own.
pub use models::geometry::{invert as inv3, mul as mul3, Mat3};

/// `m · [x, y, 1]`, dehomogenised.
pub fn apply_h(m: &Mat3, p: [f64; 2]) -> [f64; 2] {
    let x = m[0][0] * p[0] + m[0][1] * p[1] + m[0][2];
    let y = m[1][0] * p[0] + m[1][1] * p[1] + m[1][2];
    let w = m[2][0] * p[0] + m[2][1] * p[1] + m[2][2];
    let w = if w.abs() < 1e-12 { 1e-12 } else { w };
    [x / w, y / w]
}

/// Rotation matrix for yaw (about the image's vertical axis), pitch (about the horizontal axis)
/// and roll (in the image plane), in radians, with [`models::HeadPose`]'s conventions in image
/// coordinates (x right, y down, z away from the camera): positive yaw sends the forward vector
/// `(0, 0, −1)` toward `+x`, positive pitch toward `−y` (looking up), positive roll turns
/// clockwise on screen. Applied as `R · p` (yaw first, then pitch, then roll).
pub fn rotation(yaw: f64, pitch: f64, roll: f64) -> Mat3 {
    let (sy, cy) = yaw.sin_cos();
    let (sp, cp) = pitch.sin_cos();
    let (sr, cr) = roll.sin_cos();
    let ry = [[cy, 0.0, -sy], [0.0, 1.0, 0.0], [sy, 0.0, cy]];
    let rp = [[1.0, 0.0, 0.0], [0.0, cp, sp], [0.0, -sp, cp]];
    let rr = [[cr, -sr, 0.0], [sr, cr, 0.0], [0.0, 0.0, 1.0]];
    mul3(&rr, &mul3(&rp, &ry))
}

pub fn rotate(m: &Mat3, p: [f64; 3]) -> [f64; 3] {
    [
        m[0][0] * p[0] + m[0][1] * p[1] + m[0][2] * p[2],
        m[1][0] * p[0] + m[1][1] * p[1] + m[1][2] * p[2],
        m[2][0] * p[0] + m[2][1] * p[1] + m[2][2] * p[2],
    ]
}

/// Delaunay triangulation (Bowyer–Watson) of 2-D points; returns index triples in no particular
/// orientation. Duplicate points are tolerated (the later one is left out). O(n²), fine for the
/// few hundred control points of a face.
pub fn delaunay(pts: &[[f32; 2]]) -> Vec<[usize; 3]> {
    let n = pts.len();
    if n < 3 {
        return Vec::new();
    }
    let p: Vec<[f64; 2]> = pts.iter().map(|q| [q[0] as f64, q[1] as f64]).collect();
    let (mut x0, mut y0, mut x1, mut y1) = (f64::MAX, f64::MAX, f64::MIN, f64::MIN);
    for q in &p {
        x0 = x0.min(q[0]);
        y0 = y0.min(q[1]);
        x1 = x1.max(q[0]);
        y1 = y1.max(q[1]);
    }
    let d = (x1 - x0).max(y1 - y0).max(1.0) * 20.0;
    let (mx, my) = ((x0 + x1) / 2.0, (y0 + y1) / 2.0);
    // The super-triangle's vertices are n, n+1, n+2.
    let mut all = p.clone();
    all.push([mx - d, my - d]);
    all.push([mx + d, my - d]);
    all.push([mx, my + d]);

    struct T {
        v: [usize; 3],
        cx: f64,
        cy: f64,
        r2: f64,
    }
    let circ = |v: [usize; 3], all: &[[f64; 2]]| -> T {
        let [a, b, c] = [all[v[0]], all[v[1]], all[v[2]]];
        let dd = 2.0 * (a[0] * (b[1] - c[1]) + b[0] * (c[1] - a[1]) + c[0] * (a[1] - b[1]));
        if dd.abs() < 1e-12 {
            return T {
                v,
                cx: 0.0,
                cy: 0.0,
                r2: f64::INFINITY,
            };
        }
        let a2 = a[0] * a[0] + a[1] * a[1];
        let b2 = b[0] * b[0] + b[1] * b[1];
        let c2 = c[0] * c[0] + c[1] * c[1];
        let cx = (a2 * (b[1] - c[1]) + b2 * (c[1] - a[1]) + c2 * (a[1] - b[1])) / dd;
        let cy = (a2 * (c[0] - b[0]) + b2 * (a[0] - c[0]) + c2 * (b[0] - a[0])) / dd;
        T {
            v,
            cx,
            cy,
            r2: (a[0] - cx).powi(2) + (a[1] - cy).powi(2),
        }
    };
    let mut tris = vec![circ([n, n + 1, n + 2], &all)];
    let mut seen: Vec<[f64; 2]> = Vec::with_capacity(n);
    for (i, q) in p.iter().enumerate() {
        if seen
            .iter()
            .any(|s| (s[0] - q[0]).abs() < 1e-6 && (s[1] - q[1]).abs() < 1e-6)
        {
            continue;
        }
        seen.push(*q);
        let (bad, keep): (Vec<T>, Vec<T>) = tris
            .into_iter()
            .partition(|t| (q[0] - t.cx).powi(2) + (q[1] - t.cy).powi(2) < t.r2 * (1.0 + 1e-12));
        tris = keep;
        // The boundary of the cavity: edges of bad triangles not shared by two of them.
        let mut edges: Vec<[usize; 2]> = Vec::new();
        for t in &bad {
            for e in [[t.v[0], t.v[1]], [t.v[1], t.v[2]], [t.v[2], t.v[0]]] {
                if let Some(k) = edges
                    .iter()
                    .position(|f| (f[0] == e[1] && f[1] == e[0]) || (f[0] == e[0] && f[1] == e[1]))
                {
                    edges.swap_remove(k);
                } else {
                    edges.push(e);
                }
            }
        }
        for e in edges {
            tris.push(circ([e[0], e[1], i], &all));
        }
    }
    tris.into_iter()
        .filter(|t| t.v.iter().all(|&v| v < n))
        .map(|t| t.v)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn area2(p: &[[f32; 2]], t: [usize; 3]) -> f64 {
        let [a, b, c] = [p[t[0]], p[t[1]], p[t[2]]];
        ((b[0] - a[0]) as f64 * (c[1] - a[1]) as f64 - (b[1] - a[1]) as f64 * (c[0] - a[0]) as f64)
            .abs()
    }

    #[test]
    fn delaunay_covers_the_convex_hull_of_a_grid() {
        let mut pts = Vec::new();
        for y in 0..5 {
            for x in 0..6 {
                // a slight shear so that no four points are co-circular
                pts.push([
                    x as f32 * 10.0 + y as f32 * 0.37,
                    y as f32 * 10.0 + x as f32 * 0.11,
                ]);
            }
        }
        let tris = delaunay(&pts);
        assert_eq!(tris.len(), 2 * 5 * 4);
        let total: f64 = tris.iter().map(|&t| area2(&pts, t) / 2.0).sum();
        // The grid is the image of a 5×4 integer lattice under [[10, 0.37], [0.11, 10]].
        let hull = 20.0 * (100.0 - 0.37 * 0.11);
        assert!((total - hull).abs() < 1e-3, "{total} vs {hull}");
    }

    #[test]
    fn delaunay_triangles_have_empty_circumcircles() {
        let mut r = crate::rng::Rng::new(5);
        let pts: Vec<[f32; 2]> = (0..200)
            .map(|_| [r.range(0.0, 100.0), r.range(0.0, 80.0)])
            .collect();
        let tris = delaunay(&pts);
        assert!(tris.len() > 300);
        for t in &tris {
            let [a, b, c] = [pts[t[0]], pts[t[1]], pts[t[2]]].map(|q| [q[0] as f64, q[1] as f64]);
            let d = 2.0 * (a[0] * (b[1] - c[1]) + b[0] * (c[1] - a[1]) + c[0] * (a[1] - b[1]));
            let s = |q: [f64; 2]| q[0] * q[0] + q[1] * q[1];
            let cx = (s(a) * (b[1] - c[1]) + s(b) * (c[1] - a[1]) + s(c) * (a[1] - b[1])) / d;
            let cy = (s(a) * (c[0] - b[0]) + s(b) * (a[0] - c[0]) + s(c) * (b[0] - a[0])) / d;
            let r2 = (a[0] - cx).powi(2) + (a[1] - cy).powi(2);
            for (i, q) in pts.iter().enumerate() {
                if t.contains(&i) {
                    continue;
                }
                let d2 = (q[0] as f64 - cx).powi(2) + (q[1] as f64 - cy).powi(2);
                assert!(
                    d2 >= r2 * (1.0 - 1e-9),
                    "point {i} inside the circumcircle of {t:?}"
                );
            }
        }
    }

    #[test]
    fn rotation_signs_follow_head_pose() {
        let fwd = [0.0, 0.0, -1.0];
        let f = rotate(&rotation(0.3, 0.0, 0.0), fwd);
        assert!(f[0] > 0.2, "yaw > 0 sends the forward vector to +x: {f:?}");
        let f = rotate(&rotation(0.0, 0.3, 0.0), fwd);
        assert!(f[1] < -0.2, "pitch > 0 looks up (−y): {f:?}");
        let right = rotate(&rotation(0.0, 0.0, 0.3), [1.0, 0.0, 0.0]);
        assert!(
            right[1] > 0.2,
            "roll > 0 turns clockwise on screen: {right:?}"
        );
    }
}
