//! Challenge detectors. Each watches the measurements of frames that arrived *after* its prompt
//! and passes only on clear evidence of the asked action, relative to the person's own neutral
//! baseline measured while they positioned their face:
//!
//! - **blink**: the eye aspect ratio falls below the closed threshold and then recovers
//!   (Soukupová & Čech 2016: EAR ≈ 0.25–0.35 open, < ~0.2 closed).
//! - **turn_left / turn_right**: yaw moves ≥ [`TURN_DEG`] from the baseline toward the asked side
//!   (the person's own left/right; the preview is mirrored, so it matches what they see).
//! - **nod**: pitch moves ≥ [`NOD_DEG`] from the baseline and comes back within half of it.
//! - **smile**: the expression network says "happy" ≥ [`SMILE_HAPPY`], or the mouth widens by
//!   ≥ [`SMILE_WIDEN`] over the baseline with the lips closed.
//! - **mouth_open**: the inner-lip gap exceeds [`MOUTH_OPEN`] of the mouth width and has grown by
//!   at least [`MOUTH_OPEN_RISE`] over the baseline (some people rest with parted lips).
use app::api::ChallengeKind;
use rand::{seq::SliceRandom, Rng};

use super::{Observation, Thresholds};

/// Yaw change for a turn, in degrees (`docs/architecture.md`, "Challenge detectors": beyond
/// ~15–20°).
pub const TURN_DEG: f32 = 18.0;
/// Pitch excursion for a nod, in degrees.
pub const NOD_DEG: f32 = 10.0;
/// Emotion-network "happy" probability that counts as a smile.
pub const SMILE_HAPPY: f32 = 0.7;
/// Relative mouth widening that counts as a smile without the emotion network.
pub const SMILE_WIDEN: f32 = 0.12;
/// Lip gap / mouth width for an open mouth: beyond what speech and a resting smile reach
/// (both stay under ~0.25), so only a deliberate jaw drop counts.
pub const MOUTH_OPEN: f32 = 0.3;
/// Least rise of the lip-gap ratio over the baseline for an open mouth.
pub const MOUTH_OPEN_RISE: f32 = 0.15;
/// EAR below which an eye counts as closed (Soukupová & Čech 2016).
pub const EAR_CLOSED: f32 = 0.2;

/// The person's neutral face, measured before the first challenge.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Baseline {
    pub yaw: f32,
    pub pitch: f32,
    pub ear: f32,
    pub mouth_width: f32,
    pub mouth_open: f32,
}

impl Baseline {
    /// Medians over the given frames (those with a face); `None` without any.
    pub fn from_frames(frames: &[Observation]) -> Option<Self> {
        let faces: Vec<_> = frames.iter().filter_map(|o| o.face.as_ref()).collect();
        if faces.is_empty() {
            return None;
        }
        let med = |f: &dyn Fn(&models::Face) -> f32| {
            let mut v: Vec<f32> = faces.iter().map(|x| f(x)).collect();
            v.sort_by(f32::total_cmp);
            v[v.len() / 2]
        };
        Some(Baseline {
            yaw: med(&|f| f.pose.yaw),
            pitch: med(&|f| f.pose.pitch),
            ear: med(&|f| f.eye_aspect_ratio.mean()),
            mouth_width: med(&|f| f.mouth_width_ratio),
            mouth_open: med(&|f| f.mouth_open_ratio),
        })
    }
}

/// Tracks one challenge's evidence.
#[derive(Debug, Clone)]
pub struct Detector {
    pub kind: ChallengeKind,
    baseline: Baseline,
    /// Blink: the eyes were seen closed. Nod: the excursion was reached.
    armed: bool,
    /// Mouth open: the most closed the mouth has been, at the baseline or since the prompt (a
    /// baseline taken while the mouth happened to be open must not make the rise impossible).
    mouth_low: f32,
}

