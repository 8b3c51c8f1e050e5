//! Tracking across the frames of one capture, as MediaPipe's face mesh does: the detector runs
//! only when it must, and otherwise each face's mesh region comes from its landmarks in the
//! previous frame.
//!
//! [`FaceModels::analyze_tracked`] runs the detector (the whole [`FaceModels::analyze`]) when
//!
//! - no face is tracked yet (the first frame, or every face was lost),
//! - a tracked face's mesh face-presence score dropped below
//!   [`AnalyzeOptions::min_mesh_score`] (the face left its region: it moved too fast, turned
//!   away or left), — the detector then runs on that same frame, so no frame goes without a
//!   face that the detector would have found —
//! - [`FaceTracker::check_every`] frames have passed since the last detection: a check for
//!   faces that entered the frame (MediaPipe with one face never checks; iLive counts faces for
//!   the `multiple_faces` guidance and the face-consistency layer).
//!
//! Between detections a face keeps the detector score of the detection that found it.

use image::RgbImage;

use crate::analysis::{AnalyzeOptions, Face, FaceModels};
use crate::face::Landmarks;
use crate::nets::blazeface::Detection;

/// The detector box is enlarged this much (and squared) for the mesh's crop, as Human does.
const DETECTION_SCALE: f32 = 1.4;
/// The landmarks' extent (in the face's upright frame) is enlarged this much for the next
/// frame's crop: measured to give the crop the detector's ×1.4 box gives (0.96–1.02 of its side
/// on the test photos, `models/tests/tracking.rs`).
pub const LANDMARKS_SCALE: f32 = 1.36;
/// Two tracks whose landmark boxes overlap more than this follow one face; one is dropped.
const SAME_FACE_IOU: f32 = 0.5;

/// A square, rotated region of the frame that FaceMesh reads at 192².
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Region {
    /// Centre, in image pixels.
    pub center: [f32; 2],
    /// Side, in image pixels.
    pub side: f32,
    /// Rotation in radians: the crop's x axis points along `(cos, sin)` in the image.
    pub angle: f32,
}

impl Region {
    /// From a detection: its box enlarged ×1.4 and squared, rotated so its eye keypoints are
    /// level.
    pub fn from_detection(det: &Detection) -> Self {
        let center = [
            (det.start[0] + det.end[0]) / 2.0,
            (det.start[1] + det.end[1]) / 2.0,
        ];
        let side = (det.end[0] - det.start[0]).max(det.end[1] - det.start[1]) * DETECTION_SCALE;
        let [re, le] = [det.keypoints[0], det.keypoints[1]];
        Self {
            center,
            side,
            angle: (le[1] - re[1]).atan2(le[0] - re[0]),
        }
    }

    /// The square that holds a face's landmarks in the face's upright frame (the eye line
    /// level): the descriptor's crop, and the tracker's before its enlargement.
    pub fn upright(lm: &Landmarks) -> Self {
        let [right_eye, left_eye] = lm.eye_centres();
        let angle = (left_eye[1] - right_eye[1]).atan2(left_eye[0] - right_eye[0]);
        let (sin, cos) = angle.sin_cos();
        let (mut u0, mut v0, mut u1, mut v1) = (f32::MAX, f32::MAX, f32::MIN, f32::MIN);
        for p in lm.iter() {
            let u = p[0] * cos + p[1] * sin;
            let v = -p[0] * sin + p[1] * cos;
            u0 = u0.min(u);
            u1 = u1.max(u);
            v0 = v0.min(v);
            v1 = v1.max(v);
        }
        let (cu, cv) = ((u0 + u1) / 2.0, (v0 + v1) / 2.0);
        Self {
            center: [cu * cos - cv * sin, cu * sin + cv * cos],
            side: (u1 - u0).max(v1 - v0),
            angle,
        }
    }

    /// From a face's landmarks: [`upright`](Self::upright) enlarged ×[`LANDMARKS_SCALE`].
    pub fn from_landmarks(lm: &Landmarks) -> Self {
        let r = Self::upright(lm);
        Self {
            side: r.side * LANDMARKS_SCALE,
            ..r
        }
    }
}

/// One face followed from frame to frame.
#[derive(Debug, Clone)]
struct Track {
    region: Region,
    score: f32,
}

/// The tracking state of one capture (one camera stream); see the module docs for the rule.
#[derive(Debug, Clone)]
pub struct FaceTracker {
    tracks: Vec<Track>,
    since_detection: u32,
    /// Run the detector at least every this many frames (≥ 1; 1 detects on every frame).
    pub check_every: u32,
    /// Frames on which the detector ran, and frames analysed (for benchmarks and logs).
    pub detections: u64,
    pub frames: u64,
}

impl Default for FaceTracker {
    /// A check every 12 frames: once a second at the page's 12 frames per second.
    fn default() -> Self {
        Self::new(12)
    }
}

impl FaceTracker {
    /// Nothing tracked yet; the detector runs at least every `check_every` frames.
    pub fn new(check_every: u32) -> Self {
        Self {
            tracks: Vec::new(),
            since_detection: 0,
            check_every: check_every.max(1),
            detections: 0,
            frames: 0,
        }
    }

    /// How many faces are being tracked.
    pub fn tracked(&self) -> usize {
        self.tracks.len()
    }

    fn needs_detection(&self) -> bool {
        self.tracks.is_empty() || self.since_detection + 1 >= self.check_every
    }

    /// Follows `faces` (best first) into the next frame; of two faces whose boxes overlap more
    /// than [`SAME_FACE_IOU`] (two tracks that converged on one face) only the first is kept.
    /// Returns the faces kept.
    fn follow(&mut self, faces: Vec<Face>) -> Vec<Face> {
        self.tracks.clear();
        let mut kept: Vec<Face> = Vec::with_capacity(faces.len());
        for f in faces {
            if kept.iter().any(|k| k.bbox.iou(&f.bbox) > SAME_FACE_IOU) {
                continue;
            }
            self.tracks.push(Track {
                region: Region::from_landmarks(&f.landmarks),
                score: f.score,
            });
            kept.push(f);
        }
        kept
    }
}

impl FaceModels {
    /// [`FaceModels::analyze`] for a frame of a stream, with `tracker` carrying the faces from
    /// the stream's previous frame (see the module docs for when the detector runs).
    pub fn analyze_tracked(
        &self,
        img: &RgbImage,
        opts: &AnalyzeOptions,
        tracker: &mut FaceTracker,
    ) -> candle_core::Result<Vec<Face>> {
        tracker.frames += 1;
        if img.width() == 0 || img.height() == 0 {
            tracker.tracks.clear();
            return Ok(Vec::new());
        }
        if !tracker.needs_detection() {
            let mut faces = Vec::with_capacity(tracker.tracks.len());
            let mut lost = false;
            for t in &tracker.tracks {
                match self.analyze_region(img, &t.region, t.score, opts)? {
                    Some(face) => faces.push(face),
                    None => lost = true,
                }
            }
            if !lost {
                tracker.since_detection += 1;
                return Ok(tracker.follow(faces));
            }
        }
        let faces = self.analyze(img, opts)?;
        tracker.detections += 1;
        tracker.since_detection = 0;
        Ok(tracker.follow(faces))
    }
}
