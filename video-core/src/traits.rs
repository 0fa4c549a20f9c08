//! The three backend traits.

use std::collections::BTreeSet;
use std::fmt::Debug;
use std::sync::Arc;

use async_trait::async_trait;
use futures::stream::BoxStream;

use crate::{EncodedFrame, Frame, FrameTable, ResolvedPlan, Result, VideoManifest, VideoMetadata};

/// Reads a video's container: its metadata and its frame table.
///
/// # Contract
/// - `probe` and `frame_table` may be called in any order, any number of times; an
///   implementation may compute the table once and cache it (both methods take `&mut self`).
/// - `probe` fills every field of [`VideoMetadata`] it can; `frame_count` is the exact count
///   from the frame table, so probing may read the whole container (never decode it, where the
///   container allows that).
/// - `frame_source` may be called at any time, any number of times; each call gives an
///   independent source over the same video stream (probing first if needed), which may
///   outlive the demuxer.
/// - Errors name the input. After an error, calling again repeats the work and may succeed only
///   when the error was transient ([`Error::is_transient`](crate::Error::is_transient)).
/// - Dropping the future of an `async` method cancels it and releases what it held.
///
/// A backend picked at run time decodes through the trait object:
///
/// ```
/// # use futures::StreamExt;
/// # use video_core::{Demuxer, Result, SamplingPlan};
/// async fn first_frame_size(demuxer: &mut dyn Demuxer) -> Result<Option<(u32, u32)>> {
///     let table = demuxer.frame_table().await?;
///     let plan = SamplingPlan::indices([0]).resolve(&table)?;
///     let mut source = demuxer.frame_source().await?;
///     let mut frames = source.frames(&plan);
///     match frames.next().await {
///         Some(frame) => frame.map(|f| Some((f.width, f.height))),
///         None => Ok(None),
///     }
/// }
/// ```
#[async_trait]
pub trait Demuxer: Send + Debug {
    /// Metadata of the chosen video stream and of the container.
    async fn probe(&mut self) -> Result<VideoMetadata>;

    /// The frame table of the chosen video stream.
    async fn frame_table(&mut self) -> Result<Arc<FrameTable>>;

    /// A source of the chosen video stream's decoded frames, with the backend's default
    /// decoding options (for the GStreamer and GIF backends: RGB frames, as displayed, at the
    /// video's size). Backends offer richer options on their own types
    /// (`GstDemuxer::frame_source` takes `DecodeOptions`: pixel format, orientation, resize).
    ///
    /// The default implementation returns
    /// [`Error::NotImplemented`](crate::Error::NotImplemented), so demuxers written before this
    /// method existed keep compiling; they cannot be decoded through `dyn Demuxer`.
    async fn frame_source(&mut self) -> Result<Box<dyn FrameSource>> {
        Err(crate::Error::NotImplemented {
            operation: "Demuxer::frame_source",
            implementer: std::any::type_name::<Self>(),
        })
    }
}

/// Counters of one decoding run, for checking that sparse plans stay sparse. More counters may
/// come: build one with `DecodeStats::default()` and set the fields.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
#[non_exhaustive]
pub struct DecodeStats {
    /// Frames that came out of the decoder (including those not in the plan).
    pub frames_decoded: u64,
    /// Frames handed to the caller.
    pub frames_emitted: u64,
    /// Seeks performed.
    pub seeks: u64,
    /// Decoding restarts from an earlier key frame after a target did not come out.
    pub retries: u64,
    /// Frames (access units) handed to the decoder.
    pub frames_to_decoder: u64,
    /// Frames dropped before the decoder because no target needs them: not targets, and no
    /// later frame may reference them (H.264 `nal_ref_idc == 0`, HEVC sub-layer non-reference
    /// pictures of the highest sub-layer).
    pub frames_skipped: u64,
    /// The least a decoder that skips only unreferenced frames must be handed for the plan:
    /// the targets, and the frames that may be referenced (as their headers tell) between each
    /// target's key frame and the target in decode order. 0 when not measured.
    pub frames_needed: u64,
}

/// Decoded frames for a resolved plan, as an asynchronous stream.
///
/// # Contract
/// - [`frames`](Self::frames) yields exactly one `Ok(Frame)` per index of the plan, in ascending
///   index order, then ends (`None`). `Frame::info.index` is the frame table's index: frames are
///   identified by their timestamp, never by counting.
/// - A frame that cannot be produced yields one `Err` naming the index; the stream ends after an
///   error (a truncated file's missing frames are errors, the frames before them arrive first).
/// - The stream buffers a bounded number of frames: a slow consumer slows decoding instead of
///   growing memory.
/// - Dropping the stream stops decoding and releases the pipeline; the source can then be asked
///   for another plan.
/// - An empty plan gives an empty stream without opening the input.
pub trait FrameSource: Send + Debug {
    /// Decode the frames of `plan`.
    fn frames(&mut self, plan: &ResolvedPlan) -> BoxStream<'_, Result<Frame>>;

    /// Counters of the most recent (or current) call to `frames`.
    fn stats(&self) -> DecodeStats;
}

