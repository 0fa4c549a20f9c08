//! The decisions of the decode loop, without GStreamer: for each target of a plan, whether to
//! seek (and to which key frame) or decode on; for each frame out of the decoder, whether it is
//! the target, one to pass over, or a sign that decoding must restart further back; when to give
//! up; when the plan is done.
//!
//! [`Job::run`](super::job) drives a [`Planner`] with what the pipeline does:
//!
//! ```text
//! loop:   next()                 -> Done                          stop decoding
//!                                -> Decode { seek, start_playing } seek?, play?, then pull:
//!         on_frame(identify)     -> Pass                          pull the next frame
//!                                -> Emit(target)                  hand it out, back to next()
//!                                -> Restart                       back to next()
//!         on_eos()               -> Ok                            restart: back to next()
//!         any Err(Failure)                                        end with that error
//! ```
//!
//! Everything here is a function of the frame table, the targets and the frames reported, so
//! it is tested on synthetic tables (see the tests below).

use video_core::{Error, FrameTable};

/// Keep decoding (no seek) when the key frame the next target needs is at most this many frames
/// ahead of the last decoded frame.
pub(super) const CONTINUE_WITHIN: u64 = 8;

/// The key frame before `start_k` (one further back than a start that failed).
fn earlier_key(table: &FrameTable, start_k: u64, first_key: u64) -> u64 {
    let earlier = match start_k.checked_sub(1) {
        Some(before) => table.keyframe_at_or_before(before).unwrap_or(first_key),
        None => first_key,
    };
    earlier.min(start_k)
}

/// How to reach the next target.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Next {
    /// Decode towards `target`: first seek to the key frame `seek` (a flushing seek) if there is
    /// one, and set the pipeline playing if `start_playing`; then pull frames.
    Decode {
        target: u64,
        seek: Option<u64>,
        start_playing: bool,
    },
    /// Every target came out: stop decoding (the rest of the GOP is never decoded).
    Done,
}

/// What to do with one frame out of the decoder.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum OnFrame {
    /// Not the target (unidentified, seen already, or before the target): pull the next frame.
    Pass,
    /// The target: hand it out, then ask [`Planner::next`].
    Emit(u64),
    /// The decoder went past the target without outputting it: ask [`Planner::next`], which
    /// seeks to an earlier key frame.
    Restart,
}

/// Why decoding cannot go on (each names the target it failed on).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Failure {
    /// The target is one of the frames GStreamer's demuxer never delivers
    /// ([`Probed::lost`](crate::probed::Probed::lost)).
    Lost { target: u64 },
    /// The stream ended before the target came out, and no earlier start is left to try.
    EndedBefore { target: u64 },
    /// Frames identified by position: the output went from before the target to `got`.
    SkippedInOutput { target: u64, got: u64 },
    /// The decoder went from before the target to `got` more often than retries allow.
    NeverOutput { target: u64, got: u64 },
    /// After each seek the demuxer delivered from frame `got` on, later in decode order than
    /// the key frame asked for, more often than retries allow.
    StartedLate { target: u64, got: u64 },
}

impl Failure {
    /// The error for this failure.
    pub(super) fn into_error(self, uri: &str, table: &FrameTable) -> Error {
        let (target, reason) = match self {
            Failure::Lost { target } => (
                target,
                "GStreamer 1.22's MP4 demuxer (qtdemux) ends the edit list's segment before this frame's sample, \
                 so it never reaches the decoder (FFmpeg shows it; the frames before it are unaffected)"
                    .to_owned(),
            ),
            Failure::EndedBefore { target } => (
                target,
                "the stream ended before this frame came out of the decoder (truncated or undecodable data)".to_owned(),
            ),
            Failure::SkippedInOutput { target, got } => (
                target,
                format!("the decoder's output skipped this frame (it went on to frame {got})"),
            ),
            Failure::NeverOutput { target, got } => (
                target,
                format!(
                    "the decoder never output this frame (it went from before it to frame {got})"
                ),
            ),
            Failure::StartedLate { target, got } => (
                target,
                format!(
                    "after seeking to the key frame this frame needs, the demuxer delivered from frame {got} on \
                     (later in decode order), also after seeking further back"
                ),
            ),
        };
        Error::Decode {
            uri: uri.to_owned(),
            index: Some(target),
            pts: table.pts_of(target),
            reason,
        }
    }
}

