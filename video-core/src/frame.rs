//! Frames and their descriptions.

use std::time::Duration;

use crate::Timestamp;

/// One entry of a [`FrameTable`](crate::FrameTable): a frame the decoder outputs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct FrameInfo {
    /// 0-based index in presentation order (the crate docs define it exactly).
    pub index: u64,
    /// Presentation timestamp on the video's timeline.
    pub pts: Timestamp,
    /// How long the frame is shown, when the container says.
    pub duration: Option<Duration>,
    /// Whether decoding can start at this frame: an IDR, intra-only or key frame as the
    /// bitstream parser reports it (not only as the container index claims), or the first frame
    /// shown after an edit list hides its GOP's key frame (seeking to it makes the demuxer start
    /// at that hidden key frame).
    pub keyframe: bool,
    /// Position of the frame's packet in decode order among the frames of the table.
    pub decode_order: u64,
}

/// Layout of a frame's pixels.
#[derive(Clone, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[non_exhaustive]
pub enum PixelFormat {
    /// Packed 8-bit RGB, 3 bytes a pixel, one plane.
    Rgb8,
    /// The decoder's own format, named as GStreamer names it (`I420`, `I420_10LE`, `Y444`,
    /// `NV12`, `A420`, …), with one entry in [`Frame::planes`] per plane.
    Native(String),
}

impl PixelFormat {
    /// A short name: `RGB` or the native format's name.
    pub fn name(&self) -> &str {
        match self {
            PixelFormat::Rgb8 => "RGB",
            PixelFormat::Native(n) => n,
        }
    }
}

/// Where one plane lies in [`Frame::data`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Plane {
    /// Byte offset of the plane's first row.
    pub offset: usize,
    /// Bytes from the start of one row to the start of the next (rows may be padded).
    pub stride: usize,
    /// Bytes of pixel data in a row (`<= stride`).
    pub row_bytes: usize,
    /// Number of rows.
    pub rows: usize,
}

/// A decoded frame: its pixels, their layout and the frame's place in the video.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Frame {
    /// Which frame this is.
    pub info: FrameInfo,
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// Pixel format.
    pub format: PixelFormat,
    /// Plane layout inside `data`.
    pub planes: Vec<Plane>,
    /// The pixel bytes, rows possibly padded (see [`Plane::stride`]); a `Vec<u8>` that may
    /// return to its source's [`FramePool`](crate::FramePool) when the frame is dropped
    /// ([`FrameData::into_vec`](crate::FrameData::into_vec) keeps it).
    pub data: crate::FrameData,
    /// The md5 of the decoded frame's native planes, when the source was asked for it (see
    /// [`FrameMd5`]); it describes the frame as decoded, before any conversion, rotation or
    /// resizing that made `data`.
    pub framemd5: Option<FrameMd5>,
}

/// The md5 of a decoded frame's native planes, exactly as `ffmpeg -f framemd5` prints it for
/// that frame: the planes as the decoder outputs them (before any conversion to RGB, rotation or
/// resizing), rows without padding, one plane after the other, hashed together.
///
/// Anyone can check a stored frame with FFmpeg alone: frame `N` of the video is the `N`-th line
/// of `ffmpeg -noautorotate -i VIDEO -map 0:v:0 -fps_mode passthrough -f framemd5 -` (the last
/// field is the md5), with no `-pix_fmt` (FFmpeg hashes its decoder's own format).
///
/// ```
/// use video_core::FrameMd5;
/// let m = FrameMd5::new("D41D8CD98F00B204E9800998ECF8427E", Some("yuv420p".into()));
/// assert_eq!(m.md5, "d41d8cd98f00b204e9800998ecf8427e");
/// let json = serde_json::to_value(&m).unwrap();
/// assert_eq!(json, serde_json::json!({"md5": "d41d8cd98f00b204e9800998ecf8427e", "pix_fmt": "yuv420p"}));
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[non_exhaustive]
pub struct FrameMd5 {
    /// 32 lowercase hex digits.
    pub md5: String,
    /// FFmpeg's name of the hashed planes' layout (`yuv420p`, `yuv420p10le`, `yuv444p`, `nv12`,
    /// …), when it has one; a full-range `yuvj420p` stream's planes are laid out as `yuv420p`
    /// and named so. `None` when the decoder's format has no FFmpeg equivalent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pix_fmt: Option<String>,
}

impl FrameMd5 {
    /// A frame's md5 from its hex text (any case; stored lowercase) and FFmpeg's name of its
    /// pixel format.
    pub fn new(md5: impl Into<String>, pix_fmt: Option<String>) -> Self {
        FrameMd5 {
            md5: md5.into().to_ascii_lowercase(),
            pix_fmt,
        }
    }
}

impl Frame {
    /// The bytes of plane `i`, row padding removed, appended to `out`. Does nothing for a plane
    /// that does not exist.
    pub fn append_packed_plane(&self, i: usize, out: &mut Vec<u8>) {
        let Some(p) = self.planes.get(i) else { return };
        for r in 0..p.rows {
            let start = p.offset + r * p.stride;
            if let Some(row) = self.data.get(start..start + p.row_bytes) {
                out.extend_from_slice(row);
            }
        }
    }

    /// All planes, row padding removed, one after the other: the layout `ffmpeg -f rawvideo`
    /// and `framemd5` use.
    pub fn to_packed(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.planes.iter().map(|p| p.row_bytes * p.rows).sum());
        for i in 0..self.planes.len() {
            self.append_packed_plane(i, &mut out);
        }
        out
    }

    /// One row of plane `plane`, without padding; `None` past the end.
    pub fn row(&self, plane: usize, row: usize) -> Option<&[u8]> {
        let p = self.planes.get(plane)?;
        if row >= p.rows {
            return None;
        }
        let start = p.offset + row * p.stride;
        self.data.get(start..start + p.row_bytes)
    }
}

/// An image format for encoded frames.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, Hash, Default, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum ImageFormat {
    /// JPEG (baseline, 4:2:0 chroma).
    #[default]
    Jpeg,
    /// PNG (8-bit RGB, lossless).
    Png,
}

impl ImageFormat {
    /// The file extension without dot: `jpg` or `png`.
    pub fn extension(self) -> &'static str {
        match self {
            ImageFormat::Jpeg => "jpg",
            ImageFormat::Png => "png",
        }
    }

    /// The short name: `jpeg` or `png`.
    pub fn name(self) -> &'static str {
        match self {
            ImageFormat::Jpeg => "jpeg",
            ImageFormat::Png => "png",
        }
    }
}

impl std::str::FromStr for ImageFormat {
    type Err = crate::Error;
    fn from_str(s: &str) -> crate::Result<Self> {
        match s.to_ascii_lowercase().as_str() {
            "jpg" | "jpeg" => Ok(ImageFormat::Jpeg),
            "png" => Ok(ImageFormat::Png),
            other => Err(crate::Error::InvalidOption {
                option: "format".into(),
                reason: format!("unknown image format {other:?} (use jpg or png)"),
            }),
        }
    }
}

/// An encoded image of one frame, ready to be stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EncodedFrame {
    /// Which frame this is.
    pub info: FrameInfo,
    /// Width of the image in pixels.
    pub width: u32,
    /// Height of the image in pixels.
    pub height: u32,
    /// The image format.
    pub format: ImageFormat,
    /// The encoded bytes.
    pub bytes: Vec<u8>,
    /// The md5 of the decoded frame's native planes, passed on from [`Frame::framemd5`].
    pub framemd5: Option<FrameMd5>,
}
