//! Liveness sessions (v1): creation (managed with an API key, or direct), the result and the
//! photo.
use axum::{
    extract::{RawQuery, State},
    http::{header, HeaderValue, StatusCode},
    response::{IntoResponse, Response},
    routing::{delete, get, post, MethodRouter},
    Json, Router,
};
use tower_http::cors::CorsLayer;
use tracing::instrument;

use app::api::{
    CaptchaInfo, DirectSessionRequest, ErrorBody, ManagedSessionRequest, PhotoPending,
    SessionCreated, SessionResult, SessionStatus, Verdict, MAX_REFERENCE_CHARS,
};

use super::openapi::{Jpeg, RateLimited, ResultToken, SessionId};
use crate::{
    error::{Error, Result},
    extract::{query_param, rate_key, ApiJson, ApiKey, ApiPath, ClientIp, OptionalJson},
    store::{
        self,
        sessions::{self, NewSession, ResultDetails, Session, SessionKind},
        tenants::Principal,
    },
    url_safety::{self, UrlPolicy},
    AppState,
};

/// The session routes. `cors` goes on the routes a browser page on another origin may call
/// (`crate::cors`); the keyed ones never get it.
pub fn router(cors: Option<CorsLayer>) -> Router<AppState> {
    let public = |route: MethodRouter<AppState>| match &cors {
        Some(layer) => route.layer(layer.clone()),
        None => route,
    };
    Router::new()
        .route("/api/v1/managed-session", post(create_managed))
        .route("/api/v1/session", public(post(create_direct)))
        .route("/api/v1/session/{id}", delete(erase))
        .route("/api/v1/captcha", public(get(captcha)))
        .route("/api/v1/session/{id}/result", public(get(result)))
        .route("/api/v1/session/{id}/photo", public(get(photo)))
}

/// Create a managed session for one of your users.
#[utoipa::path(
    post, path = "/api/v1/managed-session", tag = "sessions",
    request_body = ManagedSessionRequest,
    security(("api_key" = [])),
    responses(
        (status = 201, body = SessionCreated,
            description = "Created; send the user to `session_url`. The links name the routes that use its id and token."),
        (status = 400, body = ErrorBody, description = "`invalid_request`: not a JSON object (or no `Content-Type: application/json`), a field of the wrong type, an unknown field, a `reference_id` over 128 characters or with U+0000, a `locale` that is not a language tag"),
        (status = 401, body = ErrorBody, description = "`missing_api_key` / `invalid_api_key`"),
        (status = 403, body = ErrorBody, description = "`account_inactive`"),
        (status = 413, body = ErrorBody, description = "`request_too_large`: over 64 KiB"),
        (status = 422, body = ErrorBody, description = "`invalid_redirect_url` / `invalid_webhook_url`: the URL breaks the rules of its schema or names a non-public address; a `webhook_url` host must also resolve, only to public addresses"),
        (status = 429, response = RateLimited),
    )
)]
#[instrument(skip_all, err)]
async fn create_managed(
    State(state): State<AppState>,
    ApiKey(principal): ApiKey,
    ApiJson(req): ApiJson<ManagedSessionRequest>,
) -> Result<Response> {
    let rate = state
        .limits
        .check(&principal.rate_key(), state.config.key_rate_limit)?;
    let policy = state.url_policy();
    // Only the person's browser follows `redirect_url`, never this server, so its host is not
    // resolved (a tour or a test without DNS works); its syntax and any literal address are
    // checked. `webhook_url`, which the server calls, is resolved and checked in full.
    let redirect_url =
        url_safety::check_syntax(&req.redirect_url, policy).map_err(Error::InvalidRedirectUrl)?;
    let webhook_url = match req.webhook_url.as_deref().filter(|u| !u.is_empty()) {
        Some(raw) => Some(
            url_safety::check(raw, policy)
                .await
                .map_err(Error::InvalidWebhookUrl)?,
        ),
        None => None,
    };
    if let Some(r) = &req.reference_id {
        super::check_text("reference_id", r, MAX_REFERENCE_CHARS)?;
    }
    let new = NewSession {
        tenant_id: principal.tenant_id().map(str::to_owned),
        kind: SessionKind::Managed,
        mode: req.mode.unwrap_or_default(),
        signed_webhooks: matches!(principal, Principal::Tenant { .. }),
        redirect_url: Some(redirect_url.into()),
        webhook_url: webhook_url.map(Into::into),
        reference_id: req.reference_id,
        locale: check_locale(req.locale)?,
        ttl_secs: state.config.session_ttl_secs,
        retention_secs: state.config.retention_secs,
    };
    let created = create(&state, new).await?;
    Ok((StatusCode::CREATED, rate, Json(created)).into_response())
}

