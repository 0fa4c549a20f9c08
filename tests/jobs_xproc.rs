//! Jobs followed and stopped from other processes, through the dataset alone: `jobs status`
//! read by a second process while `video-dataset sample` runs and after it ends; `jobs cancel`
//! from a second process (the sample exits 5, the record says `cancelled`, a re-run completes
//! every frame exactly once); two `sample` processes on one Supervisely project into one
//! dataset (the result equals a single run's); a `sample` killed with SIGKILL reported stale
//! once its heartbeat stops; in the library, the heartbeat of a job that makes no progress and
//! [`request_cancel`]'s answers. Real processes, real videos made with FFmpeg; deadlines are
//! generous and nothing asserts how long anything took.

#![cfg(feature = "cli")]
#![allow(clippy::unwrap_used)]

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead as _, BufReader, Read as _};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Output, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime};

use serde_json::Value;
use video_dataset::{
    CancelOutcome, Error, ExtractOptions, ExtractProgress, FrameRecord, ImageFormat, JobSpec,
    JobState, JobStatus, ObjectStoreSink, SamplingPlan, VideoRef, read_job, request_cancel, submit,
};
use video_testkit::fixtures::{X264_ARGS, lavfi_clip};

/// How long anything may take before the test gives up (a loaded 2-core machine).
const DEADLINE: Duration = Duration::from_secs(300);
const POLL: Duration = Duration::from_millis(200);

use common::{cli as run, ffprobe_frame_count, stderr};

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// `jobs status DATASET ID --json EXTRA...`, run as its own process: the record.
fn status(dir: &Path, dataset: &str, id: &str, extra: &[&str]) -> Value {
    let out = run(
        &[&["jobs", "status", dataset, id, "--json"], extra].concat(),
        dir,
    );
    assert_eq!(out.status.code(), Some(0), "jobs status: {}", stderr(&out));
    serde_json::from_slice(&out.stdout).unwrap()
}

/// Poll `jobs status` (each a new process) until `done(record)`.
fn status_until(
    dir: &Path,
    dataset: &str,
    id: &str,
    extra: &[&str],
    what: &str,
    done: impl Fn(&Value) -> bool,
) -> Value {
    let started = Instant::now();
    loop {
        let r = status(dir, dataset, id, extra);
        if done(&r) {
            return r;
        }
        assert!(started.elapsed() < DEADLINE, "{what}: never; last {r}");
        std::thread::sleep(POLL);
    }
}

/// A `video-dataset sample` running as a child process, its job id read from its stderr.
struct SampleChild {
    child: std::process::Child,
    id: String,
    stderr: JoinHandle<String>,
    stdout: JoinHandle<String>,
}

impl SampleChild {
    fn spawn(args: &[&str], cwd: &Path) -> Self {
        let mut child = Command::new(env!("CARGO_BIN_EXE_video-dataset"))
            .args(args)
            .current_dir(cwd)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut err = BufReader::new(child.stderr.take().unwrap());
        let mut seen = String::new();
        // `job {id} ({n} videos from {source} into {dataset})`, printed once the job is submitted.
        let id = loop {
            let mut line = String::new();
            assert!(
                err.read_line(&mut line).unwrap() > 0,
                "sample ended without a job id: {seen}"
            );
            seen.push_str(&line);
            if let Some(rest) = line.strip_prefix("job ")
                && line.contains(" videos from ")
            {
                break rest.split_whitespace().next().unwrap().to_owned();
            }
        };
        let stderr = std::thread::spawn(move || {
            let mut rest = String::new();
            let _ = err.read_to_string(&mut rest);
            seen + &rest
        });
        let mut out = child.stdout.take().unwrap();
        let stdout = std::thread::spawn(move || {
            let mut s = String::new();
            let _ = out.read_to_string(&mut s);
            s
        });
        Self {
            child,
            id,
            stderr,
            stdout,
        }
    }

    fn pid(&self) -> u32 {
        self.child.id()
    }

    fn running(&mut self) -> bool {
        self.child.try_wait().unwrap().is_none()
    }

