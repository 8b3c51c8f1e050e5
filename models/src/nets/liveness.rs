//! Liveness, a small real/fake classifier shipped by `@vladmandic/human` 3.3.6
//! (`models/liveness.json`, float32).
//!
//! - Input: `[1, 3, 32, 32]` RGB in `[0, 1]`, the face crop (TF.js: NHWC).
//! - Output: `[1, 2]` softmax (`Identity`); Human reports index 0 as the "live" probability.
//!
//! Architecture: two (conv 3×3 SAME + ReLU + batch-norm, conv + ReLU + batch-norm, 2×2 max-pool)
//! stages (16, 32 channels), flatten (NHWC, 8·8·32 = 2048), dense 64 + ReLU + batch-norm, dense 2,
//! softmax. Batch-norms are folded into `scale`/`offset` per channel. Measured on real and attack
//! video it is near chance (ROC AUC ≈ 0.41): one weak signal among several.

use candle_core::{Module, Result, Tensor};
use candle_nn::{Linear, VarBuilder};

use crate::layers::{dense, flatten_nhwc, max_pool, softmax, Act, Conv2d, Padding};

/// Side of the square input.
pub const INPUT_SIZE: usize = 32;

/// A folded batch-norm: `x·scale + offset` per channel (axis 1).
#[derive(Debug, Clone)]
struct Affine {
    scale: Tensor,
    offset: Tensor,
}

impl Affine {
    fn load(vb: &VarBuilder, name: &str, c: usize, rank4: bool) -> Result<Self> {
        let vb = vb.pp(name);
        let shape: Vec<usize> = if rank4 { vec![1, c, 1, 1] } else { vec![1, c] };
        Ok(Self {
            scale: vb.get(c, "scale")?.reshape(shape.as_slice())?,
            offset: vb.get(c, "offset")?.reshape(shape.as_slice())?,
        })
    }
}

impl Module for Affine {
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        x.broadcast_mul(&self.scale)?.broadcast_add(&self.offset)
    }
}

/// The Liveness network.
#[derive(Debug, Clone)]
pub struct Liveness {
    convs: Vec<(Conv2d, Affine)>,
    fc1: Linear,
    bn5: Affine,
    fc2: Linear,
}

impl Liveness {
    pub fn load(vb: VarBuilder) -> Result<Self> {
        let convs = [(1, 3, 16), (2, 16, 16), (3, 16, 32), (4, 32, 32)]
            .iter()
            .map(|&(i, c_in, c_out)| {
                Ok((
                    Conv2d::load(
                        &vb,
                        &format!("conv2d_{i}"),
                        (c_in, c_out, 3),
                        1,
                        Padding::Same,
                        Act::Relu,
                    )?,
                    Affine::load(&vb, &format!("batch_normalization_{i}"), c_out, true)?,
                ))
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(Self {
            convs,
            fc1: dense(&vb, "dense_1", 2048, 64)?,
            bn5: Affine::load(&vb, "batch_normalization_5", 64, false)?,
            fc2: dense(&vb, "dense_2", 64, 2)?,
        })
    }

    /// `[N, 2]` softmax for `[N, 3, 32, 32]` input in `[0, 1]`.
    pub fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let mut h = x.clone();
        for (i, (conv, bn)) in self.convs.iter().enumerate() {
            h = bn.forward(&conv.forward(&h)?)?;
            if i % 2 == 1 {
                h = max_pool(&h, 2, 2, Padding::Valid)?;
            }
        }
        let h = self
            .bn5
            .forward(&self.fc1.forward(&flatten_nhwc(&h)?)?.relu()?)?;
        softmax(&self.fc2.forward(&h)?)
    }
}
