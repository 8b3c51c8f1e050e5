//! A minimal reader of ONNX model files: `ModelProto` → `GraphProto` → its nodes (op type,
//! inputs, outputs, attributes), initializers (`TensorProto`: name, dims, data type and the data
//! as `raw_data` or the typed repeated fields) and the graph's declared inputs and outputs.
//!
//! Written from the field numbers of `onnx.proto` (ONNX's own schema), on the protobuf wire format
//! of [`wire`]. Not read: sub-graphs of control-flow attributes, sparse tensors, external data,
//! training info, functions, doc strings — a model that needs them fails to convert with a clear
//! error rather than being read wrongly. The converter that uses it is described in
//! `docs/architecture.md` ("The face networks").

mod wire;

use std::path::{Path, PathBuf};

use wire::Fields;

/// Why an ONNX file could not be read.
#[derive(Debug, thiserror::Error)]
pub enum OnnxError {
    /// The file could not be read.
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// The bytes are not a well-formed protobuf message of the expected kind.
    #[error("malformed ONNX file: {0}")]
    Malformed(String),
    /// A tensor is well-formed but holds what the reader does not convert.
    #[error("tensor {name}: {msg}")]
    Tensor { name: String, msg: String },
}

type Result<T, E = OnnxError> = std::result::Result<T, E>;

/// `ModelProto`: the parts a converter needs.
#[derive(Debug, Clone, Default)]
pub struct Model {
    pub ir_version: i64,
    /// `(domain, version)` of each operator set; the default domain is `""`.
    pub opsets: Vec<(String, i64)>,
    pub producer_name: String,
    pub producer_version: String,
    pub graph: Graph,
}

/// `GraphProto`: nodes in the file's (topological) order, initializers, inputs and outputs.
#[derive(Debug, Clone, Default)]
pub struct Graph {
    pub name: String,
    pub nodes: Vec<Node>,
    pub initializers: Vec<TensorProto>,
    pub inputs: Vec<ValueInfo>,
    pub outputs: Vec<ValueInfo>,
}

/// `NodeProto`: one operator application.
#[derive(Debug, Clone, Default)]
pub struct Node {
    pub name: String,
    pub op_type: String,
    pub domain: String,
    pub inputs: Vec<String>,
    pub outputs: Vec<String>,
    pub attributes: Vec<Attribute>,
}

/// `AttributeProto`: a name and one value.
#[derive(Debug, Clone)]
pub struct Attribute {
    pub name: String,
    pub value: AttrValue,
}

/// The value of an attribute, by its declared type.
#[derive(Debug, Clone, PartialEq)]
pub enum AttrValue {
    Float(f32),
    Int(i64),
    String(Vec<u8>),
    Tensor(TensorProto),
    Floats(Vec<f32>),
    Ints(Vec<i64>),
    Strings(Vec<Vec<u8>>),
    /// A type the reader does not decode (graphs, sparse tensors, type protos), by its code.
    Unsupported(i64),
}

/// `ValueInfoProto` of a tensor: name, element type and shape (`None` for a symbolic dimension).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ValueInfo {
    pub name: String,
    pub elem_type: i64,
    pub dims: Vec<Option<i64>>,
}

/// `TensorProto.DataType` codes the reader converts.
pub mod data_type {
    pub const FLOAT: i64 = 1;
    pub const UINT8: i64 = 2;
    pub const INT8: i64 = 3;
    pub const INT32: i64 = 6;
    pub const INT64: i64 = 7;
    pub const FLOAT16: i64 = 10;
    pub const DOUBLE: i64 = 11;
}

/// `TensorProto`: an initializer or a constant. The data is in `raw` (little-endian) or in one
/// of the typed fields, as the writer chose; [`TensorProto::to_f32`] and
/// [`TensorProto::to_i64`] read either.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TensorProto {
    pub name: String,
    pub dims: Vec<i64>,
    pub data_type: i64,
    pub raw: Vec<u8>,
    pub float_data: Vec<f32>,
    pub int32_data: Vec<i64>,
    pub int64_data: Vec<i64>,
    pub double_data: Vec<f64>,
    /// Set when the data lives outside the file (not supported).
    pub external: bool,
}

