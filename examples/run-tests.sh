#!/usr/bin/env bash
# Runs every integration example against a real iLive server: a fresh temp database, a real
# tenant key, real managed sessions and real signed webhook deliveries.
# Usage: bash examples/run-tests.sh        (ILIVE_BIN=/path/to/ilive to pick the binary)
set -uo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)
BIN=${ILIVE_BIN:-${CARGO_TARGET_DIR:-$HOME/.cache/ilive/target}/debug/ilive}
if [ ! -x "$BIN" ]; then
  echo "building ilive..."
  (cd "$ROOT" && CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$HOME/.cache/ilive/target} cargo build -q -p server --bin ilive) || exit 1
fi

TMP=$(mktemp -d)
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
  wait 2>/dev/null
  rm -rf "$TMP"
}
trap cleanup EXIT
PASS=0 FAIL=0
ok()   { PASS=$((PASS + 1)); echo "  ok   $1"; }
bad()  { FAIL=$((FAIL + 1)); echo "  FAIL $1"; [ -n "${2:-}" ] && echo "$2" | sed 's/^/       /'; }
check() { local name=$1; shift; if "$@"; then ok "$name"; else bad "$name"; fi; }
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_for() { # wait_for SECONDS COMMAND...
  local deadline=$(( $(date +%s) + $1 )); shift
  until "$@"; do [ "$(date +%s)" -ge "$deadline" ] && return 1; sleep 0.2; done
}
sign() { printf '%s.%s' "$1" "$2" | openssl dgst -sha256 -hmac "$SECRET" | sed 's/^.*= *//'; }
post_webhook() { # post_webhook URL TIMESTAMP SIGNATURE BODY -> prints HTTP status
  curl -s -o /dev/null -w '%{http_code}' -X POST "$1" -H 'Content-Type: application/json' \
    -H "X-iLive-Timestamp: $2" -H "X-iLive-Webhook-Id: $(python3 -c 'import uuid; print(uuid.uuid4())')" \
    -H "X-iLive-Signature: sha256=$3" --data-binary "$4"
}

# --- server ---------------------------------------------------------------------------------
PORT=$(free_port)
export ILIVE_URL=http://127.0.0.1:$PORT
keys=$("$BIN" --database-url "sqlite://$TMP/db.sqlite" keys create --tenant examples 2>&1) || { echo "$keys"; exit 1; }
export ILIVE_API_KEY=$(echo "$keys" | grep -o 'iksk_[0-9a-zA-Z_]*' | head -1)
SECRET=$(echo "$keys" | grep -o 'whsec_[0-9a-zA-Z_]*' | head -1)
export ILIVE_WEBHOOK_SECRET=$SECRET
RAYON_NUM_THREADS=1 "$BIN" --addr "127.0.0.1:$PORT" --database-url "sqlite://$TMP/db.sqlite" \
  --public-url "$ILIVE_URL" --site-root "$ROOT/target/site" --dev-allow-insecure-urls \
  > "$TMP/server.log" 2>&1 &
PIDS+=($!)
if ! wait_for 30 curl -sf -o /dev/null "$ILIVE_URL/healthz"; then
  echo "server did not start:"; cat "$TMP/server.log"; echo "0 passed, 1 failed"; exit 1
fi
echo "server on $ILIVE_URL"

