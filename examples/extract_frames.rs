//! Extract frames from a video into a folder of images, frame-accurately.
//!
//! ```text
//! {filesrc} - {parsebin} - {decoder} - {videoflip} - {videoconvert} - {videoscale} - {appsink}
//!     -> SamplingPlan -> ImageEncoder (JPEG/PNG) -> ObjectStoreSink: OUT/{video}_{index:06}.{ext}
//! (all through `video_dataset::extract_frames`)
//! ```
//!
//! ```text
//! cargo run --release --example extract_frames -- VIDEO OUT
//!     [--indices 3,17,42 | --step N [--start N] [--end N] | --fps F [--start-seconds S] [--end-seconds S]]
//!     [--max-frames N] [--format jpg|png] [--quality Q] [--resize WxH | --max-side N]
//!     [--annotations ANN.json [--meta META.json] [--only-annotated] [--no-coco]] [--progress]
//!     [--stall-timeout S] [--deadline S] [--framemd5] [--scene | --scene-update]
//! ```
//!
//! VIDEO is a file or a store URL (`s3://bucket/videos/a.mp4` with the `aws` feature,
//! `file:///abs/a.mp4`): a stored video is read by byte ranges, never downloaded whole, and the
//! summary's `source_bytes_read` says how much of it was fetched. OUT is a directory or a store
//! URL (`file:///abs/dir`, `memory:///`, `s3://bucket/prefix` with the `aws` feature). Frames already in OUT are not decoded again; the video's manifest
//! `OUT/{video}.scene.json` is written once all frames are there. Default plan: 1 frame per
//! second, JPEG. With no arguments it generates a 10-second sample
//! clip (videotestsrc + x264enc) and extracts from it into `./dataset/`. Prints a JSON summary.
//!
//! With `--annotations ANN.json` (a Supervisely video annotation; with `--meta META.json` its
//! project meta, otherwise the classes and tag metas are inferred from the annotation), the
//! labels are copied onto the frames: images go to `OUT/img/`, each frame's Supervisely image
//! annotation to `OUT/ann/{image}.json`, the project meta to `OUT/meta.json` and the COCO
//! instances of the folder to `OUT/coco_instances.json` (not with `--no-coco`).
//! `--only-annotated` keeps only frames with figures; without a plan option it then samples
//! every frame (instead of 1 per second) and keeps the annotated ones.
//!
//! `--stall-timeout S` (default 20) fails the job when probing or decoding makes no progress for
//! S seconds; `--deadline S` (default none) when probing, or decoding, takes longer than S
//! seconds in all.
//!
//! `--framemd5` puts in each frame's record the md5 of its decoded planes as `ffmpeg -f framemd5`
//! prints it (`ffmpeg -noautorotate -i VIDEO -map 0:v:0 -fps_mode passthrough -f framemd5 -`).
//! `--scene` appends the video's scene (its frames in order, their rate, its metadata) to the
//! dataset's scenes (`OUT/.video-dataset/scenes/{video}.json`), keeping one OUT has;
//! `--scene-update` updates it instead.
//! `--progress` prints `stored INDEX` on stderr as each frame is stored. SIGINT and SIGTERM stop
//! the job cleanly (no partial or staging file left; exit status 130 or 143); the same command
//! again completes it.

use std::time::Instant;

use video_dataset::core::FrameRecord;
use video_dataset::{ExtractProgress, extract_frames};

#[path = "common/mod.rs"]
mod common;
use common::extract_args::{
    ExtractArgs, parse_format, parse_indices, parse_max_side, parse_resize, parse_seconds,
    summary_json,
};

#[derive(Debug, Default)]
struct Args {
    video: Option<String>,
    out: Option<String>,
    /// The plan and image options (shared with `video-dataset extract`).
    extract: ExtractArgs,
    progress: bool,
}

/// `--progress`: one line per stored frame on stderr.
#[derive(Debug)]
struct PrintProgress;

impl ExtractProgress for PrintProgress {
    fn frame_stored(&self, record: &FrameRecord) {
        eprintln!("stored {}", record.index);
    }
}

fn parse_args() -> anyhow::Result<Args> {
    let mut a = Args::default();
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        let mut val = |name: &str| {
            it.next()
                .ok_or_else(|| anyhow::anyhow!("{name} needs a value"))
        };
        let x = &mut a.extract;
        match arg.as_str() {
            "--indices" => {
                x.indices = Some(parse_indices(&val("--indices")?).map_err(anyhow::Error::msg)?)
            }
            "--step" => x.step = Some(val("--step")?.parse()?),
            "--start" => x.start = Some(val("--start")?.parse()?),
            "--end" => x.end = Some(val("--end")?.parse()?),
            "--fps" => x.fps = Some(val("--fps")?.parse()?),
            "--start-seconds" => x.start_seconds = Some(val("--start-seconds")?.parse()?),
            "--end-seconds" => x.end_seconds = Some(val("--end-seconds")?.parse()?),
            "--max-frames" => x.max_frames = Some(val("--max-frames")?.parse()?),
            "--format" => {
                x.format = Some(parse_format(&val("--format")?).map_err(anyhow::Error::msg)?)
            }
            "--quality" => x.quality = Some(val("--quality")?.parse()?),
            "--resize" => {
                x.resize = Some(parse_resize(&val("--resize")?).map_err(anyhow::Error::msg)?)
            }
            "--max-side" => {
                x.resize = Some(parse_max_side(&val("--max-side")?).map_err(anyhow::Error::msg)?)
            }
            "--annotations" => x.annotations = Some(val("--annotations")?),
            "--meta" => x.meta = Some(val("--meta")?),
            "--only-annotated" => x.only_annotated = true,
            "--no-coco" => x.no_coco = true,
            "--framemd5" => x.framemd5 = true,
            "--scene" => x.scene = true,
            "--scene-update" => x.scene_update = true,
            "--stall-timeout" => {
                x.stall_timeout = Some(
                    parse_seconds("--stall-timeout", &val("--stall-timeout")?)
                        .map_err(anyhow::Error::msg)?,
                )
            }
            "--deadline" => {
                x.deadline = Some(
                    parse_seconds("--deadline", &val("--deadline")?).map_err(anyhow::Error::msg)?,
                )
            }
            "--progress" => a.progress = true,
            s if s.starts_with("--") => anyhow::bail!("unknown option {s}"),
            _ if a.video.is_none() => a.video = Some(arg),
            _ if a.out.is_none() => a.out = Some(arg),
            other => anyhow::bail!("unexpected argument {other:?}"),
        }
    }
    Ok(a)
}

async fn run() -> anyhow::Result<()> {
    let a = parse_args()?;
    let started = Instant::now();
    // VIDEO: a local path or a store URL (file://, s3://…), read by byte ranges.
    let video = match &a.video {
        Some(v) => v.clone(),
        None => common::sample_clip()?.display().to_string(),
    };
    let out = a.out.clone().unwrap_or_else(|| "dataset".to_owned());
    let mut options = a.extract.options()?;
    if a.progress {
        options = options.progress(Some(std::sync::Arc::new(PrintProgress)));
    }
    // OUT: a directory path or a store URL (file://, memory://, s3://…).
    let report = extract_frames(video.as_str(), &out, options).await?;
    let summary = summary_json(&video, &out, &report, started.elapsed());
    println!("{}", serde_json::to_string_pretty(&summary)?);
    Ok(())
}

fn main() {
    common::main_with(run);
}
