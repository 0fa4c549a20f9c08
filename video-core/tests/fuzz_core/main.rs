//! Property-based fuzzing of the sampling-plan resolver (the annotation readers' and writers'
//! targets are in video-annotation's `tests/fuzz_annotation`).
//!
//! Each target is one `#[test]` that runs a [`proptest`] strategy for a budget:
//!
//! | Target | What it feeds | Properties |
//! | --- | --- | --- |
//! | `plan` | arbitrary plans × arbitrary frame tables (empty, one frame, unsorted, far-apart pts, up to 10⁵ frames) | no panic; a typed error exactly when the plan cannot work; otherwise sorted unique indices below the frame count, at most `max_frames`, equal to an oracle written from the table |
//!
//! Budget, from the environment: `FUZZ_SECONDS` (run each target until that much time has passed, shared among its properties) or
//! `FUZZ_CASES` (number of cases; default a short run that keeps the normal test suite fast),
//! `FUZZ_SEED` (default fixed, so the normal suite is deterministic). `scripts/fuzz-core.sh`
//! runs the long version. A failure prints the seed and the shrunk input; keep it as a named
//! regression test in `tests/fuzz_regressions.rs`.

#![allow(clippy::unwrap_used)]

mod plan;

use video_testkit::fuzz::{check, json, run};

#[test]
fn plan() {
    plan::fuzz();
}
