//! Server-only glue between the app and the server crate that hosts it. The server implements
//! [`SessionDirectory`] over its store and provides it through Leptos context; the app's server
//! functions call it without knowing about the database. It also picks the browser bundle a page
//! loads.
use std::{future::Future, path::Path, pin::Pin};

use leptos::config::LeptosOptions;

use crate::{session_info::SessionPageInfo, Page};

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

/// The output name of the session page's bundle, which leaves the demo page out (built by
/// `scripts/build-site.sh` beside the full bundle; docs/performance.md, "Page weight").
pub const SESSION_BUNDLE: &str = "ilive-session";

/// `options` with the bundle `page` should load: the session page's lighter one for every page
/// but the demo, when it was built; otherwise the full bundle `options` names (a cargo-leptos
/// build makes only that one).
pub fn page_bundle(mut options: LeptosOptions, page: &Page) -> LeptosOptions {
    if *page != Page::Home {
        let lean = Path::new(&*options.site_root)
            .join(&*options.site_pkg_dir)
            .join(format!("{SESSION_BUNDLE}.js"));
        if lean.is_file() {
            options.output_name = SESSION_BUNDLE.into();
        }
    }
    options
}
