//! Multipart image uploads for the face routes: collecting the fields with the 8 MB cap per
//! image (decoding them is `crate::faces::decode`).
use std::collections::HashMap;

use axum::extract::{multipart::MultipartRejection, Multipart};
use bytes::{Bytes, BytesMut};

use crate::error::{Error, Result};

/// Largest accepted image, in bytes (docs/api.md: "upload over 8 MB" → `image_too_large`).
pub const MAX_IMAGE_BYTES: usize = 8 * 1024 * 1024;
/// Room for the text fields and the multipart framing around the images.
const FORM_SLACK: usize = 512 * 1024;
/// Body limit of the one-image routes (`faces:detect`, session compare).
pub const SINGLE_BODY_LIMIT: usize = MAX_IMAGE_BYTES + FORM_SLACK;
/// Body limit of `faces:compare` (two images).
pub const PAIR_BODY_LIMIT: usize = 2 * MAX_IMAGE_BYTES + FORM_SLACK;
/// Longest accepted text field (`threshold`, `attributes`, `external_id`): room for 128
/// characters of four UTF-8 bytes each, so that any `external_id` the JSON route takes fits.
pub const MAX_TEXT_BYTES: usize = 512;

/// The fields of one upload: images as raw bytes, text fields as strings.
#[derive(Debug, Default)]
pub struct Form {
    files: HashMap<String, Bytes>,
    text: HashMap<String, String>,
}

impl Form {
    /// The image field `name`, required and non-empty.
    pub fn image(&mut self, name: &str) -> Result<Bytes> {
        let bytes = self.files.remove(name).ok_or_else(|| {
            Error::InvalidRequest(format!(
                "the multipart field `{name}` (an image) is required"
            ))
        })?;
        if bytes.is_empty() {
            return Err(Error::EmptyImage);
        }
        Ok(bytes)
    }

    /// The text field `name`, trimmed; `None` when absent or blank.
    /// An optional text field; absent, empty or `null` all mean "use the default". A multipart
    /// part cannot be null, so clients generated from the OpenAPI document (where these fields
    /// are nullable) send the JSON `null` as the text `null`.
    pub fn text(&self, name: &str) -> Option<&str> {
        self.text
            .get(name)
            .map(|s| s.trim())
            .filter(|s| !s.is_empty() && *s != "null")
    }
}

fn multipart_error(e: axum::extract::multipart::MultipartError) -> Error {
    if e.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
        Error::ImageTooLarge(MAX_IMAGE_BYTES)
    } else {
        Error::InvalidRequest(format!("malformed multipart body: {}", e.body_text()))
    }
}

/// Reads a `multipart/form-data` body: `images` are collected as bytes (each at most
/// [`MAX_IMAGE_BYTES`]), `texts` as short strings; any other field is `invalid_request`. An image
/// over the cap is answered only after the body has been read to its end (within the route's
/// body limit), so the client sees the 413 rather than a reset connection.
pub async fn read_form(
    multipart: std::result::Result<Multipart, MultipartRejection>,
    images: &[&str],
    texts: &[&str],
) -> Result<Form> {
    let mut multipart = multipart.map_err(|e| {
        Error::InvalidRequest(format!(
            "send a multipart/form-data body: {}",
            e.body_text()
        ))
    })?;
    let mut form = Form::default();
    let mut too_large = false;
    while let Some(mut field) = multipart.next_field().await.map_err(multipart_error)? {
        let name = field.name().unwrap_or_default().to_owned();
        let is_image = images.contains(&name.as_str());
        let is_text = texts.contains(&name.as_str());
        if !(is_image || is_text) {
            // Refused rather than skipped, so that a misspelt `threshold` is not silently the
            // default (the OpenAPI document says `additionalProperties: false`).
            return Err(Error::InvalidRequest(format!(
                "unknown multipart field `{name}`: this route reads {}",
                images
                    .iter()
                    .chain(texts)
                    .map(|n| format!("`{n}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            )));
        }
        if form.files.contains_key(&name) || form.text.contains_key(&name) {
            return Err(Error::InvalidRequest(format!(
                "the multipart field `{name}` is repeated"
            )));
        }
        let cap = if is_image {
            MAX_IMAGE_BYTES
        } else {
            MAX_TEXT_BYTES
        };
        let mut buf = BytesMut::new();
        let mut over = false;
        while let Some(chunk) = field.chunk().await.map_err(multipart_error)? {
            if over {
                continue;
            }
            if buf.len() + chunk.len() > cap {
                over = true;
                buf.clear();
                continue;
            }
            buf.extend_from_slice(&chunk);
        }
        if is_image {
            too_large |= over;
            form.files.insert(name, buf.freeze());
        } else {
            if over {
                return Err(Error::InvalidRequest(format!(
                    "the multipart field `{name}` is too long"
                )));
            }
            let value = String::from_utf8(buf.to_vec()).map_err(|_| {
                Error::InvalidRequest(format!("the multipart field `{name}` is not UTF-8 text"))
            })?;
            form.text.insert(name, value);
        }
    }
    if too_large {
        return Err(Error::ImageTooLarge(MAX_IMAGE_BYTES));
    }
    Ok(form)
}
