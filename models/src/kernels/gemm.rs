//! `C = act(C + A·B)` for row-major `A` (`m×k`), `B` (`k×n`), `C` (`m×n`).
//!
//! In NCHW a pointwise convolution is exactly this with `A` the `[C_out, C_in]` weights, `B`
//! the input's `[C_in, H·W]` planes and `C` the output's: no packing or transposition. `C`
//! starts with what the layer adds (bias, residual), so one pass over the output does it all.
//!
//! The AVX2 path computes 4×16 tiles of `C` in twelve registers (eight accumulators, two `B`
//! vectors, one broadcast `A` value): each `k` step is 2 loads, 4 broadcasts and 8 FMAs. The
//! last `n % 8` columns use masked loads and stores.

use super::{Activation, Isa};

/// `c = act(c + a·b)`; `act`'s slope is per row of `c` (output channel).
#[allow(clippy::too_many_arguments)]
pub fn gemm_acc(
    isa: Isa,
    (m, n, k): (usize, usize, usize),
    a: &[f32],
    b: &[f32],
    c: &mut [f32],
    act: Activation,
) {
    assert!(a.len() >= m * k && b.len() >= k * n && c.len() >= m * n);
    match isa {
        #[cfg(target_arch = "x86_64")]
        // SAFETY: `Isa::Avx2` is only chosen when the CPU has AVX2 and FMA (`Isa::detect`);
        // the slices were checked above to hold the sizes the kernel indexes.
        Isa::Avx2 => unsafe { avx2::gemm(m, n, k, a, b, c, act) },
        _ => portable(m, n, k, a, b, c, act),
    }
}

/// Row by row: `c[i, :] += a[i, kk]·b[kk, :]` over `kk`, in column blocks that stay in L1.
fn portable(m: usize, n: usize, k: usize, a: &[f32], b: &[f32], c: &mut [f32], act: Activation) {
    const BLOCK: usize = 256;
    for (i, crow) in c.chunks_exact_mut(n).take(m).enumerate() {
        let arow = &a[i * k..(i + 1) * k];
        for j0 in (0..n).step_by(BLOCK) {
            let j1 = (j0 + BLOCK).min(n);
            let cblk = &mut crow[j0..j1];
            for (kk, &aik) in arow.iter().enumerate() {
                let brow = &b[kk * n + j0..kk * n + j1];
                for (cv, bv) in cblk.iter_mut().zip(brow) {
                    *cv += aik * bv;
                }
            }
        }
        let slope = act.slope(i);
        if slope != 1.0 {
            for v in crow.iter_mut() {
                if *v < 0.0 {
                    *v *= slope;
                }
            }
        }
    }
}

#[cfg(target_arch = "x86_64")]
mod avx2 {
    use std::arch::x86_64::*;

    use super::Activation;

    /// Rows per tile.
    const MR: usize = 4;

    #[target_feature(enable = "avx2,fma")]
    pub(super) unsafe fn gemm(
        m: usize,
        n: usize,
        k: usize,
        a: &[f32],
        b: &[f32],
        c: &mut [f32],
        act: Activation,
    ) {
        let (a, b, c) = (a.as_ptr(), b.as_ptr(), c.as_mut_ptr());
        let mut i = 0;
        while i < m {
            let rows = (m - i).min(MR);
            let mut slopes = [1.0f32; MR];
            for (r, s) in slopes.iter_mut().enumerate().take(rows) {
                *s = act.slope(i + r);
            }
            let mut j = 0;
            while j + 16 <= n {
                match rows {
                    4 => tile::<4, 2>(a, b, c, (i, j, n, k), &slopes, None),
                    3 => tile::<3, 2>(a, b, c, (i, j, n, k), &slopes, None),
                    2 => tile::<2, 2>(a, b, c, (i, j, n, k), &slopes, None),
                    _ => tile::<1, 2>(a, b, c, (i, j, n, k), &slopes, None),
                }
                j += 16;
            }
            while j < n {
                let left = n - j;
                let mask = (left < 8).then(|| tail_mask(left));
                match rows {
                    4 => tile::<4, 1>(a, b, c, (i, j, n, k), &slopes, mask),
                    3 => tile::<3, 1>(a, b, c, (i, j, n, k), &slopes, mask),
                    2 => tile::<2, 1>(a, b, c, (i, j, n, k), &slopes, mask),
                    _ => tile::<1, 1>(a, b, c, (i, j, n, k), &slopes, mask),
                }
                j += 8;
            }
            i += MR;
        }
    }

