//! Conversion of ONNX graphs of convolutional networks (read by [`crate::onnx`]) into candle's
//! layout, with each BatchNormalization folded into the layer before it.
//!
//! ONNX exports name their weights by number (`585`, `bn.weight`), so the output names come from
//! the graph's structure instead, in the order of its nodes:
//!
//! | node | tensors written |
//! |---|---|
//! | `k`-th `Conv` (from 0) | `conv{k}.weight` (OIHW, as ONNX stores it), `conv{k}.bias` (zeros if the node has none) |
//! | `PRelu` on a `Conv`'s output | `conv{k}.alpha` (`[C]`) |
//! | `j`-th `MatMul` by a constant `[in, out]`, or `Gemm` | `fc{j}.weight` (`[out, in]`), `fc{j}.bias` |
//! | `BatchNormalization` right after a `Conv` or `MatMul`/`Gemm` whose output nothing else reads | folded: `w·s`, `(b − mean)·s + β`, with `s = γ / √(var + ε)` |
//! | any other `BatchNormalization` (the `i`-th) | `bn{i}.scale` = `s`, `bn{i}.offset` = `β − mean·s` |
//!
//! Constants of the graph's plumbing (`Reshape` shapes, `Concat`/`Gather` indices, any integer
//! tensor) are not written: the candle modules hard-code them. Nor are two kinds of float
//! constant that carry no learnt weight: a `Mul` by the scalar 1 (PyTorch's `x * scale` exported
//! with `scale = 1`), and whatever feeds the nodes after the last `Conv`/`MatMul`/`Gemm` (a
//! detector's box decoding, whose priors for one input size the candle module computes for any
//! size). Any other float constant feeding another op is an error, so that a graph the converter
//! does not understand is never half-read.

use std::collections::HashMap;

use candle_core::{Device, Tensor};

use super::{format_err, Result};
use crate::onnx::{data_type, Graph, Model, Node, TensorProto};

/// The tensors of one ONNX model, named as the module docs say.
pub fn convert_onnx(model: &Model) -> Result<HashMap<String, Tensor>> {
    let g = &model.graph;
    let consts: HashMap<&str, &TensorProto> = g
        .initializers
        .iter()
        .map(|t| (t.name.as_str(), t))
        .chain(constant_nodes(g))
        .collect();
    // How many nodes read each value: a BatchNormalization is folded only into a layer whose
    // output it alone reads.
    let mut readers: HashMap<&str, usize> = HashMap::new();
    for n in &g.nodes {
        for i in &n.inputs {
            *readers.entry(i.as_str()).or_default() += 1;
        }
    }
    let mut out = HashMap::new();
    // value name → the layer ("conv3", "fc0") that produced it
    let mut layer_of: HashMap<&str, String> = HashMap::new();
    let (mut convs, mut fcs, mut bns) = (0usize, 0usize, 0usize);
    let last_layer = g
        .nodes
        .iter()
        .rposition(|n| matches!(n.op_type.as_str(), "Conv" | "MatMul" | "Gemm"));
    let get = |n: &Node, i: usize| -> Option<&TensorProto> {
        n.inputs
            .get(i)
            .and_then(|name| consts.get(name.as_str()).copied())
    };
    for (index, n) in g.nodes.iter().enumerate() {
        let out0 = n.outputs.first().map(String::as_str).unwrap_or_default();
        match n.op_type.as_str() {
            "Conv" => {
                let name = format!("conv{convs}");
                convs += 1;
                let w = need_const(n, get(n, 1), "weight")?;
                let weight = tensor(w)?;
                let c = weight.dim(0)?;
                let bias = match get(n, 2) {
                    Some(b) => tensor(b)?,
                    None => Tensor::zeros(c, candle_core::DType::F32, &Device::Cpu)?,
                };
                out.insert(format!("{name}.weight"), weight);
                out.insert(format!("{name}.bias"), bias);
                layer_of.insert(out0, name);
            }
            "MatMul" | "Gemm" => {
                let name = format!("fc{fcs}");
                fcs += 1;
                let trans_b = n.op_type == "Gemm" && n.attr_int("transB", 0)? != 0;
                if n.op_type == "Gemm"
                    && (n.attr_int("transA", 0)? != 0
                        || n.attr_float("alpha", 1.0)? != 1.0
                        || n.attr_float("beta", 1.0)? != 1.0)
                {
                    return Err(format_err(format!(
                        "Gemm {}: only transB is supported",
                        n.name
                    )));
                }
                let b = tensor(need_const(n, get(n, 1), "weight")?)?;
                let weight = if trans_b { b } else { b.t()?.contiguous()? };
                let c = weight.dim(0)?;
                let bias = match get(n, 2) {
                    Some(b) => tensor(b)?.flatten_all()?,
                    None => Tensor::zeros(c, candle_core::DType::F32, &Device::Cpu)?,
                };
                out.insert(format!("{name}.weight"), weight);
                out.insert(format!("{name}.bias"), bias);
                layer_of.insert(out0, name);
            }
            "BatchNormalization" => {
                let (scale, offset) = batch_norm(n, &get)?;
                let input = n.inputs.first().map(String::as_str).unwrap_or_default();
                let foldable = readers.get(input) == Some(&1);
                match layer_of.get(input).filter(|_| foldable) {
                    Some(layer) => {
                        let layer = layer.clone();
                        fold(&mut out, &layer, &scale, &offset)?;
                        layer_of.insert(out0, layer);
                    }
                    None => {
                        let name = format!("bn{bns}");
                        bns += 1;
                        out.insert(format!("{name}.scale"), scale);
                        out.insert(format!("{name}.offset"), offset);
                    }
                }
            }
            "PRelu" => {
                let input = n.inputs.first().map(String::as_str).unwrap_or_default();
                let Some(layer) = layer_of.get(input) else {
                    return Err(format_err(format!(
                        "PRelu {} does not follow a Conv",
                        n.name
                    )));
                };
                let alpha = tensor(need_const(n, get(n, 1), "slope")?)?.flatten_all()?;
                out.insert(format!("{layer}.alpha"), alpha);
            }
            _ if last_layer.is_some_and(|l| index > l) => {}
            "Mul" if is_scalar_one(n, &consts)? => {}
            op => {
                if let Some(t) = n
                    .inputs
                    .iter()
                    .filter_map(|i| consts.get(i.as_str()))
                    .find(|t| {
                        matches!(
                            t.data_type,
                            data_type::FLOAT | data_type::FLOAT16 | data_type::DOUBLE
                        )
                    })
                {
                    return Err(format_err(format!(
                        "float constant {} feeds {op} {}, which the converter does not know",
                        t.name, n.name
                    )));
                }
            }
        }
    }
    Ok(out)
}