/// Reads an ONNX file.
pub fn load(path: &Path) -> Result<Model> {
    let bytes = std::fs::read(path).map_err(|source| OnnxError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    read_model(&bytes)
}

/// Decodes a serialised `ModelProto`.
pub fn read_model(bytes: &[u8]) -> Result<Model> {
    let mut m = Model::default();
    let mut f = Fields::new(bytes, "ModelProto");
    let mut has_graph = false;
    while let Some((n, v)) = f.next_field()? {
        match n {
            1 => m.ir_version = v.int("ir_version")?,
            2 => m.producer_name = v.string("producer_name")?,
            3 => m.producer_version = v.string("producer_version")?,
            7 => {
                m.graph = read_graph(v.bytes("graph")?)?;
                has_graph = true;
            }
            8 => {
                let (mut domain, mut version) = (String::new(), 0);
                let mut o = Fields::new(v.bytes("opset_import")?, "OperatorSetIdProto");
                while let Some((n, v)) = o.next_field()? {
                    match n {
                        1 => domain = v.string("opset domain")?,
                        2 => version = v.int("opset version")?,
                        _ => {}
                    }
                }
                m.opsets.push((domain, version));
            }
            _ => {}
        }
    }
    if !has_graph {
        return Err(OnnxError::Malformed("the model has no graph".into()));
    }
    Ok(m)
}

fn read_graph(bytes: &[u8]) -> Result<Graph> {
    let mut g = Graph::default();
    let mut f = Fields::new(bytes, "GraphProto");
    while let Some((n, v)) = f.next_field()? {
        match n {
            1 => g.nodes.push(read_node(v.bytes("node")?)?),
            2 => g.name = v.string("graph name")?,
            5 => g.initializers.push(read_tensor(v.bytes("initializer")?)?),
            11 => g.inputs.push(read_value_info(v.bytes("input")?)?),
            12 => g.outputs.push(read_value_info(v.bytes("output")?)?),
            15 => {
                return Err(OnnxError::Malformed(
                    "sparse initializers are not supported".into(),
                ))
            }
            _ => {}
        }
    }
    Ok(g)
}

fn read_node(bytes: &[u8]) -> Result<Node> {
    let mut node = Node::default();
    let mut f = Fields::new(bytes, "NodeProto");
    while let Some((n, v)) = f.next_field()? {
        match n {
            1 => node.inputs.push(v.string("node input")?),
            2 => node.outputs.push(v.string("node output")?),
            3 => node.name = v.string("node name")?,
            4 => node.op_type = v.string("op_type")?,
            5 => node.attributes.push(read_attribute(v.bytes("attribute")?)?),
            7 => node.domain = v.string("node domain")?,
            _ => {}
        }
    }
    Ok(node)
}

fn read_attribute(bytes: &[u8]) -> Result<Attribute> {
    let mut name = String::new();
    let mut kind = 0i64;
    let (mut f32v, mut i64v, mut s, mut t) = (None, None, None, None);
    let (mut floats, mut ints, mut strings) = (Vec::new(), Vec::new(), Vec::new());
    let mut f = Fields::new(bytes, "AttributeProto");
    while let Some((n, v)) = f.next_field()? {
        match n {
            1 => name = v.string("attribute name")?,
            20 => kind = v.int("attribute type")?,
            2 => f32v = Some(v.float("attribute f")?),
            3 => i64v = Some(v.int("attribute i")?),
            4 => s = Some(v.bytes("attribute s")?.to_vec()),
            5 => t = Some(read_tensor(v.bytes("attribute t")?)?),
            7 => v.push_fixed(&mut floats, "attribute floats", f32::from_le_bytes)?,
            8 => v.push_ints(&mut ints, "attribute ints")?,
            9 => strings.push(v.bytes("attribute strings")?.to_vec()),
            _ => {}
        }
    }
    let missing = || OnnxError::Malformed(format!("attribute {name} lacks its value"));
    // IR version 1 files may leave `type` out; then the field that is set says it.
    let value = match kind {
        1 => AttrValue::Float(f32v.ok_or_else(missing)?),
        2 => AttrValue::Int(i64v.ok_or_else(missing)?),
        3 => AttrValue::String(s.ok_or_else(missing)?),
        4 => AttrValue::Tensor(t.ok_or_else(missing)?),
        6 => AttrValue::Floats(floats),
        7 => AttrValue::Ints(ints),
        8 => AttrValue::Strings(strings),
        0 => match (f32v, i64v, s, t) {
            (Some(x), ..) => AttrValue::Float(x),
            (_, Some(x), ..) => AttrValue::Int(x),
            (_, _, Some(x), _) => AttrValue::String(x),
            (.., Some(x)) => AttrValue::Tensor(x),
            _ if !floats.is_empty() => AttrValue::Floats(floats),
            _ if !strings.is_empty() => AttrValue::Strings(strings),
            _ => AttrValue::Ints(ints),
        },
        other => AttrValue::Unsupported(other),
    };
    Ok(Attribute { name, value })
}

fn read_value_info(bytes: &[u8]) -> Result<ValueInfo> {
    let mut vi = ValueInfo::default();
    let mut f = Fields::new(bytes, "ValueInfoProto");
    while let Some((n, v)) = f.next_field()? {
        match n {
            1 => vi.name = v.string("value name")?,
            2 => {
                let mut ty = Fields::new(v.bytes("value type")?, "TypeProto");
                while let Some((n, v)) = ty.next_field()? {
                    if n == 1 {
                        read_tensor_type(v.bytes("tensor_type")?, &mut vi)?;
                    }
                }
            }
            _ => {}
        }
    }
    Ok(vi)
}

fn read_tensor_type(bytes: &[u8], vi: &mut ValueInfo) -> Result<()> {
    let mut f = Fields::new(bytes, "TypeProto.Tensor");
    while let Some((n, v)) = f.next_field()? {
        match n {
            1 => vi.elem_type = v.int("elem_type")?,
            2 => {
                let mut shape = Fields::new(v.bytes("shape")?, "TensorShapeProto");
                while let Some((n, v)) = shape.next_field()? {
                    if n != 1 {
                        continue;
                    }
                    let mut dim = None;
                    let mut d = Fields::new(v.bytes("dim")?, "Dimension");
                    while let Some((n, v)) = d.next_field()? {
                        if n == 1 {
                            dim = Some(v.int("dim_value")?);
                        }
                    }
                    vi.dims.push(dim);
                }
            }
            _ => {}
        }
    }
    Ok(())
}

fn read_tensor(bytes: &[u8]) -> Result<TensorProto> {
    let mut t = TensorProto::default();
    let mut f = Fields::new(bytes, "TensorProto");
    while let Some((n, v)) = f.next_field()? {
        match n {
            1 => v.push_ints(&mut t.dims, "dims")?,
            2 => t.data_type = v.int("data_type")?,
            4 => v.push_fixed(&mut t.float_data, "float_data", f32::from_le_bytes)?,
            5 => v.push_ints(&mut t.int32_data, "int32_data")?,
            7 => v.push_ints(&mut t.int64_data, "int64_data")?,
            8 => t.name = v.string("tensor name")?,
            9 => t.raw = v.bytes("raw_data")?.to_vec(),
            10 => v.push_fixed(&mut t.double_data, "double_data", f64::from_le_bytes)?,
            13 => t.external = true,
            14 => t.external |= v.int("data_location")? == 1,
            _ => {}
        }
    }
    Ok(t)
}

impl TensorProto {
    fn err(&self, msg: impl Into<String>) -> OnnxError {
        OnnxError::Tensor {
            name: self.name.clone(),
            msg: msg.into(),
        }
    }

    /// The dimensions as sizes (a scalar has none).
    pub fn shape(&self) -> Result<Vec<usize>> {
        self.dims
            .iter()
            .map(|&d| usize::try_from(d).map_err(|_| self.err(format!("negative dimension {d}"))))
            .collect()
    }

    /// The number of elements the dimensions promise.
    pub fn len(&self) -> Result<usize> {
        self.shape()?
            .iter()
            .try_fold(1usize, |n, &d| n.checked_mul(d))
            .ok_or_else(|| self.err("too many elements"))
    }

    /// Whether the tensor has no elements.
    pub fn is_empty(&self) -> Result<bool> {
        Ok(self.len()? == 0)
    }

    /// `raw` split into `width`-byte little-endian elements, checked against the dimensions.
    fn raw_elements<const N: usize>(&self) -> Result<impl Iterator<Item = [u8; N]> + '_> {
        let n = self.len()?;
        if self.raw.len() != n * N {
            return Err(self.err(format!(
                "raw_data holds {} bytes; {n} elements need {}",
                self.raw.len(),
                n * N
            )));
        }
        Ok(self
            .raw
            .chunks_exact(N)
            .map(|c| c.try_into().unwrap_or([0; N])))
    }

    fn checked<T>(&self, v: Vec<T>) -> Result<Vec<T>> {
        let n = self.len()?;
        if v.len() != n {
            return Err(self.err(format!("holds {} values; its dims say {n}", v.len())));
        }
        Ok(v)
    }

    /// The values as f32, for float, float16 and double tensors.
    pub fn to_f32(&self) -> Result<Vec<f32>> {
        if self.external {
            return Err(self.err("data stored outside the model file is not supported"));
        }
        let raw = !self.raw.is_empty();
        let v = match self.data_type {
            data_type::FLOAT if raw => self.raw_elements::<4>()?.map(f32::from_le_bytes).collect(),
            data_type::FLOAT => self.float_data.clone(),
            data_type::DOUBLE if raw => self
                .raw_elements::<8>()?
                .map(|b| f64::from_le_bytes(b) as f32)
                .collect(),
            data_type::DOUBLE => self.double_data.iter().map(|&d| d as f32).collect(),
            // float16 without raw data sits in int32_data, one value's bits per element.
            data_type::FLOAT16 if raw => self
                .raw_elements::<2>()?
                .map(|b| half_to_f32(u16::from_le_bytes(b)))
                .collect(),
            data_type::FLOAT16 => self
                .int32_data
                .iter()
                .map(|&b| half_to_f32(b as u16))
                .collect(),
            other => return Err(self.err(format!("data type {other} is not a float type"))),
        };
        self.checked(v)
    }

    /// The values as i64, for integer tensors (shapes, axes, indices).
    pub fn to_i64(&self) -> Result<Vec<i64>> {
        if self.external {
            return Err(self.err("data stored outside the model file is not supported"));
        }
        let raw = !self.raw.is_empty();
        let v = match self.data_type {
            data_type::INT64 if raw => self.raw_elements::<8>()?.map(i64::from_le_bytes).collect(),
            data_type::INT64 => self.int64_data.clone(),
            data_type::INT32 if raw => self
                .raw_elements::<4>()?
                .map(|b| i64::from(i32::from_le_bytes(b)))
                .collect(),
            data_type::INT8 if raw => self.raw.iter().map(|&b| i64::from(b as i8)).collect(),
            data_type::UINT8 if raw => self.raw.iter().map(|&b| i64::from(b)).collect(),
            data_type::INT32 | data_type::INT8 | data_type::UINT8 => {
                self.int32_data.iter().map(|&v| v as i32 as i64).collect()
            }
            other => return Err(self.err(format!("data type {other} is not an integer type"))),
        };
        self.checked(v)
    }
}

