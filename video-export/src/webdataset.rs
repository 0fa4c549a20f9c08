//! WebDataset tar shards made from an extracted dataset, for the `webdataset` Python package
//! (and any reader of plain tar files).
//!
//! # What is written
//!
//! [`write_webdataset`] reads the frames of the given videos' manifests through a
//! [`DatasetSink`] and writes, under `{folder}/webdataset/`:
//!
//! - shards `{name}-{n:06}.tar` ([`layout::webdataset_shard_key`]), `n` from 0. Each frame is
//!   one sample of two members: `{key}.{ext}`, the stored image's bytes as they are (`ext` is the
//!   image key's extension, lower-cased: `jpg`, `png`), then `{key}.json`, the frame's record
//!   (see [below](#the-json-member)). The sample key is [`layout::webdataset_sample_key`]:
//!   `{folder}/{video}_{index:06}`, the video name's dots escaped (WebDataset splits a base
//!   name at its first dot), unique across the dataset. A shard holds whole samples, in order,
//!   up to [`shard_max_bytes`](WebDatasetOptions::shard_max_bytes) (the whole tar file, end
//!   blocks included) and [`shard_max_samples`](WebDatasetOptions::shard_max_samples); a sample
//!   larger than the limit alone gets a shard of its own.
//! - then, last, the index `{name}.json` ([`layout::webdataset_index_key`]): the format
//!   ([`layout::WEBDATASET_FORMAT`]), the settings, the shards with their keys, sample counts and
//!   sizes, a brace pattern for `webdataset.WebDataset`, and the videos with their sample counts.
//!   A reader that finds the index finds every shard it lists whole.
//!
//! Samples come in the order of the videos given, and each video's frames in index order.
//! Tar headers carry fixed metadata (mode `0644`, owner 0, a fixed modification time), and the
//! index holds no time: the same dataset and options give byte-identical shards and index, so
//! a re-run rewrites the same bytes. A re-run that makes fewer shards than an earlier one
//! leaves the earlier run's higher-numbered shards in place (a [`DatasetSink`] cannot delete):
//! the index lists the shards of the export.
//!
//! Each shard is built in a temporary file in [`work_dir`](WebDatasetOptions::work_dir) and
//! stored with [`DatasetSink::write_dataset_file_from`] (a multipart upload on object stores):
//! memory holds at most [`reads_in_flight`](WebDatasetOptions::reads_in_flight) samples, never
//! a shard, and a stopped run leaves whole shards only (the temporary file is removed). File
//! writes run on [`video_core::blocking`]'s pool, not on the caller's executor.
//!
//! # The JSON member
//!
//! One object: the frame's [`FrameRecord`] fields (`index`, `pts_seconds`, `width`, `height`,
//! `bytes`, `content_hash`, `framemd5`, `annotation_key` when set) with the record's `key` as
//! `image_key`; `sample_key`; `annotation`, the frame's stored annotation (the JSON document at
//! the record's `annotation_key`, as stored: a Supervisely image annotation) or `null` when the
//! record names none; and `video`: `folder`, `name`, `source` (where the video was read from),
//! `width`, `height`, `fps` (average), `frame_count`, `duration_seconds`, `codec`, `rotation`
//! and the caller's `sample_info`.
//!
//! ```no_run
//! # use video_core::{DatasetSink, VideoManifest, VideoRef};
//! # async fn run(sink: &dyn DatasetSink, videos: Vec<(VideoRef, VideoManifest)>)
//! # -> video_core::Result<()> {
//! use video_export::{WebDatasetOptions, write_webdataset};
//! // `videos`: the manifests of a folder, e.g. `ObjectStoreSink::video_manifests("train")`.
//! let options = WebDatasetOptions::default()
//!     .folder("train")
//!     .shard_max_bytes(64 << 20);
//! let report = write_webdataset(sink, &videos, &options).await?;
//! println!("{} samples in {} shards", report.samples, report.shards.len());
//! # Ok(()) }
//! ```

mod tar;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use futures::{StreamExt as _, TryStreamExt as _};
use serde_json::{Map, Value, json};
use video_core::{DatasetSink, Error, FrameRecord, Result, VideoManifest, VideoRef, layout};

