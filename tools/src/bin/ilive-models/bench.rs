//! `ilive-models bench`: what a frame costs, beside MediaPipe.
//!
//! 1. **Side by side** (`--frames DIR`, as `scripts/bench/run.sh` runs it): the frames of a real
//!    video, played forward then backward (so tracking never jumps) up to `--count` frames, go
//!    through iLive's stages and MediaPipe's on the same core, one thread each. Each stage runs
//!    `--rounds` times over the whole sequence; the fastest round's mean counts (a round slowed
//!    by another process says nothing about the code). Stages: detection on decoded frames;
//!    decode + detection + mesh on every frame; decode + mesh with tracking; the decode alone.
//!    iLive also runs the server's mix (tracking plus an anti-spoof sample every 6th frame, the
//!    two networks taking turns, and the descriptor every 10th, as a capture at 12 frames/s
//!    asks), which MediaPipe has no match for.
//! 2. **Networks**: the median latency of each network on random input, and of a whole frame
//!    analysis of `--image` resized to 640×480 as a camera frame.

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{bail, Context, Result};
use candle_core::{Device, Tensor};
use image::RgbImage;
use models::{AnalyzeOptions, FaceModels, FaceTracker};

use crate::anchor;

#[derive(clap::Args)]
pub struct BenchArgs {
    /// Directory of the weights.
    #[arg(long, env = "ILIVE_MODELS_DIR")]
    models: PathBuf,
    /// A folder of `frame_*.jpg` from one video; without it only the networks are timed.
    #[arg(long)]
    frames: Option<PathBuf>,
    /// Frames in the side-by-side sequence.
    #[arg(long, default_value_t = 150)]
    count: usize,
    /// Rounds per stage; the fastest counts.
    #[arg(long, default_value_t = 3)]
    rounds: usize,
    /// The detector's check interval while tracking, in frames.
    #[arg(long, default_value_t = 12)]
    check_every: u32,
    /// The Python of MediaPipe's virtual environment (`scripts/bench/setup.sh` prints it);
    /// without it the side-by-side table has no anchor.
    #[arg(long)]
    mediapipe_python: Option<PathBuf>,
    /// `scripts/bench/mediapipe_bench.py`.
    #[arg(long, default_value = "scripts/bench/mediapipe_bench.py")]
    mediapipe_script: PathBuf,
    /// Skip the networks' table.
    #[arg(long)]
    no_networks: bool,
    /// A photo with a face for the networks' table; resized to 640×480 and JPEG-encoded.
    #[arg(long)]
    image: Option<PathBuf>,
    /// The kernels: `default` (what the server runs on this CPU), `fused`, `avx2`, `portable`, `direct`
    /// (candle ops, the code before the fused kernels) or `grouped`.
    #[arg(long, default_value = "default")]
    kernels: String,
    /// Detect on every frame in the tracked stages too (the pipeline before tracking).
    #[arg(long)]
    no_tracking: bool,
    /// Timed iterations per network (after 3 warm-up runs).
    #[arg(long, default_value_t = 30)]
    iters: usize,
}

pub fn run(args: &BenchArgs) -> Result<()> {
    let kernels = crate::profile::kernels(&args.kernels)?;
    let models = FaceModels::load_with(&args.models, kernels)?;
    println!(
        "threads: {} (RAYON_NUM_THREADS); CPU: {}; running {kernels:?}",
        rayon::current_num_threads(),
        models::kernels::features()
    );
    if let Some(dir) = &args.frames {
        side_by_side(&models, args, dir)?;
    }
    if !args.no_networks {
        let image = args
            .image
            .clone()
            .unwrap_or_else(|| crate::fixtures_dir().join("images/grace_hopper.jpg"));
        networks(&models, &image, args.iters)?;
    }
    Ok(())
}