/// Whether one of `n`'s inputs is a constant scalar 1 (a multiplication that does nothing).
fn is_scalar_one(n: &Node, consts: &HashMap<&str, &TensorProto>) -> Result<bool> {
    for t in n.inputs.iter().filter_map(|i| consts.get(i.as_str())) {
        if t.data_type == data_type::FLOAT && t.to_f32()? == [1.0] {
            return Ok(true);
        }
    }
    Ok(false)
}

/// The values of `Constant` nodes, by output name (they hold the plumbing's integers).
fn constant_nodes(g: &Graph) -> impl Iterator<Item = (&str, &TensorProto)> {
    g.nodes
        .iter()
        .filter(|n| n.op_type == "Constant")
        .filter_map(|n| {
            let out = n.outputs.first()?;
            match n.attr("value")? {
                crate::onnx::AttrValue::Tensor(t) => Some((out.as_str(), t)),
                _ => None,
            }
        })
}

fn need_const<'a>(n: &Node, t: Option<&'a TensorProto>, what: &str) -> Result<&'a TensorProto> {
    t.ok_or_else(|| {
        format_err(format!(
            "{} {}: its {what} is not a constant of the graph",
            n.op_type, n.name
        ))
    })
}

/// A float constant as a candle tensor of its own shape.
fn tensor(t: &TensorProto) -> Result<Tensor> {
    Ok(Tensor::from_vec(t.to_f32()?, t.shape()?, &Device::Cpu)?)
}

/// A BatchNormalization node as `(s, β − mean·s)`, `s = γ / √(var + ε)`.
fn batch_norm<'a>(
    n: &Node,
    get: &impl Fn(&Node, usize) -> Option<&'a TensorProto>,
) -> Result<(Tensor, Tensor)> {
    let eps = f64::from(n.attr_float("epsilon", 1e-5)?);
    let part = |i: usize, what: &str| -> Result<Vec<f32>> {
        Ok(need_const(n, get(n, i), what)?.to_f32()?)
    };
    let (gamma, beta, mean, var) = (
        part(1, "scale")?,
        part(2, "bias")?,
        part(3, "mean")?,
        part(4, "variance")?,
    );
    let c = gamma.len();
    if [beta.len(), mean.len(), var.len()].iter().any(|&l| l != c) {
        return Err(format_err(format!(
            "BatchNormalization {}: parameters of different lengths",
            n.name
        )));
    }
    // In f64, as the runtime's own fusion would, then rounded once.
    let s: Vec<f64> = (0..c)
        .map(|i| f64::from(gamma[i]) / (f64::from(var[i]) + eps).sqrt())
        .collect();
    let offset: Vec<f32> = (0..c)
        .map(|i| (f64::from(beta[i]) - f64::from(mean[i]) * s[i]) as f32)
        .collect();
    let s: Vec<f32> = s.iter().map(|&v| v as f32).collect();
    Ok((
        Tensor::from_vec(s, c, &Device::Cpu)?,
        Tensor::from_vec(offset, c, &Device::Cpu)?,
    ))
}

