//! The frame table: every frame of a video stream in presentation order.

use std::time::Duration;

use crate::{Error, FrameInfo, Result, Timestamp};

/// Every frame a decoder outputs for one video stream, in presentation order.
///
/// Index `i` is the `i`-th frame that `ffmpeg -i F -map 0:v:N -fps_mode passthrough -f framemd5 -`
/// outputs (see the crate docs for the exact definition). The table is built by a backend
/// (usually from packet data, without decoding) and is the single authority that maps between
/// frame indices and timestamps: decoded frames are identified by their pts through it, never by
/// counting buffers.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FrameTable {
    frames: Vec<FrameInfo>,
}

/// One packet as a backend sees it while building a table, before indices are assigned.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PacketEntry {
    /// Presentation timestamp; `None` for a packet that is decoded but never shown (outside an
    /// edit list: it only serves as a reference for the frames that are shown).
    pub pts: Option<Timestamp>,
    /// Duration, if known.
    pub duration: Option<Duration>,
    /// Whether the packet starts a decodable sequence.
    pub keyframe: bool,
}

impl FrameTable {
    /// Build a table from packets given in decode order. Shown packets are sorted by pts to get
    /// presentation order; `decode_order` records where each came from. Packets before the first
    /// key frame (in decode order) are dropped, as decoders drop them; packets without a pts
    /// are decoded but not shown. Two packets with the same pts make the table ambiguous and
    /// give [`Error::Unsupported`] naming `uri`.
    ///
    /// When a key frame is not shown (an edit list starts inside its GOP), the first frame shown
    /// after it is flagged as a key frame: seeking to it makes the demuxer start at the hidden
    /// key frame, so decoding can start there.
    pub fn from_decode_order(
        uri: &str,
        packets: impl IntoIterator<Item = PacketEntry>,
    ) -> Result<Self> {
        let mut frames: Vec<FrameInfo> = Vec::new();
        let mut hidden_key = false;
        for (d, p) in packets.into_iter().skip_while(|p| !p.keyframe).enumerate() {
            let Some(pts) = p.pts else {
                hidden_key |= p.keyframe;
                continue;
            };
            frames.push(FrameInfo {
                index: 0,
                pts,
                duration: p.duration,
                keyframe: p.keyframe || std::mem::take(&mut hidden_key),
                decode_order: d as u64,
            });
            hidden_key &= !p.keyframe;
        }
        frames.sort_by_key(|f| (f.pts, f.decode_order));
        for w in frames.windows(2) {
            if w[0].pts == w[1].pts {
                return Err(Error::Unsupported {
                    uri: uri.to_owned(),
                    reason: format!(
                        "two frames share the timestamp {} (packets {} and {} in decode order), so frames cannot be told apart",
                        w[0].pts, w[0].decode_order, w[1].decode_order
                    ),
                });
            }
        }
        Ok(Self::from_presentation_order(frames))
    }

    /// Build a table from frames already in presentation order; indices are assigned 0, 1, …
    pub fn from_presentation_order(mut frames: Vec<FrameInfo>) -> Self {
        for (i, f) in frames.iter_mut().enumerate() {
            f.index = i as u64;
        }
        FrameTable { frames }
    }

    /// Number of frames.
    pub fn len(&self) -> u64 {
        self.frames.len() as u64
    }

    /// Whether the table has no frames.
    pub fn is_empty(&self) -> bool {
        self.frames.is_empty()
    }

    /// The frame at `index`.
    pub fn get(&self, index: u64) -> Option<&FrameInfo> {
        usize::try_from(index).ok().and_then(|i| self.frames.get(i))
    }

    /// The frame at `index`, or [`Error::IndexOutOfRange`].
    pub fn frame(&self, index: u64) -> Result<&FrameInfo> {
        self.get(index).ok_or(Error::IndexOutOfRange {
            index,
            frame_count: self.len(),
        })
    }

    /// The first frame.
    pub fn first(&self) -> Option<&FrameInfo> {
        self.frames.first()
    }

    /// The last frame.
    pub fn last(&self) -> Option<&FrameInfo> {
        self.frames.last()
    }

