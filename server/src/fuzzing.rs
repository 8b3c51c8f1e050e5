//! The bodies of the fuzz targets in `fuzz/`: each takes the fuzzer's bytes, feeds them to the
//! code that reads a stranger's input exactly as the server does, and asserts what that code
//! promises (a panic is the failure the fuzzer reports). They live here, not in `fuzz/`, so that
//! `tests/fuzz_corpus.rs` runs the same checks on the seed corpus and its mutations in a plain
//! `cargo test`, with no instrumented build. How to run the fuzzers: `docs/development.md`.
use std::{net::IpAddr, sync::OnceLock};

use app::ws::{CameraMetadata, ServerMessage};
use axum::{
    body::Body,
    extract::{FromRequest, Multipart},
    http::{header::CONTENT_TYPE, HeaderValue, Request},
};
use bytes::Bytes;
use url::Host;

use crate::{
    api::faces::{
        upload::{self, MAX_IMAGE_BYTES, MAX_TEXT_BYTES},
        DECISION_FIELDS,
    },
    decode::{self, DecodeError, FRAME},
    error::Error,
    url_safety::{self, UrlPolicy},
    ws::{self, Command},
};

/// A binary WebSocket message as the capture loop takes it: refused above
/// [`ws::MAX_FRAME_BYTES`], otherwise decoded under the [`FRAME`] caps. A decoded frame is a
/// JPEG with pixels and within every cap; a size refusal names a size that is over a cap.
pub fn frame(data: &[u8]) {
    if data.len() > ws::MAX_FRAME_BYTES {
        return; // dropped with `frame_too_large` before any decoding
    }
    match decode::decode(data, &FRAME) {
        Ok(img) => {
            let (w, h) = img.dimensions();
            assert!(w > 0 && h > 0, "a decoded frame has pixels");
            assert!(
                w.max(h) <= FRAME.max_side && u64::from(w) * u64::from(h) <= FRAME.max_pixels,
                "a decoded frame of {w}×{h} exceeds the caps"
            );
            assert_eq!(img.as_raw().len(), w as usize * h as usize * 3);
            // The format is guessed from the magic bytes; frames are JPEG only.
            assert!(
                data.starts_with(&[0xFF, 0xD8, 0xFF]),
                "a frame without the JPEG signature was decoded"
            );
        }
        Err(DecodeError::TooManyPixels { width, height, .. }) => {
            assert!(
                width.max(height) > FRAME.max_side
                    || u64::from(width) * u64::from(height) > FRAME.max_pixels,
                "{width}×{height} was refused but is within the caps"
            );
        }
        Err(DecodeError::Empty) => assert!(data.is_empty()),
        Err(DecodeError::Format(_) | DecodeError::Invalid(_)) => {}
    }
}

/// Most bytes a bounded camera serialises to: every kept character of the label and the facing
/// mode escaped at worst as `\u00XX` (6 bytes), plus the keys and three numbers.
const MAX_CAMERA_JSON: usize =
    6 * (CameraMetadata::MAX_LABEL_CHARS + CameraMetadata::MAX_FACING_CHARS) + 200;

