//! `/session/{id}?c=…`: the page a person is sent to for verification.
use leptos::prelude::*;
use leptos_router::hooks::use_params_map;

/// The verification page for one session.
#[component]
pub fn SessionPage() -> impl IntoView {
    let params = use_params_map();
    let id = move || params.read().get("id").unwrap_or_default();
    view! {
        <section class="card">
            <h1>"Verify it's you"</h1>
            <p class="muted">"Session " {id}</p>
        </section>
    }
}
