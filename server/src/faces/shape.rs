//! From a [`Face`] as the models measure it to what the API reports: its box in whole pixels,
//! named landmarks, and the pose and yes/no attributes with their confidences.
use app::api::{BoolAttribute, FaceAttributes, FaceBoundingBox, FaceLandmark, FacePose};
use image::RgbImage;
use models::{
    face::{
        CHIN, FOREHEAD, LEFT_EYE, LIP_LOWER_INNER, LIP_UPPER_INNER, MOUTH_LEFT, MOUTH_RIGHT,
        NOSE_TIP, RIGHT_EYE,
    },
    Face,
};

use super::Attributes;

/// The face's box in whole pixels, clamped to the image.
pub fn bounding_box(face: &Face, img: &RgbImage) -> FaceBoundingBox {
    let (w, h) = (img.width() as f32, img.height() as f32);
    let b = face.bbox;
    let (x0, y0) = (b.x.clamp(0.0, w).round(), b.y.clamp(0.0, h).round());
    let (x1, y1) = (
        (b.x + b.w).clamp(0.0, w).round(),
        (b.y + b.h).clamp(0.0, h).round(),
    );
    FaceBoundingBox {
        left: x0 as u32,
        top: y0 as u32,
        width: (x1 - x0).max(0.0) as u32,
        height: (y1 - y0).max(0.0) as u32,
    }
}

/// Named points as means of face-mesh points (subject's left/right): each eye is the mean of its
/// two corners and the outer upper and lower lid points.
const LANDMARKS: &[(&str, &[usize])] = &[
    (
        "left_eye",
        &[LEFT_EYE[0], LEFT_EYE[3], LEFT_EYE[1], LEFT_EYE[5]],
    ),
    (
        "right_eye",
        &[RIGHT_EYE[0], RIGHT_EYE[3], RIGHT_EYE[1], RIGHT_EYE[5]],
    ),
    ("nose_tip", &[NOSE_TIP]),
    ("mouth_left", &[MOUTH_LEFT]),
    ("mouth_right", &[MOUTH_RIGHT]),
    ("upper_lip", &[LIP_UPPER_INNER]),
    ("lower_lip", &[LIP_LOWER_INNER]),
    ("chin", &[CHIN]),
    ("forehead", &[FOREHEAD]),
];

/// The named landmarks of a face.
pub fn landmarks(face: &Face) -> Vec<FaceLandmark> {
    LANDMARKS
        .iter()
        .map(|(kind, idx)| {
            let n = idx.len() as f32;
            let mean = |k: usize| idx.iter().map(|&i| face.landmarks[i][k]).sum::<f32>() / n;
            FaceLandmark {
                kind: (*kind).to_owned(),
                x: round1(mean(0)),
                y: round1(mean(1)),
            }
        })
        .collect()
}

/// Eye aspect ratio where "open" and "closed" are equally likely: open eyes measure ~0.25–0.35,
/// closed ones below ~0.15 (Soukupová & Čech).
const EAR_CUT: f32 = 0.2;
const EAR_SCALE: f32 = 0.025;
/// Inner-lip gap over mouth width where "closed" and "open" are equally likely: closed lips
/// measure ~0–0.05 (a smile with parted lips up to ~0.1), an open mouth above ~0.2.
const MOUTH_CUT: f32 = 0.12;
const MOUTH_SCALE: f32 = 0.03;

/// A yes/no answer from a measure on a logistic around its cut-off; the confidence is that of
/// the answer given (0.5 at the cut-off, towards 1 away from it).
fn yes_no(measure: f32, cut: f32, scale: f32) -> BoolAttribute {
    let p = 1.0 / (1.0 + (-(measure - cut) / scale).exp());
    BoolAttribute {
        value: Some(p >= 0.5),
        confidence: round4(p.max(1.0 - p)),
    }
}

/// Pose, image quality and the yes/no attributes of a face (`eyeglasses` only at `all`).
pub fn attributes(face: &Face, level: Attributes) -> FaceAttributes {
    let ear = face.eye_aspect_ratio.mean();
    FaceAttributes {
        pose: FacePose {
            roll: round1(face.pose.roll),
            yaw: round1(face.pose.yaw),
            pitch: round1(face.pose.pitch),
        },
        brightness: round4(face.brightness),
        sharpness: round1(face.sharpness),
        eyes_open: yes_no(ear, EAR_CUT, EAR_SCALE),
        // Closed when the gap is *below* the cut: flip the measure's sign.
        mouth_closed: yes_no(-face.mouth_open_ratio, -MOUTH_CUT, MOUTH_SCALE),
        // No model measures eyeglasses yet; say so rather than guess.
        eyeglasses: (level == Attributes::All).then_some(BoolAttribute {
            value: None,
            confidence: 0.0,
        }),
    }
}

fn round1(v: f32) -> f32 {
    (v * 10.0).round() / 10.0
}

pub(super) fn round4(v: f32) -> f32 {
    (v * 10_000.0).round() / 10_000.0
}
