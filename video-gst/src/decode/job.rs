//! The decode loop of one `frames` stream, on its own thread: it drives the GStreamer pipeline
//! as the [`Planner`] decides (seek or decode on, which frame is the target, restart or fail).

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures::SinkExt;
use futures::channel::mpsc;
use gstreamer as gst;
use gstreamer::prelude::*;
use video_core::{DecodeStats, Error, Frame, FramePool, FrameTable, Result, Timestamp};

use super::frame::{check_size, to_frame};
use super::graph::{Graph, build_graph};
use super::md5::Md5Tap;
use super::options::{DecodeOptions, OutputFormat};
use super::planner::{Failure, Next, OnFrame, Planner};
use super::skip::SkipTap;
use crate::input::Input;
use crate::pipeline::Deadline;
use crate::probed::Probed;

/// One run of `frames`, on its own thread.
pub(super) struct Job {
    pub(super) input: Input,
    pub(super) uri: String,
    pub(super) probed: Arc<Probed>,
    pub(super) opts: DecodeOptions,
    pub(super) size: (u32, u32),
    pub(super) stall: Duration,
    pub(super) deadline: Deadline,
    pub(super) max_dimension: u32,
    pub(super) stats: Arc<Mutex<DecodeStats>>,
    /// The native frames' colorimetry, set from the first one's caps.
    pub(super) colorimetry: Arc<Mutex<Option<String>>>,
    /// Where the frames' buffers come from.
    pub(super) pool: FramePool,
    /// Ascending frame indices, each in the table.
    pub(super) targets: Vec<u64>,
}

/// Whether the consumer still listens for frames.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Consumer {
    Listening,
    Gone,
}

impl Job {
    fn stat(&self, f: impl FnOnce(&mut DecodeStats)) {
        if let Ok(mut s) = self.stats.lock() {
            f(&mut s);
        }
    }

    /// Frames into and out of the decoder so far.
    fn counts(&self, g: &Graph) {
        let (handed, dropped) = g
            .skip
            .as_ref()
            .map_or((0, 0), |t| (t.handed(), t.dropped()));
        self.stat(|s| {
            s.frames_decoded = g.decoded.get();
            s.frames_to_decoder = handed;
            s.frames_skipped = dropped;
        });
    }

    fn build(&self) -> Result<Graph> {
        let md5 = self.opts.framemd5.then(|| {
            Arc::new(Md5Tap::new(
                self.probed.table.clone(),
                &self.targets,
                match_tolerance(&self.probed.table),
            ))
        });
        // Frames identified by position (tables built by decoding) cannot be identified on the
        // way in: count them, drop none.
        let skip = Arc::new(SkipTap::new(
            self.probed.table.clone(),
            &self.targets,
            match_tolerance(&self.probed.table),
            self.opts.skip_unreferenced && !self.probed.by_position,
        ));
        build_graph(
            &self.input,
            &self.uri,
            self.probed.stream_id.clone(),
            self.probed.stream_index,
            self.opts.clone(),
            self.size,
            self.probed.oriented,
            md5,
            Some(skip),
        )
    }

    /// Decode the targets and send them to `tx`, in order, until the plan is done or the
    /// consumer drops the stream.
    pub(super) fn run(&self, tx: &mut mpsc::Sender<Result<Frame>>) -> Result<()> {
        let table = self.probed.table.clone();
        let g = self.build()?;
        g.guard.set_state(gst::State::Paused)?;
        self.preroll(&g)?;
        let tolerance = match_tolerance(&table);
        let mut plan = Planner::new(
            &table,
            &self.targets,
            &self.probed.lost,
            self.probed.by_position,
            self.opts.max_retries,
        );
        loop {
            let next = plan.next().map_err(|f| f.into_error(&self.uri, &table))?;
            let Next::Decode {
                target,
                seek,
                start_playing,
            } = next
            else {
                break;
            };
            if let Some(key) = seek {
                self.seek(&g, &table, key)?;
                self.stat(|s| s.seeks += 1);
            }
            if start_playing {
                g.guard.set_state(gst::State::Playing)?;
            }
            if self.pull_towards(&g, &table, &mut plan, target, tolerance, tx)? == Consumer::Gone {
                return Ok(());
            }
        }
        self.counts(&g);
        if let Some(tap) = &g.skip {
            let needed = tap.lower_bound();
            self.stat(|s| s.frames_needed = needed);
        }
        Ok(())
    }

    /// Wait for preroll (the first frame reached the appsink) or EOS.
    fn preroll(&self, g: &Graph) -> Result<()> {
        let started = Instant::now();
        let mut last = g.decoded.get();
        let mut since = Instant::now();
        loop {
            g.check()?;
            self.deadline.check(&self.uri, "starting the decoder")?;
            let (res, state, _) = g.guard.pipeline.state(gst::ClockTime::from_mseconds(50));
            if res.is_ok() && state == gst::State::Paused {
                return Ok(());
            }
            if g.decoded.get() != last {
                last = g.decoded.get();
                since = Instant::now();
            }
            if since.elapsed() > self.stall {
                return Err(Error::Timeout {
                    uri: self.uri.clone(),
                    operation: "starting the decoder".into(),
                    waited: started.elapsed(),
                });
            }
        }
    }

