//! Placement guidance: what, if anything, is wrong with the face in a frame, and the reason code
//! that names it when a capture never got going.
use app::{api::Reason, ws::FaceStatus};

use super::Observation;

/// Least share of the frame's width the face's landmark box may take. The box spans ~13 cm of
/// face; a 640-px webcam (≈60° field of view) at arm's length (60–70 cm) sees it at ~20% of the
/// width; under 14% the face is too small to measure eyelids and lips reliably.
const MIN_WIDTH_SHARE: f32 = 0.14;
/// Largest share of the frame's width the face may take.
const MAX_WIDTH_SHARE: f32 = 0.7;
/// Largest offset of the face's centre from the frame's, as a share of the width and height.
const MAX_OFFSET_X: f32 = 0.2;
const MAX_OFFSET_Y: f32 = 0.22;
/// Mean luma of the face box (0–1) below which it is too dark and above which too bright.
const MIN_BRIGHTNESS: f32 = 0.2;
const MAX_BRIGHTNESS: f32 = 0.88;
/// Laplacian variance of the face crop below which it is blurred.
const MIN_SHARPNESS: f32 = 20.0;
/// Largest yaw or pitch, in degrees, of a face that looks at the camera.
const MAX_FRONTAL_DEG: f32 = 20.0;

/// Guidance for a frame; `check_pose` asks for a frontal face (not while a challenge asks for a
/// turn or a nod).
pub fn status(o: &Observation, check_pose: bool) -> FaceStatus {
    let Some(f) = &o.face else {
        return FaceStatus::NoFace;
    };
    if o.face_count > 1 {
        return FaceStatus::MultipleFaces;
    }
    let (fw, fh) = (o.frame_width as f32, o.frame_height as f32);
    let width_share = f.bbox.w / fw;
    let (cx, cy) = (f.bbox.x + f.bbox.w / 2.0, f.bbox.y + f.bbox.h / 2.0);
    if width_share < MIN_WIDTH_SHARE {
        FaceStatus::TooFar
    } else if width_share > MAX_WIDTH_SHARE {
        FaceStatus::TooClose
    } else if (cx - fw / 2.0).abs() > MAX_OFFSET_X * fw || (cy - fh / 2.0).abs() > MAX_OFFSET_Y * fh
    {
        FaceStatus::OffCenter
    } else if f.brightness < MIN_BRIGHTNESS {
        FaceStatus::TooDark
    } else if f.brightness > MAX_BRIGHTNESS {
        FaceStatus::TooBright
    } else if f.sharpness < MIN_SHARPNESS {
        FaceStatus::Blurry
    } else if check_pose
        && (f.pose.yaw.abs() > MAX_FRONTAL_DEG || f.pose.pitch.abs() > MAX_FRONTAL_DEG)
    {
        FaceStatus::NotFrontal
    } else {
        FaceStatus::Ok
    }
}

/// The reason code of a placement problem; `None` for a well-placed face.
pub fn reason(status: FaceStatus) -> Option<Reason> {
    Some(match status {
        FaceStatus::Ok => return None,
        FaceStatus::NoFace => Reason::NoFace,
        FaceStatus::TooDark => Reason::LowLight,
        FaceStatus::TooBright => Reason::Overexposed,
        FaceStatus::Blurry => Reason::Blurry,
        FaceStatus::MultipleFaces => Reason::MultipleFaces,
        FaceStatus::TooFar => Reason::FaceTooFar,
        FaceStatus::TooClose => Reason::FaceTooClose,
        FaceStatus::OffCenter => Reason::FaceOffCenter,
        FaceStatus::NotFrontal => Reason::FaceNotFrontal,
    })
}

/// The most frequent placement problem among `statuses`, as a reason code; `None` when there
/// was none. A missing face counts only with `count_missing` (after a long time without a face,
/// what went wrong while it was there is the more useful guidance). On a tie the problem later
/// in this order wins: no face, light, blur, several faces, distance, centring, pose.
pub fn most_frequent(statuses: &[FaceStatus], count_missing: bool) -> Option<Reason> {
    const ORDER: [FaceStatus; 9] = [
        FaceStatus::NoFace,
        FaceStatus::TooDark,
        FaceStatus::TooBright,
        FaceStatus::Blurry,
        FaceStatus::MultipleFaces,
        FaceStatus::TooFar,
        FaceStatus::TooClose,
        FaceStatus::OffCenter,
        FaceStatus::NotFrontal,
    ];
    ORDER
        .iter()
        .filter(|s| count_missing || **s != FaceStatus::NoFace)
        .map(|s| (statuses.iter().filter(|x| *x == s).count(), *s))
        .filter(|(n, _)| *n > 0)
        .max_by_key(|(n, _)| *n)
        .and_then(|(_, s)| reason(s))
}
