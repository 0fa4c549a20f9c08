//! GStreamer backend of video-dataset: probing, frame tables and frame-accurate decoding.
//!
//! - [`GstDemuxer`] implements [`video_core::Demuxer`]: the frame table from the MP4/MOV
//!   header's sample tables where they are known to give what the demuxer delivers, else from
//!   a demux-only pass (`<source> ! typefind ! parsebin`, a probe on each video stream; no
//!   decoding). The source is a local file (`filesrc`) or any [`video_core::ByteSource`]
//!   ([`GstDemuxer::from_source`]: `appsrc` in random-access mode, reading only the byte ranges
//!   the demuxer asks for).
//! - [`GstFrameSource`] implements [`video_core::FrameSource`]: GOP-aware seeking and decoding,
//!   frames identified by timestamp through the frame table, RGB or native output, rotation,
//!   resizing.
//! - 8-bit planar YUV is converted to RGB with `video_image::yuv_to_rgb`, the matrix and range
//!   mapped from the stream's colorimetry; images are encoded by `video_image::ImageEncoder`
//!   (the `video-image` crate: no GStreamer in either).
//! - [`GstDemuxer::transcode`]: a web-ready copy of a video or of part of it (H.264 High, 4:2:0
//!   8-bit, `moov` first, within 2048 pixels, key frames at most 2 s apart, AAC audio) showing
//!   exactly the frames of a [`video_core::prepare::FrameMap`], decoded by the frame-accurate
//!   decoder and encoded at the map's timestamps ([`TranscodeOptions`], [`TranscodeReport`]).
//! - [`limits`]: what a container header may declare (dimensions, frame counts, box sizes);
//!   a probe of a file declaring more ends with [`video_core::Error::LimitExceeded`].
//! - [`GstDemuxer::copy_segments`]: split a video into MP4 segments at clean key frames
//!   ([`video_core::prepare::clean_cuts`]) by stream copy, without decoding (video only).
//!
//! ```no_run
//! use futures::StreamExt;
//! use video_core::{Demuxer, FrameSource, SamplingPlan};
//! use video_gst::{DecodeOptions, GstDemuxer, Resize};
//! # async fn run() -> video_core::Result<()> {
//! let mut demuxer = GstDemuxer::builder("clip.mp4").with_stall_timeout(std::time::Duration::from_secs(10)).build()?;
//! let table = demuxer.frame_table().await?;
//! let plan = SamplingPlan::indices([3, 17, 42]).resolve(&table)?;
//! let opts = DecodeOptions::default().resize(Some(Resize::FitWithin { max_side: 512 }));
//! let mut source = demuxer.frame_source(opts).await?;
//! let mut frames = source.frames(&plan);
//! while let Some(frame) = frames.next().await {
//!     let frame = frame?; // frame.info.index is 3, then 17, then 42
//! #   let _ = frame;
//! }
//! # Ok(())
//! # }
//! ```
//!
//! Requires GStreamer 1.22 or newer with the base, good, bad, ugly and libav plugin sets
//! (Debian: `gstreamer1.0-plugins-{base,good,bad,ugly} gstreamer1.0-libav`), and libturbojpeg
//! (for `video-image`).
//!
//! # Features
//!
//! | Feature | Enables | Default |
//! |---|---|---|
//! | (none) | everything above, for GStreamer 1.22 | yes |
#![cfg_attr(docsrs, feature(doc_cfg))]
#![deny(rustdoc::broken_intra_doc_links)]

mod decode;
mod demux;
#[cfg(test)]
mod fixtures;
mod gsterror;
mod header;
mod input;
pub mod limits;
mod mp4box;
mod mp4edit;
mod mp4index;
mod nal;
mod pipeline;
mod probed;
mod segment_copy;
mod transcode;
mod yuv;

pub use decode::{DecodeOptions, GstFrameSource, Orientation, OutputFormat, Resize};
pub use demux::{GstDemuxer, GstDemuxerBuilder};
pub use gstreamer as gst;
pub use segment_copy::{CopyReport, CopySegment};
pub use transcode::{
    AudioOutcome, EncoderChoice, RateControl, SpeedPreset, TranscodeOptions, TranscodeReport,
    h264_encoder,
};
