//! Frame-accurate, GOP-aware decoding of a resolved plan.
//!
//! - [`options`]: [`DecodeOptions`] and the limits a frame source inherits ([`Timeouts`]).
//! - [`graph`]: the decode pipeline for the chosen stream, into an appsink.
//! - [`planner`]: the decisions of the decode loop (seek or decode on, which frame is the
//!   target, restart or give up), free of GStreamer and unit-tested on synthetic frame tables.
//! - [`job`]: the loop of one `frames` stream, driving the pipeline as the planner decides.
//! - [`frame`]: decoded samples into [`Frame`]s (YUV to RGB by `crate::yuv`, on `video_image`).
//! - [`skip`]: the decoder's sink-pad probe that drops frames no target needs, and counts.
//! - [`timestamps`]: the frame table of streams without presentation timestamps, by decoding.

mod frame;
mod graph;
mod job;
mod md5;
mod options;
mod planner;
mod skip;
mod timestamps;

use std::sync::{Arc, Mutex};

use futures::stream::{BoxStream, StreamExt};
use video_core::{
    DecodeStats, Error, Frame, FramePool, FrameSource, FrameTable, ResolvedPlan, Result,
};

use crate::input::Input;
use crate::pipeline::Deadline;
use crate::probed::Probed;
use job::Job;

pub(crate) use job::match_tolerance;
pub(crate) use options::Timeouts;
pub use options::{DecodeOptions, Orientation, OutputFormat, Resize};
pub(crate) use timestamps::decoded_frames;

/// [`FrameSource`] on GStreamer.
///
/// `filesrc ! typefind ! parsebin ! <decoder> [! videoflip ! videoconvert ! videoscale] ! appsink`
///
/// Decoding is GOP-aware: for each target the source needs the key frame decoding must start
/// from ([`FrameTable::decode_start`]). When the decoder is already at or past it (the target is
/// in the GOP being decoded) or it lies only a few frames ahead, decoding goes on; otherwise the
/// source seeks to it, so GOPs without a target are never decoded. Decoding stops after the last
/// target. Inside a decoded stretch, frames no target needs never reach the decoder: a probe on
/// its sink pad drops non-target frames that no later frame references, read from their NAL
/// headers ([`DecodeOptions::skip_unreferenced`]; H.264 and HEVC). Each decoded frame is
/// identified by its stream time through the frame table. If a target does not come out (a container whose
/// key frame index lies, an open GOP), decoding restarts from an earlier key frame.
#[derive(Debug)]
pub struct GstFrameSource {
    input: Input,
    uri: String,
    probed: Arc<Probed>,
    opts: DecodeOptions,
    limits: Timeouts,
    stats: Arc<Mutex<DecodeStats>>,
    /// The colorimetry of the decoder's native frames (GStreamer's text for it), once one came
    /// out with [`OutputFormat::Native`].
    colorimetry: Arc<Mutex<Option<String>>>,
    /// The buffers of the frames handed out, reused once a frame is dropped.
    pool: FramePool,
}

/// How many returned frame buffers a source keeps for its next frames: frames are dropped one
/// at a time as the consumer goes on, so two cover the steady state without holding more
/// idle memory than two frames.
const POOL_KEPT: usize = 2;

impl GstFrameSource {
    pub(crate) fn from_probed(
        input: Input,
        probed: Arc<Probed>,
        opts: DecodeOptions,
        limits: Timeouts,
    ) -> Result<Self> {
        opts.validate()?;
        Ok(GstFrameSource {
            uri: input.uri(),
            input,
            probed,
            opts,
            limits,
            stats: Default::default(),
            colorimetry: Default::default(),
            pool: FramePool::new(POOL_KEPT),
        })
    }

    /// Where the colorimetry of the native frames is kept (set before each such frame is
    /// handed out), for a transcode to tag them as the decoder did.
    pub(crate) fn colorimetry(&self) -> Arc<Mutex<Option<String>>> {
        self.colorimetry.clone()
    }

    /// The frame table frames are identified with.
    pub fn frame_table(&self) -> &Arc<FrameTable> {
        &self.probed.table
    }

    /// The output size for RGB frames, after rotation and resizing.
    pub fn output_size(&self) -> (u32, u32) {
        self.opts.output_size(&self.probed.metadata)
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
            colorimetry: self.colorimetry.clone(),
            pool: self.pool.clone(),
            targets: plan.indices().to_vec(),
        };
        // The decode loop blocks while the consumer does not read: a stream driver, on a
        // thread of its own (reused from an earlier stream when one is idle).
        // The channel holds `buffer + 1` frames (one slot per sender).
        let buffer = self.opts.frames_ahead(self.output_size()) - 1;
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
