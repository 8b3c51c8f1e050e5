//! The page for a verification link that cannot be used: expired, already used, unknown or
//! damaged. Says why and what to do, with the way back to a managed session's integrator; no
//! camera is ever requested.
use leptos::prelude::*;

use crate::{components::icons::WarningIcon, i18n::Lang, session_info::LinkState};

#[component]
pub fn LinkProblem(state: LinkState, lang: Lang, back: Option<String>) -> impl IntoView {
    let t = lang.strings();
    let (heading, body) = match state {
        LinkState::Expired => (t.expired_heading, t.expired_body),
        LinkState::AlreadyUsed => (t.used_heading, t.used_body),
        LinkState::NotFound => (t.not_found_heading, t.not_found_body),
        LinkState::InvalidLink | LinkState::Ok => (t.invalid_link_heading, t.invalid_link_body),
    };
    view! {
        <div class="problem">
            <WarningIcon/>
            <h1>{heading}</h1>
            <p>{body}</p>
            {back.map(|url| view! { <a class="button primary" href=url>{t.return_link}</a> })}
        </div>
    }
}
