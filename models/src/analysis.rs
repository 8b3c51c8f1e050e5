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
//! 5. **On request**: Emotion (smile), AntiSpoof and MiniFASNet, and the 128-d face descriptor.

use std::path::Path;

use candle_core::{Device, Result, Tensor};
use image::RgbImage;
use serde::Serialize;

use crate::face::{EyePair, FaceBox, HeadPose, Landmarks};
use crate::imageops::{laplacian_variance, luma, per_pixel, sample, to_tensor, Affine};
use crate::layers::Kernels;
use crate::nets::{
    antispoof, blazeface, emotion, face_recognition, facemesh, minifasnet, mobilefacenet, ultraface,
};
use crate::tracking::Region;
use crate::weights::build;
pub use crate::weights::{load_weights, LoadError, SETUP_COMMAND};

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
    /// Run AntiSpoof (fills [`AntiSpoofScores::antispoof_real`] of [`Face::anti_spoof`]).
    pub anti_spoof: bool,
    /// Run MiniFASNet (fills [`AntiSpoofScores::pad_live`] of [`Face::anti_spoof`]).
    pub pad: bool,
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
            pad: false,
            embedding: false,
            emotion: false,
            max_faces: 4,
            min_score: 0.5,
            min_mesh_score: 0.5,
        }
    }
}

/// Outputs of the two anti-spoof networks, each when it was asked for: weak signals, one among
/// several (their measured separation is in `docs/architecture.md`, "Anti-spoof").
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct AntiSpoofScores {
    /// AntiSpoof's sigmoid "real" score in `[0, 1]` ([`AnalyzeOptions::anti_spoof`]).
    pub antispoof_real: Option<f32>,
    /// MiniFASNet's live probability in `[0, 1]`, on the landmarks' box enlarged 2.7×
    /// ([`AnalyzeOptions::pad`]).
    pub pad_live: Option<f32>,
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
    /// The 468 MediaPipe landmarks `[x, y, z]` in image pixels (z relative, larger = farther).
    pub landmarks: Landmarks,
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
    /// The anti-spoof networks' scores, when [`AnalyzeOptions::anti_spoof`] or
    /// [`AnalyzeOptions::pad`] asked for either.
    pub anti_spoof: Option<AntiSpoofScores>,
    /// The 128-d descriptor, when [`AnalyzeOptions::embedding`].
    pub embedding: Option<Embedding>,
}

impl Face {
    /// Distance between the eye centres in pixels: the scale of every landmark measure.
    pub fn inter_eye(&self) -> f32 {
        self.landmarks.inter_eye()
    }
}

/// All networks, loaded once; `Send + Sync`, so one instance serves every worker thread.
#[derive(Debug, Clone)]
pub struct FaceModels {
    detector: blazeface::BlazeFace,
    mesh: facemesh::FaceMesh,
    antispoof: antispoof::AntiSpoof,
    pad: minifasnet::MiniFasNet,
    emotion: emotion::Emotion,
    descriptor: face_recognition::FaceRecognition,
    recognizer: mobilefacenet::MobileFaceNet,
    /// The uploads' second detector ([`crate::uploads`]).
    pub(crate) fallback: ultraface::UltraFace,
}

impl FaceModels {
    /// Loads every network from `dir` (`blazeface`, `facemesh`, `antispoof`, `minifasnet`,
    /// `emotion`, `face_recognition`, `mobilefacenet`, `ultraface` `.safetensors`), with the kernels [`Kernels::default`] chooses for this
    /// CPU (the fused kernels of [`crate::kernels`] where it has AVX2 and FMA).
    pub fn load(dir: &Path) -> std::result::Result<Self, LoadError> {
        Self::load_with(dir, Kernels::default())
    }

    /// [`FaceModels::load`], with the layers run by `dw` (benchmarks and tests compare them).
    pub fn load_with(dir: &Path, dw: Kernels) -> std::result::Result<Self, LoadError> {
        Ok(Self {
            detector: build(dir, "blazeface", |vb| blazeface::BlazeFace::load(vb, dw))?,
            // In bfloat16 where the CPU has it: the landmarks move by ≈ 0.04 px of the 192² crop,
            // a thirtieth of the mesh's own jitter (`FaceMesh::in_bf16`).
            mesh: build(dir, "facemesh", |vb| {
                facemesh::FaceMesh::load(vb, dw).map(|m| m.in_bf16())
            })?,
            // In bfloat16 where the CPU has it: its score moves by < 10⁻³ (`AntiSpoof::in_bf16`).
            antispoof: build(dir, "antispoof", |vb| {
                antispoof::AntiSpoof::load(vb, dw).map(|a| a.in_bf16())
            })?,
            pad: build(dir, "minifasnet", |vb| {
                minifasnet::MiniFasNet::load(vb, &minifasnet::Config::v2_se(), dw)
            })?,
            emotion: build(dir, "emotion", |vb| emotion::Emotion::load(vb, dw))?,
            // In bfloat16 where the CPU has it: the per-frame consistency check compares
            // descriptors against a distance cut-off far wider than what that moves them.
            descriptor: build(dir, "face_recognition", |vb| {
                face_recognition::FaceRecognition::load(vb, dw).map(|d| d.in_bf16())
            })?,
            recognizer: build(dir, "mobilefacenet", |vb| {
                mobilefacenet::MobileFaceNet::load(vb, dw)
            })?,
            fallback: build(dir, "ultraface", ultraface::UltraFace::load)?,
        })
    }

