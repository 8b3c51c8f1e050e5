//! `C = act(init + bias + A·B)` for row-major `A` (`m×k`), `B` (`k×n`), `C` (`m×n`).
//!
//! In NHWC a pointwise convolution is exactly this with `A` the input's `[H·W, C_in]` pixels,
//! `B` the `[C_in, C_out]` weights and `C` the output's `[H·W, C_out]` pixels: no packing or
//! transposition. What the layer adds (the residual: [`Init`]), its bias and its activation
//! (a slope for negative values per column, i.e. output channel) are applied as each tile of
//! `C` is computed, so the output is written once.
//!
//! The AVX2 path computes 4×24 tiles of `C` in all sixteen registers (twelve accumulators,
//! three `B` vectors, one broadcast `A` value): each `k` step is 3 loads, 4 broadcasts and 12
//! FMAs. Narrower tiles (16, 8 columns) finish a row; the last `n % 8` columns use masked loads
//! and stores. The AVX-512 path ([`avx512`]) does the same with 16-lane vectors in 8×48 tiles
//! (24 of its 32 registers accumulate). [`bf16`] runs the same tiles with `bfloat16` operands
//! and `f32` sums on CPUs with AVX-512 BF16, for the face descriptor, FaceMesh's backbone and
//! AntiSpoof.

use super::Isa;

/// What `C` starts from before the bias and the product are added.
#[derive(Debug, Clone, Copy)]
pub enum Init<'a> {
    /// Zero.
    Zero,
    /// Another `m×n` matrix (a block's input, when it is its own residual).
    From(&'a [f32]),
    /// `C`'s own values (a residual written there first).
    InPlace,
}

/// Per output column: the bias, and the activation's factor for negative values (1 for none,
/// 0 for ReLU, alpha for PReLU).
#[derive(Debug, Clone, Copy)]
pub struct Epilogue<'a> {
    pub bias: &'a [f32],
    pub slopes: &'a [f32],
}

/// `c = act(init + bias + a·b)` (see [`Init`], [`Epilogue`]).
pub fn gemm(
    isa: Isa,
    (m, n, k): (usize, usize, usize),
    a: &[f32],
    b: &[f32],
    c: &mut [f32],
    init: Init,
    ep: Epilogue,
) {
    assert!(a.len() >= m * k && b.len() >= k * n && c.len() >= m * n);
    assert!(ep.bias.len() >= n && ep.slopes.len() >= n);
    if let Init::From(s) = init {
        assert!(s.len() >= m * n);
    }
    match isa {
        #[cfg(target_arch = "x86_64")]
        // SAFETY: `Isa::Avx2` is only chosen when the CPU has AVX2 and FMA (`Isa::detect`);
        // the slices were checked above to hold the sizes the kernel indexes.
        Isa::Avx2 => unsafe { avx2::gemm(m, n, k, a, b, c, init, ep) },
        #[cfg(target_arch = "x86_64")]
        // SAFETY: `Isa::Avx512` is only chosen when the CPU has AVX-512F (`Isa::detect`).
        Isa::Avx512 => unsafe { avx512::gemm(m, n, k, a, b, c, init, ep) },
        _ => portable(m, n, k, a, b, c, init, ep),
    }
}

/// [`gemm`] by a layer's weights `b`, or by their `bfloat16` copy where the layer has one and
/// runs with AVX-512 ([`bf16::gemm`]).
#[allow(clippy::too_many_arguments)]
pub fn gemm_by(
    isa: Isa,
    dims: (usize, usize, usize),
    a: &[f32],
    b: &[f32],
    packed: Option<&bf16::PackedBf16>,
    c: &mut [f32],
    init: Init,
    ep: Epilogue,
) {
    match packed {
        Some(p) if isa == Isa::Avx512 => bf16::gemm(dims, a, p, c, init, ep),
        _ => gemm(isa, dims, a, b, c, init, ep),
    }
}

