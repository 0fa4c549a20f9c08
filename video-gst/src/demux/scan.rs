//! The demux-only pass: `<source> ! typefind ! parsebin`, a probe on each video stream
//! recording its packets (timestamps, key flags), caps and tags; no decoding.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use gstreamer as gst;
use gstreamer::prelude::*;
use video_core::{Error, FrameTable, PacketEntry, Result, Timestamp};

use crate::input::Input;
use crate::nal::{self, Format};
use crate::pipeline::{
    Deadline, PipelineGuard, Progress, container_name, discard, is_audio, is_video, pad_caps,
    parse_pipeline,
};

/// How long the demux pass waits for the first packet before deciding the container yields
/// nothing (demuxers expose their streams within milliseconds).
const FIRST_DATA: Duration = Duration::from_secs(3);

/// One packet of a video stream as the demux pass saw it.
#[derive(Clone, Copy, Debug)]
pub(super) struct RawPacket {
    /// Stream time; `None` outside the segment (decoded as a reference, never shown).
    pub(super) pts: Option<i64>,
    /// Whether the container gave a presentation timestamp at all.
    pub(super) has_pts: bool,
    pub(super) duration: Option<Duration>,
    pub(super) keyframe: bool,
}

/// Everything the demux pass learned about one video stream.
#[derive(Debug, Default)]
pub(crate) struct StreamScan {
    pub(crate) stream_id: Option<String>,
    pub(crate) caps: Option<gst::Caps>,
    /// H.264/HEVC in whole access units (from `caps`): key frames are read from the NAL units.
    format: Option<Format>,
    pub(crate) tags: Option<gst::TagList>,
    /// Packets in decode order.
    pub(super) packets: Vec<RawPacket>,
    segment: Option<gst::FormattedSegment<gst::ClockTime>>,
}

/// Everything the demux pass learned about a file.
#[derive(Debug, Default)]
pub(crate) struct Scan {
    pub(crate) container: String,
    pub(crate) video: Vec<StreamScan>,
    pub(crate) audio: u32,
    pub(crate) duration: Option<gst::ClockTime>,
    /// A [`Until::FirstPackets`] scan has what it needs.
    done: bool,
    /// Packets a video stream had when it went past [`ScanLimits::max_frames`].
    over_limit: Option<u64>,
}

/// Limits of one [`scan_with`].
#[derive(Clone, Copy, Debug)]
pub(crate) struct ScanLimits {
    /// Most packets kept per video stream; the pass stops as soon as one stream has more.
    pub(crate) max_frames: u64,
    /// The whole operation's wall-clock limit.
    pub(crate) deadline: Deadline,
}

fn nanos(t: Option<gst::ClockTime>) -> Option<i64> {
    t.and_then(|t| i64::try_from(t.nseconds()).ok())
}

/// How far [`scan_with`] reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Until {
    /// To the end: every packet of every video stream.
    End,
    /// Until the given numbers of video and audio streams are exposed and every video stream
    /// has sent a packet: caps, tags and the first packets, read from the container's header
    /// and first bytes of data. (parsebin does not say when it has exposed every stream.)
    FirstPackets {
        /// Video streams the container declares.
        video: usize,
        /// Audio streams the container declares.
        audio: usize,
    },
}

impl Scan {
    /// Whether a scan has read what `until` asks for.
    fn has(&self, until: Until) -> bool {
        match until {
            Until::End => false,
            Until::FirstPackets { video, audio } => {
                self.video.len() >= video
                    && self.audio as usize >= audio
                    && self.video.iter().all(|v| !v.packets.is_empty())
            }
        }
    }
}

/// Run `<source> ! typefind ! parsebin`, collecting every video stream's packets, to the end or
/// until the first packets, with the default limits and no deadline.
#[cfg(test)]
pub(crate) fn scan(input: &Input, stall: Duration, until: Until) -> Result<Scan> {
    let limits = ScanLimits {
        max_frames: crate::limits::MAX_FRAMES,
        deadline: Deadline::after(None),
    };
    scan_with(input, stall, until, limits)
}

