//! Helpers shared by the root package's integration tests.
#![allow(dead_code, clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// Build an example with this test's profile and features, and return its path.
pub(crate) fn example(name: &str) -> PathBuf {
    let mut cmd = Command::new(env!("CARGO"));
    cmd.args(["build", "--quiet", "--example", name])
        .current_dir(env!("CARGO_MANIFEST_DIR"));
    if !cfg!(debug_assertions) {
        cmd.arg("--release");
    }
    if cfg!(feature = "aws") {
        cmd.args(["--features", "aws"]);
    }
    assert!(
        cmd.status().unwrap().success(),
        "building example {name} failed"
    );
    // Integration tests live in target/<profile>/deps; examples in target/<profile>/examples.
    let exe = std::env::current_exe().unwrap();
    exe.parent()
        .unwrap()
        .parent()
        .unwrap()
        .join("examples")
        .join(name)
}

/// A fresh scratch directory under the target's temp dir.
pub(crate) fn scratch(name: &str) -> PathBuf {
    let d = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// Runs `f` to its end on a two-worker Tokio runtime of its own (object_store needs Tokio).
pub(crate) fn block_on<T>(f: impl std::future::Future<Output = T>) -> T {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
        .block_on(f)
}

/// Every file below `dir` (none when it does not exist).
pub(crate) fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    if let Ok(rd) = std::fs::read_dir(dir) {
        for e in rd.flatten() {
            let p = e.path();
            if p.is_dir() {
                out.extend(walk(&p));
            } else {
                out.push(p);
            }
        }
    }
    out
}

/// The md5 of each frame of `video`'s first video stream, in order, as ffmpeg's framemd5 prints
/// it with the verification command the README gives (`ffmpeg -noautorotate -i VIDEO -map 0:v:0
/// -fps_mode passthrough -f framemd5 -`): entry `N` is frame `N`.
pub(crate) fn ffmpeg_framemd5(video: &Path) -> Vec<String> {
    let listing = video_testkit::run_ok(
        Command::new("ffmpeg")
            .args(["-v", "error", "-noautorotate", "-i"])
            .arg(video)
            .args([
                "-map",
                "0:v:0",
                "-fps_mode",
                "passthrough",
                "-f",
                "framemd5",
                "-",
            ]),
    );
    parse_framemd5(&String::from_utf8(listing).unwrap())
}

/// The hashes of a framemd5 listing's stream-0 lines, in order: entry `N` is frame `N`
/// (passthrough keeps one line per decoded frame, in presentation order).
pub(crate) fn parse_framemd5(text: &str) -> Vec<String> {
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(|l| l.split(',').map(str::trim).collect::<Vec<_>>())
        .filter(|f| f.first() == Some(&"0"))
        .map(|f| f.last().unwrap().to_string())
        .collect()
}

/// `video-dataset ARGS` (the binary this package builds) in `cwd`, stdout and stderr captured
/// (so stderr is not a terminal).
#[cfg(feature = "cli")]
pub(crate) fn cli(args: &[&str], cwd: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_video-dataset"))
        .args(args)
        .current_dir(cwd)
        .output()
        .unwrap()
}

/// A process's stderr, as text.
pub(crate) fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// The number of frames ffprobe decodes in `video`.
pub(crate) fn ffprobe_frame_count(video: &Path) -> u64 {
    let out = video_testkit::run_ok(
        Command::new("ffprobe")
            .args(["-v", "error", "-count_frames", "-select_streams", "v:0"])
            .args(["-show_entries", "stream=nb_read_frames", "-of", "csv=p=0"])
            .arg(video),
    );
    String::from_utf8(out).unwrap().trim().parse().unwrap()
}
