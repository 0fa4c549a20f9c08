//! WebDataset shards made from extracted datasets (`video_export::write_webdataset`), read by
//! the `webdataset` Python package: every frame once, in order, its image the dataset's bytes,
//! its JSON the frame's index and annotation; shards within their size; a re-run gives the same
//! bytes; a missing image fails naming its key. On local disk, through the CLI, and on S3 with
//! the test command's server.

#![allow(clippy::unwrap_used)]

mod common;

use std::path::{Path, PathBuf};

use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use video_dataset::core::{ImageFormat, VideoRef};
use video_dataset::export::{WebDatasetOptions, WebDatasetReport, write_webdataset};
use video_dataset::storage::ObjectStoreSink;
use video_dataset::{AnnotationInput, Error, ExtractOptions, Resize, SamplingPlan, extract_frames};

/// Small enough that the frames below make several shards.
const SHARD_BYTES: u64 = 48 * 1024;

fn annotation() -> AnnotationInput {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("video-annotation/tests/data/supervisely");
    AnnotationInput::read_supervisely(
        &dir.join("street/ann/street.mp4.json"),
        Some(&dir.join("meta.json")),
    )
    .unwrap()
}

/// Two videos in `train`: `street` (60 frames, annotated, every 2nd frame as JPEG under
/// `train/img`) and `clip.v2` (a dot in its name; every 3rd frame as PNG beside it).
async fn make_dataset(dataset: &str) {
    let clips = Path::new(env!("CARGO_TARGET_TMPDIR")).join("webdataset-clips");
    let street = video_testkit::fixtures::street_clip(&clips);
    let clip = video_testkit::fixtures::lavfi_clip(
        &clips,
        "clip.v2.mp4",
        "testsrc2=size=320x240:rate=25",
        &[video_testkit::fixtures::X264_ARGS, &["-frames:v", "40"]].concat(),
    );
    let small = Some(Resize::FitWithin { max_side: 160 });
    extract_frames(
        &street,
        dataset,
        ExtractOptions::default()
            .folder_path("train")
            .plan(SamplingPlan::every(2))
            .resize(small)
            .annotation(Some(annotation())),
    )
    .await
    .unwrap();
    extract_frames(
        &clip,
        dataset,
        ExtractOptions::default()
            .folder_path("train")
            .plan(SamplingPlan::every(3))
            .format(ImageFormat::Png)
            .resize(small),
    )
    .await
    .unwrap();
}

/// What each sample must be, from the manifests and the stored files (read here, not by the
/// exporter): `{"samples": {key: {ext, sha256, index, image_key, annotation}}, "order": [key]}`.
async fn expected(sink: &ObjectStoreSink) -> Value {
    let mut samples = serde_json::Map::new();
    let mut order = Vec::new();
    // The order the exporter is given: videos by name.
    for name in ["clip.v2", "street"] {
        let video = VideoRef {
            folder: "train".into(),
            name: name.into(),
        };
        let m = sink.video_manifest(&video).await.unwrap().unwrap();
        assert!(m.frames.len() >= 14, "{name}: {}", m.frames.len());
        for r in &m.frames {
            let key = format!("train/{}_{:06}", name.replace('.', "%2E"), r.index);
            let image = sink.read(&r.key).await.unwrap();
            let annotation = match &r.annotation_key {
                Some(k) => serde_json::from_slice(&sink.read(k).await.unwrap()).unwrap(),
                None => Value::Null,
            };
            assert_eq!(annotation.is_null(), name == "clip.v2", "{key}");
            samples.insert(
                key.clone(),
                json!({
                    "ext": if name == "street" { "jpg" } else { "png" },
                    "sha256": format!("{:x}", Sha256::digest(&image)),
                    "index": r.index,
                    "image_key": r.key,
                    "annotation": annotation,
                }),
            );
            order.push(key);
        }
    }
    json!({"samples": samples, "order": order})
}

/// Iterate the shards in `dir` (with their index `frames.json`) with `webdataset.WebDataset`
/// over the index's brace pattern, check every sample against `expected`, and return the keys
/// in the order they came.
const CHECK_PY: &str = r#"
import glob, hashlib, json, os, sys
import webdataset as wds

