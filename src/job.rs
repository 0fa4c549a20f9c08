//! The job-shaped entry point: one call from a video file to frames in a dataset.

use std::path::Path;

use video_core::{ExtractReport, ImageFormat, Result, SamplingPlan, VideoRef, extract_to_sink};
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
}

/// Sample frames of the video at `video` into the dataset at `dataset` (a directory or a store
/// URL), frame-accurately, skipping frames the dataset already has, and write the video's
/// manifest once all are stored. Images are named `{folder}/{video file stem}_{index:06}.{ext}`.
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
        &metadata,
        &plan,
        options.writes_in_flight,
    )
    .await
}
