//! `video-dataset`: the command-line tool (feature `cli`, on by default).
//!
//! ```text
//! video-dataset probe VIDEO [--stream N] [--full-scan] [--json]
//! video-dataset extract VIDEO DATASET [plan and image options] [--json] [--quiet]
//! video-dataset upload VIDEO DATASET [--folder F] [--json] [--quiet]
//! video-dataset sample SOURCE DATASET [plan and image options] [--include GLOB]...
//!     [--exclude GLOB]... [--datasets NAME,...] [--jobs N] [--json] [--quiet]
//! video-dataset prepare web VIDEO DATASET [--fps F] [prepare options] [--json] [--quiet]
//! video-dataset prepare split VIDEO DATASET (--max-seconds S | --max-frames N) [--exact]
//!     [--fps F] [prepare options] [--json] [--quiet]
//! video-dataset prepare fps VIDEO DATASET --fps F [prepare options] [--json] [--quiet]
//! video-dataset jobs list DATASET [--stale-after S] [--json]
//! video-dataset jobs status DATASET JOB_ID [--stale-after S] [--json]
//! video-dataset jobs wait DATASET JOB_ID [--timeout S] [--stale-after S] [--json]
//! video-dataset jobs cancel DATASET JOB_ID [--wait] [--timeout S] [--stale-after S] [--json]
//! video-dataset export webdataset DATASET [--folder F] [--recursive] [--shard-size BYTES]
//!     [--max-samples N] [--name NAME] [--work-dir DIR] [--json]
//! video-dataset export contact-sheets DATASET [--folder F] [--columns N] [--tile-width PX]
//!     [--max-tiles N] [--json]
//! ```
//!
//! `extract` takes the options of the `extract_frames` example, with the same meanings (both
//! read them through `examples/common/extract_args.rs`). Progress goes to stderr: a bar on a
//! terminal, a plain line at most once a second otherwise; the result goes to stdout, as text
//! or, with `--json`, as one JSON object. Exit statuses: see [`EXIT_STATUSES`].

use std::io::IsTerminal as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant, SystemTime};

use clap::{Args, CommandFactory as _, Parser, Subcommand};
use video_dataset::gif::GifDemuxer;
use video_dataset::storage::{ObjectStoreSink, UploadOptions, upload_video};
use video_dataset::{
    CancelOutcome, DEFAULT_STALE_AFTER, Demuxer, GstDemuxer, ImageFormat, JobRecord, JobSpec,
    JobState, JobStatus, Resize, TreeOptions, discover_tree, extract_frames, list_jobs, read_job,
    request_cancel, submit,
};

#[path = "../../../examples/common/exit.rs"]
mod exit;
#[path = "../../../examples/common/extract_args.rs"]
mod extract_args;
mod progress;

use extract_args::ExtractArgs;
use progress::Progress;

/// The exit statuses, as `--help` lists them.
const EXIT_STATUSES: &str = "\
Exit status:
  0    success
  1    error (one line on stderr, naming what failed)
  2    usage: bad arguments (one line and the usage on stderr)
  3    partially failed (`sample`, `jobs wait`: some videos failed, each named on stderr)
  4    poll timeout (`jobs wait`, `jobs cancel --wait` gave up; the job keeps running)
  5    cancelled (`sample`: by `jobs cancel`; `jobs wait`: the job ended cancelled; the same
       `sample` command again completes the work)
  6    nothing to cancel (`jobs cancel`: the job had already ended, or ended before it saw the
       request; its record on stdout)
  130  stopped by SIGINT, 143 by SIGTERM (nothing partial left; the same command again completes the work)";

/// Turn videos into frame-accurate image datasets.
#[derive(Debug, Parser)]
#[command(name = "video-dataset", version, after_help = EXIT_STATUSES)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Probe a video and print its metadata.
    ///
    /// The frame count comes from the container's index or a full scan; also the frame rate,
    /// size, rotation, codec, streams. An animated GIF (by content) is read with the pure-Rust
    /// GIF backend.
    #[command(after_help = EXIT_STATUSES)]
    Probe(ProbeCmd),
    /// Extract frames from one video into a dataset, frame-accurately.
    ///
    /// Images are stored as DATASET/{video}_{index:06}.{ext} (under DATASET/img with
    /// --annotations). Frames already in the dataset are not decoded again; the video's manifest
    /// DATASET/{video}.scene.json is written once all are there.
    #[command(after_help = EXIT_STATUSES)]
    Extract(Box<ExtractCmd>),
    /// Upload a video into a dataset.
    ///
    /// The video is probed, then streamed into DATASET/{folder}/{name} in parts, its sha256
    /// computed on the way.
    #[command(after_help = EXIT_STATUSES)]
    Upload(UploadCmd),
    /// Extract frames from every video of a tree, as one job.
    ///
    /// SOURCE is a directory, a store prefix URL or a Supervisely video project (each video
    /// with its own annotation); DATASET mirrors its folders. The job's id is printed on stderr
    /// at the start, its record kept in DATASET (see `jobs`). A video that fails is named on
    /// stderr with its error and the others go on (exit status 3). Stopped by SIGINT or SIGTERM,
    /// or by `jobs cancel` from any process (exit status 5), the job is cancelled; the same
    /// command again completes it.
    #[command(after_help = EXIT_STATUSES)]
    Sample(Box<SampleCmd>),
    /// The jobs of a dataset, from their records: list, status, wait, cancel.
    ///
    /// Any process that can read the dataset can follow a job, and cancel it: `jobs cancel`
    /// stores a request beside the job's record, which the running job reads about once a
    /// second. A running job rewrites its record every second (its heartbeat, with its host and
    /// process id); a record still `running` without a heartbeat for longer than --stale-after
    /// is shown as stale: its process probably died, and the same `sample` command again
    /// completes what it left.
    #[command(after_help = EXIT_STATUSES)]
    Jobs(JobsCmd),
    /// Prepare a video for annotation: a web-ready copy, segments, another frame rate.
    ///
    /// Outputs go to DATASET/{folder}/{video}.prepared/ with a manifest mapping every output
    /// frame to its source frame (index and time); a re-run skips the outputs already stored.
    #[command(after_help = EXIT_STATUSES)]
    Prepare(PrepareCmd),
    /// Outputs made from a dataset for training and review tools: WebDataset shards, contact
    /// sheets and an index page.
    #[command(after_help = EXIT_STATUSES)]
    Export(ExportCmd),
}

#[derive(Debug, Args)]
struct ExportCmd {
    #[command(subcommand)]
    action: ExportAction,
}

