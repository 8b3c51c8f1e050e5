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
    // Placement settles, the light sequence runs (this page never reports it: the session waits
    // out the sequence and its grace), then the first prompt.
    while t < 7.0 && !prompted {
        let mut msgs = e.on_frame(obs(t, Some(face(0.0, 0.0, 0.3, 1.0, 0.02, 0.0))));
        msgs.extend(e.on_tick(t));
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

#[test]
fn the_light_sequence_runs_after_placement_and_ends_with_the_pages_report() {
    let mut rng = rand::rngs::StdRng::seed_from_u64(5);
    let mut e = SessionEngine::new(Mode::Passive, Thresholds::default(), &mut rng);
    e.set_reduced_motion(true);
    let (mut t, mut light) = (0.0, None);
    while t < 1.0 && light.is_none() {
        for m in e.on_frame(obs(t, Some(face(0.0, 0.0, 0.3, 1.0, 0.02, 0.0)))) {
            if let ServerMessage::Light { colors, step_ms } = m {
                light = Some((colors, step_ms));
            }
        }
        t += 0.1;
    }
    let (colors, step_ms) = light.expect("a light sequence after placement");
    assert_eq!(step_ms, crate::engine::light::STEP_MS_REDUCED);
    assert_eq!(colors.len(), crate::engine::light::STEPS_REDUCED);
    assert!(colors
        .iter()
        .all(|c| crate::engine::light::PALETTE.contains(&c.as_str())));
    // The page paints and reports every colour, then "off".
    let start = t;
    for i in 0..=colors.len() {
        let page_ms = 5000.0 + i as f64 * step_ms as f64;
        while t < start + (i as f64 * step_ms as f64) / 1000.0 {
            e.on_frame(obs(t, Some(face(0.0, 0.0, 0.3, 1.0, 0.02, 0.0))));
            t += 0.1;
        }
        assert!(!e.is_done(), "ended before the sequence did");
        e.light_shown(i as u32, page_ms, t);
    }
    // Frames still on their way are waited for briefly, then the passive capture is over.
    e.on_tick(t + 0.1);
    assert!(!e.is_done());
    e.on_tick(t + 0.6);
    assert!(e.is_done());
}

/// A frame whose pixels are one grey level, to tell which frame became the portrait.
fn framed(t: f64, sharpness: f32, grey: u8) -> Observation {
    let mut f = face(0.0, 0.0, 0.3, 1.0, 0.02, 0.0);
    f.sharpness = sharpness;
    let mut o = obs(t, Some(f));
    o.image = Some(Arc::new(image::RgbImage::from_pixel(
        2,
        2,
        image::Rgb([grey; 3]),
    )));
    o
}

#[test]
fn the_portrait_never_comes_from_a_frame_lit_by_the_sequence() {
    // The frames of the light sequence are sharper (a better portrait by every other measure),
    // but they are tinted by the screen's colours.
    let mut rng = rand::rngs::StdRng::seed_from_u64(6);
    let mut e = SessionEngine::new(Mode::Passive, Thresholds::default(), &mut rng);
    let mut t = 0.0;
    while !matches!(e.phase, Phase::Light { .. }) {
        e.on_frame(framed(t, 100.0, 10));
        t += 0.1;
    }
    while !e.is_done() && t < 10.0 {
        e.on_frame(framed(t, 300.0, 200));
        e.on_tick(t);
        t += 0.1;
    }
    let (_, img, _) = e.best.as_ref().expect("a portrait candidate");
    assert_eq!(
        img.get_pixel(0, 0).0,
        [10; 3],
        "a lit frame became the portrait"
    );
}

#[test]
fn a_face_away_during_the_sequence_restarts_it_with_a_new_one() {
    let mut rng = rand::rngs::StdRng::seed_from_u64(8);
    let mut e = SessionEngine::new(Mode::Passive, Thresholds::default(), &mut rng);
    let lights = |msgs: &[ServerMessage]| {
        msgs.iter()
            .filter(|m| matches!(m, ServerMessage::Light { .. }))
            .count()
    };
    let (mut t, mut sent) = (0.0, 0);
    while sent == 0 {
        sent += lights(&e.on_frame(obs(t, Some(face(0.0, 0.0, 0.3, 1.0, 0.02, 0.0)))));
        t += 0.1;
    }
    // Half a second away is tolerated; a whole second restarts the sequence.
    for _ in 0..5 {
        sent += lights(&e.on_frame(obs(t, None)));
        t += 0.1;
    }
    assert_eq!(sent, 1);
    for _ in 0..6 {
        sent += lights(&e.on_frame(obs(t, None)));
        t += 0.1;
    }
    assert_eq!(sent, 2, "no new sequence after a second away");
    assert!(!e.is_done());
}

/// Frames `0..n` at 10 fps with a face on those `with_face` picks, answering each request as the
/// pool would; returns the frame numbers that were asked for an anti-spoof sample and for a
/// descriptor.
fn sampled_frames(n: usize, with_face: impl Fn(usize) -> bool) -> (Vec<usize>, Vec<usize>) {
    let mut rng = rand::rngs::StdRng::seed_from_u64(1);
    let mut e = SessionEngine::new(Mode::Passive, Thresholds::default(), &mut rng);
    let (mut spoof, mut desc) = (vec![], vec![]);
    let mut last_pad = None;
    for i in 0..n {
        let t = i as f64 * 0.1;
        let req = e.request(t);
        let found = with_face(i);
        if found && (req.anti_spoof || req.pad) {
            assert!(!(req.anti_spoof && req.pad), "one network a sample");
            assert!(req.cues, "every sample takes the image cues");
            assert!(!req.embedding, "no descriptor on a sample's frame");
            // AntiSpoof first, then the networks take turns.
            assert_ne!(last_pad.unwrap_or(true), req.pad, "frame {i}");
            last_pad = Some(req.pad);
            spoof.push(i);
        }
        if found && req.embedding {
            desc.push(i);
        }
        let mut f = face(0.0, 0.0, 0.3, 1.0, 0.02, 0.0);
        f.anti_spoof = (req.anti_spoof || req.pad).then_some(models::AntiSpoofScores {
            antispoof_real: req.anti_spoof.then_some(0.7),
            pad_live: req.pad.then_some(0.9),
        });
        f.embedding = req.embedding.then_some(models::Embedding([0.0; 128]));
        e.on_frame(obs(t, found.then_some(f)));
    }
    (spoof, desc)
}

#[test]
fn the_first_face_frames_share_out_the_heavy_networks() {
    // The frame that finds the face runs the detector only; the next two take the anti-spoof
    // sample and the descriptor; then each keeps its own period (0.5 s, 0.8 s).
    let (spoof, desc) = sampled_frames(30, |i| i >= 3);
    assert_eq!((spoof[0], desc[0]), (4, 5));
    assert!(
        spoof.windows(2).all(|w| (5..=6).contains(&(w[1] - w[0]))),
        "{spoof:?}"
    );
    assert!(
        desc.windows(2).all(|w| (8..=9).contains(&(w[1] - w[0]))),
        "{desc:?}"
    );
    // A face found on every other frame is still sampled from its second appearance on.
    let (spoof, desc) = sampled_frames(20, |i| i % 2 == 0);
    assert_eq!(spoof.first(), Some(&2));
    assert_eq!(desc.first(), Some(&4));
    assert!(spoof.len() >= 3 && desc.len() >= 2, "{spoof:?} {desc:?}");
}
