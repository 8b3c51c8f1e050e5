#!/usr/bin/env bash
# THE RUN COMMAND. Sets up what is missing (tools, model weights), builds, and starts iLive on
# http://127.0.0.1:3000 with the demo page. Extra arguments go to the `ilive` binary, e.g.
#   scripts/run.sh keys create --tenant acme
source "$(dirname "$0")/lib.sh"
# The served build, chosen by measurement (docs/performance.md, "The served build"). The weight
# converter is built with the server, in the same profile: every dependency compiles once.
export ILIVE_PROFILE="${ILIVE_SERVE_PROFILE:-release}"

bash "$ILIVE_ROOT/scripts/setup.sh"
bash "$ILIVE_ROOT/scripts/models/setup.sh"
bash "$ILIVE_ROOT/scripts/build-site.sh"
log "building the server ($ILIVE_PROFILE)"
bin_dir="$(build_native)"

export ILIVE_SITE_ROOT="${ILIVE_SITE_ROOT:-$ILIVE_ROOT/target/site}"
export ILIVE_DATABASE_URL="${ILIVE_DATABASE_URL:-sqlite://$ILIVE_ROOT/ilive.db}"
export ILIVE_MODELS_DIR
if [ $# -eq 0 ]; then
  log "starting iLive on http://${ILIVE_ADDR:-127.0.0.1:3000} (Ctrl-C stops it)"
fi
exec "$bin_dir/ilive" "$@"