    /// All frames in presentation order.
    pub fn iter(&self) -> std::slice::Iter<'_, FrameInfo> {
        self.frames.iter()
    }

    /// All frames as a slice.
    pub fn as_slice(&self) -> &[FrameInfo] {
        &self.frames
    }

    /// The last key frame at or before `index` in presentation order.
    pub fn keyframe_at_or_before(&self, index: u64) -> Option<u64> {
        let i = usize::try_from(index)
            .ok()?
            .min(self.frames.len().checked_sub(1)?);
        self.frames[..=i]
            .iter()
            .rev()
            .find(|f| f.keyframe)
            .map(|f| f.index)
    }

    /// The key frame from which decoding must start for frame `index` to come out right.
    ///
    /// This is the last key frame that precedes the frame in decode order. When the frame is a
    /// leading picture of that key frame (shown before it, decoded after it, as in open GOPs), it
    /// may reference the previous GOP, so the key frame before is returned instead.
    pub fn decode_start(&self, index: u64) -> Option<u64> {
        let target = self.get(index)?;
        let mut best: Option<&FrameInfo> = None;
        for f in self
            .frames
            .iter()
            .filter(|f| f.keyframe && f.decode_order <= target.decode_order)
        {
            if best.is_none_or(|b| f.decode_order > b.decode_order) {
                best = Some(f);
            }
        }
        let k = best?;
        if target.pts < k.pts {
            // A leading picture: go one key frame further back in decode order.
            let prev = self
                .frames
                .iter()
                .filter(|f| f.keyframe && f.decode_order < k.decode_order)
                .max_by_key(|f| f.decode_order);
            return Some(prev.unwrap_or(k).index);
        }
        Some(k.index)
    }

    /// The frame with exactly this pts.
    pub fn index_of_pts(&self, pts: Timestamp) -> Option<u64> {
        self.frames
            .binary_search_by_key(&pts, |f| f.pts)
            .ok()
            .map(|i| i as u64)
    }

    /// The frame whose pts is nearest to `pts`, if it is within `tolerance`.
    pub fn nearest_index(&self, pts: Timestamp, tolerance: Duration) -> Option<u64> {
        let i = self.frames.partition_point(|f| f.pts < pts);
        let cands = [i.checked_sub(1), Some(i)];
        cands
            .into_iter()
            .flatten()
            .filter_map(|j| self.frames.get(j))
            .map(|f| (f.pts.abs_diff(pts), f.index))
            .filter(|(d, _)| *d <= tolerance)
            .min()
            .map(|(_, i)| i)
    }

    /// The frame shown at time `t`: the last frame whose pts is `<= t`. `None` before the first
    /// frame. Past the end of the video this is still the last frame; callers bound `t`.
    pub fn index_at_time(&self, t: Timestamp) -> Option<u64> {
        let n = self.frames.partition_point(|f| f.pts <= t);
        n.checked_sub(1).map(|i| i as u64)
    }

    /// The pts of frame `index`.
    pub fn pts_of(&self, index: u64) -> Option<Timestamp> {
        self.get(index).map(|f| f.pts)
    }

    /// The end of the video: the last frame's pts plus its duration (or the median frame
    /// duration when it has none).
    pub fn end(&self) -> Option<Timestamp> {
        let last = self.frames.last()?;
        let d = last
            .duration
            .filter(|d| !d.is_zero())
            .or_else(|| self.typical_frame_duration())
            .unwrap_or_default();
        last.pts.checked_add(d)
    }

    /// From the first frame's pts to [`end`](Self::end).
    pub fn duration(&self) -> Option<Duration> {
        self.end()?.duration_since(self.frames.first()?.pts)
    }

    /// The median distance between consecutive frames.
    pub fn typical_frame_duration(&self) -> Option<Duration> {
        let mut d: Vec<Duration> = self
            .frames
            .windows(2)
            .filter_map(|w| w[1].pts.duration_since(w[0].pts))
            .collect();
        if d.is_empty() {
            return self.frames.first().and_then(|f| f.duration);
        }
        let mid = d.len() / 2;
        Some(*d.select_nth_unstable(mid).1)
    }

    /// The longest run of frames from one key frame to the next (in presentation order).
    pub fn max_gop(&self) -> u64 {
        let mut max = 0u64;
        let mut run = 0u64;
        for f in &self.frames {
            if f.keyframe {
                max = max.max(run);
                run = 0;
            }
            run += 1;
        }
        max.max(run)
    }

    /// Whether distances between frames vary by more than 1 % of the median.
    pub fn is_variable_rate(&self) -> bool {
        let Some(typ) = self.typical_frame_duration() else {
            return false;
        };
        let tol = typ.as_nanos() / 100 + 1_000; // 1 % plus 1 µs for millisecond timestamps
        let tol = tol.max(1_000_000.min(typ.as_nanos() / 20)); // containers with ms timestamps
        self.frames
            .windows(2)
            .filter_map(|w| w[1].pts.duration_since(w[0].pts))
            .any(|d| d.as_nanos().abs_diff(typ.as_nanos()) > tol)
    }
}

