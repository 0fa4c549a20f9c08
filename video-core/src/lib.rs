//! The vocabulary and orchestration of **video-dataset**, free of any media framework or store.
//!
//! Backends implement three small, object-safe traits:
//!
//! | trait | does | GStreamer backend |
//! |---|---|---|
//! | [`Demuxer`] | probes a video and builds its [`FrameTable`] | `video_gst::GstDemuxer` |
//! | [`FrameSource`] | decodes the frames of a [`ResolvedPlan`] as a bounded stream | `video_gst::GstFrameSource` |
//! | [`DatasetSink`] | stores encoded frames and per-video manifests | `video_storage` |
//!
//! [`extract_to_sink`] ties them together; [`layout`] names every key of a stored dataset; the
//! `testing` module (feature `testing`) has in-memory implementations for tests of code built on
//! the traits.
//! [`blocking`] runs blocking work (probes, encoding, decode loops) off the caller's executor,
//! on threads of its own, for any async runtime.
//!
//! # What "frame N" means
//!
//! Frame indices are defined exactly as FFmpeg numbers frames when it decodes every frame:
//!
//! ```text
//! ffmpeg -i VIDEO -map 0:v:S -fps_mode passthrough -f framemd5 -
//! ```
//!
//! Index `N` is the `N`-th line of that output, 0-based: frames in **presentation order**,
//! counting **only frames a decoder actually outputs**. So:
//! - frames hidden by an MP4/MOV edit list, packets flagged for discard, and packets before the
//!   first key frame (an MPEG-TS cut mid-GOP) are not frames and have no index;
//! - B-frames are counted where they are shown, not where they are stored;
//! - a variable frame rate does not matter: indices count frames, not time;
//! - zero-byte "dropped frame" chunks (AVI) are not frames.
//!
//! A frame's `pts` is its presentation time on the container's timeline after edit lists. For
//! MP4/MOV with edit lists, Matroska and WebM it equals FFmpeg's `pts_time`; where a container's
//! timeline has an origin FFmpeg keeps and GStreamer removes (MPEG-TS, MP4 with a composition
//! offset but no edit list, AVI without timestamps) the two differ by a constant, and indices
//! are unaffected.
//!
//! "The frame shown at time `t`" is the last frame whose pts is `<= t`
//! ([`FrameTable::index_at_time`]); plans by time measure seconds from the first frame.
//!
//! # Example
//!
//! ```
//! use video_core::{FrameSource, FrameTable, PacketEntry, SamplingPlan, Timestamp};
//! use futures::StreamExt;
//! # async fn run(source: &mut dyn FrameSource) -> video_core::Result<()> {
//! let table = FrameTable::from_decode_order("clip.mp4", (0..100).map(|i| PacketEntry {
//!     pts: Some(Timestamp::from_nanos(i * 40_000_000)),
//!     duration: None,
//!     keyframe: i % 25 == 0,
//! }))?;
//! let plan = SamplingPlan::fps(1.0).resolve(&table)?;
//! assert_eq!(plan.indices(), [0, 25, 50, 75]);
//! // `source`: a backend's frame source for the same video (`video_gst::GstFrameSource`).
//! let frames: Vec<_> = source.frames(&plan).collect().await;
//! assert_eq!(frames.len(), 4);
//! # Ok(())
//! # }
//! ```
//!
//! # Features
//!
//! | Feature | Enables | Default |
//! |---|---|---|
//! | `conformance` | the `conformance` module of checks every backend must pass (not semver-covered) | no |
//! | `testing` | the `testing` module: `SyntheticSource`, `MemorySink`, `assert_same_pixels`, for tests of code built on the traits (not semver-covered) | no |
#![cfg_attr(docsrs, feature(doc_cfg))]
#![deny(rustdoc::broken_intra_doc_links)]

mod buffer;
mod error;
mod extract;
mod frame;
mod hash;
mod manifest;
mod metadata;
mod plan;
pub mod prepare;
mod scene;
mod source;
mod table;
mod time;
mod traits;

pub mod blocking;
#[cfg(any(feature = "conformance", test))]
pub mod conformance;
pub mod layout;
#[cfg(any(feature = "testing", test))]
pub mod testing;

