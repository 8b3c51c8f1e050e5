//! Proof that the clips show what they claim, measured by the `models` crate itself: a face in
//! every frame of a live clip, yaw swinging past ±15° both ways, EAR dipping under 0.2 and the
//! mouth opening; a print's landmarks moving as a plane; no face where there is none.
//!
//! The planarity test is the motion layer's (`docs/architecture.md`, "The verification layers",
//! 2), with the engine's rigid points and thresholds ([`models::geometry`]): for pairs of frames
//! at least [`PARALLAX_YAW_DEG`] apart in yaw, fit a homography to the rigid landmarks and divide
//! the RMS residual by the inter-eye distance. A live clip must reach [`HEAD_MIN`], where the
//! engine reads a head; a print must stay under [`WEAK_PARALLAX`], where the engine calls the
//! parallax weak. (FaceMesh's prior places a print's jaw and cheek points where a head's would
//! be, so on these points a print measures ≈0.065–0.075, above [`PLANAR_MAX`]: the engine lets
//! this measure weigh, never decide.)

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{bail, Context, Result};
use image::RgbImage;
use models::geometry::{landmark_residual, HEAD_MIN, PLANAR_MAX};
use models::parallax::PARALLAX_YAW_DEG;
use models::{embedding_distance, AnalyzeOptions, Face, FaceModels};
use rayon::prelude::*;
use serde::Serialize;

use crate::clip::Kind;
use crate::output::frame_files;

/// Landmark planar residual under which the engine reports weak motion parallax: midway between
/// its plane ([`PLANAR_MAX`]) and head ([`HEAD_MIN`]) bounds.
pub const WEAK_PARALLAX: f64 = (PLANAR_MAX + HEAD_MIN) / 2.0;

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
    let mean_ear = |f: &Face| f.eye_aspect_ratio.mean();
    let mut residuals = Vec::new();
    let mut max_dyaw = 0.0f32;
    for (k, (_, a)) in faces.iter().enumerate() {
        for (_, b) in &faces[k + 1..] {
            let dyaw = (a.pose.yaw - b.pose.yaw).abs();
            max_dyaw = max_dyaw.max(dyaw);
            if dyaw >= PARALLAX_YAW_DEG {
                if let Some(r) = landmark_residual(&a.landmarks, &b.landmarks) {
                    residuals.push(r as f32);
                }
            }
        }
    }
    residuals.sort_by(|a, b| a.total_cmp(b));
    let planar = (!residuals.is_empty()).then(|| (residuals[residuals.len() / 2], residuals.len()));
    let mut moves = Vec::new();
    for w in faces.windows(2) {
        let (a, b) = (&w[0].1.landmarks, &w[1].1.landmarks);
        let ie = a.inter_eye().max(1.0);
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
                s.planar.is_some_and(|p| p.0 as f64 >= HEAD_MIN),
                &format!("non-planar motion (residual ≥ {HEAD_MIN})"),
            );
        }
        Kind::Print => {
            need(all_faces, "a face in every frame");
            need(
                s.planar.is_some_and(|p| (p.0 as f64) < WEAK_PARALLAX),
                &format!("planar motion (residual < {WEAK_PARALLAX})"),
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

/// The clip folders under `dir` (itself, if it holds frames).
fn clip_dirs(dir: &Path) -> Result<Vec<PathBuf>> {
    if !frame_files(dir)?.is_empty() {
        return Ok(vec![dir.to_path_buf()]);
    }
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .with_context(|| format!("reading {}", dir.display()))?
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.is_dir() && frame_files(p).map(|f| !f.is_empty()).unwrap_or(false))
        .collect();
    v.sort();
    Ok(v)
}

/// The kind of a clip folder: from its `clip.json`, else from its name's prefix.
fn kind_of(dir: &Path) -> Option<Kind> {
    if let Ok(bytes) = std::fs::read(dir.join("clip.json")) {
        if let Ok(v) = serde_json::from_slice::<serde_json::Value>(&bytes) {
            if let Some(k) = v.get("kind").and_then(|k| k.as_str()) {
                return <Kind as clap::ValueEnum>::from_str(k, true).ok();
            }
        }
    }
    let name = dir.file_name()?.to_string_lossy().to_lowercase();
    let prefix = name.split(['_', '-']).next()?;
    <Kind as clap::ValueEnum>::from_str(prefix, true).ok()
}

/// Prints the table; `false` when some clip misses its expectations.
pub fn check_dirs(models: &FaceModels, dir: &Path, every: usize) -> Result<bool> {
    let dirs = clip_dirs(dir)?;
    if dirs.is_empty() {
        bail!("no frame_*.jpg under {}", dir.display());
    }
    println!("{}", table_header());
    let mut all_ok = true;
    for d in dirs {
        let start = Instant::now();
        let files: Vec<PathBuf> = frame_files(&d)?.into_iter().step_by(every).collect();
        let frames: Vec<image::RgbImage> = files
            .par_iter()
            .map(|f| {
                Ok(image::open(f)
                    .with_context(|| format!("decoding {}", f.display()))?
                    .to_rgb8())
            })
            .collect::<Result<_>>()?;
        let results = analyse(models, &frames)?;
        let embed = |i: usize| -> Option<models::Embedding> {
            let opts = models::AnalyzeOptions {
                embedding: true,
                max_faces: 1,
                ..Default::default()
            };
            models
                .analyze(&frames[i], &opts)
                .ok()?
                .into_iter()
                .next()?
                .embedding
        };
        let s = stats(&results, Some(&embed));
        let name = d
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        match kind_of(&d) {
            Some(kind) => {
                all_ok &= expectations(kind, &s).is_empty();
                println!("{}", table_row(&name, kind, &s));
            }
            None => println!("{name:<22} (unknown kind) {s:?}"),
        }
        if !s.no_face.is_empty() && s.no_face.len() < s.frames {
            let idx: Vec<String> = s.no_face.iter().map(|i| (i * every).to_string()).collect();
            eprintln!("  {name}: no face in frames {}", idx.join(" "));
        }
        eprintln!(
            "  {name}: {} frames analysed in {:.1} s",
            frames.len(),
            start.elapsed().as_secs_f64()
        );
    }
    Ok(all_ok)
}
