//! Video preparation as a job: a web-ready copy, splits, frame-rate conversion, stored in a
//! dataset with the map of every output frame to its source frame.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use video_core::prepare::{
    FrameMap, Preparation, PrepareKind, PrepareLimits, PreparedManifest, PreparedOutput, Segment,
    SplitMode, clean_cuts, fps_map, plan_segments, segment_map,
};
use video_core::{DatasetSink, Error, Result, VideoRef, VideoSource, layout};
use video_gst::{
    AudioOutcome, CopySegment, EncoderChoice, GstDemuxer, GstDemuxerBuilder, Orientation,
    RateControl, TranscodeOptions,
};
use video_storage::{ObjectStoreSink, StoreOptions, StoreVideo};

use crate::VideoInput;
use crate::job::{Opened, describe_source, stem_of};

/// Options of [`prepare_video`].
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct PrepareOptions {
    /// What to make. Default: [`Preparation::web`] (a web-ready copy, fit within 2048 × 2048,
    /// rotation applied).
    pub preparation: Preparation,
    /// The largest source accepted, checked before anything is decoded or written. Default:
    /// [`PrepareLimits::default`] (5 GB, 36,000 frames).
    pub limits: PrepareLimits,
    /// The encoder's settings for re-encoded outputs (speed preset, quality, key-frame
    /// interval, audio, encoder element); its size limit and orientation are taken from
    /// [`preparation`](Self::preparation). Default: [`TranscodeOptions::default`].
    pub transcode: TranscodeOptions,
    /// Folder of the dataset the outputs go to (`/`-separated). Default: the top.
    pub folder_path: String,
    /// Where outputs are written before they are stored (each is removed once stored).
    /// Default: the system's temporary directory.
    pub work_dir: Option<PathBuf>,
    /// Whether to read the whole source once more to put its sha256 in the manifest.
    /// Default: false.
    pub hash_source: bool,
    /// How the dataset's store and a video given by URL are reached. Default:
    /// [`StoreOptions::default`].
    pub store: StoreOptions,
    /// Fail with [`Error::Timeout`] when probing or decoding makes no progress for this long.
    /// Default: 20 s.
    pub stall_timeout: Duration,
    /// Told about every output as soon as it is stored. Default: none.
    pub progress: Option<Arc<dyn PrepareProgress>>,
}

impl Default for PrepareOptions {
    fn default() -> Self {
        PrepareOptions {
            preparation: Preparation::web(),
            limits: PrepareLimits::default(),
            transcode: TranscodeOptions::default(),
            folder_path: String::new(),
            work_dir: None,
            hash_source: false,
            store: StoreOptions::default(),
            stall_timeout: Duration::from_secs(20),
            progress: None,
        }
    }
}

