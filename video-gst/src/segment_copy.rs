//! Stream copy of segments: cut a video at clean key frames into MP4 files, without decoding.
//!
//! One read of the input (`<source> ! typefind ! parsebin ! appsink`, the chosen video stream
//! parsed into whole access units in the form `mp4mux` stores) and, per segment, a write
//! pipeline `appsrc ! mp4mux faststart=true ! filesink`. Every packet is identified by its
//! stream time through the frame table (never by counting), so each output holds exactly the
//! packets of its frames. Timestamps are taken from the frame table, not from the demuxer: the
//! output's decode times are the segment's presentation times in order, its presentation times
//! are the source's moved so that the segment's first frame is shown at 0 (`mp4mux` writes the
//! B-frame delay as an edit list), so containers without decode times (Matroska) copy as well.
//! Packets an edit list hides before the first frame shown are copied into the first segment
//! and hidden there by its edit list ([`crate::mp4edit`]).

use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use gstreamer as gst;
use gstreamer::prelude::*;
use gstreamer_app as gst_app;
use video_core::prepare::{FrameMap, clean_cuts};
use video_core::{Error, FrameTable, Result, Timestamp};

use crate::decode::match_tolerance;
use crate::demux::GstDemuxer;
use crate::gsterror::{backend, codec_of, make};
use crate::input::Input;
use crate::pipeline::{Deadline, PipelineGuard, Progress, discard, pad_caps};

/// One segment of a stream copy: the frames `[first, end)` of the source's frame table.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct CopySegment {
    /// The first frame (a frame-table index): `0` or a clean cut
    /// ([`video_core::prepare::clean_cuts`]).
    pub first: u64,
    /// One past the last frame: a clean cut or the frame count.
    pub end: u64,
}

/// What one segment of a stream copy holds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CopyReport {
    /// Frames written (`end - first`).
    pub frames: u64,
    /// Size of the output file in bytes.
    pub bytes: u64,
    /// Output frame `i` is source frame `first + i`, shown at the source's pts minus the pts of
    /// `first` ([`FrameMap::copy_of`]).
    pub map: FrameMap,
}

/// The first failure of the read pipeline's pad-added handler.
type Failure = Arc<Mutex<Option<Error>>>;

/// Most hidden packets kept while waiting for the next shown one (a GOP's worth is needed).
const MAX_HIDDEN: usize = 4096;

/// How many bytes may wait in a write pipeline's `appsrc` before reading pauses.
const MAX_QUEUED_BYTES: u64 = 16 << 20;

impl GstDemuxer {
    /// Write each segment `segments[i]` to `outputs[i]` as an MP4 (`mp4mux`, `moov` before
    /// `mdat`) by stream copy: the packets of exactly the frames `[first, end)`, not decoded
    /// and not re-encoded, timestamps moved so that each output starts at 0. The video stream
    /// only: audio and other streams are not copied.
    ///
    /// Segments must be in ascending order and must not overlap (gaps are allowed); each
    /// `first` is `0` or a clean cut and each `end` a clean cut or the frame count
    /// ([`video_core::prepare::clean_cuts`]): there the packets of a segment, in decode order,
    /// hold exactly its frames and start at a key frame. The input is read once, up to the end
    /// of the last segment.
    ///
    /// When an MP4/MOV edit list hides the start of the first GOP (the first frame shown is not
    /// a key frame), the segment starting at frame 0 also gets the hidden packets from the key
    /// frame on, and its own edit list hides them again: it shows exactly its frames. For
    /// H.264 the parser may add the parameter sets (SPS/PPS) in-band to the source's very
    /// first packet; the pictures are the same.
    ///
    /// # Errors
    /// - [`Error::InvalidPlan`] naming the index for a bound that is not a clean cut, for
    ///   segments out of order, overlapping, empty or past the end, and when `outputs` does not
    ///   have one path per segment;
    /// - [`Error::Unsupported`] naming the file when the codec cannot be stored in MP4 by
    ///   `mp4mux`, when the table was built by decoding (packets without timestamps), when a
    ///   segment holds frames GStreamer's demuxer never delivers (the end of some edit lists),
    ///   and when an edit list hides packets between a segment's frames;
    /// - [`Error::Transcode`] naming the output when writing it fails;
    /// - [`Error::Timeout`] when reading or writing makes no progress for the stall timeout, or
    ///   the whole copy takes longer than the decode deadline.
    ///
    /// On error no output of this call is left behind (finished ones are removed too).
    pub async fn copy_segments(
        &mut self,
        segments: &[CopySegment],
        outputs: &[PathBuf],
    ) -> Result<Vec<CopyReport>> {
        let probed = self.probed().await?;
        let uri = self.uri();
        let table = probed.table.clone();
        check_plan(&table, segments, outputs)?;
        if probed.by_position {
            return Err(Error::Unsupported {
                uri,
                reason: "stream copy needs packet timestamps, and this stream's packets carry none (its frame table was built by decoding)".into(),
            });
        }
        if let Some(lost) = probed
            .lost
            .iter()
            .find(|&&i| segments.iter().any(|s| (s.first..s.end).contains(&i)))
        {
            return Err(Error::Unsupported {
                uri,
                reason: format!(
                    "frame {lost} is shown by FFmpeg but never delivered by GStreamer's demuxer (an edit list's end), so it cannot be copied"
                ),
            });
        }
        let (input, stall, deadline) = self.pass_options();
        let job = CopyJob {
            input,
            uri,
            stream_id: probed.stream_id.clone(),
            stream_index: probed.stream_index,
            table,
            segments: segments.to_vec(),
            outputs: outputs.to_vec(),
            rotation: (
                probed.metadata.rotation,
                probed.metadata.stored_width,
                probed.metadata.stored_height,
            ),
            stall,
            deadline: Deadline::after(deadline),
        };
        video_core::blocking::run(move || job.run()).await
    }
}

