//! Property-based fuzzing of the container header readers (MP4/MOV `moov`, AVI `hdrl`) on
//! stable Rust: arbitrary bytes, and mutations of the header of a video generated with ffmpeg
//! (words set to 0, 1, all ones, the sign bit or random values; bytes inserted, removed or
//! cut off), fed to everything the probe asks of a header ([`Header`]: the limits, the stated
//! frame count, the MP4 track counts and sample bytes, the MP4 frame table).
//!
//! Each input must give an answer (no panic, no arithmetic overflow: the tests run with
//! overflow checks), a frame table only within [`MAX_FRAMES`], and a stated frame count only
//! when it is not zero.
//!
//! The default test run has a short run of each target (a few hundred inputs, fixed seeds, well
//! under 5 s); `scripts/fuzz.sh` runs each target for a time budget (the `#[ignore]`d
//! `fuzz_*_for_budget` tests, `VIDEO_FUZZ_SECONDS` per target, random seeds printed so a failure
//! can be replayed with `VIDEO_FUZZ_SEED`). Every input that ever failed is kept below as a
//! named regression test.

#![allow(clippy::unwrap_used)]

use std::cell::Cell;
use std::io::Cursor;
use std::time::{Duration, Instant};

use proptest::prelude::*;
use proptest::test_runner::{Config, RngAlgorithm, RngSeed, TestError, TestRng, TestRunner};

use super::fixtures::{find_box, fixture};
use super::{Header, MAX_FRAMES, MoovCache};

/// Everything the probe asks of the header of `bytes`; panics on a broken property.
fn probe_header(bytes: &[u8], container: &str) {
    let len = bytes.len() as u64;
    let mut h = Header {
        len,
        reader: MoovCache::new(Box::new(Cursor::new(bytes))),
    };
    let _ = h.check_limits("fuzz");
    for video in 0..2 {
        if let Some(n) = h.frame_count(container, video) {
            assert!(n > 0);
        }
    }
    if container != "avi" {
        let _ = h.mp4_track_counts();
        let _ = h.mp4_track_bytes(0);
        for video in 0..2 {
            if let Some(t) = h.mp4_frame_table("fuzz", video) {
                assert!(!t.is_empty() && t.len() <= MAX_FRAMES);
                // Straight from the reader as well (without the moov cache): the same answer.
                let direct =
                    crate::mp4index::frame_table(&mut Cursor::new(bytes), len, "fuzz", video);
                assert_eq!(direct.as_ref(), Some(&t));
            }
        }
    }
}

/// One change to a valid file.
#[derive(Clone, Debug)]
enum Mutation {
    /// Overwrite the big-endian word at this offset (relative to the region) with a value.
    Word(usize, u32),
    /// Overwrite one byte.
    Byte(usize, u8),
    /// Insert bytes.
    Insert(usize, Vec<u8>),
    /// Remove bytes.
    Remove(usize, usize),
    /// Cut the file here.
    Truncate(usize),
}

fn word_value() -> impl Strategy<Value = u32> {
    prop_oneof![
        Just(0u32),
        Just(1),
        Just(u32::MAX),
        Just(0x8000_0000),
        Just(0x7fff_ffff),
        Just(0xffff),
        Just(0x1_0000),
        any::<u32>(),
    ]
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        4 => (any::<usize>(), word_value()).prop_map(|(a, v)| Mutation::Word(a, v)),
        2 => (any::<usize>(), any::<u8>()).prop_map(|(a, v)| Mutation::Byte(a, v)),
        1 => (any::<usize>(), proptest::collection::vec(any::<u8>(), 1..32))
            .prop_map(|(a, v)| Mutation::Insert(a, v)),
        1 => (any::<usize>(), 1usize..64).prop_map(|(a, n)| Mutation::Remove(a, n)),
        1 => any::<usize>().prop_map(Mutation::Truncate),
    ]
}

