//! The job-shaped entry point: one call from a video (a file or an object in a store) to frames
//! in a dataset.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use video_annotation::{ProjectMeta, SuperviselyAnnotator};
use video_core::{
    DatasetSink, EncodedFrame, Error, ExtractReport, ExtractToSinkOptions, FnFilter, FrameInfo,
    FrameRecord, ImageFormat, Rational, Result, SamplingPlan, SamplingSettings, VideoManifest,
    VideoRef, VideoScene, VideoSource, extract_to_sink_opts,
};
use video_core::{Demuxer, FrameSource};
use video_gif::GifDemuxer;
use video_gst::{DecodeOptions, GstDemuxer, GstDemuxerBuilder, Resize};
use video_image::{EncodeOptions, ImageEncoder};
use video_storage::{ObjectStoreSink, StoreOptions, StoreVideo};

use crate::annotations::{self, AnnotationInput};

/// Options of [`extract_frames`].
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct ExtractOptions {
    /// Folder of the dataset the frames go to (`/`-separated). Default: the top.
    pub folder_path: String,
    /// Which frames. Default: 1 frame per second.
    pub plan: SamplingPlan,
    /// Image format. Default: JPEG.
    pub format: ImageFormat,
    /// JPEG quality, 1–100. Default: 90.
    pub quality: u8,
    /// Resizing. Default: none.
    pub resize: Option<Resize>,
    /// Images being written at once while decoding goes on. Default: 8.
    pub writes_in_flight: usize,
    /// Caller-supplied facts stored as the manifest's `sample_info` (source dataset, video
    /// name, …). Default: empty.
    pub sample_info: serde_json::Map<String, serde_json::Value>,
    /// Whether to read the whole video once more to put its sha256 in the manifest (the size is
    /// always recorded). Default: false.
    pub hash_source: bool,
    /// The video's annotation, copied onto every sampled frame (see [`extract_frames`]).
    /// Default: none.
    pub annotation: Option<AnnotationInput>,
    /// Sample only among the frames that carry at least one figure of
    /// [`annotation`](Self::annotation) (ignored without one), as
    /// [`SamplingPlan::among`]: a step plan takes every `step`-th *annotated* frame (filter
    /// first, then step, as Supervisely samples: annotated frames {1, 3, 5} with step 2 give
    /// [1, 5]); an index list or a time window keeps its annotated frames; `max_frames` caps
    /// the annotated frames kept. Default: false.
    pub only_annotated: bool,
    /// With an [`annotation`](Self::annotation), also write the folder's COCO instances file
    /// (see [`extract_frames`]). Default: true.
    pub coco: bool,
    /// How the dataset's store and a video given by URL are reached: retry policy, timeouts,
    /// read deadline, store configuration keys (see [`StoreOptions`]). Default:
    /// [`StoreOptions::default`].
    pub store: StoreOptions,
    /// Fail with [`Error::Timeout`] when probing or decoding the video makes no progress for
    /// this long (see [`GstDemuxerBuilder::with_stall_timeout`]). Default: 20 s.
    pub stall_timeout: Duration,
    /// Fail with [`Error::Timeout`] when probing the video, or decoding its frames, takes
    /// longer than this in all, progress or not (each separately; see
    /// [`GstDemuxerBuilder::with_deadline`]). Default: none.
    pub deadline: Option<Duration>,
    /// Told about every frame as soon as it is stored. Default: none.
    pub progress: Option<Arc<dyn ExtractProgress>>,
    /// Put in each frame's record ([`FrameRecord::framemd5`]) the md5 of the decoded frame's
    /// native planes exactly as `ffmpeg -f framemd5` prints it for that frame index, with
    /// FFmpeg's name of the pixel format, so a stored image can be traced to its frame with
    /// FFmpeg alone: frame `N`'s md5 is the last field of the `N`-th line of
    /// `ffmpeg -noautorotate -i VIDEO -map 0:v:0 -fps_mode passthrough -f framemd5 -`.
    /// The md5 is taken as the frame leaves the decoder, before conversion to RGB, rotation and
    /// [`resize`](Self::resize), so it is the same whatever the output. Frames an earlier run
    /// stored without it are made again. It costs about 5 ms of CPU a 1080p frame stored. Not
    /// available for animated GIFs (their backend is not FFmpeg's decoder):
    /// [`Error::Unsupported`]. Default: false.
    pub framemd5: bool,
    /// Append the video's scene to the dataset's scenes (Scale Nucleus' `VideoScene`: its
    /// sampled frames as ordered items, a frame rate, metadata; see [`SceneOptions`]) once all
    /// its frames are stored, just before its manifest. Only for a dataset in a store
    /// ([`extract_frames`], [`extract_frames_to`], jobs). Default: none.
    pub scene: Option<SceneOptions>,
    /// The [`annotation`](Self::annotation) is a placeholder (no figures) to be given the probed
    /// video's display size and frame count: a tree video of a Supervisely project without an
    /// annotation file (see [`JobSpec::tree`](crate::JobSpec::tree)).
    pub(crate) annotation_sized_to_video: bool,
}

