//! The verification flow as plain data: which screen is showing, what the server last said
//! about the face and the challenge, and how a server message moves the flow on. No browser and
//! no reactivity here, so the rules are unit-tested natively; the components render this state
//! and the browser glue feeds it.
use crate::api::{ChallengeKind, Mode, Verdict};
use crate::ws::{FaceBox, FaceStatus, ServerMessage};

/// Why the camera could not be used; each has its own screen with what to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CameraProblem {
    /// The person or the browser's settings refused access.
    Denied,
    /// No video input device.
    NotFound,
    /// Another app holds the camera, or the hardware failed to start.
    InUse,
    /// Plain http on a host that is not localhost: browsers hide the camera API there.
    Insecure,
    /// An in-app browser (social apps' web views) that blocks the camera.
    InApp,
    /// No camera API at all.
    Unsupported,
}

/// Why a capture ended without a verdict.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Stopped {
    Cancelled,
    ConnectionLost,
    /// The server refused or aborted the capture with this stable code.
    ServerError(String),
}

/// The final answer, as the `verdict` message gave it.
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    pub verdict: Verdict,
    pub confidence: f64,
    pub reasons: Vec<crate::reason::Reason>,
    pub redirect: Option<String>,
}

/// Which screen the flow shows.
#[derive(Debug, Clone, PartialEq)]
pub enum Stage {
    Welcome,
    /// Asking for the camera.
    Camera,
    CameraProblem(CameraProblem),
    /// Camera on, socket opening or open, frames flowing.
    Capturing,
    Analyzing,
    Done(Outcome),
    Stopped(Stopped),
}

/// The current challenge of an active session.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Challenge {
    pub kind: ChallengeKind,
    /// Zero-based.
    pub index: u32,
    pub total: u32,
    pub seconds_left: f32,
    /// The time the challenge started with, for the countdown ring.
    pub budget: f32,
}

/// The latest `face` message.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Face {
    pub status: FaceStatus,
    pub face_box: Option<FaceBox>,
    pub frame_width: u32,
    pub frame_height: u32,
}

/// Everything the capture screen shows.
#[derive(Debug, Clone, PartialEq)]
pub struct Flow {
    pub stage: Stage,
    /// Set by `ready`.
    pub ready: Option<(Mode, u32)>,
    pub face: Option<Face>,
    pub challenge: Option<Challenge>,
    /// Challenges met so far.
    pub passed: u32,
    /// The challenge just met, shown briefly as a tick.
    pub just_passed: Option<ChallengeKind>,
    pub progress: f32,
    /// The colour the screen-light challenge paints around the oval now, if it runs.
    pub light: Option<String>,
}

impl Default for Flow {
    fn default() -> Self {
        Flow {
            stage: Stage::Welcome,
            ready: None,
            face: None,
            challenge: None,
            passed: 0,
            just_passed: None,
            progress: 0.0,
            light: None,
        }
    }
}

impl Flow {
    /// A fresh capture (keeps nothing from an earlier one).
    pub fn capturing() -> Self {
        Flow {
            stage: Stage::Capturing,
            ..Flow::default()
        }
    }

    /// Moves the flow on by one server message. Returns whether the capture is over (the
    /// socket and camera can go).
    pub fn apply(&mut self, msg: ServerMessage) -> bool {
        if !matches!(self.stage, Stage::Capturing | Stage::Analyzing) {
            // A late message after the end changes nothing.
            return true;
        }
        match msg {
            ServerMessage::Ready { mode, challenges } => self.ready = Some((mode, challenges)),
            ServerMessage::Face {
                status,
                face_box,
                frame_width,
                frame_height,
            } => {
                self.face = Some(Face {
                    status,
                    face_box,
                    frame_width,
                    frame_height,
                })
            }
            ServerMessage::Challenge {
                kind,
                index,
                total,
                seconds_left,
            } => {
                let seconds_left = seconds_left.max(0.0);
                let budget = match self.challenge {
                    Some(c) if c.index == index => c.budget.max(seconds_left),
                    _ => {
                        self.just_passed = None;
                        seconds_left
                    }
                };
                self.challenge = Some(Challenge {
                    kind,
                    index,
                    total,
                    seconds_left,
                    budget,
                });
            }
            ServerMessage::ChallengePassed { kind, index } => {
                self.passed = self.passed.max(index + 1);
                self.just_passed = Some(kind);
            }
            ServerMessage::Progress { value } => self.progress = value.clamp(0.0, 1.0),
            // The browser glue paints the sequence and reports each colour through `light`.
            ServerMessage::Light { .. } => {}
            ServerMessage::Analyzing => {
                self.stage = Stage::Analyzing;
                self.light = None;
                self.progress = 1.0;
            }
            ServerMessage::Verdict {
                verdict,
                confidence,
                reasons,
                redirect,
            } => {
                self.stage = Stage::Done(Outcome {
                    verdict,
                    confidence,
                    reasons,
                    redirect,
                });
                return true;
            }
            ServerMessage::Error { code, .. } => {
                // Per-frame problems do not end the capture.
                if code == "frame_too_large" {
                    return false;
                }
                self.stage = Stage::Stopped(Stopped::ServerError(code));
                return true;
            }
        }
        false
    }

    /// The socket closed; if no verdict came, the connection was lost.
    pub fn closed(&mut self) {
        if matches!(self.stage, Stage::Capturing | Stage::Analyzing) {
            self.stage = Stage::Stopped(Stopped::ConnectionLost);
        }
    }

