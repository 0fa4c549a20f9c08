//! `extract_frames` chooses the backend by content: an animated GIF (which GStreamer 1.22 cannot
//! time) is served by the pure-Rust GIF backend, and its frames are FFmpeg's, pixel for pixel.

#![allow(clippy::unwrap_used)]

mod common;

use std::process::Command;

use video_dataset::core::{Error, ImageFormat, SamplingPlan};
use video_dataset::{ExtractOptions, Resize, extract_frames};
use video_testkit::png::png_rgb;
use video_testkit::run_ok as run;

#[tokio::test]
async fn a_gif_is_extracted_with_ffmpegs_frames() {
    let dir = common::scratch("gif-job");
    // The name hides the format: the content decides.
    let gif = dir.join("anim.video");
    run(Command::new("ffmpeg")
        .args(["-v", "error", "-y", "-f", "lavfi", "-i"])
        .arg("testsrc2=size=96x64:rate=12:duration=2")
        .args([
            "-vf",
            "split[a][b];[a]palettegen[p];[b][p]paletteuse",
            "-f",
            "gif",
        ])
        .arg(&gif));
    let raw = run(Command::new("ffmpeg")
        .args(["-v", "error", "-i"])
        .arg(&gif)
        .args([
            "-fps_mode",
            "passthrough",
            "-pix_fmt",
            "rgb24",
            "-f",
            "rawvideo",
            "-",
        ]));
    let frame_bytes = 96 * 64 * 3;
    assert_eq!(raw.len(), 24 * frame_bytes, "ffmpeg decodes 24 frames");

    let out = dir.join("out");
    let options = ExtractOptions::default()
        .plan(SamplingPlan::indices([0, 5, 23]))
        .format(ImageFormat::Png);
    let report = extract_frames(&gif, out.to_str().unwrap(), options)
        .await
        .unwrap();
    assert_eq!(report.frames_written, 3);
    for record in &report.frames {
        let (w, h, rgb) = png_rgb(&out.join(&record.key));
        assert_eq!((w, h), (96, 64));
        let i = record.index as usize;
        assert!(
            rgb == raw[i * frame_bytes..(i + 1) * frame_bytes],
            "frame {i} differs from ffmpeg's"
        );
    }
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("anim.scene.json")).unwrap()).unwrap();
    assert_eq!(manifest["metadata"]["codec"], "gif");
    assert_eq!(manifest["metadata"]["frame_count"], 24);

    // Resizing is not offered for GIF: a typed error naming the file.
    let options = ExtractOptions::default().resize(Some(Resize::FitWithin { max_side: 32 }));
    let e = extract_frames(&gif, dir.join("out2").to_str().unwrap(), options)
        .await
        .unwrap_err();
    assert!(
        matches!(&e, Error::Unsupported { uri, .. } if uri.contains("anim.video")),
        "{e:?}"
    );
}
