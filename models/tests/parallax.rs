//! The image parallax test on real photos: a photo tilted in front of the camera moves as one
//! plane, and a head (the landmark network's own 3-D points of a real face) turned by the test's
//! least pose gap leaves a residual above the head floor. The engine decides with these two
//! figures (`server::engine::layers::IMAGE_PLANAR_MAX` 0.04, `IMAGE_HEAD_MIN` 0.06).
mod common;

use common::{models, photo};
use image::RgbImage;
use models::{
    geometry::{apply_homography, invert, mul, planar_residual, Mat3},
    parallax::{
        image_planar_residual, pose_gap, Keyframe, MIN_POSE_GAP, PARALLAX_YAW_DEG, TEXTURE_POINTS,
    },
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
        eprintln!("tilt {deg:+}°: pose gap {gap:.2}, image residual {r:.4}");
        // A photo tilted by 30° is far enough from the first view for the test to act on it.
        if f64::abs(deg) >= 30.0 {
            assert!(gap >= MIN_POSE_GAP, "tilt {deg}: pose gap {gap}");
        }
        // Texture matching is accurate to a fraction of a pixel: far below the 0.04 cut-off.
        assert!(r < 0.015, "tilt {deg}: a plane measured as {r}");
    }
}

#[test]
fn a_head_turned_by_the_least_gap_leaves_parallax() {
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
    // At the least pose gap the test acts on, a head is above the head floor (0.06) …
    let least = MIN_POSE_GAP * PARALLAX_YAW_DEG as f64;
    let r = planar_residual(&view(0.0), &view(least), ied).unwrap();
    assert!(r >= 0.06, "a head turned {least}° measured {r}");
    // … and it grows with the angle, so a wider pair only separates better.
    let wider = planar_residual(&view(0.0), &view(least + 10.0), ied).unwrap();
    assert!(wider > r);
}