    /// Counts the current challenge's deadline down between server messages.
    pub fn tick(&mut self, seconds: f32) {
        if let Some(c) = self.challenge.as_mut() {
            c.seconds_left = (c.seconds_left - seconds).max(0.0);
        }
    }

    /// Whether the face is where the engine wants it (green guide).
    pub fn face_ok(&self) -> bool {
        self.face.is_some_and(|f| f.status == FaceStatus::Ok)
    }
}

/// The face box as the mirrored preview shows it, in fractions of the frame.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Marker {
    pub left: f32,
    pub top: f32,
    pub width: f32,
    pub height: f32,
}

/// Where to draw the face box over the mirrored preview (`None` without a box or a frame size).
pub fn mirrored_marker(face: &Face) -> Option<Marker> {
    let b = face.face_box?;
    let (w, h) = (face.frame_width as f32, face.frame_height as f32);
    if w <= 0.0 || h <= 0.0 {
        return None;
    }
    let clamp = |v: f32| v.clamp(0.0, 1.0);
    Some(Marker {
        left: clamp((w - b.left - b.width) / w),
        top: clamp(b.top / h),
        width: clamp(b.width / w),
        height: clamp(b.height / h),
    })
}

/// Which way the person should move so their face reaches the centre of the mirrored preview:
/// `(dx, dy)` each −1, 0 or 1 (screen directions), or `None` when centred enough.
pub fn nudge(marker: &Marker) -> Option<(i8, i8)> {
    let cx = marker.left + marker.width / 2.0;
    let cy = marker.top + marker.height / 2.0;
    let axis = |c: f32, slack: f32| {
        if c < 0.5 - slack {
            1
        } else if c > 0.5 + slack {
            -1
        } else {
            0
        }
    };
    let d = (axis(cx, 0.12), axis(cy, 0.15));
    (d != (0, 0)).then_some(d)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn face(status: FaceStatus, left: f32) -> ServerMessage {
        ServerMessage::Face {
            status,
            face_box: Some(FaceBox {
                left,
                top: 120.0,
                width: 200.0,
                height: 240.0,
            }),
            frame_width: 640,
            frame_height: 480,
        }
    }

    #[test]
    fn a_session_runs_from_ready_to_verdict() {
        let mut flow = Flow::capturing();
        assert!(!flow.apply(ServerMessage::Ready {
            mode: Mode::Active,
            challenges: 3
        }));
        flow.apply(face(FaceStatus::Ok, 220.0));
        assert!(flow.face_ok());
        flow.apply(ServerMessage::Challenge {
            kind: ChallengeKind::Blink,
            index: 0,
            total: 3,
            seconds_left: 5.0,
        });
        flow.tick(1.5);
        assert_eq!(flow.challenge.map(|c| c.seconds_left), Some(3.5));
        flow.apply(ServerMessage::ChallengePassed {
            kind: ChallengeKind::Blink,
            index: 0,
        });
        assert_eq!(
            (flow.passed, flow.just_passed),
            (1, Some(ChallengeKind::Blink))
        );
        flow.apply(ServerMessage::Challenge {
            kind: ChallengeKind::Smile,
            index: 1,
            total: 3,
            seconds_left: 5.0,
        });
        assert_eq!(flow.just_passed, None);
        flow.apply(ServerMessage::Analyzing);
        assert_eq!(flow.stage, Stage::Analyzing);
        let over = flow.apply(ServerMessage::Verdict {
            verdict: Verdict::Pass,
            confidence: 0.91,
            reasons: vec![],
            redirect: None,
        });
        assert!(over);
        assert!(matches!(flow.stage, Stage::Done(ref o) if o.verdict == Verdict::Pass));
        // Closing after the verdict is not a lost connection.
        flow.closed();
        assert!(matches!(flow.stage, Stage::Done(_)));
    }

    #[test]
    fn errors_end_the_capture_except_oversized_frames() {
        let mut flow = Flow::capturing();
        let err = |code: &str| ServerMessage::Error {
            code: code.into(),
            message: String::new(),
        };
        assert!(!flow.apply(err("frame_too_large")));
        assert_eq!(flow.stage, Stage::Capturing);
        assert!(flow.apply(err("session_already_started")));
        assert_eq!(
            flow.stage,
            Stage::Stopped(Stopped::ServerError("session_already_started".into()))
        );
    }

    #[test]
    fn a_lost_socket_is_reported() {
        let mut flow = Flow::capturing();
        flow.closed();
        assert_eq!(flow.stage, Stage::Stopped(Stopped::ConnectionLost));
    }

    #[test]
    fn the_marker_is_mirrored_and_nudges_toward_the_centre() {
        let mut flow = Flow::capturing();
        // Face on the frame's left edge shows on the preview's right edge.
        flow.apply(face(FaceStatus::OffCenter, 0.0));
        let m = mirrored_marker(&flow.face.expect("face")).expect("marker");
        assert!((m.left - (440.0 / 640.0)).abs() < 1e-6);
        assert_eq!(nudge(&m), Some((-1, 0)));
        flow.apply(face(FaceStatus::Ok, 220.0));
        let m = mirrored_marker(&flow.face.expect("face")).expect("marker");
        assert_eq!(nudge(&m), None);
    }
}
