//! The `video-dataset` binary, run as a user would: its output, files and exit statuses.

#![cfg(feature = "cli")]
#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

mod common;
use video_testkit::fixtures::{X264_ARGS, lavfi_clip};

use common::{cli as run, ffprobe_frame_count, stderr};

fn json(out: &Output) -> serde_json::Value {
    assert_eq!(out.status.code(), Some(0), "failed: {}", stderr(out));
    serde_json::from_slice(&out.stdout).unwrap()
}

/// 47 frames of 320x240 H.264 with B-frames at 25 fps (made once with ffmpeg), in `dir`.
fn clip(dir: &Path) -> PathBuf {
    lavfi_clip(
        dir,
        "clip.mp4",
        "testsrc2=size=320x240:rate=25",
        &[X264_ARGS, &["-bf", "2", "-g", "12", "-frames:v", "47"]].concat(),
    )
}

#[test]
fn probe_json_has_the_frame_count_ffprobe_decodes() {
    let dir = common::scratch("cli-probe");
    let video = clip(&dir);
    let m = json(&run(&["probe", "clip.mp4", "--json"], &dir));
    assert_eq!(m["frame_count"].as_u64(), Some(ffprobe_frame_count(&video)));
    assert_eq!(m["frame_count"].as_u64(), Some(47));
    assert_eq!(
        (m["width"].as_u64(), m["height"].as_u64()),
        (Some(320), Some(240))
    );
    assert_eq!(m["codec"], "h264");
    // The same with every packet read.
    assert_eq!(
        json(&run(&["probe", "clip.mp4", "--json", "--full-scan"], &dir)),
        m
    );

    // Without --json: one `name  value` line per field.
    let text = run(&["probe", "clip.mp4"], &dir);
    assert_eq!(text.status.code(), Some(0), "{}", stderr(&text));
    let text = String::from_utf8(text.stdout).unwrap();
    assert!(
        text.lines()
            .any(|l| l.split_whitespace().collect::<Vec<_>>() == ["frame_count", "47"]),
        "{text}"
    );
}

#[test]
fn extract_writes_the_planned_frames_and_the_manifest() {
    let dir = common::scratch("cli-extract");
    clip(&dir);
    let args = [
        "extract", "clip.mp4", "out", "--step", "10", "--format", "png",
    ];
    let first = run(
        &[&args[..], &["--json", "--max-side", "160"]].concat(),
        &dir,
    );
    let s = json(&first);
    assert_eq!(s["frames_planned"].as_u64(), Some(5));
    assert_eq!(s["frames_written"].as_u64(), Some(5));
    let got: Vec<u64> = s["frames"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["index"].as_u64().unwrap())
        .collect();
    assert_eq!(got, [0, 10, 20, 30, 40]);
    for i in got {
        let image = dir.join(format!("out/clip_{i:06}.png"));
        assert_eq!(
            video_testkit::png::png_file_size(&image),
            (160, 120),
            "{}",
            image.display()
        );
    }
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("out/clip.scene.json")).unwrap()).unwrap();
    assert!(manifest.is_object(), "{manifest}");
    // stderr is not a terminal: progress as one plain line (the run is shorter than a second).
    assert!(
        stderr(&first).contains("5 frames stored"),
        "{}",
        stderr(&first)
    );

    // Again: nothing to do, and a line of text without --json; --quiet: nothing on stderr.
    let again = run(
        &[&args[..], &["--max-side", "160", "--quiet"]].concat(),
        &dir,
    );
    assert_eq!(again.status.code(), Some(0), "{}", stderr(&again));
    let text = String::from_utf8_lossy(&again.stdout);
    assert!(
        text.contains("5 frames planned, 0 written, 5 already there"),
        "{text}"
    );
    assert!(again.stderr.is_empty(), "{}", stderr(&again));
}

