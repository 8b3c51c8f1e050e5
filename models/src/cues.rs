//! Image cues of a spoof in front of the camera, measured on the pixels of the face region:
//! the spectral lines that a display's pixel grid leaves over the face (moiré, on a 64×64 window
//! at native resolution), and specular glare off glossy paper or glass.
use image::RgbImage;
use serde::Serialize;

use crate::{fft, Face, FaceBox};

/// Image cues of the face region of one frame.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct ImageCues {
    /// Strongest high-frequency spectral peak over the median of its ring, over grey and colour
    /// differences (a screen's pixel grid beats against the camera's sensor as spectral lines).
    pub moire: f32,
    /// Fraction of face pixels saturated in every channel (specular glare off glossy paper or
    /// glass).
    pub glare: f32,
}

/// Moiré ([`moire_peak`] at the centre of the face's landmark box) and glare (over that box).
pub fn image_cues(img: &RgbImage, face: &Face) -> ImageCues {
    let b = face.bbox;
    ImageCues {
        moire: moire_peak(img, (b.x + b.w / 2.0) as i64, (b.y + b.h / 2.0) as i64),
        glare: glare(img, b),
    }
}

/// Fraction of the pixels in `b` (clipped to the image) that are saturated in every channel.
fn glare(img: &RgbImage, b: FaceBox) -> f32 {
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
    if total == 0 {
        0.0
    } else {
        saturated as f32 / total as f32
    }
}

/// Side of the square window (native resolution, no resampling) used for the spectrum.
const WIN: usize = 64;

/// The strongest periodic peak in the high band of a 64×64 window at the face centre, over the
/// grey channel and the two colour differences R−G and B−G (a screen's RGB sub-pixel stripes
/// beat against the camera's Bayer mosaic as *colour* moiré, which the grey channel mostly
/// cancels).
pub fn moire_peak(img: &RgbImage, cx: i64, cy: i64) -> f32 {
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
    let grey = channel(&|p| crate::imageops::luma_of(p[0].into(), p[1].into(), p[2].into()));
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
    // Separable: a transform of every row in place, then of every column (copied out, so the
    // spectrum is stored column by column: bin (fv, u) at `u * WIN + fv`).
    let tw = fft::twiddles(WIN);
    let mut rows: Vec<fft::Complex> = v.iter().map(|&x| (x, 0.0)).collect();
    for row in rows.chunks_exact_mut(WIN) {
        fft::forward(row, &tw);
    }
    let mut spectrum = vec![(0f32, 0f32); WIN * WIN];
    for u in 0..WIN {
        let column = &mut spectrum[u * WIN..(u + 1) * WIN];
        for (y, c) in column.iter_mut().enumerate() {
            *c = rows[y * WIN + u];
        }
        fft::forward(column, &tw);
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
            let (re, im) = spectrum[u * WIN + fv];
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

#[doc(hidden)]
/// A fine periodic pattern (period 3 px, a sub-pixel grid) over noise, and the noise alone, both
/// 128×128: the two cases every moiré test needs.
pub fn test_patterns() -> (RgbImage, RgbImage) {
    let mut grid = RgbImage::new(128, 128);
    let mut noise = RgbImage::new(128, 128);
    let mut seed = 12345u32;
    for y in 0..128 {
        for x in 0..128 {
            seed = seed.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            let n = (seed >> 24) as u8 / 4 + 100;
            noise.put_pixel(x, y, image::Rgb([n, n, n]));
            let g = if x % 3 == 0 { 60 } else { 0 } + n / 2;
            grid.put_pixel(x, y, image::Rgb([g, g, g]));
        }
    }
    (grid, noise)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pixel_grid_stands_out_of_its_ring_and_noise_does_not() {
        let (grid, noise) = test_patterns();
        let (on_grid, on_noise) = (moire_peak(&grid, 64, 64), moire_peak(&noise, 64, 64));
        assert!(on_grid > 20.0, "grid {on_grid}");
        assert!(on_noise < 8.0, "noise {on_noise}");
    }

    #[test]
    fn glare_is_the_saturated_share_of_the_box_inside_the_image() {
        let mut img = RgbImage::from_pixel(10, 10, image::Rgb([120, 120, 120]));
        for x in 0..5 {
            img.put_pixel(x, 0, image::Rgb([255, 252, 250]));
        }
        img.put_pixel(5, 0, image::Rgb([255, 255, 249]));
        let b = FaceBox {
            x: -4.0,
            y: -3.0,
            w: 14.0,
            h: 8.0,
        };
        // The box clipped to the image is 10×5 pixels, five of them saturated.
        assert_eq!(glare(&img, b), 5.0 / 50.0);
        assert_eq!(glare(&img, FaceBox { x: 20.0, ..b }), 0.0);
    }

    #[test]
    fn a_colour_only_grid_is_seen() {
        // Red and blue sub-pixel stripes of equal luma: invisible in grey, plain in R−G.
        let img = RgbImage::from_fn(128, 128, |x, _| {
            if x % 3 == 0 {
                image::Rgb([200, 100, 60])
            } else {
                image::Rgb([60, 100, 200])
            }
        });
        assert!(moire_peak(&img, 64, 64) > 20.0);
    }
}
