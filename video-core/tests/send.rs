//! The futures of video-core's public async entry points are `Send`: a host can
//! `tokio::spawn` them or box them as `dyn Future + Send`. Checked by the compiler: these
//! functions are never called, a future that is not `Send` fails the build of this test.
#![allow(dead_code, missing_docs)]

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use video_core::{
    DatasetSink, Demuxer, ExtractReport, ExtractToSinkOptions, FrameEncoder, FrameSource,
    ResolvedPlan, Result, VideoManifest, VideoRef, extract_to_sink, extract_to_sink_opts,
};

fn assert_send<T: Send>(_: T) {}

fn extract_to_sink_is_send(
    source: &mut dyn FrameSource,
    encoder: Arc<dyn FrameEncoder>,
    sink: &dyn DatasetSink,
    video: &VideoRef,
    manifest: &VideoManifest,
    plan: &ResolvedPlan,
) {
    assert_send(extract_to_sink(
        source, encoder, sink, video, manifest, plan, 4,
    ));
}

fn extract_to_sink_opts_is_send(
    source: &mut dyn FrameSource,
    encoder: Arc<dyn FrameEncoder>,
    sink: &dyn DatasetSink,
    video: &VideoRef,
    manifest: &VideoManifest,
    plan: &ResolvedPlan,
    options: &ExtractToSinkOptions,
) {
    assert_send(extract_to_sink_opts(
        source, encoder, sink, video, manifest, plan, options,
    ));
}

/// The form the issue reported as failing: boxed as `dyn Future + Send`.
fn extract_to_sink_boxes_as_send<'a>(
    source: &'a mut dyn FrameSource,
    encoder: Arc<dyn FrameEncoder>,
    sink: &'a dyn DatasetSink,
    video: &'a VideoRef,
    manifest: &'a VideoManifest,
    plan: &'a ResolvedPlan,
    options: &'a ExtractToSinkOptions,
) -> Pin<Box<dyn Future<Output = Result<ExtractReport>> + Send + 'a>> {
    Box::pin(extract_to_sink_opts(
        source, encoder, sink, video, manifest, plan, options,
    ))
}

fn trait_futures_are_send(
    demuxer: &mut dyn Demuxer,
    sink: &dyn DatasetSink,
    video: &VideoRef,
    manifest: &VideoManifest,
) {
    assert_send(demuxer.probe());
    assert_send(sink.existing(video, &[]));
    assert_send(sink.finish_video(video, manifest));
    assert_send(sink.write_dataset_file("k", b""));
}
