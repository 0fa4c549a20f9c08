//! Where a video is cut into segments, and frame-rate conversion maps.

use std::time::Duration;

use super::{FrameMap, MappedFrame};
use crate::{Error, FrameTable, Result};

/// How long a segment may be.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SplitBy {
    /// A segment holds the frames shown less than this many seconds after its first frame.
    Seconds(f64),
    /// At most this many frames.
    Frames(u64),
}

impl SplitBy {
    /// Checks the value: a positive, finite number of seconds, or at least one frame.
    pub fn validate(&self) -> Result<()> {
        match *self {
            SplitBy::Seconds(s) if !(s.is_finite() && s > 0.0) => Err(Error::InvalidOption {
                option: "max_seconds".into(),
                reason: format!("must be a positive number of seconds (got {s})"),
            }),
            SplitBy::Frames(0) => Err(Error::InvalidOption {
                option: "max_frames".into(),
                reason: "must be at least 1 (got 0)".into(),
            }),
            _ => Ok(()),
        }
    }
}

/// How segment boundaries are made.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SplitMode {
    /// Copy the compressed stream, cutting only where a segment can start on its own (a key
    /// frame no earlier frame's decoding depends on, see `clean_cuts`): fast and lossless, but
    /// each boundary moves back to the last such key frame at or before where it was asked, or
    /// forward to the next one when a segment holds none (that segment is then longer than
    /// asked).
    #[default]
    KeyFrames,
    /// Re-encode, so that boundaries fall exactly where asked.
    Exact,
}

/// One segment: output frames `[first, end)` of the whole prepared video's map (for a split
/// without frame-rate conversion, the source's frames `[first, end)`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Segment {
    /// The first frame.
    pub first: u64,
    /// One past the last frame.
    pub end: u64,
    /// Whether the segment is longer than asked (no key frame to cut at within the limit).
    pub longer_than_asked: bool,
}

/// Cuts the output frames of `whole` into segments of at most `by`, greedily from the start: a
/// segment ends where the limit is reached (exact), or at the last of `cuts` within the limit
/// (`cuts`: the output indices where a segment may start, for [`SplitMode::KeyFrames`]; `None`
/// for [`SplitMode::Exact`]). Segments are in order, none empty, and together cover every
/// output frame exactly once.
pub fn plan_segments(whole: &FrameMap, by: SplitBy, cuts: Option<&[u64]>) -> Result<Vec<Segment>> {
    by.validate()?;
    let n = whole.frames.len() as u64;
    let pts = |i: u64| whole.frames[i as usize].pts;
    let cuts: Option<Vec<u64>> = cuts.map(|c| {
        let mut c = c.to_vec();
        c.sort_unstable();
        c.dedup();
        c
    });
    let mut out = Vec::new();
    let mut s = 0u64;
    while s < n {
        // The end the limit asks for: `s + N` frames, or the first frame `limit` after `s`.
        let ideal = match by {
            SplitBy::Frames(f) => s.saturating_add(f).min(n),
            SplitBy::Seconds(sec) => {
                let limit = pts(s) + Duration::from_secs_f64(sec);
                let rest = &whole.frames[s as usize..];
                s + rest.partition_point(|f| f.pts < limit) as u64
            }
        }
        .max(s + 1);
        let (end, longer) = match &cuts {
            None => (ideal, false),
            Some(cuts) => aligned_end(cuts, s, ideal, n),
        };
        out.push(Segment {
            first: s,
            end,
            longer_than_asked: longer,
        });
        s = end;
    }
    Ok(out)
}

/// The last cut in `(s, ideal]` (or the video's end when it is within), else the first cut after
/// `ideal` (or the end), which makes the segment longer than asked.
fn aligned_end(cuts: &[u64], s: u64, ideal: u64, n: u64) -> (u64, bool) {
    if ideal >= n {
        return (n, false);
    }
    let upto = cuts.partition_point(|&c| c <= ideal);
    match cuts[..upto].last() {
        Some(&c) if c > s => (c, false),
        _ => {
            let after = cuts[upto..].iter().copied().find(|&c| c > s).unwrap_or(n);
            (after, true)
        }
    }
}

/// The part of `whole` a segment covers, as a map of its own: its frames' pts start at 0.
pub fn segment_map(whole: &FrameMap, segment: &Segment) -> Result<FrameMap> {
    let (a, b) = (segment.first as usize, segment.end as usize);
    if a >= b || b > whole.frames.len() {
        return Err(Error::InvalidPlan {
            reason: format!(
                "segment [{a}, {b}) is empty or not within the {} frames",
                whole.frames.len()
            ),
        });
    }
    let base = whole.frames[a].pts;
    let end = whole.frames.get(b).map_or(whole.end, |f| f.pts);
    Ok(FrameMap {
        frames: whole.frames[a..b]
            .iter()
            .map(|f| MappedFrame {
                source_index: f.source_index,
                pts: f.pts - base,
            })
            .collect(),
        end: end - base,
    })
}

