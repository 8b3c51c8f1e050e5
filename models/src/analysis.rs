//! Per-frame face analysis: the stable API the server's liveness engine calls.
//!
//! [`FaceModels::load`] reads every network once from a directory of `.safetensors` files
//! (written by `bash scripts/models/setup.sh`); [`FaceModels::analyze`] turns one RGB frame into
//! a [`Face`] per detected face:
//!
//! 1. **Detect**: the frame is letterboxed (centred, padded with black, not stretched) to 256²
//!    and run through BlazeFace; scores ≥ [`AnalyzeOptions::min_score`], NMS at IoU 0.3.
//! 2. **Crop**: as Human does, the detector box is enlarged ×1.4 and squared; the crop is also
//!    rotated so that the detector's eye line is horizontal, then sampled at 192².
//! 3. **Mesh**: FaceMesh on the crop; its 468 points are mapped back to image pixels through the
//!    same transform (z is scaled like x and y; larger z = farther from the camera).
//! 4. **Measure**: pose, eye aspect ratios, mouth ratios, brightness, sharpness (see [`Face`]).
//! 5. **On request**: Emotion (smile), AntiSpoof, and the 128-d face descriptor.

use std::path::{Path, PathBuf};

use candle_core::{DType, Device, Result, Tensor};
use candle_nn::VarBuilder;
use image::RgbImage;
use serde::Serialize;

use crate::imageops::{laplacian_variance, luma, sample, to_nchw, Affine};
use crate::layers::Depthwise;
use crate::nets::{antispoof, blazeface, emotion, face_recognition, facemesh};

/// The command that creates the weight files.
pub const SETUP_COMMAND: &str = "bash scripts/models/setup.sh";

/// Why the networks could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// A weights file is missing from the models directory.
    #[error("model weights {path} not found: run `{SETUP_COMMAND}` (it writes to $ILIVE_MODELS_DIR, default ~/.cache/ilive/models)")]
    Missing { path: PathBuf },
    /// A weights file exists but cannot be read or lacks the tensors the network needs.
    #[error("model weights {path} are unreadable or corrupt ({source}): delete the file and run `{SETUP_COMMAND}`")]
    Corrupt {
        path: PathBuf,
        #[source]
        source: candle_core::Error,
    },
}

/// Why a JPEG frame could not be analysed.
#[derive(Debug, thiserror::Error)]
pub enum AnalyzeError {
    /// The bytes are not a decodable image.
    #[error("cannot decode the frame: {0}")]
    Decode(#[from] image::ImageError),
    /// Inference failed (an internal error).
    #[error("face analysis failed: {0}")]
    Inference(#[from] candle_core::Error),
}

/// What to compute beyond detection, mesh and the cheap measurements.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AnalyzeOptions {
    /// Run AntiSpoof (fills [`Face::anti_spoof`]).
    pub anti_spoof: bool,
    /// Compute the 128-d descriptor (fills [`Face::embedding`]).
    pub embedding: bool,
    /// Run the expression network (fills [`Face::smile`]).
    pub emotion: bool,
    /// At most this many faces, best detector score first.
    pub max_faces: usize,
    /// Minimum detector score in `[0, 1]`.
    pub min_score: f32,
    /// Minimum FaceMesh face-presence probability; detections below it are dropped (BlazeFace
    /// alone fires on some animal faces, which FaceMesh rejects with ~0.01).
    pub min_mesh_score: f32,
}

impl Default for AnalyzeOptions {
    fn default() -> Self {
        Self {
            anti_spoof: false,
            embedding: false,
            emotion: false,
            max_faces: 4,
            min_score: 0.5,
            min_mesh_score: 0.5,
        }
    }
}

/// An axis-aligned box in image pixels.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct FaceBox {
    pub x: f32,
    pub y: f32,
    pub w: f32,
    pub h: f32,
}

/// Head pose in degrees, for an unmirrored camera frame.
///
/// - `yaw > 0`: the subject turns their head to **their own left** (the nose moves toward the
///   image's right edge).
/// - `pitch > 0`: the subject looks **up** (chin raised).
/// - `roll > 0`: the head tilts toward the subject's **left shoulder** (clockwise as seen on
///   screen: the eye on the image's right is lower).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct HeadPose {
    pub yaw: f32,
    pub pitch: f32,
    pub roll: f32,
}

