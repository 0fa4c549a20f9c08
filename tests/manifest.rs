//! `extract_frames` writes a manifest with the video-level fields: source path, size and sha256,
//! probe metadata, sampling settings and the caller's `sample_info`.

#![allow(clippy::unwrap_used)]

mod common;

#[path = "../examples/common/mod.rs"]
mod example_common;

use sha2::{Digest, Sha256};
use video_dataset::core::{ImageFormat, Selection, VideoRef};
use video_dataset::storage::ObjectStoreSink;
use video_dataset::{ExtractOptions, Resize, extract_frames};

#[tokio::test]
async fn extract_frames_records_the_video_in_its_manifest() {
    let clip = example_common::sample_clip().unwrap();
    let out = common::scratch("manifest");
    let mut info = serde_json::Map::new();
    info.insert("dataset_name".into(), "cams".into());
    info.insert("video_name".into(), "clip 7".into());
    let options = ExtractOptions::default()
        .folder_path("train")
        .fps(2.0)
        .seconds(Some(1.0), Some(3.0))
        .format(ImageFormat::Png)
        .resize(Some(Resize::FitWithin { max_side: 64 }))
        .sample_info(info.clone())
        .hash_source(true);
    let report = extract_frames(&clip, out.to_str().unwrap(), options)
        .await
        .unwrap();
    assert_eq!(report.frames_written, 4);

    let sink = ObjectStoreSink::from_url(out.to_str().unwrap()).unwrap();
    let video = VideoRef {
        folder: "train".into(),
        name: clip.file_stem().unwrap().to_string_lossy().into_owned(),
    };
    let m = sink.video_manifest(&video).await.unwrap().unwrap();
    let bytes = std::fs::read(&clip).unwrap();
    assert_eq!(m.source.location, clip.display().to_string());
    assert_eq!(m.source.size, Some(bytes.len() as u64));
    assert_eq!(
        m.source.content_hash,
        Some(format!("sha256:{:x}", Sha256::digest(&bytes)))
    );
    assert_eq!(m.metadata.frame_count, 300);
    assert_eq!((m.metadata.width, m.metadata.height), (640, 360));
    assert_eq!(
        m.sampling.selection,
        Selection::Fps {
            fps: 2.0,
            start_seconds: Some(1.0),
            end_seconds: Some(3.0)
        }
    );
    assert_eq!(m.sampling.frames_planned, 4);
    assert_eq!(m.sampling.format, Some(ImageFormat::Png));
    assert_eq!(m.sampling.quality, None, "quality is for JPEG only");
    assert_eq!(m.sampling.resize.as_deref(), Some("max-side:64"));
    assert_eq!(m.sample_info, info);
    let idx: Vec<u64> = m.frames.iter().map(|r| r.index).collect();
    assert_eq!(idx, [30, 45, 60, 75]);
    assert!(m.frames.iter().all(|r| r.width == 64 && r.height == 36));

    // Without hash_source the hash is left out, the size is still there.
    let report = extract_frames(
        &clip,
        out.to_str().unwrap(),
        ExtractOptions::default()
            .folder_path("train")
            .fps(2.0)
            .seconds(Some(1.0), Some(3.0))
            .format(ImageFormat::Png)
            .resize(Some(Resize::FitWithin { max_side: 64 })),
    )
    .await
    .unwrap();
    assert_eq!((report.frames_written, report.frames_existing), (0, 4));
    let m = sink.video_manifest(&video).await.unwrap().unwrap();
    assert_eq!(m.source.content_hash, None);
    assert_eq!(m.source.size, Some(bytes.len() as u64));
    assert!(m.sample_info.is_empty());
}

