//! Frame-accurate, GOP-aware decoding of a resolved plan.

use crate::input::Input;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures::SinkExt;
use futures::channel::mpsc;
use futures::stream::{BoxStream, StreamExt};
use gstreamer as gst;
use gstreamer::prelude::*;
use gstreamer_app as gst_app;
use gstreamer_video as gst_video;
use gstreamer_video::prelude::*;
use video_core::{
    DecodeStats, Error, Frame, FrameSource, FrameTable, PixelFormat, Plane, ResolvedPlan, Result,
    Timestamp,
};

use crate::demux::Probed;
use crate::gsterror::{backend, codec_of};
use crate::pipeline::{
    Deadline, PipelineGuard, Progress, discard, is_video, make, pad_caps, parse_pipeline,
};

/// The time limits and the size limit a frame source works under (from its demuxer's builder).
#[derive(Clone, Copy, Debug)]
pub(crate) struct Timeouts {
    /// No progress for this long fails the decode.
    pub(crate) stall: Duration,
    /// One `frames` stream may take at most this long in all.
    pub(crate) deadline: Option<Duration>,
    /// Largest width or height of a decoded frame.
    pub(crate) max_dimension: u32,
}

/// Pixel format of decoded frames.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum OutputFormat {
    /// Packed 8-bit RGB. YUV is converted with the matrix and range the stream signals; untagged
    /// streams use BT.709 when at least 720 rows high and BT.601 below (GStreamer's default,
    /// which is what players do). 8-bit planar YUV (4:2:0, 4:2:2, 4:4:4) is converted only for
    /// the frames of the plan, on the consumer's side of the pipeline, with `yuvutils-rs`;
    /// other formats (10-bit, packed) go through GStreamer's `videoconvert`.
    #[default]
    Rgb8,
    /// The decoder's own pixel format and planes (for bit-exact comparisons); never resized or
    /// rotated.
    Native,
}

/// Which way up frames come out.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum Orientation {
    /// As a player shows them: the container's rotation is applied.
    #[default]
    Display,
    /// As stored in the bitstream.
    Stored,
}

/// Resizing of RGB output.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Resize {
    /// Exactly this size (aspect ratio not kept).
    Exact {
        /// Width in pixels.
        width: u32,
        /// Height in pixels.
        height: u32,
    },
    /// Scale down (never up) so that neither side exceeds `max_side`, keeping the aspect ratio.
    FitWithin {
        /// The largest allowed side in pixels.
        max_side: u32,
    },
}

/// Options of [`GstFrameSource`].
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct DecodeOptions {
    /// Pixel format. Default: [`OutputFormat::Rgb8`].
    pub output: OutputFormat,
    /// Orientation. Default: [`Orientation::Display`].
    pub orientation: Orientation,
    /// Resizing (RGB output only). Default: none.
    pub resize: Option<Resize>,
    /// Decoded frames buffered ahead of the consumer. Default: 4.
    pub buffer_frames: usize,
    /// How many times to restart from an earlier key frame when a frame does not come out of
    /// the decoder where the frame table says it should. Default: 2.
    pub max_retries: u32,
}

impl Default for DecodeOptions {
    fn default() -> Self {
        DecodeOptions {
            output: OutputFormat::Rgb8,
            orientation: Orientation::Display,
            resize: None,
            buffer_frames: 4,
            max_retries: 2,
        }
    }
}

impl DecodeOptions {
    /// Set [`output`](Self::output).
    pub fn output(mut self, v: OutputFormat) -> Self {
        self.output = v;
        self
    }
    /// Set [`orientation`](Self::orientation).
    pub fn orientation(mut self, v: Orientation) -> Self {
        self.orientation = v;
        self
    }
    /// Set [`resize`](Self::resize).
    pub fn resize(mut self, v: Option<Resize>) -> Self {
        self.resize = v;
        self
    }
    /// Set [`buffer_frames`](Self::buffer_frames).
    pub fn buffer_frames(mut self, v: usize) -> Self {
        self.buffer_frames = v;
        self
    }
    /// Set [`max_retries`](Self::max_retries).
    pub fn max_retries(mut self, v: u32) -> Self {
        self.max_retries = v;
        self
    }
}

