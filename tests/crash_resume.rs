//! Stop `extract_frames` (SIGKILL, SIGTERM, SIGINT) after it reports stored frames, re-run the
//! same command, and check the dataset ends complete: every planned frame once, every image
//! whole, the manifest right, no staging file left; two processes on one dataset at once.

#![allow(clippy::unwrap_used)]

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

mod common;

use common::example;
use futures::TryStreamExt;
use sha2::{Digest, Sha256};
use video_dataset::core::{DatasetSink, VideoRef};
use video_dataset::storage::{ObjectStoreSink, object_store::ObjectStore};
use video_testkit::png::assert_whole_png;

/// The `extract_frames` example and the examples' generated sample clip (300 frames, 640x360):
/// (example, clip path, clip stem).
fn example_and_clip() -> (PathBuf, String, String) {
    let probe = example("probe");
    let extract = example("extract_frames");
    let work =
        PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("crash-{}", std::process::id()));
    std::fs::create_dir_all(&work).unwrap();
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
    (extract, clip, stem)
}

/// A run of `extract_frames --progress` whose stderr is read line by line.
struct Run {
    child: Child,
    lines: std::io::Lines<BufReader<std::process::ChildStderr>>,
}

impl Run {
    fn start(extract: &Path, args: &[&str]) -> Run {
        let mut child = Command::new(extract)
            .args(args)
            .arg("--progress")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let lines = BufReader::new(child.stderr.take().unwrap()).lines();
        Run { child, lines }
    }

    /// Wait until the process reports its `n`-th stored frame (it is then still running: it has
    /// frames left to store and has not written the manifest).
    fn wait_for_stored(&mut self, n: usize) {
        let mut seen = 0;
        let mut other = Vec::new();
        while seen < n {
            let Some(line) = self.lines.next() else {
                panic!("the run ended after {seen} stored frames: {other:?}");
            };
            let line = line.unwrap();
            if line.starts_with("stored ") {
                seen += 1;
            } else {
                other.push(line);
            }
        }
    }

