//! Nucleus-style scenes appended by jobs (`ExtractOptions::scene`): one scene per video of a
//! tree, ordered as the video's frames, at the sampled frames' rate, with the video's
//! provenance as metadata; kept or updated by a re-run; refused where it cannot be right.
//! Expected frame counts and rates come from ffprobe, not from the library.

#![allow(clippy::unwrap_used)]

mod common;

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use video_dataset::core::{Rational, VideoScene};
use video_dataset::{
    Error, ExtractOptions, ImageFormat, JobSpec, JobStatus, ObjectStoreSink, SamplingPlan,
    SceneOptions, TreeOptions, VideoRef, discover_tree, extract_frames, submit,
};
use video_testkit::fixtures::{X264_ARGS, lavfi_clip};

const LONG: Duration = Duration::from_secs(300);

/// `(frames, rate num, rate den)` of the first video stream, as ffprobe counts them.
fn ffprobe(path: &Path) -> (u64, i64, i64) {
    let out = Command::new("ffprobe")
        .args([
            "-v",
            "error",
            "-select_streams",
            "v:0",
            "-count_frames",
            "-show_entries",
            "stream=nb_read_frames,r_frame_rate",
            "-of",
            "csv=p=0",
        ])
        .arg(path)
        .output()
        .unwrap();
    assert!(out.status.success(), "ffprobe {}", path.display());
    let text = String::from_utf8(out.stdout).unwrap();
    let (rate, frames) = text.trim().split_once(',').unwrap();
    let (num, den) = rate.split_once('/').unwrap();
    (
        frames.parse().unwrap(),
        num.parse().unwrap(),
        den.parse().unwrap(),
    )
}

/// A tree `a/one.mp4` (2 s) and `b/c/two.mp4` (3 s), 25 fps.
fn tree(root: &Path) {
    let clips = Path::new(env!("CARGO_TARGET_TMPDIR")).join("scene-clips");
    for (rel, seconds, src) in [
        ("a/one.mp4", "2", "testsrc2=size=64x48:rate=25"),
        ("b/c/two.mp4", "3", "smptebars=size=64x48:rate=25"),
    ] {
        let name = rel.rsplit('/').next().unwrap();
        let made = lavfi_clip(&clips, name, src, &[X264_ARGS, &["-t", seconds]].concat());
        let to = root.join(rel);
        std::fs::create_dir_all(to.parent().unwrap()).unwrap();
        std::fs::copy(made, to).unwrap();
    }
}

fn options(step: u64) -> ExtractOptions {
    ExtractOptions::default()
        .plan(SamplingPlan::every(step))
        .format(ImageFormat::Png)
}

async fn run(spec: JobSpec) {
    let job = submit(spec).unwrap();
    match job.wait(LONG).await.unwrap() {
        JobStatus::Succeeded(_) => {}
        other => panic!("job ended {other:?}"),
    }
}

