//! REST bodies of the public contract (`docs/api.md`), shared by the server, the browser and
//! the generated OpenAPI document. Field names here are the contract: add only optional fields.
use serde::{Deserialize, Serialize};

pub mod collections;
mod faces;

pub use faces::*;

pub use crate::reason::Reason;

#[cfg(feature = "ssr")]
use utoipa::ToSchema;

/// How a session verifies liveness.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(ToSchema, sqlx::Type))]
#[cfg_attr(feature = "ssr", sqlx(type_name = "TEXT", rename_all = "snake_case"))]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    /// Random challenges (blink, turn, smile …).
    #[default]
    Active,
    /// Hold still facing the camera for about three seconds.
    Passive,
}

impl Mode {
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Active => "active",
            Mode::Passive => "passive",
        }
    }

    /// The mode named `name` (as [`Mode::as_str`] writes it).
    pub fn parse(name: &str) -> Option<Mode> {
        [Mode::Active, Mode::Passive]
            .into_iter()
            .find(|m| m.as_str() == name)
    }
}

/// Where a session is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(ToSchema, sqlx::Type))]
#[cfg_attr(feature = "ssr", sqlx(type_name = "TEXT", rename_all = "snake_case"))]
#[serde(rename_all = "snake_case")]
pub enum SessionStatus {
    Created,
    InProgress,
    Completed,
    Expired,
}

/// The authoritative outcome of a completed session.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(ToSchema, sqlx::Type))]
#[cfg_attr(feature = "ssr", sqlx(type_name = "TEXT", rename_all = "snake_case"))]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    Pass,
    Fail,
    Retry,
}

impl Verdict {
    /// The wire value.
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Pass => "pass",
            Verdict::Fail => "fail",
            Verdict::Retry => "retry",
        }
    }
}

/// The actions an active session can ask for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ChallengeKind {
    Blink,
    TurnLeft,
    TurnRight,
    Nod,
    Smile,
    MouthOpen,
}

impl ChallengeKind {
    /// The whole pool, in a fixed order (the server shuffles it per session).
    pub const ALL: [ChallengeKind; 6] = [
        ChallengeKind::Blink,
        ChallengeKind::TurnLeft,
        ChallengeKind::TurnRight,
        ChallengeKind::Nod,
        ChallengeKind::Smile,
        ChallengeKind::MouthOpen,
    ];

    /// The wire value.
    pub fn as_str(self) -> &'static str {
        match self {
            ChallengeKind::Blink => "blink",
            ChallengeKind::TurnLeft => "turn_left",
            ChallengeKind::TurnRight => "turn_right",
            ChallengeKind::Nod => "nod",
            ChallengeKind::Smile => "smile",
            ChallengeKind::MouthOpen => "mouth_open",
        }
    }
}

/// What `redirect_url` and `webhook_url` must look like (ECMA-262, as in the OpenAPI document):
/// an absolute `https` URI in RFC 3986's ASCII syntax (percent-encode anything else, write an
/// international host in its `xn--` form, not percent-encoded), a host, no user name or
/// password, an optional port.
/// The server checks it with this very pattern before its own URL rules (`docs/api.md`, "URL
/// rules"), so the document and the server cannot disagree on syntax.
pub const HTTPS_URL_PATTERN: &str = concat!(
    r"^[Hh][Tt][Tt][Pp][Ss]://",
    r"(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9._~!$&'()*+,;=-]+)",
    r"(?::[0-9]{1,5})?",
    r"(?:[/?#](?:[A-Za-z0-9._~!$&'()*+,;=:@/?#-]|%[0-9A-Fa-f]{2})*)?$",
);

/// Longest `redirect_url` or `webhook_url`, as sent and once normalised.
pub const MAX_URL_LEN: usize = 2048;

/// Longest `reference_id`, in characters.
pub const MAX_REFERENCE_CHARS: usize = 128;

