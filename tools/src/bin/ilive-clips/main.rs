//! `ilive-clips`: test videos made from a still photo with our own landmarks, for the liveness
//! engine's tests, its evaluation command and the browser's fake camera (issue 4, item 5).
//!
//! - `make --kind K --photo P [--second-photo P2] --frames N --fps F --out-dir DIR [--y4m FILE]
//!   [--mjpeg FILE]`: one clip. Kinds: `live` (a looping live-like clip performing every
//!   challenge), `print`, `replay`, `frozen`, `swap`, `noface` (see [`clip::Kind`]).
//! - `all --images-dir DIR --out-dir DIR`: the standard set the engine tests use, with a
//!   `manifest.json` naming each clip's ground-truth label.
//! - `check DIR`: analyses the frames of a clip folder (or of every clip folder inside DIR) with
//!   `models` and prints what it finds: faces, yaw range, lowest EAR, widest mouth opening,
//!   the planar-fit residual — and whether each clip shows what its kind must.
//!
//! Every clip is deterministic for a given `--seed`.

mod attacks;
mod canvas;
mod check;
mod clip;
mod geom;
mod head;
mod light;
mod make;
mod output;
mod rng;
mod schedule;
#[cfg(test)]
mod tests;

use std::path::{Path, PathBuf};

use anyhow::{bail, Result};
use clap::{Args, Parser, Subcommand};
use models::FaceModels;

use crate::clip::Kind;
use crate::make::{make, make_standard_set, spec, warn_if_rushed};

#[derive(Parser)]
#[command(
    about = "iLive test clips from still photos: live-like, print, replay, frozen, swap, no face"
)]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Args, Clone)]
struct Common {
    /// Directory of the weights (written by `bash scripts/models/setup.sh`).
    #[arg(long, env = "ILIVE_MODELS_DIR")]
    models: Option<PathBuf>,
    /// Frames per clip (the live loop is stretched to fit; ~150 at 15 fps gives each action
    /// about a second).
    #[arg(long, default_value_t = 150)]
    frames: usize,
    #[arg(long, default_value_t = 15)]
    fps: u32,
    #[arg(long, default_value_t = 640)]
    width: usize,
    #[arg(long, default_value_t = 480)]
    height: usize,
    #[arg(long, default_value_t = 1)]
    seed: u64,
}

#[derive(Subcommand)]
enum Cmd {
    /// Make one clip.
    Make {
        #[arg(long, value_enum)]
        kind: Kind,
        /// The photo (for `noface`: a picture without a face).
        #[arg(long)]
        photo: PathBuf,
        /// The second person of a `swap` clip.
        #[arg(long)]
        second_photo: Option<PathBuf>,
        /// Folder for `frame_0000.jpg` … and `clip.json`.
        #[arg(long)]
        out_dir: Option<PathBuf>,
        /// YUV4MPEG2 output (Chromium's fake camera).
        #[arg(long)]
        y4m: Option<PathBuf>,
        /// MJPEG output (concatenated JPEGs).
        #[arg(long)]
        mjpeg: Option<PathBuf>,
        /// Noise (grey levels) added to each repeat of a `frozen` clip; 0 repeats it exactly.
        #[arg(long, default_value_t = 0.0)]
        frozen_noise: f32,
        #[command(flatten)]
        common: Common,
    },
    /// Make the standard set into OUT_DIR (frames folders, y4m, MJPEG, manifest.json).
    All {
        /// Folder of the test photos (`bash scripts/fixtures/fetch-images.sh`).
        #[arg(long)]
        images_dir: PathBuf,
        #[arg(long)]
        out_dir: PathBuf,
        /// Skip the y4m files (about 0.46 MB per 640×480 frame).
        #[arg(long)]
        no_y4m: bool,
        /// Skip the MJPEG files.
        #[arg(long)]
        no_mjpeg: bool,
        #[command(flatten)]
        common: Common,
    },
    /// Analyse clip folders with `models` and print what they show.
    Check {
        /// A clip folder, or a folder of clip folders.
        dir: PathBuf,
        /// Analyse every n-th frame only.
        #[arg(long, default_value_t = 1)]
        every: usize,
        /// Exit with an error when a clip does not show what its kind must.
        #[arg(long)]
        strict: bool,
        #[arg(long, env = "ILIVE_MODELS_DIR")]
        models: Option<PathBuf>,
    },
}

/// The networks from `dir`, else from `models::cache_dir`'s models folder.
fn load_models(dir: Option<&Path>) -> Result<FaceModels> {
    let dir = dir
        .map(Path::to_path_buf)
        .unwrap_or_else(|| models::cache_dir("ILIVE_MODELS_DIR", "models"));
    Ok(FaceModels::load(&dir)?)
}

fn main() -> Result<()> {
    match Cli::parse().cmd {
        Cmd::Make {
            kind,
            photo,
            second_photo,
            out_dir,
            y4m,
            mjpeg,
            frozen_noise,
            common,
        } => {
            let models = load_models(common.models.as_deref())?;
            if kind == Kind::Live {
                warn_if_rushed(&common);
            }
            let name = out_dir
                .as_ref()
                .and_then(|d| d.file_name())
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_else(|| format!("{kind:?}").to_lowercase());
            let made = make(
                &models,
                &name,
                spec(kind, photo, second_photo, &common, frozen_noise),
                out_dir.as_deref(),
                y4m.as_deref(),
                mjpeg.as_deref(),
            )?;
            println!("{}", serde_json::to_string_pretty(&made)?);
        }
        Cmd::All {
            images_dir,
            out_dir,
            no_y4m,
            no_mjpeg,
            common,
        } => {
            let models = load_models(common.models.as_deref())?;
            warn_if_rushed(&common);
            let manifest = make_standard_set(
                &models,
                &images_dir,
                &out_dir,
                (!no_y4m, !no_mjpeg),
                &common,
            )?;
            println!("{}", manifest.display());
        }
        Cmd::Check {
            dir,
            every,
            strict,
            models,
        } => {
            let models = load_models(models.as_deref())?;
            if !check::check_dirs(&models, &dir, every.max(1))? && strict {
                bail!("some clips do not show what their kind must");
            }
        }
    }
    Ok(())
}
