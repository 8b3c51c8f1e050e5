//! Fusion of the layer scores into one confidence, and the verdict.
//!
//! confidence = Σ wᵢ·sᵢ / Σ wᵢ over the layers of the session's mode, with weights
//!
//! | layer | active | passive |
//! |---|---|---|
//! | challenges | 0.30 | — |
//! | motion | 0.25 | 0.35 |
//! | anti_spoof | 0.15 | 0.25 |
//! | face_consistency | 0.15 | 0.20 |
//! | deepfake | 0.15 | 0.20 |
//! | light | 0 | 0 |
//!
//! The challenges weigh most in active mode because a random order cannot be followed by a
//! replay; motion weighs most in passive mode because it is the strongest remaining physical cue;
//! the two weak anti-spoof networks never weigh more than a quarter. Then the rules:
//! - a hard finding of any layer (planar motion, frozen frames, a face swap, a virtual camera)
//!   caps the confidence at 0.30: `fail`, whatever the others say;
//! - a session that ended without the person completing it (timeouts, no face) caps the
//!   confidence just below the pass cut-off: at best `retry`;
//! - otherwise the cut-offs decide: ≥ pass → `pass`, ≥ retry → `retry`, else `fail`;
//! - a `pass` needs positive proof of a live, present person from at least one layer (reliable
//!   parallax, the challenges answered, the screen's light answered by a 3-D face): "nothing looked wrong" is `retry` with
//!   `insufficient_evidence`, its confidence capped just below the pass cut-off.
use app::api::{Layers, Mode, Reason, Verdict};

use super::{layers::LayerScore, Thresholds};

/// The layer results of one session.
#[derive(Debug, Clone)]
pub struct LayerSet {
    pub challenges: Option<LayerScore>,
    pub motion: LayerScore,
    pub anti_spoof: LayerScore,
    pub face_consistency: LayerScore,
    pub deepfake: LayerScore,
    pub light: LayerScore,
}

impl LayerSet {
    /// Each layer's raw measures, named `layer.measure` (for evaluation and the logs).
    pub fn measures(&self) -> Vec<(String, f64)> {
        [
            ("motion", &self.motion),
            ("anti_spoof", &self.anti_spoof),
            ("face_consistency", &self.face_consistency),
            ("deepfake", &self.deepfake),
            ("light", &self.light),
        ]
        .iter()
        .flat_map(|(layer, l)| {
            l.measures
                .iter()
                .map(move |(m, v)| (format!("{layer}.{m}"), *v))
        })
        .collect()
    }
}

/// The fused answer.
#[derive(Debug, Clone, PartialEq)]
pub struct Fused {
    pub verdict: Verdict,
    pub confidence: f64,
    pub layers: Layers,
    pub reasons: Vec<Reason>,
}

/// Caps the confidence of a capture the person did not complete.
pub const INCOMPLETE_CAP: f64 = 0.6;
/// Caps the confidence after a hard finding.
pub const HARD_FAIL_CAP: f64 = 0.3;

