//! REST bodies of the face routes (docs/api.md): detection, comparison and the operating
//! points that name a comparison's threshold.
use serde::{Deserialize, Serialize};

#[cfg(feature = "ssr")]
use utoipa::ToSchema;

/// A face's box in pixels of the upright image (EXIF orientation applied), clamped to the image.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(ToSchema))]
pub struct FaceBoundingBox {
    pub left: u32,
    pub top: u32,
    pub width: u32,
    pub height: u32,
}

/// A face-comparison threshold named by the false-match rate measured for it (docs/api.md,
/// "Operating points"): `fmr_1e-3` accepts about one pair of different people in 1,000.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(ToSchema))]
pub enum OperatingPoint {
    /// About 1 false match in 100 pairs of different people.
    #[serde(rename = "fmr_1e-2")]
    Fmr1e2,
    /// About 1 in 1,000: the default.
    #[default]
    #[serde(rename = "fmr_1e-3")]
    Fmr1e3,
    /// About 1 in 10,000.
    #[serde(rename = "fmr_1e-4")]
    Fmr1e4,
}

impl OperatingPoint {
    pub const ALL: [OperatingPoint; 3] = [Self::Fmr1e2, Self::Fmr1e3, Self::Fmr1e4];

    /// The name in requests and results.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Fmr1e2 => "fmr_1e-2",
            Self::Fmr1e3 => "fmr_1e-3",
            Self::Fmr1e4 => "fmr_1e-4",
        }
    }

    /// The operating point of that name.
    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|p| p.as_str() == name)
    }

    /// The false-match rate it is named for.
    pub fn target_fmr(self) -> f64 {
        match self {
            Self::Fmr1e2 => 1e-2,
            Self::Fmr1e3 => 1e-3,
            Self::Fmr1e4 => 1e-4,
        }
    }
}

/// `POST /api/v2/faces:compare` and `POST /api/v1/session/{id}/compare`: whether two faces are
/// the same person.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(ToSchema))]
pub struct CompareResponse {
    /// 0 (different people) to 1 (same person), 4 decimals; see the README for the mapping from
    /// descriptor distance.
    pub similarity: f64,
    /// `similarity >= threshold`.
    pub is_match: bool,
    /// The threshold applied: the request's, or its operating point's.
    pub threshold: f64,
    /// The named operating point whose threshold was applied; `null` when the request gave a
    /// raw `threshold`.
    #[serde(default)]
    pub operating_point: Option<OperatingPoint>,
    /// The largest face in the source image (for a session: in the verified photo).
    pub source_face: FaceBoundingBox,
    /// The largest face in the target image.
    pub target_face: FaceBoundingBox,
}

/// Width and height in pixels of the upright image.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(ToSchema))]
pub struct ImageSize {
    pub width: u32,
    pub height: u32,
}

/// A named facial point in image pixels. `left`/`right` are the subject's own sides (the
/// subject's left eye appears on the image's right).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(ToSchema))]
pub struct FaceLandmark {
    /// `left_eye`, `right_eye`, `nose_tip`, `mouth_left`, `mouth_right`, `upper_lip`,
    /// `lower_lip`, `chin`, `forehead`.
    #[serde(rename = "type")]
    pub kind: String,
    pub x: f32,
    pub y: f32,
}

/// Head pose in degrees: `yaw > 0` the subject turns to their left, `pitch > 0` looks up,
/// `roll > 0` tilts toward their left shoulder.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(ToSchema))]
pub struct FacePose {
    pub roll: f32,
    pub yaw: f32,
    pub pitch: f32,
}

/// A yes/no attribute with the confidence (0.5–1) of the answer; `value` is `null` (and
/// `confidence` 0) when the attribute is not measured.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(ToSchema))]
pub struct BoolAttribute {
    pub value: Option<bool>,
    pub confidence: f32,
}

/// Per-face attributes (`attributes=default` or `all`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(ToSchema))]
pub struct FaceAttributes {
    pub pose: FacePose,
    /// Mean luma of the face box, 0 (black) to 1 (white).
    pub brightness: f32,
    /// Laplacian variance of the aligned face in 8-bit grey levels²: sharp faces score in the
    /// hundreds, blurred ones below ~30.
    pub sharpness: f32,
    pub eyes_open: BoolAttribute,
    pub mouth_closed: BoolAttribute,
    /// Only with `attributes=all`; `value` is `null`: not measured by the current models.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub eyeglasses: Option<BoolAttribute>,
}

/// One face found by `POST /api/v2/faces:detect`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(ToSchema))]
pub struct DetectedFace {
    pub bounding_box: FaceBoundingBox,
    /// Detector score, 0–1.
    pub confidence: f32,
    pub landmarks: Vec<FaceLandmark>,
    /// Absent with `attributes=none`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attributes: Option<FaceAttributes>,
}

/// `POST /api/v2/faces:detect`: every face, largest first.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(ToSchema))]
pub struct DetectResponse {
    pub faces: Vec<DetectedFace>,
    pub image_size: ImageSize,
}