/// Turns decoded frames into stored images (JPEG, PNG).
pub trait FrameEncoder: Send + Sync + Debug {
    /// Encode one frame.
    fn encode(&self, frame: &Frame) -> Result<EncodedFrame>;
}

/// Names a video inside a dataset.
#[derive(
    Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
pub struct VideoRef {
    /// Folder inside the dataset (`""` for the top), `/`-separated.
    pub folder: String,
    /// The video's base name without extension; frame names start with it.
    pub name: String,
}

/// What was stored for one frame.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct FrameRecord {
    /// Frame index.
    pub index: u64,
    /// Presentation time in seconds.
    pub pts_seconds: f64,
    /// Where the image was stored (a key or path relative to the dataset).
    pub key: String,
    /// Image width.
    pub width: u32,
    /// Image height.
    pub height: u32,
    /// Encoded size in bytes.
    pub bytes: u64,
    /// Content hash of the encoded image ([`ContentHash`](crate::ContentHash)'s text: `sha256:`
    /// and lowercase hex), when the sink computes one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_hash: Option<String>,
    /// Where the frame's annotation was stored ([`DatasetSink::write_annotation`]), when
    /// annotations were copied onto the frames. Sinks return records without it;
    /// [`extract_to_sink_opts`](crate::extract_to_sink_opts) fills it in before the manifest is
    /// written.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub annotation_key: Option<String>,
    /// The md5 of the decoded frame's native planes as `ffmpeg -f framemd5` prints it, when
    /// the extraction was asked for it
    /// ([`ExtractToSinkOptions::framemd5`](crate::ExtractToSinkOptions::framemd5)); sinks copy
    /// it from [`EncodedFrame::framemd5`](crate::EncodedFrame::framemd5).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub framemd5: Option<crate::FrameMd5>,
}

/// Where sampled frames go.
///
/// # Contract
/// Per video the calls follow `existing? write_frame* write_annotation* finish_video`:
/// - `existing` tells which of the given frame indices are already stored, so they are not
///   decoded again.
/// - `write_frame` stores one image atomically (a reader never sees part of it) and returns
///   its record. It may be called concurrently for different frames.
/// - `write_annotation` stores the annotation of a stored frame (given by its record, written
///   now or found existing) atomically, replacing any earlier one, and returns its key. It may be
///   called concurrently for different frames, and again for the same frame: annotations are
///   rewritten on every run, so corrected labels reach frames stored earlier. Where the
///   annotation goes is the sink's choice (the key says); it must not be a frame's key.
/// - `write_dataset_file` stores a file that belongs to the dataset as a whole (a project meta,
///   a COCO file) atomically under a `/`-separated key relative to the dataset, replacing any
///   earlier one. It may be called at any time, outside the per-video grammar.
/// - `finish_video` is called once, after every frame of the plan was written, with a
///   [`VideoManifest`] whose `frames` are all the records (written now and found existing) in
///   index order; it stores the whole manifest (source, probe metadata, sampling settings,
///   `sample_info`, frames) so that it can be read back. Calling it again replaces the manifest.
///   A video without `finish_video` is incomplete and a re-run completes it.
/// - `read_dataset_file` reads back a file stored with `write_dataset_file` (or
///   `write_dataset_file_from`), `None` when there is none; `write_dataset_file_from` stores a
///   local file (a prepared video) under a key as `write_dataset_file` does, without holding it
///   in memory where the store allows.
/// - `stored_name` tells the name the store keeps a key's file under, for links made by hand
///   (an index page's); it reads nothing.
/// - Errors name the key or path. After an error the sink stays usable.
#[async_trait]
pub trait DatasetSink: Send + Sync + Debug {
    /// Which of `indices` are already stored for `video`, with their records.
    async fn existing(&self, video: &VideoRef, indices: &[u64]) -> Result<Vec<FrameRecord>>;

    /// Store one encoded frame.
    async fn write_frame(&self, video: &VideoRef, frame: &EncodedFrame) -> Result<FrameRecord>;

    /// Finish a video: all its frames are stored; store its manifest.
    async fn finish_video(&self, video: &VideoRef, manifest: &VideoManifest) -> Result<()>;

    /// Store `json`, the annotation of the stored frame `frame` of `video` (a JSON document,
    /// for example a Supervisely image annotation), and return its key.
    ///
    /// The default implementation returns [`Error::NotImplemented`](crate::Error::NotImplemented),
    /// so sinks written before annotations existed keep compiling; they cannot take annotated
    /// extractions.
    async fn write_annotation(
        &self,
        video: &VideoRef,
        frame: &FrameRecord,
        json: &[u8],
    ) -> Result<String> {
        let _ = (video, frame, json);
        Err(crate::Error::NotImplemented {
            operation: "DatasetSink::write_annotation",
            implementer: std::any::type_name::<Self>(),
        })
    }

    /// Store `bytes` under `key`, relative to the dataset (a project `meta.json`, a COCO
    /// instances file).
    ///
    /// The default implementation returns [`Error::NotImplemented`](crate::Error::NotImplemented).
    async fn write_dataset_file(&self, key: &str, bytes: &[u8]) -> Result<()> {
        let _ = (key, bytes);
        Err(crate::Error::NotImplemented {
            operation: "DatasetSink::write_dataset_file",
            implementer: std::any::type_name::<Self>(),
        })
    }