impl Detector {
    pub fn new(kind: ChallengeKind, baseline: Baseline) -> Self {
        Detector {
            kind,
            baseline,
            armed: false,
            mouth_low: baseline.mouth_open,
        }
    }

    /// Whether the challenge needs the expression network on its frames.
    pub fn wants_emotion(&self) -> bool {
        self.kind == ChallengeKind::Smile
    }

    /// Feeds one frame; true once the action has been clearly performed.
    pub fn observe(&mut self, o: &Observation) -> bool {
        let Some(f) = o.face.as_ref() else {
            return false;
        };
        let b = self.baseline;
        match self.kind {
            ChallengeKind::Blink => {
                let ear = f.eye_aspect_ratio.mean();
                // Closed: below the absolute cut-off and well below this person's open eyes.
                let closed = EAR_CLOSED.min(b.ear * 0.75);
                let reopened = (b.ear * 0.85).max(closed + 0.03);
                if ear < closed {
                    self.armed = true;
                    false
                } else {
                    self.armed && ear > reopened
                }
            }
            ChallengeKind::TurnLeft => f.pose.yaw - b.yaw >= TURN_DEG,
            ChallengeKind::TurnRight => b.yaw - f.pose.yaw >= TURN_DEG,
            ChallengeKind::Nod => {
                let dev = (f.pose.pitch - b.pitch).abs();
                if dev >= NOD_DEG {
                    self.armed = true;
                    false
                } else {
                    self.armed && dev <= NOD_DEG / 2.0
                }
            }
            ChallengeKind::Smile => {
                let happy = f.smile.unwrap_or(0.0) >= SMILE_HAPPY;
                let widened = f.mouth_width_ratio >= b.mouth_width * (1.0 + SMILE_WIDEN)
                    && f.mouth_open_ratio < MOUTH_OPEN;
                happy || widened
            }
            ChallengeKind::MouthOpen => {
                self.mouth_low = self.mouth_low.min(f.mouth_open_ratio);
                f.mouth_open_ratio >= MOUTH_OPEN
                    && f.mouth_open_ratio - self.mouth_low >= MOUTH_OPEN_RISE
            }
        }
    }
}

impl Detector {
    /// Whether the face is already part-way into this action (half its threshold): an action
    /// under way when it is prompted was not a reaction to the prompt.
    pub fn engaged(&self, o: &Observation) -> bool {
        let Some(f) = o.face.as_ref() else {
            return false;
        };
        let b = self.baseline;
        match self.kind {
            ChallengeKind::Blink => f.eye_aspect_ratio.mean() < EAR_CLOSED.min(b.ear * 0.75),
            ChallengeKind::TurnLeft => f.pose.yaw - b.yaw >= TURN_DEG / 2.0,
            ChallengeKind::TurnRight => b.yaw - f.pose.yaw >= TURN_DEG / 2.0,
            ChallengeKind::Nod => (f.pose.pitch - b.pitch).abs() >= NOD_DEG / 2.0,
            ChallengeKind::Smile => {
                f.smile.unwrap_or(0.0) >= SMILE_HAPPY / 2.0
                    || f.mouth_width_ratio >= b.mouth_width * (1.0 + SMILE_WIDEN / 2.0)
            }
            ChallengeKind::MouthOpen => f.mouth_open_ratio >= b.mouth_open + MOUTH_OPEN_RISE / 2.0,
        }
    }
}

/// Whether performing `asked` may set off the detector of `other` on the way: a wide smile
/// parts the lips and an open mouth widens it, so the two mouth actions are never held against
/// each other.
pub fn overlaps(asked: ChallengeKind, other: ChallengeKind) -> bool {
    use ChallengeKind::{MouthOpen, Smile};
    asked == other || matches!((asked, other), (Smile, MouthOpen) | (MouthOpen, Smile))
}

