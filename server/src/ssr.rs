//! Leptos server-side rendering and the static browser assets (`/pkg/*`).
use std::{net::SocketAddr, sync::Arc};

use app::ssr::SessionDirectory;
use axum::{
    body::Body,
    http::{Method, Request},
    routing::{get, post},
    Router,
};
use leptos::{config::LeptosOptions, prelude::provide_context};
use leptos_axum::{handle_server_fns_with_context, render_app_async_with_context};
use tower_http::services::ServeDir;

use crate::{config::Config, directory::StoreDirectory, AppState};

/// Leptos settings from our own configuration (no Cargo.toml needed at run time). The output
/// name is the full bundle's; the session page loads a lighter one when it exists
/// (`app::ssr::page_bundle`).
pub fn leptos_options(config: &Config, addr: SocketAddr) -> LeptosOptions {
    LeptosOptions::builder()
        .output_name("ilive")
        .site_root(config.site_root.to_string_lossy().into_owned())
        .site_pkg_dir("pkg")
        .site_addr(addr)
        .build()
}

/// The app's pages, rendered by Leptos, its server functions, and the compiled WASM, JS and CSS
/// under `/pkg`, served from the gzip files `scripts/build-site.sh` writes beside them to browsers
/// that accept gzip (a bundle is a fifth of its size compressed). The app has no router (its
/// page follows from the URL, `app::Page`): its two pages are routed here, rendered async so that
/// their language and status are settled before the first byte; other paths reach the fallback,
/// the app's "not found" page. Pages and server functions get the session store as a
/// [`SessionDirectory`] in their context.
pub fn router(state: &AppState) -> Router<AppState> {
    // Resources spawn their loaders on Leptos' global executor (`generate_route_list` would
    // set it as a side effect; this app has no route list). Already set is fine.
    let _ = any_spawner::Executor::init_tokio();
    let options = state.leptos_options.clone();
    let pkg = ServeDir::new(state.config.site_root.join("pkg")).precompressed_gzip();
    let directory: Arc<dyn SessionDirectory> = Arc::new(StoreDirectory::new(state.db.clone()));
    let context = move || provide_context(directory.clone());
    let page = render_app_async_with_context(context.clone(), move || app::shell(options.clone()));
    let mut router = Router::new()
        .route("/", get(page.clone()))
        .route("/session/{id}", get(page));
    for (path, method) in leptos::server_fn::axum::server_fn_paths() {
        let context = context.clone();
        let handler =
            move |req: Request<Body>| handle_server_fns_with_context(context.clone(), req);
        router = match method {
            Method::GET => router.route(path, get(handler)),
            _ => router.route(path, post(handler)),
        };
    }
    router
        .nest_service("/pkg", pkg)
        .fallback(crate::api_not_found)
}
