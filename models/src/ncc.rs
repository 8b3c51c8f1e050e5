//! Normalised cross-correlation of a template at every offset of a search region: the texture
//! parallax test's patch search (`crate::parallax`), most of a capture's conclusion.
//!
//! A candidate's score is `Σ (v − mean)·t ÷ ‖v − mean‖` over its window, for a zero-mean unit
//! template `t`. The window's mean and spread come from summed-area tables of the region (two
//! lookups each), so each candidate costs one pass — the dot product — instead of two (the mean,
//! then the spread and the product).
//! Samples outside the crop are NaN in the region; a window holding one has no score.

/// A window whose grey levels spread by less than this (a sum of squared deviations, in grey
/// levels²) is flat and has no score. Real texture spreads by ≥ 10 (a standard deviation of half
/// a grey level over 49 pixels); the tables' rounding is below 1e-6 at these magnitudes (sums of
/// at most a few thousand values of ≤ 255² each, in f64: a region is at most about 51² samples).
const FLAT: f64 = 1e-6;

/// A square search region (`span` × `span` samples, row-major) ready to score windows.
pub struct SearchRegion {
    /// The samples less their mean (NaN replaced by 0): smaller sums, less rounding.
    values: Vec<f64>,
    span: usize,
    /// Summed-area tables, `(span + 1)²`: of the values, their squares, and the NaN count.
    sum: Vec<f64>,
    squares: Vec<f64>,
    holes: Vec<u32>,
}

impl SearchRegion {
    pub fn new(samples: &[f64], span: usize) -> Self {
        assert_eq!(samples.len(), span * span, "the region is span × span");
        let finite = samples.iter().filter(|v| v.is_finite());
        let count = finite.clone().count().max(1) as f64;
        let shift = finite.sum::<f64>() / count;
        let values: Vec<f64> = samples
            .iter()
            .map(|v| if v.is_finite() { v - shift } else { 0.0 })
            .collect();
        let side = span + 1;
        let mut sum = vec![0.0; side * side];
        let mut squares = vec![0.0; side * side];
        let mut holes = vec![0u32; side * side];
        for y in 0..span {
            let (mut row_sum, mut row_squares, mut row_holes) = (0.0, 0.0, 0u32);
            for x in 0..span {
                let v = values[y * span + x];
                row_sum += v;
                row_squares += v * v;
                row_holes += u32::from(!samples[y * span + x].is_finite());
                let (at, above) = ((y + 1) * side + x + 1, y * side + x + 1);
                sum[at] = sum[above] + row_sum;
                squares[at] = squares[above] + row_squares;
                holes[at] = holes[above] + row_holes;
            }
        }
        Self {
            values,
            span,
            sum,
            squares,
            holes,
        }
    }

    /// The score of the `size`² window whose corner is at (`x`, `y`) against `tpl` (zero-mean,
    /// unit norm); `None` where the window holds a sample outside the crop or is flat.
    pub fn ncc(&self, tpl: &[f64], x: usize, y: usize, size: usize) -> Option<f64> {
        let side = self.span + 1;
        let (a, b) = (y * side + x, y * side + x + size);
        let (c, d) = ((y + size) * side + x, (y + size) * side + x + size);
        let window = |t: &[f64]| (t[d] - t[b]) - (t[c] - t[a]);
        if self.holes[d] + self.holes[a] != self.holes[b] + self.holes[c] {
            return None;
        }
        let n = (size * size) as f64;
        let s = window(&self.sum);
        let spread = window(&self.squares) - s * s / n;
        if spread <= FLAT {
            return None;
        }
        let mut acc = [0.0f64; 4];
        let mut tsum = [0.0f64; 4];
        for (dy, t_row) in tpl.chunks_exact(size).enumerate() {
            let row = &self.values[(y + dy) * self.span + x..][..size];
            let (vs, ts) = (row.chunks_exact(4), t_row.chunks_exact(4));
            let (v_rest, t_rest) = (vs.remainder(), ts.remainder());
            for (v, t) in vs.zip(ts) {
                for k in 0..4 {
                    acc[k] += v[k] * t[k];
                    tsum[k] += t[k];
                }
            }
            for (v, t) in v_rest.iter().zip(t_rest) {
                acc[0] += v * t;
                tsum[0] += t;
            }
        }
        // Σ (v − mean)·t = Σ v·t − mean·Σ t (Σ t is 0 up to rounding; kept for exactness).
        let dot = acc.iter().sum::<f64>() - s / n * tsum.iter().sum::<f64>();
        Some(dot / spread.sqrt())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The definition, window by window.
    fn naive(
        region: &[f64],
        span: usize,
        tpl: &[f64],
        x: usize,
        y: usize,
        size: usize,
    ) -> Option<f64> {
        let window: Vec<f64> = (0..size)
            .flat_map(|dy| region[(y + dy) * span + x..][..size].to_vec())
            .collect();
        let mean = window.iter().sum::<f64>() / window.len() as f64;
        if !mean.is_finite() {
            return None;
        }
        let spread: f64 = window.iter().map(|v| (v - mean) * (v - mean)).sum();
        if spread <= FLAT {
            return None;
        }
        let dot: f64 = window.iter().zip(tpl).map(|(v, t)| (v - mean) * t).sum();
        Some(dot / spread.sqrt())
    }

    /// Deterministic grey levels with texture, a flat patch and a few holes.
    fn region(span: usize) -> Vec<f64> {
        let mut state = 0x2545_f491_u32;
        (0..span * span)
            .map(|i| {
                state ^= state << 13;
                state ^= state >> 17;
                state ^= state << 5;
                let (x, y) = (i % span, i / span);
                if x < 2 && y > span - 3 {
                    f64::NAN
                } else if x > span - 12 && y < 10 {
                    255.0
                } else {
                    40.0 + (x as f64 * 0.7).sin() * 30.0 + (state % 97) as f64 + y as f64
                }
            })
            .collect()
    }

    #[test]
    fn every_window_scores_as_the_definition_does() {
        let (span, size) = (31, 9);
        let samples = region(span);
        let mut tpl: Vec<f64> = (0..size * size).map(|i| ((i * 7919) % 31) as f64).collect();
        let mean = tpl.iter().sum::<f64>() / tpl.len() as f64;
        tpl.iter_mut().for_each(|t| *t -= mean);
        let norm = tpl.iter().map(|t| t * t).sum::<f64>().sqrt();
        tpl.iter_mut().for_each(|t| *t /= norm);
        let r = SearchRegion::new(&samples, span);
        let (mut scored, mut holes, mut flat) = (0, 0, 0);
        for y in 0..=span - size {
            for x in 0..=span - size {
                let want = naive(&samples, span, &tpl, x, y, size);
                match (r.ncc(&tpl, x, y, size), want) {
                    (Some(a), Some(b)) => {
                        assert!((a - b).abs() < 1e-9, "({x}, {y}): {a} vs {b}");
                        scored += 1;
                    }
                    (None, None) if x < 2 && y + size > span - 2 => holes += 1,
                    (None, None) => flat += 1,
                    (a, b) => panic!("({x}, {y}): {a:?} vs {b:?}"),
                }
            }
        }
        assert!(
            scored > 400 && holes > 0 && flat > 0,
            "{scored} {holes} {flat}"
        );
    }
}
