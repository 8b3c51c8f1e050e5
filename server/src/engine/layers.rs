//! The five verification layers. Each turns the session's evidence into a score in [0, 1] and
//! stable reason codes; a *hard* finding (a clear spoof, swap or injected stream) makes the
//! session fail whatever the other layers say.
//!
//! Cues and where their thresholds come from (DESIGN.md, "The verification layers"):
//! - motion: planar fit between two views — on image texture between face crops ≥20° apart
//!   (a hard finding: photos ≤0.01 of the inter-eye distance, heads ≈0.07), else on the rigid
//!   landmarks across ≥10° of yaw (only weighs: the landmark network's prior blurs prints and
//!   heads together); repeated identical frames (a camera's sensor noise makes every real frame
//!   differ); postural sway and its drift against jitter (a still image has none).
//! - anti-spoof: the AntiSpoof network (weak: ROC AUC ≈ 0.66 on real attacks, so it only nudges
//!   the score; the Liveness network measured AUC ≈ 0.41, below chance, so it is recorded but not
//!   scored), spectral lines of a screen's pixel grid (moiré, in grey and colour; on most frames
//!   a hard finding), and specular glare.
//! - face consistency: one face throughout; the same person early, mid and late (128-d
//!   descriptor distance, dlib's same-person cut-off 0.6).
//! - deepfake / injection: frames arriving faster than the camera said it films, a virtual
//!   camera driver, landmark trajectories with none of a real camera's measurement noise.
use app::{api::ChallengeOutcome, ws::CameraMetadata};
use models::{embedding_distance, AntiSpoofScores, Embedding};
use serde::Serialize;

use super::{
    geometry, inter_eye_distance,
    parallax::{self, KeyframeSet},
    Observation,
};

/// A layer's result.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LayerScore {
    pub score: f64,
    pub reasons: Vec<&'static str>,
    /// A finding that fails the session by itself.
    pub hard_fail: bool,
    /// The raw measures behind the score (for `ilive eval --details` and the logs).
    #[serde(skip)]
    pub measures: Vec<(&'static str, f64)>,
}

impl LayerScore {
    fn clean(score: f64) -> Self {
        LayerScore {
            score: score.clamp(0.0, 1.0),
            reasons: vec![],
            hard_fail: false,
            measures: vec![],
        }
    }
}

pub use models::cues::ImageCues;

/// Ring-normalised spectral peak (see `models::cues::image_cues`) above which a frame counts as showing
/// a pixel grid: five to six times the ≈3.5 expected of the largest of a ring's bins under noise,
/// and well above the ≤12 of the oriented edges of real faces and rooms.
pub const MOIRE_PEAK: f32 = 20.0;
/// Fewest frames with image cues before a screen finding fails the session by itself.
pub const MOIRE_MIN_FRAMES: usize = 3;
/// Fraction of saturated face pixels that counts as glare.
pub const GLARE_FRACTION: f32 = 0.04;
/// Planar residual (÷ inter-eye distance) below which motion is that of a plane: the midpoint
/// of the gap between the documented ceiling for prints (0.06) and floor for heads (0.07).
pub const PLANAR_MAX: f64 = 0.065;
/// Planar residual at or above which the parallax is fully that of a head (documented floor
/// for real heads, plus the width of the gap, so a borderline head scores ~0.5, not 1).
pub const HEAD_MIN: f64 = 0.08;
pub use parallax::PARALLAX_YAW_DEG;
/// The same two bounds for the residual measured on image texture ([`parallax`]) between views
/// ≥ [`parallax::MIN_POSE_GAP`] apart (≈20°): texture matching is accurate to a fraction of a
/// pixel, so a photo measures ≤ 0.01 of the inter-eye distance (0.004–0.005 on a real photo
/// tilted by 20–30°, 0.006–0.024 on the print clips), while a head turned by 20° leaves ≈0.068
/// (0.07 measured on real video). Print below 0.04, head from 0.06.
pub const IMAGE_PLANAR_MAX: f64 = 0.04;
pub const IMAGE_HEAD_MIN: f64 = 0.06;
/// Least postural sway (smoothed centroid range ÷ inter-eye distance) of a live face.
pub const SWAY_MIN: f64 = 0.01;

