# Shared helpers for iLive's set-up scripts. Sourced, never run.
# Every cache lives outside the clone so that a fresh checkout reuses tools, weights and builds.
set -euo pipefail
ILIVE_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export ILIVE_ROOT
export ILIVE_CACHE="${ILIVE_CACHE:-$HOME/.cache/ilive}"
export ILIVE_MODELS_DIR="${ILIVE_MODELS_DIR:-$ILIVE_CACHE/models}"
export ILIVE_FIXTURES_DIR="${ILIVE_FIXTURES_DIR:-$ILIVE_CACHE/fixtures}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$ILIVE_CACHE/target}"
mkdir -p "$ILIVE_CACHE"

log() { printf '\033[1m[ilive]\033[0m %s\n' "$*" >&2; }
die() { printf '\033[31m[ilive] error:\033[0m %s\n' "$*" >&2; exit 1; }
