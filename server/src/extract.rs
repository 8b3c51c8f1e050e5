//! Request extractors that turn every client mistake into the contract's error shape: JSON
//! bodies, path segments, API keys and the client's address.
use std::net::{IpAddr, SocketAddr};

use axum::{
    extract::{
        rejection::{BytesRejection, FailedToBufferBody, JsonRejection},
        ConnectInfo, FromRequest, FromRequestParts, Request,
    },
    http::{header, request::Parts},
};
use serde::de::DeserializeOwned;
use serde_json::Value;
use subtle::ConstantTimeEq;

use crate::{
    error::Error,
    store::tenants::{self, Principal},
    AppState,
};

/// Largest JSON body accepted by the API.
pub const JSON_LIMIT: usize = 64 * 1024;

/// `axum::Json` for a JSON object body, whose rejections are `invalid_request` (400) or
/// `request_too_large` (413). Only an object is read: serde would otherwise also build a struct
/// from an array of its field values, which no document describes.
pub struct ApiJson<T>(pub T);

impl<T, S> FromRequest<S> for ApiJson<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = Error;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        match axum::Json::<Value>::from_request(req, state).await {
            Ok(axum::Json(v)) => from_object(v).map(ApiJson),
            Err(JsonRejection::MissingJsonContentType(_)) => Err(Error::InvalidRequest(
                "send a JSON body with Content-Type: application/json".into(),
            )),
            Err(JsonRejection::BytesRejection(r)) => Err(body_error(r)),
            Err(JsonRejection::JsonSyntaxError(e)) => Err(Error::InvalidRequest(format!(
                "malformed JSON: {}",
                e.body_text()
            ))),
            Err(other) => Err(Error::InvalidRequest(other.body_text())),
        }
    }
}

/// `axum::extract::Path` whose rejection — a segment that is not UTF-8 once percent-decoded
/// (`/api/v1/session/%FF/result`) or does not parse — is `invalid_request` in the contract's
/// JSON shape, not axum's plain text.
pub struct ApiPath<T>(pub T);

impl<T, S> FromRequestParts<S> for ApiPath<T>
where
    T: DeserializeOwned + Send,
    S: Send + Sync,
{
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        match axum::extract::Path::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Path(v)) => Ok(ApiPath(v)),
            Err(e) => Err(Error::InvalidRequest(format!(
                "invalid path: {}",
                e.body_text()
            ))),
        }
    }
}

/// The request's fields from a JSON object; anything else is `invalid_request`.
fn from_object<T: DeserializeOwned>(v: Value) -> Result<T, Error> {
    if !v.is_object() {
        return Err(Error::InvalidRequest(
            "the body must be a JSON object".into(),
        ));
    }
    T::deserialize(v).map_err(|e| Error::InvalidRequest(format!("invalid fields: {e}")))
}

/// The credentials of an `Authorization: Bearer <token>` value; the scheme is matched without
/// regard to case (RFC 9110, 11.1).
fn bearer_token(value: &str) -> Option<&str> {
    let (scheme, token) = value.trim_start().split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

/// Failed authentications allowed per client network and minute; past them every key from that
/// network is refused with `rate_limited` until the window ends, without a database lookup.
pub const AUTH_FAILURES_PER_MINUTE: u32 = 20;

/// The caller behind `Authorization: Bearer <key>`.
pub struct ApiKey(pub Principal);

impl FromRequestParts<AppState> for ApiKey {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Error> {
        let ClientIp(ip) = ClientIp::from_request_parts(parts, state).await?;
        let failures = format!("auth-failures:{}", rate_key(ip));
        state
            .limits
            .ensure_open(&failures, AUTH_FAILURES_PER_MINUTE)?;
        let found = Self::authenticate(parts, state).await;
        if matches!(found, Err(Error::InvalidApiKey)) {
            // Counts this failure; the next request past the budget is refused above.
            let _ = state.limits.check(&failures, AUTH_FAILURES_PER_MINUTE);
        }
        found
    }
}

impl ApiKey {
    async fn authenticate(parts: &Parts, state: &AppState) -> Result<Self, Error> {
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

/// The client's address: the socket peer or, behind `proxies` trusted proxies, the address the
/// outermost of them saw.
pub struct ClientIp(pub IpAddr);

impl FromRequestParts<AppState> for ClientIp {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Error> {
        let peer = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|c| c.0.ip())
            .unwrap_or(IpAddr::from([0, 0, 0, 0]));
        let hops = parts
            .headers
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|v| v.to_str().ok());
        Ok(ClientIp(client_address(
            peer,
            hops,
            state.config.trusted_proxies(),
        )))
    }
}

/// The client behind `proxies` trusted proxies. Each proxy appends the address it received the
/// request from to `X-Forwarded-For`, so the entries the client wrote itself come first and
/// cannot be told from real ones: the client is the `proxies`-th entry from the right. A list
/// shorter than that did not pass every proxy, and the peer is all that is known.
pub fn client_address<'a>(
    peer: IpAddr,
    forwarded: impl Iterator<Item = &'a str>,
    proxies: usize,
) -> IpAddr {
    if proxies == 0 {
        return peer;
    }
    let hops: Vec<&str> = forwarded
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .collect();
    hops.len()
        .checked_sub(proxies)
        .and_then(|i| hops[i].parse().ok())
        .unwrap_or(peer)
}

