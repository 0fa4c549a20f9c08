//! Jobs of many videos (`video_dataset::submit`): a bad video among good ones, `wait` with a
//! deadline, `cancel` then a re-run, and the job's record read back from the dataset URL. The
//! bad-video and cancel checks run on a local dataset always and on S3 with the test command's
//! server (the same bodies: everything is read back through the dataset URL).

#![allow(clippy::unwrap_used)]

mod common;

use std::path::{Path, PathBuf};
use std::time::Duration;

use video_dataset::{
    DatasetSink, Error, ExtractOptions, FrameRecord, ImageFormat, JobSpec, JobState, JobStatus,
    ObjectStoreSink, VideoInput, VideoRef, VideoState, list_jobs, read_job, submit,
};
use video_testkit::fixtures::{X264_ARGS, lavfi_clip};

const LONG: Duration = Duration::from_secs(300);

/// A clip of `seconds` at 25 fps, 64×48, made once.
fn clip(name: &str, seconds: u32) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("jobs-clips");
    lavfi_clip(
        &dir,
        name,
        "testsrc2=size=64x48:rate=25",
        &[X264_ARGS, &["-t", &seconds.to_string()]].concat(),
    )
}

fn options(fps: f64) -> ExtractOptions {
    ExtractOptions::default().fps(fps).format(ImageFormat::Png)
}

/// The images of video `name` in `folder` of the dataset at `dataset` (a directory or a URL),
/// as its store lists them (on local disk: staging files of a dropped put excluded).
async fn images(dataset: &str, folder: &str, name: &str) -> Vec<String> {
    let sink = ObjectStoreSink::from_url(dataset).unwrap();
    let mut out: Vec<String> = sink
        .list_keys(folder)
        .await
        .unwrap()
        .into_iter()
        .map(|k| k.rsplit('/').next().unwrap().to_owned())
        .filter(|n| n.starts_with(&format!("{name}_")) && n.ends_with(".png"))
        .collect();
    out.sort();
    out
}

/// The video is complete: a manifest whose frames are exactly the images in its folder.
async fn assert_complete(dataset: &str, folder: &str, name: &str) -> usize {
    manifest_frames(dataset, folder, name).await.len()
}

/// [`assert_complete`], returning the manifest's frame records.
async fn manifest_frames(dataset: &str, folder: &str, name: &str) -> Vec<FrameRecord> {
    let sink = ObjectStoreSink::from_url(dataset).unwrap();
    let video = VideoRef {
        folder: folder.into(),
        name: name.into(),
    };
    let manifest = sink
        .video_manifest(&video)
        .await
        .unwrap()
        .unwrap_or_else(|| panic!("{folder}/{name}: no manifest"));
    let mut keys: Vec<String> = manifest
        .frames
        .iter()
        .map(|f| f.key.rsplit('/').next().unwrap().to_owned())
        .collect();
    keys.sort();
    assert!(!keys.is_empty());
    assert_eq!(keys, images(dataset, folder, name).await, "{folder}/{name}");
    manifest.frames
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_videos_do_not_stop_the_good_ones() {
    let out = common::scratch("jobs-partial");
    bad_videos_among_good_ones(out.to_str().unwrap(), "jobs-partial-in", None).await;
}

#[cfg(feature = "aws")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_videos_do_not_stop_the_good_ones_on_s3() {
    let Some(url) = video_testkit::s3_test_url("bad_videos_on_s3") else {
        return;
    };
    bad_videos_among_good_ones(&format!("{url}/dataset"), "jobs-partial-s3-in", None).await;
    // The videos on S3 too, given by their URLs.
    let videos = format!("{url}/videos");
    bad_videos_among_good_ones(
        &format!("{url}/dataset2"),
        "jobs-partial-s3-in",
        Some(&videos),
    )
    .await;
}

