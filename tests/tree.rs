//! Source trees (`discover_tree`): videos found by extension (any case) and, when asked, by their
//! first bytes; hidden folders skipped; include/exclude patterns and a whitelist of top-level
//! folders; a Supervisely video project's annotations; the same tree in a local directory, a
//! `file://` prefix, an in-memory store and an S3 prefix (with the test command's server);
//! missing and empty sources as typed errors. Nothing is decoded: the "videos" are a few bytes
//! each.

#![allow(clippy::unwrap_used)]

mod common;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use video_dataset::core::ByteSource;
use video_dataset::storage::object_store::memory::InMemory;
use video_dataset::storage::object_store::path::Path as StorePath;
use video_dataset::storage::object_store::{ObjectStore, ObjectStoreExt, PutPayload};
use video_dataset::{
    Error, ObjectStoreSink, TreeEntry, TreeFile, TreeOptions, TreeSource, VideoInput, VideoTree,
    discover_tree,
};

/// The first bytes of an MP4 (an `ftyp` box), for a file sniffed by content.
const MP4_HEAD: &[u8] = b"\0\0\0\x20ftypisom\0\0\x02\0isomiso2avc1mp41";

/// The generated tree: `(relative path, content)`.
const FILES: &[(&str, &[u8])] = &[
    ("a.mp4", b"video a"),
    ("b.MOV", b"video b"),
    ("notes.txt", b"not a video"),
    ("noext", MP4_HEAD),
    ("text.dat", b"plain text, not a video"),
    (".hidden/h.mp4", b"hidden"),
    (".video-dataset/v.mp4", b"bookkeeping"),
    ("x/.dot.mp4", b"hidden file"),
    ("x/c.mkv", b"video c"),
    ("x/y/d.WebM", b"video d"),
    ("x/y/e.json", b"{}"),
    ("z/f.avi", b"video f"),
    ("z/g.gif", b"GIF89a"),
];

/// The videos of [`FILES`] by extension, with their dataset folders.
const VIDEOS: &[(&str, &str)] = &[
    ("a.mp4", ""),
    ("b.MOV", ""),
    ("x/c.mkv", "x"),
    ("x/y/d.WebM", "x/y"),
    ("z/f.avi", "z"),
    ("z/g.gif", "z"),
];

fn write_tree(dir: &Path, files: &[(&str, &[u8])]) {
    for (rel, bytes) in files {
        let p = dir.join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, bytes).unwrap();
    }
}

fn tree_dir(name: &str) -> PathBuf {
    let dir = common::scratch(name).join("src");
    write_tree(&dir, FILES);
    dir
}

async fn list(source: impl Into<TreeSource>, options: &TreeOptions) -> Vec<(String, String)> {
    summary(&discover_tree(source, options).await.unwrap())
}

fn summary(tree: &VideoTree) -> Vec<(String, String)> {
    tree.entries
        .iter()
        .map(|e| (e.relative_path.clone(), e.folder.clone()))
        .collect()
}

fn owned(v: &[(&str, &str)]) -> Vec<(String, String)> {
    v.iter()
        .map(|(a, b)| ((*a).to_owned(), (*b).to_owned()))
        .collect()
}

fn rels(v: &[(String, String)]) -> Vec<&str> {
    v.iter().map(|(r, _)| r.as_str()).collect()
}

#[tokio::test]
async fn a_directory_by_extension_skipping_hidden_folders() {
    let dir = tree_dir("tree-dir");
    let tree = discover_tree(dir.as_path(), &TreeOptions::default())
        .await
        .unwrap();
    assert_eq!(summary(&tree), owned(VIDEOS));
    assert!(!tree.supervisely);
    for e in &tree.entries {
        match &e.source {
            VideoInput::File(p) => assert_eq!(p, &dir.join(&e.relative_path)),
            other => panic!("{other:?}"),
        }
        assert!(e.annotation.is_none() && e.project_meta.is_none());
    }
    // A string without "://" is a directory too.
    assert_eq!(
        list(dir.to_str().unwrap(), &TreeOptions::default()).await,
        owned(VIDEOS)
    );
    // Sniffing adds the extension-less MP4, not the text files.
    let sniffed = list(dir.as_path(), &TreeOptions::default().sniff_unknown(true)).await;
    assert_eq!(
        rels(&sniffed),
        [
            "a.mp4",
            "b.MOV",
            "noext",
            "x/c.mkv",
            "x/y/d.WebM",
            "z/f.avi",
            "z/g.gif"
        ]
    );
    // Own extensions, any case and with or without the dot.
    let own = list(
        dir.as_path(),
        &TreeOptions::default().extensions([".MKV", "avi"]),
    )
    .await;
    assert_eq!(rels(&own), ["x/c.mkv", "z/f.avi"]);
}