    /// The file stored under `key` (relative to the dataset), or `None` when there is none.
    ///
    /// The default implementation returns [`Error::NotImplemented`](crate::Error::NotImplemented).
    async fn read_dataset_file(&self, key: &str) -> Result<Option<Vec<u8>>> {
        let _ = key;
        Err(crate::Error::NotImplemented {
            operation: "DatasetSink::read_dataset_file",
            implementer: std::any::type_name::<Self>(),
        })
    }

    /// The name under which the store keeps the file `key` (relative to the dataset, `/` between
    /// segments): what a file manager, a web server or a page's relative link sees. The default
    /// is `key` itself; the `object_store` sink percent-encodes the bytes `object_store` does not
    /// keep as they are (non-ASCII, `%`, `#`, `?`, …), so `clip é.jpg` is stored as
    /// `clip %C3%A9.jpg`.
    fn stored_name(&self, key: &str) -> String {
        key.to_owned()
    }

    /// Store the local file at `path` under `key`, atomically (a reader sees the whole file or
    /// none of it), and return its size in bytes.
    ///
    /// The default implementation reads the whole file into memory and calls
    /// [`write_dataset_file`](Self::write_dataset_file); sinks over stores that take uploads in
    /// parts (the `object_store` sink) stream it instead.
    async fn write_dataset_file_from(&self, key: &str, path: &std::path::Path) -> Result<u64> {
        let bytes = std::fs::read(path).map_err(|source| crate::Error::Io {
            path: path.to_owned(),
            operation: "read",
            source,
        })?;
        self.write_dataset_file(key, &bytes).await?;
        Ok(bytes.len() as u64)
    }
}

macro_rules! forward_source {
    ($t:ty) => {
        impl<T: FrameSource + ?Sized> FrameSource for $t {
            fn frames(&mut self, plan: &ResolvedPlan) -> BoxStream<'_, Result<Frame>> {
                (**self).frames(plan)
            }
            fn stats(&self) -> DecodeStats {
                (**self).stats()
            }
        }
    };
}
forward_source!(Box<T>);
forward_source!(&mut T);

#[async_trait]
impl<T: Demuxer + ?Sized> Demuxer for Box<T> {
    async fn probe(&mut self) -> Result<VideoMetadata> {
        (**self).probe().await
    }
    async fn frame_table(&mut self) -> Result<Arc<FrameTable>> {
        (**self).frame_table().await
    }
    async fn frame_source(&mut self) -> Result<Box<dyn FrameSource>> {
        (**self).frame_source().await
    }
}

macro_rules! forward_sink {
    ($t:ty) => {
        #[async_trait]
        impl<T: DatasetSink + ?Sized> DatasetSink for $t {
            async fn existing(
                &self,
                video: &VideoRef,
                indices: &[u64],
            ) -> Result<Vec<FrameRecord>> {
                (**self).existing(video, indices).await
            }
            async fn write_frame(
                &self,
                video: &VideoRef,
                frame: &EncodedFrame,
            ) -> Result<FrameRecord> {
                (**self).write_frame(video, frame).await
            }
            async fn finish_video(&self, video: &VideoRef, manifest: &VideoManifest) -> Result<()> {
                (**self).finish_video(video, manifest).await
            }
            async fn write_annotation(
                &self,
                video: &VideoRef,
                frame: &FrameRecord,
                json: &[u8],
            ) -> Result<String> {
                (**self).write_annotation(video, frame, json).await
            }
            async fn write_dataset_file(&self, key: &str, bytes: &[u8]) -> Result<()> {
                (**self).write_dataset_file(key, bytes).await
            }
            async fn read_dataset_file(&self, key: &str) -> Result<Option<Vec<u8>>> {
                (**self).read_dataset_file(key).await
            }
            async fn write_dataset_file_from(
                &self,
                key: &str,
                path: &std::path::Path,
            ) -> Result<u64> {
                (**self).write_dataset_file_from(key, path).await
            }
            fn stored_name(&self, key: &str) -> String {
                (**self).stored_name(key)
            }
        }
    };
}
forward_sink!(Box<T>);
forward_sink!(Arc<T>);

impl<T: FrameEncoder + ?Sized> FrameEncoder for Box<T> {
    fn encode(&self, frame: &Frame) -> Result<EncodedFrame> {
        (**self).encode(frame)
    }
}

impl<T: FrameEncoder + ?Sized> FrameEncoder for Arc<T> {
    fn encode(&self, frame: &Frame) -> Result<EncodedFrame> {
        (**self).encode(frame)
    }
}

/// Indices of `indices` that `records` does not list.
pub fn missing_indices(indices: &[u64], records: &[FrameRecord]) -> Vec<u64> {
    let have: BTreeSet<u64> = records.iter().map(|r| r.index).collect();
    indices
        .iter()
        .copied()
        .filter(|i| !have.contains(i))
        .collect()
}
