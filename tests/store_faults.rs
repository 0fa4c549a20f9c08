//! `extract_frames` against an S3 server that falters (through the fault-injecting proxy of
//! `video-storage/tests/support/fault_proxy.rs`): transient failures and a 12 s outage are
//! ridden out with the default retry policy; a server that goes away ends the job with a typed,
//! transient error in bounded time, and a re-run once the server is back completes the dataset.
//! Either way the dataset ends byte for byte what an undisturbed run stores: nothing lost,
//! nothing duplicated.
//! `scripts/test.sh` starts moto and sets the variables; without them this says SKIPPED.
#![cfg(feature = "aws")]
#![allow(clippy::unwrap_used)]

#[path = "../video-storage/tests/support/fault_proxy.rs"]
mod fault_proxy;

use std::path::PathBuf;
use std::time::{Duration, Instant};

use fault_proxy::{Fault, FaultProxy};
use futures::TryStreamExt;
use video_dataset::core::{DatasetSink, VideoRef};
use video_dataset::storage::object_store::ObjectStore;
use video_dataset::storage::{
    ObjectStoreSink, RetryPolicy, StoreOptions, UploadOptions, upload_video,
};
use video_dataset::{Error, ExtractOptions, GstDemuxer, extract_frames};
use video_testkit::error_chain as chain;
use video_testkit::fixtures::{X264_ARGS, lavfi_clip};

/// Turns a hang into a failure; far above the deadlines the test sets.
const HANG_GUARD: Duration = Duration::from_secs(180);

/// A 10-second 320x240 H.264 clip made with the ffmpeg CLI, kept in the target's temp dir
/// between runs (written under another name, then renamed).
fn clip() -> PathBuf {
    static CLIP: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    CLIP.get_or_init(make_clip).clone()
}

