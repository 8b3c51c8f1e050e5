//! FaceMesh, MediaPipe's 468-point face landmark network, as shipped by `@vladmandic/human`
//! 3.3.6 (`models/facemesh.json`, float16 weights).
//!
//! - Input: `[1, 3, 192, 192]` RGB in `[0, 1]`: the face crop (TF.js: NHWC).
//! - Outputs (TF output node in brackets): mesh `[1, 1404]` = 468 × (x, y, z) in input pixels
//!   (`Identity_2`), face flag `[1, 1]` after a sigmoid (`Identity_1`), contours `[1, 266]`
//!   (`Identity`).
//!
//! Architecture (from the graph): 3×3/2 conv + PReLU, 14 residual blocks with PReLU down to
//! 6²×128, then three heads that each start with a strided block (→ 3²), project to 32 channels
//! and end in a 3×3/3 VALID convolution to one cell.

use candle_core::{Module, Result, Tensor};
use candle_nn::VarBuilder;

use crate::kernels::block::FusedBlock;
use crate::kernels::bridge::{run_blocks, run_stem, Nhwc};
use crate::kernels::stem::FusedStem;
use crate::kernels::Isa;
use crate::layers::{Act, BlazeBlock, BlockNames, Conv2d, Kernels, Padding};

/// Side of the square input.
pub const INPUT_SIZE: usize = 192;
/// Number of landmarks.
pub const NUM_LANDMARKS: usize = 468;

/// Raw network outputs.
#[derive(Debug, Clone)]
pub struct FaceMeshRaw {
    /// `[1, 1404]`: 468 × (x, y, z) in input pixels.
    pub mesh: Tensor,
    /// `[1, 1]`: probability that the crop holds a face.
    pub face_flag: Tensor,
    /// `[1, 266]`: lip/eye contour points (unused by iLive, kept for the reference check).
    pub contours: Tensor,
}

/// One step of a head.
#[derive(Debug, Clone)]
enum Step {
    Block(BlazeBlock),
    Conv(Conv2d),
}

impl Step {
    /// The step for the fused kernels (a head's final 3×3/3 convolution, on a 3×3 input, is
    /// one dot product per output).
    fn to_fused(&self) -> Result<FusedBlock> {
        match self {
            Step::Block(b) => b.to_fused(),
            Step::Conv(c) if c.weight.dim(3)? == 1 => c.to_fused(),
            Step::Conv(c) => c.to_dense(),
        }
    }
}

impl Module for Step {
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        match self {
            Step::Block(b) => b.forward(x),
            Step::Conv(c) => c.forward(x),
        }
    }
}

/// The FaceMesh landmark network.
#[derive(Debug, Clone)]
pub struct FaceMesh {
    stem: Conv2d,
    backbone: Vec<BlazeBlock>,
    mesh: Vec<Step>,
    contours: Vec<Step>,
    face_flag: Vec<Step>,
    fused: Option<Fused>,
}

/// The whole network in the fused kernels' layout.
#[derive(Debug, Clone)]
struct Fused {
    isa: Isa,
    stem: FusedStem,
    backbone: Vec<FusedBlock>,
    mesh: Vec<FusedBlock>,
    contours: Vec<FusedBlock>,
    face_flag: Vec<FusedBlock>,
}

/// A head's steps in the fused form.
fn fuse(steps: &[Step]) -> Result<Vec<FusedBlock>> {
    steps.iter().map(Step::to_fused).collect()
}

/// A residual block: (depthwise index, pointwise conv index, PReLU index, c_in, c_out, stride).
type BlockSpec = (usize, usize, usize, usize, usize, usize);

fn block(
    vb: &VarBuilder,
    (dw, pw, act, c_in, c_out, stride): BlockSpec,
    imp: Kernels,
) -> Result<BlazeBlock> {
    let dw = format!("depthwise_conv2d_{dw}");
    let pw = format!("conv2d_{pw}");
    let act = format!("p_re_lu_{act}");
    BlazeBlock::load(
        vb,
        BlockNames {
            depthwise: &dw,
            pointwise: &pw,
            prelu: Some(&act),
        },
        (c_in, c_out),
        stride,
        imp,
    )
}

