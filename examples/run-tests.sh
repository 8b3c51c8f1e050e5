#!/usr/bin/env bash
# Runs every integration example against a real iLive server: a fresh temp database, a real
# tenant key, real managed sessions and real signed webhook deliveries.
# Usage: bash examples/run-tests.sh        (ILIVE_BIN=/path/to/ilive to pick the binary)
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)
source "$ROOT/scripts/lib.sh"
# Every check reports and the run goes on; the summary line decides.
set +e
TARGET=$CARGO_TARGET_DIR
BIN=${ILIVE_BIN:-$TARGET/debug/ilive}
if [ ! -x "$BIN" ]; then
  echo "building ilive..."
  (cd "$ROOT" && CARGO_TARGET_DIR=$TARGET cargo build -q -p server --bin ilive) || exit 1
fi
# The Rust example's three programs (examples/rust), built into the same target folder.
RUST_EXAMPLE=""
if command -v cargo > /dev/null; then
  (cd "$ROOT" && CARGO_TARGET_DIR=$TARGET cargo build -q -p ilive-example) && RUST_EXAMPLE=$TARGET/debug
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
sign() { printf '%s.%s' "$1" "$2" | openssl dgst -sha256 -hmac "$SECRET" | sed 's/^.*= *//'; }
post_webhook() { # post_webhook URL TIMESTAMP SIGNATURE BODY -> prints HTTP status
  curl -s -o /dev/null -w '%{http_code}' -X POST "$1" -H 'Content-Type: application/json' \
    -H "X-iLive-Timestamp: $2" -H "X-iLive-Webhook-Id: $(python3 -c 'import uuid; print(uuid.uuid4())')" \
    -H "X-iLive-Signature: sha256=$3" --data-binary "$4"
}

# --- server ---------------------------------------------------------------------------------
# The receivers listen on loopback over http: only the development URL policy allows that.
if ! start_ilive "$BIN" "$TMP" --dev-allow-insecure-urls; then
  echo "0 passed, 1 failed"; exit 1
fi
PIDS+=("$ILIVE_PID")
SECRET=$ILIVE_WEBHOOK_SECRET
echo "server on $ILIVE_URL"

# Checks a running receiver beyond the real delivery: a tampered body and an old timestamp must
# get 401, and a valid second delivery for the same session must be answered OK_CODE and logged
# as a duplicate.
check_receiver() { # check_receiver NAME HOOK_URL RECEIVER_LOG SESSION_ID OK_CODE
  local name=$1 hook=$2 log=$3 sid=$4 okc=$5 ts body code old
  ts=$(date +%s)
  body="{\"event\":\"liveness.verdict\",\"session_id\":\"$sid\",\"verdict\":\"retry\"}"
  code=$(post_webhook "$hook" "$ts" "$(sign "$ts" "$body")" "${body/retry/pass}")
  check "$name receiver rejects a tampered body (got $code)" [ "$code" = 401 ]
  old=$(( ts - 600 ))
  code=$(post_webhook "$hook" "$old" "$(sign "$old" "$body")" "$body")
  check "$name receiver rejects an old timestamp (got $code)" [ "$code" = 401 ]
  code=$(post_webhook "$hook" "$ts" "$(sign "$ts" "$body")" "$body")
  if [ "$code" = "$okc" ] && wait_for 5 grep -q "^duplicate $sid" "$log"; then ok "$name receiver is idempotent on session_id"
  else bad "$name receiver is idempotent on session_id (got $code)" "$(cat "$log")"; fi
}

start_receiver() { # start_receiver NAME RECEIVER_CMD -> sets RPORT, RLOG; false if it never listens
  local name=$1 recv=$2
  RPORT=$(free_port); RLOG=$TMP/$name-receiver.log
  PORT=$RPORT $recv > "$RLOG" 2>&1 &
  PIDS+=($!)
  if ! wait_for 15 grep -q listening "$RLOG"; then bad "$name receiver starts" "$(cat "$RLOG")"; return 1; fi
}

# Completes a session for real: opens the capture WebSocket and cancels (verdict retry), then
# waits for the receiver to log the verified delivery.
complete_and_expect_delivery() { # NAME SESSION_URL SESSION_ID RECEIVER_LOG
  local name=$1 url=$2 sid=$3 log=$4
  python3 "$HERE/tests/ws_cancel.py" "$url" > "$TMP/$name-ws.log" 2>&1
  if wait_for 30 grep -q "^verified .*$sid" "$log"; then ok "$name receiver verifies a real signed delivery"
  else bad "$name receiver verifies a real signed delivery" "$(cat "$log" "$TMP/$name-ws.log")"; fi
}