    /// Send `signal` (a `kill -s` name) and wait for the process to end.
    fn signal(mut self, signal: &str) -> std::process::ExitStatus {
        let ok = Command::new("kill")
            .args(["-s", signal, &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(ok.success());
        // Drain stderr so the process never blocks on a full pipe while it stops.
        for _ in self.lines.by_ref() {}
        self.child.wait().unwrap()
    }
}

/// Check the dataset in `out` holds the whole video: every planned frame once, every image whole
/// and as recorded, the manifest right.
fn assert_complete(out: &str, stem: &str) {
    let sink = ObjectStoreSink::from_url(out).unwrap();
    let video = VideoRef {
        folder: String::new(),
        name: stem.to_owned(),
    };
    let rt = tokio::runtime::Runtime::new().unwrap();
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
}

/// Frames of the clip stored in `out` now, and whether its manifest is there.
fn stored(out: &str, stem: &str) -> (usize, bool) {
    let sink = ObjectStoreSink::from_url(out).unwrap();
    let video = VideoRef {
        folder: String::new(),
        name: stem.to_owned(),
    };
    let rt = tokio::runtime::Runtime::new().unwrap();
    let n = rt
        .block_on(sink.existing(&video, &(0..300).collect::<Vec<_>>()))
        .unwrap()
        .len();
    (n, rt.block_on(sink.manifest(&video)).unwrap().is_some())
}

/// Stop runs writing to `out` (a directory or a store URL) with `signal` after their 5th, 60th
/// and 150th stored frame (each kill lands mid-run: the process said it stored that frame and
/// has more to store), check after each that the frames stay stored and no manifest exists,
/// then finish with one more run, which must reuse them, and check the dataset.
fn stopped_runs_resume_to_a_complete_dataset(out: &str, signal: &str, status: Option<i32>) {
    let (extract, clip, stem) = example_and_clip();
    let args = [clip.as_str(), out, "--step", "1", "--format", "png"];
    let mut reported = 0;
    for n in [5, 60, 150] {
        let mut run = Run::start(&extract, &args);
        run.wait_for_stored(n);
        let ended = run.signal(signal);
        assert_eq!(ended.code(), status, "{signal}: {ended:?}");
        reported += n;
        let (now, finished) = stored(out, &stem);
        assert!(!finished, "{signal} after frame {n} did not land mid-run");
        assert!(
            now >= reported,
            "{now} frames stored, {reported} reported stored"
        );
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
    let existing = summary["frames_existing"].as_u64().unwrap();
    assert_eq!(summary["frames_written"].as_u64().unwrap() + existing, 300);
    assert!(
        existing >= reported as u64,
        "frames from the stopped runs were not reused: {existing} < {reported}"
    );
    assert_complete(out, &stem);
    eprintln!("{out}: {signal} x3 part-way; resumed with {existing} frames already stored");
}

/// No staging file (`name#N`) anywhere under `dir`.
fn assert_no_staging_files(dir: &Path) {
    let mut stack = vec![dir.to_owned()];
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

/// The tests of this file run one at a time: each runs the example in several processes at
/// once, and two cores shared by more would only make every process slower.
fn serial() -> std::sync::MutexGuard<'static, ()> {
    static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());
    SERIAL
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn scratch(name: &str) -> PathBuf {
    let dir =
        PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

#[test]
fn killed_runs_resume_on_local_disk() {
    let _serial = serial();
    let dir = scratch("crash-local");
    stopped_runs_resume_to_a_complete_dataset(dir.to_str().unwrap(), "KILL", None);
    assert_no_staging_files(&dir);
}

/// SIGTERM and SIGINT stop a run cleanly: exit status 143 / 130, no staging or partial file
/// left, and the same command again completes the dataset.
#[test]
fn terminated_and_interrupted_runs_stop_cleanly_and_resume() {
    let _serial = serial();
    for (signal, status) in [("TERM", 143), ("INT", 130)] {
        let dir = scratch(&format!("crash-{signal}"));
        let out = dir.to_str().unwrap();
        let (extract, clip, stem) = example_and_clip();
        let args = [clip.as_str(), out, "--step", "1", "--format", "png"];
        let mut run = Run::start(&extract, &args);
        run.wait_for_stored(30);
        let ended = run.signal(signal);
        assert_eq!(ended.code(), Some(status), "SIG{signal}: {ended:?}");
        assert_no_staging_files(&dir);
        let (now, finished) = stored(out, &stem);
        assert!(now >= 30 && !finished, "{now} stored, manifest: {finished}");
        // Every image there is whole.
        for e in std::fs::read_dir(&dir).unwrap() {
            let p = e.unwrap().path();
            if p.extension().is_some_and(|x| x == "png") {
                assert_whole_png(
                    &p.display().to_string(),
                    &std::fs::read(&p).unwrap(),
                    640,
                    360,
                );
            }
        }
        let again = Command::new(&extract).args(args).output().unwrap();
        assert!(
            again.status.success(),
            "{}",
            String::from_utf8_lossy(&again.stderr)
        );
        assert_complete(out, &stem);
        assert_no_staging_files(&dir);
    }
}

/// Staging files a killed run left for any of the video's objects (here frames the next run's
/// plan does not touch, a record, the manifest) are removed when the video is next run; other
/// videos' staging files are not.
#[test]
fn a_rerun_removes_the_staging_files_of_the_whole_video() {
    let _serial = serial();
    let dir = scratch("crash-staging");
    let (extract, clip, stem) = example_and_clip();
    std::fs::create_dir_all(dir.join(format!(".video-dataset/{stem}"))).unwrap();
    let planted = [
        dir.join(format!("{stem}_000290.png#1")),
        dir.join(format!("{stem}_000291.jpg#2")),
        dir.join(format!("{stem}.scene.json#1")),
        dir.join(format!(".video-dataset/{stem}/000290.json#4")),
    ];
    let others = [dir.join("other_000001.png#1"), dir.join("notes#1")];
    for f in planted.iter().chain(&others) {
        std::fs::write(f, vec![0u8; 4096]).unwrap();
    }
    let run = Command::new(&extract)
        .args([clip.as_str(), dir.to_str().unwrap(), "--indices", "0,1,2"])
        .output()
        .unwrap();
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    for f in &planted {
        assert!(!f.exists(), "{} was left", f.display());
    }
    for f in &others {
        assert!(f.exists(), "{} was removed", f.display());
    }
}

/// Two processes extracting the same video into one dataset at once both succeed and the
/// dataset is complete; two processes with different videos into one folder both complete.
#[test]
fn concurrent_processes_on_one_dataset_both_succeed() {
    let _serial = serial();
    let (extract, clip, stem) = example_and_clip();
    let dir = scratch("crash-same");
    let out = dir.to_str().unwrap();
    let args = [clip.as_str(), out, "--step", "1", "--format", "png"];
    let children: Vec<Child> = (0..2)
        .map(|_| {
            Command::new(&extract)
                .args(args)
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    let mut written = 0;
    for c in children {
        let o = c.wait_with_output().unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        let s: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
        written += s["frames_written"].as_u64().unwrap();
    }
    // One decodes and stores, the other waits for the video's lock and finds them stored.
    assert_eq!(written, 300);
    assert_complete(out, &stem);
    assert_no_staging_files(&dir);

    // Two videos (the clip and a copy under another name), one folder, at once.
    let dir = scratch("crash-two");
    std::fs::create_dir_all(&dir).unwrap();
    let copy = dir.join("second.mp4");
    std::fs::copy(&clip, &copy).unwrap();
    let out = dir.join("ds");
    let children: Vec<Child> = [clip.as_str(), copy.to_str().unwrap()]
        .iter()
        .map(|v| {
            Command::new(&extract)
                .args([v, out.to_str().unwrap(), "--step", "3"])
                .stdout(Stdio::null())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    for c in children {
        let o = c.wait_with_output().unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    }
    let sink = ObjectStoreSink::from_url(out.to_str().unwrap()).unwrap();
    let rt = tokio::runtime::Runtime::new().unwrap();
    for name in [stem.as_str(), "second"] {
        let video = VideoRef {
            folder: String::new(),
            name: name.to_owned(),
        };
        let m = rt.block_on(sink.video_manifest(&video)).unwrap().unwrap();
        assert_eq!(m.frames.len(), 100, "{name}");
        for f in &m.frames {
            assert!(out.join(&f.key).is_file(), "{}", f.key);
        }
    }
    assert_no_staging_files(&out);
}

#[cfg(feature = "aws")]
#[test]
fn killed_runs_resume_on_s3() {
    let _serial = serial();
    let Some(url) = video_testkit::s3_test_url("killed_runs_resume_on_s3") else {
        return;
    };
    stopped_runs_resume_to_a_complete_dataset(&url, "KILL", None);
}

/// A run waiting for its video's lock (held here, as another writer would) stops on SIGTERM
/// with status 143 instead of hanging, and runs once the lock is free.
#[cfg(target_os = "linux")]
#[test]
fn a_run_waiting_for_the_video_lock_stops_on_sigterm() {
    let _serial = serial();
    let dir = scratch("crash-waiting");
    let (extract, clip, stem) = example_and_clip();
    let lock_path = dir.join(format!(".video-dataset/{stem}.lock"));
    std::fs::create_dir_all(lock_path.parent().unwrap()).unwrap();
    let held = std::fs::File::create(&lock_path).unwrap();
    held.lock().unwrap();
    let lock_path = std::fs::canonicalize(&lock_path).unwrap();
    let out = dir.to_str().unwrap();
    let args = [clip.as_str(), out, "--indices", "0,1,2"];
    let mut run = Run::start(&extract, &args);
    // Wait until the process has the lock file open: it is waiting for the lock.
    let fds = PathBuf::from(format!("/proc/{}/fd", run.child.id()));
    loop {
        assert!(
            run.child.try_wait().unwrap().is_none(),
            "the run ended while the lock was held"
        );
        let waiting = std::fs::read_dir(&fds)
            .unwrap()
            .flatten()
            .any(|fd| std::fs::read_link(fd.path()).is_ok_and(|target| target == lock_path));
        if waiting {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let ended = run.signal("TERM");
    assert_eq!(ended.code(), Some(143), "{ended:?}");
    drop(held);
    let again = Command::new(&extract).args(args).output().unwrap();
    assert!(
        again.status.success(),
        "{}",
        String::from_utf8_lossy(&again.stderr)
    );
    assert_no_staging_files(&dir);
}

/// On S3 (no lock: writes are atomic requests), two processes extracting the same video at once
/// both succeed and the dataset is complete.
#[cfg(feature = "aws")]
#[test]
fn concurrent_processes_on_one_video_on_s3() {
    let _serial = serial();
    let Some(url) = video_testkit::s3_test_url("concurrent_processes_on_s3") else {
        return;
    };
    let (extract, clip, stem) = example_and_clip();
    let args = [clip.as_str(), url.as_str(), "--step", "10"];
    let children: Vec<Child> = (0..2)
        .map(|_| {
            Command::new(&extract)
                .args(args)
                .stdout(Stdio::null())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    for c in children {
        let o = c.wait_with_output().unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    }
    let sink = ObjectStoreSink::from_url(&url).unwrap();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let video = VideoRef {
        folder: String::new(),
        name: stem.clone(),
    };
    let m = rt.block_on(sink.video_manifest(&video)).unwrap().unwrap();
    assert_eq!(m.frames.len(), 30);
    for f in &m.frames {
        let bytes = rt.block_on(sink.read(&f.key)).unwrap();
        assert_eq!(bytes.len() as u64, f.bytes, "{}", f.key);
    }
    let jpgs = rt
        .block_on(sink.list_keys(""))
        .unwrap()
        .into_iter()
        .filter(|k| k.ends_with(".jpg"))
        .count();
    assert_eq!(jpgs, 30);
}
