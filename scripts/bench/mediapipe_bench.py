"""The anchor of `ilive-models bench`: MediaPipe 0.10.14's legacy face solutions on the frames
named on stdin (one JPEG path a line, in playing order), timed per stage.

Stages (ms per frame; each stage runs ROUNDS times over the whole sequence and the fastest
round's mean counts, as the Rust side does):
- detection: BlazeFace short range (face_detection_short_range.tflite, 128²) on decoded RGB;
- every_frame: JPEG decode + FaceMesh in static mode (detector and landmarks on every frame);
- tracked: JPEG decode + FaceMesh in video mode (the detector runs only while no face is
  tracked; the landmarks' region comes from the previous frame);
- decode: the JPEG decode alone (OpenCV, to RGB).
Both solutions run their .tflite models from inside the pip wheel. Prints one JSON object.
"""

import json
import sys
import time

import cv2
import mediapipe as mp
import numpy as np

ROUNDS = int(sys.argv[1]) if len(sys.argv) > 1 else 3


def decode(buf):
    bgr = cv2.imdecode(buf, cv2.IMREAD_COLOR)
    return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)


def fastest_mean_ms(frames, make, step):
    """Runs `step(solution, frame)` over every frame, ROUNDS times with a fresh solution each
    round (one warm-up pass first); returns the fastest round's mean ms and its result count."""
    with make() as s:
        for f in frames[: min(10, len(frames))]:
            step(s, f)
    best, found = float("inf"), 0
    for _ in range(ROUNDS):
        with make() as s:
            hits = 0
            t0 = time.perf_counter()
            for f in frames:
                hits += step(s, f)
            ms = (time.perf_counter() - t0) * 1e3 / len(frames)
        if ms < best:
            best, found = ms, hits
    return best, found


def main():
    paths = [line.strip() for line in sys.stdin if line.strip()]
    jpegs = [np.fromfile(p, dtype=np.uint8) for p in paths]
    rgbs = [decode(b) for b in jpegs]
    detection = lambda: mp.solutions.face_detection.FaceDetection(
        model_selection=0, min_detection_confidence=0.5
    )
    mesh = lambda static: lambda: mp.solutions.face_mesh.FaceMesh(
        static_image_mode=static,
        max_num_faces=1,
        refine_landmarks=False,
        min_detection_confidence=0.5,
        min_tracking_confidence=0.5,
    )

    def detect(s, rgb):
        return 1 if s.process(rgb).detections else 0

    def mesh_step(s, buf):
        return 1 if s.process(decode(buf)).multi_face_landmarks else 0

    class Nothing:
        def __enter__(self):
            return self

        def __exit__(self, *a):
            return False

    out = {"version": mp.__version__, "frames": len(paths), "rounds": ROUNDS}
    out["detection_ms"], out["detection_found"] = fastest_mean_ms(rgbs, detection, detect)
    out["every_frame_ms"], out["every_frame_found"] = fastest_mean_ms(jpegs, mesh(True), mesh_step)
    out["tracked_ms"], out["tracked_found"] = fastest_mean_ms(jpegs, mesh(False), mesh_step)
    out["decode_ms"], _ = fastest_mean_ms(jpegs, Nothing, lambda s, b: decode(b) is None)
    json.dump(out, sys.stdout)
    print()


if __name__ == "__main__":
    main()
