//! Playing a clip through the liveness engine on a simulated clock, as `ilive eval` and the
//! engine tests do: the looped camera ([`run_clip`]), one frame of a capture in front of the
//! simulated page ([`page_step`], shared with the prompt-following camera), and the engine's
//! set-up for a run.
use app::{api::Mode, ws::CameraMetadata};
use rand::SeedableRng;

use super::screen::{Lighting, SimulatedPage};
use crate::engine::{pool, session::SessionEngine, Thresholds};

/// Runs one clip (its frames as JPEG bytes, looped) through a fresh engine, in front of a page
/// that shows the light sequence, lit as `lighting` says.
pub fn run_clip(
    models: &models::FaceModels,
    frames: &[Vec<u8>],
    lighting: &Lighting,
    fps: f64,
    mode: Mode,
    th: Thresholds,
    seed: u64,
) -> anyhow::Result<(crate::engine::outcome::Outcome, usize)> {
    anyhow::ensure!(!frames.is_empty(), "the clip has no frames");
    let mut engine = engine(mode, th, seed, fps);
    let mut page = SimulatedPage::new(lighting);
    let mut tracker = models::FaceTracker::default();
    let dt = 1.0 / fps;
    let mut used = 0;
    let limit = (th.max_session_secs * fps) as usize + 1;
    while !engine.is_done() && used < limit {
        let t = used as f64 * dt;
        let index = used % frames.len();
        let camera = (&mut page, &mut tracker);
        page_step(models, &mut engine, camera, &frames[index], index, t)?;
        used += 1;
    }
    Ok((engine.conclude(), used))
}

/// One frame of a simulated capture: the page's reports, its camera's frame, the analysis, the
/// server's answer (which the page hears). Returns the server's messages.
pub(super) fn page_step(
    models: &models::FaceModels,
    engine: &mut SessionEngine,
    (page, tracker): (&mut SimulatedPage, &mut models::FaceTracker),
    jpeg: &[u8],
    index: usize,
    t: f64,
) -> anyhow::Result<Vec<app::ws::ServerMessage>> {
    for (i, at) in page.reports(t) {
        engine.light_shown(i, at, t);
    }
    let seen = page.capture(jpeg, index, t)?;
    let mut obs = pool::analyze_blocking(models, &seen, t, engine.request(t), tracker)
        .map_err(|e| anyhow::anyhow!("frame at {t:.2} s: {e}"))?;
    SimulatedPage::stamp(&mut obs, t);
    let mut out = engine.on_frame(obs);
    out.extend(engine.on_tick(t));
    page.hear(&out, t);
    Ok(out)
}

/// A fresh engine for an evaluation run: the challenge plan drawn from `seed`, the camera
/// reported as the eval's own at `fps`.
pub(super) fn engine(mode: Mode, th: Thresholds, seed: u64, fps: f64) -> SessionEngine {
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let mut engine = SessionEngine::new(mode, th, &mut rng);
    engine.set_camera(CameraMetadata {
        label: Some("ilive-eval".into()),
        width: None,
        height: None,
        frame_rate: Some(fps),
        facing_mode: Some("user".into()),
    });
    engine
}
