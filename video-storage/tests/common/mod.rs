//! Checks shared by the store tests (memory, local disk, S3).
#![allow(dead_code, clippy::unwrap_used)]

use std::collections::BTreeMap;

use video_core::{Error, Rational, SceneItem, VideoScene};
use video_storage::ObjectStoreSink;

fn item(id: &str, label: &str) -> SceneItem {
    let mut metadata = BTreeMap::new();
    metadata.insert("label".to_owned(), serde_json::Value::from(label));
    SceneItem {
        reference_id: id.into(),
        location: format!("frames/{id}.jpg"),
        metadata,
    }
}

fn scene(id: &str, version: u64, items: &[(&str, &str)]) -> VideoScene {
    let mut s = VideoScene::new(id, Some(Rational::new(30, 1)));
    s.metadata.insert("version".into(), version.into());
    for (i, (rid, label)) in items.iter().enumerate() {
        s.add_item(i, item(rid, label), false).unwrap();
    }
    s
}

/// Appending scenes: new ones are added; existing ones are kept as they are without `update`
/// and get their metadata overwritten with it; a bad batch writes nothing.
pub(crate) async fn scenes_append_and_update(sink: &ObjectStoreSink) {
    assert!(sink.scenes().await.unwrap().is_empty());
    assert!(sink.scene("a").await.unwrap().is_none());

    let a1 = scene("a", 1, &[("a0", "cat"), ("a1", "dog")]);
    let b1 = scene("b c#1", 1, &[("b0", "cow")]);
    let r = sink
        .append_scenes(&[a1.clone(), b1.clone()], false)
        .await
        .unwrap();
    assert_eq!(r.added, ["a", "b c#1"]);
    assert!(r.updated.is_empty() && r.kept.is_empty());
    assert_eq!(sink.scenes().await.unwrap(), ["a", "b c#1"]);
    assert_eq!(sink.scene("a").await.unwrap().unwrap(), a1);
    assert_eq!(sink.scene("b c#1").await.unwrap().unwrap(), b1);

    // update = false: the stored scene stays exactly as it was.
    let mut a2 = scene("a", 2, &[("a1", "wolf"), ("a2", "fox")]);
    a2.frame_rate = Some(Rational::new(5, 1));
    let c1 = scene("c", 1, &[]);
    let r = sink
        .append_scenes(&[a2.clone(), c1.clone()], false)
        .await
        .unwrap();
    assert_eq!(
        (r.added, r.kept),
        (vec!["c".to_owned()], vec!["a".to_owned()])
    );
    assert!(r.updated.is_empty());
    assert_eq!(sink.scene("a").await.unwrap().unwrap(), a1);

    // update = true: scene metadata and item metadata by reference id are overwritten, new items
    // appended; order, locations and frame rate stay.
    let r = sink.append_scenes(&[a2], true).await.unwrap();
    assert_eq!(r.updated, ["a"]);
    let a = sink.scene("a").await.unwrap().unwrap();
    assert_eq!(a.metadata["version"], 2);
    assert_eq!(a.frame_rate, Some(Rational::new(30, 1)));
    let ids: Vec<&str> = a.items.iter().map(|i| i.reference_id.as_str()).collect();
    assert_eq!(ids, ["a0", "a1", "a2"]);
    let labels: Vec<&serde_json::Value> = a.items.iter().map(|i| &i.metadata["label"]).collect();
    assert_eq!(labels, ["cat", "wolf", "fox"]);
    assert_eq!(
        sink.scene("b c#1").await.unwrap().unwrap(),
        b1,
        "other scenes untouched"
    );

    // A bad batch writes nothing, and the error names the culprit.
    let mut too_many = scene("d", 1, &[("d0", "x"), ("d1", "y")]).with_cap(2);
    too_many.items.push(item("d2", "z"));
    for (batch, what) in [
        (vec![scene("e", 1, &[]), scene("../x", 1, &[])], "../x"),
        (vec![scene("e", 1, &[]), scene("e", 1, &[])], "\"e\""),
        (vec![scene("e", 1, &[]), too_many], "\"d\""),
    ] {
        let e = sink.append_scenes(&batch, true).await.unwrap_err();
        assert!(
            matches!(
                e,
                Error::InvalidPath { .. }
                    | Error::InvalidOption { .. }
                    | Error::LimitExceeded { .. }
            ) && e.to_string().contains(what),
            "{e}"
        );
    }
    assert_eq!(sink.scenes().await.unwrap(), ["a", "b c#1", "c"]);
    assert!(matches!(
        sink.scene("a/b").await,
        Err(Error::InvalidPath { .. })
    ));
}