/// Folds `y·scale + offset` per output channel into `layer`'s weight and bias.
fn fold(
    out: &mut HashMap<String, Tensor>,
    layer: &str,
    scale: &Tensor,
    offset: &Tensor,
) -> Result<()> {
    let (wk, bk) = (format!("{layer}.weight"), format!("{layer}.bias"));
    let (Some(w), Some(b)) = (out.get(&wk), out.get(&bk)) else {
        return Err(format_err(format!("{layer} has no weight to fold into")));
    };
    let c = scale.dim(0)?;
    if w.dim(0)? != c {
        return Err(format_err(format!(
            "{layer}: {} outputs, batch norm has {c} channels",
            w.dim(0)?
        )));
    }
    let mut shape = vec![1usize; w.rank()];
    shape[0] = c;
    let w = w.broadcast_mul(&scale.reshape(shape)?)?;
    let b = ((b * scale)? + offset)?;
    out.insert(wk, w);
    out.insert(bk, b);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::onnx::{AttrValue, Attribute};

    fn node(op: &str, inputs: &[&str], output: &str) -> Node {
        Node {
            op_type: op.into(),
            name: output.into(),
            inputs: inputs.iter().map(|s| s.to_string()).collect(),
            outputs: vec![output.into()],
            ..Default::default()
        }
    }

    fn constant(name: &str, dims: &[i64], v: &[f32]) -> TensorProto {
        TensorProto {
            name: name.into(),
            dims: dims.to_vec(),
            data_type: data_type::FLOAT,
            float_data: v.to_vec(),
            ..Default::default()
        }
    }

    #[test]
    fn batch_norm_folds_into_the_layer_before_it() -> Result<()> {
        // MatMul by [2 in, 1 out] then BN (γ 2, β 1, mean 3, var 4 − ε): y = (x·w − 3)·1 + 1.
        let eps = 1e-5f32;
        let mut bn = node("BatchNormalization", &["m", "g", "b", "mu", "var"], "y");
        bn.attributes.push(Attribute {
            name: "epsilon".into(),
            value: AttrValue::Float(eps),
        });
        let model = Model {
            graph: Graph {
                nodes: vec![node("MatMul", &["x", "w"], "m"), bn],
                initializers: vec![
                    constant("w", &[2, 1], &[0.5, -1.0]),
                    constant("g", &[1], &[2.0]),
                    constant("b", &[1], &[1.0]),
                    constant("mu", &[1], &[3.0]),
                    constant("var", &[1], &[4.0 - eps]),
                ],
                ..Default::default()
            },
            ..Default::default()
        };
        let t = convert_onnx(&model)?;
        assert_eq!(t["fc0.weight"].to_vec2::<f32>()?, vec![vec![0.5, -1.0]]);
        assert_eq!(t["fc0.bias"].to_vec1::<f32>()?, vec![-2.0]);
        Ok(())
    }

    #[test]
    fn a_float_constant_into_an_unknown_op_is_an_error() {
        let model = Model {
            graph: Graph {
                nodes: vec![node("Add", &["x", "c"], "y")],
                initializers: vec![constant("c", &[1], &[1.0])],
                ..Default::default()
            },
            ..Default::default()
        };
        let e = convert_onnx(&model)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(e.contains("Add"), "{e}");
    }

    #[test]
    fn a_unit_scale_and_the_decoding_after_the_last_layer_are_not_weights() -> Result<()> {
        // x · 1 → MatMul → + priors: only the MatMul's weight is written.
        let model = Model {
            graph: Graph {
                nodes: vec![
                    node("Mul", &["x", "one"], "a"),
                    node("MatMul", &["a", "w"], "m"),
                    node("Add", &["m", "priors"], "y"),
                ],
                initializers: vec![
                    constant("one", &[], &[1.0]),
                    constant("w", &[1, 1], &[2.0]),
                    constant("priors", &[1], &[0.5]),
                ],
                ..Default::default()
            },
            ..Default::default()
        };
        let t = convert_onnx(&model)?;
        let mut names: Vec<&String> = t.keys().collect();
        names.sort();
        assert_eq!(names, ["fc0.bias", "fc0.weight"]);
        Ok(())
    }
}
