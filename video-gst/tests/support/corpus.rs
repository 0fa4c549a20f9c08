//! The shared video corpus (`/work/shared/corpus`): 35 real files with FFmpeg 5.1 ground truth.
//!
//! [`load`] reads `MANIFEST.json` (see the corpus `README.md`) into [`CorpusFile`]s. Tests that
//! need the corpus call [`load`] (or [`corpus_dir`]) and return early when it gives `None`; a
//! loud `SKIPPED` line on stderr says why.

use std::path::{Path, PathBuf};

use serde::Deserialize;
use serde_json::Value;

/// The corpus directory: the one rule of the workspace ([`video_testkit::corpus_dir`]: `None`,
/// after a loud `SKIPPED` line on stderr, when the directory has no `MANIFEST.json`).
pub use video_testkit::corpus_dir;

/// One `disagreements` entry: a mismatch between FFmpeg, GStreamer, the header or the peer.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Disagreement {
    /// Absolute stream index, if the disagreement concerns one stream.
    #[serde(default)]
    pub stream: Option<usize>,
    /// Kind, e.g. `frame_count_header_vs_decoded`.
    #[serde(default)]
    pub kind: String,
    /// Human-readable detail.
    #[serde(default)]
    pub detail: String,
}

/// One `seek_checks` entry: how FFmpeg and GStreamer seeks to a frame behaved.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct SeekCheck {
    /// Presentation-order index of the target frame.
    pub frame_index: usize,
    /// Its pts in seconds.
    #[serde(default)]
    pub pts_s: Option<f64>,
    /// MD5 (native pixel format) of the sequentially decoded frame.
    #[serde(default)]
    pub expected_md5: Option<String>,
    /// Whether `ffmpeg -ss` returned exactly that frame first.
    #[serde(default)]
    pub ffmpeg_ok: Option<bool>,
    /// Whether a GStreamer accurate seek returned exactly that frame first.
    #[serde(default)]
    pub gst_ok: Option<bool>,
}

/// Ground truth of one video stream.
#[derive(Debug, Clone, PartialEq)]
pub struct CorpusStream {
    /// Absolute stream index (the `N` of `.s<N>.` and `-map 0:N`).
    pub index: usize,
    /// Codec name.
    pub codec: String,
    /// Decoder pixel format (`yuv420p`, `yuvj420p`, `yuv420p10le`, `bgra`, ...).
    pub pix_fmt: String,
    /// Stored width.
    pub width: usize,
    /// Stored height.
    pub height: usize,
    /// Stream time base, e.g. `"1/15360"`.
    pub time_base: String,
    /// Frames FFmpeg decodes.
    pub decoded_frame_count: usize,
    /// Frame count in the container header.
    pub nb_frames_header: Option<u64>,
    /// Average frame rate.
    pub avg_fps: Option<f64>,
    /// Frame pts in `time_base` units, presentation order (`None`: the frame has no timestamp).
    pub pts: Vec<Option<i64>>,
    /// `pts * time_base` in seconds, not shifted by the start time.
    pub pts_s: Vec<Option<f64>>,
    /// Packet durations in `time_base` units.
    pub frame_durations: Vec<Option<i64>>,
    /// Picture types, one letter per frame (`IPBB...`).
    pub pict_types: String,
    /// Presentation-order indices of decoded key frames.
    pub key_frame_indices_decoded: Vec<usize>,
    /// `color_space` tag (matrix), e.g. `bt709`, `bt470bg`; `None` when untagged.
    pub color_space: Option<String>,
    /// `tv` (limited) or `pc` (full); `None` when untagged.
    pub color_range: Option<String>,
    /// `color_primaries` tag.
    pub color_primaries: Option<String>,
    /// `color_transfer` tag.
    pub color_transfer: Option<String>,
    /// Display-matrix rotation, counter-clockwise degrees (`-90` = display rotated 90° clockwise).
    pub rotation_ccw: Option<i32>,
    /// framemd5 of the native pixel format (absolute path).
    pub framemd5_native: PathBuf,
    /// framemd5 after ffmpeg's default conversion to rgb24, stored orientation.
    pub framemd5_rgb24: PathBuf,
    /// rgb24 framemd5 with ffmpeg's autorotation (rotated streams only).
    pub framemd5_rgb24_autorotated: Option<PathBuf>,
    /// framemd5 through the libvpx-vp9 decoder (yuva420p when alpha is present), if it exists.
    pub framemd5_libvpx_vp9: Option<PathBuf>,
    /// Whether GStreamer decoded this stream at all.
    pub gstreamer_decoded: bool,
    /// Frames GStreamer 1.22 decoded (`None` when it did not decode the stream).
    pub gstreamer_frame_count: Option<usize>,
    /// Seek checks made when building the corpus.
    pub seek_checks: Vec<SeekCheck>,
}

