//! `ilive-models`: converts the face networks' weights, checks them on real photos, and
//! measures their latency.
//!
//! - `convert --npm-dir DIR --out DIR`: TF.js weights → `<net>.safetensors` (see `models::convert`).
//! - `check [--images DIR]`: a table of what the analysis finds on real photos (faces, pose,
//!   eye/mouth ratios, anti-spoof score) and the descriptor distances between them.
//! - `bench [--image FILE] [--iters N]`: median latency of every network and of a whole
//!   per-frame analysis of a 640×480 JPEG, with the direct depthwise kernel and with candle's
//!   grouped convolution. Threads: `RAYON_NUM_THREADS`.

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{bail, Context, Result};
use candle_core::{Device, Tensor};
use clap::{Parser, Subcommand};
use models::{embedding_distance, layers::Depthwise, AnalyzeOptions, FaceModels};

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
        /// Directory holding `human-3.3.6/` and `face-api-1.7.15/` (the npm cache).
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
    /// Median latencies of the networks and of a whole frame analysis.
    Bench {
        /// Directory of the weights.
        #[arg(long, env = "ILIVE_MODELS_DIR")]
        models: PathBuf,
        /// A photo with a face; resized to 640×480 and JPEG-encoded as a camera frame would be.
        #[arg(long)]
        image: Option<PathBuf>,
        /// Timed iterations per measurement (after 3 warm-up runs).
        #[arg(long, default_value_t = 30)]
        iters: usize,
    },
}

fn fixtures_dir() -> PathBuf {
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
        Cmd::Bench {
            models,
            image,
            iters,
        } => bench(
            &models,
            &image.unwrap_or_else(|| fixtures_dir().join("images/grace_hopper.jpg")),
            iters,
        )?,
    }
    Ok(())
}

fn check(models_dir: &Path, images: &Path) -> Result<()> {
    let models = FaceModels::load(models_dir)?;
    let opts = AnalyzeOptions {
        anti_spoof: true,
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
        "{:<24} {:>5} {:>5} {:>5} {:>6} {:>6} {:>6} {:>7} {:>5} {:>5} {:>5} {:>5} {:>5} {:>5} {:>6}",
        "image", "faces", "score", "mesh", "yaw", "yaw-m", "pitch", "roll", "nose", "earL", "earR", "mouth", "smile", "spoof", "sharp"
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
        let spoof = face.anti_spoof.map_or(f32::NAN, |a| a.antispoof_real);
        println!(
            "{name:<24} {:>5} {:>5.2} {:>5.2} {:>6.1} {:>6.1} {:>6.1} {:>7.1} {:>5.2} {:>5.2} {:>5.2} {:>5.2} {:>5.2} {:>5.2} {:>6.0}",
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

/// Median wall time of `f` in milliseconds.
fn median_ms<T>(iters: usize, mut f: impl FnMut() -> Result<T>) -> Result<f64> {
    for _ in 0..3 {
        f()?;
    }
    let mut t = Vec::with_capacity(iters);
    for _ in 0..iters.max(1) {
        let s = Instant::now();
        f()?;
        t.push(s.elapsed().as_secs_f64() * 1e3);
    }
    t.sort_by(|a, b| a.total_cmp(b));
    Ok(t[t.len() / 2])
}

fn bench(models_dir: &Path, image_path: &Path, iters: usize) -> Result<()> {
    let models = FaceModels::load(models_dir)?;
    let img =
        image::open(image_path).with_context(|| format!("decoding {}", image_path.display()))?;
    let frame = img
        .resize_exact(640, 480, image::imageops::FilterType::Triangle)
        .to_rgb8();
    let mut jpeg = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut jpeg, 80).encode_image(&frame)?;
    if models
        .analyze_jpeg(&jpeg, &AnalyzeOptions::default())?
        .is_empty()
    {
        bail!(
            "no face found in {} at 640×480: pick another --image",
            image_path.display()
        );
    }
    let threads = rayon::current_num_threads();
    let dev = Device::Cpu;
    let input = |c: usize, s: usize| Tensor::rand(0f32, 1.0, (1, c, s, s), &dev);
    let (x256, x192, x128, x64g, x150) = (
        input(3, 256)?,
        input(3, 192)?,
        input(3, 128)?,
        input(1, 64)?,
        input(3, 150)?,
    );
    println!("threads: {threads} (RAYON_NUM_THREADS), {iters} iterations, median ms");
    println!("{:<34} {:>10} {:>14}", "", "direct dw", "candle grouped");
    let mut rows: Vec<(&str, [f64; 2])> = Vec::new();
    for (col, dw) in [Depthwise::Direct, Depthwise::CandleGrouped]
        .into_iter()
        .enumerate()
    {
        let models = FaceModels::load_with(models_dir, dw)?;
        let mut row = |name: &'static str, ms: f64| {
            if let Some(r) = rows.iter_mut().find(|r| r.0 == name) {
                r.1[col] = ms;
            } else {
                let mut v = [f64::NAN; 2];
                v[col] = ms;
                rows.push((name, v));
            }
        };
        let n = match dw {
            Depthwise::Direct => iters,
            Depthwise::CandleGrouped => iters.min(5),
        };
        row(
            "blazeface 256²",
            median_ms(n, || Ok(models.detector().forward_raw(&x256)?))?,
        );
        row(
            "facemesh 192² (mesh + flag)",
            median_ms(n, || Ok(models.mesh().landmarks(&x192)?))?,
        );
        row(
            "antispoof 128²",
            median_ms(n, || Ok(models.antispoof().forward(&x128)?))?,
        );
        row(
            "emotion 64² grey",
            median_ms(n, || Ok(models.emotion().forward(&x64g)?))?,
        );
        row(
            "face descriptor 150²",
            median_ms(n, || Ok(models.descriptor().forward(&x150)?))?,
        );
        row(
            "frame: decode+detect+mesh+measures",
            median_ms(n, || {
                Ok(models.analyze_jpeg(&jpeg, &AnalyzeOptions::default())?)
            })?,
        );
        let all = AnalyzeOptions {
            anti_spoof: true,
            embedding: true,
            emotion: true,
            ..Default::default()
        };
        row(
            "frame: everything",
            median_ms(n, || Ok(models.analyze_jpeg(&jpeg, &all)?))?,
        );
    }
    for (name, [a, b]) in rows {
        println!("{name:<34} {a:>10.2} {b:>14.2}");
    }
    // The liveness engine's image parallax test: a face crop every 0.2 s, and at the end of a
    // session up to five pairs of crops matched patch by patch.
    let face = models
        .analyze(&frame, &AnalyzeOptions::default())?
        .into_iter()
        .next()
        .context("no face")?;
    let capture = || models::parallax::Keyframe::capture(&frame, &face, 0.0).context("no keyframe");
    let key = capture()?;
    println!(
        "{:<34} {:>10.2}",
        "parallax: keyframe crop",
        median_ms(iters, capture)?
    );
    println!(
        "{:<34} {:>10.2}",
        "parallax: one pair matched",
        median_ms(iters, || Ok(models::parallax::image_planar_residual(
            &key, &key
        )))?
    );
    Ok(())
}
