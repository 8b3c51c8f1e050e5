//! Building blocks shared by the networks, with TF semantics on NCHW tensors: "SAME"/"VALID"
//! padding (SAME pads the odd pixel after, e.g. 0 before and 1 after for a 3×3 stride-2 layer on
//! an even size), PReLU, max-pooling padded with −∞, channel zero-padding, and the BlazeFace-style
//! residual block; PyTorch's symmetric padding for the networks exported from it. Weights are
//! loaded from the names written by [`crate::convert`].

use candle_core::{Module, Result, Tensor, D};
use candle_nn::VarBuilder;

use crate::depthwise::{DepthwiseKernel, Pad2d};
use crate::kernels::Isa;

/// TF padding modes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Padding {
    /// Output size `ceil(in / stride)`; the odd padding pixel goes after.
    Same,
    /// No padding.
    Valid,
    /// The same number of zeros on every side, as PyTorch and ONNX pad.
    Symmetric(usize),
}

/// (before, after) padding of one spatial axis for TF's padding mode.
pub fn tf_pads(mode: Padding, size: usize, k: usize, stride: usize) -> (usize, usize) {
    match mode {
        Padding::Valid => (0, 0),
        Padding::Symmetric(p) => (p, p),
        Padding::Same => {
            let out = size.div_ceil(stride);
            let total = ((out - 1) * stride + k).saturating_sub(size);
            (total / 2, total - total / 2)
        }
    }
}

fn pad2d(mode: Padding, h: usize, w: usize, kh: usize, kw: usize, stride: usize) -> Pad2d {
    let (top, bottom) = tf_pads(mode, h, kh, stride);
    let (left, right) = tf_pads(mode, w, kw, stride);
    Pad2d {
        top,
        bottom,
        left,
        right,
    }
}

/// Activation following a layer.
#[derive(Debug, Clone)]
pub enum Act {
    None,
    Relu,
    /// Per-channel PReLU: `x` if `x ≥ 0`, else `alpha·x`; alpha is `[1, C, 1, 1]`.
    PRelu(Tensor),
}

impl Act {
    /// Loads `<name>.alpha` (`[C]`) as a PReLU.
    pub fn prelu(vb: &VarBuilder, name: &str, c: usize) -> Result<Self> {
        Ok(Self::PRelu(
            vb.pp(name).get(c, "alpha")?.reshape((1, c, 1, 1))?,
        ))
    }
}

impl Module for Act {
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        match self {
            Act::None => Ok(x.clone()),
            Act::Relu => x.relu(),
            Act::PRelu(alpha) => {
                let neg = x.minimum(0f32)?.broadcast_mul(alpha)?;
                x.relu()? + neg
            }
        }
    }
}

/// A dense 2-D convolution with bias and TF padding (weights OIHW, `<name>.weight`/`.bias`).
#[derive(Debug, Clone)]
pub struct Conv2d {
    pub(crate) weight: Tensor,
    pub(crate) bias: Tensor,
    pub(crate) stride: usize,
    pub(crate) padding: Padding,
    pub(crate) act: Act,
}

impl Conv2d {
    pub fn load(
        vb: &VarBuilder,
        name: &str,
        (c_in, c_out, k): (usize, usize, usize),
        stride: usize,
        padding: Padding,
        act: Act,
    ) -> Result<Self> {
        let vb = vb.pp(name);
        Self::from_parts(
            vb.get((c_out, c_in, k, k), "weight")?,
            vb.get(c_out, "bias")?,
            stride,
            padding,
            act,
        )
    }

    /// From an OIHW weight and a `[O]` bias.
    pub fn from_parts(
        weight: Tensor,
        bias: Tensor,
        stride: usize,
        padding: Padding,
        act: Act,
    ) -> Result<Self> {
        let c = bias.dim(0)?;
        Ok(Self {
            weight,
            bias: bias.reshape((1, c, 1, 1))?,
            stride,
            padding,
            act,
        })
    }
}

impl Module for Conv2d {
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let (_, _, h, w) = x.dims4()?;
        let (_, _, kh, kw) = self.weight.dims4()?;
        let p = pad2d(self.padding, h, w, kh, kw, self.stride);
        let n = x.dim(0)?;
        let y = if kh == 1 && kw == 1 && self.stride == 1 && n == 1 {
            // A pointwise convolution is a matmul over channels: [O, I] × [I, H·W].
            let c = x.dim(1)?;
            let wm = self.weight.reshape((self.weight.dim(0)?, c))?;
            wm.matmul(&x.reshape((c, h * w))?)?.reshape((1, (), h, w))?
        } else if n == 1 {
            im2col_conv(x, &self.weight, self.stride, p)?
        } else if p.top == p.bottom && p.left == p.right && p.top == p.left {
            x.conv2d(&self.weight, p.top, self.stride, 1, 1)?
        } else {
            x.pad_with_zeros(2, p.top, p.bottom)?
                .pad_with_zeros(3, p.left, p.right)?
                .conv2d(&self.weight, 0, self.stride, 1, 1)?
        };
        self.act.forward(&y.broadcast_add(&self.bias)?)
    }
}

