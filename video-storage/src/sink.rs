//! [`ObjectStoreSink`]: a dataset in any object store.

use std::sync::Arc;

use async_trait::async_trait;
use futures::{StreamExt, TryStreamExt};
use object_store::path::Path;
use object_store::{ObjectStore, ObjectStoreExt, PutPayload};
use sha2::{Digest, Sha256};
use video_core::{
    DatasetSink, EncodedFrame, Error, FrameRecord, MANIFEST_FORMAT_VERSION, Result, VideoManifest,
    VideoRef,
};

use crate::FrameName;

/// The `format` field of a manifest document.
const MANIFEST_FORMAT: &str = "video-dataset/manifest";

/// Reads of frame records kept in flight at once by [`ObjectStoreSink::existing`].
const CONCURRENT_READS: usize = 16;

/// A [`DatasetSink`] over an object store and a prefix inside it (see the crate docs for the
/// layout).
#[derive(Debug, Clone)]
pub struct ObjectStoreSink {
    store: Arc<dyn ObjectStore>,
    prefix: Path,
    frame_name: FrameName,
    image_folder: Option<String>,
    /// The directory the store's root is, for a local-disk store (see
    /// [`remove_stale_staging`]).
    local_root: Option<std::path::PathBuf>,
}

/// The manifest as stored: a format tag and version, the video's place in the dataset, then the
/// [`VideoManifest`]'s fields.
#[derive(serde::Serialize)]
struct ManifestOut<'a> {
    format: &'static str,
    format_version: u32,
    video: &'a VideoRef,
    #[serde(flatten)]
    manifest: &'a VideoManifest,
}

/// A JSON (de)serialization failure on `key`.
pub(crate) fn json_error(key: &str, e: serde_json::Error) -> Error {
    Error::Backend {
        backend: "object_store",
        uri: Some(key.to_owned()),
        element: None,
        source: Box::new(e),
    }
}

/// An object_store failure on `key`, mapped to the error that says what happened (see
/// [`crate::store::store_error`]).
pub(crate) fn backend(key: &str, e: object_store::Error) -> Error {
    crate::store::store_error(key, "request", e)
}

/// Check one path segment: not empty, not `.`/`..`, no separators or control characters.
pub(crate) fn check_segment(whole: &str, seg: &str) -> Result<()> {
    let bad = |reason: &str| {
        Err(Error::InvalidPath {
            path: whole.to_owned(),
            reason: reason.to_owned(),
        })
    };
    if seg.is_empty() {
        return bad("empty path segment (leading, trailing or doubled '/')");
    }
    if seg == "." || seg == ".." {
        return bad("'.' and '..' segments could leave the dataset");
    }
    if seg.contains('\\') || seg.chars().any(char::is_control) {
        return bad("backslashes and control characters are not allowed");
    }
    Ok(())
}

impl ObjectStoreSink {
    /// A sink writing under `prefix` in `store`.
    pub fn new(store: Arc<dyn ObjectStore>, prefix: Path) -> Self {
        ObjectStoreSink {
            store,
            prefix,
            frame_name: FrameName::default(),
            image_folder: None,
            local_root: None,
        }
    }

    /// Put frame images in the subfolder `name` of their video's folder (`{folder}/{name}/…`)
    /// instead of the video's folder itself; records and manifests stay in the video's folder.
    /// With `"img"`, frames and their annotations form a Supervisely images dataset:
    /// `{folder}/img/{image}` and `{folder}/ann/{image}.json` (see the crate docs). Frames
    /// already stored elsewhere keep their keys (their records hold them).
    ///
    /// # Errors
    /// [`Error::InvalidPath`] when `name` is not one plain path segment.
    pub fn with_image_folder(mut self, name: &str) -> Result<Self> {
        check_segment(name, name)?;
        if name.contains('/') || name.starts_with(".video-dataset") {
            return Err(Error::InvalidPath {
                path: name.to_owned(),
                reason: "an image folder is one path segment, not the bookkeeping folder".into(),
            });
        }
        self.image_folder = Some(name.to_owned());
        Ok(self)
    }

    /// The subfolder frames go to, if any ([`with_image_folder`](Self::with_image_folder)).
    pub fn image_folder(&self) -> Option<&str> {
        self.image_folder.as_deref()
    }

