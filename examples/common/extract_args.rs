//! What the examples and the `video-dataset` binary share: the plan and image options of one
//! video's extraction, as the `extract_frames` example and `video-dataset extract` take them
//! (what they mean, how their values are read, how they combine into an [`ExtractOptions`]),
//! and the JSON objects they print (the extraction's summary, a probe's metadata, an upload).
//!
//! Shared, not copied: the example includes it through `examples/common/mod.rs`, the binary
//! (`src/bin/video-dataset`) through a `#[path]` module. It needs nothing beyond the library,
//! `anyhow` and `serde_json` (no `clap`: the example parses its arguments by hand).

use std::time::Duration;

use video_dataset::{
    AnnotationInput, ExtractOptions, ImageFormat, Resize, SamplingPlan, SceneOptions,
};

/// The plan and image options (everything on the command line but VIDEO, OUT and how progress
/// is shown).
#[derive(Debug, Default, Clone)]
pub(crate) struct ExtractArgs {
    pub(crate) indices: Option<Vec<u64>>,
    pub(crate) step: Option<u64>,
    pub(crate) start: Option<u64>,
    pub(crate) end: Option<u64>,
    pub(crate) fps: Option<f64>,
    pub(crate) start_seconds: Option<f64>,
    pub(crate) end_seconds: Option<f64>,
    pub(crate) max_frames: Option<u64>,
    pub(crate) format: Option<ImageFormat>,
    pub(crate) quality: Option<u8>,
    pub(crate) resize: Option<Resize>,
    pub(crate) annotations: Option<String>,
    pub(crate) meta: Option<String>,
    pub(crate) only_annotated: bool,
    pub(crate) no_coco: bool,
    pub(crate) stall_timeout: Option<Duration>,
    pub(crate) deadline: Option<Duration>,
    /// `--framemd5`: each frame's record carries the md5 of its decoded planes as
    /// `ffmpeg -f framemd5` prints it.
    pub(crate) framemd5: bool,
    /// `--scene`: append the video's scene to the dataset's scenes (kept if it has it).
    pub(crate) scene: bool,
    /// `--scene-update`: `--scene`, updating a scene the dataset has.
    pub(crate) scene_update: bool,
    /// Each video brings its own annotation (`video-dataset sample` over a Supervisely video
    /// project): `--only-annotated` and `--no-coco` go without `--annotations`.
    pub(crate) tree_annotations: bool,
}

/// `--indices 3,17,42`: frame indices, comma-separated.
pub(crate) fn parse_indices(v: &str) -> Result<Vec<u64>, String> {
    v.split(',')
        .filter(|s| !s.is_empty())
        .map(|s| {
            s.trim()
                .parse()
                .map_err(|e| format!("--indices takes frame numbers, got {s:?}: {e}"))
        })
        .collect()
}

/// `--resize WxH`.
pub(crate) fn parse_resize(v: &str) -> Result<Resize, String> {
    let bad = || format!("--resize takes WxH, got {v:?}");
    let (w, h) = v.split_once(['x', 'X']).ok_or_else(bad)?;
    Ok(Resize::Exact {
        width: w.parse().map_err(|_| bad())?,
        height: h.parse().map_err(|_| bad())?,
    })
}

/// `--max-side N`.
pub(crate) fn parse_max_side(v: &str) -> Result<Resize, String> {
    Ok(Resize::FitWithin {
        max_side: v
            .parse()
            .map_err(|e| format!("--max-side takes a number of pixels, got {v:?}: {e}"))?,
    })
}

/// `--format jpg|png`.
pub(crate) fn parse_format(v: &str) -> Result<ImageFormat, String> {
    v.parse::<ImageFormat>().map_err(|e| e.to_string())
}

/// A positive number of seconds (`--stall-timeout`, `--deadline`): `name` goes in the error.
pub(crate) fn parse_seconds(name: &str, v: &str) -> Result<Duration, String> {
    v.parse::<f64>()
        .ok()
        .and_then(|s| Duration::try_from_secs_f64(s).ok())
        .filter(|d| !d.is_zero())
        .ok_or_else(|| format!("{name} takes a positive number of seconds, got {v:?}"))
}

