//! GStreamer backend of video-dataset: probing, frame tables and frame-accurate decoding.
//!
//! - [`GstDemuxer`] implements [`video_core::Demuxer`] with a demux-only pass
//!   (`filesrc ! typefind ! parsebin ! appsink`).
//! - [`GstFrameSource`] implements [`video_core::FrameSource`]: GOP-aware seeking and decoding,
//!   frames identified by timestamp through the frame table, RGB or native output, rotation,
//!   resizing.
//! - [`ImageEncoder`] implements [`video_core::FrameEncoder`] (JPEG with libturbojpeg, PNG).
//!
//! Requires GStreamer 1.22 or newer with the base, good, bad, ugly and libav plugin sets.
#![cfg_attr(docsrs, feature(doc_cfg))]
#![deny(rustdoc::broken_intra_doc_links)]

mod blocking;
mod decode;
mod demux;
mod encode;
mod gsterror;
mod header;
mod pipeline;

pub use decode::{DecodeOptions, GstFrameSource, Orientation, OutputFormat, Resize};
pub use demux::{GstDemuxer, GstDemuxerBuilder};
pub use encode::{EncodeOptions, ImageEncoder, PngCompression};
pub use gstreamer as gst;
