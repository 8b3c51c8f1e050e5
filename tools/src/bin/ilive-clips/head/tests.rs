//! The rig on a synthetic subject: expressions, pose and a rest render that reproduces the photo.

use models::face::{
    Landmarks, LIP_LOWER_INNER, LIP_UPPER_INNER, MOUTH_LEFT, MOUTH_RIGHT, NOSE_TIP, NUM_LANDMARKS,
};

use super::*;
use crate::canvas::Canvas;

/// A plausible synthetic landmark set: an ellipse of points with the named features placed
/// where a frontal face has them (enough for the rig's geometry, not for FaceMesh).
fn synthetic_landmarks(cx: f32, cy: f32, s: f32) -> Landmarks {
    let mut lm = vec![[0f32; 3]; NUM_LANDMARKS];
    // Fill everything with a spread of points inside the face so nothing coincides.
    for (i, p) in lm.iter_mut().enumerate() {
        let t = i as f32 * 2.399;
        let r = (i as f32 / NUM_LANDMARKS as f32).sqrt() * 0.8;
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
    Landmarks::new(lm).expect("a full mesh")
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
    let d =
        |a: usize, b: usize| ((lm[a][0] - lm[b][0]).powi(2) + (lm[a][1] - lm[b][1]).powi(2)).sqrt();
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
    let gap = open[LIP_LOWER_INNER][1] - open[LIP_UPPER_INNER][1];
    assert!(gap / width(&open) > 0.35, "{}", gap / width(&open));
    // the upper lip does not move
    assert_eq!(open[LIP_UPPER_INNER], rest[LIP_UPPER_INNER]);
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

#[test]
fn the_screens_light_falls_off_where_the_face_turns_away() {
    // The synthetic face bulges towards the camera at its centre (depth grows with the square of
    // the distance from it): the gain map is brighter in the middle than near the outline, and
    // the room barely answers.
    let s = subject();
    let rig = Rig::new(&s).unwrap();
    let g = rig.gains(&HeadState::default(), &CameraState::default());
    let mean = |lo: f32, hi: f32, k: usize| {
        let (mut sum, mut n) = (0.0, 0.0);
        for y in 0..120 {
            for x in 0..160 {
                // Normalised radius in the face's ellipse (30 px wide, 37.5 px tall).
                let r = (((x as f32 - 80.0) / 30.0).powi(2) + ((y as f32 - 60.0) / 37.5).powi(2))
                    .sqrt();
                if (lo..hi).contains(&r) {
                    sum += g.at(x, y)[k];
                    n += 1.0;
                }
            }
        }
        sum / n
    };
    let (centre, edge) = (mean(0.0, 0.35, 0), mean(0.7, 0.95, 0));
    assert!(edge < 0.9 * centre, "edge {edge} vs centre {centre}");
    assert!(g.at(2, 2)[0] < 20.0, "the room: {:?}", g.at(2, 2));
    // The specular lobe is narrower than the diffuse one.
    assert!(mean(0.0, 0.35, 1) < centre);
}
