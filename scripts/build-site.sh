#!/usr/bin/env bash
# Builds the browser bundles without cargo-leptos: the frontend crate to WASM (size-tuned
# profile), wasm-bindgen's JS glue (the workspace's `ilive-bindgen`, built with the server by
# build_native), wasm-opt when available, and the stylesheet, into $ILIVE_ROOT/target/site/pkg,
# each file also gzipped. Skips the work when nothing the bundle depends on changed. Fails when
# the gzipped bundle is over the page's budget (lib.sh).
source "$(dirname "$0")/lib.sh"

site="$ILIVE_ROOT/target/site"
pkg="$site/pkg"
mkdir -p "$pkg"

profile="${ILIVE_WASM_PROFILE:-wasm-release}"
profile_dir="$profile"
[ "$profile" = dev ] && profile_dir=debug
wasm="$CARGO_TARGET_DIR/wasm32-unknown-unknown/$profile_dir/frontend.wasm"

# bundle NAME [CARGO ARGS…]: the frontend crate built with the arguments, as pkg/NAME.js and
# pkg/NAME_bg.wasm. Cargo keeps each feature set's compiled crates, so switching between them
# only relinks; the JS glue and wasm-opt rerun only when that build's WASM changed.
bundle() {
  local name="$1"
  shift
  log "building the browser bundle $name ($profile)"
  cargo build --quiet -p frontend --lib --target wasm32-unknown-unknown --profile "$profile" "$@"
  [ -f "$wasm" ] || die "the frontend build produced no $wasm"
  # Both feature sets link to the same path, so the build's content (not its time) tells
  # whether this bundle must be regenerated.
  local stamp="$pkg/.$name.stamp" digest
  digest="$(sha256sum < "$wasm") $profile"
  if [ "$(cat "$stamp" 2>/dev/null)" != "$digest" ] || [ ! -f "$pkg/${name}_bg.wasm" ]; then
    local bindgen strip=()
    bindgen="$(build_native)/ilive-bindgen"
    [ "$profile" != dev ] && strip=(--strip)
    "$bindgen" "$wasm" --out-dir "$pkg" --out-name "$name" ${strip[@]+"${strip[@]}"} \
      || die "generating the JS glue of $name failed"
    local opt="$ILIVE_CACHE/tools/node_modules/.bin/wasm-opt"
    if [ -x "$opt" ] && [ "$profile" != "dev" ]; then
      "$opt" -Oz --enable-bulk-memory --enable-nontrapping-float-to-int --enable-sign-ext \
        --enable-mutable-globals "$pkg/${name}_bg.wasm" -o "$pkg/${name}_bg.wasm.opt" \
        && mv "$pkg/${name}_bg.wasm.opt" "$pkg/${name}_bg.wasm"
    fi
    echo "$digest" > "$stamp"
  fi
}

# Two bundles: the demo page's (`/`), and the session page's, which leaves the demo out
# (app::ssr::page_bundle picks one per page; docs/performance.md, "Page weight").
bundle ilive --features demo
bundle ilive-session
cp "$ILIVE_ROOT/style/main.css" "$pkg/ilive.css"

# What a page loads besides its HTML: the server sends each file's .gz to browsers that accept
# gzip (server/src/ssr.rs). Fonts and icons are the system's and inline SVG. The budget holds
# for the session page (the demo page, for developers, only has its size printed).
for f in ilive_bg.wasm ilive.js ilive-session_bg.wasm ilive-session.js ilive.css; do
  gzip -9 -n -c "$pkg/$f" > "$pkg/$f.gz"
done
kb() { echo $(( ($1 + 1023) / 1024 )); }
gz() { wc -c < "$pkg/$1.gz"; }
session=$(( $(gz ilive-session_bg.wasm) + $(gz ilive-session.js) + $(gz ilive.css) ))
demo=$(( $(gz ilive_bg.wasm) + $(gz ilive.js) + $(gz ilive.css) ))
budget_kb="$ILIVE_PAGE_BUDGET_KB"
log "session page's bundle, gzipped: WASM $(kb "$(gz ilive-session_bg.wasm)") KB, JS $(kb "$(gz ilive-session.js)") KB, CSS $(kb "$(gz ilive.css)") KB, total $(kb $session) KB (budget ${budget_kb} KB); demo page's: total $(kb $demo) KB"
# The budget holds for the size-tuned bundle; a debug bundle is not meant to be small.
if [ "$profile" != dev ] && [ "$session" -gt $(( budget_kb * 1024 )) ]; then
  die "the session page's bundle is $(kb $session) KB gzipped, over its ${budget_kb} KB budget (docs/performance.md, \"Page weight\")"
fi
