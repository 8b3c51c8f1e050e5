//! The session's screen-light phase: start a run, keep the frames' region colours, follow the
//! page's reports, and move on when the sequence is over (`docs/protocol.md`, "`light`").
use app::{
    api::Mode,
    ws::{FaceStatus, ServerMessage},
};

use super::{Phase, SessionEngine};
use crate::engine::{
    light::{self, LightRun, LightSample},
    Observation,
};

/// A face away from its place this long during the sequence restarts it with a new one.
const LOST_RESTART_SECS: f64 = 1.0;
/// After the page reports the light off, frames captured before that may still be on their way
/// (encoding, the socket, the analysis queue): they are waited for this long.
const END_GRACE_SECS: f64 = 0.5;

impl SessionEngine {
    /// Draws a new sequence and asks the page to show it.
    pub(super) fn start_light(&mut self, t: f64) -> Vec<ServerMessage> {
        let (steps, step_ms) = if self.reduced_motion {
            (light::STEPS_REDUCED, light::STEP_MS_REDUCED)
        } else {
            (light::STEPS, light::STEP_MS)
        };
        let run = LightRun::new(light::draw(steps, &mut self.rng), step_ms);
        let mut out = vec![ServerMessage::Light {
            colors: run.colors(),
            step_ms,
        }];
        self.light = Some(run);
        self.phase = Phase::Light {
            started: t,
            lost_since: None,
            ended: None,
        };
        if self.mode == Mode::Passive {
            out.push(ServerMessage::Progress { value: 0.0 });
        }
        out
    }

    /// One analysed frame during the sequence.
    pub(super) fn on_light_frame(
        &mut self,
        o: &Observation,
        status: FaceStatus,
    ) -> Vec<ServerMessage> {
        let hold = self.hold_secs();
        let Phase::Light {
            started,
            lost_since,
            ..
        } = &mut self.phase
        else {
            return vec![];
        };
        let t = o.t;
        if status != FaceStatus::Ok {
            let since = *lost_since.get_or_insert(t);
            if t - since >= LOST_RESTART_SECS {
                return self.start_light(t);
            }
            return vec![];
        }
        *lost_since = None;
        let started = *started;
        if let (Some(run), Some(_), Some(colours), Some(page_ms)) =
            (self.light.as_mut(), &o.face, o.light, o.page_ms)
        {
            run.samples.push(LightSample { page_ms, colours });
        }
        match self.mode {
            Mode::Passive => vec![ServerMessage::Progress {
                value: ((t - started) / hold).clamp(0.0, 1.0) as f32,
            }],
            Mode::Active => vec![],
        }
    }

    /// The page painted colour `index` of the current sequence at `t_ms` on its clock; `t` is the
    /// session's time of the report.
    pub fn light_shown(&mut self, index: u32, t_ms: f64, t: f64) {
        let (Phase::Light { ended, .. }, Some(run)) = (&mut self.phase, self.light.as_mut()) else {
            return;
        };
        run.record_shown(index as usize, t_ms);
        if run.complete() && ended.is_none() {
            *ended = Some(t);
        }
    }

    /// Ends the phase once the sequence is over (or the page never said it was).
    pub(super) fn light_tick(&mut self, t: f64) -> Vec<ServerMessage> {
        let hold = self.hold_secs();
        let Phase::Light { started, ended, .. } = self.phase else {
            return vec![];
        };
        let held = t - started >= hold;
        let over = match ended {
            Some(e) => held && t - e >= END_GRACE_SECS,
            None => t - started >= hold + light::REPORT_GRACE_MS / 1000.0,
        };
        if over {
            self.after_light(t)
        } else {
            vec![]
        }
    }

    /// How long the face is held for the sequence: the sequence itself, and in passive mode at
    /// least the configured hold.
    fn hold_secs(&self) -> f64 {
        let sequence = self
            .light
            .as_ref()
            .map_or(0.0, |r| r.duration_ms() / 1000.0);
        match self.mode {
            Mode::Passive => sequence.max(self.th.passive_hold_secs),
            Mode::Active => sequence,
        }
    }
}