#[derive(Debug, Subcommand)]
enum ExportAction {
    /// WebDataset tar shards of the frames of a folder's finished videos.
    ///
    /// Each frame is a sample `{folder}/{video}_{index:06}` of two members: its image as stored
    /// (.jpg or .png) and a .json with its record, its annotation (or null) and its video's
    /// metadata. Shards go to DATASET/{folder}/webdataset/{name}-{n:06}.tar, then the index
    /// {name}.json listing them. The same dataset gives the same bytes.
    #[command(after_help = EXIT_STATUSES)]
    Webdataset(ExportWebdatasetCmd),
    /// A contact sheet per finished video of a folder, then the folder's index.html.
    ///
    /// A sheet, DATASET/{folder}/{video}.contact.png, is a grid of the video's stored frames,
    /// each labelled `#index  mm:ss.mmm`; DATASET/{folder}/index.html shows every video's facts
    /// and sheet and links each of its frames (a static page: open it in a browser).
    #[command(after_help = EXIT_STATUSES)]
    ContactSheets(ContactSheetsCmd),
}

#[derive(Debug, Args)]
struct ExportWebdatasetCmd {
    /// The dataset: a directory, or a store URL (`file:///abs/dir`, `s3://bucket/prefix`).
    dataset: String,
    /// The folder whose videos are exported (with --recursive, also those of its subfolders);
    /// the shards go to its `webdataset/` folder.
    #[arg(long, value_name = "F", default_value = "")]
    folder: String,
    /// Also export the videos of every folder under --folder.
    #[arg(long)]
    recursive: bool,
    /// The most bytes a shard holds (a sample larger than this gets a shard of its own).
    #[arg(long, value_name = "BYTES", default_value_t = video_dataset::export::webdataset::DEFAULT_SHARD_MAX_BYTES,
          value_parser = clap::value_parser!(u64).range(1..))]
    shard_size: u64,
    /// The most samples a shard holds.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    max_samples: Option<u64>,
    /// The export's name: shards NAME-000000.tar, ..., index NAME.json.
    #[arg(long, value_name = "NAME", default_value = video_dataset::export::webdataset::DEFAULT_NAME)]
    name: String,
    /// Where shards are built before they are stored [default: the temporary directory].
    #[arg(long, value_name = "DIR")]
    work_dir: Option<PathBuf>,
    /// Print the report (index key, shards with their samples and bytes) as one JSON object.
    #[arg(long)]
    json: bool,
}

#[derive(Debug, Args)]
struct ContactSheetsCmd {
    /// The dataset: a directory, or a store URL (`file:///abs/dir`, `s3://bucket/prefix`).
    dataset: String,
    /// The folder of the dataset whose videos get sheets.
    #[arg(long, value_name = "F", default_value = "")]
    folder: String,
    /// Tiles per row (1 to 64).
    #[arg(long, value_name = "N", default_value_t = 6)]
    columns: u32,
    /// Width of a tile in pixels (32 to 2048); its height follows the frames' aspect.
    #[arg(long, value_name = "PX", default_value_t = 240)]
    tile_width: u32,
    /// Show at most N frames per sheet, evenly spaced over a video's stored frames.
    #[arg(long, value_name = "N", default_value_t = 60)]
    max_tiles: usize,
    /// Print the sheets' keys and geometry and the index's key as one JSON object.
    #[arg(long)]
    json: bool,
}

#[derive(Debug, Args)]
struct PrepareCmd {
    #[command(subcommand)]
    action: PrepareAction,
}

#[derive(Debug, Subcommand)]
enum PrepareAction {
    /// A web-ready copy: H.264 High 4:2:0 8-bit in an MP4 with its index first, within
    /// 2048x2048, a key frame at least every 2 s, one output frame per source frame, audio
    /// copied or re-encoded to AAC.
    #[command(after_help = EXIT_STATUSES)]
    Web(PrepareWebCmd),
    /// Segments of at most --max-seconds or --max-frames: stream copies cut at key frames
    /// (boundaries move back to the last clean key frame; a segment without one is longer than
    /// asked), or with --exact re-encoded so that boundaries fall exactly where asked.
    #[command(after_help = EXIT_STATUSES)]
    Split(PrepareSplitCmd),
    /// A web-ready copy at another frame rate: output frame i is the source frame shown at
    /// i/F seconds.
    #[command(after_help = EXIT_STATUSES)]
    Fps(PrepareFpsCmd),
}

#[derive(Debug, Args)]
struct PrepareCommon {
    /// The video: a local file or a store URL.
    video: String,
    /// The dataset: a directory, or a store URL (`file:///abs/dir`, `s3://bucket/prefix`).
    dataset: String,
    /// The folder of the dataset the outputs go into.
    #[arg(long, value_name = "F", default_value = "")]
    folder: String,
    /// Fit re-encoded outputs within NxN (aspect kept, never upscaled); 0 keeps the size.
    #[arg(long, value_name = "N", default_value_t = 2048)]
    max_side: u32,
    /// Keep the stored pixels and write the rotation as metadata, instead of rotating.
    #[arg(long)]
    keep_rotation: bool,
    /// Leave the audio out.
    #[arg(long)]
    no_audio: bool,
    /// Refuse sources larger than this many bytes.
    #[arg(long, value_name = "BYTES", default_value_t = video_dataset::core::prepare::DEFAULT_MAX_BYTES)]
    limit_bytes: u64,
    /// Refuse sources with more frames than this.
    #[arg(long, value_name = "N", default_value_t = video_dataset::core::prepare::DEFAULT_MAX_FRAMES)]
    limit_frames: u64,
    /// Refuse sources longer than this many seconds.
    #[arg(long, value_name = "S")]
    limit_seconds: Option<f64>,
    /// Print the outputs' keys and frame maps as one JSON object.
    #[arg(long)]
    json: bool,
    /// No progress on stderr.
    #[arg(long, short)]
    quiet: bool,
}

#[derive(Debug, Args)]
struct PrepareWebCmd {
    #[command(flatten)]
    common: PrepareCommon,
    /// Convert to this frame rate (0: keep every source frame).
    #[arg(long, value_name = "F")]
    fps: Option<f64>,
}

#[derive(Debug, Args)]
#[command(group(clap::ArgGroup::new("length").required(true).args(["max_seconds", "max_frames"])))]
struct PrepareSplitCmd {
    #[command(flatten)]
    common: PrepareCommon,
    /// Segments hold the frames shown within this many seconds of their first.
    #[arg(long, value_name = "S")]
    max_seconds: Option<f64>,
    /// Segments hold at most this many frames.
    #[arg(long, value_name = "N")]
    max_frames: Option<u64>,
    /// Re-encode so that boundaries fall exactly where asked.
    #[arg(long)]
    exact: bool,
    /// Convert to this frame rate (with --exact only).
    #[arg(long, value_name = "F", requires = "exact")]
    fps: Option<f64>,
}

