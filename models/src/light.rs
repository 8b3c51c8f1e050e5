//! The face's colour in the regions the screen-light challenge compares (`docs/architecture.md`,
//! "The screen-light challenge"): where the skin faces the screen (forehead, glabella, nose
//! bridge), where it turns away from it (the sides of the cheeks near the face's outline), and
//! the room beside the head. Each region is a set of small discs anchored to FaceMesh landmarks,
//! so it follows the face; its colour is the mean of the discs' pixels in *linear* RGB (the
//! screen's light adds to the scene's light in linear units, not in sRGB's gamma-encoded ones).
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

/// The sRGB transfer function's inverse: an 8-bit level to linear light in [0, 1].
pub fn srgb_to_linear(v: u8) -> f64 {
    let c = v as f64 / 255.0;
    if c <= 0.04045 {
        c / 12.92
    } else {
        ((c + 0.055) / 1.055).powf(2.4)
    }
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
    fn discs_average_unclipped_pixels_only() {
        let mut img = RgbImage::from_pixel(20, 20, image::Rgb([128, 128, 128]));
        img.put_pixel(10, 10, image::Rgb([255, 255, 255]));
        let m = mean_of_discs(&img, &[[10.5, 10.5]], 3.0).unwrap();
        assert!((m[0] - srgb_to_linear(128)).abs() < 1e-12);
        // A disc wholly off the image has nothing to say.
        assert_eq!(mean_of_discs(&img, &[[-50.0, -50.0]], 3.0), None);
    }
}
