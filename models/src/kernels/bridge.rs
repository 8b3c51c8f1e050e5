//! The bridge from the candle layers of [`crate::layers`] to the fused kernels: each layer's
//! weights copied into the layout the kernels read, and a chain of fused blocks run on a
//! tensor's data with this thread's [`kernels::Workspace`].

use candle_core::{Result, Tensor};

use super::block::FusedBlock;
use super::ensure_len;
use super::stem::FusedStem;
use super::Isa;
use crate::kernels;
use crate::layers::{Act, BlazeBlock, Conv2d, DepthwiseConv};

impl Act {
    /// Per channel, the factor for negative values: 1 (none), 0 (ReLU), alpha (PReLU).
    pub fn slopes(&self, c: usize) -> Result<Vec<f32>> {
        Ok(match self {
            Act::None => vec![1.0; c],
            Act::Relu => vec![0.0; c],
            Act::PRelu(a) => a.flatten_all()?.to_vec1()?,
        })
    }
}

impl DepthwiseConv {
    fn to_kernel(&self) -> Result<kernels::block::Depthwise> {
        let (c, _, k, _) = self.weight.dims4()?;
        Ok(kernels::block::Depthwise {
            // [C, 1, k, k] → [k·k, C]
            weights: self
                .weight
                .reshape((c, k * k))?
                .t()?
                .flatten_all()?
                .to_vec1()?,
            k,
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
        // [C_out, C_in, 1, 1] → [C_in, C_out]
        pw: pw
            .weight
            .reshape((c_out, c_in))?
            .t()?
            .flatten_all()?
            .to_vec1()?,
        bias: pw.bias.flatten_all()?.to_vec1()?,
        slopes: act.slopes(c_out)?,
        residual,
        c_in,
        c_out,
    })
}

/// A depthwise layer followed by a 1×1 convolution (and its activation), fused, no residual.
pub fn fused_pair(dw: &DepthwiseConv, pw: &Conv2d) -> Result<FusedBlock> {
    fused(Some(dw), pw, &pw.act, false)
}

impl Conv2d {
    /// This dense convolution (a network's first layer) for the fused kernels.
    pub fn to_stem(&self) -> Result<FusedStem> {
        let (c_out, c_in, k, _) = self.weight.dims4()?;
        Ok(FusedStem {
            // [C_out, C_in, k, k] → [k, k, C_in, C_out]
            weights: self
                .weight
                .permute((2, 3, 1, 0))?
                .flatten_all()?
                .to_vec1()?,
            bias: self.bias.flatten_all()?.to_vec1()?,
            slopes: self.act.slopes(c_out)?,
            k,
            stride: self.stride,
            padding: self.padding,
            c_in,
            c_out,
        })
    }
}

impl BlazeBlock {
    /// The same block for the fused kernels.
    pub fn to_fused(&self) -> Result<FusedBlock> {
        fused(Some(&self.dw), &self.pw, &self.act, true)
    }
}

/// Runs `stem` (if any), then `blocks`, on `x` (`[1, C, h, w]`) with the fused kernels and
/// this thread's workspace; returns the output as a `[1, C, h, w]` tensor.
pub fn run_fused(
    isa: Isa,
    stem: Option<&FusedStem>,
    blocks: &[FusedBlock],
    x: &Tensor,
) -> Result<Tensor> {
    let (_, c, h, w) = x.dims4()?;
    let input = x.flatten_all()?.to_vec1::<f32>()?;
    let (out, (c, oh, ow)) = kernels::with_workspace(|ws| {
        let kernels::Workspace { a, b, dw } = ws;
        let mut size = (h, w);
        let mut c = c;
        match stem {
            Some(s) => {
                if s.c_in != c {
                    candle_core::bail!("fused: the stem takes {} channels, got {c}", s.c_in);
                }
                size = s.forward(isa, &input, size, a, dw);
                c = s.c_out;
            }
            None => {
                ensure_len(a, input.len());
                transpose(&input, (c, h * w), a);
            }
        }
        for blk in blocks {
            if blk.c_in != c {
                candle_core::bail!("fused: a block takes {} channels, got {c}", blk.c_in);
            }
            size = blk.forward(isa, a, size, b, dw);
            c = blk.c_out;
            std::mem::swap(a, b);
        }
        let mut nchw = vec![0f32; c * size.0 * size.1];
        transpose(&a[..nchw.len()], (size.0 * size.1, c), &mut nchw);
        Ok((nchw, (c, size.0, size.1)))
    })?;
    Tensor::from_vec(out, (1, c, oh, ow), x.device())
}

/// `dst[j, i] = src[i, j]` for a `rows × cols` row-major `src`.
fn transpose(src: &[f32], (rows, cols): (usize, usize), dst: &mut [f32]) {
    for (i, row) in src.chunks_exact(cols).take(rows).enumerate() {
        for (j, v) in row.iter().enumerate() {
            dst[j * rows + i] = *v;
        }
    }
}