/// `scan` within `limits`: a video stream with more than `limits.max_frames` packets ends the
/// pass at once with [`Error::LimitExceeded`].
pub(crate) fn scan_with(
    input: &Input,
    stall: Duration,
    until: Until,
    limits: ScanLimits,
) -> Result<Scan> {
    input.check()?;
    let uri = input.uri();
    let scan = Arc::new(Mutex::new(Scan::default()));
    let progress = Progress::default();
    let (s2, p2) = (scan.clone(), progress.clone());
    // Set when a first-packets scan has what it needs: the source stops reading.
    let stop = Arc::new(AtomicBool::new(false));
    let stop2 = stop.clone();
    let (guard, typefind) = parse_pipeline(input, stop.clone(), move |pipeline, pad| {
        let Some(caps) = pad_caps(pad) else {
            return discard(pipeline, pad);
        };
        if is_audio(&caps) {
            if let Ok(mut s) = s2.lock() {
                s.audio += 1;
            }
            return discard(pipeline, pad);
        }
        if !is_video(&caps) {
            return discard(pipeline, pad);
        }
        let slot = {
            let Ok(mut s) = s2.lock() else { return };
            s.video.push(StreamScan {
                stream_id: pad.stream_id().map(|s| s.to_string()),
                format: Format::of_caps(&caps),
                caps: Some(caps),
                ..Default::default()
            });
            s.video.len() - 1
        };
        // A fakesink with a probe sees every packet exactly once (no preroll bookkeeping).
        let Ok(sink) = gst::ElementFactory::make("fakesink")
            .property("sync", false)
            .property("async", false)
            .build()
        else {
            return;
        };
        if let Some(sinkpad) = sink.static_pad("sink") {
            let (s3, p3) = (s2.clone(), p2.clone());
            let weak = pipeline.downgrade();
            let stop3 = stop2.clone();
            sinkpad.add_probe(
                gst::PadProbeType::BUFFER | gst::PadProbeType::EVENT_DOWNSTREAM,
                move |_, info| {
                    let Ok(mut s) = s3.lock() else {
                        return gst::PadProbeReturn::Ok;
                    };
                    let st = &mut s.video[slot];
                    match &info.data {
                        Some(gst::PadProbeData::Event(ev)) => match ev.view() {
                            gst::EventView::Segment(e) => {
                                st.segment = e.segment().downcast_ref::<gst::ClockTime>().cloned()
                            }
                            gst::EventView::Caps(c) => {
                                st.format = Format::of_caps(c.caps());
                                st.caps = Some(c.caps_owned());
                            }
                            gst::EventView::Tag(t) => {
                                let merged = match &st.tags {
                                    Some(old) => old.merge(t.tag(), gst::TagMergeMode::Append),
                                    None => t.tag_owned(),
                                };
                                st.tags = Some(merged);
                            }
                            _ => {}
                        },
                        Some(gst::PadProbeData::Buffer(buf)) => {
                            p3.bump();
                            if s.over_limit.is_some() {
                                // Handled, not Drop: gstreamer-rs has taken the buffer out of
                                // the probe info (and unrefs it); with Drop the core unrefs
                                // NULL (a GStreamer-CRITICAL on every dropped buffer).
                                return gst::PadProbeReturn::Handled;
                            }
                            let st = &mut s.video[slot];
                            st.record(buf);
                            let kept = st.packets.len() as u64;
                            if kept > limits.max_frames {
                                // Stop here: the table would only grow.
                                st.packets = Vec::new();
                                s.over_limit = Some(kept);
                                stop3.store(true, Ordering::SeqCst);
                                if let Some(p) = weak.upgrade() {
                                    PipelineGuard::done(&p);
                                }
                            } else if s.has(until)
                                && !std::mem::replace(&mut s.done, true)
                                && let Some(p) = weak.upgrade()
                            {
                                stop3.store(true, Ordering::SeqCst);
                                PipelineGuard::done(&p);
                            }
                        }
                        _ => {}
                    }
                    gst::PadProbeReturn::Ok
                },
            );
        }
        if pipeline.add(&sink).is_err() {
            return;
        }
        let _ = sink.sync_state_with_parent();
        if let Some(sinkpad) = sink.static_pad("sink") {
            let _ = pad.link(&sinkpad);
        }
    })?;
    guard.set_state(gst::State::Playing)?;
    // Before the first packet, wait at most a few seconds: demuxers expose streams in
    // milliseconds, and a file that gives none would otherwise wait for the whole stall timeout.
    let stall_first = stall.min(FIRST_DATA);
    let result = match guard.wait_eos(
        &progress,
        stall,
        stall_first,
        "reading the container (demux pass)",
        limits.deadline,
    ) {
        // Nothing ever came out: qtdemux sometimes reports "no playable streams" only inside
        // parsebin, where the error never reaches the pipeline's bus.
        Err(Error::Timeout { .. }) if progress.get() == 0 && stall >= FIRST_DATA => {
            Err(Error::NotAVideo {
                uri: uri.clone(),
                reason: format!("no stream data came out of the container within {stall_first:?}"),
                source: None,
            })
        }
        other => other,
    };
    let tf_caps = typefind.property::<Option<gst::Caps>>("caps");
    let container =
        crate::header::sniff_container(input).unwrap_or_else(|| container_name(tf_caps.as_deref()));
    if let Ok(mut s) = scan.lock() {
        s.container = container.clone();
    }
    result?;
    if let Some(actual) = scan.lock().ok().and_then(|s| s.over_limit) {
        return Err(Error::LimitExceeded {
            what: format!("{uri}: frame table"),
            limit: limits.max_frames,
            actual,
        });
    }
    let duration = guard.pipeline.query_duration::<gst::ClockTime>();
    drop(guard);
    let mut out = std::mem::take(
        &mut *scan
            .lock()
            .map_err(|_| crate::gsterror::backend(&uri, None, "scan poisoned"))?,
    );
    out.duration = duration;
    if out.container.is_empty() {
        out.container = "unknown".into();
    }
    Ok(out)
}