/// [`Error::InvalidPlan`] unless every segment is a non-empty range within the table whose
/// bounds are clean cuts (or the table's start and end), in ascending order, one output each.
fn check_plan(table: &FrameTable, segments: &[CopySegment], outputs: &[PathBuf]) -> Result<()> {
    let invalid = |reason: String| Err(Error::InvalidPlan { reason });
    if segments.len() != outputs.len() {
        return invalid(format!(
            "stream copy: {} segments but {} output paths",
            segments.len(),
            outputs.len()
        ));
    }
    let n = table.len();
    let cuts = clean_cuts(table);
    let is_bound = |i: u64| i == 0 || i == n || cuts.binary_search(&i).is_ok();
    let mut after = 0u64;
    for (k, s) in segments.iter().enumerate() {
        if s.first >= s.end || s.end > n {
            return invalid(format!(
                "stream copy: segment {k} [{}, {}) is empty or not within 0..{n}",
                s.first, s.end
            ));
        }
        if k > 0 && s.first < after {
            return invalid(format!(
                "stream copy: segment {k} [{}, {}) starts before the end {after} of segment {}",
                s.first,
                s.end,
                k - 1
            ));
        }
        for (what, i) in [("first", s.first), ("end", s.end)] {
            if !is_bound(i) {
                return invalid(format!(
                    "stream copy: segment {k} {what} frame {i} is not a clean cut (a key frame whose \
                     packets in decode order start exactly its frames; the nearest are {:?} and {:?})",
                    cuts.iter().rev().find(|&&c| c < i),
                    cuts.iter().find(|&&c| c > i)
                ));
            }
        }
        after = s.end;
    }
    Ok(())
}

/// Everything one copy needs, moved to a blocking thread.
struct CopyJob {
    input: Input,
    uri: String,
    stream_id: Option<String>,
    stream_index: usize,
    table: Arc<FrameTable>,
    segments: Vec<CopySegment>,
    outputs: Vec<PathBuf>,
    /// The source's clockwise display rotation and stored size: written into each segment's
    /// track header (mp4mux 1.22 writes none).
    rotation: (u32, u32, u32),
    stall: Duration,
    deadline: Deadline,
}

impl CopyJob {
    fn run(self) -> Result<Vec<CopyReport>> {
        let mut written: Vec<PathBuf> = Vec::new();
        let result = self.copy(&mut written);
        if result.is_err() {
            for p in &written {
                let _ = std::fs::remove_file(p);
            }
        }
        result
    }