/// Range of the rigid landmarks' centroid after a 7-frame moving average, ÷ inter-eye distance.
fn sway_range(faces: &[&FaceSample]) -> f64 {
    let cents: Vec<[f64; 2]> = faces
        .iter()
        .map(|f| {
            let n = f.rigid.len() as f64;
            let c = f.rigid.iter().fold([0.0, 0.0], |a, p| {
                [a[0] + p[0] as f64 / n, a[1] + p[1] as f64 / n]
            });
            [
                c[0] / f.inter_eye.max(1.0) as f64,
                c[1] / f.inter_eye.max(1.0) as f64,
            ]
        })
        .collect();
    const W: usize = 7;
    if cents.len() < W {
        return 0.0;
    }
    let smooth: Vec<[f64; 2]> = cents
        .windows(W)
        .map(|w| {
            let s = w.iter().fold([0.0, 0.0], |a, p| [a[0] + p[0], a[1] + p[1]]);
            [s[0] / W as f64, s[1] / W as f64]
        })
        .collect();
    let range = |i: usize| {
        let (lo, hi) = smooth.iter().fold((f64::MAX, f64::MIN), |(lo, hi), p| {
            (lo.min(p[i]), hi.max(p[i]))
        });
        hi - lo
    };
    range(0).hypot(range(1))
}

/// Most smoothed sway ([`sway_range`]) of a stream that can be a still image: averaging 7 frames
/// leaves a detector's white jitter a range of ≈0.02 of the inter-eye distance (0.018–0.022 on a
/// still photo with sensor noise); a face whose smoothed track spans 0.05 (≈3 mm) has moved,
/// whatever the shape of its track.
pub const STILL_SWAY_MAX: f64 = 0.05;
/// Largest step of the landmarks' centroid between consecutive frames of one face track (÷
/// inter-eye distance); a longer jump is another detection, not motion.
const TRACK_JUMP_MAX: f64 = 0.5;

/// The longest run of consecutive frames with a face whose centroid moves by less than
/// [`TRACK_JUMP_MAX`] from frame to frame.
fn longest_track(samples: &[Sample]) -> Vec<&FaceSample> {
    let centroid = |f: &FaceSample| {
        let n = f.rigid.len() as f64;
        f.rigid.iter().fold([0.0, 0.0], |a, p| {
            [a[0] + p[0] as f64 / n, a[1] + p[1] as f64 / n]
        })
    };
    let (mut best, mut run): (Vec<&FaceSample>, Vec<&FaceSample>) = (vec![], vec![]);
    for s in samples {
        let face = s
            .face
            .as_ref()
            .filter(|f| f.rigid.len() == geometry::RIGID_POINTS.len());
        let continues = match (face, run.last()) {
            (Some(f), Some(prev)) => {
                let (a, b) = (centroid(prev), centroid(f));
                (a[0] - b[0]).hypot(a[1] - b[1]) / prev.inter_eye.max(1.0) as f64 <= TRACK_JUMP_MAX
            }
            _ => false,
        };
        if !continues {
            if run.len() > best.len() {
                best = std::mem::take(&mut run);
            }
            run.clear();
        }
        if let Some(f) = face {
            run.push(f);
        }
    }
    if run.len() > best.len() {
        best = run;
    }
    best
}

/// Descriptor distance above which two faces are different people (dlib).
pub const SAME_PERSON_MAX: f32 = 0.6;

/// What is kept of each analysed frame: measurements, not pixels.
#[derive(Debug, Clone)]
pub struct Sample {
    pub t: f64,
    pub hash: u64,
    pub face_count: usize,
    pub face: Option<FaceSample>,
}

#[derive(Debug, Clone)]
pub struct FaceSample {
    pub yaw: f32,
    pub pitch: f32,
    pub inter_eye: f32,
    /// The rigid landmarks ([`geometry::RIGID_POINTS`]) in frame pixels.
    pub rigid: Vec<[f32; 2]>,
    pub anti_spoof: Option<AntiSpoofScores>,
    pub embedding: Option<Embedding>,
    pub cues: Option<ImageCues>,
}

impl Sample {
    pub fn from_observation(o: &Observation) -> Self {
        let face = o.face.as_ref().map(|f| FaceSample {
            yaw: f.pose.yaw,
            pitch: f.pose.pitch,
            inter_eye: inter_eye_distance(f),
            rigid: if f.landmarks.len() >= 468 {
                geometry::RIGID_POINTS
                    .iter()
                    .map(|&i| [f.landmarks[i][0], f.landmarks[i][1]])
                    .collect()
            } else {
                vec![]
            },
            anti_spoof: f.anti_spoof,
            embedding: f.embedding,
            cues: o.cues,
        });
        Sample {
            t: o.t,
            hash: o.frame_hash,
            face_count: o.face_count,
            face,
        }
    }
}