/// [`FrameSource`] on GStreamer.
///
/// `filesrc ! typefind ! parsebin ! <decoder> [! videoflip ! videoconvert ! videoscale] ! appsink`
///
/// Decoding is GOP-aware: for each target the source needs the key frame decoding must start
/// from ([`FrameTable::decode_start`]). When the decoder is already at or past it (the target is
/// in the GOP being decoded) or it lies only a few frames ahead, decoding goes on; otherwise the
/// source seeks to it, so GOPs without a target are never decoded. Decoding stops after the last
/// target. Each decoded frame is identified by
/// its stream time through the frame table. If a target does not come out (a container whose
/// key frame index lies, an open GOP), decoding restarts from an earlier key frame.
#[derive(Debug)]
pub struct GstFrameSource {
    input: Input,
    uri: String,
    probed: Arc<Probed>,
    opts: DecodeOptions,
    limits: Timeouts,
    stats: Arc<Mutex<DecodeStats>>,
}

impl GstFrameSource {
    pub(crate) fn from_probed(
        input: Input,
        probed: Arc<Probed>,
        opts: DecodeOptions,
        limits: Timeouts,
    ) -> Result<Self> {
        if opts.output == OutputFormat::Native && opts.resize.is_some() {
            return Err(Error::InvalidOption {
                option: "resize".into(),
                reason: "resize needs RGB output, not the decoder's native format".into(),
            });
        }
        if opts.buffer_frames == 0 {
            return Err(Error::InvalidOption {
                option: "buffer_frames".into(),
                reason: "must be at least 1".into(),
            });
        }
        if matches!(
            opts.resize,
            Some(
                Resize::Exact { width: 0, .. }
                    | Resize::Exact { height: 0, .. }
                    | Resize::FitWithin { max_side: 0 }
            )
        ) {
            return Err(Error::InvalidOption {
                option: "resize".into(),
                reason: "resize to a zero size".into(),
            });
        }
        Ok(GstFrameSource {
            uri: input.uri(),
            input,
            probed,
            opts,
            limits,
            stats: Default::default(),
        })
    }

    /// The frame table frames are identified with.
    pub fn frame_table(&self) -> &Arc<FrameTable> {
        &self.probed.table
    }

    /// The output size for RGB frames, after rotation and resizing.
    pub fn output_size(&self) -> (u32, u32) {
        let m = &self.probed.metadata;
        let (w, h) = match self.opts.orientation {
            Orientation::Display if self.opts.output == OutputFormat::Rgb8 => (m.width, m.height),
            _ => (m.stored_width, m.stored_height),
        };
        match self.opts.resize {
            None => (w, h),
            Some(Resize::Exact { width, height }) => (width, height),
            Some(Resize::FitWithin { max_side }) => {
                let long = w.max(h);
                if long <= max_side || long == 0 {
                    (w, h)
                } else {
                    let s = f64::from(max_side) / f64::from(long);
                    (
                        ((f64::from(w) * s).round() as u32).max(1),
                        ((f64::from(h) * s).round() as u32).max(1),
                    )
                }
            }
        }
    }
}

impl FrameSource for GstFrameSource {
    fn frames(&mut self, plan: &ResolvedPlan) -> BoxStream<'_, Result<Frame>> {
        if let Ok(mut s) = self.stats.lock() {
            *s = DecodeStats::default();
        }
        if plan.is_empty() {
            return futures::stream::empty().boxed();
        }
        let table = self.probed.table.clone();
        if let Some(&bad) = plan.indices().iter().find(|&&i| i >= table.len()) {
            return futures::stream::iter([Err(Error::IndexOutOfRange {
                index: bad,
                frame_count: table.len(),
            })])
            .boxed();
        }
        let job = Job {
            input: self.input.clone(),
            uri: self.uri.clone(),
            probed: self.probed.clone(),
            opts: self.opts.clone(),
            size: self.output_size(),
            stall: self.limits.stall,
            deadline: Deadline::after(self.limits.deadline),
            max_dimension: self.limits.max_dimension,
            stats: self.stats.clone(),
            targets: plan.indices().to_vec(),
        };
        // The decode loop blocks while the consumer does not read: a stream driver, on a
        // thread of its own (reused from an earlier stream when one is idle).
        let buffer = self.opts.buffer_frames.saturating_sub(1);
        match video_core::blocking::stream("video-gst decode", buffer, move |tx| job.run(tx)) {
            Ok(frames) => frames,
            Err(e) => futures::stream::iter([Err(Error::Backend {
                backend: "gstreamer",
                uri: Some(self.uri.clone()),
                element: None,
                source: Box::new(e),
            })])
            .boxed(),
        }
    }

    fn stats(&self) -> DecodeStats {
        self.stats.lock().map(|s| *s).unwrap_or_default()
    }
}

