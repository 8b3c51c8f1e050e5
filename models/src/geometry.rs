//! Planar-motion geometry, shared by the liveness engine's motion layer and the test-clip tool:
//! a flat photo moves as a plane, so the 2-D positions
//! of its landmarks in two views are related by a homography; a real head turning shows parallax
//! (the nose moves against the cheeks) that no homography explains. We fit one by least squares
//! (normalised DLT, Hartley & Zisserman §4.4) and report the RMS transfer residual divided by the
//! inter-eye distance: ~0.07–0.11 for real heads with ≥10° of yaw between the views, ≤0.04–0.06
//! for prints (see "Motion analysis" in `docs/architecture.md`).

use crate::face::Landmarks;
/// The rigid points live with the rest of the mesh geometry; named here too for the engine,
/// which reaches them through this module.
pub use crate::face::RIGID_POINTS;

/// Landmark planar residual (÷ inter-eye distance) below which motion is that of a plane: the
/// midpoint of the gap between the documented ceiling for prints (0.06) and floor for heads
/// (0.07).
pub const PLANAR_MAX: f64 = 0.065;
/// Landmark planar residual at or above which the parallax is fully that of a head (the
/// documented floor for real heads, plus the width of the gap, so that a borderline head is
/// not taken for a certain one).
pub const HEAD_MIN: f64 = 0.08;

/// The planar test on two views of a face: the residual of the homography fitted to their
/// [`RIGID_POINTS`], divided by their mean inter-eye distance; `None` when no fit exists.
pub fn landmark_residual(a: &Landmarks, b: &Landmarks) -> Option<f64> {
    let scale = ((a.inter_eye() + b.inter_eye()) / 2.0) as f64;
    planar_residual(&a.xy(&RIGID_POINTS), &b.xy(&RIGID_POINTS), scale)
}

/// A 3×3 matrix (row-major), here a homography.
pub type Mat3 = [[f64; 3]; 3];

/// Similarity transform that moves the points' centroid to the origin and their mean distance
/// from it to √2.
fn normaliser(pts: &[[f64; 2]]) -> Option<Mat3> {
    let n = pts.len() as f64;
    let (cx, cy) = pts
        .iter()
        .fold((0.0, 0.0), |(x, y), p| (x + p[0] / n, y + p[1] / n));
    let mean_d = pts
        .iter()
        .map(|p| ((p[0] - cx).powi(2) + (p[1] - cy).powi(2)).sqrt())
        .sum::<f64>()
        / n;
    if mean_d < 1e-9 {
        return None;
    }
    let s = std::f64::consts::SQRT_2 / mean_d;
    Some([[s, 0.0, -s * cx], [0.0, s, -s * cy], [0.0, 0.0, 1.0]])
}

/// Applies a homography to a point; `None` at the line at infinity.
pub fn apply_homography(h: &Mat3, p: [f64; 2]) -> Option<[f64; 2]> {
    let w = h[2][0] * p[0] + h[2][1] * p[1] + h[2][2];
    if w.abs() < 1e-12 {
        return None;
    }
    Some([
        (h[0][0] * p[0] + h[0][1] * p[1] + h[0][2]) / w,
        (h[1][0] * p[0] + h[1][1] * p[1] + h[1][2]) / w,
    ])
}

/// Product of two 3×3 matrices.
pub fn mul(a: &Mat3, b: &Mat3) -> Mat3 {
    let mut m = [[0.0; 3]; 3];
    for i in 0..3 {
        for j in 0..3 {
            m[i][j] = (0..3).map(|k| a[i][k] * b[k][j]).sum();
        }
    }
    m
}

/// Inverse of a 3×3 matrix by its adjugate; `None` when singular.
pub fn invert(m: &Mat3) -> Option<Mat3> {
    let c =
        |r0: usize, r1: usize, c0: usize, c1: usize| m[r0][c0] * m[r1][c1] - m[r0][c1] * m[r1][c0];
    let adj = [
        [c(1, 2, 1, 2), -c(0, 2, 1, 2), c(0, 1, 1, 2)],
        [-c(1, 2, 0, 2), c(0, 2, 0, 2), -c(0, 1, 0, 2)],
        [c(1, 2, 0, 1), -c(0, 2, 0, 1), c(0, 1, 0, 1)],
    ];
    let det = m[0][0] * adj[0][0] + m[0][1] * adj[1][0] + m[0][2] * adj[2][0];
    (det.abs() > 1e-12).then(|| adj.map(|r| r.map(|v| v / det)))
}

fn invert_similarity(t: &Mat3) -> Mat3 {
    let s = t[0][0];
    [
        [1.0 / s, 0.0, -t[0][2] / s],
        [0.0, 1.0 / s, -t[1][2] / s],
        [0.0, 0.0, 1.0],
    ]
}

/// Solves `a x = b` (n×n) by Gaussian elimination with partial pivoting.
fn solve(mut a: Vec<Vec<f64>>, mut b: Vec<f64>) -> Option<Vec<f64>> {
    let n = b.len();
    for col in 0..n {
        let pivot = (col..n).max_by(|&i, &j| a[i][col].abs().total_cmp(&a[j][col].abs()))?;
        if a[pivot][col].abs() < 1e-12 {
            return None;
        }
        a.swap(col, pivot);
        b.swap(col, pivot);
        for row in col + 1..n {
            let f = a[row][col] / a[col][col];
            let (top, rest) = a.split_at_mut(row);
            for (x, p) in rest[0][col..n].iter_mut().zip(&top[col][col..n]) {
                *x -= f * p;
            }
            b[row] -= f * b[col];
        }
    }
    let mut x = vec![0.0; n];
    for row in (0..n).rev() {
        let s: f64 = (row + 1..n).map(|k| a[row][k] * x[k]).sum();
        x[row] = (b[row] - s) / a[row][row];
    }
    Some(x)
}

