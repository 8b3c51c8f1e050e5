//! Small inline SVG icons (no icon font, nothing to download). Decorative: hidden from screen
//! readers, whose text comes from the prompt next to the icon.
use leptos::prelude::*;

use crate::api::{ChallengeKind, Verdict};

/// The picture for one challenge.
#[component]
pub fn ChallengeIcon(kind: ChallengeKind) -> impl IntoView {
    // Each path is drawn on a 48×48 grid with a 2-px stroke.
    let body = match kind {
        ChallengeKind::Blink => "M6 24c5-8 11-12 18-12s13 4 18 12c-5 8-11 12-18 12S11 32 6 24z M18 24h12",
        ChallengeKind::TurnLeft => "M28 10a14 14 0 1 1 0 28 M28 10a14 14 0 0 0-10 4 M6 24h16 M6 24l6-6 M6 24l6 6",
        ChallengeKind::TurnRight => "M20 10a14 14 0 1 0 0 28 M20 10a14 14 0 0 1 10 4 M42 24H26 M42 24l-6-6 M42 24l-6 6",
        ChallengeKind::Nod => "M24 6v36 M24 6l-7 7 M24 6l7 7 M24 42l-7-7 M24 42l7-7",
        ChallengeKind::Smile => "M24 6a18 18 0 1 1 0 36a18 18 0 1 1 0-36 M16 28c4 5 12 5 16 0 M18 19v1 M30 19v1",
        ChallengeKind::MouthOpen => "M24 6a18 18 0 1 1 0 36a18 18 0 1 1 0-36 M24 25a4 6 0 1 1 0 12a4 6 0 1 1 0-12 M18 18v1 M30 18v1",
    };
    view! {
        <svg class="icon" viewBox="0 0 48 48" aria-hidden="true" focusable="false">
            <path d=body fill="none" stroke="currentColor" stroke-width="2.5"
                stroke-linecap="round" stroke-linejoin="round"/>
        </svg>
    }
}

/// The big symbol of a result screen.
#[component]
pub fn VerdictIcon(verdict: Verdict) -> impl IntoView {
    let (class, path) = match verdict {
        Verdict::Pass => ("verdict-icon pass", "M14 25l7 7 13-15"),
        Verdict::Fail => ("verdict-icon fail", "M16 16l16 16 M32 16L16 32"),
        Verdict::Retry => ("verdict-icon retry", "M34 18a12 12 0 1 0 2 10 M34 10v8h-8"),
    };
    view! {
        <svg class=class viewBox="0 0 48 48" aria-hidden="true" focusable="false">
            <circle cx="24" cy="24" r="22" fill="currentColor" opacity="0.14"/>
            <path d=path fill="none" stroke="currentColor" stroke-width="3.5"
                stroke-linecap="round" stroke-linejoin="round"/>
        </svg>
    }
}

/// A warning sign for problem screens.
#[component]
pub fn WarningIcon() -> impl IntoView {
    view! {
        <svg class="verdict-icon warn" viewBox="0 0 48 48" aria-hidden="true" focusable="false">
            <circle cx="24" cy="24" r="22" fill="currentColor" opacity="0.14"/>
            <path d="M24 13v14 M24 34v1" fill="none" stroke="currentColor" stroke-width="3.5"
                stroke-linecap="round"/>
        </svg>
    }
}