/// The attempt at the current target: where decoding started and whether it sought there.
#[derive(Clone, Copy, Debug)]
struct Attempt {
    target: u64,
    start_k: u64,
    sought: bool,
}

/// The state of one decode of a plan (see the [module docs](self)).
#[derive(Debug)]
pub(super) struct Planner<'a> {
    table: &'a FrameTable,
    /// Ascending frame indices, each in the table.
    targets: &'a [u64],
    lost: &'a [u64],
    /// Identify frames by their position in the decoder's output, not by timestamp.
    by_position: bool,
    max_retries: u32,
    /// The first key frame: where decoding starts without a seek.
    first_key: u64,
    /// Position of the current target in `targets`.
    cursor: usize,
    /// The last frame that came out since the last (re)start.
    pos: Option<u64>,
    playing: bool,
    /// Restarts for the current target.
    retries: u32,
    /// The key frame the next attempt must seek to (after a failed one).
    start_override: Option<u64>,
    /// Frames out of the decoder since the start (`by_position` only).
    outputs: u64,
    attempt: Option<Attempt>,
}

impl<'a> Planner<'a> {
    /// A planner for `targets` (ascending indices of `table`); asking for a frame in `lost`
    /// fails; `by_position` identifies frames by counting from the start; at most `max_retries`
    /// restarts per target.
    pub(super) fn new(
        table: &'a FrameTable,
        targets: &'a [u64],
        lost: &'a [u64],
        by_position: bool,
        max_retries: u32,
    ) -> Self {
        let first_key = table
            .iter()
            .find(|f| f.keyframe)
            .map(|f| f.index)
            .unwrap_or(0);
        Planner {
            table,
            targets,
            lost,
            by_position,
            max_retries,
            first_key,
            cursor: 0,
            pos: None,
            playing: false,
            retries: 0,
            start_override: None,
            outputs: 0,
            attempt: None,
        }
    }

    /// How to reach the next target, or [`Next::Done`].
    pub(super) fn next(&mut self) -> Result<Next, Failure> {
        let Some(&t) = self.targets.get(self.cursor) else {
            return Ok(Next::Done);
        };
        if self.lost.contains(&t) {
            return Err(Failure::Lost { target: t });
        }
        let start_k = self
            .start_override
            .unwrap_or_else(|| self.table.decode_start(t).unwrap_or(self.first_key));
        // Decoding on from `p` passes through `start_k` anyway, so a seek is never more work
        // unless the key frame is only a few frames ahead (a flushing seek throws away the
        // frames in flight, about that many).
        let reach = match self.pos {
            None if !self.playing => self.first_key,
            None => 0,
            Some(p) => p + CONTINUE_WITHIN,
        };
        let must_seek =
            self.start_override.is_some() || self.pos.is_some_and(|p| p >= t) || start_k > reach;
        if must_seek {
            self.pos = None;
            self.start_override = None;
        }
        let start_playing = !self.playing;
        self.playing = true;
        self.attempt = Some(Attempt {
            target: t,
            start_k,
            sought: must_seek,
        });
        Ok(Next::Decode {
            target: t,
            seek: must_seek.then_some(start_k),
            start_playing,
        })
    }

