//! The k×k depthwise convolution with TF padding on NHWC data (channels innermost).
//!
//! Channels are independent, so the kernel works on 8 channels at a time: their `k·k` weights
//! stay in registers while every output pixel of a row sums its taps, each tap one load and one
//! multiply-add of 8 lanes; taps that fall in the padding are skipped. Rows are the outer loop
//! and channel groups the inner one, so the `k` input rows an output row reads stay in cache
//! while each group passes over them (with groups outermost, a 128×128×24 input was read from
//! memory three times). [`depthwise_rows`] computes a band of output rows, which lets a block
//! hand each band to its pointwise product while it is still in cache. The loop is plain Rust on
//! `[f32; 8]` lanes, compiled twice: for the build's baseline (SSE2: two 4-wide halves) and with
//! AVX2 + FMA enabled (one 8-wide vector), chosen at run time; both give the same values.

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
        Isa::Avx2 | Isa::Avx512 => unsafe { rows_avx2(g, x, weights, out, rows) },
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

/// AVX2: each output row, groups of 8 channels with intrinsics, the 3×3 interior pixels
/// unrolled with the nine weight vectors in registers; a last partial group goes to the
/// portable loop.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn rows_avx2(g: &Geometry, x: &[f32], weights: &[f32], out: &mut [f32], rows: Range<usize>) {
    use std::arch::x86_64::*;
    let c = g.channels;
    let full = c / LANES * LANES;
    let (xp, wp) = (x.as_ptr(), weights.as_ptr());
    let taps = g.k * g.k;
    // Output columns whose 3 taps all fall inside the image.
    let (s, left) = (g.stride, g.left);
    let ox_lo = left.div_ceil(s);
    let ox_hi = if g.w + left >= 3 {
        ((g.w + left - 3) / s + 1).min(g.ow)
    } else {
        0
    };
    for oy in rows.clone() {
        let out_row = &mut out[(oy - rows.start) * g.ow * c..];
        let op = out_row.as_mut_ptr();
        let y0 = (oy * s) as isize - g.top as isize;
        let ky0 = (-y0).max(0) as usize;
        let ky1 = (g.h as isize - y0).clamp(0, g.k as isize) as usize;
        let full_rows = g.k == 3 && ky0 == 0 && ky1 == 3;
        for c0 in (0..full).step_by(LANES) {
            let mut wv = [_mm256_setzero_ps(); MAX_K * MAX_K];
            for (t, w) in wv.iter_mut().enumerate().take(taps) {
                *w = _mm256_loadu_ps(wp.add(t * c + c0));
            }
            let mut ox = 0;
            while ox < g.ow {
                if full_rows && ox == ox_lo && ox_lo < ox_hi {
                    // The row's interior: nine taps, weights in registers, no tests.
                    let w3 = [
                        wv[0], wv[1], wv[2], wv[3], wv[4], wv[5], wv[6], wv[7], wv[8],
                    ];
                    let (row, px) = (g.w * c, c);
                    let mut p0 = xp.offset(
                        (y0 * g.w as isize + (ox * s) as isize - left as isize) * c as isize
                            + c0 as isize,
                    );
                    let mut dst = op.add(ox * c + c0);
                    for _ in ox_lo..ox_hi {
                        let mut a = _mm256_mul_ps(w3[0], _mm256_loadu_ps(p0));
                        let mut b = _mm256_mul_ps(w3[1], _mm256_loadu_ps(p0.add(px)));
                        a = _mm256_fmadd_ps(w3[2], _mm256_loadu_ps(p0.add(2 * px)), a);
                        b = _mm256_fmadd_ps(w3[3], _mm256_loadu_ps(p0.add(row)), b);
                        a = _mm256_fmadd_ps(w3[4], _mm256_loadu_ps(p0.add(row + px)), a);
                        b = _mm256_fmadd_ps(w3[5], _mm256_loadu_ps(p0.add(row + 2 * px)), b);
                        a = _mm256_fmadd_ps(w3[6], _mm256_loadu_ps(p0.add(2 * row)), a);
                        b = _mm256_fmadd_ps(w3[7], _mm256_loadu_ps(p0.add(2 * row + px)), b);
                        a = _mm256_fmadd_ps(w3[8], _mm256_loadu_ps(p0.add(2 * row + 2 * px)), a);
                        _mm256_storeu_ps(dst, _mm256_add_ps(a, b));
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
                let mut acc = _mm256_setzero_ps();
                for ky in ky0..ky1 {
                    let row = (y0 + ky as isize) * g.w as isize + x0;
                    for kx in kx0..kx1 {
                        let at = (row + kx as isize) as usize * c + c0;
                        acc = _mm256_fmadd_ps(wv[ky * g.k + kx], _mm256_loadu_ps(xp.add(at)), acc);
                    }
                }
                _mm256_storeu_ps(op.add(ox * c + c0), acc);
                ox += 1;
            }
        }
        if full < c {
            groups(g, x, weights, out_row, oy, full);
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
