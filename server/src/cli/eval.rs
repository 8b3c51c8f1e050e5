//! `ilive eval`: runs clips through the liveness engine without a browser and prints an
//! ISO/IEC 30107-3-style table. A clip is a folder of JPEG frames (sorted by name) or any video
//! file (frames extracted with the system's `ffmpeg`). The clip's kind comes from the first word
//! of its name: `live`/`bona` (bona fide), `noface`, or an attack type (`print`, `replay`,
//! `frozen`, `swap`, or any other word, reported as its own attack type); `--bona-fide NAME`
//! marks other clips (e.g. real video) as bona fide.
//!
//! Frames are fed at the clip's frame rate on a simulated clock, so a run is deterministic and
//! faster than real time. The clip is taken as it is and looped until the session ends — except
//! a bona fide clip that acts out actions (`ilive-clips` writes them) in active mode: it is
//! played as a camera that follows the prompts ([`run_following`]), and its plain loop is
//! reported as the attack species `loop` (a recording that performs every action in turn).
use std::{
    collections::BTreeMap,
    fmt::Write as _,
    path::{Path, PathBuf},
};

use app::api::{Mode, Reason, Verdict};
use clap::{Args, ValueEnum};

pub use super::following::{run_following, segments, FOLLOW_REACTION_SECS};
pub use super::playback::run_clip;
pub use super::screen::{Lighting, SimulatedPage, INDOOR_STRENGTH, TYPICAL_LAG_MS};
use super::{
    following::wire_name,
    separation::{self, NET_SCORES},
    shared::{has_extension, wilson_rate},
};
use crate::engine::Thresholds;

/// The session modes `ilive eval` runs each clip in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum EvalMode {
    Active,
    Passive,
    Both,
}

impl EvalMode {
    pub fn modes(self) -> &'static [Mode] {
        match self {
            EvalMode::Active => &[Mode::Active],
            EvalMode::Passive => &[Mode::Passive],
            EvalMode::Both => &[Mode::Active, Mode::Passive],
        }
    }
}

#[derive(Debug, Clone, Args)]
pub struct EvalArgs {
    /// Clips: frame folders or video files (or folders containing them).
    #[arg(required = true)]
    pub clips: Vec<PathBuf>,
    /// The session modes to run each clip in.
    #[arg(long, value_enum, default_value_t = EvalMode::Both)]
    pub mode: EvalMode,
    /// Frame rate of frame folders (videos are sampled at this rate too).
    #[arg(long, default_value_t = 15.0)]
    pub fps: f64,
    /// Seed for the challenge draw, so runs repeat.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Clip names (without extension) to count as bona fide whatever their first word.
    #[arg(long = "bona-fide")]
    pub bona_fide: Vec<String>,
    /// Also print each run's raw layer measures (planar residuals, sway, moiré …), and how well
    /// each anti-spoof network's score separates bona fide runs from each attack type.
    #[arg(long)]
    pub details: bool,
    /// Also run every clip re-encoded at these frame widths (e.g. `320,480,640`), as smaller
    /// webcams send it; the report then has one table per mode and width.
    #[arg(long, value_delimiter = ',')]
    pub widths: Vec<u32>,
}

/// One clip's result in one mode.
#[derive(Debug, Clone)]
pub struct ClipResult {
    pub clip: String,
    pub kind: String,
    pub mode: Mode,
    /// The frame width the clip was re-encoded at; `None` for the clip as it is.
    pub width: Option<u32>,
    pub verdict: Verdict,
    pub confidence: f64,
    pub reasons: Vec<Reason>,
    pub frames_used: usize,
    /// Active mode: each challenge and whether it was met, e.g. `blink+ turn_left-`.
    pub challenges: String,
    /// The layers' raw measures, `name=value`.
    pub measures: String,
    /// The anti-spoof networks' scores of the run, by measure name ([`NET_SCORES`]).
    pub scores: Vec<(String, f64)>,
}