fn median(mut v: Vec<f64>) -> Option<f64> {
    if v.is_empty() {
        return None;
    }
    v.sort_by(f64::total_cmp);
    Some(v[v.len() / 2])
}

fn ramp(x: f64, lo: f64, hi: f64) -> f64 {
    ((x - lo) / (hi - lo)).clamp(0.0, 1.0)
}

/// Active mode: the share of challenges met.
pub fn challenges(outcomes: &[ChallengeOutcome], timed_out: bool) -> LayerScore {
    if outcomes.is_empty() {
        return LayerScore::clean(0.0);
    }
    let passed = outcomes.iter().filter(|c| c.passed).count();
    let mut l = LayerScore::clean(passed as f64 / outcomes.len() as f64);
    if timed_out {
        l.reasons.push("challenge_timeout");
    } else if passed < outcomes.len() {
        l.reasons.push("challenge_failed");
    }
    l
}

/// Motion: parallax, frozen frames, micro-motion.
pub fn motion(samples: &[Sample], keyframes: &KeyframeSet) -> LayerScore {
    let mut l = LayerScore::clean(1.0);
    // Identical consecutive frames: a real sensor's noise changes every frame's bytes.
    let pairs = samples.windows(2).count().max(1);
    let dupes = samples
        .windows(2)
        .filter(|w| w[0].hash == w[1].hash)
        .count();
    if samples.len() >= 5 && dupes as f64 / pairs as f64 >= 0.5 {
        l.reasons.push("frozen_frames");
        l.hard_fail = true;
        l.score = 0.0;
        return l;
    }
    let faces: Vec<&FaceSample> = samples
        .iter()
        .filter_map(|s| s.face.as_ref())
        .filter(|f| f.rigid.len() == geometry::RIGID_POINTS.len())
        .collect();
    if faces.len() < 3 {
        l.score = 0.5;
        l.reasons.push("insufficient_frames");
        return l;
    }
    // Micro-motion: median rigid-landmark displacement between consecutive frames, ÷ inter-eye.
    let steps: Vec<f64> = faces
        .windows(2)
        .map(|w| {
            let d: f32 = w[0]
                .rigid
                .iter()
                .zip(&w[1].rigid)
                .map(|(a, b)| ((a[0] - b[0]).powi(2) + (a[1] - b[1]).powi(2)).sqrt())
                .sum::<f32>()
                / w[0].rigid.len() as f32;
            (d / w[0].inter_eye.max(1.0)) as f64
        })
        .collect();
    let micro = median(steps).unwrap_or(0.0);
    // Postural sway: a person holding still still drifts by millimetres over seconds, while a
    // still image (even with sensor noise added) does not drift at all. Smooth the rigid
    // landmarks' centroid over ~0.5 s to average the detector's own jitter away, then take its
    // range, ÷ inter-eye distance. 0.01 ≈ 0.6 mm at a 63 mm inter-eye distance, well under the
    // head sway of a seated person over a few seconds.
    let sway = sway_range(&faces);
    // Drift against jitter: the von Neumann ratio of the centroid track (mean square successive
    // difference ÷ variance) is 2 for independent jitter and falls towards 0 when a slow drift
    // dominates. Sway is slow (< 1 Hz) and a detector's jitter on a still image is not.
    // Measured on the longest unbroken track of one face (a face that leaves and comes back, or
    // a detection jumping elsewhere, would read as jitter).
    let track = longest_track(samples);
    let drift = drift_ratio(&track);
    l.measures.push(("micro_motion", micro));
    l.measures.push(("sway", sway));
    if let Some(d) = drift {
        l.measures.push(("drift_ratio", d));
    }
    let still = micro < 0.0015 || (faces.len() >= 30 && sway < SWAY_MIN);
    // A track that is jitter and nothing else over ≥ 30 frames (2 s at 15 fps): no drift at the
    // 0.1% level. A person's sway and breathing move the head by millimetres over seconds — far
    // above a landmark detector's jitter — so their ratio sits near 0.05; a still photo fed with
    // fresh sensor noise sits at 2.
    let jitter_only = track.len() >= 30
        && sway_range(&track) < STILL_SWAY_MAX
        && drift.is_some_and(|d| d >= drift_white_floor(track.len()));
    if jitter_only {
        l.reasons.push("still_image");
        l.hard_fail = true;
        l.score = 0.0;
    } else if still {
        l.reasons.push("no_micro_motion");
        l.score = l.score.min(0.3);
    }
    // Parallax, on image texture where two keyframes are far enough apart in pose, else on the
    // landmarks: pairs of views ≥10° of yaw apart, taken from both ends of the yaw range (the
    // most-left-turned against the most-right-turned, and so on inward).
    match image_parallax(keyframes) {
        Some((r, gap)) => {
            l.measures.push(("planar_residual_image", r));
            l.measures.push(("parallax_pose_gap", gap));
            l.score = l.score.min(ramp(r, IMAGE_PLANAR_MAX, IMAGE_HEAD_MIN));
            if r < IMAGE_PLANAR_MAX {
                l.reasons.push("no_motion_parallax");
                l.hard_fail = true;
            } else if r < (IMAGE_PLANAR_MAX + IMAGE_HEAD_MIN) / 2.0 {
                l.reasons.push("weak_motion_parallax");
            }
        }
        // Without a wide enough pair of crops, the landmark residual only weighs: the landmark
        // network's own prior puts prints (0.058–0.073 measured) inside the range of heads, so
        // it cannot carry a hard decision.
        None => {
            if let Some(r) = landmark_parallax(&faces) {
                l.measures.push(("planar_residual_landmarks", r));
                l.score = l.score.min(ramp(r, PLANAR_MAX, HEAD_MIN).max(0.3));
                if r < (PLANAR_MAX + HEAD_MIN) / 2.0 {
                    l.reasons.push("weak_motion_parallax");
                }
            }
        }
    }
    l
}