#[test]
fn upload_stores_the_video() {
    let dir = common::scratch("cli-upload");
    let video = clip(&dir);
    let up = json(&run(
        &["upload", "clip.mp4", "ds", "--json", "--folder", "videos"],
        &dir,
    ));
    assert_eq!(up["key"], "videos/clip.mp4");
    assert_eq!(up["frame_count"].as_u64(), Some(47));
    assert_eq!(
        std::fs::read(dir.join("ds/videos/clip.mp4")).unwrap(),
        std::fs::read(&video).unwrap()
    );
}

#[test]
fn a_bad_video_is_one_line_naming_it_and_status_1() {
    let dir = common::scratch("cli-bad");
    std::fs::write(dir.join("bad.mp4"), b"not a video at all").unwrap();
    for args in [
        &["probe", "bad.mp4"][..],
        &["probe", "missing.mp4", "--json"],
        &["extract", "bad.mp4", "out"],
        &["extract", "missing.mp4", "out", "--json"],
        &["upload", "bad.mp4", "ds"],
    ] {
        let out = run(args, &dir);
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(1), "{args:?}: {err}");
        assert_eq!(
            err.trim_end().lines().count(),
            1,
            "{args:?}: not one line: {err}"
        );
        assert!(
            err.starts_with("error: ") && err.contains(args[1]),
            "{args:?}: {err}"
        );
        assert!(out.stdout.is_empty(), "{args:?}");
    }
}

#[test]
fn bad_arguments_are_status_2_with_the_usage() {
    let dir = common::scratch("cli-usage");
    // No arguments at all: the help, on stderr.
    let out = run(&[], &dir);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("Usage: video-dataset <COMMAND>"));
    assert!(out.stdout.is_empty());
    for args in [
        &["frobnicate"][..],
        &["probe"],
        &["extract", "clip.mp4"],
        &[
            "extract",
            "clip.mp4",
            "out",
            "--indices",
            "1,2",
            "--fps",
            "2",
        ],
        &["extract", "clip.mp4", "out", "--step", "2", "--fps", "2"],
        &[
            "extract",
            "clip.mp4",
            "out",
            "--step",
            "2",
            "--start-seconds",
            "1",
        ],
        &[
            "extract",
            "clip.mp4",
            "out",
            "--resize",
            "64x64",
            "--max-side",
            "9",
        ],
        &["extract", "clip.mp4", "out", "--only-annotated"],
        &["extract", "clip.mp4", "out", "--bogus"],
        &["upload", "clip.mp4", "ds", "extra"],
    ] {
        let out = run(args, &dir);
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert!(err.starts_with("error: "), "{args:?}: {err}");
        assert!(err.contains("Usage: video-dataset"), "{args:?}: {err}");
        assert!(out.stdout.is_empty(), "{args:?}");
    }
    // A value that cannot be read: the error names the option.
    for (option, value) in [
        ("--deadline", "0"),
        ("--stall-timeout", "-1"),
        ("--fps", "-1"),
        ("--step", "0"),
        ("--step", "x"),
        ("--format", "gif"),
        ("--resize", "64"),
        ("--indices", "1,a"),
    ] {
        let out = run(&["extract", "clip.mp4", "out", option, value], &dir);
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(2), "{option} {value}: {err}");
        assert!(
            err.starts_with("error: ") && err.contains(option),
            "{option}: {err}"
        );
    }
    assert!(!dir.join("out").exists());
}

