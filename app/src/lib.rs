//! iLive's Leptos application: the pages a person sees (the verification flow and the developer
//! demo) and the WASM-safe types that the browser and the server exchange (REST bodies and
//! WebSocket messages). Server-only code sits behind the `ssr` feature; this crate never pulls
//! candle or tokio into the browser build.
#![forbid(unsafe_code)]

pub mod api;
pub mod pages;
pub mod ws;

use leptos::prelude::*;
use leptos_meta::{provide_meta_context, MetaTags, Stylesheet, Title};
use leptos_router::{
    components::{Route, Router, Routes},
    path,
};

/// The HTML document around the app, rendered on the server.
pub fn shell(options: LeptosOptions) -> impl IntoView {
    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <meta charset="utf-8"/>
                <meta name="viewport" content="width=device-width, initial-scale=1"/>
                <meta name="color-scheme" content="light dark"/>
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

/// The routed application, shared by SSR and hydration.
#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    view! {
        <Stylesheet id="ilive" href="/pkg/ilive.css"/>
        <Title text="iLive — face liveness verification"/>
        <Router>
            <main>
                <Routes fallback=pages::not_found::NotFound>
                    <Route path=path!("/") view=pages::home::Home/>
                    <Route path=path!("/session/:id") view=pages::session::SessionPage/>
                </Routes>
            </main>
        </Router>
    }
}
