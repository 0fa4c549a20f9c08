//! Image work of video-dataset that needs no media framework: encoding decoded frames as JPEG
//! or PNG (and decoding them back), and converting 8-bit planar YUV to RGB.
//!
//! Any backend can use it: the GStreamer backend (`video-gst`) converts the YUV frames it
//! decodes with [`yuv_to_rgb`], and the default job encodes with [`ImageEncoder`], the
//! [`video_core::FrameEncoder`] of the workspace.
//!
//! - [`ImageEncoder`] ([`EncodeOptions`], [`PngCompression`]): RGB [`Frame`]s to JPEG
//!   (libjpeg-turbo, through `turbojpeg`) or PNG (the `png` crate). Padded rows are read in
//!   place; a malformed frame is an [`Error::Encode`], never a panic.
//! - [`yuv_to_rgb`] and [`frame_to_rgb`]: 8-bit planar YUV ([`ChromaSubsampling`] 4:2:0, 4:2:2,
//!   4:4:4) to packed RGB with a [`ColorMatrix`] and [`ColorRange`], with `yuvutils-rs` (SIMD).
//!   Streams that signal no matrix use [`ColorMatrix::untagged`].
//! - [`decode_image`]: a stored JPEG or PNG back to packed RGB ([`RgbImage`]), for tools that
//!   read a dataset's images (contact sheets).
//!
//! All are synchronous and CPU-bound (milliseconds per 1080p frame): async callers run them
//! off the executor, as [`video_core::extract_to_sink`] does with
//! [`video_core::blocking::run`].
//!
//! ```
//! use video_core::{FrameEncoder, FrameInfo, ImageFormat, Timestamp};
//! use video_image::{
//!     ChromaSubsampling, ColorMatrix, ColorRange, EncodeOptions, ImageEncoder, YuvPlanes,
//!     yuv_to_rgb,
//! };
//! // A 64x48 I420 frame as a decoder gives it: Y, U and V planes.
//! let (w, h) = (64u32, 48u32);
//! let y: Vec<u8> = (0..w * h).map(|i| (16 + i % 200) as u8).collect();
//! let (u, v) = (vec![100u8; 32 * 24], vec![150u8; 32 * 24]);
//! let planes = YuvPlanes::new(ChromaSubsampling::Yuv420, w, h, [(&y, 64), (&u, 32), (&v, 32)]);
//! let info = FrameInfo { index: 0, pts: Timestamp::ZERO, duration: None, keyframe: true, decode_order: 0 };
//! let rgb = yuv_to_rgb(&planes, ColorMatrix::untagged(h), ColorRange::Limited, info)?;
//!
//! let png = ImageEncoder::new(EncodeOptions::default().format(ImageFormat::Png))?;
//! let image = png.encode(&rgb)?;
//! assert_eq!(&image.bytes[..4], b"\x89PNG");
//! assert_eq!((image.width, image.height), (64, 48));
//! # Ok::<(), video_core::Error>(())
//! ```
//!
//! Requires libturbojpeg (Debian: `libturbojpeg0-dev`), found with `pkg-config`.
//!
//! # Features
//!
//! | Feature | Enables | Default |
//! |---|---|---|
//! | (none) | everything above | yes |
//!
//! [`Frame`]: video_core::Frame
//! [`Error::Encode`]: video_core::Error::Encode
#![cfg_attr(docsrs, feature(doc_cfg))]
#![deny(rustdoc::broken_intra_doc_links)]

mod decode;
mod encode;
mod yuv;

pub use decode::{DEFAULT_MAX_PIXELS, RgbImage, decode_image};
pub use encode::{EncodeOptions, ImageEncoder, PngCompression};
pub use yuv::{
    ChromaSubsampling, ColorMatrix, ColorRange, YuvPlanes, frame_to_rgb, yuv_to_rgb, yuv_to_rgb_in,
};
