"""Describes the faces `ilive faces-eval --crops DIR` wrote with another face-recognition
network, on that network's own runtime: onnxruntime for `.onnx`, LiteRT for `.tflite`.

Reads DIR/crops.f32 (N x 112 x 112 x 3 RGB, 0-255, little-endian f32) and DIR/samples.tsv (one
face name per line), feeds each crop as `(v - mean) / std` in the layout the network's input
declares (NCHW or NHWC; a fixed batch is filled by repeating the crop), and writes
`name<TAB>v1,v2,...` per face for `ilive faces-eval --external`. Run by
compare-descriptors.sh.

Usage: python describe_crops.py MODEL CROPS_DIR OUT_TSV --mean M --std S
"""

import argparse
from pathlib import Path

import numpy as np

SIZE = 112


def crops(folder):
    names = [n for n in (folder / "samples.tsv").read_text().split("\n") if n]
    pixels = np.fromfile(folder / "crops.f32", dtype="<f4")
    if pixels.size != len(names) * SIZE * SIZE * 3:
        raise SystemExit(f"{folder}: {pixels.size} values for {len(names)} faces")
    return names, pixels.reshape(len(names), SIZE, SIZE, 3)


def onnx_runner(model):
    import onnxruntime

    session = onnxruntime.InferenceSession(str(model), providers=["CPUExecutionProvider"])
    (inp,) = session.get_inputs()
    channels_first = inp.shape[1] == 3

    def run(x):
        x = x.transpose(2, 0, 1) if channels_first else x
        return session.run(None, {inp.name: x[None].astype(np.float32)})[0][0]

    return run


def tflite_runner(model):
    from ai_edge_litert.interpreter import Interpreter

    interpreter = Interpreter(model_path=str(model))
    interpreter.allocate_tensors()
    (inp,) = interpreter.get_input_details()
    (out,) = interpreter.get_output_details()
    batch, channels_first = inp["shape"][0], inp["shape"][1] == 3

    def run(x):
        x = x.transpose(2, 0, 1) if channels_first else x
        interpreter.set_tensor(inp["index"], np.repeat(x[None], batch, 0).astype(np.float32))
        interpreter.invoke()
        return interpreter.get_tensor(out["index"])[0]

    return run


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("model", type=Path)
    parser.add_argument("crops", type=Path)
    parser.add_argument("out", type=Path)
    parser.add_argument("--mean", type=float, required=True)
    parser.add_argument("--std", type=float, required=True)
    args = parser.parse_args()

    names, faces = crops(args.crops)
    run = tflite_runner(args.model) if args.model.suffix == ".tflite" else onnx_runner(args.model)
    lines = []
    for name, face in zip(names, faces):
        v = np.asarray(run((face - args.mean) / args.std), dtype=np.float64).ravel()
        lines.append(name + "\t" + ",".join(f"{x:.7g}" for x in v))
    args.out.write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
