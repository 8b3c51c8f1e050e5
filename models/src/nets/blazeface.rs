//! BlazeFace, the short-range face detector of MediaPipe, as shipped by `@vladmandic/human`
//! 3.3.6 (`models/blazeface.json`, float32).
//!
//! - Input: `[1, 3, 256, 256]` RGB scaled to `[-1, 1]` (TF.js: NHWC `[1, 256, 256, 3]`).
//! - Raw outputs (TF output node in brackets): scores `[1, 512, 1]` (`Identity`) and
//!   `[1, 384, 1]` (`Identity_1`), regressors `[1, 512, 16]` (`Identity_2`) and `[1, 384, 16]`
//!   (`Identity_3`): 896 anchors in all (16×16 cells × 2, then 8×8 cells × 6). Each regressor row
//!   is `dx, dy, w, h` of the box and `dx, dy` of six keypoints (right eye, left eye, nose,
//!   mouth, right ear, left ear — the subject's sides), in input pixels relative to the anchor.
//! - [`BlazeFace::detect`] decodes them into [`Detection`]s (sigmoid score, NMS), as Human's
//!   `blazeface.ts` does.
//!
//! Architecture (from the graph): 5×5/2 conv + ReLU, 31 residual blocks (depthwise 3×3 →
//! pointwise, max-pool + channel pad on the skip when strided: 128² ×24 → 64² ×24 → 32² ×48 →
//! 16² ×96), a 16² head, then one strided depthwise + pointwise + ReLU to 8² and an 8² head.

use candle_core::{Module, Result, Tensor};
use candle_nn::VarBuilder;

use crate::kernels::block::FusedBlock;
use crate::kernels::bridge::{fused_pair, run_blocks, run_stem, Nhwc};
use crate::kernels::stem::FusedStem;
use crate::kernels::Isa;
use crate::layers::{
    flatten_nhwc, Act, BlazeBlock, BlockNames, Conv2d, DepthwiseConv, Kernels, Padding,
};

/// Side of the square input.
pub const INPUT_SIZE: usize = 256;
/// Number of anchors (512 + 384).
pub const NUM_ANCHORS: usize = 896;

/// Raw network outputs, NHWC order flattened as in TF.js.
#[derive(Debug, Clone)]
pub struct BlazeFaceRaw {
    /// `[1, 512, 1]` logits of the 16×16 grid.
    pub scores16: Tensor,
    /// `[1, 384, 1]` logits of the 8×8 grid.
    pub scores8: Tensor,
    /// `[1, 512, 16]` regressors of the 16×16 grid.
    pub boxes16: Tensor,
    /// `[1, 384, 16]` regressors of the 8×8 grid.
    pub boxes8: Tensor,
}

/// One detected face, in input (256²) pixel coordinates.
#[derive(Debug, Clone, PartialEq)]
pub struct Detection {
    /// Sigmoid of the logit, in `[0, 1]`.
    pub score: f32,
    /// Top-left corner.
    pub start: [f32; 2],
    /// Bottom-right corner.
    pub end: [f32; 2],
    /// Right eye, left eye, nose, mouth, right ear, left ear (the subject's sides).
    pub keypoints: [[f32; 2]; 6],
}

/// The BlazeFace detector.
#[derive(Debug, Clone)]
pub struct BlazeFace {
    stem: Conv2d,
    blocks: Vec<BlazeBlock>,
    cls16: Conv2d,
    reg16: Conv2d,
    down_dw: DepthwiseConv,
    down_pw: Conv2d,
    cls8: Conv2d,
    reg8: Conv2d,
    anchors: Vec<[f32; 2]>,
    /// The blocks and the downsampling pair for the fused kernels, when chosen.
    fused: Option<Fused>,
}

/// The whole network in the fused kernels' layout.
#[derive(Debug, Clone)]
struct Fused {
    isa: Isa,
    stem: FusedStem,
    blocks: Vec<FusedBlock>,
    down: FusedBlock,
    /// Score and regressor heads of the 16² and the 8² grid.
    heads: [FusedBlock; 4],
}

/// Anchor centres in input pixels: a 16×16 grid with 2 anchors per cell, then 8×8 with 6.
pub fn anchors() -> Vec<[f32; 2]> {
    let mut out = Vec::with_capacity(NUM_ANCHORS);
    for (stride, per_cell) in [(16usize, 2usize), (32, 6)] {
        let cells = INPUT_SIZE.div_ceil(stride);
        for gy in 0..cells {
            for gx in 0..cells {
                let c = [
                    stride as f32 * (gx as f32 + 0.5),
                    stride as f32 * (gy as f32 + 0.5),
                ];
                out.extend(std::iter::repeat_n(c, per_cell));
            }
        }
    }
    out
}