    /// The key of the annotation of the image stored under `image_key` (dataset-relative):
    /// `{dir}/img/{image}` → `{dir}/ann/{image}.json` (Supervisely's images project), any other
    /// `{dir}/{image}` → `{dir}/{image}.json`, beside the image.
    ///
    /// ```
    /// use video_storage::ObjectStoreSink;
    /// assert_eq!(
    ///     ObjectStoreSink::annotation_key("train/img/clip_000042.jpg"),
    ///     "train/ann/clip_000042.jpg.json"
    /// );
    /// assert_eq!(ObjectStoreSink::annotation_key("img/a.png"), "ann/a.png.json");
    /// assert_eq!(ObjectStoreSink::annotation_key("train/clip_000042.jpg"), "train/clip_000042.jpg.json");
    /// ```
    pub fn annotation_key(image_key: &str) -> String {
        let (dir, name) = match image_key.rsplit_once('/') {
            Some((dir, name)) => (Some(dir), name),
            None => (None, image_key),
        };
        let file = video_core::annotation::supervisely::annotation_file_name(name);
        match dir {
            Some("img") => format!("ann/{file}"),
            Some(d) => match d.strip_suffix("/img") {
                Some(parent) => format!("{parent}/ann/{file}"),
                None => format!("{d}/{file}"),
            },
            None => file,
        }
    }

    /// Name frame images with `name` instead of `{video}_{index}.{ext}`. Records, `existing`
    /// and manifests work the same with any template: a frame's record is found by its index and
    /// holds the image's key. Use the same template for every run on a dataset: a frame stored
    /// under another name counts as stored.
    pub fn with_frame_name(mut self, name: FrameName) -> Self {
        self.frame_name = name;
        self
    }

    /// The frame naming template.
    pub fn frame_name(&self) -> &FrameName {
        &self.frame_name
    }

    /// A sink from a URL (`file:///abs/dir`, `memory:///`, `s3://bucket/prefix`, `gs://…`,
    /// `az://…`) or a plain local directory path (created if missing). Cloud credentials come from
    /// the environment the way object_store's builders read them (`AWS_*`, `GOOGLE_*`,
    /// `AZURE_*`), as do options such as `AWS_ENDPOINT` and `AWS_ALLOW_HTTP`.
    ///
    /// Requests are retried with [`RetryPolicy::default`](crate::RetryPolicy) (about a
    /// minute of retries with backoff for a refused, reset or timed-out connection or a 5xx
    /// answer, so a short outage is ridden out); a request that still fails gives an error
    /// naming the key ([`Error::Store`], [`Error::NotFound`]). See
    /// [`from_url_with`](Self::from_url_with) to change it.
    pub fn from_url(url: &str) -> Result<Self> {
        Self::from_url_with(url, &crate::StoreOptions::default())
    }

    /// [`from_url`](Self::from_url) with store options given as `(key, value)` pairs, which take
    /// precedence over the environment: object_store's configuration keys of the URL's store
    /// (`aws_endpoint`, `aws_region`, `google_service_account`, …) and of its HTTP client
    /// (`timeout`, `connect_timeout` as `"30s"`, `allow_http`, …). Ignored for local paths.
    /// The same as [`from_url_with`](Self::from_url_with) with
    /// [`StoreOptions::configs`](crate::StoreOptions::configs).
    pub fn from_url_opts<K, V>(url: &str, options: impl IntoIterator<Item = (K, V)>) -> Result<Self>
    where
        K: AsRef<str>,
        V: Into<String>,
    {
        Self::from_url_with(url, &crate::StoreOptions::default().configs(options))
    }

    /// [`from_url`](Self::from_url) with [`StoreOptions`](crate::StoreOptions): the retry
    /// policy, request and connect timeouts, and object_store configuration keys of a cloud
    /// store. Ignored for local paths.
    pub fn from_url_with(url: &str, options: &crate::StoreOptions) -> Result<Self> {
        if !url.contains("://") {
            return Self::local(std::path::Path::new(url));
        }
        let (store, prefix) = crate::store::store_from_url(url, options)?;
        let mut sink = Self::new(store, prefix);
        if url.starts_with("file://") {
            // object_store's LocalFileSystem for a file:// URL is rooted at `/`.
            sink.local_root = Some(std::path::PathBuf::from("/"));
        }
        Ok(sink)
    }

