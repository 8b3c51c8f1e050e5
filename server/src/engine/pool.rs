//! Runs the face networks off the async runtime. Each analysis is a blocking task; a fair
//! semaphore sized to the cores bounds how many run at once, so extra sessions wait their turn
//! (slower feedback) instead of piling up work or memory. Each session keeps at most one frame in
//! analysis and one waiting (see `ws`), so memory stays bounded under any load.
use std::{
    hash::{DefaultHasher, Hash, Hasher},
    sync::Arc,
};

use image::RgbImage;
use models::{AnalyzeOptions, Face, FaceModels};
use tokio::sync::Semaphore;

use super::{layers::ImageCues, parallax::Keyframe, Observation};

/// What to compute for one frame beyond detection and landmarks.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FrameRequest {
    pub anti_spoof: bool,
    pub embedding: bool,
    pub emotion: bool,
    pub cues: bool,
    pub keyframe: bool,
}

pub struct InferencePool {
    models: Arc<FaceModels>,
    permits: Arc<Semaphore>,
}

/// Why a frame was not analysed.
#[derive(Debug, thiserror::Error)]
pub enum FrameError {
    #[error("the frame is not a decodable JPEG: {0}")]
    Decode(String),
    #[error("analysis failed: {0}")]
    Internal(String),
}

impl InferencePool {
    /// `workers` analyses at once (normally the number of cores).
    pub fn new(models: Arc<FaceModels>, workers: usize) -> Self {
        InferencePool {
            models,
            permits: Arc::new(Semaphore::new(workers.max(1))),
        }
    }

    pub fn models(&self) -> &Arc<FaceModels> {
        &self.models
    }

    /// Decodes and analyses one JPEG frame; `t` is its arrival time in the session.
    pub async fn analyze(
        &self,
        jpeg: bytes::Bytes,
        t: f64,
        req: FrameRequest,
    ) -> Result<Observation, FrameError> {
        let _permit = self
            .permits
            .acquire()
            .await
            .map_err(|e| FrameError::Internal(e.to_string()))?;
        let models = self.models.clone();
        tokio::task::spawn_blocking(move || analyze_blocking(&models, &jpeg, t, req))
            .await
            .map_err(|e| FrameError::Internal(e.to_string()))?
    }
}

/// The blocking part: decode, analyse, measure (also used by the evaluation command).
pub fn analyze_blocking(
    models: &FaceModels,
    jpeg: &[u8],
    t: f64,
    req: FrameRequest,
) -> Result<Observation, FrameError> {
    let img = image::load_from_memory(jpeg)
        .map_err(|e| FrameError::Decode(e.to_string()))?
        .to_rgb8();
    let opts = AnalyzeOptions {
        anti_spoof: req.anti_spoof,
        embedding: req.embedding,
        emotion: req.emotion,
        ..AnalyzeOptions::default()
    };
    let faces = models
        .analyze(&img, &opts)
        .map_err(|e| FrameError::Internal(e.to_string()))?;
    let mut hasher = DefaultHasher::new();
    jpeg.hash(&mut hasher);
    let face_count = faces.len();
    let face = faces
        .into_iter()
        .max_by(|a, b| (a.bbox.w * a.bbox.h).total_cmp(&(b.bbox.w * b.bbox.h)));
    let cues = match (&face, req.cues) {
        (Some(f), true) => Some(image_cues(&img, f)),
        _ => None,
    };
    let keyframe = match (&face, req.keyframe) {
        (Some(f), true) => Keyframe::capture(&img, f, t, super::inter_eye_distance(f)),
        _ => None,
    };
    Ok(Observation {
        t,
        frame_width: img.width(),
        frame_height: img.height(),
        face_count,
        face,
        frame_hash: hasher.finish(),
        cues,
        keyframe,
        image: Some(Arc::new(img)),
    })
}

/// Side of the square window (native resolution, no resampling) used for the spectrum.
const WIN: usize = 64;

/// Moiré and glare measures of the face region.
pub fn image_cues(img: &RgbImage, face: &Face) -> ImageCues {
    let b = face.bbox;
    let (x0, y0) = (b.x.max(0.0) as u32, b.y.max(0.0) as u32);
    let (x1, y1) = (
        ((b.x + b.w) as u32).min(img.width()),
        ((b.y + b.h) as u32).min(img.height()),
    );
    let mut saturated = 0usize;
    let mut total = 0usize;
    for y in y0..y1 {
        for x in x0..x1 {
            let p = img.get_pixel(x, y);
            total += 1;
            if p[0] >= 250 && p[1] >= 250 && p[2] >= 250 {
                saturated += 1;
            }
        }
    }
    let glare = if total == 0 {
        0.0
    } else {
        saturated as f32 / total as f32
    };
    ImageCues {
        moire: moire_peak(img, (b.x + b.w / 2.0) as i64, (b.y + b.h / 2.0) as i64),
        glare,
    }
}

