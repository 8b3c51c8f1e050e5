//! From a [`Face`] as the models measure it to what the API reports: its box in whole pixels,
//! named landmarks, and the pose and yes/no attributes with their confidences.
use app::api::{BoolAttribute, FaceAttributes, FaceBoundingBox, FaceLandmark, FacePose};
use image::RgbImage;
use models::Face;

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

/// Named points as means of MediaPipe face-mesh indices (subject's left/right).
const LANDMARKS: &[(&str, &[usize])] = &[
    ("left_eye", &[263, 362, 387, 373]),
    ("right_eye", &[33, 133, 160, 144]),
    ("nose_tip", &[1]),
    ("mouth_left", &[291]),
    ("mouth_right", &[61]),
    ("upper_lip", &[13]),
    ("lower_lip", &[14]),
    ("chin", &[152]),
    ("forehead", &[10]),
];

/// The named landmarks of a face whose mesh has the points they need.
pub fn landmarks(face: &Face) -> Vec<FaceLandmark> {
    LANDMARKS
        .iter()
        .filter_map(|(kind, idx)| {
            let pts: Vec<&[f32; 3]> = idx.iter().filter_map(|&i| face.landmarks.get(i)).collect();
            if pts.len() != idx.len() {
                return None;
            }
            let n = pts.len() as f32;
            Some(FaceLandmark {
                kind: (*kind).to_owned(),
                x: round1(pts.iter().map(|p| p[0]).sum::<f32>() / n),
                y: round1(pts.iter().map(|p| p[1]).sum::<f32>() / n),
            })
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
    let ear = (face.eye_aspect_ratio.left + face.eye_aspect_ratio.right) / 2.0;
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