fn make_clip() -> PathBuf {
    lavfi_clip(
        &PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("store-faults"),
        "street.mp4",
        "testsrc2=size=320x240:rate=25:duration=10",
        &[X264_ARGS, &["-g", "25", "-bf", "2", "-f", "mp4"]].concat(),
    )
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

/// A video in the store, the proxy in front of the server, and the dataset an undisturbed
/// run makes of it.
struct Setup {
    base: String,
    proxy: FaultProxy,
    video_url: String,
    reference_url: String,
    planned: u64,
}

fn plan() -> ExtractOptions {
    ExtractOptions::default().folder_path("cam1").fps(5.0)
}

fn video_ref() -> VideoRef {
    VideoRef {
        folder: "cam1".into(),
        name: "street".into(),
    }
}

async fn setup(test: &str) -> Option<Setup> {
    let base = video_testkit::s3_test_url(test)?;
    let proxy = FaultProxy::start_for_s3_endpoint()
        .expect("AWS_ENDPOINT must be http://127.0.0.1:PORT for the fault tests");
    let clip = clip();
    // The video lives in the store too, and is read through the proxy by byte ranges.
    let videos = ObjectStoreSink::from_url(&format!("{base}/videos")).unwrap();
    let up = upload_video(
        &videos,
        &clip,
        "",
        |p| GstDemuxer::open(p),
        UploadOptions::default(),
    )
    .await
    .unwrap();
    let video_url = format!("{base}/videos/{}", up.key);
    // The reference: an undisturbed run, straight to the server.
    let reference_url = format!("{base}/reference");
    let reference = extract_frames(video_url.as_str(), &reference_url, plan())
        .await
        .unwrap();
    assert_eq!(
        reference.frames_written, 50,
        "5 frames per second of a 10 s clip"
    );
    Some(Setup {
        base,
        proxy,
        video_url,
        reference_url,
        planned: reference.frames_written,
    })
}

/// The same objects as the reference run, byte for byte (images and records; manifests
/// compared by their frames, which name the keys and content hashes).
async fn assert_same_as_reference(dataset_url: &str, s: &Setup) {
    let direct = ObjectStoreSink::from_url(dataset_url).unwrap();
    let reference_sink = ObjectStoreSink::from_url(&s.reference_url).unwrap();
    let got = contents(&direct).await;
    let want = contents(&reference_sink).await;
    let names = |v: &[(String, Vec<u8>)]| v.iter().map(|(k, _)| k.clone()).collect::<Vec<_>>();
    assert_eq!(names(&got), names(&want));
    for ((key, bytes), (_, reference_bytes)) in got.iter().zip(&want) {
        if !key.ends_with(".scene.json") {
            assert!(bytes == reference_bytes, "{key} differs from the reference");
        }
    }
    let manifest = direct.video_manifest(&video_ref()).await.unwrap().unwrap();
    let reference_manifest = reference_sink
        .video_manifest(&video_ref())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(manifest.frames, reference_manifest.frames);
    assert_eq!(manifest.frames.len() as u64, s.planned);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn transient_failures_and_a_short_outage_mid_extraction_are_ridden_out() {
    let Some(s) = setup("store-transient").await else {
        return;
    };
    let proxy = &s.proxy;
    // 503s, 500s and resets on writes and reads, then a 12 s outage after 20 answered PUTs.
    proxy.inject(Fault::Status(503), 3, Some("PUT"));
    proxy.inject(Fault::Reset, 3, Some("PUT"));
    proxy.inject(Fault::Status(500), 2, Some("GET"));
    proxy.inject(Fault::Reset, 2, Some("GET"));
    proxy.outage_after(Some("PUT"), 20, Duration::from_secs(12));
    let store = StoreOptions::default().config("aws_endpoint", proxy.url());
    let dataset_url = format!("{}/dataset", s.base);
    let started = Instant::now();
    let report = tokio::time::timeout(
        HANG_GUARD,
        extract_frames(s.video_url.as_str(), &dataset_url, plan().store(store)),
    )
    .await
    .expect("hang guard")
    .unwrap();
    eprintln!(
        "the job took {:.1} s through {} faults and an outage",
        started.elapsed().as_secs_f64(),
        proxy.injected()
    );
    assert_eq!(proxy.injected(), 10, "every fault was met");
    assert_eq!(proxy.refused_periods(), 1, "the outage happened");
    assert_eq!(report.frames_written, s.planned);
    assert_same_as_reference(&dataset_url, &s).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_server_going_away_mid_extraction_then_a_rerun_completes_the_dataset() {
    let Some(s) = setup("store-faults").await else {
        return;
    };
    let (proxy, planned) = (&s.proxy, s.planned);
    // Through the proxy, with a short retry budget: the server goes away after 16 answered
    // PUTs (images and records of several frames, a few written at once), mid-job.
    let store = StoreOptions::default()
        .retry(
            RetryPolicy::default()
                .budget(Duration::from_secs(2))
                .init_backoff(Duration::from_millis(100)),
        )
        .read_deadline(Duration::from_secs(5))
        .request_timeout(Some(Duration::from_secs(5)))
        .config("aws_endpoint", proxy.url());
    let dataset_url = format!("{}/dataset", s.base);
    proxy.down_after(Some("PUT"), 16);
    let started = Instant::now();
    let failed = tokio::time::timeout(
        HANG_GUARD,
        extract_frames(
            s.video_url.as_str(),
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
    let all: Vec<u64> = (0..250).collect();
    let stored_before = direct.existing(&video_ref(), &all).await.unwrap().len() as u64;
    assert!(
        (1..planned).contains(&stored_before),
        "the server went away mid-job: {stored_before} of {planned} frames stored"
    );
    assert!(direct.manifest(&video_ref()).await.unwrap().is_none());

    // The server is back: the same job completes what is missing.
    proxy.up();
    let report = tokio::time::timeout(
        HANG_GUARD,
        extract_frames(s.video_url.as_str(), &dataset_url, plan().store(store)),
    )
    .await
    .expect("hang guard")
    .unwrap();
    assert_eq!(report.frames_existing, stored_before);
    assert_eq!(report.frames_written + report.frames_existing, planned);
    assert_same_as_reference(&dataset_url, &s).await;
}