    /// Wait for the end (bounded by [`DEADLINE`]): its status, stdout and stderr.
    fn wait(mut self) -> (ExitStatus, String, String) {
        let started = Instant::now();
        let status = loop {
            if let Some(s) = self.child.try_wait().unwrap() {
                break s;
            }
            if started.elapsed() > DEADLINE {
                let _ = self.child.kill();
                panic!("sample {} did not end", self.id);
            }
            std::thread::sleep(POLL);
        };
        (
            status,
            self.stdout.join().unwrap(),
            self.stderr.join().unwrap(),
        )
    }
}

/// `lavfi_clip` into this binary's clip cache.
fn cached_clip(name: &str, source: &str, args: &[&str]) -> PathBuf {
    let cache = Path::new(env!("CARGO_TARGET_TMPDIR")).join("xproc-clips");
    lavfi_clip(&cache, name, source, args)
}

/// A tree `dir/src/{name}/long.mp4` for each of `names`: 150 frames of 640×360 at 25 fps (made
/// once, then copied). The number of frames of each, as ffprobe counts them.
fn long_tree(dir: &Path, names: &[&str]) -> u64 {
    let clip = cached_clip(
        "long.mp4",
        "testsrc2=size=640x360:rate=25",
        &[X264_ARGS, &["-frames:v", "150"]].concat(),
    );
    for name in names {
        let d = dir.join("src").join(name);
        std::fs::create_dir_all(&d).unwrap();
        std::fs::copy(&clip, d.join("long.mp4")).unwrap();
    }
    ffprobe_frame_count(&clip)
}

/// Every PNG, JPEG and JSON file under `dir`, relative, `/`-separated, sorted; every file name
/// with a `#` (a staging file left behind) fails the test.
fn all_files(dir: &Path) -> Vec<String> {
    fn walk(root: &Path, dir: &Path, out: &mut Vec<String>) {
        for e in std::fs::read_dir(dir).unwrap() {
            let path = e.unwrap().path();
            if path.is_dir() {
                walk(root, &path, out);
            } else {
                let rel = path
                    .strip_prefix(root)
                    .unwrap()
                    .to_string_lossy()
                    .replace('\\', "/");
                assert!(!rel.contains('#'), "a staging file is left: {rel}");
                out.push(rel);
            }
        }
    }
    let mut out = Vec::new();
    walk(dir, dir, &mut out);
    out.sort();
    out
}

/// The video `folder/long` of `dataset` holds frames 0..`frames` exactly once: its manifest
/// lists each index once, under exactly the PNG files of the folder.
async fn assert_once(dataset: &Path, folder: &str, frames: u64) {
    let sink = ObjectStoreSink::local(dataset).unwrap();
    let video = VideoRef {
        folder: folder.into(),
        name: "long".into(),
    };
    let manifest = sink
        .video_manifest(&video)
        .await
        .unwrap()
        .unwrap_or_else(|| panic!("{folder}: no manifest"));
    let indices: Vec<u64> = manifest.frames.iter().map(|f| f.index).collect();
    assert_eq!(indices, (0..frames).collect::<Vec<_>>(), "{folder}");
    let mut keys: Vec<String> = manifest.frames.iter().map(|f| f.key.clone()).collect();
    keys.sort();
    let mut pngs: Vec<String> = std::fs::read_dir(dataset.join(folder))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.ends_with(".png"))
        .map(|n| format!("{folder}/{n}"))
        .collect();
    pngs.sort();
    assert_eq!(keys, pngs, "{folder}");
}

const SAMPLE_PNG: [&str; 10] = [
    "sample", "src", "out", "--step", "1", "--format", "png", "--jobs", "1", "-q",
];

