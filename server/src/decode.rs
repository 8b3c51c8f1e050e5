//! Image decoding for every path that takes pixels from a stranger: the capture WebSocket's
//! frames and the face routes' uploads. An image's header declares its size before a single
//! pixel is decoded, and a few hundred bytes can declare gigapixels: every path reads the header
//! first, refuses sizes beyond its [`Caps`], and decodes under an allocation limit. The caps and
//! what they bound are in `docs/threat-model.md`.
use std::io::Cursor;

use image::{
    metadata::Orientation, DynamicImage, ImageDecoder, ImageFormat, ImageReader, Limits, RgbImage,
};

/// What one path accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Caps {
    /// The formats taken; anything else is refused before decoding.
    pub formats: &'static [ImageFormat],
    /// Longest side, in pixels.
    pub max_side: u32,
    /// Most pixels.
    pub max_pixels: u64,
    /// Most memory the decoder may allocate, in bytes.
    pub max_alloc: u64,
}

/// Camera frames: JPEG only (the protocol's format), at most 1920 px on a side (webcams stream
/// at most 1080p; the page sends ≤ 640 px) and 1920 × 1920 pixels; 64 MiB to decode.
pub const FRAME: Caps = Caps {
    formats: &[ImageFormat::Jpeg],
    max_side: 1920,
    max_pixels: 1920 * 1920,
    max_alloc: 64 << 20,
};

/// Uploaded photos: JPEG, PNG or WebP, at most 8192 px on a side and 40 megapixels (a 48 MP
/// phone sensor saves 12 MP by default); 512 MiB to decode (a 16-bit PNG at the cap needs 480).
pub const UPLOAD: Caps = Caps {
    formats: &[ImageFormat::Jpeg, ImageFormat::Png, ImageFormat::WebP],
    max_side: 8192,
    max_pixels: 40_000_000,
    max_alloc: 512 << 20,
};

/// Why an image was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// No bytes at all.
    #[error("the image is empty")]
    Empty,
    /// A format the path does not take.
    #[error("not a {0} image")]
    Format(&'static str),
    /// The header declares more pixels than the path takes.
    #[error("the image declares {width}×{height} pixels; at most {max_side} px a side and {max_mp} megapixels are accepted")]
    TooManyPixels {
        width: u32,
        height: u32,
        max_side: u32,
        max_mp: u64,
    },
    /// The bytes do not decode.
    #[error("{0}")]
    Invalid(String),
}

impl Caps {
    fn names(&self) -> &'static str {
        if self.formats == [ImageFormat::Jpeg] {
            "JPEG"
        } else {
            "JPEG, PNG or WebP"
        }
    }

    fn check(&self, width: u32, height: u32) -> Result<(), DecodeError> {
        let fits = width.max(height) <= self.max_side
            && u64::from(width) * u64::from(height) <= self.max_pixels;
        if fits && width > 0 && height > 0 {
            return Ok(());
        }
        if width == 0 || height == 0 {
            return Err(DecodeError::Invalid("the image has no pixels".to_owned()));
        }
        Err(DecodeError::TooManyPixels {
            width,
            height,
            max_side: self.max_side,
            max_mp: self.max_pixels / 1_000_000,
        })
    }
}

fn invalid(e: impl std::fmt::Display) -> DecodeError {
    DecodeError::Invalid(e.to_string())
}

/// Decodes an image under `caps` to upright RGB: the header is checked before any pixel is
/// decoded, the EXIF orientation is applied, and transparent pixels are composited onto white
/// (so an RGBA PNG's hidden colour never shows).
pub fn decode(bytes: &[u8], caps: &Caps) -> Result<RgbImage, DecodeError> {
    if bytes.is_empty() {
        return Err(DecodeError::Empty);
    }
    let reader = |limits: Limits| {
        let mut r = ImageReader::new(Cursor::new(bytes))
            .with_guessed_format()
            .map_err(invalid)?;
        r.limits(limits);
        Ok::<_, DecodeError>(r)
    };
    let header = reader(Limits::no_limits())?;
    if !header.format().is_some_and(|f| caps.formats.contains(&f)) {
        return Err(DecodeError::Format(caps.names()));
    }
    // The header alone: no pixel is decoded before its declared size is checked.
    let (width, height) = header.into_dimensions().map_err(invalid)?;
    caps.check(width, height)?;
    let mut limits = Limits::default();
    limits.max_image_width = Some(caps.max_side);
    limits.max_image_height = Some(caps.max_side);
    limits.max_alloc = Some(caps.max_alloc);
    let mut decoder = reader(limits)?.into_decoder().map_err(invalid)?;
    // A malformed EXIF block should not cost the whole image: treat it as "no rotation".
    let orientation = decoder.orientation().unwrap_or(Orientation::NoTransforms);
    let mut img = DynamicImage::from_decoder(decoder).map_err(invalid)?;
    img.apply_orientation(orientation);
    Ok(if img.color().has_alpha() {
        flatten_on_white(&img)
    } else {
        img.into_rgb8()
    })
}

