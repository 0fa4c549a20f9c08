#!/usr/bin/env bash
# Runs the whole test suite: installs what it needs, starts an S3 server (moto) on 127.0.0.1 for
# the S3 tests, then formatting, lints, docs and tests; stops the server on exit.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh --test

# moto's S3 server on a free loopback port, for the duration of this script, with its writes
# made atomic as real stores' are (scripts/s3-test-server.py says why).
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
python3 scripts/s3-test-server.py "$port" >/dev/null 2>&1 &
moto_pid=$!
trap 'kill "$moto_pid" 2>/dev/null || true' EXIT
for _ in $(seq 1 100); do
  if curl -sf "http://127.0.0.1:$port/" >/dev/null 2>&1; then break; fi
  sleep 0.1
done
curl -sf -X PUT "http://127.0.0.1:$port/video-dataset-test" >/dev/null
export VIDEO_TEST_INTEGRATION=1
# The Python environment of the tests that run Python (the bindings, webdataset, Ray).
VIDEO_TEST_PYTHON=$(scripts/python-env.sh)
export VIDEO_TEST_PYTHON
export VIDEO_TEST_S3_URL="s3://video-dataset-test"
export AWS_ENDPOINT="http://127.0.0.1:$port" AWS_ALLOW_HTTP=true AWS_REGION=us-east-1 \
  AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test AWS_VIRTUAL_HOSTED_STYLE_REQUEST=false

# A clean build here is never reused incrementally, and full debug info only fills the disk
# (the feature sets below build the workspace several times over).
export CARGO_INCREMENTAL=0 CARGO_PROFILE_DEV_DEBUG=line-tables-only

cargo fmt --all -- --check
cargo clippy --workspace --all-targets --all-features --locked -- -D warnings
RUSTDOCFLAGS="-D warnings" cargo doc --workspace --no-deps --all-features --locked --quiet
cargo build --workspace --examples --benches --all-features --locked --quiet

# No default features, and each optional feature alone: every target compiles without a lint
# warning (an import only one feature uses, say) and the unit tests pass (the integration tests
# below run with all of them).
feature_sets=(
  "video-core:" "video-core:conformance" "video-core:testing"
  "video-storage:" "video-storage:fs" "video-storage:aws" "video-storage:gcp"
  "video-storage:azure" "video-storage:http"
  "video-dataset:" "video-dataset:cli" "video-dataset:aws" "video-dataset:gcp" "video-dataset:azure"
)
for set in "${feature_sets[@]}"; do
  package=${set%%:*} features=${set#*:}
  echo "== $package --no-default-features${features:+ --features $features}" >&2
  cargo clippy -p "$package" --all-targets --no-default-features --features "$features" --locked --quiet -- -D warnings
  cargo test -p "$package" --lib --no-default-features --features "$features" --locked --quiet
done

# The Python package, built into the test environment as a user would (`maturin develop`, an
# optimised build: the GIL and benchmark-like tests time real decoding), and its tests against
# ffmpeg's numbering, the webdataset package and a local Ray cluster on the S3 server.
VIRTUAL_ENV="$(dirname "$(dirname "$VIDEO_TEST_PYTHON")")" \
  "$(dirname "$VIDEO_TEST_PYTHON")/maturin" develop --release --locked -q -m video-py/Cargo.toml
"$VIDEO_TEST_PYTHON" -m pytest video-py/tests -q

# Last, so that its summary closes the run.
cargo test --workspace --all-features --locked