/// Follows an [`extract_frames`] job (see [`ExtractOptions::progress`]).
pub trait ExtractProgress: Send + Sync + std::fmt::Debug {
    /// Frame `record.index` was stored now (its image and its record): a re-run will not make
    /// it again. Called from the job's task, once per frame written, in completion order.
    fn frame_stored(&self, record: &FrameRecord);
}

impl Default for ExtractOptions {
    fn default() -> Self {
        ExtractOptions {
            folder_path: String::new(),
            plan: SamplingPlan::fps(1.0),
            format: ImageFormat::Jpeg,
            quality: 90,
            resize: None,
            writes_in_flight: 8,
            sample_info: serde_json::Map::new(),
            hash_source: false,
            annotation: None,
            only_annotated: false,
            coco: true,
            store: StoreOptions::default(),
            stall_timeout: Duration::from_secs(20),
            deadline: None,
            progress: None,
            framemd5: false,
            scene: None,
            annotation_sized_to_video: false,
        }
    }
}

impl ExtractOptions {
    /// Set [`folder_path`](Self::folder_path).
    pub fn folder_path(mut self, v: impl Into<String>) -> Self {
        self.folder_path = v.into();
        self
    }
    /// Set [`plan`](Self::plan).
    pub fn plan(mut self, v: SamplingPlan) -> Self {
        self.plan = v;
        self
    }
    /// Sample `fps` frames per second: [`plan`](Self::plan) becomes [`SamplingPlan::fps`].
    /// Narrow it with [`seconds`](Self::seconds) and cap it with
    /// [`max_frames`](Self::max_frames), in that order after this call:
    ///
    /// ```
    /// # use video_dataset::ExtractOptions;
    /// // 2 frames per second within [10 s, 70 s), at most 100 frames.
    /// let options = ExtractOptions::default()
    ///     .fps(2.0)
    ///     .seconds(Some(10.0), Some(70.0))
    ///     .max_frames(100);
    /// # let _ = options;
    /// ```
    pub fn fps(mut self, fps: f64) -> Self {
        self.plan = SamplingPlan::fps(fps);
        self
    }
    /// Limit the [`fps`](Self::fps) plan set so far to `[start_seconds, end_seconds)` (`None`:
    /// from the start, to the end); any other plan becomes that time range. See
    /// [`SamplingPlan::seconds`].
    pub fn seconds(mut self, start_seconds: Option<f64>, end_seconds: Option<f64>) -> Self {
        self.plan = self.plan.seconds(start_seconds, end_seconds);
        self
    }
    /// Keep at most `n` frames of the [`plan`](Self::plan) set so far; see
    /// [`SamplingPlan::max_frames`].
    pub fn max_frames(mut self, n: u64) -> Self {
        self.plan = self.plan.max_frames(n);
        self
    }
    /// Set [`format`](Self::format).
    pub fn format(mut self, v: ImageFormat) -> Self {
        self.format = v;
        self
    }
    /// Set [`quality`](Self::quality).
    pub fn quality(mut self, v: u8) -> Self {
        self.quality = v;
        self
    }
    /// Set [`resize`](Self::resize).
    pub fn resize(mut self, v: Option<Resize>) -> Self {
        self.resize = v;
        self
    }
    /// Set [`writes_in_flight`](Self::writes_in_flight).
    pub fn writes_in_flight(mut self, v: usize) -> Self {
        self.writes_in_flight = v;
        self
    }
    /// Set [`sample_info`](Self::sample_info).
    pub fn sample_info(mut self, v: serde_json::Map<String, serde_json::Value>) -> Self {
        self.sample_info = v;
        self
    }
    /// Set [`hash_source`](Self::hash_source).
    pub fn hash_source(mut self, v: bool) -> Self {
        self.hash_source = v;
        self
    }
    /// Set [`annotation`](Self::annotation).
    pub fn annotation(mut self, v: Option<AnnotationInput>) -> Self {
        self.annotation = v;
        self
    }
    /// Set [`only_annotated`](Self::only_annotated).
    pub fn only_annotated(mut self, v: bool) -> Self {
        self.only_annotated = v;
        self
    }
    /// Set [`coco`](Self::coco).
    pub fn coco(mut self, v: bool) -> Self {
        self.coco = v;
        self
    }
    /// Set [`store`](Self::store).
    pub fn store(mut self, v: StoreOptions) -> Self {
        self.store = v;
        self
    }
    /// Set [`stall_timeout`](Self::stall_timeout).
    pub fn stall_timeout(mut self, v: Duration) -> Self {
        self.stall_timeout = v;
        self
    }
    /// Set [`deadline`](Self::deadline).
    pub fn deadline(mut self, v: Option<Duration>) -> Self {
        self.deadline = v;
        self
    }
    /// Set [`progress`](Self::progress).
    pub fn progress(mut self, v: Option<Arc<dyn ExtractProgress>>) -> Self {
        self.progress = v;
        self
    }
    /// Set [`framemd5`](Self::framemd5).
    pub fn framemd5(mut self, v: bool) -> Self {
        self.framemd5 = v;
        self
    }
    /// Set [`scene`](Self::scene).
    pub fn scene(mut self, v: Option<SceneOptions>) -> Self {
        self.scene = v;
        self
    }
}

