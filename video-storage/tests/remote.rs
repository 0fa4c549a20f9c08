//! Videos probed and sampled where they are stored (StoreVideo + GstDemuxer::from_source), on
//! memory, local disk and (with the test command's server) S3: the same metadata, table and
//! pixels as the local file, for a small fraction of the file's bytes.

#![allow(clippy::unwrap_used)]

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use futures::StreamExt;
use object_store::{ObjectStoreExt, PutPayload};
use video_core::testing::assert_same_pixels;
use video_core::{ByteSource, Demuxer, Error, Frame, FrameSource, SamplingPlan};
use video_gst::{DecodeOptions, GstDemuxer};
use video_storage::{ObjectStoreSink, StoreVideo, UploadOptions, upload_video};
use video_testkit::fixtures::{X264_ARGS, lavfi_clip};

/// A 200-second 320x240 H.264 clip (5000 frames, a key frame every 25, B-frames, moov at the end),
/// made once per test run with the ffmpeg CLI.
fn long_clip() -> &'static Path {
    static CLIP: OnceLock<PathBuf> = OnceLock::new();
    CLIP.get_or_init(|| {
        let dir = std::env::temp_dir().join(format!("vs-remote-{}", std::process::id()));
        lavfi_clip(
            &dir,
            "long.mp4",
            "testsrc2=size=320x240:rate=25:duration=200",
            &[X264_ARGS, &["-g", "25", "-bf", "2"]].concat(),
        )
    })
}

/// Frames of `plan` from `demuxer`, native format.
async fn sample(demuxer: &mut GstDemuxer, plan: &SamplingPlan) -> Vec<Frame> {
    let table = demuxer.frame_table().await.unwrap();
    let plan = plan.resolve(&table).unwrap();
    let mut src = demuxer
        .frame_source(DecodeOptions::default())
        .await
        .unwrap();
    src.frames(&plan).map(|r| r.unwrap()).collect().await
}

/// Upload the clip into `sink`, then probe and sample it in the store and compare with the
/// local file. Returns (file size, bytes read by the probe, bytes read by sampling 10 frames).
async fn remote_equals_local(sink: &ObjectStoreSink, label: &str) -> (u64, u64, u64) {
    let clip = long_clip();
    let mut local = GstDemuxer::open(clip).unwrap();
    let up = upload_video(
        sink,
        clip,
        "videos",
        |p| GstDemuxer::open(p),
        UploadOptions::default(),
    )
    .await
    .unwrap();
    let video = Arc::new(sink.open_video(&up.key).await.unwrap());
    assert_eq!(video.len(), up.size);
    let mut remote = GstDemuxer::from_source(video.clone()).unwrap();
    let mut meta = remote.probe().await.unwrap();
    let probe_bytes = video.bytes_fetched();
    assert!(meta.uri.ends_with(&up.key), "{} / {}", meta.uri, up.key);
    meta.uri = up.metadata.uri.clone();
    assert_eq!(meta, up.metadata, "{label}: metadata differs in the store");
    assert_eq!(
        remote.frame_table().await.unwrap(),
        local.frame_table().await.unwrap()
    );
    let plan = SamplingPlan::every(1).max_frames(10);
    let frames = sample(&mut remote, &plan).await;
    let sample_bytes = video.bytes_fetched() - probe_bytes;
    let expected = sample(&mut local, &plan).await;
    assert_eq!(frames.len(), 10);
    for (a, b) in frames.iter().zip(&expected) {
        assert_eq!(a.info, b.info);
        assert_same_pixels(a, b, label);
    }
    let _ = writeln!(
        std::io::stderr(),
        "{label}: {} byte video; probe read {probe_bytes} bytes, 10 frames read {sample_bytes} bytes \
         ({:.1} %) in {} requests",
        up.size,
        100.0 * sample_bytes as f64 / up.size as f64,
        video.requests()
    );
    (up.size, probe_bytes, sample_bytes)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn in_memory_video_is_sampled_by_ranges() {
    let sink = ObjectStoreSink::from_url("memory:///ds").unwrap();
    let (size, probed, sampled) = remote_equals_local(&sink, "memory").await;
    // MP4: the frame table comes from the moov box, plus the first packets for the caps.
    assert!(probed < size / 20, "probing read {probed} of {size} bytes");
    // 10 of 200 GOPs, each decoded from its key frame: about a twentieth of the file.
    assert!(
        sampled < size / 5,
        "sampling 10 frames read {sampled} of {size} bytes"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn video_on_disk_is_sampled_by_ranges() {
    let dir = std::env::temp_dir().join(format!("vs-remote-disk-{}", std::process::id()));
    let sink = ObjectStoreSink::local(&dir).unwrap();
    let (size, _, sampled) = remote_equals_local(&sink, "disk").await;
    assert!(sampled < size / 5);
    // The same object by URL.
    let url = format!(
        "file://{}/videos/long.mp4",
        dir.canonicalize().unwrap().display()
    );
    let v = StoreVideo::open_url(&url).await.unwrap();
    assert_eq!(v.len(), size);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_or_replaced_video_is_a_clear_error() {
    let sink = ObjectStoreSink::from_url("memory:///ds").unwrap();
    let e = sink.open_video("videos/none.mp4").await.unwrap_err();
    assert!(matches!(e, Error::NotFound { .. }), "{e:?}");
    assert!(e.to_string().contains("videos/none.mp4"), "{e}");
    assert!(matches!(
        sink.open_video("../escape.mp4").await,
        Err(Error::InvalidPath { .. })
    ));
    let path = object_store::path::Path::from("ds/videos/v.mp4");
    let data: Vec<u8> = (0..2_000_000u32).map(|i| (i % 253) as u8).collect();
    sink.store()
        .put(&path, PutPayload::from(data.clone()))
        .await
        .unwrap();
    let v = sink.open_video("videos/v.mp4").await.unwrap();
    let s = tokio::task::spawn_blocking(move || {
        let first = v.read_at(1000, 10).unwrap();
        (v, first)
    })
    .await
    .unwrap();
    assert_eq!(&s.1[..], &data[1000..1010]);
    let v = s.0;
    // Replaced while open: a read of a block not cached must not mix the two files.
    sink.store()
        .put(&path, PutPayload::from(vec![7u8; 2_000_000]))
        .await
        .unwrap();
    let e = tokio::task::spawn_blocking(move || v.read_at(1_500_000, 10))
        .await
        .unwrap()
        .unwrap_err();
    assert!(e.to_string().contains("videos/v.mp4"), "{e}");
}

#[cfg(feature = "aws")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn video_in_s3_is_sampled_by_ranges() {
    let Some(url) = video_testkit::s3_test_url("video_in_s3_is_sampled_by_ranges") else {
        return;
    };
    let sink = ObjectStoreSink::from_url(&url).unwrap();
    let (size, _, sampled) = remote_equals_local(&sink, "s3").await;
    assert!(sampled < size / 5);
}
