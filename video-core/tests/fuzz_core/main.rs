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

mod json;
mod plan;

use std::fmt::Debug;
use std::time::{Duration, Instant};

use proptest::strategy::Strategy;
use proptest::test_runner::{Config, RngSeed, TestCaseError, TestError, TestRunner};

/// Run `test` on values of `strategy` for the budget set by the environment (see the crate
/// docs), panicking with the shrunk input on the first failure. Returns the number of cases run.
/// `share` is this property's part of a target's `FUZZ_SECONDS`.
pub(crate) fn run<S>(
    name: &str,
    default_cases: u32,
    share: f64,
    strategy: S,
    test: impl Fn(S::Value) -> Result<(), TestCaseError>,
) -> u64
where
    S: Strategy,
    S::Value: Debug,
{
    let env = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
    let seconds: Option<f64> =
        env("FUZZ_SECONDS").map(|v| v.parse::<f64>().expect("FUZZ_SECONDS") * share);
    let cases: u32 = env("FUZZ_CASES").map_or(default_cases, |v| v.parse().expect("FUZZ_CASES"));
    let seed: u64 = env("FUZZ_SEED").map_or(0x5eed, |v| v.parse().expect("FUZZ_SEED"));
    let deadline = seconds.map(|s| Instant::now() + Duration::from_secs_f64(s));
    // With a time budget, run chunks of `chunk` cases, each from its own seed, until it is spent.
    let chunk = if deadline.is_some() { 2_000 } else { cases };
    let started = Instant::now();
    let mut total = 0u64;
    let mut round = 0u64;
    loop {
        let chunk_seed = seed.wrapping_add(round);
        let config = Config {
            cases: chunk,
            failure_persistence: None,
            rng_seed: RngSeed::Fixed(chunk_seed),
            max_shrink_iters: 2_000,
            ..Config::default()
        };
        let mut runner = TestRunner::new(config);
        match runner.run(&strategy, &test) {
            Ok(()) => {}
            Err(TestError::Fail(reason, value)) => panic!(
                "fuzz target {name} failed after {total} earlier cases (FUZZ_SEED={chunk_seed}, \
                 FUZZ_CASES={chunk}): {reason}\nminimal failing input: {value:#?}"
            ),
            Err(TestError::Abort(reason)) => panic!("fuzz target {name} aborted: {reason}"),
        }
        total += u64::from(chunk);
        round += 1;
        if deadline.is_none_or(|d| Instant::now() >= d) {
            break;
        }
    }
    let secs = started.elapsed().as_secs_f64();
    eprintln!(
        "fuzz target {name}: {total} cases in {secs:.1} s ({:.0}/s), seed {seed}, no failure",
        total as f64 / secs.max(1e-9)
    );
    total
}

/// `prop_assert!` for a condition computed elsewhere, with a message.
pub(crate) fn check(ok: bool, what: impl FnOnce() -> String) -> Result<(), TestCaseError> {
    if ok {
        Ok(())
    } else {
        Err(TestCaseError::fail(what()))
    }
}

#[test]
fn plan() {
    plan::fuzz();
}
