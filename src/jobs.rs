//! Jobs of many videos: [`submit`] a [`JobSpec`] (videos, each into a folder of one dataset),
//! follow it with its [`JobHandle`] (a watch channel of [`JobStatus`], [`JobHandle::wait`] with a
//! deadline, [`JobHandle::cancel`]), or from anywhere else with the dataset URL alone
//! ([`read_job`], [`list_jobs`]: the job's record is stored in the dataset, under
//! [`layout::job_key`]), and cancel it from there too ([`request_cancel`]: the running job
//! looks for the request about once a second).
//!
//! A running job rewrites its record at least every second (its heartbeat,
//! [`JobRecord::updated_unix_ms`]) with the host name and process id of its writer: a record
//! still `running` whose heartbeat stopped is a job whose process died
//! ([`JobRecord::is_stale`]). Submitting the same spec again completes what it left.
//!
//! Each video is one [`extract_frames`] call (or, with [`JobSpec::prepare`], one
//! [`prepare_video`](crate::prepare_video) call): resumable, so a job submitted again with the same
//! spec completes only what is missing, and safe to drop, so a cancelled job leaves a consistent
//! dataset.
//!
//! ```no_run
//! # async fn demo() -> video_dataset::Result<()> {
//! use std::time::Duration;
//! use video_dataset::{ExtractOptions, JobSpec, JobStatus, submit};
//!
//! let spec = JobSpec::new("s3://bucket/dataset")
//!     .video("videos/a.mp4", "train")
//!     .video("videos/b.mp4", "val")
//!     .options(ExtractOptions::default().fps(2.0))
//!     .concurrency(4);
//! let job = submit(spec)?;
//! println!("job {}", job.id());
//! match job.wait(Duration::from_secs(3600)).await? {
//!     JobStatus::Succeeded(report) => println!("{} frames", report.frames_planned),
//!     JobStatus::PartiallyFailed { failures, .. } => {
//!         for f in failures {
//!             eprintln!("{}: {}", f.source, f.error);
//!         }
//!     }
//!     other => eprintln!("{other:?}"),
//! }
//! // From another process, with the dataset URL alone:
//! let record = video_dataset::read_job("s3://bucket/dataset", job.id()).await?;
//! println!("{:?}: {}/{} videos", record.state, record.videos_done, record.videos_total);
//! # Ok(())
//! # }
//! ```

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};
use tokio::sync::watch;
use tokio::task::JoinSet;
use tracing::Instrument as _;
use video_core::{DatasetSink as _, FrameRecord, layout};
use video_storage::ObjectStoreSink;

use crate::{
    Error, ExtractOptions, ExtractProgress, Result, TreeEntry, VideoInput, VideoTree,
    extract_frames,
};

/// How often, at most, a running job rewrites its record (it is also written at each video's
/// end and at the job's end).
const RECORD_INTERVAL: Duration = Duration::from_secs(1);
/// How often a running job publishes its counters on the watch channel.
const STATUS_INTERVAL: Duration = Duration::from_millis(100);
/// How often, at most, a running job looks for a cancel request ([`request_cancel`]): one read
/// of [`layout::job_cancel_key`].
const CANCEL_POLL_INTERVAL: Duration = Duration::from_secs(1);

/// The heartbeat of a running job: it rewrites its record (and so
/// [`JobRecord::updated_unix_ms`]) at least this often, whether or not anything changed.
pub const HEARTBEAT_INTERVAL: Duration = RECORD_INTERVAL;

/// A threshold for [`JobRecord::is_stale`]: a running job's record not rewritten for this long
/// (sixty heartbeats) is taken for one whose process died. It also absorbs clock differences
/// between the writer's host and the reader's and a store unreachable for a while.
pub const DEFAULT_STALE_AFTER: Duration = Duration::from_secs(60);

/// One video of a [`JobSpec`]: what to read and the dataset folder its frames go to.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct JobVideo {
    /// The video.
    pub input: VideoInput,
    /// The dataset folder of its frames (`/`-separated, `""` for the top): its
    /// [`ExtractOptions::folder_path`].
    pub folder_path: String,
    /// Where its own annotation is: a video of a [`VideoTree`] (see [`JobVideo::from_tree_entry`]).
    /// When set, the video's [`ExtractOptions::annotation`] is the entry's
    /// [`TreeEntry::annotation_input`] (none for an entry without one), read when the video
    /// starts and dropped when it ends; an annotation that cannot be read fails this video only.
    /// Default: none (the job's [`JobSpec::options`] annotation, if any).
    pub annotation_source: Option<TreeAnnotation>,
}

/// A video's annotation in a source tree, read when the video starts (see
/// [`JobVideo::annotation_source`]).
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct TreeAnnotation {
    /// The tree's entry of the video.
    pub entry: Arc<TreeEntry>,
    /// The tree's store, for an entry whose files are keys of it ([`VideoTree::store`]).
    pub store: Option<ObjectStoreSink>,
}

