//! Image pre-processing: affine bilinear sampling (letterbox, rotated face crops), box-averaged
//! grey crops (the parallax keyframes), conversion to NCHW tensors, and the simple image
//! statistics (luma, Laplacian variance).
//!
//! Coordinates are continuous pixels: pixel `(i, j)` covers `[i, i+1) × [j, j+1)` and its centre
//! is `(i + 0.5, j + 0.5)`. Every crop is described by an [`Affine`] map from output pixel
//! coordinates to source image coordinates, so that landmarks found in a crop map back to the
//! image with the same transform.

use candle_core::{Device, Result, Tensor};
use image::{GrayImage, RgbImage};

#[cfg(target_arch = "x86_64")]
mod avx2;

/// `src = [a·x + b·y + c, d·x + e·y + f]`, mapping crop coordinates to image coordinates.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Affine {
    pub m: [f32; 6],
}

impl Affine {
    /// Applies the map to a point.
    pub fn apply(&self, p: [f32; 2]) -> [f32; 2] {
        let m = &self.m;
        [
            m[0] * p[0] + m[1] * p[1] + m[2],
            m[3] * p[0] + m[4] * p[1] + m[5],
        ]
    }

    /// Scale factor of lengths (the maps used here are similarities).
    pub fn scale(&self) -> f32 {
        (self.m[0] * self.m[0] + self.m[3] * self.m[3]).sqrt()
    }

    /// A square `out`×`out` crop of side `side` image pixels centred on `center`, rotated by
    /// `angle` radians (the crop's x axis points along `(cos angle, sin angle)` in the image).
    pub fn square_crop(center: [f32; 2], side: f32, angle: f32, out: usize) -> Self {
        let s = side / out as f32;
        let (sin, cos) = angle.sin_cos();
        let half = out as f32 / 2.0;
        // src = center + R·(p − half)·s
        let a = cos * s;
        let b = -sin * s;
        let d = sin * s;
        let e = cos * s;
        Self {
            m: [
                a,
                b,
                center[0] - a * half - b * half,
                d,
                e,
                center[1] - d * half - e * half,
            ],
        }
    }

    /// Letterbox: fits a `w×h` image into an `out`×`out` square, centred, without distortion.
    pub fn letterbox(w: u32, h: u32, out: usize) -> Self {
        let side = w.max(h) as f32;
        Self::square_crop([w as f32 / 2.0, h as f32 / 2.0], side, 0.0, out)
    }
}

/// Samples an `out_w`×`out_h` RGB crop through `map` with bilinear interpolation, as three
/// planes (CHW, values 0–255: the networks' layout); outside the image is black.
///
/// Every frame's face crops go through here (36,864 pixels for the landmark network alone), so
/// the common case is kept short: a pixel whose four neighbours all lie inside the image is
/// found by four comparisons on its source position, then read without further tests; only the
/// crop's edges that fall outside the image take the general path. With AVX2, eight such pixels
/// at a time (`avx2.rs`, the same operations in the same order: the same bits).
pub fn sample(img: &RgbImage, map: &Affine, out_w: usize, out_h: usize) -> Vec<f32> {
    let mut out = vec![0f32; out_w * out_h * 3];
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") {
        for v in 0..out_h {
            // SAFETY: AVX2 is present (checked above).
            unsafe { avx2::sample_row(img, map, (out_w, out_h), v, &mut out) };
        }
        return out;
    }
    for v in 0..out_h {
        sample_pixels(img, map, (out_w, out_h), v, 0..out_w, &mut out);
    }
    out
}

/// [`sample`]'s pixels `us` of output row `v`, one at a time.
fn sample_pixels(
    img: &RgbImage,
    map: &Affine,
    (out_w, out_h): (usize, usize),
    v: usize,
    us: std::ops::Range<usize>,
    out: &mut [f32],
) {
    let (w, h) = (img.width() as usize, img.height() as usize);
    let raw = img.as_raw();
    let plane = out_w * out_h;
    // Sources where both neighbours along an axis are inside: [0, w − 1) in index space.
    let (x_end, y_end) = (w as f32 - 1.0, h as f32 - 1.0);
    let row = 3 * w;
    for u in us {
        let [sx, sy] = map.apply([u as f32 + 0.5, v as f32 + 0.5]);
        // Back to "index" space, where pixel centres are integers.
        let (fx, fy) = (sx - 0.5, sy - 0.5);
        let mut px = None;
        if fx >= 0.0 && fy >= 0.0 && fx < x_end && fy < y_end {
            // Non-negative: truncation is the floor.
            let (x0, y0) = (fx as usize, fy as usize);
            let i = (y0 * w + x0) * 3;
            // Four bytes per neighbour (RGB and the next pixel's red, unused); the image's
            // very last pixel has no byte after it.
            if i + row + 7 <= raw.len() {
                px = Some(lerp4(raw, i, row, fx - x0 as f32, fy - y0 as f32));
            }
        }
        let px = px.unwrap_or_else(|| {
            let [r, g, b] = edge_pixel(raw, (w, h), fx, fy);
            [r, g, b, 0.0]
        });
        let o = v * out_w + u;
        for (c, value) in px.iter().take(3).enumerate() {
            out[c * plane + o] = *value;
        }
    }
}

