#!/usr/bin/env bash
# One iLive webhook request, run by socat (see webhook_receiver.sh): reads the HTTP request on
# stdin, verifies it with verify_webhook.sh (HMAC-SHA256 over "<timestamp>.<raw body>", 300 s
# window), de-duplicates on session_id, and writes the response on stdout: 401 if the check
# fails, 204 otherwise. Logs go to stderr (socat's log), since stdout is the connection.
set -uo pipefail
MAX_BODY=1048576 # iLive's payload is well under 1 KiB

reply() { printf 'HTTP/1.1 %s\r\nContent-Length: 0\r\nConnection: close\r\n\r\n' "$1"; exit 0; }
log() { echo "$*" >&2; }
trim() { local s=${1%$'\r'}; s=${s#"${s%%[![:space:]]*}"}; printf '%s' "${s%"${s##*[![:space:]]}"}"; }

# Request line, then headers up to the empty line. bash reads a socket byte by byte, so the
# body is still unread afterwards.
read -r method _ || exit 0
ts="" sig="" webhook_id="" len=""
while IFS= read -r line; do
  line=$(trim "$line")
  [ -z "$line" ] && break
  value=$(trim "${line#*:}")
  case $(trim "${line%%:*}" | tr '[:upper:]' '[:lower:]') in
    x-ilive-timestamp) ts=$value ;;
    x-ilive-signature) sig=$value ;;
    x-ilive-webhook-id) webhook_id=$value ;;
    content-length) len=$value ;;
  esac
done
[ "$method" = POST ] || reply "405 Method Not Allowed"
case $len in '' | *[!0-9]*) reply "411 Length Required" ;; esac
[ "$len" -le "$MAX_BODY" ] || reply "413 Content Too Large"

# Keep the raw bytes: the signature covers them exactly, never a re-serialised copy.
body=$(mktemp)
trap 'rm -f "$body"' EXIT
head -c "$len" > "$body"

if ! why=$(bash "$(dirname "$0")/verify_webhook.sh" "$ts" "$sig" "$body"); then
  log "rejected: ${why#invalid: }"
  reply "401 Unauthorized"
fi

# The body is iLive's compact JSON now that its signature checked out. Without jq, read the two
# string fields with sed (with jq: jq -r .session_id).
field() { sed -n "s/.*\"$1\":\"\([^\"]*\)\".*/\1/p" "$body" | head -1; }
sid=$(field session_id) verdict=$(field verdict)
case $sid in '' | *[!0-9A-Za-z-]*) log "rejected: no session_id"; reply "400 Bad Request" ;; esac

# mkdir is atomic, so two concurrent retries of one delivery cannot both get through.
if mkdir "$SEEN_DIR/$sid" 2> /dev/null; then
  log "verified session_id=$sid verdict=$verdict webhook_id=$webhook_id"
  # Act on $verdict here: "pass", "fail" or "retry".
else
  log "duplicate $sid"
fi
reply "204 No Content"