    /// One frame came out of the decoder; `by_pts` identifies it by its timestamp (called only
    /// when frames are not identified by position).
    pub(super) fn on_frame(
        &mut self,
        by_pts: impl FnOnce() -> Option<u64>,
    ) -> Result<OnFrame, Failure> {
        let Some(a) = self.attempt else {
            return Ok(OnFrame::Pass); // no target asked for yet
        };
        let t = a.target;
        let idx = if self.by_position {
            self.outputs += 1;
            Some(self.outputs - 1)
        } else {
            by_pts()
        };
        let Some(idx) = idx else {
            return Ok(OnFrame::Pass);
        };
        if self.pos.is_some_and(|p| idx <= p) {
            return Ok(OnFrame::Pass); // the preroll sample again after PAUSED -> PLAYING
        }
        self.pos = Some(idx);
        if idx < t {
            return Ok(OnFrame::Pass);
        }
        if idx > t && self.by_position {
            return Err(Failure::SkippedInOutput {
                target: t,
                got: idx,
            });
        }
        if idx > t {
            // The target was skipped: restart further back.
            self.retries += 1;
            if self.retries > self.max_retries {
                return Err(Failure::NeverOutput {
                    target: t,
                    got: idx,
                });
            }
            self.start_override = Some(earlier_key(self.table, a.start_k, self.first_key));
            self.attempt = None;
            return Ok(OnFrame::Restart);
        }
        self.retries = 0;
        self.cursor += 1;
        self.attempt = None;
        Ok(OnFrame::Emit(t))
    }

    /// After the last seek, `first` was the first frame that entered the decoder. If that is
    /// later in decode order than the key frame sought (a demuxer that lands where it likes),
    /// the frames decoded from it may miss their references: `Ok(true)` restarts from an
    /// earlier key frame (ask [`next`](Self::next)).
    pub(super) fn landed(&mut self, first: u64) -> Result<bool, Failure> {
        let Some(a) = self.attempt else {
            return Ok(false);
        };
        if !a.sought || self.by_position {
            return Ok(false);
        }
        let (Ok(f), Ok(k)) = (self.table.frame(first), self.table.frame(a.start_k)) else {
            return Ok(false);
        };
        if f.decode_order <= k.decode_order {
            return Ok(false);
        }
        self.retries += 1;
        if self.retries > self.max_retries {
            return Err(Failure::StartedLate {
                target: a.target,
                got: first,
            });
        }
        self.start_override = Some(earlier_key(self.table, a.start_k, self.first_key));
        self.attempt = None;
        self.pos = None;
        Ok(true)
    }

