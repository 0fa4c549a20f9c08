//! The frame API (`Video`) against ffmpeg's numbering: every frame of a barcode fixture shows its
//! own frame number, and frame `N` handed out must show what ffmpeg's `N`-th decoded frame shows.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::Path;

use futures::StreamExt;
use video_dataset::image::{EncodeOptions, ImageEncoder};
use video_dataset::{Error, Frame, ImageFormat, SamplingPlan, Video};

#[path = "../video-gst/tests/support/mod.rs"]
mod support;

use support::barcode;
use support::ffmpeg::{ffmpeg_frame_numbers, ffprobe_frames, first_video_stream};

fn number(frame: &Frame) -> u32 {
    let plane = &frame.planes[0];
    let stride = plane.stride;
    barcode::read_barcode(
        &frame.data[plane.offset..],
        frame.width as usize,
        frame.height as usize,
        stride,
    )
    .unwrap_or_else(|| panic!("no barcode in frame {}", frame.info.index))
}

/// Presentation times in seconds of every frame ffprobe decodes, in order.
fn pts_seconds(path: &Path) -> Vec<f64> {
    let (probe, frames) = ffprobe_frames(path, first_video_stream(path));
    let (num, den) = probe.time_base;
    frames
        .iter()
        .map(|f| f.pts.or(f.best_effort_timestamp).unwrap() as f64 * num as f64 / den as f64)
        .collect()
}

/// The number an image file (JPEG or PNG) shows, decoded by ffmpeg.
fn image_number(path: &Path) -> u32 {
    let mut frames =
        support::ffmpeg::ffmpeg_rgb_frames(path, 0, support::ffmpeg::Orientation::Stored);
    let (w, h) = (frames.width, frames.height);
    let rgb = frames.next().unwrap();
    barcode::read_barcode(&rgb, w, h, w * 3)
        .unwrap_or_else(|| panic!("{}: no barcode", path.display()))
}

#[test]
fn frames_come_in_the_callers_order_with_duplicates() {
    for spec in [barcode::h264_mp4_bframes(), barcode::vfr_mp4()] {
        let path = barcode::generate(&spec);
        let truth = ffmpeg_frame_numbers(&path);
        let last = truth.len() as u64 - 1;
        common::block_on(async {
            let mut video = Video::open(&path).await.unwrap();
            assert_eq!(video.len(), truth.len() as u64, "{}", spec.name);
            let asked = [17, 3, 17, 0, last, 3, 40];
            let frames = video.frames(&asked).await.unwrap();
            assert_eq!(frames.len(), asked.len());
            for (&i, frame) in asked.iter().zip(&frames) {
                assert_eq!(frame.info.index, i, "{}", spec.name);
                assert_eq!(number(frame), truth[i as usize], "{} frame {i}", spec.name);
            }
            // The same video, asked again, one frame.
            let one = video.frame(last).await.unwrap();
            assert_eq!(number(&one), truth[last as usize]);
            assert_eq!(video.frames(&[]).await.unwrap().len(), 0);
        });
    }
}

#[test]
fn frames_at_a_time_are_the_frames_shown_then() {
    // A variable frame rate: the frame shown at t is not t × fps.
    let spec = barcode::vfr_mp4();
    let path = barcode::generate(&spec);
    let truth = ffmpeg_frame_numbers(&path);
    let pts = pts_seconds(&path);
    let start = pts[0];
    common::block_on(async {
        let mut video = Video::open(&path).await.unwrap();
        let duration = video.frame_table().duration().unwrap().as_secs_f64();
        let times = [0.0, 0.49, 1.0, 0.033, duration * 0.7, duration - 1e-3, 0.49];
        let frames = video.frames_at(&times).await.unwrap();
        for (&t, frame) in times.iter().zip(&frames) {
            // ffprobe's last frame at or before the time.
            let expected = pts.iter().rposition(|&p| p <= start + t + 1e-9).unwrap();
            assert_eq!(frame.info.index, expected as u64, "t = {t}");
            assert_eq!(number(frame), truth[expected], "t = {t}");
        }
        for bad in [-0.5, duration, duration + 3.0, f64::NAN] {
            match video.frames_at(&[0.0, bad]).await {
                Err(Error::TimeOutOfRange { seconds, uri, .. }) => {
                    assert!(seconds.is_nan() && bad.is_nan() || seconds == bad);
                    assert!(uri.contains(&spec.name), "{uri}");
                }
                other => panic!("t = {bad}: {other:?}"),
            }
        }
    });
}

