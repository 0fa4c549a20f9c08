//! object_store backend of video-dataset: a [`video_core::DatasetSink`] over local disk, memory,
//! S3, GCS and Azure, and video upload.
//!
//! Not implemented yet: this crate only fixes its place in the workspace. Until it lands, use
//! [`video_core::testing::MemorySink`] or implement [`video_core::DatasetSink`] yourself.
#![cfg_attr(docsrs, feature(doc_cfg))]
#![deny(rustdoc::broken_intra_doc_links)]

pub use video_core::DatasetSink;
