//! The face-consistency layer: exactly one face throughout, and the same person early, mid and
//! late (128-d descriptor distance; dlib's same-person cut-off is 0.6).
use app::api::Reason;
use models::{embedding_distance, Embedding};

use super::{
    sample::Sample,
    stats::{median, ramp},
    LayerScore,
};

/// Descriptor distance above which two faces are different people (dlib).
pub const SAME_PERSON_MAX: f32 = 0.6;
/// Descriptor distance up to which two faces are surely the same person (full score).
const SAME_PERSON_SURE: f64 = 0.35;
/// Largest yaw or pitch, in degrees, of a frame whose descriptor is compared (and only
/// well-placed faces are: on the real video of a person who walks out of the frame, the
/// descriptors taken as they left read as another person). The descriptor is
/// trained and published on near-frontal faces (LFW); a head turned by 30° or more moves it by
/// as much as another person would (the live clips' turns of ±33° measured > 0.6 against their
/// own frontal frames), so a turned face's descriptor is no evidence either way.
const DESCRIPTOR_POSE_MAX: f32 = 20.0;
/// Share of the frames with a face that may show more than one before it counts.
const MULTI_FACE_SHARE: f64 = 0.2;

/// Scores one face, one person.
pub fn face_consistency(samples: &[Sample]) -> LayerScore {
    let mut l = LayerScore::clean(1.0);
    let seen = samples.iter().filter(|s| s.face_count > 0).count().max(1);
    let multi = samples.iter().filter(|s| s.face_count > 1).count();
    if multi as f64 / seen as f64 >= MULTI_FACE_SHARE {
        l.reasons.push(Reason::MultipleFaces);
        l.score = 0.3;
    }
    let embs: Vec<&Embedding> = samples
        .iter()
        .filter_map(|s| s.face.as_ref())
        .filter(|f| {
            f.placed && f.yaw.abs() <= DESCRIPTOR_POSE_MAX && f.pitch.abs() <= DESCRIPTOR_POSE_MAX
        })
        .filter_map(|f| f.embedding.as_ref())
        .collect();
    if embs.len() < 2 {
        l.score = l.score.min(0.5);
        l.reasons.push(Reason::InsufficientFrames);
        return l;
    }
    // Early, middle and late thirds; compare each pair of thirds by the median distance of
    // their members, so one blurred frame cannot fake a change or hide one.
    let third = embs.len().div_ceil(3);
    let groups: Vec<&[&Embedding]> = embs.chunks(third).collect();
    let mut worst = 0.0f64;
    for i in 0..groups.len() {
        for j in i + 1..groups.len() {
            let d: Vec<f64> = groups[i]
                .iter()
                .flat_map(|a| {
                    groups[j]
                        .iter()
                        .map(move |b| embedding_distance(a, b) as f64)
                })
                .collect();
            worst = worst.max(median(d).unwrap_or(0.0));
        }
    }
    l.score = l
        .score
        .min(1.0 - ramp(worst, SAME_PERSON_SURE, SAME_PERSON_MAX as f64));
    if worst > SAME_PERSON_MAX as f64 {
        l.reasons.push(Reason::FaceChanged);
        l.hard_fail = true;
    }
    l
}

#[cfg(test)]
mod tests {
    use super::super::fixtures::sample;
    use super::*;

    #[test]
    fn a_changed_face_fails_consistency() {
        let mut s: Vec<Sample> = (0..6)
            .map(|i| sample(i as f64, i, 0.0, vec![], Some(0.0)))
            .collect();
        s.extend((6..12).map(|i| sample(i as f64, i, 0.0, vec![], Some(0.9))));
        let l = face_consistency(&s);
        assert!(
            l.hard_fail && l.reasons.contains(&Reason::FaceChanged),
            "{l:?}"
        );
        let same: Vec<Sample> = (0..12)
            .map(|i| sample(i as f64, i, 0.0, vec![], Some(0.01 * i as f32)))
            .collect();
        let l = face_consistency(&same);
        assert!(!l.hard_fail && l.score > 0.9, "{l:?}");
    }
}
