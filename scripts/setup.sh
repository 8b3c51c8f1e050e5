#!/usr/bin/env bash
# Installs the build tools iLive needs, skipping whatever is already present: the wasm32 target
# and (for size) npm's binaryen wasm-opt. Safe to run any number of times.
source "$(dirname "$0")/lib.sh"

command -v cargo >/dev/null || die "Rust is required: install it with rustup"

if ! rustup target list --installed 2>/dev/null | grep -qx wasm32-unknown-unknown; then
  log "adding the wasm32-unknown-unknown target"
  rustup target add wasm32-unknown-unknown
fi

# wasm-bindgen's JS glue comes from the workspace's own `ilive-bindgen` (tools/), built with the
# server at the crate's exact version: nothing to install for it.

# Debian's wasm-opt (binaryen 108) miscompiles the release WASM; npm's binaryen works.
tools="$ILIVE_CACHE/tools"
if [ ! -x "$tools/node_modules/.bin/wasm-opt" ]; then
  if command -v npm >/dev/null; then
    log "installing binaryen's wasm-opt from npm"
    mkdir -p "$tools"
    (cd "$tools" && npm install --silent --no-audit --no-fund binaryen@132.0.0 >/dev/null) \
      || log "wasm-opt unavailable: the WASM will be larger but still works"
  fi
fi

# The test command checks the server against its OpenAPI document with Schemathesis, pinned, in
# a virtual environment of its own (scripts/lib.sh).
if [ "${1:-}" = "--browser" ]; then
  ensure_schemathesis
fi

# The browser tests need Debian's Chromium (no browser downloads) and openssl; `ilive eval`
# reads videos with ffmpeg; the shell webhook receiver in examples/curl is served by socat;
# PostgreSQL's server runs the integration tests' second pass; nginx fronts one browser scenario.
# Only with --browser (the test command), and only what is missing.
if [ "${1:-}" = "--browser" ]; then
  missing=()
  [ -x /usr/bin/chromium ] || missing+=(chromium)
  command -v ffmpeg >/dev/null || missing+=(ffmpeg)
  command -v openssl >/dev/null || missing+=(openssl)
  command -v socat >/dev/null || missing+=(socat)
  # The integration tests run a second time on a throw-away PostgreSQL (scripts/postgres.sh).
  compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null || missing+=(postgresql)
  # One browser scenario runs through nginx with TLS, configured by deploy/nginx.conf.
  [ -x /usr/sbin/nginx ] || missing+=(nginx-light)
  if [ ${#missing[@]} -gt 0 ]; then
    log "installing ${missing[*]} from Debian's packages"
    sudo=""
    [ "$(id -u)" = 0 ] || sudo="sudo"
    $sudo apt-get update -qq && $sudo apt-get install -y -qq "${missing[@]}" >/dev/null \
      || die "could not install ${missing[*]}: install them with apt-get"
  fi
fi