/// IEEE 754 half → single.
fn half_to_f32(h: u16) -> f32 {
    let sign = if h & 0x8000 != 0 { -1.0 } else { 1.0 };
    let exp = i32::from((h >> 10) & 0x1f);
    let frac = f32::from(h & 0x3ff);
    sign * match exp {
        0 => frac * (2f32).powi(-24),
        31 if frac == 0.0 => f32::INFINITY,
        31 => f32::NAN,
        e => (1.0 + frac / 1024.0) * (2f32).powi(e - 15),
    }
}

impl Node {
    /// The attribute called `name`.
    pub fn attr(&self, name: &str) -> Option<&AttrValue> {
        self.attributes
            .iter()
            .find(|a| a.name == name)
            .map(|a| &a.value)
    }

    /// An integer attribute, or `default` when absent.
    pub fn attr_int(&self, name: &str, default: i64) -> Result<i64> {
        match self.attr(name) {
            None => Ok(default),
            Some(AttrValue::Int(v)) => Ok(*v),
            Some(v) => Err(self.wrong_attr(name, v)),
        }
    }

    /// A float attribute, or `default` when absent.
    pub fn attr_float(&self, name: &str, default: f32) -> Result<f32> {
        match self.attr(name) {
            None => Ok(default),
            Some(AttrValue::Float(v)) => Ok(*v),
            Some(v) => Err(self.wrong_attr(name, v)),
        }
    }

    /// An integer-list attribute, or `default` when absent.
    pub fn attr_ints(&self, name: &str, default: &[i64]) -> Result<Vec<i64>> {
        match self.attr(name) {
            None => Ok(default.to_vec()),
            Some(AttrValue::Ints(v)) => Ok(v.clone()),
            Some(v) => Err(self.wrong_attr(name, v)),
        }
    }

    fn wrong_attr(&self, name: &str, v: &AttrValue) -> OnnxError {
        OnnxError::Malformed(format!(
            "{} node {}: attribute {name} has an unexpected type ({v:?})",
            self.op_type, self.name
        ))
    }
}

impl Graph {
    /// The initializer called `name`.
    pub fn initializer(&self, name: &str) -> Option<&TensorProto> {
        self.initializers.iter().find(|t| t.name == name)
    }
}

#[cfg(test)]
mod tests;
