//! `extract_frames` writes a manifest with the video-level fields: source path, size and sha256,
//! probe metadata, sampling settings and the caller's `sample_info`.

#![allow(clippy::unwrap_used)]

mod common;

#[path = "../examples/common/mod.rs"]
mod example_common;

use sha2::{Digest, Sha256};
use video_dataset::core::{ImageFormat, Selection, VideoRef};
use video_dataset::storage::ObjectStoreSink;
use video_dataset::{ExtractOptions, Resize, extract_frames};

#[tokio::test]
async fn extract_frames_records_the_video_in_its_manifest() {
    let clip = example_common::sample_clip().unwrap();
    let out = common::scratch("manifest");
    let mut info = serde_json::Map::new();
    info.insert("dataset_name".into(), "cams".into());
    info.insert("video_name".into(), "clip 7".into());
    let options = ExtractOptions::default()
        .folder_path("train")
        .fps(2.0, Some(1.0), Some(3.0), None)
        .format(ImageFormat::Png)
        .resize(Some(Resize::FitWithin { max_side: 64 }))
        .sample_info(info.clone())
        .hash_source(true);
    let report = extract_frames(&clip, out.to_str().unwrap(), options)
        .await
        .unwrap();
    assert_eq!(report.frames_written, 4);

    let sink = ObjectStoreSink::from_url(out.to_str().unwrap()).unwrap();
    let video = VideoRef {
        folder: "train".into(),
        name: clip.file_stem().unwrap().to_string_lossy().into_owned(),
    };
    let m = sink.video_manifest(&video).await.unwrap().unwrap();
    let bytes = std::fs::read(&clip).unwrap();
    assert_eq!(m.source.location, clip.display().to_string());
    assert_eq!(m.source.size, Some(bytes.len() as u64));
    assert_eq!(
        m.source.content_hash,
        Some(format!("sha256:{:x}", Sha256::digest(&bytes)))
    );
    assert_eq!(m.metadata.frame_count, 300);
    assert_eq!((m.metadata.width, m.metadata.height), (640, 360));
    assert_eq!(
        m.sampling.selection,
        Selection::Fps {
            fps: 2.0,
            start_seconds: Some(1.0),
            end_seconds: Some(3.0)
        }
    );
    assert_eq!(m.sampling.frames_planned, 4);
    assert_eq!(m.sampling.format, Some(ImageFormat::Png));
    assert_eq!(m.sampling.quality, None, "quality is for JPEG only");
    assert_eq!(m.sampling.resize.as_deref(), Some("max-side:64"));
    assert_eq!(m.sample_info, info);
    let idx: Vec<u64> = m.frames.iter().map(|r| r.index).collect();
    assert_eq!(idx, [30, 45, 60, 75]);
    assert!(m.frames.iter().all(|r| r.width == 64 && r.height == 36));

    // Without hash_source the hash is left out, the size is still there.
    let report = extract_frames(
        &clip,
        out.to_str().unwrap(),
        ExtractOptions::default()
            .folder_path("train")
            .fps(2.0, Some(1.0), Some(3.0), None)
            .format(ImageFormat::Png)
            .resize(Some(Resize::FitWithin { max_side: 64 })),
    )
    .await
    .unwrap();
    assert_eq!((report.frames_written, report.frames_existing), (0, 4));
    let m = sink.video_manifest(&video).await.unwrap().unwrap();
    assert_eq!(m.source.content_hash, None);
    assert_eq!(m.source.size, Some(bytes.len() as u64));
    assert!(m.sample_info.is_empty());
}