/// The default [`shard_max_bytes`](WebDatasetOptions::shard_max_bytes): 256 MiB.
pub const DEFAULT_SHARD_MAX_BYTES: u64 = 256 << 20;

/// The default [`name`](WebDatasetOptions::name) of an export: `frames`.
pub const DEFAULT_NAME: &str = "frames";

/// The default [`reads_in_flight`](WebDatasetOptions::reads_in_flight).
pub const DEFAULT_READS_IN_FLIGHT: usize = 16;

/// How [`write_webdataset`] cuts and names shards.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct WebDatasetOptions {
    /// The dataset folder the export goes into (`{folder}/webdataset/`); `""` for the top.
    /// Default `""`.
    pub folder: String,
    /// The export's name: shards `{name}-{n:06}.tar`, index `{name}.json`. Default
    /// [`DEFAULT_NAME`].
    pub name: String,
    /// The most bytes a shard file holds (headers, padding and end blocks included), unless one
    /// sample alone is larger. Default [`DEFAULT_SHARD_MAX_BYTES`].
    pub shard_max_bytes: u64,
    /// The most samples a shard holds, if any. Default `None`.
    pub shard_max_samples: Option<u64>,
    /// Where shards are built before they are stored (created if missing). Default: the
    /// system's temporary directory.
    pub work_dir: Option<PathBuf>,
    /// Samples (image and annotation) read ahead from the dataset at once. Default
    /// [`DEFAULT_READS_IN_FLIGHT`].
    pub reads_in_flight: usize,
}

impl Default for WebDatasetOptions {
    fn default() -> Self {
        WebDatasetOptions {
            folder: String::new(),
            name: DEFAULT_NAME.to_owned(),
            shard_max_bytes: DEFAULT_SHARD_MAX_BYTES,
            shard_max_samples: None,
            work_dir: None,
            reads_in_flight: DEFAULT_READS_IN_FLIGHT,
        }
    }
}

impl WebDatasetOptions {
    /// Set [`folder`](Self::folder).
    pub fn folder(mut self, v: impl Into<String>) -> Self {
        self.folder = v.into();
        self
    }

    /// Set [`name`](Self::name).
    pub fn name(mut self, v: impl Into<String>) -> Self {
        self.name = v.into();
        self
    }

    /// Set [`shard_max_bytes`](Self::shard_max_bytes).
    pub fn shard_max_bytes(mut self, v: u64) -> Self {
        self.shard_max_bytes = v;
        self
    }

    /// Set [`shard_max_samples`](Self::shard_max_samples).
    pub fn shard_max_samples(mut self, v: Option<u64>) -> Self {
        self.shard_max_samples = v;
        self
    }

    /// Set [`work_dir`](Self::work_dir).
    pub fn work_dir(mut self, v: Option<PathBuf>) -> Self {
        self.work_dir = v;
        self
    }

    /// Set [`reads_in_flight`](Self::reads_in_flight).
    pub fn reads_in_flight(mut self, v: usize) -> Self {
        self.reads_in_flight = v;
        self
    }

    fn check(&self) -> Result<()> {
        let invalid = |option: &str, reason: String| {
            Err(Error::InvalidOption {
                option: option.to_owned(),
                reason,
            })
        };
        if self.shard_max_bytes == 0 {
            return invalid("shard_max_bytes", "0: a shard must hold something".into());
        }
        if self.shard_max_samples == Some(0) {
            return invalid("shard_max_samples", "0: a shard must hold a sample".into());
        }
        if self.reads_in_flight == 0 {
            return invalid("reads_in_flight", "0: nothing would be read".into());
        }
        layout::check_id(&self.name, "an export name")?;
        if !self.folder.is_empty() {
            layout::check_key(&self.folder)?;
        }
        Ok(())
    }
}

/// One stored shard.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[non_exhaustive]
pub struct ShardInfo {
    /// Its key in the dataset ([`layout::webdataset_shard_key`]).
    pub key: String,
    /// Samples in it.
    pub samples: u64,
    /// Its size in bytes.
    pub bytes: u64,
    /// The key of its first sample.
    pub first_sample: String,
    /// The key of its last sample.
    pub last_sample: String,
}

