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
case $ts in ''|*[!0-9]*|?????????????*) echo "invalid: bad timestamp"; exit 1;; esac
now=$(date +%s) t=$((10#$ts)) # base 10 even with leading zeros
age=$(( now > t ? now - t : t - now ))
if [ "$age" -gt 300 ]; then echo "invalid: timestamp outside 300 s window"; exit 1; fi
# Note: openssl takes the key on its command line, where other users of this host can see it
# (ps); run this on a machine only you use, or verify in a language with an HMAC library.
expected="sha256=$( { printf '%s.' "$ts"; cat "$body_file"; } \
  | openssl dgst -sha256 -hmac "$ILIVE_WEBHOOK_SECRET" | sed 's/^.*= *//')"
# The shell's string comparison is not constant-time. Compare HMACs of both values under a
# fresh random key instead: how long the comparison takes then says nothing about the expected
# signature, only about two values the caller cannot predict.
key=$(openssl rand -hex 32)
h() { printf '%s' "$1" | openssl dgst -sha256 -hmac "$key" | sed 's/^.*= *//'; }
if [ "$(h "$expected")" = "$(h "$sig")" ]; then echo valid; else echo "invalid: signature mismatch"; exit 1; fi
