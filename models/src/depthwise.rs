//! A direct depthwise 2-D convolution for NCHW f32 tensors on the CPU.
//!
//! candle 0.11 runs `conv2d` with `groups = C` as C separate small convolutions, which measured
//! ~0.5 GFLOP/s here; BlazeFace and FaceMesh are mostly depthwise 3×3 layers, so this
//! kernel computes them directly: for every channel and output row it accumulates `kh·kw`
//! shifted, scaled input rows into the output row (contiguous slices at stride 1, which the
//! compiler vectorises). Channels run in parallel on rayon's pool (`RAYON_NUM_THREADS`).
//!
//! Semantics equal `x.pad(top, bottom, left, right).conv2d(w, 0, stride, 1, groups = C) + bias`
//! with zero padding; the tests check exactly that against candle.

use candle_core::{CpuStorage, CustomOp1, Layout, Result, Shape, Tensor};
use rayon::prelude::*;

/// Explicit zero padding of a 2-D convolution, in pixels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Pad2d {
    pub top: usize,
    pub bottom: usize,
    pub left: usize,
    pub right: usize,
}

/// Depthwise convolution weights: one `kh×kw` filter per channel, plus an optional bias.
#[derive(Debug, Clone)]
pub struct DepthwiseKernel {
    /// `[C, kh, kw]`, row-major.
    pub(crate) weights: Vec<f32>,
    pub(crate) bias: Option<Vec<f32>>,
    pub(crate) channels: usize,
    pub(crate) kh: usize,
    pub(crate) kw: usize,
    pub(crate) stride: usize,
    pub(crate) pad: Pad2d,
}

impl DepthwiseKernel {
    /// `weight` has candle's depthwise layout `[C, 1, kh, kw]`; `bias` is `[C]`.
    pub fn new(weight: &Tensor, bias: Option<&Tensor>, stride: usize, pad: Pad2d) -> Result<Self> {
        let (c, one, kh, kw) = weight.dims4()?;
        if one != 1 {
            candle_core::bail!(
                "depthwise weight must be [C, 1, kh, kw], got {:?}",
                weight.shape()
            );
        }
        if stride == 0 {
            candle_core::bail!("depthwise stride must be positive");
        }
        let weights = weight.flatten_all()?.to_vec1::<f32>()?;
        let bias = match bias {
            Some(b) => {
                let b = b.flatten_all()?.to_vec1::<f32>()?;
                if b.len() != c {
                    candle_core::bail!("depthwise bias has {} values for {c} channels", b.len());
                }
                Some(b)
            }
            None => None,
        };
        Ok(Self {
            weights,
            bias,
            channels: c,
            kh,
            kw,
            stride,
            pad,
        })
    }

    /// Output height and width for an input of `h×w`.
    pub fn out_size(&self, h: usize, w: usize) -> Result<(usize, usize)> {
        let ph = h + self.pad.top + self.pad.bottom;
        let pw = w + self.pad.left + self.pad.right;
        if ph < self.kh || pw < self.kw {
            candle_core::bail!(
                "depthwise input {h}×{w} is smaller than the {}×{} kernel",
                self.kh,
                self.kw
            );
        }
        Ok((
            (ph - self.kh) / self.stride + 1,
            (pw - self.kw) / self.stride + 1,
        ))
    }

    /// Applies the convolution to an NCHW f32 tensor.
    pub fn forward(&self, x: &Tensor) -> Result<Tensor> {
        x.apply_op1_no_bwd(self)
    }

    /// One channel: `input` is `h×w`, `out` is `oh×ow`. The portable build of the crate only
    /// assumes SSE2; on CPUs with AVX2 + FMA the same loops are compiled for 8-wide vectors.
    fn channel(&self, c: usize, input: &[f32], h: usize, w: usize, out: &mut [f32], ow: usize) {
        #[cfg(target_arch = "x86_64")]
        if std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma")
        {
            // SAFETY: `channel_avx2` only requires the AVX2 and FMA instruction sets, which the
            // running CPU was just checked to support; it has no other preconditions.
            unsafe { self.channel_avx2(c, input, h, w, out, ow) };
            return;
        }
        self.channel_portable(c, input, h, w, out, ow);
    }

    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2,fma")]
    fn channel_avx2(
        &self,
        c: usize,
        input: &[f32],
        h: usize,
        w: usize,
        out: &mut [f32],
        ow: usize,
    ) {
        self.channel_portable(c, input, h, w, out, ow);
    }

