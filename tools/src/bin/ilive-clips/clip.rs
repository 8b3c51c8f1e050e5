//! What a clip is (its kind, photos, size, length, seed) and how each of its frames is made.
//! A clip is a pure function of its [`ClipSpec`]: frames can be drawn in any order, in parallel,
//! and the same spec always gives the same pixels.

use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use models::FaceModels;
use serde::Serialize;

use crate::attacks::{
    print_pose, render_print, render_scene, room, screen_pose, sensor, Paper, PlanePose, Screen,
};
use crate::canvas::Canvas;
use crate::head::{Placement, Rig, Subject};
use crate::rng::Rng;
use crate::schedule::{Action, Motion};

/// The kinds of clip, and the ground truth each one stands for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, clap::ValueEnum)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// A live-like loop performing every challenge (bona fide).
    Live,
    /// A printed photo on a moving plane (attack).
    Print,
    /// The live-like loop filmed off a screen (attack).
    Replay,
    /// One frame repeated (attack: a still or injected image).
    Frozen,
    /// One person for the first half, another for the second (attack: face swap).
    Swap,
    /// No face at all.
    Noface,
}

impl Kind {
    /// The label an evaluation counts the clip under (ISO/IEC 30107-3 terms).
    pub fn label(self) -> &'static str {
        match self {
            Kind::Live => "bona_fide",
            Kind::Print => "attack_print",
            Kind::Replay => "attack_replay",
            Kind::Frozen => "attack_frozen",
            Kind::Swap => "attack_swap",
            Kind::Noface => "no_face",
        }
    }
}

/// Everything that determines a clip.
#[derive(Debug, Clone, Serialize)]
pub struct ClipSpec {
    pub kind: Kind,
    pub photo: PathBuf,
    pub second_photo: Option<PathBuf>,
    pub frames: usize,
    pub fps: u32,
    pub width: usize,
    pub height: usize,
    pub seed: u64,
    /// Noise (grey levels) on the frozen clip's repeats; 0 repeats the frame exactly.
    pub frozen_noise: f32,
}

/// Sensor noise of every camera-like clip, grey levels (a webcam in room light).
const SENSOR_SIGMA: f32 = 2.0;
const SENSOR_FLICKER: f32 = 0.008;

/// A clip ready to draw frames.
pub struct Clip {
    pub spec: ClipSpec,
    inner: Inner,
}

enum Inner {
    Live {
        subject: Subject,
        rig: Rig,
        motion: Motion,
    },
    Print {
        paper: Paper,
        bg: Canvas,
    },
    Replay {
        subject: Subject,
        rig: Rig,
        motion: Motion,
        screen: Screen,
        bg: Canvas,
    },
    Frozen {
        frame: Canvas,
    },
    Swap {
        a: (Subject, Rig),
        b: (Subject, Rig),
        motion: Motion,
    },
    Noface {
        scene: Canvas,
        motion: Motion,
    },
}

/// Per-frame ground truth written to the manifest.
#[derive(Debug, Clone, Serialize)]
pub struct FrameTruth {
    pub index: usize,
    pub action: Option<Action>,
    pub yaw: f32,
    pub pitch: f32,
    pub blink: f32,
    pub smile: f32,
    pub mouth: f32,
    /// For the swap clip: which photo (0 or 1).
    pub person: usize,
}

fn load_photo(path: &PathBuf) -> Result<image::RgbImage> {
    Ok(image::open(path)
        .with_context(|| format!("reading the photo {}", path.display()))?
        .to_rgb8())
}

fn subject(models: &FaceModels, path: &PathBuf, spec: &ClipSpec) -> Result<(Subject, Rig)> {
    let photo = load_photo(path)?;
    let s = Subject::frame(
        models,
        &photo,
        &path.display().to_string(),
        spec.width,
        spec.height,
        Placement::default(),
    )?;
    let rig = Rig::new(&s)?;
    Ok((s, rig))
}

impl Clip {
    /// Prepares a clip: loads and frames the photos, builds the rigs.
    pub fn new(models: &FaceModels, spec: ClipSpec) -> Result<Self> {
        if !spec.width.is_multiple_of(2)
            || !spec.height.is_multiple_of(2)
            || spec.width < 64
            || spec.height < 48
        {
            bail!(
                "the size must be even and at least 64×48 (got {}×{})",
                spec.width,
                spec.height
            );
        }
        if spec.frames == 0 {
            bail!("a clip needs at least one frame");
        }
        let motion = Motion::new(spec.seed, spec.width);
        let inner = match spec.kind {
            Kind::Live => {
                let (subject, rig) = subject(models, &spec.photo, &spec)?;
                Inner::Live {
                    subject,
                    rig,
                    motion,
                }
            }
            Kind::Print => {
                let (subject, _) = subject(models, &spec.photo, &spec)?;
                Inner::Print {
                    paper: Paper::new(&subject.base, spec.seed),
                    bg: room(spec.width, spec.height, spec.seed),
                }
            }
            Kind::Replay => {
                let (subject, rig) = subject(models, &spec.photo, &spec)?;
                Inner::Replay {
                    subject,
                    rig,
                    motion,
                    screen: Screen::new(spec.width, spec.height, spec.seed),
                    bg: room(spec.width, spec.height, spec.seed),
                }
            }
            Kind::Frozen => {
                let (subject, rig) = subject(models, &spec.photo, &spec)?;
                let f = motion.live(0, spec.frames);
                let mut frame = rig.render(&subject.base, &f.head, &f.camera);
                sensor(
                    &mut frame,
                    SENSOR_SIGMA,
                    0.0,
                    &mut Rng::derive(spec.seed, 20, 0),
                );
                Inner::Frozen { frame }
            }
            Kind::Swap => {
                let Some(second) = &spec.second_photo else {
                    bail!("--kind swap needs --second-photo");
                };
                Inner::Swap {
                    a: subject(models, &spec.photo, &spec)?,
                    b: subject(models, second, &spec)?,
                    motion,
                }
            }
            Kind::Noface => {
                let photo = load_photo(&spec.photo)?;
                Inner::Noface {
                    scene: Canvas::from_rgb8(&photo),
                    motion,
                }
            }
        };
        Ok(Self { spec, inner })
    }

