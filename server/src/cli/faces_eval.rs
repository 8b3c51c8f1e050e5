//! `ilive faces-eval`: genuine and impostor similarity distributions, and the false-match /
//! false-non-match rates at the default threshold, on a folder of real photos.
//!
//! Identities come from the folder layout: with sub-folders, each sub-folder is one person
//! (`DIR/<person>/*.jpg`); otherwise a file's identity is its name up to the first digit or `_`
//! (`obama2.jpg`, `obama_partial_face.jpg` → `obama`). Every pair of images with a face is
//! scored with the same decoding, largest-face choice and mapping as the API.
use std::{
    fmt::Write,
    path::{Path, PathBuf},
};

use models::{Face, FaceModels};

use super::shared::{has_extension, rate};
use crate::faces::{
    self,
    similarity::{self, DEFAULT_THRESHOLD},
};

/// Files left out of the fixture set, with the reason (they are not independent photos).
const EXCLUDED: &[(&str, &str)] = &[("32bit.png", "obama2.jpg re-encoded as RGBA PNG")];

#[derive(Debug, Clone, clap::Args)]
pub struct FacesEvalArgs {
    /// Folder of photos (default: `$ILIVE_FIXTURES_DIR/images`, fetched by
    /// `bash scripts/fixtures/fetch-images.sh`).
    #[arg(long)]
    pub images: Option<PathBuf>,
    /// Threshold to report besides the default (repeatable), in [0, 1].
    #[arg(long = "threshold", value_parser = unit_interval)]
    pub thresholds: Vec<f64>,
}

fn unit_interval(raw: &str) -> Result<f64, String> {
    let t: f64 = raw.parse().map_err(|e| format!("{e}"))?;
    if (0.0..=1.0).contains(&t) {
        Ok(t)
    } else {
        Err("must be in [0, 1]".into())
    }
}

/// One scored pair.
#[derive(Debug, Clone)]
pub struct Pair {
    pub a: String,
    pub b: String,
    pub genuine: bool,
    pub distance: f32,
    pub similarity: f64,
}

/// Everything `faces-eval` measured.
#[derive(Debug, Clone, Default)]
pub struct Evaluation {
    /// `(file, identity, note)` for each image looked at.
    pub images: Vec<(String, String, String)>,
    pub pairs: Vec<Pair>,
}

fn default_images_dir() -> PathBuf {
    models::cache_dir("ILIVE_FIXTURES_DIR", "fixtures").join("images")
}

fn identity_from_name(stem: &str) -> String {
    let id: String = stem
        .chars()
        .take_while(|c| !c.is_ascii_digit() && *c != '_')
        .collect();
    if id.is_empty() {
        stem.to_owned()
    } else {
        id
    }
}

fn is_image(p: &Path) -> bool {
    has_extension(p, &["jpg", "jpeg", "png", "webp"])
}

/// `(path, identity)` of every photo under `dir`, sorted.
fn list(dir: &Path) -> anyhow::Result<Vec<(PathBuf, String)>> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() {
            let person = path
                .file_name()
                .and_then(|n| n.to_str())
                .unwrap_or_default()
                .to_owned();
            for inner in std::fs::read_dir(&path)? {
                let p = inner?.path();
                if p.is_file() && is_image(&p) {
                    out.push((p, person.clone()));
                }
            }
        } else if is_image(&path) {
            let stem = path
                .file_stem()
                .and_then(|n| n.to_str())
                .unwrap_or_default();
            out.push((path.clone(), identity_from_name(stem)));
        }
    }
    out.sort();
    Ok(out)
}

