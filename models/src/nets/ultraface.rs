//! A second face detector for uploaded photos: `model/fr_detect.onnx` of the npm package
//! `faceplugin-face-recognition-js` 0.0.1 (MIT as declared; training data not published), whose
//! layout is the Ultra-Light-Fast-Generic-Face-Detector's "RFB" version: depthwise-separable
//! convolutions, one receptive-field block (three dilated branches), and box and score heads at
//! strides 8, 16, 32 and 64 with SSD-style priors of 10–256 px. Batch norms are folded by the
//! converter.
//!
//! BlazeFace (the front model) is trained on selfie-range faces; this one, on faces of any size and
//! pose in crowded photos, finds faces it misses (a shouting soldier in three-quarter view on an
//! old grey photo). It is fully convolutional, so it runs at any input size: the priors are
//! computed for the size given ([`priors`]), where the ONNX graph bakes those of 320×240.
//!
//! - Input: `[N, 3, H, W]` RGB as `(v − 127) / 128` ([`MEAN`], [`STD`]).
//! - Output of [`UltraFace::forward`]: scores `[N, P, 2]` (softmax, class 1 = face) and boxes
//!   `[N, P, 4]` (`x0, y0, x1, y1` as fractions of the input), as the ONNX graph's `scores` and
//!   `boxes`. [`UltraFace::detect`] returns the faces of an image in its pixels.
//!
//! Weights: `ultraface.safetensors`, written by `ilive-models convert` (`conv{k}` in graph order,
//! see [`crate::convert::onnx`]).

use candle_core::{Module, Result, Tensor, D};
use candle_nn::VarBuilder;
use image::imageops::FilterType;
use image::RgbImage;

use crate::depthwise::{DepthwiseKernel, Pad2d};
use crate::imageops::to_nchw;

/// Subtracted from every 0–255 channel value (then divided by [`STD`]).
pub const MEAN: f32 = 127.0;
/// Divides every channel value once [`MEAN`] is subtracted.
pub const STD: f32 = 128.0;
/// The strides of the four heads and the prior sizes (input pixels) at each.
const PRIORS: [(usize, &[f32]); 4] = [
    (8, &[10.0, 16.0, 24.0]),
    (16, &[32.0, 48.0]),
    (32, &[64.0, 96.0]),
    (64, &[128.0, 192.0, 256.0]),
];
/// The box-regression variances of centre and size.
const VARIANCE: [f32; 2] = [0.1, 0.2];

/// One face found, in image pixels.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Detection {
    /// Face probability in `[0, 1]`.
    pub score: f32,
    /// Top-left corner.
    pub start: [f32; 2],
    /// Bottom-right corner.
    pub end: [f32; 2],
}

/// One convolution with its folded batch norm, optionally followed by a ReLU.
#[derive(Debug, Clone)]
struct Conv {
    kind: Kind,
    relu: bool,
}

#[derive(Debug, Clone)]
enum Kind {
    Dense {
        weight: Tensor,
        bias: Tensor,
        stride: usize,
        pad: usize,
        dilation: usize,
    },
    Depthwise(DepthwiseKernel),
}

impl Module for Conv {
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let y = match &self.kind {
            Kind::Dense {
                weight,
                bias,
                stride,
                pad,
                dilation,
            } => x
                .conv2d(weight, *pad, *stride, *dilation, 1)?
                .broadcast_add(bias)?,
            Kind::Depthwise(k) => k.forward(&x.contiguous()?)?,
        };
        if self.relu {
            y.relu()
        } else {
            Ok(y)
        }
    }
}

/// Hands out the convolutions `conv0`, `conv1`, … in graph order.
struct Convs<'a> {
    vb: &'a VarBuilder<'a>,
    next: usize,
}

