//! The GStreamer backend passes video-core's conformance checks, on a clip made with GStreamer
//! itself (`videotestsrc ! x264enc ! mp4mux`), so these tests need no external files.

#![allow(clippy::unwrap_used)]

use std::path::PathBuf;

use futures::StreamExt;
use gstreamer as gst;
use gstreamer::prelude::*;
use video_core::testing::assert_same_pixels;
use video_core::{
    Demuxer, Frame, FrameSource, ImageFormat, ResolvedPlan, SamplingPlan, conformance,
};
use video_gst::{DecodeOptions, GstDemuxer, Resize};
use video_image::{EncodeOptions, ImageEncoder};
use video_testkit::block_on as block;

/// 90 frames of 160x120 H.264 with B-frames and a GOP of 30, made once per test binary.
fn clip() -> PathBuf {
    static CLIP: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    CLIP.get_or_init(|| {
        gst::init().unwrap();
        let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"));
        let path = dir.join(format!("conformance-{}.mp4", std::process::id()));
        let desc = format!(
            "videotestsrc num-buffers=90 pattern=ball ! video/x-raw,width=160,height=120,framerate=30/1 ! \
             x264enc bframes=2 key-int-max=30 ! mp4mux ! filesink location={}",
            path.display()
        );
        let p = gst::parse::launch(&desc).unwrap();
        p.set_state(gst::State::Playing).unwrap();
        let bus = p.bus().unwrap();
        let msg = bus.timed_pop_filtered(gst::ClockTime::from_seconds(60), &[gst::MessageType::Eos, gst::MessageType::Error]);
        p.set_state(gst::State::Null).unwrap();
        assert!(matches!(msg.unwrap().view(), gst::MessageView::Eos(_)), "could not make the clip");
        path
    })
    .clone()
}

#[test]
fn gst_frame_source_passes_conformance() {
    let mut d = GstDemuxer::open(clip()).unwrap();
    let m = block(d.probe()).unwrap();
    assert_eq!(
        (m.width, m.height, m.frame_count, m.codec.as_str()),
        (160, 120, 90, "h264")
    );
    assert_eq!(m.keyframe_count, 3);
    assert_eq!(m.max_gop, 30);
    assert!((m.avg_fps.unwrap() - 30.0).abs() < 1e-6);
    let table = block(d.frame_table()).unwrap();
    let mut src = block(d.frame_source(DecodeOptions::default())).unwrap();
    let plan = SamplingPlan::indices([0, 1, 29, 30, 31, 59, 88, 89])
        .resolve(&table)
        .unwrap();
    let frames = block(conformance::frame_source_honours_plan(
        &mut src, &table, &plan,
    ));
    assert!(
        frames
            .iter()
            .all(|f| f.width == 160 && f.height == 120 && f.data.len() == 160 * 120 * 3)
    );
}

/// A demuxer picked at run time decodes through `Box<dyn Demuxer>`, with the frames the
/// concrete type gives.
#[test]
fn boxed_dyn_demuxer_decodes() {
    let mut d: Box<dyn Demuxer> = Box::new(GstDemuxer::open(clip()).unwrap());
    let plan = SamplingPlan::indices([0, 31, 89]);
    let frames = block(conformance::demuxer_frame_source_honours_plan(
        &mut d, &plan,
    ));
    let mut concrete = GstDemuxer::open(clip()).unwrap();
    let table = block(concrete.frame_table()).unwrap();
    let mut src = block(concrete.frame_source(DecodeOptions::default())).unwrap();
    let want: Vec<Frame> = block(
        src.frames(&plan.resolve(&table).unwrap())
            .map(|r| r.unwrap())
            .collect::<Vec<_>>(),
    );
    assert_eq!(frames.len(), want.len());
    for (a, b) in frames.iter().zip(&want) {
        assert_same_pixels(a, b, "dyn Demuxer");
    }
}

#[test]
fn sparse_plans_touch_only_the_gops_they_need() {
    let mut d = GstDemuxer::open(clip()).unwrap();
    let table = block(d.frame_table()).unwrap();
    let mut src = block(d.frame_source(DecodeOptions::default())).unwrap();
    // One frame in the last GOP: one seek, about (target - key frame) frames decoded.
    let _: Vec<_> = block(
        src.frames(&ResolvedPlan::from_indices(vec![65]))
            .collect::<Vec<_>>(),
    );
    let s = src.stats();
    assert_eq!((s.seeks, s.frames_emitted), (1, 1));
    assert!(
        s.frames_decoded <= 65 - 60 + 1 + 8,
        "decoded {} frames for frame 65",
        s.frames_decoded
    );
    // Frames in the first and last GOP: the middle GOP is skipped with a seek.
    let _: Vec<_> = block(
        src.frames(&ResolvedPlan::from_indices(vec![2, 62]))
            .collect::<Vec<_>>(),
    );
    let s = src.stats();
    assert_eq!(s.seeks, 1);
    assert!(
        s.frames_decoded <= 3 + 3 + 16,
        "decoded {} frames",
        s.frames_decoded
    );
    // Every frame: no seek at all.
    let all = SamplingPlan::all().resolve(&table).unwrap();
    let n = block(
        src.frames(&all)
            .filter(|r| futures::future::ready(r.is_ok()))
            .count(),
    );
    assert_eq!(n, 90);
    assert_eq!(src.stats().seeks, 0);
    assert_eq!(src.stats().frames_decoded, 90);
}

#[test]
fn resize_and_encode() {
    let mut d = GstDemuxer::open(clip()).unwrap();
    let mut src = block(
        d.frame_source(DecodeOptions::default().resize(Some(Resize::FitWithin { max_side: 80 }))),
    )
    .unwrap();
    assert_eq!(src.output_size(), (80, 60));
    let frames: Vec<Frame> = block(
        src.frames(&ResolvedPlan::from_indices(vec![10]))
            .map(|r| r.unwrap())
            .collect(),
    );
    assert_eq!((frames[0].width, frames[0].height), (80, 60));
    use video_core::FrameEncoder;
    for (fmt, magic) in [
        (ImageFormat::Jpeg, &[0xFF, 0xD8][..]),
        (ImageFormat::Png, &[0x89, b'P', b'N', b'G'][..]),
    ] {
        let enc = ImageEncoder::new(EncodeOptions::default().format(fmt)).unwrap();
        let img = enc.encode(&frames[0]).unwrap();
        assert!(img.bytes.starts_with(magic), "{fmt:?}");
        assert_eq!((img.width, img.height, img.info.index), (80, 60, 10));
    }
    // A resize to zero is refused up front.
    assert!(
        block(
            d.frame_source(DecodeOptions::default().resize(Some(Resize::Exact {
                width: 0,
                height: 10
            })))
        )
        .is_err()
    );
}

#[test]
fn dropping_a_stream_early_stops_decoding() {
    let mut d = GstDemuxer::open(clip()).unwrap();
    let table = block(d.frame_table()).unwrap();
    let mut src = block(d.frame_source(DecodeOptions::default().buffer_frames(2))).unwrap();
    let all = SamplingPlan::all().resolve(&table).unwrap();
    {
        let mut s = src.frames(&all);
        let first = block(s.next()).unwrap().unwrap();
        assert_eq!(first.info.index, 0);
    }
    // Give the worker a moment to notice; it must not have decoded the whole clip.
    std::thread::sleep(std::time::Duration::from_millis(300));
    assert!(
        src.stats().frames_decoded < 30,
        "decoded {} frames after the stream was dropped",
        src.stats().frames_decoded
    );
}