/// How [`ExtractOptions::scene`] appends a video's scene to the dataset
/// ([`ObjectStoreSink::append_scenes`], stored at `.video-dataset/scenes/{reference_id}.json`).
///
/// The scene is made from the video's manifest ([`VideoScene::from_manifest`]): one item per
/// frame of the plan in index order (reference id `{reference_id}_{index:06}`, location the
/// image's key, metadata the frame index and pts), the manifest's `sample_info` and the video's
/// location as scene metadata. It is appended on every run, after the frames and before the
/// manifest (which stays the video's last write): a scene the dataset does not have is added;
/// one it has is kept as it is, or with [`update`](Self::update) given the new metadata and any
/// items it lacks (Nucleus' `append` with `update`). A plan of more frames than a scene holds
/// ([`video_core::DEFAULT_SCENE_CAP`]) fails before anything is decoded.
///
/// ```
/// # use video_dataset::{ExtractOptions, SceneOptions};
/// let options = ExtractOptions::default().fps(2.0).scene(Some(SceneOptions::default().update(true)));
/// # let _ = options;
/// ```
#[derive(Clone, Debug, Default, PartialEq)]
#[non_exhaustive]
pub struct SceneOptions {
    /// The scene's reference id. Default: the video's path in the dataset without its extension,
    /// folders joined by `__` ([`video_core::layout::default_scene_id`]): `train/clip.mp4` in
    /// folder `train` gives `train__clip`. A job of more than one video refuses a fixed id.
    pub reference_id: Option<String>,
    /// The rate at which the items are shown. Default: the rate of the sampled frames
    /// ([`VideoScene::frame_rate_for`]: the plan's fps, or the video's rate over the step).
    pub frame_rate: Option<Rational>,
    /// Update a scene the dataset already has (its metadata, and items it lacks) instead of
    /// keeping it. Default: false.
    pub update: bool,
}

impl SceneOptions {
    /// Set [`reference_id`](Self::reference_id).
    pub fn reference_id(mut self, v: Option<String>) -> Self {
        self.reference_id = v;
        self
    }
    /// Set [`frame_rate`](Self::frame_rate).
    pub fn frame_rate(mut self, v: Option<Rational>) -> Self {
        self.frame_rate = v;
        self
    }
    /// Set [`update`](Self::update).
    pub fn update(mut self, v: bool) -> Self {
        self.update = v;
        self
    }
}

/// [`Error::InvalidOption`] for options that cannot work, before anything is read or written.
fn check_options(options: &ExtractOptions) -> Result<()> {
    let invalid = |option: &str, reason: String| {
        Err(Error::InvalidOption {
            option: option.to_owned(),
            reason,
        })
    };
    if !(1..=100).contains(&options.quality) {
        return invalid(
            "quality",
            format!("a JPEG quality is 1 to 100 (got {})", options.quality),
        );
    }
    if options.writes_in_flight == 0 {
        return invalid("writes_in_flight", "must be at least 1 (got 0)".into());
    }
    if let Some(
        r @ (Resize::Exact { width: 0, .. }
        | Resize::Exact { height: 0, .. }
        | Resize::FitWithin { max_side: 0 }),
    ) = &options.resize
    {
        return invalid("resize", format!("a zero size ({r})"));
    }
    Ok(())
}

/// Bytes read and hashed by one blocking task.
const HASH_CHUNK: usize = 1024 * 1024;

