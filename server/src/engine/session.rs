//! One verification session's state machine: positioning guidance, then the challenges (active)
//! or a steady hold (passive), then the layers, the fusion and the portrait. It is pure logic —
//! frames and clock ticks in, [`ServerMessage`]s out — so it is tested without sockets or models.
use std::sync::Arc;

use app::{
    api::{ChallengeKind, ChallengeOutcome, Mode, Verdict},
    ws::{CameraMetadata, FaceBox, FaceStatus, ServerMessage},
};
use rand::{seq::SliceRandom, Rng};

use super::{
    challenges::{Baseline, Detector},
    fusion::{self, Fused, LayerSet},
    layers::{self, Sample},
    parallax::KeyframeSet,
    photo,
    pool::FrameRequest,
    Observation, Thresholds,
};

/// Continuous seconds of a well-placed face before the first challenge or the hold begins.
const SETTLE_SECS: f64 = 0.6;
/// Frames arriving within this long after a prompt were captured before the person saw it.
const REACTION_SECS: f64 = 0.25;
/// Pause between a passed challenge and the next prompt.
const BETWEEN_SECS: f64 = 0.6;
/// Sampling periods of the heavier networks and image cues, in seconds.
const ANTISPOOF_EVERY: f64 = 0.5;
const EMBEDDING_EVERY: f64 = 0.8;
/// At most this many frames are kept for the layers (≈ 90 s at 15 fps).
const MAX_SAMPLES: usize = 1500;
/// Period of the face crops kept for the image parallax test, and how many are kept (the
/// widest-apart poses win; ≤ 224×224 grey each, so ≤ 0.8 MB a session).
const KEYFRAME_EVERY: f64 = 0.2;
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
    },
    /// Between challenges, until `until`.
    Pause {
        next: usize,
        until: f64,
    },
    /// Passive hold: well placed since `since`.
    Hold {
        since: Option<f64>,
    },
    Done,
}

/// What the engine concluded, ready to store.
#[derive(Debug, Clone)]
pub struct Outcome {
    pub fused: Fused,
    pub challenges: Vec<ChallengeOutcome>,
    pub photo: Option<(Vec<u8>, photo::Geometry)>,
    /// Each layer's raw measures, as `layer.measure` (for evaluation and logs).
    pub measures: Vec<(String, f64)>,
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
    camera: CameraMetadata,
    last_face_t: f64,
    last_antispoof: f64,
    last_embedding: f64,
    best: Option<(f32, Arc<image::RgbImage>, models::Face)>,
    incomplete: Vec<&'static str>,
    timed_out: bool,
    statuses: Vec<FaceStatus>,
}

impl SessionEngine {
    /// A new session; active sessions draw their challenges from `rng`: 3–6 of the pool, in
    /// random order, always including a head turn (the motion layer needs parallax).
    pub fn new(mode: Mode, th: Thresholds, rng: &mut impl Rng) -> Self {
        let plan = match mode {
            Mode::Passive => vec![],
            Mode::Active => draw_challenges(&th, rng),
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
            camera: CameraMetadata::default(),
            last_face_t: 0.0,
            last_antispoof: f64::NEG_INFINITY,
            last_embedding: f64::NEG_INFINITY,
            best: None,
            incomplete: vec![],
            timed_out: false,
            statuses: vec![],
        }
    }

    pub fn plan(&self) -> &[ChallengeKind] {
        &self.plan
    }

