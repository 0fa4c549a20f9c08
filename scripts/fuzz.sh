#!/usr/bin/env bash
# Fuzzing on stable Rust: property-based harnesses (proptest) that feed arbitrary and mutated
# inputs to the parsers of untrusted data, each for a fixed time budget. Not part of
# scripts/test.sh (the default tests run each target briefly, in well under 5 s).
#
#   scripts/fuzz.sh                 run every target, one after the other
#   scripts/fuzz.sh TARGET...       run the named targets
#   scripts/fuzz.sh --list          list the targets
#
# Environment:
#   VIDEO_FUZZ_SECONDS   time budget per target, in seconds (default 300)
#   VIDEO_FUZZ_SEED      replay one batch with this seed (printed with every failure)
#
# Each target prints its number of executions; a failure prints the smallest failing input
# (and, for mutated files, writes it to a file) and exits non-zero. Keep every input that ever
# failed as a named regression test next to the target.
#
# The harnesses run in the test profile, with overflow checks: an arithmetic overflow is a
# failure too.
#
# Adding a target: write a function `target_NAME` below that runs it for $VIDEO_FUZZ_SECONDS,
# and add NAME to TARGETS.
set -euo pipefail
cd "$(dirname "$0")/.."

export VIDEO_FUZZ_SECONDS="${VIDEO_FUZZ_SECONDS:-300}"

TARGETS=(mp4_header avi_header plan supervisely coco)

# Run one #[ignore]d budget test of a crate's library tests.
run_ignored_lib_test() {
  local crate=$1 test=$2
  cargo test -p "$crate" --lib --quiet -- --ignored --exact "$test" --nocapture --test-threads=1
}

# MP4/MOV header reader (video-gst header.rs + mp4index.rs): every question the probe asks of
# a header, on arbitrary bytes and on mutated `moov` boxes of generated MP4/MOV/HEVC files.
target_mp4_header() {
  run_ignored_lib_test video-gst header::fuzz::fuzz_mp4_header_for_budget
}

# AVI header reader (video-gst header.rs): limits and stated frame counts, on arbitrary bytes
# and on mutated `hdrl` lists of generated AVI files.
target_avi_header() {
  run_ignored_lib_test video-gst header::fuzz::fuzz_avi_header_for_budget
}

# video-core's and video-annotation's targets run through scripts/fuzz-core.sh (optimised, with
# overflow checks, under an address-space limit so that an allocation from a declared size aborts
# the run).
run_core_target() {
  FUZZ_SECONDS="$VIDEO_FUZZ_SECONDS" FUZZ_SEED="${VIDEO_FUZZ_SEED:-${FUZZ_SEED:-}}" \
    scripts/fuzz-core.sh "$1"
}

# Sampling-plan resolver (video-core plan.rs): arbitrary plans on arbitrary frame tables,
# checked against an oracle written from the table.
target_plan() { run_core_target plan; }

# Supervisely readers (video, image, meta, bitmaps with hostile PNGs), conversion and clipping
# (video-annotation).
target_supervisely() { run_core_target supervisely; }

# COCO reader and merge, COCO writer on arbitrary geometry (video-annotation).
target_coco() { run_core_target coco; }

usage() {
  echo "usage: $0 [--list | TARGET...]; targets: ${TARGETS[*]}" >&2
}

run_target() {
  local t=$1
  if ! declare -F "target_$t" >/dev/null; then
    echo "unknown fuzz target: $t" >&2
    usage
    exit 2
  fi
  echo "=== fuzz target $t (${VIDEO_FUZZ_SECONDS} s)" >&2
  "target_$t"
}

case "${1:-}" in
  --list) printf '%s\n' "${TARGETS[@]}"; exit 0 ;;
  -h | --help) usage; exit 0 ;;
esac
if [ $# -eq 0 ]; then
  set -- "${TARGETS[@]}"
fi
for t in "$@"; do
  run_target "$t"
done
