//! One fused residual block of BlazeFace/FaceMesh on NHWC data: depthwise k×k (optional) →
//! pointwise 1×1 → + skip (the input, max-pooled 2×2 when the block strides, zero channels
//! beyond the input's) → activation, as [`crate::layers::BlazeBlock`] computes it with candle
//! ops on NCHW.
//!
//! The depthwise result goes to a scratch buffer a band of output rows at a time, and a
//! [`gemm`] writes those rows of the output while it is in cache: skip + bias + pointwise
//! product, through the activation. The skip is read straight from the input
//! when the block keeps its size and channels; otherwise the pooled, zero-padded skip is written
//! to the output first. Nothing
//! is allocated once the buffers have grown to the network's largest layer.

use super::depthwise::{depthwise_rows, Geometry};
use super::gemm::bf16::{self, PackedBf16};
use super::gemm::{gemm_by, Epilogue, Init};
use super::{ensure_len, Buffer, Isa};
use crate::layers::Padding;

/// Floats of depthwise output per band (32 KB: a band and the rows of input and output it
/// touches stay in the core's L1 and L2 caches).
const BAND_FLOATS: usize = 8192;

/// A depthwise layer inside a block: `[k·k, C_in]` weights (tap-major).
#[derive(Debug, Clone)]
pub struct Depthwise {
    pub weights: Vec<f32>,
    pub k: usize,
    pub stride: usize,
    pub padding: Padding,
}

/// One block's weights in the layout the kernels read.
#[derive(Debug, Clone)]
pub struct FusedBlock {
    pub dw: Option<Depthwise>,
    /// `[C_in, C_out]`.
    pub pw: Vec<f32>,
    pub bias: Vec<f32>,
    /// Per output channel, the activation's factor for negative values (1: none, 0: ReLU).
    pub slopes: Vec<f32>,
    /// Add the (pooled, channel-padded) input.
    pub residual: bool,
    /// Read the whole `h×w×C` input as one pixel of `h·w·C` channels: a VALID convolution
    /// whose kernel covers its input (a head's last layer), which is then one dot product per
    /// output channel.
    pub flatten: bool,
    pub c_in: usize,
    pub c_out: usize,
    /// The pointwise weights in `bfloat16`, when the block runs [`bf16::gemm`] (see
    /// [`Self::in_bf16`]).
    pub pw_bf16: Option<PackedBf16>,
}

impl FusedBlock {
    /// Runs the block's pointwise product in `bfloat16` from now on, with AVX-512
    /// ([`Isa::Avx512`]) on a CPU that has AVX-512 BF16; false (and nothing changes) where it
    /// has not.
    pub fn in_bf16(&mut self) -> bool {
        if !bf16::available() {
            return false;
        }
        self.pw_bf16 = Some(PackedBf16::new(&self.pw, self.c_in, self.c_out));
        true
    }

    /// A block without a depthwise layer as the 1×1 convolution it is, on `pixels` NHWC pixels
    /// (one, for a [`FusedBlock::flatten`] one), starting from `init` (so that the residual may
    /// come from elsewhere than `x`).
    pub fn pointwise(&self, isa: Isa, x: &[f32], pixels: usize, out: &mut Buffer, init: Init) {
        debug_assert!(self.dw.is_none());
        ensure_len(out, pixels * self.c_out);
        let ep = Epilogue {
            bias: &self.bias,
            slopes: &self.slopes,
        };
        let dims = (pixels, self.c_out, self.c_in);
        gemm_by(isa, dims, x, &self.pw, self.pw_bf16.as_ref(), out, init, ep);
    }