/// What [`write_webdataset`] wrote.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
#[non_exhaustive]
pub struct WebDatasetReport {
    /// The key of the index, written last ([`layout::webdataset_index_key`]).
    pub index_key: String,
    /// The shards, in order.
    pub shards: Vec<ShardInfo>,
    /// Samples (frames) in all shards.
    pub samples: u64,
    /// Samples with an annotation.
    pub annotated: u64,
    /// Bytes of all shards.
    pub bytes: u64,
}

/// One frame read from the dataset, ready to append.
struct Sample {
    key: String,
    image_name: String,
    image: Vec<u8>,
    json_name: String,
    json: Vec<u8>,
    annotated: bool,
}

impl Sample {
    /// The bytes the sample takes in a tar file.
    fn tar_len(&self) -> Result<u64> {
        Ok(tar::member_len(&self.image_name, self.image.len() as u64)?
            + tar::member_len(&self.json_name, self.json.len() as u64)?)
    }
}

/// Write the frames of `videos` (each video with its manifest, as
/// `ObjectStoreSink::video_manifests` lists them) as WebDataset shards and their index into
/// the dataset of `sink`; see the [module](self) for what is written.
///
/// # Errors
/// - [`Error::InvalidOption`] for options that cannot work (a zero size), or a video given
///   twice; [`Error::InvalidPath`] for a bad folder, name or video;
/// - [`Error::NotFound`] naming the key of an image or annotation the manifest lists that the
///   dataset does not have; [`Error::Annotation`] for an annotation that is not JSON;
/// - [`Error::Io`] naming the temporary file; the sink's errors. Shards stored before an error
///   stay; the index is not written.
pub async fn write_webdataset(
    sink: &dyn DatasetSink,
    videos: &[(VideoRef, VideoManifest)],
    options: &WebDatasetOptions,
) -> Result<WebDatasetReport> {
    options.check()?;
    let mut seen = BTreeSet::new();
    for (video, manifest) in videos {
        layout::check_video(video)?;
        if !seen.insert(video) {
            return Err(Error::InvalidOption {
                option: "videos".into(),
                reason: format!(
                    "video {:?} of folder {:?} is given twice",
                    video.name, video.folder
                ),
            });
        }
        if let Some(w) = manifest
            .frames
            .windows(2)
            .find(|w| w[0].index >= w[1].index)
        {
            return Err(Error::Unsupported {
                uri: layout::manifest_key(video),
                reason: format!(
                    "frames are not in increasing index order ({} then {})",
                    w[0].index, w[1].index
                ),
            });
        }
    }
    let work_dir = options.work_dir.clone().unwrap_or_else(std::env::temp_dir);
    std::fs::create_dir_all(&work_dir).map_err(|source| Error::Io {
        path: work_dir.clone(),
        operation: "create directory",
        source,
    })?;
    let mut samples = futures::stream::iter(
        videos
            .iter()
            .flat_map(|(v, m)| m.frames.iter().map(move |r| (v, m, r))),
    )
    .map(|(video, manifest, record)| read_sample(sink, video, manifest, record))
    .buffered(options.reads_in_flight);

    let mut shards: Vec<ShardInfo> = Vec::new();
    let mut open: Option<OpenShard> = None;
    let mut annotated = 0;
    while let Some(sample) = samples.try_next().await? {
        let len = sample.tar_len()?;
        let full = open.as_ref().is_some_and(|shard| {
            shard.len + len + tar::END_LEN > options.shard_max_bytes
                || options.shard_max_samples == Some(shard.samples)
        });
        if full && let Some(shard) = open.take() {
            shards.push(shard.store(sink).await?);
        }
        let shard = match &mut open {
            Some(s) => s,
            None => open.insert(OpenShard::create(
                &work_dir,
                layout::webdataset_shard_key(&options.folder, &options.name, shards.len() as u64),
            )?),
        };
        annotated += u64::from(sample.annotated);
        shard.append(sample).await?;
    }
    if let Some(shard) = open.take() {
        shards.push(shard.store(sink).await?);
    }

    let index_key = layout::webdataset_index_key(&options.folder, &options.name);
    let report = WebDatasetReport {
        index_key: index_key.clone(),
        samples: shards.iter().map(|s| s.samples).sum(),
        bytes: shards.iter().map(|s| s.bytes).sum(),
        annotated,
        shards,
    };
    let index = index_json(videos, options, &report);
    let bytes = serde_json::to_vec_pretty(&index).map_err(|e| Error::Backend {
        backend: "serde_json",
        uri: Some(index_key.clone()),
        element: None,
        source: Box::new(e),
    })?;
    sink.write_dataset_file(&index_key, &bytes).await?;
    Ok(report)
}

