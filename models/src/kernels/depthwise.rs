//! The k×k depthwise convolution with TF padding on NHWC data (channels innermost).
//!
//! Channels are independent, so the kernel works on a vector of channels at a time: their `k·k` weights
//! stay in registers while every output pixel of a row sums its taps, each tap one load and one
//! multiply-add; taps that fall in the padding are skipped. Rows are the outer loop
//! and channel groups the inner one, so the `k` input rows an output row reads stay in cache
//! while each group passes over them (with groups outermost, a 128×128×24 input was read from
//! memory three times). [`depthwise_rows`] computes a band of output rows, which lets a block
//! hand each band to its pointwise product while it is still in cache. The portable loop is
//! plain Rust on `[f32; 8]` lanes (SSE2 or NEON halves); on x86-64 one loop body is compiled for
//! AVX2 + FMA (8 channels a vector) and for AVX-512F (16, then one AVX2 group for a remaining
//! 8), chosen at run time; all give the same values.

use std::ops::Range;

use super::Isa;
use crate::layers::{tf_pads, Padding};

/// Channels per group (one AVX2 vector).
const LANES: usize = 8;
/// The largest kernel side the register-resident weights allow.
const MAX_K: usize = 5;

/// Shape of a depthwise layer's input and output.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Geometry {
    pub channels: usize,
    pub h: usize,
    pub w: usize,
    pub k: usize,
    pub stride: usize,
    pub oh: usize,
    pub ow: usize,
    pub top: usize,
    pub left: usize,
}

impl Geometry {
    pub fn new(
        channels: usize,
        (h, w): (usize, usize),
        k: usize,
        stride: usize,
        padding: Padding,
    ) -> Self {
        let (top, bottom) = tf_pads(padding, h, k, stride);
        let (left, right) = tf_pads(padding, w, k, stride);
        Self {
            channels,
            h,
            w,
            k,
            stride,
            oh: (h + top + bottom).saturating_sub(k) / stride + 1,
            ow: (w + left + right).saturating_sub(k) / stride + 1,
            top,
            left,
        }
    }

    /// The output columns whose three taps along a row all fall inside the image (for a 3×3
    /// kernel): `ox_lo..ox_hi`.
    fn interior_3x3(&self) -> (usize, usize) {
        let (s, left) = (self.stride, self.left);
        let hi = if self.w + left >= 3 {
            ((self.w + left - 3) / s + 1).min(self.ow)
        } else {
            0
        };
        (left.div_ceil(s), hi)
    }
}

/// `out = x ⋆ weights` per channel, NHWC (`x`: `[h, w, C]`, `out`: `[oh, ow, C]`); `weights` is
/// `[k·k, C]` (tap-major). `k` ≤ 5.
pub fn depthwise(isa: Isa, g: &Geometry, x: &[f32], weights: &[f32], out: &mut [f32]) {
    depthwise_rows(isa, g, x, weights, out, 0..g.oh);
}

/// [`depthwise`] for the output rows `rows` only, written from the start of `out`
/// (`[rows.len(), ow, C]`).
pub fn depthwise_rows(
    isa: Isa,
    g: &Geometry,
    x: &[f32],
    weights: &[f32],
    out: &mut [f32],
    rows: Range<usize>,
) {
    assert!(g.k <= MAX_K && g.stride > 0 && rows.start <= rows.end && rows.end <= g.oh);
    assert!(x.len() >= g.h * g.w * g.channels && out.len() >= rows.len() * g.ow * g.channels);
    assert!(weights.len() >= g.k * g.k * g.channels);
    match isa {
        #[cfg(target_arch = "x86_64")]
        // SAFETY: `Isa::Avx2` and `Isa::Avx512` are only chosen when the CPU has AVX2 and FMA
        // (`Isa::detect`); the sizes were checked above.
        Isa::Avx2 => unsafe { rows_x86(g, x, weights, out, rows, false) },
        #[cfg(target_arch = "x86_64")]
        // SAFETY: `Isa::Avx512` is only chosen when the CPU has AVX-512F, AVX2 and FMA.
        Isa::Avx512 => unsafe { rows_x86(g, x, weights, out, rows, true) },
        _ => {
            for oy in rows.clone() {
                groups(
                    g,
                    x,
                    weights,
                    &mut out[(oy - rows.start) * g.ow * g.channels..],
                    oy,
                    0,
                );
            }
        }
    }
}