/// The rate-limit key of an address: IPv4 addresses one by one, IPv6 per /64 (one subscriber's
/// network: a client picks any address inside its own /64 at will).
pub fn rate_key(ip: IpAddr) -> String {
    match ip {
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => v4.to_string(),
            None => {
                let s = v6.segments();
                let net = std::net::Ipv6Addr::new(s[0], s[1], s[2], s[3], 0, 0, 0, 0);
                format!("{net}/64")
            }
        },
    }
}

/// The error for a body that could not be read: over the limit, or it stopped arriving (the
/// body deadline, or a client that went away).
fn body_error(r: BytesRejection) -> Error {
    match r {
        BytesRejection::FailedToBufferBody(FailedToBufferBody::UnknownBodyError(_)) => {
            Error::InvalidRequest("the request body stopped arriving before it was complete".into())
        }
        _ => Error::RequestTooLarge(JSON_LIMIT),
    }
}

/// Like [`ApiJson`], but an empty body (with or without a content type) or `null` means
/// `T::default()`.
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
            .map_err(body_error)?;
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Ok(OptionalJson(T::default()));
        }
        match serde_json::from_slice(&bytes) {
            Ok(Value::Null) => Ok(OptionalJson(T::default())),
            Ok(v) => from_object(v).map(OptionalJson),
            Err(e) => Err(Error::InvalidRequest(format!("malformed JSON: {e}"))),
        }
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

    use super::{client_address, rate_key};
    use std::net::IpAddr;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn the_client_is_the_hop_the_outermost_trusted_proxy_saw() {
        let peer = ip("10.0.0.2");
        // The client claims 1.1.1.1; the one proxy appends the address it really saw.
        let hops = ["1.1.1.1, 203.0.113.7"];
        assert_eq!(client_address(peer, hops.into_iter(), 1), ip("203.0.113.7"));
        assert_eq!(client_address(peer, hops.into_iter(), 0), peer);
        // Two proxies: the outer one's entry is second from the right; headers are joined.
        let two = ["1.1.1.1", "203.0.113.7, 10.0.0.1"];
        assert_eq!(client_address(peer, two.into_iter(), 2), ip("203.0.113.7"));
        // Fewer entries than proxies: the request did not pass them all.
        assert_eq!(client_address(peer, ["203.0.113.7"].into_iter(), 2), peer);
        assert_eq!(client_address(peer, ["junk"].into_iter(), 1), peer);
    }

    #[test]
    fn ipv6_clients_share_a_key_per_64() {
        assert_eq!(
            rate_key(ip("2001:db8:1:2:aaaa::1")),
            rate_key(ip("2001:db8:1:2:ffff:1:2:3"))
        );
        assert_ne!(
            rate_key(ip("2001:db8:1:2::1")),
            rate_key(ip("2001:db8:1:3::1"))
        );
        assert_eq!(rate_key(ip("::ffff:198.51.100.4")), "198.51.100.4");
        assert_eq!(rate_key(ip("198.51.100.4")), "198.51.100.4");
    }

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