/// a. A second process reads the job's status by id while `sample` runs and after it ends: the
/// fields hang together, only move forward, and end equal to what is on disk.
#[test]
fn status_is_read_by_another_process_while_the_job_runs() {
    let dir = common::scratch("xproc-status");
    let frames = long_tree(&dir, &["a", "b", "c"]);
    let mut child = SampleChild::spawn(&[&SAMPLE_PNG[..], &["--json"]].concat(), &dir);
    let order = ["queued", "running", "succeeded"];
    let mut seen: Vec<Value> = Vec::new();
    let mut running_seen = false;
    let started = Instant::now();
    loop {
        let alive = child.running();
        let r = status(&dir, "out", &child.id, &[]);
        assert_eq!(r["job_id"], child.id.as_str());
        assert_eq!(r["videos_total"], 3, "{r}");
        assert_eq!(r["pid"], child.pid(), "{r}");
        assert!(!r["host"].as_str().unwrap().is_empty(), "{r}");
        assert_eq!(r["stale"], false, "{r}");
        let state = r["state"].as_str().unwrap();
        assert!(order.contains(&state), "{r}");
        assert!(
            r["frames_done"].as_u64() <= r["frames_total"].as_u64(),
            "{r}"
        );
        if let Some(last) = seen.last() {
            let pos = |v: &Value| order.iter().position(|s| *s == v["state"]).unwrap();
            assert!(pos(last) <= pos(&r), "{last} then {r}");
            for field in ["videos_done", "frames_done", "updated_unix_ms"] {
                assert!(
                    last[field].as_u64() <= r[field].as_u64(),
                    "{field} went back: {last} then {r}"
                );
            }
        }
        running_seen |= alive && state == "running";
        let done = state == "succeeded";
        seen.push(r);
        if done {
            break;
        }
        assert!(started.elapsed() < DEADLINE, "the job never ended");
        std::thread::sleep(POLL);
    }
    assert!(running_seen, "no status read while the job ran: {seen:?}");
    let id = child.id.clone();
    let (exit, out, err) = child.wait();
    assert_eq!(exit.code(), Some(0), "{err}");
    // After the end: the record as `sample --json` printed it, equal to what is on disk.
    let mut r = status(&dir, "out", &id, &[]);
    assert_eq!(r["stale"], false);
    r.as_object_mut().unwrap().remove("stale");
    assert_eq!(r, serde_json::from_str::<Value>(&out).unwrap());
    assert_eq!(r["state"], "succeeded");
    assert_eq!(
        (r["videos_done"].as_u64(), r["videos_failed"].as_u64()),
        (Some(3), Some(0))
    );
    let on_disk = all_files(&dir.join("out"))
        .iter()
        .filter(|f| f.ends_with(".png"))
        .count() as u64;
    assert_eq!(on_disk, 3 * frames);
    assert_eq!(r["frames_done"].as_u64(), Some(on_disk), "{r}");
    assert_eq!(r["frames_total"].as_u64(), Some(on_disk), "{r}");
    for v in r["videos"].as_array().unwrap() {
        assert_eq!(v["state"], "succeeded", "{v}");
        assert_eq!(v["frames_planned"].as_u64(), Some(frames), "{v}");
        assert_eq!(v["frames_written"].as_u64(), Some(frames), "{v}");
    }
    assert!(r["finished_unix_ms"].as_u64() >= r["submitted_unix_ms"].as_u64());
    // The text form says the same.
    let text = run(
        &["jobs", "status", "out", r["job_id"].as_str().unwrap()],
        &dir,
    );
    let text = stdout(&text);
    assert!(
        text.contains("succeeded") && text.contains("3/3 videos"),
        "{text}"
    );
}

