//! The GEMM with `bfloat16` operands and `f32` sums, for the face descriptor, FaceMesh's
//! backbone and AntiSpoof on CPUs with AVX-512 BF16 (AMD Zen 4 and later, Intel Cooper Lake and
//! Sapphire Rapids and later).
//!
//! `vdpbf16ps` multiplies 32 pairs of `bfloat16` values and adds each pair's two products to one
//! of 16 `f32` lanes: twice the multiply-adds of an `f32` FMA in one instruction, which this
//! machine's cores issue at the same rate (measured: 116 against 58 G multiply-adds a second on
//! one core). The weights are rounded once, at load ([`PackedBf16`]: each pair of consecutive
//! `k` rows interleaved column by column, as the instruction reads them); the activations are
//! rounded as each tile's rows are read (`vcvtne2ps2bf16`). Both round to nearest even; the
//! products are exact in `f32` and the sums are kept in `f32`, so the only loss is the operands'
//! 8-bit significands (a relative error of at most 2⁻⁹ each). What that does to each network's
//! outputs is measured in `docs/performance.md` ("bfloat16 products") and tested against the
//! reference runtimes (`models/tests/reference.rs`, the `*_in_bf16_*` tests).

#[cfg(target_arch = "x86_64")]
use std::arch::x86_64::*;
#[cfg(target_arch = "x86_64")]
use std::cell::RefCell;

#[cfg(target_arch = "x86_64")]
use super::avx512::{lanes, row_tiles, Kernel, MR};
#[cfg(target_arch = "x86_64")]
use super::Tile;
use super::{Epilogue, Init};

/// `x` rounded to `bfloat16` (to nearest, ties to even; subnormal values to zero, as the
/// conversion instruction does), as its 16 bits.
pub fn to_bf16(x: f32) -> u16 {
    let bits = x.to_bits();
    if bits & 0x7f80_0000 == 0 {
        return (bits >> 16) as u16 & 0x8000;
    }
    let rounded = bits.wrapping_add(0x7fff + ((bits >> 16) & 1));
    (rounded >> 16) as u16
}

/// The `f32` value of a `bfloat16`.
pub fn from_bf16(h: u16) -> f32 {
    f32::from_bits((h as u32) << 16)
}

/// A `k×n` matrix `B` in `bfloat16`, its rows taken in pairs: entry `p·n + j` holds `B[2p][j]`
/// in its low half and `B[2p + 1][j]` in its high half (zero past an odd `k`).
#[derive(Debug, Clone)]
pub struct PackedBf16 {
    pairs: Vec<u32>,
    k: usize,
    n: usize,
}

impl PackedBf16 {
    /// Packs the row-major `k×n` matrix `b`.
    pub fn new(b: &[f32], k: usize, n: usize) -> Self {
        assert!(b.len() >= k * n, "B holds k×n values");
        let at = |kk: usize, j: usize| if kk < k { to_bf16(b[kk * n + j]) } else { 0 };
        let pairs = (0..k.div_ceil(2))
            .flat_map(|p| (0..n).map(move |j| (p, j)))
            .map(|(p, j)| at(2 * p, j) as u32 | (at(2 * p + 1, j) as u32) << 16)
            .collect();
        PackedBf16 { pairs, k, n }
    }

    /// `(k, n)`.
    pub fn dims(&self) -> (usize, usize) {
        (self.k, self.n)
    }
}

/// Whether this CPU runs [`gemm`].
pub fn available() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        std::arch::is_x86_feature_detected!("avx512f")
            && std::arch::is_x86_feature_detected!("avx512bf16")
    }
    #[cfg(not(target_arch = "x86_64"))]
    false
}

/// `c = act(init + bias + a·b)` as [`super::gemm`], with `a` and `b` rounded to `bfloat16`.
///
/// # Panics
/// When the CPU lacks AVX-512 BF16 ([`available`]) or a slice is shorter than its shape.
pub fn gemm(
    (m, n, k): (usize, usize, usize),
    a: &[f32],
    b: &PackedBf16,
    c: &mut [f32],
    init: Init,
    ep: Epilogue,
) {
    assert!(available(), "the CPU has no AVX-512 BF16");
    assert_eq!(b.dims(), (k, n), "B is k×n");
    assert!(a.len() >= m * k && c.len() >= m * n);
    assert!(ep.bias.len() >= n && ep.slopes.len() >= n);
    if let Init::From(s) = init {
        assert!(s.len() >= m * n);
    }
    #[cfg(target_arch = "x86_64")]
    // SAFETY: the CPU has AVX-512F and BF16 (asserted above) and the slices hold the sizes the
    // kernel indexes (asserted above; `b` holds ⌈k/2⌉·n pairs by construction).
    unsafe {
        x86::gemm(m, n, k, a, b, c, init, ep)
    }
}

#[cfg(target_arch = "x86_64")]
mod x86 {
    use super::*;

    thread_local! {
        /// A tile's rows of `A` in `bfloat16` pairs.
        static PANEL: RefCell<Vec<u32>> = const { RefCell::new(Vec::new()) };
    }

    /// The `bfloat16` product of one tile: `panel` holds its rows of `A` (row `r` from
    /// `panel + r·stride`, pair `p` at `+ p`), `b` the packed pairs.
    struct Bf16 {
        panel: *const u32,
        stride: usize,
        b: *const u32,
        pairs: usize,
    }

