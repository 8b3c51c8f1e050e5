//! The challenges layer (active mode): the share of prompts met.
use app::api::{ChallengeOutcome, Reason};

use super::LayerScore;

/// Scores the challenges of an active session; `timed_out` when a prompt ran out of time.
pub fn challenges(outcomes: &[ChallengeOutcome], timed_out: bool) -> LayerScore {
    if outcomes.is_empty() {
        return LayerScore::clean(0.0);
    }
    let passed = outcomes.iter().filter(|c| c.passed).count();
    let mut l = LayerScore::clean(passed as f64 / outcomes.len() as f64);
    if timed_out {
        l.reasons.push(Reason::ChallengeTimeout);
    } else if passed < outcomes.len() {
        l.reasons.push(Reason::ChallengeFailed);
    } else {
        // Every random prompt answered in its window. Not yet checked: that each action began
        // after its prompt and the others stayed quiet, so a stream that cycles through every
        // action also answers them all (see the evidence issue in `docs/architecture.md`).
        l.proof = true;
    }
    l
}
