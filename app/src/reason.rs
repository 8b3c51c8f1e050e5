//! The stable reason codes a verdict carries (`reasons` in the result, the webhook and the
//! WebSocket `verdict` message). One enum names every code; the engine's layers, the fusion, the
//! session engine, the stored result and the browser's advice all use it, so a code cannot be
//! misspelt in one place, and a test keeps the README's table equal to it.
//!
//! Each variant's serde name is the wire code: add codes, never rename them. What each layer's
//! evidence is and where its cut-offs come from: `docs/architecture.md`.
use serde::{de, Deserialize, Deserializer, Serialize};

#[cfg(feature = "ssr")]
use utoipa::ToSchema;

/// Why a verdict is what it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[cfg_attr(feature = "ssr", derive(ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Reason {
    /// The face's texture moved as one plane, for a rotation at which a head leaves parallax
    /// four times the noise floor.
    NoMotionParallax,
    /// Little parallax for the rotation seen.
    WeakMotionParallax,
    /// Two or more actions performed without being asked, or already under way at their
    /// prompt (active mode): a recording that cycles through every action, not a person
    /// following the screen.
    UnpromptedAction,
    /// The face's colour did not follow the screen's light while the light was strong enough to
    /// measure: the room beside the head answered it and the nearer face did not (an emissive
    /// replay, an injected stream).
    LightMismatch,
    /// The screen's light was too weak against the room's to measure the face's answer (a bright
    /// room, a far face): the light challenge gave no evidence either way.
    LightTooWeak,
    /// Nothing looked wrong, but no measure proved a live, present person either (no reliable
    /// parallax, no challenge answered): `retry` at best, with guidance.
    InsufficientEvidence,
    /// Consecutive frames are byte-identical (a real sensor never repeats).
    FrozenFrames,
    /// The face never drifted: its track is the detector's white jitter only.
    StillImage,
    /// Almost no motion over the capture.
    NoMicroMotion,
    /// A screen's pixel grid over the face on most frames.
    ScreenMoire,
    /// Specular glare over the face on most frames.
    Glare,
    /// The anti-spoof network scores the face as an artefact.
    SpoofSuspected,
    /// A different person later in the capture.
    FaceChanged,
    /// More than one face in the frame.
    MultipleFaces,
    /// The camera is a virtual-camera driver.
    VirtualCamera,
    /// Frames arrived faster than the camera films.
    FrameRateMismatch,
    /// Landmark motion without any measurement noise.
    SyntheticMotion,
    /// Too few usable frames to judge a layer.
    InsufficientFrames,
    /// A challenge's prompt was not met.
    ChallengeFailed,
    /// A challenge's prompt was not met in time.
    ChallengeTimeout,
    /// No face was found for too long.
    NoFace,
    /// The face was too small in the frame.
    FaceTooFar,
    /// The face filled too much of the frame.
    FaceTooClose,
    /// The face was not centred in the guide.
    FaceOffCenter,
    /// The face did not look at the camera.
    FaceNotFrontal,
    /// The face was too dark.
    LowLight,
    /// The face was too bright.
    Overexposed,
    /// The face was out of focus.
    Blurry,
    /// The capture ran out of time.
    Timeout,
    /// The person cancelled the capture.
    Cancelled,
    /// The connection dropped before the capture ended.
    ConnectionLost,
    /// The server stopped or failed before the capture could end (a restart, a crash, an
    /// internal error): the capture is settled as unfinished.
    Interrupted,
}

/// What a reason does to the verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Effect {
    /// A hard finding: the session fails whatever else scored.
    Fail,
    /// Lowers its layer's score.
    LowersScore,
    /// The capture was not completed: `retry` at best.
    RetryAtBest,
    /// Says why a measure abstained; changes nothing by itself.
    Informs,
}

impl Reason {
    /// Every code, in the order of the README's table.
    pub const ALL: [Reason; 32] = [
        Reason::NoMotionParallax,
        Reason::WeakMotionParallax,
        Reason::LightMismatch,
        Reason::LightTooWeak,
        Reason::InsufficientEvidence,
        Reason::FrozenFrames,
        Reason::StillImage,
        Reason::NoMicroMotion,
        Reason::ScreenMoire,
        Reason::Glare,
        Reason::SpoofSuspected,
        Reason::FaceChanged,
        Reason::MultipleFaces,
        Reason::VirtualCamera,
        Reason::FrameRateMismatch,
        Reason::SyntheticMotion,
        Reason::InsufficientFrames,
        Reason::UnpromptedAction,
        Reason::ChallengeFailed,
        Reason::ChallengeTimeout,
        Reason::NoFace,
        Reason::FaceTooFar,
        Reason::FaceTooClose,
        Reason::FaceOffCenter,
        Reason::FaceNotFrontal,
        Reason::LowLight,
        Reason::Overexposed,
        Reason::Blurry,
        Reason::Timeout,
        Reason::Cancelled,
        Reason::ConnectionLost,
        Reason::Interrupted,
    ];

