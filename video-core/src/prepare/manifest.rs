//! What a preparation was asked to do, and the manifest of what it made.

use super::{FrameMap, SplitBy, SplitMode};
use crate::{Error, Result, VideoMetadata, VideoSource};

/// What a preparation makes.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum PrepareKind {
    /// One web-ready copy: H.264 High 4:2:0 8-bit in an MP4 with its index first.
    Web,
    /// Segments of at most `by`, cut as `mode` says.
    Split {
        /// The largest segment.
        by: SplitBy,
        /// Key-frame aligned stream copy or exact re-encoding.
        mode: SplitMode,
    },
}

/// Everything that decides a preparation's outputs; stored in its manifest, and a re-run with
/// other settings makes the outputs again.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
#[non_exhaustive]
pub struct Preparation {
    /// What is made.
    #[serde(flatten)]
    pub kind: PrepareKind,
    /// Frame-rate conversion to this many frames a second (see [`fps_map`](super::fps_map));
    /// `None` keeps every source frame at its own time.
    pub fps: Option<f64>,
    /// Re-encoded outputs fit within `max_side` × `max_side` (aspect kept, never upscaled).
    pub max_side: Option<u32>,
    /// Whether re-encoded outputs have the source's rotation applied to their pixels
    /// (`true`), or keep the stored pixels with the rotation as metadata (`false`).
    pub rotation_applied: bool,
    /// The encoder's settings as the backend describes them (preset, quality, key-frame
    /// interval); empty for stream copies.
    pub encoder_settings: String,
}

impl Preparation {
    /// A web-ready copy with the default size limit (2048), rotation applied.
    pub fn web() -> Self {
        Preparation {
            kind: PrepareKind::Web,
            fps: None,
            max_side: Some(2048),
            rotation_applied: true,
            encoder_settings: String::new(),
        }
    }

    /// Segments of at most `by`, cut as `mode` says.
    pub fn split(by: SplitBy, mode: SplitMode) -> Self {
        Preparation {
            kind: PrepareKind::Split { by, mode },
            ..Preparation::web()
        }
    }

    /// Set [`fps`](Self::fps); `Some(0.0)` means none.
    pub fn fps(mut self, fps: Option<f64>) -> Self {
        self.fps = fps.filter(|&f| f != 0.0);
        self
    }

    /// Set [`max_side`](Self::max_side).
    pub fn max_side(mut self, v: Option<u32>) -> Self {
        self.max_side = v;
        self
    }

    /// Set [`rotation_applied`](Self::rotation_applied).
    pub fn rotation_applied(mut self, v: bool) -> Self {
        self.rotation_applied = v;
        self
    }

    /// Set [`encoder_settings`](Self::encoder_settings).
    pub fn encoder_settings(mut self, v: impl Into<String>) -> Self {
        self.encoder_settings = v.into();
        self
    }

    /// Whether outputs are stream copies (no decoding, no encoding).
    pub fn is_stream_copy(&self) -> bool {
        matches!(
            self.kind,
            PrepareKind::Split {
                mode: SplitMode::KeyFrames,
                ..
            }
        )
    }

    /// Checks the settings: positive limits and rates; a key-frame aligned split copies the
    /// stream, so it cannot change the frame rate.
    pub fn validate(&self) -> Result<()> {
        if let PrepareKind::Split { by, .. } = self.kind {
            by.validate()?;
        }
        if let Some(f) = self.fps
            && !(f.is_finite() && f > 0.0)
        {
            return Err(Error::InvalidOption {
                option: "fps".into(),
                reason: format!("must be a positive number, or 0 for none (got {f})"),
            });
        }
        if self.max_side.is_some_and(|m| m < 2) {
            return Err(Error::InvalidOption {
                option: "max_side".into(),
                reason: "must be at least 2".into(),
            });
        }
        if self.is_stream_copy() && self.fps.is_some() {
            return Err(Error::InvalidOption {
                option: "fps".into(),
                reason: "a key-frame aligned split copies the stream and cannot change its \
                         frame rate; split exactly to convert it"
                    .into(),
            });
        }
        Ok(())
    }

    /// A short name of the outputs, part of their keys (see
    /// [`layout::prepared_output_key`](crate::layout::prepared_output_key)): `web`,
    /// `web-fps5`, `split-10s`, `split-300f-exact`, `split-10s-exact-fps2.5`. Size and
    /// rotation are not in it: outputs made with other ones replace these.
    pub fn tag(&self) -> String {
        let mut t = match self.kind {
            PrepareKind::Web => "web".to_owned(),
            PrepareKind::Split { by, mode } => {
                let by = match by {
                    SplitBy::Seconds(s) => format!("{s}s"),
                    SplitBy::Frames(f) => format!("{f}f"),
                };
                match mode {
                    SplitMode::KeyFrames => format!("split-{by}"),
                    SplitMode::Exact => format!("split-{by}-exact"),
                }
            }
        };
        if let Some(f) = self.fps {
            t.push_str(&format!("-fps{f}"));
        }
        t
    }
}