fn flatten_on_white(img: &DynamicImage) -> RgbImage {
    let rgba = img.to_rgba8();
    RgbImage::from_fn(rgba.width(), rgba.height(), |x, y| {
        let p = rgba.get_pixel(x, y).0;
        let a = u16::from(p[3]);
        let mix = |c: u8| ((u16::from(c) * a + 255 * (255 - a) + 127) / 255) as u8;
        image::Rgb([mix(p[0]), mix(p[1]), mix(p[2])])
    })
}

/// A valid JPEG of `w × h` grey pixels whose header is rewritten to declare `dw × dh`: the
/// decompression bomb's shape (a few hundred bytes declaring gigapixels).
#[doc(hidden)]
pub fn jpeg_declaring(w: u32, h: u32, dw: u16, dh: u16) -> Vec<u8> {
    let img = RgbImage::from_pixel(w, h, image::Rgb([128, 128, 128]));
    let mut out = Vec::new();
    let _ = img.write_to(&mut Cursor::new(&mut out), ImageFormat::Jpeg);
    // The baseline frame header: FF C0, length (2), precision (1), height (2), width (2).
    if let Some(i) = out.windows(2).position(|m| m == [0xFF, 0xC0]) {
        out[i + 5..i + 7].copy_from_slice(&dh.to_be_bytes());
        out[i + 7..i + 9].copy_from_slice(&dw.to_be_bytes());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn encode(img: &RgbImage, format: ImageFormat) -> Vec<u8> {
        let mut out = Vec::new();
        img.write_to(&mut Cursor::new(&mut out), format).unwrap();
        out
    }

    #[test]
    fn a_declared_gigapixel_frame_is_refused_before_decoding() {
        let bomb = jpeg_declaring(16, 16, 23_000, 23_000);
        assert!(bomb.len() < 1000);
        let started = std::time::Instant::now();
        let err = decode(&bomb, &FRAME).unwrap_err();
        assert!(
            matches!(err, DecodeError::TooManyPixels { width: 23_000, .. }),
            "{err}"
        );
        // Reading a header is microseconds; decoding the declared pixels would be seconds.
        assert!(started.elapsed() < std::time::Duration::from_millis(500));
        assert!(matches!(
            decode(&bomb, &UPLOAD),
            Err(DecodeError::TooManyPixels { .. })
        ));
    }

    #[test]
    fn frames_are_jpeg_only_and_uploads_take_png() {
        let img = RgbImage::from_pixel(32, 24, image::Rgb([10, 200, 30]));
        let png = encode(&img, ImageFormat::Png);
        assert_eq!(decode(&png, &FRAME), Err(DecodeError::Format("JPEG")));
        assert_eq!(decode(&png, &UPLOAD).unwrap().dimensions(), (32, 24));
        let jpeg = encode(&img, ImageFormat::Jpeg);
        assert_eq!(decode(&jpeg, &FRAME).unwrap().dimensions(), (32, 24));
        assert_eq!(decode(&[], &FRAME), Err(DecodeError::Empty));
    }

    #[test]
    fn a_frame_over_the_side_cap_is_refused() {
        let wide = encode(&RgbImage::new(1921, 8), ImageFormat::Jpeg);
        assert!(matches!(
            decode(&wide, &FRAME),
            Err(DecodeError::TooManyPixels { .. })
        ));
        assert!(decode(&wide, &UPLOAD).is_ok());
    }
}