    /// The skip of the output pixels `pixels`, max-pooled 2×2 when the block strides and
    /// zero-padded to the output's channels, written into `out` for the product to add to.
    fn write_skip(
        &self,
        x: &[f32],
        (h, w): (usize, usize),
        (oh, ow): (usize, usize),
        out: &mut [f32],
        pixels: std::ops::Range<usize>,
    ) {
        let (ci, co) = (self.c_in, self.c_out);
        let first = pixels.start;
        let band = &mut out[first * co..pixels.end * co];
        if co > ci {
            // The padding channels: one fill for the band rather than a short one per pixel.
            band.fill(0.0);
        }
        for (p, px) in band.chunks_exact_mut(co).enumerate() {
            let p = p + first;
            let skip = &mut px[..ci.min(co)];
            if (oh, ow) == (h, w) {
                skip.copy_from_slice(&x[p * ci..p * ci + skip.len()]);
                continue;
            }
            // 2×2 max-pool, SAME: cells past the edge never win.
            let (oy, ox) = (p / ow, p % ow);
            let (y0, y1) = (2 * oy, (2 * oy + 1).min(h - 1));
            let (x0, x1) = (2 * ox, (2 * ox + 1).min(w - 1));
            let at = |y: usize, xx: usize| &x[(y * w + xx) * ci..(y * w + xx + 1) * ci];
            let (a, b, c, d) = (at(y0, x0), at(y0, x1), at(y1, x0), at(y1, x1));
            for (l, o) in skip.iter_mut().enumerate() {
                *o = a[l].max(b[l]).max(c[l]).max(d[l]);
            }
        }
    }

    fn geometry(&self, d: &Depthwise, (h, w): (usize, usize)) -> Geometry {
        Geometry::new(self.c_in, (h, w), d.k, d.stride, d.padding)
    }

    /// `out = block(x)` for `x` of `[h, w, C_in]`; returns the output's `(h, w)`. `dw` is
    /// scratch.
    pub fn forward(
        &self,
        isa: Isa,
        x: &[f32],
        (h, w): (usize, usize),
        out: &mut Buffer,
        dw: &mut Buffer,
    ) -> (usize, usize) {
        let (oh, ow) = match &self.dw {
            Some(d) => {
                let g = self.geometry(d, (h, w));
                (g.oh, g.ow)
            }
            None => (h, w),
        };
        let (ci, co) = (self.c_in, self.c_out);
        ensure_len(out, oh * ow * co);
        let same = (oh, ow) == (h, w) && ci == co;
        if self.residual && !same && self.dw.is_none() {
            self.write_skip(x, (h, w), (oh, ow), out, 0..oh * ow);
        }
        let ep = Epilogue {
            bias: &self.bias,
            slopes: &self.slopes,
        };
        let Some(d) = &self.dw else {
            let init = match (self.residual, same) {
                (false, _) => Init::Zero,
                (true, true) => Init::From(x),
                (true, false) => Init::InPlace,
            };
            let packed = self.pw_bf16.as_ref();
            gemm_by(isa, (oh * ow, co, ci), x, &self.pw, packed, out, init, ep);
            return (oh, ow);
        };
        // In bands of output rows: each band's depthwise result is multiplied while it is
        // still in cache.
        let g = self.geometry(d, (h, w));
        let band = (BAND_FLOATS / (ow * ci).max(1)).clamp(1, oh.max(1));
        ensure_len(dw, band * ow * ci);
        for r0 in (0..oh).step_by(band) {
            let rows = r0..(r0 + band).min(oh);
            let (p0, p1) = (rows.start * ow, rows.end * ow);
            depthwise_rows(isa, &g, x, &d.weights, dw, rows);
            if self.residual && !same {
                self.write_skip(x, (h, w), (oh, ow), out, p0..p1);
            }
            let init = match (self.residual, same) {
                (false, _) => Init::Zero,
                (true, true) => Init::From(&x[p0 * co..p1 * co]),
                (true, false) => Init::InPlace,
            };
            let c = &mut out[p0 * co..p1 * co];
            let packed = self.pw_bf16.as_ref();
            gemm_by(isa, (p1 - p0, co, ci), dw, &self.pw, packed, c, init, ep);
        }
        (oh, ow)
    }
}