# --- python / node / rust: receiver + create + fetch, same command-line contract --------------
run_receiver_example() { # run_receiver_example NAME RECEIVER_CMD CREATE_CMD FETCH_CMD
  local name=$1 recv=$2 create=$3 fetch=$4
  echo "$name:"
  local out sid token url
  start_receiver "$name" "$recv" || return
  local hook=http://127.0.0.1:$RPORT/webhook log=$RLOG

  out=$(REDIRECT_URL=http://127.0.0.1:$RPORT/done WEBHOOK_URL=$hook REFERENCE_ID=$name-ref $create 2>&1)
  sid=$(echo "$out" | sed -n 's/^session_id=//p'); token=$(echo "$out" | sed -n 's/^token=//p')
  url=$(echo "$out" | sed -n 's/^session_url=//p')
  if [ -z "$sid" ] || [ -z "$token" ] || [ -z "$url" ]; then bad "$name create_session" "$out"; return; fi
  ok "$name create_session"

  complete_and_expect_delivery "$name" "$url" "$sid" "$log"
  check_receiver "$name" "$hook" "$log" "$sid" 200

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
if [ -n "$RUST_EXAMPLE" ]; then
  run_receiver_example rust "$RUST_EXAMPLE/webhook_receiver" \
    "$RUST_EXAMPLE/create_session" "$RUST_EXAMPLE/fetch_result"
else
  echo "rust:"; bad "rust example builds (cargo build -p ilive-example)"
fi

# --- curl + shell: socat receiver, curl create + fetch -------------------------------------------
curl_example() {
  echo "curl:"
  if ! command -v socat > /dev/null; then bad "curl receiver needs socat (bash scripts/setup.sh --browser)"; return; fi
  local out sid token url
  start_receiver curl "bash $HERE/curl/webhook_receiver.sh" || return
  local hook=http://127.0.0.1:$RPORT/webhook log=$RLOG
  out=$(REDIRECT_URL=http://127.0.0.1:$RPORT/done WEBHOOK_URL=$hook REFERENCE_ID=curl-ref \
        bash "$HERE/curl/create_session.sh" 2>&1)
  read -r sid token url < <(echo "$out" | python3 -c \
    'import json,sys; d=json.load(sys.stdin); print(d["session_id"], d["token"], d["session_url"])' 2>/dev/null)
  if [ -z "${url:-}" ]; then bad "curl create_session.sh" "$out"; return; fi
  ok "curl create_session.sh"

  complete_and_expect_delivery curl "$url" "$sid" "$log"
  check_receiver curl "$hook" "$log" "$sid" 204

  out=$(bash "$HERE/curl/fetch_result.sh" "$sid" "$token" "$TMP/curl-photo.jpg" 2>&1)
  if echo "$out" | grep -q '"status":"completed"' && echo "$out" | grep -q '"verdict":"retry"' \
     && echo "$out" | grep -q 'photo: HTTP 404' && echo "$out" | grep -q photo_not_available; then ok "curl fetch_result.sh"
  else bad "curl fetch_result.sh" "$out"; fi
}
curl_example

# --- collections: enrol one photo, find the same person in another ------------------------------
collections_example() {
  local images=$ILIVE_FIXTURES_DIR/images out
  echo "collections:"
  if [ ! -f "$images/obama.jpg" ]; then bad "collections need the test photos (bash scripts/fixtures/fetch-images.sh)"; return; fi
  out=$(python3 "$HERE/python/collections.py" "$images/obama.jpg" "$images/obama2.jpg" py-members 2>&1)
  if echo "$out" | grep -q '^enrolled=' && echo "$out" | grep -q '^match=customer-42 '; then ok "python collections.py"
  else bad "python collections.py" "$out"; fi
  out=$(bash "$HERE/curl/collections.sh" "$images/obama.jpg" "$images/obama2.jpg" curl-members 2>&1)
  if echo "$out" | grep -q '"external_id":"customer-42"' && echo "$out" | grep -q '"face_count":1' \
     && echo "$out" | tail -1 | grep -qx 204; then ok "curl collections.sh"
  else bad "curl collections.sh" "$out"; fi
}
collections_example

echo "$PASS passed, $FAIL failed"
[ "$FAIL" -eq 0 ]
