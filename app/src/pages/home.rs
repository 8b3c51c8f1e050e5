//! `/`: the developer's demo. Starts a direct session (solving the proof-of-work CAPTCHA when
//! the server asks for it), runs the same flow a user sees, then shows what the API returns:
//! verdict, confidence, per-layer scores, challenges, reasons and the photo.
use leptos::{
    either::{Either, EitherOf3},
    prelude::*,
};
use leptos_meta::{Html, Title};

use crate::{
    api::{ChallengeOutcome, Layers, Mode, Verdict},
    components::{
        show,
        verify::{Target, Verify},
    },
    flow::Outcome,
    i18n::{Lang, Strings},
    use_lang,
    ws::CameraMetadata,
};

/// The parts of `GET /api/v1/session/{id}/result` the demo shows. Typed camera metadata (rather
/// than the contract's free-form JSON) keeps a JSON tree type out of the browser bundle.
#[derive(Debug, Clone, serde::Deserialize)]
#[cfg_attr(not(feature = "hydrate"), allow(dead_code))]
struct DemoResult {
    verdict: Option<Verdict>,
    confidence: Option<f64>,
    layers: Option<Layers>,
    challenges: Option<Vec<ChallengeOutcome>>,
    reasons: Option<Vec<crate::reason::Reason>>,
    camera_metadata: Option<CameraMetadata>,
    photo_available: bool,
}

#[component]
pub fn Home() -> impl IntoView {
    let locale = use_lang();
    view! {
        <Suspense fallback=|| view! { <section class="card"><p>"…"</p></section> }>
            {move || Suspend::new(async move {
                let lang = Lang::from_tag(&locale.await);
                view! {
                    <Html {..} lang=lang.tag()/>
                    <Title text=lang.strings().demo_title/>
                    <Demo lang/>
                }
            })}
        </Suspense>
    }
}

/// Where the demo is (the browser moves it on; the server renders `Idle`).
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(not(feature = "hydrate"), allow(dead_code))]
enum DemoState {
    Idle,
    Creating,
    /// A session is running; the token reads its result afterwards.
    Running {
        target: Target,
        token: String,
    },
    Failed(String),
}

/// The full result, once the flow has a verdict.
#[derive(Debug, Clone)]
#[cfg_attr(not(feature = "hydrate"), allow(dead_code))]
enum Details {
    Loading,
    Loaded {
        result: Box<DemoResult>,
        photo: Option<String>,
    },
    Failed(String),
}

