//! The discrete Fourier transform of a power-of-two length, radix 2 (the moiré cue's 64×64
//! spectra, `crate::cues`): N·log₂N/2 butterflies instead of the definition's N² products.

/// Complex values as (re, im).
pub type Complex = (f32, f32);

/// `e^(−2πi·k/n)` for `k < n / 2`: the twiddle factors of a forward transform of length `n`.
pub fn twiddles(n: usize) -> Vec<Complex> {
    (0..n / 2)
        .map(|k| {
            let a = -2.0 * std::f64::consts::PI * k as f64 / n as f64;
            (a.cos() as f32, a.sin() as f32)
        })
        .collect()
}

/// In place, `X[k] = Σₙ x[n]·e^(−2πi·kn/N)` for `N = buf.len()`, a power of two, with `tw` from
/// [`twiddles`]`(N)`.
pub fn forward(buf: &mut [Complex], tw: &[Complex]) {
    let n = buf.len();
    assert!(
        n.is_power_of_two() && tw.len() == n / 2,
        "a power of two, with its twiddles"
    );
    if n < 2 {
        return;
    }
    let bits = n.trailing_zeros();
    for i in 0..n {
        let j = i.reverse_bits() >> (usize::BITS - bits);
        if j > i {
            buf.swap(i, j);
        }
    }
    let mut half = 1;
    while half < n {
        let step = n / (2 * half);
        for block in buf.chunks_exact_mut(2 * half) {
            let (lo, hi) = block.split_at_mut(half);
            for (k, (a, b)) in lo.iter_mut().zip(hi.iter_mut()).enumerate() {
                let w = tw[k * step];
                let t = (b.0 * w.0 - b.1 * w.1, b.0 * w.1 + b.1 * w.0);
                *b = (a.0 - t.0, a.1 - t.1);
                *a = (a.0 + t.0, a.1 + t.1);
            }
        }
        half *= 2;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_transform_is_the_definition() {
        for n in [1usize, 2, 8, 64] {
            let x: Vec<Complex> = (0..n)
                .map(|i| (((i * 37) % 11) as f32 - 5.0, ((i * 13) % 7) as f32 * 0.5))
                .collect();
            let mut got = x.clone();
            forward(&mut got, &twiddles(n));
            for (k, g) in got.iter().enumerate() {
                let (mut re, mut im) = (0f64, 0f64);
                for (j, v) in x.iter().enumerate() {
                    let a = -2.0 * std::f64::consts::PI * (k * j % n) as f64 / n as f64;
                    re += v.0 as f64 * a.cos() - v.1 as f64 * a.sin();
                    im += v.0 as f64 * a.sin() + v.1 as f64 * a.cos();
                }
                assert!(
                    (g.0 as f64 - re).abs() < 1e-3 && (g.1 as f64 - im).abs() < 1e-3,
                    "n {n}, bin {k}: {g:?} vs ({re}, {im})"
                );
            }
        }
    }
}