impl StreamScan {
    /// Record one packet.
    fn record(&mut self, buf: &gst::BufferRef) {
        let seg = self.segment.as_ref();
        if buf.size() == 0 {
            return; // AVI's "dropped frame" chunks: not frames
        }
        let flags = buf.flags();
        if flags.intersects(gst::BufferFlags::GAP | gst::BufferFlags::DECODE_ONLY) {
            return;
        }
        let to_st = |t: Option<gst::ClockTime>| -> Option<i64> {
            match seg {
                Some(seg) => nanos(t.and_then(|t| seg.to_stream_time(t))),
                None => nanos(t),
            }
        };
        // Decoders clip frames that start at or after the segment's stop (an edit list's end).
        let after_stop = matches!((seg, buf.pts()), (Some(seg), Some(pts)) if seg.stop().is_some_and(|stop| pts >= stop));
        self.packets.push(RawPacket {
            pts: if after_stop { None } else { to_st(buf.pts()) },
            has_pts: buf.pts().is_some(),
            duration: buf.duration().map(|d| Duration::from_nanos(d.nseconds())),
            keyframe: !flags.contains(gst::BufferFlags::DELTA_UNIT)
                // h264parse/h265parse flag every I slice (and every recovery point) as a key
                // frame: not always a point a decoder can start at. Their flag is a superset
                // of the random access points, so only flagged buffers are read.
                && self.format.is_none_or(|f| {
                    buf.map_readable().is_ok_and(|m| {
                        nal::random_access(f.codec, &nal::units(m.as_slice(), f.framing))
                    })
                }),
        });
    }

    /// Whether every packet has a presentation timestamp.
    pub(super) fn has_all_pts(&self) -> bool {
        self.packets.iter().all(|p| p.has_pts)
    }

    /// The frame table of this stream.
    pub(crate) fn table(&self, uri: &str) -> Result<FrameTable> {
        let entries = self.packets.iter().map(|p| PacketEntry {
            pts: p.pts.map(Timestamp::from_nanos),
            duration: p.duration,
            keyframe: p.keyframe,
        });
        FrameTable::from_decode_order(uri, entries)
    }

    fn structure(&self) -> Option<&gst::StructureRef> {
        self.caps.as_ref().and_then(|c| c.structure(0))
    }

    /// Stored width × height from the caps.
    pub(crate) fn size(&self) -> (u32, u32) {
        let s = self.structure();
        let g = |f: &str| {
            s.and_then(|s| s.get::<i32>(f).ok())
                .map(|v| v.max(0) as u32)
                .unwrap_or(0)
        };
        (g("width"), g("height"))
    }

    /// Whether the image-orientation tag asks for anything but the picture as stored (a
    /// rotation or a flip): only then does displaying it need `videoflip`.
    pub(crate) fn oriented(&self) -> bool {
        self.tags
            .as_ref()
            .and_then(|t| t.get::<gst::tags::ImageOrientation>())
            .is_some_and(|v| v.get() != "rotate-0")
    }

    /// Clockwise rotation from the image-orientation tag.
    pub(crate) fn rotation(&self) -> u32 {
        let o = self
            .tags
            .as_ref()
            .and_then(|t| t.get::<gst::tags::ImageOrientation>())
            .map(|v| v.get().to_string());
        match o.as_deref() {
            Some("rotate-90") => 90,
            Some("rotate-180") => 180,
            Some("rotate-270") => 270,
            _ => 0,
        }
    }
}
