//! The service's error type and its one JSON shape: `{"detail":{"code","message"}}`.
//! Client mistakes map to 4xx with a stable code; internal failures are logged and answered with a
//! generic 500 that never echoes their text.
use axum::{
    http::{header, HeaderValue, StatusCode},
    response::{IntoResponse, Response},
    Json,
};

use app::api::{ErrorBody, ErrorDetail};

use crate::store;

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// `Retry-After` of `capture_in_progress`: a capture lasts at most 90 s.
pub const CAPTURE_RETRY_SECS: u64 = 10;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// 401: no `Authorization: Bearer` header.
    #[error("an API key is required: send `Authorization: Bearer iksk_…`")]
    MissingApiKey,
    /// 401: unknown or revoked key.
    #[error("the API key is not valid")]
    InvalidApiKey,
    /// 403: the key's tenant is disabled.
    #[error("this account is inactive")]
    AccountInactive,
    /// 400: malformed JSON, wrong types, bad values.
    #[error("{0}")]
    InvalidRequest(String),
    /// 400: an `operating_point` that is not one of the named ones.
    #[error("{0}")]
    InvalidOperatingPoint(String),
    /// 413: a JSON body over the limit.
    #[error("the request body is too large (limit {0} bytes)")]
    RequestTooLarge(usize),
    /// 422: `redirect_url` refused.
    #[error("redirect_url is not acceptable: {0}")]
    InvalidRedirectUrl(String),
    /// 422: `webhook_url` refused.
    #[error("webhook_url is not acceptable: {0}")]
    InvalidWebhookUrl(String),
    /// 403: CAPTCHA on and no solution given.
    #[error("a CAPTCHA solution is required (see GET /api/v1/captcha)")]
    CaptchaRequired,
    /// 403: CAPTCHA solution wrong, stale or reused.
    #[error("the CAPTCHA solution is not valid: {0}")]
    CaptchaInvalid(String),
    /// 404: unknown session id.
    #[error("no session with this id")]
    SessionNotFound,
    /// 410: session past its lifetime.
    #[error("this session has expired")]
    SessionExpired,
    /// 401: wrong result token or capture secret.
    #[error("the token is not valid for this session")]
    InvalidToken,
    /// 409: the capture link was already used.
    #[error("this verification link has already been used")]
    SessionAlreadyStarted,
    /// 409: erasure asked while the session's capture runs; retry once it has ended.
    #[error("the session's capture is running; erase it once it has ended (retry in {CAPTURE_RETRY_SECS} s)")]
    CaptureInProgress,
    /// 404: the verdict is not `pass`, so there is no photo.
    #[error("no photo: the session did not pass")]
    PhotoNotAvailable,
    /// 413: an uploaded image over 8 MB.
    #[error("the image is larger than {0} bytes")]
    ImageTooLarge(usize),
    /// 400: an empty upload.
    #[error("the image is empty")]
    EmptyImage,
    /// 400: an upload that is not a JPEG, PNG or WebP image.
    #[error("the image could not be decoded: {0}")]
    InvalidImage(String),
    /// 422: no face in the source image of a comparison.
    #[error("no face was found in the source image")]
    NoFaceInSource,
    /// 422: no face in the target image of a comparison.
    #[error("no face was found in the target image")]
    NoFaceInTarget,
    /// 429: too many requests; retry after `retry_after` seconds.
    #[error("too many requests: retry in {retry_after} s")]
    RateLimited { limit: u32, retry_after: u64 },
    /// 404: no route.
    #[error("no such route")]
    NotFound,
    /// 503: a dependency (database, models) is not ready.
    #[error("the service is not ready: {0}")]
    Unavailable(String),
    /// 503: the server already serves as many captures as its cores can analyse; retry after
    /// `retry_after` seconds (`crate::capacity`).
    #[error(
        "the server is busy: it serves as many captures as it can; try again in {retry_after} s"
    )]
    Capacity { retry_after: u64 },
    /// 500: anything internal; logged, never echoed.
    #[error("no collection with this collection_id")]
    CollectionNotFound,
    #[error("a collection with this collection_id already exists")]
    CollectionExists,
    #[error("no face with this face_id in the collection")]
    FaceNotFound,
    #[error("no face was found in the image")]
    NoFace,
    #[error("the collection already holds {0} faces, its most")]
    CollectionFull(i64),
    #[error("{0}")]
    CollectionTooLarge(String),
    #[error("the collection's faces were enrolled with a face descriptor this server no longer uses ({0}): enrol them again in a new collection")]
    CollectionOutdated(String),
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl From<sqlx::Error> for Error {
    fn from(e: sqlx::Error) -> Self {
        Error::Internal(e.into())
    }
}