    /// The stream ended before the current target came out. `Ok`: restart from an earlier key
    /// frame (ask [`next`](Self::next)).
    pub(super) fn on_eos(&mut self) -> Result<(), Failure> {
        let Some(a) = self.attempt else {
            return Ok(()); // no target asked for yet
        };
        // A seek can land where the demuxer cannot deliver from (qtdemux in the last fragment
        // of some fragmented MP4s): start further back before calling the frame missing.
        if a.sought
            && a.start_k > self.first_key
            && self.retries < self.max_retries
            && !self.by_position
        {
            self.retries += 1;
            self.start_override = Some(earlier_key(self.table, a.start_k, self.first_key));
            self.attempt = None;
            return Ok(());
        }
        Err(Failure::EndedBefore { target: a.target })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use std::collections::VecDeque;
    use std::time::Duration;

    use video_core::{FrameInfo, PacketEntry, Timestamp};

    use super::*;

    const FRAME_MS: i64 = 40;

    fn ms(v: i64) -> Timestamp {
        Timestamp::from_nanos(v * 1_000_000)
    }

    /// `n` frames, one every 40 ms, a key frame every `gop` frames, decode order = pts order.
    fn intra_table(n: u64, gop: u64) -> FrameTable {
        FrameTable::from_presentation_order(
            (0..n)
                .map(|i| FrameInfo {
                    index: 0,
                    pts: ms(i as i64 * FRAME_MS),
                    duration: Some(Duration::from_millis(40)),
                    keyframe: i % gop == 0,
                    decode_order: i,
                })
                .collect(),
        )
    }

    /// A table from packets in decode order, each `(pts in frames, keyframe)`.
    fn decode_order_table(packets: &[(i64, bool)]) -> FrameTable {
        FrameTable::from_decode_order(
            "synthetic",
            packets.iter().map(|&(p, k)| PacketEntry {
                pts: Some(ms(p * FRAME_MS)),
                duration: Some(Duration::from_millis(40)),
                keyframe: k,
            }),
        )
        .unwrap()
    }

    /// `gops` closed GOPs of 8 frames with B-frames, stored as
    /// `I P B B P B B P` in decode order (shown `I B B P B B P P`): pts order != decode order.
    fn bframe_table(gops: i64) -> FrameTable {
        let mut packets = Vec::new();
        for g in 0..gops {
            let b = g * 8;
            // decode order: I0 P3 B1 B2 P6 B4 B5 P7
            for (p, k) in [(0, true), (3, false), (1, false), (2, false), (6, false)] {
                packets.push((b + p, k));
            }
            for p in [4, 5, 7] {
                packets.push((b + p, false));
            }
        }
        decode_order_table(&packets)
    }

    /// Open GOPs: after the first, each key frame is followed in decode order by two leading
    /// B-frames shown before it (which reference the previous GOP).
    /// Decode order per GOP g >= 1 (base b = 8 g): I(b) B(b-2) B(b-1) P(b+3) B(b+1) B(b+2) ...
    fn open_gop_table(gops: i64) -> FrameTable {
        let mut packets = vec![(0, true), (3, false), (1, false), (2, false), (5, false)];
        packets.push((4, false));
        for g in 1..gops {
            let b = g * 8;
            packets.push((b, true));
            packets.push((b - 2, false));
            packets.push((b - 1, false));
            packets.push((b + 3, false));
            packets.push((b + 1, false));
            packets.push((b + 2, false));
            packets.push((b + 5, false));
            packets.push((b + 4, false));
        }
        // The last GOP's tail (b+6, b+7 of the last GOP are its next GOP's leading frames,
        // which do not exist): two more frames closing it.
        let last = (gops - 1) * 8;
        packets.push((last + 7, false));
        packets.push((last + 6, false));
        decode_order_table(&packets)
    }

    /// A simulated decoder: what comes out after the start and after each seek.
    #[derive(Default)]
    struct Decoder {
        /// Frames this decoder never outputs (corrupt data, a lying index).
        missing: Vec<u64>,
        /// Output the first frame after each (re)start twice (the preroll sample again).
        preroll_twice: bool,
        /// After frame `.0`, `.1` comes out as well: a frame again (out of order) or, for
        /// `None`, one no table entry matches.
        extra_after: Vec<(u64, Option<u64>)>,
        /// Frames seeking to these key frames gives nothing at all (the demuxer ends at once).
        dead_keys: Vec<u64>,
        /// Output only up to this frame (a truncated file).
        ends_after: Option<u64>,
    }

    impl Decoder {
        /// What comes out when decoding starts at key frame `key`: the frames from `key` on in
        /// decode order, shown in presentation order; frames shown before `key` (leading
        /// pictures of an open GOP) reference what was not decoded and are dropped.
        fn output_from(&self, table: &FrameTable, key: u64) -> VecDeque<Option<u64>> {
            if self.dead_keys.contains(&key) {
                return VecDeque::new();
            }
            let k = table.get(key).unwrap();
            let mut out = VecDeque::new();
            for f in table.iter() {
                if f.decode_order < k.decode_order || f.pts < k.pts {
                    continue;
                }
                if self.missing.contains(&f.index) {
                    continue;
                }
                if self.ends_after.is_some_and(|e| f.index > e) {
                    break;
                }
                out.push_back(Some(f.index));
                for &(_, extra) in self.extra_after.iter().filter(|e| e.0 == f.index) {
                    out.push_back(extra);
                }
            }
            if self.preroll_twice
                && let Some(&first) = out.front()
            {
                out.push_front(first);
            }
            out
        }
    }

    /// What one decode of a plan did.
    #[derive(Debug, Default, PartialEq, Eq)]
    struct Trace {
        /// Key frames sought to, in order.
        seeks: Vec<u64>,
        /// Frames handed out.
        emitted: Vec<u64>,
        /// The last frame decoded (where decoding stopped).
        last_decoded: Option<u64>,
        /// Frames pulled from the decoder.
        decoded: u64,
        restarts: u32,
        failure: Option<Failure>,
    }

    /// Drive a planner against a simulated decoder as `Job::run` drives it against GStreamer.
    fn run_with(
        table: &FrameTable,
        targets: &[u64],
        lost: &[u64],
        by_position: bool,
        decoder: &Decoder,
    ) -> Trace {
        let mut plan = Planner::new(table, targets, lost, by_position, 2);
        let mut trace = Trace::default();
        // Not playing yet: decoding starts at the first frame of the stream.
        let first = table.iter().find(|f| f.keyframe).unwrap().index;
        let mut stream = decoder.output_from(table, first);
        let mut started = false;
        let mut guard = 0;
        'targets: loop {
            guard += 1;
            assert!(guard < 10_000, "the planner does not end");
            match plan.next() {
                Err(f) => {
                    trace.failure = Some(f);
                    break;
                }
                Ok(Next::Done) => break,
                Ok(Next::Decode {
                    seek,
                    start_playing,
                    ..
                }) => {
                    assert_eq!(start_playing, !started, "play is asked for exactly once");
                    started = true;
                    if let Some(k) = seek {
                        assert!(
                            table.get(k).unwrap().keyframe,
                            "seek to a non-key frame {k}"
                        );
                        trace.seeks.push(k);
                        stream = decoder.output_from(table, k);
                    }
                }
            }
            loop {
                let verdict = match stream.pop_front() {
                    None => plan.on_eos().map(|()| OnFrame::Restart),
                    Some(frame) => {
                        trace.decoded += 1;
                        if frame.is_some() {
                            trace.last_decoded = frame;
                        }
                        plan.on_frame(|| frame)
                    }
                };
                match verdict {
                    Ok(OnFrame::Pass) => continue,
                    Ok(OnFrame::Emit(t)) => {
                        trace.emitted.push(t);
                        continue 'targets;
                    }
                    Ok(OnFrame::Restart) => {
                        trace.restarts += 1;
                        continue 'targets;
                    }
                    Err(f) => {
                        trace.failure = Some(f);
                        break 'targets;
                    }
                }
            }
        }
        trace
    }