/// Size and, when asked, sha256 of the file at `path`. The file is read and hashed a chunk at a
/// time by short tasks of [`video_core::blocking`], never on an async task's thread; a job
/// dropped meanwhile stops between two chunks.
pub(crate) async fn describe_source(path: &Path, hash: bool) -> Result<VideoSource> {
    let owned = path.to_owned();
    let io = move |operation, source| Error::Io {
        path: owned.clone(),
        operation,
        source,
    };
    let (size, file) = {
        let (path, io) = (path.to_owned(), io.clone());
        video_core::blocking::run(move || {
            let size = std::fs::metadata(&path).map_err(|e| io("stat", e))?.len();
            let file = match hash {
                true => Some(std::fs::File::open(&path).map_err(|e| io("open", e))?),
                false => None,
            };
            Ok((size, file))
        })
        .await?
    };
    let content_hash = match file {
        None => None,
        Some(mut file) => {
            let mut hasher = video_core::ContentHasher::new();
            let mut buf = vec![0u8; HASH_CHUNK];
            loop {
                let io = io.clone();
                let read;
                (file, hasher, buf, read) = video_core::blocking::run(move || {
                    loop {
                        match std::io::Read::read(&mut file, &mut buf) {
                            Ok(n) => {
                                hasher.update(&buf[..n]);
                                return Ok((file, hasher, buf, n));
                            }
                            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                            Err(e) => return Err(io("read", e)),
                        }
                    }
                })
                .await?;
                if read == 0 {
                    break;
                }
            }
            Some(hasher.finish().to_string())
        }
    };
    Ok(VideoSource::new(path.display().to_string())
        .size(Some(size))
        .content_hash(content_hash))
}

/// The video [`extract_frames`] reads.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub enum VideoInput {
    /// A local file.
    File(PathBuf),
    /// An object in a store, by URL (`s3://bucket/videos/a.mp4`, `file:///abs/a.mp4`, …),
    /// read by byte ranges (see [`StoreVideo`]).
    Url(String),
    /// An object in a store, already opened (for example with
    /// [`ObjectStoreSink::open_video`]).
    Store(Arc<StoreVideo>),
}

impl From<&Path> for VideoInput {
    fn from(p: &Path) -> Self {
        VideoInput::File(p.to_owned())
    }
}

impl From<PathBuf> for VideoInput {
    fn from(p: PathBuf) -> Self {
        VideoInput::File(p)
    }
}

impl From<&PathBuf> for VideoInput {
    fn from(p: &PathBuf) -> Self {
        VideoInput::File(p.clone())
    }
}

/// A string with `://` is a store URL, anything else a local path.
impl From<&str> for VideoInput {
    fn from(s: &str) -> Self {
        VideoInput::from(s.to_owned())
    }
}

/// As `From<&str>`: a string with `://` is a store URL, anything else a local path.
impl From<String> for VideoInput {
    fn from(s: String) -> Self {
        if s.contains("://") {
            VideoInput::Url(s)
        } else {
            VideoInput::File(PathBuf::from(s))
        }
    }
}

impl From<Arc<StoreVideo>> for VideoInput {
    fn from(v: Arc<StoreVideo>) -> Self {
        VideoInput::Store(v)
    }
}

/// A [`VideoInput`] with its URL opened.
pub(crate) enum Opened {
    File(PathBuf),
    Store(Arc<StoreVideo>),
}

/// A video's backend.
#[derive(Debug)]
pub(crate) enum Backend {
    Gst(GstDemuxer),
    Gif(GifDemuxer),
}

impl Backend {
    pub(crate) fn as_dyn(&mut self) -> &mut dyn Demuxer {
        match self {
            Backend::Gst(d) => d,
            Backend::Gif(d) => d,
        }
    }

    /// A frame source giving frames at `resize` (with the md5 of their native planes when
    /// `framemd5`), and their size.
    pub(crate) async fn frame_source(
        &mut self,
        resize: Option<Resize>,
        framemd5: bool,
    ) -> Result<(Box<dyn FrameSource>, (u32, u32))> {
        match self {
            Backend::Gst(d) => {
                let s = d
                    .frame_source(DecodeOptions::default().resize(resize).framemd5(framemd5))
                    .await?;
                let size = s.output_size();
                Ok((Box::new(s), size))
            }
            Backend::Gif(d) => {
                if framemd5 {
                    return Err(Error::Unsupported {
                        uri: d.uri(),
                        reason: "framemd5 for an animated GIF (its backend is not FFmpeg's \
                                 decoder, so its frames have no md5 to compare with ffmpeg's)"
                            .into(),
                    });
                }
                if resize.is_some() {
                    return Err(Error::Unsupported {
                        uri: d.uri(),
                        reason: "resizing the frames of an animated GIF (its backend gives them at the GIF's own size)".into(),
                    });
                }
                let s = d.frame_source().await?;
                let size = s.output_size();
                Ok((Box::new(s), size))
            }
        }
    }
}