/// A dense convolution of one image as one matmul: the patches are gathered into a
/// `[I·kh·kw, oh·ow]` matrix (zeros in the padding) and multiplied by the `[O, I·kh·kw]` weight.
/// candle's own `conv2d` measured 3.5 GFLOP/s on BlazeFace's 5×5/2 stem (3 input channels);
/// this path lets gemm run the whole layer.
pub fn im2col_conv(x: &Tensor, weight: &Tensor, stride: usize, p: Pad2d) -> Result<Tensor> {
    let (_, c, h, w) = x.dims4()?;
    let (o, wc, kh, kw) = weight.dims4()?;
    if wc != c {
        candle_core::bail!("conv: input has {c} channels, weight expects {wc}");
    }
    let (ph, pw) = (h + p.top + p.bottom, w + p.left + p.right);
    if ph < kh || pw < kw {
        candle_core::bail!("conv: input {h}×{w} smaller than the {kh}×{kw} kernel");
    }
    let (oh, ow) = ((ph - kh) / stride + 1, (pw - kw) / stride + 1);
    let src = x.flatten_all()?.to_vec1::<f32>()?;
    let mut cols = vec![0f32; c * kh * kw * oh * ow];
    for (row, dst) in cols.chunks_exact_mut(oh * ow).enumerate() {
        let (ci, ky, kx) = (row / (kh * kw), (row / kw) % kh, row % kw);
        let plane = &src[ci * h * w..(ci + 1) * h * w];
        for oy in 0..oh {
            let iy = (oy * stride + ky) as isize - p.top as isize;
            if iy < 0 || iy >= h as isize {
                continue;
            }
            let irow = &plane[iy as usize * w..(iy as usize + 1) * w];
            let drow = &mut dst[oy * ow..(oy + 1) * ow];
            for (ox, d) in drow.iter_mut().enumerate() {
                let ix = (ox * stride + kx) as isize - p.left as isize;
                if ix >= 0 && ix < w as isize {
                    *d = irow[ix as usize];
                }
            }
        }
    }
    let cols = Tensor::from_vec(cols, (c * kh * kw, oh * ow), x.device())?;
    weight
        .reshape((o, c * kh * kw))?
        .matmul(&cols)?
        .reshape((1, o, oh, ow))
}

/// Which implementation runs a network's layers, chosen when it is loaded. All give the same
/// values (within float rounding); only their speed differs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kernels {
    /// The fused blocks of [`crate::kernels`] with the given instruction set, where a network
    /// has them (BlazeFace, FaceMesh, AntiSpoof, MiniFASNet, MobileFaceNet, the face
    /// descriptor); elsewhere as
    /// [`Kernels::Direct`].
    Fused(Isa),
    /// candle ops, with the direct depthwise kernel of [`crate::depthwise`]: the readable
    /// reference the fused kernels are tested against.
    Direct,
    /// candle ops with candle's grouped `conv2d` for depthwise layers (≈0.5 GFLOP/s here): for
    /// benchmarks and comparisons only.
    CandleGrouped,
}

impl Default for Kernels {
    /// The fused kernels where the CPU has AVX2 and FMA; elsewhere candle's ops, which measured
    /// faster than the fused kernels' portable path (a correctness fallback, not a tuned one).
    fn default() -> Self {
        match Isa::detect() {
            isa @ (Isa::Avx2 | Isa::Avx512) => Kernels::Fused(isa),
            Isa::Portable => Kernels::Direct,
        }
    }
}

impl Kernels {
    /// Every choice this CPU can run (for the tests).
    pub fn available() -> Vec<Kernels> {
        let mut v: Vec<Kernels> = Isa::available().into_iter().map(Kernels::Fused).collect();
        v.push(Kernels::Direct);
        v
    }

    /// The instruction set of the fused path, if this is one.
    pub fn fused(self) -> Option<Isa> {
        match self {
            Kernels::Fused(isa) => Some(isa),
            _ => None,
        }
    }
}