#[derive(Debug, Args)]
struct PrepareFpsCmd {
    #[command(flatten)]
    common: PrepareCommon,
    /// The frame rate.
    #[arg(long, value_name = "F")]
    fps: f64,
}

#[derive(Debug, Args)]
struct ProbeCmd {
    /// The video file.
    video: PathBuf,
    /// The video stream to probe (0 = the first).
    #[arg(long, value_name = "N")]
    stream: Option<usize>,
    /// Read every packet even where the MP4/MOV header's sample tables give the frame table.
    #[arg(long)]
    full_scan: bool,
    /// Print the metadata as one JSON object.
    #[arg(long)]
    json: bool,
}

#[derive(Debug, Args)]
struct ExtractCmd {
    /// The video: a file, or a store URL (`file:///abs/a.mp4`, `s3://bucket/a.mp4` with the
    /// `aws` feature), read by byte ranges.
    video: String,
    /// The dataset: a directory, or a store URL (`file:///abs/dir`, `s3://bucket/prefix`).
    dataset: String,
    #[command(flatten)]
    plan: PlanOpts,
    #[command(flatten)]
    image: ImageOpts,
    /// Print the report as one JSON object (the frames stored, counts, bytes).
    #[arg(long)]
    json: bool,
    /// No progress on stderr.
    #[arg(long, short)]
    quiet: bool,
}

/// Which frames: one of `--indices`, `--step/--start/--end`, `--fps` (default: `--fps 1`).
#[derive(Debug, Args)]
#[command(next_help_heading = "Plan")]
struct PlanOpts {
    /// These frame indices (comma-separated).
    #[arg(long, value_name = "I,J,...", value_parser = extract_args::parse_indices,
          conflicts_with_all = ["step", "start", "end", "fps", "start_seconds", "end_seconds"])]
    indices: Option<::std::vec::Vec<u64>>,
    /// Every N-th frame.
    #[arg(long, value_name = "N", conflicts_with = "fps",
          value_parser = clap::value_parser!(u64).range(1..))]
    step: Option<u64>,
    /// From frame N (with --step; default 0).
    #[arg(long, value_name = "N", conflicts_with = "fps")]
    start: Option<u64>,
    /// Up to frame N, excluded (with --step; default: the end).
    #[arg(long, value_name = "N", conflicts_with = "fps")]
    end: Option<u64>,
    /// F frames per second of video, at even times.
    #[arg(long, allow_negative_numbers = true, value_name = "F", value_parser = positive_fps)]
    fps: Option<f64>,
    /// From S seconds into the video (with --fps).
    #[arg(
        long,
        allow_negative_numbers = true,
        value_name = "S",
        conflicts_with = "step"
    )]
    start_seconds: Option<f64>,
    /// Up to S seconds into the video (with --fps).
    #[arg(
        long,
        allow_negative_numbers = true,
        value_name = "S",
        conflicts_with = "step"
    )]
    end_seconds: Option<f64>,
    /// At most N frames.
    #[arg(long, value_name = "N")]
    max_frames: Option<u64>,
}

/// Images, annotations and limits.
#[derive(Debug, Args)]
#[command(next_help_heading = "Images")]
struct ImageOpts {
    /// Image format: jpg or png [default: jpg].
    #[arg(long, value_name = "FORMAT", value_parser = extract_args::parse_format)]
    format: Option<ImageFormat>,
    /// JPEG quality, 1 to 100 [default: 90].
    #[arg(long, value_name = "Q")]
    quality: Option<u8>,
    /// Resize every frame to W x H.
    #[arg(long, value_name = "WxH", value_parser = extract_args::parse_resize)]
    resize: Option<Resize>,
    /// Resize every frame to fit within N x N, keeping its aspect ratio.
    #[arg(long, value_name = "N", value_parser = extract_args::parse_max_side,
          conflicts_with = "resize")]
    max_side: Option<Resize>,
    /// A Supervisely video annotation: its labels are copied onto the frames (images under
    /// DATASET/img, annotations under DATASET/ann, COCO instances in DATASET/coco_instances.json).
    #[arg(long, value_name = "ANN.json")]
    annotations: Option<String>,
    /// The Supervisely project meta of --annotations [default: inferred from the annotation].
    #[arg(long, value_name = "META.json", requires = "annotations")]
    meta: Option<String>,
    /// Keep only the frames with figures (with no plan option: every frame is sampled). With
    /// --annotations, or `sample` over a Supervisely video project.
    #[arg(long)]
    only_annotated: bool,
    /// Do not write the COCO instances file (with --annotations, or `sample` over a Supervisely
    /// video project).
    #[arg(long)]
    no_coco: bool,
    /// Fail when probing or decoding makes no progress for S seconds [default: 20].
    #[arg(long, allow_negative_numbers = true, value_name = "S", value_parser = |v: &str| extract_args::parse_seconds("--stall-timeout", v))]
    stall_timeout: Option<Duration>,
    /// Fail when probing, or decoding, takes longer than S seconds in all [default: none].
    #[arg(long, allow_negative_numbers = true, value_name = "S", value_parser = |v: &str| extract_args::parse_seconds("--deadline", v))]
    deadline: Option<Duration>,
    /// Put in each frame's record the md5 of its decoded planes as `ffmpeg -f framemd5` prints
    /// it for that frame (check a frame N with the N-th line of `ffmpeg -noautorotate -i VIDEO
    /// -map 0:v:0 -fps_mode passthrough -f framemd5 -`). Not for animated GIFs.
    #[arg(long)]
    framemd5: bool,
    /// Append each video's scene (its frames in order, their rate, its metadata) to the
    /// dataset's scenes, DATASET/.video-dataset/scenes/{folder__video}.json; a scene the
    /// dataset has is kept.
    #[arg(long)]
    scene: bool,
    /// As --scene, but a scene the dataset has is updated (new metadata, missing items).
    #[arg(long)]
    scene_update: bool,
}

/// `--fps F`: a positive number of frames per second.
fn positive_fps(v: &str) -> Result<f64, String> {
    v.parse::<f64>()
        .ok()
        .filter(|f| f.is_finite() && *f > 0.0)
        .ok_or_else(|| format!("--fps takes a positive number of frames per second, got {v:?}"))
}

impl ExtractCmd {
    /// The options as the `extract_frames` example holds them.
    fn extract_args(&self) -> ExtractArgs {
        Self::extract_args_of(&self.plan, &self.image)
    }

