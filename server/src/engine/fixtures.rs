//! Synthetic frames for the engine's unit tests.
use models::{EyePair, Face, FaceBox, HeadPose};

use super::Observation;

/// A synthetic face with the given measurements (landmarks are not used by detectors).
pub fn face(yaw: f32, pitch: f32, ear: f32, width: f32, open: f32, smile: f32) -> Face {
    Face {
        bbox: FaceBox {
            x: 220.0,
            y: 120.0,
            w: 200.0,
            h: 240.0,
        },
        score: 0.95,
        mesh_score: 0.99,
        landmarks: Default::default(),
        pose: HeadPose {
            yaw,
            pitch,
            roll: 0.0,
        },
        eye_aspect_ratio: EyePair {
            left: ear,
            right: ear,
        },
        mouth_open_ratio: open,
        mouth_width_ratio: width,
        smile: Some(smile),
        brightness: 0.5,
        sharpness: 200.0,
        anti_spoof: None,
        embedding: None,
    }
}

pub fn obs(t: f64, f: Option<Face>) -> Observation {
    Observation {
        t,
        frame_width: 640,
        frame_height: 480,
        face_count: f.is_some() as usize,
        face: f,
        frame_hash: (t * 1000.0) as u64,
        cues: None,
        keyframe: None,
        page_ms: None,
        light: None,
        image: None,
    }
}
