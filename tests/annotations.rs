//! `extract_frames` with a Supervisely video annotation, on real videos made by FFmpeg and
//! decoded by GStreamer: the labels land next to the frames (`img/` + `ann/`), match the
//! conversion rules after resizing and rotation, are listed in the manifest, are refreshed by a
//! re-run that decodes nothing, and feed the folder's COCO file; bad annotations fail before
//! anything is written. On local disk always, on S3 with the test command's server.

#![allow(clippy::unwrap_used)]

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;
use video_dataset::annotation::{
    GeometryTransform, ImageAnnotation, ImageSize, ProjectMeta, Rotation, VideoAnnotation,
    supervisely,
};
use video_dataset::core::{FrameRecord, ImageFormat, VideoManifest, VideoRef};
use video_dataset::storage::ObjectStoreSink;
use video_dataset::{
    AnnotationInput, COCO_FILE_NAME, Error, ExtractOptions, META_KEY, Resize, SamplingPlan,
    extract_frames,
};

fn fixture(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("video-annotation/tests/data/supervisely")
        .join(rel)
}

const ANN: &str = "street/ann/street.mp4.json";
/// The frames of the fixture with at least one figure (frame 40 is listed with none).
const ANNOTATED: [u64; 10] = [10, 11, 12, 13, 14, 15, 16, 20, 21, 30];

fn input() -> AnnotationInput {
    AnnotationInput::read_supervisely(&fixture(ANN), Some(&fixture("meta.json"))).unwrap()
}

/// A 1280×720 H.264 MP4 of `frames` frames at 25 fps, with extra FFmpeg arguments.
fn make_video(dir: &Path, name: &str, frames: u32, extra: &[&str]) -> PathBuf {
    let out = dir.join(name);
    // Written under a name of its own, then renamed: a test reading the same path never sees a
    // file another test is still writing.
    static MADE: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = MADE.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let partial = dir.join(format!("partial-{n}-{name}"));
    let status = Command::new("ffmpeg")
        .args(["-loglevel", "error", "-y", "-f", "lavfi", "-i"])
        .arg("testsrc2=size=1280x720:rate=25")
        .args(["-frames:v", &frames.to_string()])
        .args(video_testkit::fixtures::X264_ARGS)
        .args(extra)
        .arg(&partial)
        .status()
        .expect("ffmpeg runs");
    assert!(status.success(), "ffmpeg failed for {name}");
    std::fs::rename(&partial, &out).unwrap();
    out
}

/// `street.mp4`: 60 frames, as the fixture annotation expects.
fn street(dir: &Path) -> PathBuf {
    make_video(dir, "street.mp4", 60, &[])
}

/// The same video with a 90° display rotation (a display matrix, stream copied).
fn rotated(dir: &Path) -> PathBuf {
    let plain = make_video(dir, "plain.mp4", 60, &[]);
    let out = dir.join("street_rot.mp4");
    let status = Command::new("ffmpeg")
        .args(["-loglevel", "error", "-y", "-i"])
        .arg(&plain)
        .args(["-c", "copy", "-metadata:s:v", "rotate=90"])
        .arg(&out)
        .status()
        .unwrap();
    assert!(status.success());
    out
}

fn video_ref(name: &str) -> VideoRef {
    VideoRef {
        folder: String::new(),
        name: name.into(),
    }
}

async fn manifest(sink: &ObjectStoreSink, name: &str) -> VideoManifest {
    sink.video_manifest(&video_ref(name))
        .await
        .unwrap()
        .unwrap()
}

/// What the writer gives for frame `r` under `t`, parsed back the way a reader would.
fn expected(
    ann: &VideoAnnotation,
    meta: &ProjectMeta,
    r: &FrameRecord,
    t: &GeometryTransform,
) -> ImageAnnotation {
    let image = ann.frame_annotation(r.index, t).unwrap();
    let text = supervisely::image_annotation_to_value(&image)
        .unwrap()
        .to_string();
    supervisely::parse_image_annotation("expected", &text, Some(meta)).unwrap()
}

/// Every frame of the manifest has its annotation next to it (`img/x` → `ann/x.json`), and it
/// parses back to what the rules give under `t` (computed from the record's size).
async fn check_annotations(
    sink: &ObjectStoreSink,
    m: &VideoManifest,
    ann: &VideoAnnotation,
    transform: impl Fn(&FrameRecord) -> GeometryTransform,
) {
    let meta = ann.meta.for_images().unwrap();
    for r in &m.frames {
        let key = r.annotation_key.as_deref().unwrap();
        let name = r.key.strip_prefix("img/").unwrap();
        assert_eq!(key, format!("ann/{name}.json"));
        let text = String::from_utf8(sink.read(key).await.unwrap()).unwrap();
        let got = supervisely::parse_image_annotation(key, &text, Some(&meta)).unwrap();
        assert_eq!(got.size, ImageSize::new(r.width, r.height), "{key}");
        assert_eq!(got, expected(ann, &meta, r, &transform(r)), "{key}");
    }
}

