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
//!     [--stall-timeout S] [--deadline S]
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
//! `--progress` prints `stored INDEX` on stderr as each frame is stored. SIGINT and SIGTERM stop
//! the job cleanly (no partial or staging file left; exit status 130 or 143); the same command
//! again completes it.

use std::time::Instant;

use video_dataset::core::FrameRecord;
use video_dataset::{
    AnnotationInput, ExtractOptions, ExtractProgress, ImageFormat, Resize, SamplingPlan,
    extract_frames,
};

#[path = "common/mod.rs"]
mod common;

#[derive(Debug, Default)]
struct Args {
    video: Option<String>,
    out: Option<String>,
    indices: Option<Vec<u64>>,
    step: Option<u64>,
    start: Option<u64>,
    end: Option<u64>,
    fps: Option<f64>,
    start_seconds: Option<f64>,
    end_seconds: Option<f64>,
    max_frames: Option<u64>,
    format: Option<ImageFormat>,
    quality: Option<u8>,
    resize: Option<Resize>,
    annotations: Option<String>,
    meta: Option<String>,
    only_annotated: bool,
    no_coco: bool,
    stall_timeout: Option<std::time::Duration>,
    deadline: Option<std::time::Duration>,
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

/// A positive number of seconds.
fn seconds(name: &str, v: &str) -> anyhow::Result<std::time::Duration> {
    v.parse::<f64>()
        .ok()
        .and_then(|s| std::time::Duration::try_from_secs_f64(s).ok())
        .filter(|d| !d.is_zero())
        .ok_or_else(|| anyhow::anyhow!("{name} takes a positive number of seconds, got {v:?}"))
}

fn parse_args() -> anyhow::Result<Args> {
    let mut a = Args::default();
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        let mut val = |name: &str| {
            it.next()
                .ok_or_else(|| anyhow::anyhow!("{name} needs a value"))
        };
        match arg.as_str() {
            "--indices" => {
                a.indices = Some(
                    val("--indices")?
                        .split(',')
                        .filter(|s| !s.is_empty())
                        .map(|s| s.trim().parse())
                        .collect::<Result<_, _>>()?,
                )
            }
            "--step" => a.step = Some(val("--step")?.parse()?),
            "--start" => a.start = Some(val("--start")?.parse()?),
            "--end" => a.end = Some(val("--end")?.parse()?),
            "--fps" => a.fps = Some(val("--fps")?.parse()?),
            "--start-seconds" => a.start_seconds = Some(val("--start-seconds")?.parse()?),
            "--end-seconds" => a.end_seconds = Some(val("--end-seconds")?.parse()?),
            "--max-frames" => a.max_frames = Some(val("--max-frames")?.parse()?),
            "--format" => a.format = Some(val("--format")?.parse()?),
            "--quality" => a.quality = Some(val("--quality")?.parse()?),
            "--resize" => {
                let v = val("--resize")?;
                let (w, h) = v
                    .split_once(['x', 'X'])
                    .ok_or_else(|| anyhow::anyhow!("--resize takes WxH, got {v:?}"))?;
                a.resize = Some(Resize::Exact {
                    width: w.parse()?,
                    height: h.parse()?,
                });
            }
            "--max-side" => {
                a.resize = Some(Resize::FitWithin {
                    max_side: val("--max-side")?.parse()?,
                })
            }
            "--annotations" => a.annotations = Some(val("--annotations")?),
            "--meta" => a.meta = Some(val("--meta")?),
            "--only-annotated" => a.only_annotated = true,
            "--no-coco" => a.no_coco = true,
            "--stall-timeout" => {
                a.stall_timeout = Some(seconds("--stall-timeout", &val("--stall-timeout")?)?)
            }
            "--deadline" => a.deadline = Some(seconds("--deadline", &val("--deadline")?)?),
            "--progress" => a.progress = true,
            s if s.starts_with("--") => anyhow::bail!("unknown option {s}"),
            _ if a.video.is_none() => a.video = Some(arg),
            _ if a.out.is_none() => a.out = Some(arg),
            other => anyhow::bail!("unexpected argument {other:?}"),
        }
    }
    Ok(a)
}

fn plan_of(a: &Args) -> anyhow::Result<SamplingPlan> {
    let selections = [
        a.indices.is_some(),
        a.step.is_some() || a.start.is_some() || a.end.is_some(),
        a.fps.is_some(),
    ];
    if selections.iter().filter(|&&s| s).count() > 1 {
        anyhow::bail!("use only one of --indices, --step/--start/--end, --fps");
    }
    let mut plan = if let Some(ix) = &a.indices {
        SamplingPlan::indices(ix.iter().copied())
    } else if a.step.is_some() || a.start.is_some() || a.end.is_some() {
        let p = SamplingPlan::every(a.step.unwrap_or(1));
        match (a.start, a.end) {
            (None, None) => p,
            (s, e) => p.range(s.unwrap_or(0), e.unwrap_or(u64::MAX)),
        }
    } else if a.fps.is_none() && a.only_annotated {
        SamplingPlan::all()
    } else {
        SamplingPlan::fps(a.fps.unwrap_or(1.0))
    };
    if a.start_seconds.is_some() || a.end_seconds.is_some() {
        if a.indices.is_some() || a.step.is_some() {
            anyhow::bail!("--start-seconds/--end-seconds go with --fps");
        }
        plan = plan.seconds(a.start_seconds, a.end_seconds);
    }
    if let Some(m) = a.max_frames {
        plan = plan.max_frames(m);
    }
    Ok(plan)
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
    let plan = plan_of(&a)?;
    let mut options = ExtractOptions::default().plan(plan).resize(a.resize);
    if let Some(f) = a.format {
        options = options.format(f);
    }
    if let Some(q) = a.quality {
        options = options.quality(q);
    }
    if let Some(t) = a.stall_timeout {
        options = options.stall_timeout(t);
    }
    options = options.deadline(a.deadline);
    if a.progress {
        options = options.progress(Some(std::sync::Arc::new(PrintProgress)));
    }
    match (&a.annotations, &a.meta, a.only_annotated || a.no_coco) {
        (Some(ann), meta, _) => {
            let input = AnnotationInput::read_supervisely(
                ann.as_ref(),
                meta.as_deref().map(std::path::Path::new),
            )?;
            options = options
                .annotation(Some(input))
                .only_annotated(a.only_annotated)
                .coco(!a.no_coco);
        }
        (None, None, false) => {}
        (None, _, _) => {
            anyhow::bail!("--meta, --only-annotated and --no-coco go with --annotations")
        }
    }
    // OUT: a directory path or a store URL (file://, memory://, s3://…).
    let report = extract_frames(video.as_str(), &out, options).await?;
    let summary = serde_json::json!({
        "video": video,
        "out": out,
        "frames_planned": report.frames_planned,
        "frames_written": report.frames_written,
        "frames_existing": report.frames_existing,
        "frames_redone": report.frames_redone,
        "frames_decoded": report.decode.frames_decoded,
        "seeks": report.decode.seeks,
        "retries": report.decode.retries,
        "bytes_written": report.bytes_written,
        "annotations_written": report.annotations_written,
        "source_bytes_read": report.source_bytes_read,
        "wall_seconds": started.elapsed().as_secs_f64(),
        "frames": report.frames,
    });
    println!("{}", serde_json::to_string_pretty(&summary)?);
    Ok(())
}

fn main() {
    common::main_with(run);
}
