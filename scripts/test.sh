#!/usr/bin/env bash
# THE TEST COMMAND. Sets up what is missing (tools, model weights, reference outputs of the
# original runtime, test photos and clips, Chromium), builds, and runs every test: unit and
# integration tests of all crates against the real server, models and weights, Schemathesis against
# the real server's OpenAPI document, the integration examples, then the browser tests in real
# Chromium with a fake camera.
source "$(dirname "$0")/lib.sh"
start=$(date +%s)

bash "$ILIVE_ROOT/scripts/setup.sh" --browser
bash "$ILIVE_ROOT/scripts/models/setup.sh"
bash "$ILIVE_ROOT/scripts/fixtures/fetch-images.sh"
bash "$ILIVE_ROOT/scripts/models/reference/run.sh"
bash "$ILIVE_ROOT/scripts/fixtures/make-clips.sh" >/dev/null
bash "$ILIVE_ROOT/scripts/build-site.sh"

export ILIVE_MODELS_DIR ILIVE_FIXTURES_DIR
export ILIVE_SITE_ROOT="$ILIVE_ROOT/target/site"
log "running the Rust tests"
export RAYON_NUM_THREADS="${RAYON_NUM_THREADS:-1}"
# The integration tests that go through the store, run on both databases.
POSTGRES_TESTS="sessions webhooks retention capture capture_verdicts contract abuse faces collections collection_replicas collection_limits \
  webhook_proxy crash way_back"
# A throw-away PostgreSQL server (scripts/postgres.sh): the replicas test runs on it in the first
# pass, and the store's integration tests run on it again in the second.
source "$ILIVE_ROOT/scripts/postgres.sh"
start_postgres
# The frontend crate is excluded: it only holds hydrate(), and building it beside the server
# would unify the app crate's `hydrate` and `ssr` features, running browser-only code in SSR.
cargo test --workspace --exclude frontend --no-fail-fast

log "running the store's integration tests again, on PostgreSQL"
ILIVE_TEST_STORE=postgres cargo test -p server --no-fail-fast $(printf -- '--test %s ' $POSTGRES_TESTS)
stop_postgres

log "checking the real server against its OpenAPI document (Schemathesis)"
bash "$ILIVE_ROOT/scripts/schemathesis.sh"

log "running the integration examples against a real server"
bash "$ILIVE_ROOT/examples/run-tests.sh"

log "running the browser tests"
bash "$ILIVE_ROOT/end2end/run.sh"

log "all tests passed in $(( $(date +%s) - start )) s"
