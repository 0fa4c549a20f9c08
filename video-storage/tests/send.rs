//! The futures of video-storage's public async functions and methods are `Send` (a host can
//! `tokio::spawn` them). Checked by the compiler: these functions are never called, a future
//! that is not `Send` fails the build of this test.
#![allow(dead_code, missing_docs)]

use std::path::Path;

use video_core::{DatasetSink as _, Demuxer, EncodedFrame, FrameRecord, VideoManifest, VideoRef};
use video_storage::{
    DatasetFileUpdate, ObjectStoreSink, StoreOptions, StoreVideo, UploadOptions, upload_video,
};

fn assert_send<T: Send>(_: T) {}

fn upload_video_is_send(sink: &ObjectStoreSink, local: &Path) {
    assert_send(upload_video(
        sink,
        local,
        "videos",
        |p| video_gst::GstDemuxer::open(p),
        UploadOptions::default(),
    ));
    // Any demuxer, picked at run time.
    assert_send(upload_video(
        sink,
        local,
        "videos",
        |p| -> video_core::Result<Box<dyn Demuxer>> {
            Ok(Box::new(video_gst::GstDemuxer::open(p)?))
        },
        UploadOptions::default(),
    ));
}

fn store_video_is_send(v: &StoreVideo, options: &StoreOptions) {
    assert_send(StoreVideo::open_url("memory:///a.mp4"));
    assert_send(StoreVideo::open_url_with("memory:///a.mp4", options));
    assert_send(v.sha256());
}

fn sink_methods_are_send(
    sink: &ObjectStoreSink,
    video: &VideoRef,
    frame: &EncodedFrame,
    record: &FrameRecord,
    manifest: &VideoManifest,
) {
    assert_send(sink.open_video("videos/a.mp4"));
    assert_send(sink.lock_video(video));
    assert_send(sink.begin_update("meta.json"));
    assert_send(sink.update_dataset_file("meta.json", |_| Ok(Vec::new())));
    assert_send(sink.read("meta.json"));
    assert_send(sink.list_keys("f"));
    assert_send(sink.manifest(video));
    assert_send(sink.video_manifest(video));
    assert_send(sink.append_scenes(&[], false));
    assert_send(sink.scene("r"));
    assert_send(sink.scenes());
    assert_send(sink.existing(video, &[0]));
    assert_send(sink.write_frame(video, frame));
    assert_send(sink.finish_video(video, manifest));
    assert_send(sink.write_annotation(video, record, b"{}"));
    assert_send(sink.write_dataset_file("k", b"{}"));
}

fn update_commit_is_send(update: DatasetFileUpdate<'_>) {
    assert_send(update.commit(Vec::new()));
}
