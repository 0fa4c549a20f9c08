//! `extract_frames` on a video that lives in a store (read by byte ranges): the same images as
//! from the local file, the source recorded in the manifest, and the bytes read reported. On
//! memory and local disk always, on S3 with the test command's server.

#![allow(clippy::unwrap_used)]

mod common;

#[path = "../examples/common/mod.rs"]
mod example_common;

use std::io::Write as _;
use std::sync::Arc;

use sha2::{Digest, Sha256};
use video_dataset::core::{ImageFormat, VideoRef};
use video_dataset::storage::{ObjectStoreSink, UploadOptions, upload_video};
use video_dataset::{ExtractOptions, GstDemuxer, VideoInput, extract_frames};

fn options() -> ExtractOptions {
    ExtractOptions::default()
        .fps(1.0)
        .format(ImageFormat::Png)
        .hash_source(true)
}

/// Upload the sample clip into `videos` (a store), extract it from there and from the local
/// file into two datasets, and compare.
async fn stored_video_gives_the_local_frames(videos: &ObjectStoreSink, label: &str) -> String {
    let clip = example_common::sample_clip().unwrap();
    let up = upload_video(
        videos,
        &clip,
        "in",
        |p| GstDemuxer::open(p),
        UploadOptions::default(),
    )
    .await
    .unwrap();
    let remote = Arc::new(videos.open_video(&up.key).await.unwrap());
    let local_out = common::scratch(&format!("remote-local-{label}"));
    let remote_out = common::scratch(&format!("remote-store-{label}"));
    let a = extract_frames(&clip, local_out.to_str().unwrap(), options())
        .await
        .unwrap();
    let b = extract_frames(
        VideoInput::from(remote.clone()),
        remote_out.to_str().unwrap(),
        options(),
    )
    .await
    .unwrap();
    assert_eq!(a.frames_written, 10);
    assert_eq!(b.frames_written, 10);
    assert_eq!(a.source_bytes_read, None);
    let read = b.source_bytes_read.unwrap();
    assert_eq!(read, remote.bytes_fetched());
    let _ = writeln!(
        std::io::stderr(),
        "{label}: 10 frames of a {} byte video read {read} bytes of it",
        up.size
    );
    for (x, y) in a.frames.iter().zip(&b.frames) {
        assert_eq!(x.index, y.index);
        assert_eq!(
            x.content_hash, y.content_hash,
            "{label}: frame {} differs",
            x.index
        );
    }
    let sink = ObjectStoreSink::from_url(remote_out.to_str().unwrap()).unwrap();
    let video = VideoRef {
        folder: String::new(),
        name: clip.file_stem().unwrap().to_string_lossy().into_owned(),
    };
    let m = sink.video_manifest(&video).await.unwrap().unwrap();
    assert!(
        m.source.location.ends_with(&up.key),
        "{}",
        m.source.location
    );
    assert_eq!(m.source.size, Some(up.size));
    let bytes = std::fs::read(&clip).unwrap();
    assert_eq!(
        m.source.content_hash,
        Some(format!("sha256:{:x}", Sha256::digest(&bytes)))
    );
    assert_eq!(m.frames.len(), 10);
    // A re-run reads nothing but the manifest check: every frame is there.
    let again = extract_frames(
        VideoInput::from(remote.clone()),
        remote_out.to_str().unwrap(),
        options().hash_source(false),
    )
    .await
    .unwrap();
    assert_eq!((again.frames_written, again.frames_existing), (0, 10));
    assert_eq!(again.decode.frames_decoded, 0);
    up.key
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn video_in_memory_store() {
    let videos = ObjectStoreSink::from_url("memory:///videos").unwrap();
    stored_video_gives_the_local_frames(&videos, "memory").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn video_by_file_url() {
    let dir = common::scratch("remote-url");
    let videos = ObjectStoreSink::from_url(dir.to_str().unwrap()).unwrap();
    let key = stored_video_gives_the_local_frames(&videos, "disk").await;
    let url = format!("file://{}/{key}", dir.canonicalize().unwrap().display());
    let out = common::scratch("remote-url-out");
    let r = extract_frames(url.as_str(), out.to_str().unwrap(), options())
        .await
        .unwrap();
    assert_eq!(r.frames_written, 10);
    assert!(r.source_bytes_read.is_some());
    let stem = key.rsplit('/').next().unwrap().trim_end_matches(".mp4");
    assert!(out.join(format!("{stem}_000000.png")).is_file());
}

#[cfg(feature = "aws")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn video_in_s3() {
    let Some(url) = video_testkit::s3_test_url("video_in_s3") else {
        return;
    };
    let videos = ObjectStoreSink::from_url(&url).unwrap();
    stored_video_gives_the_local_frames(&videos, "s3").await;
}