/// Pairs of keyframes compared by the image parallax test: the widest apart in pose.
const PARALLAX_PAIRS: usize = 5;

/// Median image planar residual over the keyframe pairs farthest apart in pose (at least
/// [`parallax::MIN_POSE_GAP`]), with the median gap of those pairs; `None` when no pair
/// qualifies or none could be matched.
fn image_parallax(keyframes: &KeyframeSet) -> Option<(f64, f64)> {
    let (residuals, gaps): (Vec<f64>, Vec<f64>) = keyframes
        .widest_pairs(parallax::MIN_POSE_GAP, PARALLAX_PAIRS)
        .into_iter()
        .filter_map(|(g, a, b)| parallax::image_planar_residual(a, b).map(|r| (r, g)))
        .unzip();
    Some((median(residuals)?, median(gaps)?))
}

/// Median landmark planar residual over views ≥ [`PARALLAX_YAW_DEG`] apart.
fn landmark_parallax(faces: &[&FaceSample]) -> Option<f64> {
    let to64 = |v: &[[f32; 2]]| {
        v.iter()
            .map(|p| [p[0] as f64, p[1] as f64])
            .collect::<Vec<_>>()
    };
    let mut by_yaw = faces.to_vec();
    by_yaw.sort_by(|a, b| a.yaw.total_cmp(&b.yaw));
    let n = by_yaw.len();
    let residuals: Vec<f64> = (0..n / 2)
        .take(7)
        .map(|k| (by_yaw[k], by_yaw[n - 1 - k]))
        .take_while(|(a, b)| b.yaw - a.yaw >= PARALLAX_YAW_DEG)
        .filter_map(|(a, b)| {
            let scale = ((a.inter_eye + b.inter_eye) / 2.0) as f64;
            geometry::planar_residual(&to64(&a.rigid), &to64(&b.rigid), scale)
        })
        .collect();
    median(residuals)
}

/// The smaller of the von Neumann ratios of the rigid landmarks' centroid track in x and y.
fn drift_ratio(faces: &[&FaceSample]) -> Option<f64> {
    if faces.len() < 10 {
        return None;
    }
    let ratio = |axis: usize| {
        let xs: Vec<f64> = faces
            .iter()
            .map(|f| {
                f.rigid.iter().map(|p| p[axis] as f64).sum::<f64>()
                    / f.rigid.len() as f64
                    / f.inter_eye.max(1.0) as f64
            })
            .collect();
        let n = xs.len() as f64;
        let mean = xs.iter().sum::<f64>() / n;
        let var = xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / n;
        let msd = xs.windows(2).map(|w| (w[1] - w[0]).powi(2)).sum::<f64>() / (n - 1.0);
        (var > 1e-12).then(|| msd / var)
    };
    match (ratio(0), ratio(1)) {
        (Some(x), Some(y)) => Some(x.min(y)),
        (a, b) => a.or(b),
    }
}