impl<'a> IntoIterator for &'a FrameTable {
    type Item = &'a FrameInfo;
    type IntoIter = std::slice::Iter<'a, FrameInfo>;
    fn into_iter(self) -> Self::IntoIter {
        self.frames.iter()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(v: i64) -> Timestamp {
        Timestamp::from_nanos(v * 1_000_000)
    }

    /// I0 P3 B1 B2 | I4 P7 B5 B6 in decode order, 40 ms frames.
    fn ibbp() -> FrameTable {
        let order = [
            (0, true),
            (3, false),
            (1, false),
            (2, false),
            (4, true),
            (7, false),
            (5, false),
            (6, false),
        ];
        FrameTable::from_decode_order(
            "t",
            order.iter().map(|&(i, k)| PacketEntry {
                pts: Some(ms(40 * i)),
                duration: Some(Duration::from_millis(40)),
                keyframe: k,
            }),
        )
        .unwrap()
    }

    #[test]
    fn presentation_order_and_lookups() {
        let t = ibbp();
        assert_eq!(t.len(), 8);
        assert!(
            t.iter()
                .enumerate()
                .all(|(i, f)| f.index == i as u64 && f.pts == ms(40 * i as i64))
        );
        assert_eq!(t.get(3).unwrap().decode_order, 1);
        assert_eq!(t.keyframe_at_or_before(3), Some(0));
        assert_eq!(t.keyframe_at_or_before(4), Some(4));
        assert_eq!(t.keyframe_at_or_before(100), Some(4));
        assert_eq!(t.decode_start(6), Some(4));
        assert_eq!(t.index_at_time(ms(79)), Some(1));
        assert_eq!(t.index_at_time(ms(80)), Some(2));
        assert_eq!(t.index_at_time(ms(-1)), None);
        assert_eq!(t.index_of_pts(ms(120)), Some(3));
        assert_eq!(t.index_of_pts(ms(121)), None);
        assert_eq!(t.nearest_index(ms(121), Duration::from_millis(2)), Some(3));
        assert_eq!(t.nearest_index(ms(100), Duration::from_millis(2)), None);
        assert_eq!(t.end(), Some(ms(320)));
        assert_eq!(t.duration(), Some(Duration::from_millis(320)));
        assert_eq!(t.max_gop(), 4);
        assert!(!t.is_variable_rate());
    }

    #[test]
    fn open_gop_leading_pictures_start_one_gop_earlier() {
        // I0 P1 | CRA3 B2(leading, refs previous GOP) P4
        let order = [(0, true), (1, false), (3, true), (2, false), (4, false)];
        let t = FrameTable::from_decode_order(
            "t",
            order.iter().map(|&(i, k)| PacketEntry {
                pts: Some(ms(i * 10)),
                duration: None,
                keyframe: k,
            }),
        )
        .unwrap();
        assert_eq!(t.decode_start(2), Some(0));
        assert_eq!(t.decode_start(4), Some(3));
        assert_eq!(t.keyframe_at_or_before(2), Some(0));
    }

    #[test]
    fn packets_before_first_keyframe_are_dropped() {
        let t = FrameTable::from_decode_order(
            "t",
            [(5, false), (6, false), (7, true), (8, false)]
                .iter()
                .map(|&(i, k)| PacketEntry {
                    pts: Some(ms(i)),
                    duration: None,
                    keyframe: k,
                }),
        )
        .unwrap();
        assert_eq!(t.len(), 2);
        assert_eq!(t.first().unwrap().pts, ms(7));
    }

    #[test]
    fn hidden_key_frame_makes_the_first_shown_frame_a_start() {
        // K(hidden) P(hidden) P P | K P
        let pk = |pts: Option<i64>, k: bool| PacketEntry {
            pts: pts.map(ms),
            duration: None,
            keyframe: k,
        };
        let t = FrameTable::from_decode_order(
            "t",
            [
                pk(None, true),
                pk(None, false),
                pk(Some(0), false),
                pk(Some(1), false),
                pk(Some(2), true),
                pk(Some(3), false),
            ],
        )
        .unwrap();
        assert_eq!(t.len(), 4);
        let keys: Vec<bool> = t.iter().map(|f| f.keyframe).collect();
        assert_eq!(keys, vec![true, false, true, false]);
        assert_eq!(t.get(0).unwrap().decode_order, 2);
    }

    #[test]
    fn duplicate_pts_is_an_error() {
        let e = FrameTable::from_decode_order(
            "clip.gif",
            [0, 0].iter().map(|&i| PacketEntry {
                pts: Some(ms(i)),
                duration: None,
                keyframe: true,
            }),
        )
        .unwrap_err();
        assert!(e.to_string().contains("clip.gif"), "{e}");
    }

    #[test]
    fn vfr_detected() {
        let t = FrameTable::from_decode_order(
            "t",
            [0, 33, 66, 200, 233].iter().map(|&i| PacketEntry {
                pts: Some(ms(i)),
                duration: None,
                keyframe: true,
            }),
        )
        .unwrap();
        assert!(t.is_variable_rate());
    }
}
