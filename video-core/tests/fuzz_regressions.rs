//! Inputs the fuzz targets (`tests/fuzz_core`, `scripts/fuzz-core.sh`) found to crash, hang,
//! allocate without bound or give a wrong answer, kept as named regression tests. Each says what
//! the code did before its fix. (The annotation readers' regressions are in video-annotation's
//! `tests/fuzz_regressions.rs`.)

#![allow(clippy::unwrap_used)]

use std::time::Duration;

use video_core::{FrameInfo, FrameTable, SamplingPlan, Timestamp};

fn table(pts: &[i64], duration: Option<u64>) -> FrameTable {
    FrameTable::from_presentation_order(
        pts.iter()
            .enumerate()
            .map(|(i, &p)| FrameInfo {
                index: 0,
                pts: Timestamp::from_nanos(p),
                duration: duration.map(Duration::from_nanos),
                keyframe: i == 0,
                decode_order: i as u64,
            })
            .collect(),
    )
}

fn regular(n: i64, frame_ns: i64) -> FrameTable {
    table(
        &(0..n).map(|i| i * frame_ns).collect::<Vec<_>>(),
        Some(frame_ns as u64),
    )
}

fn resolve(plan: SamplingPlan, t: &FrameTable) -> Vec<u64> {
    plan.resolve(t).unwrap().indices().to_vec()
}

/// Was: the fps loop stopped after 10⁶ + 4n samples, so a 3-hour gap at 87 fps silently lost
/// the frames after it.
#[test]
fn fps_plan_past_a_long_gap_keeps_the_frames_after_it() {
    let t = table(&[0, 11_494_344_827_587, 11_495_344_827_587], None);
    assert_eq!(resolve(SamplingPlan::fps(87.0), &t), [0, 1, 2]);
}

/// Was: the same cut-off made `fps(2000)` on a 10-minute 30 fps video stop after 535 s, and
/// `fps(1e6)` after the first second.
#[test]
fn fps_plan_faster_than_the_video_selects_every_frame_of_a_long_video() {
    let t = regular(18_000, 33_366_667);
    for fps in [2_000.0, 1e6, 1e12] {
        let got = resolve(SamplingPlan::fps(fps), &t);
        assert_eq!(got.len(), 18_000, "fps {fps}");
    }
}

/// Bounded work for a huge rate on a big table: one pass over the frames, not 10¹² samples.
#[test]
fn fps_and_step_plans_on_a_million_frames() {
    let t = regular(1_000_000, 40_000_000);
    assert_eq!(resolve(SamplingPlan::fps(1e12), &t).len(), 1_000_000);
    assert_eq!(resolve(SamplingPlan::fps(1.0), &t).len(), 40_000);
    assert_eq!(resolve(SamplingPlan::every(7), &t).len(), 142_858);
    let capped = resolve(SamplingPlan::fps(1e12).max_frames(10), &t);
    assert_eq!(capped, (0..10).map(|j| j * 100_000).collect::<Vec<_>>());
}

/// Was: `1e9 / fps` is infinite for a subnormal rate and sample 0 was `start + 0 · ∞ = NaN`,
/// which picked frame 0 instead of the frame shown at `start_seconds`.
#[test]
fn fps_plan_with_a_tiny_rate_starts_at_start_seconds() {
    let t = regular(100, 40_000_000);
    let plan = SamplingPlan::fps(1e-300).seconds(Some(2.0), None);
    assert_eq!(resolve(plan, &t), [50]);
}

/// Was: `end - first pts` overflowed i64 (a panic in debug builds) for timestamps far apart.
#[test]
fn fps_plan_on_timestamps_far_apart_does_not_overflow() {
    let t = table(&[i64::MIN, 0], Some(1_000_000_000));
    assert_eq!(resolve(SamplingPlan::fps(1.0), &t), [0, 1]);
    assert_eq!(resolve(SamplingPlan::fps(1e-9), &t), [0]);
}

/// Found by the fuzzer in the frame-by-frame resolver: 9 · 10¹⁸ ns after the first frame a
/// float's step is 1024 ns, so the sample computed nearest a 1-second frame at 1 MHz fell before
/// it and the frame was dropped. A frame shown longer than a step always holds a sample.
#[test]
fn fps_plan_far_from_the_first_frame_keeps_frames_longer_than_a_step() {
    let gaps = [
        33_501_210,
        2_358_437_966_689_212_020,
        34_280_481,
        1_000_000_000,
        1_000_000_000,
        6_769_223_752_345_478_993,
        1_000_000_000,
    ];
    let mut pts = vec![0i64];
    for g in gaps {
        pts.push(pts.last().unwrap() + g);
    }
    let t = table(&pts, None);
    let plan = SamplingPlan::fps(1e6).seconds(Some(18.717297012067405), None);
    assert_eq!(resolve(plan, &t), [1, 2, 3, 4, 5, 6, 7]);
}