/// Per-eye values; `left`/`right` are the **subject's** sides (the subject's left eye appears on
/// the image's right in an unmirrored frame).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct EyePair {
    pub left: f32,
    pub right: f32,
}

/// Output of the AntiSpoof network: a weak signal (ROC AUC ≈ 0.66 on real attacks), one among
/// several (see `docs/architecture.md`).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct AntiSpoofScores {
    /// AntiSpoof's sigmoid "real" score in `[0, 1]`.
    pub antispoof_real: f32,
}

/// A 128-d face descriptor; compare with [`embedding_distance`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Embedding(pub [f32; face_recognition::DIM]);

impl Serialize for Embedding {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        self.0.as_slice().serialize(s)
    }
}

/// Euclidean distance between two descriptors; dlib's same-person cut-off is 0.6.
pub fn embedding_distance(a: &Embedding, b: &Embedding) -> f32 {
    a.0.iter()
        .zip(b.0.iter())
        .map(|(x, y)| (x - y) * (x - y))
        .sum::<f32>()
        .sqrt()
}

/// Everything measured on one face in one frame.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Face {
    /// Bounding box of the 468 landmarks, in image pixels.
    pub bbox: FaceBox,
    /// BlazeFace score in `[0, 1]`.
    pub score: f32,
    /// FaceMesh's face-presence probability for the crop, in `[0, 1]`.
    pub mesh_score: f32,
    /// 468 MediaPipe landmarks `[x, y, z]` in image pixels (z relative, larger = farther).
    pub landmarks: Vec<[f32; 3]>,
    /// Head pose (sign conventions on [`HeadPose`]).
    pub pose: HeadPose,
    /// Eye aspect ratio (Soukupová & Čech 2016) from six mesh points per eye: ~0.25–0.35 open,
    /// below ~0.2 closed.
    pub eye_aspect_ratio: EyePair,
    /// Inner-lip gap divided by mouth width (mesh 13–14 over 61–291): ~0 closed, > 0.3 open.
    pub mouth_open_ratio: f32,
    /// Mouth width (61–291) divided by the distance between the eye centres; grows with a smile.
    pub mouth_width_ratio: f32,
    /// Emotion network's "happy" probability, when [`AnalyzeOptions::emotion`].
    pub smile: Option<f32>,
    /// Mean Rec. 601 luma of the face box, 0 (black) to 1 (white).
    pub brightness: f32,
    /// Variance of the 4-neighbour Laplacian of the 192×192 grey aligned face crop, in 8-bit
    /// grey levels² (OpenCV's scale): sharp webcam faces score in the hundreds, blurred ones
    /// below ~30.
    pub sharpness: f32,
    /// The two anti-spoof networks' scores, when [`AnalyzeOptions::anti_spoof`].
    pub anti_spoof: Option<AntiSpoofScores>,
    /// The 128-d descriptor, when [`AnalyzeOptions::embedding`].
    pub embedding: Option<Embedding>,
}

/// All networks, loaded once; `Send + Sync`, so one instance serves every worker thread.
#[derive(Debug, Clone)]
pub struct FaceModels {
    detector: blazeface::BlazeFace,
    mesh: facemesh::FaceMesh,
    antispoof: antispoof::AntiSpoof,
    emotion: emotion::Emotion,
    descriptor: face_recognition::FaceRecognition,
}

/// Loads `<dir>/<stem>.safetensors` into a `VarBuilder`.
pub fn load_weights(dir: &Path, stem: &str) -> std::result::Result<VarBuilder<'static>, LoadError> {
    let path = dir.join(format!("{stem}.safetensors"));
    if !path.is_file() {
        return Err(LoadError::Missing { path });
    }
    let tensors = candle_core::safetensors::load(&path, &Device::Cpu).map_err(|source| {
        LoadError::Corrupt {
            path: path.clone(),
            source,
        }
    })?;
    Ok(VarBuilder::from_tensors(tensors, DType::F32, &Device::Cpu))
}