#[test]
fn an_index_past_the_end_is_a_typed_error_naming_it() {
    let path = barcode::generate(&barcode::h264_mp4_bframes());
    let count = ffmpeg_frame_numbers(&path).len() as u64;
    common::block_on(async {
        let mut video = Video::open(&path).await.unwrap();
        match video.frames(&[0, count + 5, count]).await {
            Err(Error::IndexOutOfRange { index, frame_count }) => {
                assert_eq!((index, frame_count), (count + 5, count));
            }
            other => panic!("{other:?}"),
        }
        // The video is still usable after the error.
        assert_eq!(video.frame(count - 1).await.unwrap().info.index, count - 1);
    });
}

#[test]
fn frames_written_to_paths_and_as_bytes_show_the_right_numbers() {
    let path = barcode::generate(&barcode::h264_mp4_bframes());
    let truth = ffmpeg_frame_numbers(&path);
    let dir = common::scratch("video-write-frames");
    common::block_on(async {
        let mut video = Video::open(&path).await.unwrap();
        let targets = vec![
            (25, dir.join("a/25.jpg")),
            (2, dir.join("two.png")),
            (25, dir.join("again.PNG")),
            (9, dir.join("b/c/9.jpeg")),
        ];
        // A bad extension fails before anything is written.
        let mut bad = targets.clone();
        bad.push((1, dir.join("one.bmp")));
        assert!(matches!(
            video.write_frames(&bad, 90).await,
            Err(Error::InvalidPath { path, .. }) if path.ends_with("one.bmp")
        ));
        assert!(!dir.join("two.png").exists());

        video.write_frames(&targets, 90).await.unwrap();
        for (i, p) in &targets {
            assert_eq!(image_number(p), truth[*i as usize], "{}", p.display());
        }
        let leftovers: Vec<_> = common::walk(&dir)
            .into_iter()
            .filter(|p| p.to_string_lossy().contains(".tmp-"))
            .collect();
        assert!(leftovers.is_empty(), "{leftovers:?}");

        let png = ImageEncoder::new(EncodeOptions::default().format(ImageFormat::Png)).unwrap();
        let asked = [30, 1, 30];
        let images = video.encoded_frames(&asked, &png).await.unwrap();
        for (k, (&i, image)) in asked.iter().zip(&images).enumerate() {
            assert_eq!(image.info.index, i);
            let p = dir.join(format!("encoded-{k}.png"));
            std::fs::write(&p, &image.bytes).unwrap();
            assert_eq!(image_number(&p), truth[i as usize]);
        }
    });
}

#[test]
fn a_sample_streams_the_plans_frames_in_index_order() {
    let path = barcode::generate(&barcode::h264_mp4_bframes());
    let truth = ffmpeg_frame_numbers(&path);
    common::block_on(async {
        let mut video = Video::open(&path).await.unwrap();
        let mut stream = video.sample(&SamplingPlan::every(7)).await.unwrap();
        let mut seen = Vec::new();
        while let Some(frame) = stream.next().await {
            let frame = frame.unwrap();
            assert_eq!(number(&frame), truth[frame.info.index as usize]);
            seen.push(frame.info.index);
        }
        let expected: Vec<u64> = (0..truth.len() as u64).step_by(7).collect();
        assert_eq!(seen, expected);
    });
}