/// Whether an action is one people also make unasked: blinks every few seconds, and the mouth's
/// actions in speech and expression (on real video of a person talking, the mouth opened and
/// widened past the detectors' cut-offs). Only the head's actions — turns and nods, which nobody
/// makes while reading a prompt — are held against a session when unasked.
pub fn made_unasked(kind: ChallengeKind) -> bool {
    matches!(
        kind,
        ChallengeKind::Blink | ChallengeKind::Smile | ChallengeKind::MouthOpen
    )
}

/// Watches, from the baseline to the end of the challenges, for head actions nobody asked for
/// (turns and nods; see [`made_unasked`]). A person does what the screen asks and otherwise
/// holds still; a recording that cycles through every action performs the others while it
/// waits for the asked one. An action counts once, then its detector waits until the face is
/// back to neutral.
#[derive(Debug, Clone)]
pub struct Watch {
    detectors: Vec<(Detector, bool)>,
    /// The actions performed unasked, with when.
    pub unprompted: Vec<(ChallengeKind, f64)>,
    /// Unasked actions not yet confirmed: a person who turns to walk out of the frame has not
    /// made an action, so one counts only when the face is still there [`CONFIRM_SECS`] later.
    pending: Vec<(ChallengeKind, f64)>,
    /// When the face came (back) into view; `None` while it is away.
    present_since: Option<f64>,
    baseline: Baseline,
}

/// How long the face must stay in view after an unasked action for it to count, and be in view
/// before one: on the real video of a person leaving the frame and coming back, the way out and
/// the way back in read as unasked nods.
pub const CONFIRM_SECS: f64 = 1.0;

impl Watch {
    pub fn new(baseline: Baseline) -> Self {
        Watch {
            detectors: ChallengeKind::ALL
                .iter()
                .filter(|k| !made_unasked(**k))
                .map(|k| (Detector::new(*k, baseline), false))
                .collect(),
            unprompted: vec![],
            pending: vec![],
            present_since: Some(f64::NEG_INFINITY),
            baseline,
        }
    }

    /// The number of actions performed unasked, once the capture has ended: those still waiting
    /// for their second count too (the capture ended, not the face's presence).
    pub fn finish(&mut self) -> usize {
        self.unprompted.append(&mut self.pending);
        self.unprompted.len()
    }

    /// Counts an action performed unasked now, without waiting (one already under way at its
    /// prompt).
    pub fn record(&mut self, kind: ChallengeKind, t: f64) {
        self.unprompted.push((kind, t));
    }

    /// Feeds one frame while `asked` is prompted (`None` between prompts); returns an action
    /// performed unasked on this frame, if any.
    pub fn observe(
        &mut self,
        o: &Observation,
        asked: Option<ChallengeKind>,
    ) -> Option<ChallengeKind> {
        if o.face.is_none() {
            // The face left: what it did on the way out was leaving, not an action; and what it
            // does on the way back in is arriving.
            self.pending.clear();
            self.present_since = None;
            for (d, counted) in &mut self.detectors {
                *d = Detector::new(d.kind, d.baseline);
                *counted = false;
            }
            return None;
        }
        let arrived = *self.present_since.get_or_insert(o.t);
        // While the asked action is under way, the other readings move with it (a 30° turn
        // shifts the landmark model's pitch): nothing else counts then.
        let busy = asked.is_some_and(|a| Detector::new(a, self.baseline).engaged(o));
        let settling = o.t - arrived < CONFIRM_SECS || busy;
        let (confirmed, waiting): (Vec<_>, Vec<_>) = self
            .pending
            .drain(..)
            .partition(|(_, at)| o.t - at >= CONFIRM_SECS);
        self.unprompted.extend(confirmed);
        self.pending = waiting;
        let mut found = None;
        for (d, counted) in &mut self.detectors {
            if asked.is_some_and(|a| overlaps(a, d.kind)) {
                // The asked action (or its neighbour) is expected: hold its detector until the
                // face is neutral again, so that finishing it is not counted after the prompt.
                *counted = true;
            }
            if *counted {
                if !d.engaged(o) && !asked.is_some_and(|a| overlaps(a, d.kind)) {
                    *counted = false;
                    *d = Detector::new(d.kind, d.baseline);
                }
                continue;
            }
            if d.observe(o) {
                *counted = true;
                if !settling {
                    self.pending.push((d.kind, o.t));
                    found = found.or(Some(d.kind));
                }
            }
        }
        found
    }
}

