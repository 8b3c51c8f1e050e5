//! The screen-light challenge's sequence and what is kept of it (`docs/architecture.md`, "The
//! screen-light challenge"). The server draws a random sequence of colours; the page paints the
//! screen around the oval with them and reports, on its own clock, when each was painted and when
//! each frame was captured. [`layers::light`](super::layers::light) then asks whether the face's
//! colour followed the sequence, and how that response is shaped across the face.
use models::light::{hex_to_linear, RegionColours};
use rand::{seq::SliceRandom, Rng};

/// The colours the screen may show: six hues around the colour circle at roughly equal relative
/// luminance (0.25–0.34), so that a change is a change of chroma that auto-exposure cannot cancel,
/// and no change is a large luminance flash (WCAG 2.3.1).
pub const PALETTE: [&str; 6] = [
    "#ff5a3c", "#a8a000", "#10b030", "#00b0c0", "#6080ff", "#e040e0",
];
/// Colours shown, and how long each stays: 7 colours (6 changes) of 0.5 s, two changes a second
/// at most — well under WCAG's three flashes a second.
pub const STEPS: usize = 7;
pub const STEP_MS: u32 = 500;
/// With a reduced-motion preference: 5 colours (4 changes) of a second each.
pub const STEPS_REDUCED: usize = 5;
pub const STEP_MS_REDUCED: u32 = 1000;
/// How long after the sequence should have ended the session stops waiting for the page's
/// report that it did (a page that never reports has not taken part).
pub const REPORT_GRACE_MS: f64 = 2000.0;

/// Draws a sequence of palette indices: every colour differs from the one before it.
pub fn draw(steps: usize, rng: &mut impl Rng) -> Vec<usize> {
    let mut seq: Vec<usize> = Vec::with_capacity(steps);
    for _ in 0..steps {
        let choices: Vec<usize> = (0..PALETTE.len())
            .filter(|c| seq.last() != Some(c))
            .collect();
        seq.push(
            *choices
                .choose(rng)
                .expect("the palette has two colours or more"),
        );
    }
    seq
}

/// The palette's colours in linear RGB.
pub fn palette_linear() -> [[f64; 3]; PALETTE.len()] {
    PALETTE.map(|h| hex_to_linear(h).expect("the palette is valid hex"))
}

/// One frame's measurement during the light sequence.
#[derive(Debug, Clone, Copy)]
pub struct LightSample {
    /// The frame's capture time on the page's clock, in ms.
    pub page_ms: f64,
    pub colours: RegionColours,
}

/// One run of the sequence: what was asked, what the page reported, what the frames showed.
#[derive(Debug, Clone)]
pub struct LightRun {
    /// Palette indices, in order.
    pub sequence: Vec<usize>,
    pub step_ms: u32,
    /// When the page painted colour `i` (and, at index `sequence.len()`, when it went back off).
    pub shown: Vec<Option<f64>>,
    pub samples: Vec<LightSample>,
}

impl LightRun {
    pub fn new(sequence: Vec<usize>, step_ms: u32) -> Self {
        let n = sequence.len();
        LightRun {
            sequence,
            step_ms,
            shown: vec![None; n + 1],
            samples: vec![],
        }
    }

    /// The `light` message's colours.
    pub fn colors(&self) -> Vec<String> {
        self.sequence
            .iter()
            .map(|&i| PALETTE[i].to_owned())
            .collect()
    }

    /// Records the page's report that colour `index` was painted at `t_ms`. Reports out of
    /// range, out of order or not finite are ignored: the page's clock only moves forward.
    pub fn record_shown(&mut self, index: usize, t_ms: f64) {
        if !t_ms.is_finite() || index >= self.shown.len() || self.shown[index].is_some() {
            return;
        }
        let before = self.shown[..index].iter().flatten().last();
        if before.is_some_and(|&b| t_ms < b) {
            return;
        }
        self.shown[index] = Some(t_ms);
    }

    /// Whether the page reported every change, the last one included.
    pub fn complete(&self) -> bool {
        self.shown.iter().all(Option::is_some)
    }

    /// The change times, when every one was reported.
    pub fn change_times(&self) -> Option<Vec<f64>> {
        self.shown.iter().copied().collect()
    }

    /// How long the sequence takes, in ms.
    pub fn duration_ms(&self) -> f64 {
        self.sequence.len() as f64 * self.step_ms as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{rngs::StdRng, SeedableRng};

    #[test]
    fn sequences_never_repeat_a_colour_in_a_row() {
        let mut rng = StdRng::seed_from_u64(7);
        for _ in 0..200 {
            let s = draw(STEPS, &mut rng);
            assert_eq!(s.len(), STEPS);
            assert!(s.windows(2).all(|w| w[0] != w[1]));
            assert!(s.iter().all(|&c| c < PALETTE.len()));
        }
    }

    #[test]
    fn the_palette_changes_chroma_not_brightness() {
        // Relative luminance (Rec. 709 weights on linear RGB) of every colour in 0.2–0.4.
        for (hex, c) in PALETTE.iter().zip(palette_linear()) {
            let y = 0.2126 * c[0] + 0.7152 * c[1] + 0.0722 * c[2];
            assert!((0.2..=0.4).contains(&y), "{hex}: luminance {y:.3}");
        }
    }

    #[test]
    fn reports_only_move_forward() {
        let mut run = LightRun::new(vec![0, 1, 2], STEP_MS);
        run.record_shown(0, 100.0);
        run.record_shown(1, 50.0); // before colour 0: ignored
        run.record_shown(1, f64::NAN);
        run.record_shown(7, 900.0); // no such step
        run.record_shown(1, 600.0);
        run.record_shown(1, 700.0); // already reported
        assert_eq!(run.shown, vec![Some(100.0), Some(600.0), None, None]);
        assert!(!run.complete());
        run.record_shown(2, 1100.0);
        run.record_shown(3, 1600.0);
        assert_eq!(
            run.change_times().unwrap(),
            vec![100.0, 600.0, 1100.0, 1600.0]
        );
    }
}
