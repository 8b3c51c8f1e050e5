//! How many captures this machine can serve at once, and the admission that holds to it.
//!
//! A capture costs one frame analysis per frame the page sends ([`SESSION_FPS`]). At start-up,
//! once the models are loaded, [`calibrate`] runs the capture's own per-frame pipeline (decode,
//! the networks the session engine asks for, the engine's bookkeeping) on a real camera frame,
//! on as many threads as the inference pool has workers, and measures the frames per second the
//! machine sustains (the best of a few short rounds). [`sessions_for`] turns that into a number
//! of captures, handing out only the share [`HEADROOM`] of it: the rest is for everything else
//! the cores do (WebSockets, the database, conclusions, the face routes) and for real frames
//! dearer than the calibration's. `ILIVE_MAX_LIVE_SESSIONS` overrides the measurement.
//!
//! [`Capacity`] admits captures against that number: a direct session is refused at creation
//! when every slot is taken, and otherwise holds a slot for [`RESERVATION`] while its page
//! connects; the WebSocket upgrade takes a slot for the capture's lifetime. Beyond the capacity
//! both answer `capacity` with `Retry-After` ([`RETRY_AFTER_SECS`]) at once, instead of admitting
//! a capture whose frames would queue until its deadlines pass.
use std::{
    collections::HashMap,
    sync::{Arc, Barrier, Mutex},
    time::{Duration, Instant},
};

use app::api::Mode;
use models::FaceModels;
use serde::Serialize;

use crate::{
    engine::{pool::analyze_blocking, session::SessionEngine, Thresholds},
    error::Error,
};

/// Frames per second the verification page sends (`app::browser::capture`'s `FPS`): the rate a
/// capture needs analysed to be served at full speed.
pub const SESSION_FPS: f64 = 12.0;
/// Share of the measured frame throughput given to captures; the rest is left for the
/// WebSockets, the database, each capture's conclusion and portrait, the face routes, and real
/// frames dearer than the calibration's. Measured with `ilive-load` (page-encoded frames of a
/// real face, 12 fps, docs/performance.md): the whole server sustains 0.61 of the calibrated
/// throughput when saturated, and its p99 frame → `face` time stays under 150 ms up to 0.66
/// (25 captures against 454 frames/s calibrated); 0.6 stays below that knee.
pub const HEADROOM: f64 = 0.6;
/// What a refusal asks the client to wait. A passive capture takes about 5 s and an active one
/// 15–40 s, so a slot frees within this under steady load.
pub const RETRY_AFTER_SECS: u64 = 15;
/// How long a new direct session holds its slot for its page to connect. A page connects within
/// a second of the person pressing Start; a session that waits longer competes for a free slot
/// at its upgrade like a managed one.
pub const RESERVATION: Duration = Duration::from_secs(30);
/// A real camera frame as the page sends it: a frame of the `live_astronaut` test clip (rendered
/// from the NASA portrait of Eileen Collins, public domain; see `scripts/fixtures/README.md`),
/// drawn to a canvas in Chromium and encoded by its `toDataURL("image/jpeg", 0.8)` (the encoder
/// behind the page's own `toBlob("image/jpeg", 0.8)`): 640×480, quality 80, 4:2:0 chroma, 35 KB. (The clip's stored frames are 4:4:4 at
/// a higher quality, which costs about twice the decoding.) A frame with a face runs the whole
/// pipeline; one without would stop after detection and overstate the capacity.
pub const CALIBRATION_FRAME: &[u8] = include_bytes!("../assets/calibration-frame.jpg");
/// Frames each worker analyses before the measurement (first-use allocations, caches).
const WARM_FRAMES: usize = 2;
/// Frames each worker analyses in the measurement: one second of a capture, so the sampled
/// networks (an anti-spoof sample every 0.5 s, the embedding every 0.8 s, keyframes every 0.2 s) run
/// as often as in a real one.
const TIMED_FRAMES: usize = SESSION_FPS as usize;
/// Timed rounds; the fastest is kept.
const ROUNDS: usize = 3;

/// The captures `frames_per_sec` of analysis can serve: each needs [`SESSION_FPS`], and only
/// [`HEADROOM`] of the throughput is handed out. Never less than one.
pub fn sessions_for(frames_per_sec: f64) -> usize {
    let sessions = (frames_per_sec * HEADROOM / SESSION_FPS).floor();
    if sessions.is_finite() && sessions >= 1.0 {
        sessions as usize
    } else {
        1
    }
}

/// Where the capacity came from, as `/readyz` and the start-up log report it.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(tag = "source", rename_all = "snake_case")]
pub enum Source {
    /// `ILIVE_MAX_LIVE_SESSIONS`.
    Configured,
    /// Measured at start-up.
    Measured(Measurement),
}