impl ExtractArgs {
    /// The sampling plan: `--indices`, or `--step/--start/--end`, or `--fps` (default 1 frame
    /// per second; every frame with `--only-annotated` and no plan option), bounded by
    /// `--start-seconds/--end-seconds` and `--max-frames`. Errors are misuse of the options.
    pub(crate) fn plan(&self) -> anyhow::Result<SamplingPlan> {
        let selections = [
            self.indices.is_some(),
            self.step.is_some() || self.start.is_some() || self.end.is_some(),
            self.fps.is_some(),
        ];
        if selections.iter().filter(|&&s| s).count() > 1 {
            anyhow::bail!("use only one of --indices, --step/--start/--end, --fps");
        }
        let mut plan = if let Some(ix) = &self.indices {
            SamplingPlan::indices(ix.iter().copied())
        } else if self.step.is_some() || self.start.is_some() || self.end.is_some() {
            let p = SamplingPlan::every(self.step.unwrap_or(1));
            match (self.start, self.end) {
                (None, None) => p,
                (s, e) => p.range(s.unwrap_or(0), e.unwrap_or(u64::MAX)),
            }
        } else if self.fps.is_none() && self.only_annotated {
            SamplingPlan::all()
        } else {
            SamplingPlan::fps(self.fps.unwrap_or(1.0))
        };
        if self.start_seconds.is_some() || self.end_seconds.is_some() {
            if self.indices.is_some() || self.step.is_some() {
                anyhow::bail!("--start-seconds/--end-seconds go with --fps");
            }
            plan = plan.seconds(self.start_seconds, self.end_seconds);
        }
        if let Some(m) = self.max_frames {
            plan = plan.max_frames(m);
        }
        if self.annotations.is_none()
            && (self.meta.is_some()
                || (!self.tree_annotations && (self.only_annotated || self.no_coco)))
        {
            anyhow::bail!("--meta, --only-annotated and --no-coco go with --annotations");
        }
        Ok(plan)
    }

    /// The job's options: the plan, the image options, the limits and the annotation (read
    /// here: its errors are about the files, not the options). No progress.
    pub(crate) fn options(&self) -> anyhow::Result<ExtractOptions> {
        let mut options = ExtractOptions::default()
            .plan(self.plan()?)
            .resize(self.resize);
        if let Some(f) = self.format {
            options = options.format(f);
        }
        if let Some(q) = self.quality {
            options = options.quality(q);
        }
        if let Some(t) = self.stall_timeout {
            options = options.stall_timeout(t);
        }
        options = options.deadline(self.deadline).framemd5(self.framemd5);
        if self.scene || self.scene_update {
            options = options.scene(Some(SceneOptions::default().update(self.scene_update)));
        }
        if let Some(ann) = &self.annotations {
            let input = AnnotationInput::read_supervisely(
                ann.as_ref(),
                self.meta.as_deref().map(std::path::Path::new),
            )?;
            options = options
                .annotation(Some(input))
                .only_annotated(self.only_annotated)
                .coco(!self.no_coco);
        } else if self.tree_annotations {
            options = options
                .only_annotated(self.only_annotated)
                .coco(!self.no_coco);
        }
        Ok(options)
    }
}

/// The JSON summary of an extraction (what `extract_frames` prints).
pub(crate) fn summary_json(
    video: &str,
    out: &str,
    report: &video_dataset::ExtractReport,
    wall: Duration,
) -> serde_json::Value {
    serde_json::json!({
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
        "wall_seconds": wall.as_secs_f64(),
        "frames": report.frames,
    })
}

/// A video's metadata as one JSON object (what the `probe` example prints).
pub(crate) fn metadata_json(m: &video_dataset::VideoMetadata) -> serde_json::Value {
    serde_json::json!({
        "path": m.uri,
        "container": m.container,
        "duration_seconds": m.duration.map(|d| d.as_secs_f64()),
        "container_duration_seconds": m.container_duration.map(|d| d.as_secs_f64()),
        "fps": m.avg_fps,
        "nominal_fps": m.nominal_fps.and_then(|r| r.to_f64()),
        "width": m.width,
        "height": m.height,
        "stored_width": m.stored_width,
        "stored_height": m.stored_height,
        "rotation": m.rotation,
        "pixel_aspect_ratio": m.pixel_aspect_ratio.to_string(),
        "codec": m.codec,
        "profile": m.profile,
        "pixel_format": m.pixel_format,
        "bit_depth": m.bit_depth,
        "bitrate": m.bitrate,
        "audio_streams": m.audio_streams,
        "video_streams": m.video_streams,
        "video_stream": m.video_stream,
        "header_frame_count": m.header_frame_count,
        "frame_count": m.frame_count,
        "keyframe_count": m.keyframe_count,
        "max_gop": m.max_gop,
        "variable_frame_rate": m.variable_frame_rate,
        "start_seconds": m.start.map(|t| t.as_seconds()),
    })
}

/// What an upload stored, as one JSON object (what the `upload` example prints).
pub(crate) fn uploaded_json(up: &video_dataset::storage::UploadedVideo) -> serde_json::Value {
    serde_json::json!({
        "key": up.key,
        "content_hash": up.content_hash,
        "size": up.size,
        "frame_count": up.metadata.frame_count,
        "duration_seconds": up.metadata.duration.map(|d| d.as_secs_f64()),
    })
}
