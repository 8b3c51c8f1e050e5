#!/usr/bin/env bash
# The side-by-side bench: iLive's per-frame analysis and MediaPipe 0.10.14 on the same frames,
# on the same core (taskset -c ${BENCH_CORE:-0}), one thread each, in one run. Extra arguments go
# to `ilive-models bench` (e.g. --iters 10, --frames DIR).
source "$(dirname "$0")/../lib.sh"

python="$(bash "$ILIVE_ROOT/scripts/bench/setup.sh")"
# The run command's build (release), so the bench measures what is served.
bin_dir="$(ILIVE_PROFILE=release build_native)"
export RAYON_NUM_THREADS=1
exec taskset -c "${BENCH_CORE:-0}" "$bin_dir/ilive-models" bench \
  --frames "$ILIVE_CACHE/bench/single_face" \
  --mediapipe-python "$python" --mediapipe-script "$ILIVE_ROOT/scripts/bench/mediapipe_bench.py" "$@"