/// Fuses the layers of a session of `mode`; `incomplete` holds why the person did not complete
/// the capture (empty when they did).
pub fn fuse(mode: Mode, set: &LayerSet, incomplete: &[Reason], th: &Thresholds) -> Fused {
    let weighted: Vec<(f64, &LayerScore)> = match mode {
        Mode::Active => {
            let mut v = vec![
                (0.25, &set.motion),
                (0.15, &set.anti_spoof),
                (0.15, &set.face_consistency),
                (0.15, &set.deepfake),
            ];
            if let Some(c) = &set.challenges {
                v.push((0.30, c));
            }
            v
        }
        Mode::Passive => vec![
            (0.35, &set.motion),
            (0.25, &set.anti_spoof),
            (0.20, &set.face_consistency),
            (0.20, &set.deepfake),
        ],
    };
    // The light layer's evidence is categorical (proof, or a mismatch): it joins the rules below
    // with no weight in the mean.
    let weighted: Vec<(f64, &LayerScore)> =
        weighted.into_iter().chain([(0.0, &set.light)]).collect();
    let total: f64 = weighted.iter().map(|(w, _)| w).sum();
    let mut confidence = weighted.iter().map(|(w, l)| w * l.score).sum::<f64>() / total;
    let mut reasons: Vec<Reason> = Vec::new();
    let given = weighted
        .iter()
        .flat_map(|(_, l)| &l.reasons)
        .chain(incomplete);
    for r in given {
        if !reasons.contains(r) {
            reasons.push(*r);
        }
    }
    let hard = weighted.iter().any(|(_, l)| l.hard_fail);
    let proven = weighted.iter().any(|(_, l)| l.proof);
    // A layer's reason that makes the capture unfinished (a challenge left unmet) caps it too.
    let unfinished = !incomplete.is_empty()
        || weighted
            .iter()
            .flat_map(|(_, l)| &l.reasons)
            .any(|r| r.effect() == app::reason::Effect::RetryAtBest);
    if !hard && !unfinished && !proven && confidence >= th.pass {
        confidence = confidence.min(th.pass - 0.01);
        reasons.push(Reason::InsufficientEvidence);
        // Guidance, not an attack: at least `retry`.
        confidence = confidence.max(th.retry);
    }
    if hard {
        confidence = confidence.min(HARD_FAIL_CAP);
    } else if unfinished {
        confidence = confidence.min(INCOMPLETE_CAP.min(th.pass - 0.01));
    }
    let confidence = (confidence.clamp(0.0, 1.0) * 10_000.0).round() / 10_000.0;
    let verdict = if hard {
        Verdict::Fail
    } else if confidence >= th.pass {
        Verdict::Pass
    } else if confidence >= th.retry || unfinished {
        // An unfinished capture is a reason to try again, not evidence of an attack.
        Verdict::Retry
    } else {
        Verdict::Fail
    };
    let round = |x: f64| (x * 10_000.0).round() / 10_000.0;
    Fused {
        verdict,
        confidence,
        layers: Layers {
            anti_spoof: round(set.anti_spoof.score),
            deepfake: round(set.deepfake.score),
            face_consistency: round(set.face_consistency.score),
            motion: round(set.motion.score),
            challenges: match mode {
                Mode::Active => set.challenges.as_ref().map(|c| round(c.score)),
                Mode::Passive => None,
            },
            light: Some(round(set.light.score)),
        },
        reasons,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn good() -> LayerScore {
        LayerScore::clean(0.95)
    }

    fn proven() -> LayerScore {
        LayerScore {
            proof: true,
            ..good()
        }
    }

    fn set() -> LayerSet {
        LayerSet {
            challenges: Some(good()),
            motion: proven(),
            anti_spoof: good(),
            face_consistency: good(),
            deepfake: good(),
            light: LayerScore::clean(0.5),
        }
    }

    #[test]
    fn all_good_passes() {
        let f = fuse(Mode::Active, &set(), &[], &Thresholds::default());
        assert_eq!(f.verdict, Verdict::Pass);
        assert!((f.confidence - 0.95).abs() < 1e-9);
        assert_eq!(f.layers.challenges, Some(0.95));
    }

    #[test]
    fn a_hard_finding_fails_whatever_else_scored() {
        let mut s = set();
        s.motion = LayerScore {
            score: 0.9,
            reasons: vec![Reason::NoMotionParallax],
            hard_fail: true,
            proof: false,
            measures: vec![],
        };
        let f = fuse(Mode::Active, &s, &[], &Thresholds::default());
        assert_eq!(f.verdict, Verdict::Fail);
        assert!(f.confidence <= HARD_FAIL_CAP);
        assert_eq!(f.reasons, vec![Reason::NoMotionParallax]);
    }

    #[test]
    fn nothing_wrong_without_proof_is_retry() {
        let mut s = set();
        s.motion = good();
        for mode in [Mode::Active, Mode::Passive] {
            let f = fuse(mode, &s, &[], &Thresholds::default());
            assert_eq!(f.verdict, Verdict::Retry, "{mode:?}");
            assert_eq!(f.reasons, vec![Reason::InsufficientEvidence]);
            assert!(f.confidence < Thresholds::default().pass);
        }
        // The challenges answered are proof in active mode.
        s.challenges = Some(proven());
        let f = fuse(Mode::Active, &s, &[], &Thresholds::default());
        assert_eq!(f.verdict, Verdict::Pass);
    }

    #[test]
    fn an_unmet_challenge_is_never_a_pass() {
        // A challenge ended unmet by a wrong action: the other layers' proof cannot lift it.
        let mut s = set();
        s.challenges = Some(LayerScore {
            score: 0.25,
            reasons: vec![Reason::ChallengeFailed],
            ..good()
        });
        let f = fuse(Mode::Active, &s, &[], &Thresholds::default());
        assert_eq!(f.verdict, Verdict::Retry);
        assert!(f.confidence < Thresholds::default().pass);
    }

    #[test]
    fn an_unfinished_capture_is_retry() {
        let f = fuse(
            Mode::Passive,
            &set(),
            &[Reason::NoFace],
            &Thresholds::default(),
        );
        assert_eq!(f.verdict, Verdict::Retry);
        assert!(f.reasons.contains(&Reason::NoFace));
        assert!(f.layers.challenges.is_none());
    }
}
