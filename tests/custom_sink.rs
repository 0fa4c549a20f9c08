//! `extract_frames_into`: the one-call job into a sink of the caller's own (here the in-memory
//! `MemorySink` of video-core): frames stored, the manifest with the source's size and sha256
//! and the resize, nothing made again on a re-run, frames made again when the resize changes,
//! the job spawned on a task of its own, and a video's annotation written frame by frame
//! through `DatasetSink::write_annotation` (without the store-only `meta.json` and COCO file).

#![allow(clippy::unwrap_used)]

mod common;

#[path = "../examples/common/mod.rs"]
mod example_common;

use std::path::Path;
use std::sync::Arc;

use sha2::{Digest, Sha256};
use video_dataset::annotation::{GeometryTransform, ImageSize, supervisely};
use video_dataset::core::testing::MemorySink;
use video_dataset::{
    AnnotationInput, ExtractOptions, ImageFormat, Resize, SamplingPlan, VideoRef,
    extract_frames_into,
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

#[tokio::test]
async fn a_custom_sink_gets_each_frames_annotation() {
    // The fixture annotation of the annotation tests: 60 frames of 1280x720, figures on frames
    // 10-16, 20, 21 and 30.
    let fixtures =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("video-annotation/tests/data/supervisely");
    let input = AnnotationInput::read_supervisely(
        &fixtures.join("street/ann/street.mp4.json"),
        Some(&fixtures.join("meta.json")),
    )
    .unwrap();
    let dir = common::scratch("custom-sink-annotations");
    let video = video_testkit::fixtures::street_clip(&dir);

    let sink = MemorySink::new();
    let options = ExtractOptions::default()
        .plan(SamplingPlan::all())
        .format(ImageFormat::Png)
        .annotation(Some(input.clone()))
        .only_annotated(true);
    let report = extract_frames_into(&video, &sink, options).await.unwrap();
    let annotated = [10, 11, 12, 13, 14, 15, 16, 20, 21, 30];
    let indices: Vec<u64> = report.frames.iter().map(|r| r.index).collect();
    assert_eq!(indices, annotated);
    assert_eq!(report.frames_written, 10);
    assert_eq!(report.annotations_written, 10);
    // Only the frames' annotations: no `meta.json`, no COCO file, no `img/` folder.
    let keys: Vec<String> = annotated
        .iter()
        .map(|i| format!("street_{i:06}.png.json"))
        .collect();
    assert_eq!(sink.file_keys(), keys);
    // Each is what the conversion rules give for the frame, and the manifest lists it.
    let manifest = sink
        .manifest(&VideoRef {
            folder: String::new(),
            name: "street".into(),
        })
        .unwrap();
    assert_eq!(manifest.frames, report.frames);
    let ann = &input.annotation;
    let meta = ann.meta.for_images().unwrap();
    let identity = GeometryTransform::identity(ImageSize::new(1280, 720));
    let mut labels = 0;
    for r in &manifest.frames {
        let key = r.annotation_key.as_deref().unwrap();
        let text = String::from_utf8(sink.file(key).unwrap()).unwrap();
        let got = supervisely::parse_image_annotation(key, &text, Some(&meta)).unwrap();
        let want = ann.frame_annotation(r.index, &identity).unwrap();
        let want = supervisely::image_annotation_to_value(&want)
            .unwrap()
            .to_string();
        let want = supervisely::parse_image_annotation("expected", &want, Some(&meta)).unwrap();
        assert_eq!(got, want, "{key}");
        labels += got.labels.len();
    }
    assert!(labels > 0, "no label in any frame's annotation");
}
