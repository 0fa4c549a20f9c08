//! Property-based fuzzing of the annotation readers and writers (the sampling-plan resolver's
//! target is in video-core's `tests/fuzz_core`).
//!
//! Each target is one `#[test]` that runs a [`proptest`] strategy for a budget:
//!
//! | Target | What it feeds | Properties |
//! | --- | --- | --- |
//! | `supervisely` | structure-aware Supervisely video, image and meta JSON with random mutations, arbitrary bytes, bitmaps with real and hostile PNGs | no panic; errors are `Annotation` (or `LimitExceeded`) naming the document; what is read converts, clips into the image, writes and reads back |
//! | `coco` | COCO files (the serde reader), `CocoDataset::merge`, `CocoWriter` on arbitrary geometry and image sizes | no panic; ids renumbered consistently; RLE covers the image exactly and matches the mask |
//!
//! Budget, from the environment: `FUZZ_SECONDS` (run each target until that much time has passed, shared among its properties) or
//! `FUZZ_CASES` (number of cases; default a short run that keeps the normal test suite fast),
//! `FUZZ_SEED` (default fixed, so the normal suite is deterministic). `scripts/fuzz-core.sh`
//! (`scripts/fuzz.sh supervisely coco`) runs the long version. A failure prints the seed and
//! the shrunk input; keep it as a named regression test in `tests/fuzz_regressions.rs`. `FUZZ_DEBUG=1` prints why the `supervisely`
//! target's video annotations were rejected (to tune the generators).

#![allow(clippy::unwrap_used)]

mod coco;
mod supervisely;

use video_testkit::fuzz::{check, json, run};

#[test]
fn supervisely() {
    supervisely::fuzz();
}

#[test]
fn coco() {
    coco::fuzz();
}
