//! The AVX-512 path of [`super::gemm`]: the AVX2 path's scheme with 16-lane vectors and twice
//! the registers. A tile is up to 8 rows × 48 columns of `C` (24 accumulators, three `B`
//! vectors, one broadcast `A` value: 28 of the 32 registers); each `k` step is 3 loads, 8
//! broadcasts and 24 FMAs. Narrower tiles (32, 16 columns) finish a row, and the last
//! `n % 16` columns use the lane masks AVX-512 has for every load and store.

use std::arch::x86_64::*;

use super::{Epilogue, Init, Tile};

/// Rows per tile.
pub(super) const MR: usize = 8;

#[allow(clippy::too_many_arguments)]
#[target_feature(enable = "avx512f")]
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
    for i in (0..m).step_by(MR) {
        row_tiles(&F32, &t, (m - i).min(MR), i);
    }
}

/// How one tile's product is computed: [`F32`] here, `bfloat16`'s pairs in [`super::bf16`].
pub(super) trait Kernel {
    /// Adds `A·B` for the `R`×(16·`V`) tile of `c` at `(i, j)` to `acc`; `mask` picks the lanes
    /// of the last vector.
    unsafe fn product<const R: usize, const V: usize>(
        &self,
        t: &Tile,
        i: usize,
        j: usize,
        mask: __mmask16,
        acc: &mut [[__m512; V]; R],
    );
}

/// Every tile of the rows `i..i + rows` (1–8) of `c`: 48 columns wide, then one of 32, then
/// 16 (the last one's lanes masked to what is left).
#[target_feature(enable = "avx512f")]
#[inline]
pub(super) unsafe fn row_tiles<K: Kernel>(kern: &K, t: &Tile, rows: usize, i: usize) {
    let n = t.n;
    let mut j = 0;
    while j + 48 <= n {
        rows_of::<K, 3>(kern, t, rows, i, j, FULL);
        j += 48;
    }
    if j + 32 <= n {
        rows_of::<K, 2>(kern, t, rows, i, j, FULL);
        j += 32;
    }
    while j < n {
        let left = n - j;
        let mask = if left >= 16 { FULL } else { (1u16 << left) - 1 };
        rows_of::<K, 1>(kern, t, rows, i, j, mask);
        j += 16;
    }
}

/// Every lane.
pub(super) const FULL: __mmask16 = 0xffff;

/// The tile of `rows` (1–8) rows at `(i, j)`, 16·`V` columns wide.
#[target_feature(enable = "avx512f")]
#[inline]
unsafe fn rows_of<K: Kernel, const V: usize>(
    kern: &K,
    t: &Tile,
    rows: usize,
    i: usize,
    j: usize,
    mask: __mmask16,
) {
    match rows {
        8 => tile::<K, 8, V>(kern, t, i, j, mask),
        7 => tile::<K, 7, V>(kern, t, i, j, mask),
        6 => tile::<K, 6, V>(kern, t, i, j, mask),
        5 => tile::<K, 5, V>(kern, t, i, j, mask),
        4 => tile::<K, 4, V>(kern, t, i, j, mask),
        3 => tile::<K, 3, V>(kern, t, i, j, mask),
        2 => tile::<K, 2, V>(kern, t, i, j, mask),
        _ => tile::<K, 1, V>(kern, t, i, j, mask),
    }
}

/// One tile: its start (bias, `init`), the product, the activation.
#[target_feature(enable = "avx512f")]
#[inline]
unsafe fn tile<K: Kernel, const R: usize, const V: usize>(
    kern: &K,
    t: &Tile,
    i: usize,
    j: usize,
    mask: __mmask16,
) {
    let mut acc = start::<R, V>(t, i, j, mask);
    kern.product(t, i, j, mask, &mut acc);
    finish(t, i, j, mask, &acc);
}

/// The `f32` product: each `k` step is `V` loads of `B`, `R` broadcasts of `A` and `R`·`V`
/// FMAs.
pub(super) struct F32;

impl Kernel for F32 {
    #[target_feature(enable = "avx512f")]
    #[inline]
    unsafe fn product<const R: usize, const V: usize>(
        &self,
        t: &Tile,
        i: usize,
        j: usize,
        mask: __mmask16,
        acc: &mut [[__m512; V]; R],
    ) {
        let n = t.n;
        for kk in 0..t.k {
            let mut bv = [_mm512_setzero_ps(); V];
            for (v, x) in bv.iter_mut().enumerate() {
                *x = _mm512_maskz_loadu_ps(lanes::<V>(v, mask), t.b.add(kk * n + j + 16 * v));
            }
            for (r, row) in acc.iter_mut().enumerate() {
                let av = _mm512_set1_ps(*t.a.add((i + r) * t.k + kk));
                for (x, bx) in row.iter_mut().zip(bv.iter()) {
                    *x = _mm512_fmadd_ps(av, *bx, *x);
                }
            }
        }
    }
}

/// The lanes of vector `v` of a tile `V` vectors wide: all but in the last.
#[inline(always)]
pub(super) fn lanes<const V: usize>(v: usize, mask: __mmask16) -> __mmask16 {
    if v + 1 == V {
        mask
    } else {
        FULL
    }
}

/// A tile's accumulators before the product: the bias, plus `init` where there is one.
#[target_feature(enable = "avx512f")]
#[inline]
pub(super) unsafe fn start<const R: usize, const V: usize>(
    t: &Tile,
    i: usize,
    j: usize,
    mask: __mmask16,
) -> [[__m512; V]; R] {
    let mut bias = [_mm512_setzero_ps(); V];
    for (v, x) in bias.iter_mut().enumerate() {
        *x = _mm512_maskz_loadu_ps(lanes::<V>(v, mask), t.bias.add(j + 16 * v));
    }
    let mut acc = [bias; R];
    if !t.init.is_null() {
        for (r, row) in acc.iter_mut().enumerate() {
            for (v, x) in row.iter_mut().enumerate() {
                let at = t.init.add((i + r) * t.n + j + 16 * v);
                *x = _mm512_add_ps(*x, _mm512_maskz_loadu_ps(lanes::<V>(v, mask), at));
            }
        }
    }
    acc
}

/// Applies the activation to a tile's accumulators and writes them to `c`.
#[target_feature(enable = "avx512f")]
#[inline]
pub(super) unsafe fn finish<const R: usize, const V: usize>(
    t: &Tile,
    i: usize,
    j: usize,
    mask: __mmask16,
    acc: &[[__m512; V]; R],
) {
    let zero = _mm512_setzero_ps();
    let mut slope = [zero; V];
    for (v, x) in slope.iter_mut().enumerate() {
        *x = _mm512_maskz_loadu_ps(lanes::<V>(v, mask), t.slopes.add(j + 16 * v));
    }
    for (r, row) in acc.iter().enumerate() {
        for (v, (x, s)) in row.iter().zip(slope.iter()).enumerate() {
            // x ≥ 0 stays, x < 0 is scaled: max(x, 0) + slope·min(x, 0).
            let y = _mm512_fmadd_ps(*s, _mm512_min_ps(*x, zero), _mm512_max_ps(*x, zero));
            _mm512_mask_storeu_ps(t.c.add((i + r) * t.n + j + 16 * v), lanes::<V>(v, mask), y);
        }
    }
}