impl CorpusStream {
    /// Clockwise rotation (0, 90, 180, 270) applied for display.
    pub fn display_rotation_cw(&self) -> u32 {
        super::rotation_cw_from_ccw(self.rotation_ccw.unwrap_or(0))
    }

    /// Whether the stream is full range (`pc` or a `yuvj*` format).
    pub fn is_full_range(&self) -> bool {
        self.color_range.as_deref() == Some("pc") || self.pix_fmt.starts_with("yuvj")
    }

    /// Whether the YUV→RGB matrix is tagged. When it is not, ffmpeg 5.1 assumes BT.601 and
    /// GStreamer BT.709 for HD, so RGB comparisons with ffmpeg's rgb24 framemd5 are only
    /// meaningful for tagged streams (or small, SD streams).
    pub fn has_color_matrix_tag(&self) -> bool {
        self.color_space.as_deref().is_some_and(|c| c != "unknown")
    }
}

/// One corpus file with its summary and per-stream ground truth.
#[derive(Debug, Clone, PartialEq)]
pub struct CorpusFile {
    /// Path relative to the corpus directory, e.g. `mediabunny/edts.mp4`.
    pub file: String,
    /// Absolute path of the video.
    pub path: PathBuf,
    /// File size in bytes.
    pub size_bytes: u64,
    /// SHA-256 of the file.
    pub sha256: String,
    /// Feature tags (`"b-frames"`, `"edit list"`, ...).
    pub features: Vec<String>,
    /// Codec of the primary video stream.
    pub codec: String,
    /// ffprobe format name (`mov,mp4,m4a,3gp,3g2,mj2`, `matroska,webm`, `avi`, `mpegts`, `gif`).
    pub container: String,
    /// Primary stream pixel format.
    pub pix_fmt: String,
    /// Primary stream stored width.
    pub width: usize,
    /// Primary stream stored height.
    pub height: usize,
    /// Frames FFmpeg decodes from the primary stream.
    pub frame_count_decoded: usize,
    /// Header frame count of the primary stream.
    pub frame_count_header: Option<u64>,
    /// Frames GStreamer 1.22 decoded from the primary stream.
    pub gstreamer_frame_count: Option<usize>,
    /// Display-matrix rotation of the primary stream, counter-clockwise degrees.
    pub rotation_ccw: Option<i32>,
    /// Absolute index of the primary video stream.
    pub primary_stream: usize,
    /// Average frame rate of the primary stream (NaN if the manifest has none).
    pub avg_fps: f64,
    /// First frame pts of the primary stream, seconds (NaN if the manifest has none).
    pub first_pts_s: f64,
    /// Last frame pts, seconds (NaN if the manifest has none).
    pub last_pts_s: f64,
    /// Container duration, seconds (`None` when the container has none).
    pub container_duration_s: Option<f64>,
    /// Whether the file has audio.
    pub has_audio: bool,
    /// All video streams, in stream order.
    pub video_streams: Vec<CorpusStream>,
    /// Known mismatches between FFmpeg, GStreamer, the header and the peer's assertions.
    pub disagreements: Vec<Disagreement>,
    /// The whole manifest entry, for fields not mapped here.
    pub raw: Value,
}

