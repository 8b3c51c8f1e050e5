//! The layers that MobileFaceNet and its pruned relative MiniFASNet are built of, as both ONNX
//! graphs lay them out once [`crate::convert::onnx`] has folded their batch norms: convolutions
//! named `conv{k}` in graph order, each with a bias and, where the graph follows it with one, a
//! PReLU slope (`conv{k}.alpha`).
//!
//! - [`Convs`] hands the convolutions out in graph order, so that a network reads its layers in
//!   the order its `forward` runs them.
//! - [`Block`]: the inverted-residual block (1×1 expand, PReLU; 3×3 depthwise, PReLU; 1×1
//!   project, linear), residual when it keeps the size, with optional squeeze-and-excitation.
//! - `to_fused`: each layer in the layout of [`crate::kernels::mobile`], which both networks run
//!   with [`crate::layers::Kernels::Fused`] (the candle modules stay the reference).

use candle_core::{Module, Result, Tensor};
use candle_nn::VarBuilder;

use crate::depthwise::{DepthwiseKernel, Pad2d};
use crate::kernels::block::{self, FusedBlock};
use crate::kernels::mobile::{self, DepthwiseAct, GlobalDepthwise, Inverted, Layer};
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

impl Unit {
    /// This layer for the fused kernels: a 1×1 convolution as one GEMM, a larger dense one
    /// over its patches, a depthwise one (k ≤ 5) in registers, and a larger unpadded depthwise
    /// one as the global head (its kernel covers its input: checked when it runs).
    pub(crate) fn to_fused(&self) -> Result<Layer> {
        match self {
            Unit::Dense(c) => {
                let k = c.weight.dim(3)?;
                if k == 1 && c.stride == 1 && c.padding == Padding::Symmetric(0) {
                    Ok(Layer::Pointwise(c.to_fused()?))
                } else {
                    let mut stem = c.to_stem()?;
                    stem.nchw_input = false;
                    Ok(Layer::Conv(stem))
                }
            }
            Unit::Depthwise(kernel, act) => {
                let (kh, kw, c, pad, stride) = (
                    kernel.kh,
                    kernel.kw,
                    kernel.channels,
                    kernel.pad,
                    kernel.stride,
                );
                // [C, k·k] → [k·k, C]
                let taps = kh * kw;
                let w = &kernel.weights;
                let weights: Vec<f32> = (0..taps)
                    .flat_map(|t| (0..c).map(move |ch| w[ch * taps + t]))
                    .collect();
                let bias = kernel.bias.clone().unwrap_or_else(|| vec![0.0; c]);
                let slopes = act.slopes(c)?;
                let symmetric =
                    pad.top == pad.bottom && pad.left == pad.right && pad.top == pad.left;
                if kh != kw || !symmetric {
                    candle_core::bail!("fused: a {kh}×{kw} depthwise layer with padding {pad:?}");
                }
                if kh <= 5 {
                    Ok(Layer::Depthwise(DepthwiseAct {
                        dw: block::Depthwise {
                            weights,
                            k: kh,
                            stride,
                            padding: Padding::Symmetric(pad.top),
                        },
                        bias,
                        slopes,
                        channels: c,
                    }))
                } else if pad == Pad2d::default() {
                    Ok(Layer::Global(GlobalDepthwise {
                        weights,
                        bias,
                        slopes,
                        k: kh,
                        channels: c,
                    }))
                } else {
                    candle_core::bail!("fused: a padded {kh}×{kw} depthwise layer")
                }
            }
        }
    }