    fn run(table: &FrameTable, targets: &[u64]) -> Trace {
        run_with(table, targets, &[], false, &Decoder::default())
    }

    #[test]
    fn targets_in_far_apart_gops_seek_to_each_gops_key_frame() {
        let table = intra_table(1000, 10);
        let t = run(&table, &[3, 27, 45, 995]);
        assert_eq!(t.emitted, [3, 27, 45, 995]);
        // 3 is reached from the start without a seek; every later GOP is sought to.
        assert_eq!(t.seeks, [20, 40, 990]);
        // Each GOP is decoded from its key frame to its target, and no further.
        assert_eq!(t.decoded, 4 + 8 + 6 + 6);
        assert_eq!(t.last_decoded, Some(995));
        assert_eq!(t.failure, None);
    }

    #[test]
    fn two_targets_in_one_gop_need_one_seek() {
        let table = intra_table(100, 25);
        let t = run(&table, &[52, 60]);
        assert_eq!(t.emitted, [52, 60]);
        assert_eq!(t.seeks, [50]);
        assert_eq!(t.decoded, 11);
    }

    #[test]
    fn a_key_frame_a_few_frames_ahead_is_decoded_through_not_sought() {
        let table = intra_table(100, 10);
        // The key frame 10 is CONTINUE_WITHIN frames after 2: decode on.
        let t = run(&table, &[2, 11]);
        assert_eq!(t.seeks, [] as [u64; 0]);
        assert_eq!(t.decoded, 12);
        // One frame further and the seek is cheaper.
        let t = run(&table, &[1, 11]);
        assert_eq!(t.seeks, [10]);
        assert_eq!(t.decoded, 2 + 2);
        assert_eq!(t.emitted, [1, 11]);
    }