/// One output row `oy` into `out_row` with `$lanes`-channel vectors from channel `first` on
/// (the same loop for AVX2 and AVX-512, written once): each group's weights in registers, the
/// 3×3 interior pixels unrolled with no tests, the edge pixels over the taps inside the image.
/// Returns the first channel it did not reach (fewer than `$lanes` left).
#[cfg(target_arch = "x86_64")]
macro_rules! row_kernel {
    ($name:ident, $features:literal, $lanes:expr, $zero:ident, $load:ident, $store:ident,
     $mul:ident, $add:ident, $fmadd:ident) => {
        #[target_feature(enable = $features)]
        unsafe fn $name(
            g: &Geometry,
            x: &[f32],
            weights: &[f32],
            out_row: &mut [f32],
            oy: usize,
            first: usize,
        ) -> usize {
            use std::arch::x86_64::*;
            let c = g.channels;
            let end = first + (c - first) / $lanes * $lanes;
            let (xp, wp, op) = (x.as_ptr(), weights.as_ptr(), out_row.as_mut_ptr());
            let (s, left) = (g.stride, g.left);
            let (ox_lo, ox_hi) = g.interior_3x3();
            let y0 = (oy * s) as isize - g.top as isize;
            let ky0 = (-y0).max(0) as usize;
            let ky1 = (g.h as isize - y0).clamp(0, g.k as isize) as usize;
            let full_rows = g.k == 3 && ky0 == 0 && ky1 == 3;
            for c0 in (first..end).step_by($lanes) {
                let mut wv = [$zero(); MAX_K * MAX_K];
                for (t, w) in wv.iter_mut().enumerate().take(g.k * g.k) {
                    *w = $load(wp.add(t * c + c0));
                }
                let mut ox = 0;
                while ox < g.ow {
                    if full_rows && ox == ox_lo && ox_lo < ox_hi {
                        let (row, px) = (g.w * c, c);
                        let mut p0 = xp.offset(
                            (y0 * g.w as isize + (ox * s) as isize - left as isize) * c as isize
                                + c0 as isize,
                        );
                        let mut dst = op.add(ox * c + c0);
                        for _ in ox_lo..ox_hi {
                            let mut a = $mul(wv[0], $load(p0));
                            let mut b = $mul(wv[1], $load(p0.add(px)));
                            a = $fmadd(wv[2], $load(p0.add(2 * px)), a);
                            b = $fmadd(wv[3], $load(p0.add(row)), b);
                            a = $fmadd(wv[4], $load(p0.add(row + px)), a);
                            b = $fmadd(wv[5], $load(p0.add(row + 2 * px)), b);
                            a = $fmadd(wv[6], $load(p0.add(2 * row)), a);
                            b = $fmadd(wv[7], $load(p0.add(2 * row + px)), b);
                            a = $fmadd(wv[8], $load(p0.add(2 * row + 2 * px)), a);
                            $store(dst, $add(a, b));
                            p0 = p0.add(s * px);
                            dst = dst.add(c);
                        }
                        ox = ox_hi;
                        continue;
                    }
                    // Near an edge: only the taps inside the image.
                    let x0 = (ox * s) as isize - left as isize;
                    let kx0 = (-x0).max(0) as usize;
                    let kx1 = (g.w as isize - x0).clamp(0, g.k as isize) as usize;
                    let mut acc = $zero();
                    for ky in ky0..ky1 {
                        let row = (y0 + ky as isize) * g.w as isize + x0;
                        for kx in kx0..kx1 {
                            let at = (row + kx as isize) as usize * c + c0;
                            acc = $fmadd(wv[ky * g.k + kx], $load(xp.add(at)), acc);
                        }
                    }
                    $store(op.add(ox * c + c0), acc);
                    ox += 1;
                }
            }
            end
        }
    };
}

#[cfg(target_arch = "x86_64")]
row_kernel!(
    row_avx2,
    "avx2,fma",
    8,
    _mm256_setzero_ps,
    _mm256_loadu_ps,
    _mm256_storeu_ps,
    _mm256_mul_ps,
    _mm256_add_ps,
    _mm256_fmadd_ps
);
#[cfg(target_arch = "x86_64")]
row_kernel!(
    row_avx512,
    "avx512f,avx2,fma",
    16,
    _mm512_setzero_ps,
    _mm512_loadu_ps,
    _mm512_storeu_ps,
    _mm512_mul_ps,
    _mm512_add_ps,
    _mm512_fmadd_ps
);

/// The rows with AVX2 (8 channels a vector), or with AVX-512 (16) and AVX2 for a last group of
/// 8; fewer channels left go to the portable loop.
///
/// # Safety
/// The CPU must have AVX2 and FMA, and AVX-512F when `wide`; the sizes are checked by the
/// caller ([`depthwise_rows`]).
#[cfg(target_arch = "x86_64")]
unsafe fn rows_x86(
    g: &Geometry,
    x: &[f32],
    weights: &[f32],
    out: &mut [f32],
    rows: Range<usize>,
    wide: bool,
) {
    for oy in rows.clone() {
        let out_row = &mut out[(oy - rows.start) * g.ow * g.channels..];
        let mut c0 = 0;
        if wide {
            c0 = row_avx512(g, x, weights, out_row, oy, c0);
        }
        c0 = row_avx2(g, x, weights, out_row, oy, c0);
        if c0 < g.channels {
            groups(g, x, weights, out_row, oy, c0);
        }
    }
}