    fn copy(&self, written: &mut Vec<PathBuf>) -> Result<Vec<CopyReport>> {
        self.input.check()?;
        let (guard, appsink, failure) = self.read_pipeline()?;
        guard.set_state(gst::State::Playing)?;
        let tolerance = match_tolerance(&self.table);
        let mut reports: Vec<Option<CopyReport>> = vec![None; self.segments.len()];
        let mut current: Option<Writer> = None;
        let mut next_segment = 0usize;
        // Packets decoded but not shown since the last shown one (an edit list hides them).
        let mut hidden: Vec<gst::Buffer> = Vec::new();
        let mut since = Instant::now();
        let result: Result<()> = loop {
            if let Some(e) = failure.lock().ok().and_then(|mut f| f.take()) {
                break Err(e);
            }
            if let Err(e) = guard.poll_bus() {
                break Err(e);
            }
            if let Err(e) = self.deadline.check(&self.uri, "copying segments") {
                break Err(e);
            }
            if next_segment == self.segments.len() && current.is_none() {
                break Ok(());
            }
            let Some(sample) = appsink.try_pull_sample(gst::ClockTime::from_mseconds(50)) else {
                if appsink.is_eos() {
                    break Ok(());
                }
                if since.elapsed() > self.stall {
                    break Err(Error::Timeout {
                        uri: self.uri.clone(),
                        operation: "reading packets to copy".into(),
                        waited: since.elapsed(),
                    });
                }
                continue;
            };
            since = Instant::now();
            let Some(buffer) = sample.buffer_owned() else {
                continue;
            };
            let flags = buffer.flags();
            if buffer.size() == 0 || flags.contains(gst::BufferFlags::GAP) {
                continue;
            }
            let index = if flags.contains(gst::BufferFlags::DECODE_ONLY) {
                None
            } else {
                shown_index(&sample, &buffer, &self.table, tolerance)
            };
            let Some(index) = index else {
                // Decoded, never shown (outside an edit list), or before the first key frame.
                if hidden.len() >= MAX_HIDDEN {
                    hidden.remove(0);
                }
                hidden.push(buffer);
                continue;
            };
            let segment = self.segment_of(index);
            if let Some(w) = &current
                && Some(w.segment) != segment
            {
                let w = current.take().expect("checked above");
                break Err(w.incomplete(&self.uri, index));
            }
            let Some(s) = segment else {
                hidden.clear();
                continue;
            };
            if current.is_none() {
                if s < next_segment {
                    break Err(self.transcode(
                        s,
                        format!("the packet of frame {index} came after its segment was closed"),
                        None,
                    ));
                }
                // A segment starting at a frame that is not a key frame in decode order (the
                // first frame an edit list shows) is decoded from the hidden packets since the
                // last hidden key frame: they are copied too, and hidden again by the output's
                // edit list. Hidden packets before a key frame are not needed.
                let lead = if flags.contains(gst::BufferFlags::DELTA_UNIT) {
                    let Some(key) = hidden
                        .iter()
                        .rposition(|b| !b.flags().contains(gst::BufferFlags::DELTA_UNIT))
                    else {
                        let seg = self.segments[s];
                        break Err(Error::Unsupported {
                            uri: self.uri.clone(),
                            reason: format!(
                                "segment [{}, {}) does not start at a key frame in decode order, and no \
                                 key frame the edit list hides comes before its first packet (frame {index})",
                                seg.first, seg.end
                            ),
                        });
                    };
                    hidden.split_off(key)
                } else {
                    Vec::new()
                };
                hidden.clear();
                next_segment = s + 1;
                match Writer::start(self, s, sample.caps_owned(), lead) {
                    Ok(w) => {
                        written.push(w.part.clone());
                        current = Some(w);
                    }
                    Err(e) => break Err(e),
                }
            } else if !hidden.is_empty() {
                let seg = self.segments[s];
                break Err(Error::Unsupported {
                    uri: self.uri.clone(),
                    reason: format!(
                        "segment [{}, {}) holds {} packets an edit list hides between its frames (before frame {index}); \
                         a stream copy cannot hide them (re-encode instead)",
                        seg.first,
                        seg.end,
                        hidden.len()
                    ),
                });
            }
            let w = current.as_mut().expect("opened above");
            if let Err(e) = w.push(self, buffer, index, sample.caps()) {
                break Err(e);
            }
            if w.is_complete() {
                let w = current.take().expect("checked above");
                let k = w.segment;
                match w.finish(self) {
                    Ok((path, report)) => {
                        written.push(path);
                        reports[k] = Some(report);
                    }
                    Err(e) => break Err(e),
                }
            }
        };
        drop(guard);
        if let Err(e) = result {
            if let Some(w) = current {
                written.push(w.part.clone());
            }
            return Err(e);
        }
        if let Some(w) = current {
            return Err(w.incomplete(&self.uri, self.table.len()));
        }
        reports
            .into_iter()
            .enumerate()
            .map(|(k, r)| {
                r.ok_or_else(|| {
                    let s = self.segments[k];
                    self.transcode(
                        k,
                        format!(
                            "the demuxer ended before any packet of frames [{}, {})",
                            s.first, s.end
                        ),
                        None,
                    )
                })
            })
            .collect()
    }