impl BlazeFace {
    /// Loads the weights; `dw` chooses the kernels.
    pub fn load(vb: VarBuilder, dw: Kernels) -> Result<Self> {
        let stem = Conv2d::load(&vb, "conv2d", (3, 24, 5), 2, Padding::Same, Act::Relu)?;
        let mut blocks = Vec::with_capacity(31);
        let mut c_in = 24;
        for k in 0..31usize {
            let (stride, c_out) = match k {
                7 => (2, 24),
                15 => (2, 48),
                23 => (2, 96),
                _ => (1, c_in),
            };
            let depthwise = if k == 0 {
                "depthwise_conv2d".to_string()
            } else {
                format!("depthwise_conv2d_{k}")
            };
            let pw = format!("conv2d_{}", k + 1);
            let names = BlockNames {
                depthwise: &depthwise,
                pointwise: &pw,
                prelu: None,
            };
            blocks.push(BlazeBlock::load(&vb, names, (c_in, c_out), stride, dw)?);
            c_in = c_out;
        }
        let head = |name: &str, c_out: usize| {
            Conv2d::load(&vb, name, (96, c_out, 1), 1, Padding::Same, Act::None)
        };
        let mut net = Self {
            stem,
            blocks,
            cls16: head("conv2d_33", 2)?,
            reg16: head("conv2d_35", 32)?,
            down_dw: DepthwiseConv::load(
                &vb,
                "depthwise_conv2d_31",
                (96, 3),
                2,
                Padding::Same,
                dw,
            )?,
            // TF fused this pointwise layer with its ReLU and named it after the activation.
            down_pw: Conv2d::load(&vb, "re_lu_31", (96, 96, 1), 1, Padding::Valid, Act::Relu)?,
            cls8: head("conv2d_34", 6)?,
            reg8: head("conv2d_36", 96)?,
            anchors: anchors(),
            fused: None,
        };
        if let Some(isa) = dw.fused() {
            net.fused = Some(Fused {
                isa,
                stem: net.stem.to_stem()?,
                blocks: net
                    .blocks
                    .iter()
                    .map(BlazeBlock::to_fused)
                    .collect::<Result<_>>()?,
                down: fused_pair(&net.down_dw, &net.down_pw)?,
                heads: [
                    net.cls16.to_fused()?,
                    net.reg16.to_fused()?,
                    net.cls8.to_fused()?,
                    net.reg8.to_fused()?,
                ],
            });
        }
        Ok(net)
    }

    /// Runs the network on `[1, 3, 256, 256]` input in `[-1, 1]`.
    pub fn forward_raw(&self, x: &Tensor) -> Result<BlazeFaceRaw> {
        if let Some(f) = self.fused.as_ref().filter(|_| x.dims().first() == Some(&1)) {
            return Self::forward_fused(f, x);
        }
        let mut h = self.stem.forward(x)?;
        for b in &self.blocks {
            h = b.forward(&h)?;
        }
        let n = h.dim(0)?;
        let scores16 = flatten_nhwc(&self.cls16.forward(&h)?)?.reshape((n, 512, 1))?;
        let boxes16 = flatten_nhwc(&self.reg16.forward(&h)?)?.reshape((n, 512, 16))?;
        let h8 = self.down_pw.forward(&self.down_dw.forward(&h)?)?;
        let scores8 = flatten_nhwc(&self.cls8.forward(&h8)?)?.reshape((n, 384, 1))?;
        let boxes8 = flatten_nhwc(&self.reg8.forward(&h8)?)?.reshape((n, 384, 16))?;
        Ok(BlazeFaceRaw {
            scores16,
            scores8,
            boxes16,
            boxes8,
        })
    }

    /// [`BlazeFace::forward_raw`] with the fused kernels: NHWC all the way, so each head's
    /// output is already in TF's flattening order.
    fn forward_fused(f: &Fused, x: &Tensor) -> Result<BlazeFaceRaw> {
        let h16 = run_stem(f.isa, &f.stem, &f.blocks, x)?;
        let h8 = run_blocks(f.isa, std::slice::from_ref(&f.down), &h16)?;
        let head = |i: usize, h: &Nhwc, shape: (usize, usize, usize)| -> Result<Tensor> {
            let o = run_blocks(f.isa, std::slice::from_ref(&f.heads[i]), h)?;
            Tensor::from_vec(o.data, shape, x.device())
        };
        Ok(BlazeFaceRaw {
            scores16: head(0, &h16, (1, 512, 1))?,
            boxes16: head(1, &h16, (1, 512, 16))?,
            scores8: head(2, &h8, (1, 384, 1))?,
            boxes8: head(3, &h8, (1, 384, 16))?,
        })
    }

