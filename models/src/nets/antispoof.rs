//! AntiSpoof, a small presentation-attack classifier shipped by `@vladmandic/human` 3.3.6
//! (`models/antispoof.json`, float16 weights).
//!
//! - Input: `[1, 3, 128, 128]` RGB in `[0, 1]`, the face crop (TF.js: NHWC).
//! - Output: `[1, 1]`, sigmoid "real" score (`Identity`).
//!
//! Architecture: three (3×3 VALID conv → 2×2 max-pool → ReLU) stages (64, 32, 16 channels),
//! flatten (NHWC order, 14·14·16 = 3136), dense 128 + ReLU, dense 1 + sigmoid. Measured on real
//! and attack video it is weak (ROC AUC ≈ 0.66): one signal among several.

use candle_core::{Module, Result, Tensor};
use candle_nn::{Linear, VarBuilder};

use crate::layers::{dense, flatten_nhwc, max_pool, Act, Conv2d, Padding};

/// Side of the square input.
pub const INPUT_SIZE: usize = 128;

/// The AntiSpoof network.
#[derive(Debug, Clone)]
pub struct AntiSpoof {
    convs: Vec<Conv2d>,
    fc1: Linear,
    fc2: Linear,
}

impl AntiSpoof {
    pub fn load(vb: VarBuilder) -> Result<Self> {
        let convs = [
            ("conv2d", 3, 64),
            ("conv2d_1", 64, 32),
            ("conv2d_2", 32, 16),
        ]
        .iter()
        .map(|&(n, i, o)| Conv2d::load(&vb, n, (i, o, 3), 1, Padding::Valid, Act::None))
        .collect::<Result<Vec<_>>>()?;
        // TF named the two dense layers after their fused activation / output.
        Ok(Self {
            convs,
            fc1: dense(&vb, "activation_3", 3136, 128)?,
            fc2: dense(&vb, "dense_1", 128, 1)?,
        })
    }

    /// `[N, 1]` real scores for `[N, 3, 128, 128]` input in `[0, 1]`.
    pub fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let mut h = x.clone();
        for c in &self.convs {
            h = max_pool(&c.forward(&h)?, 2, 2, Padding::Valid)?.relu()?;
        }
        let h = self.fc1.forward(&flatten_nhwc(&h)?)?.relu()?;
        candle_nn::ops::sigmoid(&self.fc2.forward(&h)?)
    }
}