/// The von Neumann ratio of `n` independent values is ≈ normal with mean 2 and variance
/// 4(n−2)/(n²−1); below mean − 3.09σ (one-sided 0.1%) it shows serial correlation, a drift.
fn drift_white_floor(n: usize) -> f64 {
    let n = n as f64;
    2.0 - 3.09 * (4.0 * (n - 2.0) / (n * n - 1.0)).sqrt()
}

/// Anti-spoof: the AntiSpoof network and image cues.
pub fn anti_spoof(samples: &[Sample]) -> LayerScore {
    let faces: Vec<&FaceSample> = samples.iter().filter_map(|s| s.face.as_ref()).collect();
    let nets: Vec<f64> = faces
        .iter()
        .filter_map(|f| f.anti_spoof.map(|a| a.antispoof_real as f64))
        .collect();
    let cues: Vec<ImageCues> = faces.iter().filter_map(|f| f.cues).collect();
    // The network's "real" score on genuine photos spans ~0.45–0.8: map 0.2→0 and 0.7→1.
    let net_median = median(nets);
    let net_score = net_median.map(|m| ramp(m, 0.2, 0.7)).unwrap_or(0.5);
    let mut l = LayerScore::clean(1.0);
    let share = |f: &dyn Fn(&ImageCues) -> bool| {
        if cues.is_empty() {
            0.0
        } else {
            cues.iter().filter(|c| f(c)).count() as f64 / cues.len() as f64
        }
    };
    let moire = share(&|c| c.moire >= MOIRE_PEAK);
    let glare = share(&|c| c.glare >= GLARE_FRACTION);
    let mut cue_score = 1.0;
    if moire >= 0.5 {
        l.reasons.push("screen_moire");
        cue_score -= 0.6;
        // A periodic grid over most of the face's frames is a screen in front of the camera.
        if cues.len() >= MOIRE_MIN_FRAMES {
            l.hard_fail = true;
        }
    }
    if glare >= 0.5 {
        l.reasons.push("glare");
        cue_score -= 0.3;
    }
    l.score = (0.5 * net_score + 0.5 * f64::max(cue_score, 0.0)).clamp(0.0, 1.0);
    if let Some(m) = net_median {
        l.measures.push(("antispoof_real", m));
    }
    if let Some(m) = median(cues.iter().map(|c| c.moire as f64).collect()) {
        l.measures.push(("moire_peak", m));
    }
    l.measures.push(("moire_share", moire));
    l.measures.push(("glare_share", glare));
    if net_score < 0.2 {
        l.reasons.push("spoof_suspected");
    }
    l
}