    /// Pull frames towards `target` until the planner has a verdict: the target came out and
    /// was sent, or decoding must restart (both: ask the planner what next), or it failed.
    fn pull_towards(
        &self,
        g: &Graph,
        table: &FrameTable,
        plan: &mut Planner<'_>,
        target: u64,
        tolerance: Duration,
        tx: &mut mpsc::Sender<Result<Frame>>,
    ) -> Result<Consumer> {
        let fail = |f: Failure| f.into_error(&self.uri, table);
        let mut last = g.decoded.get();
        let mut since = Instant::now();
        loop {
            if tx.is_closed() {
                return Ok(Consumer::Gone); // the consumer dropped the stream: stop decoding now
            }
            g.check()?;
            self.deadline
                .check(&self.uri, format_args!("decoding towards frame {target}"))?;
            let Some(sample) = g.appsink.try_pull_sample(gst::ClockTime::from_mseconds(50)) else {
                if g.appsink.is_eos() {
                    plan.on_eos().map_err(fail)?;
                    self.stat(|s| s.retries += 1);
                    return Ok(Consumer::Listening);
                }
                if g.decoded.get() != last {
                    last = g.decoded.get();
                    since = Instant::now();
                } else if since.elapsed() > self.stall {
                    return Err(Error::Timeout {
                        uri: self.uri.clone(),
                        operation: format!("decoding towards frame {target}"),
                        waited: since.elapsed(),
                    });
                }
                continue;
            };
            since = Instant::now();
            self.counts(g);
            if let Some(first) = g.skip.as_ref().and_then(|t| t.first_after_flush()) {
                match plan.landed(first) {
                    Ok(false) => {}
                    Ok(true) => {
                        self.stat(|s| s.retries += 1);
                        return Ok(Consumer::Listening);
                    }
                    Err(f) => return Err(fail(f)),
                }
            }
            let t = match plan.on_frame(|| identify(&sample, table, tolerance)) {
                Ok(OnFrame::Pass) => continue,
                Ok(OnFrame::Emit(t)) => t,
                Ok(OnFrame::Restart) => {
                    self.stat(|s| s.retries += 1);
                    return Ok(Consumer::Listening);
                }
                Err(f) => {
                    if matches!(f, Failure::NeverOutput { .. }) {
                        // The restart that would go past the limit is counted too.
                        self.stat(|s| s.retries += 1);
                    }
                    return Err(fail(f));
                }
            };
            check_size(&self.uri, &sample, t, self.max_dimension)?;
            let mut frame = to_frame(
                &self.uri,
                &sample,
                *table.frame(t)?,
                self.opts.output,
                &self.pool,
            )?;
            if self.opts.output == OutputFormat::Native
                && let Ok(mut c) = self.colorimetry.lock()
                && c.is_none()
            {
                *c = sample
                    .caps()
                    .and_then(|caps| gstreamer_video::VideoInfo::from_caps(caps).ok())
                    .map(|info| info.colorimetry().to_string());
            }
            if let Some(tap) = &g.md5 {
                frame.framemd5 = Some(tap.take(t).ok_or_else(|| {
                    Error::Decode {
                        uri: self.uri.clone(),
                        index: Some(t),
                        pts: Some(frame.info.pts),
                        reason: "the frame reached the appsink without passing the decoder's \
                             source pad, so the md5 of its native planes is unknown"
                            .into(),
                    }
                })?);
            }
            // The decoded picture is copied out: give it back to the decoder's pool before
            // waiting for the consumer (at 4K it is 12 MB the decoder would otherwise allocate
            // anew).
            drop(sample);
            if futures::executor::block_on(tx.send(Ok(frame))).is_err() {
                return Ok(Consumer::Gone); // the consumer dropped the stream
            }
            self.stat(|s| s.frames_emitted += 1);
            self.counts(g);
            return Ok(Consumer::Listening);
        }
    }

    fn seek(&self, g: &Graph, table: &FrameTable, key: u64) -> Result<()> {
        let pts = table.pts_of(key).unwrap_or(Timestamp::ZERO);
        let target = gst::ClockTime::from_nseconds(pts.as_nanos().max(0) as u64);
        g.guard
            .pipeline
            .seek(
                1.0,
                // Not KEY_UNIT: with several streams qtdemux would snap to a key frame that suits
                // every stream (often the start of the file). The target is a key frame of ours,
                // so each stream starts at its own key frame at or before it.
                gst::SeekFlags::FLUSH,
                gst::SeekType::Set,
                target,
                gst::SeekType::None,
                gst::ClockTime::NONE,
            )
            .map_err(|_| {
                g.guard
                    .bus_error(Duration::from_millis(100))
                    .unwrap_or_else(|| Error::Decode {
                        uri: self.uri.clone(),
                        index: Some(key),
                        pts: Some(pts),
                        reason: "the demuxer refused to seek to this key frame".into(),
                    })
            })
    }
}

/// Half the smallest distance between frames, at most 5 ms: wide enough for rounding in
/// millisecond containers, narrow enough never to confuse neighbours. Stream copies match
/// packets to frames with it too.
pub(crate) fn match_tolerance(table: &FrameTable) -> Duration {
    let min_gap = table
        .as_slice()
        .windows(2)
        .filter_map(|w| w[1].pts.duration_since(w[0].pts))
        .min()
        .unwrap_or(Duration::from_millis(10));
    (min_gap / 2).min(Duration::from_millis(5))
}

/// The frame table index of a decoded sample, from its stream time.
fn identify(sample: &gst::Sample, table: &FrameTable, tolerance: Duration) -> Option<u64> {
    let pts = sample.buffer()?.pts()?;
    let st = match sample
        .segment()
        .and_then(|s| s.downcast_ref::<gst::ClockTime>().cloned())
    {
        Some(seg) => seg.to_stream_time(pts)?,
        None => pts,
    };
    table.nearest_index(
        Timestamp::from_nanos(i64::try_from(st.nseconds()).ok()?),
        tolerance,
    )
}