    /// Lanes `0..left` set.
    #[target_feature(enable = "avx2,fma")]
    unsafe fn tail_mask(left: usize) -> __m256i {
        let idx = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
        _mm256_cmpgt_epi32(_mm256_set1_epi32(left as i32), idx)
    }

    /// One `R`×(8·`V`) tile of `c` at `(i, j)`; with `mask` (then `V` = 1) only its lanes are
    /// read from `b`/`c` and written.
    #[target_feature(enable = "avx2,fma")]
    #[inline]
    unsafe fn tile<const R: usize, const V: usize>(
        a: *const f32,
        b: *const f32,
        c: *mut f32,
        (i, j, n, k): (usize, usize, usize, usize),
        slopes: &[f32; MR],
        mask: Option<__m256i>,
    ) {
        let load = |p: *const f32| match mask {
            Some(m) => _mm256_maskload_ps(p, m),
            None => _mm256_loadu_ps(p),
        };
        let mut acc = [[_mm256_setzero_ps(); V]; R];
        for (r, row) in acc.iter_mut().enumerate() {
            for (v, x) in row.iter_mut().enumerate() {
                *x = load(c.add((i + r) * n + j + 8 * v));
            }
        }
        for kk in 0..k {
            let mut bv = [_mm256_setzero_ps(); V];
            for (v, x) in bv.iter_mut().enumerate() {
                *x = load(b.add(kk * n + j + 8 * v));
            }
            for (r, row) in acc.iter_mut().enumerate() {
                let av = _mm256_broadcast_ss(&*a.add((i + r) * k + kk));
                for (x, bx) in row.iter_mut().zip(bv.iter()) {
                    *x = _mm256_fmadd_ps(av, *bx, *x);
                }
            }
        }
        let zero = _mm256_setzero_ps();
        for (r, row) in acc.iter().enumerate() {
            let slope = _mm256_set1_ps(slopes[r]);
            for (v, x) in row.iter().enumerate() {
                // x ≥ 0 stays, x < 0 is scaled: max(x, 0) + slope·min(x, 0).
                let y = _mm256_fmadd_ps(slope, _mm256_min_ps(*x, zero), _mm256_max_ps(*x, zero));
                let p = c.add((i + r) * n + j + 8 * v);
                match mask {
                    Some(m) => _mm256_maskstore_ps(p, m, y),
                    None => _mm256_storeu_ps(p, y),
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn naive(
        m: usize,
        n: usize,
        k: usize,
        a: &[f32],
        b: &[f32],
        c: &[f32],
        alpha: &[f32],
    ) -> Vec<f32> {
        let mut out = c.to_vec();
        for i in 0..m {
            for j in 0..n {
                let mut s = c[i * n + j];
                for kk in 0..k {
                    s += a[i * k + kk] * b[kk * n + j];
                }
                out[i * n + j] = if s < 0.0 { s * alpha[i] } else { s };
            }
        }
        out
    }

    fn values(len: usize, seed: u32) -> Vec<f32> {
        let mut x = seed.wrapping_mul(2654435761).max(1);
        (0..len)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 17;
                x ^= x << 5;
                (x % 2001) as f32 / 1000.0 - 1.0
            })
            .collect()
    }

    #[test]
    fn every_path_matches_the_naive_product() {
        for isa in Isa::available() {
            for (m, n, k) in [
                (16, 96 * 96, 16),
                (7, 37, 5),
                (128, 36, 128),
                (3, 9, 33),
                (1, 1, 1),
                (5, 16, 3),
            ] {
                let (a, b, c) = (values(m * k, 1), values(k * n, 2), values(m * n, 3));
                let alpha = values(m, 4);
                let expect = naive(m, n, k, &a, &b, &c, &alpha);
                let mut got = c.clone();
                gemm_acc(isa, (m, n, k), &a, &b, &mut got, Activation::PRelu(&alpha));
                let d = expect
                    .iter()
                    .zip(&got)
                    .map(|(x, y)| (x - y).abs())
                    .fold(0f32, f32::max);
                assert!(d < 1e-4, "{isa:?} {m}×{n}×{k}: diff {d}");
            }
        }
    }
}
