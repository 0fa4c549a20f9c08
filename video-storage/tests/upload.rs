//! upload_video on memory, local disk and (with the test command's server) S3.

#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use futures::TryStreamExt;
use object_store::ObjectStore;
use video_core::Error;
use video_gst::GstDemuxer;
use video_storage::{ObjectStoreSink, UploadOptions, upload_video};
use video_testkit::fixtures::{X264_ARGS, lavfi_clip};

/// A 4-second 320x240 H.264 clip with B-frames, made once per test run with the ffmpeg CLI.
fn generated_video() -> &'static Path {
    static CLIP: OnceLock<PathBuf> = OnceLock::new();
    CLIP.get_or_init(|| {
        let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
            .join(format!("upload-src-{}", std::process::id()));
        lavfi_clip(
            &dir,
            "clip.mp4",
            "testsrc2=size=320x240:rate=25:duration=4",
            &[X264_ARGS, &["-g", "25", "-bf", "2"]].concat(),
        )
    })
}

/// A corpus video, as extra coverage (skipped loudly without the corpus).
fn corpus_video() -> Option<PathBuf> {
    Some(video_testkit::corpus_dir()?.join("torchcodec/nasa_13013.mp4"))
}

/// The file's SHA-256 as `sha256sum` (coreutils) prints it: independent of the library's hashing.
fn sha256sum(path: &Path) -> String {
    let out = Command::new("sha256sum")
        .arg(path)
        .output()
        .expect("sha256sum (coreutils)");
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    let hex = text.split_whitespace().next().unwrap().to_owned();
    assert_eq!(hex.len(), 64, "{text}");
    hex
}

/// ffprobe's (width, height, number of packets) of the `index`-th video stream.
fn ffprobe_video(path: &Path, index: usize) -> (u32, u32, u64) {
    let out = Command::new("ffprobe")
        .args(["-v", "error", "-count_packets", "-select_streams"])
        .arg(format!("v:{index}"))
        .args(["-show_entries", "stream=width,height,nb_read_packets"])
        .args(["-of", "csv=p=0"])
        .arg(path)
        .output()
        .expect("ffprobe (installed by scripts/setup.sh --test)");
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    let v: Vec<u64> = text.trim().split(',').map(|x| x.parse().unwrap()).collect();
    (v[0] as u32, v[1] as u32, v[2])
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

/// Upload `video` into `sink` under `raw/v` and check the result by value against what is
/// computed here from the file: the key, the size, the SHA-256 (by `sha256sum`), the stored
/// object's bytes, the probe's size and frame count (by ffprobe), the progress reports.
async fn round_trip(sink: &ObjectStoreSink, video: &Path) {
    let bytes = std::fs::read(video).unwrap();
    let size = std::fs::metadata(video).unwrap().len();
    let hash = sha256sum(video);
    let name = video.file_name().unwrap().to_str().unwrap();
    let mut seen = Vec::new();
    let mut progress = |n: u64| seen.push(n);
    let up = upload_video(
        sink,
        video,
        "raw/v",
        |p| GstDemuxer::open(p),
        UploadOptions::default().progress(&mut progress),
    )
    .await
    .unwrap();
    assert_eq!(up.key, format!("raw/v/{name}"));
    assert_eq!(up.size, size);
    assert_eq!(up.content_hash, format!("sha256:{hash}"));
    let (width, height, packets) = ffprobe_video(video, up.metadata.video_stream);
    assert_eq!((up.metadata.width, up.metadata.height), (width, height));
    // Every packet of these files is a frame ffmpeg decodes.
    assert_eq!(up.metadata.frame_count, packets);
    let stored = sink.read(&up.key).await.unwrap();
    assert_eq!(stored.len() as u64, size);
    assert!(stored == bytes, "the stored object differs from the file");
    assert_eq!(
        stored_keys(sink).await.len(),
        1,
        "{:?}",
        stored_keys(sink).await
    );
    assert!(!seen.is_empty(), "no progress reported");
    assert!(seen.windows(2).all(|w| w[0] <= w[1]), "{seen:?}");
    assert_eq!(seen.last().copied(), Some(size));
}

async fn round_trips(sink_for: impl Fn(&str) -> ObjectStoreSink) {
    round_trip(&sink_for("generated"), generated_video()).await;
    if let Some(video) = corpus_video() {
        round_trip(&sink_for("corpus"), &video).await;
    }
}

#[tokio::test]
async fn uploads_to_memory_and_disk() {
    round_trips(|label| ObjectStoreSink::from_url(&format!("memory:///up/{label}")).unwrap()).await;
    let dir =
        PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("upload-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    round_trips(|label| {
        let d = dir.join(label);
        std::fs::create_dir_all(&d).unwrap();
        ObjectStoreSink::from_url(d.to_str().unwrap()).unwrap()
    })
    .await;
    let _ = std::fs::remove_dir_all(&dir);
}

#[cfg(feature = "aws")]
#[tokio::test]
async fn uploads_to_s3() {
    let Some(url) = video_testkit::s3_test_url("uploads_to_s3") else {
        return;
    };
    round_trips(|label| ObjectStoreSink::from_url(&format!("{url}/{label}")).unwrap()).await;
}

#[tokio::test]
async fn too_large_and_not_a_video_leave_nothing() {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("upload-bad-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let text = dir.join("notes.mp4");
    std::fs::write(&text, "not a video, just text\n".repeat(100)).unwrap();
    let sink = ObjectStoreSink::from_url("memory:///bad").unwrap();

    let e = upload_video(
        &sink,
        &text,
        "raw",
        |p| GstDemuxer::open(p),
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
    let e = upload_video(
        &sink,
        &text,
        "raw",
        |p| GstDemuxer::open(p),
        UploadOptions::default(),
    )
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
        |p| GstDemuxer::open(p),
        UploadOptions::default(),
    )
    .await
    .unwrap_err();
    assert!(matches!(e, Error::NotFound { .. }), "{e}");
    // An expected hash that is not one fails before anything is read or written.
    for bad in ["sha256:abc", "md5:0123", &"0".repeat(64)] {
        let e = upload_video(
            &sink,
            generated_video(),
            "raw",
            |p| GstDemuxer::open(p),
            UploadOptions::default().expect_sha256(Some(bad.to_owned())),
        )
        .await
        .unwrap_err();
        assert!(
            matches!(e, Error::InvalidOption { ref option, .. } if option == "expect_sha256"),
            "{bad}: {e}"
        );
    }
    assert!(stored_keys(&sink).await.is_empty());
}