    /// Frame `i` (0-based) and its ground truth.
    pub fn frame(&self, i: usize) -> (Canvas, FrameTruth) {
        let n = self.spec.frames;
        let mut noise = Rng::derive(self.spec.seed, 21, i as u64);
        let mut truth = FrameTruth {
            index: i,
            action: None,
            yaw: 0.0,
            pitch: 0.0,
            blink: 0.0,
            smile: 0.0,
            mouth: 0.0,
            person: 0,
        };
        let from_head = |t: &mut FrameTruth, f: &crate::schedule::LiveFrame| {
            t.action = Some(f.action);
            t.yaw = f.head.yaw;
            t.pitch = f.head.pitch;
            t.blink = f.head.blink;
            t.smile = f.head.smile;
            t.mouth = f.head.mouth;
        };
        let img = match &self.inner {
            Inner::Live {
                subject,
                rig,
                motion,
            } => {
                let f = motion.live(i, n);
                from_head(&mut truth, &f);
                let mut img = rig.render(&subject.base, &f.head, &f.camera);
                sensor(&mut img, SENSOR_SIGMA, SENSOR_FLICKER, &mut noise);
                img
            }
            Inner::Print { paper, bg } => {
                let pose = print_pose(i, n, self.spec.seed, self.spec.width);
                truth.yaw = pose.yaw;
                truth.pitch = pose.pitch;
                let mut img = render_print(paper, bg, &pose);
                sensor(&mut img, SENSOR_SIGMA, SENSOR_FLICKER, &mut noise);
                img
            }
            Inner::Replay {
                subject,
                rig,
                motion,
                screen,
                bg,
            } => {
                let f = motion.live(i, n);
                from_head(&mut truth, &f);
                let shown = rig.render(&subject.base, &f.head, &f.camera);
                let pose: PlanePose = screen_pose(i, n, self.spec.seed, self.spec.width);
                let mut img = screen.render(&shown, bg, &pose);
                sensor(&mut img, SENSOR_SIGMA, SENSOR_FLICKER, &mut noise);
                img
            }
            Inner::Frozen { frame } => {
                let mut img = frame.clone();
                if self.spec.frozen_noise > 0.0 {
                    sensor(&mut img, self.spec.frozen_noise, 0.0, &mut noise);
                }
                img
            }
            Inner::Swap { a, b, motion } => {
                let f = motion.live(i, n);
                from_head(&mut truth, &f);
                let (s, rig) = if i < n / 2 { a } else { b };
                truth.person = usize::from(i >= n / 2);
                let mut img = rig.render(&s.base, &f.head, &f.camera);
                sensor(&mut img, SENSOR_SIGMA, SENSOR_FLICKER, &mut noise);
                img
            }
            Inner::Noface { scene, motion } => {
                let (_, mut cam) = motion.idle(i, n);
                // A hand-held camera pans a little more than one on a desk.
                cam.shift = cam.shift.map(|v| v * 3.0);
                cam.rot = 0.8 * (i as f32 / n as f32 * std::f32::consts::TAU).sin();
                let mut img = render_scene(scene, self.spec.width, self.spec.height, &cam);
                sensor(&mut img, SENSOR_SIGMA, SENSOR_FLICKER, &mut noise);
                img
            }
        };
        (img, truth)
    }

    /// What the screen's light does to frame `i` (`crate::light`): the live head's and the
    /// attacks' surfaces answer it; a frozen stream, a face swap (an injected deepfake) and a
    /// face-less scene have none.
    pub fn gains(&self, i: usize) -> Option<Canvas> {
        let (n, w, h) = (self.spec.frames, self.spec.width, self.spec.height);
        match &self.inner {
            Inner::Live { rig, motion, .. } => {
                let f = motion.live(i, n);
                Some(rig.gains(&f.head, &f.camera))
            }
            Inner::Print { paper, .. } => Some(crate::light::print_gains(
                paper,
                &print_pose(i, n, self.spec.seed, w),
                w,
                h,
            )),
            Inner::Replay { screen, .. } => Some(crate::light::screen_gains(
                screen,
                &screen_pose(i, n, self.spec.seed, w),
                w,
                h,
            )),
            Inner::Frozen { .. } | Inner::Swap { .. } | Inner::Noface { .. } => None,
        }
    }
}