impl Convs<'_> {
    /// The next convolution: `stride`, symmetric `pad`, `dilation`, ReLU or linear.
    fn conv(&mut self, stride: usize, pad: usize, dilation: usize, relu: bool) -> Result<Conv> {
        let vb = self.vb.pp(format!("conv{}", self.next));
        self.next += 1;
        let weight = vb.get_unchecked("weight")?;
        let (c_out, c_in, _, _) = weight.dims4()?;
        let bias = vb.get(c_out, "bias")?;
        let kind = if c_in == 1 && c_out > 1 && dilation == 1 {
            let p = Pad2d {
                top: pad,
                bottom: pad,
                left: pad,
                right: pad,
            };
            Kind::Depthwise(DepthwiseKernel::new(&weight, Some(&bias), stride, p)?)
        } else {
            Kind::Dense {
                weight,
                bias: bias.reshape((1, c_out, 1, 1))?,
                stride,
                pad,
                dilation,
            }
        };
        Ok(Conv { kind, relu })
    }

    /// A depthwise 3×3 (ReLU) then a pointwise 1×1 (ReLU or linear).
    fn separable(&mut self, stride: usize, relu: bool) -> Result<Vec<Conv>> {
        Ok(vec![
            self.conv(stride, 1, 1, true)?,
            self.conv(1, 0, 1, relu)?,
        ])
    }

    /// `separable` blocks with ReLU, the first of stride `first`, the others 1.
    fn blocks(&mut self, strides: &[usize]) -> Result<Vec<Conv>> {
        let mut out = Vec::new();
        for &s in strides {
            out.extend(self.separable(s, true)?);
        }
        Ok(out)
    }
}

fn run(layers: &[Conv], x: &Tensor) -> Result<Tensor> {
    layers.iter().try_fold(x.clone(), |y, l| l.forward(&y))
}

/// The receptive-field block: three branches of growing dilation, concatenated and projected,
/// plus a projected shortcut, then a ReLU.
#[derive(Debug, Clone)]
struct Rfb {
    branches: [Vec<Conv>; 3],
    project: Conv,
    shortcut: Conv,
}

impl Rfb {
    fn load(c: &mut Convs) -> Result<Self> {
        let mut branch = |inner: &[(usize, bool)], dilation: usize| -> Result<Vec<Conv>> {
            let mut l = vec![c.conv(1, 0, 1, false)?];
            for &(pad, relu) in inner {
                l.push(c.conv(1, pad, 1, relu)?);
            }
            l.push(c.conv(1, dilation, dilation, false)?);
            Ok(l)
        };
        let branches = [
            branch(&[(1, true)], 2)?,
            branch(&[(1, true)], 3)?,
            branch(&[(1, true), (1, true)], 5)?,
        ];
        Ok(Self {
            branches,
            project: c.conv(1, 0, 1, false)?,
            shortcut: c.conv(1, 0, 1, false)?,
        })
    }
}

impl Module for Rfb {
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let parts = self
            .branches
            .iter()
            .map(|b| run(b, x))
            .collect::<Result<Vec<_>>>()?;
        let y = self.project.forward(&Tensor::cat(&parts, 1)?)?;
        (y + self.shortcut.forward(x)?)?.relu()
    }
}

/// The score and box layers of one stride.
#[derive(Debug, Clone)]
struct Head {
    scores: Vec<Conv>,
    boxes: Vec<Conv>,
}

impl Head {
    fn load(c: &mut Convs, last: bool) -> Result<Self> {
        let mut one = || -> Result<Vec<Conv>> {
            if last {
                Ok(vec![c.conv(1, 1, 1, false)?])
            } else {
                c.separable(1, false)
            }
        };
        Ok(Self {
            scores: one()?,
            boxes: one()?,
        })
    }

    /// `[N, h·w·A, 2]` logits and `[N, h·w·A, 4]` box offsets, cell by cell.
    fn forward(&self, x: &Tensor) -> Result<(Tensor, Tensor)> {
        let flat = |layers: &[Conv], k: usize| -> Result<Tensor> {
            let y = run(layers, x)?.permute((0, 2, 3, 1))?.contiguous()?;
            let n = y.dim(0)?;
            y.reshape((n, (), k))
        };
        Ok((flat(&self.scores, 2)?, flat(&self.boxes, 4)?))
    }
}

