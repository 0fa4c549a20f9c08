//! The S3 server going away in the middle of `extract_frames` (through the fault-injecting
//! proxy of `video-storage/tests/support/fault_proxy.rs`): the job ends with a typed,
//! transient error in bounded time, and a re-run once the server is back completes the dataset
//! with nothing lost or duplicated, byte for byte what an undisturbed run stores.
//! `scripts/test.sh` starts moto and sets the variables; without them this says SKIPPED.
#![cfg(feature = "aws")]
#![allow(clippy::unwrap_used)]

#[path = "../video-storage/tests/support/fault_proxy.rs"]
mod fault_proxy;

use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

use fault_proxy::FaultProxy;
use futures::TryStreamExt;
use video_dataset::core::{DatasetSink, VideoRef};
use video_dataset::storage::object_store::ObjectStore;
use video_dataset::storage::{
    ObjectStoreSink, RetryPolicy, StoreOptions, UploadOptions, upload_video,
};
use video_dataset::{Error, ExtractOptions, GstDemuxer, extract_frames};

/// Turns a hang into a failure; far above the deadlines the test sets.
const HANG_GUARD: Duration = Duration::from_secs(180);

/// A 10-second 320x240 H.264 clip made with the ffmpeg CLI.
fn clip() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("store-faults-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let out = dir.join("street.mp4");
    let status = Command::new("ffmpeg")
        .args(["-v", "error", "-y", "-f", "lavfi", "-i"])
        .arg("testsrc2=size=320x240:rate=25:duration=10")
        .args(["-c:v", "libx264", "-preset", "ultrafast", "-g", "25"])
        .args(["-bf", "2", "-pix_fmt", "yuv420p"])
        .arg(&out)
        .status()
        .expect("ffmpeg (installed by scripts/setup.sh --test)");
    assert!(status.success());
    out
}

/// Every key under the sink's prefix (relative to it) with its bytes, sorted.
async fn contents(sink: &ObjectStoreSink) -> Vec<(String, Vec<u8>)> {
    let listed: Vec<_> = sink
        .store()
        .list(Some(sink.prefix()))
        .try_collect()
        .await
        .unwrap();
    let prefix = format!("{}/", sink.prefix());
    let mut out = Vec::new();
    for m in listed {
        let key = m
            .location
            .as_ref()
            .strip_prefix(&prefix)
            .unwrap()
            .to_owned();
        let bytes = sink.read(&key).await.unwrap();
        out.push((key, bytes));
    }
    out.sort();
    out
}

/// The chain of an error on one line.
fn chain(e: &Error) -> String {
    let mut s = e.to_string();
    let mut src = std::error::Error::source(e);
    while let Some(x) = src {
        s.push_str(" <- ");
        s.push_str(&x.to_string());
        src = x.source();
    }
    s
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_server_going_away_mid_extraction_then_a_rerun_completes_the_dataset() {
    let Some(base) = video_dataset::core::testing::s3_test_url("store-faults") else {
        return;
    };
    let proxy = FaultProxy::start_for_s3_endpoint()
        .expect("AWS_ENDPOINT must be http://127.0.0.1:PORT for the fault tests");
    let clip = clip();
    // The video lives in the store too, and is read through the proxy by byte ranges.
    let videos = ObjectStoreSink::from_url(&format!("{base}/videos")).unwrap();
    let mut demuxer = GstDemuxer::open(&clip).unwrap();
    let up = upload_video(&videos, &clip, "", &mut demuxer, UploadOptions::default())
        .await
        .unwrap();
    let video_url = format!("{base}/videos/{}", up.key);

    let plan = || {
        ExtractOptions::default()
            .folder_path("cam1")
            .fps(5.0, None, None, None)
    };
    // The reference: an undisturbed run, straight to the server.
    let reference_url = format!("{base}/reference");
    let reference = extract_frames(video_url.as_str(), &reference_url, plan())
        .await
        .unwrap();
    let planned = reference.frames_written;
    assert_eq!(planned, 50, "5 frames per second of a 10 s clip");

    // Through the proxy, with a short retry budget: the server goes away after 16 answered
    // PUTs (8 frames with their records), in the middle of the job.
    let store = StoreOptions::default()
        .retry(
            RetryPolicy::default()
                .budget(Duration::from_secs(2))
                .init_backoff(Duration::from_millis(100)),
        )
        .read_deadline(Duration::from_secs(5))
        .request_timeout(Some(Duration::from_secs(5)))
        .config("aws_endpoint", proxy.url());
    let dataset_url = format!("{base}/dataset");
    proxy.down_after(Some("PUT"), 16);
    let started = Instant::now();
    let failed = tokio::time::timeout(
        HANG_GUARD,
        extract_frames(
            video_url.as_str(),
            &dataset_url,
            plan().store(store.clone()),
        ),
    )
    .await
    .expect("hang guard: the job must end while the server is away");
    let e = failed.unwrap_err();
    eprintln!(
        "the job ended {:.1} s after it started: {}",
        started.elapsed().as_secs_f64(),
        chain(&e)
    );
    assert!(proxy.is_down());
    assert!(
        matches!(
            e,
            Error::Store {
                transient: true,
                ..
            } | Error::Timeout { .. }
        ),
        "{}",
        chain(&e)
    );
    assert!(e.is_transient());
    let direct = ObjectStoreSink::from_url(&dataset_url).unwrap();
    let video = VideoRef {
        folder: "cam1".into(),
        name: "street".into(),
    };
    let all: Vec<u64> = (0..250).collect();
    let stored_before = direct.existing(&video, &all).await.unwrap().len() as u64;
    assert!(
        (8..planned).contains(&stored_before),
        "the server went away mid-job: {stored_before} of {planned} frames stored"
    );
    assert!(direct.manifest(&video).await.unwrap().is_none());

    // The server is back: the same job completes what is missing.
    proxy.up();
    let report = tokio::time::timeout(
        HANG_GUARD,
        extract_frames(video_url.as_str(), &dataset_url, plan().store(store)),
    )
    .await
    .expect("hang guard")
    .unwrap();
    assert_eq!(report.frames_existing, stored_before);
    assert_eq!(report.frames_written + report.frames_existing, planned);

    // Nothing lost, nothing duplicated: the same objects as the reference run, byte for byte
    // (images and records; manifests compared by their frames, which name the keys and
    // content hashes).
    let reference_sink = ObjectStoreSink::from_url(&reference_url).unwrap();
    let got = contents(&direct).await;
    let want = contents(&reference_sink).await;
    let names = |v: &[(String, Vec<u8>)]| v.iter().map(|(k, _)| k.clone()).collect::<Vec<_>>();
    assert_eq!(names(&got), names(&want));
    for ((key, bytes), (_, reference_bytes)) in got.iter().zip(&want) {
        if !key.ends_with(".scene.json") {
            assert!(bytes == reference_bytes, "{key} differs from the reference");
        }
    }
    let manifest = direct.video_manifest(&video).await.unwrap().unwrap();
    let reference_manifest = reference_sink
        .video_manifest(&video)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(manifest.frames, reference_manifest.frames);
    assert_eq!(manifest.frames.len() as u64, planned);
}
