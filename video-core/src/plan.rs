//! Sampling plans: which frames to take from a video.

use std::fmt;
use std::sync::Arc;

use crate::{Error, FrameInfo, FrameTable, Result, Timestamp};

/// Decides whether a frame of the plan is kept (for example "only frames with annotations").
pub trait FrameFilter: Send + Sync + fmt::Debug {
    /// Whether to keep this frame.
    fn keep(&self, frame: &FrameInfo) -> bool;
}

impl<F: Fn(&FrameInfo) -> bool + Send + Sync> FrameFilter for FnFilter<F> {
    fn keep(&self, frame: &FrameInfo) -> bool {
        (self.0)(frame)
    }
}

/// A [`FrameFilter`] made from a closure.
pub struct FnFilter<F>(pub F);

impl<F> fmt::Debug for FnFilter<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("FnFilter")
    }
}

/// Which frames a plan selects before its cap and filter.
///
/// Serialized externally tagged in snake case: `"all"`, `{"indices": [3, 17]}`,
/// `{"range": {"start": 0, "end": null, "step": 30}}`, `{"fps": {"fps": 1.0, ...}}`,
/// `{"time_range": {...}}`.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Selection {
    /// Every frame.
    All,
    /// Exactly these indices (any order, duplicates allowed).
    Indices(Vec<u64>),
    /// `start, start + step, …` below `end` (`None`: the end of the video).
    Range {
        /// First index.
        start: u64,
        /// One past the last index; `None` for the end of the video.
        end: Option<u64>,
        /// Distance between indices, at least 1.
        step: u64,
    },
    /// `fps` frames per second of source time, within `[start_seconds, end_seconds)`.
    ///
    /// Output time `k` is `t_k = start + k / fps`, measured from the first frame's pts, and picks
    /// the frame shown at `t_k`: the last frame whose pts is `<= t_k` (so a 30 fps video sampled at
    /// 1 fps gives frames 0, 30, 60, …). Times stop before `end_seconds`, or before the end of the
    /// last frame (the frame table's end, less up to 1 ms for timestamps a container rounded to
    /// milliseconds: one clip gives the same plan in MP4, Matroska and MPEG-TS).
    Fps {
        /// Samples per second, `> 0`.
        fps: f64,
        /// Start time in seconds from the first frame (default 0).
        start_seconds: Option<f64>,
        /// End time in seconds from the first frame, exclusive (default: end of video).
        end_seconds: Option<f64>,
    },
    /// Every frame whose pts lies in `[start_seconds, end_seconds)`, measured from the first frame.
    TimeRange {
        /// Start in seconds from the first frame.
        start_seconds: f64,
        /// End in seconds from the first frame, exclusive; `None` for the end of the video.
        end_seconds: Option<f64>,
    },
}

/// Which frames to take from a video: a [`Selection`], an optional filter, an optional cap.
///
/// A plan is resolved against a [`FrameTable`] into a sorted, de-duplicated list of indices with
/// [`resolve`](Self::resolve). Order of operations: the [`among`](Self::among) restriction and
/// the selection, then [`filter`](Self::filter), then `max_frames`.
///
/// The two kinds of filter differ only for step plans ([`Selection::Range`]): `among` picks the
/// candidate frames first and the step counts over them (every `step`-th *annotated* frame, as
/// Supervisely samples), `filter` drops frames from the step's grid afterwards (every `step`-th
/// frame, if it is sharp). With annotated frames {1, 3, 5} and step 2, `among` gives [1, 5] and
/// `filter` gives nothing. For every other selection both keep the selected frames they accept
/// (an index list or a time window intersected with the accepted frames).
///
/// ```
/// use video_core::SamplingPlan;
/// let plan = SamplingPlan::every(30).range(0, 300).max_frames(5);
/// # let _ = plan;
/// ```
#[derive(Clone, Debug)]
pub struct SamplingPlan {
    selection: Selection,
    max_frames: Option<u64>,
    filter: Option<Arc<dyn FrameFilter>>,
    among: Option<Arc<dyn FrameFilter>>,
}

impl SamplingPlan {
    /// Every frame of the video.
    pub fn all() -> Self {
        Self::new(Selection::All)
    }

    /// A plan from a selection.
    pub fn new(selection: Selection) -> Self {
        SamplingPlan {
            selection,
            max_frames: None,
            filter: None,
            among: None,
        }
    }

