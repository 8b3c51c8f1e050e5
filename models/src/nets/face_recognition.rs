//! The face descriptor of `@vladmandic/face-api` 1.7.15 (`model/face_recognition_model`): a port
//! of dlib's ResNet-34-style face recognition network (LFW 99.38% for the original), weights
//! uint8-quantised. Architecture as in face-api's `src/faceRecognitionNet/*.ts`.
//!
//! - Input of [`FaceRecognition::forward`]: `[1, 3, 150, 150]`, the aligned face as RGB in
//!   0–255 minus the mean `(122.782, 117.001, 104.298)`, divided by 255 (face-api does this at
//!   the start of `forwardInput`); [`FaceRecognition::forward_rgb`] takes plain 0–255 RGB.
//! - Output: `[1, 128]` descriptor; faces of one person are within Euclidean distance ~0.6.
//!
//! Every conv layer is conv + bias followed by a per-channel scale (`x·w + b`). Residual blocks
//! are two 3×3 SAME layers; the strided ("down") blocks use a 3×3/2 VALID first layer, a 2×2
//! average pool on the skip, zero channels appended to the skip, and a zero row/column appended
//! to the main path when the two sizes differ.

use candle_core::{Module, Result, Tensor};
use candle_nn::VarBuilder;

use crate::kernels::{resnet, stem::FusedStem, Isa};
use crate::layers::{pad_channels, Act, Conv2d, Kernels, Padding};

/// Side of the square input.
pub const INPUT_SIZE: usize = 150;
/// Descriptor length.
pub const DIM: usize = 128;
/// Per-channel mean subtracted from 0–255 RGB.
pub const MEAN_RGB: [f32; 3] = [122.782, 117.001, 104.298];

/// Conv + bias + per-channel scale (+ ReLU), `<name>.conv.filters/.bias`, `<name>.scale.weights/.biases`.
#[derive(Debug, Clone)]
struct ConvLayer {
    conv: Conv2d,
    scale: Tensor,
    shift: Tensor,
    relu: bool,
}

impl ConvLayer {
    fn load(
        vb: &VarBuilder,
        (c_in, c_out, k): (usize, usize, usize),
        stride: usize,
        padding: Padding,
        relu: bool,
    ) -> Result<Self> {
        let conv = Conv2d::from_parts(
            vb.pp("conv").get((c_out, c_in, k, k), "filters")?,
            vb.pp("conv").get(c_out, "bias")?,
            stride,
            padding,
            Act::None,
        )?;
        Ok(Self {
            conv,
            scale: vb
                .pp("scale")
                .get(c_out, "weights")?
                .reshape((1, c_out, 1, 1))?,
            shift: vb
                .pp("scale")
                .get(c_out, "biases")?
                .reshape((1, c_out, 1, 1))?,
            relu,
        })
    }
}

impl ConvLayer {
    /// This layer for the fused kernels, its scale and shift folded into the convolution
    /// (`(x·w + b)·s + t = x·(w·s) + (b·s + t)`), with ReLU or no activation (`relu`).
    fn to_fused(&self, relu: bool) -> Result<FusedStem> {
        let c = self.scale.elem_count();
        let scale = self.scale.reshape((c, 1, 1, 1))?;
        let folded = Conv2d::from_parts(
            self.conv.weight.broadcast_mul(&scale)?,
            (self.conv.bias.flatten_all()? * self.scale.flatten_all()?)?
                .add(&self.shift.flatten_all()?)?,
            self.conv.stride,
            self.conv.padding,
            if relu { Act::Relu } else { Act::None },
        )?;
        let mut stem = folded.to_stem()?;
        stem.nchw_input = false;
        Ok(stem)
    }
}

impl Module for ConvLayer {
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let y = self
            .conv
            .forward(x)?
            .broadcast_mul(&self.scale)?
            .broadcast_add(&self.shift)?;
        if self.relu {
            y.relu()
        } else {
            Ok(y)
        }
    }
}

#[derive(Debug, Clone)]
struct Residual {
    conv1: ConvLayer,
    conv2: ConvLayer,
    down: bool,
    c_out: usize,
}

impl Residual {
    fn load(vb: &VarBuilder, name: &str, c_in: usize, c_out: usize, down: bool) -> Result<Self> {
        let vb = vb.pp(name);
        let (stride, pad) = if down {
            (2, Padding::Valid)
        } else {
            (1, Padding::Same)
        };
        Ok(Self {
            conv1: ConvLayer::load(&vb.pp("conv1"), (c_in, c_out, 3), stride, pad, true)?,
            conv2: ConvLayer::load(&vb.pp("conv2"), (c_out, c_out, 3), 1, Padding::Same, false)?,
            down,
            c_out,
        })
    }
}

