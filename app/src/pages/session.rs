//! `/session/{id}?c=…`: the page a person is sent to for verification. The session's state is
//! read at SSR time (the route renders async, so the language is settled before the first byte),
//! then the [`Verify`] flow runs in the browser. An unusable link gets its own page, served with
//! 200: it is a page that explains a state, and browsers log a non-2xx document as a console
//! error.
use leptos::{either::Either, prelude::*};
use leptos_meta::{Html, Title};

use crate::{
    api::Mode,
    components::{
        link_problem::LinkProblem,
        verify::{Target, Verify},
    },
    i18n::Lang,
    session_info::{load_session_page, LinkState, SessionPageInfo},
};

/// The page of session `id`, opened with the capture secret `capture` (the link's `c`).
#[component]
pub fn SessionPage(id: String, capture: String) -> impl IntoView {
    let info = {
        let (id, capture) = (id.clone(), capture.clone());
        Resource::new_str(
            move || (id.clone(), capture.clone()),
            |(id, capture)| async move {
                load_session_page(id, capture).await.unwrap_or_else(|e| {
                    leptos::logging::warn!("session page lookup failed: {e}");
                    SessionPageInfo::refused(LinkState::NotFound)
                })
            },
        )
    };
    view! {
        <Suspense fallback=|| view! { <section class="card"><p>"…"</p></section> }>
            {move || {
                let (id, capture) = (id.clone(), capture.clone());
                Suspend::new(async move {
                let info = info.await;
                let target = Target {
                    session_id: id,
                    capture,
                    mode: info.mode,
                    managed: info.managed,
                    back: info.back.clone(),
                };
                view! { <SessionBody info target/> }
            })}}
        </Suspense>
    }
}

#[component]
fn SessionBody(info: SessionPageInfo, target: Target) -> impl IntoView {
    let lang = Lang::from_tag(info.locale.as_deref().unwrap_or_default());
    let t = lang.strings();
    let body = if info.state == LinkState::Ok {
        let retry = (!info.managed).then(|| retry_callback(info.mode));
        Either::Left(view! { <Verify target lang retry/> })
    } else {
        Either::Right(view! { <LinkProblem state=info.state lang back=info.back/> })
    };
    view! {
        <Html {..} lang=lang.tag()/>
        <Title text=t.title/>
        <section class="card">{body}</section>
    }
}

/// "Try again" on a direct session: the demo page, asked to start a new session of the same mode
/// (`/?start=`). A direct session is the developer's demo; creating one (CAPTCHA and proof of
/// work included) is the demo page's code, which the session page's bundle leaves out
/// (docs/performance.md, "Page weight").
#[allow(unused_variables)]
fn retry_callback(mode: Mode) -> Callback<()> {
    Callback::new(move |()| {
        #[cfg(feature = "hydrate")]
        crate::browser::navigate(&format!("/?{}={}", crate::START_PARAM, mode.as_str()));
    })
}
