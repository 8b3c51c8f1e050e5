//! The REST calls the pages make, over `fetch`: the CAPTCHA, creating a direct session (solving
//! the proof of work in slices so the page stays responsive), the result and the photo.
use serde::{de::DeserializeOwned, Serialize};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::{RequestInit, Response};

use crate::api::{CaptchaInfo, DirectSessionRequest, ErrorDetail, Mode, SessionCreated};
use crate::pow;
use crate::session_info::{SessionPageInfo, PAGE_INFO_PATH};
use crate::wire;

/// A failed call: the API's stable `code` (or `network` / `unsupported_captcha`).
#[derive(Debug, Clone, PartialEq)]
pub struct ApiError {
    pub status: u16,
    pub code: String,
    pub message: String,
}

impl ApiError {
    fn local(code: &str, err: &JsValue) -> Self {
        ApiError {
            status: 0,
            code: code.to_owned(),
            message: super::describe(err),
        }
    }
}

/// A request to the server; `body` is its content type and text.
async fn fetch(
    url: &str,
    method: &str,
    body: Option<(&str, String)>,
) -> Result<Response, ApiError> {
    let window = web_sys::window().ok_or_else(|| ApiError::local("network", &JsValue::NULL))?;
    let init = RequestInit::new();
    init.set_method(method);
    if let Some((content_type, body)) = body {
        let headers = js_sys::Object::new();
        let _ = js_sys::Reflect::set(
            &headers,
            &JsValue::from_str("content-type"),
            &JsValue::from_str(content_type),
        );
        init.set_headers(&headers);
        init.set_body(&JsValue::from_str(&body));
    }
    let resp = JsFuture::from(window.fetch_with_str_and_init(url, &init))
        .await
        .map_err(|e| ApiError::local("network", &e))?;
    resp.dyn_into()
        .map_err(|e: JsValue| ApiError::local("network", &e))
}

async fn text(resp: &Response) -> Result<String, ApiError> {
    let promise = resp.text().map_err(|e| ApiError::local("network", &e))?;
    let value = JsFuture::from(promise)
        .await
        .map_err(|e| ApiError::local("network", &e))?;
    Ok(value.as_string().unwrap_or_default())
}

/// A response's body read by `read` when it succeeded, else its error.
async fn answer<T>(
    resp: Response,
    read: impl FnOnce(&str) -> Result<T, String>,
) -> Result<T, ApiError> {
    let status = resp.status();
    let body = text(&resp).await?;
    if resp.ok() {
        return read(&body).map_err(|message| ApiError {
            status,
            code: "bad_response".into(),
            message,
        });
    }
    let detail = wire::parse(&body).as_ref().and_then(ErrorDetail::read_body);
    Err(match detail {
        Some(detail) => ApiError {
            status,
            code: detail.code,
            message: detail.message,
        },
        None => ApiError {
            status,
            code: "http_error".into(),
            message: format!("HTTP {status}"),
        },
    })
}

/// A JSON answer through serde: only the demo page's calls, whose bundle has serde anyway.
async fn json<T: DeserializeOwned>(resp: Response) -> Result<T, ApiError> {
    answer(resp, |body| {
        serde_json::from_str(body).map_err(|e| e.to_string())
    })
    .await
}

async fn get_json<T: DeserializeOwned>(url: &str) -> Result<T, ApiError> {
    json(fetch(url, "GET", None).await?).await
}

async fn post_json<B: Serialize, T: DeserializeOwned>(url: &str, body: &B) -> Result<T, ApiError> {
    let body = serde_json::to_string(body).map_err(|e| ApiError {
        status: 0,
        code: "invalid_request".into(),
        message: e.to_string(),
    })?;
    json(fetch(url, "POST", Some(("application/json", body))).await?).await
}

/// What the session page needs to know about its session, from the server function its SSR
/// calls ([`crate::session_info::load_session_page`]), given its arguments form-encoded as the
/// server function expects. Only needed when the page was not rendered with the answer.
pub async fn session_page_info(id: &str, capture: &str) -> Result<SessionPageInfo, ApiError> {
    let body = format!(
        "id={}&capture={}",
        js_sys::encode_uri_component(id),
        js_sys::encode_uri_component(capture)
    );
    let body = ("application/x-www-form-urlencoded", body);
    let resp = fetch(PAGE_INFO_PATH, "POST", Some(body)).await?;
    answer(resp, |body| body.parse().map_err(str::to_owned)).await
}

/// Solves a proof-of-work challenge, yielding to the browser between slices.
async fn solve_pow(challenge: &str, difficulty: u32) -> Option<String> {
    const SLICE: u64 = 20_000;
    let mut start = 0u64;
    while start < u64::MAX - SLICE {
        if let Some(nonce) = pow::search(challenge, difficulty, start, SLICE) {
            return Some(pow::solution(challenge, nonce));
        }
        start += SLICE;
        super::sleep(0).await;
    }
    None
}

/// Creates a direct session, answering the CAPTCHA first when the server asks for the built-in
/// proof of work. Third-party CAPTCHAs need their widget, which this page does not embed.
pub async fn create_direct_session(
    mode: Mode,
    locale: Option<String>,
) -> Result<SessionCreated, ApiError> {
    let info: CaptchaInfo = get_json("/api/v1/captcha").await?;
    let captcha = match info.provider.as_str() {
        "none" => None,
        "pow" => {
            let challenge = info.challenge.unwrap_or_default();
            let difficulty = info.difficulty.unwrap_or(0);
            solve_pow(&challenge, difficulty).await
        }
        other => {
            return Err(ApiError {
                status: 0,
                code: "unsupported_captcha".into(),
                message: format!("the {other} CAPTCHA needs its widget"),
            })
        }
    };
    let req = DirectSessionRequest {
        mode: Some(mode),
        captcha,
        locale,
    };
    post_json("/api/v1/session", &req).await
}

/// `GET /api/v1/session/{id}/result?token=`, into `SessionResult` or a subset of it.
pub async fn result<T: DeserializeOwned>(session_id: &str, token: &str) -> Result<T, ApiError> {
    get_json(&format!(
        "/api/v1/session/{}/result?token={}",
        js_sys::encode_uri_component(session_id),
        js_sys::encode_uri_component(token)
    ))
    .await
}

/// The photo's URL once it exists: polls while the server answers 202; `Ok(None)` when there
/// is no photo (the verdict was not `pass`).
pub async fn photo_url(session_id: &str, token: &str) -> Result<Option<String>, ApiError> {
    let url = format!(
        "/api/v1/session/{}/photo?token={}",
        js_sys::encode_uri_component(session_id),
        js_sys::encode_uri_component(token)
    );
    for _ in 0..30 {
        let resp = fetch(&url, "GET", None).await?;
        match resp.status() {
            200 => return Ok(Some(url)),
            202 => {
                let wait = resp
                    .headers()
                    .get("retry-after")
                    .ok()
                    .flatten()
                    .and_then(|s| s.trim().parse::<i32>().ok())
                    .unwrap_or(1)
                    .clamp(1, 5);
                super::sleep(wait * 1000).await;
            }
            404 => return Ok(None),
            _ => return json::<()>(resp).await.map(|_| None),
        }
    }
    Ok(None)
}

/// The capture secret in a `session_url` (`…?c=<secret>`).
pub fn capture_of(session_url: &str) -> Option<String> {
    let (_, query) = session_url.split_once('?')?;
    let raw = query
        .split('&')
        .find_map(|pair| pair.strip_prefix("c="))?
        .split('#')
        .next()?;
    js_sys::decode_uri_component(raw).ok()?.as_string()
}
