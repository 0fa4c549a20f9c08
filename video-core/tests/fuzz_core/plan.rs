//! Target `plan`: `SamplingPlan::resolve` against arbitrary frame tables.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use proptest::collection::vec;
use proptest::prelude::*;
use proptest::test_runner::TestCaseError;
use video_core::{
    Error, FnFilter, FrameInfo, FrameTable, ResolvedPlan, SamplingPlan, Selection, Timestamp,
};

use super::check;

/// How a frame table is made.
#[derive(Clone, Debug)]
pub(crate) enum TableSpec {
    /// Strictly increasing pts: `base`, then `base + gaps[0]`, … (stopping before i64 overflows),
    /// with the given durations.
    Sorted {
        base: i64,
        gaps: Vec<u64>,
        durations: Vec<Option<u64>>,
    },
    /// Frames in the given order, whatever their pts (unsorted, repeated): what
    /// `FrameTable::from_presentation_order` accepts from a careless caller.
    Raw { frames: Vec<(i64, Option<u64>)> },
    /// `n` frames `gap` ns apart from 0, with that duration.
    Big { n: u64, gap: u64 },
}

impl TableSpec {
    fn build(&self) -> FrameTable {
        let frame = |i: usize, pts: i64, d: Option<u64>| FrameInfo {
            index: 0,
            pts: Timestamp::from_nanos(pts),
            duration: d.map(Duration::from_nanos),
            keyframe: i.is_multiple_of(7),
            decode_order: i as u64,
        };
        match self {
            TableSpec::Sorted {
                base,
                gaps,
                durations,
            } => {
                let mut frames = vec![frame(0, *base, durations.first().copied().flatten())];
                let mut pts = *base;
                for (i, &g) in gaps.iter().enumerate() {
                    let Some(next) = i64::try_from(g).ok().and_then(|g| pts.checked_add(g)) else {
                        break;
                    };
                    pts = next;
                    frames.push(frame(i + 1, pts, durations.get(i + 1).copied().flatten()));
                }
                FrameTable::from_presentation_order(frames)
            }
            TableSpec::Raw { frames } => FrameTable::from_presentation_order(
                frames
                    .iter()
                    .enumerate()
                    .map(|(i, &(p, d))| frame(i, p, d))
                    .collect(),
            ),
            TableSpec::Big { n, gap } => FrameTable::from_presentation_order(
                (0..*n as usize)
                    .map(|i| frame(i, i as i64 * *gap as i64, Some(*gap)))
                    .collect(),
            ),
        }
    }

    fn is_sorted(&self) -> bool {
        !matches!(self, TableSpec::Raw { .. })
    }
}

fn gap() -> impl Strategy<Value = u64> {
    prop_oneof![
        4 => 1..=100u64,
        8 => 33_000_000..=42_000_000u64,
        2 => Just(1_000_000_000u64),
        1 => 1..=u64::MAX / 2,
        1 => Just(u64::MAX),
    ]
}

fn duration() -> impl Strategy<Value = Option<u64>> {
    prop_oneof![
        3 => Just(None),
        1 => Just(Some(0)),
        4 => Just(Some(40_000_000)),
        1 => any::<u64>().prop_map(Some),
    ]
}

fn table_spec() -> impl Strategy<Value = TableSpec> {
    let base = prop_oneof![
        6 => Just(0i64),
        3 => -1_000_000_000_000i64..1_000_000_000_000,
        1 => Just(i64::MIN),
        1 => Just(i64::MAX - 1_000_000_000),
        1 => any::<i64>(),
    ];
    let sorted =
        (base, vec(gap(), 0..300), vec(duration(), 0..4)).prop_map(|(base, gaps, durations)| {
            TableSpec::Sorted {
                base,
                gaps,
                durations,
            }
        });
    let pts = prop_oneof![4 => -5i64..5, 1 => any::<i64>()];
    let raw = vec((pts, duration()), 0..20).prop_map(|frames| TableSpec::Raw { frames });
    let big = (
        prop_oneof![Just(10_000u64), Just(100_000u64)],
        gap().prop_map(|g| g.min(1 << 40)),
    )
        .prop_map(|(n, gap)| TableSpec::Big { n, gap });
    prop_oneof![30 => sorted, 8 => raw, 1 => big]
}

fn seconds() -> impl Strategy<Value = f64> {
    prop_oneof![
        6 => 0.0..30.0f64,
        2 => (0u32..60).prop_map(|v| f64::from(v) / 2.0),
        1 => Just(0.0),
        1 => Just(-0.0),
        1 => Just(-1.0),
        1 => Just(f64::NAN),
        1 => Just(f64::INFINITY),
        1 => Just(f64::NEG_INFINITY),
        1 => Just(1e10),
        1 => Just(9.3e9),
        1 => Just(1e300),
        1 => Just(f64::MIN_POSITIVE),
        1 => any::<f64>(),
    ]
}

