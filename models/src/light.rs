//! The face's colour in the regions the screen-light challenge compares (`docs/architecture.md`,
//! "The screen-light challenge"): where the skin faces the screen (forehead, glabella, nose
//! bridge), where it turns away from it (the sides of the cheeks near the face's outline), and
//! the room beside the head. Each region is a set of small discs anchored to FaceMesh landmarks,
//! so it follows the face; its colour is the mean of the discs' pixels in *linear* RGB (the
//! screen's light adds to the scene's light in linear units, not in sRGB's gamma-encoded ones).
use std::sync::LazyLock;

use image::RgbImage;
use serde::Serialize;

use crate::Face;

/// Landmarks at the middle of the face, where the skin faces the camera and the screen:
/// forehead (151, 9), glabella (168), nose bridge (6, 197).
pub const CENTRE_POINTS: [usize; 5] = [151, 9, 168, 6, 197];
/// The sides of the cheeks: points a third of the way in from the face's outline (234/454 at
/// the ears' level, 93/323 and 132/361 below them) towards the cheeks' fronts (50/280), where the
/// skin turns away from the camera by roughly 45–70° on FaceMesh's canonical face.
pub const SIDE_POINTS: [(usize, usize); 6] = [
    (234, 50),
    (93, 50),
    (132, 50),
    (454, 280),
    (323, 280),
    (361, 280),
];
/// How far from the outline point towards the cheek's front the side disc sits.
const SIDE_INSET: f32 = 0.3;
/// Disc radius as a share of the inter-eye distance (≈ 7 px for a face 70 px between the eyes).
const DISC_RADIUS: f32 = 0.1;
/// 8-bit levels at or beyond which a pixel tells nothing about a change of light (clipped).
const CLIPPED_LOW: u8 = 4;
const CLIPPED_HIGH: u8 = 251;

/// Mean linear RGB of the three regions in one frame; `None` where no pixel was usable.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct RegionColours {
    pub centre: Option<[f64; 3]>,
    pub sides: Option<[f64; 3]>,
    pub background: Option<[f64; 3]>,
}

/// The sRGB transfer function's inverse: an 8-bit level to linear light in [0, 1]. A table of
/// the 256 levels: the light measure converts every pixel of its discs, and a `powf` each was
/// a few per cent of a loaded server's time.
pub fn srgb_to_linear(v: u8) -> f64 {
    static LEVELS: LazyLock<[f64; 256]> = LazyLock::new(|| {
        std::array::from_fn(|i| {
            let c = i as f64 / 255.0;
            if c <= 0.04045 {
                c / 12.92
            } else {
                ((c + 0.055) / 1.055).powf(2.4)
            }
        })
    });
    LEVELS[v as usize]
}

/// Linear RGB of a `#rrggbb` colour; `None` if it is not one.
pub fn hex_to_linear(hex: &str) -> Option<[f64; 3]> {
    let h = hex.strip_prefix('#')?;
    if h.len() != 6 || !h.is_ascii() {
        return None;
    }
    let mut out = [0.0; 3];
    for (i, o) in out.iter_mut().enumerate() {
        *o = srgb_to_linear(u8::from_str_radix(&h[2 * i..2 * i + 2], 16).ok()?);
    }
    Some(out)
}

/// Measures the three regions of `face` in `img`.
pub fn region_colours(img: &RgbImage, face: &Face) -> RegionColours {
    let r = (face.inter_eye() * DISC_RADIUS).max(2.0);
    let at = |i: usize| {
        let p = face.landmarks.xy(&[i])[0];
        [p[0] as f32, p[1] as f32]
    };
    let centre: Vec<[f32; 2]> = CENTRE_POINTS.iter().map(|&i| at(i)).collect();
    let sides: Vec<[f32; 2]> = SIDE_POINTS
        .iter()
        .map(|&(edge, front)| {
            let (e, f) = (at(edge), at(front));
            [
                e[0] + (f[0] - e[0]) * SIDE_INSET,
                e[1] + (f[1] - e[1]) * SIDE_INSET,
            ]
        })
        .collect();
    // Beside the head at eye level, half a face width out from the landmarks' box.
    let b = face.bbox;
    let eye_y = b.y + b.h * 0.4;
    let background = [
        [b.x - b.w * 0.5, eye_y],
        [b.x + b.w * 1.5, eye_y],
        [b.x - b.w * 0.5, eye_y - b.h * 0.3],
        [b.x + b.w * 1.5, eye_y - b.h * 0.3],
    ];
    RegionColours {
        centre: mean_of_discs(img, &centre, r),
        sides: mean_of_discs(img, &sides, r),
        background: mean_of_discs(img, &background, r * 2.0),
    }
}

/// Mean linear RGB over the unclipped pixels of discs of radius `r` around `centres` (parts off
/// the image are skipped).
fn mean_of_discs(img: &RgbImage, centres: &[[f32; 2]], r: f32) -> Option<[f64; 3]> {
    let (w, h) = (img.width() as i64, img.height() as i64);
    let mut sum = [0.0f64; 3];
    let mut n = 0usize;
    let r2 = r * r;
    for c in centres {
        let (x0, x1) = ((c[0] - r).floor() as i64, (c[0] + r).ceil() as i64);
        let (y0, y1) = ((c[1] - r).floor() as i64, (c[1] + r).ceil() as i64);
        for y in y0.max(0)..=y1.min(h - 1) {
            for x in x0.max(0)..=x1.min(w - 1) {
                let (dx, dy) = (x as f32 + 0.5 - c[0], y as f32 + 0.5 - c[1]);
                if dx * dx + dy * dy > r2 {
                    continue;
                }
                let p = img.get_pixel(x as u32, y as u32).0;
                if p.iter()
                    .any(|&v| !(CLIPPED_LOW..=CLIPPED_HIGH).contains(&v))
                {
                    continue;
                }
                for k in 0..3 {
                    sum[k] += srgb_to_linear(p[k]);
                }
                n += 1;
            }
        }
    }
    (n > 0).then(|| sum.map(|s| s / n as f64))
}

