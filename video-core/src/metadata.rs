//! What probing a video tells.

use std::time::Duration;

use crate::{Rational, Timestamp};

/// Metadata of a video and of the video stream chosen from it.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
#[non_exhaustive]
pub struct VideoMetadata {
    /// The file or URI probed.
    pub uri: String,
    /// Container short name (`mp4`, `matroska`, `webm`, `avi`, `mpegts`, …).
    pub container: String,
    /// Duration of the video stream: from the first frame's pts to the end of the last frame
    /// (falls back to the container's duration when frames are not known).
    pub duration: Option<Duration>,
    /// The container's own duration, as its header states it.
    pub container_duration: Option<Duration>,
    /// Average frame rate: frames / stream duration, from the frame table.
    pub avg_fps: Option<f64>,
    /// The nominal frame rate declared by the stream, when it declares one.
    pub nominal_fps: Option<Rational>,
    /// Width as displayed (after rotation).
    pub width: u32,
    /// Height as displayed (after rotation).
    pub height: u32,
    /// Width as stored in the bitstream.
    pub stored_width: u32,
    /// Height as stored in the bitstream.
    pub stored_height: u32,
    /// Clockwise rotation to apply for display: 0, 90, 180 or 270.
    pub rotation: u32,
    /// Pixel aspect ratio.
    pub pixel_aspect_ratio: Rational,
    /// Codec short name: `h264`, `hevc`, `vp8`, `vp9`, `av1`, `mpeg4`, `mjpeg`, `prores`, …
    pub codec: String,
    /// Codec profile, when the stream says.
    pub profile: Option<String>,
    /// Decoded pixel format (GStreamer name, e.g. `I420`, `I420_10LE`), when known.
    pub pixel_format: Option<String>,
    /// Bits per sample of the decoded pixels, when known.
    pub bit_depth: Option<u32>,
    /// Container bitrate in bits per second, when known.
    pub bitrate: Option<u64>,
    /// Number of audio streams in the container.
    pub audio_streams: u32,
    /// Number of video streams in the container.
    pub video_streams: u32,
    /// Which video stream (0-based, among video streams) this metadata describes.
    pub video_stream: usize,
    /// Frame count stated by the container header, if it states one.
    pub header_frame_count: Option<u64>,
    /// Exact frame count, from the frame table.
    pub frame_count: u64,
    /// Number of key frames in the frame table.
    pub keyframe_count: u64,
    /// Longest distance between key frames, in frames.
    pub max_gop: u64,
    /// Whether frame durations vary by more than 1 %.
    pub variable_frame_rate: bool,
    /// Presentation timestamp of the first frame.
    pub start: Option<Timestamp>,
}

impl VideoMetadata {
    /// Metadata with every field empty or zero, for backends to fill in.
    pub fn new(uri: impl Into<String>) -> Self {
        VideoMetadata {
            uri: uri.into(),
            container: String::new(),
            duration: None,
            container_duration: None,
            avg_fps: None,
            nominal_fps: None,
            width: 0,
            height: 0,
            stored_width: 0,
            stored_height: 0,
            rotation: 0,
            pixel_aspect_ratio: Rational::new(1, 1),
            codec: String::new(),
            profile: None,
            pixel_format: None,
            bit_depth: None,
            bitrate: None,
            audio_streams: 0,
            video_streams: 0,
            video_stream: 0,
            header_frame_count: None,
            frame_count: 0,
            keyframe_count: 0,
            max_gop: 0,
            variable_frame_rate: false,
            start: None,
        }
    }

    /// Fill the fields that come from the frame table: exact frame count, key frames, longest
    /// GOP, duration, average rate, start and the variable-frame-rate flag.
    pub fn fill_from_table(&mut self, table: &crate::FrameTable) {
        self.frame_count = table.len();
        self.keyframe_count = table.iter().filter(|f| f.keyframe).count() as u64;
        self.max_gop = table.max_gop();
        self.start = table.first().map(|f| f.pts);
        if let Some(d) = table.duration() {
            self.duration = Some(d);
            if !d.is_zero() {
                self.avg_fps = Some(table.len() as f64 / d.as_secs_f64());
            }
        }
        self.variable_frame_rate = table.is_variable_rate();
    }
}