    /// A sink in a local directory, created if missing.
    #[cfg(feature = "fs")]
    pub fn local(dir: &std::path::Path) -> Result<Self> {
        let io = |operation, source| Error::Io {
            path: dir.to_owned(),
            operation,
            source,
        };
        std::fs::create_dir_all(dir).map_err(|e| io("create", e))?;
        let abs = std::fs::canonicalize(dir).map_err(|e| io("resolve", e))?;
        let store = object_store::local::LocalFileSystem::new_with_prefix(&abs)
            .map_err(|e| backend(&dir.display().to_string(), e))?;
        let mut sink = Self::new(Arc::new(store), Path::default());
        sink.local_root = Some(abs);
        Ok(sink)
    }

    /// A sink in a local directory: not available without the `fs` feature.
    #[cfg(not(feature = "fs"))]
    pub fn local(dir: &std::path::Path) -> Result<Self> {
        let _ = dir;
        Err(Error::NotImplemented {
            operation: "local directories (enable the fs feature)",
            implementer: "ObjectStoreSink",
        })
    }

    /// The store this sink writes to.
    pub fn store(&self) -> &Arc<dyn ObjectStore> {
        &self.store
    }

    /// The prefix inside the store.
    pub fn prefix(&self) -> &Path {
        &self.prefix
    }

    /// A video stored in this dataset (`key` as [`upload_video`](crate::upload_video) returns
    /// it), to probe and sample where it is: see [`StoreVideo`](crate::StoreVideo).
    pub async fn open_video(&self, key: &str) -> Result<crate::StoreVideo> {
        for seg in key.split('/') {
            check_segment(key, seg)?;
        }
        let path = self.path(key);
        let uri = format!("{}/{path}", self.store);
        crate::StoreVideo::open(self.store.clone(), path, uri).await
    }

    /// `{folder}/{rest}` relative to the dataset, after validating the folder and the name.
    pub(crate) fn relative(video: &VideoRef, rest: &str) -> Result<String> {
        check_segment(&video.name, &video.name)?;
        if video.name.contains('/') {
            return Err(Error::InvalidPath {
                path: video.name.clone(),
                reason: "a video name cannot contain '/'".into(),
            });
        }
        if video.folder.is_empty() {
            return Ok(rest.to_owned());
        }
        if video.folder.starts_with('/') {
            return Err(Error::InvalidPath {
                path: video.folder.clone(),
                reason: "absolute folder paths could leave the dataset".into(),
            });
        }
        for seg in video.folder.split('/') {
            check_segment(&video.folder, seg)?;
        }
        Ok(format!("{}/{rest}", video.folder))
    }

    /// The full object path of a dataset-relative key.
    pub(crate) fn path(&self, relative: &str) -> Path {
        let mut p = self.prefix.clone();
        for seg in relative.split('/') {
            p = p.clone().join(seg);
        }
        p
    }

    fn frame_key(&self, video: &VideoRef, frame: &EncodedFrame) -> Result<String> {
        let name = self
            .frame_name
            .render(&video.name, frame.info.index, frame.format.extension());
        match &self.image_folder {
            Some(folder) => Self::relative(video, &format!("{folder}/{name}")),
            None => Self::relative(video, &name),
        }
    }

    /// Check a dataset-relative key: `/`-separated plain segments.
    fn check_key(key: &str) -> Result<()> {
        key.split('/').try_for_each(|seg| check_segment(key, seg))
    }

    fn record_key(video: &VideoRef, index: u64) -> Result<String> {
        Self::relative(
            video,
            &format!(".video-dataset/{}/{index:06}.json", video.name),
        )
    }

    fn manifest_key(video: &VideoRef) -> Result<String> {
        Self::relative(video, &format!("{}.scene.json", video.name))
    }

    async fn put(&self, key: &str, bytes: Vec<u8>) -> Result<()> {
        self.store
            .put(&self.path(key), PutPayload::from(bytes))
            .await
            .map_err(|e| backend(key, e))?;
        Ok(())
    }

    /// The bytes stored under a dataset-relative key.
    pub async fn read(&self, key: &str) -> Result<Vec<u8>> {
        let got = self
            .store
            .get(&self.path(key))
            .await
            .map_err(|e| backend(key, e))?;
        Ok(got.bytes().await.map_err(|e| backend(key, e))?.to_vec())
    }

