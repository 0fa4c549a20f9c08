//! `extract_frames_into`: the one-call job into a sink of the caller's own (here the in-memory
//! `MemorySink` of video-core): frames stored, the manifest with the source's size and sha256
//! and the resize, nothing made again on a re-run, frames made again when the resize changes,
//! and the job spawned on a task of its own.

#![allow(clippy::unwrap_used)]

#[path = "../examples/common/mod.rs"]
mod example_common;

use std::sync::Arc;

use sha2::{Digest, Sha256};
use video_dataset::core::testing::MemorySink;
use video_dataset::{
    ExtractOptions, ImageFormat, Resize, SamplingPlan, VideoRef, extract_frames_into,
};

fn options(max_side: u32) -> ExtractOptions {
    ExtractOptions::default()
        .folder_path("train")
        .plan(SamplingPlan::fps(2.0).seconds(Some(1.0), Some(3.0)))
        .format(ImageFormat::Png)
        .resize(Some(Resize::FitWithin { max_side }))
        .hash_source(true)
}

#[tokio::test]
async fn a_custom_sink_gets_the_whole_job() {
    let clip = example_common::sample_clip().unwrap();
    let sink = MemorySink::new();
    let video = VideoRef {
        folder: "train".into(),
        name: clip.file_stem().unwrap().to_string_lossy().into_owned(),
    };

    let first = extract_frames_into(&clip, &sink, options(64))
        .await
        .unwrap();
    assert_eq!(first.frames_planned, 4);
    assert_eq!(first.frames_written, 4);
    assert_eq!(first.frames_existing, 0);
    assert_eq!(sink.len(), 4);
    for i in [30, 45, 60, 75] {
        let f = sink.frame(&video, i).unwrap();
        // The 640x360 clip fit within 64: 64x36, a real PNG of that size.
        assert_eq!((f.width, f.height), (64, 36), "frame {i}");
        assert_eq!(&f.bytes[..8], b"\x89PNG\r\n\x1a\n", "frame {i}");
        assert_eq!(u32::from_be_bytes(f.bytes[16..20].try_into().unwrap()), 64);
        assert_eq!(u32::from_be_bytes(f.bytes[20..24].try_into().unwrap()), 36);
    }
    let manifest = sink.manifest(&video).unwrap();
    let bytes = std::fs::read(&clip).unwrap();
    assert_eq!(manifest.source.size, Some(bytes.len() as u64));
    assert_eq!(
        manifest.source.content_hash,
        Some(format!("sha256:{:x}", Sha256::digest(&bytes)))
    );
    assert_eq!(manifest.sampling.resize.as_deref(), Some("max-side:64"));
    assert_eq!(manifest.sampling.format, Some(ImageFormat::Png));
    assert_eq!(manifest.sampling.frames_planned, 4);
    let indices: Vec<u64> = manifest.frames.iter().map(|r| r.index).collect();
    assert_eq!(indices, [30, 45, 60, 75]);
    // Without an annotation nothing but frames and the manifest is written.
    assert!(sink.file_keys().is_empty(), "{:?}", sink.file_keys());

    // A re-run decodes nothing: every frame is found in the sink.
    let again = extract_frames_into(&clip, &sink, options(64))
        .await
        .unwrap();
    assert_eq!(again.frames_written, 0);
    assert_eq!(again.frames_existing, 4);
    assert_eq!(again.frames_redone, 0);
    assert_eq!(sink.len(), 4);

    // Another resize: the stored frames are made again at the new size.
    let resized = extract_frames_into(&clip, &sink, options(32))
        .await
        .unwrap();
    assert_eq!(resized.frames_written, 4);
    assert_eq!(resized.frames_redone, 4);
    assert_eq!(resized.frames_existing, 0);
    assert_eq!(sink.len(), 4);
    let f = sink.frame(&video, 30).unwrap();
    assert_eq!((f.width, f.height), (32, 18));
    let manifest = sink.manifest(&video).unwrap();
    assert_eq!(manifest.sampling.resize.as_deref(), Some("max-side:32"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_job_into_a_shared_custom_sink_can_be_spawned() {
    let clip = example_common::sample_clip().unwrap();
    let sink = Arc::new(MemorySink::new());
    let task_sink = sink.clone();
    let handle =
        tokio::spawn(
            async move { extract_frames_into(clip, task_sink.as_ref(), options(64)).await },
        );
    let report = handle.await.unwrap().unwrap();
    assert_eq!(report.frames_written, 4);
    assert_eq!(sink.len(), 4);
}