/// One prepared output (the web copy, or one segment).
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct PreparedOutput {
    /// Its key, relative to the dataset.
    pub key: String,
    /// Its number among the outputs (0 for a single one).
    pub number: u64,
    /// Number of frames.
    pub frames: u64,
    /// Index of its first frame among the frames of all outputs together (for a split, the
    /// frames of the segments before it; without frame-rate conversion this is also the first
    /// frame's source index).
    pub global_frame_offset: u64,
    /// Time of its first frame from the first output's start, in seconds (without frame-rate
    /// conversion: from the source's first frame).
    pub pts_offset: f64,
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// Size in bytes.
    pub bytes: u64,
    /// The GStreamer element that encoded it, or `copy` for a stream copy.
    pub encoder: String,
    /// What happened to the source's audio: `none`, `copied`, `aac` (re-encoded).
    pub audio: String,
    /// The rotation written as metadata (clockwise degrees), when it was kept that way.
    pub rotation_metadata: Option<u32>,
    /// Whether the segment is longer than asked (a key-frame aligned split with no key frame
    /// to cut at within the limit).
    pub longer_than_asked: bool,
    /// Output frame `i` → source frame, and when it is shown (from this output's start).
    pub map: FrameMap,
}

impl PreparedOutput {
    /// The source index of this output's frame `local`.
    pub fn source_index(&self, local: u64) -> Option<u64> {
        let i = usize::try_from(local).ok()?;
        self.map.frames.get(i).map(|f| f.source_index)
    }
}

/// The manifest of a preparation: the source, what was asked, and every output with its map.
/// Stored as JSON at [`layout::prepared_manifest_key`](crate::layout::prepared_manifest_key)
/// after all outputs are stored.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
#[non_exhaustive]
pub struct PreparedManifest {
    /// [`PREPARED_FORMAT`](crate::layout::PREPARED_FORMAT).
    pub format: String,
    /// [`PREPARED_FORMAT_VERSION`](crate::layout::PREPARED_FORMAT_VERSION).
    pub format_version: u32,
    /// Where the source came from.
    pub source: VideoSource,
    /// The source's probed metadata.
    pub metadata: VideoMetadata,
    /// What was asked.
    pub preparation: Preparation,
    /// Frames of all outputs together.
    pub frames: u64,
    /// The outputs, in order.
    pub outputs: Vec<PreparedOutput>,
}

impl PreparedManifest {
    /// A manifest of the current format.
    pub fn new(
        source: VideoSource,
        metadata: VideoMetadata,
        preparation: Preparation,
        outputs: Vec<PreparedOutput>,
    ) -> Self {
        PreparedManifest {
            format: crate::layout::PREPARED_FORMAT.to_owned(),
            format_version: crate::layout::PREPARED_FORMAT_VERSION,
            frames: outputs.iter().map(|o| o.frames).sum(),
            source,
            metadata,
            preparation,
            outputs,
        }
    }

    /// The source frame shown by frame `local` of output `output`.
    pub fn source_index(&self, output: usize, local: u64) -> Option<u64> {
        self.outputs.get(output)?.source_index(local)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{FrameTable, PacketEntry, Timestamp};

    #[test]
    fn tags_name_what_decides_the_outputs() {
        assert_eq!(Preparation::web().tag(), "web");
        assert_eq!(Preparation::web().fps(Some(5.0)).tag(), "web-fps5");
        assert_eq!(Preparation::web().fps(Some(0.0)).tag(), "web");
        let s = Preparation::split(SplitBy::Seconds(10.0), SplitMode::KeyFrames);
        assert_eq!(s.tag(), "split-10s");
        let s = Preparation::split(SplitBy::Frames(300), SplitMode::Exact).fps(Some(2.5));
        assert_eq!(s.tag(), "split-300f-exact-fps2.5");
        for t in ["web-fps29.97", "split-0.5s-exact"] {
            crate::layout::check_segment(t, t).unwrap();
        }
    }

    #[test]
    fn stream_copies_cannot_convert_the_rate() {
        let s = Preparation::split(SplitBy::Seconds(10.0), SplitMode::KeyFrames).fps(Some(5.0));
        assert!(matches!(s.validate(), Err(Error::InvalidOption { .. })));
        let s = Preparation::split(SplitBy::Frames(0), SplitMode::Exact);
        assert!(s.validate().is_err());
        Preparation::split(SplitBy::Frames(3), SplitMode::Exact)
            .fps(Some(5.0))
            .validate()
            .unwrap();
    }

    #[test]
    fn manifests_round_trip_through_json_with_compact_maps() {
        let table = FrameTable::from_decode_order(
            "t",
            (0..5).map(|i| PacketEntry {
                pts: Some(Timestamp::from_nanos(1_000 + i * 33_366_667)),
                duration: None,
                keyframe: i == 0,
            }),
        )
        .unwrap();
        let map = FrameMap::copy_of(&table, 1, 4).unwrap();
        let out = PreparedOutput {
            key: "a/clip.prepared/web.mp4".into(),
            number: 0,
            frames: 3,
            global_frame_offset: 1,
            pts_offset: 0.033,
            width: 2,
            height: 2,
            bytes: 10,
            encoder: "x264enc".into(),
            audio: "none".into(),
            rotation_metadata: None,
            longer_than_asked: false,
            map,
        };
        let m = PreparedManifest::new(
            VideoSource::new("clip.mp4"),
            VideoMetadata::new("clip.mp4"),
            Preparation::web(),
            vec![out],
        );
        let json = serde_json::to_value(&m).unwrap();
        assert_eq!(
            json["outputs"][0]["map"]["source_index"],
            serde_json::json!([1, 2, 3])
        );
        assert_eq!(
            json["outputs"][0]["map"]["pts_ns"],
            serde_json::json!([0, 33_366_667, 66_733_334])
        );
        assert_eq!(json["preparation"]["kind"], "web");
        let back: PreparedManifest = serde_json::from_value(json).unwrap();
        assert_eq!(back, m);
        assert_eq!(back.source_index(0, 2), Some(3));
        assert_eq!(back.frames, 3);
    }
}