shards_dir, expected_path = sys.argv[1], sys.argv[2]
expected = json.load(open(expected_path))
index = json.load(open(os.path.join(shards_dir, "frames.json")))
assert index["format"] == "video-dataset/webdataset", index["format"]
on_disk = sorted(glob.glob(os.path.join(shards_dir, "*.tar")))
assert len(on_disk) == len(index["shards"]) > 2, (on_disk, index["shards"])
url = os.path.join(shards_dir, index["pattern"])
seen = []
for s in wds.WebDataset(url, shardshuffle=False, empty_check=True):
    k = s["__key__"]
    assert k not in seen, f"{k} twice"
    e = expected["samples"].get(k)
    assert e is not None, f"unexpected key {k!r}"
    members = sorted(m for m in s if not m.startswith("__"))
    assert members == sorted([e["ext"], "json"]), (k, members)
    assert hashlib.sha256(s[e["ext"]]).hexdigest() == e["sha256"], f"{k}: image bytes differ"
    j = json.loads(s["json"])
    assert j["sample_key"] == k, (k, j["sample_key"])
    assert j["index"] == e["index"], (k, j["index"])
    assert j["image_key"] == e["image_key"], (k, j["image_key"])
    assert j["annotation"] == e["annotation"], f"{k}: annotation differs"
    assert j["video"]["folder"] == "train", j["video"]
    seen.append(k)
assert len(seen) == len(expected["samples"]), (len(seen), len(expected["samples"]))
print(json.dumps(seen))
"#;

/// Run `CHECK_PY` on the shards in `dir`; the keys in the order `webdataset` gave them.
fn python_check(python: &Path, dir: &Path, expected: &Value) -> Vec<String> {
    let path = dir.join("expected.json");
    std::fs::write(&path, serde_json::to_vec(expected).unwrap()).unwrap();
    let out = video_testkit::run_ok(
        std::process::Command::new(python)
            .args(["-c", CHECK_PY])
            .arg(dir)
            .arg(&path),
    );
    std::fs::remove_file(&path).unwrap();
    serde_json::from_slice(&out).unwrap()
}

/// Every shard within the limit (or holding one sample), numbered from 0, their sizes the
/// stored ones; the report adds up.
fn check_report(report: &WebDatasetReport, stored: &[Vec<u8>], samples: usize) {
    assert!(report.shards.len() > 2, "{report:?}");
    for (n, (shard, bytes)) in report.shards.iter().zip(stored).enumerate() {
        assert_eq!(shard.key, format!("train/webdataset/frames-{n:06}.tar"));
        assert_eq!(shard.bytes, bytes.len() as u64);
        assert!(
            shard.bytes <= SHARD_BYTES || shard.samples == 1,
            "{shard:?}"
        );
        assert_eq!(shard.bytes % 512, 0);
    }
    assert_eq!(report.samples, samples as u64);
    assert_eq!(
        report.samples,
        report.shards.iter().map(|s| s.samples).sum::<u64>()
    );
    assert_eq!(report.annotated, 30);
    assert_eq!(report.index_key, "train/webdataset/frames.json");
}