/// Whether the video starts with a GIF signature (a path that is not a regular file is left to
/// the GStreamer backend, which says what it is).
async fn is_gif(opened: &Opened) -> bool {
    let head = match opened {
        Opened::File(p) => return video_gif::is_gif_file(p),
        Opened::Store(v) => {
            // A store read blocks: off the async task, on the blocking pool.
            let v = v.clone();
            match video_core::blocking::run(move || {
                video_core::ByteSource::read_at(v.as_ref(), 0, 6)
            })
            .await
            {
                Ok(b) => b.to_vec(),
                Err(_) => return false,
            }
        }
    };
    video_gif::is_gif(&head)
}

/// The base name frames are named after: the last path segment without its extension.
pub(crate) fn stem_of(location: &str) -> String {
    let last = location
        .trim_end_matches('/')
        .rsplit('/')
        .next()
        .unwrap_or(location);
    let stem = match last.rsplit_once('.') {
        Some((stem, _)) if !stem.is_empty() => stem,
        _ => last,
    };
    if stem.is_empty() {
        "video".to_owned()
    } else {
        stem.to_owned()
    }
}

/// Sample frames of `video` (a local file, or an object in a store read by byte ranges: see
/// [`VideoInput`]) into the dataset at `dataset` (a directory or a store URL),
/// frame-accurately, skipping frames the dataset already has (those stored at another size or
/// in another format by an earlier run are made again and overwritten: `frames_redone`), and
/// write the video's manifest
/// once all are stored. Images are named `{folder}/{video file stem}_{index:06}.{ext}`.
/// The manifest records the video's location and size (and sha256 with
/// [`hash_source`](ExtractOptions::hash_source)), its probed metadata, the plan and output
/// options, and [`sample_info`](ExtractOptions::sample_info). For a video in a store, the
/// report's `source_bytes_read` tells how many of its bytes were fetched.
/// Must run inside a multi-threaded Tokio runtime when the dataset or the video is in a cloud
/// store.
///
/// Jobs may write one dataset at once: the dataset's `meta.json` and a folder's COCO file are
/// merged with conditional writes ([`ObjectStoreSink::update_dataset_file`]), and on local disk
/// a job holds its video's lock ([`ObjectStoreSink::lock_video`]): a second job on the same video
/// waits for the first, then finds its frames stored. With annotations, `meta.json` and the COCO
/// files are written before the video's manifest, which stays its last write.
///
/// The future is `Send` and, given owned arguments (a `PathBuf` or `String` video, a `String`
/// dataset), `'static`: `tokio::spawn(extract_frames(path, url, options))` runs the job on a
/// task of its own.
pub async fn extract_frames(
    video: impl Into<VideoInput>,
    dataset: impl AsRef<str>,
    options: ExtractOptions,
) -> Result<ExtractReport> {
    let sink = ObjectStoreSink::builder(dataset.as_ref())
        .with_store_options(options.store.clone())
        .build()?;
    run(video.into(), Target::Store(sink), options).await
}

/// [`extract_frames`] into a sink built by the caller (a store with its own client or retry
/// settings, another frame name template: see
/// [`ObjectStoreSinkBuilder`](video_storage::ObjectStoreSinkBuilder)).
pub async fn extract_frames_to(
    video: impl Into<VideoInput>,
    sink: ObjectStoreSink,
    options: ExtractOptions,
) -> Result<ExtractReport> {
    run(video.into(), Target::Store(sink), options).await
}