/// A 1×1 projection with PReLU: (conv index, PReLU index, c_in, c_out).
fn project(vb: &VarBuilder, conv: usize, act: usize, c_in: usize, c_out: usize) -> Result<Step> {
    let prelu = Act::prelu(vb, &format!("p_re_lu_{act}"), c_out)?;
    Ok(Step::Conv(Conv2d::load(
        vb,
        &format!("conv2d_{conv}"),
        (c_in, c_out, 1),
        1,
        Padding::Valid,
        prelu,
    )?))
}

/// The final 3×3 stride-3 VALID convolution of a head.
fn output(vb: &VarBuilder, conv: usize, c_out: usize) -> Result<Step> {
    Ok(Step::Conv(Conv2d::load(
        vb,
        &format!("conv2d_{conv}"),
        (32, c_out, 3),
        3,
        Padding::Valid,
        Act::None,
    )?))
}

impl FaceMesh {
    /// The same network with its backbone's products (the stem and every block's pointwise
    /// layer; the heads stay in `f32`) in `bfloat16`, where it runs the fused kernels with
    /// AVX-512 on a CPU with AVX-512 BF16; elsewhere unchanged. [`Self::is_bf16`] says which.
    pub fn in_bf16(mut self) -> Self {
        if let Some(f) = self.fused.as_mut().filter(|f| f.isa == Isa::Avx512) {
            if f.stem.in_bf16() {
                f.backbone.iter_mut().for_each(|b| {
                    b.in_bf16();
                });
            }
        }
        self
    }

    /// Whether the backbone runs in `bfloat16` ([`Self::in_bf16`]).
    pub fn is_bf16(&self) -> bool {
        self.fused.as_ref().is_some_and(|f| f.stem.bf16.is_some())
    }

    /// The same network with its products back in `f32` (for comparisons).
    pub fn in_f32(mut self) -> Self {
        if let Some(f) = self.fused.as_mut() {
            f.stem.bf16 = None;
            f.backbone.iter_mut().for_each(|b| b.pw_bf16 = None);
        }
        self
    }

    /// Loads the weights; `dw` chooses the kernels.
    pub fn load(vb: VarBuilder, dw: Kernels) -> Result<Self> {
        let block = |spec: BlockSpec| block(&vb, spec, dw);
        let stem = Conv2d::load(
            &vb,
            "conv2d_1",
            (3, 16, 3),
            2,
            Padding::Same,
            Act::prelu(&vb, "p_re_lu_1", 16)?,
        )?;
        let specs: [BlockSpec; 14] = [
            (1, 2, 2, 16, 16, 1),
            (2, 3, 3, 16, 16, 1),
            (3, 4, 4, 16, 32, 2),
            (4, 5, 5, 32, 32, 1),
            (5, 6, 6, 32, 32, 1),
            (6, 7, 7, 32, 64, 2),
            (7, 8, 8, 64, 64, 1),
            (8, 9, 9, 64, 64, 1),
            (9, 10, 10, 64, 128, 2),
            (10, 11, 11, 128, 128, 1),
            (11, 12, 12, 128, 128, 1),
            (12, 13, 13, 128, 128, 2),
            (13, 14, 14, 128, 128, 1),
            (14, 15, 15, 128, 128, 1),
        ];
        let backbone = specs
            .iter()
            .map(|&s| block(s))
            .collect::<Result<Vec<_>>>()?;
        let mesh = vec![
            Step::Block(block((15, 16, 16, 128, 128, 2))?),
            Step::Block(block((16, 17, 17, 128, 128, 1))?),
            Step::Block(block((17, 18, 18, 128, 128, 1))?),
            project(&vb, 19, 19, 128, 32)?,
            Step::Block(block((18, 20, 20, 32, 32, 1))?),
            output(&vb, 21, 1404)?,
        ];
        let contours = vec![
            Step::Block(block((19, 22, 21, 128, 128, 2))?),
            Step::Block(block((20, 23, 22, 128, 128, 1))?),
            Step::Block(block((21, 24, 23, 128, 128, 1))?),
            project(&vb, 25, 24, 128, 32)?,
            Step::Block(block((22, 26, 25, 32, 32, 1))?),
            output(&vb, 27, 266)?,
        ];
        let face_flag = vec![
            Step::Block(block((23, 28, 26, 128, 128, 2))?),
            project(&vb, 29, 27, 128, 32)?,
            Step::Block(block((24, 30, 28, 32, 32, 1))?),
            output(&vb, 31, 1)?,
        ];
        let fused = match dw.fused() {
            Some(isa) => Some(Fused {
                isa,
                stem: stem.to_stem()?,
                backbone: backbone
                    .iter()
                    .map(BlazeBlock::to_fused)
                    .collect::<Result<_>>()?,
                mesh: fuse(&mesh)?,
                contours: fuse(&contours)?,
                face_flag: fuse(&face_flag)?,
            }),
            None => None,
        };
        Ok(Self {
            stem,
            backbone,
            mesh,
            contours,
            face_flag,
            fused,
        })
    }

