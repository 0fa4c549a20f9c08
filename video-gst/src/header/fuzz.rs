//! Property-based fuzzing of the container header readers (MP4/MOV `moov`, AVI `hdrl`) on
//! stable Rust: arbitrary bytes, well-formed MP4 headers with random sample tables, and
//! mutations of the header of a video generated with ffmpeg (words set to 0, 1, all ones, the
//! sign bit or random values; bytes inserted, removed or cut off), fed to everything the probe
//! asks of a header ([`Header`]: the limits, the stated frame count, the MP4 track counts and
//! sample bytes, the MP4 frame table).
//!
//! Each input must give an answer (no panic, no arithmetic overflow: the tests run with
//! overflow checks), a frame table only within [`MAX_FRAMES`], and a stated frame count only
//! when it is not zero.
//!
//! The default test run has a short run of each target (a few hundred inputs, fixed seeds, well
//! under 5 s); `scripts/fuzz.sh` runs each target for a time budget (the `#[ignore]`d
//! `fuzz_*_for_budget` tests, `VIDEO_FUZZ_SECONDS` per target, random seeds printed so a failure
//! can be replayed with `VIDEO_FUZZ_SEED`). An input that fails is to be kept as a named
//! regression test beside the target; none has failed so far (5-minute runs: 240 000 and,
//! with the generated sample tables, 216 000 MP4 executions; 252 000 AVI executions). The one
//! defect found while writing them, by reading rather than fuzzing (limits checked in time
//! quadratic in the number of tracks), has its test in
//! `header::tests::many_tracks_are_walked_once`.

#![allow(clippy::unwrap_used)]

use std::cell::Cell;
use std::io::Cursor;
use std::time::{Duration, Instant};

use proptest::prelude::*;
use proptest::test_runner::{Config, RngAlgorithm, RngSeed, TestError, TestRng, TestRunner};

use super::{Header, MAX_FRAMES, MoovCache};
use crate::fixtures::{find_box, fixture};