/// A re-run with another resize or image format makes the stored frames again (a dataset never
/// mixes settings); a re-run with the same settings keeps them.
#[tokio::test]
async fn a_rerun_with_other_settings_redoes_the_frames() {
    let clip = example_common::sample_clip().unwrap();
    let out = common::scratch("settings");
    let run = |max_side: u32, format: ImageFormat| {
        let out = out.to_str().unwrap().to_owned();
        let clip = clip.clone();
        async move {
            extract_frames(
                &clip,
                &out,
                ExtractOptions::default()
                    .fps(1.0)
                    .seconds(None, Some(4.0))
                    .format(format)
                    .resize(Some(Resize::FitWithin { max_side })),
            )
            .await
            .unwrap()
        }
    };
    let sink = ObjectStoreSink::from_url(out.to_str().unwrap()).unwrap();
    let video = VideoRef {
        folder: String::new(),
        name: clip.file_stem().unwrap().to_string_lossy().into_owned(),
    };
    let first = run(64, ImageFormat::Png).await;
    assert_eq!((first.frames_written, first.frames_redone), (4, 0));
    let same = run(64, ImageFormat::Png).await;
    assert_eq!(
        (
            same.frames_written,
            same.frames_existing,
            same.frames_redone
        ),
        (0, 4, 0)
    );
    assert_eq!(same.decode.frames_decoded, 0);
    // Another size: every frame is made again, at the new size, under the same key.
    let bigger = run(128, ImageFormat::Png).await;
    assert_eq!(
        (
            bigger.frames_written,
            bigger.frames_existing,
            bigger.frames_redone
        ),
        (4, 0, 4)
    );
    let m = sink.video_manifest(&video).await.unwrap().unwrap();
    for r in &m.frames {
        assert_eq!((r.width, r.height), (128, 72));
        let png = std::fs::read(out.join(&r.key)).unwrap();
        let be = |i: usize| u32::from_be_bytes([png[i], png[i + 1], png[i + 2], png[i + 3]]);
        assert_eq!((be(16), be(20)), (128, 72), "{} was not rewritten", r.key);
    }
    // Another format: new keys, listed in the manifest.
    let jpeg = run(128, ImageFormat::Jpeg).await;
    assert_eq!((jpeg.frames_written, jpeg.frames_redone), (4, 4));
    let m = sink.video_manifest(&video).await.unwrap().unwrap();
    assert!(m.frames.iter().all(|r| r.key.ends_with(".jpg")), "{m:?}");
    // The old format's images are gone: one image per frame.
    let mut images: Vec<String> = std::fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".jpg") || n.ends_with(".png"))
        .collect();
    images.sort();
    let want: Vec<String> = m.frames.iter().map(|r| r.key.clone()).collect();
    assert_eq!(images, want);

    // A record whose image was deleted (or replaced by other bytes) is not trusted: the frame
    // is made again.
    std::fs::remove_file(out.join(&m.frames[1].key)).unwrap();
    std::fs::write(out.join(&m.frames[2].key), b"not the image").unwrap();
    let again = run(128, ImageFormat::Jpeg).await;
    assert_eq!(
        (
            again.frames_written,
            again.frames_existing,
            again.decode.frames_decoded > 0
        ),
        (2, 2, true)
    );
    let m2 = sink.video_manifest(&video).await.unwrap().unwrap();
    for r in &m2.frames {
        let bytes = std::fs::read(out.join(&r.key)).unwrap();
        assert_eq!(bytes.len() as u64, r.bytes, "{}", r.key);
        assert_eq!(
            r.content_hash.as_deref().unwrap(),
            format!("sha256:{:x}", Sha256::digest(&bytes))
        );
    }
}

/// Options that cannot work are `InvalidOption` naming the option, before anything is written.
#[tokio::test]
async fn invalid_options_are_named() {
    let clip = example_common::sample_clip().unwrap();
    let out = common::scratch("bad-options");
    let cases = [
        ("quality", ExtractOptions::default().quality(0)),
        ("quality", ExtractOptions::default().quality(101)),
        (
            "writes_in_flight",
            ExtractOptions::default().writes_in_flight(0),
        ),
        (
            "resize",
            ExtractOptions::default().resize(Some(Resize::Exact {
                width: 0,
                height: 10,
            })),
        ),
        (
            "resize",
            ExtractOptions::default().resize(Some(Resize::FitWithin { max_side: 0 })),
        ),
    ];
    for (name, options) in cases {
        let e = extract_frames(&clip, out.to_str().unwrap(), options)
            .await
            .unwrap_err();
        assert!(
            matches!(e, video_dataset::Error::InvalidOption { ref option, .. } if option == name),
            "{name}: {e:?}"
        );
    }
    assert_eq!(std::fs::read_dir(&out).unwrap().count(), 0);
}
