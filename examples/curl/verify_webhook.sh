#!/usr/bin/env bash
# Verify an iLive webhook delivery with openssl.
# Usage: ILIVE_WEBHOOK_SECRET=whsec_... ./verify_webhook.sh TIMESTAMP SIGNATURE BODY_FILE
#   TIMESTAMP  the X-iLive-Timestamp header (unix seconds)
#   SIGNATURE  the X-iLive-Signature header ("sha256=<hex>")
#   BODY_FILE  the raw request body, byte for byte
# Exits 0 and prints "valid" if the signature matches and the timestamp is within 300 s;
# exits 1 otherwise. Your receiver must answer 401 when this fails.
set -euo pipefail
ts=$1 sig=$2 body_file=$3
case $ts in ''|*[!0-9]*) echo "invalid: bad timestamp"; exit 1;; esac
now=$(date +%s)
age=$(( now > ts ? now - ts : ts - now ))
if [ "$age" -gt 300 ]; then echo "invalid: timestamp outside 300 s window"; exit 1; fi
expected="sha256=$( { printf '%s.' "$ts"; cat "$body_file"; } \
  | openssl dgst -sha256 -hmac "$ILIVE_WEBHOOK_SECRET" | sed 's/^.*= *//')"
# Compare HMACs of both values so the comparison time does not depend on the secret signature.
h() { printf '%s' "$1" | openssl dgst -sha256 -hmac "$ts" | sed 's/^.*= *//'; }
if [ "$(h "$expected")" = "$(h "$sig")" ]; then echo valid; else echo "invalid: signature mismatch"; exit 1; fi
