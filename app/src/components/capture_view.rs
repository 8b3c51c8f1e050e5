//! The capture screen: the mirrored live preview with the oval face guide (green when the
//! server says the face is right, amber with a hint and the face's box otherwise), the current
//! challenge with its icon and countdown ring, the progress bar, the screen-light challenge's
//! colours around the oval (and across the page behind it), and the "Analyzing…" overlay.
use leptos::{either::EitherOf4, html, prelude::*};

use crate::{
    components::{icons::ChallengeIcon, show},
    flow::{mirrored_marker, nudge, Flow, Stage},
    i18n::Lang,
};

/// The frame size assumed until the server reports one.
const DEFAULT_FRAME: (u32, u32) = (640, 480);

#[component]
pub fn CaptureView(
    flow: RwSignal<Flow>,
    video_ref: NodeRef<html::Video>,
    lang: Lang,
    on_cancel: Callback<()>,
) -> impl IntoView {
    let t = lang.strings();
    let stage = Memo::new(move |_| flow.with(|f| f.stage.clone()));
    let face = Memo::new(move |_| flow.with(|f| f.face));
    let challenge = Memo::new(move |_| flow.with(|f| f.challenge));
    let frame = Memo::new(move |_| {
        face.get()
            .map(|f| (f.frame_width.max(1), f.frame_height.max(1)))
            .unwrap_or(DEFAULT_FRAME)
    });
    let face_ok = Memo::new(move |_| flow.with(Flow::face_ok));
    let hint = Memo::new(move |_| face.get().and_then(|f| t.face(f.status)));
    let arrow = Memo::new(move |_| {
        let m = face.get().as_ref().and_then(mirrored_marker)?;
        let (dx, dy) = nudge(&m)?;
        Some(match (dx, dy) {
            (1, _) => "→",
            (-1, _) => "←",
            (_, 1) => "↓",
            _ => "↑",
        })
    });
    let progress = Memo::new(move |_| (flow.with(|f| f.progress) * 100.0).round() as u32);
    let light = Memo::new(move |_| flow.with(|f| f.light.clone()));
    let passive =
        Memo::new(move |_| flow.with(|f| matches!(f.ready, Some((crate::api::Mode::Passive, _)))));

    // The guide in frame coordinates; the SVG is cropped exactly like the video (cover/slice).
    let view_box = move || {
        let (w, h) = frame.get();
        format!("0 0 {w} {h}")
    };
    // Coordinates are written as whole frame pixels: a pixel is below what the eye sees at the
    // scale the video is shown, and integer formatting keeps the bundle free of the float
    // formatter (docs/performance.md, "Page weight").
    let px = |v: f32| v.round() as i32;
    let oval = move || {
        let (w, h) = frame.get();
        let (w, h) = (w as f32, h as f32);
        let ry = h * 0.38;
        let rx = (ry * 0.78).min(w * 0.45);
        (px(w / 2.0), px(h * 0.48), px(rx), px(ry))
    };
    let shade = move || {
        let (w, h) = frame.get();
        let (cx, cy, rx, ry) = oval();
        format!(
            "M0 0H{w}V{h}H0Z M{l} {cy}a{rx} {ry} 0 1 0 {d} 0a{rx} {ry} 0 1 0 -{d} 0Z",
            l = cx - rx,
            d = 2 * rx
        )
    };
    let marker = move || {
        let f = face.get()?;
        if f.status == crate::ws::FaceStatus::Ok {
            return None;
        }
        let m = mirrored_marker(&f)?;
        let (w, h) = frame.get();
        let (w, h) = (w as f32, h as f32);
        Some(view! {
            <rect class="face-box" x=px(m.left * w) y=px(m.top * h) width=px(m.width * w)
                height=px(m.height * h) rx="12"/>
        })
    };

    let prompt = move || {
        if light.get().is_some() {
            EitherOf4::A(view! {
                <div class="prompt light-prompt">
                    <p class="prompt-main">{t.light_prompt}</p>
                </div>
            })
        } else if let Some(c) = challenge.get() {
            let done = flow.with(|f| f.just_passed.is_some() && f.passed > c.index);
            let ring = if c.budget > 0.0 {
                (c.seconds_left / c.budget).clamp(0.0, 1.0)
            } else {
                0.0
            };
            let secs = c.seconds_left.ceil() as u32;
            EitherOf4::B(view! {
                <div class="prompt" class:done=done>
                    <ChallengeIcon kind=c.kind/>
                    <div class="prompt-text">
                        <p class="step">{t.challenge_step} " " {c.index + 1} " / " {c.total}</p>
                        <p class="prompt-main">
                            {if done { t.challenge_done } else { t.challenge(c.kind) }}
                        </p>
                    </div>
                    <div class="countdown" title=format!("{secs} {}", t.seconds_left)>
                        <svg viewBox="0 0 36 36" aria-hidden="true" focusable="false">
                            <circle class="track" cx="18" cy="18" r="15.9"/>
                            <circle class="left" cx="18" cy="18" r="15.9" pathLength="100"
                                stroke-dasharray=format!("{} 100", px(ring * 100.0))/>
                        </svg>
                        <span>{secs}<span class="sr-only">" " {t.seconds_left}</span></span>
                    </div>
                </div>
            })
        } else if passive.get() {
            EitherOf4::C(view! {
                <div class="prompt"><p class="prompt-main">{t.passive_prompt}</p></div>
            })
        } else {
            EitherOf4::D(())
        }
    };

    // The Start button that had focus is gone: keyboard users continue from here.
    let root = NodeRef::<html::Div>::new();
    Effect::new(move |_| {
        if let Some(el) = root.get() {
            let _ = el.focus();
        }
    });

    view! {
        <div class="capture" tabindex="-1" node_ref=root>
            // The screen-light challenge lights the whole screen around the preview.
            <div class="light-field" class:on=move || light.get().is_some()
                style:background-color=move || light.get() aria-hidden="true"></div>
            <div class="preview" class:ok=face_ok>
                // `muted` is also set from code: the attribute does not set the property.
                <video node_ref=video_ref autoplay=true playsinline=true muted=true
                    aria-label=t.preview_label></video>
                <svg class="guide" viewBox=view_box preserveAspectRatio="xMidYMid slice"
                    aria-hidden="true" focusable="false">
                    <path class="shade" class:lit=move || light.get().is_some() d=shade
                        fill-rule="evenodd" style:fill=move || light.get()/>
                    <ellipse class="oval" cx=move || oval().0 cy=move || oval().1
                        rx=move || oval().2 ry=move || oval().3/>
                    {marker}
                </svg>
                {show(move || stage.get() == Stage::Camera, move || view! {
                    <div class="overlay">
                        <div class="spinner" aria-hidden="true"></div>
                        <p>{t.camera_requesting}</p>
                        <p class="small">{t.camera_allow_hint}</p>
                    </div>
                })}
                {show(move || stage.get() == Stage::Analyzing, move || view! {
                    <div class="overlay">
                        <div class="spinner" aria-hidden="true"></div>
                        <p class="big">{t.analyzing}</p>
                        <p class="small">{t.analyzing_detail}</p>
                    </div>
                })}
                {show(move || hint.get().is_some() && stage.get() == Stage::Capturing, move || view! {
                    <p class="hint">
                        <span aria-hidden="true">{move || arrow.get().unwrap_or("")} " "</span>
                        {move || hint.get().unwrap_or_default()}
                    </p>
                })}
            </div>
            {prompt}
            <div class="progress" role="progressbar" aria-label=t.progress_label
                aria-valuemin="0" aria-valuemax="100" aria-valuenow=move || progress.get()>
                <span style=move || format!("width: {}%", progress.get())></span>
            </div>
            {show(move || stage.get() != Stage::Analyzing, move || view! {
                <button type="button" class="secondary" on:click=move |_| on_cancel.run(())>
                    {t.cancel}
                </button>
            })}
        </div>
    }
}
