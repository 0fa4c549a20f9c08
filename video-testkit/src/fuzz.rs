//! A time- or case-bounded [`proptest`] runner for the workspace's fuzz targets (`tests/fuzz_*`
//! of video-core and video-annotation, run long by `scripts/fuzz.sh`), and JSON generators.
//!
//! Budget, from the environment: `FUZZ_SECONDS` (run each target until that much time has
//! passed, shared among its properties) or `FUZZ_CASES` (number of cases; default a short run
//! that keeps the normal test suite fast), `FUZZ_SEED` (default fixed, so the normal suite is
//! deterministic). A failure panics with the seed and the shrunk input.

pub mod json;

use std::fmt::Debug;
use std::time::{Duration, Instant};

use proptest::strategy::Strategy;
use proptest::test_runner::{Config, RngSeed, TestCaseError, TestError, TestRunner};

/// Run `test` on values of `strategy` for the budget set by the environment (see the module
/// docs), panicking with the shrunk input on the first failure. Returns the number of cases run.
/// `share` is this property's part of a target's `FUZZ_SECONDS`.
pub fn run<S>(
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
pub fn check(ok: bool, what: impl FnOnce() -> String) -> Result<(), TestCaseError> {
    if ok {
        Ok(())
    } else {
        Err(TestCaseError::fail(what()))
    }
}