#[component]
fn Demo(lang: Lang) -> impl IntoView {
    let t = lang.strings();
    let state = RwSignal::new(DemoState::Idle);
    let details = RwSignal::new(None::<Details>);
    let mode = RwSignal::new(Mode::Active);
    let hydrated = RwSignal::new(false);

    let start = Callback::new(move |()| {
        details.set(None);
        state.set(DemoState::Creating);
        create_session(mode.get_untracked(), lang, state);
    });
    // "Try again" on a direct session's page leads here, naming the mode to start at once
    // (`START_PARAM`). The address goes back to `/`, so that reloading does not start another.
    Effect::new(move |_| {
        hydrated.set(true);
        let requested = crate::current_url()
            .and_then(|(_, query)| crate::query_param(&query, crate::START_PARAM))
            .and_then(|name| Mode::parse(&name));
        if let Some(requested) = requested {
            #[cfg(feature = "hydrate")]
            crate::browser::replace_url("/");
            mode.set(requested);
            start.run(());
        }
    });

    let body = move || match state.get() {
        DemoState::Idle | DemoState::Creating | DemoState::Failed(_) => {
            let creating = state.with(|s| *s == DemoState::Creating);
            let error = state.with(|s| match s {
                DemoState::Failed(e) => Some(e.clone()),
                _ => None,
            });
            Either::Left(view! {
                <fieldset class="modes">
                    <legend>{t.demo_mode}</legend>
                    {[(Mode::Active, t.demo_active), (Mode::Passive, t.demo_passive)]
                        .into_iter()
                        .map(|(m, label)| view! {
                            <label>
                                <input type="radio" name="mode" value=m.as_str()
                                    prop:checked=move || mode.get() == m
                                    on:change=move |_| mode.set(m)/>
                                {label}
                            </label>
                        })
                        .collect_view()}
                </fieldset>
                {error.map(|e| if e == "capacity" {
                    Either::Left(view! { <p class="error" role="alert">{t.busy_body}</p> })
                } else {
                    Either::Right(view! {
                        <p class="error" role="alert">{t.demo_error} ": " <code>{e}</code></p>
                    })
                })}
                <button type="button" class="primary"
                    disabled=move || !hydrated.get() || creating
                    on:click=move |_| start.run(())>
                    {if creating { t.demo_creating } else { t.demo_start }}
                </button>
            })
        }
        DemoState::Running { target, token } => {
            let session_id = target.session_id.clone();
            let on_done = Callback::new(move |_: Outcome| {
                load_details(session_id.clone(), token.clone(), details);
            });
            Either::Right(view! {
                <Verify target lang on_done=Some(on_done) retry=Some(start) autostart=true/>
            })
        }
    };

    view! {
        <section class="card">
            <h1>{t.demo_title}</h1>
            <p class="lead">{t.demo_intro}</p>
            {body}
        </section>
        {move || details.get().map(|d| view! { <DetailsView details=d lang/> })}
        {show(move || details.with(|d| matches!(d, Some(Details::Loaded { .. }))), move || view! {
            <p class="center">
                <button type="button" class="secondary" on:click=move |_| {
                    details.set(None);
                    state.set(DemoState::Idle);
                }>{t.demo_again}</button>
            </p>
        })}
        <section class="card">
            <h2>{t.demo_integrate}</h2>
            <ul>
                <li><a href="/api/openapi.json">{t.demo_openapi}</a></li>
                <li>{t.demo_readme}</li>
            </ul>
        </section>
    }
}

#[allow(unused_variables)]
fn create_session(mode: Mode, lang: Lang, state: RwSignal<DemoState>) {
    #[cfg(feature = "hydrate")]
    leptos::task::spawn_local(async move {
        use crate::browser::http;
        let created = match http::create_direct_session(mode, Some(lang.tag().into())).await {
            Ok(created) => created,
            Err(e) => {
                state.set(DemoState::Failed(e.code));
                return;
            }
        };
        let Some(capture) = http::capture_of(&created.session_url) else {
            state.set(DemoState::Failed("bad_session_url".into()));
            return;
        };
        state.set(DemoState::Running {
            target: Target {
                session_id: created.session_id,
                capture,
                mode: created.mode,
                managed: false,
                back: None,
            },
            token: created.token,
        });
    });
}

#[allow(unused_variables)]
fn load_details(session_id: String, token: String, details: RwSignal<Option<Details>>) {
    #[cfg(feature = "hydrate")]
    {
        details.set(Some(Details::Loading));
        leptos::task::spawn_local(async move {
            use crate::browser::http;
            // The photo is rendered after the verdict: a pass may list it a moment later.
            let mut tries = 0;
            let result = loop {
                let result = match http::result::<DemoResult>(&session_id, &token).await {
                    Ok(r) => r,
                    Err(e) => {
                        details.set(Some(Details::Failed(e.code)));
                        return;
                    }
                };
                tries += 1;
                let waiting = result.verdict == Some(Verdict::Pass) && !result.photo_available;
                if !waiting || tries >= 5 {
                    break result;
                }
                crate::browser::sleep(1000).await;
            };
            let photo = if result.photo_available {
                http::photo_url(&session_id, &token).await.ok().flatten()
            } else {
                None
            };
            details.set(Some(Details::Loaded {
                result: Box::new(result),
                photo,
            }));
        });
    }
}

fn percent(v: f64) -> String {
    format!("{:.1} %", v * 100.0)
}