/// The scene `id` matches the video's manifest and ffprobe: one item per `step`-th frame, in
/// order, each located at its image; the rate is ffprobe's over `rate_step` (the step of the
/// run that made the scene: an update keeps the rate).
async fn check_scene(
    dataset: &str,
    id: &str,
    (folder, name): (&str, &str),
    video: &Path,
    step: u64,
    rate_step: u64,
) {
    let sink = ObjectStoreSink::from_url(dataset).unwrap();
    let scene = sink
        .scene(id)
        .await
        .unwrap()
        .unwrap_or_else(|| panic!("no scene {id}"));
    let manifest = sink
        .video_manifest(&VideoRef {
            folder: folder.into(),
            name: name.into(),
        })
        .await
        .unwrap()
        .unwrap();
    let (frames, num, den) = ffprobe(video);
    let expected: Vec<u64> = (0..frames).step_by(step as usize).collect();
    let indices: Vec<u64> = scene
        .items
        .iter()
        .map(|i| i.metadata["frame_index"].as_u64().unwrap())
        .collect();
    assert_eq!(indices, expected, "{id}: items in frame order");
    let keys: Vec<&str> = manifest.frames.iter().map(|r| r.key.as_str()).collect();
    let locations: Vec<&str> = scene.items.iter().map(|i| i.location.as_str()).collect();
    assert_eq!(locations, keys, "{id}: each item at its image");
    for (item, index) in scene.items.iter().zip(&expected) {
        assert_eq!(item.reference_id, format!("{id}_{index:06}"));
        sink.read(&item.location).await.unwrap();
    }
    let rate = scene.frame_rate.unwrap();
    assert_eq!(
        rate.num * den * i64::try_from(rate_step).unwrap(),
        num * rate.den,
        "{id}: {rate} is ffprobe's {num}/{den} over {rate_step}"
    );
    assert_eq!(scene.metadata["video_name"], format!("{name}.mp4"));
    assert_eq!(
        scene.metadata["relative_path"],
        format!("{folder}/{name}.mp4")
    );
    assert!(
        scene.metadata["source_location"]
            .as_str()
            .unwrap()
            .ends_with(&format!("{name}.mp4")),
        "{:?}",
        scene.metadata
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tree_job_appends_one_scene_per_video_then_keeps_or_updates_them() {
    let dir = common::scratch("job-scenes");
    let source = dir.join("videos");
    tree(&source);
    let dataset = dir.join("dataset").display().to_string();
    let found = discover_tree(source.as_path(), &TreeOptions::default())
        .await
        .unwrap();
    let spec =
        |options: ExtractOptions| JobSpec::from_tree(dataset.clone(), &found).options(options);

    run(spec(options(5).scene(Some(SceneOptions::default())))).await;
    let sink = ObjectStoreSink::from_url(&dataset).unwrap();
    assert_eq!(sink.scenes().await.unwrap(), ["a__one", "b__c__two"]);
    let one = source.join("a/one.mp4");
    let two = source.join("b/c/two.mp4");
    check_scene(&dataset, "a__one", ("a", "one"), &one, 5, 5).await;
    check_scene(&dataset, "b__c__two", ("b/c", "two"), &two, 5, 5).await;

    // Again, with other metadata, without update: the scenes stay as they were.
    let before = sink.scene("a__one").await.unwrap().unwrap();
    let mut tagged = options(5).scene(Some(SceneOptions::default()));
    tagged.sample_info.insert("batch".into(), "second".into());
    run(spec(tagged.clone())).await;
    assert_eq!(sink.scene("a__one").await.unwrap().unwrap(), before);

    // With update: the new metadata, the same items (none twice).
    let mut updating = tagged;
    updating.scene = Some(SceneOptions::default().update(true));
    run(spec(updating)).await;
    let after = sink.scene("a__one").await.unwrap().unwrap();
    assert_eq!(after.metadata["batch"], "second");
    assert_eq!(after.items, before.items);
    check_scene(&dataset, "a__one", ("a", "one"), &one, 5, 5).await;
    check_scene(&dataset, "b__c__two", ("b/c", "two"), &two, 5, 5).await;

    // A denser plan with update: the scene gains the frames it lacked, in frame order (its
    // rate stays: an update changes metadata and adds items).
    let mut denser = options(1).scene(Some(SceneOptions::default().update(true)));
    denser.sample_info.insert("batch".into(), "third".into());
    run(spec(denser)).await;
    check_scene(&dataset, "b__c__two", ("b/c", "two"), &two, 1, 5).await;

    // No scene asked: none added.
    let other = dir.join("plain").display().to_string();
    run(JobSpec::from_tree(other.clone(), &found).options(options(5))).await;
    assert!(
        ObjectStoreSink::from_url(&other)
            .unwrap()
            .scenes()
            .await
            .unwrap()
            .is_empty()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_video_with_its_own_scene_id_and_rate_and_what_is_refused() {
    let dir = common::scratch("job-scenes-one");
    let source = dir.join("videos");
    tree(&source);
    let video = source.join("a/one.mp4");
    let dataset = dir.join("dataset").display().to_string();
    let scene = SceneOptions::default()
        .reference_id(Some("walk".into()))
        .frame_rate(Some(Rational::new(10, 1)));
    let options = ExtractOptions::default()
        .fps(2.0)
        .scene(Some(scene.clone()));
    extract_frames(video.clone(), &dataset, options.clone())
        .await
        .unwrap();
    let sink = ObjectStoreSink::from_url(&dataset).unwrap();
    let stored: VideoScene = sink.scene("walk").await.unwrap().unwrap();
    assert_eq!(stored.frame_rate, Some(Rational::new(10, 1)));
    let manifest = sink
        .video_manifest(&VideoRef {
            folder: String::new(),
            name: "one".into(),
        })
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.items.len(), manifest.frames.len());
    // Without an explicit rate: the plan's.
    extract_frames(
        video.clone(),
        &dataset,
        ExtractOptions::default().fps(2.0).scene(Some(
            SceneOptions::default().reference_id(Some("walk2".into())),
        )),
    )
    .await
    .unwrap();
    let rate = sink.scene("walk2").await.unwrap().unwrap().frame_rate;
    assert_eq!(rate, Some(Rational::new(2, 1)));

    // A fixed id for many videos: refused before anything runs.
    let found = discover_tree(source.as_path(), &TreeOptions::default())
        .await
        .unwrap();
    let refused = submit(JobSpec::from_tree(dataset.clone(), &found).options(options));
    match refused {
        Err(Error::InvalidOption { option, .. }) => assert_eq!(option, "scene.reference_id"),
        other => panic!("{:?}", other.map(|h| h.id().to_owned())),
    }

    // An id that cannot be a key: a typed error naming it, before anything is written.
    let bad = dir.join("bad");
    let err = extract_frames(
        video,
        bad.display().to_string(),
        ExtractOptions::default().fps(1.0).scene(Some(
            SceneOptions::default().reference_id(Some("a/b".into())),
        )),
    )
    .await
    .unwrap_err();
    assert!(matches!(err, Error::InvalidPath { .. }), "{err:?}");
    assert!(err.to_string().contains("a/b"), "{err}");
    let written = std::fs::read_dir(&bad).map_or(0, |d| d.count());
    assert_eq!(written, 0, "nothing written into {}", bad.display());
}
