//! The demuxer: probe and frame table without decoding.
//!
//! - [`scan`]: the demux-only pass (`<source> ! typefind ! parsebin`), recording packets.
//! - [`probe`]: the header path or the scan path, the choice of stream and its checks.
//! - [`table`]: the chosen stream's frame table (header, scan, or decoding).
//! - [`metadata`]: the chosen stream's [`VideoMetadata`].

mod metadata;
mod probe;
mod scan;
mod table;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use video_core::{ByteSource, Demuxer, Error, FrameTable, Result, VideoMetadata};

use crate::input::Input;
use crate::probed::Probed;
use probe::probe_blocking;

#[cfg(test)]
pub(crate) use scan::{Until, scan};

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

    /// What a pass over the input other than probing or decoding (a stream copy) needs: the
    /// input, the stall timeout and the decode deadline.
    pub(crate) fn pass_options(&self) -> (Input, Duration, Option<Duration>) {
        (
            self.input().clone(),
            self.stall_timeout(),
            self.decode_deadline(),
        )
    }

    /// What this demuxer reads.
    pub(crate) fn input(&self) -> &Input {
        &self.opts.input
    }

    /// No progress for this long fails a pipeline of this demuxer.
    pub(crate) fn stall_timeout(&self) -> Duration {
        self.opts.stall_timeout
    }

    /// The longest one decode (or transcode) of this demuxer may take in all.
    pub(crate) fn decode_deadline(&self) -> Option<Duration> {
        self.opts.decode_deadline
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

    /// [`GstDemuxer::frame_source`] with [`DecodeOptions::default`](crate::DecodeOptions):
    /// RGB frames, as displayed, at the video's size.
    async fn frame_source(&mut self) -> Result<Box<dyn video_core::FrameSource>> {
        let source = GstDemuxer::frame_source(self, crate::DecodeOptions::default()).await?;
        Ok(Box::new(source))
    }
}
