//! The first screen: what will happen, how long it takes, a short privacy line, and Start.
use leptos::prelude::*;

use crate::{api::Mode, i18n::Lang};

#[component]
pub fn Welcome(
    mode: Mode,
    lang: Lang,
    /// False until the page is hydrated: a click before that would do nothing.
    ready: Signal<bool>,
    on_start: Callback<()>,
) -> impl IntoView {
    let t = lang.strings();
    let step = match mode {
        Mode::Active => t.welcome_step_active,
        Mode::Passive => t.welcome_step_passive,
    };
    view! {
        <div class="welcome">
            <h1>{t.welcome_heading}</h1>
            <p class="lead">{t.welcome_intro}</p>
            <ol class="steps">
                <li>{t.welcome_step_camera}</li>
                <li>{step}</li>
            </ol>
            <p><strong>{t.welcome_duration}</strong> " " {t.welcome_tips}</p>
            <p class="privacy small">{t.privacy}</p>
            <button type="button" class="primary" disabled=move || !ready.get()
                on:click=move |_| on_start.run(())>
                {t.start}
            </button>
        </div>
    }
}