impl CorpusFile {
    /// The primary video stream.
    pub fn primary(&self) -> &CorpusStream {
        self.stream(self.primary_stream)
    }

    /// The video stream with absolute index `index`.
    pub fn stream(&self, index: usize) -> &CorpusStream {
        self.video_streams
            .iter()
            .find(|s| s.index == index)
            .unwrap_or_else(|| panic!("{} has no video stream {index}", self.file))
    }

    /// Whether the file has a disagreement of this kind (substring match).
    pub fn has_disagreement(&self, kind: &str) -> bool {
        self.disagreements.iter().any(|d| d.kind.contains(kind))
    }
}

/// The file whose relative path ends with `name` (e.g. `"edts.mp4"`); panics if none or several.
pub fn find<'a>(files: &'a [CorpusFile], name: &str) -> &'a CorpusFile {
    let mut matches = files.iter().filter(|f| f.file.ends_with(name));
    let first = matches
        .next()
        .unwrap_or_else(|| panic!("no corpus file named {name}"));
    assert!(
        matches.next().is_none(),
        "several corpus files end with {name}"
    );
    first
}

/// Loads the manifest; `None` (with a SKIPPED message) when the corpus is not there.
pub fn load() -> Option<Vec<CorpusFile>> {
    let dir = corpus_dir()?;
    Some(load_from(&dir))
}