    /// The segment holding frame `index`.
    fn segment_of(&self, index: u64) -> Option<usize> {
        let k = self.segments.partition_point(|s| s.first <= index);
        let k = k.checked_sub(1)?;
        (index < self.segments[k].end).then_some(k)
    }

    fn transcode(&self, segment: usize, reason: String, source: Option<Error>) -> Error {
        Error::Transcode {
            uri: self.uri.clone(),
            output: self.outputs[segment].display().to_string(),
            reason,
            source: source.map(|e| Box::new(e) as video_core::BoxError),
        }
    }

    /// `<source> ! typefind ! parsebin`, the chosen video stream into an appsink whose caps are
    /// what `mp4mux` takes (so the parser delivers H.264/HEVC as `avc`/`hvc1` access units).
    fn read_pipeline(&self) -> Result<(PipelineGuard, gst_app::AppSink, Failure)> {
        let mp4_caps = mp4mux_video_caps(&self.uri)?;
        let appsink = gst_app::AppSink::builder()
            .caps(&mp4_caps)
            .sync(false)
            .max_buffers(64)
            .drop(false)
            .enable_last_sample(false)
            .build();
        // Packets outside the segment (before an edit list's start: references of the first
        // frames shown) must reach us; basesink would drop them.
        appsink.set_drop_out_of_segment(false);
        let failure: Failure = Arc::default();
        let (sink2, f2) = (appsink.clone(), failure.clone());
        let choice = crate::pipeline::VideoChoice::new(self.stream_id.clone(), self.stream_index);
        let uri = self.uri.clone();
        let (guard, _typefind) = crate::pipeline::parse_pipeline(
            &self.input,
            Arc::new(AtomicBool::new(false)),
            move |pipeline, pad| {
                if !choice.take(pipeline, pad) {
                    return;
                }
                let Some(caps) = pad_caps(pad) else {
                    return;
                };
                let linked = if pad.query_caps(None).can_intersect(&mp4_caps) {
                    sink2
                        .static_pad("sink")
                        .ok_or_else(|| backend(&uri, Some("appsink"), "appsink without sink pad"))
                        .and_then(|sinkpad| {
                            pad.link(&sinkpad).map(|_| ()).map_err(|e| {
                                backend(&uri, Some("appsink"), format!("cannot link: {e:?}"))
                            })
                        })
                } else {
                    let (codec, _, _) = codec_of(&caps);
                    Err(Error::Unsupported {
                        uri: uri.clone(),
                        reason: format!(
                            "stream copy writes MP4, and mp4mux cannot store {codec} ({caps}); re-encode instead"
                        ),
                    })
                };
                if let Err(e) = linked {
                    if let Ok(mut f) = f2.lock() {
                        f.get_or_insert(e);
                    }
                    discard(pipeline, pad);
                }
            },
        )?;
        guard
            .pipeline
            .add(&appsink)
            .map_err(|e| backend(&self.uri, Some("appsink"), e.to_string()))?;
        Ok((guard, appsink, failure))
    }
}

