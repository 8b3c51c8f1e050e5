//! iLive's Leptos application: the pages a person sees (the verification flow and the developer
//! demo) and the WASM-safe types that the browser and the server exchange (REST bodies and
//! WebSocket messages). Server-only code sits behind the `ssr` feature and browser-only code
//! (camera, WebSocket, fetch) behind `hydrate`; this crate never pulls candle or tokio into the
//! browser build.
#![forbid(unsafe_code)]
// Deeply nested view types (Leptos builds one type per view tree).
#![recursion_limit = "256"]

pub mod api;
#[cfg(feature = "hydrate")]
pub mod browser;
pub mod components;
pub mod flow;
pub mod i18n;
pub mod pages;
pub mod pow;
pub mod reason;
pub mod session_info;
#[cfg(feature = "ssr")]
pub mod ssr;
pub mod wire;
pub mod ws;

use leptos::{either::EitherOf3, prelude::*};
#[cfg(feature = "ssr")]
use leptos_meta::MetaTags;
use leptos_meta::{provide_meta_context, Stylesheet, Title};

/// The HTML document around the app, rendered on the server. It loads the bundle the page needs
/// (see [`ssr::page_bundle`]).
#[cfg(feature = "ssr")]
pub fn shell(options: LeptosOptions) -> impl IntoView {
    let page = match current_url() {
        Some((path, query)) => Page::from_url(&path, &query),
        None => Page::NotFound,
    };
    let options = ssr::page_bundle(options, &page);
    view! {
        <!DOCTYPE html>
        <html>
            <head>
                <meta charset="utf-8"/>
                <meta name="viewport" content="width=device-width, initial-scale=1"/>
                <meta name="color-scheme" content="light dark"/>
                <link rel="icon" href="data:,"/>
                <AutoReload options=options.clone()/>
                <HydrationScripts options/>
                <MetaTags/>
            </head>
            <body>
                <App/>
            </body>
        </html>
    }
}

/// The application, shared by SSR and hydration. The page follows from the URL alone, read from
/// the request on the server and from `location` in the browser; there is no client-side
/// navigation (every link and redirect loads a new document), so the app carries no router:
/// leaving `leptos_router` out keeps the browser bundle smaller. The server renders `/` and
/// `/session/{id}` async (`server/src/ssr.rs`), so that their language and status code are
/// settled before the first byte.
#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    let page = match current_url() {
        Some((path, query)) => Page::from_url(&path, &query),
        None => Page::NotFound,
    };
    view! {
        <Stylesheet id="ilive" href="/pkg/ilive.css"/>
        <Title text="iLive — face liveness verification"/>
        <main>
            {match page {
                // The session page's bundle leaves the demo out; it is never loaded on `/`.
                #[cfg(feature = "demo")]
                Page::Home => EitherOf3::A(view! { <pages::home::Home/> }),
                #[cfg(not(feature = "demo"))]
                Page::Home => EitherOf3::A(()),
                Page::Session { id, capture } => {
                    EitherOf3::B(view! { <pages::session::SessionPage id capture/> })
                }
                Page::NotFound => EitherOf3::C(view! { <pages::not_found::NotFound/> }),
            }}
        </main>
    }
}

/// The pages the app renders.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Page {
    /// `/`: the developer's demo.
    Home,
    /// `/session/{id}?c={capture}`: the verification flow.
    Session {
        id: String,
        capture: String,
    },
    NotFound,
}

impl Page {
    /// The page for a path and its query string (without `?`).
    pub fn from_url(path: &str, query: &str) -> Page {
        if path == "/" {
            return Page::Home;
        }
        match path.strip_prefix("/session/") {
            Some(id) if !id.is_empty() && !id.contains('/') => Page::Session {
                id: id.to_owned(),
                capture: query_param(query, "c").unwrap_or_default(),
            },
            _ => Page::NotFound,
        }
    }
}

/// The demo page's query parameter that starts a new direct session of the mode it names at once
/// (`/?start=passive`): where "Try again" on a direct session's page leads.
pub const START_PARAM: &str = "start";

/// The value of `name` in an `application/x-www-form-urlencoded` query, decoded.
pub(crate) fn query_param(query: &str, name: &str) -> Option<String> {
    query.split('&').find_map(|pair| {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        (decode_form(key)? == name)
            .then(|| decode_form(value))
            .flatten()
    })
}

/// Decodes one form-encoded component (`+` is a space, `%XX` a byte); `None` when the bytes are
/// not UTF-8.
fn decode_form(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => match (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                (Some(h), Some(l)) => {
                    out.push((h * 16 + l) as u8);
                    i += 2;
                }
                _ => out.push(b'%'),
            },
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8(out).ok()
}

/// The current URL's path and query string: the request's on the server, `location`'s in the
/// browser.
pub(crate) fn current_url() -> Option<(String, String)> {
    #[cfg(feature = "ssr")]
    {
        let parts = use_context::<http::request::Parts>()?;
        Some((
            parts.uri.path().to_owned(),
            parts.uri.query().unwrap_or_default().to_owned(),
        ))
    }
    #[cfg(all(feature = "hydrate", not(feature = "ssr")))]
    {
        let loc = browser::location()?;
        let search = loc.search().ok()?;
        Some((
            loc.pathname().ok()?,
            search.trim_start_matches('?').to_owned(),
        ))
    }
    #[cfg(not(any(feature = "ssr", feature = "hydrate")))]
    {
        None
    }
}

/// The UI language of a page without a session: the request's `Accept-Language` on the server,
/// `navigator.language` in the browser (only used if the server's answer is missing).
pub fn ui_locale() -> Option<String> {
    #[cfg(feature = "ssr")]
    {
        ssr::request_locale()
    }
    #[cfg(all(feature = "hydrate", not(feature = "ssr")))]
    {
        browser::browser_language()
    }
    #[cfg(not(any(feature = "ssr", feature = "hydrate")))]
    {
        None
    }
}

/// The language tag as a resource (empty when unknown): resolved on the server and carried to
/// the browser with the page, as plain text, so hydration renders the same strings.
pub fn use_lang() -> Resource<String, leptos::server::codee::string::FromToStringCodec> {
    Resource::new_str(
        || (),
        |()| {
            let locale = ui_locale().unwrap_or_default();
            async move { locale }
        },
    )
}

#[cfg(test)]
mod tests {
    use super::Page;

    #[test]
    fn pages_follow_the_url() {
        assert_eq!(Page::from_url("/", ""), Page::Home);
        assert_eq!(
            Page::from_url("/session/abc", "x=1&c=s%2Bt+u%C3%A9"),
            Page::Session {
                id: "abc".into(),
                capture: "s+t ué".into()
            }
        );
        assert_eq!(
            Page::from_url("/session/abc", ""),
            Page::Session {
                id: "abc".into(),
                capture: String::new()
            }
        );
        for path in ["/session/", "/session/a/b", "/nope", "/session"] {
            assert_eq!(Page::from_url(path, "c=1"), Page::NotFound, "{path}");
        }
    }
}
