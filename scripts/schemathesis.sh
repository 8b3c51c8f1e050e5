#!/usr/bin/env bash
# Checks the real server against its own OpenAPI document with Schemathesis: every operation,
# all checks, the stateful phase following the document's links, a fixed seed and a bounded
# number of examples. Part of the test command; about 15 s once the server is built.
# Usage: bash scripts/schemathesis.sh      (ILIVE_BIN=/path/to/ilive to pick the binary)
source "$(dirname "$0")/lib.sh"
ensure_schemathesis
BIN=${ILIVE_BIN:-$CARGO_TARGET_DIR/debug/ilive}
if [ -z "${ILIVE_BIN:-}" ]; then
  (cd "$ILIVE_ROOT" && cargo build -q -p server --bin ilive) || die "could not build ilive"
fi

TMP=$(mktemp -d)
cleanup() {
  [ -n "${ILIVE_PID:-}" ] && kill "$ILIVE_PID" 2>/dev/null && wait "$ILIVE_PID" 2>/dev/null
  rm -rf "$TMP"
}
trap cleanup EXIT

# Production URL rules (no --dev-allow-insecure-urls). Limits high enough that the run measures
# the contract, not the rate limiter; the limiter's own answers are checked by server/tests.
start_ilive "$BIN" "$TMP" --key-rate-limit 1000000 --direct-rate-limit 1000000 \
  --max-live-sessions 100000 || die "the server did not start"

start=$(date +%s)
# From inside TMP, so that Schemathesis' own files stay out of the clone.
set +e
(cd "$TMP" && SCHEMATHESIS_HOOKS="$ILIVE_ROOT/scripts/schemathesis_hooks.py" "$SCHEMATHESIS" --config-file "$ILIVE_ROOT/scripts/schemathesis.toml" run \
  "$ILIVE_URL/api/openapi.json" -H "Authorization: Bearer $ILIVE_API_KEY" \
  --no-color) > "$TMP/schemathesis.log" 2>&1
rc=$?
set -e
summary=$(grep -E '^ *[0-9]+ generated' "$TMP/schemathesis.log" | tail -1 | sed 's/^ *//')
if [ "$rc" -ne 0 ]; then
  cat "$TMP/schemathesis.log"
  echo "server log (tail):"; tail -20 "$TMP/server.log"
  die "Schemathesis found mismatches between the server and its OpenAPI document ($summary)"
fi
log "Schemathesis: $summary, in $(( $(date +%s) - start )) s"
