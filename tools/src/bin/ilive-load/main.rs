//! `ilive-load`: N simulated users against a running iLive server. Each creates a direct
//! passive session, streams a test clip's real JPEG frames over the capture WebSocket at a
//! fixed rate (looping the clip) until the verdict, then starts the next capture, until the run
//! ends. It prints one table row: users admitted and refused for capacity, the frame → `face`
//! latency (p50/p99), frames sent, answered and dropped, verdicts by kind, errors and the
//! server's memory.
//!
//! How a `face` message is matched to the frame it answers, and what counts as dropped:
//! `replies.rs`. The server's direct-session rate limit must allow the run
//! (`--direct-rate-limit`). `docs/performance.md` has the measured tables and how to reproduce
//! them.
mod replies;
mod rss;
mod session;

use std::{
    collections::BTreeMap,
    path::{Path, PathBuf},
    sync::Arc,
    time::Duration,
};

use anyhow::{bail, Context, Result};
use bytes::Bytes;
use clap::Parser;
use serde_json::{json, Value};
use tokio::time::Instant;

use replies::percentile;
use session::{Plan, UserReport};

#[derive(Parser)]
#[command(about = "Concurrent captures of real JPEG clips against a running iLive server")]
struct Cli {
    /// The server's base URL.
    #[arg(long, default_value = "http://127.0.0.1:3000")]
    url: String,
    /// Simulated users, each running captures back to back.
    #[arg(long, default_value_t = 10)]
    sessions: usize,
    /// Length of the run; captures still running at its end are cancelled.
    #[arg(long, default_value_t = 30)]
    seconds: u64,
    /// Frames per second each user sends (the verification page sends 12).
    #[arg(long, default_value_t = 10.0)]
    fps: f64,
    /// A clip: a name under `$ILIVE_FIXTURES_DIR/clips/` or a directory of `frame_*.jpg`.
    #[arg(long, default_value = "live_obama")]
    clip: String,
    /// Frame of the clip each capture starts at. The test clips act out every challenge in
    /// turn, and a passive hold needs 3 s of still, frontal face: from frame 0 it completes
    /// only at the loop (about 13 s at 10 fps); from 109 (the smile, the open mouth, then the
    /// loop's neutral start) in about 4 s, like a person who holds still.
    #[arg(long, default_value_t = 0)]
    start_frame: usize,
    /// Session mode.
    #[arg(long, default_value = "passive", value_parser = ["passive", "active"])]
    mode: String,
    /// Users refused for capacity wait `Retry-After` and try again (by default they leave: the
    /// refusal is the answer being measured).
    #[arg(long)]
    retry_refused: bool,
    /// The server's process id, for its memory (default: the process listening on the URL's
    /// port, when this user can see it).
    #[arg(long)]
    server_pid: Option<u32>,
    /// Spread the users' first captures evenly over this many seconds. 0 starts every user at
    /// once: as their captures last about as long, they then start and end together for the
    /// whole run, a worst case that independent users do not make; a ramp as long as one
    /// capture (about 5.5 s for `--start-frame 109`) keeps them out of step, as real arrivals are.
    #[arg(long, default_value_t = 0.0)]
    ramp: f64,
    /// Send the clip's JPEG files as stored. By default each frame is encoded again as the
    /// session page encodes it (see [`page_jpeg`]): the stored frames are 4:4:4 at high quality,
    /// about twice the bytes and the decoding work of what a browser sends.
    #[arg(long)]
    as_stored: bool,
    /// Print the summary as JSON instead of a table.
    #[arg(long)]
    json: bool,
}