/// What [`calibrate`] measured.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Measurement {
    /// Frames per second all workers together analysed.
    pub frames_per_second: f64,
    /// Mean wall time of one analysis on a busy worker, in milliseconds.
    pub ms_per_frame: f64,
    pub workers: usize,
}

/// Times the capture pipeline on [`CALIBRATION_FRAME`]: `workers` threads at once, each like
/// one capture's frames at [`SESSION_FPS`], after [`WARM_FRAMES`] untimed ones, in [`ROUNDS`]
/// rounds; the fastest round counts (a round slowed by another process on the machine says
/// nothing about the cores). Blocking; call it off the async runtime.
pub fn calibrate(models: &FaceModels, workers: usize) -> anyhow::Result<Measurement> {
    let workers = workers.max(1);
    let start = Barrier::new(workers + 1);
    let end = Barrier::new(workers + 1);
    let fastest = std::thread::scope(|scope| {
        let threads: Vec<_> = (0..workers)
            .map(|_| {
                scope.spawn(|| {
                    let mut engine = SessionEngine::new(
                        Mode::Passive,
                        Thresholds::default(),
                        &mut rand::thread_rng(),
                    );
                    // Like a capture: the face is tracked from frame to frame.
                    let mut tracker = models::FaceTracker::default();
                    let mut frame = |i: usize| -> anyhow::Result<()> {
                        let t = i as f64 / SESSION_FPS;
                        let obs = analyze_blocking(
                            models,
                            CALIBRATION_FRAME,
                            t,
                            engine.request(t),
                            &mut tracker,
                        )?;
                        anyhow::ensure!(obs.face.is_some(), "no face in the calibration frame");
                        engine.on_frame(obs);
                        Ok(())
                    };
                    let mut result = (0..WARM_FRAMES).try_for_each(&mut frame);
                    // Every thread meets every barrier, failed or not: the others wait for it.
                    for round in 0..ROUNDS {
                        start.wait();
                        let first = WARM_FRAMES + round * TIMED_FRAMES;
                        result = result
                            .and_then(|()| (first..first + TIMED_FRAMES).try_for_each(&mut frame));
                        end.wait();
                    }
                    result
                })
            })
            .collect();
        let mut fastest = Duration::MAX;
        for _ in 0..ROUNDS {
            start.wait();
            let began = Instant::now();
            end.wait();
            fastest = fastest.min(began.elapsed());
        }
        for t in threads {
            t.join()
                .map_err(|_| anyhow::anyhow!("a calibration thread panicked"))??;
        }
        anyhow::Ok(fastest)
    })?;
    let frames = (workers * TIMED_FRAMES) as f64;
    let secs = fastest.as_secs_f64().max(1e-6);
    Ok(Measurement {
        frames_per_second: frames / secs,
        ms_per_frame: secs * 1000.0 / TIMED_FRAMES as f64,
        workers,
    })
}

/// The capture slots: live captures, and direct sessions created but not yet connected.
pub struct Capacity {
    limit: usize,
    source: Source,
    slots: Mutex<Slots>,
}

#[derive(Default)]
struct Slots {
    live: usize,
    /// Session id (or a creation's placeholder) → when its reservation lapses.
    reserved: HashMap<String, Instant>,
    next_key: u64,
}

impl Slots {
    fn prune(&mut self, now: Instant) {
        self.reserved.retain(|_, until| *until > now);
    }

    fn taken(&self) -> usize {
        self.live + self.reserved.len()
    }
}

/// What capacity a refusal answers with.
fn refused() -> Error {
    Error::Capacity {
        retry_after: RETRY_AFTER_SECS,
    }
}

impl Capacity {
    pub fn new(limit: usize, source: Source) -> Self {
        Capacity {
            limit: limit.max(1),
            source,
            slots: Mutex::default(),
        }
    }

    /// Captures served at once.
    pub fn limit(&self) -> usize {
        self.limit
    }

    pub fn source(&self) -> Source {
        self.source
    }

