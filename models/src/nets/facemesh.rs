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
use crate::kernels::bridge::run_fused;
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
    /// The step for the fused kernels; `None` for the heads' final 3×3/3 convolution, which
    /// stays a candle op (one output cell).
    fn to_fused(&self) -> Result<Option<FusedBlock>> {
        match self {
            Step::Block(b) => b.to_fused().map(Some),
            Step::Conv(c) if c.weight.dim(3)? == 1 => c.to_fused().map(Some),
            Step::Conv(_) => Ok(None),
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

/// The backbone and the heads (but their last convolution) in the fused kernels' layout.
#[derive(Debug, Clone)]
struct Fused {
    isa: Isa,
    stem: FusedStem,
    backbone: Vec<FusedBlock>,
    mesh: Vec<FusedBlock>,
    contours: Vec<FusedBlock>,
    face_flag: Vec<FusedBlock>,
}

/// The fused form of every step that has one (all but a head's last).
fn fuse(steps: &[Step]) -> Result<Vec<FusedBlock>> {
    Ok(steps
        .iter()
        .map(Step::to_fused)
        .collect::<Result<Vec<_>>>()?
        .into_iter()
        .flatten()
        .collect())
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

    /// A head: its steps, the fused ones (`fused`, all but the last step) when chosen.
    fn run(
        &self,
        steps: &[Step],
        fused: impl Fn(&Fused) -> &[FusedBlock],
        x: &Tensor,
    ) -> Result<Tensor> {
        let mut h = x.clone();
        match &self.fused {
            Some(f) if x.dim(0)? == 1 => {
                let blocks = fused(f);
                h = run_fused(f.isa, None, blocks, &h)?;
                for s in &steps[blocks.len()..] {
                    h = s.forward(&h)?;
                }
            }
            _ => {
                for s in steps {
                    h = s.forward(&h)?;
                }
            }
        }
        let n = h.dim(0)?;
        h.reshape((n, ()))
    }

    fn backbone(&self, x: &Tensor) -> Result<Tensor> {
        if let Some(f) = self.fused.as_ref().filter(|_| x.dims()[0] == 1) {
            return run_fused(f.isa, Some(&f.stem), &f.backbone, x);
        }
        let mut h = self.stem.forward(x)?;
        for b in &self.backbone {
            h = b.forward(&h)?;
        }
        Ok(h)
    }

    /// Runs all three heads on `[1, 3, 192, 192]` input in `[0, 1]`.
    pub fn forward_raw(&self, x: &Tensor) -> Result<FaceMeshRaw> {
        let h = self.backbone(x)?;
        Ok(FaceMeshRaw {
            mesh: self.run(&self.mesh, |f| &f.mesh, &h)?,
            face_flag: candle_nn::ops::sigmoid(&self.run(
                &self.face_flag,
                |f| &f.face_flag,
                &h,
            )?)?,
            contours: self.run(&self.contours, |f| &f.contours, &h)?,
        })
    }

    /// Landmarks (input pixels, z in the same scale) and the face-flag probability; skips the
    /// contour head that iLive does not use.
    pub fn landmarks(&self, x: &Tensor) -> Result<(Vec<[f32; 3]>, f32)> {
        let h = self.backbone(x)?;
        let mesh: Vec<f32> = self
            .run(&self.mesh, |f| &f.mesh, &h)?
            .flatten_all()?
            .to_vec1()?;
        let flag = candle_nn::ops::sigmoid(&self.run(&self.face_flag, |f| &f.face_flag, &h)?)?
            .flatten_all()?
            .to_vec1::<f32>()?;
        let points = mesh.chunks_exact(3).map(|p| [p[0], p[1], p[2]]).collect();
        Ok((points, flag.first().copied().unwrap_or(0.0)))
    }
}
