//! Which frame each `face` message answers.
//!
//! The server answers every frame it analyses with exactly one `face` message, analyses one
//! frame of a session at a time, in arrival order, and keeps only the newest frame that arrives
//! while one is in analysis (older waiting frames are dropped unanswered). The messages do not
//! say which frame they answer, so the client replays that policy on its own clock:
//!
//! - the first `face` answers the first frame sent;
//! - each later `face` answers the newest frame sent before the previous `face` arrived (it was
//!   the one waiting when that analysis ended), or, when none was waiting, the next frame sent
//!   after it (the server was idle and took it at once);
//! - the frames skipped over were dropped as stale; frames after the last answered one were
//!   never answered (the capture ended, or the run did).
//!
//! On loopback a message reaches the other side in well under a millisecond, so the client's
//! clock stands in for the server's; a frame sent within that margin of a reply may be assigned
//! to its neighbour, which moves one latency by at most a frame interval.
use std::time::Instant;

/// What the replay finds for one capture.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Matched {
    /// Frame → `face` times of the answered frames, in milliseconds.
    pub latencies_ms: Vec<f64>,
    /// Frames that no `face` answered.
    pub dropped: usize,
    /// `face` messages the replay could not place (one that arrived before the frame it would
    /// answer was sent): a sign that the server broke the policy above.
    pub unplaced: usize,
}

/// Replays the server's policy over the send times of the frames and the arrival times of the
/// `face` messages, both in order.
pub fn match_replies(sent: &[Instant], faces: &[Instant]) -> Matched {
    let mut out = Matched::default();
    let mut next = 0; // the first frame neither answered nor dropped
    let mut previous: Option<Instant> = None;
    for &face in faces {
        if next >= sent.len() {
            out.unplaced += 1;
            continue;
        }
        // Frames waiting when the previous analysis ended: the newest of them is analysed.
        let waiting = previous.map_or(0, |p| sent[next..].iter().take_while(|s| **s < p).count());
        let answered = if waiting > 0 {
            next + waiting - 1
        } else {
            next
        };
        if sent[answered] > face {
            out.unplaced += 1;
            previous = Some(face);
            continue;
        }
        out.dropped += answered - next;
        out.latencies_ms
            .push(face.duration_since(sent[answered]).as_secs_f64() * 1000.0);
        next = answered + 1;
        previous = Some(face);
    }
    out.dropped += sent.len() - next;
    out
}

/// The `p`-th percentile (0–100) of sorted values, by nearest rank.
pub fn percentile(sorted: &[f64], p: f64) -> Option<f64> {
    if sorted.is_empty() {
        return None;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    Some(sorted[rank.clamp(1, sorted.len()) - 1])
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn at(t0: Instant, ms: &[u64]) -> Vec<Instant> {
        ms.iter().map(|m| t0 + Duration::from_millis(*m)).collect()
    }

    #[test]
    fn a_fast_server_answers_every_frame() {
        let t0 = Instant::now();
        let sent = at(t0, &[0, 100, 200, 300]);
        let faces = at(t0, &[30, 130, 230, 330]);
        let m = match_replies(&sent, &faces);
        assert_eq!(m.latencies_ms, vec![30.0; 4]);
        assert_eq!((m.dropped, m.unplaced), (0, 0));
    }

    #[test]
    fn a_slow_server_answers_the_newest_waiting_frame_and_drops_the_rest() {
        let t0 = Instant::now();
        // Frames every 100 ms; each analysis takes 250 ms.
        let sent = at(t0, &[0, 100, 200, 300, 400, 500, 600]);
        // 0 is analysed 0–250; 200 was the newest waiting at 250 (100 dropped) and is analysed
        // 250–500; 400 was the newest waiting at 500 (300 dropped), analysed 500–750.
        let faces = at(t0, &[250, 500, 750]);
        let m = match_replies(&sent, &faces);
        assert_eq!(m.latencies_ms, vec![250.0, 300.0, 350.0]);
        // 100 and 300 were superseded; 500 and 600 were never answered.
        assert_eq!(m.dropped, 4);
        assert_eq!(m.unplaced, 0);
    }

    #[test]
    fn an_idle_server_takes_the_next_frame_at_once() {
        let t0 = Instant::now();
        let sent = at(t0, &[0, 100, 200]);
        let faces = at(t0, &[20, 120, 215]);
        let m = match_replies(&sent, &faces);
        assert_eq!(m.latencies_ms, vec![20.0, 20.0, 15.0]);
    }

    #[test]
    fn replies_that_cannot_be_placed_are_counted() {
        let t0 = Instant::now();
        let m = match_replies(&at(t0, &[100]), &at(t0, &[50, 150, 160]));
        assert_eq!(m.unplaced, 2);
        assert_eq!(m.latencies_ms, vec![50.0]);
    }

    #[test]
    fn percentiles_by_nearest_rank() {
        let v: Vec<f64> = (1..=100).map(f64::from).collect();
        assert_eq!(percentile(&v, 50.0), Some(50.0));
        assert_eq!(percentile(&v, 99.0), Some(99.0));
        assert_eq!(percentile(&[7.0], 99.0), Some(7.0));
        assert_eq!(percentile(&[], 50.0), None);
    }
}
