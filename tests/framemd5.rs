//! `ExtractOptions::framemd5`: each stored frame's record carries the md5 of its decoded planes,
//! and it equals the line `ffmpeg -f framemd5` prints for that frame index, whatever the image
//! format, resizing and rotation. Judged against FFmpeg's output only: the corpus's framemd5
//! files (computed by FFmpeg 5.1), and ffmpeg run here on a clip it made.

#![allow(clippy::unwrap_used)]

mod common;

use std::path::{Path, PathBuf};

use video_dataset::core::{Error, FrameRecord, VideoRef, layout};
use video_dataset::{ExtractOptions, ImageFormat, ObjectStoreSink, Resize, extract_frames};
use video_testkit::fixtures::{X264_ARGS, lavfi_clip};

/// The output variants each video is extracted with.
fn variants() -> Vec<(&'static str, ImageFormat, Option<Resize>)> {
    vec![
        ("jpg", ImageFormat::Jpeg, None),
        ("png", ImageFormat::Png, None),
        (
            "jpg-small",
            ImageFormat::Jpeg,
            Some(Resize::FitWithin { max_side: 64 }),
        ),
        (
            "png-exact",
            ImageFormat::Png,
            Some(Resize::Exact {
                width: 48,
                height: 30,
            }),
        ),
    ]
}

/// Extract `indices` of `video` into `out` with `--framemd5` in every output variant, and check
/// each frame's md5 and pixel format in the report, in the stored per-frame record and in the
/// stored manifest against `expected` (FFmpeg's hashes by frame index).
fn check_video(video: &Path, out: &Path, indices: &[u64], expected: &[String], pix_fmt: &str) {
    for (name, format, resize) in variants() {
        let dataset = out.join(name);
        let options = ExtractOptions::default()
            .plan(video_dataset::SamplingPlan::indices(
                indices.iter().copied(),
            ))
            .format(format)
            .resize(resize)
            .framemd5(true);
        let report =
            video_testkit::block_on(extract_frames(video, dataset.to_str().unwrap(), options))
                .unwrap_or_else(|e| panic!("{} ({name}): {e}", video.display()));
        assert_eq!(report.frames.len(), indices.len());
        let stem = video.file_stem().unwrap().to_str().unwrap();
        let vref = VideoRef {
            folder: String::new(),
            name: stem.into(),
        };
        let sink = ObjectStoreSink::builder(dataset.to_str().unwrap())
            .build()
            .unwrap();
        let manifest = video_testkit::block_on(sink.video_manifest(&vref))
            .unwrap()
            .unwrap();
        for (i, rec) in report.frames.iter().enumerate() {
            let want = &expected[rec.index as usize];
            let got = rec.framemd5.as_ref().unwrap_or_else(|| {
                panic!("{} ({name}) frame {}: no md5", video.display(), rec.index)
            });
            assert_eq!(
                &got.md5,
                want,
                "{} ({name}) frame {}: md5 differs from ffmpeg's framemd5",
                video.display(),
                rec.index
            );
            assert_eq!(got.pix_fmt.as_deref(), Some(pix_fmt));
            if let Some(Resize::Exact { width, height }) = resize {
                assert_eq!((rec.width, rec.height), (width, height));
            }
            // The per-frame record and the manifest store it.
            let stored: FrameRecord = serde_json::from_slice(
                &std::fs::read(dataset.join(layout::record_key(&vref, rec.index))).unwrap(),
            )
            .unwrap();
            assert_eq!(stored.framemd5.as_ref(), Some(got));
            assert_eq!(manifest.frames[i].framemd5.as_ref(), Some(got));
        }
    }
}