    impl Kernel for Bf16 {
        #[target_feature(enable = "avx512f,avx512bf16")]
        #[inline]
        unsafe fn product<const R: usize, const V: usize>(
            &self,
            t: &Tile,
            _i: usize,
            j: usize,
            mask: __mmask16,
            acc: &mut [[__m512; V]; R],
        ) {
            let n = t.n;
            for p in 0..self.pairs {
                let mut bv = [_mm512_setzero_si512(); V];
                for (v, x) in bv.iter_mut().enumerate() {
                    let at = self.b.add(p * n + j + 16 * v) as *const i32;
                    *x = _mm512_maskz_loadu_epi32(lanes::<V>(v, mask), at);
                }
                for (r, row) in acc.iter_mut().enumerate() {
                    let av = _mm512_set1_epi32(*self.panel.add(r * self.stride + p) as i32);
                    for (x, bx) in row.iter_mut().zip(bv.iter()) {
                        // SAFETY (of the transmutes): 512-bit integer vectors reread as 32
                        // `bfloat16` values, the same bits.
                        *x = _mm512_dpbf16_ps(
                            *x,
                            std::mem::transmute::<__m512i, __m512bh>(av),
                            std::mem::transmute::<__m512i, __m512bh>(*bx),
                        );
                    }
                }
            }
        }
    }

    #[allow(clippy::too_many_arguments)]
    #[target_feature(enable = "avx512f,avx512bf16")]
    pub(super) unsafe fn gemm(
        m: usize,
        n: usize,
        k: usize,
        a: &[f32],
        b: &PackedBf16,
        c: &mut [f32],
        init: Init,
        ep: Epilogue,
    ) {
        // `Tile`'s `b` is unused: the product reads the packed pairs.
        let t = Tile::new((n, k), a, &[], c, init, ep);
        // Each row of the panel: 32 values (16 pairs) at a time, zeros past `k`.
        let stride = k.div_ceil(32) * 16;
        PANEL.with_borrow_mut(|panel| {
            if panel.len() < MR * stride {
                panel.resize(MR * stride, 0);
            }
            for i in (0..m).step_by(MR) {
                let rows = (m - i).min(MR);
                for r in 0..rows {
                    let src = a.as_ptr().add((i + r) * k);
                    let dst = panel.as_mut_ptr().add(r * stride);
                    for (c32, kk) in (0..k).step_by(32).enumerate() {
                        let left = k - kk;
                        let mask = |from: usize| -> __mmask16 {
                            match left.saturating_sub(from) {
                                0 => 0,
                                l if l >= 16 => 0xffff,
                                l => (1u16 << l) - 1,
                            }
                        };
                        let lo = _mm512_maskz_loadu_ps(mask(0), src.add(kk));
                        // Past `k` the address may leave the row (and the slice), but the
                        // mask reads nothing there.
                        let hi = _mm512_maskz_loadu_ps(mask(16), src.wrapping_add(kk + 16));
                        let h = _mm512_cvtne2ps_pbh(hi, lo);
                        _mm512_storeu_si512(
                            dst.add(16 * c32) as *mut __m512i,
                            std::mem::transmute::<__m512bh, __m512i>(h),
                        );
                    }
                }
                let kern = Bf16 {
                    panel: panel.as_ptr(),
                    stride,
                    b: b.pairs.as_ptr(),
                    pairs: k.div_ceil(2),
                };
                row_tiles(&kern, &t, rows, i);
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::{naive, values};
    use super::*;

    #[test]
    fn rounds_to_nearest_even() {
        for (x, want) in [
            (1.0f32, 1.0f32),
            // Ties go to the even significand: down here, up in the next.
            (1.0 + 2f32.powi(-8), 1.0),
            (1.0 + 3.0 * 2f32.powi(-8), 1.0 + 2f32.powi(-6)),
            (1.0 + 2f32.powi(-9), 1.0),
            (1.0 + 3.0 * 2f32.powi(-9), 1.0 + 2f32.powi(-7)),
            (-2.5, -2.5),
            (1e-39, 0.0),
        ] {
            assert_eq!(from_bf16(to_bf16(x)), want, "{x}");
        }
    }

    #[test]
    fn matches_the_rounded_operands_product() {
        if !available() {
            eprintln!("no AVX-512 BF16 here: nothing to test");
            return;
        }
        // Odd `k` (a half-empty last pair), `k` past one 32-value chunk, every tile width and
        // a masked last vector, eight rows and a remainder.
        for (m, n, k) in [
            (1, 1, 1),
            (9, 3, 33),
            (8, 64, 9),
            (15, 100, 7),
            (37, 128, 288),
        ] {
            let (a, b, bias) = (values(m * k, 1), values(k * n, 2), values(n, 3));
            // The epilogue is the f32 path's: a skip added (`Init::From`) and a PReLU slope.
            let (skip, slopes) = (values(m * n, 4), vec![0.25; n]);
            let ep = Epilogue {
                bias: &bias,
                slopes: &slopes,
            };
            let mut got = vec![f32::NAN; m * n];
            let packed = PackedBf16::new(&b, k, n);
            gemm((m, n, k), &a, &packed, &mut got, Init::From(&skip), ep);
            // The definition, on the operands rounded as the kernel rounds them.
            let round =
                |x: &Vec<f32>| -> Vec<f32> { x.iter().map(|v| from_bf16(to_bf16(*v))).collect() };
            let want = naive((m, n, k), &round(&a), &round(&b), &skip, &bias, &slopes);
            let d = want
                .iter()
                .zip(&got)
                .map(|(x, y)| (x - y).abs())
                .fold(0f32, f32::max);
            // Only the f32 sums' own rounding differs: k terms of at most 1.
            assert!(d < 1e-5 * k as f32, "{m}×{n}×{k}: diff {d}");
        }
    }
}
