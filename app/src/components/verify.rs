//! The whole verification flow for one session, used by the session page and the demo:
//! welcome → camera → live capture with guidance and challenges → analyzing → result, plus the
//! camera-problem and stopped screens. The screens render a [`Flow`]; in the browser the
//! [`capture`](crate::browser::capture) glue feeds it server messages. An ARIA live region
//! announces prompts and guidance.
use leptos::{either::EitherOf5, html, prelude::*};

use crate::{
    api::Mode,
    components::{
        camera_problem::CameraProblemView,
        capture_view::CaptureView,
        outcome::{OutcomeView, StoppedView},
        show,
        welcome::Welcome,
    },
    flow::{Flow, Outcome, Stage},
    i18n::Lang,
};

/// What the flow needs to know about its session.
#[derive(Debug, Clone, PartialEq)]
pub struct Target {
    pub session_id: String,
    pub capture: String,
    pub mode: Mode,
    pub managed: bool,
    /// A managed session's way back to its integrator when the capture stops without a verdict
    /// ([`SessionPageInfo::back`](crate::session_info::SessionPageInfo::back)).
    pub back: Option<String>,
}

#[component]
pub fn Verify(
    target: Target,
    lang: Lang,
    /// Called once with the verdict (the demo then loads the full result).
    #[prop(default = None)]
    on_done: Option<Callback<Outcome>>,
    /// "Try again" for direct sessions: starts a new session.
    #[prop(default = None)]
    retry: Option<Callback<()>>,
    /// Skip the welcome screen (the demo has its own).
    #[prop(optional)]
    autostart: bool,
) -> impl IntoView {
    let t = lang.strings();
    let flow = RwSignal::new(Flow::default());
    let video_ref = NodeRef::<html::Video>::new();
    let hydrated = RwSignal::new(false);
    let runtime = Runtime::new();
    let managed = target.managed;
    let back = target.back.clone();
    let mode = target.mode;
    let embedded = on_done.is_some();

    let start = Callback::new(move |()| runtime.start(&target, lang, flow, video_ref, on_done));
    let cancel = Callback::new(move |()| runtime.cancel(flow));
    Effect::new(move |_| {
        hydrated.set(true);
        if autostart {
            start.run(());
        }
    });

    let screen = Memo::new(move |_| flow.with(|f| f.stage.clone()));
    let capturing = Memo::new(move |_| {
        matches!(
            screen.get(),
            Stage::Camera | Stage::Capturing | Stage::Analyzing
        )
    });
    let announcement = Memo::new(move |_| {
        flow.with(|f| match &f.stage {
            Stage::Camera => t.camera_requesting.to_owned(),
            Stage::Analyzing => t.analyzing.to_owned(),
            Stage::Capturing => {
                if let Some(c) = f.challenge {
                    if f.just_passed.is_some() && f.passed > c.index {
                        t.challenge_done.to_owned()
                    } else {
                        t.challenge(c.kind).to_owned()
                    }
                } else if let Some(hint) = f.face.and_then(|face| t.face(face.status)) {
                    hint.to_owned()
                } else if matches!(f.ready, Some((Mode::Passive, _))) {
                    t.passive_prompt.to_owned()
                } else {
                    String::new()
                }
            }
            _ => String::new(),
        })
    });

    let other = move || match screen.get() {
        Stage::Welcome => EitherOf5::A(view! {
            <Welcome mode lang ready=hydrated.into() on_start=start/>
        }),
        Stage::CameraProblem(problem) => EitherOf5::B(view! {
            <CameraProblemView problem lang on_retry=start/>
        }),
        Stage::Done(outcome) => EitherOf5::C(view! {
            <OutcomeView outcome lang managed retry embedded/>
        }),
        Stage::Stopped(stopped) => EitherOf5::D(view! {
            <StoppedView stopped lang managed retry back=back.clone()/>
        }),
        Stage::Camera | Stage::Capturing | Stage::Analyzing => EitherOf5::E(()),
    };

    view! {
        <div class="verify">
            <p class="sr-only" aria-live="polite" role="status">{move || announcement.get()}</p>
            {show(move || capturing.get(), move || view! {
                <CaptureView flow video_ref lang on_cancel=cancel/>
            })}
            {other}
        </div>
    }
}

/// The browser side of a capture: the running [`Capture`](crate::browser::capture::Capture),
/// kept in local (non-`Send`) storage. On the server it is an empty shell, since its methods
/// only run from event handlers and effects.
#[derive(Clone, Copy)]
struct Runtime {
    #[cfg(feature = "hydrate")]
    capture: StoredValue<Option<crate::browser::capture::Capture>, LocalStorage>,
}

