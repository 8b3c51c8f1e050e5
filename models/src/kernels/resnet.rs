//! The face descriptor's residual network ([`crate::nets::face_recognition`]) on NHWC data with
//! the fused kernels: every dense convolution one [`FusedStem`] (patches, then GEMMs) with
//! the layer's per-channel scale folded into its weights and bias, the block's second layer
//! adding the skip and applying the ReLU as its output is written. A strided block's skip (a
//! 2×2 average pool, zero channels appended) and the zero row or column its main path may lack
//! are one pass over the output. Buffers come from the thread's [`Workspace`].

use candle_core::{Result, Tensor};

use super::gemm::Init;
use super::stem::FusedStem;
use super::{ensure_len, Buffer, Isa, Workspace};

/// Two 3×3 layers and a skip; `down` blocks halve the size (see the network's docs).
#[derive(Debug, Clone)]
pub struct Residual {
    /// ReLU.
    pub conv1: FusedStem,
    /// ReLU after the skip for a plain block; no activation for a `down` block (its ReLU comes
    /// after the pooled skip is added).
    pub conv2: FusedStem,
    pub down: bool,
}

/// The whole network: the 7×7/2 stem (ReLU) and a 3×3/2 max pool, the blocks, the mean over
/// the last map and the final linear layer.
#[derive(Debug, Clone)]
pub struct ResNet {
    pub stem: FusedStem,
    pub blocks: Vec<Residual>,
    /// `[C, dim]`: the linear layer, transposed.
    pub fc: Vec<f32>,
    pub dim: usize,
}

impl ResNet {
    /// Runs every layer's products in `bfloat16` ([`FusedStem::in_bf16`]) where the CPU can;
    /// false (and nothing changes) where it cannot.
    pub fn in_bf16(&mut self) -> bool {
        let mut layers = std::iter::once(&mut self.stem).chain(
            self.blocks
                .iter_mut()
                .flat_map(|b| [&mut b.conv1, &mut b.conv2]),
        );
        // Every layer or none: `FusedStem::in_bf16` fails only on a CPU without it, and then
        // on the first layer already.
        layers.all(|l| l.in_bf16())
    }

    /// Back to `f32` products.
    pub fn in_f32(&mut self) {
        std::iter::once(&mut self.stem)
            .chain(
                self.blocks
                    .iter_mut()
                    .flat_map(|b| [&mut b.conv1, &mut b.conv2]),
            )
            .for_each(|l| l.bf16 = None);
    }

    /// Whether the layers run in `bfloat16`.
    pub fn is_bf16(&self) -> bool {
        self.stem.bf16.is_some()
    }

    /// The descriptor of one normalised image `x` (`[1, 3, h, w]`, NCHW).
    pub fn run(&self, isa: Isa, x: &Tensor) -> Result<Vec<f32>> {
        let (n, c, h, w) = x.dims4()?;
        if n != 1 || c != self.stem.c_in {
            candle_core::bail!("fused: one {}-channel image at a time", self.stem.c_in);
        }
        if h < self.stem.k + 2 || w < self.stem.k + 2 {
            candle_core::bail!("fused: a {h}×{w} input is too small for the descriptor");
        }
        let input = x.flatten_all()?.to_vec1::<f32>()?;
        super::with_workspace(|ws| {
            let Workspace {
                a,
                b,
                dw,
                cols,
                third,
            } = ws;
            let size = self.stem.forward(isa, &input, (h, w), b, (dw, cols));
            let (mut c, mut size) = (self.stem.c_out, max_pool3s2(b, size, self.stem.c_out, a));
            for blk in &self.blocks {
                if blk.conv1.c_in != c {
                    candle_core::bail!("fused: a block takes {} channels, got {c}", blk.conv1.c_in);
                }
                if size.0 < 3 || size.1 < 3 {
                    candle_core::bail!(
                        "fused: a {}×{} map is too small for a block",
                        size.0,
                        size.1
                    );
                }
                let co = blk.conv2.c_out;
                let inner = blk.conv1.forward(isa, a, size, b, (dw, cols));
                if blk.down {
                    let inner = blk.conv2.forward(isa, b, inner, third, (dw, cols));
                    size = merge_down(a, size, c, third, inner, co, b)?;
                    std::mem::swap(a, b);
                } else {
                    blk.conv2
                        .forward_onto(isa, b, inner, third, (dw, cols), Init::From(a));
                    std::mem::swap(a, third);
                }
                c = co;
            }
            // The mean over the last map, then the linear layer.
            let pixels = (size.0 * size.1) as f32;
            let mut mean = vec![0f32; c];
            for px in a.chunks_exact(c) {
                mean.iter_mut().zip(px).for_each(|(m, v)| *m += v / pixels);
            }
            if self.fc.len() != c * self.dim {
                candle_core::bail!(
                    "fused: the linear layer takes {} values, got {c}",
                    self.fc.len() / self.dim
                );
            }
            let mut out = vec![0f32; self.dim];
            for (m, row) in mean.iter().zip(self.fc.chunks_exact(self.dim)) {
                out.iter_mut().zip(row).for_each(|(o, r)| *o += m * r);
            }
            Ok(out)
        })
    }
}

