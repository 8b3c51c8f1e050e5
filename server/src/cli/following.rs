//! The prompt-following camera of `ilive eval`: a clip that acts out actions, played the way a
//! person follows the screen (`docs/architecture.md`, "Challenges").
use std::path::Path;

use app::api::Mode;

use super::{
    playback::{engine, page_step},
    screen::{Lighting, SimulatedPage},
};
use crate::engine::Thresholds;

/// A challenge's wire name (`turn_left` …), as the clips' segments name actions.
pub(super) fn wire_name(kind: app::api::ChallengeKind) -> String {
    serde_json::to_value(kind)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default()
}

/// A clip's frames grouped by the action they show (`clip.json`'s `segments`, written by
/// `ilive-clips`): the action's wire name (`blink`, `turn_left` …, or `neutral`) and its frame
/// indices in order.
pub fn segments(clip: &Path) -> anyhow::Result<Vec<(String, Vec<usize>)>> {
    let json: serde_json::Value = serde_json::from_slice(&std::fs::read(clip.join("clip.json"))?)?;
    let segs = json["segments"]
        .as_array()
        .ok_or_else(|| anyhow::anyhow!("{}: no segments", clip.display()))?;
    segs.iter()
        .map(|s| {
            let action = s["action"].as_str().unwrap_or_default().to_owned();
            let start = s["start"].as_u64().unwrap_or(0) as usize;
            let len = s["len"].as_u64().unwrap_or(0) as usize;
            Ok((action, (start..start + len).collect()))
        })
        .collect()
}

/// How long after a prompt [`run_following`]'s camera starts the action: a person's reaction to a
/// written prompt (a choice among six actions takes about half a second).
pub const FOLLOW_REACTION_SECS: f64 = 0.5;

/// Runs a clip as a camera that follows the prompts, the way a person does: it shows the clip's
/// neutral frames (back and forth) until a challenge is prompted, then, [`FOLLOW_REACTION_SECS`]
/// later, that action's frames once, then neutral again. Passive sessions see only neutral
/// frames. The counterpart of [`run_clip`], whose looping clip performs every action.
#[allow(clippy::too_many_arguments)]
pub fn run_following(
    models: &models::FaceModels,
    frames: &[Vec<u8>],
    lighting: &Lighting,
    segments: &[(String, Vec<usize>)],
    fps: f64,
    mode: Mode,
    th: Thresholds,
    seed: u64,
) -> anyhow::Result<(crate::engine::outcome::Outcome, usize)> {
    use app::ws::ServerMessage;
    let neutral: Vec<usize> = segments
        .iter()
        .filter(|(a, _)| a == "neutral")
        .flat_map(|(_, f)| f.iter().copied())
        .collect();
    anyhow::ensure!(neutral.len() >= 2, "the clip has no neutral frames");
    let action = |kind: &str| {
        segments
            .iter()
            .find(|(a, _)| a == kind)
            .map(|(_, f)| f.clone())
            .unwrap_or_default()
    };
    let mut engine = engine(mode, th, seed, fps);
    let mut page = SimulatedPage::new(lighting);
    let mut tracker = models::FaceTracker::default();
    let dt = 1.0 / fps;
    let limit = (th.max_session_secs * fps) as usize + 1;
    // Ping-pong over the neutral frames, so that they never jump.
    let bounce = |n: usize| {
        let period = 2 * (neutral.len() - 1);
        let k = n % period;
        neutral[if k < neutral.len() { k } else { period - k }]
    };
    let (mut asked, mut playing): (Option<u32>, Vec<usize>) = (None, vec![]);
    let mut start_at = f64::INFINITY;
    let mut pending = String::new();
    let mut used = 0;
    while !engine.is_done() && used < limit {
        let t = used as f64 * dt;
        if t >= start_at {
            playing = action(&pending);
            playing.reverse();
            start_at = f64::INFINITY;
        }
        let index = playing.pop().unwrap_or_else(|| bounce(used));
        let camera = (&mut page, &mut tracker);
        let out = page_step(models, &mut engine, camera, &frames[index], index, t)?;
        for m in out {
            if let ServerMessage::Challenge { kind, index, .. } = m {
                if asked != Some(index) {
                    asked = Some(index);
                    pending = wire_name(kind);
                    start_at = t + FOLLOW_REACTION_SECS;
                }
            }
        }
        used += 1;
    }
    Ok((engine.conclude(), used))
}
