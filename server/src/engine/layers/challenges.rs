//! The challenges layer (active mode): the share of prompts met.
use app::api::{ChallengeOutcome, Reason};

use super::LayerScore;

/// Actions performed unasked (or already under way at their prompt) that fail the session: one
/// is a slip — a turn to the wrong side, a smile at the wrong moment — and only costs its
/// challenge; two are a pattern. A person does what the screen asks and otherwise holds still
/// (`docs/architecture.md`, "Challenges").
pub const UNPROMPTED_MAX: usize = 1;

/// Scores the challenges of an active session; `timed_out` when a prompt ran out of time,
/// `unprompted` the actions performed unasked.
pub fn challenges(outcomes: &[ChallengeOutcome], timed_out: bool, unprompted: usize) -> LayerScore {
    if outcomes.is_empty() {
        return LayerScore::clean(0.0);
    }
    let passed = outcomes.iter().filter(|c| c.passed).count();
    let mut l = LayerScore::clean(passed as f64 / outcomes.len() as f64);
    l.measures.push(("unprompted_actions", unprompted as f64));
    if unprompted > UNPROMPTED_MAX {
        l.fail(Reason::UnpromptedAction);
    } else if timed_out {
        l.reasons.push(Reason::ChallengeTimeout);
    } else if passed < outcomes.len() {
        l.reasons.push(Reason::ChallengeFailed);
    } else if unprompted == 0 {
        // Every random prompt answered in its window, each action begun after its prompt,
        // nothing else done: a person following the screen.
        l.proof = true;
    }
    l
}

#[cfg(test)]
mod tests {
    use super::*;
    use app::api::ChallengeKind;

    fn all(passed: bool) -> Vec<ChallengeOutcome> {
        [
            ChallengeKind::Blink,
            ChallengeKind::TurnLeft,
            ChallengeKind::Smile,
        ]
        .iter()
        .map(|&kind| ChallengeOutcome { kind, passed })
        .collect()
    }

    #[test]
    fn only_clean_answers_are_proof_and_a_pattern_of_unasked_actions_fails() {
        assert!(challenges(&all(true), false, 0).proof);
        let slip = challenges(&all(true), false, 1);
        assert!(!slip.proof && !slip.hard_fail);
        let pattern = challenges(&all(true), false, 2);
        assert!(pattern.hard_fail && pattern.reasons == vec![Reason::UnpromptedAction]);
    }
}
