//! The end of a capture: the verdict (pass, fail, retry) with advice from its reason codes, or
//! why the capture stopped early. Managed sessions go back to the integrator's `redirect`
//! after a short pause, with a link to go at once; direct sessions may offer "Try again".
#[cfg(feature = "hydrate")]
use std::time::Duration;

use leptos::{
    either::{EitherOf3, EitherOf4},
    prelude::*,
};

use crate::{
    api::{Reason, Verdict},
    components::{
        focus_heading,
        icons::{VerdictIcon, WarningIcon},
    },
    flow::{Outcome, Stopped},
    i18n::{Lang, Strings},
};

/// Seconds before a managed session returns to the integrator: longer when there is advice to
/// read.
fn redirect_delay(verdict: Verdict) -> u32 {
    match verdict {
        Verdict::Pass => 3,
        Verdict::Fail | Verdict::Retry => 8,
    }
}

/// What comes after a result: a way to try again, or back to the integrator.
#[component]
fn NextStep(
    lang: Lang,
    managed: bool,
    redirect: Option<String>,
    verdict: Option<Verdict>,
    retry: Option<Callback<()>>,
    embedded: bool,
) -> impl IntoView {
    let t = lang.strings();
    let passed = verdict == Some(Verdict::Pass);
    if let Some(url) = redirect {
        let delay = redirect_delay(verdict.unwrap_or(Verdict::Fail));
        let left = RwSignal::new(delay);
        start_redirect(url.clone(), left);
        return EitherOf4::A(view! {
            {(!passed && managed).then(|| view! { <p>{t.managed_retry}</p> })}
            <p class="redirect" aria-live="off">
                {t.redirecting} " " {move || left.get()} " s. "
            </p>
            <a class="button primary" href=url>{t.continue_link}</a>
        });
    }
    if passed {
        return EitherOf4::B((!embedded).then(|| view! { <p class="muted">{t.close_page}</p> }));
    }
    match (managed, retry) {
        (false, Some(retry)) => {
            let busy = RwSignal::new(false);
            EitherOf4::C(view! {
                <button type="button" class="primary" disabled=move || busy.get()
                    on:click=move |_| {
                        busy.set(true);
                        retry.run(());
                    }>
                    {move || if busy.get() { t.starting_again } else { t.try_again }}
                </button>
            })
        }
        (true, _) => EitherOf4::D(view! { <p>{t.managed_retry}</p> }),
        (false, None) => EitherOf4::D(view! { <p>{t.back_to_site}</p> }),
    }
}

/// "Try again" that loads the page again: for a capture refused for capacity, whose link was
/// not used.
#[component]
fn ReloadButton(lang: Lang) -> impl IntoView {
    let t = lang.strings();
    view! {
        <button type="button" class="primary" on:click=move |_| {
            #[cfg(feature = "hydrate")]
            if let Some(loc) = crate::browser::location() {
                let _ = loc.reload();
            }
        }>{t.try_again}</button>
    }
}

/// Counts `left` down once a second, then navigates (in the browser only).
#[allow(unused_variables)]
fn start_redirect(url: String, left: RwSignal<u32>) {
    #[cfg(feature = "hydrate")]
    {
        let handle = set_interval_with_handle(
            move || {
                let now = left.get_untracked().saturating_sub(1);
                left.set(now);
                if now == 0 {
                    crate::browser::navigate(&url);
                }
            },
            Duration::from_secs(1),
        );
        if let Ok(handle) = handle {
            on_cleanup(move || handle.clear());
        }
    }
}

/// The advice lines for a set of reason codes, without repeats.
fn advice(t: &'static Strings, reasons: &[Reason]) -> Vec<&'static str> {
    let mut lines: Vec<&'static str> = Vec::new();
    for r in reasons {
        let line = t.advice(*r);
        if !lines.contains(&line) {
            lines.push(line);
        }
    }
    if lines.is_empty() {
        lines.push(t.general_advice());
    }
    lines
}

#[component]
pub fn OutcomeView(
    outcome: Outcome,
    lang: Lang,
    managed: bool,
    retry: Option<Callback<()>>,
    /// Inside a page that shows more (the demo): no "close this page".
    embedded: bool,
) -> impl IntoView {
    let t = lang.strings();
    let (heading, body) = match outcome.verdict {
        Verdict::Pass => (t.pass_heading, t.pass_body),
        Verdict::Fail => (t.fail_heading, t.fail_body),
        Verdict::Retry => (t.retry_heading, t.retry_body),
    };
    let tips = (outcome.verdict != Verdict::Pass).then(|| {
        let lines = advice(t, &outcome.reasons);
        view! {
            <h2>{t.advice_heading}</h2>
            <ul class="advice">{lines.into_iter().map(|l| view! { <li>{l}</li> }).collect_view()}</ul>
        }
    });
    // A failed managed session cannot be retried here; a retry verdict can be, by the
    // integrator, so both send the person back.
    view! {
        <div class="outcome" role="status">
            <VerdictIcon verdict=outcome.verdict/>
            <h1 tabindex="-1" node_ref=focus_heading()>{heading}</h1>
            <p>{body}</p>
            {tips}
            <NextStep lang managed redirect=outcome.redirect.clone()
                verdict=Some(outcome.verdict) retry embedded/>
        </div>
    }
}

#[component]
pub fn StoppedView(
    stopped: Stopped,
    lang: Lang,
    managed: bool,
    retry: Option<Callback<()>>,
    /// A managed session's way back to its integrator.
    back: Option<String>,
) -> impl IntoView {
    let t = lang.strings();
    let busy = matches!(&stopped, Stopped::ServerError(c) if c == "capacity");
    let (heading, body, code) = match &stopped {
        Stopped::Cancelled => (t.cancelled_heading, t.cancelled_body, None),
        Stopped::ConnectionLost => (t.connection_lost_heading, t.connection_lost_body, None),
        Stopped::ServerError(code) => match code.as_str() {
            "session_expired" => (t.expired_heading, t.expired_body, None),
            "session_already_started" => (t.used_heading, t.used_body, None),
            "session_not_found" => (t.not_found_heading, t.not_found_body, None),
            "invalid_token" => (t.invalid_link_heading, t.invalid_link_body, None),
            "capacity" => (t.busy_heading, t.busy_body, None),
            _ => (
                t.server_error_heading,
                t.server_error_body,
                Some(code.clone()),
            ),
        },
    };
    view! {
        <div class="problem" role="alert">
            <WarningIcon/>
            <h1 tabindex="-1" node_ref=focus_heading()>{heading}</h1>
            <p>{body}</p>
            {code.map(|c| view! { <p class="small muted">{t.error_code} ": " <code>{c}</code></p> })}
            {if busy {
                // Refused before the link was used: the same page works once a slot frees.
                EitherOf3::A(view! { <ReloadButton lang/> })
            } else if let Some(url) = back {
                EitherOf3::B(view! {
                    <p>{t.managed_retry}</p>
                    <a class="button primary" href=url>{t.return_link}</a>
                })
            } else {
                EitherOf3::C(view! {
                    <NextStep lang managed redirect=None verdict=None retry embedded=false/>
                })
            }}
        </div>
    }
}
