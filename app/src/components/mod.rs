//! Components shared by the pages; one file each.
pub mod camera_problem;
pub mod capture_view;
pub mod icons;
pub mod link_problem;
pub mod outcome;
pub mod verify;
pub mod welcome;

use leptos::prelude::*;

/// A ref for an end screen's heading that takes focus once mounted: the screen replaces the
/// button that had focus, and keyboard and screen-reader users should land on what happened.
pub fn focus_heading() -> NodeRef<leptos::html::H1> {
    let heading = NodeRef::<leptos::html::H1>::new();
    Effect::new(move |_| {
        if let Some(h) = heading.get() {
            let _ = h.focus();
        }
    });
    heading
}

/// `children` while `when` holds, else nothing: Leptos's `<Show>` without its type erasure.
/// `<Show>` (like `.into_any()`) boxes its children as `AnyView`, which compiles every way of
/// rendering them into the browser bundle, async hydration included, which this app never uses;
/// a typed `Option` compiles only what is used (docs/performance.md, "Page weight").
pub fn show<V>(
    when: impl Fn() -> bool + Send + Sync + 'static,
    children: impl Fn() -> V + Send + Sync + 'static,
) -> impl IntoView
where
    V: IntoView + 'static,
{
    let when = Memo::new(move |_| when());
    move || when.get().then(&children)
}