    fn extract_args_of(p: &PlanOpts, i: &ImageOpts) -> ExtractArgs {
        ExtractArgs {
            indices: p.indices.clone(),
            step: p.step,
            start: p.start,
            end: p.end,
            fps: p.fps,
            start_seconds: p.start_seconds,
            end_seconds: p.end_seconds,
            max_frames: p.max_frames,
            format: i.format,
            quality: i.quality,
            resize: i.max_side.or(i.resize),
            annotations: i.annotations.clone(),
            meta: i.meta.clone(),
            only_annotated: i.only_annotated,
            no_coco: i.no_coco,
            stall_timeout: i.stall_timeout,
            deadline: i.deadline,
            framemd5: i.framemd5,
            scene: i.scene,
            scene_update: i.scene_update,
            tree_annotations: false,
        }
    }
}

#[derive(Debug, Args)]
struct SampleCmd {
    /// The videos: a directory, a store prefix URL (`file:///abs/dir`, `s3://bucket/videos`),
    /// or a Supervisely video project.
    source: String,
    /// The dataset: a directory, or a store URL (`file:///abs/dir`, `s3://bucket/prefix`).
    dataset: String,
    #[command(flatten)]
    plan: PlanOpts,
    #[command(flatten)]
    image: ImageOpts,
    /// Only the files matching GLOB (relative to SOURCE; `**` crosses folders). Repeatable.
    #[arg(long, value_name = "GLOB")]
    include: Vec<String>,
    /// Not the files matching GLOB. Repeatable.
    #[arg(long, value_name = "GLOB")]
    exclude: Vec<String>,
    /// Only the files under these top-level folders (a Supervisely project's datasets).
    #[arg(long, value_name = "NAME,...", value_delimiter = ',')]
    datasets: Option<Vec<String>>,
    /// Videos processed at once [default: the number of cores].
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    jobs: Option<u64>,
    /// Print the job's final record as one JSON object.
    #[arg(long)]
    json: bool,
    /// No progress on stderr.
    #[arg(long, short)]
    quiet: bool,
}

impl SampleCmd {
    /// The plan and image options, as `extract` takes them.
    fn extract_args(&self) -> ExtractArgs {
        ExtractArgs {
            tree_annotations: true,
            ..ExtractCmd::extract_args_of(&self.plan, &self.image)
        }
    }
}

#[derive(Debug, Args)]
struct JobsCmd {
    #[command(subcommand)]
    action: JobsAction,
}

#[derive(Debug, Subcommand)]
enum JobsAction {
    /// The jobs of DATASET, in submission order: id, state, videos and frames.
    #[command(after_help = EXIT_STATUSES)]
    List {
        /// The dataset: a directory, or a store URL.
        dataset: String,
        /// Print the records as one JSON array (each with `"stale"`: see --stale-after).
        #[arg(long)]
        json: bool,
        /// Show a queued or running job whose record has not been rewritten for S seconds as
        /// stale (its process probably died) [default: 60].
        #[arg(long, value_name = "S", value_parser = non_negative_seconds)]
        stale_after: Option<Duration>,
    },
    /// The record of one job (its state, counts, and each failed video's error).
    #[command(after_help = EXIT_STATUSES)]
    Status {
        /// The dataset: a directory, or a store URL.
        dataset: String,
        /// The job's id (printed by `sample`).
        job_id: String,
        /// Print the record as one JSON object (with `"stale"`: see --stale-after).
        #[arg(long)]
        json: bool,
        /// Show a queued or running job whose record has not been rewritten for S seconds as
        /// stale (its process probably died) [default: 60].
        #[arg(long, value_name = "S", value_parser = non_negative_seconds)]
        stale_after: Option<Duration>,
    },
    /// Poll a job's record until it has ended; exit status as `sample` would have.
    ///
    /// A job whose process died stays `running` in its record: once its heartbeat has stopped
    /// for --stale-after, `wait` gives up with status 1; `--timeout` bounds the wait anyway.
    #[command(after_help = EXIT_STATUSES)]
    Wait {
        /// The dataset: a directory, or a store URL.
        dataset: String,
        /// The job's id (printed by `sample`).
        job_id: String,
        /// Give up after S seconds (exit status 4) [default: wait as long as it takes].
        #[arg(long, value_name = "S", value_parser = non_negative_seconds)]
        timeout: Option<Duration>,
        /// Print the final record as one JSON object.
        #[arg(long)]
        json: bool,
        /// Show a queued or running job whose record has not been rewritten for S seconds as
        /// stale (its process probably died) [default: 60].
        #[arg(long, value_name = "S", value_parser = non_negative_seconds)]
        stale_after: Option<Duration>,
    },
    /// Ask a running job to stop, from any process (the job may run on another machine).
    ///
    /// A request is stored beside the job's record; the job reads it within about a second,
    /// stops its videos in flight (what they stored stays), ends `cancelled`, and its `sample`
    /// exits with status 5; the same `sample` command again completes the work. Without
    /// --wait, returns once the request is stored (status 0). A job that had already ended is
    /// not touched (status 6, its record on stdout); an unknown job is an error (status 1).
    #[command(after_help = EXIT_STATUSES)]
    Cancel {
        /// The dataset: a directory, or a store URL.
        dataset: String,
        /// The job's id (printed by `sample`).
        job_id: String,
        /// Wait until the job has ended: status 0 when it ended cancelled, 6 when it ended
        /// otherwise first, 1 when its heartbeat stopped (see --stale-after).
        #[arg(long)]
        wait: bool,
        /// With --wait: give up after S seconds (exit status 4) [default: wait as long as it
        /// takes].
        #[arg(long, value_name = "S", value_parser = non_negative_seconds, requires = "wait")]
        timeout: Option<Duration>,
        /// Print the job's record as one JSON object (the final one with --wait).
        #[arg(long)]
        json: bool,
        /// Show a queued or running job whose record has not been rewritten for S seconds as
        /// stale (its process probably died) [default: 60].
        #[arg(long, value_name = "S", value_parser = non_negative_seconds)]
        stale_after: Option<Duration>,
    },
}

/// `--timeout S`, `--stale-after S`: a number of seconds, 0 or more.
fn non_negative_seconds(v: &str) -> Result<Duration, String> {
    v.parse::<f64>()
        .ok()
        .and_then(|s| Duration::try_from_secs_f64(s).ok())
        .ok_or_else(|| format!("expected a number of seconds, 0 or more, got {v:?}"))
}