    /// The dataset-relative keys of the objects directly in `folder` (`/`-separated, relative
    /// to the dataset; `""` for the top), sorted; subfolders are not entered.
    pub async fn list_keys(&self, folder: &str) -> Result<Vec<String>> {
        let dir = if folder.is_empty() {
            self.prefix.clone()
        } else {
            Self::check_key(folder)?;
            self.path(folder)
        };
        let listed = self
            .store
            .list_with_delimiter(Some(&dir))
            .await
            .map_err(|e| backend(folder, e))?;
        let mut keys: Vec<String> = listed
            .objects
            .iter()
            .filter_map(|m| {
                let name = m.location.filename()?;
                Some(if folder.is_empty() {
                    name.to_owned()
                } else {
                    format!("{folder}/{name}")
                })
            })
            .collect();
        keys.sort();
        Ok(keys)
    }

    /// The manifest of a finished video as JSON, `None` if the video is not finished.
    pub async fn manifest(&self, video: &VideoRef) -> Result<Option<serde_json::Value>> {
        let key = Self::manifest_key(video)?;
        match self.read(&key).await {
            Ok(b) => serde_json::from_slice(&b)
                .map(Some)
                .map_err(|e| json_error(&key, e)),
            Err(Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// The manifest of a finished video, `None` if the video is not finished.
    ///
    /// # Errors
    /// [`Error::Unsupported`] naming the key for a manifest of another format or version
    /// (see [`MANIFEST_FORMAT_VERSION`]); [`Error::Backend`] for one that does not parse.
    pub async fn video_manifest(&self, video: &VideoRef) -> Result<Option<VideoManifest>> {
        let key = Self::manifest_key(video)?;
        let bytes = match self.read(&key).await {
            Ok(b) => b,
            Err(Error::NotFound { .. }) => return Ok(None),
            Err(e) => return Err(e),
        };
        let head: serde_json::Value =
            serde_json::from_slice(&bytes).map_err(|e| json_error(&key, e))?;
        let (format, version) = (&head["format"], &head["format_version"]);
        if format != MANIFEST_FORMAT || version != MANIFEST_FORMAT_VERSION {
            return Err(Error::Unsupported {
                uri: key,
                reason: format!(
                    "manifest format {format} version {version}; this version reads {MANIFEST_FORMAT:?} version {MANIFEST_FORMAT_VERSION}"
                ),
            });
        }
        // The document's other fields (`format`, `format_version`, `video`) are ignored here.
        serde_json::from_value(head)
            .map(Some)
            .map_err(|e| json_error(&key, e))
    }
}

#[async_trait]
impl DatasetSink for ObjectStoreSink {
    async fn existing(&self, video: &VideoRef, indices: &[u64]) -> Result<Vec<FrameRecord>> {
        let dir_key = Self::relative(video, &format!(".video-dataset/{}", video.name))?;
        let dir = self.path(&dir_key);
        let listed: Vec<object_store::ObjectMeta> = self
            .store
            .list(Some(&dir))
            .try_collect()
            .await
            .map_err(|e| backend(&dir_key, e))?;
        let wanted: std::collections::BTreeSet<u64> = indices.iter().copied().collect();
        let present: Vec<u64> = listed
            .iter()
            .filter_map(|m| {
                m.location
                    .filename()?
                    .strip_suffix(".json")?
                    .parse::<u64>()
                    .ok()
            })
            .filter(|i| wanted.contains(i))
            .collect();
        let mut records: Vec<FrameRecord> = futures::stream::iter(present)
            .map(|i| async move {
                let key = Self::record_key(video, i)?;
                let bytes = self.read(&key).await?;
                serde_json::from_slice::<FrameRecord>(&bytes).map_err(|e| json_error(&key, e))
            })
            .buffer_unordered(CONCURRENT_READS)
            .try_collect()
            .await?;
        records.sort_by_key(|r| r.index);
        Ok(records)
    }

    async fn write_frame(&self, video: &VideoRef, frame: &EncodedFrame) -> Result<FrameRecord> {
        let key = self.frame_key(video, frame)?;
        let record = FrameRecord {
            index: frame.info.index,
            pts_seconds: frame.info.pts.as_seconds(),
            key: key.clone(),
            width: frame.width,
            height: frame.height,
            bytes: frame.bytes.len() as u64,
            content_hash: Some(format!("sha256:{:x}", Sha256::digest(&frame.bytes))),
            annotation_key: None,
        };
        self.put(&key, frame.bytes.clone()).await?;
        // The record last: it is what marks the frame as stored.
        let rec_key = Self::record_key(video, frame.info.index)?;
        let json = serde_json::to_vec(&record).map_err(|e| json_error(&rec_key, e))?;
        self.put(&rec_key, json).await?;
        Ok(record)
    }

    async fn finish_video(&self, video: &VideoRef, manifest: &VideoManifest) -> Result<()> {
        let key = Self::manifest_key(video)?;
        let doc = ManifestOut {
            format: MANIFEST_FORMAT,
            format_version: MANIFEST_FORMAT_VERSION,
            video,
            manifest,
        };
        let json = serde_json::to_vec_pretty(&doc).map_err(|e| json_error(&key, e))?;
        self.put(&key, json).await?;
        if let Some(root) = &self.local_root {
            let mut keys: Vec<String> = manifest.frames.iter().map(|f| f.key.clone()).collect();
            for f in &manifest.frames {
                keys.push(Self::record_key(video, f.index)?);
                keys.extend(f.annotation_key.clone());
            }
            keys.push(key);
            let files: Vec<std::path::PathBuf> = keys
                .iter()
                .map(|k| {
                    let mut p = root.clone();
                    p.extend(self.path(k).parts().map(|part| part.as_ref().to_owned()));
                    p
                })
                .collect();
            // Best effort: a file that cannot be removed is left, never an error. Off the async
            // threads under Tokio; inline (a directory listing) on other executors.
            match tokio::runtime::Handle::try_current() {
                Ok(rt) => {
                    let _ = rt
                        .spawn_blocking(move || remove_stale_staging(&files))
                        .await;
                }
                Err(_) => remove_stale_staging(&files),
            }
        }
        Ok(())
    }

    /// Stores the annotation under [`annotation_key`](Self::annotation_key) of the frame's
    /// image key, in one `put`.
    async fn write_annotation(
        &self,
        video: &VideoRef,
        frame: &FrameRecord,
        json: &[u8],
    ) -> Result<String> {
        // The record's key must be inside the video's folder.
        let folder = Self::relative(video, "")?;
        Self::check_key(&frame.key)?;
        if !frame.key.starts_with(&folder) {
            return Err(Error::InvalidPath {
                path: frame.key.clone(),
                reason: format!(
                    "frame {} of {:?} is not stored in the video's folder {:?}",
                    frame.index, video.name, video.folder
                ),
            });
        }
        let key = Self::annotation_key(&frame.key);
        self.put(&key, json.to_vec()).await?;
        Ok(key)
    }

    /// Stores the file under `{prefix}/{key}` in one `put`.
    async fn write_dataset_file(&self, key: &str, bytes: &[u8]) -> Result<()> {
        Self::check_key(key)?;
        self.put(key, bytes.to_vec()).await
    }
}

/// Remove the staging files object_store's local store leaves beside `files` when a process is
/// killed in the middle of a write (`{name}#{n}`, written then renamed to `{name}`; never listed,
/// never reused). Called once a video is complete, for its own objects only: a concurrent job
/// writing the same video could lose a write in flight (it then fails and a re-run completes
/// it), which is why datasets take one writer per video at a time.
fn remove_stale_staging(files: &[std::path::PathBuf]) {
    let mut by_dir: std::collections::BTreeMap<&std::path::Path, std::collections::BTreeSet<&str>> =
        Default::default();
    for f in files {
        if let (Some(dir), Some(name)) = (f.parent(), f.file_name().and_then(|n| n.to_str())) {
            by_dir.entry(dir).or_default().insert(name);
        }
    }
    for (dir, names) in by_dir {
        let Ok(entries) = std::fs::read_dir(dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let file_name = entry.file_name();
            let Some(name) = file_name.to_str() else {
                continue;
            };
            let stale = name.rsplit_once('#').is_some_and(|(base, n)| {
                !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()) && names.contains(base)
            });
            if stale {
                let _ = std::fs::remove_file(entry.path());
            }
        }
    }
}
