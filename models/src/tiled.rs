//! Detection at any image size, for uploaded photos.
//!
//! The detector (BlazeFace, short range) sees the whole image letterboxed into 128×128 pixels:
//! right for a camera frame, where the face fills a good part of the view, but a face under
//! about a tenth of a large photo's longer side shrinks below the dozen input pixels the
//! detector needs — the small faces of group photos, the distant face of an old print. So
//! uploads also get a tiled pass: the image is cut into overlapping square tiles at two finer
//! scales (a half and a quarter of the longer side), each tile is seen at 128×128 like a
//! frame, and the detections of every tile and of the whole image are merged.
//!
//! Tiles overlap by half their side, so a face smaller than half a tile lies wholly inside one
//! of them; a detection that touches a tile's inner border is a cut face, whole in a
//! neighbouring tile or at the coarser scale, and is dropped, as is one larger than half its
//! tile. FaceMesh then checks every face found, as for frames
//! ([`crate::AnalyzeOptions::min_mesh_score`]), which turns away the detector's false alarms.
//! Grey photos need nothing special: they are decoded to three equal channels.
use candle_core::Result;
use image::RgbImage;

use crate::{
    analysis::{AnalyzeOptions, Face, FaceModels},
    face::FaceBox,
    imageops::{sample, to_tensor, Affine},
    nets::blazeface::{self, nms, Detection},
};

/// Tile sides, as fractions of the image's longer side.
const SCALES: [f32; 2] = [0.5, 0.25];
/// No tile smaller than this (in image pixels): it would only magnify pixels.
const MIN_TILE: f32 = 160.0;
/// A detection within this share of its tile's side from an inner border is a cut face.
const BORDER: f32 = 0.02;
/// Detections per tile before merging.
const PER_TILE: usize = 16;

/// Where tiles of `side` start along an axis of `len` pixels, half a side apart, the last one
/// flush with the end.
fn starts(len: f32, side: f32) -> Vec<f32> {
    if len <= side {
        return vec![0.0];
    }
    let step = side / 2.0;
    let n = ((len - side) / step).ceil() as usize;
    (0..=n).map(|i| (i as f32 * step).min(len - side)).collect()
}

/// Whether `d`, found in the tile at `(x0, y0)` of `side`, is whole: clear of every tile border
/// that is not the image's own, and no larger than half the tile.
fn whole(d: &Detection, x0: f32, y0: f32, side: f32, w: f32, h: f32) -> bool {
    let m = BORDER * side;
    let (x1, y1) = (x0 + side, y0 + side);
    let clear = (x0 <= 0.0 || d.start[0] > x0 + m)
        && (y0 <= 0.0 || d.start[1] > y0 + m)
        && (x1 >= w || d.end[0] < x1 - m)
        && (y1 >= h || d.end[1] < y1 - m);
    let size = (d.end[0] - d.start[0]).max(d.end[1] - d.start[1]);
    clear && size <= side / 2.0
}

impl FaceModels {
    /// The detections of the whole image and of its tiles, merged (see the module docs).
    pub fn detect_any_size(&self, img: &RgbImage, opts: &AnalyzeOptions) -> Result<Vec<Detection>> {
        let mut found = self.detect(img, opts)?;
        let (w, h) = (img.width() as f32, img.height() as f32);
        let long = w.max(h);
        let n = blazeface::INPUT_SIZE;
        for scale in SCALES {
            let side = long * scale;
            if side < MIN_TILE {
                break;
            }
            for y0 in starts(h, side) {
                for x0 in starts(w, side) {
                    let center = [x0 + side / 2.0, y0 + side / 2.0];
                    let map = Affine::square_crop(center, side, 0.0, n);
                    let input = to_tensor(sample(img, &map, n, n), n, n, 1.0 / 127.5, -1.0)?;
                    for d in self
                        .detector()
                        .detect(&input, opts.min_score, 0.3, PER_TILE)?
                    {
                        let d = Detection {
                            score: d.score,
                            start: map.apply(d.start),
                            end: map.apply(d.end),
                            keypoints: d.keypoints.map(|k| map.apply(k)),
                        };
                        if whole(&d, x0, y0, side, w, h) {
                            found.push(d);
                        }
                    }
                }
            }
        }
        Ok(nms(found, 0.3, opts.max_faces.max(PER_TILE)))
    }

    /// [`FaceModels::analyze`] over [`FaceModels::detect_any_size`]'s detections: every face of
    /// a photo, however small its share of it, largest detector score first.
    pub fn analyze_any_size(&self, img: &RgbImage, opts: &AnalyzeOptions) -> Result<Vec<Face>> {
        if img.width() == 0 || img.height() == 0 {
            return Ok(Vec::new());
        }
        let mut faces = Vec::new();
        for det in self.detect_any_size(img, opts)? {
            if faces.len() >= opts.max_faces {
                break;
            }
            if let Some(face) = self.analyze_detection(img, &det, opts)? {
                // Two detections of one face at different scales can overlap too little for
                // the detector's suppression, yet the meshes show one face: a face whose centre
                // lies in a better one already kept is that face again.
                if !faces
                    .iter()
                    .any(|kept: &Face| contains_centre(&kept.bbox, &face.bbox))
                {
                    faces.push(face);
                }
            }
        }
        Ok(faces)
    }
}

/// Whether the centre of `b` lies inside `a`.
fn contains_centre(a: &FaceBox, b: &FaceBox) -> bool {
    let (cx, cy) = (b.x + b.w / 2.0, b.y + b.h / 2.0);
    (a.x..=a.x + a.w).contains(&cx) && (a.y..=a.y + a.h).contains(&cy)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tiles_cover_the_axis_with_half_overlap() {
        assert_eq!(starts(100.0, 160.0), [0.0]);
        assert_eq!(starts(400.0, 200.0), [0.0, 100.0, 200.0]);
        // The last tile is flush with the end.
        assert_eq!(starts(450.0, 200.0), [0.0, 100.0, 200.0, 250.0]);
    }

    #[test]
    fn cut_faces_are_dropped_unless_at_the_image_edge() {
        let det = |x0: f32, y0: f32, s: f32| Detection {
            score: 0.9,
            start: [x0, y0],
            end: [x0 + s, y0 + s],
            keypoints: [[0.0; 2]; 6],
        };
        // A tile at (100, 100) of side 200 inside a 1000×1000 image.
        assert!(whole(
            &det(150.0, 150.0, 50.0),
            100.0,
            100.0,
            200.0,
            1000.0,
            1000.0
        ));
        assert!(!whole(
            &det(100.5, 150.0, 50.0),
            100.0,
            100.0,
            200.0,
            1000.0,
            1000.0
        ));
        assert!(!whole(
            &det(150.0, 150.0, 149.0),
            100.0,
            100.0,
            200.0,
            1000.0,
            1000.0
        ));
        // At the image's own border a face may touch the tile's edge.
        assert!(whole(&det(0.0, 0.0, 50.0), 0.0, 0.0, 200.0, 1000.0, 1000.0));
    }
}
