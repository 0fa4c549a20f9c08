//! object_store backend of video-dataset: [`ObjectStoreSink`], a [`video_core::DatasetSink`] over
//! local disk, memory, S3, GCS and Azure (the cloud stores behind features).
//!
//! # Dataset layout
//!
//! Every key is named by [`video_core::layout`] (its module docs draw the whole tree):
//!
//! ```text
//! {prefix}/{folder}/{video}_{index:06}.{jpg|png}              the frames (name: FrameName)
//! {prefix}/{folder}/{video}.scene.json                        the video's manifest, written last
//! {prefix}/{folder}/.video-dataset/{video}/{index:06}.json    one record per stored frame
//! {prefix}/.video-dataset/scenes/{reference_id}.json          scenes appended to the dataset
//! ```
//!
//! With annotations (`video_dataset::extract_frames` with an annotation, which sets
//! [`ObjectStoreSinkBuilder::with_image_folder`]`("img")`), each folder is a Supervisely images dataset
//! and the dataset root a Supervisely project:
//!
//! ```text
//! {prefix}/meta.json                                          the images project's meta
//! {prefix}/{folder}/img/{video}_{index:06}.{jpg|png}          the frames
//! {prefix}/{folder}/ann/{video}_{index:06}.{jpg|png}.json     each frame's annotation
//! {prefix}/{folder}/coco_instances.json                       the folder's COCO instances
//! {prefix}/{folder}/.video-dataset/{video}.coco.json          one video's part of it
//! {prefix}/{folder}/{video}.scene.json                        manifest, as above
//! ```
//!
//! [`DatasetSink::write_annotation`] stores a frame's
//! annotation under [`ObjectStoreSink::annotation_key`] of the image's key: an image in a folder
//! named `img` has its annotation in the sibling `ann` folder (`{dir}/img/{image}` →
//! `{dir}/ann/{image}.json`, Supervisely's convention); any other image has it beside it
//! (`{dir}/{image}.json`). The manifest's frames list it as `annotation_key`.
//! [`DatasetSink::write_dataset_file`] stores a
//! file under its key relative to the dataset. Both are single `put`s, replacing what was there.
//!
//! Frame names follow a template, `{video}_{index}.{ext}` unless set with
//! [`ObjectStoreSinkBuilder::with_frame_name`] (see [`FrameName`]); records and manifests hold each
//! image's key, so readers never rebuild names.
//!
//! The manifest is one JSON object ([`video_core::VideoManifest`] with a header), read back
//! with [`ObjectStoreSink::video_manifest`]:
//!
//! | field | holds |
//! |---|---|
//! | `format`, `format_version` | `"video-dataset/manifest"` ([`video_core::layout::MANIFEST_FORMAT`]), [`video_core::MANIFEST_FORMAT_VERSION`] (2) |
//! | `video` | `folder`, `name`: the video's place in the dataset |
//! | `source` | `location` (path or URI read), `size` in bytes, `content_hash` (`sha256:…`, a [`video_core::ContentHash`], when computed) |
//! | `metadata` | the probe's [`video_core::VideoMetadata`] (codec, size, rotation, exact frame count, …) |
//! | `sampling` | `selection`, `max_frames`, `filtered`, `frames_planned`, `format`, `quality`, `resize` |
//! | `sample_info` | the caller's object, as given (source dataset, video name, …) |
//! | `frames` | per frame in index order: `index`, `pts_seconds`, `key`, `width`, `height`, `bytes`, `content_hash`, `annotation_key` (when annotations were copied) |
//!
//! Scenes ([`ObjectStoreSink::append_scenes`]) are JSON objects with `format`
//! (`"video-dataset/scene"`), `format_version` ([`SCENE_FORMAT_VERSION`]) and the
//! [`video_core::VideoScene`] fields `reference_id`, `frame_rate`, `items` (each
//! `reference_id`, `location`, `metadata`) and `metadata`.
//!
//! Every object is written in one `put`, which object_store makes atomic (local disk writes a
//! temporary file and renames it), so no reader sees half an image. A frame's record is written
//! after its image: a frame counts as stored only when its record exists, so a process killed
//! between the two rewrites that frame on the next run. The manifest is written once every frame
//! of the plan is stored.
//!
//! ```
//! # async fn run() -> video_core::Result<()> {
//! use video_core::{DatasetSink, VideoRef};
//! let sink = video_storage::ObjectStoreSink::from_url("memory:///datasets/a")?;
//! let video = VideoRef { folder: "train/cam1".into(), name: "clip".into() };
//! assert!(sink.existing(&video, &[0, 30]).await?.is_empty());
//! # Ok(())
//! # }
//! # tokio::runtime::Runtime::new().unwrap().block_on(run()).unwrap();
//! ```
//!
//! # Faults, retries and deadlines
//!
//! Stores built from a URL ([`ObjectStoreSinkBuilder::with_store_options`],
//! [`StoreVideo::open_url_with`])
//! take [`StoreOptions`]: a [`RetryPolicy`] (by default about a minute of retries with
//! backoff, so an outage of tens of seconds is ridden out; object_store's own default gives up
//! after 10 quick retries; a request the HTTP client never sent, on a connection found closed,
//! is sent again too, which object_store does not do), request and connect timeouts, the read deadline of a
//! [`StoreVideo`] (30 s: a stalled read ends with [`video_core::Error::Timeout`] instead of
//! pinning a decoding thread) and object_store configuration keys. What fails in the end says
//! what happened and names the key: [`video_core::Error::NotFound`] for a missing object or
//! bucket, [`video_core::Error::Store`] otherwise, `transient` (and
//! [`video_core::Error::is_transient`]) when a later retry may succeed: connection refused,
//! reset or timed out, a 5xx answer, throttling. [`upload_video`] never leaves an object or an
//! incomplete multipart upload behind (see its docs for cancellation).
//!
//! # Features
//!
//! | Feature | Enables | Default |
//! |---|---|---|
//! | `fs` | local disk (`file://` URLs and plain paths) | yes |
//! | `aws` | `s3://` | no |
//! | `gcp` | `gs://` | no |
//! | `azure` | `az://`, `abfs://` | no |
//! | `http` | `http(s)://` (WebDAV) | no |
#![cfg_attr(docsrs, feature(doc_cfg))]
#![deny(rustdoc::broken_intra_doc_links)]

mod remote;
#[cfg(any(feature = "aws", feature = "gcp", feature = "azure", feature = "http"))]
mod resend;
mod scenes;
mod sink;
mod store;
mod upload;

pub use object_store;
pub use remote::{DEFAULT_BLOCK_SIZE, DEFAULT_CACHED_BLOCKS, StoreVideo};
pub use scenes::AppendReport;
pub use sink::{DatasetFileUpdate, ObjectStoreSink, ObjectStoreSinkBuilder, VideoLock};
pub use store::{DEFAULT_READ_DEADLINE, RetryPolicy, StoreOptions};
pub use upload::{ABORT_DEADLINE, UploadOptions, UploadedVideo, upload_video};
pub use video_core::DatasetSink;
pub use video_core::layout::{DEFAULT_FRAME_NAME, FrameName, SCENE_FORMAT_VERSION};
