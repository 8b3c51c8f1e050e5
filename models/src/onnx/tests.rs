//! The reader on messages written by hand with the field numbers of `onnx.proto`.

use super::wire::encode::{bytes, float, int, varint};
use super::*;

/// A `TensorProto` with raw little-endian f32 data.
fn tensor(name: &str, dims: &[i64], values: &[f32]) -> Vec<u8> {
    let mut t = Vec::new();
    let mut packed = Vec::new();
    for &d in dims {
        varint(&mut packed, d as u64);
    }
    bytes(&mut t, 1, &packed);
    int(&mut t, 2, data_type::FLOAT);
    bytes(&mut t, 8, name.as_bytes());
    let raw: Vec<u8> = values.iter().flat_map(|v| v.to_le_bytes()).collect();
    bytes(&mut t, 9, &raw);
    t
}

fn attribute_ints(name: &str, values: &[i64]) -> Vec<u8> {
    let mut a = Vec::new();
    bytes(&mut a, 1, name.as_bytes());
    int(&mut a, 20, 7);
    // Unpacked, one field per value, as older writers do.
    for &v in values {
        int(&mut a, 8, v);
    }
    a
}

/// Conv(x, w) → y with `strides = [2, 2]` and `alpha = 0.25`, one initializer, an input of
/// shape `[1, "n", 4, 4]`.
fn small_model() -> Vec<u8> {
    let mut node = Vec::new();
    for i in ["x", "w"] {
        bytes(&mut node, 1, i.as_bytes());
    }
    bytes(&mut node, 2, b"y");
    bytes(&mut node, 3, b"conv0");
    bytes(&mut node, 4, b"Conv");
    bytes(&mut node, 5, &attribute_ints("strides", &[2, 2]));
    let mut alpha = Vec::new();
    bytes(&mut alpha, 1, b"alpha");
    int(&mut alpha, 20, 1);
    float(&mut alpha, 2, 0.25);
    bytes(&mut node, 5, &alpha);

    let mut dims = Vec::new();
    for d in [Some(1), None, Some(4), Some(4)] {
        let mut dim = Vec::new();
        match d {
            Some(v) => int(&mut dim, 1, v),
            None => bytes(&mut dim, 2, b"n"),
        }
        bytes(&mut dims, 1, &dim);
    }
    let mut tensor_type = Vec::new();
    int(&mut tensor_type, 1, data_type::FLOAT);
    bytes(&mut tensor_type, 2, &dims);
    let mut ty = Vec::new();
    bytes(&mut ty, 1, &tensor_type);
    let mut input = Vec::new();
    bytes(&mut input, 1, b"x");
    bytes(&mut input, 2, &ty);

    let mut graph = Vec::new();
    bytes(&mut graph, 1, &node);
    bytes(&mut graph, 2, b"g");
    bytes(&mut graph, 5, &tensor("w", &[2, 1, 1, 1], &[1.5, -2.0]));
    bytes(&mut graph, 11, &input);

    let mut opset = Vec::new();
    bytes(&mut opset, 1, b"");
    int(&mut opset, 2, 9);
    let mut model = Vec::new();
    int(&mut model, 1, 6);
    bytes(&mut model, 2, b"hand");
    bytes(&mut model, 7, &graph);
    bytes(&mut model, 8, &opset);
    model
}

#[test]
fn a_hand_written_model_reads_back() -> Result<()> {
    let m = read_model(&small_model())?;
    assert_eq!(m.ir_version, 6);
    assert_eq!(m.producer_name, "hand");
    assert_eq!(m.opsets, vec![(String::new(), 9)]);
    let g = &m.graph;
    assert_eq!(g.name, "g");
    assert_eq!(g.nodes.len(), 1);
    let n = &g.nodes[0];
    assert_eq!((n.op_type.as_str(), n.name.as_str()), ("Conv", "conv0"));
    assert_eq!(n.inputs, vec!["x", "w"]);
    assert_eq!(n.outputs, vec!["y"]);
    assert_eq!(n.attr_ints("strides", &[1, 1])?, vec![2, 2]);
    assert_eq!(n.attr_ints("dilations", &[1, 1])?, vec![1, 1]);
    assert_eq!(n.attr_float("alpha", 0.0)?, 0.25);
    assert!(n.attr_int("strides", 0).is_err(), "a list is not an int");
    let w = g
        .initializer("w")
        .ok_or_else(|| OnnxError::Malformed("no w".into()))?;
    assert_eq!(w.shape()?, vec![2, 1, 1, 1]);
    assert_eq!(w.to_f32()?, vec![1.5, -2.0]);
    assert_eq!(g.inputs[0].dims, vec![Some(1), None, Some(4), Some(4)]);
    assert_eq!(g.inputs[0].elem_type, data_type::FLOAT);
    Ok(())
}

#[test]
fn typed_fields_and_half_floats_convert() -> Result<()> {
    let t = TensorProto {
        name: "f".into(),
        dims: vec![3],
        data_type: data_type::FLOAT,
        float_data: vec![1.0, 2.0, 3.0],
        ..Default::default()
    };
    assert_eq!(t.to_f32()?, vec![1.0, 2.0, 3.0]);
    let h = TensorProto {
        dims: vec![3],
        data_type: data_type::FLOAT16,
        raw: [0x3c00u16, 0xc100, 0x0001]
            .iter()
            .flat_map(|v| v.to_le_bytes())
            .collect(),
        ..Default::default()
    };
    assert_eq!(h.to_f32()?, vec![1.0, -2.5, 2f32.powi(-24)]);
    let i = TensorProto {
        dims: vec![2],
        data_type: data_type::INT64,
        raw: [-1i64, 7].iter().flat_map(|v| v.to_le_bytes()).collect(),
        ..Default::default()
    };
    assert_eq!(i.to_i64()?, vec![-1, 7]);
    assert!(
        i.to_f32().is_err(),
        "an integer tensor is not read as floats"
    );
    Ok(())
}

#[test]
fn inconsistent_tensors_are_errors() {
    let short = TensorProto {
        name: "short".into(),
        dims: vec![2, 2],
        data_type: data_type::FLOAT,
        raw: vec![0; 12],
        ..Default::default()
    };
    let e = short
        .to_f32()
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(e.contains("short") && e.contains("16"), "{e}");
    let negative = TensorProto {
        dims: vec![-1],
        data_type: data_type::FLOAT,
        ..Default::default()
    };
    assert!(negative.to_f32().is_err());
    let huge = TensorProto {
        dims: vec![i64::MAX, i64::MAX],
        data_type: data_type::FLOAT,
        ..Default::default()
    };
    assert!(huge.to_f32().is_err());
}

#[test]
fn every_truncation_and_byte_flip_is_an_error_or_a_model_never_a_panic() {
    let model = small_model();
    for cut in 0..model.len() {
        // Cutting inside the graph field leaves a length that runs past the end.
        let _ = read_model(&model[..cut]);
    }
    for i in 0..model.len() {
        for flip in [0x01u8, 0x80, 0xff] {
            let mut m = model.clone();
            m[i] ^= flip;
            if let Ok(m) = read_model(&m) {
                for t in &m.graph.initializers {
                    let _ = t.to_f32();
                }
            }
        }
    }
    assert!(read_model(&[]).is_err(), "no graph");
    assert!(read_model(&model[..model.len() - 3]).is_err());
}
