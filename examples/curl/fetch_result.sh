#!/usr/bin/env bash
# Fetch a session's result, then its photo (only exists when the verdict is "pass").
# Usage: ILIVE_URL=... ./fetch_result.sh SESSION_ID TOKEN [photo.jpg]
set -euo pipefail
id=$1 token=$2 photo=${3:-photo.jpg}
base=${ILIVE_URL%/}

echo "result:"
curl -sS --fail-with-body "$base/api/v1/session/$id/result?token=$token"
echo

# 200 = JPEG saved; 202 = still being made (see Retry-After); 404 photo_not_available = not a pass.
code=$(curl -sS -o "$photo" -w '%{http_code}' "$base/api/v1/session/$id/photo?token=$token")
echo "photo: HTTP $code"
if [ "$code" != 200 ]; then cat "$photo"; echo; rm -f "$photo"; fi
