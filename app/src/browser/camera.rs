//! The front camera: checks that it can be asked for at all (secure context, in-app browsers),
//! `getUserMedia` at about 640×480, the problem screens its errors map to, and the metadata the
//! `hello` message reports.
use js_sys::{Object, Reflect};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::{MediaStream, MediaStreamConstraints, MediaStreamTrack};

use crate::flow::CameraProblem;
use crate::ws::CameraMetadata;

/// User-agent markers of in-app browsers (social and messaging apps' web views) that are known
/// to withhold the camera from pages.
const IN_APP_MARKERS: [&str; 12] = [
    "FBAN",
    "FBAV",
    "FB_IAB",
    "Instagram",
    "Line/",
    "MicroMessenger",
    "Twitter",
    "TikTok",
    "musical_ly",
    "Snapchat",
    "LinkedInApp",
    "Pinterest",
];

fn is_in_app_browser() -> bool {
    web_sys::window()
        .and_then(|w| w.navigator().user_agent().ok())
        .is_some_and(|ua| IN_APP_MARKERS.iter().any(|m| ua.contains(m)))
}

/// `navigator.mediaDevices.getUserMedia`, if the page may use it.
fn media_devices() -> Option<web_sys::MediaDevices> {
    let navigator = web_sys::window()?.navigator();
    let devices = Reflect::get(&navigator, &JsValue::from_str("mediaDevices")).ok()?;
    if devices.is_undefined() || devices.is_null() {
        return None;
    }
    let gum = Reflect::get(&devices, &JsValue::from_str("getUserMedia")).ok()?;
    gum.is_function().then(|| devices.unchecked_into())
}

/// Why the camera cannot even be requested here, if so.
pub fn precheck() -> Option<CameraProblem> {
    let window = web_sys::window()?;
    if !window.is_secure_context() {
        return Some(CameraProblem::Insecure);
    }
    if media_devices().is_none() {
        return Some(if is_in_app_browser() {
            CameraProblem::InApp
        } else {
            CameraProblem::Unsupported
        });
    }
    None
}

fn set(target: &Object, key: &str, value: &JsValue) {
    let _ = Reflect::set(target, &JsValue::from_str(key), value);
}

fn ideal(value: f64) -> JsValue {
    let o = Object::new();
    set(&o, "ideal", &JsValue::from_f64(value));
    o.into()
}

/// Opens the front camera at about 640×480.
pub async fn open() -> Result<MediaStream, CameraProblem> {
    if let Some(problem) = precheck() {
        return Err(problem);
    }
    let devices = media_devices().ok_or(CameraProblem::Unsupported)?;
    let video = Object::new();
    set(&video, "facingMode", &JsValue::from_str("user"));
    set(&video, "width", &ideal(640.0));
    set(&video, "height", &ideal(480.0));
    set(&video, "frameRate", &ideal(15.0));
    let constraints = Object::new();
    set(&constraints, "video", &video);
    set(&constraints, "audio", &JsValue::FALSE);
    let constraints: MediaStreamConstraints = constraints.unchecked_into();
    let promise = devices
        .get_user_media_with_constraints(&constraints)
        .map_err(|e| classify(&e))?;
    match JsFuture::from(promise).await {
        Ok(stream) => stream.dyn_into().map_err(|_| CameraProblem::Unsupported),
        Err(e) => Err(classify(&e)),
    }
}

/// Maps a `getUserMedia` rejection to the screen that explains it.
fn classify(err: &JsValue) -> CameraProblem {
    let name = Reflect::get(err, &JsValue::from_str("name"))
        .ok()
        .and_then(|n| n.as_string())
        .unwrap_or_default();
    leptos::logging::warn!("camera request failed: {}", super::describe(err));
    let in_app = is_in_app_browser();
    match name.as_str() {
        "NotAllowedError" | "PermissionDeniedError" | "SecurityError" if in_app => {
            CameraProblem::InApp
        }
        "NotAllowedError" | "PermissionDeniedError" | "SecurityError" => CameraProblem::Denied,
        "NotFoundError" | "DevicesNotFoundError" | "OverconstrainedError" => {
            CameraProblem::NotFound
        }
        "NotReadableError" | "TrackStartError" | "AbortError" => CameraProblem::InUse,
        _ if in_app => CameraProblem::InApp,
        _ => CameraProblem::Unsupported,
    }
}

fn video_track(stream: &MediaStream) -> Option<MediaStreamTrack> {
    stream.get_video_tracks().get(0).dyn_into().ok()
}

/// What `hello` reports about the camera, from `MediaStreamTrack.getSettings()`.
pub fn metadata(stream: &MediaStream) -> CameraMetadata {
    let Some(track) = video_track(stream) else {
        return CameraMetadata::default();
    };
    let settings: JsValue = track.get_settings().into();
    let num = |key: &str| {
        Reflect::get(&settings, &JsValue::from_str(key))
            .ok()
            .and_then(|v| v.as_f64())
    };
    let label = track.label();
    CameraMetadata {
        label: (!label.is_empty()).then_some(label),
        width: num("width").map(|v| v as u32),
        height: num("height").map(|v| v as u32),
        frame_rate: num("frameRate"),
        facing_mode: Reflect::get(&settings, &JsValue::from_str("facingMode"))
            .ok()
            .and_then(|v| v.as_string()),
    }
}

/// Turns the camera off (its light too).
pub fn stop(stream: &MediaStream) {
    for track in stream.get_tracks().iter() {
        if let Ok(track) = track.dyn_into::<MediaStreamTrack>() {
            track.stop();
        }
    }
}