/// Frames of a clip: a folder of JPEGs, or a video decoded by ffmpeg at `fps`.
pub fn load_frames(path: &Path, fps: f64) -> anyhow::Result<Vec<Vec<u8>>> {
    if path.is_dir() {
        let mut names: Vec<PathBuf> = std::fs::read_dir(path)?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| has_extension(p, &["jpg", "jpeg"]))
            .collect();
        names.sort();
        return names
            .iter()
            .map(|p| std::fs::read(p).map_err(Into::into))
            .collect();
    }
    let dir = tempfile_dir()?;
    let status = std::process::Command::new("ffmpeg")
        .args(["-loglevel", "error", "-i"])
        .arg(path)
        .args([
            "-vf",
            &format!("fps={fps},scale='min(640,iw)':-2"),
            "-q:v",
            "3",
        ])
        .arg(dir.join("frame_%05d.jpg"))
        .status()
        .map_err(|e| anyhow::anyhow!("running ffmpeg (apt-get install ffmpeg): {e}"))?;
    anyhow::ensure!(
        status.success(),
        "ffmpeg could not decode {}",
        path.display()
    );
    let frames = load_frames(&dir, fps);
    let _ = std::fs::remove_dir_all(&dir);
    frames
}

fn tempfile_dir() -> anyhow::Result<PathBuf> {
    let dir = std::env::temp_dir().join(format!("ilive-eval-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir)?;
    Ok(dir)
}

fn is_clip(p: &Path) -> bool {
    if p.is_dir() {
        return std::fs::read_dir(p)
            .map(|mut d| {
                d.any(|e| {
                    e.map(|e| e.path().extension().is_some_and(|x| x == "jpg"))
                        .unwrap_or(false)
                })
            })
            .unwrap_or(false);
    }
    matches!(
        p.extension().and_then(|e| e.to_str()),
        Some("mp4" | "mov" | "mkv" | "webm" | "avi" | "y4m" | "mjpeg")
    )
}

/// Expands folders that hold clips into the clips themselves.
fn collect(paths: &[PathBuf]) -> Vec<PathBuf> {
    let mut out = vec![];
    for p in paths {
        if is_clip(p) {
            out.push(p.clone());
        } else if let Ok(rd) = std::fs::read_dir(p) {
            let mut inner: Vec<PathBuf> = rd
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| is_clip(p))
                .collect();
            inner.sort();
            // A video beside a frame folder of the same name is the same clip: run it once.
            let folders: Vec<PathBuf> = inner.iter().filter(|p| p.is_dir()).cloned().collect();
            inner.retain(|p| p.is_dir() || !folders.iter().any(|f| p.with_extension("") == *f));
            out.extend(inner);
        }
    }
    out
}

/// The kind of a clip from its name.
pub fn kind_of(name: &str, bona_fide: &[String]) -> String {
    if bona_fide.iter().any(|b| b == name) {
        return "bona_fide".into();
    }
    let lower = name.to_ascii_lowercase();
    if lower.starts_with("no_face") || lower.starts_with("no-face") {
        return "no_face".into();
    }
    let first = name
        .split(['_', '-', '.'])
        .next()
        .unwrap_or(name)
        .to_ascii_lowercase();
    match first.as_str() {
        "live" | "bona" => "bona_fide".into(),
        "noface" => "no_face".into(),
        other => other.into(),
    }
}

/// Runs every clip in the requested modes and returns the results.
pub fn evaluate(
    args: &EvalArgs,
    models: &models::FaceModels,
    th: Thresholds,
) -> anyhow::Result<Vec<ClipResult>> {
    let mut results = vec![];
    for clip in collect(&args.clips) {
        let name = clip
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        let original = load_frames(&clip, args.fps)?;
        let mut versions = vec![(None, original.clone(), Lighting::load(&clip, None)?)];
        for &w in &args.widths {
            versions.push((
                Some(w),
                rescale(&original, w)?,
                Lighting::load(&clip, Some(w))?,
            ));
        }
        let kind = kind_of(&name, &args.bona_fide);
        // A bona fide clip that acts out actions (its clip.json has segments) is played in
        // active mode as a person would: each action when asked. The same clip looped is the
        // every-action replay, an attack of its own species.
        let acted = if clip.is_dir() && kind == "bona_fide" {
            segments(&clip).ok()
        } else {
            None
        };
        for (width, frames, lighting) in &versions {
            for &mode in args.mode.modes() {
                let mut runs = vec![];
                match (&acted, mode) {
                    (Some(segs), Mode::Active) => {
                        let follow = run_following(
                            models, frames, lighting, segs, args.fps, mode, th, args.seed,
                        )?;
                        runs.push((kind.clone(), follow));
                        let looped =
                            run_clip(models, frames, lighting, args.fps, mode, th, args.seed)?;
                        runs.push(("loop".to_owned(), looped));
                    }
                    _ => runs.push((
                        kind.clone(),
                        run_clip(models, frames, lighting, args.fps, mode, th, args.seed)?,
                    )),
                }
                for (kind, (outcome, used)) in runs {
                    results.push(ClipResult {
                        clip: name.clone(),
                        kind,
                        mode,
                        width: *width,
                        verdict: outcome.fused.verdict,
                        confidence: outcome.fused.confidence,
                        reasons: outcome.fused.reasons.clone(),
                        frames_used: used,
                        challenges: outcome
                            .challenges
                            .iter()
                            .map(|c| {
                                format!("{}{}", wire_name(c.kind), if c.passed { "+" } else { "-" })
                            })
                            .collect::<Vec<_>>()
                            .join(" "),
                        measures: outcome
                            .measures
                            .iter()
                            .map(|(k, v)| format!("{k}={v:.4}"))
                            .collect::<Vec<_>>()
                            .join(" "),
                        scores: outcome
                            .measures
                            .iter()
                            .filter(|(k, _)| NET_SCORES.contains(&k.as_str()))
                            .cloned()
                            .collect(),
                    });
                }
            }
        }
    }
    Ok(results)
}

/// `frames` re-encoded at `width` pixels wide (the aspect kept; JPEG quality 85), as a smaller
/// webcam sends them.
pub fn rescale(frames: &[Vec<u8>], width: u32) -> anyhow::Result<Vec<Vec<u8>>> {
    anyhow::ensure!((16..=4096).contains(&width), "width {width} out of 16–4096");
    frames
        .iter()
        .map(|jpeg| {
            let img = image::load_from_memory(jpeg)?.into_rgb8();
            let height =
                ((img.height() as f64 * width as f64 / img.width() as f64).round() as u32).max(1);
            let small =
                image::imageops::resize(&img, width, height, image::imageops::FilterType::Triangle);
            let mut out = Vec::new();
            image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 85)
                .encode_image(&small)?;
            Ok(out)
        })
        .collect()
}