impl TreeAnnotation {
    /// Read the annotation (see [`TreeEntry::annotation_input`]). A video of a Supervisely
    /// project without an annotation file gets an empty one with the project's meta, to be
    /// sized to the probed video (the `bool`): as Supervisely sees it, a video with no figures.
    async fn read(&self) -> Result<(Option<crate::AnnotationInput>, bool)> {
        match (&self.entry.annotation, &self.entry.project_meta) {
            (None, Some(meta)) => {
                let (name, bytes) = crate::tree::read_file(meta, self.store.as_ref()).await?;
                let meta = video_annotation::supervisely::read_meta(&name, bytes.as_slice())?;
                let annotation = video_annotation::VideoAnnotation {
                    meta,
                    ..Default::default()
                };
                let name = format!("{} (no annotation file)", self.entry.relative_path);
                Ok((Some(crate::AnnotationInput::new(name, annotation)), true))
            }
            _ => Ok((
                self.entry.annotation_input(self.store.as_ref()).await?,
                false,
            )),
        }
    }
}

impl JobVideo {
    /// `input` into the dataset folder `folder_path`.
    pub fn new(input: impl Into<VideoInput>, folder_path: impl Into<String>) -> Self {
        Self {
            input: input.into(),
            folder_path: folder_path.into(),
            annotation_source: None,
        }
    }

    /// The video of a tree's entry, into the entry's [`folder`](TreeEntry::folder) (the output
    /// mirrors the tree), with the entry's own annotation as its
    /// [`annotation_source`](Self::annotation_source). `store`: the tree's
    /// [`store`](VideoTree::store).
    ///
    /// When the video runs, its manifest's `sample_info` gets the entry's
    /// [`provenance`](TreeEntry::provenance) (`source_root`, `relative_path`, `video_name`) added
    /// to the job's [`ExtractOptions::sample_info`]: the caller's other keys are kept, and where
    /// the caller set one of these three, the tree's value replaces it. Each frame's index and
    /// pts are in its manifest record ([`FrameRecord::index`], [`FrameRecord::pts_seconds`]).
    pub fn from_tree_entry(entry: &TreeEntry, store: Option<&ObjectStoreSink>) -> Self {
        Self {
            input: entry.source.clone(),
            folder_path: entry.folder.clone(),
            annotation_source: Some(TreeAnnotation {
                entry: Arc::new(entry.clone()),
                store: store.cloned(),
            }),
        }
    }

    /// The video as text: its path or URL.
    pub fn source(&self) -> String {
        match &self.input {
            VideoInput::File(p) => p.display().to_string(),
            VideoInput::Url(u) => u.clone(),
            VideoInput::Store(v) => v.location().to_string(),
        }
    }
}

/// What a job does: videos into one dataset, each with the same [`ExtractOptions`] (but its own
/// folder), up to [`concurrency`](Self::concurrency) at once.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct JobSpec {
    /// The dataset URL or local path (as [`extract_frames`] takes it).
    pub dataset: String,
    /// The videos, in order.
    pub videos: Vec<JobVideo>,
    /// The options of every video; each video's [`folder_path`](ExtractOptions::folder_path) is
    /// its [`JobVideo::folder_path`]. A [`progress`](ExtractOptions::progress) is told about the
    /// frames of every video.
    pub options: ExtractOptions,
    /// Prepare every video ([`prepare_video`](crate::prepare_video)) instead of sampling its
    /// frames: a web-ready copy, splits or another frame rate, each video into its
    /// [`JobVideo::folder_path`] (which replaces the options' own
    /// [`folder_path`](crate::PrepareOptions::folder_path)). The job's frame counts are then
    /// the prepared outputs' frames, counted as each output is stored; `options` is not used.
    /// Default: none.
    pub prepare: Option<crate::PrepareOptions>,
    /// Videos processed at once. Default: [`std::thread::available_parallelism`].
    pub concurrency: usize,
}

impl JobSpec {
    /// A job into `dataset` with no videos yet, default options and concurrency.
    pub fn new(dataset: impl Into<String>) -> Self {
        Self {
            dataset: dataset.into(),
            videos: Vec::new(),
            options: ExtractOptions::default(),
            prepare: None,
            concurrency: std::thread::available_parallelism().map_or(1, |n| n.get()),
        }
    }

    /// Add the video `input`, its frames into the dataset folder `folder_path`.
    pub fn video(mut self, input: impl Into<VideoInput>, folder_path: impl Into<String>) -> Self {
        self.videos.push(JobVideo::new(input, folder_path));
        self
    }

    /// A job of every video of `tree` into `dataset` (see [`JobSpec::tree`]).
    ///
    /// ```no_run
    /// # async fn demo() -> video_dataset::Result<()> {
    /// use std::time::Duration;
    /// use video_dataset::{ExtractOptions, JobSpec, TreeOptions, discover_tree, submit};
    ///
    /// // A Supervisely video project: each video with its own annotation, only annotated frames.
    /// let tree = discover_tree("project/", &TreeOptions::default()).await?;
    /// let spec = JobSpec::from_tree("dataset/", &tree)
    ///     .options(ExtractOptions::default().only_annotated(true));
    /// let status = submit(spec)?.wait(Duration::from_secs(3600)).await?;
    /// println!("{status:?}");
    /// # Ok(())
    /// # }
    /// ```
    pub fn from_tree(dataset: impl Into<String>, tree: &VideoTree) -> Self {
        Self::new(dataset).tree(tree)
    }