/// Keep decoding (no seek) when the key frame the next target needs is at most this many frames
/// ahead of the last decoded frame.
const CONTINUE_WITHIN: u64 = 8;

/// The key frame before `start_k` (one further back than a start that failed).
fn earlier_key(table: &FrameTable, start_k: u64, first_key: u64) -> u64 {
    let earlier = match start_k.checked_sub(1) {
        Some(before) => table.keyframe_at_or_before(before).unwrap_or(first_key),
        None => first_key,
    };
    earlier.min(start_k)
}

/// One run of `frames`, on its own thread.
struct Job {
    input: Input,
    uri: String,
    probed: Arc<Probed>,
    opts: DecodeOptions,
    size: (u32, u32),
    stall: Duration,
    deadline: Deadline,
    max_dimension: u32,
    stats: Arc<Mutex<DecodeStats>>,
    targets: Vec<u64>,
}

/// The sink end of a decode pipeline and what the pad-added handler reports.
struct Graph {
    guard: PipelineGuard,
    appsink: gst_app::AppSink,
    failure: Arc<Mutex<Option<Error>>>,
    decoded: Progress,
}

/// Build `filesrc ! typefind ! parsebin ! <decoder> [...] ! appsink` for the chosen stream.
fn build_graph(
    input: &Input,
    uri: &str,
    want_id: Option<String>,
    want_index: usize,
    opts: DecodeOptions,
    size: (u32, u32),
) -> Result<Graph> {
    let uri_owned = uri.to_owned();
    let appsink = gst_app::AppSink::builder()
        .sync(false)
        .max_buffers(2)
        .drop(false)
        .enable_last_sample(false)
        .build();
    let failure: Arc<Mutex<Option<Error>>> = Arc::default();
    let decoded = Progress::default();
    let seen = Arc::new(Mutex::new(0usize));
    let branch_sink = appsink.clone();
    let (f2, d2) = (failure.clone(), decoded.clone());
    let (guard, _typefind) = parse_pipeline(input, Arc::default(), move |pipeline, pad| {
        let Some(caps) = pad_caps(pad) else {
            return discard(pipeline, pad);
        };
        if !is_video(&caps) {
            return discard(pipeline, pad);
        }
        let ordinal = {
            let Ok(mut n) = seen.lock() else { return };
            *n += 1;
            *n - 1
        };
        let chosen = match &want_id {
            Some(id) => pad.stream_id().is_some_and(|s| s.as_str() == id),
            None => ordinal == want_index,
        };
        if !chosen {
            return discard(pipeline, pad);
        }
        if let Err(e) = link_branch(
            &uri_owned,
            pipeline,
            pad,
            &caps,
            &branch_sink,
            &opts,
            size,
            &d2,
        ) && let Ok(mut f) = f2.lock()
        {
            *f = Some(e);
        }
    })?;
    guard
        .pipeline
        .add(&appsink)
        .map_err(|e| backend(uri, Some("appsink"), e.to_string()))?;
    Ok(Graph {
        guard,
        appsink,
        failure,
        decoded,
    })
}

/// Decoder factories for `caps`, best first. Alpha-combining bins are skipped: they fail on
/// streams that flag alpha but carry none, and the colour planes are the same without them.
fn decoders_for(caps: &gst::CapsRef) -> Vec<gst::ElementFactory> {
    let mut list: Vec<gst::ElementFactory> = gst::ElementFactory::factories_with_type(
        gst::ElementFactoryType::DECODER,
        gst::Rank::MARGINAL,
    )
    .into_iter()
    .filter(|f| {
        let klass = f.klass();
        (klass.contains("Video") || klass.contains("Image"))
            && !f.name().contains("alpha")
            && f.can_sink_any_caps(caps)
    })
    .collect();
    list.sort_by_key(|f| std::cmp::Reverse(f.rank()));
    list
}

impl Job {
    fn stat(&self, f: impl FnOnce(&mut DecodeStats)) {
        if let Ok(mut s) = self.stats.lock() {
            f(&mut s);
        }
    }

