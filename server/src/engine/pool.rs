//! Runs the face networks off the async runtime. Each analysis is a blocking task; a fair
//! semaphore sized to the cores bounds how many run at once, so extra sessions wait their turn
//! (slower feedback) instead of piling up work or memory. Each session keeps at most one frame in
//! analysis and one waiting (see `ws`), so memory stays bounded under any load.
use std::{
    hash::{DefaultHasher, Hash, Hasher},
    sync::{Arc, Mutex, PoisonError},
    time::{Duration, Instant},
};

use models::{AnalyzeOptions, FaceModels, FaceTracker};
use tokio::sync::Semaphore;

use super::{parallax::Keyframe, Observation};

/// What to compute for one frame beyond detection and landmarks.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FrameRequest {
    pub anti_spoof: bool,
    pub embedding: bool,
    pub emotion: bool,
    pub cues: bool,
    pub keyframe: bool,
    /// The face regions' colours, for the screen-light challenge.
    pub light: bool,
}

pub struct InferencePool {
    models: Arc<FaceModels>,
    permits: Arc<Semaphore>,
}

/// Where an analysed frame's time went in the pool: waiting for a worker (a permit and a
/// blocking thread), then the analysis itself.
#[derive(Debug, Clone, Copy)]
pub struct PoolTiming {
    pub waited: Duration,
    pub analysis: Duration,
}

/// Why a frame was not analysed.
#[derive(Debug, thiserror::Error)]
pub enum FrameError {
    #[error("the frame was refused: {0}")]
    Decode(String),
    #[error("analysis failed: {0}")]
    Internal(String),
}

impl InferencePool {
    /// `workers` analyses at once (normally the number of cores).
    pub fn new(models: Arc<FaceModels>, workers: usize) -> Self {
        InferencePool {
            models,
            permits: Arc::new(Semaphore::new(workers.max(1))),
        }
    }

    /// Runs `job` on a blocking thread under one of the pool's permits: work beside the frame
    /// analyses (e.g. the face routes' uploads) shares the same cores and the same queue. The
    /// permit lives as long as the job, not as long as the caller: a client that disconnects
    /// while its job runs cannot free a slot for more work than there are cores.
    pub async fn run<T: Send + 'static>(
        &self,
        job: impl FnOnce(&FaceModels) -> T + Send + 'static,
    ) -> Result<T, FrameError> {
        let permit = self
            .permits
            .clone()
            .acquire_owned()
            .await
            .map_err(|e| FrameError::Internal(e.to_string()))?;
        let models = self.models.clone();
        tokio::task::spawn_blocking(move || {
            let _permit = permit;
            job(&models)
        })
        .await
        .map_err(|e| FrameError::Internal(e.to_string()))
    }

    /// Decodes and analyses one JPEG frame; `t` is its arrival time in the session. `tracker`
    /// is the capture's: its frames are analysed one at a time, so the lock is never contended.
    pub async fn analyze(
        &self,
        jpeg: bytes::Bytes,
        t: f64,
        req: FrameRequest,
        tracker: Arc<Mutex<FaceTracker>>,
    ) -> Result<(Observation, PoolTiming), FrameError> {
        let asked = Instant::now();
        self.run(move |models| {
            let began = Instant::now();
            let mut tracker = tracker.lock().unwrap_or_else(PoisonError::into_inner);
            let obs = analyze_blocking(models, &jpeg, t, req, &mut tracker)?;
            let timing = PoolTiming {
                waited: began - asked,
                analysis: began.elapsed(),
            };
            Ok((obs, timing))
        })
        .await?
    }
}

/// The blocking part: decode, analyse, measure (also used by the evaluation command). The
/// faces are followed from the capture's previous frame by `tracker` (one per capture): the
/// detector runs only when it must (`models::tracking`).
pub fn analyze_blocking(
    models: &FaceModels,
    jpeg: &[u8],
    t: f64,
    req: FrameRequest,
    tracker: &mut FaceTracker,
) -> Result<Observation, FrameError> {
    let img = crate::decode::decode(jpeg, &crate::decode::FRAME)
        .map_err(|e| FrameError::Decode(e.to_string()))?;
    let opts = AnalyzeOptions {
        anti_spoof: req.anti_spoof,
        embedding: req.embedding,
        emotion: req.emotion,
        ..AnalyzeOptions::default()
    };
    let faces = models
        .analyze_tracked(&img, &opts, tracker)
        .map_err(|e| FrameError::Internal(e.to_string()))?;
    let mut hasher = DefaultHasher::new();
    jpeg.hash(&mut hasher);
    let face_count = faces.len();
    let face = faces
        .into_iter()
        .max_by(|a, b| (a.bbox.w * a.bbox.h).total_cmp(&(b.bbox.w * b.bbox.h)));
    let cues = match (&face, req.cues) {
        (Some(f), true) => Some(models::cues::image_cues(&img, f)),
        _ => None,
    };
    let keyframe = match (&face, req.keyframe) {
        (Some(f), true) => Keyframe::capture(&img, f, t),
        _ => None,
    };
    let light = match (&face, req.light) {
        (Some(f), true) => Some(models::light::region_colours(&img, f)),
        _ => None,
    };
    Ok(Observation {
        t,
        frame_width: img.width(),
        frame_height: img.height(),
        face_count,
        face,
        frame_hash: hasher.finish(),
        cues,
        keyframe,
        page_ms: None,
        light,
        image: Some(Arc::new(img)),
    })
}
