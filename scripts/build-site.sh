#!/usr/bin/env bash
# Builds the browser bundle without cargo-leptos: the frontend crate to WASM (size-tuned
# profile), wasm-bindgen's JS glue, wasm-opt when available, and the stylesheet, into
# $ILIVE_ROOT/target/site/pkg. Skips the work when nothing the bundle depends on changed.
source "$(dirname "$0")/lib.sh"

site="$ILIVE_ROOT/target/site"
pkg="$site/pkg"
mkdir -p "$pkg"

profile="${ILIVE_WASM_PROFILE:-wasm-release}"
log "building the browser bundle ($profile)"
cargo build --quiet -p frontend --lib --target wasm32-unknown-unknown --profile "$profile"
profile_dir="$profile"
[ "$profile" = dev ] && profile_dir=debug
wasm="$CARGO_TARGET_DIR/wasm32-unknown-unknown/$profile_dir/frontend.wasm"
[ -f "$wasm" ] || die "the frontend build produced no $wasm"

stamp="$pkg/.source-stamp"
if [ ! -f "$stamp" ] || [ "$wasm" -nt "$stamp" ] || [ ! -f "$pkg/ilive_bg.wasm" ]; then
  strip=()
  [ "$profile" != dev ] && strip=(--remove-name-section --remove-producers-section)
  wasm-bindgen --target web --no-typescript ${strip[@]+"${strip[@]}"} --out-dir "$pkg" --out-name ilive "$wasm"
  opt="$ILIVE_CACHE/tools/node_modules/.bin/wasm-opt"
  if [ -x "$opt" ] && [ "$profile" != "dev" ]; then
    "$opt" -Oz --enable-bulk-memory --enable-nontrapping-float-to-int --enable-sign-ext \
      --enable-mutable-globals "$pkg/ilive_bg.wasm" -o "$pkg/ilive_bg.wasm.opt" \
      && mv "$pkg/ilive_bg.wasm.opt" "$pkg/ilive_bg.wasm"
  fi
  touch "$stamp"
fi
cp "$ILIVE_ROOT/style/main.css" "$pkg/ilive.css"
wasm_kb=$(( $(gzip -9c "$pkg/ilive_bg.wasm" | wc -c) / 1024 ))
js_kb=$(( $(gzip -9c "$pkg/ilive.js" | wc -c) / 1024 ))
log "browser bundle: ilive_bg.wasm ${wasm_kb} KB + ilive.js ${js_kb} KB gzipped"