    fn build(&self) -> Result<Graph> {
        build_graph(
            &self.input,
            &self.uri,
            self.probed.stream_id.clone(),
            self.probed.stream_index,
            self.opts.clone(),
            self.size,
        )
    }

    fn run(&self, tx: &mut mpsc::Sender<Result<Frame>>) -> Result<()> {
        let table = self.probed.table.clone();
        let g = self.build()?;
        let check = |g: &Graph| -> Result<()> {
            if let Some(e) = g.failure.lock().ok().and_then(|mut f| f.take()) {
                return Err(e);
            }
            g.guard.poll_bus().map(|_| ())
        };
        g.guard.set_state(gst::State::Paused)?;
        // Wait for preroll (the first frame reached the appsink) or EOS.
        let started = Instant::now();
        let mut last = g.decoded.get();
        let mut since = Instant::now();
        loop {
            check(&g)?;
            self.deadline.check(&self.uri, "starting the decoder")?;
            let (res, state, _) = g.guard.pipeline.state(gst::ClockTime::from_mseconds(50));
            if res.is_ok() && state == gst::State::Paused {
                break;
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
        let first_key = table
            .iter()
            .find(|f| f.keyframe)
            .map(|f| f.index)
            .unwrap_or(0);
        let mut pos: Option<u64> = None; // last frame that came out since the last (re)start
        let mut playing = false;
        let mut retries = 0u32;
        let mut start_override: Option<u64> = None;
        let tolerance = match_tolerance(&table);
        let mut outputs = 0u64; // frames out of the decoder since the start (by_position mode)
        let mut i = 0usize;
        while i < self.targets.len() {
            let t = self.targets[i];
            if self.probed.lost.contains(&t) {
                return Err(Error::Decode {
                    uri: self.uri.clone(),
                    index: Some(t),
                    pts: table.pts_of(t),
                    reason: "GStreamer 1.22's MP4 demuxer (qtdemux) ends the edit list's segment before this frame's sample, \
                             so it never reaches the decoder (FFmpeg shows it; the frames before it are unaffected)"
                        .into(),
                });
            }
            let start_k =
                start_override.unwrap_or_else(|| table.decode_start(t).unwrap_or(first_key));
            // Decoding on from `p` passes through `start_k` anyway, so a seek is never more work
            // unless the key frame is only a few frames ahead (a flushing seek throws away the
            // frames in flight, about that many).
            let reach = match pos {
                None if !playing => first_key,
                None => 0,
                Some(p) => p + CONTINUE_WITHIN,
            };
            let must_seek =
                start_override.is_some() || pos.is_some_and(|p| p >= t) || start_k > reach;
            if must_seek {
                self.seek(&g, &table, start_k)?;
                self.stat(|s| s.seeks += 1);
                pos = None;
                start_override = None;
            }
            if !playing {
                g.guard.set_state(gst::State::Playing)?;
                playing = true;
            }
            // Pull until the target comes out.
            let mut last = g.decoded.get();
            let mut since = Instant::now();
            loop {
                if tx.is_closed() {
                    return Ok(()); // the consumer dropped the stream: stop decoding now
                }
                check(&g)?;
                self.deadline
                    .check(&self.uri, format_args!("decoding towards frame {t}"))?;
                let Some(sample) = g.appsink.try_pull_sample(gst::ClockTime::from_mseconds(50))
                else {
                    if g.appsink.is_eos() {
                        // A seek can land where the demuxer cannot deliver from (qtdemux in
                        // the last fragment of some fragmented MP4s): start further back
                        // before calling the frame missing.
                        if must_seek
                            && start_k > first_key
                            && retries < self.opts.max_retries
                            && !self.probed.by_position
                        {
                            retries += 1;
                            self.stat(|s| s.retries += 1);
                            start_override = Some(earlier_key(&table, start_k, first_key));
                            break;
                        }
                        let pts = table.pts_of(t);
                        return Err(Error::Decode {
                            uri: self.uri.clone(),
                            index: Some(t),
                            pts,
                            reason: "the stream ended before this frame came out of the decoder (truncated or undecodable data)".into(),
                        });
                    }
                    if g.decoded.get() != last {
                        last = g.decoded.get();
                        since = Instant::now();
                    } else if since.elapsed() > self.stall {
                        return Err(Error::Timeout {
                            uri: self.uri.clone(),
                            operation: format!("decoding towards frame {t}"),
                            waited: since.elapsed(),
                        });
                    }
                    continue;
                };
                since = Instant::now();
                self.stat(|s| s.frames_decoded = g.decoded.get());
                let idx = if self.probed.by_position {
                    outputs += 1;
                    Some(outputs - 1)
                } else {
                    identify(&sample, &table, tolerance)
                };
                let Some(idx) = idx else {
                    continue;
                };
                if pos.is_some_and(|p| idx <= p) {
                    continue; // the preroll sample again after PAUSED -> PLAYING
                }
                pos = Some(idx);
                if idx < t {
                    continue;
                }
                if idx > t && self.probed.by_position {
                    return Err(Error::Decode {
                        uri: self.uri.clone(),
                        index: Some(t),
                        pts: table.pts_of(t),
                        reason: format!(
                            "the decoder's output skipped this frame (it went on to frame {idx})"
                        ),
                    });
                }
                if idx > t {
                    // The target was skipped: restart further back.
                    retries += 1;
                    self.stat(|s| s.retries += 1);
                    if retries > self.opts.max_retries {
                        return Err(Error::Decode {
                            uri: self.uri.clone(),
                            index: Some(t),
                            pts: table.pts_of(t),
                            reason: format!(
                                "the decoder never output this frame (it went from before it to frame {idx})"
                            ),
                        });
                    }
                    start_override = Some(earlier_key(&table, start_k, first_key));
                    break;
                }
                retries = 0;
                check_size(&self.uri, &sample, t, self.max_dimension)?;
                let frame = to_frame(&self.uri, &sample, *table.frame(t)?, self.opts.output)?;
                if futures::executor::block_on(tx.send(Ok(frame))).is_err() {
                    return Ok(()); // the consumer dropped the stream
                }
                self.stat(|s| {
                    s.frames_emitted += 1;
                    s.frames_decoded = g.decoded.get();
                });
                i += 1;
                break;
            }
        }
        self.stat(|s| s.frames_decoded = g.decoded.get());
        Ok(())
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
/// millisecond containers, narrow enough never to confuse neighbours.
fn match_tolerance(table: &FrameTable) -> Duration {
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

/// [`Error::LimitExceeded`] when a decoded frame is wider or higher than `max` (a stream can
/// change size after the caps the probe checked).
fn check_size(uri: &str, sample: &gst::Sample, index: u64, max: u32) -> Result<()> {
    let Some(s) = sample.caps().and_then(|c| c.structure(0)) else {
        return Ok(());
    };
    for side in ["width", "height"] {
        let value = s.get::<i32>(side).unwrap_or(0).max(0) as u32;
        if value > max {
            return Err(Error::LimitExceeded {
                what: format!("{uri}: {side} of decoded frame {index}"),
                limit: u64::from(max),
                actual: u64::from(value),
            });
        }
    }
    Ok(())
}

/// Copy a decoded sample into a [`Frame`], honouring the buffer's plane offsets and strides.
fn to_frame(
    uri: &str,
    sample: &gst::Sample,
    info: video_core::FrameInfo,
    output: OutputFormat,
) -> Result<Frame> {
    let fail = |reason: &str| Error::Decode {
        uri: uri.to_owned(),
        index: Some(info.index),
        pts: Some(info.pts),
        reason: reason.to_owned(),
    };
    let caps = sample
        .caps()
        .ok_or_else(|| fail("decoded sample has no caps"))?;
    let vinfo = gst_video::VideoInfo::from_caps(caps)
        .map_err(|_| fail("decoded sample has caps that are not raw video"))?;
    let buffer = sample
        .buffer()
        .ok_or_else(|| fail("decoded sample has no buffer"))?;
    let vframe = gst_video::VideoFrameRef::from_buffer_ref_readable(buffer, &vinfo)
        .map_err(|_| fail("cannot map the decoded buffer"))?;
    if output == OutputFormat::Rgb8 && vinfo.format() != gst_video::VideoFormat::Rgb {
        return crate::yuv::yuv_to_rgb_frame(&vinfo, &vframe, info).map_err(|e| fail(&e));
    }
    let finfo = vinfo.format_info();
    let mut planes = Vec::new();
    let mut data = Vec::with_capacity(buffer.size());
    for p in 0..vinfo.n_planes() {
        let comp = (0..finfo.n_components())
            .find(|&c| finfo.plane()[c as usize] == p)
            .unwrap_or(p);
        let row_bytes = vinfo.comp_width(comp as u8) as usize
            * finfo.pixel_stride()[comp as usize].max(1) as usize;
        let rows = vinfo.comp_height(comp as u8) as usize;
        let stride = vframe.plane_stride()[p as usize].max(0) as usize;
        let src = vframe
            .plane_data(p)
            .map_err(|_| fail("cannot read a plane of the decoded buffer"))?;
        let offset = data.len();
        if stride == row_bytes && src.len() >= row_bytes * rows {
            data.extend_from_slice(&src[..row_bytes * rows]);
        } else {
            for r in 0..rows {
                let row = src
                    .get(r * stride..r * stride + row_bytes)
                    .ok_or_else(|| fail("decoded plane shorter than its layout"))?;
                data.extend_from_slice(row);
            }
        }
        planes.push(Plane {
            offset,
            stride: row_bytes,
            row_bytes,
            rows,
        });
    }
    let format = match output {
        OutputFormat::Rgb8 => PixelFormat::Rgb8,
        OutputFormat::Native => PixelFormat::Native(vinfo.format().to_str().to_string()),
    };
    Ok(Frame {
        info,
        width: vinfo.width(),
        height: vinfo.height(),
        format,
        planes,
        data,
    })
}

/// Link the chosen stream: decoder, optional flip/convert/scale, into the appsink.
#[allow(clippy::too_many_arguments)]
fn link_branch(
    uri: &str,
    pipeline: &gst::Pipeline,
    pad: &gst::Pad,
    caps: &gst::Caps,
    appsink: &gst_app::AppSink,
    opts: &DecodeOptions,
    size: (u32, u32),
    decoded: &Progress,
) -> Result<()> {
    let Some(factory) = decoders_for(caps).into_iter().next() else {
        let (codec, element, package) = codec_of(caps);
        return Err(Error::UnsupportedCodec {
            uri: uri.to_owned(),
            codec,
            element: element.map(str::to_owned),
            package: package.map(str::to_owned),
        });
    };
    let decoder = factory
        .create()
        .build()
        .map_err(|e| backend(uri, Some(factory.name().as_str()), e.to_string()))?;
    if decoder.has_property("output-corrupt") {
        // Never hand out frames decoded from missing references.
        decoder.set_property("output-corrupt", false);
    }
    if factory.name().starts_with("avdec_")
        && let Some(sinkpad) = decoder.static_pad("sink")
    {
        // GStreamer 1.22's parsers drop the VUI full-range flag and write a limited-range
        // `colorimetry` into the caps, which avdec then trusts over the bitstream. Without the
        // field, libavcodec's own reading (range, matrix, primaries, transfer) is used, as in
        // FFmpeg.
        sinkpad.add_probe(gst::PadProbeType::EVENT_DOWNSTREAM, |_, info| {
            if let Some(gst::PadProbeData::Event(ev)) = &mut info.data
                && let gst::EventView::Caps(c) = ev.view()
                && c.caps()
                    .structure(0)
                    .is_some_and(|s| s.has_field("colorimetry"))
            {
                let mut caps = c.caps_owned();
                if let Some(s) = caps.make_mut().structure_mut(0) {
                    s.remove_field("colorimetry");
                }
                *ev = gst::event::Caps::new(&caps);
            }
            gst::PadProbeReturn::Ok
        });
    }
    let mut chain = vec![decoder.clone()];
    if opts.output == OutputFormat::Rgb8 {
        let threads = std::thread::available_parallelism()
            .map(|n| n.get() as u32)
            .unwrap_or(1);
        if opts.orientation == Orientation::Display {
            let flip = make(uri, "videoflip")?;
            flip.set_property_from_str("video-direction", "auto");
            chain.push(flip);
        }
        let convert = make(uri, "videoconvert")?;
        if convert.has_property("n-threads") {
            convert.set_property("n-threads", threads);
        }
        chain.push(convert);
        // 8-bit planar YUV passes through and is converted to RGB here, after frames the plan
        // does not want were dropped (and ~3× faster than videoconvert); anything else is
        // converted to RGB by videoconvert.
        let mut out = gst::Caps::builder("video/x-raw")
            .field("format", gst::List::new(["I420", "Y42B", "Y444", "RGB"]));
        if opts.resize.is_some() {
            let scale = make(uri, "videoscale")?;
            if scale.has_property("n-threads") {
                scale.set_property("n-threads", threads);
            }
            chain.push(scale);
            out = out
                .field("width", size.0 as i32)
                .field("height", size.1 as i32);
        }
        let filter = make(uri, "capsfilter")?;
        filter.set_property("caps", out.build());
        chain.push(filter);
    }
    pipeline
        .add_many(&chain)
        .map_err(|e| backend(uri, None, e.to_string()))?;
    let mut all: Vec<&gst::Element> = chain.iter().collect();
    let sink_el: &gst::Element = appsink.upcast_ref();
    all.push(sink_el);
    gst::Element::link_many(all)
        .map_err(|e| backend(uri, Some(factory.name().as_str()), e.to_string()))?;
    if let Some(src) = decoder.static_pad("src") {
        let d = decoded.clone();
        src.add_probe(gst::PadProbeType::BUFFER, move |_, _| {
            d.bump();
            gst::PadProbeReturn::Ok
        });
    }
    for e in &chain {
        e.sync_state_with_parent()
            .map_err(|e| backend(uri, None, e.to_string()))?;
    }
    let sinkpad = decoder.static_pad("sink").ok_or_else(|| {
        backend(
            uri,
            Some(factory.name().as_str()),
            "decoder without sink pad",
        )
    })?;
    pad.link(&sinkpad).map_err(|e| {
        backend(
            uri,
            Some(factory.name().as_str()),
            format!("cannot link the stream to the decoder: {e:?}"),
        )
    })?;
    Ok(())
}

/// Every frame the decoder outputs, in output (presentation) order, with its stream time: the
/// frame table of containers whose packets carry no presentation timestamps
/// (AVI with B-frames), where reordering is only known after decoding.
pub(crate) fn decoded_frames(
    input: &Input,
    stream_id: Option<String>,
    stream_index: usize,
    stall: Duration,
    deadline: Deadline,
    max_frames: u64,
) -> Result<Vec<video_core::FrameInfo>> {
    let uri = input.uri();
    let g = build_graph(
        input,
        &uri,
        stream_id,
        stream_index,
        DecodeOptions::default().output(OutputFormat::Native),
        (0, 0),
    )?;
    g.guard.set_state(gst::State::Playing)?;
    let mut out: Vec<video_core::FrameInfo> = Vec::new();
    let mut since = Instant::now();
    loop {
        if let Some(e) = g.failure.lock().ok().and_then(|mut f| f.take()) {
            return Err(e);
        }
        if g.guard.poll_bus()? && g.appsink.is_eos() {
            break;
        }
        deadline.check(&uri, "decoding to find frame timestamps")?;
        let Some(sample) = g.appsink.try_pull_sample(gst::ClockTime::from_mseconds(50)) else {
            if g.appsink.is_eos() {
                break;
            }
            if since.elapsed() > stall {
                return Err(Error::Timeout {
                    uri,
                    operation: "decoding to find frame timestamps".into(),
                    waited: since.elapsed(),
                });
            }
            continue;
        };
        since = Instant::now();
        let Some(buf) = sample.buffer() else { continue };
        let seg = sample
            .segment()
            .and_then(|s| s.downcast_ref::<gst::ClockTime>().cloned());
        let st = match (&seg, buf.pts()) {
            (Some(seg), Some(p)) => seg.to_stream_time(p),
            (None, p) => p,
            _ => None,
        };
        let Some(st) = st.and_then(|t| i64::try_from(t.nseconds()).ok()) else {
            continue;
        };
        let index = out.len() as u64;
        if index >= max_frames {
            return Err(Error::LimitExceeded {
                what: format!("{uri}: frame table"),
                limit: max_frames,
                actual: index + 1,
            });
        }
        out.push(video_core::FrameInfo {
            index,
            pts: Timestamp::from_nanos(st),
            duration: buf.duration().map(|d| Duration::from_nanos(d.nseconds())),
            // Decoders do not flag their output reliably, and without timestamps a seek cannot
            // be aimed at a key frame: only the first frame is a place to start decoding.
            keyframe: index == 0,
            decode_order: index,
        });
    }
    Ok(out)
}
