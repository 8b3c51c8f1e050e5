//! MiniFASNetV2-SE, a face presentation-attack (PAD) classifier: `model/fr_liveness.onnx` of
//! the npm package `faceplugin-face-recognition-js` 0.0.1 (MIT; training data not published).
//! The layout is MiniFASNet's (Silent-Face-Anti-Spoofing): pruned MobileFaceNet blocks with
//! squeeze-and-excitation on the last block of each stage, here trained for 128² input.
//!
//! - Input: `[N, 3, 128, 128]` RGB, raw `0..255` (no normalisation), the face box enlarged 2.7×
//!   about its centre and shifted to stay inside the frame ([`crop_box`]), resized to 128².
//! - Output: `[N, 3]` logits; after a softmax, class 1 is *live*, as in MiniFASNet's own
//!   training (0 and 2 are attack kinds). The package's code reports class 0 as its "liveness
//!   result", but on real video of live people class 1 takes 0.44–0.999 and class 0 the rest,
//!   while on photos of people (which a print shows) class 0 is near 1: class 0 is a spoof score.
//!
//! Weights: `minifasnet.safetensors`, written by `ilive-models convert` from the ONNX graph
//! with every BatchNormalization folded (see [`crate::convert::onnx`]): the convolutions are
//! `conv{k}` in graph order, the two dense layers `fc0`, `fc1`. Measured separation and the
//! weight it has in the engine: `docs/architecture.md` ("Anti-spoof").

use candle_core::{Module, Result, Tensor};
use candle_nn::VarBuilder;

use super::mobile_blocks::{fused_layers, Block, Convs, Unit};
use crate::imageops::{sample, to_tensor, Affine};
use crate::kernels::{self, bridge::dense_to_fused, mobile::Layer, Isa};
use crate::layers::{softmax, Kernels};

/// Side of the square input.
pub const INPUT_SIZE: usize = 128;
/// How much the face box is enlarged for the crop.
pub const CROP_SCALE: f32 = 2.7;
/// Index of the live class.
pub const LIVE: usize = 1;

/// The shape of the network; the channel widths (pruned, uneven) come from the weights.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    /// Residual blocks after each of the three down-sampling blocks that follow the stem; the
    /// last block of each stage carries squeeze-and-excitation.
    pub blocks: [usize; 3],
    /// Number of classes.
    pub classes: usize,
}

impl Config {
    /// `fr_liveness.onnx`: MiniFASNetV2-SE's 4, 6 and 2 blocks, 3 classes.
    pub fn v2_se() -> Self {
        Self {
            blocks: [4, 6, 2],
            classes: 3,
        }
    }
}

/// The network; see the module docs.
#[derive(Debug, Clone)]
pub struct MiniFasNet {
    stem: [Unit; 2],
    blocks: Vec<Block>,
    head: [Unit; 2],
    fc: [candle_nn::Linear; 2],
    /// The same layers (dense ones last) for the fused kernels, with [`Kernels::Fused`].
    fused: Option<(Isa, Vec<Layer>)>,
}

/// The class probabilities of one face crop.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PadScores {
    /// Softmax over the three classes; [`LIVE`] is the live one.
    pub probs: [f32; 3],
}

impl PadScores {
    /// The probability of a live face.
    pub fn live(&self) -> f32 {
        self.probs[LIVE]
    }
}

impl MiniFasNet {
    /// Loads `minifasnet.safetensors`' tensors; `kernels` chooses how the layers run.
    pub fn load(vb: VarBuilder, cfg: &Config, kernels: Kernels) -> Result<Self> {
        let mut convs = Convs::new(&vb);
        // conv1 (3×3/2) and conv2_dw (3×3 depthwise), both PReLU.
        let stem = [convs.next(2, 1, true)?, convs.next(1, 1, true)?];
        let mut blocks = Vec::new();
        // Block conv_23 halves the size; then stage 3; conv_34 halves; stage 4; conv_45; stage 5.
        for &n in &cfg.blocks {
            blocks.extend(Block::stage(&mut convs, n, true)?);
        }
        // conv_6_sep (1×1, PReLU) and conv_6_dw (8×8 depthwise over the whole map, linear).
        let head = [convs.next(1, 0, true)?, convs.next(1, 0, false)?];
        let linear = |name: &str| -> Result<candle_nn::Linear> {
            let vb = vb.pp(name);
            let w = vb.get_unchecked("weight")?;
            let b = vb.get(w.dim(0)?, "bias")?;
            Ok(candle_nn::Linear::new(w, Some(b)))
        };
        let fc = [linear("fc0")?, linear("fc1")?];
        let classes = fc[1].weight().dim(0)?;
        if classes != cfg.classes || classes != 3 {
            candle_core::bail!("minifasnet: {classes} classes, expected {}", cfg.classes);
        }
        let fused = match kernels.fused() {
            Some(isa) => {
                let mut layers = fused_layers(&stem, &blocks, &head)?;
                for l in &fc {
                    layers.push(Layer::Pointwise(dense_to_fused(l, false)?));
                }
                Some((isa, layers))
            }
            None => None,
        };
        Ok(Self {
            stem,
            blocks,
            head,
            fc,
            fused,
        })
    }