#[tokio::test]
async fn include_exclude_and_whitelist() {
    let dir = tree_dir("tree-globs");
    let o = TreeOptions::default;
    assert_eq!(
        rels(&list(dir.as_path(), &o().include("x/**")).await),
        ["x/c.mkv", "x/y/d.WebM"]
    );
    // `*` does not cross folders.
    assert_eq!(
        rels(&list(dir.as_path(), &o().include("*.mp4")).await),
        ["a.mp4"]
    );
    assert_eq!(
        rels(&list(dir.as_path(), &o().include("**/*.mp4")).await),
        ["a.mp4"]
    );
    assert_eq!(
        rels(&list(dir.as_path(), &o().exclude("**/*.gif").exclude("x/y/**")).await),
        ["a.mp4", "b.MOV", "x/c.mkv", "z/f.avi"]
    );
    assert_eq!(
        rels(&list(dir.as_path(), &o().include("x/**").include("z/*.avi")).await),
        ["x/c.mkv", "x/y/d.WebM", "z/f.avi"]
    );
    // The whitelist keeps whole top-level folders (not the root's files).
    assert_eq!(
        list(dir.as_path(), &o().datasets(["z"])).await,
        owned(&[("z/f.avi", "z"), ("z/g.gif", "z")])
    );
    assert_eq!(
        rels(&list(dir.as_path(), &o().datasets(["x", "z"]).exclude("**/*.gif")).await),
        ["x/c.mkv", "x/y/d.WebM", "z/f.avi"]
    );
    // A bad pattern names its option.
    let e = discover_tree(dir.as_path(), &o().exclude("a["))
        .await
        .unwrap_err();
    assert!(
        matches!(&e, Error::InvalidOption { option, .. } if option == "exclude"),
        "{e}"
    );
    // Nothing left: a typed error naming the source.
    let e = discover_tree(dir.as_path(), &o().datasets(["nope"]))
        .await
        .unwrap_err();
    assert!(
        matches!(&e, Error::NotAVideo { uri, .. } if uri == &dir.display().to_string()),
        "{e}"
    );
}

#[tokio::test]
async fn missing_and_empty_sources_are_named() {
    let root = common::scratch("tree-missing");
    let missing = root.join("missing");
    let e = discover_tree(missing.as_path(), &TreeOptions::default())
        .await
        .unwrap_err();
    assert!(
        matches!(&e, Error::NotFound { uri, .. } if uri == &missing.display().to_string()),
        "{e}"
    );
    // A file is not a tree.
    std::fs::write(root.join("file.mp4"), b"x").unwrap();
    let e = discover_tree(root.join("file.mp4"), &TreeOptions::default())
        .await
        .unwrap_err();
    assert!(matches!(&e, Error::NotFound { .. }), "{e}");
    // An empty directory, and one with only hidden content.
    let empty = root.join("empty");
    std::fs::create_dir_all(empty.join(".video-dataset")).unwrap();
    std::fs::write(empty.join(".video-dataset/a.mp4"), b"x").unwrap();
    let e = discover_tree(empty.as_path(), &TreeOptions::default())
        .await
        .unwrap_err();
    assert!(
        matches!(&e, Error::NotFound { uri, .. } if uri == &empty.display().to_string()),
        "{e}"
    );
    // Files, none a video.
    let texts = root.join("texts");
    write_tree(&texts, &[("a.txt", b"a"), ("b/c.json", b"{}")]);
    let e = discover_tree(texts.as_path(), &TreeOptions::default())
        .await
        .unwrap_err();
    assert!(
        matches!(&e, Error::NotAVideo { uri, .. } if uri == &texts.display().to_string()),
        "{e}"
    );
    // An empty store prefix.
    let url = format!("file://{}", empty.display());
    let e = discover_tree(url.as_str(), &TreeOptions::default())
        .await
        .unwrap_err();
    assert!(
        matches!(&e, Error::NotFound { uri, .. } if uri == &url),
        "{e}"
    );
}