fn fps() -> impl Strategy<Value = f64> {
    prop_oneof![
        6 => 0.01..100.0f64,
        3 => (1u32..120).prop_map(f64::from),
        2 => Just(30_000.0 / 1001.0),
        1 => Just(0.0),
        1 => Just(-1.0),
        1 => Just(f64::NAN),
        1 => Just(f64::INFINITY),
        1 => Just(1e-300),
        1 => Just(5e-324),
        1 => Just(1e6),
        1 => Just(1e9),
        1 => Just(2.5e9),
        1 => Just(1e12),
        1 => Just(f64::MAX),
        1 => any::<f64>(),
    ]
}

fn index() -> impl Strategy<Value = u64> {
    prop_oneof![8 => 0..400u64, 1 => Just(u64::MAX), 1 => any::<u64>(), 1 => 99_990..100_010u64]
}

fn selection() -> impl Strategy<Value = Selection> {
    let step = prop_oneof![
        1 => Just(0u64),
        6 => 1..40u64,
        1 => Just(u64::MAX),
        1 => any::<u64>(),
    ];
    prop_oneof![
        Just(Selection::All),
        vec(index(), 0..40).prop_map(Selection::Indices),
        (index(), proptest::option::of(index()), step)
            .prop_map(|(start, end, step)| { Selection::Range { start, end, step } }),
        (
            fps(),
            proptest::option::of(seconds()),
            proptest::option::of(seconds())
        )
            .prop_map(|(fps, start_seconds, end_seconds)| Selection::Fps {
                fps,
                start_seconds,
                end_seconds
            }),
        (seconds(), proptest::option::of(seconds())).prop_map(|(start_seconds, end_seconds)| {
            Selection::TimeRange {
                start_seconds,
                end_seconds,
            }
        }),
    ]
}

/// A filter by name (so a failing case prints it).
#[derive(Clone, Copy, Debug)]
pub(crate) enum FilterSpec {
    None,
    EvenIndices,
    KeyFrames,
}

impl FilterSpec {
    fn keep(self, f: &FrameInfo) -> bool {
        match self {
            FilterSpec::None => true,
            FilterSpec::EvenIndices => f.index.is_multiple_of(2),
            FilterSpec::KeyFrames => f.keyframe,
        }
    }
}

#[derive(Clone, Debug)]
pub(crate) struct Case {
    table: TableSpec,
    selection: Selection,
    max_frames: Option<u64>,
    filter: FilterSpec,
}

fn case() -> impl Strategy<Value = Case> {
    let cap = prop_oneof![
        6 => Just(None),
        1 => Just(Some(0u64)),
        4 => (1..50u64).prop_map(Some),
        1 => Just(Some(u64::MAX)),
    ];
    let filter = prop_oneof![
        6 => Just(FilterSpec::None),
        1 => Just(FilterSpec::EvenIndices),
        1 => Just(FilterSpec::KeyFrames),
    ];
    (table_spec(), selection(), cap, filter).prop_map(|(table, selection, max_frames, filter)| {
        Case {
            table,
            selection,
            max_frames,
            filter,
        }
    })
}

fn plan_of(c: &Case, cap: Option<u64>) -> SamplingPlan {
    let mut p = SamplingPlan::new(c.selection.clone());
    if !matches!(c.filter, FilterSpec::None) {
        let f = c.filter;
        p = p.filter(Arc::new(FnFilter(move |fi: &FrameInfo| f.keep(fi))));
    }
    if let Some(n) = cap {
        p = p.max_frames(n);
    }
    p
}

/// The error a plan must give, by the documented rules (independently of the resolver).
#[derive(Debug, PartialEq)]
enum Expected {
    Invalid,
    OutOfRange(u64),
}

fn seconds_ok(s: Option<f64>) -> bool {
    s.is_none_or(|v| v.is_finite() && v >= 0.0)
}

fn expected_error(c: &Case, n: u64) -> Option<Expected> {
    let window = |s: Option<f64>, e: Option<f64>| {
        let ok = seconds_ok(s) && seconds_ok(e) && !matches!((s, e), (Some(s), Some(e)) if s > e);
        (!ok).then_some(Expected::Invalid)
    };
    let sel = match &c.selection {
        Selection::All => None,
        Selection::Indices(v) => v
            .iter()
            .find(|&&i| i >= n)
            .map(|&i| Expected::OutOfRange(i)),
        &Selection::Range { start, end, step } => {
            if step == 0 || end.is_some_and(|e| start > e) {
                Some(Expected::Invalid)
            } else if start >= n && end != Some(start) {
                Some(Expected::OutOfRange(start))
            } else {
                None
            }
        }
        &Selection::Fps {
            fps,
            start_seconds,
            end_seconds,
        } => {
            if !(fps.is_finite() && fps > 0.0) {
                Some(Expected::Invalid)
            } else {
                window(start_seconds, end_seconds)
            }
        }
        &Selection::TimeRange {
            start_seconds,
            end_seconds,
        } => window(Some(start_seconds), end_seconds),
        _ => None,
    };
    sel.or((c.max_frames == Some(0)).then_some(Expected::Invalid))
}

