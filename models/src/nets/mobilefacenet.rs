//! MobileFaceNet, a face descriptor network: `model/fr_feature.onnx` of the npm package
//! `faceplugin-face-recognition-js` 0.0.1 (MIT as the package declares; its training data is not
//! published). The layout is MobileFaceNet's (Chen et al. 2018, "MobileFaceNets"): a 3×3/2 stem
//! and a depthwise 3×3, three stages of inverted-residual blocks (1 + 4, 1 + 6, 1 + 2), a 1×1
//! to 512 channels, a 7×7 global depthwise convolution, and a 1×1 linear layer to the
//! descriptor. Its batch norms are folded by the converter.
//!
//! - Input of [`MobileFaceNet::forward`]: `[N, 3, 112, 112]` RGB as `(v − 127) / 128`, the face
//!   aligned to ArcFace's five-point template ([`TEMPLATE`]), as the package's own code feeds it.
//! - Output: `[N, 512]`, not normalised. [`MobileFaceNet::describe`] aligns a face and returns
//!   the unit-length descriptor; faces are compared by cosine similarity ([`cosine`]).
//!
//! Weights: `mobilefacenet.safetensors`, written by `ilive-models convert` (`conv{k}` in graph
//! order, see [`crate::convert::onnx`]). Measured verification rates: `ilive faces-eval
//! --descriptor mobile-face-net` and docs/api.md ("Operating points").

use candle_core::{Module, Result, Tensor};
use candle_nn::VarBuilder;

use super::mobile_blocks::{fused_layers, Block, Convs, Unit};
use crate::imageops::{sample, to_tensor, Affine};
use crate::kernels::{self, mobile::Layer, Isa};
use crate::layers::Kernels;

/// Side of the square input.
pub const INPUT_SIZE: usize = 112;
/// Descriptor length.
pub const DIM: usize = 512;
/// Where the five points fall in the 112² input, in pixel-index coordinates (centre of the
/// top-left pixel at 0, 0): the image-left eye, the image-right eye, the nose tip, the image-left
/// and image-right mouth corners. ArcFace's template, which the package aligns to.
pub const TEMPLATE: [[f32; 2]; 5] = [
    [38.2946, 51.6963],
    [73.5318, 51.5014],
    [56.0252, 71.7366],
    [41.5493, 92.3655],
    [70.7299, 92.2041],
];
/// Subtracted from every 0–255 channel value (then divided by [`STD`]).
pub const MEAN: f32 = 127.0;
/// Divides every channel value once [`MEAN`] is subtracted.
pub const STD: f32 = 128.0;

/// Residual blocks of each stage, after its size-halving block.
const STAGES: [usize; 3] = [4, 6, 2];

/// The network; see the module docs.
#[derive(Debug, Clone)]
pub struct MobileFaceNet {
    stem: [Unit; 2],
    blocks: Vec<Block>,
    /// 1×1 to 512 (PReLU), 7×7 global depthwise (linear), 1×1 linear embedding.
    head: [Unit; 3],
    /// The same layers for the fused kernels, with [`Kernels::Fused`].
    fused: Option<(Isa, Vec<Layer>)>,
}

impl MobileFaceNet {
    /// Loads `mobilefacenet.safetensors`' tensors; `kernels` chooses how the layers run.
    pub fn load(vb: VarBuilder, kernels: Kernels) -> Result<Self> {
        let mut convs = Convs::new(&vb);
        let stem = [convs.next(2, 1, true)?, convs.next(1, 1, true)?];
        let mut blocks = Vec::new();
        for n in STAGES {
            blocks.extend(Block::stage(&mut convs, n, false)?);
        }
        let head = [
            convs.next(1, 0, true)?,
            convs.next(1, 0, false)?,
            convs.next(1, 0, false)?,
        ];
        if vb.contains_tensor(&format!("conv{}.weight", convs.used())) {
            candle_core::bail!("mobilefacenet: the weights hold more layers than the network");
        }
        let fused = match kernels.fused() {
            Some(isa) => Some((isa, fused_layers(&stem, &blocks, &head)?)),
            None => None,
        };
        Ok(Self {
            stem,
            blocks,
            head,
            fused,
        })
    }

