//! Video preparation: what a prepared video (a web-ready copy, a segment of a split, a copy at
//! another frame rate) shows, frame by frame, in terms of its source.
//!
//! A prepared video is described by a [`FrameMap`]: output frame `i` shows source frame
//! `frames[i].source_index` at output time `frames[i].pts`. The map is computed from the source's
//! [`FrameTable`] before anything is encoded, and the backend is then asked to produce exactly
//! those frames; nothing is counted on the way, so the map is the truth by construction and the
//! tests check it against ffmpeg's numbering of the source.

mod limits;
mod manifest;
mod split;

pub use limits::{DEFAULT_MAX_BYTES, DEFAULT_MAX_FRAMES, PrepareLimits};
pub use manifest::{Preparation, PrepareKind, PreparedManifest, PreparedOutput};
pub use split::{Segment, SplitBy, SplitMode, fps_map, plan_segments, segment_map};

use std::time::Duration;

use crate::{Error, FrameTable, Result};

/// One frame of a prepared video: which source frame it shows and when.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct MappedFrame {
    /// The source frame's index in the source's frame table (presentation order).
    pub source_index: u64,
    /// When the output shows it, from the output's start.
    pub pts: Duration,
}

/// What a prepared video shows: its frames, in output order, and where it ends.
///
/// Stored in JSON as three fields: `source_index` (one per output frame), `pts_ns` (output
/// times in nanoseconds) and `end_ns`.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(into = "StoredMap", try_from = "StoredMap")]
pub struct FrameMap {
    /// Output frame `i` is `frames[i]`; pts strictly increase.
    pub frames: Vec<MappedFrame>,
    /// The output's duration: the end of its last frame.
    pub end: Duration,
}

impl FrameMap {
    /// Number of output frames.
    pub fn len(&self) -> usize {
        self.frames.len()
    }

    /// Whether the map has no frame.
    pub fn is_empty(&self) -> bool {
        self.frames.is_empty()
    }

    /// How long output frame `i` is shown: up to the next frame's pts, or to
    /// [`end`](Self::end) for the last.
    pub fn duration_of(&self, i: usize) -> Option<Duration> {
        let f = self.frames.get(i)?;
        let next = self.frames.get(i + 1).map_or(self.end, |n| n.pts);
        Some(next.saturating_sub(f.pts))
    }

    /// Checks the map's own rules: pts strictly increase, the end is after the last pts, and
    /// every source index is below `source_frames`.
    pub fn validate(&self, source_frames: u64) -> Result<()> {
        for (i, w) in self.frames.windows(2).enumerate() {
            if w[1].pts <= w[0].pts {
                return Err(Error::InvalidPlan {
                    reason: format!(
                        "frame map: output frame {} at {:?} is not after frame {i} at {:?}",
                        i + 1,
                        w[1].pts,
                        w[0].pts
                    ),
                });
            }
        }
        if let Some(last) = self.frames.last()
            && self.end <= last.pts
        {
            return Err(Error::InvalidPlan {
                reason: format!(
                    "frame map: end {:?} is not after the last frame's pts {:?}",
                    self.end, last.pts
                ),
            });
        }
        if let Some(bad) = self.frames.iter().find(|f| f.source_index >= source_frames) {
            return Err(Error::IndexOutOfRange {
                index: bad.source_index,
                frame_count: source_frames,
            });
        }
        Ok(())
    }

    /// Every frame of `table` from `first` to `end` (exclusive), at its own timestamps moved so
    /// that frame `first` is shown at 0: one output frame per source frame, none dropped or
    /// repeated, variable frame rates kept. The end is the end of frame `end - 1` (the next
    /// frame's pts, or the table's end).
    pub fn copy_of(table: &FrameTable, first: u64, end: u64) -> Result<Self> {
        let n = table.len();
        if first >= end || end > n {
            return Err(Error::InvalidPlan {
                reason: format!("frame range [{first}, {end}) is empty or not within 0..{n}"),
            });
        }
        let base = table.frame(first)?.pts;
        let since = |t: crate::Timestamp| t.duration_since(base).unwrap_or_default();
        let frames = (first..end)
            .map(|i| {
                let f = table.frame(i)?;
                Ok(MappedFrame {
                    source_index: i,
                    pts: since(f.pts),
                })
            })
            .collect::<Result<Vec<_>>>()?;
        let end_ts = match table.get(end) {
            Some(next) => next.pts,
            None => table.end().unwrap_or(base),
        };
        let mut map = FrameMap {
            frames,
            end: since(end_ts),
        };
        map.ensure_end();
        Ok(map)
    }

    /// Makes sure the end is after the last frame (a table whose last frame has no duration).
    fn ensure_end(&mut self) {
        if let Some(last) = self.frames.last()
            && self.end <= last.pts
        {
            let step = self
                .frames
                .len()
                .checked_sub(2)
                .and_then(|i| self.duration_of(i))
                .filter(|d| !d.is_zero())
                .unwrap_or(Duration::from_millis(40));
            self.end = last.pts + step;
        }
    }
}

/// A [`FrameMap`] as JSON stores it: parallel arrays.
#[derive(serde::Serialize, serde::Deserialize)]
struct StoredMap {
    source_index: Vec<u64>,
    pts_ns: Vec<u64>,
    end_ns: u64,
}

fn nanos(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}

impl From<FrameMap> for StoredMap {
    fn from(m: FrameMap) -> Self {
        StoredMap {
            source_index: m.frames.iter().map(|f| f.source_index).collect(),
            pts_ns: m.frames.iter().map(|f| nanos(f.pts)).collect(),
            end_ns: nanos(m.end),
        }
    }
}

impl TryFrom<StoredMap> for FrameMap {
    type Error = String;
    fn try_from(s: StoredMap) -> std::result::Result<Self, String> {
        if s.source_index.len() != s.pts_ns.len() {
            return Err(format!(
                "frame map: {} source indices but {} timestamps",
                s.source_index.len(),
                s.pts_ns.len()
            ));
        }
        Ok(FrameMap {
            frames: s
                .source_index
                .into_iter()
                .zip(s.pts_ns)
                .map(|(source_index, pts)| MappedFrame {
                    source_index,
                    pts: Duration::from_nanos(pts),
                })
                .collect(),
            end: Duration::from_nanos(s.end_ns),
        })
    }
}
