//! The live-like clip's script: every challenge of the pool performed in turn (blink, turn
//! left, turn right, nod, smile, mouth open), each held about a second, plus the natural small
//! motion of a person holding still (head sway, camera shake, sub-pixel tremor).
//!
//! The clip loops: the script is stretched to the requested number of frames, and the slow
//! motions are periodic over it, so that the browser's fake camera (which replays the file
//! forever) shows a person who performs every action again and again — a replayed video cannot
//! follow prompts, so it must do them all (`docs/architecture.md`, "The verification layers", 1).
//!
//! `turn_left` is a turn to the subject's own left, i.e. positive yaw in [`models::HeadPose`]'s
//! convention (the nose moves toward the image's right).

use serde::Serialize;

use crate::canvas::smoothstep;
use crate::head::{CameraState, HeadState};
use crate::rng::{Rng, Wobble};

/// What the subject is doing during a stretch of frames.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    Neutral,
    Blink,
    TurnLeft,
    TurnRight,
    Nod,
    Smile,
    MouthOpen,
}

/// The loop, in seconds at the nominal pace: neutral gaps between actions so that each one
/// starts and ends at rest.
const SCRIPT: [(Action, f32); 12] = [
    (Action::Neutral, 0.6),
    (Action::Blink, 1.0),
    (Action::Neutral, 0.3),
    (Action::TurnLeft, 1.6),
    (Action::Neutral, 0.3),
    (Action::TurnRight, 1.6),
    (Action::Neutral, 0.3),
    (Action::Nod, 1.6),
    (Action::Neutral, 0.3),
    (Action::Smile, 1.3),
    (Action::Neutral, 0.3),
    (Action::MouthOpen, 1.3),
];

/// Peak yaw of a turn and of a nod, degrees. A challenge needs ~15–20° (`docs/architecture.md`);
/// a person asked to turn goes further, and FaceMesh reads a warped photo's turn a little short.
pub const TURN_DEG: f32 = 32.0;
pub const NOD_DEG: f32 = 18.0;

/// One segment of the script, in frames.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Segment {
    pub action: Action,
    pub start: usize,
    pub len: usize,
}

/// The script stretched to `frames` frames (each segment at least one frame).
pub fn segments(frames: usize) -> Vec<Segment> {
    let total: f32 = SCRIPT.iter().map(|s| s.1).sum();
    let mut out = Vec::new();
    let mut acc = 0.0;
    let mut start = 0;
    for (action, secs) in SCRIPT {
        acc += secs;
        let end = ((acc / total) * frames as f32).round() as usize;
        let end = end.max(start + 1).min(frames.max(start + 1));
        out.push(Segment {
            action,
            start,
            len: end - start,
        });
        start = end;
    }
    out
}

/// Natural seconds of script for `frames` at `fps`: when it is well below the script's length,
/// the actions are too short for an engine to notice.
pub fn script_seconds() -> f32 {
    SCRIPT.iter().map(|s| s.1).sum()
}

/// Ramp up over the first 20%, hold, ramp down over the last 20%.
fn envelope(u: f32) -> f32 {
    smoothstep(0.0, 0.2, u) * (1.0 - smoothstep(0.8, 1.0, u))
}

/// The eyelids during a blink segment: open, closing over 7% of it, shut for 20%, opening
/// over 10% (a blink of ~0.35 s in a one-second segment, the lid shut for 3 frames at 15 fps).
fn blink_curve(u: f32) -> f32 {
    smoothstep(0.30, 0.37, u) * (1.0 - smoothstep(0.57, 0.67, u))
}

/// Everything about one frame of the live clip.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct LiveFrame {
    pub action: Action,
    pub head: HeadState,
    pub camera: CameraState,
}

/// The per-clip random motions.
#[derive(Debug, Clone)]
pub struct Motion {
    yaw: Wobble,
    pitch: Wobble,
    roll: Wobble,
    sx: Wobble,
    sy: Wobble,
    cx: Wobble,
    cy: Wobble,
    cs: Wobble,
    seed: u64,
    /// Pixels per 640-wide frame pixel: motion amplitudes scale with the clip size.
    unit: f32,
}

