//! `/`: the developer's start page.
use leptos::prelude::*;

/// What iLive is and where its API is described.
#[component]
pub fn Home() -> impl IntoView {
    view! {
        <section class="card">
            <h1>"iLive"</h1>
            <p>"Self-hosted face liveness verification."</p>
            <ul>
                <li><a href="/api/openapi.json">"OpenAPI document"</a></li>
                <li><a href="/healthz">"Health"</a></li>
            </ul>
        </section>
    }
}
