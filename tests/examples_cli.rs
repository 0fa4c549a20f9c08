//! The examples' command lines are a contract: run them as a user would and check their output.

#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

mod common;
use common::example;
use video_testkit::png::png_file_size;

/// The examples, built once.
fn example_path(name: &'static str) -> &'static Path {
    static BUILT: OnceLock<[PathBuf; 3]> = OnceLock::new();
    let built = BUILT.get_or_init(|| {
        [
            example("probe"),
            example("extract_frames"),
            example("upload"),
        ]
    });
    built.iter().find(|p| p.ends_with(name)).unwrap()
}

fn run(example: &'static str, args: &[&str], cwd: &Path) -> Output {
    Command::new(example_path(example))
        .args(args)
        .current_dir(cwd)
        .output()
        .unwrap()
}

fn json(out: &Output) -> serde_json::Value {
    assert!(
        out.status.success(),
        "failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn probe_prints_one_json_object_and_fails_cleanly() {
    let dir = common::scratch("probe");
    let m = json(&run("probe", &[], &dir));
    assert_eq!(m["codec"], "h264");
    assert_eq!(
        (m["width"].as_u64(), m["height"].as_u64()),
        (Some(640), Some(360))
    );
    assert_eq!(m["frame_count"].as_u64(), Some(300));
    assert_eq!(m["rotation"].as_u64(), Some(0));
    assert!((m["fps"].as_f64().unwrap() - 30.0).abs() < 1e-6);
    assert!((m["duration_seconds"].as_f64().unwrap() - 10.0).abs() < 1e-6);

    // Reading every packet gives the same metadata as the header's sample tables.
    let path = m["path"].as_str().unwrap().to_owned();
    assert_eq!(json(&run("probe", &[&path, "--full-scan"], &dir)), m);

    let missing = dir.join("missing.mp4");
    let out = run("probe", &[missing.to_str().unwrap()], &dir);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.trim_end().lines().count(), 1, "not one line: {err}");
    assert!(err.contains("missing.mp4"), "{err}");
    assert!(out.stdout.is_empty());
}

#[test]
fn extract_frames_without_arguments_fills_dataset() {
    let dir = common::scratch("default");
    let s = json(&run("extract_frames", &[], &dir));
    assert_eq!(s["frames_written"].as_u64(), Some(10), "1 fps over 10 s");
    let mut names: Vec<String> = std::fs::read_dir(dir.join("dataset"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".jpg"))
        .collect();
    names.sort();
    let want: Vec<String> = (0..10)
        .map(|k| format!("video-dataset-sample-640x360-300f-i420_{:06}.jpg", k * 30))
        .collect();
    assert_eq!(names, want);
    for k in ["frames_decoded", "seeks", "wall_seconds"] {
        assert!(s[k].is_number(), "summary lacks {k}");
    }
    assert!(
        dir.join("dataset/video-dataset-sample-640x360-300f-i420.scene.json")
            .is_file(),
        "no manifest"
    );
    // A re-run finds every frame stored and decodes nothing.
    let again = json(&run("extract_frames", &[], &dir));
    assert_eq!(
        (
            again["frames_written"].as_u64(),
            again["frames_existing"].as_u64()
        ),
        (Some(0), Some(10))
    );
    assert_eq!(again["frames_decoded"].as_u64(), Some(0));
}

#[test]
fn extract_frames_plans_formats_and_errors() {
    let dir = common::scratch("plans");
    // The sample clip the examples make.
    let clip = json(&run("probe", &[], &dir))["path"]
        .as_str()
        .unwrap()
        .to_owned();
    let out = dir.join("out");
    let s = json(&run(
        "extract_frames",
        &[
            &clip,
            out.to_str().unwrap(),
            "--step",
            "100",
            "--format",
            "png",
            "--resize",
            "64x36",
        ],
        &dir,
    ));
    assert_eq!(s["frames_written"].as_u64(), Some(3));
    let stem = Path::new(&clip)
        .file_stem()
        .unwrap()
        .to_string_lossy()
        .into_owned();
    for i in [0, 100, 200] {
        assert_eq!(
            png_file_size(&out.join(format!("{stem}_{i:06}.png"))),
            (64, 36)
        );
    }
    let s = json(&run(
        "extract_frames",
        &[
            &clip,
            out.to_str().unwrap(),
            "--indices",
            "3,17,42",
            "--max-side",
            "320",
        ],
        &dir,
    ));
    let got: Vec<u64> = s["frames"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["index"].as_u64().unwrap())
        .collect();
    assert_eq!(got, [3, 17, 42]);
    assert!(
        s["frames"]
            .as_array()
            .unwrap()
            .iter()
            .all(|f| f["width"] == 320 && f["height"] == 180)
    );
    let s = json(&run(
        "extract_frames",
        &[
            &clip,
            out.to_str().unwrap(),
            "--fps",
            "2",
            "--start-seconds",
            "1",
            "--end-seconds",
            "2",
        ],
        &dir,
    ));
    let got: Vec<u64> = s["frames"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["index"].as_u64().unwrap())
        .collect();
    assert_eq!(got, [30, 45]);

    for bad in [
        vec!["--indices", "999"],
        vec!["--step", "0"],
        vec!["--fps", "-1"],
        vec!["--format", "gif"],
    ] {
        let mut args = vec![clip.as_str(), out.to_str().unwrap()];
        args.extend(bad.iter().copied());
        let o = run("extract_frames", &args, &dir);
        assert!(!o.status.success(), "{bad:?} succeeded");
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(
            err.trim_end().lines().count(),
            1,
            "{bad:?}: not one line: {err}"
        );
    }
}

#[test]
fn upload_streams_the_video_into_the_dataset() {
    let dir = common::scratch("upload");
    let clip = json(&run("probe", &[], &dir))["path"]
        .as_str()
        .unwrap()
        .to_owned();
    let out = dir.join("ds");
    let up = json(&run(
        "upload",
        &[&clip, out.to_str().unwrap(), "--folder", "raw/cam1"],
        &dir,
    ));
    let name = Path::new(&clip)
        .file_name()
        .unwrap()
        .to_string_lossy()
        .into_owned();
    assert_eq!(up["key"], format!("raw/cam1/{name}"));
    assert_eq!(
        std::fs::read(out.join("raw/cam1").join(&name)).unwrap(),
        std::fs::read(&clip).unwrap()
    );
    assert_eq!(up["frame_count"].as_u64(), Some(300));
    let bad = run(
        "upload",
        &[
            out.join("raw/cam1").to_str().unwrap(),
            out.to_str().unwrap(),
        ],
        &dir,
    );
    assert!(!bad.status.success(), "uploading a directory succeeded");
}

#[test]
fn extract_frames_reads_a_video_by_url() {
    let dir = common::scratch("by-url");
    let clip = json(&run("probe", &[], &dir))["path"]
        .as_str()
        .unwrap()
        .to_owned();
    let url = format!("file://{clip}");
    let out = dir.join("out");
    let s = json(&run(
        "extract_frames",
        &[&url, out.to_str().unwrap(), "--indices", "0,150,299"],
        &dir,
    ));
    assert_eq!(s["frames_written"].as_u64(), Some(3));
    let read = s["source_bytes_read"].as_u64().unwrap();
    assert!(read > 0, "{s}");
    let stem = Path::new(&clip).file_stem().unwrap().to_str().unwrap();
    for i in [0, 150, 299] {
        assert!(out.join(format!("{stem}_{i:06}.jpg")).is_file());
    }
    let missing = format!("file://{}/none.mp4", dir.display());
    let out = run("extract_frames", &[&missing, out.to_str().unwrap()], &dir);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("none.mp4"), "{err}");
}