/// Loads the manifest of the corpus in `dir`; panics on a malformed manifest.
pub fn load_from(dir: &Path) -> Vec<CorpusFile> {
    let manifest_path = dir.join("MANIFEST.json");
    let text = std::fs::read_to_string(&manifest_path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", manifest_path.display()));
    let manifest: Value = serde_json::from_str(&text)
        .unwrap_or_else(|e| panic!("{} is not JSON: {e}", manifest_path.display()));
    let entries = manifest
        .get("files")
        .and_then(Value::as_array)
        .unwrap_or_else(|| panic!("{} has no \"files\" array", manifest_path.display()));
    entries
        .iter()
        .map(|entry| {
            let raw: RawFile = serde_json::from_value(entry.clone())
                .unwrap_or_else(|e| panic!("bad manifest entry {:?}: {e}", entry.get("file")));
            convert(dir, raw, entry.clone())
        })
        .collect()
}

fn convert(dir: &Path, raw: RawFile, entry: Value) -> CorpusFile {
    let s = raw.summary;
    let video_streams = raw
        .video_streams
        .into_iter()
        .map(|v| {
            let libvpx = dir.join(format!(
                "groundtruth/{}.s{}.libvpx-vp9.framemd5",
                raw.file, v.index
            ));
            CorpusStream {
                index: v.index,
                codec: v.codec,
                pix_fmt: v.pix_fmt,
                width: v.width,
                height: v.height,
                time_base: v.time_base,
                decoded_frame_count: v.decoded_frame_count,
                nb_frames_header: v.nb_frames_header,
                avg_fps: v.avg_fps,
                pts: v.pts,
                pts_s: v.pts_s,
                frame_durations: v.frame_durations,
                pict_types: v.pict_types,
                key_frame_indices_decoded: v.key_frame_indices_decoded,
                color_space: v.color_space,
                color_range: v.color_range,
                color_primaries: v.color_primaries,
                color_transfer: v.color_transfer,
                rotation_ccw: v.rotation_displaymatrix_deg,
                framemd5_native: dir.join(v.framemd5_native),
                framemd5_rgb24: dir.join(v.framemd5_rgb24),
                framemd5_rgb24_autorotated: v.framemd5_rgb24_autorotated.map(|p| dir.join(p)),
                framemd5_libvpx_vp9: libvpx.is_file().then_some(libvpx),
                gstreamer_decoded: v.gstreamer.decoded,
                gstreamer_frame_count: v.gstreamer.frame_count,
                seek_checks: v.seek_checks,
            }
        })
        .collect();
    CorpusFile {
        path: dir.join(&raw.file),
        file: raw.file,
        size_bytes: raw.size_bytes,
        sha256: raw.sha256,
        features: raw.features,
        codec: s.codec,
        container: s.container,
        pix_fmt: s.pix_fmt,
        width: s.width,
        height: s.height,
        frame_count_decoded: s.frame_count_decoded,
        frame_count_header: s.frame_count_header,
        gstreamer_frame_count: s.gstreamer_frame_count,
        rotation_ccw: s.rotation_displaymatrix_deg,
        primary_stream: s.primary_video_stream_index,
        avg_fps: s.avg_fps.unwrap_or(f64::NAN),
        first_pts_s: s.first_pts_s.unwrap_or(f64::NAN),
        last_pts_s: s.last_pts_s.unwrap_or(f64::NAN),
        container_duration_s: s.container_duration_s,
        has_audio: s.has_audio,
        video_streams,
        disagreements: raw.disagreements,
        raw: entry,
    }
}

// Manifest shapes, tolerant of nulls and missing keys.

#[derive(Deserialize)]
struct RawFile {
    file: String,
    #[serde(default)]
    size_bytes: u64,
    #[serde(default)]
    sha256: String,
    #[serde(default)]
    features: Vec<String>,
    summary: RawSummary,
    #[serde(default)]
    video_streams: Vec<RawStream>,
    #[serde(default)]
    disagreements: Vec<Disagreement>,
}

#[derive(Deserialize)]
struct RawSummary {
    #[serde(default)]
    primary_video_stream_index: usize,
    #[serde(default)]
    container: String,
    #[serde(default)]
    codec: String,
    #[serde(default)]
    pix_fmt: String,
    #[serde(default)]
    width: usize,
    #[serde(default)]
    height: usize,
    #[serde(default)]
    rotation_displaymatrix_deg: Option<i32>,
    #[serde(default)]
    frame_count_decoded: usize,
    #[serde(default)]
    frame_count_header: Option<u64>,
    #[serde(default)]
    avg_fps: Option<f64>,
    #[serde(default)]
    container_duration_s: Option<f64>,
    #[serde(default)]
    first_pts_s: Option<f64>,
    #[serde(default)]
    last_pts_s: Option<f64>,
    #[serde(default)]
    has_audio: bool,
    #[serde(default)]
    gstreamer_frame_count: Option<usize>,
}

#[derive(Deserialize)]
struct RawStream {
    index: usize,
    #[serde(default)]
    codec: String,
    #[serde(default)]
    pix_fmt: String,
    #[serde(default)]
    width: usize,
    #[serde(default)]
    height: usize,
    #[serde(default)]
    time_base: String,
    #[serde(default)]
    decoded_frame_count: usize,
    #[serde(default)]
    nb_frames_header: Option<u64>,
    #[serde(default)]
    avg_fps: Option<f64>,
    #[serde(default)]
    pts: Vec<Option<i64>>,
    #[serde(default)]
    pts_s: Vec<Option<f64>>,
    #[serde(default)]
    frame_durations: Vec<Option<i64>>,
    #[serde(default)]
    pict_types: String,
    #[serde(default)]
    key_frame_indices_decoded: Vec<usize>,
    #[serde(default)]
    color_space: Option<String>,
    #[serde(default)]
    color_range: Option<String>,
    #[serde(default)]
    color_primaries: Option<String>,
    #[serde(default)]
    color_transfer: Option<String>,
    #[serde(default)]
    rotation_displaymatrix_deg: Option<i32>,
    framemd5_native: String,
    framemd5_rgb24: String,
    #[serde(default)]
    framemd5_rgb24_autorotated: Option<String>,
    #[serde(default)]
    gstreamer: RawGst,
    #[serde(default)]
    seek_checks: Vec<SeekCheck>,
}

#[derive(Deserialize, Default)]
struct RawGst {
    #[serde(default)]
    decoded: bool,
    #[serde(default)]
    frame_count: Option<usize>,
}