/// How many labels of the frames COCO holds (rectangles, polygons, bitmaps).
fn instances(
    ann: &VideoAnnotation,
    frames: &[FrameRecord],
    t: impl Fn(&FrameRecord) -> GeometryTransform,
) -> usize {
    frames
        .iter()
        .map(|r| {
            ann.frame_annotation(r.index, &t(r))
                .unwrap()
                .labels
                .iter()
                .filter(|l| {
                    !matches!(
                        l.geometry,
                        video_dataset::annotation::Geometry::Point { .. }
                            | video_dataset::annotation::Geometry::Polyline { .. }
                    )
                })
                .count()
        })
        .sum()
}

fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    if let Ok(rd) = std::fs::read_dir(dir) {
        for e in rd.flatten() {
            let p = e.path();
            if p.is_dir() {
                out.extend(files_under(&p));
            } else {
                out.push(p);
            }
        }
    }
    out
}

/// `only_annotated` with a step takes every `step`-th *annotated* frame (filter first, then
/// step, as Supervisely samples), not the annotated frames of every `step`-th frame.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_annotated_with_a_step_steps_over_the_annotated_frames() {
    let dir = common::scratch("annot-step");
    let video = street(&dir);
    let out = dir.join("ds");
    let options = ExtractOptions::default()
        .plan(SamplingPlan::every(2))
        .format(ImageFormat::Png)
        .annotation(Some(input()))
        .only_annotated(true);
    let r = extract_frames(&video, out.to_str().unwrap(), options)
        .await
        .unwrap();
    let indices: Vec<u64> = r.frames.iter().map(|f| f.index).collect();
    // Positions 0, 2, 4, … of ANNOTATED; stepping first would give [10, 12, 14, 16, 20, 30].
    assert_eq!(indices, [10, 12, 14, 16, 21]);
    assert_eq!(r.annotations_written, 5);
    let sink = ObjectStoreSink::from_url(out.to_str().unwrap()).unwrap();
    let m = manifest(&sink, "street").await;
    assert!(m.sampling.filtered);
    // With a cap too: the cap spreads over the stepped annotated frames.
    let capped = dir.join("ds-capped");
    let options = ExtractOptions::default()
        .plan(SamplingPlan::every(2).max_frames(2))
        .format(ImageFormat::Png)
        .annotation(Some(input()))
        .only_annotated(true);
    let r = extract_frames(&video, capped.to_str().unwrap(), options)
        .await
        .unwrap();
    let indices: Vec<u64> = r.frames.iter().map(|f| f.index).collect();
    assert_eq!(indices, [10, 14]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_annotated_frames_with_their_labels_at_full_size() {
    let dir = common::scratch("annot-full");
    let video = street(&dir);
    let out = dir.join("ds");
    let input = input();
    let ann = input.annotation.clone();
    let options = || {
        ExtractOptions::default()
            .plan(SamplingPlan::all())
            .format(ImageFormat::Png)
            .annotation(Some(input.clone()))
            .only_annotated(true)
    };
    let r = extract_frames(&video, out.to_str().unwrap(), options())
        .await
        .unwrap();
    // (a) exactly the annotated frames, stored in img/.
    let indices: Vec<u64> = r.frames.iter().map(|f| f.index).collect();
    assert_eq!(indices, ANNOTATED);
    assert_eq!(r.frames_written, 10);
    assert_eq!(r.annotations_written, 10);
    let mut images: Vec<String> = std::fs::read_dir(out.join("img"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    images.sort();
    assert_eq!(
        images,
        ANNOTATED.map(|i| format!("street_{i:06}.png")).to_vec()
    );

    // (b), (c): the manifest lists each annotation, which matches the rules at 1280x720.
    let sink = ObjectStoreSink::from_url(out.to_str().unwrap()).unwrap();
    let m = manifest(&sink, "street").await;
    assert_eq!(m.frames, r.frames);
    assert!(m.sampling.filtered);
    let identity = |_: &FrameRecord| GeometryTransform::identity(ImageSize::new(1280, 720));
    check_annotations(&sink, &m, &ann, identity).await;
    let doc: Value =
        serde_json::from_slice(&std::fs::read(out.join("street.scene.json")).unwrap()).unwrap();
    assert_eq!(
        doc["frames"][2]["annotation_key"],
        "ann/street_000012.png.json"
    );
    // Hand-checked: car-1 on frame 12 keeps its identity and the fixture's box.
    let f12: Value =
        serde_json::from_slice(&std::fs::read(out.join("ann/street_000012.png.json")).unwrap())
            .unwrap();
    assert_eq!(
        f12["size"],
        serde_json::json!({"height": 720, "width": 1280})
    );
    assert_eq!(f12["objects"][0]["classTitle"], "car");
    assert!(
        f12["objects"][0]["tags"]
            .as_array()
            .unwrap()
            .iter()
            .any(|t| t["name"] == "object_id" && t["value"] == "9f2a0c1e-car1"),
        "{f12}"
    );

    // The project meta at the root: the fixture's classes, and the images project's tags.
    let meta = supervisely::parse_meta(
        META_KEY,
        &std::fs::read_to_string(out.join(META_KEY)).unwrap(),
    )
    .unwrap();
    // (The writer gives tags without a colour one, as Supervisely requires.)
    let want = ann.meta.for_images().unwrap();
    assert_eq!(meta.classes, want.classes);
    let tags = |m: &ProjectMeta| {
        m.tag_metas
            .iter()
            .map(|t| (t.name.clone(), t.value_type.clone()))
            .collect::<Vec<_>>()
    };
    assert_eq!(tags(&meta), tags(&want));

    // (e) the folder's COCO file.
    let coco: Value =
        serde_json::from_slice(&std::fs::read(out.join(COCO_FILE_NAME)).unwrap()).unwrap();
    assert_eq!(coco["images"].as_array().unwrap().len(), 10);
    assert_eq!(
        coco["annotations"].as_array().unwrap().len(),
        instances(&ann, &m.frames, identity)
    );
    assert_eq!(
        coco["categories"].as_array().unwrap().len(),
        meta.classes.len()
    );
    assert_eq!(coco["images"][0]["file_name"], "img/street_000010.png");
    assert_eq!(coco["images"][0]["frame_index"], 10);

    // (d) a re-run with corrected labels (car-1 removed from frame 12) writes no image,
    // decodes nothing and rewrites every annotation.
    let mut fixed = (*ann).clone();
    fixed
        .frames
        .get_mut(&12)
        .unwrap()
        .retain(|f| f.object_key != "9f2a0c1e-car1");
    let again = extract_frames(
        &video,
        out.to_str().unwrap(),
        options().annotation(Some(AnnotationInput::new("fixed.json", fixed.clone()))),
    )
    .await
    .unwrap();
    assert_eq!((again.frames_written, again.frames_existing), (0, 10));
    assert_eq!(again.decode.frames_decoded, 0);
    assert_eq!(again.bytes_written, 0);
    assert_eq!(again.annotations_written, 10);
    let m2 = manifest(&sink, "street").await;
    assert_eq!(m2.frames, m.frames);
    check_annotations(&sink, &m2, &fixed, identity).await;
    let f12b: Value =
        serde_json::from_slice(&std::fs::read(out.join("ann/street_000012.png.json")).unwrap())
            .unwrap();
    assert_eq!(
        f12b["objects"].as_array().unwrap().len(),
        f12["objects"].as_array().unwrap().len() - 1
    );
    // Still one COCO file for the folder, rebuilt: 10 images, one instance fewer.
    let coco2: Value =
        serde_json::from_slice(&std::fs::read(out.join(COCO_FILE_NAME)).unwrap()).unwrap();
    assert_eq!(coco2["images"].as_array().unwrap().len(), 10);
    assert_eq!(
        coco2["annotations"].as_array().unwrap().len(),
        coco["annotations"].as_array().unwrap().len() - 1
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resized_frames_get_scaled_labels_and_two_videos_share_the_coco_file() {
    let dir = common::scratch("annot-resize");
    let video = street(&dir);
    let second = make_video(&dir, "street2.mp4", 60, &[]);
    let out = dir.join("ds");
    let input = input();
    let ann = input.annotation.clone();
    let options = ExtractOptions::default()
        .plan(SamplingPlan::every(5))
        .resize(Some(Resize::FitWithin { max_side: 640 }))
        .annotation(Some(input.clone()));
    let r = extract_frames(&video, out.to_str().unwrap(), options.clone())
        .await
        .unwrap();
    // Every 5th frame, annotated or not: empty frames still get an annotation.
    assert_eq!(r.frames.len(), 12);
    assert_eq!(r.annotations_written, 12);
    let sink = ObjectStoreSink::from_url(out.to_str().unwrap()).unwrap();
    let m = manifest(&sink, "street").await;
    assert!(m.frames.iter().all(|f| (f.width, f.height) == (640, 360)));
    let half = |_: &FrameRecord| {
        GeometryTransform::resize(ImageSize::new(1280, 720), ImageSize::new(640, 360)).unwrap()
    };
    check_annotations(&sink, &m, &ann, half).await;
    // Frame 10's first label (car-1's box) is scaled by ½ on pixel centres.
    let f10 = ann.frame_annotation(10, &half(&m.frames[2])).unwrap();
    let full = ann
        .frame_annotation(10, &GeometryTransform::identity(ann.size))
        .unwrap();
    if let (
        video_dataset::annotation::Geometry::Rectangle { left: a, .. },
        video_dataset::annotation::Geometry::Rectangle { left: b, .. },
    ) = (&f10.labels[0].geometry, &full.labels[0].geometry)
    {
        assert_eq!(*a, (b + 0.5) * 0.5 - 0.5);
    } else {
        panic!("frame 10's first label is car-1's rectangle");
    }

    // A second video into the same folder: one COCO file with both videos' images.
    let r2 = extract_frames(&second, out.to_str().unwrap(), options)
        .await
        .unwrap();
    let coco: Value =
        serde_json::from_slice(&std::fs::read(out.join(COCO_FILE_NAME)).unwrap()).unwrap();
    let images = coco["images"].as_array().unwrap();
    assert_eq!(images.len(), r.frames.len() + r2.frames.len());
    let ids: std::collections::BTreeSet<u64> =
        images.iter().map(|i| i["id"].as_u64().unwrap()).collect();
    assert_eq!(ids.len(), images.len(), "image ids repeat");
    assert!(
        images
            .iter()
            .any(|i| i["file_name"] == "img/street2_000010.jpg")
    );
    assert_eq!(
        coco["annotations"].as_array().unwrap().len(),
        2 * instances(&ann, &m.frames, half)
    );
    for a in coco["annotations"].as_array().unwrap() {
        let image = images.iter().find(|i| i["id"] == a["image_id"]).unwrap();
        assert_eq!(image["frame_index"], a["frame_index"]);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rotated_video_labels_are_in_display_coordinates() {
    let dir = common::scratch("annot-rot");
    let video = rotated(&dir);
    // An annotation made on the displayed (portrait) frames: coordinates stay as they are.
    let portrait = supervisely::parse_video_annotation(
        "portrait.json",
        r#"{"size": {"width": 720, "height": 1280},
            "objects": [{"key": "p", "classTitle": "person", "tags": []}],
            "frames": [{"index": 3, "figures": [{"key": "f", "objectKey": "p",
                "geometryType": "rectangle",
                "geometry": {"points": {"exterior": [[10, 900], [200, 1200]], "interior": []}}}]}]}"#,
        None,
    )
    .unwrap();
    let out = dir.join("display");
    let r = extract_frames(
        &video,
        out.to_str().unwrap(),
        ExtractOptions::default()
            .plan(SamplingPlan::indices([3]))
            .annotation(Some(AnnotationInput::new("portrait.json", portrait)))
            .coco(false),
    )
    .await
    .unwrap();
    assert_eq!((r.frames[0].width, r.frames[0].height), (720, 1280));
    let a: Value =
        serde_json::from_slice(&std::fs::read(out.join("ann/street_rot_000003.jpg.json")).unwrap())
            .unwrap();
    assert_eq!(
        a["objects"][0]["points"]["exterior"],
        serde_json::json!([[10, 900], [200, 1200]])
    );
    assert!(!out.join(COCO_FILE_NAME).exists());

    // The fixture (1280x720, the stored size) on the rotated video: rotated like the frames.
    let input = input();
    let ann = input.annotation.clone();
    let out = dir.join("stored");
    extract_frames(
        &video,
        out.to_str().unwrap(),
        ExtractOptions::default()
            .plan(SamplingPlan::indices([10, 12]))
            .annotation(Some(input)),
    )
    .await
    .unwrap();
    let sink = ObjectStoreSink::from_url(out.to_str().unwrap()).unwrap();
    let m = manifest(&sink, "street_rot").await;
    let rotation = Rotation::from_degrees(m.metadata.rotation).unwrap();
    assert!(
        matches!(rotation, Rotation::Cw90 | Rotation::Cw270),
        "{rotation:?}"
    );
    let t = move |r: &FrameRecord| {
        GeometryTransform::resize(ann.size, ImageSize::new(r.width, r.height))
            .unwrap()
            .with_stored_rotation(rotation)
    };
    check_annotations(&sink, &m, &input_ann(), t).await;
    // Hand-checked: car-1's box on frame 10, turned with the frames.
    use video_dataset::annotation::Geometry::Rectangle;
    let full = input_ann()
        .frame_annotation(10, &GeometryTransform::identity(ImageSize::new(1280, 720)))
        .unwrap();
    let Rectangle {
        left: l,
        top: t,
        right: r,
        bottom: b,
    } = full.labels[0].geometry
    else {
        panic!("car-1 is a rectangle");
    };
    let want = if rotation == Rotation::Cw90 {
        [719.0 - b, l, 719.0 - t, r]
    } else {
        [t, 1279.0 - r, b, 1279.0 - l]
    };
    let text =
        String::from_utf8(sink.read("ann/street_rot_000010.jpg.json").await.unwrap()).unwrap();
    let got = supervisely::parse_image_annotation("f10", &text, None).unwrap();
    let Rectangle {
        left,
        top,
        right,
        bottom,
    } = got.labels[0].geometry
    else {
        panic!("car-1 is a rectangle");
    };
    assert_eq!([left, top, right, bottom], want);
    assert_eq!(got.size, ImageSize::new(720, 1280));
}

fn input_ann() -> VideoAnnotation {
    (*input().annotation).clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_annotations_fail_before_anything_is_written() {
    let dir = common::scratch("annot-bad");
    let video = street(&dir);
    // Wrong size: 640x360 for a 1280x720 video.
    let small = supervisely::parse_video_annotation(
        "small.json",
        r#"{"size": {"width": 640, "height": 360}, "objects": [], "frames": []}"#,
        None,
    )
    .unwrap();
    let out = dir.join("size");
    let e = extract_frames(
        &video,
        out.to_str().unwrap(),
        ExtractOptions::default().annotation(Some(AnnotationInput::new("small.json", small))),
    )
    .await
    .unwrap_err();
    let msg = e.to_string();
    assert!(
        matches!(e, Error::Annotation { ref source_name, .. } if source_name == "small.json"),
        "{msg}"
    );
    assert!(msg.contains("640x360") && msg.contains("1280x720"), "{msg}");
    assert_eq!(files_under(&out), Vec::<PathBuf>::new());

    // Another frame count than the annotation's `framesCount` (60): another encoding.
    let short = make_video(&dir, "short.mp4", 30, &[]);
    let out = dir.join("short");
    let e = extract_frames(
        &short,
        out.to_str().unwrap(),
        ExtractOptions::default().annotation(Some(input())),
    )
    .await
    .unwrap_err();
    let msg = e.to_string();
    assert!(
        matches!(e, Error::Annotation { ref location, .. } if location == "framesCount"),
        "{msg}"
    );
    assert!(
        msg.contains("60 frames") && msg.contains("30 frames"),
        "{msg}"
    );
    assert_eq!(files_under(&out), Vec::<PathBuf>::new());

    // Without a frame count, figures past the end: the fixture has figures on frame 30, this
    // video has 30 frames.
    let uncounted = {
        let given = input();
        let mut ann = (*given.annotation).clone();
        ann.frame_count = None;
        AnnotationInput::new(given.source_name, ann)
    };
    let e = extract_frames(
        &short,
        out.to_str().unwrap(),
        ExtractOptions::default().annotation(Some(uncounted)),
    )
    .await
    .unwrap_err();
    let msg = e.to_string();
    assert!(
        matches!(e, Error::Annotation { ref source_name, .. } if source_name.ends_with("street.mp4.json")),
        "{msg}"
    );
    assert!(
        msg.contains("frame 30") && msg.contains("30 frames"),
        "{msg}"
    );
    assert_eq!(files_under(&out), Vec::<PathBuf>::new());
}

#[cfg(feature = "aws")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn annotated_extraction_into_s3() {
    let Some(url) = video_testkit::s3_test_url("annotated_extraction_into_s3") else {
        return;
    };
    let dir = common::scratch("annot-s3");
    let video = street(&dir);
    let dataset = url;
    let input = input();
    let ann = input.annotation.clone();
    let options = ExtractOptions::default()
        .folder_path("train")
        .plan(SamplingPlan::all())
        .annotation(Some(input))
        .only_annotated(true);
    let r = extract_frames(&video, &dataset, options.clone())
        .await
        .unwrap();
    assert_eq!(
        r.frames.iter().map(|f| f.index).collect::<Vec<_>>(),
        ANNOTATED
    );
    let sink = ObjectStoreSink::from_url(&dataset).unwrap();
    let m = sink
        .video_manifest(&VideoRef {
            folder: "train".into(),
            name: "street".into(),
        })
        .await
        .unwrap()
        .unwrap();
    let meta = ann.meta.for_images().unwrap();
    for f in &m.frames {
        let key = f.annotation_key.as_deref().unwrap();
        assert_eq!(
            key,
            format!(
                "train/ann/{}.json",
                f.key.strip_prefix("train/img/").unwrap()
            )
        );
        let text = String::from_utf8(sink.read(key).await.unwrap()).unwrap();
        let got = supervisely::parse_image_annotation(key, &text, Some(&meta)).unwrap();
        assert_eq!(
            got,
            expected(&ann, &meta, f, &GeometryTransform::identity(ann.size))
        );
    }
    let coco: Value =
        serde_json::from_slice(&sink.read(&format!("train/{COCO_FILE_NAME}")).await.unwrap())
            .unwrap();
    assert_eq!(coco["images"].as_array().unwrap().len(), 10);
    assert!(sink.read(META_KEY).await.is_ok());
    let again = extract_frames(&video, &dataset, options).await.unwrap();
    assert_eq!((again.frames_written, again.annotations_written), (0, 10));
}

/// The fixture annotation with every class renamed `{class}_b`, written next to `dir`'s videos,
/// read without a project meta (its classes are inferred).
fn renamed_classes(dir: &Path) -> AnnotationInput {
    let mut doc: Value = serde_json::from_slice(&std::fs::read(fixture(ANN)).unwrap()).unwrap();
    for o in doc["objects"].as_array_mut().unwrap() {
        let class = format!("{}_b", o["classTitle"].as_str().unwrap());
        o["classTitle"] = Value::String(class);
    }
    let path = dir.join("street_b.mp4.json");
    std::fs::write(&path, serde_json::to_vec(&doc).unwrap()).unwrap();
    AnnotationInput::read_supervisely(&path, None).unwrap()
}

/// Two jobs with different videos and classes into one dataset folder at once (each with its
/// own sink), several times: `meta.json` ends with the classes of both and the folder's COCO
/// file with the images and categories of both, every time.
async fn concurrent_jobs_lose_nothing(scratch: &str, dataset: impl Fn(usize) -> String) {
    let dir = common::scratch(scratch);
    let a = street(&dir);
    let b = make_video(&dir, "other.mp4", 60, &[]);
    let input_a = AnnotationInput::read_supervisely(&fixture(ANN), None).unwrap();
    let input_b = renamed_classes(&dir);
    let options = |input: &AnnotationInput| {
        ExtractOptions::default()
            .folder_path("train")
            .plan(SamplingPlan::every(10))
            .resize(Some(Resize::FitWithin { max_side: 160 }))
            .annotation(Some(input.clone()))
    };
    let classes = |input: &AnnotationInput| -> Vec<String> {
        input
            .annotation
            .meta
            .classes
            .iter()
            .map(|c| c.name.clone())
            .collect()
    };
    let mut want_classes: Vec<String> = classes(&input_a);
    want_classes.extend(classes(&input_b));
    want_classes.sort();
    for trial in 0..6 {
        let out = dataset(trial);
        let (ra, rb) = tokio::join!(
            extract_frames(&a, &out, options(&input_a)),
            extract_frames(&b, &out, options(&input_b)),
        );
        let (ra, rb) = (ra.unwrap(), rb.unwrap());
        let sink = ObjectStoreSink::from_url(&out).unwrap();
        let meta = supervisely::parse_meta(
            META_KEY,
            &String::from_utf8(sink.read(META_KEY).await.unwrap()).unwrap(),
        )
        .unwrap();
        let mut got: Vec<String> = meta.classes.iter().map(|c| c.name.clone()).collect();
        got.sort();
        assert_eq!(got, want_classes, "trial {trial}: meta.json lost classes");
        let coco: Value =
            serde_json::from_slice(&sink.read(&format!("train/{COCO_FILE_NAME}")).await.unwrap())
                .unwrap();
        let mut names: Vec<&str> = coco["images"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i["file_name"].as_str().unwrap())
            .collect();
        names.sort();
        let mut want: Vec<String> = ra
            .frames
            .iter()
            .chain(&rb.frames)
            .map(|f| f.key.strip_prefix("train/").unwrap().to_owned())
            .collect();
        want.sort();
        assert_eq!(names, want, "trial {trial}: the COCO file lost a video");
        let categories: std::collections::BTreeSet<&str> = coco["categories"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["name"].as_str().unwrap())
            .collect();
        assert!(
            categories.contains("car") && categories.contains("car_b"),
            "{categories:?}"
        );
        for name in ["street", "other"] {
            let video = VideoRef {
                folder: "train".into(),
                name: name.into(),
            };
            assert!(sink.video_manifest(&video).await.unwrap().is_some());
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_jobs_into_one_folder_lose_nothing_on_local_disk() {
    let dir = common::scratch("annot-concurrent-out");
    concurrent_jobs_lose_nothing("annot-concurrent-local", |trial| {
        dir.join(format!("ds{trial}")).display().to_string()
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_jobs_into_one_folder_lose_nothing_in_memory() {
    use std::sync::Arc;
    use video_dataset::storage::object_store::memory::InMemory;
    // `memory:///` is one store per sink; share one through `extract_frames_to`.
    let dir = common::scratch("annot-concurrent-mem");
    let a = street(&dir);
    let b = make_video(&dir, "other.mp4", 60, &[]);
    let store = Arc::new(InMemory::new());
    let sink = || ObjectStoreSink::new(store.clone(), Default::default());
    let input_a = AnnotationInput::read_supervisely(&fixture(ANN), None).unwrap();
    let input_b = renamed_classes(&dir);
    let options = |input: &AnnotationInput| {
        ExtractOptions::default()
            .plan(SamplingPlan::indices([10, 20, 30]))
            .resize(Some(Resize::FitWithin { max_side: 160 }))
            .annotation(Some(input.clone()))
    };
    for trial in 0..4 {
        let (ra, rb) = tokio::join!(
            video_dataset::extract_frames_to(&a, sink(), options(&input_a)),
            video_dataset::extract_frames_to(&b, sink(), options(&input_b)),
        );
        let (ra, rb) = (ra.unwrap(), rb.unwrap());
        let meta = String::from_utf8(sink().read(META_KEY).await.unwrap()).unwrap();
        assert!(
            meta.contains("\"car\"") && meta.contains("\"car_b\""),
            "trial {trial}: {meta}"
        );
        let coco: Value =
            serde_json::from_slice(&sink().read(COCO_FILE_NAME).await.unwrap()).unwrap();
        assert_eq!(
            coco["images"].as_array().unwrap().len(),
            ra.frames.len() + rb.frames.len(),
            "trial {trial}"
        );
    }
}

/// A store that records the keys of its writes and deletes, in order, around a real store;
/// its listings leave out the objects whose path contains `hide` (a LIST that misses them).
#[derive(Debug)]
struct Recording {
    inner: std::sync::Arc<dyn video_dataset::storage::object_store::ObjectStore>,
    log: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
    hide: Option<&'static str>,
}

impl std::fmt::Display for Recording {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Recording({})", self.inner)
    }
}

mod recording {
    use futures::StreamExt;
    use futures::stream::BoxStream;
    use video_dataset::storage::object_store::path::Path;
    use video_dataset::storage::object_store::{
        CopyOptions, GetOptions, GetResult, ListResult, MultipartUpload, ObjectMeta, ObjectStore,
        PutMultipartOptions, PutOptions, PutPayload, PutResult, Result,
    };

    #[async_trait::async_trait]
    impl ObjectStore for super::Recording {
        async fn put_opts(
            &self,
            location: &Path,
            payload: PutPayload,
            opts: PutOptions,
        ) -> Result<PutResult> {
            let r = self.inner.put_opts(location, payload, opts).await;
            if r.is_ok() {
                self.log.lock().unwrap().push(format!("put {location}"));
            }
            r
        }
        async fn put_multipart_opts(
            &self,
            location: &Path,
            opts: PutMultipartOptions,
        ) -> Result<Box<dyn MultipartUpload>> {
            self.log
                .lock()
                .unwrap()
                .push(format!("multipart {location}"));
            self.inner.put_multipart_opts(location, opts).await
        }
        async fn get_opts(&self, location: &Path, options: GetOptions) -> Result<GetResult> {
            self.inner.get_opts(location, options).await
        }
        fn delete_stream(
            &self,
            locations: BoxStream<'static, Result<Path>>,
        ) -> BoxStream<'static, Result<Path>> {
            let log = self.log.clone();
            self.inner
                .delete_stream(locations)
                .map(move |r| {
                    if let Ok(p) = &r {
                        log.lock().unwrap().push(format!("delete {p}"));
                    }
                    r
                })
                .boxed()
        }
        fn list(&self, prefix: Option<&Path>) -> BoxStream<'static, Result<ObjectMeta>> {
            let hide = self.hide;
            self.inner
                .list(prefix)
                .filter(move |m| {
                    let keep = match (m, hide) {
                        (Ok(m), Some(h)) => !m.location.as_ref().contains(h),
                        _ => true,
                    };
                    std::future::ready(keep)
                })
                .boxed()
        }
        async fn list_with_delimiter(&self, prefix: Option<&Path>) -> Result<ListResult> {
            let mut listed = self.inner.list_with_delimiter(prefix).await?;
            if let Some(h) = self.hide {
                listed.objects.retain(|m| !m.location.as_ref().contains(h));
            }
            Ok(listed)
        }
        async fn copy_opts(&self, from: &Path, to: &Path, options: CopyOptions) -> Result<()> {
            self.log.lock().unwrap().push(format!("copy {to}"));
            self.inner.copy_opts(from, to, options).await
        }
    }
}

/// With annotations, the video's manifest is its last write: after the frames, their records
/// and annotations, `meta.json` and the COCO files; a re-run in another format deletes the old
/// images (and their annotations) before it writes the manifest, and leaves none behind.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_manifest_is_the_last_write_with_annotations() {
    use std::sync::Arc;
    use video_dataset::storage::object_store::memory::InMemory;
    let dir = common::scratch("annot-order");
    let video = street(&dir);
    let store = Arc::new(Recording {
        inner: Arc::new(InMemory::new()),
        log: Arc::default(),
        hide: None,
    });
    let sink = || ObjectStoreSink::new(store.clone(), Default::default());
    let options = |format| {
        ExtractOptions::default()
            .folder_path("train")
            .plan(SamplingPlan::indices([10, 20, 40]))
            .resize(Some(Resize::FitWithin { max_side: 160 }))
            .format(format)
            .annotation(Some(input()))
    };
    for format in [ImageFormat::Png, ImageFormat::Jpeg] {
        store.log.lock().unwrap().clear();
        let r = video_dataset::extract_frames_to(&video, sink(), options(format))
            .await
            .unwrap();
        let log = store.log.lock().unwrap().clone();
        assert_eq!(
            log.last().map(String::as_str),
            Some("put train/street.scene.json"),
            "{log:#?}"
        );
        assert_eq!(
            log.iter()
                .filter(|l| l.ends_with("street.scene.json"))
                .count(),
            1
        );
        for written in [
            format!("put {META_KEY}"),
            format!("put train/{COCO_FILE_NAME}"),
            "put train/.video-dataset/street.coco.json".to_owned(),
            "put train/ann/street_000040.".to_owned(),
            "put train/img/street_000040.".to_owned(),
        ] {
            assert!(
                log.iter().any(|l| l.starts_with(&written)),
                "{written}: {log:#?}"
            );
        }
        let deletes: Vec<&String> = log.iter().filter(|l| l.starts_with("delete")).collect();
        if format == ImageFormat::Jpeg {
            assert_eq!(r.frames_redone, 3);
            // The PNGs and their annotations, gone.
            assert_eq!(deletes.len(), 6, "{log:#?}");
            assert!(deletes.iter().all(|d| d.contains(".png")), "{deletes:?}");
        } else {
            assert!(deletes.is_empty(), "{deletes:?}");
        }
    }
    let mut keys = sink().list_keys("train/img").await.unwrap();
    keys.extend(sink().list_keys("train/ann").await.unwrap());
    assert_eq!(
        keys,
        [
            "train/img/street_000010.jpg",
            "train/img/street_000020.jpg",
            "train/img/street_000040.jpg",
            "train/ann/street_000010.jpg.json",
            "train/ann/street_000020.jpg.json",
            "train/ann/street_000040.jpg.json",
        ]
    );
}

#[cfg(feature = "aws")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_jobs_into_one_folder_lose_nothing_on_s3() {
    let Some(url) = video_testkit::s3_test_url("concurrent_jobs_into_one_folder_on_s3") else {
        return;
    };
    concurrent_jobs_lose_nothing("annot-concurrent-s3", |trial| format!("{url}/ds{trial}")).await;
}

/// A LIST that misses another video's COCO part (as a slow or stale listing does) loses nothing:
/// the folder's COCO file names the videos merged into it, and the next job merges those too.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_list_that_misses_a_part_loses_no_video_from_the_coco_file() {
    use std::sync::Arc;
    use video_dataset::storage::object_store::memory::InMemory;
    let dir = common::scratch("annot-list");
    let a = street(&dir);
    let b = make_video(&dir, "other.mp4", 60, &[]);
    let store = Arc::new(InMemory::new());
    let options = ExtractOptions::default()
        .plan(SamplingPlan::indices([10, 20]))
        .resize(Some(Resize::FitWithin { max_side: 160 }))
        .annotation(Some(input()));
    let first = ObjectStoreSink::new(store.clone(), Default::default());
    video_dataset::extract_frames_to(&a, first, options.clone())
        .await
        .unwrap();
    // The second job's listings never show the first video's part.
    let blind = Arc::new(Recording {
        inner: store.clone(),
        log: Arc::default(),
        hide: Some("street.coco.json"),
    });
    let second = ObjectStoreSink::new(blind, Default::default());
    video_dataset::extract_frames_to(&b, second, options)
        .await
        .unwrap();
    let sink = ObjectStoreSink::new(store, Default::default());
    let coco: Value = serde_json::from_slice(&sink.read(COCO_FILE_NAME).await.unwrap()).unwrap();
    let mut names: Vec<&str> = coco["images"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["file_name"].as_str().unwrap())
        .collect();
    names.sort();
    assert_eq!(
        names,
        [
            "img/other_000010.jpg",
            "img/other_000020.jpg",
            "img/street_000010.jpg",
            "img/street_000020.jpg"
        ]
    );
    assert_eq!(
        coco["info"]["videos"],
        serde_json::json!(["other", "street"])
    );
}
