//! `ilive-models`: converts the face networks' weights, checks them on real photos, and
//! measures their latency.
//!
//! - `convert --npm-dir DIR --out DIR`: TF.js and ONNX weights → `<net>.safetensors` (see
//!   `models::convert`).
//! - `check [--images DIR]`: a table of what the analysis finds on real photos (faces, pose,
//!   eye/mouth ratios, both anti-spoof scores) and the descriptor distances between them.
//! - `bench`: per-stage times of the per-frame analysis on the frames of a real video, beside
//!   MediaPipe 0.10.14 on the same frames in the same run (`scripts/bench/run.sh` pins both to
//!   one core), and the latency of every network (see `bench.rs`).
//! - `profile --net NAME`: one network in a loop, for callgrind and perf (`profile.rs`).

mod anchor;
mod bench;
mod profile;

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use clap::{Parser, Subcommand};
use models::{embedding_distance, AnalyzeOptions, FaceModels};

#[derive(Parser)]
#[command(about = "iLive face networks: weight conversion, checks on photos, benchmarks")]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Convert the TF.js weights unpacked by `scripts/models/fetch-packages.sh` to safetensors.
    Convert {
        /// Directory holding `human-3.3.6/`, `face-api-1.7.15/` and
        /// `faceplugin-face-recognition-js-0.0.1/` (the npm cache).
        #[arg(long)]
        npm_dir: PathBuf,
        /// Output directory for `<net>.safetensors`.
        #[arg(long, env = "ILIVE_MODELS_DIR")]
        out: PathBuf,
    },
    /// Analyse the photos of a directory and print what was found.
    Check {
        /// Directory of the weights.
        #[arg(long, env = "ILIVE_MODELS_DIR")]
        models: PathBuf,
        /// Directory of `.jpg`/`.png` photos (default `$ILIVE_FIXTURES_DIR/images`).
        #[arg(long)]
        images: Option<PathBuf>,
    },
    /// Per-stage times beside MediaPipe's, and the networks' latencies.
    Bench(bench::BenchArgs),
    /// One network in a loop, for callgrind and perf.
    Profile(profile::ProfileArgs),
}

pub(crate) fn fixtures_dir() -> PathBuf {
    models::cache_dir("ILIVE_FIXTURES_DIR", "fixtures")
}

fn main() -> Result<()> {
    match Cli::parse().cmd {
        Cmd::Convert { npm_dir, out } => {
            for f in models::convert::convert_all(&npm_dir, &out)? {
                eprintln!("wrote {}", f.display());
            }
        }
        Cmd::Check { models, images } => check(
            &models,
            &images.unwrap_or_else(|| fixtures_dir().join("images")),
        )?,
        Cmd::Bench(args) => bench::run(&args)?,
        Cmd::Profile(args) => profile::run(&args)?,
    }
    Ok(())
}

fn check(models_dir: &Path, images: &Path) -> Result<()> {
    let models = FaceModels::load(models_dir)?;
    let opts = AnalyzeOptions {
        anti_spoof: true,
        pad: true,
        embedding: true,
        emotion: true,
        ..Default::default()
    };
    let mut files: Vec<PathBuf> = std::fs::read_dir(images)
        .with_context(|| format!("reading {}", images.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            matches!(
                p.extension().and_then(|e| e.to_str()),
                Some("jpg" | "jpeg" | "png")
            )
        })
        .collect();
    files.sort();
    println!(
        "{:<24} {:>5} {:>5} {:>5} {:>6} {:>6} {:>6} {:>7} {:>5} {:>5} {:>5} {:>5} {:>5} {:>5} {:>5} {:>6}",
        "image", "faces", "score", "mesh", "yaw", "yaw-m", "pitch", "roll", "nose", "earL", "earR", "mouth", "smile", "spoof", "pad", "sharp"
    );
    let mut embeddings = Vec::new();
    for f in &files {
        let img = image::open(f)
            .with_context(|| format!("decoding {}", f.display()))?
            .to_rgb8();
        let faces = models.analyze(&img, &opts)?;
        let mirrored = models.analyze(
            &image::imageops::flip_horizontal(&img),
            &AnalyzeOptions::default(),
        )?;
        let name = f.file_name().and_then(|n| n.to_str()).unwrap_or("?");
        let Some(face) = faces.first() else {
            println!("{name:<24} {:>5}", 0);
            continue;
        };
        // Independent of the pose maths: where the nose tip lies relative to the eye midpoint,
        // in units of the inter-eye distance (> 0: toward the image's right).
        let lm = &face.landmarks;
        let eyes_mid = (lm[33][0] + lm[263][0]) / 2.0;
        let eye_dist = (lm[263][0] - lm[33][0]).abs().max(1.0);
        let nose = (lm[1][0] - eyes_mid) / eye_dist;
        let spoof = face
            .anti_spoof
            .and_then(|a| a.antispoof_real)
            .unwrap_or(f32::NAN);
        let pad = face.anti_spoof.and_then(|a| a.pad_live).unwrap_or(f32::NAN);
        println!(
            "{name:<24} {:>5} {:>5.2} {:>5.2} {:>6.1} {:>6.1} {:>6.1} {:>7.1} {:>5.2} {:>5.2} {:>5.2} {:>5.2} {:>5.2} {:>5.2} {:>5.2} {:>6.0}",
            faces.len(),
            face.score,
            face.mesh_score,
            face.pose.yaw,
            mirrored.first().map_or(f32::NAN, |m| m.pose.yaw),
            face.pose.pitch,
            face.pose.roll,
            nose,
            face.eye_aspect_ratio.left,
            face.eye_aspect_ratio.right,
            face.mouth_open_ratio,
            face.smile.unwrap_or(f32::NAN),
            spoof,
            pad,
            face.sharpness,
        );
        if let Some(e) = face.embedding {
            embeddings.push((name.to_string(), e));
        }
    }
    println!("\ndescriptor distances (same person < 0.6):");
    for (i, (a, ea)) in embeddings.iter().enumerate() {
        for (b, eb) in &embeddings[i + 1..] {
            println!("  {a:<24} {b:<24} {:.3}", embedding_distance(ea, eb));
        }
    }
    Ok(())
}