/// Export `dataset` (already extracted), check it with Python, export again and compare bytes;
/// the shards and index are copied to `local` for Python.
async fn export_and_check(dataset: &str, local: &Path) -> WebDatasetReport {
    let sink = ObjectStoreSink::from_url(dataset).unwrap();
    let videos = sink.video_manifests("train").await.unwrap();
    let names: Vec<&str> = videos.iter().map(|(v, _)| v.name.as_str()).collect();
    assert_eq!(names, ["clip.v2", "street"]);
    // Listed from the top: the same videos (none at the top itself, and the bookkeeping folders
    // hold no manifest).
    assert!(sink.video_manifests("").await.unwrap().is_empty());
    assert_eq!(sink.video_manifests_under("").await.unwrap(), videos);
    assert_eq!(sink.video_manifests_under("train").await.unwrap(), videos);
    assert!(
        sink.video_manifests_under("nowhere")
            .await
            .unwrap()
            .is_empty()
    );
    let options = WebDatasetOptions::default()
        .folder("train")
        .shard_max_bytes(SHARD_BYTES)
        .work_dir(Some(local.to_owned()));
    let report = write_webdataset(&sink, &videos, &options).await.unwrap();
    let mut stored = Vec::new();
    std::fs::create_dir_all(local).unwrap();
    for shard in &report.shards {
        let bytes = sink.read(&shard.key).await.unwrap();
        std::fs::write(local.join(shard.key.rsplit('/').next().unwrap()), &bytes).unwrap();
        stored.push(bytes);
    }
    let index = sink.read(&report.index_key).await.unwrap();
    std::fs::write(local.join("frames.json"), &index).unwrap();
    // Nothing left in the work directory but what the test put there.
    let left: Vec<PathBuf> = std::fs::read_dir(local)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.to_string_lossy().ends_with(".part"))
        .collect();
    assert_eq!(left, Vec::<PathBuf>::new());

    let expected = expected(&sink).await;
    check_report(
        &report,
        &stored,
        expected["order"].as_array().unwrap().len(),
    );
    // Without the Python environment (a loud skip) the Rust-side checks still run.
    if let Some(python) = video_testkit::test_python("webdataset", &["webdataset"]) {
        let seen = python_check(&python, local, &expected);
        assert_eq!(
            json!(seen),
            expected["order"],
            "samples in the manifests' order"
        );
    }

    // Again: the same bytes, shards and index.
    let again = write_webdataset(&sink, &videos, &options).await.unwrap();
    assert_eq!(again, report);
    for (shard, bytes) in again.shards.iter().zip(&stored) {
        assert!(
            sink.read(&shard.key).await.unwrap() == *bytes,
            "{} changed",
            shard.key
        );
    }
    assert_eq!(sink.read(&again.index_key).await.unwrap(), index);
    report
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn local_dataset_exports_shards_webdataset_reads() {
    let dir = common::scratch("webdataset-local");
    let dataset = dir.join("ds");
    let url = dataset.to_str().unwrap().to_owned();
    make_dataset(&url).await;
    let report = export_and_check(&url, &dir.join("shards")).await;
    assert!(report.shards.len() > 1, "small shards: several of them");

    // The CLI, from the dataset's top with --recursive, finds the same videos and writes the
    // same shards (sample keys hold the whole folder path) into the top's webdataset/ folder.
    #[cfg(feature = "cli")]
    {
        let out = common::cli(
            &[
                "export",
                "webdataset",
                &url,
                "--recursive",
                "--shard-size",
                &SHARD_BYTES.to_string(),
                "--name",
                "cli",
                "--json",
            ],
            &dir,
        );
        assert!(out.status.success(), "{}", common::stderr(&out));
        let cli: Value = serde_json::from_slice(&out.stdout).unwrap();
        let shards = cli["shards"].as_array().unwrap();
        assert_eq!(shards.len(), report.shards.len());
        for (n, (c, r)) in shards.iter().zip(&report.shards).enumerate() {
            let key = c["key"].as_str().unwrap();
            assert_eq!(key, format!("webdataset/cli-{n:06}.tar"));
            assert!(
                std::fs::read(dataset.join(key)).unwrap()
                    == std::fs::read(dataset.join(&r.key)).unwrap(),
                "{key} differs from {}",
                r.key
            );
        }
        assert_eq!(cli["index_key"], "webdataset/cli.json");
        assert_eq!(cli["samples"], report.samples);
    }

    // A frame whose image is gone: the export fails naming it, and writes no index.
    let sink = ObjectStoreSink::from_url(&url).unwrap();
    let videos = sink.video_manifests("train").await.unwrap();
    let gone = videos[1].1.frames[5].key.clone();
    std::fs::remove_file(dataset.join(&gone)).unwrap();
    let options = WebDatasetOptions::default()
        .folder("train")
        .name("broken")
        .shard_max_bytes(SHARD_BYTES);
    let e = write_webdataset(&sink, &videos, &options)
        .await
        .unwrap_err();
    assert!(
        matches!(&e, Error::NotFound { uri, .. } if *uri == gone),
        "{e}"
    );
    assert!(!dataset.join("train/webdataset/broken.json").exists());
}

#[cfg(feature = "aws")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s3_dataset_exports_shards_webdataset_reads() {
    let Some(url) = video_testkit::s3_test_url("webdataset_s3") else {
        return;
    };
    let dir = common::scratch("webdataset-s3");
    make_dataset(&url).await;
    export_and_check(&url, &dir.join("shards")).await;
}