/// A depthwise 3×3 (or k×k) convolution without bias, `<name>.depthwise` (`[C, 1, k, k]`).
#[derive(Debug, Clone)]
pub struct DepthwiseConv {
    pub(crate) weight: Tensor,
    pub(crate) stride: usize,
    pub(crate) padding: Padding,
    pub(crate) imp: Kernels,
}

impl DepthwiseConv {
    pub fn load(
        vb: &VarBuilder,
        name: &str,
        (c, k): (usize, usize),
        stride: usize,
        padding: Padding,
        imp: Kernels,
    ) -> Result<Self> {
        Ok(Self {
            weight: vb.pp(name).get((c, 1, k, k), "depthwise")?,
            stride,
            padding,
            imp,
        })
    }
}

impl Module for DepthwiseConv {
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let (_, _, h, w) = x.dims4()?;
        let (_, _, kh, kw) = self.weight.dims4()?;
        let p = pad2d(self.padding, h, w, kh, kw, self.stride);
        if self.imp == Kernels::CandleGrouped {
            let c = x.dim(1)?;
            return x
                .pad_with_zeros(2, p.top, p.bottom)?
                .pad_with_zeros(3, p.left, p.right)?
                .conv2d(&self.weight, 0, self.stride, 1, c);
        }
        // The kernel is rebuilt per call: it only copies the few weights of this layer.
        DepthwiseKernel::new(&self.weight, None, self.stride, p)?.forward(&x.contiguous()?)
    }
}

/// Max-pooling with TF padding; padded cells are −∞ so they never win.
pub fn max_pool(x: &Tensor, k: usize, stride: usize, padding: Padding) -> Result<Tensor> {
    let (_, _, h, w) = x.dims4()?;
    let p = pad2d(padding, h, w, k, k, stride);
    let x = pad_neg_inf(x, 2, p.top, p.bottom)?;
    let x = pad_neg_inf(&x, 3, p.left, p.right)?;
    x.max_pool2d_with_stride(k, stride)
}

fn pad_neg_inf(x: &Tensor, dim: usize, before: usize, after: usize) -> Result<Tensor> {
    if before == 0 && after == 0 {
        return Ok(x.clone());
    }
    let mut parts = Vec::with_capacity(3);
    let mut shape = x.dims().to_vec();
    if before > 0 {
        shape[dim] = before;
        parts.push(Tensor::full(
            f32::NEG_INFINITY,
            shape.as_slice(),
            x.device(),
        )?);
    }
    parts.push(x.clone());
    if after > 0 {
        shape[dim] = after;
        parts.push(Tensor::full(
            f32::NEG_INFINITY,
            shape.as_slice(),
            x.device(),
        )?);
    }
    Tensor::cat(&parts, dim)
}

/// Appends zero channels up to `c_out` (TF's `Pad` on the channel axis, as the graphs do).
pub fn pad_channels(x: &Tensor, c_out: usize) -> Result<Tensor> {
    let c = x.dim(1)?;
    if c_out > c {
        x.pad_with_zeros(1, 0, c_out - c)
    } else {
        Ok(x.clone())
    }
}

/// NCHW → NHWC, then flatten to `[N, H·W·C]` (the order TF's `Reshape`/`Flatten` sees).
pub fn flatten_nhwc(x: &Tensor) -> Result<Tensor> {
    let n = x.dim(0)?;
    x.permute((0, 2, 3, 1))?.contiguous()?.reshape((n, ()))
}

/// A fully connected layer `<name>.weight` (`[out, in]`) + `.bias`.
pub fn dense(vb: &VarBuilder, name: &str, c_in: usize, c_out: usize) -> Result<candle_nn::Linear> {
    let vb = vb.pp(name);
    Ok(candle_nn::Linear::new(
        vb.get((c_out, c_in), "weight")?,
        Some(vb.get(c_out, "bias")?),
    ))
}

/// The residual block of BlazeFace/FaceMesh: depthwise 3×3 → pointwise 1×1, added to the
/// input (max-pooled 2×2 when the block strides, zero-padded to the new channel count), then an
/// activation.
#[derive(Debug, Clone)]
pub struct BlazeBlock {
    pub(crate) dw: DepthwiseConv,
    pub(crate) pw: Conv2d,
    pub(crate) act: Act,
    pub(crate) stride: usize,
    pub(crate) c_out: usize,
}

/// Weight names of one [`BlazeBlock`].
#[derive(Debug, Clone, Copy)]
pub struct BlockNames<'a> {
    pub depthwise: &'a str,
    pub pointwise: &'a str,
    /// PReLU layer name; `None` for ReLU.
    pub prelu: Option<&'a str>,
}