/// Draws an active session's plan from `rng`: between the configured fewest and most
/// challenges of the pool, distinct, in random order, always with a head turn (the motion layer
/// needs parallax).
pub fn draw(th: &Thresholds, rng: &mut impl Rng) -> Vec<ChallengeKind> {
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
    use crate::engine::fixtures::{face, obs};
    use models::Face;

    fn neutral() -> Face {
        face(0.0, 0.0, 0.3, 1.0, 0.02, 0.05)
    }

    fn run(kind: ChallengeKind, seq: &[Face]) -> bool {
        let base = Baseline::from_frames(&[obs(0.0, Some(neutral()))]).unwrap();
        let mut d = Detector::new(kind, base);
        seq.iter()
            .enumerate()
            .any(|(i, f)| d.observe(&obs(i as f64 * 0.1, Some(f.clone()))))
    }

    #[test]
    fn blink_needs_a_drop_and_a_recovery() {
        let open = neutral();
        let shut = face(0.0, 0.0, 0.12, 1.0, 0.02, 0.05);
        assert!(run(
            ChallengeKind::Blink,
            &[open.clone(), shut.clone(), open.clone()]
        ));
        assert!(
            !run(
                ChallengeKind::Blink,
                &[open.clone(), shut.clone(), shut.clone()]
            ),
            "eyes must reopen"
        );
        assert!(
            !run(ChallengeKind::Blink, &[open.clone(), open.clone()]),
            "no drop, no blink"
        );
        let squint = face(0.0, 0.0, 0.24, 1.0, 0.02, 0.05);
        assert!(
            !run(ChallengeKind::Blink, &[open.clone(), squint, open]),
            "a squint is not a blink"
        );
    }

    #[test]
    fn turns_follow_the_subjects_own_side() {
        let left = face(25.0, 0.0, 0.3, 1.0, 0.02, 0.0);
        let right = face(-25.0, 0.0, 0.3, 1.0, 0.02, 0.0);
        let slight = face(10.0, 0.0, 0.3, 1.0, 0.02, 0.0);
        assert!(run(ChallengeKind::TurnLeft, std::slice::from_ref(&left)));
        assert!(!run(ChallengeKind::TurnLeft, std::slice::from_ref(&right)));
        assert!(run(ChallengeKind::TurnRight, &[right]));
        assert!(!run(ChallengeKind::TurnRight, &[left]));
        assert!(
            !run(ChallengeKind::TurnLeft, &[slight]),
            "10° is not a turn"
        );
    }

    #[test]
    fn nod_goes_and_comes_back() {
        let down = face(0.0, -15.0, 0.3, 1.0, 0.02, 0.0);
        assert!(run(ChallengeKind::Nod, &[down.clone(), neutral()]));
        assert!(
            !run(ChallengeKind::Nod, &[down.clone(), down]),
            "must come back"
        );
    }

    #[test]
    fn smile_and_mouth_open() {
        let grin = face(0.0, 0.0, 0.28, 1.2, 0.05, 0.3);
        let happy = face(0.0, 0.0, 0.28, 1.02, 0.05, 0.9);
        let yawn = face(0.0, 0.0, 0.28, 0.95, 0.5, 0.0);
        assert!(run(ChallengeKind::Smile, &[grin]));
        assert!(run(ChallengeKind::Smile, &[happy]));
        assert!(
            !run(ChallengeKind::Smile, std::slice::from_ref(&yawn)),
            "an open mouth is not a smile"
        );
        assert!(run(ChallengeKind::MouthOpen, std::slice::from_ref(&yawn)));
        assert!(!run(ChallengeKind::MouthOpen, &[neutral()]));
        // A baseline taken with the mouth open: staying open is no evidence, closing and
        // opening again after the prompt is.
        let open_base = Baseline::from_frames(&[obs(0.0, Some(yawn.clone()))]).unwrap();
        let mut d = Detector::new(ChallengeKind::MouthOpen, open_base);
        assert!(!d.observe(&obs(0.1, Some(yawn.clone()))));
        assert!(!d.observe(&obs(0.2, Some(neutral()))));
        assert!(d.observe(&obs(0.3, Some(yawn))));
    }

    #[test]
    fn the_watch_counts_actions_nobody_asked_for_once() {
        let base = Baseline::from_frames(&[obs(0.0, Some(neutral()))]).unwrap();
        let left = face(25.0, 0.0, 0.3, 1.0, 0.02, 0.0);
        let yawn = face(0.0, 0.0, 0.28, 0.95, 0.5, 0.0);
        let shut = face(0.0, 0.0, 0.12, 1.0, 0.02, 0.05);
        let mut w = Watch::new(base);
        // Asked to turn left: turning left, and coming back, is no finding.
        for (i, f) in [left.clone(), left.clone(), neutral()].iter().enumerate() {
            assert_eq!(
                w.observe(
                    &obs(i as f64 * 0.1, Some(f.clone())),
                    Some(ChallengeKind::TurnLeft)
                ),
                None
            );
        }
        // Between prompts: a blink or an open mouth (speech) is normal; a turn held for three
        // frames is one finding.
        assert_eq!(w.observe(&obs(0.4, Some(shut)), None), None);
        assert_eq!(w.observe(&obs(0.5, Some(yawn)), None), None);
        assert_eq!(w.observe(&obs(0.6, Some(neutral())), None), None);
        let found: Vec<_> = (0..3)
            .filter_map(|i| w.observe(&obs(0.7 + i as f64 * 0.1, Some(left.clone())), None))
            .collect();
        assert_eq!(found, vec![ChallengeKind::TurnLeft]);
        assert_eq!(w.observe(&obs(1.0, Some(neutral())), None), None);
        // Counted once the face has stayed in view for a second.
        assert!(w.unprompted.is_empty());
        assert_eq!(w.observe(&obs(1.75, Some(neutral())), None), None);
        assert_eq!(w.unprompted.len(), 1);
        // The wrong turn while a turn is asked is a finding.
        let right = face(-25.0, 0.0, 0.3, 1.0, 0.02, 0.0);
        assert_eq!(
            w.observe(&obs(1.8, Some(right)), Some(ChallengeKind::TurnLeft)),
            Some(ChallengeKind::TurnRight)
        );
        // A turn followed by the face leaving the frame is someone walking away: not counted.
        assert_eq!(w.observe(&obs(2.0, None), None), None);
        assert_eq!(w.observe(&obs(3.5, Some(neutral())), None), None);
        assert_eq!(w.unprompted.len(), 1);
    }

    #[test]
    fn plans_have_3_to_6_distinct_challenges_with_a_turn() {
        use rand::SeedableRng;
        let mut rng = rand::rngs::StdRng::seed_from_u64(7);
        let mut orders = std::collections::HashSet::new();
        for _ in 0..200 {
            let p = draw(&Thresholds::default(), &mut rng);
            assert!((3..=6).contains(&p.len()));
            let set: std::collections::HashSet<_> = p.iter().collect();
            assert_eq!(set.len(), p.len());
            assert!(p.contains(&ChallengeKind::TurnLeft) || p.contains(&ChallengeKind::TurnRight));
            orders.insert(p);
        }
        assert!(orders.len() > 50, "orders must be unpredictable");
    }
}
