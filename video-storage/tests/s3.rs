//! ObjectStoreSink on a real S3-compatible server. `scripts/test.sh` starts moto's S3 server on
//! 127.0.0.1 and sets `VIDEO_TEST_INTEGRATION`, `VIDEO_TEST_S3_URL` and the `AWS_*` variables;
//! without them these tests say SKIPPED.
#![cfg(feature = "aws")]
#![allow(clippy::unwrap_used)]

use video_core::{
    DatasetSink, EncodedFrame, FrameInfo, ImageFormat, Timestamp, VideoManifest, VideoMetadata,
    VideoRef, conformance,
};
use video_storage::{ObjectStoreSink, StoreOptions};

mod common;

/// The sink under a fresh prefix of the test bucket, or `None` (loudly) without a server.
fn sink(test: &str) -> Option<ObjectStoreSink> {
    let url = video_testkit::s3_test_url(test)?;
    Some(ObjectStoreSink::from_url(&url).unwrap())
}

#[tokio::test]
async fn s3_sink_passes_conformance() {
    let Some(sink) = sink("conformance") else {
        return;
    };
    conformance::dataset_sink_contract(&sink).await;
    conformance::dataset_sink_stores_annotations(&sink).await;
    conformance::dataset_sink_stores_dataset_files(&sink).await;
}

#[tokio::test]
async fn s3_sink_stores_frames_records_and_manifest() {
    let Some(sink) = sink("layout") else { return };
    let video = VideoRef {
        folder: "train/cam1".into(),
        name: "clip".into(),
    };
    let mut recs = Vec::new();
    for i in [0u64, 30, 60] {
        let f = EncodedFrame {
            info: FrameInfo {
                index: i,
                pts: Timestamp::from_nanos(i as i64 * 33_366_667),
                duration: None,
                keyframe: false,
                decode_order: i,
            },
            width: 8,
            height: 6,
            format: ImageFormat::Png,
            bytes: vec![i as u8; 1000 + i as usize],
            framemd5: None,
        };
        recs.push(sink.write_frame(&video, &f).await.unwrap());
    }
    assert_eq!(
        sink.read("train/cam1/clip_000030.png").await.unwrap(),
        vec![30u8; 1030]
    );
    assert_eq!(sink.existing(&video, &[0, 30, 60, 90]).await.unwrap(), recs);
    assert!(sink.manifest(&video).await.unwrap().is_none());
    let mut info = serde_json::Map::new();
    info.insert("dataset_name".into(), "s3".into());
    let manifest = VideoManifest::new(VideoMetadata::new("clip.mp4"))
        .sample_info(info)
        .frames(recs.clone());
    sink.finish_video(&video, &manifest).await.unwrap();
    assert_eq!(sink.video_manifest(&video).await.unwrap(), Some(manifest));
    let m = sink.manifest(&video).await.unwrap().unwrap();
    assert_eq!(m["sample_info"]["dataset_name"], "s3");
    assert_eq!(m["frames"].as_array().unwrap().len(), 3);
    assert_eq!(m["frames"][2]["key"], "train/cam1/clip_000060.png");
}

#[tokio::test]
async fn s3_scenes_append_and_update() {
    let Some(sink) = sink("scenes") else { return };
    common::scenes_append_and_update(&sink).await;
}

/// Store options given to the sink's builder reach the store's builder (no server needed: a bad value
/// fails when the store is built) and the error names the URL.
#[test]
fn url_options_reach_the_store() {
    let e = ObjectStoreSink::builder("s3://some-bucket/p")
        .with_store_options(StoreOptions::default().configs([("timeout", "not a duration")]))
        .build()
        .unwrap_err();
    assert!(
        matches!(&e, video_core::Error::Backend { uri: Some(u), .. } if u == "s3://some-bucket/p"),
        "{e}"
    );
    ObjectStoreSink::builder("s3://some-bucket/p")
        .with_store_options(
            StoreOptions::default().configs([("timeout", "30s"), ("aws_region", "eu-west-1")]),
        )
        .build()
        .unwrap();
}

/// A write the server refuses (a bucket that does not exist) fails with an error naming the
/// object's key, and leaves the sink usable.
#[tokio::test]
async fn a_refused_write_names_its_key() {
    let Some(url) = video_testkit::s3_test_url("refused") else {
        return;
    };
    let rest = url.strip_prefix("s3://").unwrap();
    let (_, path) = rest.split_once('/').unwrap();
    let missing = ObjectStoreSink::from_url(&format!(
        "s3://no-such-bucket-{}/{path}",
        std::process::id()
    ))
    .unwrap();
    let video = VideoRef {
        folder: "train".into(),
        name: "clip".into(),
    };
    let frame = EncodedFrame {
        info: FrameInfo {
            index: 7,
            pts: Timestamp::from_nanos(0),
            duration: None,
            keyframe: true,
            decode_order: 7,
        },
        width: 2,
        height: 2,
        format: ImageFormat::Jpeg,
        bytes: vec![1, 2, 3],
        framemd5: None,
    };
    let e = missing.write_frame(&video, &frame).await.unwrap_err();
    let msg = e.to_string();
    assert!(msg.contains("train/clip_000007.jpg"), "{msg}");
    // The same sink type on the real bucket still works.
    let ok = ObjectStoreSink::from_url(&url).unwrap();
    ok.write_frame(&video, &frame).await.unwrap();
}
