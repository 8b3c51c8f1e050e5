//! Proof that the clips show what they claim, measured by the `models` crate itself: a face in
//! every frame of a live clip, yaw swinging past ±15° both ways, EAR dipping under 0.2 and the
//! mouth opening; a print's landmarks moving as a plane; no face where there is none.
//!
//! The planarity test is the motion layer's (DESIGN.md, "The verification layers", 2): for
//! pairs of frames at least 10° apart in yaw, fit a homography to the rigid landmarks (nose,
//! eye corners, forehead, face sides — nothing an expression moves) and divide the RMS residual
//! by the inter-eye distance. Real heads give ~0.07–0.11, prints ≤ 0.04–0.06.

use anyhow::Result;
use image::RgbImage;
use models::{embedding_distance, AnalyzeOptions, Face, FaceModels};
use rayon::prelude::*;
use serde::Serialize;

use crate::clip::Kind;
use crate::head::inter_eye;

/// Landmarks that no expression of the live rig moves: the nose, the eye corners, the
/// glabella and forehead, the sides of the face.
pub const RIGID: [usize; 30] = [
    1, 4, 5, 6, 168, 197, 195, 2, 98, 327, 33, 133, 362, 263, 10, 151, 9, 8, 234, 454, 93, 323,
    127, 356, 21, 251, 54, 284, 103, 332,
];

/// The bottom of DESIGN.md's range for real heads (0.07–0.11); its prints measure ≤ 0.04–0.06.
/// A live clip must reach it, a print must stay under it. (FaceMesh's own landmark error on a
/// strongly foreshortened print is ~0.05–0.06, so a print sits at the top of its range.)
pub const LIVE_MIN_RESIDUAL: f32 = 0.07;

/// The smallest yaw difference between two frames for the planarity test.
pub const PLANAR_MIN_DYAW: f32 = 10.0;

/// What one frame showed.
#[derive(Debug, Clone)]
pub struct FrameResult {
    pub faces: usize,
    pub face: Option<Face>,
}

/// Analyses frames (in parallel); the first face of each is kept.
pub fn analyse(models: &FaceModels, frames: &[RgbImage]) -> Result<Vec<FrameResult>> {
    let opts = AnalyzeOptions::default();
    frames
        .par_iter()
        .map(|img| {
            let faces = models.analyze(img, &opts)?;
            Ok(FrameResult {
                faces: faces.len(),
                face: faces.into_iter().next(),
            })
        })
        .collect()
}

/// A clip's measurements.
#[derive(Debug, Clone, Serialize)]
pub struct ClipStats {
    pub frames: usize,
    /// Frames with exactly one face.
    pub one_face: usize,
    /// Frames with more than one.
    pub many_faces: usize,
    pub yaw: Option<(f32, f32)>,
    pub pitch: Option<(f32, f32)>,
    /// Mean of both eyes' EAR: lowest and highest.
    pub ear: Option<(f32, f32)>,
    pub mouth_open_max: Option<f32>,
    pub mouth_width: Option<(f32, f32)>,
    /// Median planar-fit residual / inter-eye distance over the frame pairs ≥10° apart in yaw,
    /// and how many pairs there were.
    pub planar: Option<(f32, usize)>,
    /// Largest yaw difference between two frames with a face.
    pub max_dyaw: f32,
    /// Mean landmark motion between consecutive frames, in inter-eye distances.
    pub motion: Option<f32>,
    /// Descriptor distance between the first and the last frame with a face.
    pub identity_distance: Option<f32>,
    /// Indices (among the analysed frames) where no face was found.
    pub no_face: Vec<usize>,
}

fn range(v: impl Iterator<Item = f32>) -> Option<(f32, f32)> {
    v.fold(None, |acc, x| match acc {
        None => Some((x, x)),
        Some((a, b)) => Some((a.min(x), b.max(x))),
    })
}

/// The planar-fit residual between two landmark sets (RMS over the rigid points, divided by the
/// mean inter-eye distance).
pub fn planar_residual(a: &[[f32; 3]], b: &[[f32; 3]]) -> Option<f32> {
    let pa: Vec<[f64; 2]> = RIGID
        .iter()
        .map(|&i| [a[i][0] as f64, a[i][1] as f64])
        .collect();
    let pb: Vec<[f64; 2]> = RIGID
        .iter()
        .map(|&i| [b[i][0] as f64, b[i][1] as f64])
        .collect();
    let ie = (inter_eye(a) + inter_eye(b)) / 2.0;
    models::geometry::planar_residual(&pa, &pb, ie.max(1.0) as f64).map(|r| r as f32)
}