/// The store's refusals as the API answers them. Only sessions are looked up by id from the
/// API, so a missing record is `session_not_found`.
impl From<crate::decode::DecodeError> for Error {
    fn from(e: crate::decode::DecodeError) -> Self {
        match e {
            crate::decode::DecodeError::Empty => Error::EmptyImage,
            other => Error::InvalidImage(other.to_string()),
        }
    }
}

impl From<store::Error> for Error {
    fn from(e: store::Error) -> Self {
        use store::Error as S;
        match e {
            S::NotFound => Error::SessionNotFound,
            S::Expired => Error::SessionExpired,
            S::WrongSecret => Error::InvalidToken,
            S::AlreadyStarted => Error::SessionAlreadyStarted,
            S::CaptureRunning => Error::CaptureInProgress,
            S::UnknownKey => Error::InvalidApiKey,
            S::TenantDisabled => Error::AccountInactive,
            S::NotOpen => Error::InvalidRequest(e.to_string()),
            S::Invalid(why) => Error::InvalidRequest(why),
            S::Exists => Error::CollectionExists,
            S::Full(n) => Error::CollectionFull(n),
            S::Database(e) => Error::Internal(e.into()),
            S::Json(e) => Error::Internal(e.into()),
        }
    }
}

impl Error {
    pub fn status(&self) -> StatusCode {
        use Error::*;
        match self {
            MissingApiKey | InvalidApiKey | InvalidToken => StatusCode::UNAUTHORIZED,
            AccountInactive | CaptchaRequired | CaptchaInvalid(_) => StatusCode::FORBIDDEN,
            InvalidRequest(_) | InvalidOperatingPoint(_) | EmptyImage | InvalidImage(_) => {
                StatusCode::BAD_REQUEST
            }
            RequestTooLarge(_) | ImageTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            InvalidRedirectUrl(_)
            | InvalidWebhookUrl(_)
            | NoFaceInSource
            | NoFaceInTarget
            | NoFace
            | CollectionTooLarge(_) => StatusCode::UNPROCESSABLE_ENTITY,
            SessionNotFound | PhotoNotAvailable | NotFound | CollectionNotFound | FaceNotFound => {
                StatusCode::NOT_FOUND
            }
            SessionExpired => StatusCode::GONE,
            SessionAlreadyStarted
            | CaptureInProgress
            | CollectionExists
            | CollectionFull(_)
            | CollectionOutdated(_) => StatusCode::CONFLICT,
            RateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
            Unavailable(_) | Capacity { .. } => StatusCode::SERVICE_UNAVAILABLE,
            Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// Every code [`Error::code`] returns. The OpenAPI document pins each error response's
    /// `detail.code` to the codes of this list that its description names.
    pub const CODES: [&'static str; 33] = [
        "missing_api_key",
        "invalid_api_key",
        "account_inactive",
        "invalid_request",
        "invalid_operating_point",
        "request_too_large",
        "invalid_redirect_url",
        "invalid_webhook_url",
        "captcha_required",
        "captcha_invalid",
        "session_not_found",
        "session_expired",
        "invalid_token",
        "session_already_started",
        "capture_in_progress",
        "photo_not_available",
        "image_too_large",
        "empty_image",
        "invalid_image",
        "no_face_in_source",
        "no_face_in_target",
        "rate_limited",
        "not_found",
        "not_ready",
        "capacity",
        "collection_not_found",
        "collection_exists",
        "face_not_found",
        "no_face",
        "collection_full",
        "collection_too_large",
        "collection_outdated",
        "internal_error",
    ];

    /// The stable machine code clients match on (each one listed in [`Error::CODES`]).
    pub fn code(&self) -> &'static str {
        use Error::*;
        match self {
            MissingApiKey => "missing_api_key",
            InvalidApiKey => "invalid_api_key",
            AccountInactive => "account_inactive",
            InvalidRequest(_) => "invalid_request",
            InvalidOperatingPoint(_) => "invalid_operating_point",
            RequestTooLarge(_) => "request_too_large",
            InvalidRedirectUrl(_) => "invalid_redirect_url",
            InvalidWebhookUrl(_) => "invalid_webhook_url",
            CaptchaRequired => "captcha_required",
            CaptchaInvalid(_) => "captcha_invalid",
            SessionNotFound => "session_not_found",
            SessionExpired => "session_expired",
            InvalidToken => "invalid_token",
            SessionAlreadyStarted => "session_already_started",
            CaptureInProgress => "capture_in_progress",
            PhotoNotAvailable => "photo_not_available",
            ImageTooLarge(_) => "image_too_large",
            EmptyImage => "empty_image",
            InvalidImage(_) => "invalid_image",
            NoFaceInSource => "no_face_in_source",
            NoFaceInTarget => "no_face_in_target",
            RateLimited { .. } => "rate_limited",
            NotFound => "not_found",
            Unavailable(_) => "not_ready",
            Capacity { .. } => "capacity",
            CollectionNotFound => "collection_not_found",
            CollectionExists => "collection_exists",
            FaceNotFound => "face_not_found",
            NoFace => "no_face",
            CollectionFull(_) => "collection_full",
            CollectionTooLarge(_) => "collection_too_large",
            CollectionOutdated(_) => "collection_outdated",
            Internal(_) => "internal_error",
        }
    }

    /// The JSON body for this error.
    pub fn body(&self) -> ErrorBody {
        let message = match self {
            Error::Internal(_) => "internal error; it has been logged".to_owned(),
            other => other.to_string(),
        };
        ErrorBody {
            detail: ErrorDetail {
                code: self.code().to_owned(),
                message,
            },
        }
    }
}

impl IntoResponse for Error {
    fn into_response(self) -> Response {
        if let Error::Internal(e) = &self {
            tracing::error!(error = ?e, "internal error");
        }
        let mut resp = (self.status(), Json(self.body())).into_response();
        if let Error::RateLimited { limit, retry_after } = self {
            let h = resp.headers_mut();
            h.insert(header::RETRY_AFTER, HeaderValue::from(retry_after.max(1)));
            h.insert("x-ratelimit-limit", HeaderValue::from(limit));
            h.insert("x-ratelimit-remaining", HeaderValue::from(0));
            h.insert("x-ratelimit-reset", HeaderValue::from(retry_after.max(1)));
        }
        if let Error::Capacity { retry_after } = self {
            resp.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(retry_after.max(1)));
        }
        if let Error::CaptureInProgress = self {
            resp.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(CAPTURE_RETRY_SECS));
        }
        resp
    }
}