    /// The wire code (the serde name).
    pub fn code(self) -> &'static str {
        use Reason::*;
        match self {
            NoMotionParallax => "no_motion_parallax",
            WeakMotionParallax => "weak_motion_parallax",
            InsufficientEvidence => "insufficient_evidence",
            LightMismatch => "light_mismatch",
            LightTooWeak => "light_too_weak",
            FrozenFrames => "frozen_frames",
            StillImage => "still_image",
            NoMicroMotion => "no_micro_motion",
            ScreenMoire => "screen_moire",
            Glare => "glare",
            SpoofSuspected => "spoof_suspected",
            FaceChanged => "face_changed",
            MultipleFaces => "multiple_faces",
            VirtualCamera => "virtual_camera",
            FrameRateMismatch => "frame_rate_mismatch",
            SyntheticMotion => "synthetic_motion",
            InsufficientFrames => "insufficient_frames",
            UnpromptedAction => "unprompted_action",
            ChallengeFailed => "challenge_failed",
            ChallengeTimeout => "challenge_timeout",
            NoFace => "no_face",
            FaceTooFar => "face_too_far",
            FaceTooClose => "face_too_close",
            FaceOffCenter => "face_off_center",
            FaceNotFrontal => "face_not_frontal",
            LowLight => "low_light",
            Overexposed => "overexposed",
            Blurry => "blurry",
            Timeout => "timeout",
            Cancelled => "cancelled",
            ConnectionLost => "connection_lost",
            Interrupted => "interrupted",
        }
    }

    /// The reason whose wire code is `code`.
    pub fn from_code(code: &str) -> Option<Reason> {
        Reason::ALL.into_iter().find(|r| r.code() == code)
    }

    /// What the reason does to the verdict.
    pub fn effect(self) -> Effect {
        use Reason::*;
        match self {
            NoMotionParallax | FrozenFrames | StillImage | ScreenMoire | FaceChanged
            | VirtualCamera | UnpromptedAction | LightMismatch => Effect::Fail,
            LightTooWeak => Effect::Informs,
            WeakMotionParallax | NoMicroMotion | Glare | SpoofSuspected | MultipleFaces
            | FrameRateMismatch | SyntheticMotion | InsufficientFrames => Effect::LowersScore,
            ChallengeFailed | ChallengeTimeout | NoFace | FaceTooFar | FaceTooClose
            | FaceOffCenter | FaceNotFrontal | LowLight | Overexposed | Blurry | Timeout
            | Cancelled | ConnectionLost | Interrupted | InsufficientEvidence => {
                Effect::RetryAtBest
            }
        }
    }
}

/// Read through [`Reason::from_code`] rather than derived, so that the codes are listed once
/// ([`Reason::code`]) for serde and for the browser's own reader (`crate::wire`).
impl<'de> Deserialize<'de> for Reason {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let code = String::deserialize(deserializer)?;
        Reason::from_code(&code)
            .ok_or_else(|| de::Error::custom(format_args!("unknown reason code `{code}`")))
    }
}

impl std::fmt::Display for Reason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.code())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_the_serde_names_and_each_is_listed_once() {
        let mut seen = std::collections::HashSet::new();
        for r in Reason::ALL {
            assert_eq!(serde_json::to_value(r).unwrap(), r.code());
            let back: Reason = serde_json::from_value(r.code().into()).unwrap();
            assert_eq!(back, r);
            assert!(seen.insert(r), "{r} listed twice");
        }
        assert_eq!(seen.len(), Reason::ALL.len());
        assert!(serde_json::from_value::<Reason>("no_such_code".into()).is_err());
        assert!(serde_json::from_value::<Reason>(3.into()).is_err());
    }

    /// The README's reason table lists exactly these codes, each once and with its effect.
    #[test]
    fn the_readme_table_matches_the_enum() {
        let readme = include_str!("../../README.md");
        let table = readme
            .lines()
            .skip_while(|l| !l.starts_with("| code | layer | meaning | effect |"))
            .skip(2)
            .take_while(|l| l.starts_with('|'));
        let mut listed: Vec<(Reason, String)> = Vec::new();
        for row in table {
            let cells: Vec<&str> = row.split('|').map(str::trim).collect();
            assert_eq!(cells.len(), 6, "not a reason row: {row}");
            for code in cells[1].split(',') {
                let code = code.trim().trim_matches('`');
                let r: Reason = serde_json::from_value(code.into())
                    .unwrap_or_else(|_| panic!("the README lists `{code}`, no reason code"));
                listed.push((r, cells[4].to_owned()));
            }
        }
        for r in Reason::ALL {
            let rows: Vec<&String> = listed
                .iter()
                .filter(|(x, _)| *x == r)
                .map(|(_, e)| e)
                .collect();
            assert_eq!(rows.len(), 1, "the README lists `{r}` {} times", rows.len());
            let want = match r.effect() {
                Effect::Fail => "fail",
                Effect::LowersScore => "lowers the score",
                Effect::RetryAtBest => "retry at best",
                Effect::Informs => "none by itself",
            };
            assert_eq!(rows[0], want, "the README's effect of `{r}`");
        }
        assert_eq!(listed.len(), Reason::ALL.len());
    }
}