/// The strongest periodic peak in the high band of a 64×64 window at the face centre, over the
/// grey channel and the two colour differences R−G and B−G (a screen's RGB sub-pixel stripes
/// beat against the camera's Bayer mosaic as *colour* moiré, which the grey channel mostly
/// cancels).
fn moire_peak(img: &RgbImage, cx: i64, cy: i64) -> f32 {
    let (w, h) = (img.width() as i64, img.height() as i64);
    if w < WIN as i64 || h < WIN as i64 {
        return 0.0;
    }
    let x0 = (cx - WIN as i64 / 2).clamp(0, w - WIN as i64);
    let y0 = (cy - WIN as i64 / 2).clamp(0, h - WIN as i64);
    let channel = |f: &dyn Fn(&image::Rgb<u8>) -> f32| -> Vec<f32> {
        (0..WIN * WIN)
            .map(|i| {
                f(img.get_pixel(
                    (x0 + (i % WIN) as i64) as u32,
                    (y0 + (i / WIN) as i64) as u32,
                ))
            })
            .collect()
    };
    let grey = channel(&|p| 0.299 * p[0] as f32 + 0.587 * p[1] as f32 + 0.114 * p[2] as f32);
    let red_green = channel(&|p| p[0] as f32 - p[1] as f32);
    let blue_green = channel(&|p| p[2] as f32 - p[1] as f32);
    [grey, red_green, blue_green]
        .into_iter()
        .map(ring_peak)
        .fold(0.0, f32::max)
}

/// Largest ratio of a high-band spectral magnitude to the median of its ring (the bins at the
/// same spatial frequency, rounded). Dividing by the ring removes the 1/f fall-off of natural
/// images, so what remains is how much one orientation stands out at that frequency: a few
/// (≈3 for noise, up to ~12 for the oriented edges of real faces and backgrounds), but tens for
/// the spectral line of a periodic grid. Bins on JPEG's 8-pixel block grid are skipped so that
/// compression artefacts are not mistaken for a screen.
fn ring_peak(mut v: Vec<f32>) -> f32 {
    let mean = v.iter().sum::<f32>() / v.len() as f32;
    let hann: Vec<f32> = (0..WIN)
        .map(|i| 0.5 - 0.5 * (2.0 * std::f32::consts::PI * i as f32 / (WIN - 1) as f32).cos())
        .collect();
    for y in 0..WIN {
        for x in 0..WIN {
            v[y * WIN + x] = (v[y * WIN + x] - mean) * hann[x] * hann[y];
        }
    }
    // Separable DFT: rows, then columns (only the band's bins).
    let tw: Vec<(f32, f32)> = (0..WIN)
        .map(|k| {
            let a = -2.0 * std::f32::consts::PI * k as f32 / WIN as f32;
            (a.cos(), a.sin())
        })
        .collect();
    let mut rows = vec![(0f32, 0f32); WIN * WIN];
    for y in 0..WIN {
        for u in 0..WIN {
            let (mut re, mut im) = (0.0, 0.0);
            for x in 0..WIN {
                let (c, s) = tw[(u * x) % WIN];
                re += v[y * WIN + x] * c;
                im += v[y * WIN + x] * s;
            }
            rows[y * WIN + u] = (re, im);
        }
    }
    // Magnitudes by ring (rounded radius).
    let mut rings: Vec<Vec<f32>> = vec![vec![]; WIN];
    for fv in 0..WIN {
        for u in 0..WIN {
            let (du, dv) = (u.min(WIN - u), fv.min(WIN - fv));
            let r2 = du * du + dv * dv;
            // High band: beyond a quarter of Nyquist; skip the JPEG block-grid bins.
            if r2 < (WIN / 8) * (WIN / 8) || du % 8 == 0 || dv % 8 == 0 {
                continue;
            }
            let (mut re, mut im) = (0.0, 0.0);
            for y in 0..WIN {
                let (c, s) = tw[(fv * y) % WIN];
                let (a, b) = rows[y * WIN + u];
                re += a * c - b * s;
                im += a * s + b * c;
            }
            let r = ((r2 as f32).sqrt().round() as usize).min(WIN - 1);
            rings[r].push((re * re + im * im).sqrt());
        }
    }
    rings
        .iter_mut()
        .filter(|ring| ring.len() >= 8)
        .map(|ring| {
            let peak = ring.iter().cloned().fold(0.0, f32::max);
            ring.sort_by(f32::total_cmp);
            peak / ring[ring.len() / 2].max(1e-3)
        })
        .fold(0.0, f32::max)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pixel_grid_has_a_spectral_peak_and_noise_does_not() {
        let mut grid = RgbImage::new(128, 128);
        let mut noise = RgbImage::new(128, 128);
        let mut seed = 12345u32;
        for y in 0..128 {
            for x in 0..128 {
                seed = seed.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
                let n = (seed >> 24) as u8 / 4 + 100;
                noise.put_pixel(x, y, image::Rgb([n, n, n]));
                // A fine periodic pattern of period 3 px (a sub-pixel grid), plus noise.
                let g = if x % 3 == 0 { 60 } else { 0 } + n / 2;
                grid.put_pixel(x, y, image::Rgb([g, g, g]));
            }
        }
        let on_grid = moire_peak(&grid, 64, 64);
        let on_noise = moire_peak(&noise, 64, 64);
        assert!(on_grid > MOIRE_TEST_MIN, "grid {on_grid}");
        assert!(on_noise < MOIRE_TEST_MIN, "noise {on_noise}");
    }

    const MOIRE_TEST_MIN: f32 = super::super::layers::MOIRE_PEAK;
}