    #[test]
    fn first_and_last_frames() {
        let table = intra_table(50, 10);
        let t = run(&table, &[0]);
        assert_eq!((t.emitted, t.seeks, t.decoded), (vec![0], vec![], 1));
        let t = run(&table, &[49]);
        assert_eq!((t.emitted, t.seeks, t.decoded), (vec![49], vec![40], 10));
        let t = run(&table, &[0, 49]);
        assert_eq!((t.emitted, t.seeks, t.decoded), (vec![0, 49], vec![40], 11));
        // A single-frame table.
        let one = intra_table(1, 10);
        let t = run(&one, &[0]);
        assert_eq!((t.emitted, t.seeks, t.decoded), (vec![0], vec![], 1));
    }

    #[test]
    fn the_first_target_in_the_first_gop_is_reached_without_a_seek() {
        let table = intra_table(100, 30);
        let t = run(&table, &[29]);
        assert_eq!(t.seeks, [] as [u64; 0]);
        assert_eq!(t.decoded, 30);
        // In the second GOP: seek, even though decoding from the start would pass it.
        let t = run(&table, &[30]);
        assert_eq!(t.seeks, [30]);
        assert_eq!(t.decoded, 1);
    }

    #[test]
    fn an_empty_plan_decodes_nothing() {
        let table = intra_table(10, 5);
        let t = run(&table, &[]);
        assert_eq!(t, Trace::default());
    }

    #[test]
    fn b_frames_seek_to_the_key_frame_of_their_gop_in_decode_order() {
        let table = bframe_table(6);
        assert_eq!(table.len(), 48);
        // Frame 17 is a B-frame (decoded after 19) of the GOP whose key frame is 16.
        assert!(table.get(17).unwrap().decode_order > table.get(19).unwrap().decode_order);
        let t = run(&table, &[1, 17, 18, 47]);
        assert_eq!(t.emitted, [1, 17, 18, 47]);
        assert_eq!(t.seeks, [16, 40]);
        assert_eq!(t.last_decoded, Some(47));
    }

    #[test]
    fn a_leading_picture_of_an_open_gop_starts_one_gop_earlier() {
        let table = open_gop_table(4);
        // Frame 14 is shown before key frame 16 but decoded after it: it needs GOP 8 decoded.
        let f14 = table.get(14).unwrap();
        assert!(!f14.keyframe && f14.decode_order > table.get(16).unwrap().decode_order);
        assert_eq!(table.decode_start(14), Some(8));
        let t = run(&table, &[14]);
        assert_eq!(t.seeks, [8]);
        assert_eq!(t.emitted, [14]);
        // A frame after the key frame in both orders needs only its own GOP.
        let t = run(&table, &[17]);
        assert_eq!(t.seeks, [16]);
        assert_eq!(t.emitted, [17]);
        // The leading picture and the key frame after it: one seek, decoded through; the
        // next GOP's key frame is CONTINUE_WITHIN ahead: decoded through too.
        let t = run(&table, &[15, 16, 25]);
        assert_eq!(t.seeks, [8]);
        assert_eq!(t.emitted, [15, 16, 25]);
        let table = open_gop_table(5);
        let t = run(&table, &[15, 16, 33]);
        assert_eq!(t.seeks, [8, 32]);
        assert_eq!(t.emitted, [15, 16, 33]);
        assert_eq!(t.decoded, (15 - 8 + 1) + 1 + (33 - 32 + 1));
    }

