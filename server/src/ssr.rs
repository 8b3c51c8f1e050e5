//! Leptos server-side rendering and the static browser assets (`/pkg/*`).
use std::{net::SocketAddr, sync::Arc};

use app::ssr::SessionDirectory;
use axum::Router;
use leptos::{config::LeptosOptions, prelude::provide_context};
use leptos_axum::{generate_route_list, LeptosRoutes};
use tower_http::services::ServeDir;

use crate::{config::Config, directory::StoreDirectory, AppState};

/// Leptos settings from our own configuration (no Cargo.toml needed at run time).
pub fn leptos_options(config: &Config, addr: SocketAddr) -> LeptosOptions {
    LeptosOptions::builder()
        .output_name("ilive")
        .site_root(config.site_root.to_string_lossy().into_owned())
        .site_pkg_dir("pkg")
        .site_addr(addr)
        .build()
}

/// Pages rendered by Leptos, plus the compiled WASM, JS and CSS under `/pkg`. The pages and
/// the app's server functions (registered by `leptos_routes_with_context`) get the session
/// store as a [`SessionDirectory`] in their context.
pub fn router(state: &AppState) -> Router<AppState> {
    let options = state.leptos_options.clone();
    let routes = generate_route_list(app::App);
    let pkg = ServeDir::new(state.config.site_root.join("pkg"));
    let directory: Arc<dyn SessionDirectory> = Arc::new(StoreDirectory::new(state.db.clone()));
    let context = move || provide_context(directory.clone());
    Router::new()
        .leptos_routes_with_context(&state.clone(), routes, context, move || {
            app::shell(options.clone())
        })
        .nest_service("/pkg", pkg)
        .fallback(crate::api_not_found)
}