#[derive(Debug, Args)]
struct UploadCmd {
    /// The video file.
    video: PathBuf,
    /// The dataset: a directory, or a store URL (`file:///abs/dir`, `s3://bucket/prefix`).
    dataset: String,
    /// The folder of the dataset the video goes into.
    #[arg(long, value_name = "F", default_value = "raw")]
    folder: String,
    /// Print what was stored as one JSON object.
    #[arg(long)]
    json: bool,
    /// No progress on stderr.
    #[arg(long, short)]
    quiet: bool,
}

fn main() -> ExitCode {
    // Bad arguments: clap prints one line and the usage, and exits with status 2.
    let cli = Cli::parse();
    if let Command::Extract(cmd) = &cli.command {
        // Options that do not go together, beyond what clap checks: a usage error too.
        if let Err(e) = cmd.extract_args().plan() {
            usage_error("extract", &e.to_string());
        }
    }
    if let Command::Sample(cmd) = &cli.command {
        if cmd.image.annotations.is_some() {
            usage_error(
                "sample",
                "--annotations does not go with sample: each video of a Supervisely project \
                 brings its own",
            );
        }
        if let Err(e) = cmd.extract_args().plan() {
            usage_error("sample", &e.to_string());
        }
    }
    let rt = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: {}", exit::chain(&e));
            return ExitCode::from(1);
        }
    };
    if let Command::Sample(cmd) = cli.command {
        // `sample` handles the signals itself: it cancels its job and waits for it.
        let code = rt.block_on(sample(*cmd));
        drop(rt);
        return code;
    }
    let outcome = rt.block_on(async {
        tokio::select! {
            r = run(cli.command) => Ok(r),
            signal = exit::interrupted() => Err(signal),
        }
    });
    // Waits for blocking work in flight (local file writes) before the process ends: each ends
    // whole or removes its staging file, so a stop leaves nothing partial.
    drop(rt);
    match outcome {
        Ok(Ok(code)) => code,
        Ok(Err(e)) => {
            eprintln!("error: {}", exit::chain(&*e));
            ExitCode::from(1)
        }
        Err((name, status)) => {
            eprintln!("error: interrupted by {name}; run the same command again to complete");
            ExitCode::from(status as u8)
        }
    }
}

/// Print `message` as clap prints a usage error of `subcommand` (one line, then the usage) and
/// exit with status 2.
fn usage_error(subcommand: &str, message: &str) -> ! {
    let mut cli = Cli::command();
    cli.build();
    let mut cmd = cli.find_subcommand_mut(subcommand).cloned().unwrap_or(cli);
    cmd.error(clap::error::ErrorKind::ArgumentConflict, message)
        .exit()
}

async fn run(command: Command) -> anyhow::Result<ExitCode> {
    match command {
        Command::Probe(cmd) => probe(cmd).await.map(|()| ExitCode::SUCCESS),
        Command::Extract(cmd) => extract(*cmd).await.map(|()| ExitCode::SUCCESS),
        Command::Upload(cmd) => upload(cmd).await.map(|()| ExitCode::SUCCESS),
        // Handled in `main`.
        Command::Sample(_) => Ok(ExitCode::from(1)),
        Command::Jobs(cmd) => jobs(cmd.action).await,
        Command::Prepare(cmd) => prepare(cmd.action).await.map(|()| ExitCode::SUCCESS),
        Command::Export(cmd) => export(cmd.action).await.map(|()| ExitCode::SUCCESS),
    }
}

async fn export(action: ExportAction) -> anyhow::Result<()> {
    match action {
        ExportAction::Webdataset(cmd) => export_webdataset(cmd).await,
        ExportAction::ContactSheets(cmd) => contact_sheets(cmd).await,
    }
}

async fn export_webdataset(cmd: ExportWebdatasetCmd) -> anyhow::Result<()> {
    use video_dataset::export::{WebDatasetOptions, write_webdataset};
    let started = Instant::now();
    let sink = ObjectStoreSink::from_url(&cmd.dataset)?;
    let videos = if cmd.recursive {
        sink.video_manifests_under(&cmd.folder).await?
    } else {
        sink.video_manifests(&cmd.folder).await?
    };
    let options = WebDatasetOptions::default()
        .folder(cmd.folder.clone())
        .name(cmd.name.clone())
        .shard_max_bytes(cmd.shard_size)
        .shard_max_samples(cmd.max_samples)
        .work_dir(cmd.work_dir.clone());
    let report = write_webdataset(&sink, &videos, &options).await?;
    if cmd.json {
        emit(&serde_json::to_string_pretty(&report)?)
    } else {
        emit(&format!(
            "{}: {} videos, {} samples ({} annotated) in {} shards, {} bytes, {:.1} s",
            cmd.dataset,
            videos.len(),
            report.samples,
            report.annotated,
            report.shards.len(),
            report.bytes,
            started.elapsed().as_secs_f64()
        ))
    }
}

async fn contact_sheets(cmd: ContactSheetsCmd) -> anyhow::Result<()> {
    use video_dataset::export::{ContactSheetOptions, write_contact_sheets};
    let sink = ObjectStoreSink::from_url(&cmd.dataset)?;
    let videos = sink.video_manifests(&cmd.folder).await?;
    if videos.is_empty() {
        anyhow::bail!(
            "{}: no finished video in folder {:?} (no {{video}}.scene.json there)",
            cmd.dataset,
            cmd.folder
        );
    }
    let options = ContactSheetOptions::default()
        .columns(cmd.columns)
        .tile_width(cmd.tile_width)
        .max_tiles(cmd.max_tiles);
    let done = write_contact_sheets(&sink, &cmd.folder, &videos, &options).await?;
    if cmd.json {
        emit(&serde_json::to_string_pretty(&done)?)
    } else {
        let mut lines: Vec<String> = done
            .sheets
            .iter()
            .map(|s| {
                format!(
                    "{}: {} of {} frames, {}x{}",
                    s.key,
                    s.tiles.len(),
                    s.frames_stored,
                    s.width,
                    s.height
                )
            })
            .collect();
        lines.push(done.index_key);
        emit(&lines.join("\n"))
    }
}

