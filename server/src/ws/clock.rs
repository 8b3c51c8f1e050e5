//! The per-frame timing log of a capture (`ilive::frames` at debug level): where each answered
//! frame's time in the server went (docs/performance.md).
use std::time::{Duration, Instant};

use tracing::debug;

use crate::engine::pool::PoolTiming;

/// One frame's way through the server: it arrived, waited behind the capture's previous frame
/// until `started`, then spent `pool` waiting for a worker and in analysis. Logged per answered
/// frame at debug level under the `ilive::frames` target (docs/performance.md).
pub(super) struct FrameClock {
    pub(super) arrived: Instant,
    pub(super) started: Instant,
    pub(super) pool: PoolTiming,
}

impl FrameClock {
    pub(super) fn log(&self, session: &str) {
        let ms = |d: Duration| d.as_secs_f64() * 1e3;
        let analysed = self.started + self.pool.waited + self.pool.analysis;
        debug!(
            target: "ilive::frames",
            session,
            behind_ms = ms(self.started - self.arrived),
            waited_ms = ms(self.pool.waited),
            analysis_ms = ms(self.pool.analysis),
            reply_ms = ms(analysed.elapsed()),
            total_ms = ms(self.arrived.elapsed()),
            "frame answered"
        );
    }
}