    /// Exactly these frame indices.
    pub fn indices(indices: impl IntoIterator<Item = u64>) -> Self {
        Self::new(Selection::Indices(indices.into_iter().collect()))
    }

    /// Every `step`-th frame from frame 0 to the end; narrow it with [`range`](Self::range).
    pub fn every(step: u64) -> Self {
        Self::new(Selection::Range {
            start: 0,
            end: None,
            step,
        })
    }

    /// `fps` frames per second of video; narrow it with [`seconds`](Self::seconds).
    pub fn fps(fps: f64) -> Self {
        Self::new(Selection::Fps {
            fps,
            start_seconds: None,
            end_seconds: None,
        })
    }

    /// Every frame shown within `[start, end)` seconds.
    pub fn time_range(start_seconds: f64, end_seconds: Option<f64>) -> Self {
        Self::new(Selection::TimeRange {
            start_seconds,
            end_seconds,
        })
    }

    /// Limit a step plan to `[start, end)` (for other selections this replaces the selection
    /// with every frame of that range).
    pub fn range(mut self, start: u64, end: u64) -> Self {
        self.selection = match self.selection {
            Selection::Range { step, .. } => Selection::Range {
                start,
                end: Some(end),
                step,
            },
            _ => Selection::Range {
                start,
                end: Some(end),
                step: 1,
            },
        };
        self
    }

    /// Limit an fps or time-range plan to `[start, end)` seconds.
    pub fn seconds(mut self, start: Option<f64>, end: Option<f64>) -> Self {
        match &mut self.selection {
            Selection::Fps {
                start_seconds,
                end_seconds,
                ..
            } => {
                *start_seconds = start;
                *end_seconds = end;
            }
            _ => {
                self.selection = Selection::TimeRange {
                    start_seconds: start.unwrap_or(0.0),
                    end_seconds: end,
                }
            }
        }
        self
    }

    /// Keep at most `n` frames, spread evenly over the selection (the first selected frame is
    /// always kept). Default: no cap.
    pub fn max_frames(mut self, n: u64) -> Self {
        self.max_frames = Some(n);
        self
    }

    /// Keep only frames the filter accepts (applied before the cap). Default: none.
    pub fn filter(mut self, filter: Arc<dyn FrameFilter>) -> Self {
        self.filter = Some(filter);
        self
    }

    /// Sample among the frames `filter` accepts: a step plan takes every `step`-th of them
    /// (filter first, then step, as Supervisely's "only annotated frames" sampling does); other
    /// selections keep the selected frames it accepts. Replaces an earlier `among`. Default: every
    /// frame is a candidate. See [the type's docs](Self) for how it differs from
    /// [`filter`](Self::filter).
    ///
    /// ```
    /// # use std::sync::Arc;
    /// # use video_core::{FnFilter, FrameInfo, FrameTable, PacketEntry, SamplingPlan, Timestamp};
    /// # let table = FrameTable::from_decode_order("t", (0..8).map(|i| PacketEntry {
    /// #     pts: Some(Timestamp::from_nanos(i * 40_000_000)), duration: None, keyframe: true,
    /// # }))?;
    /// let annotated = Arc::new(FnFilter(|f: &FrameInfo| [1, 3, 5].contains(&f.index)));
    /// let plan = SamplingPlan::every(2).among(annotated.clone()).resolve(&table)?;
    /// assert_eq!(plan.indices(), [1, 5]);
    /// let plan = SamplingPlan::every(2).filter(annotated).resolve(&table)?;
    /// assert!(plan.is_empty());
    /// # Ok::<(), video_core::Error>(())
    /// ```
    pub fn among(mut self, filter: Arc<dyn FrameFilter>) -> Self {
        self.among = Some(filter);
        self
    }

    /// The [`among`](Self::among) restriction, if one is set.
    pub fn among_filter(&self) -> Option<&Arc<dyn FrameFilter>> {
        self.among.as_ref()
    }

    /// The selection.
    pub fn selection(&self) -> &Selection {
        &self.selection
    }

    /// The cap, if any.
    pub fn max_frames_cap(&self) -> Option<u64> {
        self.max_frames
    }

    /// The [`FrameFilter`], if one is set.
    pub fn frame_filter(&self) -> Option<&Arc<dyn FrameFilter>> {
        self.filter.as_ref()
    }

