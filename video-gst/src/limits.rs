//! Limits against hostile input, in one place.
//!
//! The container header readers of this crate (MP4/MOV sample tables, AVI stream headers) check
//! every size a file declares against these limits before allocating from it. A file that
//! declares more ends with [`Error::LimitExceeded`](video_core::Error::LimitExceeded) naming
//! the file, what was declared and the limit; a size that is inconsistent with the file (a box
//! that does not fit inside it, a table whose entries do not fit inside its box) is never
//! trusted either: the header reader then leaves the file to the demuxer's own pass.
//!
//! The values are chosen so that every real video the decoders can handle passes, with margin,
//! while no declared value can make this crate allocate more than a few hundred MiB.
//!
//! [`MAX_FRAMES`] and [`MAX_DIMENSION`] also bound what the demuxer sees for itself, whatever the
//! container: the demux-only pass stops at the first packet past [`MAX_FRAMES`], and the
//! stream's caps (at probe) and every decoded frame are checked against [`MAX_DIMENSION`].
//! [`GstDemuxerBuilder`](crate::GstDemuxerBuilder) can lower both (`with_max_frames`,
//! `with_max_dimension`).

/// Largest width or height, in pixels, a video stream may declare (16384).
///
/// The largest pictures of the codecs GStreamer decodes here are HEVC and H.264 level 6.2
/// (at most 35 651 584 and 35 651 584 luma samples): a side of at most about 16 888 pixels at
/// the most extreme aspect ratio the levels allow, 8192×4320 in practice. AV1's sequence header
/// can state up to 65 536, which no level allows. 16384 keeps every real file and refuses the
/// 65535×65535 a corrupt 16-bit field gives.
pub const MAX_DIMENSION: u32 = 16_384;

/// Largest number of pixels (width × height) a video stream may declare (2^26 = 67 108 864).
///
/// Almost twice the largest picture of HEVC/H.264 level 6.2 (35 651 584 samples, 8192×4352).
/// One decoded RGB frame of this size is 192 MiB; the decoder and the frame buffer hold a few.
pub const MAX_PIXELS: u64 = 1 << 26;

/// Largest number of frames (samples) a video track may declare, and the longest frame table
/// built from a header (10 000 000).
///
/// That is 92 hours at 30 frames per second; the frame table of so many frames takes about
/// 0.5 GiB, and a header declaring billions of samples would otherwise make the demuxer
/// allocate its index before anything is read.
pub const MAX_FRAMES: u64 = 10_000_000;

/// Largest MP4/MOV `moov` box kept in memory while the header is read (64 MiB). A larger one is
/// read piece by piece from the input instead.
pub const MAX_MOOV_BYTES: u64 = 64 * 1024 * 1024;

/// Largest MP4/MOV sample-table box (`stts`, `ctts`, `stss`, `stsz`, `stsc`, `stco`, `co64`,
/// `elst`, `stsd`) read into memory (32 MiB, GStreamer's qtdemux's own limit on boxes other
/// than `mdat`): `stsz` then lists up to 8 million samples. A larger table is not read; the
/// frame table then comes from the demuxer's pass.
pub const MAX_TABLE_BOX_BYTES: u64 = 32 * 1024 * 1024;

/// Most boxes (MP4) or chunks (AVI) walked inside one parent box or list (10 000): a header made
/// of millions of empty boxes cannot keep the reader busy.
pub const MAX_CHILD_BOXES: usize = 10_000;