pub use buffer::{FrameData, FramePool};
pub use error::{BoxError, Error, Result};
pub use extract::{
    ExtractReport, ExtractToSinkOptions, FrameAnnotator, StoredFrameSpec, extract_to_sink,
    extract_to_sink_opts,
};
pub use frame::{EncodedFrame, Frame, FrameInfo, FrameMd5, ImageFormat, PixelFormat, Plane};
pub use hash::{ContentHash, ContentHasher};
pub use layout::MANIFEST_FORMAT_VERSION;
pub use manifest::{SamplingSettings, VideoManifest, VideoSource};
pub use metadata::VideoMetadata;
pub use plan::{FnFilter, FrameFilter, ResolvedPlan, SamplingPlan, Selection};
pub use scene::{AddOutcome, DEFAULT_SCENE_CAP, SceneItem, VideoScene};
pub use source::{ByteReader, ByteSource, FileSource, open_regular_file, regular_file};
pub use table::{FrameTable, PacketEntry};
pub use time::{FrameRate, Rational, Timestamp};
pub use traits::{
    DatasetSink, DecodeStats, Demuxer, FrameEncoder, FrameRecord, FrameSource, VideoRef,
    missing_indices,
};

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{MemorySink, SyntheticSource};
    use std::sync::Arc;

    fn table(n: i64) -> FrameTable {
        FrameTable::from_decode_order(
            "t",
            (0..n).map(|i| PacketEntry {
                pts: Some(Timestamp::from_nanos(i * 40_000_000)),
                duration: None,
                keyframe: i % 10 == 0,
            }),
        )
        .unwrap()
    }

    #[derive(Debug)]
    struct RawEncoder;
    impl FrameEncoder for RawEncoder {
        fn encode(&self, frame: &Frame) -> Result<EncodedFrame> {
            Ok(EncodedFrame {
                info: frame.info,
                width: frame.width,
                height: frame.height,
                format: ImageFormat::Png,
                bytes: frame.to_packed(),
                framemd5: None,
            })
        }
    }

    /// Records the thread each frame is encoded on, and fails on one index.
    #[derive(Debug, Default)]
    struct ThreadEncoder {
        threads: std::sync::Mutex<Vec<Option<String>>>,
        fail_on: Option<u64>,
    }
    impl FrameEncoder for ThreadEncoder {
        fn encode(&self, frame: &Frame) -> Result<EncodedFrame> {
            if self.fail_on == Some(frame.info.index) {
                return Err(Error::Encode {
                    index: frame.info.index,
                    format: "png",
                    source: "refused".into(),
                });
            }
            let name = std::thread::current().name().map(str::to_owned);
            self.threads.lock().unwrap().push(name);
            RawEncoder.encode(frame)
        }
    }

    #[tokio::test(flavor = "current_thread")]
    async fn extraction_encodes_on_the_blocking_pool() {
        let t = table(60);
        let video = VideoRef {
            folder: String::new(),
            name: "clip".into(),
        };
        let meta = VideoManifest::new(VideoMetadata::new("clip.mp4"));
        let plan = SamplingPlan::every(3).resolve(&t).unwrap();
        let sink = MemorySink::new();
        let encoder = Arc::new(ThreadEncoder::default());
        let mut src = SyntheticSource::new(t.clone(), 6, 4);
        let r = extract_to_sink(&mut src, encoder.clone(), &sink, &video, &meta, &plan, 3)
            .await
            .unwrap();
        assert_eq!(r.frames_written, 20);
        let threads = encoder.threads.lock().unwrap().clone();
        assert_eq!(threads.len(), 20);
        assert!(
            threads
                .iter()
                .all(|n| n.as_deref() == Some("video-blocking")),
            "{threads:?}"
        );
        // Bytes as the encoder made them, for every frame of the plan.
        let indices: Vec<u64> = r.frames.iter().map(|f| f.index).collect();
        assert_eq!(indices, plan.indices());
        // An encoding error stops the run before the manifest.
        let failing = Arc::new(ThreadEncoder {
            fail_on: Some(30),
            ..ThreadEncoder::default()
        });
        let sink = MemorySink::new();
        let err = extract_to_sink(&mut src, failing, &sink, &video, &meta, &plan, 3)
            .await
            .unwrap_err();
        assert!(matches!(err, Error::Encode { index: 30, .. }), "{err:?}");
    }

    #[tokio::test]
    async fn synthetic_source_passes_conformance() {
        let t = table(50);
        let mut src = SyntheticSource::new(t.clone(), 8, 4);
        let plan = SamplingPlan::indices([3, 17, 42]).resolve(&t).unwrap();
        let frames = conformance::frame_source_honours_plan(&mut src, &t, &plan).await;
        assert!(frames.iter().all(|f| {
            f.to_packed()
                .iter()
                .all(|&b| b == SyntheticSource::value_of(f.info.index))
        }));
        assert_eq!(frames[0].to_packed().len(), 8 * 4 * 3);
    }

    #[tokio::test]
    async fn memory_sink_passes_conformance() {
        conformance::dataset_sink_contract(&MemorySink::new()).await;
        conformance::dataset_sink_stores_annotations(&MemorySink::new()).await;
        conformance::dataset_sink_stores_dataset_files(&MemorySink::new()).await;
    }

    /// Gives each frame a made-up md5 (its index), as a source asked for `framemd5` would.
    #[derive(Debug)]
    struct Md5Encoder;
    impl FrameEncoder for Md5Encoder {
        fn encode(&self, frame: &Frame) -> Result<EncodedFrame> {
            let mut e = RawEncoder.encode(frame)?;
            e.framemd5 = Some(FrameMd5::new(format!("{:032x}", frame.info.index), None));
            Ok(e)
        }
    }

    #[tokio::test]
    async fn framemd5_is_required_of_every_frame_when_asked() {
        let t = table(20);
        let video = VideoRef {
            folder: String::new(),
            name: "clip".into(),
        };
        let meta = VideoManifest::new(VideoMetadata::new("clip.mp4"));
        let plan = SamplingPlan::every(5).resolve(&t).unwrap();
        let sink = MemorySink::new();
        let mut src = SyntheticSource::new(t.clone(), 4, 4);
        let ask = ExtractToSinkOptions::default().framemd5(true);
        // A source that does not give it: a typed error naming the video, no manifest.
        let err = extract_to_sink_opts(
            &mut src,
            Arc::new(RawEncoder),
            &sink,
            &video,
            &meta,
            &plan,
            &ask,
        )
        .await
        .unwrap_err();
        assert!(
            matches!(&err, Error::Unsupported { uri, reason } if uri == "clip.mp4" && reason.contains("framemd5")),
            "{err:?}"
        );
        assert!(sink.manifest(&video).is_none());
        // Stored without it (now, by a run that did not ask): made again when asked.
        let r = extract_to_sink(
            &mut src,
            Arc::new(RawEncoder),
            &sink,
            &video,
            &meta,
            &plan,
            2,
        )
        .await
        .unwrap();
        assert!(r.frames.iter().all(|f| f.framemd5.is_none()));
        let r = extract_to_sink_opts(
            &mut src,
            Arc::new(Md5Encoder),
            &sink,
            &video,
            &meta,
            &plan,
            &ask,
        )
        .await
        .unwrap();
        assert_eq!((r.frames_redone, r.frames_written), (4, 4));
        let want = FrameMd5::new(format!("{:032x}", 15), None);
        assert_eq!(r.frames[3].framemd5.as_ref(), Some(&want));
        // Once there, kept.
        let r = extract_to_sink_opts(
            &mut src,
            Arc::new(Md5Encoder),
            &sink,
            &video,
            &meta,
            &plan,
            &ask,
        )
        .await
        .unwrap();
        assert_eq!((r.frames_existing, r.frames_written), (4, 0));
    }

    #[tokio::test]
    async fn extraction_skips_what_exists_and_finishes() {
        let t = table(100);
        let sink = MemorySink::new();
        let video = VideoRef {
            folder: "f".into(),
            name: "clip".into(),
        };
        let mut info = serde_json::Map::new();
        info.insert("video_name".into(), "clip.mp4".into());
        let meta = VideoManifest::new(VideoMetadata::new("clip.mp4"))
            .sampling(SamplingSettings::from_plan(&SamplingPlan::every(10)))
            .sample_info(info.clone());
        let plan = SamplingPlan::every(10).resolve(&t).unwrap();
        let mut src = SyntheticSource::new(t.clone(), 4, 4);
        let first = ResolvedPlan::from_indices(vec![0, 10, 20]);
        let r1 = extract_to_sink(
            &mut src,
            Arc::new(RawEncoder),
            &sink,
            &video,
            &meta,
            &first,
            1,
        )
        .await
        .unwrap();
        assert_eq!((r1.frames_written, r1.frames_existing), (3, 0));
        let r2 = extract_to_sink(
            &mut src,
            Arc::new(RawEncoder),
            &sink,
            &video,
            &meta,
            &plan,
            4,
        )
        .await
        .unwrap();
        assert_eq!((r2.frames_written, r2.frames_existing), (7, 3));
        assert_eq!(
            r2.decode.frames_decoded, 7,
            "existing frames were decoded again"
        );
        let m = sink.manifest(&video).unwrap();
        assert_eq!(
            m.frames.iter().map(|r| r.index).collect::<Vec<_>>(),
            plan.indices()
        );
        assert_eq!(m.sample_info, info);
        assert_eq!(m.sampling.frames_planned, 10);
        assert_eq!(m.source.location, "clip.mp4");
        assert_eq!(
            sink.frame(&video, 30).unwrap().bytes[0],
            SyntheticSource::value_of(30)
        );
    }

    /// Annotates a frame with its index, size and a version.
    #[derive(Debug)]
    struct IndexAnnotator(u32);

    impl FrameAnnotator for IndexAnnotator {
        fn annotate(&self, frame: &FrameRecord) -> Result<Vec<u8>> {
            Ok(format!(
                "[{}, {}, {}, {}]",
                frame.index, frame.width, frame.height, self.0
            )
            .into_bytes())
        }
    }

    #[tokio::test]
    async fn annotations_are_written_for_new_and_stored_frames() {
        let t = table(30);
        let sink = MemorySink::new();
        let video = VideoRef {
            folder: "f".into(),
            name: "clip".into(),
        };
        let meta = VideoManifest::new(VideoMetadata::new("clip.mp4"));
        let plan = SamplingPlan::every(10).resolve(&t).unwrap();
        let mut src = SyntheticSource::new(t.clone(), 4, 2);
        // Frame 0 is stored by an earlier run without annotations.
        extract_to_sink(
            &mut src,
            Arc::new(RawEncoder),
            &sink,
            &video,
            &meta,
            &ResolvedPlan::from_indices(vec![0]),
            1,
        )
        .await
        .unwrap();
        assert!(sink.file_keys().is_empty());
        let opts =
            |v| ExtractToSinkOptions::default().annotator(Some(Arc::new(IndexAnnotator(v)) as _));
        let r = extract_to_sink_opts(
            &mut src,
            Arc::new(RawEncoder),
            &sink,
            &video,
            &meta,
            &plan,
            &opts(1),
        )
        .await
        .unwrap();
        assert_eq!((r.frames_written, r.frames_existing), (2, 1));
        assert_eq!(r.annotations_written, 3);
        let m = sink.manifest(&video).unwrap();
        let keys: Vec<_> = m.frames.iter().map(|f| f.annotation_key.clone()).collect();
        assert_eq!(
            keys,
            [
                "f/clip_000000.png.json",
                "f/clip_000010.png.json",
                "f/clip_000020.png.json"
            ]
            .map(|k| Some(k.to_owned()))
        );
        assert_eq!(
            sink.file("f/clip_000010.png.json").unwrap(),
            b"[10, 4, 2, 1]"
        );
        // A re-run with corrected labels decodes nothing and rewrites every annotation.
        let r = extract_to_sink_opts(
            &mut src,
            Arc::new(RawEncoder),
            &sink,
            &video,
            &meta,
            &plan,
            &opts(2),
        )
        .await
        .unwrap();
        assert_eq!((r.frames_written, r.decode.frames_decoded), (0, 0));
        assert_eq!(r.annotations_written, 3);
        assert_eq!(
            sink.file("f/clip_000000.png.json").unwrap(),
            b"[0, 4, 2, 2]"
        );
        assert_eq!(sink.manifest(&video).unwrap().frames, r.frames);
    }

    /// A sink that takes a while per write and records how many writes overlap.
    #[derive(Debug, Default)]
    struct SlowSink {
        inner: MemorySink,
        now: std::sync::atomic::AtomicUsize,
        max: std::sync::atomic::AtomicUsize,
    }

    #[async_trait::async_trait]
    impl DatasetSink for SlowSink {
        async fn existing(&self, video: &VideoRef, indices: &[u64]) -> Result<Vec<FrameRecord>> {
            self.inner.existing(video, indices).await
        }
        async fn write_frame(&self, video: &VideoRef, frame: &EncodedFrame) -> Result<FrameRecord> {
            use std::sync::atomic::Ordering::SeqCst;
            let n = self.now.fetch_add(1, SeqCst) + 1;
            self.max.fetch_max(n, SeqCst);
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
            self.now.fetch_sub(1, SeqCst);
            self.inner.write_frame(video, frame).await
        }
        async fn finish_video(&self, video: &VideoRef, manifest: &VideoManifest) -> Result<()> {
            self.inner.finish_video(video, manifest).await
        }
    }

    #[tokio::test]
    async fn writes_overlap_up_to_the_limit() {
        let t = table(40);
        let sink = SlowSink::default();
        let video = VideoRef {
            folder: String::new(),
            name: "clip".into(),
        };
        let plan = SamplingPlan::all().resolve(&t).unwrap();
        let mut src = SyntheticSource::new(t.clone(), 2, 2);
        let r = extract_to_sink(
            &mut src,
            Arc::new(RawEncoder),
            &sink,
            &video,
            &VideoManifest::new(VideoMetadata::new("c")),
            &plan,
            4,
        )
        .await
        .unwrap();
        assert_eq!(r.frames_written, 40);
        assert_eq!(sink.max.load(std::sync::atomic::Ordering::SeqCst), 4);
        assert_eq!(sink.inner.manifest(&video).unwrap().frames.len(), 40);
    }
}
