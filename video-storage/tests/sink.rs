//! ObjectStoreSink against the DatasetSink contract, on memory and on local disk.

#![allow(clippy::unwrap_used)]

use video_storage::object_store::ObjectStoreExt as _;

use video_core::{
    DatasetSink, EncodedFrame, Error, ImageFormat, SamplingPlan, SamplingSettings, VideoManifest,
    VideoMetadata, VideoRef, VideoSource, conformance,
};
use video_storage::{FrameName, ObjectStoreSink};

fn tmp(name: &str) -> std::path::PathBuf {
    let d = std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("sink-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    d
}

fn frame(index: u64) -> EncodedFrame {
    video_testkit::fixtures::encoded_frame(index, (4, 2), ImageFormat::Jpeg, 100)
}

/// The `sha256:<hex>` content hash of `bytes`, computed here independently of the sink.
fn sha256_of(bytes: &[u8]) -> String {
    use sha2::Digest as _;
    format!("sha256:{:x}", sha2::Sha256::digest(bytes))
}

#[tokio::test]
async fn memory_sink_passes_conformance() {
    let sink = ObjectStoreSink::from_url("memory:///datasets").unwrap();
    conformance::dataset_sink_contract(&sink).await;
    conformance::dataset_sink_stores_annotations(&sink).await;
    conformance::dataset_sink_stores_dataset_files(&sink).await;
}

#[tokio::test]
async fn local_sink_passes_conformance_and_lays_out_files() {
    let dir = tmp("local");
    let sink = ObjectStoreSink::from_url(dir.to_str().unwrap()).unwrap();
    conformance::dataset_sink_contract(&sink).await;
    conformance::dataset_sink_stores_annotations(&sink).await;
    conformance::dataset_sink_stores_dataset_files(&sink).await;
    let video = VideoRef {
        folder: "train/cam1".into(),
        name: "clip".into(),
    };
    let rec = sink.write_frame(&video, &frame(42)).await.unwrap();
    assert_eq!(rec.key, "train/cam1/clip_000042.jpg");
    let on_disk = std::fs::read(dir.join("train/cam1/clip_000042.jpg")).unwrap();
    assert_eq!(on_disk, vec![42u8; 100]);
    assert_eq!(rec.content_hash, Some(sha256_of(&on_disk)));
    assert!(
        sink.manifest(&video).await.unwrap().is_none(),
        "manifest before finish"
    );
    sink.finish_video(
        &video,
        &VideoManifest::new(VideoMetadata::new("clip.mp4")).frames(vec![rec.clone()]),
    )
    .await
    .unwrap();
    let m = sink.manifest(&video).await.unwrap().unwrap();
    assert_eq!(m["frames"][0]["key"], "train/cam1/clip_000042.jpg");
    assert_eq!(m["source"]["location"], "clip.mp4");
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

/// A manifest with every video-level field set, as `extract_frames` would give it.
fn full_manifest(records: Vec<video_core::FrameRecord>) -> VideoManifest {
    let mut meta = VideoMetadata::new("/videos/clip.mp4");
    meta.frame_count = 300;
    meta.codec = "h264".into();
    let mut info = serde_json::Map::new();
    info.insert("dataset_name".into(), "ds1".into());
    info.insert("video_name".into(), "clip.mp4".into());
    info.insert("tags".into(), serde_json::json!(["a", {"b": 1}]));
    VideoManifest::new(meta)
        .source(
            VideoSource::new("/videos/clip.mp4")
                .size(Some(123_456))
                .content_hash(Some(format!("sha256:{}", "ab".repeat(32)))),
        )
        .sampling(
            SamplingSettings::from_plan(&SamplingPlan::every(30).max_frames(10))
                .frames_planned(2)
                .format(Some(ImageFormat::Jpeg))
                .quality(Some(85))
                .resize(Some("max-side:640".into())),
        )
        .sample_info(info)
        .frames(records)
}

/// The manifest on disk and in memory holds the video-level fields, parses back to what was
/// given, and names its format and version.
#[tokio::test]
async fn manifest_holds_video_fields_and_reads_back() {
    let dir = tmp("manifest");
    for url in ["memory:///m".to_owned(), dir.display().to_string()] {
        let sink = ObjectStoreSink::from_url(&url).unwrap();
        let video = VideoRef {
            folder: "f".into(),
            name: "clip".into(),
        };
        assert!(sink.video_manifest(&video).await.unwrap().is_none());
        let recs = vec![
            sink.write_frame(&video, &frame(0)).await.unwrap(),
            sink.write_frame(&video, &frame(30)).await.unwrap(),
        ];
        let manifest = full_manifest(recs);
        sink.finish_video(&video, &manifest).await.unwrap();
        let raw: serde_json::Value =
            serde_json::from_slice(&sink.read("f/clip.scene.json").await.unwrap()).unwrap();
        assert_eq!(raw["format"], "video-dataset/manifest", "{url}");
        assert_eq!(raw["format_version"], video_core::MANIFEST_FORMAT_VERSION);
        assert_eq!(raw["video"]["folder"], "f");
        assert_eq!(raw["video"]["name"], "clip");
        assert_eq!(raw["source"]["location"], "/videos/clip.mp4");
        assert_eq!(raw["source"]["size"], 123_456);
        assert_eq!(
            raw["source"]["content_hash"],
            format!("sha256:{}", "ab".repeat(32))
        );
        assert_eq!(raw["metadata"]["frame_count"], 300);
        assert_eq!(raw["metadata"]["codec"], "h264");
        assert_eq!(raw["sampling"]["selection"]["range"]["step"], 30);
        assert_eq!(raw["sampling"]["max_frames"], 10);
        assert_eq!(raw["sampling"]["frames_planned"], 2);
        assert_eq!(raw["sampling"]["format"], "jpeg");
        assert_eq!(raw["sampling"]["quality"], 85);
        assert_eq!(raw["sampling"]["resize"], "max-side:640");
        assert_eq!(raw["sample_info"]["dataset_name"], "ds1");
        assert_eq!(raw["sample_info"]["tags"][1]["b"], 1);
        assert_eq!(raw["frames"][1]["key"], "f/clip_000030.jpg");
        assert_eq!(
            raw["frames"][1]["content_hash"].as_str(),
            Some(sha256_of(&frame(30).bytes).as_str())
        );
        let back = sink.video_manifest(&video).await.unwrap().unwrap();
        assert_eq!(back, manifest, "{url}");
    }
}

#[tokio::test]
async fn a_folders_manifests_are_listed_by_name_whatever_the_name() {
    let dir = tmp("manifests");
    for url in ["memory:///m".to_owned(), dir.display().to_string()] {
        let sink = ObjectStoreSink::from_url(&url).unwrap();
        let names = ["clip é 1", "plain", "50% {x}"];
        for name in names {
            let video = VideoRef {
                folder: "cams/day 1".into(),
                name: name.into(),
            };
            let rec = sink.write_frame(&video, &frame(3)).await.unwrap();
            sink.finish_video(&video, &full_manifest(vec![rec]))
                .await
                .unwrap();
        }
        // Not a manifest, and a video in another folder: left out.
        sink.write_dataset_file("cams/day 1/x.json", b"{}")
            .await
            .unwrap();
        let other = VideoRef {
            folder: "cams".into(),
            name: "other".into(),
        };
        let rec = sink.write_frame(&other, &frame(0)).await.unwrap();
        sink.finish_video(&other, &full_manifest(vec![rec]))
            .await
            .unwrap();

        let keys = sink.list_keys("cams/day 1").await.unwrap();
        assert!(
            keys.contains(&"cams/day 1/clip é 1.scene.json".to_owned()),
            "{url}: {keys:?}"
        );
        assert!(
            keys.contains(&"cams/day 1/50% {x}_000003.jpg".to_owned()),
            "{url}: {keys:?}"
        );
        // The file of a key is kept under its stored name.
        let stored = sink.stored_name("cams/day 1/clip é 1.scene.json");
        assert_eq!(stored, "cams/day 1/clip %C3%A9 1.scene.json");
        if !url.starts_with("memory:") {
            assert!(
                dir.join(&stored).is_file(),
                "{}",
                dir.join(&stored).display()
            );
        }
        assert_eq!(
            sink.stored_name("a/50% {x}#?.jpg"),
            "a/50%25 %7Bx%7D%23%3F.jpg"
        );
        let listed = sink.video_manifests("cams/day 1").await.unwrap();
        let mut want: Vec<&str> = names.to_vec();
        want.sort();
        let got: Vec<&str> = listed.iter().map(|(v, _)| v.name.as_str()).collect();
        assert_eq!(got, want, "{url}");
        for (video, m) in &listed {
            assert_eq!(video.folder, "cams/day 1");
            assert_eq!(m.frames.len(), 1);
            assert_eq!(
                m.frames[0].key,
                format!("cams/day 1/{}_000003.jpg", video.name)
            );
        }
    }
}

#[tokio::test]
async fn manifest_of_another_version_is_refused_by_name() {
    let sink = ObjectStoreSink::from_url("memory:///").unwrap();
    let video = VideoRef {
        folder: String::new(),
        name: "old".into(),
    };
    let v1 = serde_json::json!({"format": "video-dataset/scene-1", "video": {}, "frames": []});
    sink.store()
        .put(
            &"old.scene.json".into(),
            serde_json::to_vec(&v1).unwrap().into(),
        )
        .await
        .unwrap();
    let e = sink.video_manifest(&video).await.unwrap_err();
    assert!(
        matches!(&e, Error::Unsupported { uri, .. } if uri == "old.scene.json"),
        "{e}"
    );
}

/// A custom frame name template names the images; records, `existing` and the manifest follow.
#[tokio::test]
async fn custom_frame_names() {
    let dir = tmp("names");
    let name: FrameName = "img-{index:08}-{video}.{ext}".parse().unwrap();
    for url in ["memory:///n".to_owned(), dir.display().to_string()] {
        let sink = ObjectStoreSink::builder(&url)
            .with_frame_name(name.clone())
            .build()
            .unwrap();
        assert_eq!(sink.frame_name().as_str(), "img-{index:08}-{video}.{ext}");
        conformance::dataset_sink_contract(&sink).await;
        conformance::dataset_sink_stores_annotations(&sink).await;
        let video = VideoRef {
            folder: "a/b".into(),
            name: "clip".into(),
        };
        let rec = sink.write_frame(&video, &frame(7)).await.unwrap();
        assert_eq!(rec.key, "a/b/img-00000007-clip.jpg");
        assert_eq!(
            sink.read("a/b/img-00000007-clip.jpg").await.unwrap(),
            vec![7u8; 100]
        );
        assert_eq!(
            sink.existing(&video, &[6, 7]).await.unwrap(),
            vec![rec.clone()]
        );
        // Another sink on the same dataset with the default names still finds the frame by its
        // record, under the name it was stored with.
        let plain = ObjectStoreSink::new(sink.store().clone(), sink.prefix().clone());
        assert_eq!(plain.existing(&video, &[7]).await.unwrap(), vec![rec]);
    }
    assert!(dir.join("a/b/img-00000007-clip.jpg").is_file());
}

/// Staging files a killed process left beside this video's objects (`name#N`) are removed when
/// the video is finished; other files, and staging files of other videos, are not.
#[tokio::test]
async fn finishing_a_video_removes_its_stale_staging_files() {
    for by_url in [false, true] {
        let dir = tmp(&format!("staging-{by_url}"));
        let sink = if by_url {
            std::fs::create_dir_all(&dir).unwrap();
            let url = format!("file://{}", dir.canonicalize().unwrap().display());
            ObjectStoreSink::from_url(&url).unwrap()
        } else {
            ObjectStoreSink::local(&dir).unwrap()
        };
        let video = VideoRef {
            folder: "train".into(),
            name: "clip".into(),
        };
        let mut recs = Vec::new();
        for i in [0u64, 30] {
            recs.push(sink.write_frame(&video, &frame(i)).await.unwrap());
        }
        let folder = dir.join("train");
        let stale = [
            folder.join("clip_000000.jpg#1"),
            folder.join("clip_000030.jpg#12"),
            folder.join("clip.scene.json#3"),
            folder.join(".video-dataset/clip/000030.json#2"),
        ];
        let kept = [
            folder.join("other_000000.jpg#1"),
            folder.join("clip_000060.jpg#1"),
            folder.join("clip_000000.jpg#x"),
            folder.join("notes#1"),
        ];
        for f in stale.iter().chain(&kept) {
            std::fs::write(f, b"partial").unwrap();
        }
        sink.finish_video(&video, &full_manifest(recs))
            .await
            .unwrap();
        for f in &stale {
            assert!(!f.exists(), "{} was left", f.display());
        }
        for f in &kept {
            assert!(f.exists(), "{} was removed", f.display());
        }
        assert!(folder.join("clip_000030.jpg").is_file());
        assert!(folder.join("clip.scene.json").is_file());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}

/// A local sink works outside Tokio (here on the `futures` executor), staging clean-up included.
#[test]
fn local_sink_runs_without_tokio() {
    let dir = tmp("no-tokio");
    let sink = ObjectStoreSink::local(&dir).unwrap();
    let video = VideoRef {
        folder: String::new(),
        name: "clip".into(),
    };
    video_testkit::block_on(async {
        let rec = sink.write_frame(&video, &frame(0)).await.unwrap();
        std::fs::write(dir.join("clip_000000.jpg#4"), b"partial").unwrap();
        sink.finish_video(&video, &full_manifest(vec![rec]))
            .await
            .unwrap();
    });
    assert!(!dir.join("clip_000000.jpg#4").exists());
    assert!(dir.join("clip.scene.json").is_file());
    std::fs::remove_dir_all(&dir).unwrap();
}