    /// Add every video of `tree`, in its order, each with [`JobVideo::from_tree_entry`]: its
    /// frames into the entry's folder (the output mirrors the tree) and, for a Supervisely video
    /// project, its own annotation, read when the video starts. The job's
    /// [`options`](Self::options) (`only_annotated`, the plan, the format, …) apply to every video;
    /// their `annotation` is replaced by each video's own (none for a video without one).
    ///
    /// For a Supervisely project, the dataset becomes a Supervisely images project: the frames of
    /// an annotated video go to `<dataset>/img`, their labels to `<dataset>/ann`, the classes and
    /// tags of every video into the merged `meta.json` at the root, and each dataset folder gets
    /// its COCO file, all kept whole while videos finish in parallel (see
    /// [`extract_frames`]). A video of the project without an annotation file is a video with
    /// an empty annotation, as Supervisely sees it: its frames go to `<dataset>/img` with empty
    /// `<dataset>/ann/*.json` files and, with `only_annotated`, none is sampled (the video
    /// succeeds with 0 frames).
    ///
    /// Every video's manifest records where it came from in its `sample_info` (see
    /// [`JobVideo::from_tree_entry`]).
    pub fn tree(mut self, tree: &VideoTree) -> Self {
        self.videos.extend(
            tree.entries
                .iter()
                .map(|e| JobVideo::from_tree_entry(e, tree.store.as_ref())),
        );
        self
    }

    /// Set [`options`](Self::options).
    pub fn options(mut self, v: ExtractOptions) -> Self {
        self.options = v;
        self
    }

    /// Set [`prepare`](Self::prepare): the job prepares its videos instead of sampling them.
    pub fn prepare(mut self, v: Option<crate::PrepareOptions>) -> Self {
        self.prepare = v;
        self
    }

    /// Set [`concurrency`](Self::concurrency) (at least 1).
    pub fn concurrency(mut self, v: usize) -> Self {
        self.concurrency = v;
        self
    }
}

/// What one finished video left: its counts (its frame records are not kept).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct VideoSummary {
    /// The video's position in [`JobSpec::videos`].
    pub index: usize,
    /// Its path or URL ([`JobVideo::source`]).
    pub source: String,
    /// Its dataset folder.
    pub folder_path: String,
    /// Frames in its plan.
    pub frames_planned: u64,
    /// Frames written by this job.
    pub frames_written: u64,
    /// Frames that were already stored.
    pub frames_existing: u64,
}

/// The counts of a finished job.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct JobReport {
    /// The videos that succeeded, in spec order.
    pub videos: Vec<VideoSummary>,
    /// Frames planned, over the videos that succeeded.
    pub frames_planned: u64,
    /// Frames written by this job.
    pub frames_written: u64,
    /// Frames that were already stored.
    pub frames_existing: u64,
}

/// A video that failed, with its error.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct VideoFailure {
    /// The video's position in [`JobSpec::videos`].
    pub index: usize,
    /// Its path or URL ([`JobVideo::source`]).
    pub source: String,
    /// Its dataset folder.
    pub folder_path: String,
    /// What went wrong.
    pub error: Arc<Error>,
}

/// Where a job is.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub enum JobStatus {
    /// Submitted, not started yet: the job's record may not be stored yet. Every later status
    /// comes after the record's first write ([`Failed`](Self::Failed) if it could not be
    /// written), so from then on [`read_job`] and other processes find the job.
    Queued,
    /// Working. `frames_total` counts the planned frames of the videos finished so far plus the
    /// frames stored of the others: it grows as videos are probed and finish.
    Running {
        /// Videos finished (succeeded or failed).
        videos_done: u64,
        /// Videos of the job.
        videos_total: u64,
        /// Frames stored (written now, or found stored, for finished videos).
        frames_done: u64,
        /// Frames known so far (see above).
        frames_total: u64,
    },
    /// Every video succeeded.
    Succeeded(JobReport),
    /// Some videos failed (possibly all): the others are complete.
    PartiallyFailed {
        /// The videos that succeeded.
        report: JobReport,
        /// The ones that failed, in spec order.
        failures: Vec<VideoFailure>,
    },
    /// The job could not run (its record could not be written to the dataset).
    Failed(Arc<Error>),
    /// [`JobHandle::cancel`] stopped it, or a [`request_cancel`] from anywhere.
    Cancelled,
}

impl JobStatus {
    /// Whether the job has ended (succeeded, partially failed, failed or cancelled).
    pub fn is_final(&self) -> bool {
        !matches!(self, JobStatus::Queued | JobStatus::Running { .. })
    }
}

/// A submitted job: its id, its live status, and a way to wait for it or cancel it.
///
/// Dropping the handle does **not** cancel the job: it keeps running, detached, on the runtime
/// it was submitted on, until it ends (or the runtime shuts down); its record in the dataset
/// keeps telling how it goes ([`read_job`]).
#[derive(Debug)]
pub struct JobHandle {
    id: String,
    status: watch::Receiver<JobStatus>,
    cancel: Arc<watch::Sender<bool>>,
}

impl JobHandle {
    /// The job's id: unique, and sorting in submission order (milliseconds since the Unix
    /// epoch, then random digits).
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The status now.
    pub fn status(&self) -> JobStatus {
        self.status.borrow().clone()
    }

    /// A receiver of every status change (counters at most every 100 ms, then the final status).
    pub fn subscribe(&self) -> watch::Receiver<JobStatus> {
        self.status.clone()
    }

