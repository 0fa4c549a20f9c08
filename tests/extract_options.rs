//! `ExtractOptions`' time limits reach the demuxer: a deadline ends the job with a timeout naming
//! the video, a zero stall timeout is refused, and a FIFO is refused without hanging.

#![allow(clippy::unwrap_used)]

mod common;

#[path = "../examples/common/mod.rs"]
mod example_common;

use std::time::Duration;

use video_dataset::core::Error;
use video_dataset::{ExtractOptions, extract_frames};

#[tokio::test]
async fn a_deadline_ends_the_job_with_a_timeout_naming_the_video() {
    let clip = example_common::sample_clip().unwrap();
    let uri = clip.display().to_string();
    let out = common::scratch("deadline");
    let options = ExtractOptions::default()
        .stall_timeout(Duration::from_secs(30))
        .deadline(Some(Duration::from_nanos(1)));
    let e = extract_frames(&clip, out.to_str().unwrap(), options)
        .await
        .expect_err("a job within 1 ns");
    assert!(
        matches!(&e, Error::Timeout { uri: u, operation, .. } if *u == uri && operation.contains("deadline")),
        "{e:?}"
    );
    // Nothing was written.
    assert!(std::fs::read_dir(&out).unwrap().next().is_none());

    // A generous deadline and stall timeout change nothing.
    let options = ExtractOptions::default()
        .stall_timeout(Duration::from_secs(30))
        .deadline(Some(Duration::from_secs(600)));
    let report = extract_frames(&clip, out.to_str().unwrap(), options)
        .await
        .unwrap();
    assert_eq!(report.frames_written, 10);

    let options = ExtractOptions::default().stall_timeout(Duration::ZERO);
    let e = extract_frames(&clip, out.to_str().unwrap(), options)
        .await
        .expect_err("zero stall timeout");
    assert!(matches!(e, Error::InvalidOption { .. }), "{e:?}");
}

#[tokio::test]
async fn a_fifo_is_not_a_video() {
    let dir = common::scratch("fifo-job");
    let fifo = dir.join("fifo.mp4");
    assert!(
        std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap()
            .success()
    );
    let out = dir.join("out");
    let job = extract_frames(&fifo, out.to_str().unwrap(), ExtractOptions::default());
    let e = tokio::time::timeout(Duration::from_secs(60), job)
        .await
        .expect("extract_frames on a FIFO hangs")
        .expect_err("a FIFO is not a video");
    assert!(
        matches!(&e, Error::NotAVideo { uri, reason, .. }
            if *uri == fifo.display().to_string() && reason == "not a regular file (FIFO)"),
        "{e:?}"
    );
}