/// [`extract_frames`] into a dataset sink of the caller's own (a database, a queue, another
/// storage layer: any [`DatasetSink`]; see the README's "A sink of your own").
///
/// The job is the same as [`extract_frames`]'s: the video is probed (GStreamer, or the GIF
/// backend), the plan resolved, frames the sink already has (its
/// [`existing`](DatasetSink::existing)) are not decoded again unless stored at another size or
/// in another format (then they are made again: `frames_redone`), the others are decoded,
/// resized, encoded and given to [`write_frame`](DatasetSink::write_frame), and
/// [`finish_video`](DatasetSink::finish_video) gets the manifest (the video's location, size and
/// sha256 with [`hash_source`](ExtractOptions::hash_source), its metadata, the sampling
/// settings with the resize, [`sample_info`](ExtractOptions::sample_info) and the records of
/// every frame of the plan) once every frame is stored. The [`VideoRef`] the sink is given is
/// `{folder: options.folder_path, name: the video file's stem}`; the sink names its keys.
///
/// What only a dataset in a store ([`ObjectStoreSink`]) has is not done here:
/// - with an [`annotation`](ExtractOptions::annotation), each frame's annotation is written
///   with [`DatasetSink::write_annotation`] (a sink without it fails with
///   [`Error::NotImplemented`]), but the dataset's `meta.json` and the folder's COCO file are
///   not written (they are merged with a store's conditional writes), and images are not put in
///   an `img` sub-folder;
/// - no lock is taken on the video: two jobs on one video at once both write its frames (the
///   sink must cope, or the caller not do that), and there is no staging to clean.
///
/// The future borrows `sink`; to spawn the job, hold the sink in an `Arc` and move a clone into
/// the spawned task.
pub async fn extract_frames_into(
    video: impl Into<VideoInput>,
    sink: &dyn DatasetSink,
    options: ExtractOptions,
) -> Result<ExtractReport> {
    run(video.into(), Target::Custom(sink), options).await
}

/// Where a job writes.
enum Target<'a> {
    /// A dataset in a store: with video locks, `meta.json` and COCO files.
    Store(ObjectStoreSink),
    /// The caller's own sink: frames, annotations and manifests only.
    Custom(&'a dyn DatasetSink),
}

impl Target<'_> {
    fn sink(&self) -> &dyn DatasetSink {
        match self {
            Target::Store(s) => s,
            Target::Custom(s) => *s,
        }
    }

    fn store(&self) -> Option<&ObjectStoreSink> {
        match self {
            Target::Store(s) => Some(s),
            Target::Custom(_) => None,
        }
    }
}

/// The job of [`extract_frames_to`] and [`extract_frames_into`].
/// Opens `video` (a URL is opened here; from then on the video is a local file or a stored
/// object) and picks its backend by content: animated GIF (which GStreamer 1.22 cannot time) in
/// pure Rust, everything else with GStreamer. Returns what was opened, its location (path or
/// URL) and the backend.
pub(crate) async fn open_video(
    video: VideoInput,
    store: &StoreOptions,
    stall_timeout: Duration,
    deadline: Option<Duration>,
) -> Result<(Opened, String, Backend)> {
    let opened = match video {
        VideoInput::File(p) => Opened::File(p),
        VideoInput::Url(url) => {
            Opened::Store(Arc::new(StoreVideo::open_url_with(&url, store).await?))
        }
        VideoInput::Store(v) => Opened::Store(v),
    };
    let (builder, location) = match &opened {
        Opened::Store(v) => (
            GstDemuxerBuilder::from_source(v.clone()),
            video_core::ByteSource::uri(v.as_ref()).to_owned(),
        ),
        Opened::File(p) => (GstDemuxerBuilder::new(p), p.display().to_string()),
    };
    let backend = if is_gif(&opened).await {
        Backend::Gif(match &opened {
            Opened::Store(v) => GifDemuxer::from_source(v.clone())?,
            Opened::File(p) => GifDemuxer::open(p)?,
        })
    } else {
        Backend::Gst(
            builder
                .with_stall_timeout(stall_timeout)
                .with_deadline(deadline)
                .build()?,
        )
    };
    Ok((opened, location, backend))
}

