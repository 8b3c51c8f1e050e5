# Shared helpers for iLive's set-up scripts. Sourced, never run.
# Every cache lives outside the clone so that a fresh checkout reuses tools, weights and builds.
set -euo pipefail
ILIVE_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export ILIVE_ROOT
export ILIVE_CACHE="${ILIVE_CACHE:-$HOME/.cache/ilive}"
export ILIVE_MODELS_DIR="${ILIVE_MODELS_DIR:-$ILIVE_CACHE/models}"
export ILIVE_FIXTURES_DIR="${ILIVE_FIXTURES_DIR:-$ILIVE_CACHE/fixtures}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$ILIVE_CACHE/target}"
mkdir -p "$ILIVE_CACHE"

# The session page's weight budget: everything it loads, gzipped as the server sends it
# (docs/performance.md, "Page weight"). build-site.sh checks the bundle against it, the browser
# tests the whole page.
export ILIVE_PAGE_BUDGET_KB="${ILIVE_PAGE_BUDGET_KB:-200}"

# The Cargo profile of the native binaries: `dev` (what `cargo test` builds) unless the caller
# sets another; the run command serves `release` (docs/performance.md, "The served build").
export ILIVE_PROFILE="${ILIVE_PROFILE:-dev}"

# build_native [BIN…]: the server, the weight converter and the bundle's JS glue generator (and
# any other tool binaries named) in one Cargo invocation, in $ILIVE_PROFILE. Built together they
# resolve one feature set, the same as `cargo test --workspace` (server/Cargo.toml names the few
# features the tests add), so candle and the other dependencies compile once for all of them
# (docs/development.md, "One build"). Prints the folder that holds the binaries.
build_native() {
  local profile="$ILIVE_PROFILE" dir bins=(--bin ilive --bin ilive-models --bin ilive-bindgen)
  for b in "$@"; do bins+=(--bin "$b"); done
  (cd "$ILIVE_ROOT" && cargo build --quiet --profile "$profile" -p server -p ilive-tools "${bins[@]}") \
    || die "building the server and the tools ($profile) failed"
  dir="$profile"
  [ "$profile" = dev ] && dir=debug
  echo "$CARGO_TARGET_DIR/$dir"
}

log() { printf '\033[1m[ilive]\033[0m %s\n' "$*" >&2; }
die() { printf '\033[31m[ilive] error:\033[0m %s\n' "$*" >&2; exit 1; }

# --- a real server for the black-box tests (examples/run-tests.sh, scripts/schemathesis.sh) -----
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_for() { # wait_for SECONDS COMMAND...
  local deadline=$(( $(date +%s) + $1 )); shift
  until "$@"; do [ "$(date +%s)" -ge "$deadline" ] && return 1; sleep 0.2; done
}

# start_ilive BIN DIR [SERVER FLAGS...]: a fresh database in DIR with one tenant key, and the
# server on a free loopback port, in the background. Sets ILIVE_URL, ILIVE_API_KEY,
# ILIVE_WEBHOOK_SECRET and ILIVE_PID; the log is DIR/server.log. Fails if it never gets healthy.
start_ilive() {
  local bin=$1 dir=$2 port keys; shift 2
  port=$(free_port)
  keys=$("$bin" --database-url "sqlite://$dir/db.sqlite" keys create --tenant tests 2>&1) \
    || { echo "$keys" >&2; return 1; }
  ILIVE_API_KEY=$(echo "$keys" | grep -o 'iksk_[0-9a-zA-Z_]*' | head -1)
  ILIVE_WEBHOOK_SECRET=$(echo "$keys" | grep -o 'whsec_[0-9a-zA-Z_]*' | head -1)
  ILIVE_URL=http://127.0.0.1:$port
  export ILIVE_URL ILIVE_API_KEY ILIVE_WEBHOOK_SECRET
  RAYON_NUM_THREADS=1 "$bin" --addr "127.0.0.1:$port" --database-url "sqlite://$dir/db.sqlite" \
    --public-url "$ILIVE_URL" --site-root "$ILIVE_ROOT/target/site" "$@" > "$dir/server.log" 2>&1 &
  ILIVE_PID=$!
  if ! wait_for 60 curl -sf -o /dev/null "$ILIVE_URL/healthz"; then
    echo "the server did not start:" >&2; cat "$dir/server.log" >&2; return 1
  fi
}

# Schemathesis, pinned, in a virtual environment of its own under the cache (once).
SCHEMATHESIS_VERSION=4.32.5
SCHEMATHESIS="$ILIVE_CACHE/schemathesis-$SCHEMATHESIS_VERSION/bin/schemathesis"
ensure_schemathesis() {
  [ -x "$SCHEMATHESIS" ] && return 0
  log "installing Schemathesis $SCHEMATHESIS_VERSION (once)"
  local venv="$ILIVE_CACHE/schemathesis-$SCHEMATHESIS_VERSION"
  python3 -m venv "$venv" && "$venv/bin/pip" install -q "schemathesis==$SCHEMATHESIS_VERSION" \
    || { rm -rf "$venv"; die "could not install Schemathesis $SCHEMATHESIS_VERSION with pip"; }
}