impl Motion {
    pub fn new(seed: u64, width: usize) -> Self {
        let mut r = Rng::derive(seed, 1, 0);
        let unit = width as f32 / 640.0;
        Self {
            yaw: Wobble::new(&mut r, 2.0, 3),
            pitch: Wobble::new(&mut r, 1.5, 3),
            roll: Wobble::new(&mut r, 1.5, 2),
            sx: Wobble::new(&mut r, 3.0 * unit, 3),
            sy: Wobble::new(&mut r, 2.0 * unit, 3),
            cx: Wobble::new(&mut r, 1.5 * unit, 5),
            cy: Wobble::new(&mut r, 1.5 * unit, 5),
            cs: Wobble::new(&mut r, 0.012, 2),
            seed,
            unit,
        }
    }

    /// The head and camera at frame `i` of `frames` with no scripted action (the sway of a
    /// person holding still, the camera's shake, sub-pixel tremor).
    pub fn idle(&self, i: usize, frames: usize) -> (HeadState, CameraState) {
        let mut tremor = Rng::derive(self.seed, 2, i as u64);
        let head = HeadState {
            yaw: self.yaw.at(i, frames),
            pitch: self.pitch.at(i, frames),
            roll: self.roll.at(i, frames),
            shift: [
                self.sx.at(i, frames) + 0.25 * self.unit * tremor.normal(),
                self.sy.at(i, frames) + 0.25 * self.unit * tremor.normal(),
            ],
            ..Default::default()
        };
        let cam = CameraState {
            shift: [
                self.cx.at(i, frames) + 0.2 * self.unit * tremor.normal(),
                self.cy.at(i, frames) + 0.2 * self.unit * tremor.normal(),
            ],
            scale: 1.0 + self.cs.at(i, frames),
            rot: 0.0,
        };
        (head, cam)
    }

    /// Frame `i` of a live loop of `frames` frames.
    pub fn live(&self, i: usize, frames: usize) -> LiveFrame {
        let (mut head, camera) = self.idle(i, frames);
        let seg = segments(frames)
            .into_iter()
            .find(|s| i >= s.start && i < s.start + s.len)
            .unwrap_or(Segment {
                action: Action::Neutral,
                start: 0,
                len: 1,
            });
        // The frame's centre time within its segment.
        let u = (i - seg.start) as f32 / seg.len as f32 + 0.5 / seg.len as f32;
        let e = envelope(u);
        match seg.action {
            Action::Neutral => {}
            Action::Blink => head.blink = blink_curve(u),
            Action::TurnLeft => head.yaw += TURN_DEG * e,
            Action::TurnRight => head.yaw -= TURN_DEG * e,
            // Down first, then up.
            Action::Nod => head.pitch -= NOD_DEG * (std::f32::consts::TAU * u).sin(),
            Action::Smile => head.smile = e,
            Action::MouthOpen => head.mouth = e,
        }
        LiveFrame {
            action: seg.action,
            head,
            camera,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn segments_tile_the_clip() {
        for frames in [12, 150, 157, 300] {
            let s = segments(frames);
            assert_eq!(s[0].start, 0);
            for w in s.windows(2) {
                assert_eq!(w[0].start + w[0].len, w[1].start);
            }
            let last = s[s.len() - 1];
            assert_eq!(last.start + last.len, frames);
        }
    }

    #[test]
    fn every_action_reaches_full_strength_at_15_fps() {
        let m = Motion::new(1, 640);
        let frames = 150;
        let f: Vec<LiveFrame> = (0..frames).map(|i| m.live(i, frames)).collect();
        let max = |g: &dyn Fn(&LiveFrame) -> f32| f.iter().map(g).fold(f32::MIN, f32::max);
        assert!(max(&|x| x.head.blink) > 0.99);
        assert!(max(&|x| x.head.yaw) > TURN_DEG - 1.0);
        assert!(max(&|x| -x.head.yaw) > TURN_DEG - 1.0);
        assert!(max(&|x| x.head.pitch) > NOD_DEG * 0.8 && max(&|x| -x.head.pitch) > NOD_DEG * 0.8);
        assert!(max(&|x| x.head.smile) > 0.99 && max(&|x| x.head.mouth) > 0.99);
        // eyes shut for at least two frames: a blink an engine sampling at 15 fps can see
        assert!(f.iter().filter(|x| x.head.blink > 0.9).count() >= 2);
        // held about a second
        assert!(f.iter().filter(|x| x.head.yaw > 0.9 * TURN_DEG).count() >= 10);
    }

    #[test]
    fn the_loop_joins_smoothly() {
        let m = Motion::new(4, 640);
        let (a, b) = (m.live(0, 150), m.live(149, 150));
        assert!((a.head.yaw - b.head.yaw).abs() < 1.0);
        assert!((a.camera.shift[0] - b.camera.shift[0]).abs() < 1.5);
    }
}
