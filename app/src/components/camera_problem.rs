//! A screen per camera problem, each saying what to do; where trying again can help, a button.
use leptos::{either::EitherOf3, prelude::*};

use crate::{
    components::{focus_heading, icons::WarningIcon},
    flow::CameraProblem,
    i18n::Lang,
};

#[component]
pub fn CameraProblemView(
    problem: CameraProblem,
    lang: Lang,
    on_retry: Callback<()>,
) -> impl IntoView {
    let t = lang.strings();
    let (heading, body) = match problem {
        CameraProblem::Denied => (t.cam_denied_heading, t.cam_denied_body),
        CameraProblem::NotFound => (t.cam_missing_heading, t.cam_missing_body),
        CameraProblem::InUse => (t.cam_in_use_heading, t.cam_in_use_body),
        CameraProblem::Insecure => (t.cam_insecure_heading, t.cam_insecure_body),
        CameraProblem::InApp => (t.cam_in_app_heading, t.cam_in_app_body),
        CameraProblem::Unsupported => (t.cam_unsupported_heading, t.cam_unsupported_body),
    };
    let retryable = matches!(
        problem,
        CameraProblem::Denied | CameraProblem::NotFound | CameraProblem::InUse
    );
    // The page's own address: to copy into a real browser, or its https form.
    let here = page_url();
    let extra = match problem {
        CameraProblem::Insecure => EitherOf3::A(here.strip_prefix("http://").map(|rest| {
            let href = format!("https://{rest}");
            let text = href.clone();
            view! { <p><a href=href>{text}</a></p> }
        })),
        CameraProblem::InApp => EitherOf3::B(view! {
            <label class="copy">
                <span>{t.copy_link}</span>
                <input type="text" readonly=true value=here
                    on:focus=move |ev| select_all(&ev)/>
            </label>
        }),
        _ => EitherOf3::C(()),
    };
    view! {
        <div class="problem" role="alert">
            <WarningIcon/>
            <h1 tabindex="-1" node_ref=focus_heading()>{heading}</h1>
            <p>{body}</p>
            {extra}
            {retryable.then(|| view! {
                <button type="button" class="primary" on:click=move |_| on_retry.run(())>
                    {t.retry_camera}
                </button>
            })}
        </div>
    }
}

fn page_url() -> String {
    #[cfg(feature = "hydrate")]
    {
        crate::browser::location()
            .and_then(|l| l.href().ok())
            .unwrap_or_default()
    }
    #[cfg(not(feature = "hydrate"))]
    {
        String::new()
    }
}

#[allow(unused_variables)]
fn select_all(ev: &leptos::ev::FocusEvent) {
    #[cfg(feature = "hydrate")]
    {
        use wasm_bindgen::JsCast;
        if let Some(input) = ev
            .target()
            .and_then(|t| t.dyn_into::<web_sys::HtmlInputElement>().ok())
        {
            input.select();
        }
    }
}