/// Create a direct session (demos and standalone apps; no webhook, no redirect).
#[utoipa::path(
    post, path = "/api/v1/session", tag = "sessions",
    request_body(content = Option<DirectSessionRequest>, description = "Optional: an empty body or `null` means no options."),
    responses(
        (status = 201, body = SessionCreated,
            description = "Created; send the user to `session_url`. The links name the routes that use its id and token."),
        (status = 400, body = ErrorBody, description = "`invalid_request`: not a JSON object or `null`, a field of the wrong type, an unknown field, a `locale` that is not a language tag"),
        (status = 403, body = ErrorBody, description = "`captcha_required` / `captcha_invalid`"),
        (status = 413, body = ErrorBody, description = "`request_too_large`: over 64 KiB"),
        (status = 429, response = RateLimited),
        (status = 503, body = ErrorBody, headers(("Retry-After" = u64, description = "With `capacity`: seconds to wait.")),
            description = "`capacity`: every capture slot is taken; retry after `Retry-After` seconds. `not_ready`: a remote CAPTCHA provider is unavailable."),
    )
)]
#[instrument(skip_all, err)]
async fn create_direct(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    OptionalJson(req): OptionalJson<DirectSessionRequest>,
) -> Result<Response> {
    let rate = state.limits.check(
        &format!("ip:{}", rate_key(ip)),
        state.config.direct_rate_limit,
    )?;
    let locale = check_locale(req.locale)?;
    // A direct session's page connects at once: refuse it now rather than at its upgrade. Full
    // already, it is refused before its CAPTCHA solution is spent; the slot itself is taken
    // after the CAPTCHA, so requests without a valid one never hold a slot.
    let refused = |e| {
        state
            .metrics
            .inc("ilive_capacity_refusals_total", &[("at", "create")]);
        e
    };
    state.capacity.check().map_err(refused)?;
    state
        .captcha
        .verify(&state.db, req.captcha.as_deref(), &ip.to_string())
        .await?;
    let slot = state.capacity.reserve().map_err(refused)?;
    let new = NewSession {
        tenant_id: None,
        kind: SessionKind::Direct,
        mode: req.mode.unwrap_or_default(),
        signed_webhooks: false,
        redirect_url: None,
        webhook_url: None,
        reference_id: None,
        locale,
        ttl_secs: state.config.session_ttl_secs,
        retention_secs: state.config.retention_secs,
    };
    let created = create(&state, new).await?;
    slot.bind(&created.session_id);
    Ok((StatusCode::CREATED, rate, Json(created)).into_response())
}

/// What a client needs to solve the direct-session CAPTCHA (a fresh challenge for proof of
/// work).
#[utoipa::path(get, path = "/api/v1/captcha", tag = "sessions",
    responses((status = 200, body = CaptchaInfo)))]
async fn captcha(State(state): State<AppState>) -> Json<CaptchaInfo> {
    Json(state.captcha.info())
}

async fn create(state: &AppState, new: NewSession) -> Result<SessionCreated> {
    let (kind, mode) = (new.kind, new.mode);
    let created = sessions::create(&state.db, new).await?;
    state.metrics.inc(
        "ilive_sessions_created_total",
        &[
            (
                "kind",
                if kind == SessionKind::Managed {
                    "managed"
                } else {
                    "direct"
                },
            ),
            ("mode", mode.as_str()),
        ],
    );
    let s = &created.session;
    Ok(SessionCreated {
        session_url: format!(
            "{}/session/{}?c={}",
            state.config.public_base(),
            s.id,
            created.capture
        ),
        session_id: s.id.clone(),
        token: created.token,
        mode: s.mode,
        expires_at: store::rfc3339(s.expires_at),
    })
}

fn check_locale(locale: Option<String>) -> Result<Option<String>> {
    match locale {
        Some(l)
            if l.is_empty()
                || l.len() > 35
                || !l
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_') =>
        {
            Err(Error::InvalidRequest(
                "locale must be a language tag such as \"en\" or \"pt-BR\"".into(),
            ))
        }
        other => Ok(other),
    }
}

/// Loads a session and checks its result token (from `?token=`).
pub(crate) async fn authorised(state: &AppState, id: &str, query: Option<&str>) -> Result<Session> {
    let session = sessions::require(&state.db, id).await?;
    let token = query_param(query, "token").unwrap_or_default();
    session.check_token(&token)?;
    Ok(session)
}

