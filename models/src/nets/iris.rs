//! Iris, MediaPipe's eye-region landmark network, as shipped by `@vladmandic/human` 3.3.6
//! (`models/iris.json`, float32).
//!
//! - Input: `[1, 3, 64, 64]` RGB in `[0, 1]`, an eye crop (TF.js: NHWC).
//! - Output: `[1, 1, 1, 228]` (`Identity`): 71 eye-contour/brow points × (x, y, z) followed by
//!   5 iris points × (x, y, z), in input pixels.
//!
//! Architecture (from the graph): 3×3/2 conv + PReLU, then bottleneck residual blocks
//! (1×1 conv to half the channels + PReLU → depthwise 3×3 → 1×1 conv back, added to the input,
//! PReLU); strided blocks use a 2×2/2 VALID conv as the first layer and a 2×2 max-pool (+ zero
//! channels) on the skip. After 10 shared blocks the network splits into a contour branch and an
//! iris branch of 8 blocks each, ending in 2×2 VALID convolutions whose outputs are concatenated.

use candle_core::{Module, Result, Tensor};
use candle_nn::VarBuilder;

use crate::layers::{flatten_nhwc, max_pool, pad_channels, Act, Conv2d, DepthwiseConv, Padding};

/// Side of the square input.
pub const INPUT_SIZE: usize = 64;

/// Bottleneck residual block; `a` is the index of its first conv (`conv2d_{a}`, `p_re_lu_{a}`),
/// the second is `a + 1`; `d` the index of its depthwise layer.
#[derive(Debug, Clone)]
struct Bottleneck {
    reduce: Conv2d,
    dw: DepthwiseConv,
    expand: Conv2d,
    act: Act,
    down: bool,
    c_out: usize,
}

fn indexed(base: &str, i: usize) -> String {
    if i == 0 {
        base.to_string()
    } else {
        format!("{base}_{i}")
    }
}

impl Bottleneck {
    fn load(
        vb: &VarBuilder,
        a: usize,
        d: usize,
        c_in: usize,
        c_out: usize,
        down: bool,
    ) -> Result<Self> {
        let mid = c_out / 2;
        let (k, stride) = if down { (2, 2) } else { (1, 1) };
        let reduce_act = Act::prelu(vb, &indexed("p_re_lu", a), mid)?;
        Ok(Self {
            reduce: Conv2d::load(
                vb,
                &indexed("conv2d", a),
                (c_in, mid, k),
                stride,
                Padding::Valid,
                reduce_act,
            )?,
            dw: DepthwiseConv::load(
                vb,
                &indexed("depthwise_conv2d", d),
                mid,
                3,
                1,
                Padding::Same,
            )?,
            expand: Conv2d::load(
                vb,
                &indexed("conv2d", a + 1),
                (mid, c_out, 1),
                1,
                Padding::Valid,
                Act::None,
            )?,
            act: Act::prelu(vb, &indexed("p_re_lu", a + 1), c_out)?,
            down,
            c_out,
        })
    }
}

impl Module for Bottleneck {
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let y = self
            .expand
            .forward(&self.dw.forward(&self.reduce.forward(x)?)?)?;
        let skip = if self.down {
            max_pool(x, 2, 2, Padding::Valid)?
        } else {
            x.clone()
        };
        self.act.forward(&(y + pad_channels(&skip, self.c_out)?)?)
    }
}

/// The Iris network.
#[derive(Debug, Clone)]
pub struct Iris {
    stem: Conv2d,
    shared: Vec<Bottleneck>,
    contours: Vec<Bottleneck>,
    iris: Vec<Bottleneck>,
    contours_out: Conv2d,
    iris_out: Conv2d,
}

/// Blocks of one branch: (first conv index, depthwise index, c_in, c_out, down).
type Spec = (usize, usize, usize, usize, bool);

fn branch(vb: &VarBuilder, specs: &[Spec]) -> Result<Vec<Bottleneck>> {
    specs
        .iter()
        .map(|&(a, d, i, o, down)| Bottleneck::load(vb, a, d, i, o, down))
        .collect()
}

/// One branch after the split: blocks at conv indices `a0, a0+2, …` and depthwise `d0, d0+1, …`,
/// 128 channels, with strided blocks in third and sixth position.
fn branch_specs(a0: usize, d0: usize) -> Vec<Spec> {
    (0..8)
        .map(|i| (a0 + 2 * i, d0 + i, 128, 128, i == 2 || i == 5))
        .collect()
}

impl Iris {
    pub fn load(vb: VarBuilder) -> Result<Self> {
        let stem = Conv2d::load(
            &vb,
            "conv2d",
            (3, 64, 3),
            2,
            Padding::Same,
            Act::prelu(&vb, "p_re_lu", 64)?,
        )?;
        let shared: Vec<Spec> = vec![
            (1, 0, 64, 64, false),
            (3, 1, 64, 64, false),
            (5, 2, 64, 64, false),
            (7, 3, 64, 64, false),
            (9, 4, 64, 128, true),
            (11, 5, 128, 128, false),
            (13, 6, 128, 128, false),
            (15, 7, 128, 128, false),
            (17, 8, 128, 128, false),
            (19, 9, 128, 128, true),
        ];
        let head = |name: &str, c_out| {
            Conv2d::load(&vb, name, (128, c_out, 2), 1, Padding::Valid, Act::None)
        };
        Ok(Self {
            stem,
            shared: branch(&vb, &shared)?,
            contours: branch(&vb, &branch_specs(21, 10))?,
            iris: branch(&vb, &branch_specs(37, 18))?,
            contours_out: head("conv_eyes_contours_and_brows", 213)?,
            iris_out: head("conv_iris", 15)?,
        })
    }

    /// `[N, 1, 1, 228]` (contours then iris, NHWC like TF.js) for `[N, 3, 64, 64]` in `[0, 1]`.
    pub fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let run = |blocks: &[Bottleneck], x: &Tensor| -> Result<Tensor> {
            let mut h = x.clone();
            for b in blocks {
                h = b.forward(&h)?;
            }
            Ok(h)
        };
        let h = run(&self.shared, &self.stem.forward(x)?)?;
        let c = self.contours_out.forward(&run(&self.contours, &h)?)?;
        let i = self.iris_out.forward(&run(&self.iris, &h)?)?;
        let n = x.dim(0)?;
        Tensor::cat(&[flatten_nhwc(&c)?, flatten_nhwc(&i)?], 1)?.reshape((n, 1, 1, 228))
    }
}