    pub fn set_camera(&mut self, camera: CameraMetadata) {
        self.camera = camera;
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

    /// Which extra analyses the next frame at time `t` should get.
    pub fn request(&self, t: f64) -> FrameRequest {
        let emotion =
            matches!(&self.phase, Phase::Challenge { detector, .. } if detector.wants_emotion());
        FrameRequest {
            anti_spoof: t - self.last_antispoof >= ANTISPOOF_EVERY,
            embedding: t - self.last_embedding >= EMBEDDING_EVERY,
            emotion,
            cues: t - self.last_antispoof >= ANTISPOOF_EVERY,
            keyframe: t - self.last_keyframe >= KEYFRAME_EVERY,
        }
    }

    /// Guidance for a frame: what, if anything, is wrong with the face's placement.
    fn status(&self, o: &Observation, check_pose: bool) -> FaceStatus {
        let Some(f) = &o.face else {
            return FaceStatus::NoFace;
        };
        if o.face_count > 1 {
            return FaceStatus::MultipleFaces;
        }
        let (fw, fh) = (o.frame_width as f32, o.frame_height as f32);
        let width_share = f.bbox.w / fw;
        let (cx, cy) = (f.bbox.x + f.bbox.w / 2.0, f.bbox.y + f.bbox.h / 2.0);
        // The landmark box spans ~13 cm of face; a 640-px webcam (≈60° field of view) at arm's
        // length (60–70 cm) sees it at ~20% of the width; under 14% the face is too small to
        // measure eyelids and lips reliably.
        if width_share < 0.14 {
            FaceStatus::TooFar
        } else if width_share > 0.7 {
            FaceStatus::TooClose
        } else if (cx - fw / 2.0).abs() > 0.2 * fw || (cy - fh / 2.0).abs() > 0.22 * fh {
            FaceStatus::OffCenter
        } else if f.brightness < 0.2 {
            FaceStatus::TooDark
        } else if f.brightness > 0.88 {
            FaceStatus::TooBright
        } else if f.sharpness < 20.0 {
            FaceStatus::Blurry
        } else if check_pose && (f.pose.yaw.abs() > 20.0 || f.pose.pitch.abs() > 20.0) {
            FaceStatus::NotFrontal
        } else {
            FaceStatus::Ok
        }
    }

    /// Feeds one analysed frame.
    pub fn on_frame(&mut self, mut o: Observation) -> Vec<ServerMessage> {
        if self.is_done() {
            return vec![];
        }
        let mut out = vec![];
        if let Some(f) = &o.face {
            self.last_face_t = o.t;
            if f.anti_spoof.is_some() {
                self.last_antispoof = o.t;
            }
            if f.embedding.is_some() {
                self.last_embedding = o.t;
            }
        }
        let in_challenge = matches!(self.phase, Phase::Challenge { .. } | Phase::Pause { .. });
        let status = self.status(&o, !in_challenge);
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
        // Keep the best portrait frame's pixels; drop everyone else's.
        if let (Some(f), Some(img), FaceStatus::Ok) = (&o.face, o.image.take(), status) {
            let score = photo::candidate_score(f);
            if self.best.as_ref().is_none_or(|(s, _, _)| score > *s) {
                self.best = Some((score, img, f.clone()));
            }
        }
        if self.samples.len() < MAX_SAMPLES {
            self.samples.push(Sample::from_observation(&o));
        }
        if let Some(k) = o.keyframe.take() {
            self.last_keyframe = o.t;
            self.keyframes.push(k);
        }
        let t = o.t;
        match &mut self.phase {
            Phase::Positioning { since } => {
                if status == FaceStatus::Ok {
                    let start = *since.get_or_insert(t);
                    self.settle.push(o);
                    if t - start >= SETTLE_SECS {
                        self.baseline = Baseline::from_frames(&self.settle);
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
                ..
            } => {
                if t - *prompted >= REACTION_SECS && detector.observe(&o) {
                    let (i, kind) = (*index, detector.kind);
                    self.outcomes.push(ChallengeOutcome { kind, passed: true });
                    out.push(ServerMessage::ChallengePassed {
                        kind,
                        index: i as u32,
                    });
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
            Phase::Pause { .. } => {}
            Phase::Hold { since } => {
                if status == FaceStatus::Ok {
                    let start = *since.get_or_insert(t);
                    let held = t - start;
                    out.push(ServerMessage::Progress {
                        value: (held / self.th.passive_hold_secs).min(1.0) as f32,
                    });
                    if held >= self.th.passive_hold_secs {
                        self.phase = Phase::Done;
                    }
                } else {
                    *since = None;
                    out.push(ServerMessage::Progress { value: 0.0 });
                }
            }
            Phase::Done => {}
        }
        out.extend(self.check_timeouts(t));
        out
    }

    fn begin(&mut self, t: f64) -> Vec<ServerMessage> {
        match self.mode {
            Mode::Passive => {
                self.phase = Phase::Hold { since: Some(t) };
                vec![ServerMessage::Progress { value: 0.0 }]
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
                    self.incomplete.push("challenge_timeout");
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
        out.extend(self.check_timeouts(t));
        out
    }

    fn check_timeouts(&mut self, t: f64) -> Vec<ServerMessage> {
        if self.is_done() {
            return vec![];
        }
        if t - self.last_face_t >= self.th.no_face_secs {
            let reason = self.guidance_reason(false).unwrap_or("no_face");
            self.incomplete.push(reason);
            self.phase = Phase::Done;
        } else if t >= self.th.max_session_secs {
            self.incomplete.push("timeout");
            // A capture that never got past placement: say what kept it there.
            if matches!(self.phase, Phase::Positioning { .. } | Phase::Hold { .. }) {
                if let Some(reason) = self.guidance_reason(true) {
                    self.incomplete.push(reason);
                }
            }
            self.phase = Phase::Done;
        }
        vec![]
    }

    /// The most frequent placement problem, as a reason code for a session that never got going;
    /// `None` when there was none. A missing face counts only with `count_missing` (after 12 s
    /// without a face, what went wrong while it was there is the more useful guidance).
    fn guidance_reason(&self, count_missing: bool) -> Option<&'static str> {
        let count = |s: FaceStatus| self.statuses.iter().filter(|x| **x == s).count();
        let problems = [
            (FaceStatus::NoFace, "no_face"),
            (FaceStatus::TooDark, "low_light"),
            (FaceStatus::TooBright, "overexposed"),
            (FaceStatus::Blurry, "blurry"),
            (FaceStatus::MultipleFaces, "multiple_faces"),
            (FaceStatus::TooFar, "face_too_far"),
            (FaceStatus::TooClose, "face_too_close"),
            (FaceStatus::OffCenter, "face_off_center"),
            (FaceStatus::NotFrontal, "face_not_frontal"),
        ];
        problems
            .iter()
            .filter(|(s, _)| count_missing || *s != FaceStatus::NoFace)
            .map(|(s, r)| (count(*s), *r))
            .filter(|(n, _)| *n > 0)
            .max_by_key(|(n, _)| *n)
            .map(|(_, r)| r)
    }

    /// Ends the capture now (the person cancelled or the connection dropped).
    pub fn abort(&mut self, reason: &'static str) {
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
            challenges: (self.mode == Mode::Active)
                .then(|| layers::challenges(&self.outcomes, self.timed_out)),
            motion: layers::motion(&self.samples, &self.keyframes),
            anti_spoof: layers::anti_spoof(&self.samples),
            face_consistency: layers::face_consistency(&self.samples),
            deepfake: layers::deepfake(&self.samples, &self.camera),
        };
        let fused = fusion::fuse(self.mode, &set, &self.incomplete, &self.th);
        let measures = [
            ("motion", &set.motion),
            ("anti_spoof", &set.anti_spoof),
            ("face_consistency", &set.face_consistency),
            ("deepfake", &set.deepfake),
        ]
        .iter()
        .flat_map(|(layer, l)| {
            l.measures
                .iter()
                .map(move |(m, v)| (format!("{layer}.{m}"), *v))
        })
        .collect();
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

fn draw_challenges(th: &Thresholds, rng: &mut impl Rng) -> Vec<ChallengeKind> {
    let lo = th.min_challenges.clamp(1, ChallengeKind::ALL.len());
    let hi = th.max_challenges.clamp(lo, ChallengeKind::ALL.len());
    let n = rng.gen_range(lo..=hi);
    let turn = *[ChallengeKind::TurnLeft, ChallengeKind::TurnRight]
        .choose(rng)
        .unwrap_or(&ChallengeKind::TurnLeft);
    let mut rest: Vec<ChallengeKind> = ChallengeKind::ALL
        .iter()
        .copied()
        .filter(|k| *k != turn)
        .collect();
    rest.shuffle(rng);
    let mut plan = vec![turn];
    plan.extend(rest.into_iter().take(n - 1));
    plan.shuffle(rng);
    plan
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::challenges::tests::{face, obs};
    use rand::SeedableRng;

    #[test]
    fn plans_have_3_to_6_distinct_challenges_with_a_turn() {
        let mut rng = rand::rngs::StdRng::seed_from_u64(7);
        let mut orders = std::collections::HashSet::new();
        for _ in 0..200 {
            let p = draw_challenges(&Thresholds::default(), &mut rng);
            assert!((3..=6).contains(&p.len()));
            let set: std::collections::HashSet<_> = p.iter().collect();
            assert_eq!(set.len(), p.len());
            assert!(p.contains(&ChallengeKind::TurnLeft) || p.contains(&ChallengeKind::TurnRight));
            orders.insert(p);
        }
        assert!(orders.len() > 50, "orders must be unpredictable");
    }

    #[test]
    fn no_face_ends_in_retry_with_its_reason() {
        let mut rng = rand::rngs::StdRng::seed_from_u64(1);
        let mut e = SessionEngine::new(Mode::Passive, Thresholds::default(), &mut rng);
        let mut t = 0.0;
        while !e.is_done() && t < 30.0 {
            e.on_frame(obs(t, None));
            t += 0.1;
        }
        assert!(e.is_done());
        let o = e.conclude();
        assert_eq!(o.fused.verdict, Verdict::Retry);
        assert!(
            o.fused.reasons.contains(&"no_face".to_owned()),
            "{:?}",
            o.fused.reasons
        );
    }

    #[test]
    fn guidance_follows_the_face() {
        let mut rng = rand::rngs::StdRng::seed_from_u64(1);
        let mut e = SessionEngine::new(Mode::Active, Thresholds::default(), &mut rng);
        let mut small = face(0.0, 0.0, 0.3, 1.0, 0.02, 0.0);
        small.bbox.w = 60.0;
        small.bbox.x = 290.0;
        let msgs = e.on_frame(obs(0.0, Some(small)));
        assert!(matches!(
            msgs[0],
            ServerMessage::Face {
                status: FaceStatus::TooFar,
                ..
            }
        ));
        let msgs = e.on_frame(obs(0.1, None));
        assert!(matches!(
            msgs[0],
            ServerMessage::Face {
                status: FaceStatus::NoFace,
                ..
            }
        ));
    }

    #[test]
    fn a_capture_stuck_in_placement_names_the_problem() {
        // A face that stays off-centre never starts the hold; at the session's time limit the
        // reasons say why, not just that time ran out.
        let mut rng = rand::rngs::StdRng::seed_from_u64(1);
        let th = Thresholds::default();
        let mut e = SessionEngine::new(Mode::Passive, th, &mut rng);
        let mut aside = face(0.0, 0.0, 0.3, 1.0, 0.02, 0.0);
        aside.bbox.x = 20.0;
        let mut t = 0.0;
        while !e.is_done() && t <= th.max_session_secs + 1.0 {
            e.on_frame(obs(t, Some(aside.clone())));
            t += 0.5;
        }
        let o = e.conclude();
        assert_eq!(o.fused.verdict, Verdict::Retry);
        assert!(
            o.fused.reasons.contains(&"timeout".to_owned())
                && o.fused.reasons.contains(&"face_off_center".to_owned()),
            "{:?}",
            o.fused.reasons
        );
    }

    #[test]
    fn a_prompt_follows_a_settled_face_and_times_out() {
        let mut rng = rand::rngs::StdRng::seed_from_u64(3);
        let th = Thresholds::default();
        let mut e = SessionEngine::new(Mode::Active, th, &mut rng);
        let mut prompted = false;
        let mut t = 0.0;
        while t < 1.0 {
            let msgs = e.on_frame(obs(t, Some(face(0.0, 0.0, 0.3, 1.0, 0.02, 0.0))));
            prompted |= msgs
                .iter()
                .any(|m| matches!(m, ServerMessage::Challenge { index: 0, .. }));
            t += 0.1;
        }
        assert!(prompted);
        e.on_tick(t + th.challenge_secs + 0.1);
        assert!(e.is_done());
        let o = e.conclude();
        assert_eq!(o.fused.verdict, Verdict::Retry);
        assert!(o.fused.reasons.contains(&"challenge_timeout".to_owned()));
        assert_eq!(o.challenges.len(), e.plan().len());
    }
}
