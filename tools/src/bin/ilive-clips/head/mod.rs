//! The live head: a still photo turned into a deformable, rotatable 3-D face from our own
//! FaceMesh landmarks, rendered by piecewise-affine warping.
//!
//! - **Framing** ([`Subject::frame`]): the photo is rotated so the eyes are level and scaled and
//!   cropped to the clip size with the eyes at a fixed place and spacing (so two people can be
//!   framed alike for the swap clip); the framed picture is analysed again, and those landmarks
//!   are the rest pose.
//! - **Rig** ([`Rig::new`]): control points = the 468 landmarks (depth from FaceMesh's z, which
//!   is in the same pixel units as x and y) + three rings around the face oval that follow the
//!   head partially (hair, ears, neck) + fixed points beyond the frame border (the room). A
//!   Delaunay triangulation of their rest positions is the warp mesh.
//! - **Expressions**: linear displacement fields of the landmarks at full strength — eyelids
//!   closed (blink), mouth corners out and up (smile), jaw dropped (mouth open) — scaled per
//!   frame.
//! - **Pose**: the deformed 3-D landmarks are rotated about a pivot behind the face (yaw, pitch,
//!   roll) and projected orthographically; the depth differences between nose, cheeks and face
//!   edge give real parallax, which is exactly what a planar print lacks (`docs/architecture.md`,
//!   "The verification layers", 2).
//! - **Drawing**: background triangles first, then face triangles from far to near (painter's
//!   algorithm), so the near cheek hides the far one when the head turns; an open mouth's
//!   interior is painted dark with a hint of teeth.

mod expressions;
mod framing;
mod rig;
#[cfg(test)]
mod tests;

pub use framing::{Placement, Subject};
pub use rig::{CameraState, HeadState, Rig};

/// The 36 points of the face's outline, in order around the face.
pub const FACE_OVAL: [usize; 36] = [
    10, 338, 297, 332, 284, 251, 389, 356, 454, 323, 361, 288, 397, 365, 379, 378, 400, 377, 152,
    148, 176, 149, 150, 136, 172, 58, 132, 93, 234, 127, 162, 21, 54, 103, 67, 109,
];
/// Eyelid contours from the outer corner to the inner corner (the subject's right eye is on the
/// image's left). The EAR points of `models` (160/144, 158/153 and 387/373, 385/380) are on them.
pub const RIGHT_UPPER_LID: [usize; 9] = [33, 246, 161, 160, 159, 158, 157, 173, 133];
pub const RIGHT_LOWER_LID: [usize; 9] = [33, 7, 163, 144, 145, 153, 154, 155, 133];
pub const LEFT_UPPER_LID: [usize; 9] = [263, 466, 388, 387, 386, 385, 384, 398, 362];
pub const LEFT_LOWER_LID: [usize; 9] = [263, 249, 390, 373, 374, 380, 381, 382, 362];
/// Inner lip contours from the subject's right mouth corner to the left one.
pub const UPPER_INNER_LIP: [usize; 11] = [78, 191, 80, 81, 82, 13, 312, 311, 310, 415, 308];
pub const LOWER_INNER_LIP: [usize; 11] = [78, 95, 88, 178, 87, 14, 317, 402, 318, 324, 308];
pub const UPPER_OUTER_LIP: [usize; 11] = [61, 185, 40, 39, 37, 0, 267, 269, 270, 409, 291];
pub const LOWER_OUTER_LIP: [usize; 11] = [61, 146, 91, 181, 84, 17, 314, 405, 321, 375, 291];
/// Points at the side of the face near the ears: the yaw pivot lies at about their depth.
pub const CHEEK_SIDES: [usize; 2] = [234, 454];
