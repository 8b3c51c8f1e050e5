//! The k×k depthwise convolution with TF's SAME padding (or none), plane by plane.
//!
//! Each input plane is first copied into a zero-padded plane, so every output row reads whole
//! input rows with no bounds tests; for 3×3 the nine taps of an output pixel are summed in
//! registers, one pass over the output. The loop is plain Rust, compiled twice: for the build's
//! baseline and with AVX2 + FMA enabled (chosen at run time); both give the same values.

use super::{ensure_len, Isa};
use crate::layers::{tf_pads, Padding};

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

    /// Rows and columns of the padded plane the output reads.
    fn padded(&self) -> (usize, usize) {
        (
            (self.oh - 1) * self.stride + self.k,
            (self.ow - 1) * self.stride + self.k,
        )
    }
}

/// `out[c] = x[c] ⋆ weights[c]` for every channel; `weights` is `[C, k, k]`; `plane` is scratch.
pub fn depthwise(
    isa: Isa,
    g: &Geometry,
    x: &[f32],
    weights: &[f32],
    out: &mut [f32],
    plane: &mut Vec<f32>,
) {
    assert!(x.len() >= g.channels * g.h * g.w);
    assert!(weights.len() >= g.channels * g.k * g.k && out.len() >= g.channels * g.oh * g.ow);
    let (ph, pw) = g.padded();
    ensure_len(plane, ph * pw);
    match isa {
        #[cfg(target_arch = "x86_64")]
        // SAFETY: `Isa::Avx2` is only chosen when the CPU has AVX2 and FMA (`Isa::detect`);
        // the function has no other precondition.
        Isa::Avx2 => unsafe { planes_avx2(g, x, weights, out, plane) },
        _ => planes(g, x, weights, out, plane),
    }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn planes_avx2(
    g: &Geometry,
    x: &[f32],
    weights: &[f32],
    out: &mut [f32],
    plane: &mut [f32],
) {
    planes(g, x, weights, out, plane)
}

#[inline(always)]
fn planes(g: &Geometry, x: &[f32], weights: &[f32], out: &mut [f32], plane: &mut [f32]) {
    let (ph, pw) = g.padded();
    let (kk, s) = (g.k * g.k, g.stride);
    for c in 0..g.channels {
        let src = &x[c * g.h * g.w..(c + 1) * g.h * g.w];
        for (py, prow) in plane[..ph * pw].chunks_exact_mut(pw).enumerate() {
            let iy = py as isize - g.top as isize;
            if iy < 0 || iy >= g.h as isize {
                prow.fill(0.0);
                continue;
            }
            let irow = &src[iy as usize * g.w..(iy as usize + 1) * g.w];
            let n = g.w.min(pw - g.left);
            prow[..g.left].fill(0.0);
            prow[g.left..g.left + n].copy_from_slice(&irow[..n]);
            prow[g.left + n..].fill(0.0);
        }
        let wk = &weights[c * kk..(c + 1) * kk];
        let dst = &mut out[c * g.oh * g.ow..(c + 1) * g.oh * g.ow];
        for (oy, orow) in dst.chunks_exact_mut(g.ow).enumerate() {
            let rows = &plane[oy * s * pw..];
            if g.k == 3 && s == 1 {
                tap3_stride1(orow, rows, pw, wk);
            } else {
                orow.fill(0.0);
                for ky in 0..g.k {
                    let r = &rows[ky * pw..(ky + 1) * pw];
                    for kx in 0..g.k {
                        let wv = wk[ky * g.k + kx];
                        for (ox, o) in orow.iter_mut().enumerate() {
                            *o += wv * r[ox * s + kx];
                        }
                    }
                }
            }
        }
    }
}

/// One output row of a 3×3 stride-1 layer: the nine taps of each pixel summed in registers.
#[inline(always)]
fn tap3_stride1(orow: &mut [f32], rows: &[f32], pw: usize, w: &[f32]) {
    let n = orow.len();
    let (r0, r1, r2) = (
        &rows[..n + 2],
        &rows[pw..pw + n + 2],
        &rows[2 * pw..2 * pw + n + 2],
    );
    for (ox, o) in orow.iter_mut().enumerate() {
        *o = w[0] * r0[ox]
            + w[1] * r0[ox + 1]
            + w[2] * r0[ox + 2]
            + w[3] * r1[ox]
            + w[4] * r1[ox + 1]
            + w[5] * r1[ox + 2]
            + w[6] * r2[ox]
            + w[7] * r2[ox + 1]
            + w[8] * r2[ox + 2];
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
                (4, 13, 11, 3, 1, Padding::Same),
                (3, 10, 12, 5, 1, Padding::Same),
                (6, 9, 9, 3, 1, Padding::Valid),
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
                let expect = expect.flatten_all()?.to_vec1::<f32>()?;
                let mut got = vec![0f32; c * g.oh * g.ow];
                let xs = x.flatten_all()?.to_vec1::<f32>()?;
                let ws = wt.flatten_all()?.to_vec1::<f32>()?;
                depthwise(isa, &g, &xs, &ws, &mut got, &mut Vec::new());
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
