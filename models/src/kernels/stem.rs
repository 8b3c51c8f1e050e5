//! A dense k×k convolution with bias and activation, as one GEMM over gathered patches: a
//! network's first layer (reading the NCHW input image) or a later one (reading NHWC), written as
//! NHWC for the layers that follow. The image's patches are
//! gathered into a `[pixels, k·k·C_in]` matrix (zeros in the padding) and [`gemm`] multiplies
//! them by the `[k·k·C_in, C_out]` weights: a band of output rows at a time while the weights
//! are small (≤ `BAND_FLOATS` floats), else the whole layer at once.

use super::depthwise::Geometry;
use super::gemm::bf16::{self, PackedBf16};
use super::gemm::{gemm_by, Epilogue, Init};
use super::{ensure_len, Buffer, Isa};
use crate::layers::Padding;

/// Floats of gathered patches multiplied at a time (128 KB: well inside a core's L2 beside the
/// weights).
const BAND_FLOATS: usize = 32 * 1024;

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
    /// The input is NCHW (a network's input image) rather than NHWC.
    pub nchw_input: bool,
    /// The weights in `bfloat16`, when the layer runs [`bf16::gemm`] (see [`Self::in_bf16`]).
    pub bf16: Option<PackedBf16>,
}

impl FusedStem {
    /// Runs the layer's products in `bfloat16` from now on, with AVX-512 ([`Isa::Avx512`]) on a
    /// CPU that has AVX-512 BF16; false (and nothing changes) where it has not.
    pub fn in_bf16(&mut self) -> bool {
        if !bf16::available() {
            return false;
        }
        let depth = self.k * self.k * self.c_in;
        self.bf16 = Some(PackedBf16::new(&self.weights, depth, self.c_out));
        true
    }

    /// `out = act(conv(x))` for `x` of `[C_in, h, w]` (NCHW) or `[h, w, C_in]` (NHWC), `out`
    /// NHWC; returns the output's `(h, w)`. `padded` and `cols` are scratch.
    pub fn forward(
        &self,
        isa: Isa,
        x: &[f32],
        (h, w): (usize, usize),
        out: &mut Buffer,
        scratch: (&mut Buffer, &mut Buffer),
    ) -> (usize, usize) {
        self.forward_onto(isa, x, (h, w), out, scratch, Init::Zero)
    }

    /// [`FusedStem::forward`], with the activation applied to `init + conv(x)` (a residual
    /// block's skip added as the output is written).
    pub fn forward_onto(
        &self,
        isa: Isa,
        x: &[f32],
        (h, w): (usize, usize),
        out: &mut Buffer,
        (padded, cols): (&mut Buffer, &mut Buffer),
        init: Init,
    ) -> (usize, usize) {
        let g = Geometry::new(self.c_in, (h, w), self.k, self.stride, self.padding);
        let (k, ci, s) = (self.k, self.c_in, self.stride);
        // The image as NHWC with its zero padding, so each patch row is one contiguous run.
        let (ph, pw) = ((g.oh - 1) * s + k, (g.ow - 1) * s + k);
        ensure_len(padded, ph * pw * ci);
        let cols_in = w.min(pw - g.left);
        let rows_in = h.min(ph - g.top);
        // Zeros where the image does not reach: the rows above and below, the columns either
        // side (the image's own pixels are all written below).
        padded[..g.top * pw * ci].fill(0.0);
        padded[(g.top + rows_in) * pw * ci..].fill(0.0);
        for y in g.top..g.top + rows_in {
            padded[y * pw * ci..(y * pw + g.left) * ci].fill(0.0);
            padded[(y * pw + g.left + cols_in) * ci..(y + 1) * pw * ci].fill(0.0);
        }
        for y in 0..rows_in {
            let row = (y + g.top) * pw + g.left;
            if self.nchw_input && ci == 3 {
                // RGB (every network's first layer): the three planes' rows interleaved in one
                // pass, without an index computed per value.
                let plane = |c: usize| &x[(c * h + y) * w..][..cols_in];
                let dst = &mut padded[row * 3..(row + cols_in) * 3];
                for (((d, r), g), b) in dst
                    .chunks_exact_mut(3)
                    .zip(plane(0))
                    .zip(plane(1))
                    .zip(plane(2))
                {
                    d.copy_from_slice(&[*r, *g, *b]);
                }
            } else if self.nchw_input {
                for c in 0..ci {
                    let src = &x[(c * h + y) * w..(c * h + y) * w + cols_in];
                    for (xx, v) in src.iter().enumerate() {
                        padded[(row + xx) * ci + c] = *v;
                    }
                }
            } else {
                padded[row * ci..(row + cols_in) * ci]
                    .copy_from_slice(&x[y * w * ci..(y * w + cols_in) * ci]);
            }
        }
        let (run, depth) = (k * ci, k * k * ci);
        if let Init::From(skip) = init {
            assert_eq!(
                skip.len(),
                g.oh * g.ow * self.c_out,
                "the skip is the output's size"
            );
        }
        ensure_len(out, g.oh * g.ow * self.c_out);
        let ep = Epilogue {
            bias: &self.bias,
            slopes: &self.slopes,
        };
        // A band of output rows at a time: its patches are gathered and multiplied while they
        // are in cache (a whole layer's patches can be megabytes, 9× its input). Only where the
        // weights are small: each band reads all of them again.
        let rows = if depth * self.c_out <= BAND_FLOATS {
            (BAND_FLOATS / (g.ow * depth).max(1)).clamp(1, g.oh.max(1))
        } else {
            g.oh.max(1)
        };
        ensure_len(cols, rows * g.ow * depth);
        let n_out = g.ow * self.c_out;
        for r0 in (0..g.oh).step_by(rows) {
            let band = rows.min(g.oh - r0);
            for (p, patch) in cols[..band * g.ow * depth]
                .chunks_exact_mut(depth)
                .enumerate()
            {
                let (oy, ox) = (r0 + p / g.ow, p % g.ow);
                for (ky, dst) in patch.chunks_exact_mut(run).enumerate() {
                    let at = ((oy * s + ky) * pw + ox * s) * ci;
                    copy_run(dst, &padded[at..at + run]);
                }
            }
            let init = match init {
                Init::From(skip) => Init::From(&skip[r0 * n_out..(r0 + band) * n_out]),
                other => other,
            };
            let dst = &mut out[r0 * n_out..(r0 + band) * n_out];
            let shape = (band * g.ow, self.c_out, depth);
            let packed = self.bf16.as_ref();
            gemm_by(isa, shape, cols, &self.weights, packed, dst, init, ep);
        }
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

/// `dst = relu(maxpool2×2/2(src))` on NHWC `[h, w, c]`, VALID (a last odd row or column is
/// dropped); returns the output's `(h, w)`.
pub fn max_pool2_relu(
    src: &[f32],
    (h, w): (usize, usize),
    c: usize,
    dst: &mut Buffer,
) -> (usize, usize) {
    let (oh, ow) = (h / 2, w / 2);
    ensure_len(dst, oh * ow * c);
    for (p, out) in dst.chunks_exact_mut(c).enumerate() {
        let (y, x) = (2 * (p / ow), 2 * (p % ow));
        let at = |yy: usize, xx: usize| &src[(yy * w + xx) * c..(yy * w + xx + 1) * c];
        let (a, b, d, e) = (at(y, x), at(y, x + 1), at(y + 1, x), at(y + 1, x + 1));
        for (l, o) in out.iter_mut().enumerate() {
            *o = a[l].max(b[l]).max(d[l]).max(e[l]).max(0.0);
        }
    }
    (oh, ow)
}