/// Corpus files GStreamer decodes as FFmpeg does, with a sparse set of frames of each: the
/// first, the last, one in the middle and a B-frame (non-key) where the stream has them.
#[test]
fn framemd5_matches_ffmpeg_on_corpus_files() {
    let Some(corpus) = video_testkit::corpus_dir() else {
        return;
    };
    let cases: &[(&str, &[u64], &str)] = &[
        // 8-bit H.264 with B-frames (frame 2 is a B-frame).
        ("video_reader-rs/input.mp4", &[0, 2, 50, 99], "yuv420p"),
        // H.264 High 10 (frame 5 is a B-frame).
        ("torchcodec/h264_10bits.mp4", &[0, 5, 16, 29], "yuv420p10le"),
        // HEVC Main 10 (frame 3 is a B-frame).
        ("torchcodec/h265_10bits.mp4", &[0, 3, 14, 29], "yuv420p10le"),
        // Rotated 90 degrees (display-matrix), 1080p (frame 1 is a B-frame): hashed as stored.
        (
            "mediabunny/rotate-buck-bunny.mp4",
            &[0, 1, 22, 44],
            "yuv420p",
        ),
        // Rotated 180 degrees, phone VFR.
        ("moviepy/fire2.mp4", &[0, 12, 24], "yuv420p"),
        // Full range (FFmpeg's yuvj420p: the same planes as yuv420p).
        (
            "torchcodec/bt709_full_range.mp4",
            &[0, 1, 15, 29],
            "yuv420p",
        ),
        // 1x1 4:4:4.
        ("moviepy/test_video.mp4", &[0, 2, 4], "yuv444p"),
        // An MP4 edit list (frame 1 is a B-frame).
        ("mediabunny/edts.mp4", &[0, 1, 112, 224], "yuv420p"),
        // VP9 in WebM.
        ("mediabunny/trim-buck-bunny.webm", &[0, 60, 119], "yuv420p"),
    ];
    let out = common::scratch("framemd5-corpus");
    for (file, indices, pix_fmt) in cases {
        let video = corpus.join(file);
        let truth = corpus
            .join("groundtruth")
            .join(format!("{file}.s0.framemd5"));
        let expected = common::parse_framemd5(&std::fs::read_to_string(&truth).unwrap());
        assert!(
            indices.iter().all(|&i| (i as usize) < expected.len()),
            "{file}: {} frames in the ground truth",
            expected.len()
        );
        let dir = out.join(file.replace('/', "-"));
        check_video(&video, &dir, indices, &expected, pix_fmt);
    }
}

/// A clip ffmpeg makes here (H.264 with B-frames), hashed by ffmpeg here: needs no corpus (the
/// corpus test covers rotated files; FFmpeg 5.1 cannot tag one).
#[test]
fn framemd5_matches_ffmpeg_on_a_clip_it_made() {
    let dir = common::scratch("framemd5-clip");
    let clip: PathBuf = lavfi_clip(
        &dir,
        "bframes.mp4",
        "testsrc2=size=160x96:rate=25",
        &[X264_ARGS, &["-bf", "2", "-g", "12", "-frames:v", "30"]].concat(),
    );
    let expected = common::ffmpeg_framemd5(&clip);
    assert_eq!(expected.len(), 30);
    // Distinct frames: a hash that ignored the content could not pass.
    let distinct: std::collections::HashSet<_> = expected.iter().collect();
    assert_eq!(distinct.len(), 30);
    // Frames 1 and 2 are B-frames (x264 -bf 2).
    check_video(
        &clip,
        &dir.join("out"),
        &[0, 1, 2, 13, 29],
        &expected,
        "yuv420p",
    );

    // Without the option no record carries an md5; asking for it later makes those frames
    // again.
    let dataset = dir.join("later");
    let plan = || video_dataset::SamplingPlan::indices([3, 7]);
    let report = video_testkit::block_on(extract_frames(
        &clip,
        dataset.to_str().unwrap(),
        ExtractOptions::default().plan(plan()),
    ))
    .unwrap();
    assert!(report.frames.iter().all(|r| r.framemd5.is_none()));
    let json = std::fs::read_to_string(dataset.join("bframes.scene.json")).unwrap();
    assert!(!json.contains("\"framemd5\""), "{json}");
    let report = video_testkit::block_on(extract_frames(
        &clip,
        dataset.to_str().unwrap(),
        ExtractOptions::default().plan(plan()).framemd5(true),
    ))
    .unwrap();
    assert_eq!(report.frames_redone, 2);
    for r in &report.frames {
        assert_eq!(r.framemd5.as_ref().unwrap().md5, expected[r.index as usize]);
    }
    // Once stored with it, a re-run keeps them.
    let report = video_testkit::block_on(extract_frames(
        &clip,
        dataset.to_str().unwrap(),
        ExtractOptions::default().plan(plan()).framemd5(true),
    ))
    .unwrap();
    assert_eq!((report.frames_existing, report.frames_written), (2, 0));
}

/// An animated GIF has no FFmpeg decoder behind it here: the option is refused with a typed
/// error naming the file, before any frame is written.
#[test]
fn framemd5_of_a_gif_is_unsupported() {
    let dir = common::scratch("framemd5-gif");
    let gif = lavfi_clip(
        &dir,
        "anim.gif",
        "testsrc2=size=32x24:rate=10",
        &["-frames:v", "4"],
    );
    let out = dir.join("out");
    let e = video_testkit::block_on(extract_frames(
        &gif,
        out.to_str().unwrap(),
        ExtractOptions::default().framemd5(true),
    ))
    .expect_err("framemd5 of a GIF");
    assert!(
        matches!(&e, Error::Unsupported { uri, reason } if uri.contains("anim.gif") && reason.contains("framemd5")),
        "{e:?}"
    );
    let images = common::walk(&out)
        .into_iter()
        .filter(|p| p.extension().is_some_and(|x| x == "jpg"))
        .count();
    assert_eq!(images, 0);
}