/// The caps of `mp4mux`'s video request pads: what it can store.
fn mp4mux_video_caps(uri: &str) -> Result<gst::Caps> {
    crate::pipeline::init(uri)?;
    let factory = gst::ElementFactory::find("mp4mux").ok_or_else(|| {
        backend(
            uri,
            Some("mp4mux"),
            "cannot find the GStreamer element mp4mux: install gstreamer1.0-plugins-good",
        )
    })?;
    factory
        .static_pad_templates()
        .iter()
        .find(|t| t.name_template().starts_with("video"))
        .map(|t| t.caps())
        .ok_or_else(|| backend(uri, Some("mp4mux"), "mp4mux has no video pad template"))
}

/// The frame-table index of a packet from its stream time; `None` for a packet that is not
/// shown (outside the segment: an edit list hides it) or that the table does not list.
fn shown_index(
    sample: &gst::Sample,
    buffer: &gst::Buffer,
    table: &FrameTable,
    tolerance: Duration,
) -> Option<u64> {
    let pts = buffer.pts()?;
    let st = match sample
        .segment()
        .and_then(|s| s.downcast_ref::<gst::ClockTime>().cloned())
    {
        Some(seg) => {
            if seg.stop().is_some_and(|stop| pts >= stop) {
                return None; // past an edit list's end: decoders clip it
            }
            seg.to_stream_time(pts)?
        }
        None => pts,
    };
    table.nearest_index(
        Timestamp::from_nanos(i64::try_from(st.nseconds()).ok()?),
        tolerance,
    )
}

/// The write pipeline of one segment: `appsrc ! mp4mux faststart=true ! filesink`.
struct Writer {
    segment: usize,
    first: u64,
    end: u64,
    guard: PipelineGuard,
    appsrc: gst_app::AppSrc,
    progress: Progress,
    /// Where the file is written; renamed to the output when complete.
    part: PathBuf,
    map: FrameMap,
    /// The segment's frames in decode order (frame-table indices).
    decode_order: Vec<u64>,
    /// Presentation times from the segment's start, in presentation order (the output's decode
    /// times, in decode order).
    pts: Vec<Duration>,
    /// The B-frame delay: how far the first decode time lies before the first frame's pts.
    delay: Duration,
    caps: Option<gst::Caps>,
    /// Shown packets pushed.
    pushed: usize,
    /// Hidden packets copied before the first shown one: the output's edit list must hide
    /// them.
    lead: usize,
    /// The decode-time slot of one hidden packet.
    step: Duration,
    /// Anything pushed yet (the first push carries caps and segment).
    started: bool,
}

impl Writer {
    fn start(
        job: &CopyJob,
        segment: usize,
        caps: Option<gst::Caps>,
        lead: Vec<gst::Buffer>,
    ) -> Result<Self> {
        let CopySegment { first, end } = job.segments[segment];
        let output = &job.outputs[segment];
        let map = FrameMap::copy_of(&job.table, first, end)?;
        let mut decode_order: Vec<u64> = (first..end).collect();
        decode_order.sort_by_key(|&i| job.table.get(i).map_or(i, |f| f.decode_order));
        let pts: Vec<Duration> = map.frames.iter().map(|f| f.pts).collect();
        // Decode time k is the k-th presentation time minus the delay, never after the pts of
        // the k-th packet in decode order.
        let delay = decode_order
            .iter()
            .enumerate()
            .map(|(k, &i)| pts[k].saturating_sub(pts[(i - first) as usize]))
            .max()
            .unwrap_or_default();
        let part = part_path(output);
        let fail = |reason: String, e: Option<Error>| job.transcode(segment, reason, e);
        let pipeline = gst::Pipeline::new();
        let guard = PipelineGuard {
            pipeline: pipeline.clone(),
            uri: output.display().to_string(),
            input_error: Default::default(),
        };
        let appsrc = gst_app::AppSrc::builder()
            .format(gst::Format::Time)
            .is_live(false)
            .block(false)
            .max_bytes(u64::MAX)
            .build();
        let mux = make(&job.uri, "mp4mux")?;
        mux.set_property("faststart", true);
        let sink = make(&job.uri, "filesink")?;
        sink.set_property("location", part.to_string_lossy().as_ref());
        sink.set_property("async", false);
        let elements: [&gst::Element; 3] = [appsrc.upcast_ref(), &mux, &sink];
        pipeline
            .add_many(elements)
            .map_err(|e| fail(format!("cannot build the write pipeline: {e}"), None))?;
        // A video pad by name: linked without caps, mp4mux would hand out an audio pad.
        let video_pad = mux
            .request_pad_simple("video_%u")
            .ok_or_else(|| fail("mp4mux gave no video pad".into(), None))?;
        appsrc
            .static_pad("src")
            .ok_or_else(|| fail("appsrc without src pad".into(), None))?
            .link(&video_pad)
            .map_err(|e| fail(format!("cannot link appsrc to mp4mux: {e:?}"), None))?;
        mux.link(&sink)
            .map_err(|e| fail(format!("cannot link mp4mux to filesink: {e}"), None))?;
        let progress = Progress::default();
        if let Some(pad) = sink.static_pad("sink") {
            let p = progress.clone();
            pad.add_probe(gst::PadProbeType::BUFFER, move |_, _| {
                p.bump();
                gst::PadProbeReturn::Ok
            });
        }
        guard
            .set_state(gst::State::Playing)
            .map_err(|e| fail("cannot start the write pipeline".into(), Some(e)))?;
        let step = job
            .table
            .typical_frame_duration()
            .filter(|d| !d.is_zero())
            .unwrap_or(Duration::from_millis(40));
        let mut w = Writer {
            segment,
            first,
            end,
            guard,
            appsrc,
            progress,
            part,
            map,
            decode_order,
            pts,
            delay,
            caps,
            pushed: 0,
            lead: lead.len(),
            step,
            started: false,
        };
        for (j, b) in lead.into_iter().enumerate() {
            // Hidden packet j: decoded in slot j, shown (never: the edit list starts later)
            // one delay after it, before every shown frame.
            let dts = step * j as u32;
            w.send(job, b, dts + w.delay, dts, Some(step), None)?;
        }
        Ok(w)
    }