/// Bilinear interpolation of the pixel at byte `i` with its right, lower and lower-right
/// neighbours (`row` bytes a row), as four lanes (the fourth is not a channel): the same few
/// vector operations on any target, rather than twelve scalar lerps.
#[inline(always)]
fn lerp4(raw: &[u8], i: usize, row: usize, ax: f32, ay: f32) -> [f32; 4] {
    let load = |at: usize| -> [f32; 4] {
        let b: [u8; 4] = raw[at..at + 4].try_into().expect("four bytes");
        b.map(f32::from)
    };
    let (p00, p01, p10, p11) = (load(i), load(i + 3), load(i + row), load(i + row + 3));
    let mut out = [0f32; 4];
    for c in 0..4 {
        let t = p00[c] + (p01[c] - p00[c]) * ax;
        let b = p10[c] + (p11[c] - p10[c]) * ax;
        out[c] = t + (b - t) * ay;
    }
    out
}

/// The bilinear value at index-space `(fx, fy)` where some neighbours are outside the image
/// (black).
#[cold]
fn edge_pixel(raw: &[u8], (w, h): (usize, usize), fx: f32, fy: f32) -> [f32; 3] {
    let (w, h) = (w as i64, h as i64);
    let (x0, y0) = (floor(fx), floor(fy));
    let (ax, ay) = (fx - x0 as f32, fy - y0 as f32);
    let px = |x: i64, y: i64, c: usize| -> f32 {
        if x < 0 || y < 0 || x >= w || y >= h {
            0.0
        } else {
            raw[((y * w + x) * 3) as usize + c] as f32
        }
    };
    let mut d = [0f32; 3];
    for (c, d) in d.iter_mut().enumerate() {
        let top = px(x0, y0, c) * (1.0 - ax) + px(x0 + 1, y0, c) * ax;
        let bot = px(x0, y0 + 1, c) * (1.0 - ax) + px(x0 + 1, y0 + 1, c) * ax;
        *d = top * (1.0 - ay) + bot * ay;
    }
    d
}

/// `x.floor()` as an integer, without the libm call that a baseline x86-64 build makes of
/// `f32::floor` (no SSE4.1): truncation, one lower for negative non-integers.
#[inline(always)]
fn floor(x: f32) -> i64 {
    let t = x as i64;
    t - i64::from((t as f32) > x)
}

/// HWC RGB (0–255) → `[1, 3, h, w]` with `value·scale + offset`.
pub fn to_nchw(hwc: &[f32], w: usize, h: usize, scale: f32, offset: f32) -> Result<Tensor> {
    let mut chw = Vec::with_capacity(3 * w * h);
    for c in 0..3 {
        chw.extend(hwc.chunks_exact(3).map(|p| p[c] * scale + offset));
    }
    Tensor::from_vec(chw, (1, 3, h, w), &Device::Cpu)
}

/// [`sample`]'s planes → `[1, 3, h, w]` with `value·scale + offset`, in place.
pub fn to_tensor(
    mut planes: Vec<f32>,
    w: usize,
    h: usize,
    scale: f32,
    offset: f32,
) -> Result<Tensor> {
    planes.iter_mut().for_each(|v| *v = *v * scale + offset);
    Tensor::from_vec(planes, (1, 3, h, w), &Device::Cpu)
}

/// Decodes a camera frame (JPEG, or any format the `image` crate reads) to RGB.
pub fn decode_frame(bytes: &[u8]) -> image::ImageResult<RgbImage> {
    Ok(image::load_from_memory(bytes)?.into_rgb8())
}

/// Rec. 601 luma (0–255) of one RGB pixel.
#[inline(always)]
pub fn luma_of(r: f32, g: f32, b: f32) -> f32 {
    0.299 * r + 0.587 * g + 0.114 * b
}

/// [`sample`]'s output as its red, green and blue planes.
pub fn planes(rgb: &[f32]) -> [&[f32]; 3] {
    let n = rgb.len() / 3;
    [&rgb[..n], &rgb[n..2 * n], &rgb[2 * n..3 * n]]
}