/// `POST /api/v1/managed-session` request. Unknown fields are refused (`invalid_request`), so a
/// misspelt optional field cannot pass unnoticed.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(ToSchema))]
#[serde(deny_unknown_fields)]
pub struct ManagedSessionRequest {
    /// Where the browser returns after the verdict.
    #[cfg_attr(feature = "ssr", schema(schema_with = openapi::redirect_url))]
    pub redirect_url: String,
    /// Where the signed verdict is POSTed; `null`, absent or `""` for none.
    #[serde(default)]
    #[cfg_attr(feature = "ssr", schema(schema_with = openapi::webhook_url))]
    pub webhook_url: Option<String>,
    /// The integrator's own reference, echoed back (at most 128 characters, without U+0000).
    #[serde(default)]
    #[cfg_attr(feature = "ssr", schema(max_length = 128, pattern = r"^[^\u0000]*$"))]
    pub reference_id: Option<String>,
    /// `null` or absent: `active`.
    #[serde(default)]
    pub mode: Option<Mode>,
    /// UI language tag, e.g. `en` or `pt-BR`: letters, digits, `-` and `_`, at most 35.
    #[serde(default)]
    #[cfg_attr(feature = "ssr", schema(pattern = r"^[A-Za-z0-9_-]{1,35}$"))]
    pub locale: Option<String>,
}

/// `POST /api/v1/session` request (direct session, no API key). The whole body may also be
/// empty or `null`; unknown fields are refused.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(ToSchema))]
#[serde(deny_unknown_fields)]
pub struct DirectSessionRequest {
    /// `null` or absent: `active`.
    #[serde(default)]
    pub mode: Option<Mode>,
    /// CAPTCHA solution; required when CAPTCHA is enabled. For the built-in proof of work it is
    /// `"<challenge>:<nonce>"`.
    #[serde(default)]
    pub captcha: Option<String>,
    /// UI language tag, e.g. `en` or `pt-BR`: letters, digits, `-` and `_`, at most 35.
    #[serde(default)]
    #[cfg_attr(feature = "ssr", schema(pattern = r"^[A-Za-z0-9_-]{1,35}$"))]
    pub locale: Option<String>,
}

/// 201 answer to both session-creating routes.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(ToSchema))]
pub struct SessionCreated {
    #[cfg_attr(feature = "ssr", schema(format = Uuid))]
    pub session_id: String,
    /// The page to send the user to; holds the single-use capture secret.
    pub session_url: String,
    /// Result token, for the integrator's backend only.
    pub token: String,
    pub mode: Mode,
    /// RFC 3339 UTC.
    #[cfg_attr(feature = "ssr", schema(format = DateTime))]
    pub expires_at: String,
}

/// Per-layer scores in [0, 1].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(ToSchema))]
pub struct Layers {
    pub anti_spoof: f64,
    pub deepfake: f64,
    pub face_consistency: f64,
    pub motion: f64,
    /// Active mode only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub challenges: Option<f64>,
    /// The screen-light challenge: 1 when the face answered the light as a live face does, 0
    /// after a mismatch, 0.5 when it could not tell. It decides through proof and hard findings
    /// only and is not part of the weighted confidence.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub light: Option<f64>,
}

/// One challenge of an active session and whether it was met.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(ToSchema))]
pub struct ChallengeOutcome {
    pub kind: ChallengeKind,
    pub passed: bool,
}

/// `GET /api/v1/session/{id}/result`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(ToSchema))]
pub struct SessionResult {
    #[cfg_attr(feature = "ssr", schema(format = Uuid))]
    pub session_id: String,
    pub status: SessionStatus,
    pub mode: Mode,
    pub reference_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verdict: Option<Verdict>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub confidence: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub layers: Option<Layers>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub challenges: Option<Vec<ChallengeOutcome>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reasons: Option<Vec<Reason>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "ssr", schema(value_type = Option<Object>))]
    pub camera_metadata: Option<serde_json::Value>,
    #[cfg_attr(feature = "ssr", schema(format = DateTime))]
    pub created_at: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "ssr", schema(format = DateTime))]
    pub completed_at: Option<String>,
    pub photo_available: bool,
}

