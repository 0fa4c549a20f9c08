//! **video-dataset**: turn videos into frame-accurate image datasets.
//!
#![doc = include_str!("../README.md")]
//!
//! This crate re-exports the workspace's crates and wires the defaults: GStreamer for probing
//! and decoding ([`gst`]), object_store for storage ([`storage`]). See [`core`] for the
//! vocabulary and the exact definition of a frame index.
#![cfg_attr(docsrs, feature(doc_cfg))]
#![deny(rustdoc::broken_intra_doc_links)]

mod annotations;
mod job;

pub use annotations::{AnnotationInput, COCO_FILE_NAME, META_KEY};
pub use job::{ExtractOptions, ExtractProgress, VideoInput, extract_frames, extract_frames_to};
pub use video_core as core;
pub use video_gif as gif;
pub use video_gst as gst;
pub use video_storage as storage;

pub use video_core::{
    DatasetSink, Demuxer, Error, Frame, FrameInfo, FrameSource, FrameTable, ImageFormat,
    ResolvedPlan, Result, SamplingPlan, Timestamp, VideoMetadata,
};
pub use video_gst::{
    DecodeOptions, EncodeOptions, GstDemuxer, GstFrameSource, ImageEncoder, Orientation,
    OutputFormat, Resize,
};