/// The index document.
fn index_json(
    videos: &[(VideoRef, VideoManifest)],
    options: &WebDatasetOptions,
    report: &WebDatasetReport,
) -> Value {
    let pattern = match report.shards.len() {
        0 => Value::Null,
        1 => json!(format!("{}-{:06}.tar", options.name, 0)),
        n => json!(format!("{}-{{{:06}..{:06}}}.tar", options.name, 0, n - 1)),
    };
    json!({
        "format": layout::WEBDATASET_FORMAT,
        "format_version": layout::WEBDATASET_FORMAT_VERSION,
        "name": options.name,
        "folder": options.folder,
        "settings": {
            "shard_max_bytes": options.shard_max_bytes,
            "shard_max_samples": options.shard_max_samples,
        },
        "samples": report.samples,
        "annotated": report.annotated,
        "bytes": report.bytes,
        "pattern": pattern,
        "shards": report.shards,
        "videos": videos.iter().map(|(v, m)| json!({
            "folder": v.folder,
            "name": v.name,
            "manifest_key": layout::manifest_key(v),
            "samples": m.frames.len(),
        })).collect::<Vec<_>>(),
    })
}

/// Read frame `record`'s image and annotation and make its sample.
async fn read_sample(
    sink: &dyn DatasetSink,
    video: &VideoRef,
    manifest: &VideoManifest,
    record: &FrameRecord,
) -> Result<Sample> {
    let key = layout::webdataset_sample_key(video, record.index);
    let image = read_required(sink, &record.key).await?;
    let annotation = match &record.annotation_key {
        Some(k) => {
            let bytes = read_required(sink, k).await?;
            Some(
                serde_json::from_slice::<Value>(&bytes).map_err(|e| Error::Annotation {
                    source_name: k.clone(),
                    location: String::new(),
                    reason: "not JSON".into(),
                    source: Some(Box::new(e)),
                })?,
            )
        }
        None => None,
    };
    let annotated = annotation.is_some();
    let json = serde_json::to_vec(&sample_json(&key, video, manifest, record, annotation))
        .map_err(|e| Error::Backend {
            backend: "serde_json",
            uri: Some(key.clone()),
            element: None,
            source: Box::new(e),
        })?;
    let base = record.key.rsplit('/').next().unwrap_or(&record.key);
    let ext = match base.rsplit_once('.') {
        Some((stem, ext)) if !stem.is_empty() && !ext.is_empty() => ext.to_ascii_lowercase(),
        _ => "bin".to_owned(),
    };
    Ok(Sample {
        image_name: format!("{key}.{ext}"),
        json_name: format!("{key}.json"),
        key,
        image,
        json,
        annotated,
    })
}

/// The file at `key`, which the manifest lists.
async fn read_required(sink: &dyn DatasetSink, key: &str) -> Result<Vec<u8>> {
    sink.read_dataset_file(key)
        .await?
        .ok_or_else(|| Error::NotFound {
            uri: key.to_owned(),
            source: Some("listed in the video's manifest but not in the dataset".into()),
        })
}

/// The `{key}.json` member (see the module's documentation).
fn sample_json(
    key: &str,
    video: &VideoRef,
    manifest: &VideoManifest,
    record: &FrameRecord,
    annotation: Option<Value>,
) -> Value {
    let mut out = match serde_json::to_value(record) {
        Ok(Value::Object(m)) => m,
        _ => Map::new(),
    };
    if let Some(image_key) = out.remove("key") {
        out.insert("image_key".into(), image_key);
    }
    out.insert("sample_key".into(), json!(key));
    out.insert("annotation".into(), annotation.unwrap_or(Value::Null));
    let m = &manifest.metadata;
    out.insert(
        "video".into(),
        json!({
            "folder": video.folder,
            "name": video.name,
            "source": manifest.source.location,
            "width": m.width,
            "height": m.height,
            "fps": m.avg_fps,
            "frame_count": m.frame_count,
            "duration_seconds": m.duration.map(|d| d.as_secs_f64()),
            "codec": m.codec,
            "rotation": m.rotation,
            "sample_info": manifest.sample_info,
        }),
    );
    Value::Object(out)
}