#[cfg(test)]
mod tests {
    use super::Error;

    /// `CODES` lists exactly the codes of the variants, once each.
    #[test]
    fn the_code_list_is_complete() {
        use Error::*;
        let one_of_each = [
            MissingApiKey,
            InvalidApiKey,
            AccountInactive,
            InvalidRequest(String::new()),
            InvalidOperatingPoint(String::new()),
            RequestTooLarge(0),
            InvalidRedirectUrl(String::new()),
            InvalidWebhookUrl(String::new()),
            CaptchaRequired,
            CaptchaInvalid(String::new()),
            SessionNotFound,
            SessionExpired,
            InvalidToken,
            SessionAlreadyStarted,
            CaptureInProgress,
            PhotoNotAvailable,
            ImageTooLarge(0),
            EmptyImage,
            InvalidImage(String::new()),
            NoFaceInSource,
            NoFaceInTarget,
            RateLimited {
                limit: 1,
                retry_after: 1,
            },
            NotFound,
            Unavailable(String::new()),
            Capacity { retry_after: 1 },
            CollectionNotFound,
            CollectionExists,
            FaceNotFound,
            NoFace,
            CollectionFull(1),
            CollectionTooLarge(String::new()),
            CollectionOutdated(String::new()),
            Internal(anyhow::anyhow!("x")),
        ];
        let codes: Vec<&str> = one_of_each.iter().map(Error::code).collect();
        assert_eq!(codes, Error::CODES);
    }
}