/// Analyses every photo and scores every pair.
pub fn evaluate(args: &FacesEvalArgs, models: &FaceModels) -> anyhow::Result<Evaluation> {
    let dir = args.images.clone().unwrap_or_else(default_images_dir);
    anyhow::ensure!(
        dir.is_dir(),
        "{} does not exist: run `bash scripts/fixtures/fetch-images.sh` or pass --images DIR",
        dir.display()
    );
    let mut eval = Evaluation::default();
    let mut faces: Vec<(String, String, Face)> = Vec::new();
    for (path, identity) in list(&dir)? {
        let name = path
            .strip_prefix(&dir)
            .unwrap_or(&path)
            .display()
            .to_string();
        if let Some((_, why)) = EXCLUDED.iter().find(|(n, _)| *n == name) {
            eval.images
                .push((name, identity, format!("left out: {why}")));
            continue;
        }
        let bytes = std::fs::read(&path)?;
        let img = match faces::decode(&bytes) {
            Ok(img) => img,
            Err(e) => {
                eval.images
                    .push((name, identity, format!("not decodable: {e}")));
                continue;
            }
        };
        match faces::largest_face(models, &img).map_err(|e| anyhow::anyhow!("{e}"))? {
            Some(face) => {
                let note = format!(
                    "{}×{} face {:.0}×{:.0} yaw {:+.0}° pitch {:+.0}° roll {:+.0}° EAR {:.2} mouth {:.2}",
                    img.width(),
                    img.height(),
                    face.bbox.w,
                    face.bbox.h,
                    face.pose.yaw,
                    face.pose.pitch,
                    face.pose.roll,
                    face.eye_aspect_ratio.mean(),
                    face.mouth_open_ratio,
                );
                eval.images.push((name.clone(), identity.clone(), note));
                faces.push((name, identity, face));
            }
            None => eval.images.push((name, identity, "no face".into())),
        }
    }
    for (i, (a, ida, fa)) in faces.iter().enumerate() {
        for (b, idb, fb) in &faces[i + 1..] {
            let distance = faces::distance(fa, fb).map_err(|e| anyhow::anyhow!("{e}"))?;
            eval.pairs.push(Pair {
                a: a.clone(),
                b: b.clone(),
                genuine: ida == idb,
                distance,
                similarity: similarity::similarity(distance),
            });
        }
    }
    Ok(eval)
}

fn summary(values: &mut [f64]) -> String {
    if values.is_empty() {
        return "none".into();
    }
    values.sort_by(f64::total_cmp);
    let n = values.len();
    let median = if n % 2 == 1 {
        values[n / 2]
    } else {
        (values[n / 2 - 1] + values[n / 2]) / 2.0
    };
    let mean = values.iter().sum::<f64>() / n as f64;
    format!(
        "min {:.4}  median {:.4}  mean {:.4}  max {:.4}",
        values[0],
        median,
        mean,
        values[n - 1]
    )
}

/// Ten-bin histogram of similarities in [0, 1].
fn histogram(values: &[f64]) -> String {
    let mut bins = [0usize; 10];
    for v in values {
        bins[((v * 10.0).floor() as usize).min(9)] += 1;
    }
    bins.iter()
        .enumerate()
        .map(|(i, c)| format!("{:.1}–{:.1}:{c}", i as f64 / 10.0, (i + 1) as f64 / 10.0))
        .collect::<Vec<_>>()
        .join(" ")
}

/// The printed report.
pub fn report(eval: &Evaluation, extra_thresholds: &[f64]) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "images ({}):", eval.images.len());
    for (name, id, note) in &eval.images {
        let _ = writeln!(out, "  {name:<28} {id:<12} {note}");
    }
    let (genuine, impostor): (Vec<&Pair>, Vec<&Pair>) = eval.pairs.iter().partition(|p| p.genuine);
    for (label, pairs) in [("genuine", &genuine), ("impostor", &impostor)] {
        let mut d: Vec<f64> = pairs.iter().map(|p| f64::from(p.distance)).collect();
        let mut s: Vec<f64> = pairs.iter().map(|p| p.similarity).collect();
        let _ = writeln!(out, "\n{label} pairs ({}):", pairs.len());
        let _ = writeln!(out, "  distance    {}", summary(&mut d));
        let _ = writeln!(out, "  similarity  {}", summary(&mut s));
        let _ = writeln!(out, "  histogram   {}", histogram(&s));
        let mut sorted = pairs.to_vec();
        sorted.sort_by(|a, b| a.distance.total_cmp(&b.distance));
        for p in sorted {
            let _ = writeln!(
                out,
                "    {:<24} {:<24} distance {:.4}  similarity {:.4}",
                p.a, p.b, p.distance, p.similarity
            );
        }
    }
    let mut thresholds = vec![DEFAULT_THRESHOLD];
    thresholds.extend(extra_thresholds.iter().copied());
    let _ = writeln!(out);
    for t in thresholds {
        let fm = impostor.iter().filter(|p| p.similarity >= t).count();
        let fnm = genuine.iter().filter(|p| p.similarity < t).count();
        let _ = writeln!(
            out,
            "threshold {t:.2}{} (distance ≤ {:.3}): FMR {}  FNMR {}",
            if t == DEFAULT_THRESHOLD {
                " (default)"
            } else {
                ""
            },
            similarity::distance_at(t),
            rate(fm, impostor.len()),
            rate(fnm, genuine.len()),
        );
    }
    out
}

/// Runs `ilive faces-eval` with the models loaded: scores the photos, returns the report.
pub fn run(args: &FacesEvalArgs, models: &FaceModels) -> anyhow::Result<String> {
    Ok(report(&evaluate(args, models)?, &args.thresholds))
}