    /// The final status, once the job has ended.
    ///
    /// # Errors
    /// [`Error::PollTimeout`] when `timeout` passes first (the job keeps running: wait again);
    /// [`Error::Panicked`] if the job's task died without a final status.
    pub async fn wait(&self, timeout: Duration) -> Result<JobStatus> {
        let mut rx = self.status.clone();
        match tokio::time::timeout(timeout, rx.wait_for(JobStatus::is_final)).await {
            Ok(Ok(s)) => Ok(s.clone()),
            Ok(Err(_)) => Err(Error::Panicked {
                task: "video-dataset job",
                message: format!("job {} ended without a final status", self.id),
            }),
            Err(_) => Err(Error::PollTimeout {
                job_id: self.id.clone(),
                waited: timeout,
            }),
        }
    }

    /// Stop the job: the videos in flight are dropped (what they stored stays and a re-run
    /// resumes it), none is started, the record is written and the final status is
    /// [`JobStatus::Cancelled`] (unless the job had already ended). Returns at once:
    /// [`wait`](Self::wait) for the end.
    pub fn cancel(&self) {
        self.cancel.send_replace(true);
    }
}

/// How a video of a stored job ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum VideoState {
    /// Not finished (not started, or running).
    Pending,
    /// All its frames are stored.
    Succeeded,
    /// It failed (see [`VideoEntry::error`]).
    Failed,
}

/// An error as a record keeps it: [`Error::kind`] and its message.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ErrorRecord {
    /// [`Error::kind`] (`not_a_video`, `store`, …).
    pub kind: String,
    /// The error's message (its `Display`).
    pub message: String,
}

impl From<&Error> for ErrorRecord {
    fn from(e: &Error) -> Self {
        Self {
            kind: e.kind().to_owned(),
            message: e.to_string(),
        }
    }
}

/// One video in a [`JobRecord`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct VideoEntry {
    /// Its path or URL.
    pub source: String,
    /// Its dataset folder.
    pub folder_path: String,
    /// How it ended.
    pub state: VideoState,
    /// Frames planned (when succeeded).
    pub frames_planned: Option<u64>,
    /// Frames written by the job (when succeeded).
    pub frames_written: Option<u64>,
    /// Frames found stored (when succeeded).
    pub frames_existing: Option<u64>,
    /// Its error (when failed).
    pub error: Option<ErrorRecord>,
}

/// The state of a stored job.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum JobState {
    /// [`JobStatus::Queued`].
    Queued,
    /// [`JobStatus::Running`] (or a job whose process died: see [`JobRecord::is_stale`]).
    Running,
    /// [`JobStatus::Succeeded`].
    Succeeded,
    /// [`JobStatus::PartiallyFailed`].
    PartiallyFailed,
    /// [`JobStatus::Failed`].
    Failed,
    /// [`JobStatus::Cancelled`].
    Cancelled,
}

impl JobState {
    /// Whether the job has ended (anything but queued or running).
    pub fn is_final(self) -> bool {
        !matches!(self, JobState::Queued | JobState::Running)
    }
}

/// A job's record, stored in the dataset at [`layout::job_key`] as one JSON object (this struct,
/// with `format` [`layout::JOB_FORMAT`] and `format_version` [`layout::JOB_FORMAT_VERSION`]),
/// rewritten as the job goes.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct JobRecord {
    /// [`layout::JOB_FORMAT`].
    pub format: String,
    /// [`layout::JOB_FORMAT_VERSION`].
    pub format_version: u32,
    /// The job's id.
    pub job_id: String,
    /// The dataset, as given to the job.
    pub dataset: String,
    /// Videos at once.
    pub concurrency: usize,
    /// Where the job is.
    pub state: JobState,
    /// Videos of the job.
    pub videos_total: u64,
    /// Videos finished.
    pub videos_done: u64,
    /// Videos failed.
    pub videos_failed: u64,
    /// Frames stored so far (see [`JobStatus::Running`]).
    pub frames_done: u64,
    /// Frames known so far (see [`JobStatus::Running`]).
    pub frames_total: u64,
    /// Every video, in spec order.
    pub videos: Vec<VideoEntry>,
    /// The job's own error ([`JobState::Failed`]).
    pub error: Option<ErrorRecord>,
    /// When the job was submitted (milliseconds since the Unix epoch).
    pub submitted_unix_ms: u64,
    /// When the record was written: the job's heartbeat, rewritten at least every
    /// [`HEARTBEAT_INTERVAL`] while it runs (see [`is_stale`](Self::is_stale)).
    pub updated_unix_ms: u64,
    /// When the job ended.
    pub finished_unix_ms: Option<u64>,
    /// The name of the host whose process runs the job, when it could be read (records written
    /// before it was kept have none).
    #[serde(default)]
    pub host: Option<String>,
    /// The id of the process that runs the job (none in records written before it was kept).
    #[serde(default)]
    pub pid: Option<u32>,
    /// When the job found a [`request_cancel`] and stopped for it (milliseconds since the Unix
    /// epoch); none for a job cancelled by its [`JobHandle::cancel`] or not cancelled.
    #[serde(default)]
    pub cancel_requested_unix_ms: Option<u64>,
}

