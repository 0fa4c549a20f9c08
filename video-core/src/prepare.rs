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

/// The frames at which a stream copy can cut `table`: the key frames `K` (index > 0) such that
/// every frame decoded before `K` is shown before it and every frame decoded from `K` on is
/// shown from `K` on.
///
/// At such a cut the packets from `K`'s packet on, in decode order, hold exactly the frames
/// `K, K+1, …` in presentation order, and the packets before it exactly the frames `0..K`: a
/// copy of the packets `[d(K), d(K'))` for two cuts `K < K'` decodes to the frames `[K, K')`,
/// starting at a key frame. An open-GOP key frame whose leading pictures (shown before it,
/// decoded after it, referencing the GOP before) exist is not clean: cut there, those
/// pictures would be in the wrong segment without their references. Frames of the table that
/// are decoded but not shown (outside an edit list) are not in the table; they do not change
/// which cuts are clean.
///
/// Ascending. `0` (the start) and `table.len()` (the end) are always valid segment bounds and
/// are not listed.
pub fn clean_cuts(table: &FrameTable) -> Vec<u64> {
    let frames = table.as_slice();
    // Frame indices in decode order.
    let mut by_decode: Vec<(u64, u64)> = frames.iter().map(|f| (f.decode_order, f.index)).collect();
    by_decode.sort_unstable();
    // position[i] = place of frame i in decode order; prefix_max[p] = max index of the first p.
    let mut position = vec![0usize; frames.len()];
    let mut prefix_max = Vec::with_capacity(frames.len() + 1);
    prefix_max.push(None::<u64>);
    for (p, &(_, index)) in by_decode.iter().enumerate() {
        if let Some(slot) = usize::try_from(index)
            .ok()
            .and_then(|i| position.get_mut(i))
        {
            *slot = p;
        }
        let before = prefix_max[p];
        prefix_max.push(Some(before.map_or(index, |m: u64| m.max(index))));
    }
    frames
        .iter()
        .filter(|f| f.keyframe && f.index > 0)
        .filter(|f| {
            // The frames decoded before K are exactly 0..K: K of them, the largest K - 1.
            let Some(p) = usize::try_from(f.index).ok().and_then(|i| position.get(i)) else {
                return false;
            };
            *p as u64 == f.index && prefix_max[*p] == Some(f.index - 1)
        })
        .map(|f| f.index)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{PacketEntry, Timestamp};

    /// A table from packets in decode order, given as (presentation slot, key frame); frames
    /// are 40 ms apart. `None` is a packet that is decoded but not shown.
    fn table(order: &[(Option<i64>, bool)]) -> FrameTable {
        FrameTable::from_decode_order(
            "t",
            order.iter().map(|&(slot, keyframe)| PacketEntry {
                pts: slot.map(|s| Timestamp::from_nanos(s * 40_000_000)),
                duration: Some(Duration::from_millis(40)),
                keyframe,
            }),
        )
        .unwrap()
    }

    fn shown(order: &[(i64, bool)]) -> FrameTable {
        let v: Vec<_> = order.iter().map(|&(s, k)| (Some(s), k)).collect();
        table(&v)
    }

    #[test]
    fn closed_gops_with_b_frames_cut_at_every_key_frame() {
        // I0 P3 B1 B2 | I4 P7 B5 B6 | I8 P10 B9 (closed GOPs)
        let t = shown(&[
            (0, true),
            (3, false),
            (1, false),
            (2, false),
            (4, true),
            (7, false),
            (5, false),
            (6, false),
            (8, true),
            (10, false),
            (9, false),
        ]);
        assert_eq!(clean_cuts(&t), vec![4, 8]);
    }

    #[test]
    fn open_gop_key_frames_with_leading_pictures_are_not_clean() {
        // I0 P2 B1 | I5 B3 B4 (leading: shown before I5, decoded after) P7 B6 | I8 P9
        let t = shown(&[
            (0, true),
            (2, false),
            (1, false),
            (5, true),
            (3, false),
            (4, false),
            (7, false),
            (6, false),
            (8, true),
            (9, false),
        ]);
        assert!(t.get(5).unwrap().keyframe);
        assert_eq!(clean_cuts(&t), vec![8]);
    }

    #[test]
    fn a_frame_decoded_before_the_key_frame_but_shown_after_makes_it_unclean() {
        // I0 P4 B1 | I2(key, shown at 2) B3: P4 (decoded before I2) is shown after it.
        let t = shown(&[(0, true), (4, false), (1, false), (2, true), (3, false)]);
        assert_eq!(clean_cuts(&t), Vec::<u64>::new());
    }

    #[test]
    fn all_intra_cuts_everywhere() {
        let t = shown(&(0..6).map(|i| (i, true)).collect::<Vec<_>>());
        assert_eq!(clean_cuts(&t), vec![1, 2, 3, 4, 5]);
        // Only every other frame a key frame.
        let t = shown(&(0..6).map(|i| (i, i % 2 == 0)).collect::<Vec<_>>());
        assert_eq!(clean_cuts(&t), vec![2, 4]);
    }

    #[test]
    fn hidden_packets_do_not_change_the_cuts() {
        // K(hidden) P(hidden) B0 B1 | I2 P4 B3 | P(hidden, past the edit's end)
        let t = table(&[
            (None, true),
            (None, false),
            (Some(0), false),
            (Some(1), false),
            (Some(2), true),
            (Some(4), false),
            (Some(3), false),
            (None, false),
        ]);
        assert_eq!(t.len(), 5);
        assert_eq!(clean_cuts(&t), vec![2]);
    }

    #[test]
    fn empty_and_single_frame_tables_have_no_cuts() {
        assert!(clean_cuts(&FrameTable::default()).is_empty());
        assert!(clean_cuts(&shown(&[(0, true)])).is_empty());
    }
}
