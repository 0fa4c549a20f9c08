//! Orchestration: plan → source → encoder → sink.

use std::fmt::Debug;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::{StreamExt, TryStreamExt};

use crate::{
    DatasetSink, DecodeStats, Error, FrameEncoder, FrameRecord, FrameSource, ResolvedPlan, Result,
    VideoManifest, VideoRef,
};

/// What [`extract_to_sink`] did.
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize)]
#[non_exhaustive]
pub struct ExtractReport {
    /// Frames in the plan.
    pub frames_planned: u64,
    /// Frames decoded, encoded and written now.
    pub frames_written: u64,
    /// Frames of the plan the sink already had (not decoded again).
    pub frames_existing: u64,
    /// Frames the sink had, but stored with other settings (another size or image format than
    /// [`ExtractToSinkOptions::stored_as`] asks for): made again and overwritten. Counted in
    /// `frames_written`, not in `frames_existing`.
    pub frames_redone: u64,
    /// Decoder counters (frames decoded including skipped ones, seeks).
    pub decode: DecodeStats,
    /// Encoded bytes written now.
    pub bytes_written: u64,
    /// Frame annotations written (for frames written now and frames already stored).
    pub annotations_written: u64,
    /// Records of every frame of the plan, in index order.
    pub frames: Vec<FrameRecord>,
    /// Wall time.
    #[serde(serialize_with = "secs")]
    pub elapsed: Duration,
    /// Bytes read from the video's storage, when the video was read by ranges from a store
    /// (set by the caller that knows; `None` for local files).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source_bytes_read: Option<u64>,
}

fn secs<S: serde::Serializer>(d: &Duration, s: S) -> std::result::Result<S::Ok, S::Error> {
    s.serialize_f64(d.as_secs_f64())
}

/// Produces the annotation of each stored frame, for [`extract_to_sink_opts`].
///
/// # For implementations
/// `annotate` is called once per frame of the plan, after the frame is stored (now or in an
/// earlier run), possibly from several tasks at once; `frame` is the stored image's record, so
/// its `width` and `height` are the image's size (after any resize and rotation). It returns the
/// annotation as a JSON document, which the sink stores with
/// [`DatasetSink::write_annotation`]. An error stops the run before the video's manifest is
/// written; name the annotation and the frame in it.
pub trait FrameAnnotator: Send + Sync + Debug {
    /// The annotation of the stored frame `frame`, as JSON.
    fn annotate(&self, frame: &FrameRecord) -> Result<Vec<u8>>;
}

impl<T: FrameAnnotator + ?Sized> FrameAnnotator for Arc<T> {
    fn annotate(&self, frame: &FrameRecord) -> Result<Vec<u8>> {
        (**self).annotate(frame)
    }
}

impl<T: FrameAnnotator + ?Sized> FrameAnnotator for Box<T> {
    fn annotate(&self, frame: &FrameRecord) -> Result<Vec<u8>> {
        (**self).annotate(frame)
    }
}

/// What a stored frame must be for a re-run to keep it: its record's image size and format.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct StoredFrameSpec {
    /// Image width.
    pub width: u32,
    /// Image height.
    pub height: u32,
    /// Image format, told by the stored key's extension.
    pub format: crate::ImageFormat,
}

impl StoredFrameSpec {
    /// Whether the frame `record` describes was stored this way.
    pub fn matches(&self, record: &FrameRecord) -> bool {
        record.width == self.width
            && record.height == self.height
            && record
                .key
                .rsplit_once('.')
                .is_some_and(|(_, ext)| ext.eq_ignore_ascii_case(self.format.extension()))
    }
}

