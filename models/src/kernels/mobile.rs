//! MobileFaceNet's and MiniFASNet's layers ([`crate::nets::mobile_blocks`]) on NHWC data with
//! the fused kernels: every 1×1 convolution one [`gemm`] with its bias, PReLU and (for a block
//! that keeps its size) the residual applied as the output is written; every 3×3 depthwise
//! convolution the register-resident [`depthwise`] kernel, then its bias and PReLU in one pass;
//! the squeeze-and-excitation gate and the global depthwise head as plain loops (a few thousand
//! multiply-adds). Buffers come from the thread's [`Workspace`], so a warm forward pass
//! allocates only its result.

use candle_core::{Result, Tensor};

use super::block::{Depthwise, FusedBlock};
use super::depthwise::{depthwise, Geometry};
use super::gemm::Init;
use super::stem::FusedStem;
use super::{ensure_len, Buffer, Isa, Workspace};
use crate::layers::Padding;

/// A k×k depthwise convolution (k ≤ 5) followed by its bias and activation.
#[derive(Debug, Clone)]
pub struct DepthwiseAct {
    pub dw: Depthwise,
    pub bias: Vec<f32>,
    /// Per channel, the activation's factor for negative values.
    pub slopes: Vec<f32>,
    pub channels: usize,
}

impl DepthwiseAct {
    fn run(
        &self,
        isa: Isa,
        x: &[f32],
        (h, w): (usize, usize),
        out: &mut Buffer,
    ) -> Result<(usize, usize)> {
        let (k, pad) = (self.dw.k, pad_of(self.dw.padding));
        if h + 2 * pad < k || w + 2 * pad < k {
            candle_core::bail!(
                "fused: a {h}×{w} input is smaller than its {k}×{k} depthwise kernel"
            );
        }
        let g = Geometry::new(self.channels, (h, w), k, self.dw.stride, self.dw.padding);
        ensure_len(out, g.oh * g.ow * self.channels);
        depthwise(isa, &g, x, &self.dw.weights, out);
        for px in out.chunks_exact_mut(self.channels) {
            bias_act(px, &self.bias, &self.slopes);
        }
        Ok((g.oh, g.ow))
    }
}

/// The padding on each side, for the size check (TF's SAME pads at most `k − 1` in all).
fn pad_of(p: Padding) -> usize {
    match p {
        Padding::Symmetric(n) => n,
        Padding::Valid | Padding::Same => 0,
    }
}

/// `px = act(px + bias)` for one pixel's channels. Branch-free (the sign of a PReLU's input is
/// a coin toss, which a branch mispredicts half the time), so it vectorises.
fn bias_act(px: &mut [f32], bias: &[f32], slopes: &[f32]) {
    for ((v, b), s) in px.iter_mut().zip(bias).zip(slopes) {
        let y = *v + b;
        *v = y.max(0.0) + s * y.min(0.0);
    }
}

/// A depthwise convolution whose VALID kernel covers its whole input (the "global depthwise"
/// head): one weighted sum per channel. `[k·k, C]` weights.
#[derive(Debug, Clone)]
pub struct GlobalDepthwise {
    pub weights: Vec<f32>,
    pub bias: Vec<f32>,
    pub slopes: Vec<f32>,
    pub k: usize,
    pub channels: usize,
}

impl GlobalDepthwise {
    fn run(&self, x: &[f32], (h, w): (usize, usize), out: &mut Buffer) -> Result<()> {
        if (h, w) != (self.k, self.k) {
            candle_core::bail!(
                "fused: the {0}×{0} global depthwise layer got {h}×{w}",
                self.k
            );
        }
        let c = self.channels;
        ensure_len(out, c);
        out.fill(0.0);
        for (px, wt) in x
            .chunks_exact(c)
            .zip(self.weights.chunks_exact(c))
            .take(h * w)
        {
            for ((o, v), k) in out.iter_mut().zip(px).zip(wt) {
                *o += v * k;
            }
        }
        bias_act(out, &self.bias, &self.slopes);
        Ok(())
    }
}

/// Squeeze-and-excitation: each channel scaled by `sigmoid(expand(relu(reduce(mean))))`.
#[derive(Debug, Clone)]
pub struct SqueezeExcite {
    /// 1×1, ReLU (slopes 0).
    pub reduce: FusedBlock,
    /// 1×1, linear; the sigmoid follows.
    pub expand: FusedBlock,
}