    /// Whether a [`FrameFilter`] is set, as [`filter`](Self::filter) or
    /// [`among`](Self::among).
    pub fn has_filter(&self) -> bool {
        self.filter.is_some() || self.among.is_some()
    }

    /// Resolve against a frame table into sorted, unique indices.
    ///
    /// # Errors
    /// [`Error::InvalidPlan`] for values that cannot work (step 0, fps ≤ 0 or not finite,
    /// start after end, negative or non-finite seconds, a cap of 0) and
    /// [`Error::IndexOutOfRange`] for an explicit index or range start past the end.
    pub fn resolve(&self, table: &FrameTable) -> Result<ResolvedPlan> {
        let n = table.len();
        let mut idx: Vec<u64> = match &self.selection {
            Selection::All => (0..n).collect(),
            Selection::Indices(v) => {
                if let Some(&bad) = v.iter().find(|&&i| i >= n) {
                    return Err(Error::IndexOutOfRange {
                        index: bad,
                        frame_count: n,
                    });
                }
                let mut v = v.clone();
                v.sort_unstable();
                v.dedup();
                v
            }
            &Selection::Range { start, end, step } => {
                if step == 0 {
                    return invalid("step must be at least 1 (got 0)");
                }
                if let Some(e) = end
                    && start > e
                {
                    return invalid(format!("range start {start} is after its end {e}"));
                }
                if start >= n && end != Some(start) {
                    return Err(Error::IndexOutOfRange {
                        index: start,
                        frame_count: n,
                    });
                }
                let end = end.unwrap_or(n).min(n);
                let step = usize::try_from(step).unwrap_or(usize::MAX);
                match &self.among {
                    // Filter first, then step over the frames kept.
                    Some(a) => (start..end)
                        .filter(|&i| table.get(i).is_some_and(|fi| a.keep(fi)))
                        .step_by(step)
                        .collect(),
                    None => (start..end).step_by(step).collect(),
                }
            }
            &Selection::Fps {
                fps,
                start_seconds,
                end_seconds,
            } => {
                if !(fps.is_finite() && fps > 0.0) {
                    return invalid(format!("fps must be a positive number (got {fps})"));
                }
                let (start, end) = seconds_window(table, start_seconds, end_seconds)?;
                match (table.first(), start, end) {
                    (Some(first), Some(start), Some(end)) => {
                        fps_indices(table, first.pts, start, end, 1e9 / fps)
                    }
                    _ => Vec::new(),
                }
            }
            &Selection::TimeRange {
                start_seconds,
                end_seconds,
            } => {
                let (start, end) = seconds_window(table, Some(start_seconds), end_seconds)?;
                match (start, end) {
                    (Some(s), Some(e)) => table
                        .iter()
                        .filter(|f| f.pts >= s && f.pts < e)
                        .map(|f| f.index)
                        .collect(),
                    _ => Vec::new(),
                }
            }
        };
        // (A step plan applied `among` above; keeping its frames again changes nothing.)
        for f in [&self.among, &self.filter].into_iter().flatten() {
            idx.retain(|&i| table.get(i).is_some_and(|fi| f.keep(fi)));
        }
        if let Some(cap) = self.max_frames {
            if cap == 0 {
                return invalid("max_frames must be at least 1 (got 0)");
            }
            let len = idx.len() as u64;
            if len > cap {
                idx = (0..cap).map(|j| idx[(j * len / cap) as usize]).collect();
            }
        }
        Ok(ResolvedPlan { indices: idx })
    }
}