/// Whether a run ended without the capture being completed (no face, a timeout, a challenge
/// left unanswered): it reached no verdict on the evidence, and the report lists it.
fn unconcluded(r: &ClipResult) -> bool {
    r.reasons.iter().any(|x| {
        x.effect() == app::reason::Effect::RetryAtBest && *x != Reason::InsufficientEvidence
    })
}

/// Runs `ilive eval` with the models loaded: the clips, then the printed report.
pub fn run(args: &EvalArgs, models: &models::FaceModels, th: Thresholds) -> anyhow::Result<String> {
    Ok(report(&evaluate(args, models, th)?, args.details))
}

/// The printed report: one line per run, then BPCER / APCER per mode.
pub fn report(results: &[ClipResult], details: bool) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "{:<28} {:<10} {:<8} {:<7} {:>6} {:>6}  reasons",
        "clip", "kind", "mode", "verdict", "conf", "frames"
    );
    for r in results {
        let _ = writeln!(
            s,
            "{:<28} {:<10} {:<8} {:<7} {:>6.3} {:>6}  {} {}",
            r.clip,
            r.kind,
            r.mode.as_str(),
            r.verdict.as_str(),
            r.confidence,
            r.frames_used,
            r.reasons
                .iter()
                .map(|x| x.code())
                .collect::<Vec<_>>()
                .join(","),
            if r.challenges.is_empty() {
                String::new()
            } else {
                format!("[{}]", r.challenges)
            }
        );
        if details {
            let _ = writeln!(s, "{:<28} {}", "", r.measures);
        }
    }
    let mut widths: Vec<Option<u32>> = results.iter().map(|r| r.width).collect();
    widths.sort();
    widths.dedup();
    for mode in [Mode::Active, Mode::Passive] {
        for &width in &widths {
            let rs: Vec<&ClipResult> = results
                .iter()
                .filter(|r| r.mode == mode && r.width == width)
                .collect();
            if !rs.is_empty() {
                table(&mut s, mode, width, &rs);
            }
        }
    }
    if details {
        separation::table(&mut s, results);
    }
    s
}