/// b. `jobs cancel` from a second process stops a running `sample` (status 5, record
/// `cancelled`); a cancel of an ended or unknown job says so; the same `sample` again completes
/// every frame exactly once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_job_is_cancelled_from_another_process_and_a_rerun_completes() {
    let dir = common::scratch("xproc-cancel");
    let names = ["a", "b", "c"];
    let frames = long_tree(&dir, &names);
    let child = SampleChild::spawn(&SAMPLE_PNG, &dir);
    let id = child.id.clone();
    status_until(&dir, "out", &id, &[], "running with progress", |r| {
        r["state"] == "running" && r["frames_done"].as_u64() > Some(0)
    });
    let cancel = run(
        &[
            "jobs",
            "cancel",
            "out",
            &id,
            "--wait",
            "--timeout",
            "300",
            "--json",
        ],
        &dir,
    );
    let err = stderr(&cancel);
    assert_eq!(cancel.status.code(), Some(0), "{err}");
    assert!(
        err.contains(&format!("cancel of job {id} requested")),
        "{err}"
    );
    let record: Value = serde_json::from_slice(&cancel.stdout).unwrap();
    assert_eq!(record["state"], "cancelled", "{record}");
    assert!(
        record["cancel_requested_unix_ms"].as_u64().is_some(),
        "{record}"
    );
    let (exit, _, err) = child.wait();
    assert_eq!(exit.code(), Some(5), "{err}");
    assert!(err.contains("cancelled by a request"), "{err}");
    assert_eq!(status(&dir, "out", &id, &[])["state"], "cancelled");

    // Cancelling it again: nothing to cancel (status 6), its record on stdout.
    let again = run(&["jobs", "cancel", "out", &id], &dir);
    assert_eq!(again.status.code(), Some(6), "{}", stderr(&again));
    assert!(
        stderr(&again).contains("already ended (cancelled)"),
        "{}",
        stderr(&again)
    );
    assert!(stdout(&again).contains("cancelled"), "{}", stdout(&again));
    // `jobs wait` on it: status 5.
    let waited = run(&["jobs", "wait", "out", &id], &dir);
    assert_eq!(waited.status.code(), Some(5), "{}", stderr(&waited));
    // An unknown job: an error naming it, status 1.
    let unknown = run(
        &["jobs", "cancel", "out", "0000000000000000-00000000"],
        &dir,
    );
    assert_eq!(unknown.status.code(), Some(1), "{}", stderr(&unknown));
    assert!(
        stderr(&unknown).contains("no job 0000000000000000-00000000"),
        "{}",
        stderr(&unknown)
    );
    // The library says the same.
    let out = dir.join("out");
    let dataset = out.to_str().unwrap();
    let ended = request_cancel(dataset, &id).await.unwrap();
    let CancelOutcome::AlreadyEnded(r) = ended else {
        panic!("{ended:?}");
    };
    assert_eq!(r.state, JobState::Cancelled);
    let e = request_cancel(dataset, "0000000000000000-00000000")
        .await
        .unwrap_err();
    assert!(matches!(e, Error::NotFound { .. }), "{e:?}");

    // The same command again completes the dataset: every frame exactly once.
    let rerun = run(&[&SAMPLE_PNG[..], &["--json"]].concat(), &dir);
    assert_eq!(rerun.status.code(), Some(0), "{}", stderr(&rerun));
    let record: Value = serde_json::from_slice(&rerun.stdout).unwrap();
    assert_eq!(record["state"], "succeeded");
    for v in record["videos"].as_array().unwrap() {
        assert_eq!(
            v["frames_written"].as_u64().unwrap() + v["frames_existing"].as_u64().unwrap(),
            frames,
            "{v}"
        );
    }
    for name in names {
        assert_once(&out, name, frames).await;
    }
    all_files(&out);
}

/// A Supervisely video project: `street` with the fixture's annotated `street.mp4` and
/// `plain.mp4` without annotation, `park` with `avenue.mp4` annotated by a copy of the
/// fixture's annotation.
fn project(root: &Path) {
    let fixture =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("video-annotation/tests/data/supervisely");
    let copy = |from: &str, to: &str| {
        std::fs::create_dir_all(root.join(to).parent().unwrap()).unwrap();
        std::fs::copy(fixture.join(from), root.join(to)).unwrap();
    };
    copy("meta.json", "meta.json");
    copy("street/ann/street.mp4.json", "street/ann/street.mp4.json");
    copy("street/ann/street.mp4.json", "park/ann/avenue.mp4.json");
    let clip = |name: &str, size: &str, frames: &str| {
        cached_clip(
            name,
            &format!("testsrc2=size={size}:rate=25"),
            &[X264_ARGS, &["-frames:v", frames]].concat(),
        )
    };
    // 1280×720 and 60 frames, as the annotation expects.
    let annotated = clip("annotated.mp4", "1280x720", "60");
    let plain = clip("plain.mp4", "160x120", "6");
    for (from, to) in [
        (&annotated, "street/video/street.mp4"),
        (&plain, "street/video/plain.mp4"),
        (&annotated, "park/video/avenue.mp4"),
    ] {
        std::fs::create_dir_all(root.join(to).parent().unwrap()).unwrap();
        std::fs::copy(from, root.join(to)).unwrap();
    }
}

