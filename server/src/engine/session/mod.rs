//! One verification session's state machine: positioning guidance, then the challenges (active)
//! or a steady hold (passive), then the layers, the fusion and the portrait. It is pure logic —
//! frames and clock ticks in, [`ServerMessage`]s out — so it is tested without sockets or models.
use std::sync::Arc;

use app::{
    api::{ChallengeKind, ChallengeOutcome, Mode, Reason, Verdict},
    ws::{CameraMetadata, FaceBox, FaceStatus, ServerMessage},
};
use rand::{rngs::StdRng, Rng, SeedableRng};

use super::{
    challenges::{self, Baseline, Detector, Watch},
    fusion::{self, LayerSet},
    guidance,
    layers::{self, Sample},
    light::LightRun,
    outcome::Outcome,
    parallax::KeyframeSet,
    photo, Observation, Thresholds,
};

mod light;
mod sampling;
#[cfg(test)]
mod tests;

/// Continuous seconds of a well-placed face before the first challenge or the hold begins.
const SETTLE_SECS: f64 = 0.6;
/// Frames arriving within this long after a prompt were captured before the person saw it.
const REACTION_SECS: f64 = 0.25;
/// Pause between a passed challenge and the next prompt.
const BETWEEN_SECS: f64 = 0.6;
/// At most this many frames are kept for the layers (≈ 90 s at 15 fps).
const MAX_SAMPLES: usize = 1500;
/// How many face crops are kept for the image parallax test (the widest-apart poses win;
/// ≤ 224×224 grey each, so ≤ 0.8 MB a session).
const MAX_KEYFRAMES: usize = 16;

#[derive(Debug, Clone)]
enum Phase {
    /// Waiting for a well-placed face; `since` is when it became well placed.
    Positioning {
        since: Option<f64>,
    },
    /// Challenge `index` was prompted at `prompted`.
    Challenge {
        index: usize,
        prompted: f64,
        detector: Detector,
        last_whole_second: i64,
        /// The asked action was already under way when it was prompted: it counts only after
        /// the face has come back to neutral and done it again.
        premature: bool,
    },
    /// Between challenges, until `until`.
    Pause {
        next: usize,
        until: f64,
    },
    /// The screen-light challenge (passive mode's hold; before the first challenge in active
    /// mode): the page paints [`SessionEngine::light`]'s sequence while the face holds still.
    Light {
        started: f64,
        /// Since when the face has not been well placed (the run restarts after a while).
        lost_since: Option<f64>,
        /// When the page's report that the light went back off arrived.
        ended: Option<f64>,
    },
    Done,
}

pub struct SessionEngine {
    mode: Mode,
    th: Thresholds,
    plan: Vec<ChallengeKind>,
    outcomes: Vec<ChallengeOutcome>,
    phase: Phase,
    samples: Vec<Sample>,
    keyframes: KeyframeSet,
    last_keyframe: f64,
    settle: Vec<Observation>,
    baseline: Option<Baseline>,
    /// Actions performed unasked, from the baseline to the last challenge (active mode).
    watch: Option<Watch>,
    camera: CameraMetadata,
    last_face_t: f64,
    /// Frames on which a face was found, since the start.
    faces_seen: u32,
    last_antispoof: f64,
    /// Anti-spoof samples taken: the networks take turns (`sampling`).
    antispoof_samples: u32,
    last_embedding: f64,
    best: Option<(f32, Arc<image::RgbImage>, models::Face)>,
    incomplete: Vec<Reason>,
    timed_out: bool,
    statuses: Vec<FaceStatus>,
    /// The latest run of the screen-light challenge.
    light: Option<LightRun>,
    reduced_motion: bool,
    /// Draws the light sequences (seeded from the caller's generator).
    rng: StdRng,
}