/// The linear-to-sRGB transfer function, to 8 bits.
pub fn linear_to_srgb(v: f64) -> u8 {
    let v = v.clamp(0.0, 1.0);
    let c = if v <= 0.003_130_8 {
        v * 12.92
    } else {
        1.055 * v.powf(1.0 / 2.4) - 0.055
    };
    (c * 255.0).round() as u8
}

/// The screen's light on a scene: the forward model of the measurement above, used by the
/// evaluation's simulated page and the clip tools (`docs/architecture.md`, "The screen-light
/// challenge"). `gains` holds, per pixel, the surface's diffuse gain towards the screen in red
/// (Lambertian `cos θ`, 0–255 for 0–1) and its specular gain in green; `colour` is the painted
/// colour in linear RGB, `strength` the screen's irradiance on a surface facing it over the
/// room's. Each pixel's linear colour `v` becomes `v·(1 + strength·diffuse·colour) +
/// strength·specular·colour·SPECULAR_ALBEDO`; then the camera's auto-exposure restores the
/// frame's mean luminance, as a real camera's does within a few frames.
pub fn relight(frame: &RgbImage, gains: &RgbImage, colour: [f64; 3], strength: f64) -> RgbImage {
    /// Reflectance of skin's or glass's specular lobe, independent of the colour beneath.
    const SPECULAR_ALBEDO: f64 = 0.05;
    let luminance = |v: [f64; 3]| 0.2126 * v[0] + 0.7152 * v[1] + 0.0722 * v[2];
    let (mut before, mut after) = (0.0, 0.0);
    let mut lit: Vec<[f64; 3]> = Vec::with_capacity((frame.width() * frame.height()) as usize);
    for (p, g) in frame.pixels().zip(gains.pixels()) {
        let v = p.0.map(srgb_to_linear);
        let (d, s) = (g.0[0] as f64 / 255.0, g.0[1] as f64 / 255.0);
        let out = [0, 1, 2].map(|k| {
            v[k] * (1.0 + strength * d * colour[k]) + strength * s * colour[k] * SPECULAR_ALBEDO
        });
        before += luminance(v);
        after += luminance(out);
        lit.push(out);
    }
    let exposure = if after > 0.0 { before / after } else { 1.0 };
    let raw: Vec<u8> = lit
        .iter()
        .flat_map(|v| v.map(|c| linear_to_srgb(c * exposure)))
        .collect();
    RgbImage::from_raw(frame.width(), frame.height(), raw).unwrap_or_else(|| frame.clone())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn srgb_decoding_matches_the_standard() {
        assert_eq!(srgb_to_linear(0), 0.0);
        assert!((srgb_to_linear(255) - 1.0).abs() < 1e-12);
        // sRGB 128 is 21.6 % linear light.
        assert!((srgb_to_linear(128) - 0.2158).abs() < 1e-3);
    }

    #[test]
    fn hex_colours_parse_or_refuse() {
        let c = hex_to_linear("#ff0080").unwrap();
        assert!((c[0] - 1.0).abs() < 1e-12 && c[1] == 0.0 && (c[2] - 0.2158).abs() < 1e-3);
        assert_eq!(hex_to_linear("ff0080"), None);
        assert_eq!(hex_to_linear("#ff008"), None);
        assert_eq!(hex_to_linear("#gg0080"), None);
        assert_eq!(hex_to_linear("#ff00é"), None);
    }

    #[test]
    fn relighting_tints_by_the_gain_and_keeps_the_exposure() {
        let frame = RgbImage::from_pixel(4, 1, image::Rgb([120, 120, 120]));
        let mut gains = RgbImage::new(4, 1);
        gains.put_pixel(0, 0, image::Rgb([255, 0, 0]));
        gains.put_pixel(1, 0, image::Rgb([128, 0, 0]));
        let red = [1.0, 0.0, 0.0];
        let out = relight(&frame, &gains, red, 0.3);
        let r = |x: u32| out.get_pixel(x, 0).0;
        // Redder where the surface faces the screen, half as much at half the gain, none where
        // nothing answers; auto-exposure darkens the rest a little.
        assert!(r(0)[0] > r(1)[0] && r(1)[0] > r(2)[0]);
        assert!(r(0)[0] - r(0)[1] > r(1)[0] - r(1)[1]);
        assert_eq!(r(2)[0], r(2)[1]);
        assert!(r(2)[1] <= 120);
        // No light, no change.
        assert_eq!(relight(&frame, &gains, red, 0.0), frame);
    }

    #[test]
    fn discs_average_unclipped_pixels_only() {
        let mut img = RgbImage::from_pixel(20, 20, image::Rgb([128, 128, 128]));
        img.put_pixel(10, 10, image::Rgb([255, 255, 255]));
        let m = mean_of_discs(&img, &[[10.5, 10.5]], 3.0).unwrap();
        assert!((m[0] - srgb_to_linear(128)).abs() < 1e-12);
        // A disc wholly off the image has nothing to say.
        assert_eq!(mean_of_discs(&img, &[[-50.0, -50.0]], 3.0), None);
    }
}
