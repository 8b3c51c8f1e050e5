#!/usr/bin/env bash
# Create a managed iLive liveness session with curl.
# Environment: ILIVE_URL, ILIVE_API_KEY (iksk_...), REDIRECT_URL, optional WEBHOOK_URL,
# REFERENCE_ID and MODE (active | passive). The values are placed in JSON as they are: no quotes
# or backslashes in them (or build the body with jq).
# Prints the JSON response: session_id, session_url (send the user there), token (keep it on
# your backend), mode, expires_at. Exits non-zero unless the server answers 201.
set -euo pipefail
body=$(printf '{"redirect_url":"%s","mode":"%s"' "$REDIRECT_URL" "${MODE:-active}")
if [ -n "${WEBHOOK_URL:-}" ]; then body+=$(printf ',"webhook_url":"%s"' "$WEBHOOK_URL"); fi
if [ -n "${REFERENCE_ID:-}" ]; then body+=$(printf ',"reference_id":"%s"' "$REFERENCE_ID"); fi
body+='}'
curl -sS --fail-with-body -X POST "${ILIVE_URL%/}/api/v1/managed-session" \
  -H "Authorization: Bearer $ILIVE_API_KEY" \
  -H "Content-Type: application/json" \
  -d "$body"
echo