#[test]
fn extract_frames_copies_annotations() {
    let dir = common::scratch("cli-annot");
    video_testkit::fixtures::street_clip(&dir);
    let data =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("video-annotation/tests/data/supervisely");
    let ann = data.join("street/ann/street.mp4.json");
    let ann = ann.to_str().unwrap();
    let meta = data.join("meta.json");
    let s = json(&run(
        "extract_frames",
        &[
            "street.mp4",
            "out",
            "--annotations",
            ann,
            "--meta",
            meta.to_str().unwrap(),
            "--only-annotated",
            "--max-side",
            "640",
        ],
        &dir,
    ));
    let indices: Vec<u64> = s["frames"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["index"].as_u64().unwrap())
        .collect();
    assert_eq!(indices, [10, 11, 12, 13, 14, 15, 16, 20, 21, 30]);
    assert_eq!(s["annotations_written"], 10);
    let out = dir.join("out");
    for i in &indices {
        assert!(out.join(format!("img/street_{i:06}.jpg")).is_file());
        let a: serde_json::Value = serde_json::from_slice(
            &std::fs::read(out.join(format!("ann/street_{i:06}.jpg.json"))).unwrap(),
        )
        .unwrap();
        assert_eq!(a["size"]["width"], 640);
    }
    assert!(out.join("meta.json").is_file());
    assert!(out.join("coco_instances.json").is_file());

    // Without a meta (inferred), every 20th frame, no COCO, into another folder.
    let s = json(&run(
        "extract_frames",
        &[
            "street.mp4",
            "out2",
            "--step",
            "20",
            "--annotations",
            ann,
            "--no-coco",
        ],
        &dir,
    ));
    assert_eq!(s["annotations_written"], 3);
    assert!(dir.join("out2/ann/street_000040.jpg.json").is_file());
    assert!(!dir.join("out2/coco_instances.json").exists());
    let e = run(
        "extract_frames",
        &["street.mp4", "out3", "--only-annotated"],
        &dir,
    );
    assert!(!e.status.success());
    assert!(
        String::from_utf8_lossy(&e.stderr).contains("--annotations"),
        "{}",
        String::from_utf8_lossy(&e.stderr)
    );
}

