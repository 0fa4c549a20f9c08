//! [`ObjectStoreSink`]: a dataset in any object store.

use std::sync::Arc;

use async_trait::async_trait;
use futures::{StreamExt, TryStreamExt};
use object_store::path::Path;
use object_store::{ObjectStore, ObjectStoreExt, PutMode, PutOptions, PutPayload, UpdateVersion};
use video_core::layout::{self, MANIFEST_FORMAT, check_segment};
use video_core::{
    ContentHash, DatasetSink, EncodedFrame, Error, FrameRecord, MANIFEST_FORMAT_VERSION, Result,
    VideoManifest, VideoRef,
};

use crate::FrameName;

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
    /// [`remove_staging`]).
    local_root: Option<std::path::PathBuf>,
    /// The lock files of the videos this sink (or a clone) holds a [`VideoLock`] on.
    locked: Arc<std::sync::Mutex<std::collections::BTreeSet<std::path::PathBuf>>>,
}

/// Attempts of a conditional read-modify-write before giving up (each failed attempt means
/// another writer succeeded).
const UPDATE_ATTEMPTS: usize = 100;

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

/// Builds an [`ObjectStoreSink`]: where the dataset is (a URL or local directory, or a store
/// and a prefix), how a store given by URL is reached ([`StoreOptions`](crate::StoreOptions)),
/// and where and under which names frame images go. Nothing is checked or opened before
/// [`build`](Self::build).
///
/// ```no_run
/// use video_storage::{ObjectStoreSink, StoreOptions};
/// let sink = ObjectStoreSink::builder("s3://bucket/datasets/a")
///     .with_store_options(StoreOptions::default().config("aws_region", "eu-west-1"))
///     .with_image_folder("img")
///     .with_frame_name("{video}-{index:08}.{ext}".parse()?)
///     .build()?;
/// # Ok::<(), video_core::Error>(())
/// ```
#[derive(Debug, Clone)]
#[must_use = "the builder must be built to be used"]
pub struct ObjectStoreSinkBuilder {
    location: Location,
    options: crate::StoreOptions,
    image_folder: Option<String>,
    frame_name: FrameName,
}

/// Where an [`ObjectStoreSinkBuilder`]'s dataset is.
#[derive(Debug, Clone)]
enum Location {
    /// A URL or a plain local directory path.
    Url(String),
    /// A store and prefix given by the caller, or a built sink's (with its local root and locks).
    Sink(Box<ObjectStoreSink>),
}

impl ObjectStoreSinkBuilder {
    /// A sink at `url`: a URL (`file:///abs/dir`, `memory:///`, `s3://bucket/prefix`, `gs://…`,
    /// `az://…`) or a plain local directory path (created if missing). Cloud credentials come
    /// from the environment the way object_store's builders read them (`AWS_*`, `GOOGLE_*`,
    /// `AZURE_*`), as do options such as `AWS_ENDPOINT` and `AWS_ALLOW_HTTP`;
    /// [`with_store_options`](Self::with_store_options) takes precedence over them.
    pub fn new(url: impl Into<String>) -> Self {
        Self::at(Location::Url(url.into()))
    }

    /// A sink writing under `prefix` in `store` (a store with its own client, retry or
    /// credential settings). [`with_store_options`](Self::with_store_options) does not apply.
    pub fn from_store(store: Arc<dyn ObjectStore>, prefix: Path) -> Self {
        Self::at(Location::Sink(Box::new(ObjectStoreSink::new(
            store, prefix,
        ))))
    }

    fn at(location: Location) -> Self {
        ObjectStoreSinkBuilder {
            location,
            options: crate::StoreOptions::default(),
            image_folder: None,
            frame_name: FrameName::default(),
        }
    }

    /// How a store given by URL is reached: the retry policy, request and connect timeouts,
    /// and object_store configuration keys of the URL's store (`aws_endpoint`, `aws_region`,
    /// `google_service_account`, …) and of its HTTP client (`timeout`, `connect_timeout` as
    /// `"30s"`, `allow_http`, …), which take precedence over the environment. Ignored for local
    /// paths and [`from_store`](Self::from_store). Default:
    /// [`StoreOptions::default`](crate::StoreOptions::default): requests are retried for
    /// about a minute with backoff for a refused, reset or timed-out connection or a 5xx
    /// answer, so a short outage is ridden out.
    pub fn with_store_options(mut self, options: crate::StoreOptions) -> Self {
        self.options = options;
        self
    }

    /// Put frame images in the subfolder `name` of their video's folder (`{folder}/{name}/…`)
    /// instead of the video's folder itself; records and manifests stay in the video's folder.
    /// With `"img"`, frames and their annotations form a Supervisely images dataset:
    /// `{folder}/img/{image}` and `{folder}/ann/{image}.json` (see the crate docs). Frames
    /// already stored elsewhere keep their keys (their records hold them). `name` must be one
    /// plain path segment ([`build`](Self::build) checks). Default: none.
    pub fn with_image_folder(mut self, name: impl Into<String>) -> Self {
        self.image_folder = Some(name.into());
        self
    }