fn score_row(name: &'static str, value: Option<f64>) -> impl IntoView {
    value.map(|v| {
        view! {
            <tr>
                <th scope="row"><code>{name}</code></th>
                <td class="num">{format!("{v:.3}")}</td>
                <td class="bar-cell">
                    <span class="bar" aria-hidden="true">
                        <span style=format!("width: {:.0}%", v.clamp(0.0, 1.0) * 100.0)></span>
                    </span>
                </td>
            </tr>
        }
    })
}

#[component]
fn DetailsView(details: Details, lang: Lang) -> impl IntoView {
    let t: &'static Strings = lang.strings();
    let inner = match details {
        Details::Loading => EitherOf3::A(view! { <p aria-busy="true">{t.demo_loading}</p> }),
        Details::Failed(code) => EitherOf3::B(view! {
            <p class="error" role="alert"><code>{code}</code></p>
        }),
        Details::Loaded { result, photo } => {
            let verdict_class = result.verdict.map(Verdict::as_str).unwrap_or_default();
            let verdict = result.verdict.map(Verdict::as_str).unwrap_or(t.demo_none);
            let layers = result.layers.clone().map(|l| {
                view! {
                    <h3>{t.demo_layers}</h3>
                    <table class="scores">
                        <tbody>
                            {score_row("anti_spoof", Some(l.anti_spoof))}
                            {score_row("deepfake", Some(l.deepfake))}
                            {score_row("face_consistency", Some(l.face_consistency))}
                            {score_row("motion", Some(l.motion))}
                            {score_row("challenges", l.challenges)}
                        </tbody>
                    </table>
                }
            });
            let challenges = result
                .challenges
                .clone()
                .filter(|c| !c.is_empty())
                .map(|cs| {
                    view! {
                        <h3>{t.demo_challenges}</h3>
                        <ul class="plain">
                            {cs.into_iter().map(|c| view! {
                                <li>
                                    {t.challenge(c.kind)} " — "
                                    <span class=if c.passed { "ok" } else { "bad" }>
                                        {if c.passed { t.demo_met } else { t.demo_not_met }}
                                    </span>
                                </li>
                            }).collect_view()}
                        </ul>
                    }
                });
            let reasons = result.reasons.clone().unwrap_or_default();
            let reasons = if reasons.is_empty() {
                Either::Left(view! { <p class="muted">{t.demo_none}</p> })
            } else {
                Either::Right(view! {
                    <ul class="plain">
                        {reasons.into_iter().map(|r| view! {
                            <li><code>{r.code()}</code> " — " {t.advice(r)}</li>
                        }).collect_view()}
                    </ul>
                })
            };
            let photo = match photo {
                Some(src) => Either::Left(view! {
                    <img class="photo" src=src alt=t.demo_photo width="240" height="300"/>
                }),
                None => {
                    let why = if result.verdict == Some(Verdict::Pass) {
                        t.demo_photo_missing
                    } else {
                        t.demo_no_photo
                    };
                    Either::Right(view! { <p class="muted">{why}</p> })
                }
            };
            let camera = result.camera_metadata.as_ref().map(|m| {
                let size = match (m.width, m.height) {
                    (Some(w), Some(h)) => format!("{w}×{h}"),
                    _ => String::new(),
                };
                let fps = m
                    .frame_rate
                    .map(|f| format!(" @ {f:.0} fps"))
                    .unwrap_or_default();
                format!("{} {size}{fps}", m.label.clone().unwrap_or_default())
            });
            EitherOf3::C(view! {
                <dl class="facts">
                    <dt>{t.demo_verdict}</dt>
                    <dd><span class=format!("badge {verdict_class}")>{verdict}</span></dd>
                    <dt>{t.demo_confidence}</dt>
                    <dd>{result.confidence.map(percent).unwrap_or_default()}</dd>
                </dl>
                {layers}
                {challenges}
                <h3>{t.demo_reasons}</h3>
                {reasons}
                <h3>{t.demo_photo}</h3>
                {photo}
                {camera.map(|c| view! {
                    <p class="small muted"><code>"camera_metadata"</code> ": " {c}</p>
                })}
            })
        }
    };
    view! {
        <section class="card results" aria-live="polite">
            <h2>{t.demo_results}</h2>
            {inner}
        </section>
    }
}
