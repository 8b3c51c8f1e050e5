//! Prints every keyframe pair of a clip with its pose gap and texture parallax, as CSV: the data
//! the parallax measure's noise model is derived from (`docs/architecture.md`, "Reliability").
//!
//! `cargo run --release -p server --example parallax_study -- FPS CLIP...`
use server::engine::{
    parallax::{pose_gap, texture_parallax},
    pool::{analyze_blocking, FrameRequest},
};

fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let fps: f64 = args.next().unwrap_or_else(|| "10".into()).parse()?;
    let dir = std::env::var("ILIVE_MODELS_DIR").unwrap_or_else(|_| "models".into());
    let models = models::FaceModels::load(std::path::Path::new(&dir))?;
    println!(
        "clip,i,j,ti,tj,ied_px,yaw_deg,pitch_deg,aspect_ln,gap,residual,matches,px_per_sample"
    );
    for clip in args {
        let frames = server::cli::eval::load_frames(std::path::Path::new(&clip), fps)?;
        let mut keys = Vec::new();
        let mut tracker = models::FaceTracker::default();
        for (n, jpeg) in frames.iter().enumerate() {
            let req = FrameRequest {
                keyframe: true,
                ..FrameRequest::default()
            };
            let obs = analyze_blocking(&models, jpeg, n as f64 / fps, req, &mut tracker)?;
            if let Some(k) = obs.keyframe {
                keys.push(k);
            }
        }
        let name = std::path::Path::new(&clip)
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        for i in 0..keys.len() {
            for j in i + 1..keys.len() {
                let (a, b) = (&keys[i], &keys[j]);
                let p = texture_parallax(a, b);
                println!(
                    "{name},{i},{j},{:.2},{:.2},{:.1},{:.1},{:.1},{:.4},{:.3},{},{},{}",
                    a.t,
                    b.t,
                    (a.inter_eye + b.inter_eye) / 2.0,
                    (a.yaw - b.yaw).abs(),
                    (a.pitch - b.pitch).abs(),
                    (a.aspect / b.aspect).ln().abs(),
                    pose_gap(a, b),
                    p.map(|p| format!("{:.4}", p.residual)).unwrap_or_default(),
                    p.map(|p| p.matches.to_string()).unwrap_or_default(),
                    p.map(|p| format!("{:.2}", p.px_per_sample))
                        .unwrap_or_default(),
                );
            }
        }
    }
    Ok(())
}
