//! Server-only glue between the app and the server crate that hosts it. The server implements
//! [`SessionDirectory`] over its store and provides it through Leptos context; the app's server
//! functions call it without knowing about the database.
use std::{future::Future, pin::Pin};

use crate::session_info::SessionPageInfo;

/// A boxed, sendable future (keeps the trait usable as `dyn`).
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Answers what the verification page needs to know about a session.
pub trait SessionDirectory: Send + Sync + 'static {
    /// The page state for session `id` opened with capture secret `capture`. Must not consume
    /// the capture secret. `Err` carries a message for the log, never shown to the user.
    fn page_info<'a>(
        &'a self,
        id: &'a str,
        capture: &'a str,
    ) -> BoxFuture<'a, Result<SessionPageInfo, String>>;
}

/// The current request's `Accept-Language` (bounded), for [`crate::i18n::Lang::from_tag`].
pub fn request_locale() -> Option<String> {
    let parts = leptos::prelude::use_context::<http::request::Parts>()?;
    let value = parts
        .headers
        .get(http::header::ACCEPT_LANGUAGE)?
        .to_str()
        .ok()?
        .trim();
    (!value.is_empty() && value.len() <= 256).then(|| value.to_owned())
}