impl JobRecord {
    /// How long ago, at `now`, the record was last written ([`updated_unix_ms`](Self::updated_unix_ms));
    /// zero for a record written "after" `now` (another host's clock ahead of this one).
    pub fn heartbeat_age(&self, now: SystemTime) -> Duration {
        let now = now
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX));
        Duration::from_millis(now.saturating_sub(self.updated_unix_ms))
    }

    /// Whether the record says the job is queued or running but its heartbeat stopped more than
    /// `threshold` before `now`: its process most likely died (killed, its machine gone) and
    /// nothing will end the record. A job that ended is never stale.
    ///
    /// A running job rewrites its record every [`HEARTBEAT_INTERVAL`]; choose a threshold well
    /// above it and above the clock difference between the writer's host and the reader's, such
    /// as [`DEFAULT_STALE_AFTER`]. Submitting the same spec again completes what the dead job
    /// left (frames already stored are kept).
    pub fn is_stale(&self, now: SystemTime, threshold: Duration) -> bool {
        !self.state.is_final() && self.heartbeat_age(now) > threshold
    }
}

/// The record of the job `job_id` of the dataset `dataset` (URL or local path).
///
/// # Errors
/// [`Error::NotFound`] for no such job; [`Error::InvalidPath`] for an id that cannot be a key;
/// [`Error::Unsupported`] for a record of another format or version; store errors.
pub async fn read_job(dataset: &str, job_id: &str) -> Result<JobRecord> {
    check_job_id(job_id)?;
    let sink = ObjectStoreSink::from_url(dataset)?;
    read_record(&sink, &layout::job_key(job_id)).await
}

/// The records of every job of the dataset `dataset`, by job id (submission order).
///
/// # Errors
/// As [`read_job`], for any record.
pub async fn list_jobs(dataset: &str) -> Result<Vec<JobRecord>> {
    let sink = ObjectStoreSink::from_url(dataset)?;
    let mut out = Vec::new();
    for key in sink.list_keys(layout::JOBS_DIR).await? {
        let name = key.rsplit('/').next().unwrap_or(&key);
        if layout::job_id(name).is_some() {
            out.push(read_record(&sink, &key).await?);
        }
    }
    out.sort_by(|a, b| a.job_id.cmp(&b.job_id));
    Ok(out)
}

/// What [`request_cancel`] did.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum CancelOutcome {
    /// The request is stored; the job's record (queued or running) as it was just before. The
    /// running job finds the request within about a second ([`CancelOutcome`] does not wait for
    /// it: poll [`read_job`] until [`JobState::is_final`]), stops its videos in flight as
    /// [`JobHandle::cancel`] does and ends [`JobState::Cancelled`], unless it ends otherwise
    /// first. A job whose process died ([`JobRecord::is_stale`]) never reads the request.
    Requested(JobRecord),
    /// The job had already ended: nothing was stored. Its record, in its final state.
    AlreadyEnded(JobRecord),
}

/// Ask the job `job_id` of the dataset `dataset` (URL or local path) to stop, from any process:
/// a request is stored beside its record ([`layout::job_cancel_key`]), which the running job
/// reads on its periodic tick (at most once a second). See [`CancelOutcome`] for what follows.
///
/// ```no_run
/// # async fn demo() -> video_dataset::Result<()> {
/// use video_dataset::{CancelOutcome, request_cancel};
/// match request_cancel("s3://bucket/dataset", "0001764617768123-9f2c01ab").await? {
///     CancelOutcome::Requested(r) => println!("asked job {} to stop", r.job_id),
///     CancelOutcome::AlreadyEnded(r) => println!("job {} had already ended: {:?}", r.job_id, r.state),
///     _ => {}
/// }
/// # Ok(())
/// # }
/// ```
///
/// # Errors
/// [`Error::NotFound`] naming the record's key for a job the dataset has no record of;
/// otherwise as [`read_job`], and the store's errors writing the request.
pub async fn request_cancel(dataset: &str, job_id: &str) -> Result<CancelOutcome> {
    check_job_id(job_id)?;
    let sink = ObjectStoreSink::from_url(dataset)?;
    let record = read_record(&sink, &layout::job_key(job_id)).await?;
    if record.state.is_final() {
        return Ok(CancelOutcome::AlreadyEnded(record));
    }
    let key = layout::job_cancel_key(job_id);
    let request = serde_json::json!({
        "format": layout::JOB_CANCEL_FORMAT,
        "format_version": layout::JOB_CANCEL_FORMAT_VERSION,
        "job_id": job_id,
        "requested_unix_ms": unix_ms(),
        "host": host_name(),
        "pid": std::process::id(),
    });
    let bytes = serde_json::to_vec_pretty(&request).map_err(|e| Error::Unsupported {
        uri: key.clone(),
        reason: format!("cancel request: {e}"),
    })?;
    sink.write_dataset_file(&key, &bytes).await?;
    Ok(CancelOutcome::Requested(record))
}

/// A job id is one key segment: not empty, no `/`, not `.`/`..`, no backslash or control
/// character.
fn check_job_id(job_id: &str) -> Result<()> {
    layout::check_id(job_id, "a job id")
}

/// Whether a cancel request for `job_id` is stored ([`request_cancel`]).
async fn cancel_requested(sink: &ObjectStoreSink, job_id: &str) -> Result<bool> {
    match sink.read(&layout::job_cancel_key(job_id)).await {
        Ok(_) => Ok(true),
        Err(Error::NotFound { .. }) => Ok(false),
        Err(e) => Err(e),
    }
}

/// This host's name, when it can be read (Linux: the kernel's; else `HOSTNAME`/`COMPUTERNAME`).
fn host_name() -> Option<String> {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .or_else(|| std::env::var("HOSTNAME").ok())
        .or_else(|| std::env::var("COMPUTERNAME").ok())
        .map(|h| h.trim().to_owned())
        .filter(|h| !h.is_empty())
}

