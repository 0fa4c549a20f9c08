//! **video-dataset**: turn videos into frame-accurate image datasets.
//!
#![doc = include_str!("../README.md")]
//!
//! This crate re-exports the workspace's crates and wires the defaults: GStreamer for probing
//! and decoding ([`gst`]), JPEG/PNG encoding and YUV to RGB conversion ([`image`]), object_store
//! for storage ([`storage`]). See [`core`] for the vocabulary and the exact definition of a frame
//! index, and [`annotation`] for the annotation model and its Supervisely and COCO formats.
#![cfg_attr(docsrs, feature(doc_cfg))]
#![deny(rustdoc::broken_intra_doc_links)]

mod annotations;
mod job;
mod jobs;
mod prepare;
mod tree;
mod video;

pub use annotations::{AnnotationInput, COCO_FILE_NAME, META_KEY};
pub use job::{
    ExtractOptions, ExtractProgress, SceneOptions, VideoInput, extract_frames, extract_frames_into,
    extract_frames_to,
};
pub use jobs::{
    CancelOutcome, DEFAULT_STALE_AFTER, ErrorRecord, HEARTBEAT_INTERVAL, JobHandle, JobRecord,
    JobReport, JobSpec, JobState, JobStatus, JobVideo, TreeAnnotation, VideoEntry, VideoFailure,
    VideoState, VideoSummary, list_jobs, read_job, request_cancel, submit,
};
pub use prepare::{
    PrepareOptions, PrepareProgress, PrepareReport, prepare_video, prepare_video_into,
};
pub use tree::{
    TreeEntry, TreeFile, TreeOptions, TreeSource, VIDEO_EXTENSIONS, VideoTree, discover_tree,
};
pub use video::{Video, VideoOptions};
pub use video_annotation as annotation;
pub use video_core as core;
pub use video_export as export;
pub use video_gif as gif;
pub use video_gst as gst;
pub use video_image as image;
pub use video_storage as storage;

pub use video_core::{
    DatasetSink, Demuxer, EncodedFrame, Error, ExtractReport, Frame, FrameEncoder, FrameInfo,
    FrameRecord, FrameSource, FrameTable, ImageFormat, ResolvedPlan, Result, SamplingPlan,
    SamplingSettings, Timestamp, VideoManifest, VideoMetadata, VideoRef, VideoSource,
};
pub use video_storage::{ObjectStoreSink, ObjectStoreSinkBuilder, StoreVideo};

/// The attribute that implements the async traits ([`DatasetSink`], [`Demuxer`]):
/// `#[video_dataset::async_trait]` on the `impl` block, so a crate implementing them needs no
/// dependency of its own on `async-trait`.
pub use async_trait::async_trait;
/// The `bytes` crate, for hosts that hand stored images on as [`bytes::Bytes`].
pub use bytes;
/// `futures`, whose [`StreamExt`](futures::StreamExt) reads a [`FrameSource`]'s frames (also in
/// the [`prelude`]).
pub use futures;

/// What most programs use: `use video_dataset::prelude::*;`.
///
/// The one-call jobs and their options, the traits a host implements or calls (with
/// [`async_trait`](crate::async_trait) to implement them), the records they pass and the
/// default backends' types.
pub mod prelude {
    pub use crate::{
        DatasetSink, Demuxer, EncodedFrame, Error, ExtractOptions, ExtractProgress, ExtractReport,
        FrameEncoder, FrameRecord, FrameSource, ImageFormat, ObjectStoreSink, Resize, Result,
        SamplingPlan, StoreVideo, VideoInput, VideoManifest, VideoRef, async_trait, extract_frames,
        extract_frames_into, extract_frames_to,
    };
    /// `.next()` on a [`FrameSource`]'s stream of frames.
    pub use futures::StreamExt as _;
}
pub use video_gst::{DecodeOptions, GstDemuxer, GstFrameSource, Orientation, OutputFormat, Resize};
pub use video_image::{EncodeOptions, ImageEncoder, PngCompression};
