//! A network's first layer: a dense k×k convolution of the NCHW input image (3 channels) with
//! bias and activation, written as NHWC for the blocks that follow. The image's patches are
//! gathered into a `[pixels, k·k·C_in]` matrix (zeros in the padding) and one [`gemm`]
//! multiplies them by the `[k·k·C_in, C_out]` weights.

use super::depthwise::Geometry;
use super::gemm::{gemm, Epilogue, Init};
use super::{ensure_len, Isa};
use crate::layers::Padding;

/// The first convolution's weights in the layout the kernels read.
#[derive(Debug, Clone)]
pub struct FusedStem {
    /// `[(ky·k + kx)·C_in + c, C_out]`.
    pub weights: Vec<f32>,
    pub bias: Vec<f32>,
    /// Per output channel, the activation's factor for negative values.
    pub slopes: Vec<f32>,
    pub k: usize,
    pub stride: usize,
    pub padding: Padding,
    pub c_in: usize,
    pub c_out: usize,
}

impl FusedStem {
    /// `out = stem(x)` for `x` of NCHW `[C_in, h, w]`, `out` NHWC; returns the output's
    /// `(h, w)`. `padded` and `cols` are scratch.
    pub fn forward(
        &self,
        isa: Isa,
        x: &[f32],
        (h, w): (usize, usize),
        out: &mut Vec<f32>,
        (padded, cols): (&mut Vec<f32>, &mut Vec<f32>),
    ) -> (usize, usize) {
        let g = Geometry::new(self.c_in, (h, w), self.k, self.stride, self.padding);
        let (k, ci, s) = (self.k, self.c_in, self.stride);
        // The image as NHWC with its zero padding, so each patch row is one contiguous run.
        let (ph, pw) = ((g.oh - 1) * s + k, (g.ow - 1) * s + k);
        ensure_len(padded, ph * pw * ci);
        padded.fill(0.0);
        for c in 0..ci {
            for y in 0..h.min(ph - g.top) {
                let src = &x[(c * h + y) * w..(c * h + y + 1) * w];
                let row = (y + g.top) * pw;
                for (xx, v) in src.iter().enumerate().take(pw - g.left) {
                    padded[(row + xx + g.left) * ci + c] = *v;
                }
            }
        }
        let (run, depth) = (k * ci, k * k * ci);
        ensure_len(cols, g.oh * g.ow * depth);
        for (p, patch) in cols.chunks_exact_mut(depth).enumerate() {
            let (oy, ox) = (p / g.ow, p % g.ow);
            for (ky, dst) in patch.chunks_exact_mut(run).enumerate() {
                let at = ((oy * s + ky) * pw + ox * s) * ci;
                copy_run(dst, &padded[at..at + run]);
            }
        }
        ensure_len(out, g.oh * g.ow * self.c_out);
        let ep = Epilogue {
            bias: &self.bias,
            slopes: &self.slopes,
        };
        let dims = (g.oh * g.ow, self.c_out, depth);
        gemm(isa, dims, cols, &self.weights, out, Init::Zero, ep);
        (g.oh, g.ow)
    }
}

/// `dst = src` for the short runs of a patch row, with the common lengths (3×3 or 5×5 over
/// RGB) copied as fixed-size moves rather than a call.
#[inline(always)]
fn copy_run(dst: &mut [f32], src: &[f32]) {
    match dst.len() {
        9 => dst[..9].copy_from_slice(&src[..9]),
        15 => dst[..15].copy_from_slice(&src[..15]),
        n => dst[..n].copy_from_slice(&src[..n]),
    }
}
