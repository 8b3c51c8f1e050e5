//! Cross-origin access for direct sessions (`ILIVE_CORS_ORIGINS`): which browser pages on other
//! origins may call the public routes, and the layer that answers them.
//!
//! Only the routes a standalone frontend calls without a backend get the layer: direct-session
//! creation, its CAPTCHA, and the result and photo read with the session's token. Keyed routes
//! (an API key in `Authorization`) never do: a key belongs on a backend, and answering a
//! browser's preflight for them would invite putting it in one. No route allows credentials
//! (cookies): none reads any.
use std::time::Duration;

use axum::http::{header, HeaderName, HeaderValue, Method};
use tower_http::cors::{AllowOrigin, CorsLayer};

/// How long a browser may cache a preflight answer.
const PREFLIGHT_MAX_AGE: Duration = Duration::from_secs(600);

/// The CORS layer for the public routes, or `None` when no origin is allowed (the default: no
/// CORS headers at all, and preflights answer 405 as before). Each entry must be an exact origin
/// (`https://app.example.com`, `http://localhost:5173`): a scheme, a host, an optional port and
/// nothing else; surrounding spaces and empty entries are ignored.
pub fn layer(origins: &[String]) -> anyhow::Result<Option<CorsLayer>> {
    let allowed = origins
        .iter()
        .map(|o| o.trim())
        .filter(|o| !o.is_empty())
        .map(origin)
        .collect::<anyhow::Result<Vec<HeaderValue>>>()?;
    if allowed.is_empty() {
        return Ok(None);
    }
    Ok(Some(
        CorsLayer::new()
            .allow_origin(AllowOrigin::list(allowed))
            .allow_methods([Method::GET, Method::POST])
            .allow_headers([header::CONTENT_TYPE])
            .expose_headers([
                header::RETRY_AFTER,
                HeaderName::from_static("x-ratelimit-limit"),
                HeaderName::from_static("x-ratelimit-remaining"),
                HeaderName::from_static("x-ratelimit-reset"),
            ])
            .max_age(PREFLIGHT_MAX_AGE),
    ))
}

/// One allowed origin, exactly as browsers send it in `Origin`.
fn origin(raw: &str) -> anyhow::Result<HeaderValue> {
    let bad = |why: &str| {
        anyhow::anyhow!("ILIVE_CORS_ORIGINS: {raw:?} is not an origin ({why}); write it as scheme://host[:port], e.g. https://app.example.com")
    };
    let url = url::Url::parse(raw).map_err(|_| bad("not a URL"))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(bad("the scheme must be http or https"));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(bad("no user name or password"));
    }
    if url.path() != "/" || url.query().is_some() || url.fragment().is_some() {
        return Err(bad("no path, query or fragment"));
    }
    let serialised = url.origin().ascii_serialization();
    // A default port written out (`:443`) or upper-case letters would never match the `Origin`
    // header a browser sends, so only the canonical spelling is accepted.
    if serialised != raw.trim_end_matches('/') {
        return Err(bad(&format!("browsers send it as {serialised}")));
    }
    HeaderValue::from_str(&serialised).map_err(|_| bad("not a header value"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn list(s: &[&str]) -> Vec<String> {
        s.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn empty_means_no_cors() {
        assert!(layer(&[]).unwrap().is_none());
        assert!(layer(&list(&["", " "])).unwrap().is_none());
    }

    #[test]
    fn exact_origins_are_accepted() {
        assert!(layer(&list(&[
            "https://app.example.com",
            " http://localhost:5173 "
        ]))
        .unwrap()
        .is_some());
        assert!(layer(&list(&["https://app.example.com/"]))
            .unwrap()
            .is_some());
    }

    #[test]
    fn anything_but_an_origin_is_refused() {
        for bad in [
            "app.example.com",
            "*",
            "ftp://example.com",
            "https://example.com/path",
            "https://example.com?q=1",
            "https://user@example.com",
            "https://example.com:443",
            "https://App.Example.com",
        ] {
            assert!(layer(&list(&[bad])).is_err(), "{bad}");
        }
    }
}
