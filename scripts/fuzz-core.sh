#!/usr/bin/env bash
# Long runs of the property-based fuzz targets of video-core (video-core/tests/fuzz_core) and
# video-annotation (video-annotation/tests/fuzz_annotation); run by scripts/fuzz.sh (its targets
# plan, supervisely and coco), or on its own:
#   plan         SamplingPlan::resolve against arbitrary frame tables, with an oracle (video-core)
#   supervisely  Supervisely video/image/meta readers, bitmaps (hostile PNGs), conversion, clipping
#                (video-annotation)
#   coco         COCO reader (serde) and CocoDataset::merge, CocoWriter on arbitrary geometry
#                (video-annotation)
#
# Usage: scripts/fuzz-core.sh [plan|supervisely|coco|all]...   (default: all)
# Budget per target, from the environment:
#   FUZZ_SECONDS   run each target for this long (default 300)
#   FUZZ_CASES     instead of a time: this many cases per property (FUZZ_SECONDS must be empty)
#   FUZZ_SEED      first seed (default: from the clock; printed, to replay a failure)
#   FUZZ_MEMORY_MB address-space limit of the test process (default 4096): an allocation from a
#                  declared size (a 60000x60000 bitmap, say) aborts the run instead of passing
# Built optimised but with overflow checks and debug assertions, in its own target directory.
# Exit status: non-zero when a target fails (its shrunk input is printed), aborts or hangs
# (killed 10 minutes after its budget).
set -euo pipefail
cd "$(dirname "$0")/.."

targets=("$@")
[ ${#targets[@]} -eq 0 ] && targets=(all)
[ "${targets[0]}" = all ] && targets=(plan supervisely coco)
for t in "${targets[@]}"; do
  case "$t" in
    plan | supervisely | coco) ;;
    *) echo "unknown fuzz target $t (plan, supervisely, coco, all)" >&2; exit 2 ;;
  esac
done

export FUZZ_SECONDS="${FUZZ_SECONDS-300}"
export FUZZ_CASES="${FUZZ_CASES-}"
export FUZZ_SEED="${FUZZ_SEED:-$(date +%s)}"
memory_mb="${FUZZ_MEMORY_MB:-4096}"
target_dir="${CARGO_TARGET_DIR:-target}/fuzz-core"
export CARGO_PROFILE_RELEASE_OVERFLOW_CHECKS=true CARGO_PROFILE_RELEASE_DEBUG_ASSERTIONS=true

# The package and test binary of a target.
package_of() { case "$1" in plan) echo video-core ;; *) echo video-annotation ;; esac; }
test_of() { case "$1" in plan) echo fuzz_core ;; *) echo fuzz_annotation ;; esac; }

# Build a target's test binary and print its path.
binary_of() {
  local package test
  package=$(package_of "$1") test=$(test_of "$1")
  cargo test --release --locked -p "$package" --test "$test" --target-dir "$target_dir" --no-run >&2
  cargo test --release --locked -p "$package" --test "$test" --target-dir "$target_dir" \
    --no-run --message-format=json 2>/dev/null |
    TEST="$test" python3 -c 'import json,os,sys
for l in sys.stdin:
    m = json.loads(l)
    if m.get("reason") == "compiler-artifact" and m["target"]["name"] == os.environ["TEST"] and m.get("executable"):
        print(m["executable"])'
}

limit=$(( ${FUZZ_SECONDS:-0} + 600 ))
status=0
for t in "${targets[@]}"; do
  bin=$(binary_of "$t")
  echo "== fuzz target $t (FUZZ_SECONDS=${FUZZ_SECONDS:-} FUZZ_CASES=${FUZZ_CASES:-default} FUZZ_SEED=$FUZZ_SEED)"
  if (ulimit -v $((memory_mb * 1024)); timeout "$limit" "$bin" --exact "$t" --nocapture --test-threads=1); then
    echo "== $t: passed"
  else
    rc=$?
    case $rc in
      124) echo "== $t: HUNG (killed after ${limit} s)" ;;
      134) echo "== $t: ABORTED (an allocation over ${memory_mb} MB, or a crash)" ;;
      *) echo "== $t: FAILED (exit $rc)" ;;
    esac
    status=1
  fi
done
exit $status
