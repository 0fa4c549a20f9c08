//! The job-shaped entry point: one call from a video file to frames in a dataset.

use std::path::Path;

use video_core::{
    Error, ExtractReport, ImageFormat, Result, SamplingPlan, SamplingSettings, VideoManifest,
    VideoRef, VideoSource, extract_to_sink,
};
use video_gst::{DecodeOptions, EncodeOptions, GstDemuxer, ImageEncoder, Resize};
use video_storage::ObjectStoreSink;

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
    /// `fps` frames per second within `[start_seconds, end_seconds)`, at most `max_frames` (the
    /// seed API's parameters).
    pub fn fps(
        mut self,
        fps: f64,
        start_seconds: Option<f64>,
        end_seconds: Option<f64>,
        max_frames: Option<u64>,
    ) -> Self {
        let mut plan = SamplingPlan::fps(fps).seconds(start_seconds, end_seconds);
        if let Some(m) = max_frames {
            plan = plan.max_frames(m);
        }
        self.plan = plan;
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
}

/// How the manifest describes a resize: `{w}x{h}` or `max-side:{n}`.
fn describe_resize(r: &Resize) -> String {
    match r {
        Resize::Exact { width, height } => format!("{width}x{height}"),
        Resize::FitWithin { max_side } => format!("max-side:{max_side}"),
        other => format!("{other:?}"),
    }
}

/// Size and, when asked, sha256 of the file at `path`.
fn describe_source(path: &Path, hash: bool) -> Result<VideoSource> {
    let io = |operation, source| Error::Io {
        path: path.to_owned(),
        operation,
        source,
    };
    let size = std::fs::metadata(path).map_err(|e| io("stat", e))?.len();
    let content_hash = if hash {
        use sha2::Digest as _;
        let mut file = std::fs::File::open(path).map_err(|e| io("open", e))?;
        let mut hasher = sha2::Sha256::new();
        std::io::copy(&mut file, &mut hasher).map_err(|e| io("read", e))?;
        Some(format!("sha256:{:x}", hasher.finalize()))
    } else {
        None
    };
    Ok(VideoSource::new(path.display().to_string())
        .size(Some(size))
        .content_hash(content_hash))
}

/// Sample frames of the video at `video` into the dataset at `dataset` (a directory or a store
/// URL), frame-accurately, skipping frames the dataset already has, and write the video's
/// manifest once all are stored. Images are named `{folder}/{video file stem}_{index:06}.{ext}`.
/// The manifest records the video's path and size (and sha256 with
/// [`hash_source`](ExtractOptions::hash_source)), its probed metadata, the plan and output
/// options, and [`sample_info`](ExtractOptions::sample_info).
/// Must run inside a Tokio runtime when the dataset is a cloud store.
pub async fn extract_frames(
    video: &Path,
    dataset: &str,
    options: ExtractOptions,
) -> Result<ExtractReport> {
    let encoder = ImageEncoder::new(
        EncodeOptions::default()
            .format(options.format)
            .jpeg_quality(options.quality),
    )?;
    let sink = ObjectStoreSink::from_url(dataset)?;
    let mut demuxer = GstDemuxer::open(video)?;
    let metadata = video_core::Demuxer::probe(&mut demuxer).await?;
    let table = video_core::Demuxer::frame_table(&mut demuxer).await?;
    let plan = options.plan.resolve(&table)?;
    let sampling = SamplingSettings::from_plan(&options.plan)
        .format(Some(options.format))
        .quality((options.format == ImageFormat::Jpeg).then_some(options.quality))
        .resize(options.resize.as_ref().map(describe_resize));
    let manifest = VideoManifest::new(metadata)
        .source(describe_source(video, options.hash_source)?)
        .sampling(sampling)
        .sample_info(options.sample_info);
    let mut source = demuxer
        .frame_source(DecodeOptions::default().resize(options.resize))
        .await?;
    let name = video
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "video".into());
    let video_ref = VideoRef {
        folder: options.folder_path,
        name,
    };
    extract_to_sink(
        &mut source,
        &encoder,
        &sink,
        &video_ref,
        &manifest,
        &plan,
        options.writes_in_flight,
    )
    .await
}
