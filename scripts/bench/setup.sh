#!/usr/bin/env bash
# Sets up the side-by-side bench's anchor: MediaPipe 0.10.14 from pip in a virtual environment
# at $ILIVE_CACHE/mediapipe-0.10.14 (its face models ship inside the wheel), and the bench's
# frames: every frame of the real talking-face video $ILIVE_FIXTURES_DIR/images/single_face.mp4,
# decoded by ffmpeg into $ILIVE_CACHE/bench/single_face/. Idempotent. Prints the venv's python.
source "$(dirname "$0")/../lib.sh"

venv="$ILIVE_CACHE/mediapipe-0.10.14"
if ! "$venv/bin/python" -c 'import mediapipe' 2>/dev/null; then
  command -v python3 >/dev/null || die "python3 is required for the MediaPipe anchor"
  log "installing mediapipe==0.10.14 into $venv"
  python3 -m venv "$venv" || die "python3 -m venv failed (apt-get install python3-venv)"
  "$venv/bin/pip" install --quiet mediapipe==0.10.14 >&2 || die "pip could not install mediapipe==0.10.14"
fi

video="$ILIVE_FIXTURES_DIR/images/single_face.mp4"
frames="$ILIVE_CACHE/bench/single_face"
if [ ! -s "$frames/frame_0000.jpg" ]; then
  [ -s "$video" ] || die "$video is missing: run bash scripts/fixtures/fetch-images.sh"
  command -v ffmpeg >/dev/null || die "ffmpeg is required to decode the bench video"
  mkdir -p "$frames"
  # JPEG at about the page's quality (0.8), numbered from 0 like the test clips.
  ffmpeg -loglevel error -i "$video" -q:v 4 -start_number 0 "$frames/frame_%04d.jpg" \
    || die "ffmpeg could not decode $video"
fi
echo "$venv/bin/python"