/// `file` with `mutations` applied inside `region` (offsets taken modulo its length).
fn mutate(file: &[u8], region: (usize, usize), mutations: &[Mutation]) -> Vec<u8> {
    let mut b = file.to_vec();
    let (start, end) = region;
    for m in mutations {
        let span = end.min(b.len()).saturating_sub(start).max(1);
        let at = |a: usize| start + a % span;
        match m {
            Mutation::Word(a, v) => {
                let at = at(*a);
                if at + 4 <= b.len() {
                    b[at..at + 4].copy_from_slice(&v.to_be_bytes());
                }
            }
            Mutation::Byte(a, v) => {
                let at = at(*a);
                if at < b.len() {
                    b[at] = *v;
                }
            }
            Mutation::Insert(a, v) => {
                let at = at(*a).min(b.len());
                b.splice(at..at, v.iter().copied());
            }
            Mutation::Remove(a, n) => {
                let at = at(*a).min(b.len());
                let to = (at + n).min(b.len());
                b.drain(at..to);
            }
            Mutation::Truncate(a) => {
                let at = at(*a).min(b.len());
                b.truncate(at);
            }
        }
    }
    b
}

/// A fuzz target: its name, the container its inputs are read as, and the valid files whose
/// headers are mutated, with the byte range holding the header.
struct Target {
    name: &'static str,
    container: &'static str,
    seeds: Vec<(Vec<u8>, (usize, usize))>,
}

fn mp4_target() -> Target {
    let seeds = ["x264-faststart.mp4", "x264.mp4", "hevc.mp4", "x264.mov"]
        .into_iter()
        .map(|name| {
            let bytes = std::fs::read(fixture(name)).unwrap();
            let (ms, me) = find_box(&bytes, &[b"moov"]).unwrap();
            // The moov box with its header, and the file's first bytes (ftyp).
            let region = if ms < 64 { (0, me) } else { (ms - 8, me) };
            (bytes, region)
        })
        .collect();
    Target {
        name: "mp4_header",
        container: "mp4",
        seeds,
    }
}

fn avi_target() -> Target {
    let seeds = ["mpeg4.avi", "x264.avi"]
        .into_iter()
        .map(|name| {
            let bytes = std::fs::read(fixture(name)).unwrap();
            // The RIFF header, hdrl and the start of movi.
            let end = bytes
                .windows(4)
                .position(|w| w == b"movi")
                .map_or(bytes.len(), |p| p + 64);
            (bytes, (0, end))
        })
        .collect();
    Target {
        name: "avi_header",
        container: "avi",
        seeds,
    }
}

/// What a run did.
#[derive(Debug, Default)]
struct Run {
    executions: Cell<u64>,
    slowest: Cell<Duration>,
}

