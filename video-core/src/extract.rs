//! Orchestration: plan → source → encoder → sink.

use std::time::{Duration, Instant};

use futures::StreamExt;

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
    /// Decoder counters (frames decoded including skipped ones, seeks).
    pub decode: DecodeStats,
    /// Encoded bytes written now.
    pub bytes_written: u64,
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

/// Decode the frames of `plan` that `sink` does not have yet, encode them and store them, then
/// finish the video in the sink with `manifest` (everything but its `frames`, which are replaced
/// by the records of the plan's frames; its sampling settings' `frames_planned` is set to the
/// plan's length).
///
/// Frames the sink already has are not decoded. Up to `writes_in_flight` (at least 1) frames are
/// being written at once while decoding goes on; the first error stops the run. The sink's `finish_video` is called only when
/// every frame of the plan is stored, so an interrupted run leaves a video that a re-run
/// completes.
pub async fn extract_to_sink(
    source: &mut dyn FrameSource,
    encoder: &dyn FrameEncoder,
    sink: &dyn DatasetSink,
    video: &VideoRef,
    manifest: &VideoManifest,
    plan: &ResolvedPlan,
    writes_in_flight: usize,
) -> Result<ExtractReport> {
    let started = Instant::now();
    let mut records = sink.existing(video, plan.indices()).await?;
    let existing = records.len() as u64;
    let todo = ResolvedPlan::from_indices(crate::missing_indices(plan.indices(), &records));
    let mut written = 0u64;
    let mut bytes = 0u64;
    {
        // Encode on this task as frames arrive; keep up to `writes_in_flight` writes running
        // while the next frames are decoded and encoded.
        let in_flight = writes_in_flight.max(1);
        let mut writes = source
            .frames(&todo)
            .map(|frame| {
                let encoded = frame.and_then(|f| encoder.encode(&f));
                async move {
                    let encoded = encoded?;
                    let n = encoded.bytes.len() as u64;
                    sink.write_frame(video, &encoded).await.map(|r| (r, n))
                }
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
    let mut manifest = manifest.clone();
    manifest.sampling.frames_planned = plan.len() as u64;
    manifest.frames = records;
    sink.finish_video(video, &manifest).await?;
    let records = manifest.frames;
    Ok(ExtractReport {
        frames_planned: plan.len() as u64,
        frames_written: written,
        frames_existing: existing,
        decode: source.stats(),
        bytes_written: bytes,
        frames: records,
        elapsed: started.elapsed(),
        source_bytes_read: None,
    })
}
