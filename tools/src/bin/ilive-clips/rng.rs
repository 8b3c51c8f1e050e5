//! A small deterministic random source (SplitMix64), so that a clip is a pure function of its
//! inputs and `--seed`: the same command writes the same bytes on every machine.

/// SplitMix64: tiny, fast, and statistically good enough for noise and jitter.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Self(seed ^ 0x9E37_79B9_7F4A_7C15)
    }

    /// An independent stream for `(seed, a, b)`: per frame, per clip, per purpose.
    pub fn derive(seed: u64, a: u64, b: u64) -> Self {
        let mut r = Self::new(seed);
        let x = r.next_u64() ^ a.wrapping_mul(0xD1B5_4A32_D192_ED03);
        let mut r = Self::new(x);
        let y = r.next_u64() ^ b.wrapping_mul(0x8CB9_2BA7_2F3D_8DD7);
        Self::new(y)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `[0, 1)`.
    pub fn uniform(&mut self) -> f32 {
        (self.next_u64() >> 40) as f32 / (1u64 << 24) as f32
    }

    /// Uniform in `[lo, hi)`.
    pub fn range(&mut self, lo: f32, hi: f32) -> f32 {
        lo + (hi - lo) * self.uniform()
    }

    /// Standard normal (Box–Muller).
    pub fn normal(&mut self) -> f32 {
        let u1 = self.uniform().max(1e-7);
        let u2 = self.uniform();
        (-2.0 * u1.ln()).sqrt() * (std::f32::consts::TAU * u2).cos()
    }
}

/// A smooth periodic wobble with `period` frames: a sum of three sinusoids whose frequencies
/// are whole multiples of the period, so that a looping clip joins without a jump.
#[derive(Debug, Clone)]
pub struct Wobble {
    terms: [(f32, f32, f32); 3],
}

impl Wobble {
    /// Amplitude about `amp` (the terms' amplitudes sum to it), phases and harmonics drawn from
    /// `rng`; `max_harmonic` bounds how fast it moves (1 = one swing per period).
    pub fn new(rng: &mut Rng, amp: f32, max_harmonic: u32) -> Self {
        let mut terms = [(0.0, 0.0, 0.0); 3];
        let weights = [0.5, 0.3, 0.2];
        for (t, w) in terms.iter_mut().zip(weights) {
            let k = 1 + (rng.next_u64() % max_harmonic.max(1) as u64) as u32;
            *t = (amp * w, k as f32, rng.range(0.0, std::f32::consts::TAU));
        }
        Self { terms }
    }

    /// Value at frame `i` of a loop of `period` frames.
    pub fn at(&self, i: usize, period: usize) -> f32 {
        let x = i as f32 / period.max(1) as f32 * std::f32::consts::TAU;
        self.terms
            .iter()
            .map(|(a, k, ph)| a * (k * x + ph).sin())
            .sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_stream_and_streams_differ() {
        let a: Vec<u64> = (0..4).map(|_| Rng::derive(7, 1, 2).next_u64()).collect();
        assert!(a.windows(2).all(|w| w[0] == w[1]));
        assert_ne!(
            Rng::derive(7, 1, 2).next_u64(),
            Rng::derive(7, 1, 3).next_u64()
        );
        assert_ne!(
            Rng::derive(7, 1, 2).next_u64(),
            Rng::derive(8, 1, 2).next_u64()
        );
    }

    #[test]
    fn normal_has_unit_spread() {
        let mut r = Rng::new(1);
        let xs: Vec<f32> = (0..20000).map(|_| r.normal()).collect();
        let m = xs.iter().sum::<f32>() / xs.len() as f32;
        let v = xs.iter().map(|x| (x - m) * (x - m)).sum::<f32>() / xs.len() as f32;
        assert!(m.abs() < 0.03 && (v - 1.0).abs() < 0.05, "{m} {v}");
    }

    #[test]
    fn wobble_loops() {
        let w = Wobble::new(&mut Rng::new(3), 2.0, 3);
        assert!((w.at(0, 90) - w.at(90, 90)).abs() < 1e-4);
        assert!((0..90).all(|i| w.at(i, 90).abs() <= 2.0 + 1e-4));
    }
}
