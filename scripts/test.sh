#!/usr/bin/env bash
# Runs the whole test suite: installs what it needs, then formatting, lints, docs and tests.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh --test
cargo fmt --all -- --check
cargo clippy --workspace --all-targets --locked -- -D warnings
RUSTDOCFLAGS="-D warnings" cargo doc --workspace --no-deps --locked --quiet
cargo build --workspace --examples --benches --locked --quiet
cargo test --workspace --locked