impl Runtime {
    fn new() -> Self {
        Runtime {
            #[cfg(feature = "hydrate")]
            capture: StoredValue::new_local(None),
        }
    }

    #[allow(unused_variables)]
    fn start(
        self,
        target: &Target,
        lang: Lang,
        flow: RwSignal<Flow>,
        video_ref: NodeRef<html::Video>,
        on_done: Option<Callback<Outcome>>,
    ) {
        #[cfg(feature = "hydrate")]
        {
            let target = target.clone();
            flow.set(Flow {
                stage: Stage::Camera,
                ..Flow::default()
            });
            leptos::task::spawn_local(async move {
                self.run(target, lang, flow, video_ref, on_done).await;
            });
        }
    }

    #[cfg(feature = "hydrate")]
    async fn run(
        self,
        target: Target,
        lang: Lang,
        flow: RwSignal<Flow>,
        video_ref: NodeRef<html::Video>,
        on_done: Option<Callback<Outcome>>,
    ) {
        use std::rc::Rc;

        use crate::browser::{
            camera,
            capture::{self, Capture, Event},
            sleep,
        };
        use crate::flow::Stopped;
        use crate::ws::ClientMessage;

        let stream = match camera::open().await {
            Ok(stream) => stream,
            Err(problem) => {
                flow.update(|f| f.stage = Stage::CameraProblem(problem));
                return;
            }
        };
        // The preview mounts when the stage turns to `Camera`; wait for it briefly.
        let mut video = None;
        for _ in 0..100 {
            video = video_ref.get_untracked();
            if video.is_some() {
                break;
            }
            sleep(20).await;
        }
        let Some(video) = video else {
            camera::stop(&stream);
            return;
        };
        let video: web_sys::HtmlVideoElement = video;
        video.set_muted(true);
        video.set_src_object(Some(&stream));
        let _ = video.play();

        let Some(url) = capture::socket_url(&target.session_id, &target.capture) else {
            camera::stop(&stream);
            flow.update(|f| f.stage = Stage::Stopped(Stopped::ConnectionLost));
            return;
        };
        let hello = ClientMessage::Hello {
            camera: camera::metadata(&stream),
            locale: Some(lang.tag().to_owned()),
            reduced_motion: crate::browser::light::prefers_reduced_motion(),
        };
        let finish = move || {
            // Dropped on the next turn: never inside the socket callback that is running.
            set_timeout(
                move || self.capture.set_value(None),
                std::time::Duration::ZERO,
            );
        };
        let on_event = Rc::new(move |event: Event| match event {
            Event::Server(msg) => {
                let mut over = false;
                flow.update(|f| over = f.apply(msg));
                if over {
                    finish();
                    if let (Some(cb), Stage::Done(outcome)) =
                        (on_done, flow.with_untracked(|f| f.stage.clone()))
                    {
                        cb.run(outcome);
                    }
                }
            }
            Event::Closed => {
                flow.update(Flow::closed);
                finish();
            }
            Event::Light(colour) => flow.update(|f| {
                if matches!(f.stage, Stage::Capturing) {
                    f.light = colour;
                }
            }),
            Event::Tick(dt) => {
                if flow.with_untracked(|f| f.challenge.is_some()) {
                    flow.update(|f| f.tick(dt));
                }
            }
        });
        match Capture::start(&url, video, stream.clone(), hello, on_event) {
            Ok(running) => {
                self.capture.set_value(Some(running));
                flow.update(|f| {
                    if f.stage == Stage::Camera {
                        *f = Flow::capturing();
                    }
                });
            }
            Err(err) => {
                leptos::logging::warn!(
                    "could not open the socket: {}",
                    crate::browser::describe(&err)
                );
                camera::stop(&stream);
                flow.update(|f| f.stage = Stage::Stopped(Stopped::ConnectionLost));
            }
        }
    }

    /// Tells the server the person gave up. The server answers with a verdict (for a managed
    /// session it carries the way back), so the capture stays open for it a moment; without one
    /// the "cancelled" screen shows.
    #[allow(unused_variables)]
    fn cancel(self, flow: RwSignal<Flow>) {
        #[cfg(feature = "hydrate")]
        {
            self.capture.with_value(|c| {
                if let Some(c) = c {
                    c.cancel();
                }
            });
            set_timeout(
                move || {
                    flow.update(|f| {
                        if matches!(f.stage, Stage::Capturing | Stage::Analyzing) {
                            f.stage = Stage::Stopped(crate::flow::Stopped::Cancelled);
                        }
                    });
                    self.capture.set_value(None);
                },
                std::time::Duration::from_secs(3),
            );
        }
    }
}