    #[test]
    fn out_of_order_and_unknown_frames_are_passed_over() {
        let table = intra_table(60, 10);
        let decoder = Decoder {
            preroll_twice: true,
            extra_after: vec![(21, None), (22, Some(20)), (22, Some(21))],
            ..Default::default()
        };
        let t = run_with(&table, &[3, 22, 23], &[], false, &decoder);
        assert_eq!(t.emitted, [3, 22, 23]);
        assert_eq!(t.seeks, [20]);
        assert_eq!(t.failure, None);
        // The first sample twice after each start; one unidentified frame; two late ones.
        assert_eq!(t.decoded, (1 + 4) + (1 + 3 + 1) + (2 + 1));
    }

    #[test]
    fn a_skipped_target_restarts_one_key_frame_earlier_then_fails() {
        let table = intra_table(60, 10);
        let decoder = Decoder {
            missing: vec![35],
            ..Default::default()
        };
        let t = run_with(&table, &[35], &[], false, &decoder);
        // 30, then 20, then 10: max_retries (2) restarts, then the failure.
        assert_eq!(t.seeks, [30, 20, 10]);
        assert_eq!(t.restarts, 2);
        assert_eq!(
            t.failure,
            Some(Failure::NeverOutput {
                target: 35,
                got: 36
            })
        );
        assert!(t.emitted.is_empty());
    }

    #[test]
    fn a_restart_that_finds_the_target_goes_on_with_the_plan() {
        let table = intra_table(60, 10);
        // Seeking to 30 gives nothing (the demuxer cannot deliver from there): start at 20.
        let decoder = Decoder {
            dead_keys: vec![30],
            ..Default::default()
        };
        let t = run_with(&table, &[35, 36, 55], &[], false, &decoder);
        assert_eq!(t.seeks, [30, 20, 50]);
        assert_eq!(t.restarts, 1);
        assert_eq!(t.emitted, [35, 36, 55]);
        assert_eq!(t.failure, None);
    }

    #[test]
    fn each_target_gets_its_own_retries() {
        let table = intra_table(60, 10);
        // Two restarts for 35 (the limit), then one for 55.
        let decoder = Decoder {
            dead_keys: vec![30, 20, 50],
            ..Default::default()
        };
        let t = run_with(&table, &[35, 55], &[], false, &decoder);
        assert_eq!(t.seeks, [30, 20, 10, 50, 40]);
        assert_eq!(t.restarts, 3);
        assert_eq!(t.emitted, [35, 55]);
        assert_eq!(t.failure, None);
    }

    #[test]
    fn the_end_of_the_stream_after_decoding_on_is_not_retried() {
        let table = intra_table(60, 10);
        // 12 is reached by decoding on from 5, through key frame 10: no seek, so the end of
        // the stream is not a seek that landed badly.
        let decoder = Decoder {
            ends_after: Some(11),
            ..Default::default()
        };
        let t = run_with(&table, &[5, 12], &[], false, &decoder);
        assert_eq!(t.seeks, [] as [u64; 0]);
        assert_eq!(t.restarts, 0);
        assert_eq!(t.failure, Some(Failure::EndedBefore { target: 12 }));
    }

    #[test]
    fn a_stream_opening_with_leading_pictures_starts_without_a_seek() {
        // The first packet is a key frame shown third: frames 0 and 1 are shown before it.
        let table = decode_order_table(&[
            (2, true),
            (0, false),
            (1, false),
            (5, false),
            (3, false),
            (4, false),
            (6, true),
            (7, false),
        ]);
        assert_eq!(table.iter().find(|f| f.keyframe).unwrap().index, 2);
        let t = run(&table, &[3]);
        assert_eq!(t.seeks, [] as [u64; 0]);
        assert_eq!(t.emitted, [3]);
        assert_eq!(t.decoded, 2);
    }