    /// The time before the first shown packet's decode time, for the hidden ones.
    fn lead_time(&self) -> Duration {
        self.step * self.lead as u32
    }

    fn is_complete(&self) -> bool {
        self.pushed as u64 == self.end - self.first
    }

    /// The error for a segment whose packets stopped coming before it was complete.
    fn incomplete(&self, uri: &str, at: u64) -> Error {
        Error::Transcode {
            uri: uri.to_owned(),
            output: self.part.display().to_string(),
            reason: format!(
                "only {} of the {} packets of frames [{}, {}) came before frame {at}: the demuxer \
                 skipped some, or delivered them out of the frame table's order",
                self.pushed,
                self.end - self.first,
                self.first,
                self.end
            ),
            source: None,
        }
    }

    /// Restamp the packet of frame `index` and hand it to the muxer.
    fn push(
        &mut self,
        job: &CopyJob,
        buffer: gst::Buffer,
        index: u64,
        caps: Option<&gst::CapsRef>,
    ) -> Result<()> {
        let fail = |reason: String, e: Option<Error>| job.transcode(self.segment, reason, e);
        let k = self.pushed;
        if self.decode_order.get(k) != Some(&index) {
            return Err(fail(
                format!(
                    "packet {k} of the segment is frame {index}, but the frame table puts frame {:?} there in decode order",
                    self.decode_order.get(k)
                ),
                None,
            ));
        }
        let i = (index - self.first) as usize;
        let lead = self.lead_time();
        // Presentation from `delay` on, decode from 0 (after the hidden packets, if any).
        let (pts, dts) = (self.pts[i] + self.delay + lead, self.pts[k] + lead);
        let duration = self.map.duration_of(i);
        self.pushed += 1;
        self.send(job, buffer, pts, dts, duration, caps)
    }