async fn read_record(sink: &ObjectStoreSink, key: &str) -> Result<JobRecord> {
    let bytes = sink.read(key).await?;
    let bad = |e: serde_json::Error| Error::Unsupported {
        uri: key.to_owned(),
        reason: format!("not a job record: {e}"),
    };
    let doc: serde_json::Value = serde_json::from_slice(&bytes).map_err(bad)?;
    layout::check_format(
        key,
        "job",
        &doc,
        layout::JOB_FORMAT,
        layout::JOB_FORMAT_VERSION,
    )?;
    serde_json::from_value(doc).map_err(bad)
}

fn unix_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// `{unix ms:016}-{random:08x}`.
fn new_job_id() -> String {
    use std::hash::{BuildHasher as _, Hasher as _};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u64(COUNTER.fetch_add(1, Ordering::Relaxed));
    h.write_u128(
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos()),
    );
    h.write_u32(std::process::id());
    format!("{:016}-{:08x}", unix_ms(), h.finish() as u32)
}

/// Start `spec` on the current Tokio runtime and return at once.
///
/// The job writes its record (state `queued`) first, then runs its videos, up to
/// [`JobSpec::concurrency`] at once, each on a task of its own (an [`extract_frames`] call,
/// in a `video` [`tracing`] span inside the job's `job` span). A video that fails is recorded
/// with its error and the others go on: the job ends [`JobStatus::PartiallyFailed`].
///
/// # Errors
/// [`Error::InvalidOption`] for a concurrency of 0, a fixed scene reference id
/// ([`SceneOptions::reference_id`](crate::SceneOptions)) for more than one video, or when called
/// outside a Tokio runtime;
/// the errors of [`ObjectStoreSink::from_url`] for a dataset URL that cannot be used.
pub fn submit(spec: JobSpec) -> Result<JobHandle> {
    if spec.concurrency == 0 {
        return Err(Error::InvalidOption {
            option: "concurrency".into(),
            reason: "must be at least 1 (got 0)".into(),
        });
    }
    if spec.videos.len() > 1
        && let Some(id) = spec
            .options
            .scene
            .as_ref()
            .and_then(|s| s.reference_id.as_ref())
    {
        return Err(Error::InvalidOption {
            option: "scene.reference_id".into(),
            reason: format!(
                "a job of {} videos appends a scene per video: it cannot give them all the \
                 reference id {id:?} (leave it unset: each video's path names its scene)",
                spec.videos.len()
            ),
        });
    }
    let runtime = tokio::runtime::Handle::try_current().map_err(|e| Error::InvalidOption {
        option: "submit".into(),
        reason: format!("a job runs on the caller's Tokio runtime: {e}"),
    })?;
    let sink = ObjectStoreSink::builder(spec.dataset.as_str())
        .with_store_options(spec.options.store.clone())
        .build()?;
    let id = new_job_id();
    let (status_tx, status_rx) = watch::channel(JobStatus::Queued);
    let (cancel_tx, cancel_rx) = watch::channel(false);
    let span = tracing::info_span!("job", id = %id, videos = spec.videos.len());
    let job = Job::new(id.clone(), spec, sink);
    runtime.spawn(job.run(status_tx, cancel_rx).instrument(span));
    Ok(JobHandle {
        id,
        status: status_rx,
        cancel: Arc::new(cancel_tx),
    })
}

/// Resolves when the job is cancelled; never when the handle was dropped (the job goes on).
async fn cancelled(cancel: &mut watch::Receiver<bool>) {
    if cancel.wait_for(|c| *c).await.is_err() {
        std::future::pending::<()>().await;
    }
}

/// Counts frames stored (the video's and the job's), then tells the caller's progress.
#[derive(Debug)]
struct CountFrames {
    video: Arc<AtomicU64>,
    job: Arc<AtomicU64>,
    inner: Option<Arc<dyn ExtractProgress>>,
}

impl ExtractProgress for CountFrames {
    fn frame_stored(&self, record: &FrameRecord) {
        self.video.fetch_add(1, Ordering::Relaxed);
        self.job.fetch_add(1, Ordering::Relaxed);
        if let Some(p) = &self.inner {
            p.frame_stored(record);
        }
    }
}

/// Counts the frames of a preparing video's outputs as each is stored, for the job's progress.
#[derive(Debug)]
struct CountOutputFrames {
    video: Arc<AtomicU64>,
    job: Arc<AtomicU64>,
    inner: Option<Arc<dyn crate::PrepareProgress>>,
}

impl crate::PrepareProgress for CountOutputFrames {
    fn planned(&self, outputs: usize, skipped: usize) {
        if let Some(p) = &self.inner {
            p.planned(outputs, skipped);
        }
    }

    fn output_stored(&self, output: &video_core::prepare::PreparedOutput) {
        self.video.fetch_add(output.frames, Ordering::Relaxed);
        self.job.fetch_add(output.frames, Ordering::Relaxed);
        if let Some(p) = &self.inner {
            p.output_stored(output);
        }
    }
}

/// A preparation's counts as a job counts a video's: frames of all outputs planned, of the
/// outputs made now written, of the outputs found stored existing.
fn prepared_as_extracted(r: crate::PrepareReport) -> video_core::ExtractReport {
    let mut e = video_core::ExtractReport::default();
    e.frames_planned = r.manifest.frames;
    e.frames_written = r.frames_written;
    e.frames_existing = r.manifest.frames - r.frames_written;
    e.bytes_written = r.bytes_written;
    e
}