#[test]
fn every_subcommand_has_help() {
    let dir = common::scratch("cli-help");
    for args in [
        &["--help"][..],
        &["-h"],
        &["help"],
        &["probe", "--help"],
        &["extract", "--help"],
        &["upload", "--help"],
        &["sample", "--help"],
        &["jobs", "--help"],
        &["jobs", "wait", "--help"],
        &["jobs", "cancel", "--help"],
        &["export", "--help"],
        &["export", "webdataset", "--help"],
        &["help", "extract"],
    ] {
        let out = run(args, &dir);
        assert_eq!(out.status.code(), Some(0), "{args:?}: {}", stderr(&out));
        let text = String::from_utf8(out.stdout).unwrap();
        assert!(text.contains("Usage: video-dataset"), "{args:?}: {text}");
        assert!(text.contains("Exit status:"), "{args:?}: {text}");
    }
    let out = run(&["extract", "--help"], &dir);
    let text = String::from_utf8(out.stdout).unwrap();
    for option in [
        "--indices",
        "--step",
        "--fps",
        "--max-frames",
        "--format",
        "--annotations",
    ] {
        assert!(text.contains(option), "{option}: {text}");
    }
}

/// SIGTERM and SIGINT stop an extraction cleanly: status 143 / 130, a one-line message, no
/// staging file left, and the same command again completes the dataset.
#[test]
fn signals_stop_cleanly_and_a_rerun_completes() {
    let dir = common::scratch("cli-signal");
    lavfi_clip(
        &dir,
        "long.mp4",
        "testsrc2=size=640x360:rate=25",
        &[X264_ARGS, &["-frames:v", "150"]].concat(),
    );
    for (signal, status) in [("TERM", 143), ("INT", 130)] {
        let out = dir.join(format!("out-{signal}"));
        let args = ["extract", "long.mp4", out.to_str().unwrap(), "--step", "1"];
        let args = [&args[..], &["--format", "png", "--quiet"]].concat();
        let child = Command::new(env!("CARGO_BIN_EXE_video-dataset"))
            .args(&args)
            .current_dir(&dir)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        // Once a few frames are stored.
        let started = std::time::Instant::now();
        while std::fs::read_dir(&out).map_or(0, |d| d.count()) < 4 {
            assert!(started.elapsed().as_secs() < 60, "no frame stored");
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        let killed = Command::new("kill")
            .args(["-s", signal, &child.id().to_string()])
            .status()
            .unwrap();
        assert!(killed.success());
        let ended = child.wait_with_output().unwrap();
        let err = stderr(&ended);
        assert_eq!(ended.status.code(), Some(status), "SIG{signal}: {err}");
        assert_eq!(err.trim_end().lines().count(), 1, "{err}");
        assert!(
            err.contains(&format!("interrupted by SIG{signal}")),
            "{err}"
        );
        assert!(
            !out.join("long.scene.json").exists(),
            "SIG{signal} came too late"
        );
        for e in std::fs::read_dir(&out).unwrap() {
            let name = e.unwrap().file_name().to_string_lossy().into_owned();
            assert!(!name.contains('#'), "staging file {name} left");
        }
        let again = run(&args, &dir);
        assert_eq!(again.status.code(), Some(0), "{}", stderr(&again));
        assert!(out.join("long.scene.json").is_file());
        assert_eq!(
            std::fs::read_dir(&out)
                .unwrap()
                .filter(|e| e
                    .as_ref()
                    .unwrap()
                    .path()
                    .extension()
                    .is_some_and(|x| x == "png"))
                .count(),
            150
        );
    }
}

/// `sample` runs a tree as one job: a bad video is named on stderr with status 3, the good
/// ones' frames are under their mirrored folders; a re-run writes nothing new; `jobs` reads the
/// records back.
#[test]
fn sample_runs_a_tree_and_jobs_reads_its_records() {
    let dir = common::scratch("cli-sample");
    let src = dir.join("src");
    let short = [X264_ARGS, &["-frames:v", "20"]].concat();
    lavfi_clip(
        &src.join("a/x"),
        "one.mp4",
        "testsrc2=size=160x120:rate=25",
        &short,
    );
    lavfi_clip(
        &src.join("b"),
        "two.mp4",
        "testsrc=size=160x120:rate=25",
        &short,
    );
    std::fs::create_dir_all(src.join("c")).unwrap();
    std::fs::write(src.join("c/bad.mp4"), "not a video at all\n").unwrap();

    let args = [
        "sample", "src", "out", "--step", "5", "--jobs", "2", "--json",
    ];
    let first = run(&args, &dir);
    let err = stderr(&first);
    assert_eq!(first.status.code(), Some(3), "{err}");
    let failed: Vec<&str> = err.lines().filter(|l| l.starts_with("failed: ")).collect();
    assert_eq!(failed.len(), 1, "{err}");
    assert!(failed[0].contains("bad.mp4"), "{err}");
    let record: serde_json::Value = serde_json::from_slice(&first.stdout).unwrap();
    assert_eq!(record["state"], "partially_failed");
    let first_id = record["job_id"].as_str().unwrap().to_owned();
    assert!(err.contains(&first_id), "{err}");
    let frames = |folder: &str, video: &str| -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(dir.join("out").join(folder))
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.starts_with(&format!("{video}_")) && n.ends_with(".jpg"))
            .collect();
        names.sort();
        names
    };
    assert_eq!(frames("a/x", "one").len(), 4);
    assert_eq!(frames("b", "two").len(), 4);
    let written: u64 = record["videos"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|v| v["frames_written"].as_u64())
        .sum();
    assert_eq!(written, 8, "{record}");

    // Again: the same failure, nothing new written for the good ones.
    let again = run(&args, &dir);
    assert_eq!(again.status.code(), Some(3), "{}", stderr(&again));
    let record: serde_json::Value = serde_json::from_slice(&again.stdout).unwrap();
    let second_id = record["job_id"].as_str().unwrap().to_owned();
    assert_ne!(first_id, second_id);
    for v in record["videos"].as_array().unwrap() {
        if v["state"] == "succeeded" {
            assert_eq!(v["frames_written"].as_u64(), Some(0), "{v}");
            assert_eq!(v["frames_existing"].as_u64(), Some(4), "{v}");
        }
    }

    // `jobs list`: both, in order.
    let list = json(&run(&["jobs", "list", "out", "--json"], &dir));
    let ids: Vec<&str> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["job_id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, [first_id.as_str(), second_id.as_str()]);
    let text = run(&["jobs", "list", "out"], &dir);
    assert_eq!(String::from_utf8(text.stdout).unwrap().lines().count(), 2);

    // `jobs status`.
    let status = json(&run(&["jobs", "status", "out", &first_id, "--json"], &dir));
    assert_eq!(status["state"], "partially_failed");
    assert_eq!(status["videos_failed"].as_u64(), Some(1));

    // `jobs wait` on an ended job: at once, with the job's status.
    let started = std::time::Instant::now();
    let waited = run(
        &[
            "jobs",
            "wait",
            "out",
            &first_id,
            "--timeout",
            "0.1",
            "--json",
        ],
        &dir,
    );
    assert!(started.elapsed().as_secs() < 10);
    assert_eq!(waited.status.code(), Some(3), "{}", stderr(&waited));
    assert!(stderr(&waited).contains("bad.mp4"));

    // An unknown job: status 1, one line.
    let none = run(
        &["jobs", "status", "out", "0000000000000000-00000000"],
        &dir,
    );
    assert_eq!(none.status.code(), Some(1), "{}", stderr(&none));

    // Bad arguments: status 2 with the usage.
    for args in [
        &["sample"][..],
        &["sample", "src"],
        &["sample", "src", "out", "--jobs", "0"],
        &["sample", "src", "out", "--indices", "1", "--fps", "2"],
        &["sample", "src", "out", "--annotations", "a.json"],
        &["jobs"],
        &["jobs", "status", "out"],
        &["jobs", "cancel", "out"],
        &["jobs", "cancel", "out", &first_id, "--timeout", "5"],
        &["jobs", "wait", "out", &first_id, "--timeout", "-1"],
        &["jobs", "wait", "out", &first_id, "--timeout", "soon"],
    ] {
        let out = run(args, &dir);
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        // A value clap cannot read names the option; the rest come with the usage.
        assert!(
            err.contains("Usage: video-dataset") || err.contains("--"),
            "{args:?}: {err}"
        );
        assert!(out.stdout.is_empty(), "{args:?}");
    }
}

