//! The AVX-512 path of [`super::gemm`]: the AVX2 path's scheme with 16-lane vectors and twice
//! the registers. A tile is up to 8 rows × 48 columns of `C` (24 accumulators, three `B`
//! vectors, one broadcast `A` value: 28 of the 32 registers); each `k` step is 3 loads, 8
//! broadcasts and 24 FMAs. Narrower tiles (32, 16 columns) finish a row, and the last
//! `n % 16` columns use the lane masks AVX-512 has for every load and store.

use std::arch::x86_64::*;

use super::{Epilogue, Init, Tile};

/// Rows per tile.
const MR: usize = 8;

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
    let mut i = 0;
    while i < m {
        let rows = (m - i).min(MR);
        let mut j = 0;
        while j + 48 <= n {
            rows_of::<3>(&t, rows, i, j, FULL);
            j += 48;
        }
        if j + 32 <= n {
            rows_of::<2>(&t, rows, i, j, FULL);
            j += 32;
        }
        while j < n {
            let left = n - j;
            let mask = if left >= 16 { FULL } else { (1u16 << left) - 1 };
            rows_of::<1>(&t, rows, i, j, mask);
            j += 16;
        }
        i += MR;
    }
}

/// Every lane.
const FULL: __mmask16 = 0xffff;

/// The tile of `rows` (1–8) rows at `(i, j)`, 16·`V` columns wide.
#[target_feature(enable = "avx512f")]
#[inline]
unsafe fn rows_of<const V: usize>(t: &Tile, rows: usize, i: usize, j: usize, mask: __mmask16) {
    match rows {
        8 => tile::<8, V>(t, i, j, mask),
        7 => tile::<7, V>(t, i, j, mask),
        6 => tile::<6, V>(t, i, j, mask),
        5 => tile::<5, V>(t, i, j, mask),
        4 => tile::<4, V>(t, i, j, mask),
        3 => tile::<3, V>(t, i, j, mask),
        2 => tile::<2, V>(t, i, j, mask),
        _ => tile::<1, V>(t, i, j, mask),
    }
}

/// One `R`×(16·`V`) tile of `c` at `(i, j)`; `mask` (all lanes unless `V` = 1) picks the lanes
/// of the last vector that are read and written.
#[target_feature(enable = "avx512f")]
#[inline]
unsafe fn tile<const R: usize, const V: usize>(t: &Tile, i: usize, j: usize, mask: __mmask16) {
    let lanes = |v: usize| if v + 1 == V { mask } else { FULL };
    let load = |p: *const f32, v: usize| _mm512_maskz_loadu_ps(lanes(v), p);
    let (n, k) = (t.n, t.k);
    let mut bias = [_mm512_setzero_ps(); V];
    let mut slope = [_mm512_setzero_ps(); V];
    for v in 0..V {
        bias[v] = load(t.bias.add(j + 16 * v), v);
        slope[v] = load(t.slopes.add(j + 16 * v), v);
    }
    let mut acc = [bias; R];
    if !t.init.is_null() {
        for (r, row) in acc.iter_mut().enumerate() {
            for (v, x) in row.iter_mut().enumerate() {
                *x = _mm512_add_ps(*x, load(t.init.add((i + r) * n + j + 16 * v), v));
            }
        }
    }
    for kk in 0..k {
        let mut bv = [_mm512_setzero_ps(); V];
        for (v, x) in bv.iter_mut().enumerate() {
            *x = load(t.b.add(kk * n + j + 16 * v), v);
        }
        for (r, row) in acc.iter_mut().enumerate() {
            let av = _mm512_set1_ps(*t.a.add((i + r) * k + kk));
            for (x, bx) in row.iter_mut().zip(bv.iter()) {
                *x = _mm512_fmadd_ps(av, *bx, *x);
            }
        }
    }
    let zero = _mm512_setzero_ps();
    for (r, row) in acc.iter().enumerate() {
        for (v, (x, s)) in row.iter().zip(slope.iter()).enumerate() {
            // x ≥ 0 stays, x < 0 is scaled: max(x, 0) + slope·min(x, 0).
            let y = _mm512_fmadd_ps(*s, _mm512_min_ps(*x, zero), _mm512_max_ps(*x, zero));
            _mm512_mask_storeu_ps(t.c.add((i + r) * n + j + 16 * v), lanes(v), y);
        }
    }
}
