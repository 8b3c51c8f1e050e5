//! The page for any path the app does not know.
use leptos::prelude::*;
use leptos_meta::Html;

use crate::{i18n::Lang, use_lang};

/// "Not found", with a way back to the start.
#[component]
pub fn NotFound() -> impl IntoView {
    #[cfg(feature = "ssr")]
    {
        if let Some(resp) = use_context::<leptos_axum::ResponseOptions>() {
            resp.set_status(http::StatusCode::NOT_FOUND);
        }
    }
    let locale = use_lang();
    view! {
        <Suspense fallback=|| ()>
            {move || Suspend::new(async move {
                let lang = Lang::from_tag(&locale.await);
                let t = lang.strings();
                view! {
                    <Html {..} lang=lang.tag()/>
                    <section class="card">
                        <h1>{t.nf_heading}</h1>
                        <p>{t.nf_body}</p>
                        <p><a href="/">{t.nf_home}</a></p>
                    </section>
                }
            })}
        </Suspense>
    }
}