    /// Name frame images with `name` instead of `{video}_{index}.{ext}`. Records, `existing`
    /// and manifests work the same with any template: a frame's record is found by its index and
    /// holds the image's key. Use the same template for every run on a dataset: a frame stored
    /// under another name counts as stored. Default: [`FrameName::default`].
    pub fn with_frame_name(mut self, name: FrameName) -> Self {
        self.frame_name = name;
        self
    }

    /// The sink. A local directory is created if missing.
    ///
    /// # Errors
    /// [`Error::InvalidPath`] when the [image folder](Self::with_image_folder) is not one plain
    /// path segment; the errors of opening the store (an unknown scheme, a bad option, a
    /// directory that cannot be created).
    pub fn build(self) -> Result<ObjectStoreSink> {
        if let Some(name) = &self.image_folder {
            check_segment(name, name)?;
            if name.contains('/') || name.starts_with(layout::BOOKKEEPING_DIR) {
                return Err(Error::InvalidPath {
                    path: name.clone(),
                    reason: "an image folder is one path segment, not the bookkeeping folder"
                        .into(),
                });
            }
        }
        let mut sink = match self.location {
            Location::Url(url) => ObjectStoreSink::open_url(&url, &self.options)?,
            Location::Sink(sink) => *sink,
        };
        sink.image_folder = self.image_folder;
        sink.frame_name = self.frame_name;
        Ok(sink)
    }
}

impl ObjectStoreSink {
    /// A sink writing under `prefix` in `store`; the same as
    /// [`ObjectStoreSinkBuilder::from_store`] built with the defaults.
    pub fn new(store: Arc<dyn ObjectStore>, prefix: Path) -> Self {
        ObjectStoreSink {
            store,
            prefix,
            frame_name: FrameName::default(),
            image_folder: None,
            local_root: None,
            locked: Arc::default(),
        }
    }

    /// A builder of a sink at `url` (a URL or a local directory path): see
    /// [`ObjectStoreSinkBuilder`].
    pub fn builder(url: impl Into<String>) -> ObjectStoreSinkBuilder {
        ObjectStoreSinkBuilder::new(url)
    }

    /// A builder starting from this sink: the same store, prefix, image folder and frame names
    /// (and the same video locks), to change some of them.
    pub fn to_builder(&self) -> ObjectStoreSinkBuilder {
        let mut b = ObjectStoreSinkBuilder::at(Location::Sink(Box::new(self.clone())));
        b.image_folder = self.image_folder.clone();
        b.frame_name = self.frame_name.clone();
        b
    }

    /// A sink from a URL (`file:///abs/dir`, `memory:///`, `s3://bucket/prefix`, `gs://…`,
    /// `az://…`) or a plain local directory path (created if missing), with the default
    /// options; the same as [`builder(url).build()`](ObjectStoreSinkBuilder::new). Cloud
    /// credentials and options such as `AWS_ENDPOINT` come from the environment.
    ///
    /// Requests are retried with [`RetryPolicy::default`](crate::RetryPolicy) (about a
    /// minute of retries with backoff for a refused, reset or timed-out connection or a 5xx
    /// answer, so a short outage is ridden out); a request that still fails gives an error
    /// naming the key ([`Error::Store`], [`Error::NotFound`]). See
    /// [`ObjectStoreSinkBuilder::with_store_options`] to change it.
    pub fn from_url(url: &str) -> Result<Self> {
        Self::builder(url).build()
    }

