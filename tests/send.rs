//! The one-call jobs can be spawned: their futures are `Send` (checked by the compiler in the
//! functions below, which are never called), and `tokio::spawn(extract_frames(..))` runs a real
//! job on a generated clip.

#![allow(clippy::unwrap_used)]

mod common;

#[path = "../examples/common/mod.rs"]
mod example_common;

use std::future::Future;
use std::pin::Pin;

use video_dataset::{
    DatasetSink, ExtractOptions, ExtractReport, ObjectStoreSink, Result, VideoRef, extract_frames,
    extract_frames_into, extract_frames_to,
};

fn assert_send<T: Send>(_: T) {}

#[allow(dead_code)]
fn job_futures_are_send(sink: ObjectStoreSink, custom: &dyn DatasetSink) {
    assert_send(extract_frames(
        "a.mp4",
        "/tmp/ds",
        ExtractOptions::default(),
    ));
    assert_send(extract_frames(
        String::from("s3://b/a.mp4"),
        "/tmp/ds",
        ExtractOptions::default(),
    ));
    assert_send(extract_frames_to("a.mp4", sink, ExtractOptions::default()));
    assert_send(extract_frames_into(
        "a.mp4",
        custom,
        ExtractOptions::default(),
    ));
}

#[allow(dead_code)]
fn jobs_futures_are_send(handle: &video_dataset::JobHandle) {
    assert_send(handle.wait(std::time::Duration::from_secs(1)));
    assert_send(video_dataset::read_job("/tmp/ds", "id"));
    assert_send(video_dataset::list_jobs("/tmp/ds"));
}

/// Boxed as `dyn Future + Send`, the form a job queue keeps.
#[allow(dead_code)]
fn job_boxes_as_send(
    custom: &dyn DatasetSink,
) -> Pin<Box<dyn Future<Output = Result<ExtractReport>> + Send + '_>> {
    Box::pin(extract_frames_into(
        "a.mp4",
        custom,
        ExtractOptions::default(),
    ))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn extract_frames_runs_in_a_spawned_task() {
    let clip = example_common::sample_clip().unwrap();
    let out = common::scratch("send-spawn");
    let dataset = out.to_str().unwrap().to_owned();
    let options = ExtractOptions::default()
        .fps(2.0)
        .seconds(Some(1.0), Some(3.0));
    let handle = tokio::spawn(extract_frames(clip.clone(), dataset.clone(), options));
    let report = handle.await.unwrap().unwrap();
    assert_eq!(report.frames_planned, 4);
    assert_eq!(report.frames_written, 4);
    // What the spawned job stored is in the dataset: its manifest lists the four frames, and
    // each image is on disk.
    let sink = ObjectStoreSink::from_url(&dataset).unwrap();
    let video = VideoRef {
        folder: String::new(),
        name: clip.file_stem().unwrap().to_string_lossy().into_owned(),
    };
    let manifest = sink.video_manifest(&video).await.unwrap().unwrap();
    let indices: Vec<u64> = manifest.frames.iter().map(|r| r.index).collect();
    assert_eq!(indices, [30, 45, 60, 75]);
    for r in &manifest.frames {
        let len = std::fs::metadata(out.join(&r.key)).unwrap().len();
        assert_eq!(len, r.bytes, "{}", r.key);
    }
}
