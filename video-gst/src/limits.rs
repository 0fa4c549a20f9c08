//! Limits against hostile input: a video that declares more than these fails with
//! [`Error::LimitExceeded`](video_core::Error::LimitExceeded) before the memory is spent.
//!
//! The defaults are generous for real videos; [`GstDemuxerBuilder`](crate::GstDemuxerBuilder)
//! can lower them (`with_max_frames`, `with_max_dimension`).

/// Most frames in one video stream's frame table, whether it comes from the container header or
/// from the demux-only pass (which stops as soon as the stream exceeds it): 10 000 000 frames,
/// more than 90 hours at 30 fps. The same value as the MP4 header reader's limit on a track's
/// samples.
pub const MAX_FRAMES: u64 = 10_000_000;

/// Largest width or height, in pixels, of a video stream's frames, checked on the stream's caps
/// at probe and on every decoded frame: 16 384 (twice 8K UHD's width; H.264 and HEVC levels stop
/// below it).
pub const MAX_DIMENSION: u32 = 16_384;