/// A temporary file, removed when dropped.
struct TempFile(PathBuf);

impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// The writer of a shard's temporary file.
type ShardWriter = tar::TarWriter<std::io::BufWriter<std::fs::File>>;

/// A shard being built in a temporary file (removed when the shard is dropped). File writes run
/// on `video_core::blocking`'s pool, off the caller's executor.
struct OpenShard {
    key: String,
    temp: TempFile,
    /// `None` only after a write failed (the export fails with it).
    tar: Option<ShardWriter>,
    /// Bytes written so far.
    len: u64,
    samples: u64,
    first: String,
    last: String,
}

impl OpenShard {
    fn create(work_dir: &Path, key: String) -> Result<Self> {
        static N: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let path = work_dir.join(format!("video-export-{}-{n}.tar.part", std::process::id()));
        let file = std::fs::File::create(&path).map_err(|source| Error::Io {
            path: path.clone(),
            operation: "create",
            source,
        })?;
        Ok(OpenShard {
            key,
            temp: TempFile(path),
            tar: Some(tar::TarWriter::new(std::io::BufWriter::with_capacity(
                1 << 20,
                file,
            ))),
            len: 0,
            samples: 0,
            first: String::new(),
            last: String::new(),
        })
    }

    /// Run `f` with the shard's writer on the blocking pool.
    async fn with_writer<T: Send + 'static>(
        &mut self,
        f: impl FnOnce(&mut ShardWriter) -> std::io::Result<T> + Send + 'static,
    ) -> Result<(ShardWriter, T)> {
        let path = self.temp.0.clone();
        let mut tar = self.tar.take().ok_or_else(|| Error::Io {
            path: path.clone(),
            operation: "write",
            source: std::io::Error::other("an earlier write to the shard failed"),
        })?;
        video_core::blocking::run(move || {
            let out = f(&mut tar).map_err(|source| Error::Io {
                path,
                operation: "write",
                source,
            })?;
            Ok((tar, out))
        })
        .await
    }

    async fn append(&mut self, sample: Sample) -> Result<()> {
        let (tar, key) = self
            .with_writer(move |tar| {
                tar.append(&sample.image_name, &sample.image)?;
                tar.append(&sample.json_name, &sample.json)?;
                Ok(sample.key)
            })
            .await?;
        self.len = tar.len();
        self.tar = Some(tar);
        if self.samples == 0 {
            self.first.clone_from(&key);
        }
        self.last = key;
        self.samples += 1;
        Ok(())
    }

    /// End the archive, store it under its key and remove the temporary file.
    async fn store(mut self, sink: &dyn DatasetSink) -> Result<ShardInfo> {
        // The end blocks, then the file closed (no fsync: it is read back at once, and a crash
        // leaves it as junk either way).
        let (tar, ()) = self.with_writer(|tar| tar.finish()).await?;
        drop(tar);
        let path = self.temp.0.clone();
        let bytes = sink.write_dataset_file_from(&self.key, &path).await?;
        drop(self.temp);
        Ok(ShardInfo {
            key: self.key,
            samples: self.samples,
            bytes,
            first_sample: self.first,
            last_sample: self.last,
        })
    }
}

#[cfg(test)]
mod tests {
    //! Shard cutting and errors over a `MemorySink`; the shards are read back by Python's
    //! `tarfile`. The `webdataset` package reads real exports in `tests/webdataset.rs`.
    #![allow(clippy::unwrap_used)]
    use super::*;
    use video_core::VideoMetadata;
    use video_core::testing::MemorySink;

    fn video(folder: &str, name: &str) -> VideoRef {
        VideoRef {
            folder: folder.into(),
            name: name.into(),
        }
    }

