//! Appending scenes to a dataset, on memory and on local disk.

#![allow(clippy::unwrap_used)]

mod common;

use video_core::Error;
use video_storage::ObjectStoreSink;
use video_storage::object_store::ObjectStoreExt as _;

#[tokio::test]
async fn scenes_in_memory() {
    let sink = ObjectStoreSink::from_url("memory:///datasets/s").unwrap();
    common::scenes_append_and_update(&sink).await;
}

#[tokio::test]
async fn scenes_on_disk() {
    let dir = std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("scenes-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let sink = ObjectStoreSink::from_url(dir.to_str().unwrap()).unwrap();
    common::scenes_append_and_update(&sink).await;
    let doc: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join(".video-dataset/scenes/a.json")).unwrap())
            .unwrap();
    assert_eq!(doc["format"], "video-dataset/scene");
    assert_eq!(doc["format_version"], video_storage::SCENE_FORMAT_VERSION);
    assert_eq!(doc["reference_id"], "a");
    assert_eq!(doc["items"][2]["reference_id"], "a2");
}

#[tokio::test]
async fn a_scene_of_another_format_is_refused_by_key() {
    let sink = ObjectStoreSink::from_url("memory:///").unwrap();
    sink.store()
        .put(
            &".video-dataset/scenes/old.json".into(),
            b"{\"reference_id\": \"old\", \"items\": []}"
                .to_vec()
                .into(),
        )
        .await
        .unwrap();
    let e = sink.scene("old").await.unwrap_err();
    assert!(
        matches!(&e, Error::Unsupported { uri, .. } if uri == ".video-dataset/scenes/old.json"),
        "{e}"
    );
    // Appending with update reads it, so it fails the same way; without update it is kept.
    let new = video_core::VideoScene::new("old", None);
    assert!(matches!(
        sink.append_scenes(std::slice::from_ref(&new), true).await,
        Err(Error::Unsupported { .. })
    ));
    assert_eq!(
        sink.append_scenes(&[new], false).await.unwrap().kept,
        ["old"]
    );
}