/// `frame_*.jpg` of `dir` played forward, then backward, … up to `count` frames.
fn sequence(dir: &Path, count: usize) -> Result<Vec<PathBuf>> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .with_context(|| format!("reading {}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "jpg"))
        .collect();
    files.sort();
    if files.is_empty() {
        bail!("no .jpg frames in {}", dir.display());
    }
    let back: Vec<PathBuf> = files.iter().rev().cloned().collect();
    Ok(files
        .iter()
        .chain(back.iter())
        .cycle()
        .take(count)
        .cloned()
        .collect())
}

/// The fastest of `rounds` rounds' mean ms per item; `f` gets each round's fresh state.
fn fastest_mean_ms<S, T>(
    rounds: usize,
    items: &[T],
    mut fresh: impl FnMut() -> S,
    mut f: impl FnMut(&mut S, &T) -> Result<()>,
) -> Result<f64> {
    let mut state = fresh();
    for x in items.iter().take(10) {
        f(&mut state, x)?;
    }
    let mut best = f64::INFINITY;
    for _ in 0..rounds.max(1) {
        let mut state = fresh();
        let start = Instant::now();
        for x in items {
            f(&mut state, x)?;
        }
        best = best.min(start.elapsed().as_secs_f64() * 1e3 / items.len() as f64);
    }
    Ok(best)
}

fn decode(jpeg: &[u8]) -> Result<RgbImage> {
    Ok(models::imageops::decode_frame(jpeg)?)
}

fn side_by_side(models: &FaceModels, args: &BenchArgs, dir: &Path) -> Result<()> {
    let paths = sequence(dir, args.count)?;
    let jpegs: Vec<Vec<u8>> = paths
        .iter()
        .map(std::fs::read)
        .collect::<std::io::Result<_>>()?;
    let frames: Vec<RgbImage> = jpegs.iter().map(|j| decode(j)).collect::<Result<_>>()?;
    let opts = AnalyzeOptions::default();
    let (w, h) = frames[0].dimensions();
    println!(
        "\n{} frames of {} ({w}×{h}), forward and back; fastest of {} rounds, mean ms per frame",
        paths.len(),
        dir.display(),
        args.rounds
    );
    let r = args.rounds;
    let detection = fastest_mean_ms(
        r,
        &frames,
        || (),
        |_, f| {
            models.detect(f, &opts)?;
            Ok(())
        },
    )?;
    let every = fastest_mean_ms(
        r,
        &jpegs,
        || (),
        |_, j| {
            models.analyze(&decode(j)?, &opts)?;
            Ok(())
        },
    )?;
    let fresh = || {
        FaceTracker::new(if args.no_tracking {
            1
        } else {
            args.check_every
        })
    };
    let tracked = fastest_mean_ms(r, &jpegs, fresh, |t, j| {
        models.analyze_tracked(&decode(j)?, &opts, t)?;
        Ok(())
    })?;
    let decode_ms = fastest_mean_ms(
        r,
        &jpegs,
        || (),
        |_, j| {
            decode(j)?;
            Ok(())
        },
    )?;
    let mut tracker = fresh();
    let mut found = 0;
    for f in &frames {
        found += usize::from(!models.analyze_tracked(f, &opts, &mut tracker)?.is_empty());
    }
    let server = fastest_mean_ms(
        r,
        &jpegs,
        || (fresh(), 0usize),
        |(t, i), j| {
            let o = AnalyzeOptions {
                anti_spoof: *i % 12 == 0,
                pad: *i % 12 == 6,
                embedding: *i % 10 == 0,
                ..opts
            };
            *i += 1;
            models.analyze_tracked(&decode(j)?, &o, t)?;
            Ok(())
        },
    )?;

    let mp = match &args.mediapipe_python {
        Some(py) => Some(anchor::run(py, &args.mediapipe_script, &paths, r)?),
        None => None,
    };
    println!(
        "{:<44} {:>9} {:>11} {:>7}",
        "stage",
        "iLive",
        mp.as_ref()
            .map_or("MediaPipe".into(), |m| format!("MP {}", m.version)),
        "ratio"
    );
    let row = |name: &str, ours: f64, theirs: Option<f64>| match theirs {
        Some(t) => println!("{name:<44} {ours:>9.2} {t:>11.2} {:>6.2}×", ours / t),
        None => println!("{name:<44} {ours:>9.2} {:>11} {:>7}", "—", ""),
    };
    row(
        "detection (decoded frame)",
        detection,
        mp.as_ref().map(|m| m.detection_ms),
    );
    row(
        "decode + detect + mesh, every frame",
        every,
        mp.as_ref().map(|m| m.every_frame_ms),
    );
    row(
        "decode + mesh with tracking",
        tracked,
        mp.as_ref().map(|m| m.tracked_ms),
    );
    row("decode alone", decode_ms, mp.as_ref().map(|m| m.decode_ms));
    row("server mix: + 1 anti-spoof net/6, desc./10", server, None);
    println!(
        "tracked: detector on {} of {} frames (check every {}), face in {found}",
        tracker.detections, tracker.frames, args.check_every
    );
    if let Some(m) = &mp {
        println!(
            "MediaPipe found a face in {} / {} / {} frames (detection / every frame / tracked)",
            m.detection_found, m.every_frame_found, m.tracked_found
        );
    }
    println!(
        "frames per second per core, tracked: iLive {:.0}{}; server mix {:.0}",
        1e3 / tracked,
        mp.as_ref().map_or(String::new(), |m| format!(
            ", MediaPipe {:.0}",
            1e3 / m.tracked_ms
        )),
        1e3 / server
    );
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

fn networks(models: &FaceModels, image_path: &Path, iters: usize) -> Result<()> {
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
    let dev = Device::Cpu;
    let input = |c: usize, s: usize| Tensor::rand(0f32, 1.0, (1, c, s, s), &dev);
    let (x256, x192, x128, x64g, x150, x112) = (
        input(3, 256)?,
        input(3, 192)?,
        input(3, 128)?,
        input(1, 64)?,
        input(3, 150)?,
        input(3, 112)?,
    );
    println!("\nnetworks: {iters} iterations, median ms");
    let all = AnalyzeOptions {
        anti_spoof: true,
        pad: true,
        embedding: true,
        emotion: true,
        ..Default::default()
    };
    let rows: [(&str, f64); 9] = [
        (
            "blazeface 256²",
            median_ms(iters, || Ok(models.detector().forward_raw(&x256)?))?,
        ),
        (
            if models.mesh().is_bf16() {
                "facemesh 192² (mesh + flag, bfloat16)"
            } else {
                "facemesh 192² (mesh + flag)"
            },
            median_ms(iters, || Ok(models.mesh().landmarks(&x192)?))?,
        ),
        (
            if models.antispoof().is_bf16() {
                "antispoof 128² (bfloat16)"
            } else {
                "antispoof 128²"
            },
            median_ms(iters, || Ok(models.antispoof().forward(&x128)?))?,
        ),
        (
            "minifasnet 128²",
            median_ms(iters, || Ok(models.pad().forward(&x128)?))?,
        ),
        (
            "emotion 64² grey",
            median_ms(iters, || Ok(models.emotion().forward(&x64g)?))?,
        ),
        (
            if models.descriptor().is_bf16() {
                "face descriptor 150² (bfloat16)"
            } else {
                "face descriptor 150²"
            },
            median_ms(iters, || Ok(models.descriptor().forward(&x150)?))?,
        ),
        (
            "mobilefacenet 112²",
            median_ms(iters, || Ok(models.recognizer().forward(&x112)?))?,
        ),
        (
            "frame: decode+detect+mesh+measures",
            median_ms(iters, || {
                Ok(models.analyze_jpeg(&jpeg, &AnalyzeOptions::default())?)
            })?,
        ),
        (
            "frame: everything",
            median_ms(iters, || Ok(models.analyze_jpeg(&jpeg, &all)?))?,
        ),
    ];
    for (name, ms) in rows {
        println!("{name:<44} {ms:>9.2}");
    }
    if models.antispoof().is_bf16() {
        let f32_net = models.antispoof().clone().in_f32();
        let ms = median_ms(iters, || Ok(f32_net.forward(&x128)?))?;
        println!("{:<44} {ms:>9.2}", "antispoof 128² (f32)");
    }
    if models.mesh().is_bf16() {
        let f32_net = models.mesh().clone().in_f32();
        let ms = median_ms(iters, || Ok(f32_net.landmarks(&x192)?))?;
        println!("{:<44} {ms:>9.2}", "facemesh 192² (f32)");
    }
    if models.descriptor().is_bf16() {
        // The same network in `f32`, for the comparison.
        let f32_net = models.descriptor().clone().in_f32();
        let ms = median_ms(iters, || Ok(f32_net.forward(&x150)?))?;
        println!("{:<44} {ms:>9.2}", "face descriptor 150² (f32)");
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
        "{:<44} {:>9.2}",
        "parallax: keyframe crop",
        median_ms(iters, capture)?
    );
    println!(
        "{:<44} {:>9.2}",
        "parallax: one pair matched",
        median_ms(iters, || Ok(models::parallax::image_planar_residual(
            &key, &key
        )))?
    );
    Ok(())
}
