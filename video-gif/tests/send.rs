//! The futures of video-gif's public async methods are `Send` (a host can `tokio::spawn`
//! them). Checked by the compiler: these functions are never called, a future that is not
//! `Send` fails the build of this test.
#![allow(dead_code, missing_docs)]

use video_core::Demuxer as _;
use video_gif::GifDemuxer;

fn assert_send<T: Send>(_: T) {}

fn probe_is_send(d: &mut GifDemuxer) {
    assert_send(d.probe());
}

fn frame_table_is_send(d: &mut GifDemuxer) {
    assert_send(d.frame_table());
}

fn frame_source_is_send(d: &mut GifDemuxer) {
    assert_send(d.frame_source());
}
