//! Synthetic samples for the layers' unit tests.
use models::Embedding;

use super::sample::{FaceSample, Sample};
use crate::engine::geometry;

/// A frame with one face at `yaw`, its rigid landmarks, and a descriptor whose first value is
/// `emb`.
pub fn sample(t: f64, hash: u64, yaw: f32, rigid: Vec<[f64; 2]>, emb: Option<f32>) -> Sample {
    Sample {
        t,
        hash,
        face_count: 1,
        face: Some(FaceSample {
            yaw,
            pitch: 0.0,
            inter_eye: 60.0,
            rigid,
            anti_spoof: None,
            embedding: emb.map(|v| {
                let mut e = [0.0f32; 128];
                e[0] = v;
                Embedding(e)
            }),
            cues: None,
            placed: true,
        }),
    }
}

/// A grid of rigid landmarks shifted by `dx`, alternate points moved by ±`jitter`.
pub fn rigid_at(dx: f32, jitter: f32) -> Vec<[f64; 2]> {
    (0..geometry::RIGID_POINTS.len())
        .map(|i| {
            let j = if i % 2 == 0 { jitter } else { -jitter };
            [
                (300.0 + (i % 6) as f32 * 10.0 + dx + j) as f64,
                (200.0 + (i / 6) as f32 * 10.0 - j) as f64,
            ]
        })
        .collect()
}

/// White jitter in [-a, a] from a fixed linear congruential sequence.
fn jitter(seed: &mut u32, a: f32) -> f32 {
    *seed = seed.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
    ((*seed >> 8) as f32 / (1u32 << 24) as f32 * 2.0 - 1.0) * a
}

/// 3 s at 15 fps of one face: a breathing-rate sway (0.3 Hz) of `sway_px` plus the detector's
/// white jitter of ±0.5 px.
pub fn track(sway_px: f32) -> Vec<Sample> {
    let mut seed = 99;
    (0..45)
        .map(|i| {
            let t = i as f64 / 15.0;
            let drift = sway_px * (2.0 * std::f32::consts::PI * 0.3 * t as f32).sin();
            let dx = drift + jitter(&mut seed, 0.5);
            let dy = jitter(&mut seed, 0.5);
            let rigid = rigid_at(dx, 0.0)
                .into_iter()
                .map(|p| [p[0], p[1] + dy as f64])
                .collect();
            sample(t, i, 0.0, rigid, None)
        })
        .collect()
}
