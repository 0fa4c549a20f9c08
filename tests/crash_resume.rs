//! Kill `extract_frames` (SIGKILL) at several points, re-run the same command, and check the
//! dataset ends complete: every planned frame once, every image whole, the manifest right.

#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use sha2::{Digest, Sha256};

fn example(name: &str) -> PathBuf {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut cmd = Command::new(env!("CARGO"));
    cmd.args(["build", "--quiet", "--example", name])
        .current_dir(root);
    if !cfg!(debug_assertions) {
        cmd.arg("--release");
    }
    assert!(cmd.status().unwrap().success());
    std::env::current_exe()
        .unwrap()
        .parent()
        .unwrap()
        .parent()
        .unwrap()
        .join("examples")
        .join(name)
}

/// A PNG that parses to its end: signature, IHDR of the right size, chunks up to IEND.
fn assert_whole_png(path: &Path, w: u32, h: u32) {
    let b = std::fs::read(path).unwrap();
    assert!(
        b.starts_with(b"\x89PNG\r\n\x1a\n"),
        "{}: no PNG signature",
        path.display()
    );
    let be = |i: usize| u32::from_be_bytes([b[i], b[i + 1], b[i + 2], b[i + 3]]);
    assert_eq!((be(16), be(20)), (w, h), "{}", path.display());
    let mut i = 8;
    loop {
        assert!(i + 12 <= b.len(), "{}: truncated PNG", path.display());
        let len = be(i) as usize;
        let kind = &b[i + 4..i + 8];
        i += 12 + len;
        if kind == b"IEND" {
            assert_eq!(i, b.len(), "{}: bytes after IEND", path.display());
            return;
        }
    }
}

#[test]
fn killed_runs_resume_to_a_complete_dataset() {
    let probe = example("probe");
    let extract = example("extract_frames");
    let work =
        PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("crash-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&work);
    std::fs::create_dir_all(&work).unwrap();
    // The examples' generated sample clip: 300 frames, 640x360.
    let out = Command::new(&probe).current_dir(&work).output().unwrap();
    let clip = serde_json::from_slice::<serde_json::Value>(&out.stdout).unwrap()["path"]
        .as_str()
        .unwrap()
        .to_owned();
    let stem = Path::new(&clip)
        .file_stem()
        .unwrap()
        .to_string_lossy()
        .into_owned();
    let dataset = work.join("dataset");
    let args = [
        clip.as_str(),
        dataset.to_str().unwrap(),
        "--step",
        "1",
        "--format",
        "png",
    ];

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
        let stored = std::fs::read_dir(&dataset).map(|d| d.count()).unwrap_or(0);
        if stored > 0 && !dataset.join(format!("{stem}.scene.json")).exists() {
            killed_with_frames += 1;
        }
    }
    // The same command again, to the end.
    let out = Command::new(&extract).args(args).output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let summary: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
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

    let pngs: Vec<PathBuf> = std::fs::read_dir(&dataset)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "png"))
        .collect();
    assert_eq!(pngs.len(), 300, "one image per frame, no duplicates");
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dataset.join(format!("{stem}.scene.json"))).unwrap())
            .unwrap();
    let frames = manifest["frames"].as_array().unwrap();
    assert_eq!(frames.len(), 300);
    for (i, f) in frames.iter().enumerate() {
        assert_eq!(f["index"].as_u64(), Some(i as u64), "manifest order");
        let path = dataset.join(f["key"].as_str().unwrap());
        assert_eq!(
            path.file_name().unwrap().to_string_lossy(),
            format!("{stem}_{i:06}.png")
        );
        assert_whole_png(&path, 640, 360);
        let bytes = std::fs::read(&path).unwrap();
        assert_eq!(f["bytes"].as_u64(), Some(bytes.len() as u64));
        assert_eq!(
            f["content_hash"].as_str().unwrap(),
            format!("sha256:{:x}", Sha256::digest(&bytes)),
            "{}",
            path.display()
        );
    }
    eprintln!(
        "killed {killed_with_frames} runs part-way; resumed with {} frames already stored",
        summary["frames_existing"]
    );
}