/// The detector; see the module docs.
#[derive(Debug, Clone)]
pub struct UltraFace {
    stem: Vec<Conv>,
    rfb: Rfb,
    stages: [Vec<Conv>; 3],
    heads: [Head; 4],
}

impl UltraFace {
    /// Loads `ultraface.safetensors`' tensors.
    pub fn load(vb: VarBuilder) -> Result<Self> {
        let mut c = Convs { vb: &vb, next: 0 };
        let mut stem = vec![c.conv(2, 1, 1, true)?];
        stem.extend(c.blocks(&[1, 2, 1, 2, 1, 1])?);
        let rfb = Rfb::load(&mut c)?;
        let head0 = Head::load(&mut c, false)?;
        let stage1 = c.blocks(&[2, 1, 1])?;
        let head1 = Head::load(&mut c, false)?;
        let stage2 = c.blocks(&[2, 1])?;
        let head2 = Head::load(&mut c, false)?;
        let mut extras = vec![c.conv(1, 0, 1, true)?];
        extras.extend(c.separable(2, true)?);
        let head3 = Head::load(&mut c, true)?;
        if vb.contains_tensor(&format!("conv{}.weight", c.next)) {
            candle_core::bail!("ultraface: the weights hold more layers than the network");
        }
        Ok(Self {
            stem,
            rfb,
            stages: [stage1, stage2, extras],
            heads: [head0, head1, head2, head3],
        })
    }

    /// Face probabilities `[N, P, 2]` and boxes `[N, P, 4]` for normalised `[N, 3, H, W]` input.
    pub fn forward(&self, x: &Tensor) -> Result<(Tensor, Tensor)> {
        let (_, c, h, w) = x.dims4()?;
        if c != 3 {
            candle_core::bail!("ultraface: input must be [N, 3, H, W], got {:?}", x.dims());
        }
        let mut y = self.rfb.forward(&run(&self.stem, x)?)?;
        let (mut logits, mut offsets) = (Vec::new(), Vec::new());
        for (i, head) in self.heads.iter().enumerate() {
            if i > 0 {
                y = run(&self.stages[i - 1], &y)?;
            }
            let (l, o) = head.forward(&y)?;
            logits.push(l);
            offsets.push(o);
        }
        let scores = candle_nn::ops::softmax(&Tensor::cat(&logits, 1)?, D::Minus1)?;
        let offsets = Tensor::cat(&offsets, 1)?;
        let p = priors(w, h);
        let priors = Tensor::from_vec(p.concat(), (1, p.len(), 4), x.device())?;
        if priors.dim(1)? != offsets.dim(1)? {
            candle_core::bail!(
                "ultraface: {} priors for {} boxes",
                priors.dim(1)?,
                offsets.dim(1)?
            );
        }
        Ok((scores, decode(&offsets, &priors)?))
    }

    /// The faces of `img` with probability ≥ `min_score`, best first, overlapping ones (IoU >
    /// 0.4) merged into the best, at most `max_faces`. The image is scaled so that its longer
    /// side is `long_side` pixels.
    pub fn detect(
        &self,
        img: &RgbImage,
        long_side: usize,
        min_score: f32,
        max_faces: usize,
    ) -> Result<Vec<Detection>> {
        let (iw, ih) = (img.width() as f32, img.height() as f32);
        let scale = long_side as f32 / iw.max(ih);
        let (w, h) = (
            ((iw * scale).round() as usize).max(1),
            ((ih * scale).round() as usize).max(1),
        );
        // A filter as wide as the reduction (not plain bilinear sampling, which aliases when a
        // large photo shrinks several times): a 0.69 face at 320 px became 0.97 with it.
        let small = image::imageops::resize(img, w as u32, h as u32, FilterType::Triangle);
        let hwc: Vec<f32> = small.as_raw().iter().map(|&v| f32::from(v)).collect();
        let x = to_nchw(&hwc, w, h, 1.0 / STD, -MEAN / STD)?;
        let (scores, boxes) = self.forward(&x)?;
        let scores: Vec<Vec<f32>> = scores.squeeze(0)?.to_vec2()?;
        let boxes: Vec<Vec<f32>> = boxes.squeeze(0)?.to_vec2()?;
        let mut found: Vec<Detection> = scores
            .iter()
            .zip(&boxes)
            .filter(|(s, _)| s[1] >= min_score)
            .map(|(s, b)| Detection {
                score: s[1],
                start: [b[0] * iw, b[1] * ih],
                end: [b[2] * iw, b[3] * ih],
            })
            .collect();
        found.sort_by(|a, b| b.score.total_cmp(&a.score));
        let mut kept: Vec<Detection> = Vec::new();
        for d in found {
            if kept.len() < max_faces && kept.iter().all(|k| iou(k, &d) <= 0.4) {
                kept.push(d);
            }
        }
        Ok(kept)
    }
}