/// SIGTERM stops `sample` by cancelling its job: status 143, the record says `cancelled`, and
/// the same command again completes the dataset.
#[test]
fn a_signal_cancels_the_sample_job_and_a_rerun_completes() {
    let dir = common::scratch("cli-sample-signal");
    let long = [X264_ARGS, &["-frames:v", "150"]].concat();
    for name in ["a", "b"] {
        lavfi_clip(
            &dir.join("src").join(name),
            "long.mp4",
            "testsrc2=size=640x360:rate=25",
            &long,
        );
    }
    let args = [
        "sample", "src", "out", "--step", "1", "--format", "png", "--jobs", "1", "-q",
    ];
    let child = Command::new(env!("CARGO_BIN_EXE_video-dataset"))
        .args(args)
        .current_dir(&dir)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let started = std::time::Instant::now();
    let stored = || {
        ["a", "b"]
            .iter()
            .map(|f| {
                std::fs::read_dir(dir.join("out").join(f)).map_or(0, |d| {
                    d.filter(|e| {
                        e.as_ref()
                            .is_ok_and(|e| e.path().extension().is_some_and(|x| x == "png"))
                    })
                    .count()
                })
            })
            .sum::<usize>()
    };
    while stored() < 4 {
        assert!(started.elapsed().as_secs() < 60, "no frame stored");
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let killed = Command::new("kill")
        .args(["-s", "TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let ended = child.wait_with_output().unwrap();
    let err = stderr(&ended);
    assert_eq!(ended.status.code(), Some(143), "{err}");
    assert!(err.contains("interrupted by SIGTERM"), "{err}");
    let list = json(&run(&["jobs", "list", "out", "--json"], &dir));
    assert_eq!(list[0]["state"], "cancelled", "{list}");

    let again = run(&args, &dir);
    assert_eq!(again.status.code(), Some(0), "{}", stderr(&again));
    for f in ["a", "b"] {
        assert!(dir.join("out").join(f).join("long.scene.json").is_file());
    }
    assert_eq!(stored(), 2 * 150);
}

/// `sample` over a Supervisely video project: each video with its own annotation, so
/// `--only-annotated` goes without `--annotations`; `--datasets` keeps one dataset.
#[test]
fn sample_a_supervisely_project_only_annotated() {
    let dir = common::scratch("cli-sample-sly");
    let fixture =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("video-annotation/tests/data/supervisely");
    let root = dir.join("project");
    for rel in ["meta.json", "street/ann/street.mp4.json"] {
        std::fs::create_dir_all(root.join(rel).parent().unwrap()).unwrap();
        std::fs::copy(fixture.join(rel), root.join(rel)).unwrap();
    }
    let clip = |dir: &Path, name: &str, size: &str, frames: &str| {
        lavfi_clip(
            dir,
            name,
            &format!("testsrc2=size={size}:rate=25"),
            &[X264_ARGS, &["-frames:v", frames]].concat(),
        )
    };
    clip(&root.join("street/video"), "street.mp4", "1280x720", "60");
    clip(&root.join("street/video"), "plain.mp4", "160x120", "6");
    clip(&root.join("park/video"), "walk.mp4", "160x120", "4");
    let out = run(
        &[
            "sample",
            "project",
            "out",
            "--only-annotated",
            "--datasets",
            "street",
            "-q",
        ],
        &dir,
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let street = dir.join("out/street");
    // Only the annotated video's 10 labelled frames: a video of the project without an
    // annotation file has no annotated frame, so `--only-annotated` samples none of it.
    assert_eq!(std::fs::read_dir(street.join("img")).unwrap().count(), 10);
    assert!(!street.join("img/plain_000000.jpg").exists());
    assert!(!street.join("plain_000000.jpg").exists());
    assert!(!dir.join("out/park").exists());
}

/// `--framemd5` on `extract` and `sample`: each frame's record carries the md5 ffmpeg's
/// `framemd5` prints for that frame.
#[test]
fn framemd5_flag_records_ffmpegs_md5() {
    let dir = common::scratch("cli-framemd5");
    let video = clip(&dir);
    let ffmpeg = common::ffmpeg_framemd5(&video);
    assert_eq!(ffmpeg.len(), 47);

    let s = json(&run(
        &[
            "extract",
            "clip.mp4",
            "out",
            "--indices",
            "0,1,46",
            "--max-side",
            "100",
            "--framemd5",
            "--json",
        ],
        &dir,
    ));
    let frames = s["frames"].as_array().unwrap();
    assert_eq!(frames.len(), 3);
    for f in frames {
        let i = f["index"].as_u64().unwrap() as usize;
        assert_eq!(f["framemd5"]["md5"], ffmpeg[i].as_str(), "frame {i}");
        assert_eq!(f["framemd5"]["pix_fmt"], "yuv420p");
    }

    let src = dir.join("src");
    std::fs::create_dir_all(&src).unwrap();
    std::fs::copy(&video, src.join("clip.mp4")).unwrap();
    let out = run(
        &[
            "sample",
            "src",
            "sampled",
            "--indices",
            "2,30",
            "--framemd5",
            "--quiet",
        ],
        &dir,
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    for i in [2usize, 30] {
        let rec: serde_json::Value = serde_json::from_slice(
            &std::fs::read(dir.join(format!("sampled/.video-dataset/clip/{i:06}.json"))).unwrap(),
        )
        .unwrap();
        assert_eq!(rec["framemd5"]["md5"], ffmpeg[i].as_str(), "frame {i}");
    }
}

#[test]
fn scene_flags_append_one_scene_per_video() {
    let dir = common::scratch("cli-scene");
    clip(&dir);
    let frames = ffprobe_frame_count(&dir.join("clip.mp4"));
    let scene = |dataset: &str, id: &str| -> serde_json::Value {
        let path = dir.join(format!("{dataset}/.video-dataset/scenes/{id}.json"));
        serde_json::from_slice(&std::fs::read(&path).unwrap_or_else(|e| {
            panic!("{}: {e}", path.display());
        }))
        .unwrap()
    };
    let indices = |s: &serde_json::Value| -> Vec<u64> {
        s["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i["metadata"]["frame_index"].as_u64().unwrap())
            .collect()
    };
    let expected: Vec<u64> = (0..frames).step_by(10).collect();

    // One video: its scene is named after it, at 25/10 frames per second.
    let out = run(
        &[
            "extract", "clip.mp4", "one", "--step", "10", "--scene", "--quiet",
        ],
        &dir,
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let s = scene("one", "clip");
    assert_eq!(indices(&s), expected);
    assert_eq!(s["frame_rate"], serde_json::json!({"num": 5, "den": 2}));

    // A tree: one scene per video, named by its path; --scene-update refreshes the metadata.
    std::fs::create_dir_all(dir.join("tree/x")).unwrap();
    std::fs::copy(dir.join("clip.mp4"), dir.join("tree/x/clip.mp4")).unwrap();
    let out = run(
        &[
            "sample", "tree", "many", "--step", "10", "--scene", "--quiet",
        ],
        &dir,
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let s = scene("many", "x__clip");
    assert_eq!(indices(&s), expected);
    assert_eq!(s["metadata"]["relative_path"], "x/clip.mp4");
    let out = run(
        &[
            "sample",
            "tree",
            "many",
            "--step",
            "5",
            "--scene-update",
            "--quiet",
        ],
        &dir,
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let got = indices(&scene("many", "x__clip"));
    assert_eq!(got, (0..frames).step_by(5).collect::<Vec<_>>());
}