/// The frames an fps selection picks: for each sample time `t_k = start + k · step_ns` (rounded to
/// the nanosecond) before `end`, the frame shown at `t_k`.
///
/// Frame by frame rather than sample by sample, so the work is bounded by the frames of the
/// window, whatever the rate: a frame shown over `[a, b)` (its pts, or `start` for the frame
/// already shown then, to the next frame's pts or `end`) is picked when the first sample at or
/// after `a` falls before `b`. Times are measured from `base` (the first frame's pts) in `i128`,
/// so timestamps far apart cannot overflow.
fn fps_indices(
    table: &FrameTable,
    base: Timestamp,
    start: Timestamp,
    end: Timestamp,
    step_ns: f64,
) -> Vec<u64> {
    let rel = |t: Timestamp| (i128::from(t.as_nanos()) - i128::from(base.as_nanos())) as f64;
    let (start_ns, end_ns) = (rel(start), rel(end));
    let mut v = Vec::new();
    let Some(first) = table.index_at_time(start) else {
        return v;
    };
    let frames = table.as_slice();
    let Ok(first) = usize::try_from(first) else {
        return v;
    };
    for (j, f) in frames.iter().enumerate().skip(first) {
        if f.pts >= end {
            break;
        }
        let a = rel(f.pts).max(start_ns);
        let b = frames
            .get(j + 1)
            .map_or(end_ns, |next| rel(next.pts).min(end_ns));
        if a >= b {
            continue;
        }
        let hit = if step_ns <= 1.0 || b - a > step_ns + 1.0 {
            // Samples at most a nanosecond apart land on every nanosecond of the window, and
            // a frame shown for longer than a step holds a sample (whatever the float error of
            // computing one far from the first frame).
            true
        } else {
            // The first sample whose rounded time is >= a (half a nanosecond of slack for
            // rounding; its neighbours too, in case the float estimate is off by one).
            let k = ((a - 0.5 - start_ns) / step_ns).ceil().max(0.0);
            let at = |k: f64| {
                if k == 0.0 {
                    start_ns
                } else {
                    (start_ns + k * step_ns).round()
                }
            };
            [(k - 1.0).max(0.0), k, k + 1.0]
                .into_iter()
                .map(at)
                .any(|t| t >= a && t < b)
        };
        if hit {
            v.push(j as u64);
        }
    }
    v
}

fn invalid<T>(reason: impl Into<String>) -> Result<T> {
    Err(Error::InvalidPlan {
        reason: reason.into(),
    })
}

/// How much earlier than the frame table's end a time plan stops (see [`seconds_window`]).
const END_ROUNDING: std::time::Duration = std::time::Duration::from_millis(1);

/// The absolute `[start, end)` window of a seconds-based selection; `None`s when the table is empty.
fn seconds_window(
    table: &FrameTable,
    start_seconds: Option<f64>,
    end_seconds: Option<f64>,
) -> Result<(Option<Timestamp>, Option<Timestamp>)> {
    for (name, v) in [
        ("start_seconds", start_seconds),
        ("end_seconds", end_seconds),
    ] {
        if let Some(v) = v
            && !(v.is_finite() && v >= 0.0)
        {
            return invalid(format!("{name} must be a finite number >= 0 (got {v})"));
        }
    }
    if let (Some(s), Some(e)) = (start_seconds, end_seconds)
        && s > e
    {
        return invalid(format!("start_seconds {s} is after end_seconds {e}"));
    }
    let (Some(first), Some(last), Some(video_end)) = (table.first(), table.last(), table.end())
    else {
        return Ok((None, None));
    };
    // Times are compared with the end less the rounding of container timestamps: Matroska and
    // WebM store milliseconds, so a 30 fps clip of exactly 20 s ends at 20.000333 s there
    // (last pts 19.967 s + 33.333 ms) and would get a sample at 20 s that its MP4 and TS copies
    // do not have. At most half the last frame's duration, for rates above 500 fps.
    let last_duration = table.end().and_then(|e| e.duration_since(last.pts));
    let tolerance = last_duration
        .map_or(END_ROUNDING, |d| d / 2)
        .min(END_ROUNDING);
    let video_end = Timestamp::from_nanos(
        video_end
            .as_nanos()
            .saturating_sub(i64::try_from(tolerance.as_nanos()).unwrap_or(0)),
    );
    let rel = |s: f64| {
        Timestamp::from_seconds(s)
            .map(|t| Timestamp::from_nanos(first.pts.as_nanos().saturating_add(t.as_nanos())))
    };
    let start = rel(start_seconds.unwrap_or(0.0));
    let end = match end_seconds.and_then(rel) {
        Some(e) => e.min(video_end),
        None => video_end,
    };
    Ok((start, Some(end)))
}

/// A plan resolved against a frame table: sorted, unique frame indices.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ResolvedPlan {
    indices: Vec<u64>,
}

impl ResolvedPlan {
    /// A resolved plan of the given indices (sorted and de-duplicated here).
    pub fn from_indices(mut indices: Vec<u64>) -> Self {
        indices.sort_unstable();
        indices.dedup();
        ResolvedPlan { indices }
    }

    /// The indices, ascending.
    pub fn indices(&self) -> &[u64] {
        &self.indices
    }

    /// How many frames.
    pub fn len(&self) -> usize {
        self.indices.len()
    }