/// 4×8 tiles with the accumulators in `[f32; 8]` lanes (which the compiler keeps in vector
/// registers: two SSE2 or NEON vectors per row), then the odd rows and columns one by one.
#[allow(clippy::too_many_arguments)]
fn portable(
    m: usize,
    n: usize,
    k: usize,
    a: &[f32],
    b: &[f32],
    c: &mut [f32],
    init: Init,
    ep: Epilogue,
) {
    const R: usize = 4;
    const L: usize = 8;
    let start = |c: &[f32], i: usize, j: usize| -> f32 {
        ep.bias[j]
            + match init {
                Init::Zero => 0.0,
                Init::From(s) => s[i * n + j],
                Init::InPlace => c[i * n + j],
            }
    };
    let act = |v: f32, j: usize| if v < 0.0 { v * ep.slopes[j] } else { v };
    let (m4, n8) = (m / R * R, n / L * L);
    for i in (0..m4).step_by(R) {
        for j in (0..n8).step_by(L) {
            let mut acc = [[0f32; L]; R];
            for (r, row) in acc.iter_mut().enumerate() {
                for (l, v) in row.iter_mut().enumerate() {
                    *v = start(c, i + r, j + l);
                }
            }
            let arows = [
                &a[i * k..(i + 1) * k],
                &a[(i + 1) * k..(i + 2) * k],
                &a[(i + 2) * k..(i + 3) * k],
                &a[(i + 3) * k..(i + 4) * k],
            ];
            for (kk, brow) in b.chunks_exact(n).take(k).enumerate() {
                let bv = &brow[j..j + L];
                for (row, ar) in acc.iter_mut().zip(arows) {
                    let av = ar[kk];
                    for (v, bl) in row.iter_mut().zip(bv) {
                        *v += av * bl;
                    }
                }
            }
            for (r, row) in acc.iter().enumerate() {
                for (l, v) in row.iter().enumerate() {
                    c[(i + r) * n + j + l] = act(*v, j + l);
                }
            }
        }
    }
    // What the tiles left: the last columns of the tiled rows, then the last rows.
    let rest = (0..m4)
        .flat_map(|i| (n8..n).map(move |j| (i, j)))
        .chain((m4..m).flat_map(|i| (0..n).map(move |j| (i, j))));
    for (i, j) in rest {
        let mut v = start(c, i, j);
        for kk in 0..k {
            v += a[i * k + kk] * b[kk * n + j];
        }
        c[i * n + j] = act(v, j);
    }
}

/// The operands of one product as raw pointers, for the intrinsics paths; `init` is null for
/// [`Init::Zero`].
#[cfg(target_arch = "x86_64")]
struct Tile {
    a: *const f32,
    b: *const f32,
    c: *mut f32,
    init: *const f32,
    bias: *const f32,
    slopes: *const f32,
    n: usize,
    k: usize,
}

#[cfg(target_arch = "x86_64")]
impl Tile {
    fn new(
        (n, k): (usize, usize),
        a: &[f32],
        b: &[f32],
        c: &mut [f32],
        init: Init,
        ep: Epilogue,
    ) -> Self {
        let c = c.as_mut_ptr();
        Tile {
            a: a.as_ptr(),
            b: b.as_ptr(),
            c,
            init: match init {
                Init::Zero => std::ptr::null(),
                Init::From(s) => s.as_ptr(),
                Init::InPlace => c,
            },
            bias: ep.bias.as_ptr(),
            slopes: ep.slopes.as_ptr(),
            n,
            k,
        }
    }
}

#[cfg(target_arch = "x86_64")]
mod avx512;

pub mod bf16;

#[cfg(target_arch = "x86_64")]
mod avx2 {
    use std::arch::x86_64::*;

    use super::{Epilogue, Init, Tile};

    /// Rows per tile.
    const MR: usize = 4;