    /// The store and prefix of `url` (see [`ObjectStoreSinkBuilder::new`]).
    fn open_url(url: &str, options: &crate::StoreOptions) -> Result<Self> {
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

    /// A sink in a local directory, created if missing (without the `fs` feature:
    /// [`Error::NotImplemented`]).
    pub fn local(dir: &std::path::Path) -> Result<Self> {
        Self::local_dir(dir)
    }

    #[cfg(feature = "fs")]
    fn local_dir(dir: &std::path::Path) -> Result<Self> {
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

    #[cfg(not(feature = "fs"))]
    fn local_dir(dir: &std::path::Path) -> Result<Self> {
        let _ = dir;
        Err(Error::NotImplemented {
            operation: "local directories (enable the fs feature)",
            implementer: "ObjectStoreSink",
        })
    }

    /// The subfolder frames go to, if any ([`ObjectStoreSinkBuilder::with_image_folder`]).
    pub fn image_folder(&self) -> Option<&str> {
        self.image_folder.as_deref()
    }

    /// The frame naming template ([`ObjectStoreSinkBuilder::with_frame_name`]).
    pub fn frame_name(&self) -> &FrameName {
        &self.frame_name
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
        layout::annotation_key(image_key)
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
        layout::check_video(video)?;
        Ok(layout::video_folder_key(video, rest))
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
        layout::check_video(video)?;
        Ok(layout::frame_key(
            video,
            self.image_folder.as_deref(),
            &name,
        ))
    }

    fn record_key(video: &VideoRef, index: u64) -> Result<String> {
        layout::check_video(video)?;
        Ok(layout::record_key(video, index))
    }

    fn manifest_key(video: &VideoRef) -> Result<String> {
        layout::check_video(video)?;
        Ok(layout::manifest_key(video))
    }

    fn lock_key(video: &VideoRef) -> Result<String> {
        layout::check_video(video)?;
        Ok(layout::lock_key(video))
    }

    /// The file of a dataset-relative key, for a local-disk store.
    fn local_file(&self, key: &str) -> Option<std::path::PathBuf> {
        let mut p = self.local_root.clone()?;
        p.extend(self.path(key).parts().map(|part| part.as_ref().to_owned()));
        Some(p)
    }

    /// Take the writer's lock of `video` for as long as the returned guard lives, and remove the
    /// staging files an interrupted run left for the video's objects.
    ///
    /// On local disk, object_store writes each object to a staging file `{name}#{n}` and renames
    /// it into place; a process killed in the middle of a write leaves the staging file (never
    /// listed, never reused). The lock is an advisory lock (`flock`) on
    /// `{folder}/.video-dataset/{video}.lock`: a second writer of the same video, in this process
    /// or another, waits here until the first one ends (the operating system releases the lock
    /// of a killed process), so the staging files found are all stale, and they are removed:
    /// every `{name}#{n}` whose `{name}` is one of the video's objects (frames by the
    /// [frame name template](ObjectStoreSinkBuilder::with_frame_name), records, annotations, the manifest, the COCO
    /// part). [`finish_video`](DatasetSink::finish_video) removes them again once the manifest is
    /// written, when the lock is held. Other videos' files are never touched.
    ///
    /// In other stores writes are atomic requests that leave nothing behind and writers of one
    /// video store the same objects, so the guard holds nothing.
    ///
    /// # Errors
    /// [`Error::InvalidPath`] for a bad video name or folder; [`Error::Io`] naming the lock file
    /// when it cannot be created or locked.
    pub async fn lock_video(&self, video: &VideoRef) -> Result<VideoLock> {
        let key = Self::lock_key(video)?;
        let Some(path) = self.local_file(&key) else {
            return Ok(VideoLock {
                file: None,
                path: None,
                locked: self.locked.clone(),
            });
        };
        let file = lock_file(path.clone()).await?;
        self.locked
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .insert(path.clone());
        let guard = VideoLock {
            file: Some(file),
            path: Some(path),
            locked: self.locked.clone(),
        };
        self.remove_video_staging(video).await?;
        Ok(guard)
    }

    /// Whether this sink holds the [`VideoLock`] of `video`.
    fn holds_lock(&self, video: &VideoRef) -> Result<bool> {
        let key = Self::lock_key(video)?;
        Ok(self.local_file(&key).is_some_and(|p| {
            self.locked
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .contains(&p)
        }))
    }

    /// Remove the staging files of `video`'s objects (local disk only; see
    /// [`lock_video`](Self::lock_video)).
    async fn remove_video_staging(&self, video: &VideoRef) -> Result<()> {
        if self.local_root.is_none() {
            return Ok(());
        }
        let mut dirs = vec![
            (Self::relative(video, "")?, Owned::VideoFolder),
            (Self::relative(video, layout::IMAGE_FOLDER)?, Owned::Images),
            (
                Self::relative(video, layout::ANNOTATION_FOLDER)?,
                Owned::Annotations,
            ),
            (layout::bookkeeping_dir(&video.folder), Owned::Bookkeeping),
            (layout::records_dir(video), Owned::Records),
        ];
        if let Some(f) = &self.image_folder {
            dirs.push((Self::relative(video, f)?, Owned::Images));
        }
        let dirs: Vec<(std::path::PathBuf, Owned)> = dirs
            .into_iter()
            .filter_map(|(key, owned)| {
                let key = key.trim_end_matches('/');
                let dir = if key.is_empty() {
                    let mut p = self.local_root.clone()?;
                    p.extend(self.prefix.parts().map(|part| part.as_ref().to_owned()));
                    p
                } else {
                    self.local_file(key)?
                };
                Some((dir, owned))
            })
            .collect();
        let names = self.frame_name.clone();
        let video_name = video.name.clone();
        blocking(move || remove_staging(&dirs, &names, &video_name)).await;
        Ok(())
    }

    /// Without the video's lock: remove the staging files of the objects `manifest` lists, if
    /// no other writer holds the video's lock (local disk only).
    async fn remove_manifest_staging(
        &self,
        video: &VideoRef,
        manifest: &VideoManifest,
        manifest_key: &str,
    ) -> Result<()> {
        let lock_key = Self::lock_key(video)?;
        let Some(lock_path) = self.local_file(&lock_key) else {
            return Ok(());
        };
        let mut keys = vec![manifest_key.to_owned()];
        for f in &manifest.frames {
            keys.push(f.key.clone());
            keys.push(Self::record_key(video, f.index)?);
            keys.extend(f.annotation_key.clone());
        }
        let mut by_dir: std::collections::BTreeMap<
            std::path::PathBuf,
            std::collections::BTreeSet<String>,
        > = Default::default();
        for k in &keys {
            if let Some(file) = self.local_file(k)
                && let (Some(dir), Some(name)) =
                    (file.parent(), file.file_name().and_then(|n| n.to_str()))
            {
                by_dir
                    .entry(dir.to_owned())
                    .or_default()
                    .insert(name.to_owned());
            }
        }
        let dirs: Vec<(std::path::PathBuf, Owned)> = by_dir
            .into_iter()
            .map(|(d, names)| (d, Owned::Names(names)))
            .collect();
        let video_name = video.name.clone();
        blocking(move || {
            // Only when no writer of the video holds its lock (it could be writing these now).
            let free = std::fs::OpenOptions::new()
                .create(true)
                .truncate(false)
                .write(true)
                .open(&lock_path)
                .ok()
                .filter(|f| f.try_lock().is_ok());
            if free.is_some() {
                remove_staging(&dirs, &FrameName::default(), &video_name);
            }
        })
        .await;
        Ok(())
    }

    /// Begin a read-modify-write of the dataset file `key` (a project meta, a COCO file shared
    /// by the videos of a folder) that no concurrent writer can undo: read
    /// [`current`](DatasetFileUpdate::current), compute the new content, then
    /// [`commit`](DatasetFileUpdate::commit) it; a commit that returns `false` lost a race with
    /// another writer and wrote nothing: begin again. [`update_dataset_file`](Self::update_dataset_file)
    /// runs that loop.
    ///
    /// Stores with conditional writes (S3, GCS, Azure, memory) commit with
    /// `PutMode::Update` on the entity tag read, or `PutMode::Create` when there was no file. On
    /// local disk (no `PutMode::Update` in object_store's `LocalFileSystem`) the update holds an
    /// advisory lock (`flock`) on `.video-dataset/locks/{key}.lock` from `begin_update` to
    /// `commit` (released by the operating system if the process dies), and stale staging files
    /// of the key are removed under it. A store that refuses conditional writes (S3 with
    /// conditional put disabled) gets a plain overwrite: the last writer wins there.
    ///
    /// # Errors
    /// [`Error::InvalidPath`] for a bad key; errors of the store naming the key.
    pub async fn begin_update(&self, key: &str) -> Result<DatasetFileUpdate<'_>> {
        layout::check_key(key)?;
        let lock_key = layout::file_lock_key(key);
        let lock = match self.local_file(&lock_key) {
            Some(path) => {
                let file = lock_file(path).await?;
                if let Some(target) = self.local_file(key)
                    && let (Some(dir), Some(name)) = (
                        target.parent().map(std::path::Path::to_path_buf),
                        target
                            .file_name()
                            .and_then(|n| n.to_str())
                            .map(str::to_owned),
                    )
                {
                    blocking(move || {
                        let owned = Owned::Names([name].into());
                        remove_staging(&[(dir, owned)], &FrameName::default(), "")
                    })
                    .await;
                }
                Some(file)
            }
            None => None,
        };
        let (current, version) = match self.store.get(&self.path(key)).await {
            Ok(got) => {
                let version = UpdateVersion {
                    e_tag: got.meta.e_tag.clone(),
                    version: got.meta.version.clone(),
                };
                let bytes = got.bytes().await.map_err(|e| backend(key, e))?.to_vec();
                (Some(bytes), Some(version))
            }
            Err(object_store::Error::NotFound { .. }) => (None, None),
            Err(e) => return Err(backend(key, e)),
        };
        Ok(DatasetFileUpdate {
            sink: self,
            key: key.to_owned(),
            current,
            version,
            lock,
        })
    }

    /// Replace the dataset file `key` with `update(current content)` (`None` when there is
    /// none), atomically with respect to other writers of the file: see
    /// [`begin_update`](Self::begin_update). `update` may be called more than once.
    ///
    /// # Errors
    /// `update`'s error; the store's errors naming the key; [`Error::Backend`] naming the key
    /// after 100 attempts that each lost a race.
    pub async fn update_dataset_file(
        &self,
        key: &str,
        mut update: impl FnMut(Option<&[u8]>) -> Result<Vec<u8>> + Send,
    ) -> Result<()> {
        for _ in 0..UPDATE_ATTEMPTS {
            let up = self.begin_update(key).await?;
            let new = update(up.current())?;
            if up.commit(new).await? {
                return Ok(());
            }
        }
        Err(too_many_races(key))
    }

    async fn put(&self, key: &str, bytes: Vec<u8>) -> Result<()> {
        // A request the HTTP client never sent is sent again by the layer under stores built
        // from a URL (crate::resend).
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
    /// to the dataset; `""` for the top), sorted; subfolders are not entered. Keys are as they
    /// were written (`a/é b.json`), whatever encoding the store keeps them in.
    pub async fn list_keys(&self, folder: &str) -> Result<Vec<String>> {
        Ok(self
            .list_sizes(folder)
            .await?
            .into_iter()
            .map(|(k, _)| k)
            .collect())
    }

    /// [`list_keys`](Self::list_keys) with each object's size in bytes.
    async fn list_sizes(&self, folder: &str) -> Result<Vec<(String, u64)>> {
        let dir = if folder.is_empty() {
            self.prefix.clone()
        } else {
            layout::check_key(folder)?;
            self.path(folder)
        };
        let listed = match self.store.list_with_delimiter(Some(&dir)).await {
            Ok(l) => l,
            Err(object_store::Error::NotFound { .. }) => return Ok(Vec::new()),
            Err(e) => return Err(backend(folder, e)),
        };
        let mut keys: Vec<(String, u64)> = listed
            .objects
            .iter()
            .filter_map(|m| {
                let name = as_written(m.location.filename()?)?;
                let key = if folder.is_empty() {
                    name
                } else {
                    format!("{folder}/{name}")
                };
                Some((key, m.size))
            })
            .collect();
        keys.sort();
        Ok(keys)
    }

    /// Delete the images of `video` in its folder (and its image folders) that show a frame of
    /// `manifest` under another key than the manifest's (an earlier run's other format or
    /// name), with their annotations.
    async fn remove_replaced_images(
        &self,
        video: &VideoRef,
        manifest: &VideoManifest,
    ) -> Result<()> {
        let kept: std::collections::BTreeMap<u64, &str> = manifest
            .frames
            .iter()
            .map(|f| (f.index, f.key.as_str()))
            .collect();
        let mut dirs = std::collections::BTreeSet::new();
        dirs.insert(Self::relative(video, "")?.trim_end_matches('/').to_owned());
        dirs.insert(Self::relative(video, layout::IMAGE_FOLDER)?);
        if let Some(f) = &self.image_folder {
            dirs.insert(Self::relative(video, f)?);
        }
        for f in &manifest.frames {
            dirs.insert(f.key.rsplit_once('/').map_or("", |(d, _)| d).to_owned());
        }
        for dir in dirs {
            for (key, _) in self.list_sizes(&dir).await? {
                let name = key.rsplit('/').next().unwrap_or(&key);
                let replaced = self
                    .frame_name
                    .index_of(&video.name, name)
                    .and_then(|i| kept.get(&i))
                    .is_some_and(|k| *k != key);
                if replaced {
                    for k in [key.clone(), Self::annotation_key(&key)] {
                        match self.store.delete(&self.path(&k)).await {
                            Ok(()) | Err(object_store::Error::NotFound { .. }) => {}
                            Err(e) => return Err(backend(&k, e)),
                        }
                    }
                }
            }
        }
        Ok(())
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
        layout::check_format(
            &key,
            "manifest",
            &head,
            MANIFEST_FORMAT,
            MANIFEST_FORMAT_VERSION,
        )?;
        // The document's other fields (`format`, `format_version`, `video`) are ignored here.
        serde_json::from_value(head)
            .map(Some)
            .map_err(|e| json_error(&key, e))
    }

    /// The finished videos directly in `folder` (`""` for the top; subfolders are not
    /// entered) with their manifests, in the order of their names: every
    /// `{folder}/{video}.scene.json` ([`layout::manifest_key`]). What
    /// `video_export::write_webdataset` and other exports take.
    ///
    /// # Errors
    /// [`Error::InvalidPath`] for a bad folder; what [`video_manifest`](Self::video_manifest)
    /// returns for a manifest that cannot be read.
    pub async fn video_manifests(&self, folder: &str) -> Result<Vec<(VideoRef, VideoManifest)>> {
        let videos: Vec<VideoRef> = self
            .list_keys(folder)
            .await?
            .iter()
            .filter_map(|key| {
                let name = key.rsplit('/').next().unwrap_or(key);
                layout::manifest_video(name).map(|video| VideoRef {
                    folder: folder.to_owned(),
                    name: video.to_owned(),
                })
            })
            .collect();
        self.manifests_of(videos).await
    }

    /// [`video_manifests`](Self::video_manifests) of `folder` and of every folder under it, in
    /// the order of their folders, then names (the library's own `.video-dataset` folders are
    /// not entered).
    ///
    /// # Errors
    /// As [`video_manifests`](Self::video_manifests).
    pub async fn video_manifests_under(
        &self,
        folder: &str,
    ) -> Result<Vec<(VideoRef, VideoManifest)>> {
        let dir = if folder.is_empty() {
            self.prefix.clone()
        } else {
            layout::check_key(folder)?;
            self.path(folder)
        };
        let listed: Vec<object_store::ObjectMeta> =
            match self.store.list(Some(&dir)).try_collect().await {
                Ok(l) => l,
                Err(object_store::Error::NotFound { .. }) => Vec::new(),
                Err(e) => return Err(backend(folder, e)),
            };
        let mut videos: Vec<VideoRef> = listed
            .iter()
            .filter_map(|m| {
                let parts: Vec<String> = m
                    .location
                    .prefix_match(&self.prefix)?
                    .map(|p| as_written(p.as_ref()))
                    .collect::<Option<_>>()?;
                let (file, dirs) = parts.split_last()?;
                if dirs.iter().any(|d| d == layout::BOOKKEEPING_DIR) {
                    return None;
                }
                Some(VideoRef {
                    folder: dirs.join("/"),
                    name: layout::manifest_video(file)?.to_owned(),
                })
            })
            .collect();
        videos.sort();
        self.manifests_of(videos).await
    }

    /// The manifests of `videos`, read a few at once, in order; unfinished videos left out.
    async fn manifests_of(&self, videos: Vec<VideoRef>) -> Result<Vec<(VideoRef, VideoManifest)>> {
        futures::stream::iter(videos)
            .map(|video| async move {
                let manifest = self.video_manifest(&video).await?;
                Ok::<_, Error>(manifest.map(|m| (video, m)))
            })
            .buffered(CONCURRENT_READS)
            .try_filter_map(|x| async move { Ok(x) })
            .try_collect()
            .await
    }
}

#[async_trait]
impl DatasetSink for ObjectStoreSink {
    fn stored_name(&self, key: &str) -> String {
        key.split('/')
            .map(|seg| object_store::path::PathPart::from(seg).as_ref().to_owned())
            .collect::<Vec<_>>()
            .join("/")
    }

    async fn existing(&self, video: &VideoRef, indices: &[u64]) -> Result<Vec<FrameRecord>> {
        layout::check_video(video)?;
        let dir_key = layout::records_dir(video);
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
            .filter_map(|m| layout::record_index(m.location.filename()?))
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
        // A record is trusted only while its image is there with the recorded size: a frame
        // whose image was deleted or replaced is made again.
        let dirs: std::collections::BTreeSet<&str> = records
            .iter()
            .map(|r| r.key.rsplit_once('/').map_or("", |(d, _)| d))
            .collect();
        let mut sizes = std::collections::HashMap::new();
        for dir in dirs {
            sizes.extend(self.list_sizes(dir).await?);
        }
        records.retain(|r| sizes.get(&r.key) == Some(&r.bytes));
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
            content_hash: Some(ContentHash::of(&frame.bytes).to_string()),
            annotation_key: None,
            framemd5: frame.framemd5.clone(),
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
        // Images of another format or name for the same frames go first, then the manifest,
        // the video's last write.
        self.remove_replaced_images(video, manifest).await?;
        self.put(&key, json).await?;
        if self.holds_lock(video)? {
            self.remove_video_staging(video).await?;
        } else {
            self.remove_manifest_staging(video, manifest, &key).await?;
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
        layout::check_key(&frame.key)?;
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
        layout::check_key(key)?;
        self.put(key, bytes.to_vec()).await
    }

    async fn read_dataset_file(&self, key: &str) -> Result<Option<Vec<u8>>> {
        layout::check_key(key)?;
        match self.read(key).await {
            Ok(b) => Ok(Some(b)),
            Err(Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Streams the file as a multipart upload in parts of 8 MiB (memory flat in its size),
    /// committed only when the whole file was read unchanged (its size, modification time and
    /// identity are checked), aborted otherwise.
    async fn write_dataset_file_from(&self, key: &str, path: &std::path::Path) -> Result<u64> {
        layout::check_key(key)?;
        Ok(crate::upload::put_file(self, path, key).await?.0)
    }
}

/// The writer's lock of one video, from [`ObjectStoreSink::lock_video`]; released when dropped
/// (or when the process ends, however it ends).
#[derive(Debug)]
pub struct VideoLock {
    /// The locked file, on local disk.
    file: Option<std::fs::File>,
    path: Option<std::path::PathBuf>,
    locked: Arc<std::sync::Mutex<std::collections::BTreeSet<std::path::PathBuf>>>,
}

impl Drop for VideoLock {
    fn drop(&mut self) {
        if let Some(p) = &self.path {
            self.locked
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .remove(p);
        }
        // Closing the file releases the lock.
        self.file.take();
    }
}

/// A read-modify-write of a dataset file in progress: see [`ObjectStoreSink::begin_update`].
#[derive(Debug)]
pub struct DatasetFileUpdate<'a> {
    sink: &'a ObjectStoreSink,
    key: String,
    current: Option<Vec<u8>>,
    version: Option<UpdateVersion>,
    /// The key's lock, on local disk.
    lock: Option<std::fs::File>,
}

impl DatasetFileUpdate<'_> {
    /// The file's content when the update began, `None` when there was no file.
    pub fn current(&self) -> Option<&[u8]> {
        self.current.as_deref()
    }

    /// Store `bytes` as the file's new content if no other writer replaced the file since the
    /// update began: `Ok(true)`; `Ok(false)` when one did, or when the request never left the
    /// client (a pooled connection found closed): nothing was written, begin again.
    ///
    /// # Errors
    /// The store's errors, naming the key.
    pub async fn commit(self, bytes: Vec<u8>) -> Result<bool> {
        let key = &self.key;
        let path = self.sink.path(key);
        if self.lock.is_some() {
            // Local disk: the lock excludes other writers; the rename is atomic.
            self.sink.put(key, bytes).await?;
            return Ok(true);
        }
        let mode = match self.version.clone() {
            Some(v) if v.e_tag.is_some() || v.version.is_some() => PutMode::Update(v),
            Some(_) => PutMode::Overwrite,
            None => PutMode::Create,
        };
        let payload = PutPayload::from(bytes);
        match self
            .sink
            .store
            .put_opts(&path, payload.clone(), PutOptions::from(mode))
            .await
        {
            Ok(_) => Ok(true),
            Err(
                object_store::Error::Precondition { .. }
                | object_store::Error::AlreadyExists { .. },
            ) => Ok(false),
            // Never sent at all (a closed connection; resent a few times by the layer under
            // stores built from a URL): not written; the caller reads again and retries as
            // after a race. An error whose earlier attempts may have been applied is reported.
            Err(e) if crate::store::never_sent(&e) => Ok(false),
            Err(object_store::Error::NotImplemented { .. }) => {
                // No conditional writes in this store: the last writer wins.
                self.sink
                    .store
                    .put(&path, payload)
                    .await
                    .map_err(|e| backend(key, e))?;
                Ok(true)
            }
            Err(e) => Err(backend(key, e)),
        }
    }
}

/// The error after [`UPDATE_ATTEMPTS`] lost races on `key`.
pub(crate) fn too_many_races(key: &str) -> Error {
    Error::Backend {
        backend: "object_store",
        uri: Some(key.to_owned()),
        element: None,
        source: format!(
            "{UPDATE_ATTEMPTS} conditional writes in a row lost a race with other writers"
        )
        .into(),
    }
}

/// Run blocking file-system work off the async threads under Tokio, inline on other executors.
pub(crate) async fn blocking<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    match tokio::runtime::Handle::try_current() {
        Ok(rt) => match rt.spawn_blocking(f).await {
            Ok(v) => v,
            Err(e) => std::panic::resume_unwind(e.into_panic()),
        },
        Err(_) => f(),
    }
}

/// Open (creating it and its folders) and lock `path` exclusively, waiting for other holders.
/// The wait polls, so that a caller that gives up (drops the future: a job stopped by a signal)
/// leaves no thread blocked on the lock behind it.
async fn lock_file(path: std::path::PathBuf) -> Result<std::fs::File> {
    /// Tells the waiting thread its caller is gone.
    struct Abandon(Arc<std::sync::atomic::AtomicBool>);
    impl Drop for Abandon {
        fn drop(&mut self) {
            self.0.store(true, std::sync::atomic::Ordering::Relaxed);
        }
    }
    let abandoned = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let _abandon = Abandon(abandoned.clone());
    blocking(move || {
        let io = |operation, source| Error::Io {
            path: path.clone(),
            operation,
            source,
        };
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(|e| io("create", e))?;
        }
        let file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(|e| io("open", e))?;
        loop {
            match file.try_lock() {
                Ok(()) => return Ok(file),
                Err(std::fs::TryLockError::WouldBlock) => {
                    if abandoned.load(std::sync::atomic::Ordering::Relaxed) {
                        return Err(io("lock", std::io::ErrorKind::Interrupted.into()));
                    }
                    std::thread::sleep(std::time::Duration::from_millis(20));
                }
                Err(std::fs::TryLockError::Error(e)) => return Err(io("lock", e)),
            }
        }
    })
    .await
}

/// Which files of a folder belong to one video (see [`remove_staging`]).
#[derive(Debug)]
enum Owned {
    /// The video's folder: frames, annotations beside them (`{image}.json`), the manifest.
    VideoFolder,
    /// An image folder: frames.
    Images,
    /// `ann/`: `{image}.json`.
    Annotations,
    /// `.video-dataset/`: the video's COCO part.
    Bookkeeping,
    /// `.video-dataset/{video}/`: frame records.
    Records,
    /// Files of these names.
    Names(std::collections::BTreeSet<String>),
}

impl Owned {
    fn owns(&self, names: &FrameName, video: &str, name: &str) -> bool {
        let frame = |n: &str| names.index_of(video, n).is_some();
        match self {
            Owned::VideoFolder => {
                frame(name)
                    || layout::annotated_image(name).is_some_and(frame)
                    || name == layout::manifest_file_name(video)
            }
            Owned::Images => frame(name),
            Owned::Annotations => layout::annotated_image(name).is_some_and(frame),
            Owned::Bookkeeping => name == layout::coco_part_file_name(video),
            Owned::Records => layout::record_index(name).is_some(),
            Owned::Names(n) => n.contains(name),
        }
    }
}

/// Remove the staging files object_store's local store leaves beside an object when a process
/// is killed in the middle of a write (`{name}#{n}`, written then renamed to `{name}`; never
/// listed, never reused), for the objects of `video` in `dirs`. Best effort: a file that cannot
/// be removed is left. Safe only while no other writer writes these objects: under the video's
/// or the file's lock.
fn remove_staging(dirs: &[(std::path::PathBuf, Owned)], names: &FrameName, video: &str) {
    for (dir, owned) in dirs {
        let Ok(entries) = std::fs::read_dir(dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let file_name = entry.file_name();
            let Some(name) = file_name.to_str() else {
                continue;
            };
            let stale = name.rsplit_once('#').is_some_and(|(base, n)| {
                !n.is_empty()
                    && n.bytes().all(|b| b.is_ascii_digit())
                    && owned.owns(names, video, base)
            });
            if stale && entry.file_type().is_ok_and(|t| t.is_file()) {
                let _ = std::fs::remove_file(entry.path());
            }
        }
    }
}

/// A listed path part as it was written: object_store percent-encodes a part's non-ASCII bytes
/// and a few others (`%` among them, so the encoding is unambiguous). `None` for a part that is
/// not UTF-8 once decoded.
fn as_written(part: &str) -> Option<String> {
    percent_encoding::percent_decode_str(part)
        .decode_utf8()
        .ok()
        .map(|d| d.into_owned())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    /// 16 writers append their number to one file at once, each with a read-modify-write: none is
    /// lost, none is added twice.
    ///
    /// Each writer also notes the content its winning commit was conditioned on. On a store
    /// whose conditional writes are atomic no two writers win on the same content (the wins form
    /// one chain from no file to all 16 numbers), so a trial with distinct bases must end with
    /// every number. Plain moto is not such a store (version 5.2.1 checks `If-Match` and stores
    /// the object later with no lock between: `scripts/moto-conditional-race.py`), which is why
    /// the test command serves moto through `scripts/s3-test-server.py`, whose writes are
    /// atomic. A trial in which two writers won on one base is run again on a fresh key, at most
    /// `trials` times in all (the last must be clean), and says so on stderr: a store whose
    /// conditional writes should be atomic gets `trials` = 1.
    async fn concurrent_updates_lose_nothing(sink: ObjectStoreSink, trials: usize) {
        for trial in 1..=trials {
            let key = format!("dir/list-{trial}.bin");
            let bases = Arc::new(std::sync::Mutex::new(vec![None; 16]));
            let tasks: Vec<_> = (0..16u8)
                .map(|i| {
                    let (sink, key, bases) = (sink.clone(), key.clone(), bases.clone());
                    tokio::spawn(async move {
                        sink.update_dataset_file(&key, |cur| {
                            // The last call's content is the one the winning commit was on.
                            bases.lock().unwrap()[usize::from(i)] = Some(cur.map(<[u8]>::to_vec));
                            let mut v = cur.map(<[u8]>::to_vec).unwrap_or_default();
                            v.push(i);
                            Ok(v)
                        })
                        .await
                    })
                })
                .collect();
            for t in tasks {
                t.await.unwrap().unwrap();
            }
            let mut got = sink.read(&key).await.unwrap();
            got.sort_unstable();
            let mut distinct = got.clone();
            distinct.dedup();
            assert_eq!(got, distinct, "a writer's number added twice");
            let bases = bases.lock().unwrap().clone();
            let shared = bases.len()
                - bases
                    .iter()
                    .collect::<std::collections::BTreeSet<_>>()
                    .len();
            if shared == 0 {
                assert_eq!(got, (0..16).collect::<Vec<u8>>(), "trial {trial}");
                return;
            }
            assert!(
                trial < trials,
                "the store accepted two conditional writes on one version in each of {trials} \
                 trials ({shared} in the last, which kept {got:?})"
            );
            // Straight to stderr (the harness hides eprintln! of passing tests): seen in every run.
            let _ = std::io::Write::write_all(
                &mut std::io::stderr(),
                format!(
                    "\n*** NOTE trial {trial} of concurrent_updates_lose_nothing: the store \
                     accepted {shared} conditional write(s) on a version another write was \
                     conditioned on (kept {got:?}); trying again on a fresh key ***\n"
                )
                .as_bytes(),
            );
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn concurrent_updates_in_memory() {
        let store = Arc::new(object_store::memory::InMemory::new());
        concurrent_updates_lose_nothing(ObjectStoreSink::new(store, Path::default()), 1).await;
    }

    #[cfg(feature = "fs")]
    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn concurrent_updates_on_local_disk() {
        let dir = std::env::temp_dir().join(format!("vd-updates-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        // Two sinks (as two processes would have): the lock is the file's, not the sink's.
        let sink = ObjectStoreSink::local(&dir).unwrap();
        std::fs::create_dir_all(dir.join("dir")).unwrap();
        std::fs::write(dir.join("dir/list-1.bin#3"), b"partial").unwrap();
        concurrent_updates_lose_nothing(sink, 1).await;
        // A staging file a killed writer left is removed under the lock.
        assert!(!dir.join("dir/list-1.bin#3").exists());
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[cfg(feature = "aws")]
    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn concurrent_updates_on_s3() {
        let Some(url) = video_testkit::s3_test_url("concurrent_updates_on_s3") else {
            return;
        };
        // The test command's server makes conditional writes atomic (see
        // concurrent_updates_lose_nothing): one trial, as in memory and on disk.
        concurrent_updates_lose_nothing(ObjectStoreSink::from_url(&url).unwrap(), 1).await;
    }

    /// A commit after another writer's commit writes nothing and says so.
    #[tokio::test]
    async fn a_stale_update_is_refused() {
        let store = Arc::new(object_store::memory::InMemory::new());
        let sink = ObjectStoreSink::new(store, Path::default());
        for existing in [false, true] {
            let key = format!("f{existing}");
            if existing {
                sink.write_dataset_file(&key, b"0").await.unwrap();
            }
            let first = sink.begin_update(&key).await.unwrap();
            let second = sink.begin_update(&key).await.unwrap();
            assert!(first.commit(b"1".to_vec()).await.unwrap());
            assert!(!second.commit(b"2".to_vec()).await.unwrap());
            assert_eq!(sink.read(&key).await.unwrap(), b"1");
        }
    }
}