/// Runs an example as a child process and kills it if it has not ended after `limit`: a hang
/// fails the test instead of blocking it.
fn run_with_limit(
    example: &'static str,
    args: &[&str],
    cwd: &Path,
    limit: std::time::Duration,
) -> Output {
    use std::io::Read;
    let mut child = Command::new(example_path(example))
        .args(args)
        .current_dir(cwd)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let started = std::time::Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if started.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{example} {args:?}: still running after {limit:?}: it hangs");
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    };
    let (mut stdout, mut stderr) = (Vec::new(), Vec::new());
    child
        .stdout
        .take()
        .unwrap()
        .read_to_end(&mut stdout)
        .unwrap();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_end(&mut stderr)
        .unwrap();
    Output {
        status,
        stdout,
        stderr,
    }
}

#[test]
fn examples_refuse_fifos_devices_and_sockets_without_hanging() {
    let dir = common::scratch("special-files");
    let fifo = dir.join("fifo.mp4");
    assert!(
        Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap()
            .success(),
        "mkfifo {}",
        fifo.display()
    );
    let socket = dir.join("socket.mp4");
    let _listener = std::os::unix::net::UnixListener::bind(&socket).unwrap();
    let out = dir.join("out");
    let out = out.to_str().unwrap();
    let cases = [
        (
            fifo.to_str().unwrap().to_owned(),
            "not a regular file (FIFO)",
        ),
        (
            "/dev/zero".to_owned(),
            "not a regular file (character device)",
        ),
        (
            "/dev/null".to_owned(),
            "not a regular file (character device)",
        ),
        (
            socket.to_str().unwrap().to_owned(),
            "not a regular file (socket)",
        ),
    ];
    let mut problems = Vec::new();
    for (video, reason) in &cases {
        for (example, args) in [
            ("probe", vec![video.as_str()]),
            ("extract_frames", vec![video.as_str(), out]),
            ("upload", vec![video.as_str(), out]),
        ] {
            let o = run_with_limit(example, &args, &dir, std::time::Duration::from_secs(60));
            let err = String::from_utf8_lossy(&o.stderr);
            if o.status.success() || !err.contains(video.as_str()) || !err.contains(reason) {
                problems.push(format!(
                    "{example} {video}: exit {:?}, stderr: {}",
                    o.status.code(),
                    err.trim_end()
                ));
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn extract_frames_deadline_and_stall_timeout_options() {
    let dir = common::scratch("deadline-cli");
    let clip = json(&run("probe", &[], &dir))["path"]
        .as_str()
        .unwrap()
        .to_owned();
    let out = dir.join("out");
    let out = out.to_str().unwrap();
    // A deadline no probe can meet: a one-line timeout naming the video and the deadline.
    let o = run(
        "extract_frames",
        &[&clip, out, "--deadline", "0.000001"],
        &dir,
    );
    assert!(!o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(err.trim_end().lines().count(), 1, "not one line: {err}");
    assert!(
        err.contains(&clip) && err.contains("timed out") && err.contains("deadline"),
        "{err}"
    );
    // Generous limits change nothing.
    let s = json(&run(
        "extract_frames",
        &[&clip, out, "--deadline", "600", "--stall-timeout", "30"],
        &dir,
    ));
    assert_eq!(s["frames_written"].as_u64(), Some(10));
    // Limits that cannot work are refused.
    for bad in [
        ["--deadline", "0"],
        ["--stall-timeout", "-1"],
        ["--deadline", "soon"],
    ] {
        let o = run("extract_frames", &[&clip, out, bad[0], bad[1]], &dir);
        assert!(!o.status.success(), "{bad:?} accepted");
        assert!(
            String::from_utf8_lossy(&o.stderr).contains(bad[0]),
            "{bad:?}"
        );
    }
}

#[test]
fn examples_read_an_animated_gif_by_content() {
    let dir = common::scratch("gif-cli");
    let gif = dir.join("anim.bin"); // the name hides the format
    let made = Command::new("ffmpeg")
        .args(["-v", "error", "-y", "-f", "lavfi", "-i"])
        .arg("testsrc2=size=64x48:rate=10:duration=3")
        .args(["-f", "gif"])
        .arg(&gif)
        .status()
        .unwrap();
    assert!(made.success());
    let gif = gif.to_str().unwrap();
    let m = json(&run("probe", &[gif], &dir));
    assert_eq!(m["codec"], "gif");
    assert_eq!(m["frame_count"].as_u64(), Some(30));
    assert!((m["duration_seconds"].as_f64().unwrap() - 3.0).abs() < 1e-9);
    let out = dir.join("out");
    let s = json(&run("extract_frames", &[gif, out.to_str().unwrap()], &dir));
    assert_eq!(s["frames_written"].as_u64(), Some(3), "1 fps over 3 s");
    let up = json(&run(
        "upload",
        &[gif, dir.join("ds").to_str().unwrap()],
        &dir,
    ));
    assert_eq!(up["frame_count"].as_u64(), Some(30));
}
