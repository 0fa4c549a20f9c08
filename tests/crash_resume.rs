//! Kill `extract_frames` (SIGKILL) at several points, re-run the same command, and check the
//! dataset ends complete: every planned frame once, every image whole, the manifest right.

#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

mod common;

use common::example;
use futures::TryStreamExt;
use sha2::{Digest, Sha256};
use video_dataset::core::{DatasetSink, VideoRef};
use video_dataset::storage::{ObjectStoreSink, object_store::ObjectStore};

/// A PNG that parses to its end: signature, IHDR of the right size, chunks up to IEND.
fn assert_whole_png(name: &str, b: &[u8], w: u32, h: u32) {
    assert!(
        b.starts_with(b"\x89PNG\r\n\x1a\n"),
        "{name}: no PNG signature"
    );
    let be = |i: usize| u32::from_be_bytes([b[i], b[i + 1], b[i + 2], b[i + 3]]);
    assert_eq!((be(16), be(20)), (w, h), "{name}");
    let mut i = 8;
    loop {
        assert!(i + 12 <= b.len(), "{name}: truncated PNG");
        let len = be(i) as usize;
        let kind = &b[i + 4..i + 8];
        i += 12 + len;
        if kind == b"IEND" {
            assert_eq!(i, b.len(), "{name}: bytes after IEND");
            return;
        }
    }
}

/// Kill runs writing to `out` (a directory or a store URL) at several points, finish with one
/// more run, and check the dataset through the same sink a user would read it with.
fn killed_runs_resume_to_a_complete_dataset(out: &str) {
    let probe = example("probe");
    let extract = example("extract_frames");
    let work =
        PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("crash-{}", std::process::id()));
    std::fs::create_dir_all(&work).unwrap();
    // The examples' generated sample clip: 300 frames, 640x360.
    let probed = Command::new(&probe).current_dir(&work).output().unwrap();
    let clip = serde_json::from_slice::<serde_json::Value>(&probed.stdout).unwrap()["path"]
        .as_str()
        .unwrap()
        .to_owned();
    let stem = Path::new(&clip)
        .file_stem()
        .unwrap()
        .to_string_lossy()
        .into_owned();
    let args = [clip.as_str(), out, "--step", "1", "--format", "png"];
    let sink = ObjectStoreSink::from_url(out).unwrap();
    let video = VideoRef {
        folder: String::new(),
        name: stem.clone(),
    };
    let rt = tokio::runtime::Runtime::new().unwrap();

    let mut killed_with_frames = 0;
    for delay_ms in [40u64, 120, 250, 400] {
        let mut child = Command::new(&extract)
            .args(args)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_millis(delay_ms));
        let _ = child.kill(); // SIGKILL
        let _ = child.wait();
        let stored = rt
            .block_on(sink.existing(&video, &(0..300).collect::<Vec<_>>()))
            .unwrap()
            .len();
        if stored > 0 && rt.block_on(sink.manifest(&video)).unwrap().is_none() {
            killed_with_frames += 1;
        }
    }
    // The same command again, to the end.
    let run = Command::new(&extract).args(args).output().unwrap();
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let summary: serde_json::Value = serde_json::from_slice(&run.stdout).unwrap();
    assert_eq!(summary["frames_planned"].as_u64(), Some(300));
    assert_eq!(
        summary["frames_written"].as_u64().unwrap() + summary["frames_existing"].as_u64().unwrap(),
        300
    );
    if killed_with_frames > 0 {
        assert!(
            summary["frames_existing"].as_u64().unwrap() > 0,
            "frames from the killed runs were not reused"
        );
    }

    let listed: Vec<video_dataset::storage::object_store::ObjectMeta> = rt
        .block_on(sink.store().list(Some(sink.prefix())).try_collect())
        .unwrap();
    let pngs = listed
        .iter()
        .filter(|m| m.location.as_ref().ends_with(".png"))
        .count();
    assert_eq!(pngs, 300, "one image per frame, no duplicates");
    let manifest = rt.block_on(sink.manifest(&video)).unwrap().unwrap();
    let frames = manifest["frames"].as_array().unwrap();
    assert_eq!(frames.len(), 300);
    for (i, f) in frames.iter().enumerate() {
        assert_eq!(f["index"].as_u64(), Some(i as u64), "manifest order");
        let key = f["key"].as_str().unwrap();
        assert_eq!(key, format!("{stem}_{i:06}.png"));
        let bytes = rt.block_on(sink.read(key)).unwrap();
        assert_whole_png(key, &bytes, 640, 360);
        assert_eq!(f["bytes"].as_u64(), Some(bytes.len() as u64));
        assert_eq!(
            f["content_hash"].as_str().unwrap(),
            format!("sha256:{:x}", Sha256::digest(&bytes)),
            "{key}"
        );
    }
    eprintln!(
        "{out}: killed {killed_with_frames} runs part-way; resumed with {} frames already stored",
        summary["frames_existing"]
    );
}

#[test]
fn killed_runs_resume_on_local_disk() {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("crash-local-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    killed_runs_resume_to_a_complete_dataset(dir.to_str().unwrap());
    // No staging file (`name#N`) of a killed write is left behind.
    let mut stack = vec![dir.clone()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                let name = p.file_name().unwrap().to_string_lossy().into_owned();
                assert!(!name.contains('#'), "stale staging file {}", p.display());
            }
        }
    }
}

#[cfg(feature = "aws")]
#[test]
fn killed_runs_resume_on_s3() {
    let Some(url) = video_dataset::core::testing::s3_test_url("killed_runs_resume_on_s3") else {
        return;
    };
    killed_runs_resume_to_a_complete_dataset(&url);
}