/// Options of [`extract_to_sink_opts`].
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct ExtractToSinkOptions {
    /// Frames being written at once while decoding goes on (at least 1). Default: 8.
    pub writes_in_flight: usize,
    /// Writes the annotation of every frame of the plan next to it. Default: none.
    pub annotator: Option<Arc<dyn FrameAnnotator>>,
    /// How frames already stored must be to be kept. Default: `None`, every stored frame is kept
    /// whatever made it. With a spec, frames stored another way (an earlier run with another
    /// resize or format) are decoded again and overwritten, so a dataset never mixes settings.
    /// (JPEG quality is not in the record and is not compared.)
    pub stored_as: Option<StoredFrameSpec>,
    /// Every frame's record must carry the md5 of its decoded native planes
    /// ([`FrameRecord::framemd5`]), which the frame source computes (for `video_gst`, with
    /// `DecodeOptions::framemd5`). Frames stored without one are made again; a frame the source
    /// gives without one fails the run with [`Error::Unsupported`]. Default: false.
    pub framemd5: bool,
}

impl Default for ExtractToSinkOptions {
    fn default() -> Self {
        ExtractToSinkOptions {
            writes_in_flight: 8,
            annotator: None,
            stored_as: None,
            framemd5: false,
        }
    }
}

impl ExtractToSinkOptions {
    /// Set [`writes_in_flight`](Self::writes_in_flight).
    pub fn writes_in_flight(mut self, v: usize) -> Self {
        self.writes_in_flight = v;
        self
    }

    /// Set [`annotator`](Self::annotator).
    pub fn annotator(mut self, v: Option<Arc<dyn FrameAnnotator>>) -> Self {
        self.annotator = v;
        self
    }

    /// Set [`stored_as`](Self::stored_as).
    pub fn stored_as(mut self, v: Option<StoredFrameSpec>) -> Self {
        self.stored_as = v;
        self
    }

    /// Set [`framemd5`](Self::framemd5).
    pub fn framemd5(mut self, v: bool) -> Self {
        self.framemd5 = v;
        self
    }
}

/// Decode the frames of `plan` that `sink` does not have yet, encode them and store them, then
/// finish the video in the sink with `manifest` (everything but its `frames`, which are replaced
/// by the records of the plan's frames; its sampling settings' `frames_planned` is set to the
/// plan's length).
///
/// Frames the sink already has are not decoded. Frames are encoded on the blocking pool
/// ([`crate::blocking::run`]), never on the caller's task: up to `writes_in_flight` (at least 1,
/// and at most one per core) at once, handed on in plan order, so encoding the next frames
/// overlaps writing the previous ones. Up to `writes_in_flight` frames are being written at once
/// while decoding goes on; the first error stops the run. The sink's
/// `finish_video` is called only when every frame of the plan is stored, so an interrupted run
/// leaves a video that a re-run completes.
///
/// This is [`extract_to_sink_opts`] without annotations.
pub async fn extract_to_sink(
    source: &mut dyn FrameSource,
    encoder: Arc<dyn FrameEncoder>,
    sink: &dyn DatasetSink,
    video: &VideoRef,
    manifest: &VideoManifest,
    plan: &ResolvedPlan,
    writes_in_flight: usize,
) -> Result<ExtractReport> {
    let options = ExtractToSinkOptions::default().writes_in_flight(writes_in_flight);
    extract_to_sink_opts(source, encoder, sink, video, manifest, plan, &options).await
}

