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
pub mod ws;

use leptos::prelude::*;
use leptos_meta::{provide_meta_context, MetaTags, Stylesheet, Title};
use leptos_router::{
    components::{Route, Router, Routes},
    path, SsrMode,
};

/// The HTML document around the app, rendered on the server.
pub fn shell(options: LeptosOptions) -> impl IntoView {
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

/// The routed application, shared by SSR and hydration. Pages render async on the server so
/// that their language and status code are settled before the first byte.
#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    view! {
        <Stylesheet id="ilive" href="/pkg/ilive.css"/>
        <Title text="iLive — face liveness verification"/>
        <Router>
            <main>
                <Routes fallback=pages::not_found::NotFound>
                    <Route path=path!("/") view=pages::home::Home ssr=SsrMode::Async/>
                    <Route path=path!("/session/:id") view=pages::session::SessionPage
                        ssr=SsrMode::Async/>
                </Routes>
            </main>
        </Router>
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

/// The language as a resource: resolved on the server and carried to the browser with the
/// page, so hydration renders the same strings.
pub fn use_lang() -> Resource<Option<String>> {
    Resource::new(
        || (),
        |()| {
            let locale = ui_locale();
            async move { locale }
        },
    )
}