    #[test]
    fn the_end_of_the_stream_before_a_target_is_a_failure() {
        let table = intra_table(60, 10);
        let truncated = Decoder {
            ends_after: Some(44),
            ..Default::default()
        };
        // From the start, no earlier key frame to try.
        let t = run_with(&table, &[5, 45], &[], false, &truncated);
        assert_eq!(t.emitted, [5]);
        assert_eq!(t.seeks, [40, 30, 20]);
        assert_eq!(t.failure, Some(Failure::EndedBefore { target: 45 }));
        let t = run_with(
            &table,
            &[7],
            &[],
            false,
            &Decoder {
                ends_after: Some(4),
                ..Default::default()
            },
        );
        assert_eq!(t.seeks, [] as [u64; 0]);
        assert_eq!(t.failure, Some(Failure::EndedBefore { target: 7 }));
    }

    #[test]
    fn lost_frames_fail_before_decoding_towards_them() {
        let table = intra_table(60, 10);
        let t = run_with(&table, &[3, 58], &[58], false, &Decoder::default());
        assert_eq!(t.emitted, [3]);
        assert_eq!(t.decoded, 4);
        assert_eq!(t.failure, Some(Failure::Lost { target: 58 }));
    }

    #[test]
    fn by_position_decodes_from_the_start_and_never_seeks() {
        // Tables built by decoding: only the first frame is a key frame.
        let table = intra_table(40, 1000);
        let t = run_with(&table, &[5, 39], &[], true, &Decoder::default());
        assert_eq!(t.seeks, [] as [u64; 0]);
        assert_eq!(t.emitted, [5, 39]);
        assert_eq!(t.decoded, 40);
        // The end of the output before a target: a failure, never a restart.
        let decoder = Decoder {
            ends_after: Some(20),
            ..Default::default()
        };
        let t = run_with(&table, &[30], &[], true, &decoder);
        assert_eq!(t.failure, Some(Failure::EndedBefore { target: 30 }));
        assert_eq!((t.restarts, t.decoded), (0, 21));
    }

    #[test]
    fn failures_name_the_target_and_its_time() {
        let table = intra_table(10, 5);
        let e = Failure::NeverOutput { target: 7, got: 8 }.into_error("clip.mp4", &table);
        match e {
            Error::Decode {
                uri,
                index,
                pts,
                reason,
            } => {
                assert_eq!(
                    (uri.as_str(), index, pts),
                    ("clip.mp4", Some(7), Some(ms(280)))
                );
                assert!(reason.contains("frame 8"), "{reason}");
            }
            other => panic!("{other:?}"),
        }
    }

    /// A demuxer that lands after the key frame sought (later in decode order): decoding
    /// restarts from the key frame before, and gives up once retries run out.
    #[test]
    fn a_seek_that_lands_late_restarts_further_back() {
        let table = bframe_table(3);
        let targets = [20];
        let mut p = Planner::new(&table, &targets, &[], false, 1);
        let Next::Decode { seek, .. } = p.next().unwrap() else {
            panic!("not done")
        };
        assert_eq!(seek, Some(16));
        assert_eq!(p.landed(16), Ok(false), "landed on the key frame");
        assert_eq!(
            p.landed(19),
            Ok(true),
            "frame 19 is decoded after key frame 16"
        );
        let Next::Decode { seek, .. } = p.next().unwrap() else {
            panic!("not done")
        };
        assert_eq!(seek, Some(8));
        assert_eq!(p.landed(3), Ok(false), "earlier than the key frame: fine");
        assert_eq!(
            p.landed(11),
            Err(Failure::StartedLate {
                target: 20,
                got: 11
            })
        );
        // Without a seek (decoding from the start) nothing is checked.
        let mut p = Planner::new(&table, &[2], &[], false, 1);
        p.next().unwrap();
        assert_eq!(p.landed(5), Ok(false));
    }
}