/// The map of a copy at `fps` frames a second: output frame `k` is shown at `k / fps` (rounded
/// to the nanosecond) and is the source frame shown at that time from the first frame's pts
/// (the last frame whose pts is at or before it: the rule `SamplingPlan::fps` picks frames by),
/// for every `k / fps` before the source's end. Source frames repeat when `fps` is above the
/// source's rate and are left out when below.
pub fn fps_map(table: &FrameTable, fps: f64) -> Result<FrameMap> {
    if !(fps.is_finite() && fps > 0.0) {
        return Err(Error::InvalidOption {
            option: "fps".into(),
            reason: format!("must be a positive number (got {fps})"),
        });
    }
    let (Some(first), Some(duration)) = (table.first(), table.duration()) else {
        return Err(Error::InvalidPlan {
            reason: "the video has no frames".into(),
        });
    };
    let base = first.pts;
    let step = 1e9 / fps;
    let at = |k: u64| Duration::from_nanos((k as f64 * step).round() as u64);
    let mut frames = Vec::new();
    let mut k = 0u64;
    loop {
        let t = at(k);
        if t >= duration {
            break;
        }
        let shown = base
            .checked_add(t)
            .and_then(|ts| table.index_at_time(ts))
            .unwrap_or(first.index);
        frames.push(MappedFrame {
            source_index: shown,
            pts: t,
        });
        k += 1;
    }
    Ok(FrameMap { frames, end: at(k) })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{PacketEntry, SamplingPlan, Timestamp};

    /// A table of frames at the given pts (ms), in presentation order, key frame every 10.
    fn table_ms(pts_ms: &[i64]) -> FrameTable {
        FrameTable::from_decode_order(
            "t",
            pts_ms.iter().enumerate().map(|(i, &ms)| PacketEntry {
                pts: Some(Timestamp::from_nanos(ms * 1_000_000)),
                duration: None,
                keyframe: i % 10 == 0,
            }),
        )
        .unwrap()
    }

    fn cfr(n: i64, ms: i64) -> FrameTable {
        table_ms(&(0..n).map(|i| i * ms).collect::<Vec<_>>())
    }

    fn ranges(s: &[Segment]) -> Vec<(u64, u64, bool)> {
        s.iter()
            .map(|s| (s.first, s.end, s.longer_than_asked))
            .collect()
    }

    /// Segments are contiguous, non-empty and cover `0..n` exactly once.
    fn assert_cover(s: &[Segment], n: u64) {
        let mut next = 0;
        for seg in s {
            assert_eq!(seg.first, next, "{s:?}");
            assert!(seg.end > seg.first, "{s:?}");
            next = seg.end;
        }
        assert_eq!(next, n, "{s:?}");
    }

    #[test]
    fn exact_splits_by_frames_and_by_seconds() {
        let t = cfr(100, 40);
        let whole = FrameMap::copy_of(&t, 0, 100).unwrap();
        let s = plan_segments(&whole, SplitBy::Frames(30), None).unwrap();
        assert_eq!(
            ranges(&s),
            [
                (0, 30, false),
                (30, 60, false),
                (60, 90, false),
                (90, 100, false)
            ]
        );
        // 25 fps: 1.5 s is 37.5 frames; a segment holds the frames shown before 1.5 s from
        // its own start.
        let s = plan_segments(&whole, SplitBy::Seconds(1.5), None).unwrap();
        assert_eq!(ranges(&s)[0], (0, 38, false));
        assert_eq!(ranges(&s)[1], (38, 76, false));
        assert_cover(&s, 100);
    }

    #[test]
    fn key_frame_splits_move_back_to_a_cut_or_forward_when_there_is_none() {
        let t = cfr(100, 40);
        let whole = FrameMap::copy_of(&t, 0, 100).unwrap();
        let cuts = [30, 60, 90];
        let s = plan_segments(&whole, SplitBy::Frames(40), Some(&cuts)).unwrap();
        assert_eq!(
            ranges(&s),
            [(0, 30, false), (30, 60, false), (60, 100, false)]
        );
        let s = plan_segments(&whole, SplitBy::Frames(20), Some(&cuts)).unwrap();
        assert_eq!(
            ranges(&s),
            [
                (0, 30, true),
                (30, 60, true),
                (60, 90, true),
                (90, 100, false)
            ]
        );
        // No cut at all: one segment, longer than asked.
        let s = plan_segments(&whole, SplitBy::Frames(20), Some(&[])).unwrap();
        assert_eq!(ranges(&s), [(0, 100, true)]);
    }

    #[test]
    fn any_split_covers_every_frame_once() {
        // A small deterministic generator instead of a dependency.
        let mut seed = 0x2545_f491_4f6c_dd1du64;
        let mut next = |m: u64| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed % m
        };
        for _ in 0..300 {
            let n = 1 + next(200);
            let mut ms = 0;
            let pts: Vec<i64> = (0..n)
                .map(|_| {
                    ms += 1 + next(80) as i64;
                    ms
                })
                .collect();
            let whole = FrameMap::copy_of(&table_ms(&pts), 0, n).unwrap();
            let cuts: Vec<u64> = (1..n).filter(|_| next(8) == 0).collect();
            let by = if next(2) == 0 {
                SplitBy::Frames(1 + next(50))
            } else {
                SplitBy::Seconds(0.01 + next(3000) as f64 / 1000.0)
            };
            let exact = plan_segments(&whole, by, None).unwrap();
            assert_cover(&exact, n);
            if let SplitBy::Frames(f) = by {
                assert!(exact.iter().all(|s| s.end - s.first <= f));
            }
            let aligned = plan_segments(&whole, by, Some(&cuts)).unwrap();
            assert_cover(&aligned, n);
            for s in &aligned {
                assert!(s.first == 0 || cuts.contains(&s.first), "{s:?} {cuts:?}");
                // Not longer than asked unless no cut lay within the limit.
                if !s.longer_than_asked {
                    match by {
                        SplitBy::Frames(f) => assert!(s.end - s.first <= f),
                        SplitBy::Seconds(sec) => {
                            let a = whole.frames[s.first as usize].pts;
                            let last = whole.frames[s.end as usize - 1].pts;
                            assert!((last - a).as_secs_f64() < sec + 1e-9, "{s:?}");
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn segment_maps_start_at_zero_and_keep_source_indices() {
        let t = table_ms(&[0, 40, 80, 150, 190, 230]);
        let whole = FrameMap::copy_of(&t, 0, 6).unwrap();
        let seg = Segment {
            first: 2,
            end: 5,
            longer_than_asked: false,
        };
        let m = segment_map(&whole, &seg).unwrap();
        let idx: Vec<u64> = m.frames.iter().map(|f| f.source_index).collect();
        let pts: Vec<u128> = m.frames.iter().map(|f| f.pts.as_millis()).collect();
        assert_eq!(idx, [2, 3, 4]);
        assert_eq!(pts, [0, 70, 110]);
        assert_eq!(m.end.as_millis(), 150);
        m.validate(6).unwrap();
    }

    #[test]
    fn fps_maps_pick_the_frames_sampling_picks() {
        // 25 fps, 4 s; and a variable-rate table.
        let vfr: Vec<i64> = (0..90).map(|i| i * 33 + (i * i) % 17).collect();
        for t in [cfr(100, 40), table_ms(&vfr)] {
            for fps in [1.0, 2.5, 10.0, 24.0, 25.0] {
                let m = fps_map(&t, fps).unwrap();
                m.validate(t.len()).unwrap();
                let mut distinct: Vec<u64> = m.frames.iter().map(|f| f.source_index).collect();
                distinct.dedup();
                let sampled = SamplingPlan::fps(fps).resolve(&t).unwrap();
                assert_eq!(distinct, sampled.indices(), "fps {fps}");
                // Output frame k is at k / fps.
                for (k, f) in m.frames.iter().enumerate() {
                    let want = (k as f64 * 1e9 / fps).round() as u128;
                    assert_eq!(f.pts.as_nanos(), want);
                }
                // As many frames as fit before the source's end.
                let d = t.duration().unwrap().as_secs_f64();
                assert_eq!(m.len(), (d * fps - 1e-9).ceil() as usize, "fps {fps}");
            }
        }
    }

    #[test]
    fn fps_above_the_source_rate_repeats_frames() {
        let t = cfr(10, 40);
        let m = fps_map(&t, 50.0).unwrap();
        let idx: Vec<u64> = m.frames.iter().map(|f| f.source_index).collect();
        assert_eq!(
            idx,
            [0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9]
        );
        assert_eq!(m.end.as_millis(), 400);
        assert!(fps_map(&t, 0.0).is_err());
        assert!(fps_map(&t, f64::NAN).is_err());
    }
}
