//! Runs the face networks off the async runtime, on a fixed set of worker threads (normally one
//! per core) that take jobs in arrival order from one queue, so extra sessions wait their turn
//! (slower feedback) instead of piling up work or memory. Each session keeps at most one frame in
//! analysis and one waiting (see `ws`), so memory stays bounded under any load.
//!
//! A worker that finishes a job takes the next one itself. (Before, each job acquired a permit of
//! a semaphore on the async runtime and then started a blocking task: a freed permit waited for
//! a runtime thread to be scheduled between the busy workers, and an overloaded two-core server
//! left about a tenth of its cores idle while frames queued: `docs/performance.md`.) The
//! workers also keep their kernels' workspaces warm, one per worker.
use std::{
    hash::{DefaultHasher, Hash, Hasher},
    panic::AssertUnwindSafe,
    sync::{mpsc, Arc, Mutex, PoisonError},
    time::{Duration, Instant},
};

use models::{AnalyzeOptions, FaceModels, FaceTracker};

use super::{parallax::Keyframe, Observation};

/// What to compute for one frame beyond detection and landmarks.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FrameRequest {
    /// AntiSpoof's score.
    pub anti_spoof: bool,
    /// MiniFASNet's live probability.
    pub pad: bool,
    pub embedding: bool,
    pub emotion: bool,
    pub cues: bool,
    pub keyframe: bool,
    /// The face regions' colours, for the screen-light challenge.
    pub light: bool,
}

/// A job for a worker: it sends its own result back.
type Job = Box<dyn FnOnce(&FaceModels) + Send>;

pub struct InferencePool {
    /// The queue the workers take jobs from; dropping the pool ends them.
    jobs: mpsc::Sender<Job>,
}

/// Where an analysed frame's time went in the pool: waiting in the queue for a worker, then the
/// analysis itself.
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
    /// `workers` analyses at once (normally the number of cores), each on a thread of its own.
    pub fn new(models: Arc<FaceModels>, workers: usize) -> Self {
        let (tx, rx) = mpsc::channel::<Job>();
        let rx = Arc::new(Mutex::new(rx));
        for i in 0..workers.max(1) {
            let (rx, models) = (rx.clone(), models.clone());
            std::thread::Builder::new()
                .name(format!("ilive-inference-{i}"))
                .spawn(move || loop {
                    // One worker waits on the queue at a time; the others wait for the lock.
                    let job = rx.lock().unwrap_or_else(PoisonError::into_inner).recv();
                    let Ok(job) = job else { return };
                    // A job that panics drops its reply (the caller sees an internal error);
                    // the worker goes on with the next.
                    let _ = std::panic::catch_unwind(AssertUnwindSafe(|| job(&models)));
                })
                .expect("an inference worker thread starts");
        }
        InferencePool { jobs: tx }
    }

    /// Runs `job` on one of the pool's workers: work beside the frame analyses (e.g. the face
    /// routes' uploads) shares the same cores and the same queue. A job whose caller has gone
    /// by the time a worker takes it (a capture that ended, a client that hung up) is skipped:
    /// under overload the queue holds such jobs, and the cores are for callers still waiting.
    pub async fn run<T: Send + 'static>(
        &self,
        job: impl FnOnce(&FaceModels) -> T + Send + 'static,
    ) -> Result<T, FrameError> {
        let (tx, rx) = tokio::sync::oneshot::channel();
        let job: Job = Box::new(move |models| {
            if !tx.is_closed() {
                let _ = tx.send(job(models));
            }
        });
        self.jobs
            .send(job)
            .map_err(|_| FrameError::Internal("the inference workers have stopped".into()))?;
        rx.await
            .map_err(|_| FrameError::Internal("the analysis panicked".into()))
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
        pad: req.pad,
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