    /// `[N, 3]` logits for `[N, 3, 128, 128]` RGB input in `0..255`.
    pub fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let (_, c, h, w) = x.dims4()?;
        if (c, h, w) != (3, INPUT_SIZE, INPUT_SIZE) {
            candle_core::bail!(
                "minifasnet: input must be [N, 3, 128, 128], got {:?}",
                x.dims()
            );
        }
        if let Some((isa, layers)) = self.fused.as_ref().filter(|_| x.dims()[0] == 1) {
            let v = kernels::mobile::run(*isa, layers, x)?;
            let n = v.len();
            return Tensor::from_vec(v, (1, n), x.device());
        }
        let mut y = x.clone();
        for l in &self.stem {
            y = l.forward(&y)?;
        }
        for b in &self.blocks {
            y = b.forward(&y)?;
        }
        for l in &self.head {
            y = l.forward(&y)?;
        }
        let y = y.flatten_from(1)?;
        self.fc[1].forward(&self.fc[0].forward(&y)?)
    }

    /// The live probability of the face whose box (`[x, y, w, h]`, image pixels) is given: the
    /// package's crop ([`crop_box`]) resized bilinearly to 128².
    pub fn live_probability(&self, img: &image::RgbImage, face: [f32; 4]) -> Result<f32> {
        let [x, y, w, h] = crop_box(face, img.width(), img.height());
        let n = INPUT_SIZE;
        let map = Affine {
            m: [w / n as f32, 0.0, x, 0.0, h / n as f32, y],
        };
        let input = to_tensor(sample(img, &map, n, n), n, n, 1.0, 0.0)?;
        let scores = self.scores(&input)?;
        Ok(scores.first().map_or(0.0, PadScores::live))
    }

    /// The class probabilities of each input crop.
    pub fn scores(&self, x: &Tensor) -> Result<Vec<PadScores>> {
        let probs = softmax(&self.forward(x)?)?.to_vec2::<f32>()?;
        probs
            .into_iter()
            .map(|p| match p.as_slice() {
                &[a, b, c] => Ok(PadScores { probs: [a, b, c] }),
                _ => candle_core::bail!("minifasnet: {} classes", p.len()),
            })
            .collect()
    }
}

/// The package's crop: the face box `[x, y, w, h]` (image pixels) scaled by [`CROP_SCALE`] about
/// its centre — less when that would not fit the `width`×`height` frame — then shifted to lie
/// inside it. Returns `[x, y, w, h]` of the crop.
pub fn crop_box(face: [f32; 4], width: u32, height: u32) -> [f32; 4] {
    let [x, y, w, h] = face;
    let (fw, fh) = (width as f32 - 1.0, height as f32 - 1.0);
    let scale = CROP_SCALE.min(fh / h.max(1.0)).min(fw / w.max(1.0));
    let (cw, ch) = (w * scale, h * scale);
    let mut left = (x + w / 2.0 - cw / 2.0).max(0.0);
    let mut top = (y + h / 2.0 - ch / 2.0).max(0.0);
    left -= (left + cw - fw).max(0.0);
    top -= (top + ch - fh).max(0.0);
    [left.max(0.0), top.max(0.0), cw.min(fw), ch.min(fh)]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_crop_grows_the_box_and_stays_inside_the_frame() {
        // A centred 100-px face in 640×480: 270 px about the same centre.
        let [x, y, w, h] = crop_box([270.0, 190.0, 100.0, 100.0], 640, 480);
        assert!((w - 270.0).abs() < 1e-3 && (h - 270.0).abs() < 1e-3);
        assert!((x + w / 2.0 - 320.0).abs() < 1e-3 && (y + h / 2.0 - 240.0).abs() < 1e-3);
        // Near the left edge: shifted right, not cut.
        let [x, _, w, _] = crop_box([0.0, 190.0, 100.0, 100.0], 640, 480);
        assert_eq!(x, 0.0);
        assert!((w - 270.0).abs() < 1e-3);
        // A face of 300 px in 480 rows: scaled only as far as the frame allows.
        let [_, y, _, h] = crop_box([170.0, 90.0, 300.0, 300.0], 640, 480);
        assert!(y >= 0.0 && y + h <= 479.0 + 1e-3, "{y} {h}");
    }
}