/// [`extract_to_sink`] with options: with an [`annotator`](ExtractToSinkOptions::annotator),
/// once every frame of the plan is stored, the annotation of every frame of the plan — written
/// now or found stored — is written with [`DatasetSink::write_annotation`] (up to
/// `writes_in_flight` at once), and its key goes in the frame's record
/// ([`FrameRecord::annotation_key`]) before the manifest is written. Annotations are cheap, so
/// they are rewritten on every run: a re-run with corrected labels refreshes them without
/// decoding anything.
pub async fn extract_to_sink_opts(
    source: &mut dyn FrameSource,
    encoder: Arc<dyn FrameEncoder>,
    sink: &dyn DatasetSink,
    video: &VideoRef,
    manifest: &VideoManifest,
    plan: &ResolvedPlan,
    options: &ExtractToSinkOptions,
) -> Result<ExtractReport> {
    let started = Instant::now();
    let mut records = sink.existing(video, plan.indices()).await?;
    let found = records.len() as u64;
    if let Some(spec) = &options.stored_as {
        records.retain(|r| spec.matches(r));
    }
    if options.framemd5 {
        records.retain(|r| r.framemd5.is_some());
    }
    let existing = records.len() as u64;
    let redone = found - existing;
    let todo = ResolvedPlan::from_indices(crate::missing_indices(plan.indices(), &records));
    let mut written = 0u64;
    let mut bytes = 0u64;
    let in_flight = options.writes_in_flight.max(1);
    // Encoding is CPU work of milliseconds a frame: more at once than there are cores only
    // holds more decoded frames in memory.
    let cores = std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get);
    let encodes_in_flight = in_flight.min(cores);
    {
        // Encode on the blocking pool as frames arrive (in order, a bounded number at once);
        // keep up to `writes_in_flight` writes running while the next frames are decoded and
        // encoded.
        let mut writes = source
            .frames(&todo)
            .map(|frame| {
                let encoder = Arc::clone(&encoder);
                async move {
                    let frame = frame?;
                    crate::blocking::run(move || encoder.encode(&frame)).await
                }
            })
            .buffered(encodes_in_flight)
            .map(|encoded| async move {
                let encoded = encoded?;
                if options.framemd5 && encoded.framemd5.is_none() {
                    return Err(Error::Unsupported {
                        uri: manifest.metadata.uri.clone(),
                        reason: format!(
                            "the md5 of the decoded planes (framemd5) of frame {}: the frame \
                             source did not compute it",
                            encoded.info.index
                        ),
                    });
                }
                let n = encoded.bytes.len() as u64;
                sink.write_frame(video, &encoded).await.map(|r| (r, n))
            })
            .buffer_unordered(in_flight);
        while let Some(done) = writes.next().await {
            let (record, n) = done?;
            bytes += n;
            records.push(record);
            written += 1;
        }
    }
    if written != todo.len() as u64 {
        return Err(Error::Decode {
            uri: manifest.metadata.uri.clone(),
            index: None,
            pts: None,
            reason: format!(
                "the frame source gave {written} frames for a plan of {}",
                todo.len()
            ),
        });
    }
    records.sort_by_key(|r| r.index);
    let mut annotations = 0u64;
    if let Some(annotator) = &options.annotator {
        // Owned records: a stream of `&FrameRecord` mapped to futures borrowing them makes the
        // whole future non-`Send` ("implementation of `FnOnce` is not general enough").
        let keys: Vec<String> = futures::stream::iter(records.clone())
            .map(|record| async move {
                let json = annotator.annotate(&record)?;
                sink.write_annotation(video, &record, &json).await
            })
            .buffered(in_flight)
            .try_collect()
            .await?;
        for (record, key) in records.iter_mut().zip(keys) {
            record.annotation_key = Some(key);
            annotations += 1;
        }
    }
    let mut manifest = manifest.clone();
    manifest.sampling.frames_planned = plan.len() as u64;
    manifest.frames = records;
    sink.finish_video(video, &manifest).await?;
    let records = manifest.frames;
    Ok(ExtractReport {
        frames_planned: plan.len() as u64,
        frames_written: written,
        frames_existing: existing,
        frames_redone: redone,
        decode: source.stats(),
        bytes_written: bytes,
        annotations_written: annotations,
        frames: records,
        elapsed: started.elapsed(),
        source_bytes_read: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ImageFormat;

    #[test]
    fn stored_frame_spec_compares_size_and_extension() {
        let spec = StoredFrameSpec {
            width: 64,
            height: 36,
            format: ImageFormat::Png,
        };
        let rec = |key: &str, width, height| FrameRecord {
            index: 0,
            pts_seconds: 0.0,
            key: key.into(),
            width,
            height,
            bytes: 1,
            content_hash: None,
            annotation_key: None,
            framemd5: None,
        };
        assert!(spec.matches(&rec("a/clip_000000.png", 64, 36)));
        assert!(spec.matches(&rec("a/clip_000000.PNG", 64, 36)));
        assert!(!spec.matches(&rec("a/clip_000000.jpg", 64, 36)));
        assert!(!spec.matches(&rec("a/clip_000000.png", 128, 72)));
        assert!(!spec.matches(&rec("a/clip_000000.png", 64, 35)));
        assert!(!spec.matches(&rec("a/clip_000000", 64, 36)));
    }
}