/// The priors `[cx, cy, w, h]` (fractions of the input) of a `w`×`h` input, in the order of the
/// heads' outputs: stride by stride, row by row, cell by cell, size by size.
pub fn priors(w: usize, h: usize) -> Vec<[f32; 4]> {
    let mut out = Vec::new();
    for (stride, sizes) in PRIORS {
        let (fw, fh) = (w.div_ceil(stride), h.div_ceil(stride));
        for j in 0..fh {
            for i in 0..fw {
                for &s in sizes {
                    // Centres spread over the feature map (whose last cell may overhang).
                    let p = [
                        (i as f32 + 0.5) / fw as f32,
                        (j as f32 + 0.5) / fh as f32,
                        s / w as f32,
                        s / h as f32,
                    ];
                    out.push(p.map(|v| v.clamp(0.0, 1.0)));
                }
            }
        }
    }
    out
}

/// SSD box decoding: centre `prior + offset·0.1·size`, size `prior·exp(offset·0.2)`, to corners.
fn decode(offsets: &Tensor, priors: &Tensor) -> Result<Tensor> {
    let (p_c, p_s) = (priors.narrow(2, 0, 2)?, priors.narrow(2, 2, 2)?);
    let centre = (offsets.narrow(2, 0, 2)? * f64::from(VARIANCE[0]))?
        .broadcast_mul(&p_s)?
        .broadcast_add(&p_c)?;
    let size = (offsets.narrow(2, 2, 2)? * f64::from(VARIANCE[1]))?
        .exp()?
        .broadcast_mul(&p_s)?;
    let half = (size / 2.0)?;
    Tensor::cat(&[(&centre - &half)?, (&centre + &half)?], 2)
}

fn iou(a: &Detection, b: &Detection) -> f32 {
    let ix = (a.end[0].min(b.end[0]) - a.start[0].max(b.start[0])).max(0.0);
    let iy = (a.end[1].min(b.end[1]) - a.start[1].max(b.start[1])).max(0.0);
    let area = |d: &Detection| (d.end[0] - d.start[0]) * (d.end[1] - d.start[1]);
    let inter = ix * iy;
    inter / (area(a) + area(b) - inter).max(1e-6)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn priors_of_320_by_240_are_the_graphs() {
        let p = priors(320, 240);
        // 40·30·3 + 20·15·2 + 10·8·2 + 5·4·3, as the ONNX graph's constant.
        assert_eq!(p.len(), 4420);
        // Its first values: centre (0.5/40, 0.5/30), sizes 10/320 and 10/240.
        let close = |a: [f32; 4], b: [f32; 4]| a.iter().zip(&b).all(|(x, y)| (x - y).abs() < 1e-6);
        assert!(
            close(p[0], [0.0125, 0.016_666_668, 0.03125, 0.041_666_668]),
            "{:?}",
            p[0]
        );
        assert!(
            close(p[1], [0.0125, 0.016_666_668, 0.05, 0.066_666_67]),
            "{:?}",
            p[1]
        );
    }
}