async fn prepare(action: PrepareAction) -> anyhow::Result<()> {
    use video_dataset::core::prepare::{Preparation, PrepareLimits, SplitBy, SplitMode};
    let (common, preparation) = match action {
        PrepareAction::Web(c) => (c.common, Preparation::web().fps(c.fps)),
        PrepareAction::Fps(c) => (c.common, Preparation::web().fps(Some(c.fps))),
        PrepareAction::Split(c) => {
            let by = match (c.max_seconds, c.max_frames) {
                (Some(s), _) => SplitBy::Seconds(s),
                (None, Some(n)) => SplitBy::Frames(n),
                (None, None) => unreachable!("clap requires one of them"),
            };
            let mode = if c.exact {
                SplitMode::Exact
            } else {
                SplitMode::KeyFrames
            };
            (c.common, Preparation::split(by, mode).fps(c.fps))
        }
    };
    let preparation = preparation
        .max_side((common.max_side != 0).then_some(common.max_side))
        .rotation_applied(!common.keep_rotation);
    let limits = PrepareLimits::default()
        .max_bytes(Some(common.limit_bytes))
        .max_frames(Some(common.limit_frames))
        .max_seconds(common.limit_seconds);
    let progress = Progress::outputs(common.quiet);
    let options = video_dataset::PrepareOptions::new(preparation)
        .limits(limits)
        .folder_path(common.folder.clone())
        .transcode(video_dataset::gst::TranscodeOptions::default().audio(!common.no_audio))
        .progress(progress.clone().map(|p| p as _));
    let started = Instant::now();
    let report =
        video_dataset::prepare_video(common.video.as_str(), &common.dataset, options).await;
    if let Some(p) = &progress {
        p.finish();
    }
    let report = report?;
    if common.json {
        emit(&serde_json::to_string_pretty(&prepared_json(&report))?)
    } else {
        let m = &report.manifest;
        emit(&format!(
            "{} -> {}: {} ({} outputs, {} frames; {} made, {} already there), {:.1} s",
            common.video,
            common.dataset,
            report.manifest_key,
            m.outputs.len(),
            m.frames,
            report.outputs_written,
            report.outputs_skipped,
            started.elapsed().as_secs_f64()
        ))
    }
}

/// The demuxer of a local video, by content: an animated GIF with the pure-Rust GIF backend,
/// the rest with GStreamer.
fn open_demuxer(
    path: &Path,
    stream: Option<usize>,
    full_scan: bool,
) -> video_dataset::Result<Box<dyn Demuxer>> {
    Ok(
        if video_dataset::gif::is_gif_file(path) && stream.unwrap_or(0) == 0 {
            Box::new(GifDemuxer::open(path)?)
        } else {
            let mut b = GstDemuxer::builder(path).with_header_index(!full_scan);
            if let Some(s) = stream {
                b = b.with_video_stream(s);
            }
            Box::new(b.build()?)
        },
    )
}

async fn probe(cmd: ProbeCmd) -> anyhow::Result<()> {
    let mut demuxer = open_demuxer(&cmd.video, cmd.stream, cmd.full_scan)?;
    let m = demuxer.probe().await?;
    let json = extract_args::metadata_json(&m);
    if cmd.json {
        emit(&json.to_string())
    } else {
        // One `name  value` line per known field.
        let fields = json.as_object().cloned().unwrap_or_default();
        let width = fields.keys().map(String::len).max().unwrap_or(0);
        let lines: Vec<String> = fields
            .iter()
            .filter(|(_, v)| !v.is_null())
            .map(|(name, value)| match value {
                serde_json::Value::String(s) => format!("{name:width$}  {s}"),
                v => format!("{name:width$}  {v}"),
            })
            .collect();
        emit(&lines.join("\n"))
    }
}

async fn extract(cmd: ExtractCmd) -> anyhow::Result<()> {
    let started = Instant::now();
    let progress = Progress::frames(cmd.quiet);
    let options = cmd
        .extract_args()
        .options()?
        .progress(progress.clone().map(|p| p as _));
    let report = extract_frames(cmd.video.as_str(), &cmd.dataset, options).await;
    if let Some(p) = &progress {
        p.finish();
    }
    let report = report?;
    if cmd.json {
        let summary =
            extract_args::summary_json(&cmd.video, &cmd.dataset, &report, started.elapsed());
        emit(&serde_json::to_string_pretty(&summary)?)
    } else {
        emit(&format!(
            "{} -> {}: {} frames planned, {} written, {} already there, {} bytes, {:.1} s",
            cmd.video,
            cmd.dataset,
            report.frames_planned,
            report.frames_written,
            report.frames_existing,
            report.bytes_written,
            started.elapsed().as_secs_f64()
        ))
    }
}

async fn upload(cmd: UploadCmd) -> anyhow::Result<()> {
    let sink = ObjectStoreSink::from_url(&cmd.dataset)?;
    let size = std::fs::metadata(&cmd.video).map(|m| m.len()).ok();
    let progress = Progress::bytes(cmd.quiet, size);
    let mut on_bytes = |sent: u64| {
        if let Some(p) = &progress {
            p.bytes_sent(sent);
        }
    };
    let up = upload_video(
        &sink,
        &cmd.video,
        &cmd.folder,
        |path: &Path| open_demuxer(path, None, false),
        UploadOptions::default().progress(&mut on_bytes),
    )
    .await;
    if let Some(p) = &progress {
        p.finish();
    }
    let up = up?;
    if cmd.json {
        emit(&extract_args::uploaded_json(&up).to_string())
    } else {
        emit(&format!(
            "{} -> {}: {} ({} bytes, {}, {} frames)",
            cmd.video.display(),
            cmd.dataset,
            up.key,
            up.size,
            up.content_hash,
            up.metadata.frame_count
        ))
    }
}

/// The outputs of a preparation and their frame maps (output index → source index, and the
/// output times in seconds), as `prepare --json` prints them.
fn prepared_json(report: &video_dataset::PrepareReport) -> serde_json::Value {
    let m = &report.manifest;
    let outputs: Vec<serde_json::Value> = m
        .outputs
        .iter()
        .map(|o| {
            serde_json::json!({
                "key": o.key,
                "frames": o.frames,
                "global_frame_offset": o.global_frame_offset,
                "pts_offset": o.pts_offset,
                "width": o.width,
                "height": o.height,
                "bytes": o.bytes,
                "encoder": o.encoder,
                "audio": o.audio,
                "rotation_metadata": o.rotation_metadata,
                "longer_than_asked": o.longer_than_asked,
                "source_index": o.map.frames.iter().map(|f| f.source_index).collect::<Vec<_>>(),
                "pts": o.map.frames.iter().map(|f| f.pts.as_secs_f64()).collect::<Vec<_>>(),
            })
        })
        .collect();
    serde_json::json!({
        "manifest": report.manifest_key,
        "tag": m.preparation.tag(),
        "source": m.source.location,
        "source_frames": m.metadata.frame_count,
        "frames": m.frames,
        "outputs_written": report.outputs_written,
        "outputs_skipped": report.outputs_skipped,
        "outputs": outputs,
    })
}

/// Write `text` and a newline to stdout. A reader that went away (a closed pipe, as with
/// `| head`) is not an error: the work is done, there is just no one to tell.
fn emit(text: &str) -> anyhow::Result<()> {
    use std::io::Write as _;
    let mut out = std::io::stdout().lock();
    match writeln!(out, "{text}").and_then(|()| out.flush()) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => {
            Err(anyhow::Error::new(e).context("writing to stdout"))
        }
        _ => Ok(()),
    }
}