    /// A 1×1 layer for the fused kernels (a block's expand, project or gate).
    fn to_pointwise(&self) -> Result<FusedBlock> {
        match self.to_fused()? {
            Layer::Pointwise(p) => Ok(p),
            other => candle_core::bail!("fused: expected a 1×1 layer, got {other:?}"),
        }
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

impl Block {
    /// The block for the fused kernels.
    pub(crate) fn to_fused(&self) -> Result<Layer> {
        let depthwise = match self.depthwise.to_fused()? {
            Layer::Depthwise(d) => d,
            other => candle_core::bail!("fused: a block's depthwise layer is {other:?}"),
        };
        let se = match &self.se {
            Some(se) => {
                let mut reduce = se.reduce.to_pointwise()?;
                // The gate's ReLU follows the linear reduction.
                reduce.slopes.fill(0.0);
                Some(mobile::SqueezeExcite {
                    reduce,
                    expand: se.expand.to_pointwise()?,
                })
            }
            None => None,
        };
        Ok(Layer::Inverted(Box::new(Inverted {
            expand: self.expand.to_pointwise()?,
            depthwise,
            project: self.project.to_pointwise()?,
            se,
            residual: self.residual,
        })))
    }
}

/// `layers` (stem, blocks, head, in order) for the fused kernels; the first reads the NCHW
/// image.
pub(crate) fn fused_layers(stem: &[Unit], blocks: &[Block], head: &[Unit]) -> Result<Vec<Layer>> {
    let mut layers = Vec::with_capacity(stem.len() + blocks.len() + head.len());
    for (i, u) in stem.iter().enumerate() {
        let mut l = u.to_fused()?;
        if let (0, Layer::Conv(s)) = (i, &mut l) {
            s.nchw_input = true;
        }
        layers.push(l);
    }
    for b in blocks {
        layers.push(b.to_fused()?);
    }
    for u in head {
        layers.push(u.to_fused()?);
    }
    if !matches!(layers.first(), Some(Layer::Conv(_))) {
        candle_core::bail!("fused: a mobile network must start with a dense convolution");
    }
    Ok(layers)
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

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use candle_core::{DType, Device};

    use super::*;
    use crate::kernels::{self, Isa};

    fn random(shape: &[usize]) -> Result<Tensor> {
        Tensor::randn(0f32, 1.0, shape, &Device::Cpu)
    }

    /// `conv{k}` tensors for a chain of (c_out, c_in per group, k) layers, each with a bias and
    /// a PReLU slope, scaled so that activations stay of order one.
    fn weights(layers: &[(usize, usize, usize)]) -> Result<VarBuilder<'static>> {
        let mut t = HashMap::new();
        for (i, &(co, ci, k)) in layers.iter().enumerate() {
            let scale = 1.0 / ((ci * k * k) as f64).sqrt();
            t.insert(
                format!("conv{i}.weight"),
                (random(&[co, ci, k, k])? * scale)?,
            );
            t.insert(format!("conv{i}.bias"), (random(&[co])? * 0.1)?);
            t.insert(format!("conv{i}.alpha"), (random(&[co])? * 0.3)?);
        }
        Ok(VarBuilder::from_tensors(t, DType::F32, &Device::Cpu))
    }

    fn max_diff(a: &Tensor, b: &[f32]) -> Result<f32> {
        let a = a.permute((0, 2, 3, 1))?.flatten_all()?.to_vec1::<f32>()?;
        assert_eq!(a.len(), b.len());
        Ok(a.iter()
            .zip(b)
            .map(|(x, y)| (x - y).abs())
            .fold(0.0, f32::max))
    }

    /// A stem (dense 3×3/2 + depthwise 3×3), blocks that stride, keep their size, and carry a
    /// gate, and the 1×1 + global depthwise head equal the candle modules on every instruction
    /// set (odd sizes, channel counts that are not multiples of 8).
    #[test]
    fn fused_mobile_layers_match_the_candle_modules() -> Result<()> {
        let (c, e) = (12, 20);
        let vb = weights(&[
            (c, 3, 3), // stem: dense 3×3/2
            (c, 1, 3), // stem: depthwise 3×3
            (e, c, 1), // block 1 (stride 2): expand, depthwise, project
            (e, 1, 3),
            (c, e, 1),
            (e, c, 1), // block 2 (residual, gated)
            (e, 1, 3),
            (c, e, 1),
            (4, c, 1), // its gate
            (c, 4, 1),
            (e, c, 1), // block 3 (residual)
            (e, 1, 3),
            (c, e, 1),
            (24, c, 1), // head: 1×1, then global depthwise over the 6×6 map
            (24, 1, 6), // (input 23 → 12 after the stem → 6 after block 1)
        ])?;
        let mut convs = Convs::new(&vb);
        let stem = [convs.next(2, 1, true)?, convs.next(1, 1, true)?];
        let blocks = vec![
            Block::load(&mut convs, 2, false, false)?,
            Block::load(&mut convs, 1, true, true)?,
            Block::load(&mut convs, 1, true, false)?,
        ];
        let head = [convs.next(1, 0, true)?, convs.next(1, 0, false)?];
        let x = random(&[1, 3, 23, 23])?;
        let mut y = x.clone();
        for l in &stem {
            y = l.forward(&y)?;
        }
        for b in &blocks {
            y = b.forward(&y)?;
        }
        for l in &head {
            y = l.forward(&y)?;
        }
        assert_eq!(y.dims(), &[1, 24, 1, 1]);
        let layers = fused_layers(&stem, &blocks, &head)?;
        for isa in Isa::available() {
            let got = kernels::mobile::run(isa, &layers, &x)?;
            let d = max_diff(&y, &got)?;
            assert!(d < 1e-4, "{isa:?}: diff {d}");
            // Twice on a warm workspace: the same values.
            assert_eq!(kernels::mobile::run(isa, &layers, &x)?, got);
        }
        Ok(())
    }
}
