//! What the screen's light does to each pixel of a scene: the gain maps that
//! `models::light::relight` applies (diffuse gain in red, specular in green, 0–255 for 0–1;
//! `docs/architecture.md`, "The screen-light challenge"). The head's map comes from its own
//! normals ([`Rig::gains`](crate::head::Rig::gains)); the attacks' planes are here:
//!
//! - a **print** is one flat matte sheet: every point of it has the same normal, so the same
//!   diffuse gain (the cosine of its tilt), and no specular lobe;
//! - a **screen** replaying a video is emissive: the light it shows is the recording's, and the
//!   live screen's light only reaches the camera through its matte coating (weak, uniform) and as
//!   a mirror image in its glass while the glass faces the camera within about ten degrees;
//! - the room around either is as far as the wall behind a live head.
use crate::attacks::{draw_plane, Paper, PlanePose, Screen};
use crate::canvas::{smoothstep, Canvas};

/// The room behind (the same wall as behind the live head: `head::rig`'s `ROOM_GAIN`).
const ROOM_GAIN: f32 = 0.05;
/// A display's matte coating returns a few per cent of the light falling on it.
const SCREEN_DIFFUSE: f32 = 0.04;
/// The bezel is dark plastic.
const BEZEL_GAIN: f32 = 0.1;
/// The glass mirrors the live screen into the camera while its normal is within this many
/// degrees of the camera's axis (half the angle the live screen spans seen from the glass),
/// fading out over the next few.
const MIRROR_DEG: (f32, f32) = (10.0, 14.0);

/// The gain map of a print in `pose` on a `w×h` frame.
pub fn print_gains(paper: &Paper, pose: &PlanePose, w: usize, h: usize) -> Canvas {
    let bg = Canvas::new(w, h, [ROOM_GAIN * 255.0, 0.0, 0.0]);
    let cos = pose.yaw.to_radians().cos() * pose.pitch.to_radians().cos();
    draw_plane(&bg, pose, paper.half(), |_, _, _, _| {
        Some([cos.max(0.0) * 255.0, 0.0, 0.0])
    })
}

/// The gain map of a screen in `pose` on a `w×h` frame.
pub fn screen_gains(screen: &Screen, pose: &PlanePose, w: usize, h: usize) -> Canvas {
    let bg = Canvas::new(w, h, [ROOM_GAIN * 255.0, 0.0, 0.0]);
    let (aw, ah) = (w as f32 * screen.fill / 2.0, h as f32 * screen.fill / 2.0);
    let b = screen.bezel * w as f32;
    let tilt = pose.yaw.hypot(pose.pitch);
    let mirror = 1.0 - smoothstep(MIRROR_DEG.0, MIRROR_DEG.1, tilt);
    draw_plane(&bg, pose, [aw + b, ah + b], |u, v, _, _| {
        if u.abs() > aw || v.abs() > ah {
            return Some([BEZEL_GAIN * 255.0, 0.0, 0.0]);
        }
        Some([SCREEN_DIFFUSE * 255.0, mirror * 255.0, 0.0])
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::attacks::Screen;

    fn pose(yaw: f32) -> PlanePose {
        PlanePose {
            yaw,
            pitch: 0.0,
            roll: 0.0,
            shift: [0.0, 0.0],
            distance: 1.0,
        }
    }

    #[test]
    fn a_print_answers_uniformly_with_its_tilt() {
        let paper = Paper::new(&Canvas::new(200, 240, [128.0; 3]), 1);
        let g = print_gains(&paper, &pose(0.0), 640, 480);
        let centre = g.at(320, 240);
        assert_eq!(centre[0].round(), 255.0);
        assert_eq!(centre[1], 0.0);
        // The same gain anywhere on the sheet; the room beside it barely answers.
        assert_eq!(g.at(300, 200), centre);
        assert!((g.at(5, 5)[0] - ROOM_GAIN * 255.0).abs() < 1e-3);
        let tilted = print_gains(&paper, &pose(40.0), 640, 480);
        assert!((tilted.at(320, 240)[0] / 255.0 - 40f32.to_radians().cos()).abs() < 0.01);
    }

    #[test]
    fn a_screen_mirrors_the_light_only_when_it_faces_the_camera() {
        let screen = Screen::new(640, 480, 1);
        let facing = screen_gains(&screen, &pose(5.0), 640, 480);
        assert_eq!(facing.at(320, 240)[1].round(), 255.0);
        assert!((facing.at(320, 240)[0] - SCREEN_DIFFUSE * 255.0).abs() < 1e-3);
        let turned = screen_gains(&screen, &pose(25.0), 640, 480);
        assert_eq!(turned.at(320, 240)[1], 0.0);
    }
}