/// Whether progress is drawn as a bar (stderr is a terminal) or written as plain lines.
fn stderr_is_terminal() -> bool {
    std::io::stderr().is_terminal()
}

/// `sample`: discover the tree, run it as one job, report; the exit status.
async fn sample(cmd: SampleCmd) -> ExitCode {
    let fail = |e: &(dyn std::error::Error + 'static)| {
        eprintln!("error: {}", exit::chain(e));
        ExitCode::from(1)
    };
    let mut tree_options = TreeOptions::default();
    for g in &cmd.include {
        tree_options = tree_options.include(g.clone());
    }
    for g in &cmd.exclude {
        tree_options = tree_options.exclude(g.clone());
    }
    if let Some(names) = &cmd.datasets {
        tree_options = tree_options.datasets(names.iter().cloned());
    }
    let options = match cmd.extract_args().options() {
        Ok(o) => o,
        Err(e) => return fail(&*e),
    };
    let tree = tokio::select! {
        t = discover_tree(cmd.source.as_str(), &tree_options) => t,
        (name, status) = exit::interrupted() => return interrupted(name, status),
    };
    let tree = match tree {
        Ok(t) => t,
        Err(e) => return fail(&e),
    };
    let progress = Progress::videos(cmd.quiet, tree.entries.len() as u64);
    let mut spec = JobSpec::from_tree(cmd.dataset.clone(), &tree)
        .options(options.progress(progress.clone().map(|p| p as _)));
    if let Some(n) = cmd.jobs {
        spec = spec.concurrency(usize::try_from(n).unwrap_or(usize::MAX));
    }
    let job = match submit(spec) {
        Ok(j) => j,
        Err(e) => return fail(&e),
    };
    // The id is told once the job's record is stored (its status leaves `Queued` after the
    // first write): `jobs status ID` from another process then finds it.
    let _ = job
        .subscribe()
        .wait_for(|s| !matches!(s, JobStatus::Queued))
        .await;
    eprintln!(
        "job {} ({} videos from {} into {})",
        job.id(),
        tree.entries.len(),
        cmd.source,
        cmd.dataset
    );
    let mut rx = job.subscribe();
    let follow = async {
        loop {
            let status = rx.borrow_and_update().clone();
            if let JobStatus::Running { videos_done, .. } = status
                && let Some(p) = &progress
            {
                p.videos_done(videos_done);
            }
            if status.is_final() {
                return status;
            }
            if rx.changed().await.is_err() {
                return job.status();
            }
        }
    };
    let outcome = tokio::select! {
        s = follow => Ok(s),
        signal = exit::interrupted() => Err(signal),
    };
    if let Some(p) = &progress {
        p.finish();
    }
    let status = match outcome {
        Ok(s) => s,
        Err((name, status)) => {
            // Stop the videos in flight (what they stored stays) and let the job write its
            // record as cancelled, so the same command again completes it.
            job.cancel();
            let _ = job.subscribe().wait_for(JobStatus::is_final).await;
            return interrupted(name, status);
        }
    };
    let code = match &status {
        JobStatus::Succeeded(_) => ExitCode::SUCCESS,
        JobStatus::PartiallyFailed { failures, .. } => {
            for f in failures {
                eprintln!("failed: {}: {}", f.source, exit::chain(&*f.error));
            }
            ExitCode::from(3)
        }
        JobStatus::Failed(e) => return fail(&**e),
        JobStatus::Cancelled => {
            eprintln!(
                "error: job {} cancelled by a request (`video-dataset jobs cancel`); run the same \
                 command again to complete",
                job.id()
            );
            return ExitCode::from(5);
        }
        _ => {
            eprintln!("error: job {} ended as {status:?}", job.id());
            return ExitCode::from(1);
        }
    };
    let printed = if cmd.json {
        match read_job(&cmd.dataset, job.id()).await {
            Ok(record) => serde_json::to_string_pretty(&record)
                .map_err(anyhow::Error::new)
                .and_then(|s| emit(&s)),
            Err(e) => Err(e.into()),
        }
    } else {
        let (report, failed) = match &status {
            JobStatus::Succeeded(r) => (r, 0),
            JobStatus::PartiallyFailed { report, failures } => (report, failures.len()),
            _ => unreachable!("only final, successful statuses get here"),
        };
        emit(&format!(
            "job {}: {} -> {}: {} videos ({} failed), {} frames planned, {} written, {} already there",
            job.id(),
            cmd.source,
            cmd.dataset,
            report.videos.len() + failed,
            failed,
            report.frames_planned,
            report.frames_written,
            report.frames_existing,
        ))
    };
    match printed {
        Ok(()) => code,
        Err(e) => fail(&*e),
    }
}

/// The message and status of a stop by SIGINT or SIGTERM.
fn interrupted(name: &str, status: i32) -> ExitCode {
    eprintln!("error: interrupted by {name}; run the same command again to complete");
    ExitCode::from(u8::try_from(status).unwrap_or(1))
}

