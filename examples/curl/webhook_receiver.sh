#!/usr/bin/env bash
# Receive iLive webhooks over HTTP with socat, bash and openssl: socat accepts the connections
# and runs webhook_handler.sh once per request (stdin = request, stdout = response).
# Environment: ILIVE_WEBHOOK_SECRET (whsec_...), PORT (default 8000),
#   SEEN_DIR  optional: where handled session ids are recorded (default: a temporary folder,
#             removed on exit; give a lasting one so retries after a restart stay de-duplicated).
# Prints "listening on ..."; the handler logs "verified ...", "duplicate ..." or "rejected: ...".
# A tiny shell server is fine for a low-volume backend; behind a proxy that terminates TLS.
set -euo pipefail
: "${ILIVE_WEBHOOK_SECRET:?set ILIVE_WEBHOOK_SECRET to your tenant signing secret (whsec_...)}"
command -v socat > /dev/null || { echo "socat is required: apt-get install socat" >&2; exit 1; }
port=${PORT:-8000}
here=$(cd "$(dirname "$0")" && pwd)

if [ -z "${SEEN_DIR:-}" ]; then
  SEEN_DIR=$(mktemp -d)
  trap 'rm -rf "$SEEN_DIR"' EXIT
fi
export ILIVE_WEBHOOK_SECRET SEEN_DIR

# fork: one handler per connection; -T 10: drop a connection idle for 10 s.
cd "$here"
socat -T 10 "TCP-LISTEN:$port,bind=127.0.0.1,reuseaddr,fork" EXEC:"bash webhook_handler.sh" &
socat_pid=$!
trap 'kill "$socat_pid" 2> /dev/null' INT TERM
echo "listening on 127.0.0.1:$port"
wait "$socat_pid"
