//! upload_video on memory, local disk and (with the test command's server) S3.

#![allow(clippy::unwrap_used)]

use std::io::Write as _;
use std::path::{Path, PathBuf};

use futures::TryStreamExt;
use object_store::ObjectStore;
use sha2::{Digest, Sha256};
use video_core::Error;
use video_gst::GstDemuxer;
use video_storage::{ObjectStoreSink, UploadOptions, upload_video};

fn corpus_video() -> Option<PathBuf> {
    let p =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/corpus/torchcodec/nasa_13013.mp4");
    if p.is_file() {
        return Some(p);
    }
    let _ = writeln!(
        std::io::stderr(),
        "\n*** SKIPPED: corpus video not found at {} ***\n",
        p.display()
    );
    None
}

async fn stored_keys(sink: &ObjectStoreSink) -> Vec<String> {
    let listed: Vec<object_store::ObjectMeta> = sink
        .store()
        .list(Some(sink.prefix()))
        .try_collect()
        .await
        .unwrap();
    listed.into_iter().map(|m| m.location.to_string()).collect()
}

async fn round_trip(sink: &ObjectStoreSink) {
    let Some(video) = corpus_video() else { return };
    let bytes = std::fs::read(&video).unwrap();
    let mut seen = Vec::new();
    let mut progress = |n: u64| seen.push(n);
    let mut demuxer = GstDemuxer::open(&video).unwrap();
    let up = upload_video(
        sink,
        &video,
        "raw/nasa",
        &mut demuxer,
        UploadOptions::default().progress(&mut progress),
    )
    .await
    .unwrap();
    assert_eq!(up.key, "raw/nasa/nasa_13013.mp4");
    assert_eq!(up.size, bytes.len() as u64);
    assert_eq!(
        up.content_hash,
        format!("sha256:{:x}", Sha256::digest(&bytes))
    );
    assert_eq!((up.metadata.frame_count, up.metadata.width), (390, 480));
    assert_eq!(sink.read(&up.key).await.unwrap(), bytes);
    assert_eq!(seen.last().copied(), Some(bytes.len() as u64));
}

#[tokio::test]
async fn uploads_to_memory_and_disk() {
    round_trip(&ObjectStoreSink::from_url("memory:///up").unwrap()).await;
    let dir =
        PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("upload-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    round_trip(&ObjectStoreSink::from_url(dir.to_str().unwrap()).unwrap()).await;
}

#[cfg(feature = "aws")]
#[tokio::test]
async fn uploads_to_s3() {
    let Some(url) = video_core::testing::s3_test_url("uploads_to_s3") else {
        return;
    };
    round_trip(&ObjectStoreSink::from_url(&url).unwrap()).await;
}

#[tokio::test]
async fn too_large_and_not_a_video_leave_nothing() {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("upload-bad-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let text = dir.join("notes.mp4");
    std::fs::write(&text, "not a video, just text\n".repeat(100)).unwrap();
    let sink = ObjectStoreSink::from_url("memory:///bad").unwrap();

    let mut demuxer = GstDemuxer::open(&text).unwrap();
    let e = upload_video(
        &sink,
        &text,
        "raw",
        &mut demuxer,
        UploadOptions::default().max_bytes(100),
    )
    .await
    .unwrap_err();
    assert!(
        matches!(
            e,
            Error::TooLarge {
                ref uri,
                size: 2300,
                limit: 100,
            } if uri == &text.display().to_string()
        ),
        "{e}"
    );
    assert!(e.to_string().contains("notes.mp4"), "{e}");
    let e = upload_video(&sink, &text, "raw", &mut demuxer, UploadOptions::default())
        .await
        .unwrap_err();
    assert!(matches!(e, Error::NotAVideo { .. }), "{e}");
    assert!(
        stored_keys(&sink).await.is_empty(),
        "a failed upload left objects behind"
    );
    let e = upload_video(
        &sink,
        &dir.join("missing.mp4"),
        "raw",
        &mut demuxer,
        UploadOptions::default(),
    )
    .await
    .unwrap_err();
    assert!(matches!(e, Error::NotFound { .. }), "{e}");
}
