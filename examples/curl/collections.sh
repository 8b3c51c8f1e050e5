#!/usr/bin/env bash
# Face collections with curl: create a collection, enrol a photo under your own id for the
# person, search with another photo (1:N), list for duplicates, then delete what was enrolled.
# Usage: ILIVE_URL=... ILIVE_API_KEY=... ./collections.sh ENROL_PHOTO SEARCH_PHOTO [COLLECTION]
# Only the face's descriptor and your external_id are stored, never the photo (docs/api.md,
# "Collections").
set -euo pipefail
enrol=$1 probe=$2 collection=${3:-members}
base=${ILIVE_URL%/}/api/v2/collections
auth=(-H "Authorization: Bearer $ILIVE_API_KEY")

echo "create:"
curl -sS --fail-with-body "${auth[@]}" -H 'Content-Type: application/json' \
  -d "{\"collection_id\": \"$collection\", \"description\": \"curl example\"}" "$base"
echo

echo "enrol:"
curl -sS --fail-with-body "${auth[@]}" -F "image=@$enrol" -F external_id=customer-42 \
  "$base/$collection/faces"
echo

# The default operating point (fmr_1e-3) is strict; name another with -F operating_point=...
echo "search:"
curl -sS --fail-with-body "${auth[@]}" -F "image=@$probe" -F max_results=5 \
  "$base/$collection/faces:search"
echo

echo "duplicates:"
curl -sS --fail-with-body "${auth[@]}" "$base/$collection/duplicates"
echo

echo "delete:"
curl -sS --fail-with-body "${auth[@]}" -X DELETE -o /dev/null -w '%{http_code}\n' "$base/$collection"
