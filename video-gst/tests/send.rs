//! The futures of video-gst's public async methods are `Send` (a host can `tokio::spawn`
//! them). Checked by the compiler: these functions are never called, a future that is not
//! `Send` fails the build of this test.
#![allow(dead_code, missing_docs)]

use video_core::Demuxer as _;
use video_gst::{DecodeOptions, GstDemuxer};

fn assert_send<T: Send>(_: T) {}

fn probe_is_send(d: &mut GstDemuxer) {
    assert_send(d.probe());
}

fn frame_table_is_send(d: &mut GstDemuxer) {
    assert_send(d.frame_table());
}

fn frame_source_is_send(d: &mut GstDemuxer) {
    assert_send(d.frame_source(DecodeOptions::default()));
}