/// A text WebSocket message (always UTF-8: the WebSocket layer refuses anything else) as the
/// capture loop reads it. A `hello` yields camera metadata that is bounded, stays the same when
/// bounded again, serialises to a bounded size (it goes into the stored result and every
/// webhook) and reads back as itself; anything unreadable yields the `invalid_message` error.
pub fn client_message(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    match ws::read_text(text) {
        Ok(Command::Hello { camera, .. }) => {
            let chars = |s: &Option<String>| s.as_deref().map_or(0, |s| s.chars().count());
            assert!(chars(&camera.label) <= CameraMetadata::MAX_LABEL_CHARS);
            assert!(chars(&camera.facing_mode) <= CameraMetadata::MAX_FACING_CHARS);
            if let Some(rate) = camera.frame_rate {
                assert!(rate.is_finite() && (0.0..=1000.0).contains(&rate), "{rate}");
            }
            assert_eq!(camera.clone().bounded(), camera, "bounding is idempotent");
            let json = serde_json::to_string(&camera).expect("metadata serialises");
            assert!(
                json.len() <= MAX_CAMERA_JSON,
                "{} bytes: {json}",
                json.len()
            );
            let hello = format!(r#"{{"type":"hello","camera":{json}}}"#);
            let Ok(Command::Hello { camera: again, .. }) = ws::read_text(&hello) else {
                panic!("the stored metadata does not read back: {hello}");
            };
            // serde_json parses floats to within an ulp by default, not always bit-exactly.
            let close = |a: Option<f64>, b: Option<f64>| match (a, b) {
                (Some(a), Some(b)) => (a - b).abs() <= a.abs().max(f64::MIN_POSITIVE) * 1e-15,
                (a, b) => a == b,
            };
            assert!(close(again.frame_rate, camera.frame_rate));
            assert_eq!(
                CameraMetadata {
                    frame_rate: None,
                    ..again
                },
                CameraMetadata {
                    frame_rate: None,
                    ..camera
                }
            );
        }
        Ok(Command::FrameTime(t_ms)) => assert!(t_ms.is_finite()),
        Ok(Command::LightShown { t_ms, .. }) => assert!(t_ms.is_finite()),
        Ok(Command::Cancel) => {}
        Err(ServerMessage::Error { code, .. }) => assert_eq!(code, "invalid_message"),
        Err(other) => panic!("an unreadable message answered with {other:?}"),
    }
}

/// The field names of the three upload routes: `faces:compare`, `faces:detect`, `faces:analyze`.
const ROUTES: [(&[&str], &[&str]); 3] = [
    (&["source_image", "target_image"], DECISION_FIELDS),
    (&["image"], DECISION_FIELDS),
    (&["image"], &["attributes"]),
];

fn runtime() -> &'static tokio::runtime::Runtime {
    static RUNTIME: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RUNTIME.get_or_init(|| {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("a current-thread runtime")
    })
}

/// A multipart upload through axum's extractor and the routes' [`upload::read_form`]. The
/// input is one byte, a `Content-Type` line and the body: the byte picks the route's fields
/// (`byte % 3`) and the size of the chunks the body arrives in (`byte / 3`, 0 for one chunk),
/// so that boundaries split across chunks are exercised. An accepted form holds only bytes
/// that are in the body, within the caps; a refused one is the client's fault (4xx), never an
/// internal error.
pub fn multipart(data: &[u8]) {
    let Some((&pick, rest)) = data.split_first() else {
        return;
    };
    let (content_type, body) = match rest.iter().position(|&b| b == b'\n') {
        Some(i) => (&rest[..i], &rest[i + 1..]),
        None => (rest, &[][..]),
    };
    let (images, texts) = ROUTES[usize::from(pick % 3)];
    let chunk = usize::from(pick / 3);
    let body_bytes = Bytes::copy_from_slice(body);
    let chunks: Vec<Result<Bytes, std::convert::Infallible>> = if chunk == 0 {
        vec![Ok(body_bytes)]
    } else {
        (0..body.len())
            .step_by(chunk)
            .map(|i| Ok(body_bytes.slice(i..(i + chunk).min(body.len()))))
            .collect()
    };
    let mut request = Request::new(Body::from_stream(futures_util::stream::iter(chunks)));
    if let Ok(value) = HeaderValue::from_bytes(content_type) {
        request.headers_mut().insert(CONTENT_TYPE, value);
    }
    let form = runtime().block_on(async {
        let extracted = Multipart::from_request(request, &()).await;
        upload::read_form(extracted, images, texts).await
    });
    let contains =
        |needle: &[u8]| needle.is_empty() || body.windows(needle.len()).any(|w| w == needle);
    match form {
        Ok(mut form) => {
            for name in images {
                match form.image(name) {
                    Ok(bytes) => {
                        assert!(!bytes.is_empty() && bytes.len() <= MAX_IMAGE_BYTES);
                        assert!(contains(&bytes), "image `{name}` is not in the body");
                    }
                    Err(Error::EmptyImage | Error::InvalidRequest(_)) => {}
                    Err(other) => panic!("image `{name}`: {other:?}"),
                }
            }
            for name in texts {
                if let Some(text) = form.text(name) {
                    assert!(!text.is_empty() && text.len() <= MAX_TEXT_BYTES);
                    assert!(
                        contains(text.as_bytes()),
                        "text `{name}` is not in the body"
                    );
                }
            }
        }
        Err(err) => assert!(
            err.status().is_client_error(),
            "a malformed upload answered {}: {err:?}",
            err.status()
        ),
    }
}

