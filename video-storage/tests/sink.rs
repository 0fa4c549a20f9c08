//! ObjectStoreSink against the DatasetSink contract, on memory and on local disk.

#![allow(clippy::unwrap_used)]

use video_core::{
    DatasetSink, EncodedFrame, Error, FrameInfo, ImageFormat, Timestamp, VideoMetadata, VideoRef,
    conformance,
};
use video_storage::ObjectStoreSink;

fn tmp(name: &str) -> std::path::PathBuf {
    let d = std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("sink-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    d
}

fn frame(index: u64) -> EncodedFrame {
    EncodedFrame {
        info: FrameInfo {
            index,
            pts: Timestamp::from_nanos(index as i64 * 40_000_000),
            duration: None,
            keyframe: false,
            decode_order: index,
        },
        width: 4,
        height: 2,
        format: ImageFormat::Jpeg,
        bytes: vec![index as u8; 100],
    }
}

#[tokio::test]
async fn memory_sink_passes_conformance() {
    conformance::dataset_sink_contract(&ObjectStoreSink::from_url("memory:///datasets").unwrap())
        .await;
}

#[tokio::test]
async fn local_sink_passes_conformance_and_lays_out_files() {
    let dir = tmp("local");
    let sink = ObjectStoreSink::from_url(dir.to_str().unwrap()).unwrap();
    conformance::dataset_sink_contract(&sink).await;
    let video = VideoRef {
        folder: "train/cam1".into(),
        name: "clip".into(),
    };
    let rec = sink.write_frame(&video, &frame(42)).await.unwrap();
    assert_eq!(rec.key, "train/cam1/clip_000042.jpg");
    let on_disk = std::fs::read(dir.join("train/cam1/clip_000042.jpg")).unwrap();
    assert_eq!(on_disk, vec![42u8; 100]);
    assert_eq!(
        rec.content_hash.as_deref().map(|h| h.len()),
        Some("sha256:".len() + 64)
    );
    assert!(
        sink.manifest(&video).await.unwrap().is_none(),
        "manifest before finish"
    );
    sink.finish_video(
        &video,
        &VideoMetadata::new("clip.mp4"),
        std::slice::from_ref(&rec),
    )
    .await
    .unwrap();
    let m = sink.manifest(&video).await.unwrap().unwrap();
    assert_eq!(m["frames"][0]["key"], "train/cam1/clip_000042.jpg");
    assert_eq!(m["video"]["source"], "clip.mp4");
    assert!(dir.join("train/cam1/clip.scene.json").is_file());
    // A file URL reaches the same dataset.
    let again = ObjectStoreSink::from_url(&format!(
        "file://{}",
        std::fs::canonicalize(&dir).unwrap().display()
    ))
    .unwrap();
    assert_eq!(again.existing(&video, &[41, 42]).await.unwrap(), vec![rec]);
}

#[tokio::test]
async fn an_image_without_its_record_is_not_stored() {
    let dir = tmp("partial");
    let sink = ObjectStoreSink::from_url(dir.to_str().unwrap()).unwrap();
    let video = VideoRef {
        folder: String::new(),
        name: "clip".into(),
    };
    sink.write_frame(&video, &frame(1)).await.unwrap();
    sink.write_frame(&video, &frame(2)).await.unwrap();
    // As if the process died between the image and its record.
    std::fs::remove_file(dir.join(".video-dataset/clip/000002.json")).unwrap();
    let have: Vec<u64> = sink
        .existing(&video, &[1, 2, 3])
        .await
        .unwrap()
        .iter()
        .map(|r| r.index)
        .collect();
    assert_eq!(have, vec![1]);
}

#[tokio::test]
async fn paths_cannot_leave_the_dataset() {
    let sink = ObjectStoreSink::from_url("memory:///").unwrap();
    for (folder, name) in [
        ("..", "clip"),
        ("a/../b", "clip"),
        ("/abs", "clip"),
        ("a//b", "clip"),
        ("a/", "clip"),
        ("ok", ""),
        ("ok", "x/y"),
        ("ok", ".."),
        ("a\\b", "clip"),
    ] {
        let video = VideoRef {
            folder: folder.into(),
            name: name.into(),
        };
        let e = sink.write_frame(&video, &frame(0)).await.unwrap_err();
        assert!(
            matches!(e, Error::InvalidPath { .. }),
            "{folder:?}/{name:?}: {e}"
        );
        assert!(matches!(
            sink.existing(&video, &[0]).await,
            Err(Error::InvalidPath { .. })
        ));
    }
}
