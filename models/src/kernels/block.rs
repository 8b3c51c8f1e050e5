//! One fused residual block of BlazeFace/FaceMesh: depthwise k×k (optional) → pointwise 1×1 →
//! + skip (the input, max-pooled 2×2 when the block strides, zero channels beyond the input's)
//! → activation, as [`crate::layers::BlazeBlock`] computes it with candle ops.
//!
//! The output buffer is first filled with skip + bias; the depthwise result goes to a scratch
//! buffer; then one [`gemm_acc`] adds the pointwise product and applies the activation. Nothing
//! is allocated once the buffers have grown to the network's largest layer.

use super::depthwise::{depthwise, Geometry};
use super::gemm::gemm_acc;
use super::{ensure_len, Activation, Isa};
use crate::layers::Padding;

/// The activation of a block, owned.
#[derive(Debug, Clone, PartialEq)]
pub enum Act {
    None,
    Relu,
    PRelu(Vec<f32>),
}

/// A depthwise layer inside a block: `[C_in, k, k]` weights.
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
    /// `[C_out, C_in]`.
    pub pw: Vec<f32>,
    pub bias: Vec<f32>,
    pub act: Act,
    /// Add the (pooled, channel-padded) input.
    pub residual: bool,
    pub c_in: usize,
    pub c_out: usize,
}

impl FusedBlock {
    /// Output height and width for an `h×w` input.
    pub fn out_size(&self, (h, w): (usize, usize)) -> (usize, usize) {
        match &self.dw {
            Some(d) => {
                let g = Geometry::new(self.c_in, (h, w), d.k, d.stride, d.padding);
                (g.oh, g.ow)
            }
            None => (h, w),
        }
    }

    /// `out = block(x)` for `x` of `[C_in, h, w]`; returns the output's `(h, w)`. `dw` and
    /// `plane` are scratch.
    pub fn forward(
        &self,
        isa: Isa,
        x: &[f32],
        (h, w): (usize, usize),
        out: &mut Vec<f32>,
        dw: &mut Vec<f32>,
        plane: &mut Vec<f32>,
    ) -> (usize, usize) {
        let (oh, ow) = self.out_size((h, w));
        let n = oh * ow;
        ensure_len(out, self.c_out * n);
        for (co, row) in out.chunks_exact_mut(n).enumerate() {
            row.fill(self.bias[co]);
            if self.residual && co < self.c_in {
                let plane_in = &x[co * h * w..(co + 1) * h * w];
                if (oh, ow) == (h, w) {
                    for (o, v) in row.iter_mut().zip(plane_in) {
                        *o += v;
                    }
                } else {
                    add_max_pool2(row, plane_in, (h, w), ow);
                }
            }
        }
        let b: &[f32] = match &self.dw {
            Some(d) => {
                let g = Geometry::new(self.c_in, (h, w), d.k, d.stride, d.padding);
                ensure_len(dw, self.c_in * n);
                depthwise(isa, &g, x, &d.weights, dw, plane);
                dw
            }
            None => x,
        };
        let act = match &self.act {
            Act::None => Activation::None,
            Act::Relu => Activation::Relu,
            Act::PRelu(a) => Activation::PRelu(a),
        };
        gemm_acc(isa, (self.c_out, n, self.c_in), &self.pw, b, out, act);
        (oh, ow)
    }
}

/// `row += maxpool2×2/2(plane)` with TF SAME padding (cells past the edge never win).
fn add_max_pool2(row: &mut [f32], plane: &[f32], (h, w): (usize, usize), ow: usize) {
    for (oy, orow) in row.chunks_exact_mut(ow).enumerate() {
        let (y0, y1) = (2 * oy, (2 * oy + 1).min(h - 1));
        let (r0, r1) = (&plane[y0 * w..(y0 + 1) * w], &plane[y1 * w..(y1 + 1) * w]);
        for (ox, o) in orow.iter_mut().enumerate() {
            let (x0, x1) = (2 * ox, (2 * ox + 1).min(w - 1));
            *o += r0[x0].max(r0[x1]).max(r1[x0]).max(r1[x1]);
        }
    }
}