impl SessionEngine {
    /// A new session; active sessions draw their challenges from `rng`: 3–6 of the pool, in
    /// random order, always including a head turn (the motion layer needs parallax).
    pub fn new(mode: Mode, th: Thresholds, rng: &mut impl Rng) -> Self {
        let plan = match mode {
            Mode::Passive => vec![],
            Mode::Active => challenges::draw(&th, rng),
        };
        SessionEngine {
            mode,
            th,
            plan,
            outcomes: vec![],
            phase: Phase::Positioning { since: None },
            samples: vec![],
            keyframes: KeyframeSet::new(MAX_KEYFRAMES),
            last_keyframe: f64::NEG_INFINITY,
            settle: vec![],
            baseline: None,
            watch: None,
            camera: CameraMetadata::default(),
            last_face_t: 0.0,
            faces_seen: 0,
            last_antispoof: f64::NEG_INFINITY,
            antispoof_samples: 0,
            last_embedding: f64::NEG_INFINITY,
            best: None,
            incomplete: vec![],
            timed_out: false,
            statuses: vec![],
            light: None,
            reduced_motion: false,
            rng: StdRng::from_rng(rng).unwrap_or_else(|_| StdRng::from_entropy()),
        }
    }

    pub fn plan(&self) -> &[ChallengeKind] {
        &self.plan
    }

    pub fn set_camera(&mut self, camera: CameraMetadata) {
        self.camera = camera;
    }

    /// The person prefers reduced motion: the light sequence changes colour more slowly.
    pub fn set_reduced_motion(&mut self, reduced: bool) {
        self.reduced_motion = reduced;
    }

    pub fn camera(&self) -> &CameraMetadata {
        &self.camera
    }

    /// The first message.
    pub fn ready(&self) -> ServerMessage {
        ServerMessage::Ready {
            mode: self.mode,
            challenges: self.plan.len() as u32,
        }
    }

    pub fn is_done(&self) -> bool {
        matches!(self.phase, Phase::Done)
    }