/// A running job's state.
struct Job {
    record: JobRecord,
    spec: JobSpec,
    sink: ObjectStoreSink,
    /// Frames written by videos still running (counted by [`CountFrames`]).
    stored_running: Arc<AtomicU64>,
    /// Frames of finished videos: planned, and done (written or found).
    finished_planned: u64,
    report: JobReport,
    failures: Vec<VideoFailure>,
    last_write: Option<Instant>,
    /// When [`poll_cancel_request`](Self::poll_cancel_request) last read the store.
    last_cancel_check: Option<Instant>,
}

impl Job {
    fn new(id: String, spec: JobSpec, sink: ObjectStoreSink) -> Self {
        let now = unix_ms();
        let record = JobRecord {
            format: layout::JOB_FORMAT.into(),
            format_version: layout::JOB_FORMAT_VERSION,
            job_id: id,
            dataset: spec.dataset.clone(),
            concurrency: spec.concurrency,
            state: JobState::Queued,
            videos_total: spec.videos.len() as u64,
            videos_done: 0,
            videos_failed: 0,
            frames_done: 0,
            frames_total: 0,
            videos: spec
                .videos
                .iter()
                .map(|v| VideoEntry {
                    source: v.source(),
                    folder_path: v.folder_path.clone(),
                    state: VideoState::Pending,
                    frames_planned: None,
                    frames_written: None,
                    frames_existing: None,
                    error: None,
                })
                .collect(),
            error: None,
            submitted_unix_ms: now,
            updated_unix_ms: now,
            finished_unix_ms: None,
            host: host_name(),
            pid: Some(std::process::id()),
            cancel_requested_unix_ms: None,
        };
        Self {
            record,
            spec,
            sink,
            stored_running: Arc::new(AtomicU64::new(0)),
            finished_planned: 0,
            report: JobReport::default(),
            failures: Vec::new(),
            last_write: None,
            last_cancel_check: None,
        }
    }

    /// Whether a [`request_cancel`] is stored, looked for at most every
    /// [`CANCEL_POLL_INTERVAL`] (one read); a failed read is logged and taken for no request.
    async fn poll_cancel_request(&mut self) -> bool {
        if self
            .last_cancel_check
            .is_some_and(|t| t.elapsed() < CANCEL_POLL_INTERVAL)
        {
            return false;
        }
        self.last_cancel_check = Some(Instant::now());
        match cancel_requested(&self.sink, &self.record.job_id).await {
            Ok(found) => found,
            Err(e) => {
                tracing::warn!(error = %e, "could not look for a cancel request");
                false
            }
        }
    }

    async fn write_record(&mut self) -> Result<()> {
        self.record.updated_unix_ms = unix_ms();
        let bytes = serde_json::to_vec_pretty(&self.record).map_err(|e| Error::Unsupported {
            uri: layout::job_key(&self.record.job_id),
            reason: format!("job record: {e}"),
        })?;
        self.last_write = Some(Instant::now());
        self.sink
            .write_dataset_file(&layout::job_key(&self.record.job_id), &bytes)
            .await
    }

    /// Rewrite the record unless it was written less than [`RECORD_INTERVAL`] ago; a failure
    /// is logged (the next write may succeed; the final one decides).
    async fn write_record_throttled(&mut self, force: bool) {
        if !force
            && self
                .last_write
                .is_some_and(|t| t.elapsed() < RECORD_INTERVAL)
        {
            return;
        }
        if let Err(e) = self.write_record().await {
            tracing::warn!(error = %e, "could not write the job's record");
        }
    }

    fn running(&mut self) -> JobStatus {
        let running = self.stored_running.load(Ordering::Relaxed);
        self.record.frames_done =
            self.report.frames_written + self.report.frames_existing + running;
        self.record.frames_total = self.finished_planned + running;
        JobStatus::Running {
            videos_done: self.record.videos_done,
            videos_total: self.record.videos_total,
            frames_done: self.record.frames_done,
            frames_total: self.record.frames_total,
        }
    }

