#!/usr/bin/env bash
# The long fuzz runs: `bash scripts/fuzz.sh RUNS [TARGET…]` runs each fuzz target in fuzz/ (all
# of them by default) for RUNS executions, one after the other, one process each. Installs
# cargo-fuzz when it is missing. Inputs the fuzzer finds go to a working corpus outside the
# clone ($ILIVE_CACHE/fuzz/corpus/<target>, the seeds in fuzz/corpus/ are only read), crashes
# to $ILIVE_CACHE/fuzz/artifacts/<target>/. CI does not run this: it runs the same checks on
# the seeds and fixed mutations of them in `cargo test` (server/tests/fuzz_corpus.rs,
# examples/rust/tests/fuzz_corpus.rs). See docs/development.md, "Fuzzing".
#
# Environment: FUZZ_SANITIZER (default none: the code under test is safe Rust; `address` needs
# a nightly toolchain or RUSTC_BOOTSTRAP=1), FUZZ_MAX_TIME (seconds per target, default none),
# FUZZ_TARGET_DIR (default $ILIVE_CACHE/target-fuzz: the instrumented build shares nothing with
# the ordinary one).
source "$(dirname "$0")/lib.sh"

[ $# -ge 1 ] && [[ "$1" =~ ^[0-9]+$ ]] || die "usage: bash scripts/fuzz.sh RUNS [TARGET…]"
runs=$1
shift

if ! cargo fuzz --version >/dev/null 2>&1; then
  log "installing cargo-fuzz"
  cargo install cargo-fuzz --locked
fi

target_dir="${FUZZ_TARGET_DIR:-$ILIVE_CACHE/target-fuzz}"
build=(-s "${FUZZ_SANITIZER:-none}" --codegen-units 16 --target-dir "$target_dir")
cd "$ILIVE_ROOT"
if [ $# -eq 0 ]; then
  mapfile -t targets < <(cargo fuzz list)
else
  targets=("$@")
fi

log "building the fuzz targets"
start=$(date +%s)
cargo fuzz build "${build[@]}"
log "built in $(( $(date +%s) - start )) s"

for t in "${targets[@]}"; do
  work="$ILIVE_CACHE/fuzz/corpus/$t"
  artifacts="$ILIVE_CACHE/fuzz/artifacts/$t"
  mkdir -p "$work" "$artifacts"
  limits=(-runs="$runs" -timeout=10 -print_final_stats=1 -artifact_prefix="$artifacts/")
  [ -n "${FUZZ_MAX_TIME:-}" ] && limits+=(-max_total_time="$FUZZ_MAX_TIME")
  log "fuzzing $t: $runs runs"
  start=$(date +%s)
  logf="$ILIVE_CACHE/fuzz/$t.log"
  if ! cargo fuzz run "${build[@]}" "$t" "$work" "fuzz/corpus/$t" -- "${limits[@]}" >"$logf" 2>&1; then
    tail -n 40 "$logf" >&2
    die "$t failed: the log is $logf, the input in $artifacts"
  fi
  # libFuzzer's final statistics: executions, speed, peak memory.
  grep -E '^(Done|stat::)' "$logf" || true
  log "$t: done in $(( $(date +%s) - start )) s"
done