    /// A video whose frame `i` is an image of `sizes[i]` bytes (all `i as u8`) stored in
    /// `sink`, every other one annotated.
    fn stored(sink: &MemorySink, v: &VideoRef, sizes: &[usize]) -> (VideoRef, VideoManifest) {
        let frames = sizes
            .iter()
            .enumerate()
            .map(|(i, &len)| {
                let key = layout::in_folder(&v.folder, &format!("{}_{i:06}.jpg", v.name));
                video_testkit::block_on(sink.write_dataset_file(&key, &vec![i as u8; len]))
                    .unwrap();
                let annotation_key = (i % 2 == 0).then(|| {
                    let k = layout::annotation_key(&key);
                    let doc = format!("{{\"frame\": {i}}}");
                    video_testkit::block_on(sink.write_dataset_file(&k, doc.as_bytes())).unwrap();
                    k
                });
                FrameRecord {
                    index: i as u64,
                    pts_seconds: i as f64 / 25.0,
                    key,
                    width: 4,
                    height: 2,
                    bytes: len as u64,
                    content_hash: None,
                    annotation_key,
                    framemd5: None,
                }
            })
            .collect();
        (
            v.clone(),
            VideoManifest::new(VideoMetadata::new("x.mp4")).frames(frames),
        )
    }