/// `f(r, g, b)` of every pixel of [`sample`]'s planes.
pub fn per_pixel(rgb: &[f32], f: impl Fn(f32, f32, f32) -> f32) -> Vec<f32> {
    let [r, g, b] = planes(rgb);
    r.iter()
        .zip(g)
        .zip(b)
        .map(|((r, g), b)| f(*r, *g, *b))
        .collect()
}

/// Rec. 601 luma (0–255) of [`sample`]'s three planes.
pub fn luma(rgb: &[f32]) -> Vec<f32> {
    per_pixel(rgb, luma_of)
}

/// Variance of the 4-neighbour Laplacian (`[0 1 0; 1 −4 1; 0 1 0]`) over the interior of a
/// `w×h` grey image: the usual focus measure. Same scale as OpenCV's on 8-bit images.
pub fn laplacian_variance(grey: &[f32], w: usize, h: usize) -> f32 {
    if w < 3 || h < 3 {
        return 0.0;
    }
    let mut sum = 0f64;
    let mut sum2 = 0f64;
    let mut n = 0f64;
    for y in 1..h - 1 {
        for x in 1..w - 1 {
            let i = y * w + x;
            let l = grey[i - 1] + grey[i + 1] + grey[i - w] + grey[i + w] - 4.0 * grey[i];
            sum += l as f64;
            sum2 += (l as f64) * (l as f64);
            n += 1.0;
        }
    }
    let mean = sum / n;
    (sum2 / n - mean * mean).max(0.0) as f32
}

