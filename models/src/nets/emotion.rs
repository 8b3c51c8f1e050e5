//! Emotion, a mini-Xception facial expression classifier shipped by `@vladmandic/human` 3.3.6
//! (`models/emotion.json`, float32).
//!
//! - Input: `[1, 1, 64, 64]` grey, `(0.2989·R + 0.5870·G + 0.1140·B − 0.5)·2` with RGB in
//!   `[0, 1]` (TF.js: NHWC `[1, 64, 64, 1]`).
//! - Output: `[1, 7]` softmax (`Identity`) over angry, disgust, fear, happy, sad, surprise,
//!   neutral; index 3 = happy.
//!
//! Architecture: two plain convolutions (3×3/2 VALID, 3×3 VALID), two Xception blocks (separable
//! convs + 3×3/2 SAME max-pool, with a strided 1×1 conv on the residual), a 3×3 conv to 7 maps,
//! global average pooling and softmax.

use candle_core::{Module, Result, Tensor};
use candle_nn::VarBuilder;

use crate::layers::{max_pool, softmax, Act, Conv2d, DepthwiseConv, Kernels, Padding};

/// Side of the square input.
pub const INPUT_SIZE: usize = 64;
/// Index of "happy" in the output.
pub const HAPPY: usize = 3;

/// Depthwise 3×3 SAME followed by a pointwise conv (`<name>.depthwise`, `<name>.weight/.bias`).
#[derive(Debug, Clone)]
struct SeparableConv {
    dw: DepthwiseConv,
    pw: Conv2d,
}

impl SeparableConv {
    fn load(
        vb: &VarBuilder,
        idx: usize,
        (c_in, c_out): (usize, usize),
        act: Act,
        dw: Kernels,
    ) -> Result<Self> {
        let name = format!("separable_conv2d_{idx}");
        Ok(Self {
            dw: DepthwiseConv::load(vb, &name, (c_in, 3), 1, Padding::Same, dw)?,
            pw: Conv2d::load(vb, &name, (c_in, c_out, 1), 1, Padding::Valid, act)?,
        })
    }
}

impl Module for SeparableConv {
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        self.pw.forward(&self.dw.forward(x)?)
    }
}

/// Xception block: relu?(x) → sep (ReLU) → sep → max-pool, plus a 1×1/2 conv of x.
#[derive(Debug, Clone)]
struct XceptionBlock {
    sep1: SeparableConv,
    sep2: SeparableConv,
    residual: Conv2d,
    relu_input: bool,
}

impl Module for XceptionBlock {
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let main_in = if self.relu_input {
            x.relu()?
        } else {
            x.clone()
        };
        let y = self.sep2.forward(&self.sep1.forward(&main_in)?)?;
        let y = max_pool(&y, 3, 2, Padding::Same)?;
        y + self.residual.forward(x)?
    }
}

/// The Emotion network.
#[derive(Debug, Clone)]
pub struct Emotion {
    conv1: Conv2d,
    conv2: Conv2d,
    block2: XceptionBlock,
    block3: XceptionBlock,
    head: Conv2d,
}

impl Emotion {
    /// Loads the weights; `dw` chooses how the depthwise layers run.
    pub fn load(vb: VarBuilder, dw: Kernels) -> Result<Self> {
        let sep = |idx, c, act| SeparableConv::load(&vb, idx, c, act, dw);
        let res = |name: &str, c_in, c_out| {
            Conv2d::load(&vb, name, (c_in, c_out, 1), 2, Padding::Same, Act::None)
        };
        Ok(Self {
            conv1: Conv2d::load(&vb, "conv2d_1", (1, 32, 3), 2, Padding::Valid, Act::Relu)?,
            conv2: Conv2d::load(&vb, "conv2d_2", (32, 64, 3), 1, Padding::Valid, Act::Relu)?,
            block2: XceptionBlock {
                sep1: sep(1, (64, 128), Act::Relu)?,
                sep2: sep(2, (128, 128), Act::None)?,
                residual: res("conv2d_3", 64, 128)?,
                relu_input: false,
            },
            block3: XceptionBlock {
                sep1: sep(3, (128, 256), Act::Relu)?,
                sep2: sep(4, (256, 256), Act::None)?,
                residual: res("conv2d_4", 128, 256)?,
                relu_input: true,
            },
            head: Conv2d::load(&vb, "conv2d_5", (256, 7, 3), 1, Padding::Same, Act::None)?,
        })
    }

    /// `[N, 7]` class probabilities for `[N, 1, 64, 64]` grey input (see the module docs).
    pub fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let h = self.conv2.forward(&self.conv1.forward(x)?)?;
        let h = self.block3.forward(&self.block2.forward(&h)?)?;
        let h = self.head.forward(&h)?;
        softmax(&h.mean((2, 3))?)
    }
}
