//! Fixtures: clips made once with the ffmpeg CLI, encoded frames for sinks.

use std::path::{Path, PathBuf};
use std::process::Command;

use video_core::{EncodedFrame, FrameInfo, ImageFormat, Timestamp};

/// A clip made with the ffmpeg CLI from the lavfi `source` and the output `args`, stored as
/// `dir/name` (the output format follows `name`'s extension unless `args` name one). Made once:
/// an existing file is reused, across test binaries and runs when `dir` is kept (written under
/// another name, unique to the call, then renamed, so a concurrent test, in this process or
/// another, never sees half a file nor takes another's).
pub fn lavfi_clip(dir: &Path, name: &str, source: &str, args: &[&str]) -> PathBuf {
    static CALLS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    std::fs::create_dir_all(dir).unwrap();
    let out = dir.join(name);
    if !out.is_file() {
        let call = CALLS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let part = dir.join(format!("{}-{call}.{name}", std::process::id()));
        let status = Command::new("ffmpeg")
            .args(["-v", "error", "-y", "-f", "lavfi", "-i", source])
            .args(args)
            .arg(&part)
            .status()
            .expect("ffmpeg (installed by scripts/setup.sh --test)");
        assert!(status.success(), "ffmpeg could not make {}", out.display());
        std::fs::rename(&part, &out).unwrap();
    }
    out
}

/// The x264 arguments of the H.264 test clips: ultrafast, 4:2:0 (add `-g 25` for a key frame
/// every 25 frames, `-bf 2` for B-frames).
pub const X264_ARGS: &[&str] = &[
    "-c:v",
    "libx264",
    "-preset",
    "ultrafast",
    "-pix_fmt",
    "yuv420p",
];

/// An encoded frame `index` of `width` × `height` in `format` whose `len` bytes all equal
/// `index as u8`, at `index × 40 ms` (25 fps), not a key frame: what sink tests store.
pub fn encoded_frame(
    index: u64,
    (width, height): (u32, u32),
    format: ImageFormat,
    len: usize,
) -> EncodedFrame {
    EncodedFrame {
        info: FrameInfo {
            index,
            pts: Timestamp::from_nanos(index as i64 * 40_000_000),
            duration: None,
            keyframe: false,
            decode_order: index,
        },
        width,
        height,
        format,
        bytes: vec![index as u8; len],
        framemd5: None,
    }
}

/// `dir/street.mp4`: 60 frames of 1280×720 H.264 at 25 fps, the video the Supervisely fixture
/// annotation (`video-core/tests/data/supervisely/street`) describes.
pub fn street_clip(dir: &Path) -> PathBuf {
    lavfi_clip(
        dir,
        "street.mp4",
        "testsrc2=size=1280x720:rate=25",
        &[X264_ARGS, &["-frames:v", "60"]].concat(),
    )
}
