//! The layers that MobileFaceNet and its pruned relative MiniFASNet are built of, as both ONNX
//! graphs lay them out once [`crate::convert::onnx`] has folded their batch norms: convolutions
//! named `conv{k}` in graph order, each with a bias and, where the graph follows it with one, a
//! PReLU slope (`conv{k}.alpha`).
//!
//! - [`Convs`] hands the convolutions out in graph order, so that a network reads its layers in
//!   the order its `forward` runs them.
//! - [`Block`]: the inverted-residual block (1×1 expand, PReLU; 3×3 depthwise, PReLU; 1×1
//!   project, linear), residual when it keeps the size, with optional squeeze-and-excitation.

use candle_core::{Module, Result, Tensor};
use candle_nn::VarBuilder;

use crate::depthwise::{DepthwiseKernel, Pad2d};
use crate::layers::{Act, Conv2d, Padding};

/// Hands out the convolutions `conv0`, `conv1`, … in graph order.
pub(crate) struct Convs<'a> {
    vb: &'a VarBuilder<'a>,
    next: usize,
}

/// One convolution with its folded batch norm: dense, or depthwise when it has one input
/// channel per group.
#[derive(Debug, Clone)]
pub(crate) enum Unit {
    Dense(Conv2d),
    Depthwise(DepthwiseKernel, Act),
}

impl<'a> Convs<'a> {
    pub(crate) fn new(vb: &'a VarBuilder<'a>) -> Self {
        Self { vb, next: 0 }
    }

    /// The next convolution: `stride`, PyTorch's symmetric padding `pad`, PReLU or linear.
    pub(crate) fn next(&mut self, stride: usize, pad: usize, prelu: bool) -> Result<Unit> {
        let vb = self.vb.pp(format!("conv{}", self.next));
        self.next += 1;
        let weight = vb.get_unchecked("weight")?;
        let (c_out, c_in, _, _) = weight.dims4()?;
        let bias = vb.get(c_out, "bias")?;
        let act = if prelu {
            Act::PRelu(vb.get(c_out, "alpha")?.reshape((1, c_out, 1, 1))?)
        } else {
            Act::None
        };
        if c_in == 1 && c_out > 1 {
            let p = Pad2d {
                top: pad,
                bottom: pad,
                left: pad,
                right: pad,
            };
            Ok(Unit::Depthwise(
                DepthwiseKernel::new(&weight, Some(&bias), stride, p)?,
                act,
            ))
        } else {
            let padding = Padding::Symmetric(pad);
            Ok(Unit::Dense(Conv2d::from_parts(
                weight, bias, stride, padding, act,
            )?))
        }
    }

    /// How many convolutions have been handed out.
    pub(crate) fn used(&self) -> usize {
        self.next
    }
}

impl Module for Unit {
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        match self {
            Unit::Dense(c) => c.forward(x),
            Unit::Depthwise(k, act) => act.forward(&k.forward(&x.contiguous()?)?),
        }
    }
}

/// Squeeze-and-excitation: the block's output scaled per channel by a gate computed from its
/// global mean.
#[derive(Debug, Clone)]
struct SqueezeExcite {
    reduce: Unit,
    expand: Unit,
}

impl Module for SqueezeExcite {
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let pooled = x.mean_keepdim(3)?.mean_keepdim(2)?;
        let gate = self
            .expand
            .forward(&self.reduce.forward(&pooled)?.relu()?)?;
        x.broadcast_mul(&candle_nn::ops::sigmoid(&gate)?)
    }
}

/// MobileFaceNet's depthwise block: 1×1 expand (PReLU), 3×3 depthwise (PReLU), 1×1 project
/// (linear); residual when it keeps the size, with squeeze-and-excitation on the branch if any.
#[derive(Debug, Clone)]
pub(crate) struct Block {
    expand: Unit,
    depthwise: Unit,
    project: Unit,
    residual: bool,
    se: Option<SqueezeExcite>,
}

impl Block {
    pub(crate) fn load(convs: &mut Convs, stride: usize, residual: bool, se: bool) -> Result<Self> {
        let expand = convs.next(1, 0, true)?;
        let depthwise = convs.next(stride, 1, true)?;
        let project = convs.next(1, 0, false)?;
        let se = if se {
            Some(SqueezeExcite {
                reduce: convs.next(1, 0, false)?,
                expand: convs.next(1, 0, false)?,
            })
        } else {
            None
        };
        Ok(Self {
            expand,
            depthwise,
            project,
            residual,
            se,
        })
    }

    /// A stage as both networks build it: one block halving the size, then `n` residual
    /// blocks, the last with squeeze-and-excitation when `se_last`.
    pub(crate) fn stage(convs: &mut Convs, n: usize, se_last: bool) -> Result<Vec<Self>> {
        let mut blocks = vec![Self::load(convs, 2, false, false)?];
        for i in 0..n {
            blocks.push(Self::load(convs, 1, true, se_last && i + 1 == n)?);
        }
        Ok(blocks)
    }
}

impl Module for Block {
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let mut y = self
            .project
            .forward(&self.depthwise.forward(&self.expand.forward(x)?)?)?;
        if let Some(se) = &self.se {
            y = se.forward(&y)?;
        }
        if self.residual {
            y = (y + x)?;
        }
        Ok(y)
    }
}