fn build<T>(
    dir: &Path,
    stem: &str,
    f: impl FnOnce(VarBuilder<'static>) -> Result<T>,
) -> std::result::Result<T, LoadError> {
    let vb = load_weights(dir, stem)?;
    f(vb).map_err(|source| LoadError::Corrupt {
        path: dir.join(format!("{stem}.safetensors")),
        source,
    })
}

/// Mesh indices of the six EAR points per eye: outer corner, two upper-lid points, inner
/// corner, two lower-lid points (p1…p6 of Soukupová & Čech).
const RIGHT_EYE: [usize; 6] = [33, 160, 158, 133, 153, 144];
const LEFT_EYE: [usize; 6] = [263, 387, 385, 362, 380, 373];
const LIP_UPPER_INNER: usize = 13;
const LIP_LOWER_INNER: usize = 14;
const MOUTH_RIGHT: usize = 61;
const MOUTH_LEFT: usize = 291;
const FOREHEAD: usize = 10;
const CHIN: usize = 152;

fn dist2(a: [f32; 3], b: [f32; 3]) -> f32 {
    ((a[0] - b[0]).powi(2) + (a[1] - b[1]).powi(2)).sqrt()
}

/// Eye aspect ratio `(|p2−p6| + |p3−p5|) / (2·|p1−p4|)` in the image plane.
pub fn eye_aspect_ratio(lm: &[[f32; 3]], idx: [usize; 6]) -> f32 {
    let p = |i: usize| lm[idx[i]];
    let width = dist2(p(0), p(3));
    if width <= f32::EPSILON {
        return 0.0;
    }
    (dist2(p(1), p(5)) + dist2(p(2), p(4))) / (2.0 * width)
}

fn mean_point(lm: &[[f32; 3]], idx: &[usize]) -> [f32; 3] {
    let mut m = [0f32; 3];
    for &i in idx {
        for k in 0..3 {
            m[k] += lm[i][k] / idx.len() as f32;
        }
    }
    m
}

fn sub(a: [f32; 3], b: [f32; 3]) -> [f32; 3] {
    [a[0] - b[0], a[1] - b[1], a[2] - b[2]]
}
fn dot(a: [f32; 3], b: [f32; 3]) -> f32 {
    a[0] * b[0] + a[1] * b[1] + a[2] * b[2]
}
fn cross(a: [f32; 3], b: [f32; 3]) -> [f32; 3] {
    [
        a[1] * b[2] - a[2] * b[1],
        a[2] * b[0] - a[0] * b[2],
        a[0] * b[1] - a[1] * b[0],
    ]
}
fn normalize(a: [f32; 3]) -> [f32; 3] {
    let n = dot(a, a).sqrt().max(f32::EPSILON);
    [a[0] / n, a[1] / n, a[2] / n]
}

/// Head pose from landmarks in image coordinates (x right, y down, z away from the camera).
///
/// The face frame: x from the subject's right eye to their left eye, y from forehead to chin
/// (made orthogonal to x), z = x × y (pointing into the head). Frontal: yaw = pitch = 0.
pub fn head_pose(lm: &[[f32; 3]]) -> HeadPose {
    let right_eye = mean_point(lm, &[RIGHT_EYE[0], RIGHT_EYE[3]]);
    let left_eye = mean_point(lm, &[LEFT_EYE[0], LEFT_EYE[3]]);
    let x = normalize(sub(left_eye, right_eye));
    let down = sub(lm[CHIN], lm[FOREHEAD]);
    let y = normalize(sub(down, scale(x, dot(down, x))));
    let z = cross(x, y);
    let deg = 180.0 / std::f32::consts::PI;
    HeadPose {
        // The face's forward direction is −z; turning to the subject's left swings it to +x.
        yaw: (-z[0]).atan2(z[2]) * deg,
        // Looking up swings −z toward −y (up in the image).
        pitch: z[1].atan2(z[2]) * deg,
        roll: x[1].atan2(x[0]) * deg,
    }
}

fn scale(a: [f32; 3], s: f32) -> [f32; 3] {
    [a[0] * s, a[1] * s, a[2] * s]
}

/// Mouth opening and width ratios (see [`Face`]).
pub fn mouth_ratios(lm: &[[f32; 3]]) -> (f32, f32) {
    let width = dist2(lm[MOUTH_RIGHT], lm[MOUTH_LEFT]);
    let gap = dist2(lm[LIP_UPPER_INNER], lm[LIP_LOWER_INNER]);
    let right_eye = mean_point(lm, &[RIGHT_EYE[0], RIGHT_EYE[3]]);
    let left_eye = mean_point(lm, &[LEFT_EYE[0], LEFT_EYE[3]]);
    let eyes = dist2(right_eye, left_eye);
    let open = if width > f32::EPSILON {
        gap / width
    } else {
        0.0
    };
    let wide = if eyes > f32::EPSILON {
        width / eyes
    } else {
        0.0
    };
    (open, wide)
}

fn landmark_box(lm: &[[f32; 3]]) -> FaceBox {
    let (mut x0, mut y0, mut x1, mut y1) = (f32::MAX, f32::MAX, f32::MIN, f32::MIN);
    for p in lm {
        x0 = x0.min(p[0]);
        y0 = y0.min(p[1]);
        x1 = x1.max(p[0]);
        y1 = y1.max(p[1]);
    }
    FaceBox {
        x: x0,
        y: y0,
        w: (x1 - x0).max(0.0),
        h: (y1 - y0).max(0.0),
    }
}

impl FaceModels {
    /// Loads every network from `dir` (`blazeface`, `facemesh`, `antispoof`, `emotion`,
    /// `face_recognition` `.safetensors`), with the fast depthwise kernel.
    pub fn load(dir: &Path) -> std::result::Result<Self, LoadError> {
        Self::load_with(dir, Depthwise::Direct)
    }

    /// [`FaceModels::load`], with the depthwise layers run by `dw` (benchmarks compare the two).
    pub fn load_with(dir: &Path, dw: Depthwise) -> std::result::Result<Self, LoadError> {
        Ok(Self {
            detector: build(dir, "blazeface", |vb| blazeface::BlazeFace::load(vb, dw))?,
            mesh: build(dir, "facemesh", |vb| facemesh::FaceMesh::load(vb, dw))?,
            antispoof: build(dir, "antispoof", antispoof::AntiSpoof::load)?,
            emotion: build(dir, "emotion", |vb| emotion::Emotion::load(vb, dw))?,
            descriptor: build(
                dir,
                "face_recognition",
                face_recognition::FaceRecognition::load,
            )?,
        })
    }

    /// Decodes a JPEG (or PNG/WebP) frame and analyses it.
    pub fn analyze_jpeg(
        &self,
        bytes: &[u8],
        opts: &AnalyzeOptions,
    ) -> std::result::Result<Vec<Face>, AnalyzeError> {
        let img = image::load_from_memory(bytes)?.to_rgb8();
        Ok(self.analyze(&img, opts)?)
    }

    /// Detects faces with BlazeFace, in image pixels, best first.
    pub fn detect(
        &self,
        img: &RgbImage,
        opts: &AnalyzeOptions,
    ) -> Result<Vec<blazeface::Detection>> {
        let size = blazeface::INPUT_SIZE;
        let map = Affine::letterbox(img.width(), img.height(), size);
        let input = to_nchw(
            &sample(img, &map, size, size),
            size,
            size,
            1.0 / 127.5,
            -1.0,
        )?;
        let dets = self
            .detector
            .detect(&input, opts.min_score, 0.3, opts.max_faces)?;
        Ok(dets
            .into_iter()
            .map(|d| blazeface::Detection {
                score: d.score,
                start: map.apply(d.start),
                end: map.apply(d.end),
                keypoints: d.keypoints.map(|k| map.apply(k)),
            })
            .collect())
    }

    /// Analyses every face in the frame (see the module docs for the steps).
    pub fn analyze(&self, img: &RgbImage, opts: &AnalyzeOptions) -> Result<Vec<Face>> {
        if img.width() == 0 || img.height() == 0 {
            return Ok(Vec::new());
        }
        let mut faces = Vec::new();
        for det in self.detect(img, opts)? {
            if let Some(face) = self.analyze_detection(img, &det, opts)? {
                faces.push(face);
            }
        }
        Ok(faces)
    }

    /// `None` when FaceMesh does not see a face in the crop.
    fn analyze_detection(
        &self,
        img: &RgbImage,
        det: &blazeface::Detection,
        opts: &AnalyzeOptions,
    ) -> Result<Option<Face>> {
        let center = [
            (det.start[0] + det.end[0]) / 2.0,
            (det.start[1] + det.end[1]) / 2.0,
        ];
        let side = (det.end[0] - det.start[0]).max(det.end[1] - det.start[1]) * 1.4;
        let [re, le] = [det.keypoints[0], det.keypoints[1]];
        let angle = (le[1] - re[1]).atan2(le[0] - re[0]);

        let n = facemesh::INPUT_SIZE;
        let map = Affine::square_crop(center, side, angle, n);
        let crop = sample(img, &map, n, n);
        let (raw, mesh_score) = self
            .mesh
            .landmarks(&to_nchw(&crop, n, n, 1.0 / 255.0, 0.0)?)?;
        if mesh_score < opts.min_mesh_score {
            return Ok(None);
        }
        let zscale = map.scale();
        let landmarks: Vec<[f32; 3]> = raw
            .iter()
            .map(|p| {
                let [x, y] = map.apply([p[0], p[1]]);
                [x, y, p[2] * zscale]
            })
            .collect();
        if landmarks.len() != facemesh::NUM_LANDMARKS {
            candle_core::bail!("facemesh returned {} points", landmarks.len());
        }

        let bbox = landmark_box(&landmarks);
        let (mouth_open_ratio, mouth_width_ratio) = mouth_ratios(&landmarks);
        let grey = luma(&crop);
        let sharpness = laplacian_variance(&grey, n, n);
        let box_map = Affine {
            m: [bbox.w / 32.0, 0.0, bbox.x, 0.0, bbox.h / 32.0, bbox.y],
        };
        let brightness =
            luma(&sample(img, &box_map, 32, 32)).iter().sum::<f32>() / (32.0 * 32.0 * 255.0);

        let at = |size: usize| Affine::square_crop(center, side, angle, size);
        let smile = if opts.emotion {
            let s = emotion::INPUT_SIZE;
            let g: Vec<f32> = sample(img, &at(s), s, s)
                .chunks_exact(3)
                .map(|p| ((0.2989 * p[0] + 0.5870 * p[1] + 0.1140 * p[2]) / 255.0 - 0.5) * 2.0)
                .collect();
            let x = Tensor::from_vec(g, (1, 1, s, s), &Device::Cpu)?;
            let probs: Vec<f32> = self.emotion.forward(&x)?.flatten_all()?.to_vec1()?;
            probs.get(emotion::HAPPY).copied()
        } else {
            None
        };
        let anti_spoof = if opts.anti_spoof {
            let a = antispoof::INPUT_SIZE;
            let xa = to_nchw(&sample(img, &at(a), a, a), a, a, 1.0 / 255.0, 0.0)?;
            let real = self
                .antispoof
                .forward(&xa)?
                .flatten_all()?
                .to_vec1::<f32>()?;
            Some(AntiSpoofScores {
                antispoof_real: real.first().copied().unwrap_or(0.0),
            })
        } else {
            None
        };
        let embedding = if opts.embedding {
            Some(self.embed(img, &landmarks)?)
        } else {
            None
        };

        Ok(Some(Face {
            bbox,
            score: det.score,
            mesh_score,
            pose: head_pose(&landmarks),
            eye_aspect_ratio: EyePair {
                left: eye_aspect_ratio(&landmarks, LEFT_EYE),
                right: eye_aspect_ratio(&landmarks, RIGHT_EYE),
            },
            mouth_open_ratio,
            mouth_width_ratio,
            smile,
            brightness,
            sharpness,
            anti_spoof,
            embedding,
            landmarks,
        }))
    }

    /// The descriptor of the face whose landmarks are given: a square crop around the landmarks,
    /// rotated upright by the eye line, at 150².
    fn embed(&self, img: &RgbImage, lm: &[[f32; 3]]) -> Result<Embedding> {
        let right_eye = mean_point(lm, &[RIGHT_EYE[0], RIGHT_EYE[3]]);
        let left_eye = mean_point(lm, &[LEFT_EYE[0], LEFT_EYE[3]]);
        let angle = (left_eye[1] - right_eye[1]).atan2(left_eye[0] - right_eye[0]);
        let (sin, cos) = angle.sin_cos();
        // Extent of the landmarks in the rotated (upright) frame.
        let (mut u0, mut v0, mut u1, mut v1) = (f32::MAX, f32::MAX, f32::MIN, f32::MIN);
        for p in lm {
            let u = p[0] * cos + p[1] * sin;
            let v = -p[0] * sin + p[1] * cos;
            u0 = u0.min(u);
            u1 = u1.max(u);
            v0 = v0.min(v);
            v1 = v1.max(v);
        }
        let (cu, cv) = ((u0 + u1) / 2.0, (v0 + v1) / 2.0);
        let center = [cu * cos - cv * sin, cu * sin + cv * cos];
        let side = (u1 - u0).max(v1 - v0);
        let s = face_recognition::INPUT_SIZE;
        let x = to_nchw(
            &sample(img, &Affine::square_crop(center, side, angle, s), s, s),
            s,
            s,
            1.0,
            0.0,
        )?;
        let v: Vec<f32> = self.descriptor.forward_rgb(&x)?.flatten_all()?.to_vec1()?;
        let arr: [f32; face_recognition::DIM] = v.try_into().map_err(|v: Vec<f32>| {
            candle_core::Error::Msg(format!("descriptor has {} values", v.len()))
        })?;
        Ok(Embedding(arr))
    }

    /// BlazeFace (for benchmarks and checks).
    pub fn detector(&self) -> &blazeface::BlazeFace {
        &self.detector
    }
    /// FaceMesh (for benchmarks and checks).
    pub fn mesh(&self) -> &facemesh::FaceMesh {
        &self.mesh
    }
    /// AntiSpoof (for benchmarks and checks).
    pub fn antispoof(&self) -> &antispoof::AntiSpoof {
        &self.antispoof
    }
    /// Emotion (for benchmarks and checks).
    pub fn emotion(&self) -> &emotion::Emotion {
        &self.emotion
    }
    /// The face descriptor network (for benchmarks and checks).
    pub fn descriptor(&self) -> &face_recognition::FaceRecognition {
        &self.descriptor
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn assert_send_sync<T: Send + Sync>() {}

    #[test]
    fn face_models_are_send_and_sync() {
        assert_send_sync::<FaceModels>();
    }

    /// A synthetic "face": eyes, mouth, forehead and chin on a plane, rotated by yaw (about the
    /// vertical axis, positive toward the subject's left) and pitch.
    fn synthetic(yaw_deg: f32, pitch_deg: f32, roll_deg: f32) -> Vec<[f32; 3]> {
        let mut lm = vec![[0f32; 3]; facemesh::NUM_LANDMARKS];
        // Canonical frontal face, image axes (x right, y down, z away from camera), centred.
        // The subject's right eye is on the image's left.
        let set = |lm: &mut Vec<[f32; 3]>, i: usize, p: [f32; 3]| lm[i] = p;
        set(&mut lm, RIGHT_EYE[0], [-45.0, -20.0, 0.0]);
        set(&mut lm, RIGHT_EYE[3], [-15.0, -20.0, 0.0]);
        set(&mut lm, RIGHT_EYE[1], [-35.0, -25.0, 0.0]);
        set(&mut lm, RIGHT_EYE[2], [-25.0, -25.0, 0.0]);
        set(&mut lm, RIGHT_EYE[4], [-25.0, -15.0, 0.0]);
        set(&mut lm, RIGHT_EYE[5], [-35.0, -15.0, 0.0]);
        for k in 0..6 {
            let p = lm[RIGHT_EYE[k]];
            lm[LEFT_EYE[k]] = [-p[0], p[1], p[2]];
        }
        set(&mut lm, FOREHEAD, [0.0, -70.0, 0.0]);
        set(&mut lm, CHIN, [0.0, 80.0, 0.0]);
        set(&mut lm, MOUTH_RIGHT, [-25.0, 45.0, 0.0]);
        set(&mut lm, MOUTH_LEFT, [25.0, 45.0, 0.0]);
        set(&mut lm, LIP_UPPER_INNER, [0.0, 43.0, 0.0]);
        set(&mut lm, LIP_LOWER_INNER, [0.0, 47.0, 0.0]);
        let (sy, cy) = yaw_deg.to_radians().sin_cos();
        let (sp, cp) = pitch_deg.to_radians().sin_cos();
        let (sr, cr) = roll_deg.to_radians().sin_cos();
        for p in lm.iter_mut() {
            // The face's forward vector is (0,0,−1). Turning to the subject's left sends it to +x:
            // rotate about y so that (0,0,−1) → (sin yaw, 0, −cos yaw).
            let [x, y, z] = *p;
            let (x, z) = (x * cy - z * sy, x * sy + z * cy);
            // Looking up sends forward to −y: (0,0,−1) → (0, −sin pitch, −cos pitch).
            let (y, z) = (y * cp + z * sp, -y * sp + z * cp);
            // Roll: rotate in the image plane, clockwise on screen for positive angles.
            let (x, y) = (x * cr - y * sr, x * sr + y * cr);
            *p = [x + 300.0, y + 200.0, z];
        }
        lm
    }

    #[test]
    fn head_pose_signs_follow_the_documented_convention() {
        let p = head_pose(&synthetic(0.0, 0.0, 0.0));
        assert!(
            p.yaw.abs() < 1e-3 && p.pitch.abs() < 1e-3 && p.roll.abs() < 1e-3,
            "{p:?}"
        );
        let p = head_pose(&synthetic(25.0, 0.0, 0.0));
        assert!((p.yaw - 25.0).abs() < 0.5, "{p:?}");
        let p = head_pose(&synthetic(-30.0, 0.0, 0.0));
        assert!((p.yaw + 30.0).abs() < 0.5, "{p:?}");
        let p = head_pose(&synthetic(0.0, 20.0, 0.0));
        assert!((p.pitch - 20.0).abs() < 0.5 && p.yaw.abs() < 0.5, "{p:?}");
        let p = head_pose(&synthetic(0.0, 0.0, 15.0));
        assert!((p.roll - 15.0).abs() < 0.5 && p.yaw.abs() < 0.5, "{p:?}");
    }

    #[test]
    fn eye_and_mouth_ratios_on_a_synthetic_face() {
        let lm = synthetic(0.0, 0.0, 0.0);
        // eye: lids 10 px apart over a 30 px wide eye
        assert!((eye_aspect_ratio(&lm, LEFT_EYE) - 10.0 / 30.0).abs() < 1e-5);
        assert!((eye_aspect_ratio(&lm, RIGHT_EYE) - 10.0 / 30.0).abs() < 1e-5);
        let (open, wide) = mouth_ratios(&lm);
        assert!((open - 4.0 / 50.0).abs() < 1e-5, "{open}");
        // eye centres at ±30 → 60 px apart; mouth 50 px wide
        assert!((wide - 50.0 / 60.0).abs() < 1e-5, "{wide}");
    }

    #[test]
    fn embedding_distance_is_euclidean() {
        let mut a = Embedding([0.0; 128]);
        let b = Embedding([0.0; 128]);
        a.0[0] = 3.0;
        a.0[1] = 4.0;
        assert_eq!(embedding_distance(&a, &b), 5.0);
    }

    #[test]
    fn missing_weights_name_the_setup_command() {
        let dir = std::env::temp_dir().join("ilive-no-such-models-dir");
        let err = FaceModels::load(&dir)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(err.contains(SETUP_COMMAND), "{err}");
    }

    #[test]
    fn corrupt_weights_name_the_setup_command() -> std::io::Result<()> {
        let dir = std::env::temp_dir().join(format!("ilive-corrupt-{}", std::process::id()));
        std::fs::create_dir_all(&dir)?;
        std::fs::write(dir.join("blazeface.safetensors"), b"not a safetensors file")?;
        let err = FaceModels::load(&dir)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        std::fs::remove_dir_all(&dir)?;
        assert!(
            err.contains("corrupt") && err.contains(SETUP_COMMAND),
            "{err}"
        );
        Ok(())
    }
}
