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
    /// `(h, w)`. `cols` is scratch.
    pub fn forward(
        &self,
        isa: Isa,
        x: &[f32],
        (h, w): (usize, usize),
        out: &mut Vec<f32>,
        cols: &mut Vec<f32>,
    ) -> (usize, usize) {
        let g = Geometry::new(self.c_in, (h, w), self.k, self.stride, self.padding);
        let (k, ci) = (self.k, self.c_in);
        let depth = k * k * ci;
        ensure_len(cols, g.oh * g.ow * depth);
        for (p, patch) in cols.chunks_exact_mut(depth).enumerate() {
            let (oy, ox) = (p / g.ow, p % g.ow);
            for ky in 0..k {
                let iy = (oy * g.stride + ky) as isize - g.top as isize;
                for kx in 0..k {
                    let ix = (ox * g.stride + kx) as isize - g.left as isize;
                    let at = (ky * k + kx) * ci;
                    let inside = iy >= 0 && ix >= 0 && (iy as usize) < h && (ix as usize) < w;
                    for c in 0..ci {
                        patch[at + c] = if inside {
                            x[(c * h + iy as usize) * w + ix as usize]
                        } else {
                            0.0
                        };
                    }
                }
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
