#!/usr/bin/env bash
# Runs the browser end-to-end tests. Idempotent: installs the pinned Playwright test runner into
# end2end/node_modules (no browser download: the tests drive Debian's /usr/bin/chromium), makes
# the fake-camera clips if missing, builds the browser bundle and the server if out of date, then
# runs the scenarios. Extra arguments go to `playwright test` (e.g. -g passive). The server is
# the test command's build (dev); ILIVE_PROFILE=release tests the run command's.
source "$(dirname "$0")/../scripts/lib.sh"
e2e="$ILIVE_ROOT/end2end"

command -v node >/dev/null || die "node is required for the end-to-end tests"
[ -x "${E2E_CHROMIUM:-/usr/bin/chromium}" ] || die "Chromium is missing: apt-get install chromium (see scripts/setup.sh)"
command -v openssl >/dev/null || die "openssl is required (the webhook receiver's test certificate)"

if [ ! -f "$e2e/node_modules/.package-lock.json" ] ||
  ! cmp -s "$e2e/package-lock.json" "$e2e/node_modules/.e2e-installed-lock"; then
  log "installing the end-to-end test runner (npm ci)"
  (cd "$e2e" && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund --loglevel=error)
  cp "$e2e/package-lock.json" "$e2e/node_modules/.e2e-installed-lock"
fi

bash "$ILIVE_ROOT/scripts/models/setup.sh"
bash "$ILIVE_ROOT/scripts/fixtures/fetch-images.sh" >/dev/null
ILIVE_CLIPS_DIR="$(bash "$ILIVE_ROOT/scripts/fixtures/make-clips.sh" | tail -n 1)"
export ILIVE_CLIPS_DIR
bash "$ILIVE_ROOT/scripts/build-site.sh"
log "building the server ($ILIVE_PROFILE)"
bin_dir="$(build_native)"

export ILIVE_BIN="$bin_dir/ilive"
export ILIVE_SITE_ROOT="$ILIVE_ROOT/target/site"
export RAYON_NUM_THREADS="${RAYON_NUM_THREADS:-1}"
rm -rf "$e2e/screenshots"
log "running the browser end-to-end tests"
start=$(date +%s)
(cd "$e2e" && npx --no-install playwright test "$@")
log "end-to-end tests passed in $(( $(date +%s) - start )) s; screenshots in end2end/screenshots/"