impl BlazeBlock {
    pub fn load(
        vb: &VarBuilder,
        names: BlockNames,
        (c_in, c_out): (usize, usize),
        stride: usize,
        imp: Kernels,
    ) -> Result<Self> {
        let dw = DepthwiseConv::load(vb, names.depthwise, (c_in, 3), stride, Padding::Same, imp)?;
        let pw = Conv2d::load(
            vb,
            names.pointwise,
            (c_in, c_out, 1),
            1,
            Padding::Valid,
            Act::None,
        )?;
        let act = match names.prelu {
            Some(p) => Act::prelu(vb, p, c_out)?,
            None => Act::Relu,
        };
        Ok(Self {
            dw,
            pw,
            act,
            stride,
            c_out,
        })
    }
}

impl Module for BlazeBlock {
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let y = self.pw.forward(&self.dw.forward(x)?)?;
        let skip = if self.stride == 2 {
            max_pool(x, 2, 2, Padding::Same)?
        } else {
            x.clone()
        };
        let skip = pad_channels(&skip, self.c_out)?;
        self.act.forward(&(y + skip)?)
    }
}

/// Softmax over the last axis.
pub fn softmax(x: &Tensor) -> Result<Tensor> {
    candle_nn::ops::softmax(x, D::Minus1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::{Device, Tensor};

    #[test]
    fn same_padding_matches_tf() {
        // 3×3 stride 2 on an even size: 0 before, 1 after.
        assert_eq!(tf_pads(Padding::Same, 128, 3, 2), (0, 1));
        // 5×5 stride 2 on 256: total 3 → 1 before, 2 after.
        assert_eq!(tf_pads(Padding::Same, 256, 5, 2), (1, 2));
        assert_eq!(tf_pads(Padding::Same, 64, 3, 1), (1, 1));
        assert_eq!(tf_pads(Padding::Same, 16, 2, 2), (0, 0));
        assert_eq!(tf_pads(Padding::Valid, 16, 3, 2), (0, 0));
    }

    #[test]
    fn im2col_conv_matches_candle() -> Result<()> {
        let dev = Device::Cpu;
        for (c, o, h, w, k, s, p) in [
            (
                3,
                24,
                17,
                16,
                5,
                2,
                Pad2d {
                    top: 1,
                    bottom: 2,
                    left: 1,
                    right: 2,
                },
            ),
            (
                4,
                5,
                9,
                11,
                3,
                1,
                Pad2d {
                    top: 1,
                    bottom: 1,
                    left: 1,
                    right: 1,
                },
            ),
            (2, 3, 8, 8, 2, 2, Pad2d::default()),
            (6, 7, 9, 9, 3, 3, Pad2d::default()),
        ] {
            let x = Tensor::randn(0f32, 1.0, (1, c, h, w), &dev)?;
            let wt = Tensor::randn(0f32, 1.0, (o, c, k, k), &dev)?;
            let ours = im2col_conv(&x, &wt, s, p)?;
            let theirs = x
                .pad_with_zeros(2, p.top, p.bottom)?
                .pad_with_zeros(3, p.left, p.right)?
                .conv2d(&wt, 0, s, 1, 1)?;
            assert_eq!(ours.dims(), theirs.dims());
            let d = (ours - theirs)?
                .abs()?
                .flatten_all()?
                .max(0)?
                .to_scalar::<f32>()?;
            assert!(d < 1e-4, "diff {d}");
        }
        Ok(())
    }

    #[test]
    fn max_pool_pads_with_negative_infinity() -> Result<()> {
        let x = Tensor::new(&[[[[-5f32, -6.], [-7., -8.]]]], &Device::Cpu)?;
        // 3×3 stride 2 SAME on 2×2 pads 0 before and 1 after: the max is over real cells only.
        let y = max_pool(&x, 3, 2, Padding::Same)?;
        assert_eq!(y.flatten_all()?.to_vec1::<f32>()?, vec![-5.0]);
        Ok(())
    }

    #[test]
    fn prelu_scales_negatives_per_channel() -> Result<()> {
        let dev = Device::Cpu;
        let x = Tensor::new(&[[[[-2f32, 3.]], [[-2., 3.]]]], &dev)?;
        let act = Act::PRelu(Tensor::new(&[0.5f32, 0.25], &dev)?.reshape((1, 2, 1, 1))?);
        let y = act.forward(&x)?.flatten_all()?.to_vec1::<f32>()?;
        assert_eq!(y, vec![-1.0, 3.0, -0.5, 3.0]);
        Ok(())
    }
}
