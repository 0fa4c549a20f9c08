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
    /// The pixel bytes, rows possibly padded (see [`Plane::stride`]).
    pub data: Vec<u8>,
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
}