/// Least-squares homography mapping `src[i]` to `dst[i]` (h33 = 1), from at least 4 points.
pub fn fit_homography(src: &[[f64; 2]], dst: &[[f64; 2]]) -> Option<Mat3> {
    if src.len() != dst.len() || src.len() < 4 {
        return None;
    }
    let (ts, td) = (normaliser(src)?, normaliser(dst)?);
    let s: Vec<[f64; 2]> = src
        .iter()
        .filter_map(|p| apply_homography(&ts, *p))
        .collect();
    let d: Vec<[f64; 2]> = dst
        .iter()
        .filter_map(|p| apply_homography(&td, *p))
        .collect();
    // Normal equations of the 2n×8 linear system.
    let mut ata = vec![vec![0.0; 8]; 8];
    let mut atb = vec![0.0; 8];
    for (p, q) in s.iter().zip(&d) {
        let (x, y, u, v) = (p[0], p[1], q[0], q[1]);
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
    let h = solve(ata, atb)?;
    let hn = [[h[0], h[1], h[2]], [h[3], h[4], h[5]], [h[6], h[7], 1.0]];
    let mut h = mul(&mul(&invert_similarity(&td), &hn), &ts);
    let scale = h[2][2];
    if scale.abs() < 1e-12 {
        return None;
    }
    for row in h.iter_mut() {
        for v in row.iter_mut() {
            *v /= scale;
        }
    }
    Some(h)
}

/// RMS distance between `h(src)` and `dst`, divided by `scale` (the inter-eye distance).
pub fn planar_residual(src: &[[f64; 2]], dst: &[[f64; 2]], scale: f64) -> Option<f64> {
    let h = fit_homography(src, dst)?;
    let mut sum = 0.0;
    for (p, q) in src.iter().zip(dst) {
        let m = apply_homography(&h, *p)?;
        sum += (m[0] - q[0]).powi(2) + (m[1] - q[1]).powi(2);
    }
    (scale > 0.0).then(|| (sum / src.len() as f64).sqrt() / scale)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grid() -> Vec<[f64; 3]> {
        // A face-sized point cloud with depth: nose forward, cheeks back.
        let mut pts = Vec::new();
        for i in 0..6 {
            for j in 0..6 {
                let (x, y) = (i as f64 * 20.0 - 50.0, j as f64 * 24.0 - 60.0);
                let z = -0.012 * (x * x + y * y * 0.5); // a dome, like a face
                pts.push([x, y, z]);
            }
        }
        pts
    }

    fn project(pts: &[[f64; 3]], yaw_deg: f64, flat: bool) -> Vec<[f64; 2]> {
        let (s, c) = yaw_deg.to_radians().sin_cos();
        pts.iter()
            .map(|p| {
                let z = if flat { 0.0 } else { p[2] };
                let (x, z) = (c * p[0] + s * z, -s * p[0] + c * z + 600.0);
                let f = 600.0;
                [320.0 + f * x / z, 240.0 + f * p[1] / z]
            })
            .collect()
    }

    #[test]
    fn a_plane_fits_and_a_dome_does_not() {
        let pts = grid();
        let eye = 60.0;
        let flat = planar_residual(&project(&pts, 0.0, true), &project(&pts, 20.0, true), eye);
        let dome = planar_residual(&project(&pts, 0.0, false), &project(&pts, 20.0, false), eye);
        let (flat, dome) = (flat.unwrap(), dome.unwrap());
        assert!(flat < 1e-6, "a plane is exactly a homography: {flat}");
        assert!(dome > 0.03, "depth leaves a residual: {dome}");
    }

    #[test]
    fn the_inverse_undoes_a_homography() {
        let h: Mat3 = [
            [1.1, 0.05, 12.0],
            [-0.03, 0.95, -7.0],
            [0.0004, -0.0002, 1.0],
        ];
        let p = [123.0, 87.0];
        let q = apply_homography(&invert(&h).unwrap(), apply_homography(&h, p).unwrap()).unwrap();
        assert!((q[0] - p[0]).abs() < 1e-9 && (q[1] - p[1]).abs() < 1e-9);
        assert!(invert(&[[0.0; 3]; 3]).is_none());
    }

    #[test]
    fn recovers_a_known_homography() {
        let h: Mat3 = [
            [1.1, 0.05, 12.0],
            [-0.03, 0.95, -7.0],
            [0.0004, -0.0002, 1.0],
        ];
        let src: Vec<[f64; 2]> = grid()
            .iter()
            .map(|p| [p[0] + 300.0, p[1] + 200.0])
            .collect();
        let dst: Vec<[f64; 2]> = src
            .iter()
            .map(|p| apply_homography(&h, *p).unwrap())
            .collect();
        let fit = fit_homography(&src, &dst).unwrap();
        for i in 0..3 {
            for j in 0..3 {
                assert!((fit[i][j] - h[i][j]).abs() < 1e-6, "{fit:?}");
            }
        }
    }
}