    #[allow(clippy::too_many_arguments)]
    #[target_feature(enable = "avx2,fma")]
    pub(super) unsafe fn gemm(
        m: usize,
        n: usize,
        k: usize,
        a: &[f32],
        b: &[f32],
        c: &mut [f32],
        init: Init,
        ep: Epilogue,
    ) {
        let t = Tile::new((n, k), a, b, c, init, ep);
        let mut i = 0;
        while i < m {
            let rows = (m - i).min(MR);
            let mut j = 0;
            while j + 24 <= n {
                match rows {
                    4 => tile::<4, 3>(&t, i, j, None),
                    3 => tile::<3, 3>(&t, i, j, None),
                    2 => tile::<2, 3>(&t, i, j, None),
                    _ => tile::<1, 3>(&t, i, j, None),
                }
                j += 24;
            }
            while j + 16 <= n {
                match rows {
                    4 => tile::<4, 2>(&t, i, j, None),
                    3 => tile::<3, 2>(&t, i, j, None),
                    2 => tile::<2, 2>(&t, i, j, None),
                    _ => tile::<1, 2>(&t, i, j, None),
                }
                j += 16;
            }
            while j < n {
                let left = n - j;
                let mask = (left < 8).then(|| tail_mask(left));
                match rows {
                    4 => tile::<4, 1>(&t, i, j, mask),
                    3 => tile::<3, 1>(&t, i, j, mask),
                    2 => tile::<2, 1>(&t, i, j, mask),
                    _ => tile::<1, 1>(&t, i, j, mask),
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
    /// read and written.
    #[target_feature(enable = "avx2,fma")]
    #[inline]
    unsafe fn tile<const R: usize, const V: usize>(
        t: &Tile,
        i: usize,
        j: usize,
        mask: Option<__m256i>,
    ) {
        let load = |p: *const f32| match mask {
            Some(m) => _mm256_maskload_ps(p, m),
            None => _mm256_loadu_ps(p),
        };
        let (n, k) = (t.n, t.k);
        let mut bias = [_mm256_setzero_ps(); V];
        let mut slope = [_mm256_setzero_ps(); V];
        for v in 0..V {
            bias[v] = load(t.bias.add(j + 8 * v));
            slope[v] = load(t.slopes.add(j + 8 * v));
        }
        let mut acc = [bias; R];
        if !t.init.is_null() {
            for (r, row) in acc.iter_mut().enumerate() {
                for (v, x) in row.iter_mut().enumerate() {
                    *x = _mm256_add_ps(*x, load(t.init.add((i + r) * n + j + 8 * v)));
                }
            }
        }
        for kk in 0..k {
            let mut bv = [_mm256_setzero_ps(); V];
            for (v, x) in bv.iter_mut().enumerate() {
                *x = load(t.b.add(kk * n + j + 8 * v));
            }
            for (r, row) in acc.iter_mut().enumerate() {
                let av = _mm256_broadcast_ss(&*t.a.add((i + r) * k + kk));
                for (x, bx) in row.iter_mut().zip(bv.iter()) {
                    *x = _mm256_fmadd_ps(av, *bx, *x);
                }
            }
        }
        let zero = _mm256_setzero_ps();
        for (r, row) in acc.iter().enumerate() {
            for (v, (x, s)) in row.iter().zip(slope.iter()).enumerate() {
                // x ≥ 0 stays, x < 0 is scaled: max(x, 0) + slope·min(x, 0).
                let y = _mm256_fmadd_ps(*s, _mm256_min_ps(*x, zero), _mm256_max_ps(*x, zero));
                let p = t.c.add((i + r) * n + j + 8 * v);
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

    /// `act(init + bias + a·b)` by its definition (also the `bfloat16` path's reference).
    #[allow(clippy::too_many_arguments)]
    pub(super) fn naive(
        (m, n, k): (usize, usize, usize),
        a: &[f32],
        b: &[f32],
        init: &[f32],
        bias: &[f32],
        alpha: &[f32],
    ) -> Vec<f32> {
        let mut out = vec![0f32; m * n];
        for i in 0..m {
            for j in 0..n {
                let mut s = init[i * n + j] + bias[j];
                for kk in 0..k {
                    s += a[i * k + kk] * b[kk * n + j];
                }
                out[i * n + j] = if s < 0.0 { s * alpha[j] } else { s };
            }
        }
        out
    }

    /// `len` values in [-1, 1] on a 0.001 grid, from `seed`.
    pub(super) fn values(len: usize, seed: u32) -> Vec<f32> {
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
                (96 * 96, 16, 16),
                (37, 7, 5),
                (36, 128, 128),
                (9, 3, 33),
                (1, 1, 1),
                (16, 5, 3),
                (7, 24, 27),
                // The AVX-512 tiles: 48 + 16 columns, 48 + 48 + a masked 4, eight rows and
                // seven left over.
                (8, 64, 9),
                (15, 100, 7),
            ] {
                let (a, b, init) = (values(m * k, 1), values(k * n, 2), values(m * n, 3));
                let (bias, alpha) = (values(n, 4), values(n, 5));
                let ep = Epilogue {
                    bias: &bias,
                    slopes: &alpha,
                };
                let zeros = vec![0f32; m * n];
                for (which, start) in [("zero", &zeros), ("from", &init), ("in place", &init)] {
                    let expect = naive((m, n, k), &a, &b, start, &bias, &alpha);
                    let mut got = match which {
                        "in place" => init.clone(),
                        _ => values(m * n, 9),
                    };
                    let how = match which {
                        "zero" => Init::Zero,
                        "from" => Init::From(&init),
                        _ => Init::InPlace,
                    };
                    gemm(isa, (m, n, k), &a, &b, &mut got, how, ep);
                    let d = expect
                        .iter()
                        .zip(&got)
                        .map(|(x, y)| (x - y).abs())
                        .fold(0f32, f32::max);
                    assert!(d < 1e-4, "{isa:?} {which} {m}×{n}×{k}: diff {d}");
                }
            }
        }
    }
}