    /// Detects faces: decodes every anchor, keeps scores above `min_score`, and applies greedy
    /// non-maximum suppression at `iou_threshold`, best first, at most `max_faces`.
    pub fn detect(
        &self,
        x: &Tensor,
        min_score: f32,
        iou_threshold: f32,
        max_faces: usize,
    ) -> Result<Vec<Detection>> {
        let raw = self.forward_raw(x)?;
        let logits: Vec<f32> = Tensor::cat(&[&raw.scores16, &raw.scores8], 1)?
            .flatten_all()?
            .to_vec1()?;
        let regs: Vec<f32> = Tensor::cat(&[&raw.boxes16, &raw.boxes8], 1)?
            .flatten_all()?
            .to_vec1()?;
        let mut dets: Vec<Detection> = Vec::new();
        for (i, &logit) in logits.iter().enumerate() {
            let score = sigmoid(logit);
            if score < min_score {
                continue;
            }
            dets.push(decode(&regs[i * 16..(i + 1) * 16], self.anchors[i], score));
        }
        Ok(nms(dets, iou_threshold, max_faces))
    }
}

fn sigmoid(x: f32) -> f32 {
    1.0 / (1.0 + (-x).exp())
}

/// Decodes one regressor row against its anchor (input pixels).
pub fn decode(reg: &[f32], anchor: [f32; 2], score: f32) -> Detection {
    let cx = anchor[0] + reg[0];
    let cy = anchor[1] + reg[1];
    let (w, h) = (reg[2], reg[3]);
    let mut keypoints = [[0f32; 2]; 6];
    for (k, kp) in keypoints.iter_mut().enumerate() {
        *kp = [anchor[0] + reg[4 + 2 * k], anchor[1] + reg[5 + 2 * k]];
    }
    Detection {
        score,
        start: [cx - w / 2.0, cy - h / 2.0],
        end: [cx + w / 2.0, cy + h / 2.0],
        keypoints,
    }
}

/// Intersection over union of two boxes.
pub fn iou(a: &Detection, b: &Detection) -> f32 {
    let ix = (a.end[0].min(b.end[0]) - a.start[0].max(b.start[0])).max(0.0);
    let iy = (a.end[1].min(b.end[1]) - a.start[1].max(b.start[1])).max(0.0);
    let inter = ix * iy;
    let area = |d: &Detection| (d.end[0] - d.start[0]).max(0.0) * (d.end[1] - d.start[1]).max(0.0);
    let union = area(a) + area(b) - inter;
    if union <= 0.0 {
        0.0
    } else {
        inter / union
    }
}

/// Greedy non-maximum suppression: best score first, drop boxes overlapping a kept one by more
/// than `iou_threshold`.
pub fn nms(mut dets: Vec<Detection>, iou_threshold: f32, max_out: usize) -> Vec<Detection> {
    dets.sort_by(|a, b| b.score.total_cmp(&a.score));
    let mut kept: Vec<Detection> = Vec::new();
    for d in dets {
        if kept.len() >= max_out {
            break;
        }
        if kept.iter().all(|k| iou(k, &d) <= iou_threshold) {
            kept.push(d);
        }
    }
    kept
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn anchors_follow_the_two_grids() {
        let a = anchors();
        assert_eq!(a.len(), NUM_ANCHORS);
        assert_eq!(a[0], [8.0, 8.0]);
        assert_eq!(a[1], [8.0, 8.0]);
        assert_eq!(a[2], [24.0, 8.0]);
        assert_eq!(a[511], [248.0, 248.0]);
        assert_eq!(a[512], [16.0, 16.0]);
        assert_eq!(a[517], [16.0, 16.0]);
        assert_eq!(a[518], [48.0, 16.0]);
        assert_eq!(a[895], [240.0, 240.0]);
    }

    #[test]
    fn decode_adds_the_anchor() {
        let mut reg = [0f32; 16];
        reg[0] = 2.0;
        reg[1] = -4.0;
        reg[2] = 20.0;
        reg[3] = 10.0;
        reg[4] = 1.0;
        let d = decode(&reg, [100.0, 50.0], 0.9);
        assert_eq!(d.start, [92.0, 41.0]);
        assert_eq!(d.end, [112.0, 51.0]);
        assert_eq!(d.keypoints[0], [101.0, 50.0]);
        assert_eq!(d.keypoints[5], [100.0, 50.0]);
    }

    #[test]
    fn nms_keeps_the_best_of_overlapping_boxes() {
        let mk = |x: f32, score: f32| Detection {
            score,
            start: [x, 0.0],
            end: [x + 10.0, 10.0],
            keypoints: [[0.0; 2]; 6],
        };
        let out = nms(vec![mk(0.0, 0.5), mk(1.0, 0.9), mk(50.0, 0.7)], 0.3, 10);
        assert_eq!(out.len(), 2);
        assert_eq!(out[0].score, 0.9);
        assert_eq!(out[1].score, 0.7);
        assert_eq!(nms(vec![mk(0.0, 0.5), mk(50.0, 0.7)], 0.3, 1).len(), 1);
    }
}
