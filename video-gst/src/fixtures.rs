//! Videos the tests of the header readers generate with the `ffmpeg` CLI (a test requirement,
//! installed by `scripts/setup.sh --test`), and a box finder independent of the reader under test,
//! to patch their bytes.
#![allow(clippy::unwrap_used)]

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Mutex, OnceLock};

/// The lavfi source of every fixture: 160x120, 25 fps, 6 s (150 frames).
pub(crate) const SRC: &str = "testsrc2=size=160x120:rate=25:duration=6";

/// How each fixture is made: ffmpeg arguments before the output path.
fn recipe(name: &str) -> Vec<&'static str> {
    let x264: &[&str] = &[
        "-f", "lavfi", "-i", SRC, "-c:v", "libx264", "-bf", "3", "-g", "25", "-pix_fmt", "yuv420p",
    ];
    let extra: &[&str] = match name {
        // moov after mdat, B-frames, an edit list for their delay.
        "x264.mp4" => &[],
        // moov before mdat.
        "x264-faststart.mp4" => &["-movflags", "+faststart"],
        "x264.mov" => &["-f", "mov"],
        "x264.avi" => &["-f", "avi"],
        // MPEG-4 part 2 in AVI, without B-frames: every packet is a frame.
        "mpeg4.avi" => {
            return vec![
                "-f", "lavfi", "-i", SRC, "-c:v", "mpeg4", "-g", "25", "-f", "avi",
            ];
        }
        "hevc.mp4" => {
            return vec![
                "-f",
                "lavfi",
                "-i",
                SRC,
                "-c:v",
                "libx265",
                "-x265-params",
                "log-level=none:bframes=4",
                "-tag:v",
                "hvc1",
            ];
        }
        other => panic!("no recipe for fixture {other}"),
    };
    [x264, extra].concat()
}

/// Where the fixtures are kept: `target/test-fixtures/video-gst-header` of the workspace.
fn dir() -> PathBuf {
    let crate_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    let dir = crate_dir
        .parent()
        .unwrap_or(crate_dir)
        .join("target")
        .join("test-fixtures")
        .join("video-gst-header");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// The generated file `name`. Made once (named by a hash of its recipe, so a changed recipe
/// makes a new file), written under a temporary name and renamed, so test processes running
/// at once never see half a file.
pub(crate) fn fixture(name: &str) -> PathBuf {
    static MADE: OnceLock<Mutex<HashMap<String, PathBuf>>> = OnceLock::new();
    let made = MADE.get_or_init(Default::default);
    let mut made = made.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(p) = made.get(name) {
        return p.clone();
    }
    let args = recipe(name);
    // FNV-1a of the recipe.
    let hash = args
        .iter()
        .flat_map(|a| a.bytes().chain([0]))
        .fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
            (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
        });
    let out = dir().join(format!("{hash:016x}-{name}"));
    if !out.is_file() {
        let ext = Path::new(name)
            .extension()
            .and_then(|e| e.to_str())
            .unwrap_or("bin");
        let tmp = dir().join(format!("{hash:016x}-{}.{ext}", std::process::id()));
        ffmpeg(&args, &tmp);
        std::fs::rename(&tmp, &out).unwrap();
    }
    made.insert(name.to_owned(), out.clone());
    out
}

/// Run `ffmpeg ARGS OUT`; panics (with the reason) when it fails: the tests need it.
pub(crate) fn ffmpeg(args: &[&str], out: &Path) {
    let status = Command::new("ffmpeg")
        .args(["-v", "error", "-y"])
        .args(args)
        .arg(out)
        .status()
        .expect("the ffmpeg CLI (installed by scripts/setup.sh --test)");
    assert!(status.success(), "ffmpeg {args:?} {} failed", out.display());
}

/// `ffprobe -show_entries stream=KEY` of the first video stream, as text.
pub(crate) fn ffprobe_stream(path: &Path, key: &str, count_packets: bool) -> String {
    let mut cmd = Command::new("ffprobe");
    cmd.args(["-v", "error", "-select_streams", "v:0"]);
    if count_packets {
        cmd.arg("-count_packets");
    }
    let out = cmd
        .args(["-show_entries", &format!("stream={key}"), "-of", "csv=p=0"])
        .arg(path)
        .output()
        .expect("the ffprobe CLI (installed by scripts/setup.sh --test)");
    assert!(out.status.success(), "ffprobe {}", path.display());
    String::from_utf8(out.stdout).unwrap().trim().to_owned()
}

/// The (payload start, end) of the box reached by `path` from the top level, parsed here
/// independently of the reader under test (32-bit and 64-bit sizes; `stsd` entries are not
/// boxes this descends into).
pub(crate) fn find_box(data: &[u8], path: &[&[u8; 4]]) -> Option<(usize, usize)> {
    let (mut start, mut end) = (0usize, data.len());
    for kind in path {
        let mut pos = start;
        let mut found = None;
        while pos + 8 <= end {
            let size = u32::from_be_bytes(data[pos..pos + 4].try_into().ok()?) as usize;
            let (header, size) = match size {
                1 => (
                    16,
                    usize::try_from(u64::from_be_bytes(
                        data.get(pos + 8..pos + 16)?.try_into().ok()?,
                    ))
                    .ok()?,
                ),
                0 => (8, end - pos),
                n => (8, n),
            };
            if size < header || pos + size > end {
                return None;
            }
            if &data[pos + 4..pos + 8] == *kind {
                found = Some((pos + header, pos + size));
                break;
            }
            pos += size;
        }
        (start, end) = found?;
    }
    Some((start, end))
}

/// The (payload start, end) of `kind` inside the first video track's sample table
/// (`moov/trak/mdia/minf/stbl/KIND`); the fixtures have one track.
pub(crate) fn stbl_box(data: &[u8], kind: &[u8; 4]) -> (usize, usize) {
    find_box(data, &[b"moov", b"trak", b"mdia", b"minf", b"stbl", kind])
        .unwrap_or_else(|| panic!("no {} box", String::from_utf8_lossy(kind)))
}

/// Write a big-endian `u32` at `at`.
pub(crate) fn put_u32(data: &mut [u8], at: usize, v: u32) {
    data[at..at + 4].copy_from_slice(&v.to_be_bytes());
}

/// Write a big-endian `u16` at `at`.
pub(crate) fn put_u16(data: &mut [u8], at: usize, v: u16) {
    data[at..at + 2].copy_from_slice(&v.to_be_bytes());
}

/// The byte offset of the first RIFF chunk `id` (`strh`, `strf`, `avih`) inside the AVI
/// header, found by a scan for its four-character code (the fixtures hold it once).
pub(crate) fn avi_chunk(data: &[u8], id: &[u8; 4]) -> usize {
    let end = data.len().min(64 * 1024);
    data[..end]
        .windows(4)
        .position(|w| w == id)
        .map(|p| p + 8)
        .unwrap_or_else(|| panic!("no {} chunk", String::from_utf8_lossy(id)))
}

/// `bytes` as a file of this test process in the fixtures' directory (remove it with
/// `std::fs::remove_file` when done).
pub(crate) fn write(name: &str, bytes: &[u8]) -> PathBuf {
    let p = dir().join(format!("{}-{name}", std::process::id()));
    std::fs::write(&p, bytes).unwrap();
    p
}
