//! The bridge from the candle layers of [`crate::layers`] to the fused kernels: each layer's
//! weights copied into the layout the kernels read, and a chain of fused blocks run on a
//! tensor's data with this thread's [`kernels::Workspace`].

use candle_core::{Result, Tensor};

use super::block::FusedBlock;
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
        pw_bf16: None,
        dw: dw.map(DepthwiseConv::to_kernel).transpose()?,
        pw: pointwise_weights(&pw.weight)?,
        bias: pw.bias.flatten_all()?.to_vec1()?,
        slopes: act.slopes(c_out)?,
        residual,
        flatten: false,
        c_in,
        c_out,
    })
}

/// A 1×1 convolution's `[C_out, C_in, 1, 1]` weights as the GEMM's `[C_in, C_out]`.
fn pointwise_weights(weight: &Tensor) -> Result<Vec<f32>> {
    let (c_out, c_in, _, _) = weight.dims4()?;
    weight.reshape((c_out, c_in))?.t()?.flatten_all()?.to_vec1()
}

/// A dense layer (`[out, in]` weights) as a fused block reading its whole input as one pixel;
/// ReLU when `relu`, else linear.
pub fn dense_to_fused(l: &candle_nn::Linear, relu: bool) -> Result<FusedBlock> {
    let (c_out, c_in) = l.weight().dims2()?;
    let bias = match l.bias() {
        Some(b) => b.to_vec1()?,
        None => vec![0.0; c_out],
    };
    Ok(FusedBlock {
        pw_bf16: None,
        dw: None,
        pw: l.weight().t()?.flatten_all()?.to_vec1()?,
        bias,
        slopes: vec![if relu { 0.0 } else { 1.0 }; c_out],
        residual: false,
        flatten: true,
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
            nchw_input: true,
            bf16: None,
        })
    }
}

