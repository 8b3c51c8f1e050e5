//! Making clips: one clip's frames, videos and description, and the standard set with its
//! manifest.

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{bail, Context, Result};
use models::FaceModels;
use rayon::prelude::*;
use serde::Serialize;

use crate::clip::{Clip, ClipSpec, FrameTruth, Kind};
use crate::output::{encode_jpeg, ClipWriter};
use crate::{schedule, Common};

/// The clip's description written beside its frames.
#[derive(Serialize)]
struct ClipJson<'a> {
    name: &'a str,
    kind: Kind,
    label: &'static str,
    spec: &'a ClipSpec,
    segments: Option<Vec<schedule::Segment>>,
    truth: Vec<FrameTruth>,
}

/// What `make` reports about a finished clip.
#[derive(Debug, Serialize)]
pub struct Made {
    pub name: String,
    pub kind: Kind,
    pub label: &'static str,
    pub frames: usize,
    pub fps: u32,
    pub width: usize,
    pub height: usize,
    pub dir: Option<PathBuf>,
    pub y4m: Option<PathBuf>,
    pub mjpeg: Option<PathBuf>,
    pub jpeg_bytes: u64,
    pub seconds: f64,
}

pub fn make(
    models: &FaceModels,
    name: &str,
    spec: ClipSpec,
    dir: Option<&Path>,
    y4m: Option<&Path>,
    mjpeg: Option<&Path>,
) -> Result<Made> {
    let start = Instant::now();
    if dir.is_none() && y4m.is_none() && mjpeg.is_none() {
        bail!("nothing to write: give --out-dir, --y4m or --mjpeg");
    }
    let clip = Clip::new(models, spec.clone())?;
    let mut writer = ClipWriter::new(dir, y4m, mjpeg, spec.width, spec.height, spec.fps)?;
    let mut truth = Vec::with_capacity(spec.frames);
    // Parallel in chunks, written in order, so memory stays bounded.
    let chunk = 2 * rayon::current_num_threads().max(1);
    let mut i = 0;
    while i < spec.frames {
        let end = (i + chunk).min(spec.frames);
        type Rendered = (
            Vec<u8>,
            image::RgbImage,
            FrameTruth,
            Option<image::RgbImage>,
        );
        let done: Vec<Result<Rendered>> = (i..end)
            .into_par_iter()
            .map(|k| {
                let (img, t) = clip.frame(k);
                let rgb = img.to_rgb8();
                let gains = dir.and_then(|_| clip.gains(k)).map(|g| g.to_rgb8());
                Ok((encode_jpeg(&rgb)?, rgb, t, gains))
            })
            .collect();
        for d in done {
            let (jpeg, rgb, t, gains) = d?;
            if let (Some(d), Some(g)) = (dir, gains) {
                // Beside each frame, what the screen's light does to it (`crate::light`).
                let p = d.join(format!("light_{:04}.png", writer.frames));
                g.save(&p)
                    .with_context(|| format!("writing {}", p.display()))?;
            }
            writer.push(&jpeg, &rgb)?;
            truth.push(t);
        }
        i = end;
    }
    let (frames, jpeg_bytes) = (writer.frames, writer.jpeg_bytes);
    writer.finish()?;
    if let Some(d) = dir {
        let json = ClipJson {
            name,
            kind: spec.kind,
            label: spec.kind.label(),
            spec: &spec,
            segments: matches!(spec.kind, Kind::Live | Kind::Replay | Kind::Swap)
                .then(|| schedule::segments(spec.frames)),
            truth,
        };
        let p = d.join("clip.json");
        std::fs::write(&p, serde_json::to_vec_pretty(&json)?)
            .with_context(|| format!("writing {}", p.display()))?;
    }
    Ok(Made {
        name: name.to_string(),
        kind: spec.kind,
        label: spec.kind.label(),
        frames,
        fps: spec.fps,
        width: spec.width,
        height: spec.height,
        dir: dir.map(Path::to_path_buf),
        y4m: y4m.map(Path::to_path_buf),
        mjpeg: mjpeg.map(Path::to_path_buf),
        jpeg_bytes,
        seconds: start.elapsed().as_secs_f64(),
    })
}