/// Seconds to nanoseconds as the docs define times (rounded to the nanosecond); `None` past the
/// range of a timestamp.
fn ns(s: f64) -> Option<i128> {
    let v = s * 1e9;
    (v.is_finite() && v.abs() < 9.223_372_036_854_775e18).then(|| v.round() as i128)
}

/// What the oracle says about a selection on a sorted table: frames that must be selected,
/// frames that may be (samples within float rounding of a frame boundary), and groups of which
/// at least one must be selected.
#[derive(Debug, Default)]
struct Oracle {
    required: BTreeSet<u64>,
    optional: BTreeSet<u64>,
    groups: Vec<(u64, u64)>,
}

/// The `[S, E)` window of a seconds-based selection, as absolute ns; `None` when it selects
/// nothing (empty table, a start past the timestamp range, a table whose end overflows).
fn window(table: &FrameTable, start: Option<f64>, end: Option<f64>) -> Option<(i128, i128)> {
    let first = i128::from(table.first()?.pts.as_nanos());
    let video_end = i128::from(table.end()?.as_nanos());
    let clamp = |v: i128| v.min(i128::from(i64::MAX));
    let s = clamp(first + ns(start.unwrap_or(0.0))?);
    let e = match end.and_then(ns) {
        Some(e) => clamp(first + e).min(video_end),
        None => video_end,
    };
    Some((s, e))
}

fn oracle(table: &FrameTable, sel: &Selection) -> Oracle {
    let n = table.len();
    let pts: Vec<i128> = table.iter().map(|f| i128::from(f.pts.as_nanos())).collect();
    let mut o = Oracle::default();
    match sel {
        Selection::All => o.required = (0..n).collect(),
        Selection::Indices(v) => o.required = v.iter().copied().collect(),
        &Selection::Range { start, end, step } => {
            let end = end.unwrap_or(n).min(n);
            let mut i = start;
            while i < end {
                o.required.insert(i);
                match i.checked_add(step) {
                    Some(next) => i = next,
                    None => break,
                }
            }
        }
        &Selection::TimeRange {
            start_seconds,
            end_seconds,
        } => {
            if let Some((s, e)) = window(table, Some(start_seconds), end_seconds) {
                o.required = (0..n)
                    .filter(|&j| pts[j as usize] >= s && pts[j as usize] < e)
                    .collect();
            }
        }
        &Selection::Fps {
            fps,
            start_seconds,
            end_seconds,
        } => {
            let Some((s, e)) = window(table, start_seconds, end_seconds) else {
                return o;
            };
            fps_oracle(&pts, s, e, 1e9 / fps, &mut o);
        }
        _ => {}
    }
    o
}

/// Frames picked by samples `s + k · step` before `e`, walking the samples one by one (only
/// when there are few), plus two rules that hold for any number of samples: every selected
/// frame is shown somewhere in `[s, e)`, and a frame shown longer than one step in the window
/// is selected.
fn fps_oracle(pts: &[i128], s: i128, e: i128, step: f64, o: &mut Oracle) {
    let first = pts[0];
    let rel: Vec<f64> = pts.iter().map(|&p| (p - first) as f64).collect();
    let (s, e) = ((s - first) as f64, (e - first) as f64);
    let tol = |t: f64| 1.0 + t.abs() * 1e-12;
    // The frame shown at relative time t: the last one whose pts is <= t.
    let shown = |t: f64| rel.partition_point(|&p| p <= t).checked_sub(1);
    let n = rel.len();
    for j in 0..n {
        let a = rel[j].max(s);
        let b = rel.get(j + 1).copied().unwrap_or(f64::INFINITY).min(e);
        if b > a - 2.0 * tol(a) {
            // Shown (nearly) in the window: may be selected.
            o.optional.insert(j as u64);
        }
        if b - a > step + 4.0 * tol(b) {
            o.required.insert(j as u64);
        }
    }
    let samples = if step.is_finite() {
        (e + tol(e) - s) / step
    } else {
        1.0
    };
    if samples.is_nan() || samples > 100_000.0 || s + step == s {
        return;
    }
    let mut k = 0u64;
    loop {
        let t = if k == 0 { s } else { s + k as f64 * step };
        if t >= e + tol(t) {
            break;
        }
        let near_end = t > e - tol(t);
        let lo = shown(t - tol(t)).unwrap_or(0) as u64;
        let Some(hi) = shown(t + tol(t)) else { break };
        let hi = hi as u64;
        if near_end || lo != hi {
            o.optional.extend(lo..=hi);
            if !near_end {
                o.groups.push((lo, hi));
            }
        } else {
            o.required.insert(lo);
        }
        k += 1;
        if !step.is_finite() || k > 200_000 {
            break;
        }
    }
}

