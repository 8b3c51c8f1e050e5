//! `ilive-models profile --net NAME`: one network run `--iters` times on fixed input and
//! nothing else, for `valgrind --tool=callgrind` (instruction counts that a shared, noisy machine
//! cannot move) and `perf stat`.

use std::path::PathBuf;

use anyhow::{bail, Result};
use candle_core::{Device, Tensor};
use models::{layers::Kernels, FaceModels};

#[derive(clap::Args)]
pub struct ProfileArgs {
    /// Directory of the weights.
    #[arg(long, env = "ILIVE_MODELS_DIR")]
    models: PathBuf,
    /// `blazeface`, `facemesh`, `antispoof`, `minifasnet`, `mobilefacenet`, `descriptor`, or `tracked` (the per-frame analysis with
    /// tracking, decode included, over `--frames`).
    #[arg(long)]
    net: String,
    /// A folder of `frame_*.jpg`, for `--net tracked`.
    #[arg(long)]
    frames: Option<PathBuf>,
    /// With `--net tracked`: detect on every frame (the pipeline before tracking).
    #[arg(long)]
    no_tracking: bool,
    /// Runs after one warm-up run.
    #[arg(long, default_value_t = 10)]
    iters: usize,
    /// `default` (what the server runs on this CPU), `fused` (with this CPU's best instruction
    /// set), `avx2` (fused, AVX2 where the CPU also has AVX-512), `portable` (fused, no AVX2),
    /// `direct` (candle ops) or `grouped`.
    #[arg(long, default_value = "default")]
    kernels: String,
}

/// The kernel set a command-line word names.
pub fn kernels(name: &str) -> Result<Kernels> {
    Ok(match name {
        "default" => Kernels::default(),
        "fused" => Kernels::Fused(models::kernels::Isa::detect()),
        "portable" => Kernels::Fused(models::kernels::Isa::Portable),
        // The AVX2 kernels on a CPU that also has AVX-512 (to compare the two GEMMs).
        "avx2" if models::kernels::Isa::detect().has_avx2() => {
            Kernels::Fused(models::kernels::Isa::Avx2)
        }
        "direct" => Kernels::Direct,
        "grouped" => Kernels::CandleGrouped,
        other => bail!(
            "unknown kernels {other:?} on this CPU: default, fused, avx2, portable, direct or grouped"
        ),
    })
}

pub fn run(args: &ProfileArgs) -> Result<()> {
    let models = FaceModels::load_with(&args.models, kernels(&args.kernels)?)?;
    let input = |s: usize| Tensor::rand(0f32, 1.0, (1, 3, s, s), &Device::Cpu);
    let mut once: Box<dyn FnMut() -> Result<()>> = match args.net.as_str() {
        "blazeface" => {
            let x = input(256)?;
            Box::new(move || Ok(models.detector().forward_raw(&x).map(drop)?))
        }
        "facemesh" => {
            let x = input(192)?;
            Box::new(move || Ok(models.mesh().landmarks(&x).map(drop)?))
        }
        "antispoof" => {
            let x = input(128)?;
            Box::new(move || Ok(models.antispoof().forward(&x).map(drop)?))
        }
        "minifasnet" => {
            let x = input(128)?;
            Box::new(move || Ok(models.pad().forward(&x).map(drop)?))
        }
        "mobilefacenet" => {
            let x = input(112)?;
            Box::new(move || Ok(models.recognizer().forward(&x).map(drop)?))
        }
        "descriptor" => {
            let x = input(150)?;
            Box::new(move || Ok(models.descriptor().forward(&x).map(drop)?))
        }
        "tracked" => {
            let Some(dir) = &args.frames else {
                bail!("--net tracked needs --frames DIR");
            };
            let mut jpegs = Vec::new();
            for e in std::fs::read_dir(dir)? {
                let p = e?.path();
                if p.extension().is_some_and(|x| x == "jpg") {
                    jpegs.push(p);
                }
            }
            jpegs.sort();
            let jpegs: Vec<Vec<u8>> = jpegs.iter().map(std::fs::read).collect::<Result<_, _>>()?;
            let mut tracker = match args.no_tracking {
                true => models::FaceTracker::new(1),
                false => models::FaceTracker::default(),
            };
            let opts = models::AnalyzeOptions::default();
            let mut i = 0;
            Box::new(move || {
                let img = models::imageops::decode_frame(&jpegs[i % jpegs.len()])?;
                i += 1;
                models.analyze_tracked(&img, &opts, &mut tracker)?;
                Ok(())
            })
        }
        other => bail!("unknown network {other:?}: blazeface, facemesh, antispoof or tracked"),
    };
    once()?;
    for _ in 0..args.iters {
        once()?;
    }
    Ok(())
}