/// Portable: output row `oy`, groups of 8 channels from channel `first` on, into `out` (the
/// row's start).
fn groups(g: &Geometry, x: &[f32], weights: &[f32], out: &mut [f32], oy: usize, first: usize) {
    let c = g.channels;
    let taps = g.k * g.k;
    let y0 = (oy * g.stride) as isize - g.top as isize;
    // Rows of the kernel that fall inside the image.
    let ky0 = (-y0).max(0) as usize;
    let ky1 = (g.h as isize - y0).clamp(0, g.k as isize) as usize;
    let mut c0 = first;
    while c0 < c {
        let lanes = (c - c0).min(LANES);
        // This group's weights, padded with zeros to a full group.
        let mut wv = [[0f32; LANES]; MAX_K * MAX_K];
        for (t, w) in wv.iter_mut().enumerate().take(taps) {
            w[..lanes].copy_from_slice(&weights[t * c + c0..t * c + c0 + lanes]);
        }
        for ox in 0..g.ow {
            let x0 = (ox * g.stride) as isize - g.left as isize;
            let kx0 = (-x0).max(0) as usize;
            let kx1 = (g.w as isize - x0).clamp(0, g.k as isize) as usize;
            let mut acc = [0f32; LANES];
            for ky in ky0..ky1 {
                let row = ((y0 + ky as isize) as usize * g.w) as isize + x0;
                for kx in kx0..kx1 {
                    let at = (row + kx as isize) as usize * c + c0;
                    let w = &wv[ky * g.k + kx];
                    if lanes == LANES {
                        let xs = &x[at..at + LANES];
                        for l in 0..LANES {
                            acc[l] += w[l] * xs[l];
                        }
                    } else {
                        for l in 0..lanes {
                            acc[l] += w[l] * x[at + l];
                        }
                    }
                }
            }
            let at = ox * c + c0;
            out[at..at + lanes].copy_from_slice(&acc[..lanes]);
        }
        c0 += LANES;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::depthwise::{DepthwiseKernel, Pad2d};
    use candle_core::{Device, Result, Tensor};

    #[test]
    fn every_path_matches_the_direct_kernel() -> Result<()> {
        let dev = Device::Cpu;
        for isa in Isa::available() {
            for (c, h, w, k, s, pad) in [
                (16, 96, 96, 3, 1, Padding::Same),
                (16, 96, 96, 3, 2, Padding::Same),
                (5, 9, 7, 3, 2, Padding::Same),
                (12, 13, 11, 3, 1, Padding::Same),
                (3, 10, 12, 5, 1, Padding::Same),
                (6, 9, 9, 3, 1, Padding::Valid),
                (128, 3, 3, 3, 1, Padding::Same),
                // A 16-channel group, an 8-channel one and five left (AVX-512, AVX2, portable).
                (29, 11, 13, 3, 1, Padding::Same),
                (24, 10, 10, 5, 2, Padding::Same),
            ] {
                let x = Tensor::randn(0f32, 1.0, (1, c, h, w), &dev)?;
                let wt = Tensor::randn(0f32, 1.0, (c, 1, k, k), &dev)?;
                let g = Geometry::new(c, (h, w), k, s, pad);
                let (top, bottom) = tf_pads(pad, h, k, s);
                let (left, right) = tf_pads(pad, w, k, s);
                let p = Pad2d {
                    top,
                    bottom,
                    left,
                    right,
                };
                let expect = DepthwiseKernel::new(&wt, None, s, p)?.forward(&x)?;
                assert_eq!(expect.dims(), &[1, c, g.oh, g.ow]);
                let expect = expect
                    .permute((0, 2, 3, 1))?
                    .flatten_all()?
                    .to_vec1::<f32>()?;
                let xs = x.permute((0, 2, 3, 1))?.flatten_all()?.to_vec1::<f32>()?;
                let ws = wt
                    .reshape((c, k * k))?
                    .t()?
                    .flatten_all()?
                    .to_vec1::<f32>()?;
                let mut got = vec![0f32; c * g.oh * g.ow];
                depthwise(isa, &g, &xs, &ws, &mut got);
                // The same rows in bands of three.
                let mut banded = vec![0f32; c * g.oh * g.ow];
                for r0 in (0..g.oh).step_by(3) {
                    let rows = r0..(r0 + 3).min(g.oh);
                    let band = &mut banded[r0 * g.ow * c..];
                    depthwise_rows(isa, &g, &xs, &ws, band, rows);
                }
                assert_eq!(got, banded, "{isa:?}: bands");
                let d = expect
                    .iter()
                    .zip(&got)
                    .map(|(a, b)| (a - b).abs())
                    .fold(0f32, f32::max);
                assert!(d < 1e-4, "{isa:?} {:?}: diff {d}", (c, h, w, k, s, pad));
            }
        }
        Ok(())
    }
}
