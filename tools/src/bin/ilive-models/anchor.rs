//! The anchor: MediaPipe 0.10.14 (pip, TFLite + XNNPACK) timed on the same frames, in a child
//! process that inherits this process's CPU affinity, so `taskset -c 0 ilive-models bench` puts
//! both on one core. `scripts/bench/setup.sh` installs it; `scripts/bench/mediapipe_bench.py`
//! says what each stage runs.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::{bail, Context, Result};
use serde::Deserialize;

/// MediaPipe's figures, ms per frame (the fastest round's mean, as ours).
#[derive(Debug, Clone, Deserialize)]
pub struct MediaPipe {
    pub version: String,
    pub detection_ms: f64,
    pub every_frame_ms: f64,
    pub tracked_ms: f64,
    pub decode_ms: f64,
    /// Frames in which it found a face, per stage.
    pub detection_found: usize,
    pub every_frame_found: usize,
    pub tracked_found: usize,
}

/// Runs `script` with `python` on `frames` (in playing order), `rounds` rounds per stage.
pub fn run(python: &Path, script: &Path, frames: &[PathBuf], rounds: usize) -> Result<MediaPipe> {
    let mut child = Command::new(python)
        .arg(script)
        .arg(rounds.to_string())
        // One thread, as ours: TFLite's XNNPACK delegate takes its threads from the graph's
        // options (one by default); OpenCV's decode and resize are told here.
        .env("OMP_NUM_THREADS", "1")
        .env("OPENCV_FOR_THREADS_NUM", "1")
        .env("GLOG_minloglevel", "2")
        .env("PYTHONWARNINGS", "ignore")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        // Its logging (TFLite's delegate notices) is shown only if it fails.
        .stderr(Stdio::piped())
        .spawn()
        .with_context(|| {
            format!(
                "starting {} (run scripts/bench/setup.sh to install MediaPipe)",
                python.display()
            )
        })?;
    {
        let mut stdin = child.stdin.take().context("no stdin")?;
        for f in frames {
            writeln!(stdin, "{}", f.display())?;
        }
    }
    let out = child.wait_with_output()?;
    if !out.status.success() {
        bail!(
            "the MediaPipe bench failed ({}):\n{}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let text = String::from_utf8_lossy(&out.stdout);
    let line = text
        .lines()
        .rev()
        .find(|l| l.starts_with('{'))
        .context("the MediaPipe bench printed no result")?;
    Ok(serde_json::from_str(line)?)
}