    /// Captures running now.
    pub fn live(&self) -> usize {
        self.lock().live
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Slots> {
        self.slots.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// `capacity` when every slot is taken now (nothing is held).
    pub fn check(&self) -> Result<(), Error> {
        let mut slots = self.lock();
        slots.prune(Instant::now());
        if slots.taken() >= self.limit {
            return Err(refused());
        }
        Ok(())
    }

    /// Holds a slot for a direct session about to be created, or refuses with `capacity` when
    /// every slot is taken. [`Reservation::bind`] gives it to the created session for
    /// [`RESERVATION`]; dropped unbound (the creation failed), it frees the slot.
    pub fn reserve(self: &Arc<Self>) -> Result<Reservation, Error> {
        self.reserve_at(Instant::now())
    }

    fn reserve_at(self: &Arc<Self>, now: Instant) -> Result<Reservation, Error> {
        let mut slots = self.lock();
        slots.prune(now);
        if slots.taken() >= self.limit {
            return Err(refused());
        }
        // Session ids are UUIDs: a `#` key never collides with one.
        slots.next_key += 1;
        let key = format!("#{}", slots.next_key);
        slots.reserved.insert(key.clone(), now + RESERVATION);
        Ok(Reservation {
            capacity: self.clone(),
            key: Some(key),
        })
    }

    /// A slot for the capture of session `id` for as long as the [`LiveSlot`] lives: its own
    /// reservation if it has one, else a free slot; `capacity` when there is neither.
    pub fn admit(self: &Arc<Self>, id: &str) -> Result<LiveSlot, Error> {
        self.admit_at(id, Instant::now())
    }

    fn admit_at(self: &Arc<Self>, id: &str, now: Instant) -> Result<LiveSlot, Error> {
        let mut slots = self.lock();
        slots.prune(now);
        if slots.reserved.remove(id).is_none() && slots.taken() >= self.limit {
            return Err(refused());
        }
        slots.live += 1;
        Ok(LiveSlot(self.clone()))
    }
}

/// A slot held for a direct session (see [`Capacity::reserve`]).
pub struct Reservation {
    capacity: Arc<Capacity>,
    /// The placeholder key while the session is being created.
    key: Option<String>,
}

impl Reservation {
    /// The slot now waits for the created session `id` to connect.
    pub fn bind(mut self, id: &str) {
        if let Some(key) = self.key.take() {
            let mut slots = self.capacity.lock();
            if let Some(until) = slots.reserved.remove(&key) {
                slots.reserved.insert(id.to_owned(), until);
            }
        }
    }
}

impl Drop for Reservation {
    fn drop(&mut self) {
        if let Some(key) = self.key.take() {
            self.capacity.lock().reserved.remove(&key);
        }
    }
}

/// One live capture's slot; dropping it frees the slot.
pub struct LiveSlot(Arc<Capacity>);

impl Drop for LiveSlot {
    fn drop(&mut self) {
        let mut slots = self.0.lock();
        slots.live = slots.live.saturating_sub(1);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn capacity_is_the_throughput_over_the_page_rate_with_headroom() {
        // 2 cores at 25 ms a frame: 80 frames/s, 48 of them for captures, 4 captures at 12 fps.
        assert_eq!(sessions_for(80.0), 4);
        // Rounding down: 23.9 frames/s of capture budget is one capture, not two.
        assert_eq!(sessions_for(39.9), 1);
        assert_eq!(sessions_for(40.0), 2);
        assert_eq!(sessions_for(1000.0), 50);
        // A machine too slow for one capture still serves one (slower feedback), not none.
        assert_eq!(sessions_for(3.0), 1);
        assert_eq!(sessions_for(0.0), 1);
        assert_eq!(sessions_for(f64::NAN), 1);
        assert_eq!(sessions_for(f64::INFINITY), 1);
    }

    fn capacity(limit: usize) -> Arc<Capacity> {
        Arc::new(Capacity::new(limit, Source::Configured))
    }

    #[test]
    fn captures_beyond_the_limit_are_refused_until_a_slot_frees() {
        let cap = capacity(2);
        let a = cap.admit("a").unwrap();
        let _b = cap.admit("b").unwrap();
        let err = cap.admit("c").err().expect("refused");
        assert_eq!(err.code(), "capacity");
        assert_eq!(cap.live(), 2);
        drop(a);
        assert!(cap.admit("c").is_ok());
    }

    #[test]
    fn a_reservation_holds_its_slot_for_its_own_session_only() {
        let cap = capacity(2);
        let now = Instant::now();
        cap.reserve_at(now).unwrap().bind("direct");
        let _other = cap.admit_at("managed", now).unwrap();
        // Both slots taken: no new reservation, no other capture...
        assert_eq!(cap.reserve_at(now).err().unwrap().code(), "capacity");
        assert!(cap.admit_at("managed-2", now).is_err());
        // ...but the reserved session connects.
        let _direct = cap.admit_at("direct", now).unwrap();
        assert_eq!(cap.live(), 2);
    }

    #[test]
    fn reservations_lapse_and_failed_creations_free_theirs() {
        let cap = capacity(1);
        let now = Instant::now();
        cap.reserve_at(now).unwrap().bind("never-connects");
        assert!(cap.admit_at("other", now).is_err());
        assert!(cap.admit_at("other", now + RESERVATION).is_ok());

        let cap = capacity(1);
        let failed = cap.reserve_at(now).unwrap();
        assert!(cap.reserve_at(now).is_err());
        drop(failed);
        assert!(cap.reserve_at(now).is_ok());
    }
}
