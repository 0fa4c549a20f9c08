//! The demux-only pass: probe and frame table without decoding.

use std::path::{Path, PathBuf};

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use gstreamer as gst;
use gstreamer::prelude::*;
use video_core::{
    ByteSource, Demuxer, Error, FrameTable, PacketEntry, Rational, Result, Timestamp, VideoMetadata,
};

use crate::gsterror::codec_of;
use crate::input::Input;
use crate::pipeline::{
    Deadline, PipelineGuard, Progress, container_name, discard, is_audio, is_video, pad_caps,
    parse_pipeline,
};

/// How long the demux pass waits for the first packet before deciding the container yields
/// nothing (demuxers expose their streams within milliseconds).
const FIRST_DATA: Duration = Duration::from_secs(3);

/// One packet of a video stream as the demux pass saw it.
#[derive(Clone, Copy, Debug)]
struct RawPacket {
    /// Stream time; `None` outside the segment (decoded as a reference, never shown).
    pts: Option<i64>,
    /// Whether the container gave a presentation timestamp at all.
    has_pts: bool,
    duration: Option<Duration>,
    keyframe: bool,
}

/// Everything the demux pass learned about one video stream.
#[derive(Debug, Default)]
pub(crate) struct StreamScan {
    pub(crate) stream_id: Option<String>,
    pub(crate) caps: Option<gst::Caps>,
    pub(crate) tags: Option<gst::TagList>,
    packets: Vec<RawPacket>,
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

/// Limits of one [`scan`].
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

/// How far [`scan`] reads.
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

/// [`scan`] within `limits`: a video stream with more than `limits.max_frames` packets ends the
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
                            gst::EventView::Caps(c) => st.caps = Some(c.caps_owned()),
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
                                return gst::PadProbeReturn::Drop;
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
            keyframe: !flags.contains(gst::BufferFlags::DELTA_UNIT),
        });
    }

    /// Whether every packet has a presentation timestamp.
    fn has_all_pts(&self) -> bool {
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

/// Options of [`GstDemuxer`].
#[derive(Clone, Debug)]
#[must_use = "the builder must be built to be used"]
pub struct GstDemuxerBuilder {
    input: Input,
    video_stream: Option<usize>,
    stall_timeout: Duration,
    probe_deadline: Option<Duration>,
    decode_deadline: Option<Duration>,
    max_frames: u64,
    max_dimension: u32,
    header_index: bool,
}

impl GstDemuxerBuilder {
    /// A demuxer for the file at `path`.
    pub fn new(path: impl Into<PathBuf>) -> Self {
        Self::with_input(Input::File(path.into()))
    }

    /// A demuxer reading through `source` (an object in a store, say): the demuxer reads only
    /// the byte ranges the container needs.
    pub fn from_source(source: Arc<dyn ByteSource>) -> Self {
        Self::with_input(Input::Bytes(source))
    }

    fn with_input(input: Input) -> Self {
        GstDemuxerBuilder {
            input,
            video_stream: None,
            stall_timeout: Duration::from_secs(20),
            probe_deadline: None,
            decode_deadline: None,
            max_frames: crate::limits::MAX_FRAMES,
            max_dimension: crate::limits::MAX_DIMENSION,
            header_index: true,
        }
    }

    /// Use the `index`-th video stream (0-based, in container order). Default: the stream with
    /// the most pixels, as FFmpeg picks it.
    pub fn with_video_stream(mut self, index: usize) -> Self {
        self.video_stream = Some(index);
        self
    }

    /// Take the frame table from the container header where it can be trusted (MP4/MOV
    /// sample tables, checked against the demux pass on the test corpus), so probing reads the
    /// header and the first packets instead of the whole file. Default: on. Off, every packet
    /// is read.
    pub fn with_header_index(mut self, on: bool) -> Self {
        self.header_index = on;
        self
    }

    /// Fail with [`Error::Timeout`] when the pipeline makes no progress for this long.
    /// Default: 20 s.
    pub fn with_stall_timeout(mut self, timeout: Duration) -> Self {
        self.stall_timeout = timeout;
        self
    }

    /// Fail with [`Error::Timeout`] (its operation says "deadline") when one probe (the first
    /// `probe` or `frame_table`, which reads the container and builds the frame table) takes
    /// longer than this in all, whether or not it makes progress. Default: none, only the
    /// stall timeout.
    pub fn with_probe_deadline(mut self, deadline: Option<Duration>) -> Self {
        self.probe_deadline = deadline;
        self
    }

    /// Fail with [`Error::Timeout`] (its operation says "deadline") when one decode (one
    /// [`FrameSource::frames`](video_core::FrameSource::frames) stream of a frame source of
    /// this demuxer, from the call to its last frame, a slow consumer included) takes longer
    /// than this in all, whether or not it makes progress. Default: none, only the stall
    /// timeout.
    pub fn with_decode_deadline(mut self, deadline: Option<Duration>) -> Self {
        self.decode_deadline = deadline;
        self
    }

    /// Both [`with_probe_deadline`](Self::with_probe_deadline) and
    /// [`with_decode_deadline`](Self::with_decode_deadline): each probe and each decode must
    /// end within `deadline`. Default: none.
    pub fn with_deadline(self, deadline: Option<Duration>) -> Self {
        self.with_probe_deadline(deadline)
            .with_decode_deadline(deadline)
    }

    /// Fail with [`Error::LimitExceeded`] when the video stream's frame table has more than
    /// `frames` frames; the demux pass stops as soon as it reads one packet more. Default:
    /// [`limits::MAX_FRAMES`](crate::limits::MAX_FRAMES).
    pub fn with_max_frames(mut self, frames: u64) -> Self {
        self.max_frames = frames;
        self
    }

    /// Fail with [`Error::LimitExceeded`] when the video stream's frames are wider or higher
    /// than `pixels` (checked on the stream's caps at probe and on each decoded frame).
    /// Default: [`limits::MAX_DIMENSION`](crate::limits::MAX_DIMENSION).
    pub fn with_max_dimension(mut self, pixels: u32) -> Self {
        self.max_dimension = pixels;
        self
    }

    /// Build the demuxer. Nothing is read until `probe` or `frame_table`.
    ///
    /// # Errors
    /// [`Error::InvalidOption`] for a zero stall timeout or deadline, or zero limits.
    pub fn build(self) -> Result<GstDemuxer> {
        if self.stall_timeout.is_zero() {
            return Err(Error::InvalidOption {
                option: "stall_timeout".into(),
                reason: "must be positive".into(),
            });
        }
        if self.probe_deadline.is_some_and(|d| d.is_zero())
            || self.decode_deadline.is_some_and(|d| d.is_zero())
        {
            return Err(Error::InvalidOption {
                option: "deadline".into(),
                reason: "must be positive".into(),
            });
        }
        if self.max_frames == 0 || self.max_dimension == 0 {
            return Err(Error::InvalidOption {
                option: "limits".into(),
                reason: format!(
                    "must be positive (max frames {}, max dimension {})",
                    self.max_frames, self.max_dimension
                ),
            });
        }
        Ok(GstDemuxer {
            opts: self,
            cached: None,
        })
    }
}

/// What the demuxer found, shared with the frame source.
#[derive(Debug)]
pub(crate) struct Probed {
    pub(crate) metadata: VideoMetadata,
    pub(crate) table: Arc<FrameTable>,
    pub(crate) stream_id: Option<String>,
    pub(crate) stream_index: usize,
    /// Identify decoded frames by their position in the output of a decode from the start
    /// (tables built by decoding), not by timestamp.
    pub(crate) by_position: bool,
    /// Frames of the table (FFmpeg shows them) that GStreamer's demuxer never delivers: asking
    /// for one is an [`Error::Decode`].
    pub(crate) lost: Vec<u64>,
}

/// [`Demuxer`] on GStreamer: `<source> ! typefind ! parsebin ! fakesink`, no decoding.
///
/// For H.264/HEVC in MP4/MOV the table comes from the header's sample tables and the pipeline
/// runs only until each stream's first packet (see
/// [`with_header_index`](GstDemuxerBuilder::with_header_index)); key frames are then the
/// container's sync samples. Otherwise:
///
/// The frame table comes from the parsed packets' timestamps (converted to stream time
/// through the segment, so edit lists and B-frame delays are applied) and the parsers' key
/// frame flags (from the bitstream, not only the container's index). Packets before the first
/// key frame and zero-size packets are not frames.
#[derive(Debug)]
pub struct GstDemuxer {
    opts: GstDemuxerBuilder,
    cached: Option<Arc<Probed>>,
}

impl GstDemuxer {
    /// A demuxer with default options for the file at `path`.
    pub fn open(path: impl Into<PathBuf>) -> Result<Self> {
        GstDemuxerBuilder::new(path).build()
    }

    /// A builder.
    pub fn builder(path: impl Into<PathBuf>) -> GstDemuxerBuilder {
        GstDemuxerBuilder::new(path)
    }

    /// A demuxer with default options reading through `source`.
    pub fn from_source(source: Arc<dyn ByteSource>) -> Result<Self> {
        GstDemuxerBuilder::from_source(source).build()
    }

    /// The local file this demuxer reads, if it reads one.
    pub fn path(&self) -> Option<&Path> {
        match &self.opts.input {
            Input::File(p) => Some(p),
            Input::Bytes(_) => None,
        }
    }

    /// The path or URL this demuxer reads.
    pub fn uri(&self) -> String {
        self.opts.input.uri()
    }

    pub(crate) async fn probed(&mut self) -> Result<Arc<Probed>> {
        if let Some(p) = &self.cached {
            return Ok(p.clone());
        }
        let opts = self.opts.clone();
        let p = Arc::new(video_core::blocking::run(move || probe_blocking(&opts)).await?);
        self.cached = Some(p.clone());
        Ok(p)
    }

    /// A frame source for this demuxer's video stream (probing first if needed).
    pub async fn frame_source(
        &mut self,
        options: crate::DecodeOptions,
    ) -> Result<crate::GstFrameSource> {
        let p = self.probed().await?;
        crate::GstFrameSource::from_probed(
            self.opts.input.clone(),
            p,
            options,
            crate::decode::Timeouts {
                stall: self.opts.stall_timeout,
                deadline: self.opts.decode_deadline,
                max_dimension: self.opts.max_dimension,
            },
        )
    }
}

#[async_trait]
impl Demuxer for GstDemuxer {
    async fn probe(&mut self) -> Result<VideoMetadata> {
        Ok(self.probed().await?.metadata.clone())
    }

    async fn frame_table(&mut self) -> Result<Arc<FrameTable>> {
        Ok(self.probed().await?.table.clone())
    }
}

fn probe_blocking(opts: &GstDemuxerBuilder) -> Result<Probed> {
    let input = &opts.input;
    let uri = input.uri();
    let deadline = Deadline::after(opts.probe_deadline);
    // Before anything opens the input: a FIFO or a device would block the header reader.
    input.check()?;
    let limits = ScanLimits {
        max_frames: opts.max_frames,
        deadline,
    };
    // Read once and shared by the questions below (for MP4, the `moov` box stays in memory).
    let mut header = crate::header::Header::open(input);
    // Sizes the header declares are checked before the demuxer allocates from them.
    if let Some(h) = header.as_mut() {
        h.check_limits(&input.uri())?;
    }
    let header_counts = opts
        .header_index
        .then(|| crate::header::sniff_container(input))
        .flatten()
        .filter(|c| c == "mp4" || c == "mov")
        .and_then(|_| header.as_mut()?.mp4_track_counts());
    // A source that failed while the header was read (a stalled or unreachable store) would
    // fail the demux pass again, after as long: say so now.
    if let Some(e) = header.as_ref().and_then(|h| h.take_source_error()) {
        return Err(e);
    }
    deadline.check(&uri, "reading the container header")?;
    if let Some((video, audio)) = header_counts {
        // The sample tables in the header give the frame table: read only the streams' caps
        // and first packets, not every packet.
        let first = scan_with(
            input,
            opts.stall_timeout,
            Until::FirstPackets { video, audio },
            limits,
        )?;
        if let Some(p) = probed_from(opts, &mut header, first, true, deadline)? {
            return Ok(p);
        }
    }
    let full = scan_with(input, opts.stall_timeout, Until::End, limits)?;
    probed_from(opts, &mut header, full, false, deadline)?
        .ok_or_else(|| crate::gsterror::backend(&uri, None, "no frame table from the demux pass"))
}

/// Whether the header table's frame durations are the ones the parser gave the packets the
/// scan saw (in decode order). They differ when the bitstream's timing disagrees with the
/// container's, and then the header's key frames cannot be trusted either.
fn durations_agree(table: &FrameTable, stream: &StreamScan) -> bool {
    let by_decode: std::collections::HashMap<u64, Option<Duration>> =
        table.iter().map(|f| (f.decode_order, f.duration)).collect();
    let first_key = stream.packets.iter().position(|p| p.keyframe);
    let Some(first_key) = first_key else {
        return false;
    };
    stream.packets[first_key..]
        .iter()
        .enumerate()
        .all(|(k, p)| match by_decode.get(&(k as u64)) {
            Some(d) => *d == p.duration,
            None => p.pts.is_none(),
        })
}

/// The frames FFmpeg shows (the MP4/MOV header's samples inside the edit list) that the demux
/// pass never saw, added to `table`: qtdemux 1.22 ends a track's edit-list segment early in some
/// files (a B-frame stored after a sample the edit hides; an edit that trims the start), so
/// those frames never reach the decoder. With them in the table, frame numbers and the frame
/// count are FFmpeg's, and asking for one of them is an [`Error::Decode`] that says why
/// (see [`Probed::lost`]). Returns the table and the indices of the lost frames.
fn add_frames_lost_at_edit_end(
    header: &mut Option<crate::header::Header<'_>>,
    scan: &Scan,
    index: usize,
    table: FrameTable,
) -> (FrameTable, Vec<u64>) {
    let Some(header) = header.as_mut() else {
        return (table, Vec::new());
    };
    // Video pads come in track order only when the header declares as many video tracks.
    if header.mp4_track_counts().map(|c| c.0) != Some(scan.video.len()) {
        return (table, Vec::new());
    }
    let Some(shown) = header.mp4_edit_shown_times(index) else {
        return (table, Vec::new());
    };
    let tolerance = 1_000_000; // 1 ms: container time scales round
    let mut frames: Vec<video_core::FrameInfo> = table.iter().copied().collect();
    let seen: Vec<i64> = frames.iter().map(|f| f.pts.as_nanos()).collect();
    let missing: Vec<i64> = shown
        .iter()
        .copied()
        .filter(|&t| !seen.iter().any(|&s| (s - t).abs() <= tolerance))
        .collect();
    if missing.is_empty() {
        return (table, Vec::new());
    }
    let duration = frames.last().and_then(|f| f.duration);
    // After every packet the demuxer delivered (hidden ones included).
    let first_order = frames.iter().map(|f| f.decode_order + 1).max().unwrap_or(0);
    for (k, &t) in missing.iter().enumerate() {
        frames.push(video_core::FrameInfo {
            index: 0,
            pts: Timestamp::from_nanos(t),
            duration,
            keyframe: false,
            decode_order: first_order + k as u64,
        });
    }
    frames.sort_by_key(|f| f.pts);
    let lost = frames
        .iter()
        .enumerate()
        .filter(|(_, f)| missing.contains(&f.pts.as_nanos()))
        .map(|(i, _)| i as u64)
        .collect();
    (FrameTable::from_presentation_order(frames), lost)
}

/// Metadata and table from a scan. With `from_header`, the table comes from the container
/// header and `None` says the header gives none that can be trusted.
fn probed_from(
    opts: &GstDemuxerBuilder,
    header: &mut Option<crate::header::Header<'_>>,
    scan: Scan,
    from_header: bool,
    deadline: Deadline,
) -> Result<Option<Probed>> {
    let input = &opts.input;
    let uri = input.uri();
    deadline.check(&uri, "building the frame table")?;
    if scan.video.is_empty() {
        if scan.audio == 0 {
            return Err(Error::NotAVideo {
                uri,
                reason: "no audio or video stream found".into(),
                source: None,
            });
        }
        return Err(Error::NoVideoStream {
            uri,
            requested: opts.video_stream,
        });
    }
    let index = match opts.video_stream {
        Some(i) if i < scan.video.len() => i,
        Some(i) => {
            return Err(Error::NoVideoStream {
                uri,
                requested: Some(i),
            });
        }
        None => {
            // FFmpeg's choice: the stream with the most pixels; the first on a tie.
            let mut best = 0;
            let mut best_area = 0u64;
            for (i, v) in scan.video.iter().enumerate() {
                let (w, h) = v.size();
                let area = u64::from(w) * u64::from(h);
                if area > best_area {
                    best = i;
                    best_area = area;
                }
            }
            best
        }
    };
    let stream = &scan.video[index];
    let caps = stream.caps.as_ref().ok_or_else(|| Error::NotAVideo {
        uri: uri.clone(),
        reason: "video stream without caps".into(),
        source: None,
    })?;
    let (codec, element, package) = codec_of(caps);
    if caps
        .structure(0)
        .is_some_and(|s| s.name() == "video/x-avi-unknown")
    {
        return Err(Error::UnsupportedCodec {
            uri,
            codec,
            element: element.map(str::to_owned),
            package: package.map(str::to_owned),
        });
    }
    let (width, height) = stream.size();
    for (side, value) in [("width", width), ("height", height)] {
        if value > opts.max_dimension {
            return Err(Error::LimitExceeded {
                what: format!("{uri}: frame {side} of video stream {index}"),
                limit: u64::from(opts.max_dimension),
                actual: u64::from(value),
            });
        }
    }
    let by_position = !stream.has_all_pts();
    let mut lost = Vec::new();
    if by_position && from_header {
        return Ok(None);
    }
    let table = if by_position {
        // Packets without presentation timestamps (AVI with B-frames): the order frames are shown
        // in is only known after decoding, so the table comes from a decoding pass. The
        // timestamps GStreamer then invents are not always unique, so such files are decoded
        // from their start and frames are identified by their position in the decoder's output.
        let frames = crate::decode::decoded_frames(
            input,
            stream.stream_id.clone(),
            index,
            opts.stall_timeout,
            deadline,
            opts.max_frames,
        )?;
        FrameTable::from_presentation_order(frames)
    } else {
        let leading = stream
            .packets
            .iter()
            .take_while(|p| !p.keyframe)
            .filter(|p| p.pts.is_some())
            .count();
        if leading > 0 && matches!(scan.container.as_str(), "mp4" | "mov") {
            // qtdemux began this edit list mid-GOP: FFmpeg decodes those frames from the key
            // frame before the edit, GStreamer cannot, so every index would be shifted.
            return Err(Error::Unsupported {
                uri,
                reason: format!(
                    "the edit list starts inside a GOP and GStreamer's MP4 demuxer does not send the key frame before it, \
                     so the first {leading} frames a player shows cannot be decoded and frame numbers would not match"
                ),
            });
        }
        if from_header {
            match header.as_mut().and_then(|h| h.mp4_frame_table(&uri, index)) {
                Some(t) if durations_agree(&t, stream) => t,
                _ => return Ok(None),
            }
        } else {
            let table = stream.table(&uri)?;
            if matches!(scan.container.as_str(), "mp4" | "mov") {
                let (table, frames_lost) = add_frames_lost_at_edit_end(header, &scan, index, table);
                lost = frames_lost;
                table
            } else {
                table
            }
        }
    };
    if table.len() > opts.max_frames {
        return Err(Error::LimitExceeded {
            what: format!("{uri}: frame table"),
            limit: opts.max_frames,
            actual: table.len(),
        });
    }
    if table.is_empty() {
        // The demuxer stopped on this stream without a frame, and without telling why (its
        // error can stay inside parsebin). An MP4/MOV header can say why: the track's data
        // lies past the end of the file.
        if header
            .as_mut()
            .and_then(|h| h.mp4_first_sample_past_end(index))
            == Some(true)
        {
            return Err(Error::NotAVideo {
                uri: uri.clone(),
                reason: format!(
                    "the sample data of video stream {index} lies past the end of the file \
                     (cut short, or a corrupt chunk offset)"
                ),
                source: None,
            });
        }
        // Otherwise a backend failure, like the error it would be.
        return Err(crate::gsterror::backend(
            &uri,
            None,
            format!("the demuxer delivered no frame of video stream {index}"),
        ));
    }
    let mut m = VideoMetadata::new(uri.clone());
    m.container = scan.container.clone();
    m.container_duration = scan.duration.map(|d| Duration::from_nanos(d.nseconds()));
    m.codec = codec;
    m.video_streams = scan.video.len() as u32;
    m.audio_streams = scan.audio;
    m.video_stream = index;
    let (w, h) = stream.size();
    m.stored_width = w;
    m.stored_height = h;
    m.rotation = stream.rotation();
    (m.width, m.height) = if m.rotation % 180 == 90 {
        (h, w)
    } else {
        (w, h)
    };
    if let Some(s) = caps.structure(0) {
        if let Ok(f) = s.get::<gst::Fraction>("framerate")
            && f.numer() > 0
        {
            m.nominal_fps = Some(Rational::new(i64::from(f.numer()), i64::from(f.denom())));
        }
        if let Ok(par) = s.get::<gst::Fraction>("pixel-aspect-ratio") {
            m.pixel_aspect_ratio = Rational::new(i64::from(par.numer()), i64::from(par.denom()));
        }
        m.profile = s.get::<String>("profile").ok();
        let depth = s
            .get::<u32>("bit-depth-luma")
            .ok()
            .or_else(|| s.get::<i32>("bit-depth-luma").ok().map(|v| v.max(0) as u32));
        m.bit_depth = depth;
        let chroma = s.get::<String>("chroma-format").ok();
        m.pixel_format = match (chroma.as_deref(), depth) {
            (Some("4:2:0"), Some(8)) => Some("I420".into()),
            (Some("4:2:0"), Some(10)) => Some("I420_10LE".into()),
            (Some("4:2:2"), Some(8)) => Some("Y42B".into()),
            (Some("4:2:2"), Some(10)) => Some("I422_10LE".into()),
            (Some("4:4:4"), Some(8)) => Some("Y444".into()),
            (Some("4:4:4"), Some(10)) => Some("Y444_10LE".into()),
            (Some("4:0:0"), Some(8)) => Some("GRAY8".into()),
            _ => None,
        };
    }
    m.header_frame_count = header
        .as_mut()
        .and_then(|h| h.frame_count(&m.container, index));
    m.fill_from_table(&table);
    // MP4/MOV: the stream's sample sizes over its duration, as FFmpeg computes it (the parsers'
    // bitrate tags come only once they have seen the data); elsewhere the declared bitrate.
    let mp4_bytes = matches!(m.container.as_str(), "mp4" | "mov")
        .then(|| header.as_mut()?.mp4_track_bytes(index))
        .flatten();
    if let (Some(bytes), Some(d)) = (mp4_bytes, m.duration)
        && d.as_secs_f64() > 0.0
    {
        m.bitrate = Some((bytes as f64 * 8.0 / d.as_secs_f64()) as u64);
    } else if let Some(tags) = &stream.tags {
        m.bitrate = tags
            .get::<gst::tags::Bitrate>()
            .map(|v| u64::from(v.get()))
            .or_else(|| {
                tags.get::<gst::tags::NominalBitrate>()
                    .map(|v| u64::from(v.get()))
            })
            .filter(|&b| b > 0);
    }
    if m.bitrate.is_none()
        && let (Some(d), Some(meta)) = (m.container_duration, input.len())
        && d.as_secs_f64() > 0.0
    {
        m.bitrate = Some((meta as f64 * 8.0 / d.as_secs_f64()) as u64);
    }
    Ok(Some(Probed {
        metadata: m,
        table: Arc::new(table),
        stream_id: stream.stream_id.clone(),
        stream_index: index,
        by_position,
        lost,
    }))
}