async fn run(
    video: VideoInput,
    target: Target<'_>,
    options: ExtractOptions,
) -> Result<ExtractReport> {
    check_options(&options)?;
    let encoder = ImageEncoder::new(
        EncodeOptions::default()
            .format(options.format)
            .jpeg_quality(options.quality),
    )?;
    let (opened, location, mut demuxer) = open_video(
        video,
        &options.store,
        options.stall_timeout,
        options.deadline,
    )
    .await?;
    let metadata = demuxer.as_dyn().probe().await?;
    let table = demuxer.as_dyn().frame_table().await?;
    let mut options = options;
    if options.annotation_sized_to_video
        && let Some(input) = &mut options.annotation
    {
        let mut annotation = (*input.annotation).clone();
        annotation.size = video_annotation::ImageSize::new(metadata.width, metadata.height);
        annotation.frame_count = Some(metadata.frame_count);
        input.annotation = Arc::new(annotation);
    }
    // Annotations are checked against the video before anything is written.
    let annotator = match &options.annotation {
        Some(input) => {
            let rotation = input
                .annotation
                .fit_to_video(&input.source_name, &metadata)?;
            Some(
                SuperviselyAnnotator::new(input.source_name.clone(), input.annotation.clone())
                    .with_stored_rotation(rotation),
            )
        }
        None => None,
    };
    let mut user_plan = options.plan.clone();
    if let (Some(input), true) = (&options.annotation, options.only_annotated) {
        // Sampled among the annotated frames (filter first, then step, as Supervisely does);
        // the plan's own `filter` still applies after the step.
        let annotated = input.annotation.annotated_frames();
        let earlier = options.plan.among_filter().cloned();
        user_plan = user_plan.among(Arc::new(FnFilter(move |f: &FrameInfo| {
            annotated.contains(&f.index) && earlier.as_ref().is_none_or(|e| e.keep(f))
        })));
    }
    let plan = user_plan.resolve(&table)?;
    if options.scene.is_some() {
        if target.store().is_none() {
            return Err(Error::InvalidOption {
                option: "scene".into(),
                reason: "scenes are appended to a dataset in a store (extract_frames, \
                         extract_frames_to, jobs), not to a sink of the caller's own"
                    .into(),
            });
        }
        if let Some(id) = options
            .scene
            .as_ref()
            .and_then(|s| s.reference_id.as_deref())
        {
            video_core::layout::check_id(id, "a scene reference id")?;
        }
        if plan.len() > video_core::DEFAULT_SCENE_CAP {
            return Err(Error::LimitExceeded {
                what: format!("frames of the scene of {location} (plan of {})", plan.len()),
                limit: video_core::DEFAULT_SCENE_CAP as u64,
                actual: plan.len() as u64,
            });
        }
    }
    let target = match (target, &annotator) {
        (Target::Store(s), Some(_)) => Target::Store(
            s.to_builder()
                .with_image_folder(video_core::layout::IMAGE_FOLDER)
                .build()?,
        ),
        (t, _) => t,
    };
    let dataset_meta = match (&options.annotation, target.store()) {
        (Some(input), Some(store)) => Some(annotations::dataset_meta(store, input).await?),
        _ => None,
    };
    let scene_rate = VideoScene::frame_rate_for(user_plan.selection(), &metadata);
    let sampling = SamplingSettings::from_plan(&user_plan)
        .format(Some(options.format))
        .quality((options.format == ImageFormat::Jpeg).then_some(options.quality))
        .resize(options.resize.as_ref().map(Resize::to_string));
    let source_info = match &opened {
        Opened::Store(v) => {
            let hash = if options.hash_source {
                Some(v.sha256().await?)
            } else {
                None
            };
            VideoSource::new(location.clone())
                .size(Some(video_core::ByteSource::len(v.as_ref())))
                .content_hash(hash)
        }
        Opened::File(p) => describe_source(p, options.hash_source).await?,
    };
    let manifest = VideoManifest::new(metadata)
        .source(source_info)
        .sampling(sampling)
        .sample_info(options.sample_info);
    let (mut source, (width, height)) = demuxer
        .frame_source(options.resize, options.framemd5)
        .await?;
    let name = stem_of(&location);
    let video_ref = VideoRef {
        folder: options.folder_path,
        name,
    };
    // Frames an earlier run stored at another size or in another format are made again.
    let sink_options = ExtractToSinkOptions::default()
        .stored_as(Some(video_core::StoredFrameSpec {
            width,
            height,
            format: options.format,
        }))
        .writes_in_flight(options.writes_in_flight)
        .framemd5(options.framemd5)
        .annotator(
            annotator
                .clone()
                .map(|a| Arc::new(a) as Arc<dyn video_core::FrameAnnotator>),
        );
    // One writer per video at a time; what a killed run left is cleaned first.
    // (A sink of the caller's own has no lock: see extract_frames_into.)
    let _lock = match target.store() {
        Some(store) => Some(store.lock_video(&video_ref).await?),
        None => None,
    };
    let scene = match (target.store(), &options.scene) {
        (Some(store), Some(o)) => Some(JobScene {
            store,
            reference_id: o
                .reference_id
                .clone()
                .unwrap_or_else(|| video_core::layout::default_scene_id(&video_ref)),
            frame_rate: o.frame_rate.or(scene_rate),
            update: o.update,
        }),
        _ => None,
    };
    let job_sink = JobSink {
        sink: target.sink(),
        progress: options.progress.as_deref(),
        scene,
        annotations: match (
            target.store(),
            &options.annotation,
            &annotator,
            &dataset_meta,
        ) {
            (Some(store), Some(input), Some(annotator), Some(meta)) => Some(JobAnnotations {
                store,
                input,
                annotator,
                meta,
                coco: options.coco,
            }),
            _ => None,
        },
    };
    let mut report = extract_to_sink_opts(
        source.as_mut(),
        Arc::new(encoder),
        &job_sink,
        &video_ref,
        &manifest,
        &plan,
        &sink_options,
    )
    .await?;
    report.source_bytes_read = match opened {
        Opened::Store(v) => Some(v.bytes_fetched()),
        Opened::File(_) => None,
    };
    Ok(report)
}