#[tokio::main]
async fn main() -> Result<()> {
    let cli = Cli::parse();
    if cli.sessions == 0 || !(cli.fps > 0.0 && cli.fps <= 60.0) {
        bail!("--sessions must be at least 1 and --fps in (0, 60]");
    }
    if !(0.0..=cli.seconds as f64).contains(&cli.ramp) {
        bail!("--ramp must be between 0 and --seconds");
    }
    let base = cli.url.trim_end_matches('/').to_owned();
    let mut frames = load_clip(&cli.clip)?;
    if !cli.as_stored {
        frames = frames.iter().map(page_jpeg).collect::<Result<_>>()?;
    }
    let frame_kb = frames.iter().map(|f| f.len()).sum::<usize>() as f64 / frames.len() as f64 / 1e3;
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()?;
    let capacity = http
        .get(format!("{base}/readyz"))
        .send()
        .await
        .with_context(|| format!("the server at {base} does not answer"))?
        .json::<Value>()
        .await
        .ok()
        .map(|v| v["capacity"].clone())
        .unwrap_or(Value::Null);
    let pid = cli.server_pid.or_else(|| {
        let port = url::Url::parse(&base).ok()?.port_or_known_default()?;
        rss::listener_pid(port)
    });

    let started = Instant::now();
    let plan = Arc::new(Plan {
        base,
        mode: cli.mode.clone(),
        start_frame: cli.start_frame % frames.len(),
        frames: Arc::new(frames),
        period: Duration::from_secs_f64(1.0 / cli.fps),
        deadline: started + Duration::from_secs(cli.seconds),
        retry_refused: cli.retry_refused,
        http,
    });
    let peak_rss = Arc::new(std::sync::atomic::AtomicU64::new(0));
    let sampler = pid.map(|pid| {
        let peak = peak_rss.clone();
        tokio::spawn(async move {
            loop {
                if let Some(m) = rss::memory(pid) {
                    peak.fetch_max(m.rss_kib, std::sync::atomic::Ordering::Relaxed);
                }
                tokio::time::sleep(Duration::from_millis(250)).await;
            }
        })
    });
    let users: Vec<_> = (0..cli.sessions)
        .map(|n| {
            let start =
                started + Duration::from_secs_f64(cli.ramp * n as f64 / cli.sessions as f64);
            tokio::spawn(session::user(plan.clone(), start))
        })
        .collect();
    let mut reports = Vec::new();
    for u in users {
        reports.push(u.await.context("a user task failed")?);
    }
    let wall = started.elapsed();
    if let Some(s) = sampler {
        s.abort();
    }
    let memory = pid.and_then(rss::memory);
    let mut summary = summarise(
        &cli,
        &reports,
        wall,
        capacity,
        pid,
        memory,
        peak_rss.load(std::sync::atomic::Ordering::Relaxed),
    );
    summary["frames"] = json!(if cli.as_stored {
        "as stored"
    } else {
        "as the page encodes them (JPEG quality 80, 4:2:0)"
    });
    summary["frame_kb"] = json!((frame_kb * 10.0).round() / 10.0);
    if cli.json {
        println!("{}", serde_json::to_string_pretty(&summary)?);
    } else {
        print_table(&summary);
    }
    Ok(())
}

/// The clip's frames, in order.
fn load_clip(clip: &str) -> Result<Vec<Bytes>> {
    let dir = if Path::new(clip).is_dir() {
        PathBuf::from(clip)
    } else {
        models::cache_dir("ILIVE_FIXTURES_DIR", "fixtures")
            .join("clips")
            .join(clip)
    };
    let mut paths: Vec<_> = std::fs::read_dir(&dir)
        .with_context(|| {
            format!(
                "{}: no such clip (bash scripts/fixtures/make-clips.sh makes them)",
                dir.display()
            )
        })?
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "jpg" || e == "jpeg"))
        .collect();
    paths.sort();
    if paths.is_empty() {
        bail!("{}: no JPEG frames", dir.display());
    }
    paths
        .iter()
        .map(|p| {
            std::fs::read(p)
                .map(Bytes::from)
                .with_context(|| p.display().to_string())
        })
        .collect()
}

/// A frame encoded as the session page sends it: the page draws the camera to a canvas and
/// calls `toBlob("image/jpeg", 0.8)`, which Chromium encodes at quality 80 with 4:2:0 chroma
/// (read from the SOF marker of a frame it encoded).
fn page_jpeg(stored: &Bytes) -> Result<Bytes> {
    let rgb = image::load_from_memory(stored)?.into_rgb8();
    let (w, h) = (u16::try_from(rgb.width())?, u16::try_from(rgb.height())?);
    let mut out = Vec::new();
    let mut enc = jpeg_encoder::Encoder::new(&mut out, 80);
    enc.set_sampling_factor(jpeg_encoder::SamplingFactor::R_4_2_0);
    enc.encode(rgb.as_raw(), w, h, jpeg_encoder::ColorType::Rgb)?;
    Ok(Bytes::from(out))
}