    /// Feeds one analysed frame.
    pub fn on_frame(&mut self, mut o: Observation) -> Vec<ServerMessage> {
        if self.is_done() {
            return vec![];
        }
        let mut out = vec![];
        if let Some(f) = &o.face {
            self.last_face_t = o.t;
            self.faces_seen = self.faces_seen.saturating_add(1);
            if f.anti_spoof.is_some() {
                self.last_antispoof = o.t;
                self.antispoof_samples += 1;
            }
            if f.embedding.is_some() {
                self.last_embedding = o.t;
            }
        }
        let in_challenge = matches!(self.phase, Phase::Challenge { .. } | Phase::Pause { .. });
        let status = guidance::status(&o, !in_challenge);
        self.statuses.push(status);
        out.push(ServerMessage::Face {
            status,
            face_box: o.face.as_ref().map(|f| FaceBox {
                left: f.bbox.x,
                top: f.bbox.y,
                width: f.bbox.w,
                height: f.bbox.h,
            }),
            frame_width: o.frame_width,
            frame_height: o.frame_height,
        });
        // Keep the best portrait frame's pixels; drop everyone else's. Frames of the light
        // sequence are tinted by the screen's colours: never a portrait.
        let lit = matches!(self.phase, Phase::Light { .. });
        if let (Some(f), Some(img), FaceStatus::Ok, false) = (&o.face, o.image.take(), status, lit)
        {
            let score = photo::candidate_score(f);
            if self.best.as_ref().is_none_or(|(s, _, _)| score > *s) {
                self.best = Some((score, img, f.clone()));
            }
        }
        if self.samples.len() < MAX_SAMPLES {
            let mut sample = Sample::from_observation(&o);
            if let Some(f) = sample.face.as_mut() {
                f.placed = status == FaceStatus::Ok;
            }
            self.samples.push(sample);
        }
        if let Some(k) = o.keyframe.take() {
            self.last_keyframe = o.t;
            self.keyframes.push(k);
        }
        let t = o.t;
        if matches!(self.phase, Phase::Light { .. }) {
            out.extend(self.on_light_frame(&o, status));
        }
        match &mut self.phase {
            Phase::Positioning { since } => {
                if status == FaceStatus::Ok {
                    let start = *since.get_or_insert(t);
                    self.settle.push(o);
                    if t - start >= SETTLE_SECS {
                        self.baseline = Baseline::from_frames(&self.settle);
                        self.watch = self.baseline.map(Watch::new);
                        self.settle.clear();
                        out.extend(self.begin(t));
                    }
                } else {
                    *since = None;
                    self.settle.clear();
                }
            }
            Phase::Challenge {
                index,
                prompted,
                detector,
                premature,
                ..
            } => {
                let (i, kind) = (*index, detector.kind);
                let rival = self.watch.as_mut().and_then(|w| w.observe(&o, Some(kind)));
                // The previous action may still be finishing: while it is under way, or if it
                // looks like this one (a wide open mouth widens it, as a smile does), its tail is
                // not this action.
                let finishing = i
                    .checked_sub(1)
                    .and_then(|p| self.plan.get(p))
                    .is_some_and(|p| {
                        challenges::overlaps(*p, kind)
                            || self
                                .baseline
                                .is_some_and(|b| Detector::new(*p, b).engaged(&o))
                    });
                let met = if t - *prompted < REACTION_SECS {
                    // Too soon to be a reaction: a head action under way now began before the
                    // prompt (blinks and the mouth's actions excepted: people make them unasked).
                    if !challenges::made_unasked(kind)
                        && !finishing
                        && !*premature
                        && detector.engaged(&o)
                    {
                        *premature = true;
                        if let Some(w) = self.watch.as_mut() {
                            w.record(kind, t);
                        }
                    }
                    false
                } else if *premature {
                    *premature = detector.engaged(&o);
                    false
                } else {
                    detector.observe(&o)
                };
                if met || rival.is_some() {
                    // A wrong action ends the challenge unmet: the person moves on to the next.
                    self.outcomes.push(ChallengeOutcome { kind, passed: met });
                    if met {
                        out.push(ServerMessage::ChallengePassed {
                            kind,
                            index: i as u32,
                        });
                    }
                    out.push(ServerMessage::Progress {
                        value: self.outcomes.len() as f32 / self.plan.len() as f32,
                    });
                    if i + 1 >= self.plan.len() {
                        self.phase = Phase::Done;
                    } else {
                        self.phase = Phase::Pause {
                            next: i + 1,
                            until: t + BETWEEN_SECS,
                        };
                    }
                }
            }
            Phase::Pause { next, .. } => {
                // The action just answered may still be finishing (a nod swings back, a turn
                // returns): it stays expected until the next prompt.
                let finishing = self.plan.get(*next - 1).copied();
                if let Some(w) = self.watch.as_mut() {
                    w.observe(&o, finishing);
                }
            }
            Phase::Light { .. } | Phase::Done => {}
        }
        self.check_deadlines(t);
        out
    }

    /// Placement settled: the light challenge comes first in both modes.
    fn begin(&mut self, t: f64) -> Vec<ServerMessage> {
        self.start_light(t)
    }

    /// The light challenge is over: passive mode is done, active mode prompts its first action.
    fn after_light(&mut self, t: f64) -> Vec<ServerMessage> {
        match self.mode {
            Mode::Passive => {
                self.phase = Phase::Done;
                vec![]
            }
            Mode::Active => self.prompt(0, t),
        }
    }

    fn prompt(&mut self, index: usize, t: f64) -> Vec<ServerMessage> {
        let Some(&kind) = self.plan.get(index) else {
            self.phase = Phase::Done;
            return vec![];
        };
        let baseline = self.baseline.unwrap_or(Baseline {
            yaw: 0.0,
            pitch: 0.0,
            ear: 0.3,
            mouth_width: 1.0,
            mouth_open: 0.0,
        });
        self.phase = Phase::Challenge {
            index,
            prompted: t,
            detector: Detector::new(kind, baseline),
            last_whole_second: self.th.challenge_secs.ceil() as i64,
            premature: false,
        };
        vec![ServerMessage::Challenge {
            kind,
            index: index as u32,
            total: self.plan.len() as u32,
            seconds_left: self.th.challenge_secs as f32,
        }]
    }