/// What [`JobSink`] writes for a video with annotations.
#[derive(Debug)]
struct JobAnnotations<'a> {
    store: &'a ObjectStoreSink,
    input: &'a AnnotationInput,
    annotator: &'a SuperviselyAnnotator,
    meta: &'a ProjectMeta,
    coco: bool,
}

/// The scene [`JobSink`] appends for a video ([`ExtractOptions::scene`]).
#[derive(Debug)]
struct JobScene<'a> {
    store: &'a ObjectStoreSink,
    reference_id: String,
    frame_rate: Option<Rational>,
    update: bool,
}

/// The dataset as [`extract_frames`] writes it: the sink, telling
/// [`progress`](ExtractOptions::progress) about each stored frame, and, with annotations,
/// writing the dataset's `meta.json` and the folder's COCO file before the video's manifest, so
/// the manifest stays the video's last write.
#[derive(Debug)]
struct JobSink<'a> {
    sink: &'a dyn DatasetSink,
    progress: Option<&'a dyn ExtractProgress>,
    annotations: Option<JobAnnotations<'a>>,
    scene: Option<JobScene<'a>>,
}

#[async_trait::async_trait]
#[deny(clippy::missing_trait_methods)]
impl DatasetSink for JobSink<'_> {
    async fn existing(&self, video: &VideoRef, indices: &[u64]) -> Result<Vec<FrameRecord>> {
        self.sink.existing(video, indices).await
    }

    async fn write_frame(&self, video: &VideoRef, frame: &EncodedFrame) -> Result<FrameRecord> {
        let record = self.sink.write_frame(video, frame).await?;
        if let Some(p) = self.progress {
            p.frame_stored(&record);
        }
        Ok(record)
    }

    async fn finish_video(&self, video: &VideoRef, manifest: &VideoManifest) -> Result<()> {
        if let Some(a) = &self.annotations {
            annotations::write_meta(a.store, a.input).await?;
            if a.coco {
                annotations::write_coco(
                    a.store,
                    video,
                    a.meta,
                    a.annotator,
                    a.input,
                    &manifest.frames,
                )
                .await?;
            }
        }
        if let Some(s) = &self.scene {
            let scene = VideoScene::from_manifest(s.reference_id.clone(), s.frame_rate, manifest)?;
            let report = s.store.append_scenes(&[scene], s.update).await?;
            tracing::debug!(reference_id = %s.reference_id, ?report, "scene appended");
        }
        self.sink.finish_video(video, manifest).await
    }

    async fn write_annotation(
        &self,
        video: &VideoRef,
        frame: &FrameRecord,
        json: &[u8],
    ) -> Result<String> {
        self.sink.write_annotation(video, frame, json).await
    }

    async fn write_dataset_file(&self, key: &str, bytes: &[u8]) -> Result<()> {
        self.sink.write_dataset_file(key, bytes).await
    }

    async fn read_dataset_file(&self, key: &str) -> Result<Option<Vec<u8>>> {
        self.sink.read_dataset_file(key).await
    }

    fn stored_name(&self, key: &str) -> String {
        self.sink.stored_name(key)
    }

    async fn write_dataset_file_from(&self, key: &str, path: &Path) -> Result<u64> {
        self.sink.write_dataset_file_from(key, path).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inputs_and_names() {
        assert!(matches!(
            VideoInput::from("s3://b/v/a.mp4"),
            VideoInput::Url(_)
        ));
        assert!(matches!(VideoInput::from("v/a.mp4"), VideoInput::File(_)));
        assert!(matches!(
            VideoInput::from(String::from("file:///v/a.mp4")),
            VideoInput::Url(u) if u == "file:///v/a.mp4"
        ));
        assert!(matches!(
            VideoInput::from(String::from("v/a.mp4")),
            VideoInput::File(p) if p == Path::new("v/a.mp4")
        ));
        assert_eq!(stem_of("s3://b/videos/clip.one.mp4"), "clip.one");
        assert_eq!(stem_of("memory:///clip"), "clip");
        assert_eq!(stem_of("file:///x/.hidden"), ".hidden");
        assert_eq!(stem_of("s3://b/"), "b");
    }
}
