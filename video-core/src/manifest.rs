//! A sampled video's manifest: where the video came from, what probing said, how it was sampled,
//! what the caller wants to remember about it, and every stored frame.

use crate::{FrameRecord, ImageFormat, SamplingPlan, Selection, VideoMetadata};

/// Where a video came from.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[non_exhaustive]
pub struct VideoSource {
    /// The file path or URI the video was read from.
    pub location: String,
    /// Size in bytes, when known.
    #[serde(default)]
    pub size: Option<u64>,
    /// Content hash of the whole file ([`ContentHash`](crate::ContentHash)'s text:
    /// `sha256:` and lowercase hex), when computed.
    #[serde(default)]
    pub content_hash: Option<String>,
}

impl VideoSource {
    /// A source known only by its location.
    pub fn new(location: impl Into<String>) -> Self {
        VideoSource {
            location: location.into(),
            size: None,
            content_hash: None,
        }
    }

    /// Set [`size`](Self::size).
    pub fn size(mut self, v: Option<u64>) -> Self {
        self.size = v;
        self
    }

    /// Set [`content_hash`](Self::content_hash).
    pub fn content_hash(mut self, v: Option<String>) -> Self {
        self.content_hash = v;
        self
    }
}

/// How frames were chosen and encoded: enough to sample the video again the same way.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
#[non_exhaustive]
pub struct SamplingSettings {
    /// The plan's selection (`"all"`, `{"indices": [..]}`, `{"range": {..}}`, `{"fps": {..}}`,
    /// `{"time_range": {..}}`).
    pub selection: Selection,
    /// The plan's cap on the number of frames, if any.
    #[serde(default)]
    pub max_frames: Option<u64>,
    /// Whether a caller-supplied frame filter took part (filters are code and not recorded).
    #[serde(default)]
    pub filtered: bool,
    /// Frames the plan resolved to.
    #[serde(default)]
    pub frames_planned: u64,
    /// Image format, when known.
    #[serde(default)]
    pub format: Option<ImageFormat>,
    /// JPEG quality (1–100), when JPEG.
    #[serde(default)]
    pub quality: Option<u8>,
    /// Resizing as the backend describes it (`video_gst::Resize`'s `Display`: `"{w}x{h}"` or
    /// `"max-side:{n}"`); `None` for the video's own size.
    #[serde(default)]
    pub resize: Option<String>,
}

impl SamplingSettings {
    /// The settings of `plan`, with no output options yet.
    pub fn from_plan(plan: &SamplingPlan) -> Self {
        SamplingSettings {
            selection: plan.selection().clone(),
            max_frames: plan.max_frames_cap(),
            filtered: plan.has_filter(),
            frames_planned: 0,
            format: None,
            quality: None,
            resize: None,
        }
    }

    /// Set [`frames_planned`](Self::frames_planned).
    pub fn frames_planned(mut self, v: u64) -> Self {
        self.frames_planned = v;
        self
    }

    /// Set [`format`](Self::format).
    pub fn format(mut self, v: Option<ImageFormat>) -> Self {
        self.format = v;
        self
    }

    /// Set [`quality`](Self::quality).
    pub fn quality(mut self, v: Option<u8>) -> Self {
        self.quality = v;
        self
    }

    /// Set [`resize`](Self::resize).
    pub fn resize(mut self, v: Option<String>) -> Self {
        self.resize = v;
        self
    }
}

impl Default for SamplingSettings {
    fn default() -> Self {
        Self::from_plan(&SamplingPlan::all())
    }
}

/// Everything a sink records about one sampled video, handed to
/// [`DatasetSink::finish_video`](crate::DatasetSink::finish_video).
///
/// ```
/// use video_core::{SamplingPlan, SamplingSettings, VideoManifest, VideoMetadata, VideoSource};
/// let mut info = serde_json::Map::new();
/// info.insert("dataset".into(), "ds1".into());
/// let manifest = VideoManifest::new(VideoMetadata::new("/data/clip.mp4"))
///     .source(VideoSource::new("/data/clip.mp4").size(Some(1_234_567)))
///     .sampling(SamplingSettings::from_plan(&SamplingPlan::fps(1.0)))
///     .sample_info(info);
/// assert_eq!(manifest.sample_info["dataset"], "ds1");
/// ```
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
#[non_exhaustive]
pub struct VideoManifest {
    /// Where the video came from. Default: its metadata's `uri`, size and hash unknown.
    pub source: VideoSource,
    /// What probing the video said.
    pub metadata: VideoMetadata,
    /// How frames were chosen and encoded. Default: every frame, nothing else known.
    pub sampling: SamplingSettings,
    /// Caller-supplied facts about the video (Supervisely's `sample_info`: source dataset, video
    /// name, …), stored as given. Default: empty.
    #[serde(default)]
    pub sample_info: serde_json::Map<String, serde_json::Value>,
    /// Every frame of the plan, in index order. Default: none.
    #[serde(default)]
    pub frames: Vec<FrameRecord>,
}

impl VideoManifest {
    /// A manifest for a probed video, its source being the metadata's `uri`.
    pub fn new(metadata: VideoMetadata) -> Self {
        VideoManifest {
            source: VideoSource::new(metadata.uri.clone()),
            metadata,
            sampling: SamplingSettings::default(),
            sample_info: serde_json::Map::new(),
            frames: Vec::new(),
        }
    }

    /// Set [`source`](Self::source).
    pub fn source(mut self, v: VideoSource) -> Self {
        self.source = v;
        self
    }

    /// Set [`sampling`](Self::sampling).
    pub fn sampling(mut self, v: SamplingSettings) -> Self {
        self.sampling = v;
        self
    }

    /// Set [`sample_info`](Self::sample_info).
    pub fn sample_info(mut self, v: serde_json::Map<String, serde_json::Value>) -> Self {
        self.sample_info = v;
        self
    }

    /// Set [`frames`](Self::frames).
    pub fn frames(mut self, v: Vec<FrameRecord>) -> Self {
        self.frames = v;
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_through_json() {
        let plan = SamplingPlan::fps(2.0)
            .seconds(Some(1.0), None)
            .max_frames(5);
        let m = VideoManifest::new(VideoMetadata::new("clip.mp4"))
            .sampling(
                SamplingSettings::from_plan(&plan)
                    .frames_planned(5)
                    .format(Some(ImageFormat::Png))
                    .resize(Some("max-side:640".into())),
            )
            .frames(vec![FrameRecord {
                index: 3,
                pts_seconds: 0.1,
                key: "clip_000003.png".into(),
                width: 4,
                height: 2,
                bytes: 9,
                content_hash: None,
                annotation_key: None,
                framemd5: None,
            }]);
        let v = serde_json::to_value(&m).unwrap();
        assert_eq!(v["sampling"]["selection"]["fps"]["fps"], 2.0);
        assert_eq!(v["sampling"]["selection"]["fps"]["start_seconds"], 1.0);
        assert_eq!(v["sampling"]["max_frames"], 5);
        assert_eq!(v["sampling"]["format"], "png");
        assert_eq!(v["source"]["location"], "clip.mp4");
        let back: VideoManifest = serde_json::from_value(v).unwrap();
        assert_eq!(back, m);
        let all = serde_json::to_value(SamplingSettings::default()).unwrap();
        assert_eq!(all["selection"], "all");
    }
}
