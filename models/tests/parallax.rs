//! The image parallax test on real photos: a photo tilted in front of the camera moves as one
//! plane, and a head (the landmark network's own 3-D points of a real face) leaves a residual in
//! proportion to its rotation. These are the figures of the engine's reliability model
//! (`server/src/engine/layers/parallax.rs`, `docs/architecture.md` "Reliability").
mod common;

use common::{models, photo};
use image::RgbImage;
use models::{
    geometry::{apply_homography, invert, mul, planar_residual, Mat3},
    parallax::{image_planar_residual, pose_gap, rotation_deg, Keyframe, TEXTURE_POINTS},
    AnalyzeOptions, Face, FaceModels,
};

fn face(m: &FaceModels, img: &RgbImage) -> Face {
    let mut faces = m.analyze(img, &AnalyzeOptions::default()).unwrap();
    assert_eq!(faces.len(), 1);
    faces.remove(0)
}

/// The homography of a plane at depth `z` facing the camera, turned by `deg` about the vertical
/// axis through the image centre, for a pinhole camera of focal length `f`.
fn tilt(deg: f64, f: f64, z: f64, cx: f64, cy: f64) -> Mat3 {
    let (s, c) = deg.to_radians().sin_cos();
    // Image point (u, v) on the plane at depth z → 3-D (x, y, 0) in the plane → rotated →
    // projected. Composed as one 3×3 matrix acting on (u − cx, v − cy, 1).
    let k = z / f;
    let m = [[f * c * k, 0.0, 0.0], [0.0, f * k, 0.0], [-s * k, 0.0, z]];
    // Re-centre on the image centre.
    let t = [[1.0, 0.0, -cx], [0.0, 1.0, -cy], [0.0, 0.0, 1.0]];
    let back = [[1.0, 0.0, cx], [0.0, 1.0, cy], [0.0, 0.0, 1.0]];
    mul(&back, &mul(&m, &t))
}

/// Renders `img` seen through the homography `h` (inverse mapping, bilinear).
fn warp(img: &RgbImage, h: &Mat3) -> RgbImage {
    let inv = invert(h).expect("an invertible homography");
    RgbImage::from_fn(img.width(), img.height(), |x, y| {
        let Some(p) = apply_homography(&inv, [x as f64, y as f64]) else {
            return image::Rgb([230, 225, 215]);
        };
        let (px, py) = (p[0], p[1]);
        if px < 0.0 || py < 0.0 || px >= (img.width() - 1) as f64 || py >= (img.height() - 1) as f64
        {
            return image::Rgb([230, 225, 215]);
        }
        let (x0, y0) = (px.floor() as u32, py.floor() as u32);
        let (fx, fy) = (px - x0 as f64, py - y0 as f64);
        let mut out = [0u8; 3];
        for (ch, o) in out.iter_mut().enumerate() {
            let g = |dx: u32, dy: u32| img.get_pixel(x0 + dx, y0 + dy)[ch] as f64;
            *o = (g(0, 0) * (1.0 - fx) * (1.0 - fy)
                + g(1, 0) * fx * (1.0 - fy)
                + g(0, 1) * (1.0 - fx) * fy
                + g(1, 1) * fx * fy)
                .round() as u8;
        }
        image::Rgb(out)
    })
}

#[test]
fn a_tilted_photo_moves_as_a_plane() {
    let m = models();
    let img = photo("obama.jpg");
    let (w, h) = (img.width() as f64, img.height() as f64);
    let f = w; // ≈ 53° horizontal field of view, a webcam's
    let front = face(&m, &img);
    let a = Keyframe::capture(&img, &front, 0.0).unwrap();
    for deg in [-30.0, -20.0, 20.0, 30.0] {
        let tilted = warp(&img, &tilt(deg, f, f, w / 2.0, h / 2.0));
        let g = face(&m, &tilted);
        let b = Keyframe::capture(&tilted, &g, 1.0).unwrap();
        let gap = pose_gap(&a, &b);
        let r = image_planar_residual(&a, &b).expect("enough texture matched");
        eprintln!(
            "tilt {deg:+}°: pose gap {gap:.2}, landmark rotation {:.1}°, image residual {r:.4}",
            rotation_deg(&a, &b)
        );
        // Texture matching is accurate to a fraction of a pixel: far below the 0.04 cut-off.
        assert!(r < 0.015, "tilt {deg}: a plane measured as {r}");
    }
}