    /// Whether no frame is selected.
    pub fn is_empty(&self) -> bool {
        self.indices.is_empty()
    }

    /// A plan without the given indices (for example those already stored).
    pub fn without(&self, done: &std::collections::BTreeSet<u64>) -> Self {
        ResolvedPlan {
            indices: self
                .indices
                .iter()
                .copied()
                .filter(|i| !done.contains(i))
                .collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::PacketEntry;
    use std::time::Duration;

    fn table(n: i64, frame_ms: i64) -> FrameTable {
        FrameTable::from_decode_order(
            "t",
            (0..n).map(|i| PacketEntry {
                pts: Some(Timestamp::from_nanos(i * frame_ms * 1_000_000)),
                duration: Some(Duration::from_millis(frame_ms as u64)),
                keyframe: i % 10 == 0,
            }),
        )
        .unwrap()
    }

    fn r(p: SamplingPlan, t: &FrameTable) -> Vec<u64> {
        p.resolve(t).unwrap().indices().to_vec()
    }

    #[test]
    fn time_plans_ignore_millisecond_rounding_of_the_end() {
        // 30 fps for exactly 20 s, with pts rounded to milliseconds as Matroska stores them:
        // the last frame starts at 19.967 s and ends at 20.000333 s.
        let ms_rounded = FrameTable::from_decode_order(
            "t.mkv",
            (0..600i64).map(|i| PacketEntry {
                pts: Some(Timestamp::from_nanos((i * 1000 + 15) / 30 * 1_000_000)),
                duration: Some(Duration::from_nanos(33_333_333)),
                keyframe: i % 30 == 0,
            }),
        )
        .unwrap();
        let exact = FrameTable::from_decode_order(
            "t.mp4",
            (0..600i64).map(|i| PacketEntry {
                pts: Some(Timestamp::from_nanos(i * 1_000_000_000 / 30)),
                duration: Some(Duration::from_nanos(33_333_333)),
                keyframe: i % 30 == 0,
            }),
        )
        .unwrap();
        let every_30: Vec<u64> = (0..20).map(|k| k * 30).collect();
        assert_eq!(r(SamplingPlan::fps(1.0), &ms_rounded), every_30);
        assert_eq!(r(SamplingPlan::fps(1.0), &exact), every_30);
        // A time further than 1 ms before the end is still sampled.
        assert_eq!(
            r(
                SamplingPlan::fps(1.0).seconds(Some(19.998), None),
                &ms_rounded
            ),
            [599]
        );
        // Very high rates: the tolerance is at most half the last frame.
        let fast = table(10, 1);
        assert_eq!(r(SamplingPlan::fps(1000.0), &fast).len(), 10);
    }

    #[test]
    fn indices_sorted_dedup_and_range_checked() {
        let t = table(100, 40);
        assert_eq!(
            r(SamplingPlan::indices([42, 3, 17, 3]), &t),
            vec![3, 17, 42]
        );
        let e = SamplingPlan::indices([5, 100]).resolve(&t).unwrap_err();
        assert!(
            matches!(
                e,
                Error::IndexOutOfRange {
                    index: 100,
                    frame_count: 100
                }
            ),
            "{e}"
        );
    }

    #[test]
    fn steps_and_ranges() {
        let t = table(100, 40);
        assert_eq!(r(SamplingPlan::every(30), &t), vec![0, 30, 60, 90]);
        assert_eq!(
            r(SamplingPlan::every(5).range(10, 26), &t),
            vec![10, 15, 20, 25]
        );
        assert_eq!(r(SamplingPlan::every(5).range(90, 1000), &t), vec![90, 95]);
        assert!(matches!(
            SamplingPlan::every(0).resolve(&t),
            Err(Error::InvalidPlan { .. })
        ));
        assert!(matches!(
            SamplingPlan::every(1).range(5, 4).resolve(&t),
            Err(Error::InvalidPlan { .. })
        ));
        assert!(matches!(
            SamplingPlan::every(1).range(100, 200).resolve(&t),
            Err(Error::IndexOutOfRange { .. })
        ));
    }

    #[test]
    fn fps_picks_frame_shown_at_each_time() {
        // 25 fps, 4 s.
        let t = table(100, 40);
        assert_eq!(r(SamplingPlan::fps(1.0), &t), vec![0, 25, 50, 75]);
        assert_eq!(
            r(SamplingPlan::fps(2.0).seconds(Some(1.0), Some(2.0)), &t),
            vec![25, 37]
        );
        // 0.5 s per sample at 30 fps -> frame shown at 0.5 s is 15 (0.5 exactly on a pts)
        let t30 = FrameTable::from_decode_order(
            "t",
            (0..90).map(|i| PacketEntry {
                pts: Some(Timestamp::from_nanos(i * 1_000_000_000 / 30)),
                duration: None,
                keyframe: true,
            }),
        )
        .unwrap();
        assert_eq!(r(SamplingPlan::fps(2.0), &t30), vec![0, 15, 30, 45, 60, 75]);
        // Higher than the source rate: no duplicates.
        assert_eq!(r(SamplingPlan::fps(1000.0), &t).len(), 100);
        for bad in [0.0, -1.0, f64::NAN, f64::INFINITY] {
            assert!(
                matches!(
                    SamplingPlan::fps(bad).resolve(&t),
                    Err(Error::InvalidPlan { .. })
                ),
                "{bad}"
            );
        }
        assert!(matches!(
            SamplingPlan::fps(1.0)
                .seconds(Some(3.0), Some(1.0))
                .resolve(&t),
            Err(Error::InvalidPlan { .. })
        ));
        assert!(matches!(
            SamplingPlan::fps(1.0).seconds(Some(-1.0), None).resolve(&t),
            Err(Error::InvalidPlan { .. })
        ));
    }

    #[test]
    fn time_range_filter_and_cap() {
        let t = table(100, 40);
        assert_eq!(
            r(SamplingPlan::time_range(1.0, Some(1.2)), &t),
            vec![25, 26, 27, 28, 29]
        );
        let even = Arc::new(FnFilter(|f: &FrameInfo| f.index.is_multiple_of(2)));
        assert_eq!(
            r(SamplingPlan::time_range(1.0, Some(1.2)).filter(even), &t),
            vec![26, 28]
        );
        assert_eq!(
            r(SamplingPlan::all().max_frames(4), &t),
            vec![0, 25, 50, 75]
        );
        assert!(matches!(
            SamplingPlan::all().max_frames(0).resolve(&t),
            Err(Error::InvalidPlan { .. })
        ));
    }

    #[test]
    fn among_filters_first_then_steps() {
        let t = table(10, 40);
        let odd = || Arc::new(FnFilter(|f: &FrameInfo| [1, 3, 5].contains(&f.index)));
        // Supervisely's sampling of annotated frames {1, 3, 5} with step 2.
        assert_eq!(r(SamplingPlan::every(2).among(odd()), &t), vec![1, 5]);
        // A post-selection filter keeps the step's grid: nothing.
        assert!(r(SamplingPlan::every(2).filter(odd()), &t).is_empty());
        // A range's start and end bound the candidates before the step.
        assert_eq!(
            r(SamplingPlan::every(2).range(2, 10).among(odd()), &t),
            vec![3]
        );
        assert_eq!(r(SamplingPlan::every(1).among(odd()), &t), vec![1, 3, 5]);
        // Other selections intersect; the cap applies after.
        assert_eq!(r(SamplingPlan::all().among(odd()), &t), vec![1, 3, 5]);
        assert_eq!(
            r(SamplingPlan::indices([0, 3, 5, 7]).among(odd()), &t),
            vec![3, 5]
        );
        assert_eq!(
            r(SamplingPlan::time_range(0.1, Some(0.3)).among(odd()), &t),
            vec![3, 5]
        );
        assert_eq!(
            r(SamplingPlan::all().among(odd()).max_frames(2), &t),
            vec![1, 3]
        );
        // Both kinds together: among, step, then filter.
        let not_five = Arc::new(FnFilter(|f: &FrameInfo| f.index != 5));
        assert_eq!(
            r(SamplingPlan::every(2).among(odd()).filter(not_five), &t),
            vec![1]
        );
        // Validation is unchanged.
        assert!(matches!(
            SamplingPlan::every(0).among(odd()).resolve(&t),
            Err(Error::InvalidPlan { .. })
        ));
        assert!(SamplingPlan::every(2).among(odd()).has_filter());
    }

    #[test]
    fn empty_table_gives_empty_plans() {
        let t = FrameTable::default();
        assert!(SamplingPlan::fps(1.0).resolve(&t).unwrap().is_empty());
        assert!(SamplingPlan::all().resolve(&t).unwrap().is_empty());
    }
}