/// An integrator's URL through the syntax check, under both policies. An accepted URL is
/// at most [`url_safety::MAX_URL_BYTES`] long once normalised (what is stored), https (http
/// only when insecure URLs are allowed), has no user name or password, and a host
/// that is not a non-public address literal or `localhost`; the check accepts its own output
/// unchanged (the webhook worker checks the stored URL again); and whatever the strict policy
/// accepts, the development policy accepts too.
pub fn url_safety(data: &[u8]) {
    let Ok(raw) = std::str::from_utf8(data) else {
        return; // URLs arrive in JSON strings
    };
    let strict = UrlPolicy {
        allow_insecure: false,
    };
    let dev = UrlPolicy {
        allow_insecure: true,
    };
    let strict_ok = url_safety::check_syntax(raw, strict);
    let dev_ok = url_safety::check_syntax(raw, dev);
    if raw.len() > url_safety::MAX_URL_BYTES {
        assert!(strict_ok.is_err() && dev_ok.is_err());
    }
    if let Ok(url) = &dev_ok {
        assert!(url.as_str().len() <= url_safety::MAX_URL_BYTES, "{url}");
        assert!(matches!(url.scheme(), "https" | "http"), "{url}");
        assert!(
            url.username().is_empty() && url.password().is_none(),
            "{url}"
        );
        assert!(url.host().is_some(), "{url}");
        let again = url_safety::check_syntax(url.as_str(), dev);
        assert_eq!(again.as_ref(), Ok(url), "the check refuses its own output");
    }
    let Ok(url) = strict_ok else {
        return;
    };
    assert_eq!(
        dev_ok.as_ref(),
        Ok(&url),
        "the development policy refuses what the strict one takes"
    );
    assert_eq!(url.scheme(), "https", "{url}");
    match url.host().expect("checked above") {
        Host::Ipv4(ip) => {
            assert!(url_safety::is_public(IpAddr::V4(ip)), "{url}");
            // The standard library's own classification, as an independent floor.
            assert!(
                !(ip.is_private()
                    || ip.is_loopback()
                    || ip.is_link_local()
                    || ip.is_unspecified()
                    || ip.is_broadcast()
                    || ip.is_multicast()
                    || ip.is_documentation()),
                "{url}"
            );
        }
        Host::Ipv6(ip) => {
            assert!(url_safety::is_public(IpAddr::V6(ip)), "{url}");
            assert!(
                !(ip.is_loopback() || ip.is_unspecified() || ip.is_multicast())
                    && ip.to_ipv4().is_none(),
                "{url}"
            );
        }
        Host::Domain(d) => {
            // An address is always a literal host, checked here, never a name to resolve. (The
            // URL parser drops one trailing dot before it looks for an address, as the WHATWG
            // standard says; `1.2.3.4..` is a name, that no resolver answers.)
            let name = d.strip_suffix('.').unwrap_or(d);
            assert!(name.parse::<IpAddr>().is_err(), "{url}");
            let lower = name.to_ascii_lowercase();
            assert!(
                !d.is_empty() && lower != "localhost" && !lower.ends_with(".localhost"),
                "{url}"
            );
        }
    }
    let again = url_safety::check_syntax(url.as_str(), strict);
    assert_eq!(again, Ok(url), "the check refuses its own output");
}