/// Three good videos and two bad ones (a truncated MP4, a text file) into `dataset`: the job
/// ends `PartiallyFailed` naming exactly the bad ones; each good video is complete with the
/// frames of its plan (every 5th of 50, whole 64×48 PNGs); the job's record is read back with
/// nothing but the dataset URL. The videos are local files, or copies under the store prefix
/// URL `videos_at` given by their URLs.
async fn bad_videos_among_good_ones(dataset: &str, inputs: &str, videos_at: Option<&str>) {
    let inputs = common::scratch(inputs);
    let good: Vec<PathBuf> = ["a", "b", "c"]
        .iter()
        .map(|n| clip(&format!("{n}.mp4"), 2))
        .collect();
    let corrupt = inputs.join("corrupt.mp4");
    let bytes = std::fs::read(&good[0]).unwrap();
    std::fs::write(&corrupt, &bytes[..bytes.len().min(600)]).unwrap();
    let text = inputs.join("notes.mp4");
    std::fs::write(&text, "not a video at all\n").unwrap();
    let files = [&good[0], &corrupt, &good[1], &text, &good[2]];
    let mut inputs: Vec<VideoInput> = files.iter().map(|f| VideoInput::from(*f)).collect();
    if let Some(prefix) = videos_at {
        let store = ObjectStoreSink::from_url(prefix).unwrap();
        for (input, file) in inputs.iter_mut().zip(files) {
            let name = file.file_name().unwrap().to_str().unwrap();
            store
                .write_dataset_file(name, &std::fs::read(file).unwrap())
                .await
                .unwrap();
            *input = VideoInput::Url(format!("{prefix}/{name}"));
        }
    }
    let named = |i: usize| match &inputs[i] {
        VideoInput::Url(u) => u.clone(),
        _ => files[i].display().to_string(),
    };

    let spec = JobSpec::new(dataset)
        .video(inputs[0].clone(), "one")
        .video(inputs[1].clone(), "bad")
        .video(inputs[2].clone(), "one")
        .video(inputs[3].clone(), "bad")
        .video(inputs[4].clone(), "two/deep")
        .options(options(5.0))
        .concurrency(2);
    let handle = submit(spec).unwrap();
    let status = handle.wait(LONG).await.unwrap();
    let JobStatus::PartiallyFailed { report, failures } = &status else {
        panic!("{status:?}");
    };
    let failed: Vec<usize> = failures.iter().map(|f| f.index).collect();
    assert_eq!(failed, [1, 3], "{failures:?}");
    assert_eq!(failures[0].source, named(1));
    assert_eq!(failures[1].source, named(3));
    for f in failures {
        assert!(
            matches!(
                *f.error,
                Error::NotAVideo { .. } | Error::NoVideoStream { .. } | Error::Backend { .. }
            ),
            "{:?}",
            f.error
        );
    }
    let done: Vec<usize> = report.videos.iter().map(|v| v.index).collect();
    assert_eq!(done, [0, 2, 4]);
    let mut frames = 0;
    let sink = ObjectStoreSink::from_url(dataset).unwrap();
    for (folder, name) in [("one", "a"), ("one", "b"), ("two/deep", "c")] {
        let records = manifest_frames(dataset, folder, name).await;
        // 2 s at 25 fps sampled at 5 fps: frames 0, 5, …, 45.
        let indices: Vec<u64> = records.iter().map(|r| r.index).collect();
        assert_eq!(indices, (0..50).step_by(5).collect::<Vec<u64>>(), "{name}");
        for r in &records {
            assert!(
                (r.pts_seconds - r.index as f64 / 25.0).abs() < 1e-6,
                "{r:?}"
            );
            let bytes = sink.read(&r.key).await.unwrap();
            assert_eq!(bytes.len() as u64, r.bytes, "{}", r.key);
            video_testkit::png::assert_whole_png(&r.key, &bytes, 64, 48);
        }
        frames += records.len() as u64;
    }
    assert_eq!(report.frames_planned, frames);
    assert_eq!(report.frames_written, frames);

    // The record, read with nothing but the dataset URL.
    let record = read_job(dataset, handle.id()).await.unwrap();
    assert_eq!(record.job_id, handle.id());
    assert_eq!(record.state, JobState::PartiallyFailed);
    assert_eq!((record.videos_total, record.videos_done), (5, 5));
    assert_eq!(record.videos_failed, 2);
    assert_eq!(record.frames_done, frames);
    let states: Vec<VideoState> = record.videos.iter().map(|v| v.state).collect();
    use VideoState::{Failed, Succeeded};
    assert_eq!(states, [Succeeded, Failed, Succeeded, Failed, Succeeded]);
    for f in failures {
        let e = record.videos[f.index].error.as_ref().unwrap();
        assert_eq!(e.kind, f.error.kind());
        assert_eq!(e.message, f.error.to_string());
    }
    assert!(record.finished_unix_ms.is_some());
    let raw: serde_json::Value = serde_json::from_slice(
        &sink
            .read(&format!(".video-dataset/jobs/{}.json", handle.id()))
            .await
            .unwrap(),
    )
    .unwrap();
    assert_eq!(raw["format"], "video-dataset/job");
    assert_eq!(raw["format_version"], 1);
    assert_eq!(list_jobs(dataset).await.unwrap(), [record]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wait_with_a_deadline_then_to_the_end() {
    let out = common::scratch("jobs-wait");
    let dataset = out.to_str().unwrap().to_owned();
    let spec = JobSpec::new(dataset.clone())
        .video(clip("w1.mp4", 4), "")
        .video(clip("w2.mp4", 4), "")
        .options(options(25.0))
        .concurrency(1);
    let handle = submit(spec).unwrap();
    match handle.wait(Duration::from_millis(1)).await {
        Err(Error::PollTimeout { job_id, waited }) => {
            assert_eq!(job_id, handle.id());
            assert_eq!(waited, Duration::from_millis(1));
        }
        other => panic!("{other:?}"),
    }
    assert!(!handle.status().is_final());
    let status = handle.wait(LONG).await.unwrap();
    let JobStatus::Succeeded(report) = status else {
        panic!("{status:?}")
    };
    assert_eq!(report.frames_planned, 200);
    assert_eq!(assert_complete(&dataset, "", "w1").await, 100);
    assert_eq!(assert_complete(&dataset, "", "w2").await, 100);
    let record = read_job(&dataset, handle.id()).await.unwrap();
    assert_eq!(record.state, JobState::Succeeded);
    assert_eq!((record.frames_done, record.frames_total), (200, 200));
    // A handle's status after the end stays final.
    assert!(matches!(handle.status(), JobStatus::Succeeded(_)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancel_then_rerun_completes_every_frame_once() {
    let out = common::scratch("jobs-cancel");
    cancel_then_rerun(out.to_str().unwrap()).await;
}

#[cfg(feature = "aws")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancel_then_rerun_completes_every_frame_once_on_s3() {
    let Some(url) = video_testkit::s3_test_url("cancel_then_rerun_on_s3") else {
        return;
    };
    cancel_then_rerun(&url).await;
}

/// A job of four 6 s videos into `dataset` cancelled once it has written a frame: its record
/// says cancelled with videos pending; the same job again completes every frame once (those
/// already stored are not written again, no image is left beside the manifests).
async fn cancel_then_rerun(dataset: &str) {
    let names = ["k1", "k2", "k3", "k4"];
    let mut spec = JobSpec::new(dataset).options(options(25.0)).concurrency(1);
    for n in names {
        spec = spec.video(clip(&format!("{n}.mp4"), 6), "cams");
    }
    let handle = submit(spec.clone()).unwrap();
    let mut rx = handle.subscribe();
    rx.wait_for(|s| matches!(s, JobStatus::Running { frames_done, .. } if *frames_done > 0))
        .await
        .unwrap();
    handle.cancel();
    let status = handle.wait(Duration::from_secs(30)).await.unwrap();
    assert!(matches!(status, JobStatus::Cancelled), "{status:?}");
    let record = read_job(dataset, handle.id()).await.unwrap();
    assert_eq!(record.state, JobState::Cancelled);
    assert!(
        record.videos.iter().any(|v| v.state == VideoState::Pending),
        "{record:?}"
    );

    let again = submit(spec).unwrap();
    assert_ne!(again.id(), handle.id());
    let status = again.wait(LONG).await.unwrap();
    let JobStatus::Succeeded(report) = status else {
        panic!("{status:?}")
    };
    assert_eq!(report.frames_planned, 600);
    assert!(report.frames_existing > 0, "{report:?}");
    assert_eq!(report.frames_written + report.frames_existing, 600);
    for n in names {
        assert_eq!(assert_complete(dataset, "cams", n).await, 150);
    }
    let jobs = list_jobs(dataset).await.unwrap();
    let ids: Vec<&str> = jobs.iter().map(|j| j.job_id.as_str()).collect();
    assert_eq!(ids, [handle.id(), again.id()], "sorted by submission");
    assert_eq!(jobs[1].state, JobState::Succeeded);
}

#[tokio::test]
async fn bad_specs_and_unknown_jobs() {
    let out = common::scratch("jobs-bad");
    let dataset = out.to_str().unwrap();
    assert!(matches!(
        submit(JobSpec::new(dataset).concurrency(0)),
        Err(Error::InvalidOption { .. })
    ));
    assert!(matches!(
        read_job(dataset, "nope").await,
        Err(Error::NotFound { .. })
    ));
    assert!(matches!(
        read_job(dataset, "..").await,
        Err(Error::InvalidPath { .. })
    ));
    assert!(list_jobs(dataset).await.unwrap().is_empty());
    // An empty job succeeds at once.
    let h = submit(JobSpec::new(dataset)).unwrap();
    let s = h.wait(Duration::from_secs(30)).await.unwrap();
    assert!(matches!(s, JobStatus::Succeeded(r) if r.videos.is_empty()));
}

#[test]
fn submit_outside_a_runtime_is_an_error() {
    let r = submit(JobSpec::new("/tmp/unused-dataset"));
    assert!(matches!(r, Err(Error::InvalidOption { .. })), "{r:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dropped_handle_leaves_the_job_running() {
    let out = common::scratch("jobs-detached");
    let dataset = out.to_str().unwrap().to_owned();
    let handle = submit(
        JobSpec::new(dataset.clone())
            .video(clip("d1.mp4", 2), "")
            .options(options(5.0)),
    )
    .unwrap();
    let id = handle.id().to_owned();
    drop(handle);
    let deadline = std::time::Instant::now() + LONG;
    loop {
        match read_job(&dataset, &id).await {
            Ok(r) if r.state == JobState::Succeeded => break,
            Ok(_) | Err(Error::NotFound { .. }) => {}
            Err(e) => panic!("{e}"),
        }
        assert!(std::time::Instant::now() < deadline, "the job never ended");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(assert_complete(&dataset, "", "d1").await, 10);
}

#[tokio::test]
async fn a_dataset_that_cannot_be_written_fails_the_job() {
    // Refused at once: the dataset's directory cannot be made.
    let out = common::scratch("jobs-unwritable");
    let file = out.join("a-file");
    std::fs::write(&file, "x").unwrap();
    let under_a_file = file.join("dataset");
    assert!(submit(JobSpec::new(under_a_file.to_str().unwrap())).is_err());
    // Failed: the job's record cannot be written (a file where its folder goes).
    std::fs::create_dir_all(out.join(".video-dataset")).unwrap();
    std::fs::write(out.join(".video-dataset/jobs"), "x").unwrap();
    let dataset = out.to_str().unwrap();
    let h = submit(JobSpec::new(dataset).video(clip("f1.mp4", 2), "")).unwrap();
    let s = h.wait(LONG).await.unwrap();
    let JobStatus::Failed(e) = &s else {
        panic!("{s:?}")
    };
    assert!(e.to_string().contains(".video-dataset/jobs"), "{e}");
    // Nothing was extracted.
    assert!(!out.join("f1.scene.json").exists());
}
