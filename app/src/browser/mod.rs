//! Browser-only glue, compiled with the `hydrate` feature: the camera, the verification
//! WebSocket with its frame pump, the screen-light challenge's painting, and `fetch` for the
//! REST API. Components call into it from event handlers, which only ever run in the browser.
pub mod camera;
pub mod capture;
pub mod http;
pub mod light;

use wasm_bindgen::JsValue;

/// Resolves after `ms` milliseconds (yields to the browser's event loop).
pub async fn sleep(ms: i32) {
    let promise = js_sys::Promise::new(&mut |resolve, _| {
        if let Some(window) = web_sys::window() {
            let _ = window.set_timeout_with_callback_and_timeout_and_arguments_0(&resolve, ms);
        }
    });
    let _ = wasm_bindgen_futures::JsFuture::from(promise).await;
}

/// The page's `location`, if there is a window.
pub fn location() -> Option<web_sys::Location> {
    web_sys::window().map(|w| w.location())
}

/// Changes the address bar to `url` (same origin) without loading it or adding a history entry.
pub fn replace_url(url: &str) {
    if let Some(history) = web_sys::window().and_then(|w| w.history().ok()) {
        let _ = history.replace_state_with_url(&wasm_bindgen::JsValue::NULL, "", Some(url));
    }
}

/// Sends the browser to `url`.
pub fn navigate(url: &str) {
    if let Some(loc) = location() {
        let _ = loc.assign(url);
    }
}

/// The browser's preferred language (`navigator.language`).
pub fn browser_language() -> Option<String> {
    web_sys::window()?.navigator().language()
}

/// A readable message from a JS exception value, for the console only.
pub fn describe(err: &JsValue) -> String {
    err.as_string()
        .or_else(|| {
            js_sys::Reflect::get(err, &JsValue::from_str("message"))
                .ok()
                .and_then(|m| m.as_string())
        })
        .unwrap_or_else(|| format!("{err:?}"))
}
