//! The session engine driven through its whole life with synthetic frames.
use rand::SeedableRng;

use super::*;
use crate::engine::fixtures::{face, obs};

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
        o.fused.reasons.contains(&Reason::NoFace),
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
        o.fused.reasons.contains(&Reason::Timeout)
            && o.fused.reasons.contains(&Reason::FaceOffCenter),
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
    assert!(o.fused.reasons.contains(&Reason::ChallengeTimeout));
    assert_eq!(o.challenges.len(), e.plan().len());
}
