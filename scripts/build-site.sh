#!/usr/bin/env bash
# Builds the browser bundle without cargo-leptos: the frontend crate to WASM (size-tuned
# profile), wasm-bindgen's JS glue (the workspace's `ilive-bindgen`, built with the server by
# build_native), wasm-opt when available, and the stylesheet, into $ILIVE_ROOT/target/site/pkg,
# each file also gzipped. Skips the work when nothing the bundle depends on changed. Fails when
# the gzipped bundle is over the page's budget (lib.sh).
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
  bindgen="$(build_native)/ilive-bindgen"
  strip=()
  [ "$profile" != dev ] && strip=(--strip)
  "$bindgen" "$wasm" --out-dir "$pkg" --out-name ilive ${strip[@]+"${strip[@]}"} \
    || die "generating the bundle's JS glue failed"
  opt="$ILIVE_CACHE/tools/node_modules/.bin/wasm-opt"
  if [ -x "$opt" ] && [ "$profile" != "dev" ]; then
    "$opt" -Oz --enable-bulk-memory --enable-nontrapping-float-to-int --enable-sign-ext \
      --enable-mutable-globals "$pkg/ilive_bg.wasm" -o "$pkg/ilive_bg.wasm.opt" \
      && mv "$pkg/ilive_bg.wasm.opt" "$pkg/ilive_bg.wasm"
  fi
  touch "$stamp"
fi
cp "$ILIVE_ROOT/style/main.css" "$pkg/ilive.css"

# What the session page loads besides its HTML: the server sends each file's .gz to browsers
# that accept gzip (server/src/ssr.rs). Fonts and icons are the system's and inline SVG.
total=0
sizes=()
for f in ilive_bg.wasm ilive.js ilive.css; do
  gzip -9 -n -c "$pkg/$f" > "$pkg/$f.gz"
  bytes=$(wc -c < "$pkg/$f.gz")
  total=$(( total + bytes ))
  sizes+=("$f $(( (bytes + 1023) / 1024 )) KB")
done
total_kb=$(( (total + 1023) / 1024 ))
budget_kb="$ILIVE_PAGE_BUDGET_KB"
log "browser bundle, gzipped: ${sizes[*]/%/,} total ${total_kb} KB (budget ${budget_kb} KB)"
# The budget holds for the size-tuned bundle; a debug bundle is not meant to be small.
if [ "$profile" != dev ] && [ "$total" -gt $(( budget_kb * 1024 )) ]; then
  die "the session page's bundle is ${total_kb} KB gzipped, over its ${budget_kb} KB budget (docs/performance.md, \"Page weight\")"
fi