/// The run's numbers, as the table and `--json` print them.
fn summarise(
    cli: &Cli,
    reports: &[UserReport],
    wall: Duration,
    capacity: Value,
    pid: Option<u32>,
    memory: Option<rss::Memory>,
    peak_rss_kib: u64,
) -> Value {
    let mut latencies: Vec<f64> = reports
        .iter()
        .flat_map(|r| r.latencies_ms.iter().copied())
        .collect();
    latencies.sort_by(f64::total_cmp);
    let sum = |f: fn(&UserReport) -> u64| reports.iter().map(f).sum::<u64>();
    let merge = |f: fn(&UserReport) -> &BTreeMap<String, u64>| {
        let mut all = BTreeMap::<String, u64>::new();
        for r in reports {
            for (k, v) in f(r) {
                *all.entry(k.clone()).or_default() += v;
            }
        }
        all
    };
    let sent = sum(|r| r.sent as u64);
    let answered = sum(|r| r.answered as u64);
    let dropped = sum(|r| r.dropped as u64);
    let mib = |kib: u64| (kib as f64 / 1024.0 * 10.0).round() / 10.0;
    json!({
        "sessions": cli.sessions,
        "seconds": wall.as_secs_f64(),
        "fps": cli.fps,
        "clip": cli.clip,
        "start_frame": cli.start_frame,
        "ramp_s": cli.ramp,
        "mode": cli.mode,
        "server_capacity": capacity,
        "admitted": reports.iter().filter(|r| r.captures > 0).count(),
        "refused": reports.iter().filter(|r| r.refused_first && r.captures == 0).count(),
        "capacity_refusals": sum(|r| r.refusals),
        "captures": sum(|r| r.captures),
        "p50_ms": percentile(&latencies, 50.0),
        "p99_ms": percentile(&latencies, 99.0),
        "frames_sent": sent,
        "answered": answered,
        "dropped": dropped,
        "dropped_pct": if sent > 0 { dropped as f64 * 100.0 / sent as f64 } else { 0.0 },
        "unplaced_replies": sum(|r| r.unplaced as u64),
        "verdicts": merge(|r| &r.verdicts),
        "cut_by_run_end": sum(|r| r.cut),
        "errors": merge(|r| &r.errors),
        "face_statuses": merge(|r| &r.statuses),
        "verdict_reasons": merge(|r| &r.reasons),
        "server_pid": pid,
        "server_rss_mib": memory.map(|m| mib(m.rss_kib)),
        "server_rss_peak_mib": (peak_rss_kib > 0).then(|| mib(peak_rss_kib)),
        "server_hwm_mib": memory.map(|m| mib(m.hwm_kib)),
    })
}

fn print_table(s: &Value) {
    let ms = |v: &Value| v.as_f64().map_or("–".into(), |x| format!("{x:.0}"));
    let counts = |v: &Value| {
        let parts: Vec<String> = v
            .as_object()
            .into_iter()
            .flatten()
            .map(|(k, n)| format!("{k} {n}"))
            .collect();
        if parts.is_empty() {
            "0".into()
        } else {
            parts.join(", ")
        }
    };
    let mib = |v: &Value| v.as_f64().map_or("–".into(), |x| format!("{x:.0}"));
    let cap = &s["server_capacity"];
    println!(
        "server capacity: {} captures ({}); {} s at {} fps, clip {} from frame {}, {} mode, users started over {} s; frames {}, {} KB on average",
        cap["captures"],
        cap["source"].as_str().unwrap_or("unknown"),
        format_args!("{:.1}", s["seconds"].as_f64().unwrap_or_default()),
        s["fps"],
        s["clip"].as_str().unwrap_or_default(),
        s["start_frame"],
        s["mode"].as_str().unwrap_or_default(),
        s["ramp_s"],
        s["frames"].as_str().unwrap_or_default(),
        s["frame_kb"],
    );
    println!(
        "| sessions | admitted | refused (capacity) | captures | p50 frame→face ms | p99 frame→face ms | frames sent | answered | dropped | verdicts | cut at end | errors | server RSS MiB (peak / HWM) |"
    );
    println!("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---:|---|---|");
    println!(
        "| {} | {} | {} | {} | {} | {} | {} | {} | {:.1} % | {} | {} | {} | {} / {} |",
        s["sessions"],
        s["admitted"],
        s["refused"],
        s["captures"],
        ms(&s["p50_ms"]),
        ms(&s["p99_ms"]),
        s["frames_sent"],
        s["answered"],
        s["dropped_pct"].as_f64().unwrap_or_default(),
        counts(&s["verdicts"]),
        s["cut_by_run_end"],
        counts(&s["errors"]),
        mib(&s["server_rss_peak_mib"]),
        mib(&s["server_hwm_mib"]),
    );
    if s["unplaced_replies"].as_u64().unwrap_or(0) > 0 {
        println!(
            "warning: {} face messages could not be matched to a frame",
            s["unplaced_replies"]
        );
    }
}