pub fn spec(
    kind: Kind,
    photo: PathBuf,
    second: Option<PathBuf>,
    c: &Common,
    frozen_noise: f32,
) -> ClipSpec {
    ClipSpec {
        kind,
        photo,
        second_photo: second,
        frames: c.frames,
        fps: c.fps,
        width: c.width,
        height: c.height,
        seed: c.seed,
        frozen_noise,
    }
}

pub fn warn_if_rushed(c: &Common) {
    let secs = c.frames as f32 / c.fps.max(1) as f32;
    if secs < 0.8 * schedule::script_seconds() {
        eprintln!(
            "note: {} frames at {} fps is {secs:.1} s; the live loop's actions need about {:.1} s to be held ~1 s each",
            c.frames,
            c.fps,
            schedule::script_seconds()
        );
    }
}

/// The standard set: (name, kind, photo, second photo, frozen noise).
const STANDARD: [(&str, Kind, &str, Option<&str>, f32); 10] = [
    ("live_astronaut", Kind::Live, "astronaut.png", None, 0.0),
    (
        "live_grace_hopper",
        Kind::Live,
        "grace_hopper.jpg",
        None,
        0.0,
    ),
    ("live_obama", Kind::Live, "obama.jpg", None, 0.0),
    ("print_obama", Kind::Print, "obama.jpg", None, 0.0),
    (
        "print_grace_hopper",
        Kind::Print,
        "grace_hopper.jpg",
        None,
        0.0,
    ),
    ("replay_obama", Kind::Replay, "obama.jpg", None, 0.0),
    ("frozen_obama", Kind::Frozen, "obama.jpg", None, 0.0),
    ("frozen_noisy_obama", Kind::Frozen, "obama.jpg", None, 1.5),
    (
        "swap_obama_biden",
        Kind::Swap,
        "obama.jpg",
        Some("biden.jpg"),
        0.0,
    ),
    ("noface_coffee", Kind::Noface, "coffee.png", None, 0.0),
];
/// A second face-less clip: a cat, on which BlazeFace alone fires but FaceMesh does not.
const NOFACE_CAT: (&str, &str) = ("noface_cat", "chelsea.png");

/// Makes the standard set into `out_dir` (a frames folder per clip, and `.y4m`/`.mjpeg` videos
/// when asked) with its `manifest.json`, whose path it returns.
pub fn make_standard_set(
    models: &FaceModels,
    images_dir: &Path,
    out_dir: &Path,
    (y4m, mjpeg): (bool, bool),
    common: &Common,
) -> Result<PathBuf> {
    let mut list: Vec<(String, Kind, PathBuf, Option<PathBuf>, f32)> = STANDARD
        .iter()
        .map(|(n, k, p, s, z)| {
            (
                n.to_string(),
                *k,
                images_dir.join(p),
                s.map(|s| images_dir.join(s)),
                *z,
            )
        })
        .collect();
    list.push((
        NOFACE_CAT.0.into(),
        Kind::Noface,
        images_dir.join(NOFACE_CAT.1),
        None,
        0.0,
    ));
    let mut made = Vec::new();
    for (name, kind, photo, second, noise) in list {
        let y4m_path = y4m.then(|| out_dir.join(format!("{name}.y4m")));
        let mjpeg_path = mjpeg.then(|| out_dir.join(format!("{name}.mjpeg")));
        let m = make(
            models,
            &name,
            spec(kind, photo, second, common, noise),
            Some(&out_dir.join(&name)),
            y4m_path.as_deref(),
            mjpeg_path.as_deref(),
        )?;
        eprintln!("{name}: {} frames in {:.1} s", m.frames, m.seconds);
        // Paths relative to the manifest, so the set can be moved as a whole.
        let rel = |p: Option<PathBuf>| {
            p.map(|p| p.strip_prefix(out_dir).map(Path::to_path_buf).unwrap_or(p))
        };
        let mut m = m;
        m.dir = rel(m.dir.take());
        m.y4m = rel(m.y4m.take());
        m.mjpeg = rel(m.mjpeg.take());
        made.push(m);
    }
    // Paths in it are relative to OUT_DIR.
    let p = out_dir.join("manifest.json");
    std::fs::write(&p, serde_json::to_vec_pretty(&made)?)
        .with_context(|| format!("writing {}", p.display()))?;
    Ok(p)
}