    /// `[N, 512]` descriptors (not normalised) for normalised `[N, 3, 112, 112]` input.
    pub fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let (_, c, h, w) = x.dims4()?;
        if (c, h, w) != (3, INPUT_SIZE, INPUT_SIZE) {
            candle_core::bail!(
                "mobilefacenet: input must be [N, 3, 112, 112], got {:?}",
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
        y.flatten_from(1)
    }

    /// The unit-length descriptor of the face whose five points (in image pixels, the order of
    /// [`TEMPLATE`]) are given.
    pub fn describe(&self, img: &image::RgbImage, points: &[[f32; 2]; 5]) -> Result<Vec<f32>> {
        let n = INPUT_SIZE;
        let crop = sample(img, &align(points), n, n);
        let x = to_tensor(crop, n, n, 1.0 / STD, -MEAN / STD)?;
        let v: Vec<f32> = self.forward(&x)?.flatten_all()?.to_vec1()?;
        let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt().max(1e-12);
        Ok(v.into_iter().map(|x| x / norm).collect())
    }
}

/// The map from the 112² input to the image that best lays [`TEMPLATE`] onto `points` (image
/// pixels): the least-squares similarity (rotation, uniform scale, shift), which keeps the
/// face's proportions where a three-point affine would shear it to fit a turned head.
pub fn align(points: &[[f32; 2]; 5]) -> Affine {
    // Template points in the input's continuous coordinates (pixel centres at i + 0.5).
    let src = TEMPLATE.map(|[x, y]| [f64::from(x) + 0.5, f64::from(y) + 0.5]);
    let dst = points.map(|[x, y]| [f64::from(x), f64::from(y)]);
    let mean = |p: &[[f64; 2]; 5]| {
        let (sx, sy) = p.iter().fold((0.0, 0.0), |(a, b), q| (a + q[0], b + q[1]));
        [sx / 5.0, sy / 5.0]
    };
    let (ms, md) = (mean(&src), mean(&dst));
    // dst − md = [a −b; b a]·(src − ms): the normal equations of a and b.
    let (mut num_a, mut num_b, mut den) = (0.0, 0.0, 0.0);
    for (s, d) in src.iter().zip(&dst) {
        let (px, py) = (s[0] - ms[0], s[1] - ms[1]);
        let (qx, qy) = (d[0] - md[0], d[1] - md[1]);
        num_a += px * qx + py * qy;
        num_b += px * qy - py * qx;
        den += px * px + py * py;
    }
    let (a, b) = (num_a / den, num_b / den);
    let tx = md[0] - (a * ms[0] - b * ms[1]);
    let ty = md[1] - (b * ms[0] + a * ms[1]);
    Affine {
        m: [a, -b, tx, b, a, ty].map(|v| v as f32),
    }
}

/// Cosine similarity of two descriptors, in [−1, 1] (the dot product of unit vectors).
pub fn cosine(a: &[f32], b: &[f32]) -> f32 {
    let dot: f32 = a.iter().zip(b).map(|(x, y)| x * y).sum();
    let na: f32 = a.iter().map(|x| x * x).sum::<f32>().sqrt();
    let nb: f32 = b.iter().map(|x| x * x).sum::<f32>().sqrt();
    dot / (na * nb).max(1e-12)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn alignment_lays_the_template_onto_the_points() {
        // The template turned by 30°, scaled ×2 and shifted: recovered exactly.
        let (sin, cos) = 30f32.to_radians().sin_cos();
        let points = TEMPLATE.map(|[x, y]| {
            let (x, y) = (x + 0.5, y + 0.5);
            [
                2.0 * (cos * x - sin * y) + 40.0,
                2.0 * (sin * x + cos * y) - 7.0,
            ]
        });
        let map = align(&points);
        for (t, p) in TEMPLATE.iter().zip(&points) {
            let q = map.apply([t[0] + 0.5, t[1] + 0.5]);
            assert!(
                (q[0] - p[0]).abs() < 1e-3 && (q[1] - p[1]).abs() < 1e-3,
                "{q:?} {p:?}"
            );
        }
        assert!((map.scale() - 2.0).abs() < 1e-4);
    }

    #[test]
    fn cosine_of_parallel_and_opposite_vectors() {
        assert!((cosine(&[1.0, 2.0], &[2.0, 4.0]) - 1.0).abs() < 1e-6);
        assert!((cosine(&[1.0, 0.0], &[-3.0, 0.0]) + 1.0).abs() < 1e-6);
        assert_eq!(cosine(&[1.0, 0.0], &[0.0, 1.0]), 0.0);
    }
}