    /// Advances the clock: countdowns, pauses, deadlines.
    pub fn on_tick(&mut self, t: f64) -> Vec<ServerMessage> {
        let mut out = vec![];
        if matches!(self.phase, Phase::Light { .. }) {
            out.extend(self.light_tick(t));
        }
        match &mut self.phase {
            Phase::Pause { next, until } if t >= *until => {
                let next = *next;
                out.extend(self.prompt(next, t));
            }
            Phase::Challenge {
                index,
                prompted,
                detector,
                last_whole_second,
                ..
            } => {
                let left = self.th.challenge_secs - (t - *prompted);
                if left <= 0.0 {
                    self.outcomes.push(ChallengeOutcome {
                        kind: detector.kind,
                        passed: false,
                    });
                    // Record the unreached challenges too, so the result lists the whole plan.
                    for k in self.plan.iter().skip(*index + 1) {
                        self.outcomes.push(ChallengeOutcome {
                            kind: *k,
                            passed: false,
                        });
                    }
                    self.timed_out = true;
                    self.incomplete.push(Reason::ChallengeTimeout);
                    self.phase = Phase::Done;
                } else if (left.ceil() as i64) < *last_whole_second {
                    *last_whole_second = left.ceil() as i64;
                    out.push(ServerMessage::Challenge {
                        kind: detector.kind,
                        index: *index as u32,
                        total: self.plan.len() as u32,
                        seconds_left: left as f32,
                    });
                }
            }
            _ => {}
        }
        self.check_deadlines(t);
        out
    }

    /// Ends the capture when no face was seen for too long or the whole capture ran out of time.
    fn check_deadlines(&mut self, t: f64) {
        if self.is_done() {
            return;
        }
        if t - self.last_face_t >= self.th.no_face_secs {
            let reason = guidance::most_frequent(&self.statuses, false).unwrap_or(Reason::NoFace);
            self.incomplete.push(reason);
            self.phase = Phase::Done;
        } else if t >= self.th.max_session_secs {
            self.incomplete.push(Reason::Timeout);
            // A capture that never got past placement: say what kept it there.
            if matches!(self.phase, Phase::Positioning { .. } | Phase::Light { .. }) {
                if let Some(reason) = guidance::most_frequent(&self.statuses, true) {
                    self.incomplete.push(reason);
                }
            }
            self.phase = Phase::Done;
        }
    }

    /// Ends the capture now (the person cancelled or the connection dropped).
    pub fn abort(&mut self, reason: Reason) {
        if !self.is_done() {
            self.incomplete.push(reason);
            self.phase = Phase::Done;
        }
    }

    /// Scores the layers and fuses them; renders the portrait when the verdict is `pass`.
    pub fn conclude(&mut self) -> Outcome {
        // Challenges never reached (an abort) count as not passed.
        if self.mode == Mode::Active {
            for k in self.plan.iter().skip(self.outcomes.len()) {
                self.outcomes.push(ChallengeOutcome {
                    kind: *k,
                    passed: false,
                });
            }
        }
        let set = LayerSet {
            challenges: (self.mode == Mode::Active).then(|| {
                let unprompted = self.watch.as_mut().map_or(0, |w| w.finish());
                layers::challenges(&self.outcomes, self.timed_out, unprompted)
            }),
            motion: layers::motion(&self.samples, &self.keyframes),
            anti_spoof: layers::anti_spoof(&self.samples),
            face_consistency: layers::face_consistency(&self.samples),
            deepfake: layers::deepfake(&self.samples, &self.camera),
            light: layers::light(self.light.as_ref()),
        };
        let fused = fusion::fuse(self.mode, &set, &self.incomplete, &self.th);
        let measures = set.measures();
        let photo = if fused.verdict == Verdict::Pass {
            self.best
                .as_ref()
                .and_then(|(_, img, face)| photo::render(img, face))
        } else {
            None
        };
        Outcome {
            fused,
            challenges: self.outcomes.clone(),
            photo,
            measures,
        }
    }
}
