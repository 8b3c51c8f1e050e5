//! The bridge from the candle layers of [`crate::layers`] to the fused kernels: each layer's
//! weights copied into the layout the kernels read, and a chain of fused blocks run on a
//! tensor's data with this thread's [`kernels::Workspace`].

use candle_core::{Result, Tensor};

use super::block::FusedBlock;
use super::Isa;
use crate::kernels;
use crate::layers::{Act, BlazeBlock, Conv2d, DepthwiseConv};

impl Act {
    /// The same activation, as the fused kernels take it.
    pub fn to_kernel(&self) -> Result<kernels::block::Act> {
        Ok(match self {
            Act::None => kernels::block::Act::None,
            Act::Relu => kernels::block::Act::Relu,
            Act::PRelu(a) => kernels::block::Act::PRelu(a.flatten_all()?.to_vec1()?),
        })
    }
}

impl DepthwiseConv {
    fn to_kernel(&self) -> Result<kernels::block::Depthwise> {
        Ok(kernels::block::Depthwise {
            weights: self.weight.flatten_all()?.to_vec1()?,
            k: self.weight.dim(3)?,
            stride: self.stride,
            padding: self.padding,
        })
    }
}

impl Conv2d {
    /// This 1×1 convolution as a fused block (no depthwise, no residual).
    pub fn to_fused(&self) -> Result<FusedBlock> {
        fused(None, self, &self.act, false)
    }
}

/// `dw` (if any) → the 1×1 `pw` → `act` as a fused block, `residual` adding the input.
fn fused(dw: Option<&DepthwiseConv>, pw: &Conv2d, act: &Act, residual: bool) -> Result<FusedBlock> {
    let (c_out, c_in, kh, kw) = pw.weight.dims4()?;
    if (kh, kw, pw.stride) != (1, 1, 1) {
        candle_core::bail!("fused: the pointwise layer is {kh}×{kw}/{}", pw.stride);
    }
    Ok(FusedBlock {
        dw: dw.map(DepthwiseConv::to_kernel).transpose()?,
        pw: pw.weight.flatten_all()?.to_vec1()?,
        bias: pw.bias.flatten_all()?.to_vec1()?,
        act: act.to_kernel()?,
        residual,
        c_in,
        c_out,
    })
}

/// A depthwise layer followed by a 1×1 convolution (and its activation), fused, no residual.
pub fn fused_pair(dw: &DepthwiseConv, pw: &Conv2d) -> Result<FusedBlock> {
    fused(Some(dw), pw, &pw.act, false)
}

impl BlazeBlock {
    /// The same block for the fused kernels.
    pub fn to_fused(&self) -> Result<FusedBlock> {
        fused(Some(&self.dw), &self.pw, &self.act, true)
    }
}

/// Runs `blocks` on `x` (`[C, h, w]`, as [`Tensor`] data) with the fused kernels and this
/// thread's workspace; returns the output as a `[1, C, h, w]` tensor.
pub fn run_fused(isa: Isa, blocks: &[FusedBlock], x: &Tensor) -> Result<Tensor> {
    let (_, _, h, w) = x.dims4()?;
    let input = x.flatten_all()?.to_vec1::<f32>()?;
    kernels::with_workspace(|ws| {
        let kernels::Workspace { a, b, dw, plane } = ws;
        a.clear();
        a.extend_from_slice(&input);
        let mut size = (h, w);
        let mut c = x.dim(1)?;
        for blk in blocks {
            if blk.c_in != c {
                candle_core::bail!("fused: a block takes {} channels, got {c}", blk.c_in);
            }
            size = blk.forward(isa, a, size, b, dw, plane);
            c = blk.c_out;
            std::mem::swap(a, b);
        }
        Tensor::from_slice(
            &a[..c * size.0 * size.1],
            (1, c, size.0, size.1),
            x.device(),
        )
    })
}
