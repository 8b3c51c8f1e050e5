//! The verification WebSocket's messages (`GET /api/v1/session/{id}/ws`). Frames travel as
//! binary JPEG messages; everything else is one of these JSON enums, tagged by `type`.
use serde::{Deserialize, Serialize};

use crate::api::{ChallengeKind, Mode, Verdict};

/// What the browser reports about its camera in `hello`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct CameraMetadata {
    #[serde(default)]
    pub label: Option<String>,
    #[serde(default)]
    pub width: Option<u32>,
    #[serde(default)]
    pub height: Option<u32>,
    #[serde(default)]
    pub frame_rate: Option<f64>,
    #[serde(default)]
    pub facing_mode: Option<String>,
}

impl CameraMetadata {
    /// Longest camera label kept (real device labels are under 100 characters).
    pub const MAX_LABEL_CHARS: usize = 128;
    /// Longest facing mode kept (`user`, `environment`, …).
    pub const MAX_FACING_CHARS: usize = 16;

    /// The metadata with every field bounded: what a browser reports goes into the stored result
    /// and every webhook, so a client cannot make either grow.
    pub fn bounded(self) -> Self {
        let cut = |s: String, n: usize| match s.char_indices().nth(n) {
            Some((i, _)) => s[..i].to_owned(),
            None => s,
        };
        CameraMetadata {
            label: self.label.map(|l| cut(l, Self::MAX_LABEL_CHARS)),
            facing_mode: self.facing_mode.map(|f| cut(f, Self::MAX_FACING_CHARS)),
            frame_rate: self
                .frame_rate
                .filter(|r| r.is_finite() && (0.0..=1000.0).contains(r)),
            ..self
        }
    }
}

/// Browser → server text messages.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ClientMessage {
    /// First message: camera metadata and the UI language.
    Hello {
        #[serde(default)]
        camera: CameraMetadata,
        #[serde(default)]
        locale: Option<String>,
        /// The person prefers reduced motion: the screen-light challenge changes colour more
        /// slowly.
        #[serde(default)]
        reduced_motion: bool,
    },
    /// The page's capture time of the next binary frame, in milliseconds on the page's clock
    /// (`performance.now()`). Sent just before the frame it describes.
    FrameTime { t_ms: f64 },
    /// Colour `index` of the current [`ServerMessage::Light`] sequence was painted at `t_ms`
    /// (same clock as [`ClientMessage::FrameTime`]); `index` equal to the sequence's length
    /// means the light went back off.
    LightShown { index: u32, t_ms: f64 },
    /// The person gave up.
    Cancel,
}

/// Where the face is relative to what the engine needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FaceStatus {
    Ok,
    NoFace,
    MultipleFaces,
    TooFar,
    TooClose,
    OffCenter,
    TooDark,
    TooBright,
    Blurry,
    NotFrontal,
}

impl FaceStatus {
    pub const ALL: [FaceStatus; 10] = [
        FaceStatus::Ok,
        FaceStatus::NoFace,
        FaceStatus::MultipleFaces,
        FaceStatus::TooFar,
        FaceStatus::TooClose,
        FaceStatus::OffCenter,
        FaceStatus::TooDark,
        FaceStatus::TooBright,
        FaceStatus::Blurry,
        FaceStatus::NotFrontal,
    ];

    /// The wire value.
    pub fn as_str(self) -> &'static str {
        match self {
            FaceStatus::Ok => "ok",
            FaceStatus::NoFace => "no_face",
            FaceStatus::MultipleFaces => "multiple_faces",
            FaceStatus::TooFar => "too_far",
            FaceStatus::TooClose => "too_close",
            FaceStatus::OffCenter => "off_center",
            FaceStatus::TooDark => "too_dark",
            FaceStatus::TooBright => "too_bright",
            FaceStatus::Blurry => "blurry",
            FaceStatus::NotFrontal => "not_frontal",
        }
    }
}

/// A face box in the coordinates of the frame the browser sent.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct FaceBox {
    pub left: f32,
    pub top: f32,
    pub width: f32,
    pub height: f32,
}

/// Server → browser messages.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ServerMessage {
    /// The session is open; `challenges` is 0 in passive mode.
    Ready { mode: Mode, challenges: u32 },
    /// Guidance about the face in the latest analysed frame.
    Face {
        status: FaceStatus,
        #[serde(rename = "box", default, skip_serializing_if = "Option::is_none")]
        face_box: Option<FaceBox>,
        frame_width: u32,
        frame_height: u32,
    },
    /// The current challenge.
    Challenge {
        kind: ChallengeKind,
        index: u32,
        total: u32,
        seconds_left: f32,
    },
    /// The challenge at `index` was met.
    ChallengePassed { kind: ChallengeKind, index: u32 },
    /// Overall progress in [0, 1].
    Progress { value: f32 },
    /// The screen-light challenge: paint the screen around the oval with `colors` (`#rrggbb`),
    /// one after another, each for `step_ms`, starting now, then go back to normal; report each
    /// change with [`ClientMessage::LightShown`]. A new `light` replaces one under way.
    Light { colors: Vec<String>, step_ms: u32 },
    /// Capture is over; the verdict is being computed.
    Analyzing,
    /// The final answer. `redirect` is set for managed sessions.
    Verdict {
        verdict: Verdict,
        confidence: f64,
        reasons: Vec<crate::reason::Reason>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        redirect: Option<String>,
    },
    /// Something went wrong; `code` is stable.
    Error { code: String, message: String },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn camera_metadata_is_bounded() {
        let cam = CameraMetadata {
            label: Some("é".repeat(1_000_000)),
            frame_rate: Some(f64::INFINITY),
            facing_mode: Some("user".into()),
            ..Default::default()
        }
        .bounded();
        assert_eq!(
            cam.label.unwrap().chars().count(),
            CameraMetadata::MAX_LABEL_CHARS
        );
        assert_eq!(cam.frame_rate, None);
        assert_eq!(cam.facing_mode.as_deref(), Some("user"));
    }

    #[test]
    fn messages_are_tagged_by_type() {
        let msg = ServerMessage::Ready {
            mode: Mode::Passive,
            challenges: 0,
        };
        let json = serde_json::to_value(&msg).unwrap();
        assert_eq!(json["type"], "ready");
        assert_eq!(json["mode"], "passive");

        let hello: ClientMessage =
            serde_json::from_str(r#"{"type":"hello","camera":{"width":640,"height":480}}"#)
                .unwrap();
        assert!(matches!(hello, ClientMessage::Hello { camera, .. } if camera.width == Some(640)));
    }
}