#[tokio::test]
async fn a_file_url_prefix_lists_the_same_entries() {
    let dir = tree_dir("tree-url");
    let url = format!("file://{}", dir.display());
    a_url_prefix_lists_the_same_entries(&dir, &url).await;
}

/// The tree uploaded under a prefix on the S3 test server: the same entries as the local
/// directory (the sniffed one read with a ranged `GET` from S3); an empty prefix is named.
#[cfg(feature = "aws")]
#[tokio::test]
async fn an_s3_prefix_lists_the_same_entries() {
    let Some(base) = video_testkit::s3_test_url("tree_s3") else {
        return;
    };
    let dir = tree_dir("tree-s3");
    let url = format!("{base}/src");
    let sink = ObjectStoreSink::from_url(&url).unwrap();
    for (rel, bytes) in FILES {
        let path: StorePath = sink
            .prefix()
            .parts()
            .chain(StorePath::from(*rel).parts())
            .collect();
        sink.store()
            .put(&path, PutPayload::from(bytes.to_vec()))
            .await
            .unwrap();
    }
    a_url_prefix_lists_the_same_entries(&dir, &url).await;
    let empty = format!("{base}/nothing");
    let e = discover_tree(empty.as_str(), &TreeOptions::default())
        .await
        .unwrap_err();
    assert!(
        matches!(&e, Error::NotFound { uri, .. } if uri == &empty),
        "{e}"
    );
}

/// The tree of [`FILES`] at the store prefix `url` lists the same entries as the directory
/// `dir` holding it, each a [`VideoInput::Url`] under `url`.
async fn a_url_prefix_lists_the_same_entries(dir: &Path, url: &str) {
    for opts in [
        TreeOptions::default(),
        TreeOptions::default().sniff_unknown(true),
        TreeOptions::default().datasets(["x"]).exclude("**/*.mkv"),
    ] {
        let local = discover_tree(dir, &opts).await.unwrap();
        let remote = discover_tree(url, &opts).await.unwrap();
        assert_eq!(summary(&remote), summary(&local));
        for e in &remote.entries {
            match &e.source {
                VideoInput::Url(u) => assert_eq!(u, &format!("{url}/{}", e.relative_path)),
                other => panic!("{other:?}"),
            }
        }
    }
    // A trailing slash changes nothing.
    assert_eq!(
        list(format!("{url}/"), &TreeOptions::default()).await,
        owned(VIDEOS)
    );
}

async fn memory_store(files: &[(&str, &[u8])], prefix: &str) -> ObjectStoreSink {
    let store: Arc<dyn ObjectStore> = Arc::new(InMemory::new());
    for (rel, bytes) in files {
        let path = StorePath::from(format!("{prefix}/{rel}"));
        store
            .put(&path, PutPayload::from(bytes.to_vec()))
            .await
            .unwrap();
    }
    // Something beside the prefix, never listed.
    store
        .put(
            &StorePath::from("other/zz.mp4"),
            PutPayload::from_static(b"x"),
        )
        .await
        .unwrap();
    ObjectStoreSink::new(store, StorePath::from(prefix))
}

#[tokio::test]
async fn an_in_memory_store_lists_the_same_entries() {
    let dir = tree_dir("tree-mem");
    let sink = memory_store(FILES, "videos/src").await;
    for opts in [
        TreeOptions::default(),
        TreeOptions::default().sniff_unknown(true),
        TreeOptions::default().include("x/**"),
    ] {
        let local = discover_tree(dir.as_path(), &opts).await.unwrap();
        let stored = discover_tree(sink.clone(), &opts).await.unwrap();
        assert_eq!(summary(&stored), summary(&local));
        for e in &stored.entries {
            match &e.source {
                VideoInput::Store(v) => {
                    assert!(v.uri().ends_with(&e.relative_path), "{}", v.uri())
                }
                other => panic!("{other:?}"),
            }
        }
    }
    // An empty prefix of the same store.
    let empty = ObjectStoreSink::new(sink.store().clone(), StorePath::from("nothing"));
    let e = discover_tree(empty, &TreeOptions::default())
        .await
        .unwrap_err();
    assert!(
        matches!(&e, Error::NotFound { uri, .. } if uri.contains("nothing")),
        "{e}"
    );
}

