//! Reading a network's weights: the `.safetensors` files `bash scripts/models/setup.sh` writes,
//! with the errors that name the fix, and subnormal values zeroed.

use std::path::{Path, PathBuf};

use candle_core::{DType, Device, Result, Tensor};
use candle_nn::VarBuilder;

/// The command that creates the weight files.
pub const SETUP_COMMAND: &str = "bash scripts/models/setup.sh";

/// Why the networks could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// A weights file is missing from the models directory.
    #[error("model weights {path} not found: run `{SETUP_COMMAND}` (it writes to $ILIVE_MODELS_DIR, default ~/.cache/ilive/models)")]
    Missing { path: PathBuf },
    /// A weights file exists but cannot be read or lacks the tensors the network needs.
    #[error("model weights {path} are unreadable or corrupt ({source}): delete the file and run `{SETUP_COMMAND}`")]
    Corrupt {
        path: PathBuf,
        #[source]
        source: candle_core::Error,
    },
}

/// Loads `<dir>/<stem>.safetensors` into a `VarBuilder`.
pub fn load_weights(dir: &Path, stem: &str) -> std::result::Result<VarBuilder<'static>, LoadError> {
    let path = dir.join(format!("{stem}.safetensors"));
    if !path.is_file() {
        return Err(LoadError::Missing { path });
    }
    let tensors = candle_core::safetensors::load(&path, &Device::Cpu).map_err(|source| {
        LoadError::Corrupt {
            path: path.clone(),
            source,
        }
    })?;
    let tensors = tensors
        .into_iter()
        .map(|(name, t)| Ok((name, flush_subnormals(t)?)))
        .collect::<Result<_>>()
        .map_err(|source| LoadError::Corrupt {
            path: path.clone(),
            source,
        })?;
    Ok(VarBuilder::from_tensors(tensors, DType::F32, &Device::Cpu))
}

/// `t` with its subnormal values (below 1.2e-38 in magnitude, nonzero) set to zero. They change
/// no output measurably, but an x86 core multiplies them in microcode: MobileFaceNet's weights
/// hold 8,938 of them (docs/performance.md, "Subnormal values"; the fused kernels also flush
/// those that arise in activations, [`crate::kernels::with_workspace`]).
fn flush_subnormals(t: Tensor) -> Result<Tensor> {
    if t.dtype() != DType::F32 {
        return Ok(t);
    }
    let mut v = t.flatten_all()?.to_vec1::<f32>()?;
    if !v.iter().any(|x| x.is_subnormal()) {
        return Ok(t);
    }
    v.iter_mut()
        .filter(|x| x.is_subnormal())
        .for_each(|x| *x = 0.0);
    Tensor::from_vec(v, t.shape(), t.device())
}

/// Builds a network with `f` from `<dir>/<stem>.safetensors`; a tensor it lacks makes the file
/// [`LoadError::Corrupt`].
pub(crate) fn build<T>(
    dir: &Path,
    stem: &str,
    f: impl FnOnce(VarBuilder<'static>) -> Result<T>,
) -> std::result::Result<T, LoadError> {
    let vb = load_weights(dir, stem)?;
    f(vb).map_err(|source| LoadError::Corrupt {
        path: dir.join(format!("{stem}.safetensors")),
        source,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subnormal_weights_become_zero_and_the_rest_stay() -> Result<()> {
        let tiny = f32::MIN_POSITIVE / 4.0;
        let t = Tensor::new(&[[1.5f32, tiny], [-tiny, f32::MIN_POSITIVE]], &Device::Cpu)?;
        let flushed = flush_subnormals(t)?;
        assert_eq!(flushed.dims(), &[2, 2]);
        assert_eq!(
            flushed.flatten_all()?.to_vec1::<f32>()?,
            [1.5, 0.0, 0.0, f32::MIN_POSITIVE]
        );
        Ok(())
    }
}
