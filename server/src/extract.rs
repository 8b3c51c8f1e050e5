//! Request extractors that turn every client mistake into the contract's error shape: JSON
//! bodies, API keys and the client's address.
use std::net::{IpAddr, SocketAddr};

use axum::{
    extract::{rejection::JsonRejection, ConnectInfo, FromRequest, FromRequestParts, Request},
    http::{header, request::Parts},
};
use serde::de::DeserializeOwned;
use subtle::ConstantTimeEq;

use crate::{
    error::Error,
    store::tenants::{self, Principal},
    AppState,
};

/// Largest JSON body accepted by the API.
pub const JSON_LIMIT: usize = 64 * 1024;

/// `axum::Json` whose rejections are `invalid_request` (400) or `request_too_large` (413).
pub struct ApiJson<T>(pub T);

impl<T, S> FromRequest<S> for ApiJson<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = Error;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        match axum::Json::<T>::from_request(req, state).await {
            Ok(axum::Json(v)) => Ok(ApiJson(v)),
            Err(JsonRejection::MissingJsonContentType(_)) => Err(Error::InvalidRequest(
                "send a JSON body with Content-Type: application/json".into(),
            )),
            Err(JsonRejection::BytesRejection(_)) => Err(Error::RequestTooLarge(JSON_LIMIT)),
            Err(JsonRejection::JsonSyntaxError(e)) => Err(Error::InvalidRequest(format!(
                "malformed JSON: {}",
                e.body_text()
            ))),
            Err(JsonRejection::JsonDataError(e)) => Err(Error::InvalidRequest(format!(
                "invalid fields: {}",
                e.body_text()
            ))),
            Err(other) => Err(Error::InvalidRequest(other.body_text())),
        }
    }
}

/// The credentials of an `Authorization: Bearer <token>` value; the scheme is matched without
/// regard to case (RFC 9110, 11.1).
fn bearer_token(value: &str) -> Option<&str> {
    let (scheme, token) = value.trim_start().split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

/// The caller behind `Authorization: Bearer <key>`.
pub struct ApiKey(pub Principal);

impl FromRequestParts<AppState> for ApiKey {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Error> {
        let value = parts
            .headers
            .get(header::AUTHORIZATION)
            .ok_or(Error::MissingApiKey)?
            .to_str()
            .map_err(|_| Error::InvalidApiKey)?;
        let key = bearer_token(value).ok_or(Error::MissingApiKey)?;
        if let Some(legacy) = &state.config.legacy_api_key {
            if bool::from(legacy.expose().as_bytes().ct_eq(key.as_bytes())) {
                return Ok(ApiKey(Principal::Legacy));
            }
        }
        if !key.starts_with("iksk_") {
            return Err(Error::InvalidApiKey);
        }
        Ok(ApiKey(tenants::authenticate(&state.db, key).await?))
    }
}

/// The client's address: the socket peer, or the first `X-Forwarded-For` hop when configured to
/// trust a proxy.
pub struct ClientIp(pub IpAddr);

impl FromRequestParts<AppState> for ClientIp {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Error> {
        if state.config.trust_forwarded_for {
            let forwarded = parts
                .headers
                .get("x-forwarded-for")
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.split(',').next())
                .and_then(|v| v.trim().parse::<IpAddr>().ok());
            if let Some(ip) = forwarded {
                return Ok(ClientIp(ip));
            }
        }
        let peer = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|c| c.0.ip())
            .unwrap_or(IpAddr::from([0, 0, 0, 0]));
        Ok(ClientIp(peer))
    }
}

/// Like [`ApiJson`], but an empty body (with or without a content type) means `T::default()`.
pub struct OptionalJson<T>(pub T);

impl<T, S> FromRequest<S> for OptionalJson<T>
where
    T: DeserializeOwned + Default,
    S: Send + Sync,
{
    type Rejection = Error;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let bytes = axum::body::Bytes::from_request(req, state)
            .await
            .map_err(|_| Error::RequestTooLarge(JSON_LIMIT))?;
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Ok(OptionalJson(T::default()));
        }
        serde_json::from_slice(&bytes)
            .map(OptionalJson)
            .map_err(|e| Error::InvalidRequest(format!("malformed JSON: {e}")))
    }
}

/// Reads one parameter from a raw query string.
pub fn query_param(query: Option<&str>, name: &str) -> Option<String> {
    url::form_urlencoded::parse(query?.as_bytes())
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

#[cfg(test)]
mod tests {
    use super::bearer_token;

    #[test]
    fn the_auth_scheme_is_case_insensitive() {
        for v in ["Bearer k", "bearer k", "BEARER k", "bEaReR   k "] {
            assert_eq!(bearer_token(v), Some("k"), "{v}");
        }
        assert_eq!(bearer_token("Basic k"), None);
        assert_eq!(bearer_token("Bearer "), None);
        assert_eq!(bearer_token("Bearerk"), None);
    }
}
