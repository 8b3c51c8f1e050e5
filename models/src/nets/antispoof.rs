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

use crate::kernels::block::FusedBlock;
use crate::kernels::bridge::dense_to_fused;
use crate::kernels::stem::{max_pool2_relu, FusedStem};
use crate::kernels::{self, Isa};
use crate::layers::{dense, flatten_nhwc, max_pool, Act, Conv2d, Kernels, Padding};

/// Side of the square input.
pub const INPUT_SIZE: usize = 128;

/// The AntiSpoof network.
#[derive(Debug, Clone)]
pub struct AntiSpoof {
    convs: Vec<Conv2d>,
    fc1: Linear,
    fc2: Linear,
    fused: Option<Fused>,
}

/// The network in the fused kernels' layout: each convolution one GEMM over its patches (NHWC),
/// the dense layers one dot product per output.
#[derive(Debug, Clone)]
struct Fused {
    isa: Isa,
    convs: Vec<FusedStem>,
    fc: [FusedBlock; 2],
}

impl AntiSpoof {
    /// The same network with its convolutions' products in `bfloat16` (the two dense layers
    /// stay in `f32`), where it runs the fused kernels with AVX-512 on a CPU with AVX-512 BF16;
    /// elsewhere unchanged. [`Self::is_bf16`] says which.
    pub fn in_bf16(mut self) -> Self {
        if let Some(f) = self.fused.as_mut().filter(|f| f.isa == Isa::Avx512) {
            f.convs.iter_mut().for_each(|c| {
                c.in_bf16();
            });
        }
        self
    }

    /// Whether the convolutions run in `bfloat16` ([`Self::in_bf16`]).
    pub fn is_bf16(&self) -> bool {
        self.fused
            .as_ref()
            .is_some_and(|f| f.convs.iter().all(|c| c.bf16.is_some()))
    }

    /// The same network with its products back in `f32` (for comparisons).
    pub fn in_f32(mut self) -> Self {
        if let Some(f) = self.fused.as_mut() {
            f.convs.iter_mut().for_each(|c| c.bf16 = None);
        }
        self
    }

    /// Loads the weights; `kernels` chooses how the layers run.
    pub fn load(vb: VarBuilder, kernels: Kernels) -> Result<Self> {
        let convs = [
            ("conv2d", 3, 64),
            ("conv2d_1", 64, 32),
            ("conv2d_2", 32, 16),
        ]
        .iter()
        .map(|&(n, i, o)| Conv2d::load(&vb, n, (i, o, 3), 1, Padding::Valid, Act::None))
        .collect::<Result<Vec<_>>>()?;
        // TF named the two dense layers after their fused activation / output.
        let fc1 = dense(&vb, "activation_3", 3136, 128)?;
        let fc2 = dense(&vb, "dense_1", 128, 1)?;
        let fused = match kernels.fused() {
            Some(isa) => {
                let mut stems = Vec::with_capacity(convs.len());
                for (i, c) in convs.iter().enumerate() {
                    let mut s = c.to_stem()?;
                    s.nchw_input = i == 0;
                    stems.push(s);
                }
                Some(Fused {
                    isa,
                    convs: stems,
                    fc: [dense_to_fused(&fc1, true)?, dense_to_fused(&fc2, false)?],
                })
            }
            None => None,
        };
        Ok(Self {
            convs,
            fc1,
            fc2,
            fused,
        })
    }

    /// [`AntiSpoof::forward`] with the fused kernels, for one image.
    fn forward_fused(f: &Fused, x: &Tensor) -> Result<Tensor> {
        let (_, _, h, w) = x.dims4()?;
        let input = x.flatten_all()?.to_vec1::<f32>()?;
        let logit = kernels::with_workspace(|ws| {
            let kernels::Workspace { a, b, dw, cols, .. } = ws;
            let mut size = (h, w);
            for (i, conv) in f.convs.iter().enumerate() {
                let src: &[f32] = if i == 0 { &input } else { b };
                size = conv.forward(f.isa, src, size, a, (dw, cols));
                size = max_pool2_relu(a, size, conv.c_out, b);
            }
            // `b` is the last stage's NHWC output: TF's flattening order.
            f.fc[0].forward(f.isa, b, (1, 1), a, dw);
            f.fc[1].forward(f.isa, a, (1, 1), b, dw);
            b.first().copied()
        });
        let real = logit.map_or(0.0, |l| 1.0 / (1.0 + (-l).exp()));
        Tensor::from_vec(vec![real], (1, 1), x.device())
    }

    /// `[N, 1]` real scores for `[N, 3, 128, 128]` input in `[0, 1]`.
    pub fn forward(&self, x: &Tensor) -> Result<Tensor> {
        if let Some(f) = self.fused.as_ref().filter(|_| x.dims().first() == Some(&1)) {
            return Self::forward_fused(f, x);
        }
        let mut h = x.clone();
        for c in &self.convs {
            h = max_pool(&c.forward(&h)?, 2, 2, Padding::Valid)?.relu()?;
        }
        let h = self.fc1.forward(&flatten_nhwc(&h)?)?.relu()?;
        candle_nn::ops::sigmoid(&self.fc2.forward(&h)?)
    }
}