    /// The members of a tar file, in order, as Python's `tarfile` reads them: name, and the
    /// offsets of its first header byte and of the end of its padded data.
    fn tar_members(bytes: &[u8]) -> Vec<(String, u64, u64)> {
        let dir = std::env::temp_dir().join(format!("video-export-names-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("s.tar");
        std::fs::write(&path, bytes).unwrap();
        let script = "import sys, tarfile\n\
            for m in tarfile.open(sys.argv[1], 'r:'):\n\
            \x20   print(m.offset, m.offset_data + (m.size + 511) // 512 * 512, m.name)";
        let out = video_testkit::run_ok(
            std::process::Command::new("python3")
                .arg("-c")
                .arg(script)
                .arg(&path),
        );
        std::fs::remove_dir_all(&dir).unwrap();
        String::from_utf8(out)
            .unwrap()
            .lines()
            .map(|l| {
                let mut f = l.splitn(3, ' ');
                let start = f.next().unwrap().parse().unwrap();
                let end = f.next().unwrap().parse().unwrap();
                (f.next().unwrap().to_owned(), start, end)
            })
            .collect()
    }

    #[test]
    fn shards_hold_whole_samples_within_the_limits() {
        let sink = MemorySink::new();
        let limit = 8 * 1024;
        let videos = vec![
            stored(
                &sink,
                &video("a/b", "x.y"),
                &[100, 3000, 20_000, 200, 0, 511, 512],
            ),
            stored(&sink, &video("", "z"), &[4000, 4000, 4000]),
        ];
        for max_samples in [None, Some(2)] {
            let options = WebDatasetOptions::default()
                .name(format!("s{}", max_samples.unwrap_or(0)))
                .shard_max_bytes(limit)
                .shard_max_samples(max_samples)
                .reads_in_flight(3);
            let report =
                video_testkit::block_on(write_webdataset(&sink, &videos, &options)).unwrap();
            let mut names = Vec::new();
            // The bytes of each shard's first sample, and each shard's.
            let mut firsts = Vec::new();
            for (n, shard) in report.shards.iter().enumerate() {
                assert_eq!(
                    shard.key,
                    layout::webdataset_shard_key("", &options.name, n as u64)
                );
                let bytes = sink.file(&shard.key).unwrap();
                assert_eq!(bytes.len() as u64, shard.bytes);
                assert!(shard.bytes <= limit || shard.samples == 1, "{shard:?}");
                assert!(
                    shard.samples <= max_samples.unwrap_or(u64::MAX),
                    "{shard:?}"
                );
                let got = tar_members(&bytes);
                assert_eq!(got.len() as u64, 2 * shard.samples);
                assert_eq!(got[0].0, format!("{}.jpg", shard.first_sample));
                assert_eq!(got[got.len() - 1].0, format!("{}.json", shard.last_sample));
                // Members follow each other, then the two end blocks.
                assert_eq!(got[0].1, 0);
                assert!(got.windows(2).all(|w| w[0].2 == w[1].1));
                assert_eq!(got[got.len() - 1].2 + 1024, shard.bytes);
                firsts.push(got[1].2);
                names.extend(got.into_iter().map(|m| m.0));
            }
            // A shard was closed only because the next sample did not fit (or the cap).
            for (shard, next_first) in report.shards.iter().zip(&firsts[1..]) {
                assert!(
                    shard.bytes + next_first > limit || Some(shard.samples) == max_samples,
                    "{shard:?} had room for {next_first} bytes"
                );
            }
            // Every sample once, image then JSON, in the videos' order and index order.
            let want: Vec<String> = (0..7)
                .map(|i| format!("a/b/x%2Ey_{i:06}"))
                .chain((0..3).map(|i| format!("z_{i:06}")))
                .flat_map(|k| [format!("{k}.jpg"), format!("{k}.json")])
                .collect();
            assert_eq!(names, want);
            assert_eq!(report.samples, 10);
            assert_eq!(report.annotated, 6);
            // The 20 000-byte image is over the limit: alone in its shard.
            assert!(
                report
                    .shards
                    .iter()
                    .any(|s| s.first_sample == "a/b/x%2Ey_000002"
                        && s.samples == 1
                        && s.bytes > limit)
            );
            // Small samples share shards.
            assert!(
                report.shards.iter().any(|s| s.samples > 1),
                "{:#?}",
                report.shards
            );
            let index: Value =
                serde_json::from_slice(&sink.file(&report.index_key).unwrap()).unwrap();
            assert_eq!(index["samples"], 10);
            assert_eq!(
                index["shards"].as_array().unwrap().len(),
                report.shards.len()
            );
            assert_eq!(index["settings"]["shard_max_bytes"], limit);
        }
        // The JSON member of an annotated frame carries its annotation and record.
        let one = WebDatasetOptions::default()
            .name("one")
            .shard_max_samples(Some(1));
        let report = video_testkit::block_on(write_webdataset(&sink, &videos, &one)).unwrap();
        let shard = sink.file(&report.shards[2].key).unwrap();
        // Its JSON member's header follows the 20 000-byte image.
        let hdr = 512 + tar::padded(20_000) as usize;
        let size = std::str::from_utf8(&shard[hdr + 124..hdr + 135]).unwrap();
        let size = usize::from_str_radix(size, 8).unwrap();
        let doc: Value = serde_json::from_slice(&shard[hdr + 512..hdr + 512 + size]).unwrap();
        assert_eq!(doc["sample_key"], "a/b/x%2Ey_000002");
        assert_eq!(doc["index"], 2);
        assert_eq!(doc["image_key"], "a/b/x.y_000002.jpg");
        assert_eq!(doc["annotation"], json!({"frame": 2}));
        assert_eq!(doc["video"]["name"], "x.y");
    }

    #[test]
    fn bad_input_fails_typed() {
        let sink = MemorySink::new();
        let v = stored(&sink, &video("", "v"), &[10, 10]);
        let run = |videos: &[(VideoRef, VideoManifest)], o: &WebDatasetOptions| {
            video_testkit::block_on(write_webdataset(&sink, videos, o))
        };
        let ok = WebDatasetOptions::default();
        for (bad, option) in [
            (ok.clone().shard_max_bytes(0), "shard_max_bytes"),
            (ok.clone().shard_max_samples(Some(0)), "shard_max_samples"),
            (ok.clone().reads_in_flight(0), "reads_in_flight"),
        ] {
            let e = run(std::slice::from_ref(&v), &bad).unwrap_err();
            assert!(
                matches!(&e, Error::InvalidOption { option: o, .. } if o == option),
                "{e}"
            );
        }
        for bad in [ok.clone().name("a/b"), ok.clone().folder("../x")] {
            let e = run(std::slice::from_ref(&v), &bad).unwrap_err();
            assert!(matches!(e, Error::InvalidPath { .. }), "{e}");
        }
        let e = run(&[v.clone(), v.clone()], &ok).unwrap_err();
        assert!(
            matches!(&e, Error::InvalidOption { option, .. } if option == "videos"),
            "{e}"
        );
        // An annotation the record names but the dataset lacks.
        let mut gone = v.clone();
        gone.1.frames[0].annotation_key = Some("nowhere.json".into());
        let e = run(&[gone], &ok).unwrap_err();
        assert!(
            matches!(&e, Error::NotFound { uri, .. } if uri == "nowhere.json"),
            "{e}"
        );
        assert!(
            sink.file(&layout::webdataset_index_key("", "frames"))
                .is_none()
        );
        // Nothing at all: no shard, an index saying so.
        let report = run(&[], &ok).unwrap();
        assert_eq!((report.shards.len(), report.samples), (0, 0));
        assert!(sink.file(&report.index_key).is_some());
    }
}
