//! Test support for the video-gst integration tests. Include it with `mod support;`.
//!
//! Everything here is real: fixtures are encoded and the reference is decoded by the `ffmpeg` /
//! `ffprobe` 5.1 CLI; nothing depends on the video-gst crate.
//!
//! * [`barcode`]: videos whose every frame shows its own frame number as a barcode, the
//!   generator for them (H.264/HEVC/VP9/AV1/MJPEG/ProRes/MPEG-4 in MP4/MKV/WebM/AVI/TS/MOV, VFR,
//!   edit lists, display rotation, truncation) and the barcode reader;
//! * [`ffmpeg`]: what ffmpeg decodes (RGB frames, barcodes, ffprobe pts, framemd5), PSNR, MD5;
//! * [`corpus`]: the shared corpus of 35 real files and its FFmpeg ground truth;
//! * [`mp4`]: a small MP4 box reader to check edit lists and faststart.

// Each test binary uses a different subset of this module, and its items are `pub` for use from
// the test files; neither is a defect here.
#![allow(dead_code, unreachable_pub)]

pub mod barcode;
pub mod corpus;
pub mod ffmpeg;
pub mod mp4;

/// Clockwise display rotation (0, 90, 180 or 270) from ffprobe's display-matrix rotation, which
/// is counter-clockwise (`-90` = show the stored picture rotated 90° clockwise).
pub fn rotation_cw_from_ccw(rotation_ccw: i32) -> u32 {
    let cw = (-rotation_ccw).rem_euclid(360);
    // Rounded to the nearest quarter turn; `cw` is in 0..360, so the conversion cannot fail.
    u32::try_from((cw + 45) / 90 % 4 * 90).unwrap_or(0)
}