impl Module for Residual {
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let mut y = self.conv2.forward(&self.conv1.forward(x)?)?;
        let skip = if self.down {
            let pooled = pad_channels(&x.avg_pool2d_with_stride(2, 2)?, self.c_out)?;
            let (ph, pw) = (pooled.dim(2)?, pooled.dim(3)?);
            let (yh, yw) = (y.dim(2)?, y.dim(3)?);
            if (ph, pw) != (yh, yw) {
                y = y
                    .pad_with_zeros(2, 0, ph.saturating_sub(yh))?
                    .pad_with_zeros(3, 0, pw.saturating_sub(yw))?;
            }
            pooled
        } else {
            x.clone()
        };
        (y + skip)?.relu()
    }
}

/// The face descriptor network.
#[derive(Debug, Clone)]
pub struct FaceRecognition {
    stem: ConvLayer,
    blocks: Vec<Residual>,
    fc: Tensor,
    mean: Tensor,
    /// The same network for the fused kernels, with [`Kernels::Fused`].
    fused: Option<(Isa, resnet::ResNet)>,
}

impl FaceRecognition {
    pub fn load(vb: VarBuilder, kernels: Kernels) -> Result<Self> {
        let stem = ConvLayer::load(&vb.pp("conv32_down"), (3, 32, 7), 2, Padding::Valid, true)?;
        let spec: [(&str, usize, usize, bool); 14] = [
            ("conv32_1", 32, 32, false),
            ("conv32_2", 32, 32, false),
            ("conv32_3", 32, 32, false),
            ("conv64_down", 32, 64, true),
            ("conv64_1", 64, 64, false),
            ("conv64_2", 64, 64, false),
            ("conv64_3", 64, 64, false),
            ("conv128_down", 64, 128, true),
            ("conv128_1", 128, 128, false),
            ("conv128_2", 128, 128, false),
            ("conv256_down", 128, 256, true),
            ("conv256_1", 256, 256, false),
            ("conv256_2", 256, 256, false),
            ("conv256_down_out", 256, 256, true),
        ];
        let blocks = spec
            .iter()
            .map(|&(n, i, o, d)| Residual::load(&vb, n, i, o, d))
            .collect::<Result<Vec<_>>>()?;
        let mean = Tensor::new(&MEAN_RGB, vb.device())?.reshape((1, 3, 1, 1))?;
        let fc = vb.get((DIM, 256), "fc")?;
        let fused = match kernels.fused() {
            Some(isa) => Some((isa, fused_net(&stem, &blocks, &fc)?)),
            None => None,
        };
        Ok(Self {
            stem,
            blocks,
            fc,
            mean,
            fused,
        })
    }

    /// The same network with its layers' products in `bfloat16` (`kernels::gemm::bf16`: about
    /// twice as fast, descriptors within 5 × 10⁻³ of face-api's on the test crops;
    /// `docs/performance.md`, "bfloat16 products"), where it runs the fused kernels with AVX-512
    /// on a CPU with AVX-512 BF16; elsewhere unchanged. [`Self::is_bf16`] says which.
    pub fn in_bf16(mut self) -> Self {
        if let Some((Isa::Avx512, net)) = self.fused.as_mut() {
            net.in_bf16();
        }
        self
    }

    /// The same network with its products back in `f32` (for comparisons).
    pub fn in_f32(mut self) -> Self {
        if let Some((_, net)) = self.fused.as_mut() {
            net.in_f32();
        }
        self
    }

    /// Whether the descriptor runs in `bfloat16` ([`Self::in_bf16`]).
    pub fn is_bf16(&self) -> bool {
        self.fused
            .as_ref()
            .is_some_and(|(isa, net)| *isa == Isa::Avx512 && net.is_bf16())
    }

    /// `[N, 128]` descriptors for `[N, 3, 150, 150]` RGB in 0–255.
    pub fn forward_rgb(&self, x: &Tensor) -> Result<Tensor> {
        self.forward(&(x.broadcast_sub(&self.mean)? / 255.0)?)
    }

    /// `[N, 128]` descriptors for normalised input (see the module docs).
    pub fn forward(&self, x: &Tensor) -> Result<Tensor> {
        if let Some((isa, net)) = self.fused.as_ref().filter(|_| x.dims()[0] == 1) {
            return Tensor::from_vec(net.run(*isa, x)?, (1, DIM), x.device());
        }
        let mut h = self.stem.forward(x)?;
        h = h.max_pool2d_with_stride(3, 2)?;
        for b in &self.blocks {
            h = b.forward(&h)?;
        }
        h.mean((2, 3))?.matmul(&self.fc.t()?)
    }
}

/// The network in the fused kernels' layout.
fn fused_net(stem: &ConvLayer, blocks: &[Residual], fc: &Tensor) -> Result<resnet::ResNet> {
    let mut first = stem.to_fused(true)?;
    first.nchw_input = true;
    let blocks = blocks
        .iter()
        .map(|b| {
            Ok(resnet::Residual {
                conv1: b.conv1.to_fused(true)?,
                // A plain block's ReLU follows the skip, added in the same pass; a strided
                // block's follows its pooled skip, added afterwards.
                conv2: b.conv2.to_fused(!b.down)?,
                down: b.down,
            })
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(resnet::ResNet {
        stem: first,
        blocks,
        fc: fc.t()?.flatten_all()?.to_vec1()?,
        dim: DIM,
    })
}