/// Measures a clip from its per-frame results; `embed` computes a face descriptor for a frame
/// index (for the identity check), when given.
pub fn stats(
    results: &[FrameResult],
    embed: Option<&dyn Fn(usize) -> Option<models::Embedding>>,
) -> ClipStats {
    let faces: Vec<(usize, &Face)> = results
        .iter()
        .enumerate()
        .filter_map(|(i, r)| r.face.as_ref().map(|f| (i, f)))
        .collect();
    let mean_ear = |f: &Face| (f.eye_aspect_ratio.left + f.eye_aspect_ratio.right) / 2.0;
    let mut residuals = Vec::new();
    let mut max_dyaw = 0.0f32;
    for (k, (_, a)) in faces.iter().enumerate() {
        for (_, b) in &faces[k + 1..] {
            let dyaw = (a.pose.yaw - b.pose.yaw).abs();
            max_dyaw = max_dyaw.max(dyaw);
            if dyaw >= PLANAR_MIN_DYAW {
                if let Some(r) = planar_residual(&a.landmarks, &b.landmarks) {
                    residuals.push(r);
                }
            }
        }
    }
    residuals.sort_by(|a, b| a.total_cmp(b));
    let planar = (!residuals.is_empty()).then(|| (residuals[residuals.len() / 2], residuals.len()));
    let mut moves = Vec::new();
    for w in faces.windows(2) {
        let (a, b) = (&w[0].1.landmarks, &w[1].1.landmarks);
        let ie = inter_eye(a).max(1.0);
        let d = a
            .iter()
            .zip(b.iter())
            .map(|(p, q)| ((p[0] - q[0]).powi(2) + (p[1] - q[1]).powi(2)).sqrt())
            .sum::<f32>()
            / a.len() as f32;
        moves.push(d / ie);
    }
    let identity_distance = match (embed, faces.first(), faces.last()) {
        (Some(e), Some((i, _)), Some((j, _))) if i != j => match (e(*i), e(*j)) {
            (Some(a), Some(b)) => Some(embedding_distance(&a, &b)),
            _ => None,
        },
        _ => None,
    };
    ClipStats {
        frames: results.len(),
        one_face: results.iter().filter(|r| r.faces == 1).count(),
        many_faces: results.iter().filter(|r| r.faces > 1).count(),
        yaw: range(faces.iter().map(|(_, f)| f.pose.yaw)),
        pitch: range(faces.iter().map(|(_, f)| f.pose.pitch)),
        ear: range(faces.iter().map(|(_, f)| mean_ear(f))),
        mouth_open_max: range(faces.iter().map(|(_, f)| f.mouth_open_ratio)).map(|r| r.1),
        mouth_width: range(faces.iter().map(|(_, f)| f.mouth_width_ratio)),
        planar,
        max_dyaw,
        motion: (!moves.is_empty()).then(|| moves.iter().sum::<f32>() / moves.len() as f32),
        identity_distance,
        no_face: results
            .iter()
            .enumerate()
            .filter(|(_, r)| r.faces == 0)
            .map(|(i, _)| i)
            .collect(),
    }
}

/// What each kind of clip must show; the reasons it does not (empty = as expected).
pub fn expectations(kind: Kind, s: &ClipStats) -> Vec<String> {
    let mut bad = Vec::new();
    let mut need = |ok: bool, what: &str| {
        if !ok {
            bad.push(what.to_string());
        }
    };
    let all_faces = s.one_face == s.frames;
    match kind {
        Kind::Live => {
            need(all_faces, "a face in every frame");
            need(
                s.yaw.is_some_and(|y| y.0 < -15.0 && y.1 > 15.0),
                "yaw beyond ±15° both ways",
            );
            need(
                s.ear.is_some_and(|e| e.0 < 0.2 && e.1 > 0.2),
                "EAR below 0.2 and back",
            );
            need(
                s.mouth_open_max.is_some_and(|m| m > 0.3),
                "mouth open ratio above 0.3",
            );
            need(
                s.mouth_width.is_some_and(|w| w.1 > 1.12 * w.0),
                "mouth widening (smile)",
            );
            need(
                s.planar.is_some_and(|p| p.0 >= LIVE_MIN_RESIDUAL),
                "non-planar motion (residual ≥ 0.07)",
            );
        }
        Kind::Print => {
            need(all_faces, "a face in every frame");
            need(
                s.planar.is_some_and(|p| p.0 < LIVE_MIN_RESIDUAL),
                "planar motion (residual < 0.07)",
            );
        }
        Kind::Replay => need(s.one_face * 10 >= s.frames * 9, "a face in ≥90% of frames"),
        Kind::Frozen => {
            need(all_faces, "a face in every frame");
            need(
                s.motion.is_some_and(|m| m < 0.01),
                "landmarks still (motion < 0.01 inter-eye per frame)",
            );
        }
        Kind::Swap => {
            need(all_faces, "a face in every frame");
            need(
                s.identity_distance.is_some_and(|d| d > 0.6),
                "a different person at the end",
            );
        }
        Kind::Noface => need(s.one_face + s.many_faces == 0, "no face in any frame"),
    }
    bad
}

/// The table's header and one row.
pub fn table_header() -> String {
    format!(
        "{:<22} {:<7} {:>6} {:>6} {:>14} {:>14} {:>7} {:>6} {:>12} {:>13} {:>7} {:>6}  {}",
        "clip",
        "kind",
        "frames",
        "faces",
        "yaw",
        "pitch",
        "EARmin",
        "mouth",
        "width",
        "planar(n)",
        "motion",
        "ident",
        "expected"
    )
}

pub fn table_row(name: &str, kind: Kind, s: &ClipStats) -> String {
    let pair = |v: Option<(f32, f32)>, p: usize| match v {
        Some((a, b)) => format!("{a:.p$}..{b:.p$}"),
        None => "-".into(),
    };
    let one = |v: Option<f32>, p: usize| v.map_or("-".into(), |x| format!("{x:.p$}"));
    let planar = match s.planar {
        Some((r, n)) => format!("{r:.3}({n})"),
        None => format!("-(Δ{:.0}°)", s.max_dyaw),
    };
    let bad = expectations(kind, s);
    format!(
        "{:<22} {:<7} {:>6} {:>6} {:>14} {:>14} {:>7} {:>6} {:>12} {:>13} {:>7} {:>6}  {}",
        name,
        format!("{kind:?}").to_lowercase(),
        s.frames,
        s.one_face + s.many_faces,
        pair(s.yaw, 1),
        pair(s.pitch, 1),
        one(s.ear.map(|e| e.0), 3),
        one(s.mouth_open_max, 2),
        pair(s.mouth_width, 2),
        planar,
        one(s.motion, 4),
        one(s.identity_distance, 2),
        if bad.is_empty() {
            "ok".to_string()
        } else {
            format!("MISSING: {}", bad.join("; "))
        }
    )
}