impl SqueezeExcite {
    /// Scales `y` (`[pixels, C]`) in place; `scratch` holds the gate.
    fn run(&self, isa: Isa, y: &mut [f32], pixels: usize, scratch: &mut Buffer) {
        let c = self.reduce.c_in;
        let mut mean = vec![0.0f32; c];
        for px in y.chunks_exact(c).take(pixels) {
            for (m, v) in mean.iter_mut().zip(px) {
                *m += v;
            }
        }
        mean.iter_mut().for_each(|m| *m /= pixels as f32);
        let mut squeezed = Buffer::default();
        self.reduce
            .pointwise(isa, &mean, 1, &mut squeezed, Init::Zero);
        self.expand
            .pointwise(isa, &squeezed, 1, scratch, Init::Zero);
        scratch
            .iter_mut()
            .for_each(|g| *g = 1.0 / (1.0 + (-*g).exp()));
        for px in y.chunks_exact_mut(c).take(pixels) {
            for (v, g) in px.iter_mut().zip(scratch.iter()) {
                *v *= g;
            }
        }
    }
}

/// The inverted-residual block: 1×1 expand → k×k depthwise → 1×1 project, squeeze-and-
/// excitation on the branch if any, plus the input when `residual`.
#[derive(Debug, Clone)]
pub struct Inverted {
    /// 1×1 blocks (no depthwise layer of their own).
    pub expand: FusedBlock,
    pub depthwise: DepthwiseAct,
    pub project: FusedBlock,
    pub se: Option<SqueezeExcite>,
    pub residual: bool,
}

/// One layer of a mobile network, in the order its forward pass runs them.
#[derive(Debug, Clone)]
pub enum Layer {
    /// A dense k×k convolution (a network's first layer reads the NCHW image).
    Conv(FusedStem),
    /// A 1×1 convolution, or a dense layer on a one-pixel input (a fused block without a
    /// depthwise layer).
    Pointwise(FusedBlock),
    Depthwise(DepthwiseAct),
    Global(GlobalDepthwise),
    Inverted(Box<Inverted>),
}

/// Runs `layers` on the single image `x` (`[1, C, h, w]`, NCHW) with this thread's workspace;
/// returns the last activation, NHWC, flattened (a network ending in a one-pixel layer returns
/// its vector).
pub fn run(isa: Isa, layers: &[Layer], x: &Tensor) -> Result<Vec<f32>> {
    let (n, c, h, w) = x.dims4()?;
    if n != 1 {
        candle_core::bail!("fused: one image at a time, got {n}");
    }
    let input = x.flatten_all()?.to_vec1::<f32>()?;
    super::with_workspace(|ws| {
        ws.a.set_from(&input);
        let (mut c, mut size) = (c, (h, w));
        for layer in layers {
            (c, size) = step(isa, layer, ws, c, size)?;
        }
        Ok(ws.a[..c * size.0 * size.1].to_vec())
    })
}

/// One layer: reads `ws.a` (`c` channels of `size`), leaves its output in `ws.a`.
fn step(
    isa: Isa,
    layer: &Layer,
    ws: &mut Workspace,
    c: usize,
    (h, w): (usize, usize),
) -> Result<(usize, (usize, usize))> {
    let Workspace { a, b, dw, cols, .. } = ws;
    // A dense layer reads its whole input as one pixel.
    let (c, (h, w)) = match layer {
        Layer::Pointwise(p) if p.flatten => (c * h * w, (1, 1)),
        _ => (c, (h, w)),
    };
    let takes = match layer {
        Layer::Conv(s) => s.c_in,
        Layer::Pointwise(p) => p.c_in,
        Layer::Depthwise(d) => d.channels,
        Layer::Global(g) => g.channels,
        Layer::Inverted(blk) => blk.expand.c_in,
    };
    if takes != c {
        candle_core::bail!("fused: a layer takes {takes} channels, got {c}");
    }
    let out = match layer {
        Layer::Conv(s) => (s.c_out, s.forward(isa, a, (h, w), b, (dw, cols))),
        Layer::Pointwise(p) => {
            p.pointwise(isa, a, h * w, b, Init::Zero);
            (p.c_out, (h, w))
        }
        Layer::Depthwise(d) => (c, d.run(isa, a, (h, w), b)?),
        Layer::Global(g) => {
            g.run(a, (h, w), b)?;
            (c, (1, 1))
        }
        Layer::Inverted(blk) => {
            blk.expand.pointwise(isa, a, h * w, cols, Init::Zero);
            let (oh, ow) = blk.depthwise.run(isa, cols, (h, w), dw)?;
            let co = blk.project.c_out;
            let skip = blk.residual && ((oh, ow), co) == ((h, w), c);
            if blk.residual && !skip {
                candle_core::bail!("fused: a residual block changes its shape");
            }
            // Without a gate the residual is added as the projection is written.
            let init = if skip && blk.se.is_none() {
                Init::From(a)
            } else {
                Init::Zero
            };
            blk.project.pointwise(isa, dw, oh * ow, b, init);
            if let Some(se) = &blk.se {
                se.run(isa, b, oh * ow, cols);
                if skip {
                    b.iter_mut().zip(a.iter()).for_each(|(y, x)| *y += x);
                }
            }
            (co, (oh, ow))
        }
    };
    std::mem::swap(a, b);
    Ok(out)
}