/// `jobs list|status|wait|cancel`.
async fn jobs(action: JobsAction) -> anyhow::Result<ExitCode> {
    match action {
        JobsAction::List {
            dataset,
            json,
            stale_after,
        } => {
            let stale_after = stale_after.unwrap_or(DEFAULT_STALE_AFTER);
            let records = list_jobs(&dataset).await?;
            if json {
                let docs: Vec<serde_json::Value> = records
                    .iter()
                    .map(|r| record_json(r, stale_after))
                    .collect::<anyhow::Result<_>>()?;
                emit(&serde_json::to_string_pretty(&docs)?)?;
            } else {
                let lines: Vec<String> = records
                    .iter()
                    .map(|r| record_line(r, stale_after))
                    .collect();
                if !lines.is_empty() {
                    emit(&lines.join("\n"))?;
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        JobsAction::Status {
            dataset,
            job_id,
            json,
            stale_after,
        } => {
            let record = read_job(&dataset, &job_id).await?;
            print_record(&record, json, stale_after.unwrap_or(DEFAULT_STALE_AFTER))?;
            Ok(ExitCode::SUCCESS)
        }
        JobsAction::Wait {
            dataset,
            job_id,
            timeout,
            json,
            stale_after,
        } => {
            let stale_after = stale_after.unwrap_or(DEFAULT_STALE_AFTER);
            let record = match poll_until_ended(&dataset, &job_id, timeout, stale_after).await? {
                Ok(r) => r,
                Err(code) => return Ok(code),
            };
            print_record(&record, json, stale_after)?;
            Ok(match record.state {
                JobState::Succeeded => ExitCode::SUCCESS,
                JobState::PartiallyFailed => {
                    for v in &record.videos {
                        if let Some(e) = &v.error {
                            eprintln!("failed: {}: {}", v.source, e.message);
                        }
                    }
                    ExitCode::from(3)
                }
                JobState::Failed => {
                    let why = record.error.as_ref().map_or("", |e| e.message.as_str());
                    eprintln!("error: job {job_id} failed: {why}");
                    ExitCode::from(1)
                }
                JobState::Cancelled => {
                    eprintln!("error: job {job_id} ended cancelled");
                    ExitCode::from(5)
                }
                other => {
                    eprintln!("error: job {job_id} ended {}", state_name(other));
                    ExitCode::from(1)
                }
            })
        }
        JobsAction::Cancel {
            dataset,
            job_id,
            wait,
            timeout,
            json,
            stale_after,
        } => {
            let stale_after = stale_after.unwrap_or(DEFAULT_STALE_AFTER);
            let record = match request_cancel(&dataset, &job_id).await {
                Ok(CancelOutcome::Requested(r)) => r,
                Ok(CancelOutcome::AlreadyEnded(r)) => {
                    print_record(&r, json, stale_after)?;
                    eprintln!(
                        "job {job_id} had already ended ({}): nothing to cancel",
                        state_name(r.state)
                    );
                    return Ok(ExitCode::from(6));
                }
                Err(e @ video_dataset::Error::NotFound { .. }) => {
                    return Err(anyhow::Error::new(e)
                        .context(format!("no job {job_id} in the dataset {dataset}")));
                }
                Err(e) => return Err(e.into()),
                Ok(other) => anyhow::bail!("job {job_id}: unexpected answer {other:?}"),
            };
            if record.is_stale(SystemTime::now(), stale_after) {
                eprintln!(
                    "warning: job {job_id} is {}: no process may read the request",
                    state_text(&record, stale_after)
                );
            }
            eprintln!("cancel of job {job_id} requested");
            if !wait {
                print_record(&record, json, stale_after)?;
                return Ok(ExitCode::SUCCESS);
            }
            let record = match poll_until_ended(&dataset, &job_id, timeout, stale_after).await? {
                Ok(r) => r,
                Err(code) => return Ok(code),
            };
            print_record(&record, json, stale_after)?;
            if record.state == JobState::Cancelled {
                Ok(ExitCode::SUCCESS)
            } else {
                eprintln!(
                    "job {job_id} ended {} before it saw the request: nothing cancelled",
                    state_name(record.state)
                );
                Ok(ExitCode::from(6))
            }
        }
    }
}

/// Poll the record of `job_id` until the job has ended: its final record, or the exit status
/// of giving up (4 after `timeout`, 1 once its heartbeat has stopped for `stale_after`), the
/// reason said on stderr.
async fn poll_until_ended(
    dataset: &str,
    job_id: &str,
    timeout: Option<Duration>,
    stale_after: Duration,
) -> anyhow::Result<Result<JobRecord, ExitCode>> {
    let started = Instant::now();
    loop {
        let record = read_job(dataset, job_id).await?;
        if record.state.is_final() {
            return Ok(Ok(record));
        }
        if record.is_stale(SystemTime::now(), stale_after) {
            eprintln!(
                "error: job {job_id} will not end: {}",
                state_text(&record, stale_after)
            );
            return Ok(Err(ExitCode::from(1)));
        }
        let left = timeout.map(|t| t.saturating_sub(started.elapsed()));
        if left.is_some_and(|l| l.is_zero()) {
            eprintln!(
                "error: job {job_id} has not ended after {:.1} s ({}; it keeps running)",
                started.elapsed().as_secs_f64(),
                state_name(record.state)
            );
            return Ok(Err(ExitCode::from(4)));
        }
        let pause = Duration::from_millis(500);
        tokio::time::sleep(left.map_or(pause, |l| l.min(pause))).await;
    }
}

/// A job state as its record spells it (`partially_failed`).
fn state_name(state: JobState) -> String {
    serde_json::to_value(state)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_else(|| format!("{state:?}"))
}

/// The state, and for a stale record why it is taken for dead: `running (no heartbeat for 2m 5s;
/// process 1234 on host x probably died)`.
fn state_text(r: &JobRecord, stale_after: Duration) -> String {
    let name = state_name(r.state);
    let now = SystemTime::now();
    if !r.is_stale(now, stale_after) {
        return name;
    }
    let writer = match (r.pid, &r.host) {
        (Some(pid), Some(host)) => format!("process {pid} on host {host}"),
        (Some(pid), None) => format!("process {pid}"),
        _ => "its process".to_owned(),
    };
    format!(
        "{name} (no heartbeat for {}; {writer} probably died)",
        human_duration(r.heartbeat_age(now))
    )
}

/// `45s`, `2m 5s`, `3h 12m`.
fn human_duration(d: Duration) -> String {
    let s = d.as_secs();
    match s {
        0..60 => format!("{s}s"),
        60..3600 => format!("{}m {}s", s / 60, s % 60),
        _ => format!("{}h {}m", s / 3600, s % 3600 / 60),
    }
}

/// One line about a job: id, state, videos, frames.
fn record_line(r: &JobRecord, stale_after: Duration) -> String {
    format!(
        "{}  {}  {}/{} videos ({} failed)  {}/{} frames",
        r.job_id,
        state_text(r, stale_after),
        r.videos_done,
        r.videos_total,
        r.videos_failed,
        r.frames_done,
        r.frames_total
    )
}

/// A record as JSON, with `"stale"` ([`JobRecord::is_stale`] now, after `stale_after`).
fn record_json(r: &JobRecord, stale_after: Duration) -> anyhow::Result<serde_json::Value> {
    let mut doc = serde_json::to_value(r)?;
    if let Some(o) = doc.as_object_mut() {
        o.insert(
            "stale".into(),
            r.is_stale(SystemTime::now(), stale_after).into(),
        );
    }
    Ok(doc)
}

/// A job's record: JSON, or its line and each failed video's.
fn print_record(record: &JobRecord, json: bool, stale_after: Duration) -> anyhow::Result<()> {
    if json {
        return emit(&serde_json::to_string_pretty(&record_json(
            record,
            stale_after,
        )?)?);
    }
    let mut lines = vec![record_line(record, stale_after)];
    for v in &record.videos {
        if let Some(e) = &v.error {
            lines.push(format!("  failed: {}: {}", v.source, e.message));
        }
    }
    emit(&lines.join("\n"))
}