fn fixture(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("video-annotation/tests/data/supervisely")
        .join(rel)
}

/// A Supervisely video project: the fixture's `meta.json` and `street` dataset (its annotation
/// and a video), a second video without annotation, a second dataset, and stray files.
fn supervisely_files() -> Vec<(&'static str, Vec<u8>)> {
    vec![
        ("meta.json", std::fs::read(fixture("meta.json")).unwrap()),
        (
            "street/ann/street.mp4.json",
            std::fs::read(fixture("street/ann/street.mp4.json")).unwrap(),
        ),
        ("street/video/street.mp4", b"video".to_vec()),
        ("street/video/unlabelled.mp4", b"video".to_vec()),
        ("park/video/walk.MKV", b"video".to_vec()),
        ("park/ann/other.mp4.json", b"{}".to_vec()),
        ("README.md", b"# project".to_vec()),
    ]
}

fn check_supervisely(tree: &VideoTree) {
    assert!(tree.supervisely);
    assert_eq!(
        summary(tree),
        owned(&[
            ("park/video/walk.MKV", "park"),
            ("street/video/street.mp4", "street"),
            ("street/video/unlabelled.mp4", "street"),
        ])
    );
    let has = |e: &TreeEntry| (e.annotation.is_some(), e.project_meta.is_some());
    assert_eq!(
        tree.entries.iter().map(has).collect::<Vec<_>>(),
        [(false, true), (true, true), (false, true)]
    );
}

#[tokio::test]
async fn a_supervisely_project_maps_videos_to_datasets_with_annotations() {
    let dir = common::scratch("tree-sly").join("project");
    let files = supervisely_files();
    let borrowed: Vec<(&str, &[u8])> = files.iter().map(|(r, b)| (*r, b.as_slice())).collect();
    write_tree(&dir, &borrowed);
    let tree = discover_tree(dir.as_path(), &TreeOptions::default())
        .await
        .unwrap();
    check_supervisely(&tree);
    let street = &tree.entries[1];
    assert_eq!(
        street.annotation,
        Some(TreeFile::File(dir.join("street/ann/street.mp4.json")))
    );
    assert_eq!(
        street.project_meta,
        Some(TreeFile::File(dir.join("meta.json")))
    );
    let input = street.annotation_input(None).await.unwrap().unwrap();
    assert!(input.source_name.ends_with("street.mp4.json"));
    assert!(!input.annotation.annotated_frames().is_empty());
    assert!(
        tree.entries[2]
            .annotation_input(None)
            .await
            .unwrap()
            .is_none()
    );
    // The dataset whitelist.
    let only = list(dir.as_path(), &TreeOptions::default().datasets(["street"])).await;
    assert_eq!(
        rels(&only),
        ["street/video/street.mp4", "street/video/unlabelled.mp4"]
    );

    // The same project under a file:// prefix and in memory: the same entries, the annotation
    // read from the store.
    let url = format!("file://{}", dir.display());
    let tree = discover_tree(url.as_str(), &TreeOptions::default())
        .await
        .unwrap();
    check_supervisely(&tree);
    assert_eq!(
        tree.entries[1].annotation,
        Some(TreeFile::Url(format!("{url}/street/ann/street.mp4.json")))
    );
    let from_url = tree.entries[1]
        .annotation_input(None)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(from_url.annotation, input.annotation);

    let sink = memory_store(&borrowed, "projects/p1").await;
    let tree = discover_tree(sink.clone(), &TreeOptions::default())
        .await
        .unwrap();
    check_supervisely(&tree);
    assert_eq!(
        tree.entries[1].annotation,
        Some(TreeFile::Key("street/ann/street.mp4.json".into()))
    );
    let from_store = tree.entries[1]
        .annotation_input(Some(&sink))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(from_store.annotation, input.annotation);
    let e = tree.entries[1].annotation_input(None).await.unwrap_err();
    assert!(matches!(&e, Error::InvalidOption { .. }), "{e}");

    // Without meta.json at the root it is a plain tree: folders mirror the source.
    std::fs::remove_file(dir.join("meta.json")).unwrap();
    let plain = discover_tree(dir.as_path(), &TreeOptions::default())
        .await
        .unwrap();
    assert!(!plain.supervisely);
    assert_eq!(plain.entries[1].folder, "street/video");
    assert!(plain.entries.iter().all(|e| e.annotation.is_none()));
}