    /// Video `index`'s task: its [`extract_frames`] call, in its span. Its frames count in
    /// `stored_running` while it runs.
    fn video_future(
        &self,
        index: usize,
    ) -> impl Future<Output = Result<video_core::ExtractReport>> + Send + 'static {
        let video = &self.spec.videos[index];
        let counter = Arc::new(AtomicU64::new(0));
        let progress = CountFrames {
            video: counter.clone(),
            job: self.stored_running.clone(),
            inner: self.spec.options.progress.clone(),
        };
        let mut options = self
            .spec
            .options
            .clone()
            .folder_path(video.folder_path.clone())
            .progress(Some(Arc::new(progress)));
        let (input, dataset) = (video.input.clone(), self.spec.dataset.clone());
        let annotation_source = video.annotation_source.clone();
        let job = self.stored_running.clone();
        let span = tracing::info_span!("video", path = %video.source(), index);
        let prepare = self.spec.prepare.clone().map(|p| {
            let inner = p.progress.clone();
            p.folder_path(video.folder_path.clone())
                .progress(Some(Arc::new(CountOutputFrames {
                    video: counter.clone(),
                    job: self.stored_running.clone(),
                    inner,
                })))
        });
        async move {
            let r = match (prepare, annotation_source) {
                (Some(p), _) => crate::prepare_video(input, dataset, p)
                    .await
                    .map(prepared_as_extracted),
                (None, annotation_source) => match annotation_source {
                    Some(source) => match source.read().await {
                        Ok((annotation, sized_to_video)) => {
                            // Provenance: the tree's keys over the caller's.
                            options.sample_info.extend(source.entry.provenance());
                            options = options.annotation(annotation);
                            options.annotation_sized_to_video = sized_to_video;
                            extract_frames(input, dataset, options).await
                        }
                        Err(e) => Err(e),
                    },
                    None => extract_frames(input, dataset, options).await,
                },
            };
            job.fetch_sub(counter.load(Ordering::Relaxed), Ordering::Relaxed);
            r
        }
        .instrument(span)
    }

    fn finish_video(&mut self, index: usize, result: Result<video_core::ExtractReport>) {
        let video = &self.spec.videos[index];
        let entry = &mut self.record.videos[index];
        self.record.videos_done += 1;
        match result {
            Ok(r) => {
                tracing::info!(
                    index,
                    written = r.frames_written,
                    existing = r.frames_existing,
                    "video done"
                );
                entry.state = VideoState::Succeeded;
                entry.frames_planned = Some(r.frames_planned);
                entry.frames_written = Some(r.frames_written);
                entry.frames_existing = Some(r.frames_existing);
                self.finished_planned += r.frames_planned;
                self.report.frames_planned += r.frames_planned;
                self.report.frames_written += r.frames_written;
                self.report.frames_existing += r.frames_existing;
                self.report.videos.push(VideoSummary {
                    index,
                    source: entry.source.clone(),
                    folder_path: video.folder_path.clone(),
                    frames_planned: r.frames_planned,
                    frames_written: r.frames_written,
                    frames_existing: r.frames_existing,
                });
            }
            Err(e) => {
                tracing::warn!(index, error = %e, "video failed");
                entry.state = VideoState::Failed;
                entry.error = Some(ErrorRecord::from(&e));
                self.record.videos_failed += 1;
                self.failures.push(VideoFailure {
                    index,
                    source: entry.source.clone(),
                    folder_path: video.folder_path.clone(),
                    error: Arc::new(e),
                });
            }
        }
    }

    async fn run(mut self, status: watch::Sender<JobStatus>, mut cancel: watch::Receiver<bool>) {
        let final_status = self.run_videos(&status, &mut cancel).await;
        self.record.state = match &final_status {
            JobStatus::Succeeded(_) => JobState::Succeeded,
            JobStatus::PartiallyFailed { .. } => JobState::PartiallyFailed,
            JobStatus::Cancelled => JobState::Cancelled,
            _ => JobState::Failed,
        };
        if let JobStatus::Failed(e) = &final_status {
            self.record.error = Some(ErrorRecord::from(e.as_ref()));
        }
        self.record.finished_unix_ms = Some(unix_ms());
        let final_status = match self.write_record().await {
            Ok(()) => final_status,
            Err(e) => JobStatus::Failed(Arc::new(e)),
        };
        tracing::info!(state = ?self.record.state, "job ended");
        status.send_replace(final_status);
    }

    async fn run_videos(
        &mut self,
        status: &watch::Sender<JobStatus>,
        cancel: &mut watch::Receiver<bool>,
    ) -> JobStatus {
        if let Err(e) = self.write_record().await {
            return JobStatus::Failed(Arc::new(e));
        }
        self.record.state = JobState::Running;
        status.send_replace(self.running());
        let mut tasks = JoinSet::new();
        let mut indices = std::collections::HashMap::new();
        let mut next = 0;
        let mut tick = tokio::time::interval(STATUS_INTERVAL);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            while tasks.len() < self.spec.concurrency && next < self.spec.videos.len() {
                let handle = tasks.spawn(self.video_future(next));
                indices.insert(handle.id(), next);
                next += 1;
            }
            if tasks.is_empty() {
                break;
            }
            tokio::select! {
                biased;
                () = cancelled(cancel) => {
                    // Aborts the videos' tasks and waits for them to be dropped.
                    tasks.shutdown().await;
                    tracing::info!("job cancelled");
                    return JobStatus::Cancelled;
                }
                joined = tasks.join_next_with_id() => {
                    let (id, result) = match joined {
                        None => continue,
                        Some(Ok((id, result))) => (id, result),
                        Some(Err(e)) => (e.id(), Err(Error::Panicked {
                            task: "video-dataset job video",
                            message: e.to_string(),
                        })),
                    };
                    let Some(index) = indices.remove(&id) else { continue };
                    self.finish_video(index, result);
                    status.send_replace(self.running());
                    self.write_record_throttled(true).await;
                }
                _ = tick.tick() => {
                    let s = self.running();
                    status.send_replace(s);
                    self.write_record_throttled(false).await;
                    if self.poll_cancel_request().await {
                        self.record.cancel_requested_unix_ms = Some(unix_ms());
                        tasks.shutdown().await;
                        tracing::info!("job cancelled by a request in the dataset");
                        return JobStatus::Cancelled;
                    }
                }
            }
        }
        let mut report = std::mem::take(&mut self.report);
        report.videos.sort_by_key(|v| v.index);
        if self.failures.is_empty() {
            JobStatus::Succeeded(report)
        } else {
            self.failures.sort_by_key(|f| f.index);
            JobStatus::PartiallyFailed {
                report,
                failures: std::mem::take(&mut self.failures),
            }
        }
    }
}