# --- python / node: receiver + create + fetch -------------------------------------------------
run_receiver_example() { # run_receiver_example NAME RECEIVER_CMD CREATE_CMD FETCH_CMD
  local name=$1 recv=$2 create=$3 fetch=$4
  echo "$name:"
  local rport log out sid token url
  rport=$(free_port); log=$TMP/$name-receiver.log
  PORT=$rport $recv > "$log" 2>&1 &
  PIDS+=($!)
  if ! wait_for 15 grep -q listening "$log"; then bad "$name receiver starts" "$(cat "$log")"; return; fi
  local hook=http://127.0.0.1:$rport/webhook

  out=$(REDIRECT_URL=http://127.0.0.1:$rport/done WEBHOOK_URL=$hook REFERENCE_ID=$name-ref $create 2>&1)
  sid=$(echo "$out" | sed -n 's/^session_id=//p'); token=$(echo "$out" | sed -n 's/^token=//p')
  url=$(echo "$out" | sed -n 's/^session_url=//p')
  if [ -z "$sid" ] || [ -z "$token" ] || [ -z "$url" ]; then bad "$name create_session" "$out"; return; fi
  ok "$name create_session"

  # Complete the session for real: open the capture WebSocket and cancel (verdict retry).
  python3 "$HERE/tests/ws_cancel.py" "$url" > "$TMP/$name-ws.log" 2>&1
  if wait_for 30 grep -q "^verified .*$sid" "$log"; then ok "$name receiver verifies a real signed delivery"
  else bad "$name receiver verifies a real signed delivery" "$(cat "$log" "$TMP/$name-ws.log")"; fi

  local ts body sig code
  ts=$(date +%s)
  body="{\"event\":\"liveness.verdict\",\"session_id\":\"$sid\",\"verdict\":\"retry\"}"
  sig=$(sign "$ts" "$body")
  code=$(post_webhook "$hook" "$ts" "$sig" "${body/retry/pass}")
  check "$name receiver rejects a tampered body (got $code)" [ "$code" = 401 ]
  local old=$(( ts - 600 ))
  code=$(post_webhook "$hook" "$old" "$(sign "$old" "$body")" "$body")
  check "$name receiver rejects an old timestamp (got $code)" [ "$code" = 401 ]
  code=$(post_webhook "$hook" "$ts" "$(sign "$ts" "$body")" "$body")
  if [ "$code" = 200 ] && wait_for 5 grep -q "^duplicate $sid" "$log"; then ok "$name receiver is idempotent on session_id"
  else bad "$name receiver is idempotent on session_id (got $code)" "$(cat "$log")"; fi

  out=$($fetch "$sid" "$token" "$TMP/$name-photo.jpg" 2>&1)
  if echo "$out" | grep -qx 'status=completed' && echo "$out" | grep -qx 'verdict=retry' \
     && echo "$out" | grep -qx 'photo=unavailable 404 photo_not_available'; then ok "$name fetch_result"
  else bad "$name fetch_result" "$out"; fi
}

run_receiver_example python "python3 $HERE/python/webhook_receiver.py" \
  "python3 $HERE/python/create_session.py" "python3 $HERE/python/fetch_result.py"
if command -v node > /dev/null; then
  run_receiver_example node "node $HERE/node/webhook_receiver.mjs" \
    "node $HERE/node/create_session.mjs" "node $HERE/node/fetch_result.mjs"
else
  echo "node: not installed, skipped"
fi

# --- curl + openssl ----------------------------------------------------------------------------
echo "curl:"
curl_example() {
  local rport cap out sid token url
  rport=$(free_port); cap=$TMP/curl-capture; mkdir -p "$cap"
  PORT=$rport python3 "$HERE/tests/capture_receiver.py" "$cap" > "$TMP/curl-capture.log" 2>&1 &
  PIDS+=($!)
  wait_for 15 curl -s -o /dev/null "http://127.0.0.1:$rport/"
  out=$(REDIRECT_URL=http://127.0.0.1:$rport/done WEBHOOK_URL=http://127.0.0.1:$rport/webhook \
        bash "$HERE/curl/create_session.sh" 2>&1)
  read -r sid token url < <(echo "$out" | python3 -c \
    'import json,sys; d=json.load(sys.stdin); print(d["session_id"], d["token"], d["session_url"])' 2>/dev/null)
  if [ -z "${url:-}" ]; then bad "curl create_session.sh" "$out"; return; fi
  ok "curl create_session.sh"

  python3 "$HERE/tests/ws_cancel.py" "$url" > "$TMP/curl-ws.log" 2>&1
  if ! wait_for 30 test -s "$cap/1.headers"; then bad "curl receives a real delivery" "$(cat "$TMP/curl-ws.log")"; return; fi
  local ts sig
  ts=$(sed -n 1p "$cap/1.headers"); sig=$(sed -n 2p "$cap/1.headers")
  out=$(bash "$HERE/curl/verify_webhook.sh" "$ts" "$sig" "$cap/1.body" 2>&1)
  if [ "$out" = valid ] && grep -q "$sid" "$cap/1.body"; then ok "curl verify_webhook.sh accepts a real signed delivery"
  else bad "curl verify_webhook.sh accepts a real signed delivery" "$out"; fi
  sed 's/"retry"/"pass"/' "$cap/1.body" > "$TMP/tampered.body"
  check "curl verify_webhook.sh rejects a tampered body" \
    bash -c '! bash "$0" "$1" "$2" "$3" > /dev/null' "$HERE/curl/verify_webhook.sh" "$ts" "$sig" "$TMP/tampered.body"
  local old=$(( $(date +%s) - 600 ))
  check "curl verify_webhook.sh rejects an old timestamp" \
    bash -c '! bash "$0" "$1" "$2" "$3" > /dev/null' "$HERE/curl/verify_webhook.sh" "$old" \
    "sha256=$( { printf '%s.' "$old"; cat "$cap/1.body"; } | openssl dgst -sha256 -hmac "$SECRET" | sed 's/^.*= *//')" "$cap/1.body"

  out=$(bash "$HERE/curl/fetch_result.sh" "$sid" "$token" "$TMP/curl-photo.jpg" 2>&1)
  if echo "$out" | grep -q '"status":"completed"' && echo "$out" | grep -q '"verdict":"retry"' \
     && echo "$out" | grep -q 'photo: HTTP 404' && echo "$out" | grep -q photo_not_available; then ok "curl fetch_result.sh"
  else bad "curl fetch_result.sh" "$out"; fi
}
curl_example

echo "$PASS passed, $FAIL failed"
[ "$FAIL" -eq 0 ]