/// One mode's and width's ISO/IEC 30107-3 figures, with Wilson 95 % intervals.
fn table(s: &mut String, mode: Mode, width: Option<u32>, rs: &[&ClipResult]) {
    let width = width.map_or("as recorded".to_owned(), |w| format!("{w} px wide"));
    let _ = writeln!(s, "\n{} mode, {width}", mode.as_str());
    let bona: Vec<&&ClipResult> = rs.iter().filter(|r| r.kind == "bona_fide").collect();
    if !bona.is_empty() {
        let failed = bona.iter().filter(|r| r.verdict == Verdict::Fail).count();
        let not_pass = bona.iter().filter(|r| r.verdict != Verdict::Pass).count();
        let _ = writeln!(
            s,
            "  BPCER (bona fide → fail)           {}",
            wilson_rate(failed, bona.len())
        );
        let _ = writeln!(
            s,
            "  bona fide not passed (fail, retry) {}",
            wilson_rate(not_pass, bona.len())
        );
        let open: Vec<&str> = bona
            .iter()
            .filter(|r| unconcluded(r))
            .map(|r| r.clip.as_str())
            .collect();
        let _ = writeln!(
            s,
            "  bona fide that reached no verdict on the evidence: {}{}",
            open.len(),
            if open.is_empty() {
                String::new()
            } else {
                format!(" ({})", open.join(", "))
            }
        );
    }
    let mut attacks: BTreeMap<&str, (usize, usize)> = BTreeMap::new();
    for r in rs
        .iter()
        .filter(|r| r.kind != "bona_fide" && r.kind != "no_face")
    {
        let e = attacks.entry(&r.kind).or_default();
        e.1 += 1;
        if r.verdict == Verdict::Pass {
            e.0 += 1;
        }
    }
    for (kind, (accepted, n)) in attacks {
        let _ = writeln!(
            s,
            "  APCER {kind:<10} (attack → pass) {}",
            wilson_rate(accepted, n)
        );
    }
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    let mut reasons: BTreeMap<&str, usize> = BTreeMap::new();
    for r in rs {
        *counts.entry(r.verdict.as_str()).or_default() += 1;
        for reason in &r.reasons {
            *reasons.entry(reason.code()).or_default() += 1;
        }
    }
    let _ = writeln!(s, "  verdicts: {counts:?}");
    let _ = writeln!(s, "  reasons seen: {reasons:?}");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_come_from_the_first_word() {
        assert_eq!(kind_of("live_obama", &[]), "bona_fide");
        assert_eq!(kind_of("print-astronaut", &[]), "print");
        assert_eq!(kind_of("noface_coffee", &[]), "no_face");
        assert_eq!(kind_of("no_face", &[]), "no_face");
        assert_eq!(kind_of("single_face", &["single_face".into()]), "bona_fide");
    }
}
