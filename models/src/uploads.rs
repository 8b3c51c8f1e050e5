//! Faces in uploaded photos: BlazeFace first, as for camera frames but on tiles of the photo too
//! ([`crate::tiled`], for small faces in large photos); where it finds no face, the second
//! detector ([`crate::nets::ultraface`]), which finds faces that BlazeFace's selfie-range
//! training misses (heads turned to profile, old grey prints). Each
//! of its boxes then goes through FaceMesh like a BlazeFace detection, so that every face found
//! carries the same landmarks and measures.
//!
//! FaceMesh's own face-presence flag is not required there: the second detector has already
//! decided that a face is present, and FaceMesh, trained on faces that look at the camera, scores
//! a face in profile near 0 (0.01 on the soldier of the identity set, at any crop and rotation)
//! while still placing its points on it. Its `mesh_score` is reported as measured, so a client
//! can tell such a face, whose landmarks, pose and descriptor are rough, from a frontal one.

use candle_core::Result;
use image::RgbImage;

use crate::analysis::{AnalyzeOptions, Face, FaceModels};
use crate::tracking::Region;

/// The second detector's input: the photo scaled so that its longer side has this many pixels
/// (its priors cover faces of 10–256 input pixels, so a face of 1.5 % to 40 % of that side).
pub const FALLBACK_LONG_SIDE: usize = 640;
/// Its minimum face probability. Stricter than the package's own 0.65: the cat of the fixture
/// photos scores 0.82 (FaceMesh, which would reject it on a BlazeFace box, cannot here: see the
/// module docs); the soldier 0.96, the faces of the other photos 0.99–1.0.
pub const FALLBACK_MIN_SCORE: f32 = 0.9;
/// FaceMesh's crop around one of its boxes, as a multiple of the box's longer side. Its boxes
/// run from brow to chin, tighter than BlazeFace's (which are enlarged 1.4×).
const FALLBACK_CROP_SCALE: f32 = 1.3;

impl FaceModels {
    /// The faces of an uploaded photo (see the module docs), best detector score first.
    pub fn analyze_upload(&self, img: &RgbImage, opts: &AnalyzeOptions) -> Result<Vec<Face>> {
        let faces = self.analyze_any_size(img, opts)?;
        if !faces.is_empty() || img.width() == 0 || img.height() == 0 {
            return Ok(faces);
        }
        let found =
            self.fallback
                .detect(img, FALLBACK_LONG_SIDE, FALLBACK_MIN_SCORE, opts.max_faces)?;
        let any_mesh = AnalyzeOptions {
            min_mesh_score: 0.0,
            ..*opts
        };
        let mut out = Vec::new();
        for d in found {
            let (w, h) = (d.end[0] - d.start[0], d.end[1] - d.start[1]);
            let region = Region {
                center: [d.start[0] + w / 2.0, d.start[1] + h / 2.0],
                side: w.max(h) * FALLBACK_CROP_SCALE,
                angle: 0.0,
            };
            let Some(first) = self.analyze_region(img, &region, d.score, &any_mesh)? else {
                continue;
            };
            // A second pass on the region the tracker would follow from these landmarks levels a
            // tilted head for FaceMesh, as on camera frames; kept where FaceMesh likes it better.
            let refined = Region::from_landmarks(&first.landmarks);
            let second = self.analyze_region(img, &refined, d.score, &any_mesh)?;
            out.push(match second {
                Some(s) if s.mesh_score > first.mesh_score => s,
                _ => first,
            });
        }
        Ok(out)
    }
}
