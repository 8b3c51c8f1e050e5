//! What the verification page must know about its session before it renders: whether the link
//! can still be used, the session's mode and kind, and the UI language. Read at SSR time through
//! the [`load_session_page`] server function, whose body asks the server's
//! [`SessionDirectory`](crate::ssr::SessionDirectory) (provided through Leptos context). Looking
//! a link up never consumes its capture secret: only the WebSocket does.
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use crate::api::Mode;

/// Whether a capture link can be used.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LinkState {
    /// Unused and within its lifetime: the page may start the camera.
    Ok,
    Expired,
    AlreadyUsed,
    NotFound,
    /// The capture secret is missing or wrong.
    InvalidLink,
}

impl LinkState {
    pub const ALL: [LinkState; 5] = [
        LinkState::Ok,
        LinkState::Expired,
        LinkState::AlreadyUsed,
        LinkState::NotFound,
        LinkState::InvalidLink,
    ];

    /// The wire value.
    pub fn as_str(self) -> &'static str {
        match self {
            LinkState::Ok => "ok",
            LinkState::Expired => "expired",
            LinkState::AlreadyUsed => "already_used",
            LinkState::NotFound => "not_found",
            LinkState::InvalidLink => "invalid_link",
        }
    }
}

/// The session as the verification page sees it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SessionPageInfo {
    pub state: LinkState,
    pub mode: Mode,
    /// Created by an integrator (who gets the user back through a redirect), not a direct
    /// session; decides what "try again" means.
    pub managed: bool,
    /// The session's locale, else the browser's `Accept-Language`.
    pub locale: Option<String>,
    /// A managed session's way back to the integrator from a screen that ends it without a
    /// verdict to show (a used or expired link, a lost connection): its `redirect_url` with
    /// `session_id` and `status` added. Only given with the link's own capture secret.
    #[serde(default)]
    pub back: Option<String>,
}

impl SessionPageInfo {
    /// A page for a link that cannot be used.
    pub fn refused(state: LinkState) -> Self {
        SessionPageInfo {
            state,
            mode: Mode::default(),
            managed: false,
            locale: None,
            back: None,
        }
    }
}

/// The page's resource carries the information from the server's render to the browser as this
/// text: JSON, written and read without serde in the browser ([`crate::wire`]).
impl std::fmt::Display for SessionPageInfo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.to_json().text())
    }
}

impl std::str::FromStr for SessionPageInfo {
    type Err = &'static str;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        crate::wire::parse(s)
            .as_ref()
            .and_then(SessionPageInfo::read)
            .ok_or("not a session page's information")
    }
}

/// Where [`load_session_page`] answers: its `#[server]` prefix and endpoint, joined.
pub const PAGE_INFO_PATH: &str = "/ui-fn/session_page_info";

/// Looks the session up for its page. Cheap, read-only, and safe to call repeatedly.
#[cfg(feature = "ssr")]
#[server(prefix = "/ui-fn", endpoint = "session_page_info")]
pub async fn load_session_page(
    id: String,
    capture: String,
) -> Result<SessionPageInfo, ServerFnError> {
    use std::sync::Arc;

    use crate::ssr::{request_locale, SessionDirectory};

    let directory = use_context::<Arc<dyn SessionDirectory>>()
        .ok_or_else(|| ServerFnError::new("the session directory is not available"))?;
    let mut info = directory
        .page_info(&id, &capture)
        .await
        .map_err(ServerFnError::new)?;
    if info.locale.is_none() {
        info.locale = request_locale();
    }
    Ok(info)
}

/// The browser's side of [`load_session_page`]: a plain `fetch` of the same endpoint, so that the
/// bundle carries no server-function client (docs/performance.md, "Page weight"). The page's
/// resource normally arrives with the server-rendered HTML and never calls this.
#[cfg(not(feature = "ssr"))]
pub async fn load_session_page(
    id: String,
    capture: String,
) -> Result<SessionPageInfo, ServerFnError> {
    #[cfg(feature = "hydrate")]
    {
        // The browser runs one thread: the wrapper only satisfies the resource's `Send` bound.
        let fetch = async move { crate::browser::http::session_page_info(&id, &capture).await };
        send_wrapper::SendWrapper::new(fetch)
            .await
            .map_err(|e| ServerFnError::new(format!("{}: {}", e.code, e.message)))
    }
    #[cfg(not(feature = "hydrate"))]
    {
        let _ = (id, capture);
        Err(ServerFnError::new(
            "no server to ask outside the browser and the server",
        ))
    }
}
