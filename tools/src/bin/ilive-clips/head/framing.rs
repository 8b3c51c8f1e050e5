//! Framing: a photo rotated, scaled and cropped so that its eyes sit at a fixed place and
//! spacing in the clip, and the landmarks FaceMesh finds on the framed picture (the rest pose).

use anyhow::{bail, Context, Result};
use image::RgbImage;
use models::{AnalyzeOptions, FaceModels, Landmarks};

use crate::canvas::Canvas;

/// Where the eyes go in the frame, as fractions of the frame width/height (a webcam selfie at
/// arm's length: the face is about half the frame height).
#[derive(Debug, Clone, Copy)]
pub struct Placement {
    /// Midpoint of the eyes, fractions of width and height.
    pub eyes_at: [f32; 2],
    /// Distance between the eye centres as a fraction of the width.
    pub eye_distance: f32,
}

impl Default for Placement {
    fn default() -> Self {
        Self {
            eyes_at: [0.5, 0.42],
            eye_distance: 0.16,
        }
    }
}

/// A framed photo and the landmarks FaceMesh finds on it.
#[derive(Debug, Clone)]
pub struct Subject {
    pub base: Canvas,
    pub lm: Landmarks,
}

/// The best face of an image, or an error naming the image.
pub fn landmarks_of(models: &FaceModels, img: &RgbImage, what: &str) -> Result<Landmarks> {
    let opts = AnalyzeOptions {
        max_faces: 1,
        ..Default::default()
    };
    let faces = models
        .analyze(img, &opts)
        .with_context(|| format!("analysing {what}"))?;
    match faces.into_iter().next() {
        Some(f) => Ok(f.landmarks),
        None => bail!("no face found in {what}"),
    }
}

impl Subject {
    /// Frames `photo` to `w×h` with the eyes placed by `place` and analyses the result.
    pub fn frame(
        models: &FaceModels,
        photo: &RgbImage,
        what: &str,
        w: usize,
        h: usize,
        place: Placement,
    ) -> Result<Self> {
        let lm = landmarks_of(models, photo, what)?;
        let base = frame_photo(photo, &lm, w, h, place);
        let lm = landmarks_of(models, &base.to_rgb8(), &format!("{what} (framed)"))?;
        Ok(Self { base, lm })
    }
}

/// Rotates, scales and crops `photo` so that its eyes land where `place` says (exactly, when
/// the photo is large enough to fill the frame; otherwise the scale grows until it fills, and
/// the crop slides to stay inside the photo).
pub fn frame_photo(
    photo: &RgbImage,
    lm: &Landmarks,
    w: usize,
    h: usize,
    place: Placement,
) -> Canvas {
    let [er, el] = lm.eye_centres();
    let angle = (el[1] - er[1]).atan2(el[0] - er[0]);
    let ie = lm.inter_eye().max(1.0);
    let (pw, ph) = (photo.width() as f32, photo.height() as f32);
    // Output pixels per photo pixel.
    let s = (place.eye_distance * w as f32 / ie)
        .max(w as f32 / pw)
        .max(h as f32 / ph);
    // Downscaling by more than a little aliases with bilinear sampling: resize first with an
    // area-aware filter, so that the remaining map is (close to) a rotation.
    let (src, s_rest) = if s < 0.9 {
        let nw = (pw * s).round().max(1.0) as u32;
        let nh = (ph * s).round().max(1.0) as u32;
        let small = image::imageops::resize(photo, nw, nh, image::imageops::FilterType::Triangle);
        (Canvas::from_rgb8(&small), 1.0)
    } else {
        (Canvas::from_rgb8(photo), s)
    };
    let k = s / s_rest; // photo → src
    let emid = [(er[0] + el[0]) / 2.0 * k, (er[1] + el[1]) / 2.0 * k];
    let (sin, cos) = angle.sin_cos();
    // out → src: src = centre + R(angle)·(out − out_centre)/s_rest
    let target = [place.eyes_at[0] * w as f32, place.eyes_at[1] * h as f32];
    let (hw, hh) = (w as f32 / 2.0, h as f32 / 2.0);
    let d = [(hw - target[0]) / s_rest, (hh - target[1]) / s_rest];
    let mut c = [
        emid[0] + cos * d[0] - sin * d[1],
        emid[1] + sin * d[0] + cos * d[1],
    ];
    // Keep the crop inside the photo where it can be.
    let (ew, eh) = (hw / s_rest, hh / s_rest);
    let (sw, sh) = (src.w as f32, src.h as f32);
    if sw >= 2.0 * ew {
        c[0] = c[0].clamp(ew, sw - ew);
    }
    if sh >= 2.0 * eh {
        c[1] = c[1].clamp(eh, sh - eh);
    }
    let mut out = Canvas::new(w, h, [0.0; 3]);
    out.map_pixels(|x, y, _| {
        let (ox, oy) = (
            (x as f32 + 0.5 - hw) / s_rest,
            (y as f32 + 0.5 - hh) / s_rest,
        );
        src.sample(c[0] + cos * ox - sin * oy, c[1] + sin * ox + cos * oy)
    });
    out
}