impl Conv2d {
    /// This VALID convolution as one dot product per output channel, for an input exactly its
    /// kernel's size (a head's last layer; see [`FusedBlock::flatten`]).
    pub fn to_dense(&self) -> Result<FusedBlock> {
        let (c_out, c_in, k, _) = self.weight.dims4()?;
        Ok(FusedBlock {
            pw_bf16: None,
            dw: None,
            // [C_out, C_in, k, k] → [k·k·C_in, C_out], the order of an NHWC input.
            pw: self
                .weight
                .permute((2, 3, 1, 0))?
                .flatten_all()?
                .to_vec1()?,
            bias: self.bias.flatten_all()?.to_vec1()?,
            slopes: self.act.slopes(c_out)?,
            residual: false,
            flatten: true,
            c_in: k * k * c_in,
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

/// An activation in NHWC order, copied out of the workspace.
#[derive(Debug, Clone)]
pub struct Nhwc {
    pub data: Vec<f32>,
    pub c: usize,
    pub h: usize,
    pub w: usize,
}

impl Nhwc {
    /// As a `[1, C, h, w]` tensor.
    pub fn to_nchw(&self) -> Result<Tensor> {
        let mut nchw = vec![0f32; self.data.len()];
        transpose(&self.data, (self.h * self.w, self.c), &mut nchw);
        Tensor::from_vec(nchw, (1, self.c, self.h, self.w), &candle_core::Device::Cpu)
    }
}

/// Runs `stem`, then `blocks`, on `x` (`[1, C, h, w]`) with the fused kernels and this
/// thread's workspace.
pub fn run_stem(isa: Isa, stem: &FusedStem, blocks: &[FusedBlock], x: &Tensor) -> Result<Nhwc> {
    let (_, c, h, w) = x.dims4()?;
    if stem.c_in != c {
        candle_core::bail!("fused: the stem takes {} channels, got {c}", stem.c_in);
    }
    with_f32_slice(x, |input| {
        kernels::with_workspace(|ws| {
            let size = stem.forward(isa, input, (h, w), &mut ws.a, (&mut ws.dw, &mut ws.cols));
            chain(isa, blocks, ws, (stem.c_out, size.0, size.1))
        })
    })
}

/// Calls `f` on the tensor's values in row-major order: its own CPU storage when it is
/// contiguous `f32` (a network's input image, 442 KB for the landmark network, is not copied),
/// a copy otherwise.
fn with_f32_slice<T>(x: &Tensor, f: impl FnOnce(&[f32]) -> Result<T>) -> Result<T> {
    {
        let (storage, layout) = x.storage_and_layout();
        if let (candle_core::Storage::Cpu(cpu), Some((start, end))) =
            (&*storage, layout.contiguous_offsets())
        {
            if let Ok(values) = cpu.as_slice::<f32>() {
                return f(&values[start..end]);
            }
        }
    }
    f(&x.flatten_all()?.to_vec1::<f32>()?)
}

/// Runs `blocks` on `x` with the fused kernels and this thread's workspace.
pub fn run_blocks(isa: Isa, blocks: &[FusedBlock], x: &Nhwc) -> Result<Nhwc> {
    kernels::with_workspace(|ws| {
        ws.a.set_from(&x.data);
        chain(isa, blocks, ws, (x.c, x.h, x.w))
    })
}

/// `blocks` on the `(c, h, w)` activation in `ws.a`.
fn chain(
    isa: Isa,
    blocks: &[FusedBlock],
    ws: &mut kernels::Workspace,
    (mut c, mut h, mut w): (usize, usize, usize),
) -> Result<Nhwc> {
    let kernels::Workspace { a, b, dw, .. } = ws;
    for blk in blocks {
        if blk.flatten {
            (c, h, w) = (c * h * w, 1, 1);
        }
        if blk.c_in != c {
            candle_core::bail!("fused: a block takes {} channels, got {c}", blk.c_in);
        }
        (h, w) = blk.forward(isa, a, (h, w), b, dw);
        c = blk.c_out;
        std::mem::swap(a, b);
    }
    Ok(Nhwc {
        data: a[..c * h * w].to_vec(),
        c,
        h,
        w,
    })
}

/// `dst[j, i] = src[i, j]` for a `rows × cols` row-major `src`.
fn transpose(src: &[f32], (rows, cols): (usize, usize), dst: &mut [f32]) {
    for (i, row) in src.chunks_exact(cols).take(rows).enumerate() {
        for (j, v) in row.iter().enumerate() {
            dst[j * rows + i] = *v;
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use candle_core::{DType, Device, Module};

    use crate::kernels::gemm::Init;
    use candle_nn::VarBuilder;

    use super::*;
    use crate::layers::{BlockNames, Kernels, Padding};

    fn random(shape: &[usize]) -> Result<Tensor> {
        Tensor::randn(0f32, 1.0, shape, &Device::Cpu)
    }

    fn nhwc(x: &Tensor) -> Result<Nhwc> {
        let (_, c, h, w) = x.dims4()?;
        Ok(Nhwc {
            data: x.permute((0, 2, 3, 1))?.flatten_all()?.to_vec1()?,
            c,
            h,
            w,
        })
    }

    fn max_diff(a: &Tensor, b: &Tensor) -> Result<f32> {
        assert_eq!(a.dims(), b.dims());
        (a - b)?.abs()?.flatten_all()?.max(0)?.to_scalar::<f32>()
    }

    /// Every fused block, on every instruction set, equals candle's `BlazeBlock`: stride 1 and
    /// 2, channel padding, ReLU and PReLU, partial channel groups.
    #[test]
    fn fused_blocks_match_the_candle_blocks() -> Result<()> {
        for (c_in, c_out, size, stride, prelu) in [
            (16, 16, 12, 1, true),
            (16, 32, 12, 2, true),
            (24, 24, 10, 1, false),
            (24, 48, 8, 2, false),
            (5, 7, 9, 1, true),
            (128, 128, 6, 2, true),
            // Several bands of depthwise rows (32 KB each) and a shorter last one.
            (24, 24, 64, 1, false),
            (24, 48, 64, 2, true),
        ] {
            let tensors = HashMap::from([
                ("dw.depthwise".to_string(), random(&[c_in, 1, 3, 3])?),
                ("pw.weight".to_string(), random(&[c_out, c_in, 1, 1])?),
                ("pw.bias".to_string(), random(&[c_out])?),
                ("act.alpha".to_string(), (random(&[c_out])? * 0.3)?),
            ]);
            let vb = VarBuilder::from_tensors(tensors, DType::F32, &Device::Cpu);
            let names = BlockNames {
                depthwise: "dw",
                pointwise: "pw",
                prelu: prelu.then_some("act"),
            };
            let block = BlazeBlock::load(&vb, names, (c_in, c_out), stride, Kernels::Direct)?;
            let x = random(&[1, c_in, size, size])?;
            let expect = block.forward(&x)?;
            let fused = block.to_fused()?;
            for isa in Isa::available() {
                poison_workspace();
                let got = run_blocks(isa, std::slice::from_ref(&fused), &nhwc(&x)?)?.to_nchw()?;
                let d = max_diff(&got, &expect)?;
                assert!(
                    d < 1e-4,
                    "{isa:?} {:?}: diff {d}",
                    (c_in, c_out, size, stride)
                );
            }
        }
        Ok(())
    }

    /// A first layer (NCHW input, SAME, strided) and a head's last layer (3×3 VALID on 3×3)
    /// equal candle's convolutions.
    /// Fills this thread's workspace with NaN, as an earlier network could leave it: the
    /// workspace's buffers are not zeroed when they grow back (`kernels::Buffer`), so a kernel
    /// that read a value it had not written (a padding border, a skip's channels) would show.
    fn poison_workspace() {
        kernels::with_workspace(|ws| {
            for b in [
                &mut ws.a,
                &mut ws.b,
                &mut ws.dw,
                &mut ws.cols,
                &mut ws.third,
            ] {
                b.set_from(&vec![f32::NAN; 1 << 18]);
            }
        });
    }

    #[test]
    fn fused_stem_and_dense_layers_match_candle() -> Result<()> {
        let prelu = |c: usize| -> Result<Act> {
            Ok(Act::PRelu((random(&[c])? * 0.3)?.reshape((1, c, 1, 1))?))
        };
        let stem = Conv2d::from_parts(
            random(&[24, 3, 5, 5])?,
            random(&[24])?,
            2,
            Padding::Same,
            prelu(24)?,
        )?;
        let x = random(&[1, 3, 33, 32])?;
        let expect = stem.forward(&x)?;
        let dense = Conv2d::from_parts(
            random(&[40, 32, 3, 3])?,
            random(&[40])?,
            3,
            Padding::Valid,
            Act::None,
        )?;
        let x3 = random(&[1, 32, 3, 3])?;
        let expect3 = dense.forward(&x3)?.flatten_all()?;
        let (fused_stem, fused_dense) = (stem.to_stem()?, dense.to_dense()?);
        for isa in Isa::available() {
            poison_workspace();
            let got = run_stem(isa, &fused_stem, &[], &x)?.to_nchw()?;
            assert!(max_diff(&got, &expect)? < 1e-4, "{isa:?}: stem");
            let got3 = run_blocks(isa, std::slice::from_ref(&fused_dense), &nhwc(&x3)?)?;
            let got3 = Tensor::from_vec(got3.data, 40, &Device::Cpu)?;
            assert!(max_diff(&got3, &expect3)? < 1e-4, "{isa:?}: dense");
        }
        Ok(())
    }

    /// Stems whose gathered patches span several bands, the last one short: RGB at 18 rows a
    /// band (4 bands), and 64 channels at 2 rows a band (11 bands).
    #[test]
    fn banded_stems_match_candle() -> Result<()> {
        for (c_in, c_out, padding, (h, w)) in [
            (3, 8, Padding::Valid, (70, 68)),
            (64, 16, Padding::Same, (21, 20)),
        ] {
            // Weights scaled to keep the outputs near unit size: the tolerance is absolute, and
            // the sum of 576 unit products rounds differently in another order by about 1e-4.
            let conv = Conv2d::from_parts(
                (random(&[c_out, c_in, 3, 3])? / (9.0 * c_in as f64).sqrt())?,
                random(&[c_out])?,
                1,
                padding,
                Act::Relu,
            )?;
            let x = random(&[1, c_in, h, w])?;
            let expect = conv.forward(&x)?;
            let stem = conv.to_stem()?;
            // With a residual added before the activation (the descriptor's blocks), band by
            // band: relu(conv + bias + skip).
            let linear = Conv2d::from_parts(
                conv.weight.clone(),
                conv.bias.flatten_all()?,
                1,
                padding,
                Act::None,
            )?;
            let skip = random(expect.dims())?;
            let expect_skip = (linear.forward(&x)? + &skip)?.relu()?;
            let (skip, input) = (nhwc(&skip)?, x.flatten_all()?.to_vec1::<f32>()?);
            for isa in Isa::available() {
                poison_workspace();
                let got = run_stem(isa, &stem, &[], &x)?.to_nchw()?;
                assert!(max_diff(&got, &expect)? < 1e-4, "{isa:?}: {c_in} channels");
                let got = kernels::with_workspace(|ws| {
                    let (oh, ow) = stem.forward_onto(
                        isa,
                        &input,
                        (h, w),
                        &mut ws.a,
                        (&mut ws.dw, &mut ws.cols),
                        Init::From(&skip.data),
                    );
                    Nhwc {
                        data: ws.a.to_vec(),
                        c: c_out,
                        h: oh,
                        w: ow,
                    }
                    .to_nchw()
                })?;
                assert!(
                    max_diff(&got, &expect_skip)? < 1e-4,
                    "{isa:?}: {c_in} channels, skip"
                );
            }
        }
        Ok(())
    }
}