/// Face consistency: one face, and the same person throughout.
pub fn face_consistency(samples: &[Sample]) -> LayerScore {
    let mut l = LayerScore::clean(1.0);
    let seen = samples.iter().filter(|s| s.face_count > 0).count().max(1);
    let multi = samples.iter().filter(|s| s.face_count > 1).count();
    if multi as f64 / seen as f64 >= 0.2 {
        l.reasons.push("multiple_faces");
        l.score = 0.3;
    }
    let embs: Vec<&Embedding> = samples
        .iter()
        .filter_map(|s| s.face.as_ref()?.embedding.as_ref())
        .collect();
    if embs.len() < 2 {
        l.score = l.score.min(0.5);
        l.reasons.push("insufficient_frames");
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
    l.score = l.score.min(1.0 - ramp(worst, 0.35, SAME_PERSON_MAX as f64));
    if worst > SAME_PERSON_MAX as f64 {
        l.reasons.push("face_changed");
        l.hard_fail = true;
    }
    l
}

/// Names of camera drivers that feed a prepared stream instead of a sensor.
const VIRTUAL_CAMERAS: &[&str] = &[
    "obs virtual",
    "obs-camera",
    "manycam",
    "xsplit",
    "snap camera",
    "camtwist",
    "v4l2loopback",
    "virtual camera",
    "droidcam",
    "epoccam",
    "avatarify",
    "deepfacelive",
    "iriun",
];

/// Deepfake / injection signals.
pub fn deepfake(samples: &[Sample], camera: &CameraMetadata) -> LayerScore {
    let mut l = LayerScore::clean(1.0);
    if let Some(label) = &camera.label {
        let label = label.to_ascii_lowercase();
        if VIRTUAL_CAMERAS.iter().any(|v| label.contains(v)) {
            l.reasons.push("virtual_camera");
            l.hard_fail = true;
            l.score = 0.0;
            return l;
        }
    }
    // Frames cannot arrive faster than the camera films them (with slack for bursts).
    if let (Some(first), Some(last), Some(rate)) =
        (samples.first(), samples.last(), camera.frame_rate)
    {
        let span = last.t - first.t;
        if span >= 2.0 && rate > 0.0 {
            let observed = (samples.len() - 1) as f64 / span;
            if observed > rate * 1.5 + 2.0 {
                l.reasons.push("frame_rate_mismatch");
                l.score -= 0.5;
            }
        }
    }
    // A real camera's landmarks jitter; a rendered stream can be perfectly smooth. Median
    // second difference of the rigid landmarks' centroid, ÷ inter-eye distance.
    let cents: Vec<([f32; 2], f32)> = samples
        .iter()
        .filter_map(|s| s.face.as_ref())
        .filter(|f| !f.rigid.is_empty())
        .map(|f| {
            let n = f.rigid.len() as f32;
            let c = f
                .rigid
                .iter()
                .fold([0.0, 0.0], |a, p| [a[0] + p[0] / n, a[1] + p[1] / n]);
            (c, f.inter_eye.max(1.0))
        })
        .collect();
    if cents.len() >= 10 {
        let jerk: Vec<f64> = cents
            .windows(3)
            .map(|w| {
                let dx = w[2].0[0] - 2.0 * w[1].0[0] + w[0].0[0];
                let dy = w[2].0[1] - 2.0 * w[1].0[1] + w[0].0[1];
                ((dx * dx + dy * dy).sqrt() / w[1].1) as f64
            })
            .collect();
        if median(jerk).unwrap_or(1.0) < 0.0002 {
            l.reasons.push("synthetic_motion");
            l.score -= 0.4;
        }
    }
    l.score = l.score.clamp(0.0, 1.0);
    l
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(t: f64, hash: u64, yaw: f32, rigid: Vec<[f32; 2]>, emb: Option<f32>) -> Sample {
        Sample {
            t,
            hash,
            face_count: 1,
            face: Some(FaceSample {
                yaw,
                pitch: 0.0,
                inter_eye: 60.0,
                rigid,
                anti_spoof: None,
                embedding: emb.map(|v| {
                    let mut e = [0.0f32; 128];
                    e[0] = v;
                    Embedding(e)
                }),
                cues: None,
            }),
        }
    }

    #[test]
    fn repeated_identical_frames_are_frozen() {
        let s: Vec<Sample> = (0..10)
            .map(|i| sample(i as f64 * 0.1, 7, 0.0, vec![], None))
            .collect();
        let l = motion(&s, &KeyframeSet::new(2));
        assert!(l.hard_fail && l.reasons.contains(&"frozen_frames"));
    }

    fn rigid_at(dx: f32, jitter: f32) -> Vec<[f32; 2]> {
        (0..geometry::RIGID_POINTS.len())
            .map(|i| {
                let j = if i % 2 == 0 { jitter } else { -jitter };
                [
                    300.0 + (i % 6) as f32 * 10.0 + dx + j,
                    200.0 + (i / 6) as f32 * 10.0 - j,
                ]
            })
            .collect()
    }

    /// White jitter in [-a, a] from a fixed linear congruential sequence.
    fn jitter(seed: &mut u32, a: f32) -> f32 {
        *seed = seed.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
        ((*seed >> 8) as f32 / (1u32 << 24) as f32 * 2.0 - 1.0) * a
    }

    fn track(sway_px: f32) -> Vec<Sample> {
        let mut seed = 99;
        (0..45)
            .map(|i| {
                let t = i as f64 / 15.0;
                // Breathing-rate sway (0.3 Hz) plus the detector's white jitter of ±0.5 px.
                let drift = sway_px * (2.0 * std::f32::consts::PI * 0.3 * t as f32).sin();
                let dx = drift + jitter(&mut seed, 0.5);
                let dy = jitter(&mut seed, 0.5);
                let rigid = rigid_at(dx, 0.0)
                    .into_iter()
                    .map(|p| [p[0], p[1] + dy])
                    .collect();
                sample(t, i, 0.0, rigid, None)
            })
            .collect()
    }

    #[test]
    fn a_still_image_has_no_postural_sway() {
        // A still photo with fresh sensor noise: the landmarks jitter but never drift.
        let still = motion(&track(0.0), &KeyframeSet::new(2));
        assert!(
            still.hard_fail && still.reasons.contains(&"still_image"),
            "{still:?}"
        );
        // The same jitter on a head swaying by ±1.5 px (≈ ±1.6 mm at 60 px between the eyes).
        let live = motion(&track(1.5), &KeyframeSet::new(2));
        assert!(!live.hard_fail && live.reasons.is_empty(), "{live:?}");
    }

    #[test]
    fn a_track_broken_by_another_detection_is_not_a_still_image() {
        // A face, then every 20th frame a false detection far away: the drift test reads only
        // unbroken tracks of one face (here 19 frames, too short to judge).
        let mut s = track(0.0);
        for (i, x) in s.iter_mut().enumerate().filter(|(i, _)| i % 20 == 19) {
            x.face = Some(FaceSample {
                rigid: rigid_at(200.0 + i as f32, 0.0),
                ..x.face.clone().unwrap()
            });
        }
        assert_eq!(longest_track(&s).len(), 19);
        let l = motion(&s, &KeyframeSet::new(2));
        assert!(!l.reasons.contains(&"still_image"), "{l:?}");
    }

    #[test]
    fn the_landmark_residual_alone_never_fails_a_session() {
        // Views 30° apart whose landmarks move as one plane, and no face crops to confirm it:
        // the landmark network's prior makes this weak evidence, so it only weighs.
        let mut s = track(1.5);
        let n = s.len();
        for (i, x) in s.iter_mut().enumerate() {
            let f = x.face.as_mut().unwrap();
            f.yaw = -15.0 + 30.0 * i as f32 / (n - 1) as f32;
            f.rigid = rigid_at(i as f32 * 0.2, 0.0);
        }
        let l = motion(&s, &KeyframeSet::new(2));
        assert!(!l.hard_fail, "{l:?}");
        assert!(l.reasons.contains(&"weak_motion_parallax"), "{l:?}");
        assert!(l
            .measures
            .iter()
            .any(|(m, _)| *m == "planar_residual_landmarks"));
    }

    #[test]
    fn the_white_noise_floor_follows_the_sample_size() {
        assert!((drift_white_floor(45) - 1.10).abs() < 0.01);
        assert!(drift_white_floor(30) < drift_white_floor(300));
        assert!(drift_white_floor(300) < 2.0);
    }

    #[test]
    fn a_changed_face_fails_consistency() {
        let mut s: Vec<Sample> = (0..6)
            .map(|i| sample(i as f64, i, 0.0, vec![], Some(0.0)))
            .collect();
        s.extend((6..12).map(|i| sample(i as f64, i, 0.0, vec![], Some(0.9))));
        let l = face_consistency(&s);
        assert!(l.hard_fail && l.reasons.contains(&"face_changed"), "{l:?}");
        let same: Vec<Sample> = (0..12)
            .map(|i| sample(i as f64, i, 0.0, vec![], Some(0.01 * i as f32)))
            .collect();
        let l = face_consistency(&same);
        assert!(!l.hard_fail && l.score > 0.9, "{l:?}");
    }

    #[test]
    fn virtual_cameras_are_injection() {
        let cam = CameraMetadata {
            label: Some("OBS Virtual Camera".into()),
            ..Default::default()
        };
        assert!(deepfake(&[], &cam).hard_fail);
        assert!(!deepfake(&[], &CameraMetadata::default()).hard_fail);
    }

    #[test]
    fn frames_faster_than_the_camera_are_suspicious() {
        let cam = CameraMetadata {
            frame_rate: Some(10.0),
            ..Default::default()
        };
        let s: Vec<Sample> = (0..150)
            .map(|i| sample(i as f64 * 0.02, i, 0.0, vec![], None))
            .collect();
        assert!(deepfake(&s, &cam).reasons.contains(&"frame_rate_mismatch"));
    }
}