/// `dst = maxpool3×3/2(src)` on NHWC `[h, w, c]`, VALID; returns the output's `(h, w)`.
fn max_pool3s2(src: &[f32], (h, w): (usize, usize), c: usize, dst: &mut Buffer) -> (usize, usize) {
    let (oh, ow) = ((h - 3) / 2 + 1, (w - 3) / 2 + 1);
    ensure_len(dst, oh * ow * c);
    for (p, out) in dst.chunks_exact_mut(c).enumerate() {
        let (y, x) = (2 * (p / ow), 2 * (p % ow));
        out.fill(f32::NEG_INFINITY);
        for yy in y..y + 3 {
            for xx in x..x + 3 {
                let at = (yy * w + xx) * c;
                out.iter_mut()
                    .zip(&src[at..at + c])
                    .for_each(|(o, v)| *o = o.max(*v));
            }
        }
    }
    (oh, ow)
}

/// A strided block's output: `relu(skip + main)`, the skip the 2×2 average pool of the block's
/// input `x` (`c` channels of `(h, w)`, VALID) with zero channels up to `co`, the main path
/// `[mh, mw, co]` with zeros where it is smaller than the skip. Returns the output's `(h, w)`.
fn merge_down(
    x: &[f32],
    (h, w): (usize, usize),
    c: usize,
    main: &[f32],
    (mh, mw): (usize, usize),
    co: usize,
    out: &mut Buffer,
) -> Result<(usize, usize)> {
    let (oh, ow) = (h / 2, w / 2);
    if mh > oh || mw > ow || c > co {
        candle_core::bail!("fused: a strided block's main path is larger than its skip");
    }
    ensure_len(out, oh * ow * co);
    for (p, o) in out.chunks_exact_mut(co).enumerate() {
        let (y, xx) = (p / ow, p % ow);
        if y < mh && xx < mw {
            o.copy_from_slice(&main[(y * mw + xx) * co..(y * mw + xx + 1) * co]);
        } else {
            o.fill(0.0);
        }
        let at = |yy: usize, xc: usize| &x[(yy * w + xc) * c..(yy * w + xc + 1) * c];
        let (s0, s1) = (at(2 * y, 2 * xx), at(2 * y, 2 * xx + 1));
        let (s2, s3) = (at(2 * y + 1, 2 * xx), at(2 * y + 1, 2 * xx + 1));
        for (l, v) in o[..c].iter_mut().enumerate() {
            *v += 0.25 * (s0[l] + s1[l] + s2[l] + s3[l]);
        }
        o.iter_mut().for_each(|v| *v = v.max(0.0));
    }
    Ok((oh, ow))
}