/// The body POSTed to a managed session's `webhook_url` once per final verdict.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(ToSchema))]
pub struct WebhookPayload {
    /// Always `liveness.verdict`.
    pub event: String,
    pub session_id: String,
    pub verdict: Verdict,
    pub confidence: f64,
    pub reference_id: Option<String>,
    #[cfg_attr(feature = "ssr", schema(value_type = Option<Object>))]
    pub camera_metadata: Option<serde_json::Value>,
    /// Coarse location of the capture, when known. iLive does no IP geolocation, so this is
    /// `null` unless a deployment fills it.
    #[cfg_attr(feature = "ssr", schema(value_type = Option<Object>))]
    pub location: Option<serde_json::Value>,
    /// RFC 3339 UTC time of the verdict.
    #[cfg_attr(feature = "ssr", schema(format = DateTime))]
    pub timestamp: String,
}

/// The one error shape of every route.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(ToSchema))]
pub struct ErrorBody {
    pub detail: ErrorDetail,
}

/// A stable machine `code` and a human message.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(ToSchema))]
pub struct ErrorDetail {
    pub code: String,
    pub message: String,
}

/// `GET /api/v1/captcha`: what a client needs to solve the CAPTCHA of a direct session.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(ToSchema))]
pub struct CaptchaInfo {
    /// `none`, `pow`, `turnstile` or `hcaptcha`.
    pub provider: String,
    /// Proof of work: the challenge string to extend with a nonce.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub challenge: Option<String>,
    /// Proof of work: leading zero bits required of SHA-256(`challenge:nonce`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub difficulty: Option<u32>,
    /// Turnstile / hCaptcha: the public site key for the widget.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub site_key: Option<String>,
}

/// `202` answer of the photo route while the session has not completed.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(ToSchema))]
pub struct PhotoPending {
    /// `created` or `in_progress`.
    pub status: SessionStatus,
}

/// Schemas that the derive cannot state, built from the same constants the server checks with.
#[cfg(feature = "ssr")]
mod openapi {
    use utoipa::openapi::{
        schema::{ObjectBuilder, OneOfBuilder, Schema, SchemaFormat, Type},
        Object,
    };

    use super::{HTTPS_URL_PATTERN, MAX_URL_LEN};

    fn https_url() -> ObjectBuilder {
        ObjectBuilder::new()
            .schema_type(Type::String)
            .format(Some(SchemaFormat::Custom("uri".into())))
            .pattern(Some(HTTPS_URL_PATTERN))
            .max_length(Some(MAX_URL_LEN))
    }

    const RULES: &str = "An absolute `https` URI (RFC 3986, ASCII: percent-encode anything else \
        and write an international host in its `xn--` form), without user name or password, at \
        most 2048 characters as sent and once normalised, port at most 65535. Its host must be \
        — and resolve only to — public unicast addresses: loopback, private, link-local, CGNAT, \
        multicast, reserved and documentation ranges and `localhost` are refused with 422, as is \
        a host that does not resolve. A server started with `ILIVE_DEV_ALLOW_INSECURE_URLS` (for \
        local development only) also takes `http` and any host.";

    pub fn redirect_url() -> Object {
        https_url()
            .description(Some(format!(
                "Where the browser returns after the verdict. {RULES}"
            )))
            .examples(["https://93.184.216.34/return?from=ilive"])
            .build()
    }

    pub fn webhook_url() -> Schema {
        OneOfBuilder::new()
            .item(https_url())
            .item(
                ObjectBuilder::new()
                    .schema_type(Type::String)
                    .max_length(Some(0)),
            )
            .item(ObjectBuilder::new().schema_type(Type::Null))
            .description(Some(format!(
                "Where the signed verdict is POSTed; `null`, absent or `\"\"` for none. {RULES}"
            )))
            .build()
            .into()
    }
}