    /// Decodes a JPEG (or PNG/WebP) frame and analyses it.
    pub fn analyze_jpeg(
        &self,
        bytes: &[u8],
        opts: &AnalyzeOptions,
    ) -> std::result::Result<Vec<Face>, AnalyzeError> {
        let img = crate::imageops::decode_frame(bytes)?;
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
        let input = to_tensor(sample(img, &map, size, size), size, size, 1.0 / 127.5, -1.0)?;
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
    pub(crate) fn analyze_detection(
        &self,
        img: &RgbImage,
        det: &blazeface::Detection,
        opts: &AnalyzeOptions,
    ) -> Result<Option<Face>> {
        self.analyze_region(img, &Region::from_detection(det), det.score, opts)
    }

    /// Mesh, measures and the requested extras of the face in `region`; `score` is the
    /// detector's score that the face keeps. `None` when FaceMesh does not see a face there.
    pub(crate) fn analyze_region(
        &self,
        img: &RgbImage,
        region: &Region,
        score: f32,
        opts: &AnalyzeOptions,
    ) -> Result<Option<Face>> {
        let Region {
            center,
            side,
            angle,
        } = *region;
        let n = facemesh::INPUT_SIZE;
        let map = Affine::square_crop(center, side, angle, n);
        let crop = sample(img, &map, n, n);
        // Taken before the crop moves into the network's input (wasted when no face is there).
        let grey = luma(&crop);
        let (raw, mesh_score) = self
            .mesh
            .landmarks(&to_tensor(crop, n, n, 1.0 / 255.0, 0.0)?)?;
        if mesh_score < opts.min_mesh_score {
            return Ok(None);
        }
        let zscale = map.scale();
        let points: Vec<[f32; 3]> = raw
            .iter()
            .map(|p| {
                let [x, y] = map.apply([p[0], p[1]]);
                [x, y, p[2] * zscale]
            })
            .collect();
        let count = points.len();
        let Some(landmarks) = Landmarks::new(points) else {
            candle_core::bail!("facemesh returned {count} points");
        };

        let bbox = landmarks.bbox();
        let (mouth_open_ratio, mouth_width_ratio) = landmarks.mouth_ratios();
        let sharpness = laplacian_variance(&grey, n, n);
        let box_map = Affine {
            m: [bbox.w / 32.0, 0.0, bbox.x, 0.0, bbox.h / 32.0, bbox.y],
        };
        let brightness =
            luma(&sample(img, &box_map, 32, 32)).iter().sum::<f32>() / (32.0 * 32.0 * 255.0);

        let at = |size: usize| Affine::square_crop(center, side, angle, size);
        let smile = if opts.emotion {
            let s = emotion::INPUT_SIZE;
            // The emotion network's own grey weights (not `luma`'s), scaled to [-1, 1].
            let g = per_pixel(&sample(img, &at(s), s, s), |r, g, b| {
                ((0.2989 * r + 0.5870 * g + 0.1140 * b) / 255.0 - 0.5) * 2.0
            });
            let x = Tensor::from_vec(g, (1, 1, s, s), &Device::Cpu)?;
            let probs: Vec<f32> = self.emotion.forward(&x)?.flatten_all()?.to_vec1()?;
            probs.get(emotion::HAPPY).copied()
        } else {
            None
        };
        let antispoof_real = if opts.anti_spoof {
            let a = antispoof::INPUT_SIZE;
            let xa = to_tensor(sample(img, &at(a), a, a), a, a, 1.0 / 255.0, 0.0)?;
            let real = self
                .antispoof
                .forward(&xa)?
                .flatten_all()?
                .to_vec1::<f32>()?;
            Some(real.first().copied().unwrap_or(0.0))
        } else {
            None
        };
        let pad_live = if opts.pad {
            Some(
                self.pad
                    .live_probability(img, [bbox.x, bbox.y, bbox.w, bbox.h])?,
            )
        } else {
            None
        };
        let anti_spoof = (opts.anti_spoof || opts.pad).then_some(AntiSpoofScores {
            antispoof_real,
            pad_live,
        });
        let embedding = if opts.embedding {
            Some(self.embed(img, &landmarks)?)
        } else {
            None
        };

        Ok(Some(Face {
            bbox,
            score,
            mesh_score,
            pose: landmarks.head_pose(),
            eye_aspect_ratio: landmarks.eye_aspect_ratios(),
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
    fn embed(&self, img: &RgbImage, lm: &Landmarks) -> Result<Embedding> {
        let crate::tracking::Region {
            center,
            side,
            angle,
        } = crate::tracking::Region::upright(lm);
        let s = face_recognition::INPUT_SIZE;
        let x = to_tensor(
            sample(img, &Affine::square_crop(center, side, angle, s), s, s),
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
    /// MiniFASNet (for benchmarks and checks).
    pub fn pad(&self) -> &minifasnet::MiniFasNet {
        &self.pad
    }
    /// Emotion (for benchmarks and checks).
    pub fn emotion(&self) -> &emotion::Emotion {
        &self.emotion
    }
    /// The face descriptor network (for benchmarks and checks).
    pub fn descriptor(&self) -> &face_recognition::FaceRecognition {
        &self.descriptor
    }
    /// MobileFaceNet, the descriptor that face comparison uses: aligned by
    /// [`Landmarks::five_points`], compared by cosine similarity.
    pub fn recognizer(&self) -> &mobilefacenet::MobileFaceNet {
        &self.recognizer
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