    fn run(steps: &[Step], x: &Tensor) -> Result<Tensor> {
        let mut h = x.clone();
        for s in steps {
            h = s.forward(&h)?;
        }
        let n = h.dim(0)?;
        h.reshape((n, ()))
    }

    fn backbone(&self, x: &Tensor) -> Result<Tensor> {
        let mut h = self.stem.forward(x)?;
        for b in &self.backbone {
            h = b.forward(&h)?;
        }
        Ok(h)
    }

    /// The fused kernels, when chosen and the batch is one image.
    fn fused_for(&self, x: &Tensor) -> Option<&Fused> {
        self.fused.as_ref().filter(|_| x.dims().first() == Some(&1))
    }

    /// A head's outputs with the fused kernels.
    fn head(f: &Fused, blocks: &[FusedBlock], h: &Nhwc) -> Result<Vec<f32>> {
        Ok(run_blocks(f.isa, blocks, h)?.data)
    }

    /// Runs all three heads on `[1, 3, 192, 192]` input in `[0, 1]`.
    pub fn forward_raw(&self, x: &Tensor) -> Result<FaceMeshRaw> {
        if let Some(f) = self.fused_for(x) {
            let h = run_stem(f.isa, &f.stem, &f.backbone, x)?;
            let out = |blocks: &[FusedBlock]| -> Result<Tensor> {
                let v = Self::head(f, blocks, &h)?;
                let n = v.len();
                Tensor::from_vec(v, (1, n), x.device())
            };
            return Ok(FaceMeshRaw {
                mesh: out(&f.mesh)?,
                face_flag: candle_nn::ops::sigmoid(&out(&f.face_flag)?)?,
                contours: out(&f.contours)?,
            });
        }
        let h = self.backbone(x)?;
        Ok(FaceMeshRaw {
            mesh: Self::run(&self.mesh, &h)?,
            face_flag: candle_nn::ops::sigmoid(&Self::run(&self.face_flag, &h)?)?,
            contours: Self::run(&self.contours, &h)?,
        })
    }

    /// Landmarks (input pixels, z in the same scale) and the face-flag probability; skips the
    /// contour head that iLive does not use.
    pub fn landmarks(&self, x: &Tensor) -> Result<(Vec<[f32; 3]>, f32)> {
        let (mesh, flag) = match self.fused_for(x) {
            Some(f) => {
                let h = run_stem(f.isa, &f.stem, &f.backbone, x)?;
                let logit = Self::head(f, &f.face_flag, &h)?;
                let flag = logit.first().map_or(0.0, |l| 1.0 / (1.0 + (-l).exp()));
                (Self::head(f, &f.mesh, &h)?, flag)
            }
            None => {
                let h = self.backbone(x)?;
                let mesh: Vec<f32> = Self::run(&self.mesh, &h)?.flatten_all()?.to_vec1()?;
                let flag = candle_nn::ops::sigmoid(&Self::run(&self.face_flag, &h)?)?
                    .flatten_all()?
                    .to_vec1::<f32>()?;
                (mesh, flag.first().copied().unwrap_or(0.0))
            }
        };
        let points = mesh.chunks_exact(3).map(|p| [p[0], p[1], p[2]]).collect();
        Ok((points, flag))
    }
}