#[test]
fn a_head_turned_leaves_parallax_in_proportion() {
    // The landmark network's 3-D points of a real face (x, y in pixels, z relative depth on the
    // same scale), turned about the vertical axis and projected by a pinhole camera at arm's
    // length: the residual a perfect tracker would measure on a real head.
    let m = models();
    let f0 = face(&m, &photo("obama.jpg"));
    let ied = f0.inter_eye() as f64;
    // Camera 60 cm away for a 63 mm inter-eye distance.
    let dist = ied * 600.0 / 63.0;
    let pts: Vec<[f64; 3]> = TEXTURE_POINTS
        .iter()
        .map(|&i| {
            let p = f0.landmarks[i];
            [p[0] as f64, p[1] as f64, p[2] as f64]
        })
        .collect();
    let (cx, cy, cz) = {
        let n = pts.len() as f64;
        pts.iter().fold((0.0, 0.0, 0.0), |a, p| {
            (a.0 + p[0] / n, a.1 + p[1] / n, a.2 + p[2] / n)
        })
    };
    let view = |deg: f64| -> Vec<[f64; 2]> {
        let (s, c) = deg.to_radians().sin_cos();
        pts.iter()
            .map(|p| {
                let (x, y, z) = (p[0] - cx, p[1] - cy, p[2] - cz);
                let (xr, zr) = (c * x + s * z, -s * x + c * z);
                let depth = dist + zr;
                [dist * xr / depth, dist * y / depth]
            })
            .collect()
    };
    for deg in [5.0, 10.0, 15.0, 20.0, 30.0] {
        let r = planar_residual(&view(0.0), &view(deg), ied).unwrap();
        eprintln!("head turned {deg}°: residual {r:.4}");
    }
    // A head leaves at least the signal the engine's reliability model counts on
    // (`server::engine::layers::parallax::RESIDUAL_PER_DEG`, 0.00246 per degree of turn) …
    for deg in [8.0, 15.0, 25.0] {
        let r = planar_residual(&view(0.0), &view(deg), ied).unwrap();
        assert!(r >= 0.00240 * deg, "a head turned {deg}° measured {r}");
    }
    // … and it grows with the angle, so a wider pair only separates better.
    let r = planar_residual(&view(0.0), &view(20.0), ied).unwrap();
    let wider = planar_residual(&view(0.0), &view(30.0), ied).unwrap();
    assert!(wider > r);
}

/// The landmark network's 3-D points of a real face, centred on the texture points' centroid, and
/// their inter-eye distance: a head model in pixels (x, y) and relative depth on the same scale.
fn head_points(m: &FaceModels) -> (Vec<[f64; 3]>, f64) {
    let f0 = face(m, &photo("obama.jpg"));
    let ied = f0.inter_eye() as f64;
    let all: Vec<[f64; 3]> = (0..models::face::NUM_LANDMARKS)
        .map(|i| {
            let p = f0.landmarks[i];
            [p[0] as f64, p[1] as f64, p[2] as f64]
        })
        .collect();
    let n = TEXTURE_POINTS.len() as f64;
    let c = TEXTURE_POINTS.iter().fold([0.0; 3], |a, &i| {
        [
            a[0] + all[i][0] / n,
            a[1] + all[i][1] / n,
            a[2] + all[i][2] / n,
        ]
    });
    let pts = all
        .iter()
        .map(|p| [p[0] - c[0], p[1] - c[1], p[2] - c[2]])
        .collect();
    (pts, ied)
}

/// Projects head points turned by `yaw` and `pitch` (degrees) with a pinhole camera `dist` away.
fn project(pts: &[[f64; 3]], yaw: f64, pitch: f64, dist: f64) -> Vec<[f64; 2]> {
    let (sy, cy) = yaw.to_radians().sin_cos();
    let (sp, cp) = pitch.to_radians().sin_cos();
    pts.iter()
        .map(|&[x, y, z]| {
            let (x, z) = (cy * x + sy * z, -sy * x + cy * z);
            let (y, z) = (cp * y - sp * z, sp * y + cp * z);
            let depth = dist + z;
            [dist * x / depth, dist * y / depth]
        })
        .collect()
}

#[test]
fn head_rotation_figures_of_the_reliability_model() {
    // The figures the parallax measure's reliability rests on (`docs/architecture.md`,
    // "Reliability"): the residual a perfect tracker measures per degree of yaw and of pitch on
    // the texture points, and how fast a nod changes the face's aspect (inter-eye ÷ eyes-to-nose).
    let m = models();
    let (pts, ied) = head_points(&m);
    let dist = ied * 600.0 / 63.0;
    let sel = |v: &[[f64; 2]]| -> Vec<[f64; 2]> { TEXTURE_POINTS.iter().map(|&i| v[i]).collect() };
    let aspect = |v: &[[f64; 2]]| {
        let mid = [33, 133, 362, 263].iter().fold([0.0, 0.0], |a, &i| {
            [a[0] + v[i][0] / 4.0, a[1] + v[i][1] / 4.0]
        });
        let l = [(v[33][0] + v[133][0]) / 2.0, (v[33][1] + v[133][1]) / 2.0];
        let r = [(v[362][0] + v[263][0]) / 2.0, (v[362][1] + v[263][1]) / 2.0];
        let nose = v[4];
        (l[0] - r[0]).hypot(l[1] - r[1]) / (nose[0] - mid[0]).hypot(nose[1] - mid[1])
    };
    let front = project(&pts, 0.0, 0.0, dist);
    for deg in [5.0, 10.0, 20.0] {
        let yawed = project(&pts, deg, 0.0, dist);
        let nodded = project(&pts, 0.0, deg, dist);
        let ry = planar_residual(&sel(&front), &sel(&yawed), ied).unwrap();
        let rp = planar_residual(&sel(&front), &sel(&nodded), ied).unwrap();
        let skull = |v: &[[f64; 2]]| -> Vec<[f64; 2]> {
            models::face::SKULL_POINTS.iter().map(|&i| v[i]).collect()
        };
        let fy = models::parallax::foreshortening(&skull(&front), &skull(&yawed));
        let fp = models::parallax::foreshortening(&skull(&front), &skull(&nodded));
        eprintln!("{deg}°: foreshortening yaw {fy:.4} pitch {fp:.4}");
        let ay = (aspect(&yawed) / aspect(&front)).ln().abs();
        let ap = (aspect(&nodded) / aspect(&front)).ln().abs();
        eprintln!(
            "{deg}°: residual/deg yaw {:.5} pitch {:.5}; ln aspect change yaw {ay:.4} pitch {ap:.4} (per degree {:.5})",
            ry / deg,
            rp / deg,
            ap / deg
        );
    }
}