/// Everything the probe asks of the header of `bytes`; panics on a broken property.
fn probe_header(bytes: &[u8], container: &str) {
    let len = bytes.len() as u64;
    let mut h = Header {
        len,
        reader: MoovCache::new(Box::new(Cursor::new(bytes))),
        source_error: Default::default(),
        local: true,
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
                    crate::mp4index::frame_table(&mut Cursor::new(bytes), len, "fuzz", video, true);
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

/// An MP4 box: size, type, payload.
fn boxed(kind: &[u8; 4], payload: &[u8]) -> Vec<u8> {
    let mut b = ((payload.len() + 8) as u32).to_be_bytes().to_vec();
    b.extend_from_slice(kind);
    b.extend_from_slice(payload);
    b
}

/// A full box's table: version/flags, entry count (`count`, or the real number of entries),
/// entries.
fn table(version: u8, count: Option<u32>, entries: &[Vec<u8>]) -> Vec<u8> {
    let mut b = vec![version, 0, 0, 0];
    b.extend_from_slice(&count.unwrap_or(entries.len() as u32).to_be_bytes());
    for e in entries {
        b.extend_from_slice(e);
    }
    b
}

fn small_or_any() -> impl Strategy<Value = u32> {
    prop_oneof![4 => 0u32..80, 1 => word_value()]
}

/// A well-formed MP4 header (ftyp, moov with one video track, mdat) whose sample tables,
/// edit list, time scales, durations and sizes are random: mostly small and often consistent,
/// sometimes extreme. These inputs get past the box structure into the table model (counts,
/// edit lists, composition offsets, chunk offsets), which random bytes rarely reach.
type Times = (u32, u32, u32, u32);
type Tables = (
    Vec<(u32, u32)>,
    Option<Vec<(u32, i32)>>,
    Option<Vec<u32>>,
    (u32, u32, Vec<u32>),
    Vec<(u32, u32)>,
    Vec<u32>,
);
type Extras = (
    Option<(bool, Vec<((u32, u32), u32)>)>,
    [u8; 4],
    (u16, u16),
    Option<Option<u32>>,
    usize,
);

/// The file of one video track with these tables: (movie time scale, movie duration, media
/// time scale, media duration), (stts, ctts, stss, (stsz size, count, sizes), stsc, stco),
/// (edit list (version 1?, ((duration, media time), rate)), format, size, stsd entry count,
/// mdat length).
fn assemble(times: Times, tables: Tables, extras: Extras) -> Vec<u8> {
    let (movie_scale, movie_duration, scale, duration) = times;
    let (stts, ctts, stss, (size, count, sizes), stsc, stco) = tables;
    let (elst, format, (width, height), count_override, mdat_len) = extras;
    let be = |v: u32| v.to_be_bytes().to_vec();
    let mut mvhd = vec![0u8; 100];
    mvhd[12..16].copy_from_slice(&movie_scale.to_be_bytes());
    mvhd[16..20].copy_from_slice(&movie_duration.to_be_bytes());
    let mut mdhd = vec![0u8; 24];
    mdhd[12..16].copy_from_slice(&scale.to_be_bytes());
    mdhd[16..20].copy_from_slice(&duration.to_be_bytes());
    let mut hdlr = vec![0u8; 25];
    hdlr[8..12].copy_from_slice(b"vide");
    let mut entry = vec![0u8; 86];
    entry[0..4].copy_from_slice(&86u32.to_be_bytes());
    entry[4..8].copy_from_slice(&format);
    entry[32..34].copy_from_slice(&width.to_be_bytes());
    entry[34..36].copy_from_slice(&height.to_be_bytes());
    let stsd = table(0, count_override.flatten(), &[entry]);
    let stts: Vec<Vec<u8>> = stts
        .iter()
        .map(|(c, d)| [be(*c), be(*d)].concat())
        .collect();
    let mut stbl = vec![
        boxed(b"stsd", &stsd),
        boxed(b"stts", &table(0, None, &stts)),
    ];
    if let Some(ctts) = ctts {
        let e: Vec<Vec<u8>> = ctts
            .iter()
            .map(|(c, o)| [be(*c), o.to_be_bytes().to_vec()].concat())
            .collect();
        stbl.push(boxed(b"ctts", &table(0, None, &e)));
    }
    if let Some(stss) = stss {
        let e: Vec<Vec<u8>> = stss.iter().map(|v| be(*v)).collect();
        stbl.push(boxed(b"stss", &table(0, None, &e)));
    }
    let mut stsz = vec![0u8; 4];
    stsz.extend_from_slice(&size.to_be_bytes());
    if size == 0 {
        stsz.extend_from_slice(&(sizes.len() as u32).to_be_bytes());
        for v in &sizes {
            stsz.extend_from_slice(&v.to_be_bytes());
        }
    } else {
        stsz.extend_from_slice(&count.to_be_bytes());
    }
    stbl.push(boxed(b"stsz", &stsz));
    let stsc: Vec<Vec<u8>> = stsc
        .iter()
        .map(|(f, p)| [be(*f), be(*p), be(1)].concat())
        .collect();
    stbl.push(boxed(b"stsc", &table(0, None, &stsc)));
    let stco: Vec<Vec<u8>> = stco.iter().map(|v| be(*v)).collect();
    stbl.push(boxed(b"stco", &table(0, None, &stco)));
    let minf = boxed(b"minf", &boxed(b"stbl", &stbl.concat()));
    let mdia = boxed(
        b"mdia",
        &[boxed(b"mdhd", &mdhd), boxed(b"hdlr", &hdlr), minf].concat(),
    );
    let mut trak = vec![boxed(b"tkhd", &[0u8; 84])];
    if let Some((v1, edits)) = elst {
        let e: Vec<Vec<u8>> = edits
            .iter()
            .map(|((d, t), r)| {
                if v1 {
                    [
                        u64::from(*d).to_be_bytes().to_vec(),
                        u64::from(*t).to_be_bytes().to_vec(),
                        be(*r),
                        be(0),
                    ]
                    .concat()
                } else {
                    [be(*d), be(*t), be(*r)].concat()
                }
            })
            .collect();
        let elst = table(u8::from(v1), None, &e);
        trak.push(boxed(b"edts", &boxed(b"elst", &elst)));
    }
    trak.push(mdia);
    let moov = boxed(
        b"moov",
        &[boxed(b"mvhd", &mvhd), boxed(b"trak", &trak.concat())].concat(),
    );
    [
        boxed(b"ftyp", b"isom\0\0\0\0isom"),
        moov,
        boxed(b"mdat", &vec![0u8; mdat_len]),
    ]
    .concat()
}

fn random_tables() -> impl Strategy<Value = Vec<u8>> {
    let pair = || (small_or_any(), small_or_any());
    let times = (
        prop_oneof![
            Just(25u32),
            Just(12_800),
            Just(90_000),
            Just(0),
            any::<u32>()
        ],
        small_or_any(),
        prop_oneof![Just(1000u32), Just(0), any::<u32>()],
        small_or_any(),
    );
    let tables = (
        proptest::collection::vec(
            (
                small_or_any(),
                prop_oneof![Just(512u32), Just(1), Just(0), any::<u32>()],
            ),
            0..4,
        ),
        proptest::option::of(proptest::collection::vec(
            (small_or_any(), prop_oneof![-1024i32..1024, any::<i32>()]),
            0..6,
        )),
        proptest::option::of(proptest::collection::vec(small_or_any(), 0..6)),
        (
            prop_oneof![Just(0u32), small_or_any()],
            small_or_any(),
            proptest::collection::vec(small_or_any(), 0..40),
        ),
        proptest::collection::vec((small_or_any(), small_or_any()), 0..4),
        proptest::collection::vec(prop_oneof![0u32..4096, any::<u32>()], 0..8),
    );
    let extras = (
        proptest::option::of((
            any::<bool>(),
            proptest::collection::vec((pair(), prop_oneof![Just(0x1_0000u32), any::<u32>()]), 0..3),
        )),
        prop_oneof![Just(*b"avc1"), Just(*b"hvc1"), Just(*b"mp4v")],
        (
            prop_oneof![Just(160u16), any::<u16>()],
            prop_oneof![Just(120u16), any::<u16>()],
        ),
        proptest::option::of(any::<Option<u32>>()),
        0usize..4096,
    );
    (times, tables, extras).prop_map(|(times, tables, extras)| assemble(times, tables, extras))
}

/// Tables that agree with each other (one sample count for `stts`, `ctts`, `stsz` and the
/// chunks; chunk offsets inside `mdat`), with random durations, composition offsets, key
/// frames and edit lists: the inputs that reach the timing model.
fn consistent_tables() -> impl Strategy<Value = Vec<u8>> {
    (
        1u32..60,
        prop_oneof![Just(512u32), Just(1), Just(1001), Just(3000), 1u32..100_000],
        prop_oneof![
            Just(12_800u32),
            Just(25),
            Just(30_000),
            Just(90_000),
            1u32..1_000_000
        ],
        proptest::collection::vec(
            prop_oneof![Just(0i32), Just(1), Just(2), Just(-1), -3i32..4],
            60,
        ),
        proptest::collection::vec(any::<bool>(), 60),
        proptest::collection::vec(1u32..6, 1..20),
        proptest::option::of((
            any::<bool>(),
            prop_oneof![Just(0u32), Just(1), Just(2), Just(u32::MAX)],
            0u32..80,
            any::<bool>(),
        )),
        prop_oneof![Just(*b"avc1"), Just(*b"hvc1")],
        any::<bool>(),
    )
        .prop_map(
            |(n, delta, scale, offsets, keys, chunking, edit, format, with_ctts)| {
                let stts = vec![(n, delta)];
                let ctts = with_ctts.then(|| {
                    (0..n as usize)
                        .map(|i| (1u32, offsets[i].wrapping_mul(delta as i32)))
                        .collect()
                });
                let mut stss: Vec<u32> = (1..=n)
                    .filter(|i| *i == 1 || keys[*i as usize - 1])
                    .collect();
                if keys[0] && n > 1 {
                    stss.remove(0);
                }
                let sizes: Vec<u32> = (0..n).map(|i| 1 + i % 7).collect();
                // Chunks of 1..6 samples, laid out one after the other in mdat (at 100).
                let mut stsc = Vec::new();
                let mut stco = Vec::new();
                let (mut sample, mut offset, mut chunk) = (0u32, 0u32, 1u32);
                let mut c = chunking.iter().cycle();
                while sample < n {
                    let per = (*c.next().unwrap_or(&1)).min(n - sample);
                    if stsc.last().map(|e: &(u32, u32)| e.1) != Some(per) {
                        stsc.push((chunk, per));
                    }
                    stco.push(offset);
                    offset += (sample..sample + per).map(|i| 1 + i % 7).sum::<u32>();
                    sample += per;
                    chunk += 1;
                }
                let duration = n * delta;
                let edits = edit.map(|(empty_first, media_time, shorten, v1)| {
                    let shown = duration.saturating_sub(shorten * delta / 4);
                    let movie = |d: u32| (u64::from(d) * 1000 / u64::from(scale)) as u32;
                    let mut e = Vec::new();
                    if empty_first {
                        e.push(((movie(delta), u32::MAX), 0x1_0000));
                    }
                    e.push(((movie(shown), media_time.wrapping_mul(delta)), 0x1_0000));
                    (v1, e)
                });
                // Offsets are relative to mdat's payload: the file puts mdat after moov, so
                // they are shifted by the header's size below.
                let tables = (stts, ctts, Some(stss), (0, n, sizes), stsc, stco.clone());
                let first = assemble(
                    (1000, duration / (scale / 1000).max(1), scale, duration),
                    tables.clone(),
                    (edits.clone(), format, (160, 120), None, offset as usize),
                );
                let header = first.len() as u32 - offset;
                let stco = stco.iter().map(|o| o + header).collect();
                let movie_duration = (u64::from(duration) * 1000 / u64::from(scale)) as u32 + 1;
                assemble(
                    (1000, movie_duration, scale, duration),
                    (tables.0, tables.1, tables.2, tables.3, tables.4, stco),
                    (edits, format, (160, 120), None, offset as usize),
                )
            },
        )
}

/// Sample tables that agree with each other, or random ones.
fn sample_tables() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![consistent_tables(), random_tables()]
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
    if container != "avi" {
        let mut runner = TestRunner::new_with_rng(
            config(),
            TestRng::from_seed(RngAlgorithm::ChaCha, &(!seed).to_le_bytes().repeat(4)),
        );
        report(
            target.name,
            "generated sample tables",
            seed,
            runner.run(&sample_tables(), |b| {
                check(&b);
                Ok(())
            }),
        );
    }
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
            let path = crate::fixtures::write(
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
    run(&mp4_target(), 100, 1, &stats);
    assert!(stats.executions.get() >= 600, "{stats:?}");
}

#[test]
fn fuzz_avi_header_briefly() {
    let stats = Run::default();
    run(&avi_target(), 150, 1, &stats);
    assert!(stats.executions.get() >= 450, "{stats:?}");
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