/// Run `target` for `cases` inputs of each kind (arbitrary bytes, mutated headers) with the
/// RNG seeded by `seed`. Panics with the smallest failing input found.
fn run(target: &Target, cases: u32, seed: u64, stats: &Run) {
    let config = || Config {
        cases,
        failure_persistence: None,
        rng_seed: RngSeed::Fixed(seed),
        max_shrink_iters: 4096,
        ..Config::default()
    };
    let container = target.container;
    let check = |bytes: &[u8]| {
        let t0 = Instant::now();
        probe_header(bytes, container);
        stats.executions.set(stats.executions.get() + 1);
        stats.slowest.set(stats.slowest.get().max(t0.elapsed()));
    };
    let mut runner = TestRunner::new_with_rng(
        config(),
        TestRng::from_seed(RngAlgorithm::ChaCha, &seed.to_le_bytes().repeat(4)),
    );
    // Arbitrary bytes, sometimes behind the container's magic so the parsers get past it.
    let magic: &[u8] = if container == "avi" {
        b"RIFF\0\0\x01\0AVI LIST"
    } else {
        b"\0\0\0\x14ftypisom\0\0\0\0isom"
    };
    let arbitrary = (
        any::<bool>(),
        proptest::collection::vec(any::<u8>(), 0..2048),
    );
    report(
        target.name,
        "arbitrary bytes",
        seed,
        runner.run(&arbitrary, |(with_magic, tail)| {
            let mut b = if with_magic {
                magic.to_vec()
            } else {
                Vec::new()
            };
            b.extend_from_slice(&tail);
            check(&b);
            Ok(())
        }),
    );
    for (i, (file, region)) in target.seeds.iter().enumerate() {
        let mut runner = TestRunner::new_with_rng(
            config(),
            TestRng::from_seed(
                RngAlgorithm::ChaCha,
                &(seed ^ (i as u64 + 1)).to_le_bytes().repeat(4),
            ),
        );
        let mutations = proptest::collection::vec(mutation(), 1..8);
        let result = runner.run(&mutations, |m| {
            check(&mutate(file, *region, &m));
            Ok(())
        });
        if let Err(TestError::Fail(_, m)) = &result {
            // The failing file itself, to keep as a regression test.
            let path = super::fixtures::write(
                &format!("fuzz-{}-{seed}-{i}.bin", target.name),
                &mutate(file, *region, m),
            );
            eprintln!("failing input written to {}", path.display());
        }
        report(target.name, "mutated header", seed, result);
    }
}

fn report<T: std::fmt::Debug>(
    target: &str,
    kind: &str,
    seed: u64,
    result: Result<(), TestError<T>>,
) {
    match result {
        Ok(()) => {}
        Err(TestError::Fail(why, input)) => panic!(
            "fuzz target {target} ({kind}, VIDEO_FUZZ_SEED={seed}) failed: {why}\n\
             smallest input: {input:?}"
        ),
        Err(TestError::Abort(why)) => panic!("fuzz target {target} aborted: {why}"),
    }
}

/// The default test run's share: a few hundred inputs per kind, fixed seeds.
#[test]
fn fuzz_mp4_header_briefly() {
    let stats = Run::default();
    run(&mp4_target(), 150, 1, &stats);
    assert!(stats.executions.get() >= 750, "{stats:?}");
}

#[test]
fn fuzz_avi_header_briefly() {
    let stats = Run::default();
    run(&avi_target(), 250, 1, &stats);
    assert!(stats.executions.get() >= 750, "{stats:?}");
}

/// Run `target` for `VIDEO_FUZZ_SECONDS` (default 60) in batches of fresh random seeds (or
/// once with `VIDEO_FUZZ_SEED`), printing the executions.
fn for_budget(target: &Target) {
    use std::io::Write as _;
    let budget = Duration::from_secs(
        std::env::var("VIDEO_FUZZ_SECONDS")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(60),
    );
    let fixed: Option<u64> = std::env::var("VIDEO_FUZZ_SEED")
        .ok()
        .and_then(|s| s.parse().ok());
    let started = Instant::now();
    let stats = Run::default();
    let mut batches = 0u64;
    while batches == 0 || (fixed.is_none() && started.elapsed() < budget) {
        let seed = fixed.unwrap_or_else(|| {
            let nanos = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_nanos() as u64)
                .unwrap_or(0);
            nanos ^ batches.wrapping_mul(0x9E37_79B9_7F4A_7C15)
        });
        run(target, 2000, seed, &stats);
        batches += 1;
    }
    let _ = writeln!(
        std::io::stderr(),
        "fuzz target {}: {} executions in {:.1?} ({batches} batches), slowest input {:?}, no failure",
        target.name,
        stats.executions.get(),
        started.elapsed(),
        stats.slowest.get()
    );
}

#[test]
#[ignore = "long run: scripts/fuzz.sh mp4_header"]
fn fuzz_mp4_header_for_budget() {
    for_budget(&mp4_target());
}

#[test]
#[ignore = "long run: scripts/fuzz.sh avi_header"]
fn fuzz_avi_header_for_budget() {
    for_budget(&avi_target());
}