/// The session's status and, once completed, its verdict.
#[utoipa::path(
    get, path = "/api/v1/session/{id}/result", tag = "sessions",
    params(SessionId, ResultToken),
    responses(
        (status = 200, body = SessionResult),
        (status = 400, body = ErrorBody, description = "`invalid_request`: a path segment that is not UTF-8 once percent-decoded"),
        (status = 401, body = ErrorBody, description = "`invalid_token`"),
        (status = 404, body = ErrorBody, description = "`session_not_found`"),
        (status = 410, body = ErrorBody, description = "`session_expired` (reported before a wrong token)"),
    )
)]
#[instrument(skip_all, err)]
async fn result(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<String>,
    RawQuery(query): RawQuery,
) -> Result<Json<SessionResult>> {
    let s = authorised(&state, &id, query.as_deref()).await?;
    let photo_available = s.status == SessionStatus::Completed
        && s.verdict == Some(Verdict::Pass)
        && sessions::has_photo(&state.db, &s.id).await?;
    let details: Option<ResultDetails> = s
        .result_json
        .as_deref()
        .map(serde_json::from_str)
        .transpose()
        .map_err(anyhow::Error::from)?;
    let camera_metadata = s
        .camera_metadata
        .as_deref()
        .map(serde_json::from_str)
        .transpose()
        .map_err(anyhow::Error::from)?;
    let (layers, challenges, reasons) = match details {
        Some(d) => (d.layers, Some(d.challenges), Some(d.reasons)),
        None => (None, None, None),
    };
    Ok(Json(SessionResult {
        session_id: s.id,
        status: s.status,
        mode: s.mode,
        reference_id: s.reference_id,
        verdict: s.verdict,
        confidence: s.confidence,
        layers,
        challenges,
        reasons,
        camera_metadata,
        created_at: store::rfc3339(s.created_at),
        completed_at: s.completed_at.map(store::rfc3339),
        photo_available,
    }))
}

/// The 480×600 portrait of a passed session.
#[utoipa::path(
    get, path = "/api/v1/session/{id}/photo", tag = "sessions",
    params(SessionId, ResultToken),
    responses(
        (status = 200, content_type = "image/jpeg", body = inline(Jpeg), description = "480×600 JPEG",
            headers(("Cache-Control" = String, description = "`no-store`"))),
        (status = 400, body = ErrorBody, description = "`invalid_request`: a path segment that is not UTF-8 once percent-decoded"),
        (status = 202, body = PhotoPending, description = "The session has not completed yet: retry after `Retry-After` seconds.",
            headers(("Retry-After" = u64, description = "Seconds to wait (2)."))),
        (status = 401, body = ErrorBody, description = "`invalid_token`"),
        (status = 404, body = ErrorBody, description = "`session_not_found` / `photo_not_available` (the verdict is not `pass`)"),
        (status = 410, body = ErrorBody, description = "`session_expired`"),
    )
)]
#[instrument(skip_all, err)]
async fn photo(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<String>,
    RawQuery(query): RawQuery,
) -> Result<Response> {
    let s = authorised(&state, &id, query.as_deref()).await?;
    if s.status != SessionStatus::Completed {
        let mut resp = (
            StatusCode::ACCEPTED,
            Json(PhotoPending { status: s.status }),
        )
            .into_response();
        resp.headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from_static("2"));
        return Ok(resp);
    }
    if s.verdict != Some(Verdict::Pass) {
        return Err(Error::PhotoNotAvailable);
    }
    let jpeg = sessions::photo(&state.db, &s.id)
        .await?
        .ok_or(Error::PhotoNotAvailable)?;
    Ok((
        [
            (header::CONTENT_TYPE, HeaderValue::from_static("image/jpeg")),
            (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
        ],
        jpeg,
    )
        .into_response())
}

/// Erase a session's data now: its result, photo, camera metadata, reference and queued
/// webhooks. Nothing of it is kept; the id answers `session_not_found` from then on.
#[utoipa::path(
    delete, path = "/api/v1/session/{id}", tag = "sessions",
    params(SessionId),
    security(("api_key" = [])),
    responses(
        (status = 204, description = "Erased, with any webhook not yet delivered."),
        (status = 400, body = ErrorBody, description = "`invalid_request`: a path segment that is not UTF-8 once percent-decoded"),
        (status = 401, body = ErrorBody, description = "`missing_api_key` / `invalid_api_key`"),
        (status = 403, body = ErrorBody, description = "`account_inactive`"),
        (status = 404, body = ErrorBody, description = "`session_not_found`: no such session, already erased, or created by another tenant (or without a key)"),
        (status = 409, body = ErrorBody, headers(("Retry-After" = u64, description = "Seconds to wait.")),
            description = "`capture_in_progress`: the person is being verified right now; retry after `Retry-After` seconds, once the capture has ended (at most 90 s)"),
        (status = 429, response = RateLimited),
    )
)]
#[instrument(skip_all, err)]
async fn erase(
    State(state): State<AppState>,
    ApiKey(principal): ApiKey,
    ApiPath(id): ApiPath<String>,
) -> Result<Response> {
    let rate = state
        .limits
        .check(&principal.rate_key(), state.config.key_rate_limit)?;
    store::retention::erase(&state.db, &id, principal.tenant_id()).await?;
    state.metrics.inc("ilive_sessions_erased_total", &[]);
    Ok((StatusCode::NO_CONTENT, rate, ()).into_response())
}

impl AppState {
    /// URL rules for integrator-supplied URLs.
    pub fn url_policy(&self) -> UrlPolicy {
        UrlPolicy {
            allow_insecure: self.config.dev_allow_insecure_urls,
        }
    }
}