/// The grey crop `(x0, y0)..(x1, y1)` of `img` at `scale` (≤ 1) as a `cw`×`ch` image, each of
/// its pixels the mean luma of the source pixels that fall in it. The source spans of each
/// column and row are worked out once, and the pixels read from the image's rows directly.
pub fn box_average_luma(
    img: &RgbImage,
    (x0, y0, x1, y1): (u32, u32, u32, u32),
    (cw, ch): (u32, u32),
    scale: f64,
) -> GrayImage {
    // Crop pixel i covers the source pixels [start + i / scale, start + (i + 1) / scale), at
    // least one, clipped to `end`.
    let spans = |start: u32, end: u32, n: u32| -> Vec<(usize, usize)> {
        (0..n)
            .map(|i| {
                let a = start + (i as f64 / scale) as u32;
                let b = (start + ((i + 1) as f64 / scale) as u32).clamp(a + 1, end);
                (a as usize, b as usize)
            })
            .collect()
    };
    let (cols, rows) = (spans(x0, x1, cw), spans(y0, y1, ch));
    let (raw, stride) = (img.as_raw(), img.width() as usize * 3);
    let mut out = Vec::with_capacity((cw * ch) as usize);
    for &(ya, yb) in &rows {
        for &(xa, xb) in &cols {
            let mut sum = 0.0f32;
            for y in ya..yb {
                for p in raw[y * stride + xa * 3..y * stride + xb * 3].chunks_exact(3) {
                    sum += luma_of(p[0].into(), p[1].into(), p[2].into());
                }
            }
            let n = ((yb - ya) * (xb - xa)) as f32;
            out.push((sum / n).round() as u8);
        }
    }
    GrayImage::from_raw(cw, ch, out).expect("cw × ch values")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn square_crop_maps_centre_and_corners() {
        let a = Affine::square_crop([100.0, 50.0], 40.0, 0.0, 192);
        assert_eq!(a.apply([96.0, 96.0]), [100.0, 50.0]);
        let c = a.apply([0.0, 0.0]);
        assert!((c[0] - 80.0).abs() < 1e-4 && (c[1] - 30.0).abs() < 1e-4);
        // rotated by 90°: the crop's x axis points down the image
        let r = Affine::square_crop([0.0, 0.0], 192.0, std::f32::consts::FRAC_PI_2, 192);
        let p = r.apply([192.0, 96.0]);
        assert!(p[0].abs() < 1e-3 && (p[1] - 96.0).abs() < 1e-3, "{p:?}");
    }

    #[test]
    fn identity_sampling_reproduces_the_image() {
        let img = RgbImage::from_fn(4, 3, |x, y| image::Rgb([(x * 10) as u8, (y * 20) as u8, 7]));
        let id = Affine {
            m: [1.0, 0.0, 0.0, 0.0, 1.0, 0.0],
        };
        let out = sample(&img, &id, 4, 3);
        let at = |o: usize| [out[o], out[12 + o], out[24 + o]];
        assert_eq!(at(0), [0.0, 0.0, 7.0]);
        assert_eq!(at(2 * 4 + 3), [30.0, 40.0, 7.0]);
    }

    /// Whatever path a pixel takes (eight at a time with AVX2, or one at a time; inside the image
    /// or across its edges and its last pixel), the crop is the scalar definition's, bit for bit.
    #[test]
    fn every_path_samples_the_same_bits() {
        let mut seed = 0x9e37_79b9u32;
        let img = RgbImage::from_fn(97, 61, |_, _| {
            seed ^= seed << 13;
            seed ^= seed >> 17;
            seed ^= seed << 5;
            image::Rgb([seed as u8, (seed >> 8) as u8, (seed >> 16) as u8])
        });
        for (center, side, angle, out) in [
            ([48.0, 30.0], 40.0, 0.3, 64),
            ([48.0, 30.0], 55.0, -1.1, 37),
            ([95.0, 59.0], 30.0, 0.0, 40),
            ([2.0, 3.0], 80.0, 2.0, 24),
            ([60.0, 20.0], 300.0, 0.7, 19),
        ] {
            let map = Affine::square_crop(center, side, angle, out);
            let got = sample(&img, &map, out, out);
            let mut want = vec![0f32; out * out * 3];
            for v in 0..out {
                sample_pixels(&img, &map, (out, out), v, 0..out, &mut want);
            }
            let same = got
                .iter()
                .zip(&want)
                .all(|(a, b)| a.to_bits() == b.to_bits());
            assert!(same, "{center:?} {side} {angle} {out}");
        }
        // Images too small for a vector block: one pixel, a row, a column, 3×2.
        for (w, h) in [(1, 1), (9, 1), (1, 9), (3, 2)] {
            let small =
                RgbImage::from_fn(w, h, |x, y| image::Rgb([(x * 40) as u8, (y * 30) as u8, 9]));
            let map = Affine::square_crop([w as f32 / 2.0, h as f32 / 2.0], 4.0, 0.2, 16);
            let got = sample(&small, &map, 16, 16);
            let mut want = vec![0f32; 16 * 16 * 3];
            for v in 0..16 {
                sample_pixels(&small, &map, (16, 16), v, 0..16, &mut want);
            }
            assert_eq!(got, want, "{w}×{h}");
        }
    }

    #[test]
    fn letterbox_pads_the_short_side() {
        let a = Affine::letterbox(640, 480, 256);
        // top-left of the square lies 80 px above the image
        let p = a.apply([0.0, 0.0]);
        assert!(
            (p[0] - 0.0).abs() < 1e-3 && (p[1] + 80.0).abs() < 1e-3,
            "{p:?}"
        );
        assert!((a.scale() - 2.5).abs() < 1e-6);
    }

    #[test]
    fn laplacian_variance_is_zero_on_flat_and_ramp_images() {
        let flat = vec![5.0; 25];
        assert_eq!(laplacian_variance(&flat, 5, 5), 0.0);
        let ramp: Vec<f32> = (0..25).map(|i| (i % 5) as f32).collect();
        assert_eq!(laplacian_variance(&ramp, 5, 5), 0.0);
        let checker: Vec<f32> = (0..25)
            .map(|i| if (i % 5 + i / 5) % 2 == 0 { 255.0 } else { 0.0 })
            .collect();
        assert!(laplacian_variance(&checker, 5, 5) > 0.0);
    }

    #[test]
    fn the_box_average_is_the_mean_luma_of_each_cell() {
        let img = RgbImage::from_fn(37, 29, |x, y| {
            image::Rgb([(x * 7 + y) as u8, (x * y) as u8, (200 - x - y) as u8])
        });
        let (x0, y0, x1, y1) = (3, 2, 35, 27);
        let scale = 0.6;
        let (cw, ch) = (19, 15);
        let got = box_average_luma(&img, (x0, y0, x1, y1), (cw, ch), scale);
        for (x, y, v) in got.enumerate_pixels() {
            let sx0 = x0 + (x as f64 / scale) as u32;
            let sy0 = y0 + (y as f64 / scale) as u32;
            let sx1 = (x0 + ((x + 1) as f64 / scale) as u32).clamp(sx0 + 1, x1);
            let sy1 = (y0 + ((y + 1) as f64 / scale) as u32).clamp(sy0 + 1, y1);
            let (mut sum, mut n) = (0.0f32, 0.0f32);
            for sy in sy0..sy1 {
                for sx in sx0..sx1 {
                    let p = img.get_pixel(sx, sy);
                    sum += 0.299 * p[0] as f32 + 0.587 * p[1] as f32 + 0.114 * p[2] as f32;
                    n += 1.0;
                }
            }
            assert_eq!(v[0], (sum / n).round() as u8, "({x}, {y})");
        }
    }
}