macro_rules! setter {
    ($(#[$m:meta])* $name:ident: $t:ty) => {
        $(#[$m])*
        pub fn $name(mut self, v: $t) -> Self {
            self.$name = v;
            self
        }
    };
}

impl PrepareOptions {
    /// Options making `preparation`, the rest default.
    pub fn new(preparation: Preparation) -> Self {
        PrepareOptions {
            preparation,
            ..PrepareOptions::default()
        }
    }
    setter!(
        /// Set [`preparation`](Self::preparation).
        preparation: Preparation
    );
    setter!(
        /// Set [`limits`](Self::limits).
        limits: PrepareLimits
    );
    setter!(
        /// Set [`transcode`](Self::transcode).
        transcode: TranscodeOptions
    );
    setter!(
        /// Set [`work_dir`](Self::work_dir).
        work_dir: Option<PathBuf>
    );
    setter!(
        /// Set [`hash_source`](Self::hash_source).
        hash_source: bool
    );
    setter!(
        /// Set [`store`](Self::store).
        store: StoreOptions
    );
    setter!(
        /// Set [`stall_timeout`](Self::stall_timeout).
        stall_timeout: Duration
    );
    setter!(
        /// Set [`progress`](Self::progress).
        progress: Option<Arc<dyn PrepareProgress>>
    );

    /// Set [`folder_path`](Self::folder_path).
    pub fn folder_path(mut self, v: impl Into<String>) -> Self {
        self.folder_path = v.into();
        self
    }
}

/// Follows a [`prepare_video`] job.
pub trait PrepareProgress: Send + Sync + std::fmt::Debug {
    /// The job knows how many outputs it makes (`skipped` of them were stored by an earlier
    /// run).
    fn planned(&self, outputs: usize, skipped: usize) {
        let _ = (outputs, skipped);
    }
    /// Output `output.number` is stored (file and record): a re-run will not make it again.
    fn output_stored(&self, output: &PreparedOutput);
}

/// What [`prepare_video`] did.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct PrepareReport {
    /// The key of the manifest, relative to the dataset.
    pub manifest_key: String,
    /// The manifest as stored: every output with its frame map.
    pub manifest: PreparedManifest,
    /// Outputs made by this run.
    pub outputs_written: usize,
    /// Outputs an earlier run had stored (their records matched), not made again.
    pub outputs_skipped: usize,
    /// Frames of the outputs made by this run.
    pub frames_written: u64,
    /// Bytes of the outputs made by this run.
    pub bytes_written: u64,
}

/// Prepare a video into the dataset at `dataset` (a local directory or a store URL, as
/// [`extract_frames`](crate::extract_frames) takes it): a web-ready copy, segments, or a copy
/// at another frame rate, as [`PrepareOptions::preparation`] says.
///
/// Outputs go to `{folder}/{video}.prepared/` (see
/// [`layout::prepared_output_key`](video_core::layout::prepared_output_key)), each with a
/// record once stored; the manifest, with every output's frame map (output index → source
/// index, pts), is written last. A re-run with the same settings skips the outputs already
/// stored and finishes the rest; with other settings under the same
/// [`tag`](Preparation::tag), it makes them again.
///
/// # Errors
/// Before anything is decoded or written: [`Error::TooLarge`] / [`Error::LimitExceeded`] for a
/// source over [`PrepareOptions::limits`]; [`Error::InvalidOption`] for settings that cannot
/// work; the probe's errors for a file that is not a video. Then [`Error::NoEncoder`] when no
/// H.264 encoder is installed, [`Error::Transcode`] naming the source and the output, store
/// errors naming the key. Outputs stored before an error stay stored and are skipped by a
/// re-run.
pub async fn prepare_video(
    video: impl Into<VideoInput>,
    dataset: impl AsRef<str>,
    options: PrepareOptions,
) -> Result<PrepareReport> {
    let sink = ObjectStoreSink::builder(dataset.as_ref())
        .with_store_options(options.store.clone())
        .build()?;
    run(video.into(), &sink, Some(&sink), options).await
}

/// [`prepare_video`] into a dataset sink of the caller's own (which must implement
/// [`DatasetSink::read_dataset_file`] and [`DatasetSink::write_dataset_file_from`]).
pub async fn prepare_video_into(
    video: impl Into<VideoInput>,
    sink: &dyn DatasetSink,
    options: PrepareOptions,
) -> Result<PrepareReport> {
    run(video.into(), sink, None, options).await
}

/// A finished output's record: the output and the settings it was made with.
#[derive(serde::Serialize, serde::Deserialize)]
struct OutputRecord {
    source: VideoSource,
    preparation: Preparation,
    output: PreparedOutput,
}

async fn run(
    video: VideoInput,
    sink: &dyn DatasetSink,
    store: Option<&ObjectStoreSink>,
    options: PrepareOptions,
) -> Result<PrepareReport> {
    let mut preparation = options.preparation.clone();
    preparation.validate()?;
    options.limits.validate()?;
    let transcode = options
        .transcode
        .clone()
        .max_side(preparation.max_side)
        .orientation(if preparation.rotation_applied {
            Orientation::Display
        } else {
            Orientation::Stored
        });
    if !preparation.is_stream_copy() {
        preparation = preparation.encoder_settings(describe(&transcode));
    }
    // Open, check the size, probe, check the rest: all before any work.
    let opened = match video {
        VideoInput::File(p) => Opened::File(p),
        VideoInput::Url(url) => Opened::Store(Arc::new(
            StoreVideo::open_url_with(&url, &options.store).await?,
        )),
        VideoInput::Store(v) => Opened::Store(v),
    };
    let (builder, location, size) = match &opened {
        Opened::Store(v) => (
            GstDemuxerBuilder::from_source(v.clone()),
            video_core::ByteSource::uri(v.as_ref()).to_owned(),
            video_core::ByteSource::len(v.as_ref()),
        ),
        Opened::File(p) => {
            let uri = p.display().to_string();
            let meta = {
                let (p, uri) = (p.clone(), uri.clone());
                video_core::blocking::run(move || video_core::regular_file(&p, &uri)).await?
            };
            (GstDemuxerBuilder::new(p), uri, meta.len())
        }
    };
    options.limits.check_size(&location, size)?;
    let mut demuxer: GstDemuxer = builder.with_stall_timeout(options.stall_timeout).build()?;
    let metadata = video_core::Demuxer::probe(&mut demuxer).await?;
    options.limits.check_metadata(&metadata)?;
    let table = video_core::Demuxer::frame_table(&mut demuxer).await?;
    let source = match &opened {
        Opened::File(p) => describe_source(p, options.hash_source).await?,
        Opened::Store(v) => {
            let hash = match options.hash_source {
                true => Some(v.sha256().await?),
                false => None,
            };
            VideoSource::new(location.clone())
                .size(Some(size))
                .content_hash(hash)
        }
    };
    let video = VideoRef {
        folder: options.folder_path.clone(),
        name: stem_of(&location),
    };
    layout::check_video(&video)?;
    let tag = preparation.tag();
    let manifest_key = layout::prepared_manifest_key(&video, &tag);

    // What each output shows.
    let whole = match preparation.fps {
        Some(fps) => fps_map(&table, fps)?,
        None => FrameMap::copy_of(&table, 0, table.len())?,
    };
    let segments: Vec<Segment> = match preparation.kind {
        PrepareKind::Web => vec![Segment {
            first: 0,
            end: whole.len() as u64,
            longer_than_asked: false,
        }],
        PrepareKind::Split { by, mode } => {
            let cuts = match mode {
                SplitMode::KeyFrames => Some(clean_cuts(&table)),
                SplitMode::Exact => None,
            };
            plan_segments(&whole, by, cuts.as_deref())?
        }
    };
    let single = matches!(preparation.kind, PrepareKind::Web);

    // One writer per video at a time (in a store of ours).
    let _lock = match store {
        Some(s) => Some(s.lock_video(&video).await?),
        None => None,
    };

    // Outputs an earlier run stored with these settings.
    let mut done: Vec<Option<PreparedOutput>> = Vec::with_capacity(segments.len());
    for n in 0..segments.len() {
        let key = layout::prepared_record_key(&video, &tag, n as u64);
        let record = match sink.read_dataset_file(&key).await? {
            Some(bytes) => serde_json::from_slice::<OutputRecord>(&bytes).ok(),
            None => None,
        };
        done.push(
            record
                .filter(|r| r.preparation == preparation && same_source(&r.source, &source))
                .map(|r| r.output),
        );
    }
    let skipped = done.iter().filter(|d| d.is_some()).count();
    let skipped_numbers: std::collections::BTreeSet<u64> = done
        .iter()
        .enumerate()
        .filter(|(_, d)| d.is_some())
        .map(|(n, _)| n as u64)
        .collect();
    if let Some(p) = &options.progress {
        p.planned(segments.len(), skipped);
    }

    let work = WorkDir::new(options.work_dir.as_deref(), &video.name)?;
    let mut outputs = Vec::with_capacity(segments.len());
    let pending: Vec<usize> = (0..segments.len()).filter(|&n| done[n].is_none()).collect();
    // Stream copies are made in batches, one read of the source each (a copy reads from the
    // start of the file): at most about COPY_BATCH_BYTES of source a batch, so the local
    // copies waiting to be stored stay bounded.
    let mut batched: std::collections::BTreeMap<usize, video_gst::CopyReport> = Default::default();
    let mut tried = std::collections::BTreeSet::new();
    let mut alone: std::collections::BTreeSet<usize> = std::collections::BTreeSet::new();
    let copied_as = |copy: video_gst::CopyReport| Made {
        frames: copy.frames,
        width: metadata.stored_width,
        height: metadata.stored_height,
        encoder: "copy".into(),
        audio: "none".into(),
        rotation_metadata: (metadata.rotation != 0).then_some(metadata.rotation),
        map: copy.map,
    };
    let frame_bytes = size / table.len().max(1);
    for (n, (segment, done)) in segments.iter().zip(done).enumerate() {
        let map = segment_map(&whole, segment)?;
        let seg_start = whole.frames[segment.first as usize].pts;
        if let Some(output) = done {
            outputs.push(output);
            continue;
        }
        let key = layout::prepared_output_key(&video, &tag, (!single).then_some(n as u64));
        let local = work.path(n);
        if preparation.is_stream_copy() && !tried.contains(&n) {
            let mut batch = Vec::new();
            let mut bytes = 0u64;
            for &m in pending.iter().filter(|&&m| m >= n) {
                let s = &segments[m];
                bytes += (s.end - s.first) * frame_bytes;
                if !batch.is_empty() && bytes > COPY_BATCH_BYTES {
                    break;
                }
                batch.push(m);
            }
            let copy_segments: Vec<CopySegment> = batch
                .iter()
                .map(|&m| CopySegment {
                    first: segments[m].first,
                    end: segments[m].end,
                })
                .collect();
            let paths: Vec<PathBuf> = batch.iter().map(|&m| work.path(m)).collect();
            match demuxer.copy_segments(&copy_segments, &paths).await {
                Ok(reports) => batched.extend(batch.iter().copied().zip(reports)),
                // Each is tried alone below, and re-encoded where that fails too.
                Err(Error::Unsupported { .. }) if batch.len() > 1 => alone.extend(&batch),
                // Re-encoded below.
                Err(Error::Unsupported { .. }) => {}
                Err(e) => return Err(e),
            }
            tried.extend(batch);
        }
        // A stream copy of what mp4mux cannot take (or of packets GStreamer cannot place) is
        // re-encoded instead, with the same boundaries; its record names the encoder.
        let copied = if let Some(copy) = batched.remove(&n) {
            Some(copied_as(copy))
        } else if alone.contains(&n) {
            let one = CopySegment {
                first: segment.first,
                end: segment.end,
            };
            match demuxer
                .copy_segments(&[one], std::slice::from_ref(&local))
                .await
            {
                Ok(copy) => copy.into_iter().next().map(copied_as),
                Err(Error::Unsupported { .. }) => None,
                Err(e) => return Err(e),
            }
        } else {
            None
        };
        let made = match copied {
            Some(made) => made,
            None => {
                let r = demuxer.transcode(&map, &local, &transcode).await?;
                Made {
                    frames: r.frames,
                    width: r.width,
                    height: r.height,
                    encoder: r.encoder.clone(),
                    audio: match &r.audio {
                        AudioOutcome::None => "none".into(),
                        AudioOutcome::Copied => "copied".into(),
                        _ => "aac".into(),
                    },
                    rotation_metadata: r.rotation_metadata,
                    map: map.clone(),
                }
            }
        };
        if made.frames != map.len() as u64 || made.map.frames != map.frames {
            let _ = std::fs::remove_file(&local);
            return Err(Error::Transcode {
                uri: location.clone(),
                output: key,
                reason: format!(
                    "the output holds {} frames where the plan has {}",
                    made.frames,
                    map.len()
                ),
                source: None,
            });
        }
        let bytes = sink.write_dataset_file_from(&key, &local).await;
        let _ = std::fs::remove_file(&local);
        let output = PreparedOutput {
            key,
            number: n as u64,
            frames: made.frames,
            global_frame_offset: segment.first,
            pts_offset: seg_start.as_secs_f64(),
            width: made.width,
            height: made.height,
            bytes: bytes?,
            encoder: made.encoder,
            audio: made.audio,
            rotation_metadata: made.rotation_metadata,
            longer_than_asked: segment.longer_than_asked,
            map: made.map,
        };
        let record = OutputRecord {
            source: source.clone(),
            preparation: preparation.clone(),
            output: output.clone(),
        };
        let record_key = layout::prepared_record_key(&video, &tag, n as u64);
        sink.write_dataset_file(&record_key, &to_json(&record_key, &record)?)
            .await?;
        if let Some(p) = &options.progress {
            p.output_stored(&output);
        }
        outputs.push(output);
    }
    let outputs_written = outputs.len() - skipped;
    let made: Vec<&PreparedOutput> = outputs
        .iter()
        .filter(|o| !skipped_numbers.contains(&o.number))
        .collect();
    let frames_written = made.iter().map(|o| o.frames).sum();
    let bytes_written = made.iter().map(|o| o.bytes).sum();
    let manifest = PreparedManifest::new(source, metadata, preparation, outputs);
    sink.write_dataset_file(&manifest_key, &to_json(&manifest_key, &manifest)?)
        .await?;
    Ok(PrepareReport {
        manifest_key,
        manifest,
        outputs_written,
        outputs_skipped: skipped,
        frames_written,
        bytes_written,
    })
}

/// Source bytes a batch of stream copies covers at most (estimated from the frames' share of
/// the file): the local copies of a batch wait on disk until they are stored.
const COPY_BATCH_BYTES: u64 = 1 << 30;

/// What one output came out as.
struct Made {
    frames: u64,
    width: u32,
    height: u32,
    encoder: String,
    audio: String,
    rotation_metadata: Option<u32>,
    map: FrameMap,
}

/// The encoder settings that decide a re-encoded output, as the manifest records them.
fn describe(t: &TranscodeOptions) -> String {
    let quality = match t.quality {
        RateControl::ConstantQuality(q) => format!("crf {q}"),
        RateControl::Bitrate(k) => format!("{k} kbit/s"),
        other => format!("{other:?}"),
    };
    let encoder = match &t.encoder {
        EncoderChoice::Named(e) => e.clone(),
        _ => "auto".into(),
    };
    format!(
        "h264 {encoder}, preset {}, {quality}, key frames at most {:?} apart, audio {}",
        t.speed_preset.name(),
        t.keyframe_interval,
        if t.audio { "kept" } else { "left out" }
    )
}

/// The same source file: location and size, and content hash when both have one.
fn same_source(a: &VideoSource, b: &VideoSource) -> bool {
    a.location == b.location
        && a.size == b.size
        && match (&a.content_hash, &b.content_hash) {
            (Some(x), Some(y)) => x == y,
            _ => true,
        }
}

fn to_json<T: serde::Serialize>(key: &str, value: &T) -> Result<Vec<u8>> {
    serde_json::to_vec_pretty(value).map_err(|e| Error::Backend {
        backend: "serde_json",
        uri: Some(key.to_owned()),
        element: None,
        source: Box::new(e),
    })
}

/// A private directory for one job's local outputs, removed when dropped.
struct WorkDir(PathBuf);

impl WorkDir {
    fn new(base: Option<&Path>, name: &str) -> Result<Self> {
        let base = base.map_or_else(std::env::temp_dir, Path::to_owned);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0);
        let dir = base.join(format!(
            "video-dataset-prepare-{}-{nanos}-{}",
            std::process::id(),
            name.chars()
                .filter(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
                .take(40)
                .collect::<String>()
        ));
        std::fs::create_dir_all(&dir).map_err(|source| Error::Io {
            path: dir.clone(),
            operation: "create",
            source,
        })?;
        Ok(WorkDir(dir))
    }

    fn path(&self, n: usize) -> PathBuf {
        self.0.join(format!("{n:05}.mp4"))
    }
}

impl Drop for WorkDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