fn check_case(c: &Case) -> Result<(), TestCaseError> {
    let table = c.table.build();
    let n = table.len();
    let got = plan_of(c, c.max_frames).resolve(&table);
    let want_err = expected_error(c, n);
    let out: ResolvedPlan = match (got, want_err) {
        (Ok(p), None) => p,
        (Err(Error::InvalidPlan { reason }), Some(Expected::Invalid)) => {
            return check(!reason.is_empty(), || "empty reason".into());
        }
        (Err(Error::IndexOutOfRange { index, frame_count }), Some(Expected::OutOfRange(i))) => {
            return check(index == i && frame_count == n, || {
                format!("IndexOutOfRange {{ {index}, {frame_count} }}, expected index {i} of {n}")
            });
        }
        (got, want) => {
            return Err(TestCaseError::fail(format!(
                "resolve gave {got:?}, expected {}",
                match want {
                    None => "Ok".to_owned(),
                    Some(w) => format!("{w:?}"),
                }
            )));
        }
    };
    let idx = out.indices();
    check(idx.windows(2).all(|w| w[0] < w[1]), || {
        format!("indices not strictly increasing: {idx:?}")
    })?;
    check(idx.iter().all(|&i| i < n), || {
        format!("index past {n}: {idx:?}")
    })?;
    if let Some(cap) = c.max_frames {
        check(idx.len() as u64 <= cap, || {
            format!("{} frames > cap {cap}", idx.len())
        })?;
    }
    check(
        idx.iter().all(|&i| c.filter.keep(table.get(i).unwrap())),
        || "a frame the filter rejects was selected".into(),
    )?;

    // The selection before the cap, against the oracle.
    let all = plan_of(c, None)
        .resolve(&table)
        .map_err(|e| TestCaseError::fail(format!("the plan without its cap failed: {e}")))?;
    let all = all.indices();
    if let Some(cap) = c.max_frames {
        let set: BTreeSet<u64> = all.iter().copied().collect();
        check(idx.iter().all(|i| set.contains(i)), || {
            "the capped plan selected a frame the uncapped one does not".into()
        })?;
        check(idx.len() as u64 == cap.min(all.len() as u64), || {
            format!("capped to {} of {}, cap {cap}", idx.len(), all.len())
        })?;
        check(idx.first() == all.first(), || {
            "the cap dropped the first frame".into()
        })?;
    }
    if !c.table.is_sorted() {
        return Ok(());
    }
    let o = oracle(&table, &c.selection);
    let keep = |i: &u64| c.filter.keep(table.get(*i).unwrap());
    let got: BTreeSet<u64> = all.iter().copied().collect();
    let missing: Vec<u64> = o
        .required
        .iter()
        .filter(|i| keep(i) && !got.contains(i))
        .copied()
        .collect();
    check(missing.is_empty(), || {
        format!(
            "frames the oracle requires are missing: {:?} (got {} frames)",
            &missing[..missing.len().min(20)],
            got.len()
        )
    })?;
    let extra: Vec<u64> = got
        .iter()
        .filter(|i| !o.required.contains(i) && !o.optional.contains(i))
        .copied()
        .collect();
    check(extra.is_empty(), || {
        format!(
            "frames the oracle does not allow: {:?}",
            &extra[..extra.len().min(20)]
        )
    })?;
    if matches!(c.filter, FilterSpec::None) {
        for &(lo, hi) in &o.groups {
            check(got.range(lo..=hi).next().is_some(), || {
                format!("no frame of {lo}..={hi}, where a sample lands, was selected")
            })?;
        }
    }
    Ok(())
}

/// Arbitrary JSON as a `Selection` (plans may be read from files).
fn check_selection_json(text: &str) -> Result<(), TestCaseError> {
    if let Ok(sel) = serde_json::from_str::<Selection>(text) {
        let table = TableSpec::Big {
            n: 100,
            gap: 40_000_000,
        }
        .build();
        let _ = SamplingPlan::new(sel).resolve(&table);
    }
    Ok(())
}

pub(crate) fn fuzz() {
    super::run("plan", 100, 0.85, case(), |c| check_case(&c));
    super::run(
        "plan/selection-json",
        200,
        0.15,
        super::json::any_json().prop_map(|v| v.to_string()),
        |t| check_selection_json(&t),
    );
}