    #[inline(always)]
    fn channel_portable(
        &self,
        c: usize,
        input: &[f32],
        h: usize,
        w: usize,
        out: &mut [f32],
        ow: usize,
    ) {
        let b = self.bias.as_ref().map_or(0.0, |b| b[c]);
        out.fill(b);
        let filt = &self.weights[c * self.kh * self.kw..(c + 1) * self.kh * self.kw];
        let s = self.stride;
        for (oy, orow) in out.chunks_exact_mut(ow).enumerate() {
            for ky in 0..self.kh {
                // Input row for this tap; rows in the padding contribute zeros.
                let iy = (oy * s + ky) as isize - self.pad.top as isize;
                if iy < 0 || iy >= h as isize {
                    continue;
                }
                let irow = &input[iy as usize * w..(iy as usize + 1) * w];
                for kx in 0..self.kw {
                    let wgt = filt[ky * self.kw + kx];
                    // Output columns whose input column ox·s + kx − left lies inside the row.
                    let shift = kx as isize - self.pad.left as isize;
                    let lo = if shift >= 0 {
                        0
                    } else {
                        ((-shift) as usize).div_ceil(s)
                    };
                    let hi_excl = {
                        // largest ox with ox·s + shift ≤ w − 1
                        let lim = w as isize - 1 - shift;
                        if lim < 0 {
                            0
                        } else {
                            ((lim as usize) / s + 1).min(ow)
                        }
                    };
                    if lo >= hi_excl {
                        continue;
                    }
                    let start = (lo * s) as isize + shift;
                    let start = start as usize;
                    if s == 1 {
                        let n = hi_excl - lo;
                        let src = &irow[start..start + n];
                        for (o, i) in orow[lo..hi_excl].iter_mut().zip(src) {
                            *o += wgt * *i;
                        }
                    } else {
                        for (o, i) in orow[lo..hi_excl]
                            .iter_mut()
                            .zip(irow[start..].iter().step_by(s))
                        {
                            *o += wgt * *i;
                        }
                    }
                }
            }
        }
    }
}

impl CustomOp1 for DepthwiseKernel {
    fn name(&self) -> &'static str {
        "ilive-depthwise-conv2d"
    }

    fn cpu_fwd(&self, storage: &CpuStorage, layout: &Layout) -> Result<(CpuStorage, Shape)> {
        let (n, c, h, w) = layout.shape().dims4()?;
        if c != self.channels {
            candle_core::bail!(
                "depthwise: input has {c} channels, kernel has {}",
                self.channels
            );
        }
        let CpuStorage::F32(data) = storage else {
            candle_core::bail!("depthwise: only f32 tensors are supported");
        };
        let Some((start, end)) = layout.contiguous_offsets() else {
            candle_core::bail!("depthwise: input must be contiguous");
        };
        let data = &data[start..end];
        let (oh, ow) = self.out_size(h, w)?;
        let mut out = vec![0f32; n * c * oh * ow];
        out.par_chunks_mut(oh * ow)
            .zip(data.par_chunks(h * w))
            .enumerate()
            .for_each(|(i, (o, x))| self.channel(i % c, x, h, w, o, ow));
        Ok((CpuStorage::F32(out), Shape::from((n, c, oh, ow))))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::{Device, Tensor};

    fn reference(x: &Tensor, w: &Tensor, b: &Tensor, s: usize, p: Pad2d) -> Result<Tensor> {
        let c = x.dim(1)?;
        let xp = x
            .pad_with_zeros(2, p.top, p.bottom)?
            .pad_with_zeros(3, p.left, p.right)?;
        xp.conv2d(w, 0, s, 1, c)?
            .broadcast_add(&b.reshape((1, c, 1, 1))?)
    }

    fn max_abs_diff(a: &Tensor, b: &Tensor) -> Result<f32> {
        (a - b)?.abs()?.flatten_all()?.max(0)?.to_scalar::<f32>()
    }

    #[test]
    fn matches_candle_grouped_conv() -> Result<()> {
        let dev = Device::Cpu;
        let cases = [
            // (n, c, h, w, k, stride, pad)
            (
                1,
                24,
                16,
                16,
                3,
                1,
                Pad2d {
                    top: 1,
                    bottom: 1,
                    left: 1,
                    right: 1,
                },
            ),
            (
                1,
                24,
                16,
                16,
                3,
                2,
                Pad2d {
                    top: 0,
                    bottom: 1,
                    left: 0,
                    right: 1,
                },
            ),
            (
                2,
                5,
                9,
                7,
                3,
                2,
                Pad2d {
                    top: 1,
                    bottom: 1,
                    left: 1,
                    right: 1,
                },
            ),
            (
                1,
                3,
                10,
                12,
                5,
                1,
                Pad2d {
                    top: 2,
                    bottom: 2,
                    left: 2,
                    right: 2,
                },
            ),
            (1, 4, 8, 8, 3, 1, Pad2d::default()),
            (
                1,
                6,
                11,
                13,
                3,
                3,
                Pad2d {
                    top: 0,
                    bottom: 2,
                    left: 1,
                    right: 0,
                },
            ),
        ];
        for (n, c, h, w, k, s, p) in cases {
            let x = Tensor::randn(0f32, 1.0, (n, c, h, w), &dev)?;
            let wt = Tensor::randn(0f32, 1.0, (c, 1, k, k), &dev)?;
            let b = Tensor::randn(0f32, 1.0, c, &dev)?;
            let ours = DepthwiseKernel::new(&wt, Some(&b), s, p)?.forward(&x)?;
            let theirs = reference(&x, &wt, &b, s, p)?;
            assert_eq!(
                ours.dims(),
                theirs.dims(),
                "shape for {:?}",
                (n, c, h, w, k, s, p)
            );
            let d = max_abs_diff(&ours, &theirs)?;
            assert!(d < 1e-4, "max diff {d} for {:?}", (n, c, h, w, k, s, p));
        }
        Ok(())
    }

    #[test]
    fn rejects_channel_mismatch() -> Result<()> {
        let dev = Device::Cpu;
        let wt = Tensor::zeros((4, 1, 3, 3), candle_core::DType::F32, &dev)?;
        let k = DepthwiseKernel::new(&wt, None, 1, Pad2d::default())?;
        let x = Tensor::zeros((1, 3, 8, 8), candle_core::DType::F32, &dev)?;
        assert!(k.forward(&x).is_err());
        Ok(())
    }
}