fn read_json(path: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(path).unwrap())
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// A COCO file as `file_name → [(category name, bbox)]`, sorted, checking that every image is
/// there once and every annotation points at one of them.
fn coco_by_image(path: &Path) -> BTreeMap<String, Vec<(String, String)>> {
    let coco = read_json(path);
    let categories: BTreeMap<u64, String> = coco["categories"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["id"].as_u64().unwrap(),
                c["name"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    let mut names = BTreeMap::new();
    let mut out: BTreeMap<String, Vec<(String, String)>> = BTreeMap::new();
    for image in coco["images"].as_array().unwrap() {
        let name = image["file_name"].as_str().unwrap().to_owned();
        assert!(
            names
                .insert(image["id"].as_u64().unwrap(), name.clone())
                .is_none(),
            "{}: image id twice: {image}",
            path.display()
        );
        assert!(
            out.insert(name.clone(), Vec::new()).is_none(),
            "{}: {name} twice",
            path.display()
        );
    }
    for a in coco["annotations"].as_array().unwrap() {
        let image = &names[&a["image_id"].as_u64().unwrap()];
        let category = categories[&a["category_id"].as_u64().unwrap()].clone();
        out.get_mut(image)
            .unwrap()
            .push((category, a["bbox"].to_string()));
    }
    for v in out.values_mut() {
        v.sort();
    }
    out
}

/// c. Two `sample` processes on the same Supervisely project into the same dataset at once:
/// both succeed, each frame is written by exactly one of them, and the dataset equals what one
/// process alone makes: the same images and annotations, manifests listing exactly the images,
/// a merged `meta.json` with every class, and each dataset folder's COCO file with every image
/// once and its annotations.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_processes_sample_one_project_into_one_dataset() {
    let dir = common::scratch("xproc-two");
    project(&dir.join("project"));
    let args = |out: &'static str| ["sample", "project", out, "--step", "2", "-q", "--json"];
    let first = SampleChild::spawn(&args("out"), &dir);
    let second = SampleChild::spawn(&args("out"), &dir);
    let mut records = Vec::new();
    for child in [first, second] {
        let (exit, out, err) = child.wait();
        assert_eq!(exit.code(), Some(0), "{err}");
        records.push(serde_json::from_str::<Value>(&out).unwrap());
    }
    let alone = run(&args("ref"), &dir);
    assert_eq!(alone.status.code(), Some(0), "{}", stderr(&alone));
    let reference: Value = serde_json::from_slice(&alone.stdout).unwrap();
    let planned = reference["videos"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["frames_planned"].as_u64().unwrap())
        .sum::<u64>();
    assert!(planned > 0, "{reference}");
    // Each planned frame written by one process only; both saw all of them.
    let written: u64 = records
        .iter()
        .flat_map(|r| r["videos"].as_array().unwrap())
        .map(|v| v["frames_written"].as_u64().unwrap())
        .sum();
    assert_eq!(written, planned, "{records:?}");
    for r in &records {
        assert_eq!(r["state"], "succeeded");
        let done: u64 = r["videos"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v["frames_written"].as_u64().unwrap() + v["frames_existing"].as_u64().unwrap())
            .sum();
        assert_eq!(done, planned, "{r}");
    }

    // The same files as one process alone makes (job records and lock files aside), and the
    // same images and frame annotations byte for byte.
    let (out, refdir) = (dir.join("out"), dir.join("ref"));
    let ours = |d: &Path| -> Vec<String> {
        all_files(d)
            .into_iter()
            .filter(|f| !f.starts_with(".video-dataset/") && !f.ends_with(".lock"))
            .collect()
    };
    let files = ours(&out);
    assert_eq!(files, ours(&refdir));
    let images: Vec<&String> = files.iter().filter(|f| f.contains("/img/")).collect();
    assert_eq!(images.len() as u64, planned);
    for f in files
        .iter()
        .filter(|f| f.contains("/img/") || f.contains("/ann/"))
    {
        assert_eq!(
            std::fs::read(out.join(f)).unwrap(),
            std::fs::read(refdir.join(f)).unwrap(),
            "{f}"
        );
    }
    // The merged meta.json: every class of the project, as alone.
    let classes = |m: &Value| -> BTreeSet<String> {
        m["classes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["title"].as_str().unwrap().to_owned())
            .collect()
    };
    let project_classes = classes(&read_json(&dir.join("project/meta.json")));
    let merged = classes(&read_json(&out.join("meta.json")));
    assert!(merged.is_superset(&project_classes), "{merged:?}");
    assert_eq!(merged, classes(&read_json(&refdir.join("meta.json"))));
    // Each dataset folder: manifests listing exactly its images, COCO with every image once.
    let sink = ObjectStoreSink::local(&out).unwrap();
    for folder in ["street", "park"] {
        let mut listed = BTreeSet::new();
        for name in ["street", "plain", "avenue"] {
            let video = VideoRef {
                folder: folder.into(),
                name: name.into(),
            };
            if let Some(m) = sink.video_manifest(&video).await.unwrap() {
                for f in &m.frames {
                    assert!(listed.insert(f.key.clone()), "{} twice", f.key);
                }
            }
        }
        let in_folder: BTreeSet<String> = images
            .iter()
            .filter(|f| f.starts_with(&format!("{folder}/")))
            .map(|f| (*f).clone())
            .collect();
        assert_eq!(listed, in_folder, "{folder}");
        let coco = coco_by_image(&out.join(folder).join(video_dataset::COCO_FILE_NAME));
        let coco_images: BTreeSet<String> = coco.keys().map(|k| format!("{folder}/{k}")).collect();
        assert_eq!(coco_images, in_folder, "{folder}");
        assert!(
            coco.values().any(|a| !a.is_empty()),
            "{folder}: no annotation"
        );
        assert_eq!(
            coco,
            coco_by_image(&refdir.join(folder).join(video_dataset::COCO_FILE_NAME)),
            "{folder}"
        );
    }
}

/// d. A `sample` killed with SIGKILL leaves its record `running`; once its heartbeat has
/// stopped for longer than `--stale-after`, `jobs status`/`list` report it stale (naming its
/// process), `jobs wait` gives up with status 1, and the same `sample` again completes it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_job_is_reported_stale_and_a_rerun_completes() {
    let dir = common::scratch("xproc-stale");
    let names = ["a", "b"];
    let frames = long_tree(&dir, &names);
    let child = SampleChild::spawn(&SAMPLE_PNG, &dir);
    let (id, pid) = (child.id.clone(), child.pid());
    let live = status_until(&dir, "out", &id, &[], "running with progress", |r| {
        r["state"] == "running" && r["frames_done"].as_u64() > Some(0)
    });
    assert_eq!(live["stale"], false, "{live}");
    let killed = Command::new("kill")
        .args(["-s", "KILL", &pid.to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let (exit, _, _) = child.wait();
    assert_eq!(exit.code(), None, "killed by a signal");

    let stale = status_until(&dir, "out", &id, &["--stale-after", "2"], "stale", |r| {
        r["stale"] == true
    });
    assert_eq!(stale["state"], "running", "{stale}");
    assert_eq!(stale["pid"], pid);
    // With a threshold longer than the silence, it is not stale.
    assert_eq!(
        status(&dir, "out", &id, &["--stale-after", "3600"])["stale"],
        false
    );
    let said = format!("process {pid} on host ");
    for args in [
        &["jobs", "status", "out", &id, "--stale-after", "2"][..],
        &["jobs", "list", "out", "--stale-after", "2"],
    ] {
        let text = stdout(&run(args, &dir));
        assert!(
            text.contains("running (no heartbeat for ")
                && text.contains(&said)
                && text.contains("probably died"),
            "{args:?}: {text}"
        );
    }
    let waited = run(&["jobs", "wait", "out", &id, "--stale-after", "2"], &dir);
    assert_eq!(waited.status.code(), Some(1), "{}", stderr(&waited));
    assert!(
        stderr(&waited).contains("will not end"),
        "{}",
        stderr(&waited)
    );
    // The library's view: stale after 2 s, never for a threshold longer than its silence.
    let out = dir.join("out");
    let record = read_job(out.to_str().unwrap(), &id).await.unwrap();
    assert!(record.is_stale(SystemTime::now(), Duration::from_secs(2)));
    assert!(!record.is_stale(SystemTime::now(), Duration::from_secs(3600)));
    assert_eq!(record.pid, Some(pid));

    let rerun = run(&SAMPLE_PNG, &dir);
    assert_eq!(rerun.status.code(), Some(0), "{}", stderr(&rerun));
    for name in names {
        assert_once(&out, name, frames).await;
    }
    all_files(&out);
}

/// Blocks the job's first stored frame until released, and slows the others down: a job that
/// makes no progress for as long as the test wants.
#[derive(Debug, Default)]
struct Gate {
    stored: AtomicU64,
    open: AtomicBool,
}

impl ExtractProgress for Gate {
    fn frame_stored(&self, _: &FrameRecord) {
        self.stored.fetch_add(1, Ordering::SeqCst);
        let started = Instant::now();
        while !self.open.load(Ordering::SeqCst) && started.elapsed() < DEADLINE {
            std::thread::sleep(Duration::from_millis(10));
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// In the library: a job held on its first frame keeps rewriting its record (the heartbeat
/// moves while its counts do not); [`request_cancel`] through the dataset stops it as
/// `JobHandle::cancel` does; then [`request_cancel`] says it has ended, or that there is no such
/// job; and the same spec again completes it.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn heartbeat_without_progress_and_cancel_through_the_dataset() {
    let dir = common::scratch("xproc-lib");
    let frames = long_tree(&dir, &["a"]);
    let video = dir.join("src/a/long.mp4");
    let out = dir.join("out");
    let dataset = out.to_str().unwrap().to_owned();
    let gate = Arc::new(Gate::default());
    let spec = |progress: Option<Arc<Gate>>| {
        JobSpec::new(dataset.clone())
            .video(PathBuf::from(&video), "a")
            .options(
                ExtractOptions::default()
                    .plan(SamplingPlan::all())
                    .format(ImageFormat::Png)
                    .stall_timeout(DEADLINE)
                    .progress(progress.map(|p| p as _)),
            )
            .concurrency(1)
    };
    let job = submit(spec(Some(gate.clone()))).unwrap();
    let id = job.id().to_owned();
    let started = Instant::now();
    let first = loop {
        if let Ok(r) = read_job(&dataset, &id).await
            && r.frames_done == 1
        {
            break r;
        }
        assert!(started.elapsed() < DEADLINE, "no frame stored");
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert_eq!(first.state, JobState::Running);
    // Held: the counts stay, the heartbeat moves on (by 2 s at least: two beats or more).
    let beat = loop {
        let r = read_job(&dataset, &id).await.unwrap();
        assert_eq!((r.frames_done, r.videos_done), (1, 0), "held");
        if r.updated_unix_ms >= first.updated_unix_ms + 2000 {
            break r;
        }
        assert!(started.elapsed() < DEADLINE, "no heartbeat: {r:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert!(!beat.is_stale(SystemTime::now(), Duration::from_secs(3600)));
    assert_eq!(beat.pid, Some(std::process::id()));

    let outcome = request_cancel(&dataset, &id).await.unwrap();
    let CancelOutcome::Requested(r) = &outcome else {
        panic!("{outcome:?}");
    };
    assert_eq!(r.state, JobState::Running);
    gate.open.store(true, Ordering::SeqCst);
    let status = job.wait(DEADLINE).await.unwrap();
    assert!(matches!(status, JobStatus::Cancelled), "{status:?}");
    let record = read_job(&dataset, &id).await.unwrap();
    assert_eq!(record.state, JobState::Cancelled);
    assert!(record.cancel_requested_unix_ms.is_some());
    assert!(record.finished_unix_ms.is_some());
    assert!(!record.is_stale(SystemTime::now(), Duration::ZERO), "ended");
    let stored = gate.stored.load(Ordering::SeqCst);
    assert!(
        stored < frames,
        "cancelled after {stored} of {frames} frames"
    );

    let again = request_cancel(&dataset, &id).await.unwrap();
    assert!(
        matches!(&again, CancelOutcome::AlreadyEnded(r) if r.state == JobState::Cancelled),
        "{again:?}"
    );
    let e = request_cancel(&dataset, "0000000000000000-00000000")
        .await
        .unwrap_err();
    assert!(matches!(e, Error::NotFound { .. }), "{e:?}");
    let e = request_cancel(&dataset, "../x").await.unwrap_err();
    assert!(matches!(e, Error::InvalidPath { .. }), "{e:?}");

    // The same spec again: complete, each frame once (the cancelled job's kept).
    let status = submit(spec(None)).unwrap().wait(DEADLINE).await.unwrap();
    let JobStatus::Succeeded(report) = &status else {
        panic!("{status:?}");
    };
    assert_eq!(report.frames_planned, frames);
    assert_eq!(report.frames_written + report.frames_existing, frames);
    assert!(report.frames_existing >= 1, "{report:?}");
    assert_once(&out, "a", frames).await;
}