    /// Stamp a packet and hand it to the muxer, waiting while the muxer is behind.
    fn send(
        &mut self,
        job: &CopyJob,
        mut buffer: gst::Buffer,
        pts: Duration,
        dts: Duration,
        duration: Option<Duration>,
        caps: Option<&gst::CapsRef>,
    ) -> Result<()> {
        let fail = |reason: String, e: Option<Error>| job.transcode(self.segment, reason, e);
        let ns = |d: Duration| gst::ClockTime::from_nseconds(d.as_nanos() as u64);
        let first = !std::mem::replace(&mut self.started, true);
        {
            let b = buffer.make_mut();
            b.set_pts(ns(pts));
            b.set_dts(ns(dts));
            b.set_duration(duration.map(ns));
            b.set_offset(u64::MAX);
            b.set_offset_end(u64::MAX);
            if first {
                b.set_flags(gst::BufferFlags::DISCONT);
            } else {
                b.unset_flags(gst::BufferFlags::DISCONT);
            }
        }
        let flow = if first {
            // The first packet carries the caps and a segment starting at the first shown
            // frame's pts: the decode times before it have negative running times, and mp4mux
            // writes the shift as an edit list, so players show the first frame at 0.
            let mut segment = gst::FormattedSegment::<gst::ClockTime>::new();
            segment.set_start(ns(self.delay + self.lead_time()));
            let mut sample = gst::Sample::builder().buffer(&buffer).segment(&segment);
            if let Some(c) = self.caps.as_ref() {
                sample = sample.caps(c);
            }
            self.appsrc.push_sample(&sample.build())
        } else {
            if let Some(c) = caps
                && self.caps.as_deref() != Some(c)
            {
                self.caps = Some(c.to_owned());
                self.appsrc.set_caps(Some(&c.to_owned()));
            }
            self.appsrc.push_buffer(buffer)
        };
        if let Err(flow) = flow {
            let e = self.guard.bus_error(Duration::from_millis(200));
            return Err(fail(format!("the muxer refused a packet ({flow:?})"), e));
        }
        // Backpressure without blocking: wait while the muxer is behind.
        let mut last = self.progress.get();
        let mut since = Instant::now();
        while self.appsrc.current_level_bytes() > MAX_QUEUED_BYTES {
            self.guard
                .poll_bus()
                .map_err(|e| fail("the write pipeline failed".into(), Some(e)))?;
            job.deadline.check(&job.uri, "copying segments")?;
            let now = self.progress.get();
            if now != last {
                (last, since) = (now, Instant::now());
            } else if since.elapsed() > job.stall {
                return Err(Error::Timeout {
                    uri: job.uri.clone(),
                    operation: format!("writing {}", job.outputs[self.segment].display()),
                    waited: since.elapsed(),
                });
            }
            std::thread::sleep(Duration::from_millis(2));
        }
        self.guard
            .poll_bus()
            .map_err(|e| fail("the write pipeline failed".into(), Some(e)))?;
        Ok(())
    }

    /// End the stream, wait for the muxer to write the file and move it into place.
    fn finish(self, job: &CopyJob) -> Result<(PathBuf, CopyReport)> {
        let output = job.outputs[self.segment].clone();
        let fail = |reason: String, e: Option<Error>| job.transcode(self.segment, reason, e);
        let _ = self.appsrc.end_of_stream();
        self.guard
            .wait_eos(
                &self.progress,
                job.stall,
                job.stall,
                &format!("writing {}", output.display()),
                job.deadline,
            )
            .map_err(|e| match e {
                Error::Timeout { .. } => e,
                other => fail("the write pipeline failed".into(), Some(other)),
            })?;
        self.guard
            .set_state(gst::State::Null)
            .map_err(|e| fail("cannot stop the write pipeline".into(), Some(e)))?;
        if self.lead > 0 {
            crate::mp4edit::hide_leading_samples(&self.part, self.lead, self.map.end)
                .map_err(|reason| fail(reason, None))?;
        }
        let (rotation, w, h) = job.rotation;
        if rotation != 0 {
            crate::transcode::write_rotation(&self.part, rotation, w, h)
                .map_err(|e| fail(format!("cannot write the display rotation: {e}"), None))?;
        }
        std::fs::rename(&self.part, &output).map_err(|source| Error::Io {
            path: output.clone(),
            operation: "rename",
            source,
        })?;
        let bytes = std::fs::metadata(&output).map(|m| m.len()).unwrap_or(0);
        Ok((
            output,
            CopyReport {
                frames: self.end - self.first,
                bytes,
                map: self.map,
            },
        ))
    }
}

/// A hidden sibling of `output` to write to until the file is complete.
fn part_path(output: &Path) -> PathBuf {
    let name = output
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "segment.mp4".into());
    output.with_file_name(format!(".{name}.part"))
}
