//! Plane geometry for the clips: a Delaunay triangulation of the control points (the warp's
//! mesh), 3×3 homographies (the print and screen planes), and the least-squares homography fit
//! that measures how planar the landmark motion between two frames is (DESIGN.md, "The
//! verification layers", 2: a flat photo moves as a plane, a head does not).

/// A 3×3 matrix, row-major, acting on homogeneous column vectors `[x, y, 1]`.
pub type Mat3 = [[f64; 3]; 3];

/// `m · [x, y, 1]`, dehomogenised.
pub fn apply_h(m: &Mat3, p: [f64; 2]) -> [f64; 2] {
    let x = m[0][0] * p[0] + m[0][1] * p[1] + m[0][2];
    let y = m[1][0] * p[0] + m[1][1] * p[1] + m[1][2];
    let w = m[2][0] * p[0] + m[2][1] * p[1] + m[2][2];
    let w = if w.abs() < 1e-12 { 1e-12 } else { w };
    [x / w, y / w]
}

pub fn mul3(a: &Mat3, b: &Mat3) -> Mat3 {
    let mut c = [[0.0; 3]; 3];
    for (i, row) in c.iter_mut().enumerate() {
        for (j, v) in row.iter_mut().enumerate() {
            *v = (0..3).map(|k| a[i][k] * b[k][j]).sum();
        }
    }
    c
}

/// Inverse by the adjugate; `None` when singular.
pub fn inv3(m: &Mat3) -> Option<Mat3> {
    let c =
        |r0: usize, r1: usize, c0: usize, c1: usize| m[r0][c0] * m[r1][c1] - m[r0][c1] * m[r1][c0];
    let adj = [
        [c(1, 2, 1, 2), -c(0, 2, 1, 2), c(0, 1, 1, 2)],
        [-c(1, 2, 0, 2), c(0, 2, 0, 2), -c(0, 1, 0, 2)],
        [c(1, 2, 0, 1), -c(0, 2, 0, 1), c(0, 1, 0, 1)],
    ];
    let det = m[0][0] * adj[0][0] + m[0][1] * adj[1][0] + m[0][2] * adj[2][0];
    if det.abs() < 1e-15 {
        return None;
    }
    let mut out = adj;
    for row in out.iter_mut() {
        for v in row.iter_mut() {
            *v /= det;
        }
    }
    Some(out)
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

/// Least-squares homography mapping `a[k]` → `b[k]` (at least four pairs), Hartley-normalised,
/// with `h33 = 1`; `None` when the system is degenerate.
pub fn fit_homography(a: &[[f64; 2]], b: &[[f64; 2]]) -> Option<Mat3> {
    if a.len() < 4 || a.len() != b.len() {
        return None;
    }
    let norm = |p: &[[f64; 2]]| -> Mat3 {
        let n = p.len() as f64;
        let mx = p.iter().map(|q| q[0]).sum::<f64>() / n;
        let my = p.iter().map(|q| q[1]).sum::<f64>() / n;
        let d = p
            .iter()
            .map(|q| ((q[0] - mx).powi(2) + (q[1] - my).powi(2)).sqrt())
            .sum::<f64>()
            / n;
        let s = if d > 1e-12 {
            std::f64::consts::SQRT_2 / d
        } else {
            1.0
        };
        [[s, 0.0, -s * mx], [0.0, s, -s * my], [0.0, 0.0, 1.0]]
    };
    let (ta, tb) = (norm(a), norm(b));
    // Normal equations of the 8-unknown linear system.
    let mut ata = [[0.0f64; 8]; 8];
    let mut atb = [0.0f64; 8];
    for (pa, pb) in a.iter().zip(b) {
        let [x, y] = apply_h(&ta, *pa);
        let [u, v] = apply_h(&tb, *pb);
        let rows = [
            ([x, y, 1.0, 0.0, 0.0, 0.0, -u * x, -u * y], u),
            ([0.0, 0.0, 0.0, x, y, 1.0, -v * x, -v * y], v),
        ];
        for (r, rhs) in rows {
            for i in 0..8 {
                atb[i] += r[i] * rhs;
                for j in 0..8 {
                    ata[i][j] += r[i] * r[j];
                }
            }
        }
    }
    let h = solve8(ata, atb)?;
    let hn = [[h[0], h[1], h[2]], [h[3], h[4], h[5]], [h[6], h[7], 1.0]];
    Some(mul3(&inv3(&tb)?, &mul3(&hn, &ta)))
}

/// Gaussian elimination with partial pivoting.
fn solve8(mut m: [[f64; 8]; 8], mut r: [f64; 8]) -> Option<[f64; 8]> {
    for c in 0..8 {
        let p = (c..8).max_by(|&i, &j| m[i][c].abs().total_cmp(&m[j][c].abs()))?;
        if m[p][c].abs() < 1e-12 {
            return None;
        }
        m.swap(c, p);
        r.swap(c, p);
        for i in c + 1..8 {
            let f = m[i][c] / m[c][c];
            let pivot_row = m[c];
            for (v, p) in m[i].iter_mut().zip(pivot_row).skip(c) {
                *v -= f * p;
            }
            r[i] -= f * r[c];
        }
    }
    let mut x = [0.0; 8];
    for c in (0..8).rev() {
        let s: f64 = (c + 1..8).map(|j| m[c][j] * x[j]).sum();
        x[c] = (r[c] - s) / m[c][c];
    }
    Some(x)
}

/// Root-mean-square distance between `h(a[k])` and `b[k]`.
pub fn reprojection_rms(h: &Mat3, a: &[[f64; 2]], b: &[[f64; 2]]) -> f64 {
    let n = a.len().max(1) as f64;
    (a.iter()
        .zip(b)
        .map(|(pa, pb)| {
            let q = apply_h(h, *pa);
            (q[0] - pb[0]).powi(2) + (q[1] - pb[1]).powi(2)
        })
        .sum::<f64>()
        / n)
        .sqrt()
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
    fn homography_fit_recovers_a_perspective_map() {
        let h: Mat3 = [[1.1, 0.05, 3.0], [-0.02, 0.95, -7.0], [2e-4, -1e-4, 1.0]];
        let a: Vec<[f64; 2]> = (0..20)
            .map(|i| {
                [
                    (i % 5) as f64 * 40.0 + (i as f64).sin(),
                    (i / 5) as f64 * 30.0,
                ]
            })
            .collect();
        let b: Vec<[f64; 2]> = a.iter().map(|p| apply_h(&h, *p)).collect();
        let fit = fit_homography(&a, &b).unwrap();
        assert!(reprojection_rms(&fit, &a, &b) < 1e-6);
        let back = inv3(&fit).unwrap();
        let p = apply_h(&back, b[7]);
        assert!((p[0] - a[7][0]).abs() < 1e-6 && (p[1] - a[7][1]).abs() < 1e-6);
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
