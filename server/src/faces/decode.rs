//! Decoding an uploaded image: JPEG, PNG or WebP to upright RGB, with the EXIF orientation
//! applied and pixel and memory caps against decompression bombs.
use std::io::Cursor;

use image::{
    metadata::Orientation, DynamicImage, ImageDecoder, ImageFormat, ImageReader, Limits, RgbImage,
};

use crate::error::{Error, Result};

/// Largest decoded side: an 8 MB file can hold a decompression bomb, so pixels are capped too.
const MAX_SIDE: u32 = 12_000;
/// Most memory the decoder may allocate.
const MAX_DECODE_ALLOC: u64 = 512 * 1024 * 1024;

fn invalid(e: impl std::fmt::Display) -> Error {
    Error::InvalidImage(e.to_string())
}

/// Decodes a JPEG, PNG or WebP upload to upright RGB: the EXIF orientation is applied, and
/// transparent pixels are composited onto white (so an RGBA PNG's hidden colour never shows).
pub fn decode(bytes: &[u8]) -> Result<RgbImage> {
    if bytes.is_empty() {
        return Err(Error::EmptyImage);
    }
    let mut reader = ImageReader::new(Cursor::new(bytes))
        .with_guessed_format()
        .map_err(invalid)?;
    match reader.format() {
        Some(ImageFormat::Jpeg | ImageFormat::Png | ImageFormat::WebP) => {}
        _ => {
            return Err(Error::InvalidImage(
                "not a JPEG, PNG or WebP image".to_owned(),
            ))
        }
    }
    let mut limits = Limits::default();
    limits.max_image_width = Some(MAX_SIDE);
    limits.max_image_height = Some(MAX_SIDE);
    limits.max_alloc = Some(MAX_DECODE_ALLOC);
    reader.limits(limits);
    let mut decoder = reader.into_decoder().map_err(invalid)?;
    // A malformed EXIF block should not cost the whole image: treat it as "no rotation".
    let orientation = decoder.orientation().unwrap_or(Orientation::NoTransforms);
    let mut img = DynamicImage::from_decoder(decoder).map_err(invalid)?;
    img.apply_orientation(orientation);
    if img.width() == 0 || img.height() == 0 {
        return Err(Error::InvalidImage("the image has no pixels".to_owned()));
    }
    Ok(if img.color().has_alpha() {
        flatten_on_white(&img)
    } else {
        img.to_rgb8()
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
