//! Source trees: the videos of a local directory or a store prefix, found without extracting
//! anything, each with the dataset folder its frames go to.
//!
//! See [`discover_tree`].

use std::collections::BTreeSet;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use futures::TryStreamExt;
use globset::{GlobSet, GlobSetBuilder};
use video_annotation::supervisely;
use video_core::{Error, Result};
use video_storage::object_store::{ObjectStore, ObjectStoreExt, path::Path as StorePath};
use video_storage::{ObjectStoreSink, StoreOptions};

use crate::{AnnotationInput, VideoInput};

/// The extensions taken as videos, lower case (matched case-insensitively): the containers
/// GStreamer's plugins of the README read, and animated GIF.
pub const VIDEO_EXTENSIONS: &[&str] = &[
    "mp4", "m4v", "mov", "qt", "mkv", "webm", "avi", "ts", "mts", "m2ts", "mpg", "mpeg", "flv",
    "wmv", "asf", "3gp", "3g2", "ogv", "mxf", "gif",
];

/// The Supervisely project meta's file name, at the root of a project.
const SUPERVISELY_META: &str = "meta.json";
/// Bytes read from a file to sniff its container.
const SNIFF_LEN: usize = 512;

/// Where a tree's videos are.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub enum TreeSource {
    /// A local directory.
    Dir(PathBuf),
    /// A store prefix URL (`file:///abs/dir`, `s3://bucket/videos`, …, as the build's features
    /// allow); its entries are [`VideoInput::Url`]s. Each `memory://` URL names a new, empty
    /// store: give an in-memory store as [`TreeSource::Store`].
    Url(String),
    /// A store and prefix already opened (the prefix is the sink's); its entries are
    /// [`VideoInput::Store`]s, opened (one `HEAD` each) while the tree is discovered.
    Store(ObjectStoreSink),
}

/// A string with `://` is a store prefix URL, anything else a local directory.
impl From<&str> for TreeSource {
    fn from(s: &str) -> Self {
        if s.contains("://") {
            TreeSource::Url(s.to_owned())
        } else {
            TreeSource::Dir(PathBuf::from(s))
        }
    }
}

impl From<String> for TreeSource {
    fn from(s: String) -> Self {
        TreeSource::from(s.as_str())
    }
}

impl From<&Path> for TreeSource {
    fn from(p: &Path) -> Self {
        TreeSource::Dir(p.to_owned())
    }
}

impl From<PathBuf> for TreeSource {
    fn from(p: PathBuf) -> Self {
        TreeSource::Dir(p)
    }
}

impl From<ObjectStoreSink> for TreeSource {
    fn from(s: ObjectStoreSink) -> Self {
        TreeSource::Store(s)
    }
}

/// Which files of a tree are its videos (see [`discover_tree`]).
#[derive(Clone, Debug, Default)]
#[non_exhaustive]
pub struct TreeOptions {
    /// Glob patterns (`globset` syntax: `*` stays within a folder, `**` crosses folders) on the
    /// `/`-separated relative path; when any is given, only matching files are listed.
    /// Default: none (every file).
    pub include: Vec<String>,
    /// Glob patterns on the relative path of files never listed. Default: none.
    pub exclude: Vec<String>,
    /// Only the files under these top-level folders (Supervisely's dataset whitelist: for a
    /// Supervisely project, its datasets). Default: none (every folder, and the root's files).
    pub datasets: Option<Vec<String>>,
    /// Extensions taken as videos, lower case without the dot. Default (empty):
    /// [`VIDEO_EXTENSIONS`].
    pub extensions: Vec<String>,
    /// Also list files with no extension or one not taken as a video when their first bytes are
    /// a video container's (MP4/QuickTime `ftyp`/`moov`, Matroska/WebM, AVI, MPEG-TS, MPEG-PS,
    /// FLV, ASF, Ogg, GIF). Reads up to 512 bytes of each such file (a ranged `GET` in a
    /// store). Default: false.
    pub sniff_unknown: bool,
    /// How a [`TreeSource::Url`]'s store is reached. Default: [`StoreOptions::default`].
    pub store: StoreOptions,
}

impl TreeOptions {
    /// Add an [include](Self::include) pattern.
    pub fn include(mut self, pattern: impl Into<String>) -> Self {
        self.include.push(pattern.into());
        self
    }
    /// Add an [exclude](Self::exclude) pattern.
    pub fn exclude(mut self, pattern: impl Into<String>) -> Self {
        self.exclude.push(pattern.into());
        self
    }
    /// Set the [whitelist of top-level folders](Self::datasets).
    pub fn datasets<S: Into<String>>(mut self, names: impl IntoIterator<Item = S>) -> Self {
        self.datasets = Some(names.into_iter().map(Into::into).collect());
        self
    }
    /// Set the [extensions](Self::extensions) taken as videos.
    pub fn extensions<S: Into<String>>(mut self, exts: impl IntoIterator<Item = S>) -> Self {
        self.extensions = exts.into_iter().map(Into::into).collect();
        self
    }
    /// Set [`sniff_unknown`](Self::sniff_unknown).
    pub fn sniff_unknown(mut self, v: bool) -> Self {
        self.sniff_unknown = v;
        self
    }
    /// Set [`store`](Self::store).
    pub fn store(mut self, v: StoreOptions) -> Self {
        self.store = v;
        self
    }
}

/// A file of a tree other than a video: a local path or, for a store source, a URL or a key of
/// the source's store.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum TreeFile {
    /// A local file.
    File(PathBuf),
    /// An object by URL (from a [`TreeSource::Url`]).
    Url(String),
    /// An object of a [`TreeSource::Store`], by its key relative to the sink's prefix.
    Key(String),
}

/// One video of a tree.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct TreeEntry {
    /// The video, as [`extract_frames`](crate::extract_frames) takes it.
    pub source: VideoInput,
    /// The tree's root as given ([`VideoTree::root`]).
    pub root: String,
    /// Its path relative to the tree's root, `/`-separated (`a/b/clip.mp4`).
    pub relative_path: String,
    /// The dataset folder its frames go to (`a/b`; `""` for the root), for
    /// [`ExtractOptions::folder_path`](crate::ExtractOptions::folder_path).
    pub folder: String,
    /// Its Supervisely annotation (`<dataset>/ann/<name>.json`), when the tree is a Supervisely
    /// project and the file exists.
    pub annotation: Option<TreeFile>,
    /// The Supervisely project meta (`meta.json` at the root), for a video of a Supervisely
    /// project.
    pub project_meta: Option<TreeFile>,
}

/// The videos of a source tree, sorted by relative path.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct VideoTree {
    /// The source as given (a path or URL), for messages.
    pub root: String,
    /// Whether the tree is a Supervisely video project (see [`discover_tree`]).
    pub supervisely: bool,
    /// The videos.
    pub entries: Vec<TreeEntry>,
    /// The store of a [`TreeSource::Store`], whose entries' files are its keys (for
    /// [`TreeEntry::annotation_input`]); `None` for the other sources.
    pub store: Option<ObjectStoreSink>,
}

/// One file found: its `/`-separated relative path and where to read it (in a store: its
/// location and size too).
struct Found {
    rel: String,
    file: TreeFile,
    object: Option<(StorePath, u64)>,
}

/// List the videos of `source`, without decoding any.
///
/// Walks the source and lists, sorted by relative path:
/// - the files whose extension is one of [`VIDEO_EXTENSIONS`] (case-insensitive), and, with
///   [`TreeOptions::sniff_unknown`], files with no or another extension whose first bytes are
///   those of a video container;
/// - matching the [include and exclude patterns](TreeOptions::include) on the relative path and
///   the [whitelist of top-level folders](TreeOptions::datasets);
/// - never inside a hidden folder (a name starting with `.`, such as the library's own
///   `.video-dataset`), and never a hidden file.
///
/// The output mirrors the source: `a/b/clip.mp4` maps to the dataset folder `a/b` (its frames
/// named after `clip`, as for a single video). A **Supervisely video project** (a `meta.json`
/// at the root, videos at `<dataset>/video/<name>`, annotations at `<dataset>/ann/<name>.json`)
/// is recognised: its videos map to the folder `<dataset>` and carry their annotation (when the
/// file exists) and the project meta, so that [`extract_frames`](crate::extract_frames) with
/// [`TreeEntry::annotation_input`] writes `<dataset>/img` and `<dataset>/ann`.
///
/// ```no_run
/// use video_dataset::{ExtractOptions, SamplingPlan, TreeOptions, discover_tree, extract_frames};
/// # async fn run() -> video_dataset::Result<()> {
/// let tree = discover_tree("videos/", &TreeOptions::default().exclude("**/raw/**")).await?;
/// for entry in &tree.entries {
///     let options = ExtractOptions::default()
///         .plan(SamplingPlan::every(30))
///         .folder_path(entry.folder.clone())
///         .annotation(entry.annotation_input(None).await?);
///     extract_frames(entry.source.clone(), "dataset/", options).await?;
/// }
/// # Ok(()) }
/// ```
///
/// # Errors
/// [`Error::NotFound`] naming the source when it does not exist, is not a directory, or (a
/// store prefix) holds no object; [`Error::NotAVideo`] naming the source when it holds files
/// but none is a video the options keep; [`Error::InvalidOption`] for a bad glob pattern (option
/// `include` or `exclude`); [`Error::InvalidPath`] for a video whose folder is not a valid
/// dataset folder; [`Error::Io`] and [`Error::Store`] for a failed listing or read.
pub async fn discover_tree(
    source: impl Into<TreeSource>,
    options: &TreeOptions,
) -> Result<VideoTree> {
    let source = source.into();
    let include = glob_set("include", &options.include)?;
    let exclude = glob_set("exclude", &options.exclude)?;
    let extensions: BTreeSet<String> = if options.extensions.is_empty() {
        VIDEO_EXTENSIONS.iter().map(|e| (*e).to_owned()).collect()
    } else {
        options
            .extensions
            .iter()
            .map(|e| e.trim_start_matches('.').to_ascii_lowercase())
            .collect()
    };
    let (root, store, files) = match &source {
        TreeSource::Dir(dir) => (dir.display().to_string(), None, list_dir(dir)?),
        TreeSource::Url(url) => {
            let sink = ObjectStoreSink::builder(url.clone())
                .with_store_options(options.store.clone())
                .build()?;
            let files = list_store(&sink, url, Some(url)).await?;
            (url.clone(), Some(sink), files)
        }
        TreeSource::Store(sink) => {
            let root = format!("store prefix {:?}", sink.prefix().as_ref());
            let files = list_store(sink, &root, None).await?;
            (root, Some(sink.clone()), files)
        }
    };
    if files.is_empty() {
        return Err(Error::NotFound {
            uri: root,
            source: Some("the source tree holds no files (hidden ones aside)".into()),
        });
    }
    let meta = files.iter().find(|f| f.rel == SUPERVISELY_META);
    let supervisely = meta.is_some() && files.iter().any(|f| supervisely_video(&f.rel).is_some());
    let by_rel: std::collections::BTreeMap<&str, &TreeFile> =
        files.iter().map(|f| (f.rel.as_str(), &f.file)).collect();
    let mut entries = Vec::new();
    for f in &files {
        let rel = f.rel.as_str();
        if let Some(whitelist) = &options.datasets {
            match rel.split_once('/') {
                Some((top, _)) if whitelist.iter().any(|d| d == top) => {}
                _ => continue,
            }
        }
        if include.as_ref().is_some_and(|g| !g.is_match(rel))
            || exclude.as_ref().is_some_and(|g| g.is_match(rel))
        {
            continue;
        }
        let name = rel.rsplit('/').next().unwrap_or(rel);
        let known = extension(name).is_some_and(|e| extensions.contains(&e));
        if !known {
            if !options.sniff_unknown || (supervisely && rel.ends_with(".json")) {
                continue;
            }
            if !sniff(f, store.as_ref()).await? {
                continue;
            }
        }
        let (folder, annotation, project_meta) = match supervisely_video(rel) {
            Some((dataset, name)) if supervisely => (
                dataset.to_owned(),
                by_rel
                    .get(format!("{dataset}/ann/{name}.json").as_str())
                    .map(|f| (*f).clone()),
                meta.map(|m| m.file.clone()),
            ),
            _ => (
                rel.rsplit_once('/')
                    .map(|(dir, _)| dir.to_owned())
                    .unwrap_or_default(),
                None,
                None,
            ),
        };
        if !folder.is_empty() {
            video_core::layout::check_key(&folder)?;
        }
        let source = match &f.file {
            TreeFile::File(p) => VideoInput::File(p.clone()),
            TreeFile::Url(u) => VideoInput::Url(u.clone()),
            TreeFile::Key(k) => match &store {
                Some(sink) => VideoInput::Store(Arc::new(sink.open_video(k).await?)),
                None => continue,
            },
        };
        entries.push(TreeEntry {
            source,
            root: root.clone(),
            relative_path: rel.to_owned(),
            folder,
            annotation,
            project_meta,
        });
    }
    if entries.is_empty() {
        return Err(Error::NotAVideo {
            uri: root,
            reason: format!(
                "none of the source tree's {} file(s) is a video these options keep",
                files.len()
            ),
            source: None,
        });
    }
    let store = match source {
        TreeSource::Store(sink) => Some(sink),
        _ => None,
    };
    Ok(VideoTree {
        root,
        supervisely,
        entries,
        store,
    })
}

impl TreeEntry {
    /// The video's file name: the last part of its [`relative_path`](Self::relative_path)
    /// (Supervisely's video name).
    pub fn video_name(&self) -> &str {
        self.relative_path
            .rsplit_once('/')
            .map_or(self.relative_path.as_str(), |(_, name)| name)
    }

    /// Where the video came from, as `sample_info` keys: `source_root` ([`root`](Self::root)),
    /// `relative_path` and `video_name` ([`video_name`](Self::video_name)). A job adds them to
    /// each tree video's manifest (see
    /// [`JobVideo::from_tree_entry`](crate::JobVideo::from_tree_entry)).
    pub fn provenance(&self) -> serde_json::Map<String, serde_json::Value> {
        let mut info = serde_json::Map::new();
        info.insert("source_root".into(), self.root.clone().into());
        info.insert("relative_path".into(), self.relative_path.clone().into());
        info.insert("video_name".into(), self.video_name().to_owned().into());
        info
    }

    /// The entry's Supervisely annotation, read and checked against the project meta, for
    /// [`ExtractOptions::annotation`](crate::ExtractOptions::annotation); `None` for a video
    /// without one. `store` is the tree's store for [`TreeFile::Key`]s (ignored otherwise).
    ///
    /// # Errors
    /// As [`AnnotationInput::read_supervisely`], and [`Error::NotFound`] / [`Error::Store`]
    /// for an annotation in a store that cannot be read; [`Error::InvalidOption`] (option
    /// `store`) for a [`TreeFile::Key`] without a store.
    pub async fn annotation_input(
        &self,
        store: Option<&ObjectStoreSink>,
    ) -> Result<Option<AnnotationInput>> {
        let Some(ann) = &self.annotation else {
            return Ok(None);
        };
        if let (TreeFile::File(a), None | Some(TreeFile::File(_))) = (ann, &self.project_meta) {
            let meta = match &self.project_meta {
                Some(TreeFile::File(m)) => Some(m.as_path()),
                _ => None,
            };
            return AnnotationInput::read_supervisely(a, meta).map(Some);
        }
        let meta = match &self.project_meta {
            Some(m) => {
                let (name, bytes) = read_file(m, store).await?;
                Some(supervisely::read_meta(&name, bytes.as_slice())?)
            }
            None => None,
        };
        let (name, bytes) = read_file(ann, store).await?;
        let parsed = supervisely::read_video_annotation(&name, bytes.as_slice(), meta.as_ref())?;
        Ok(Some(AnnotationInput::new(name, parsed)))
    }
}

/// A file's name (for messages) and bytes.
pub(crate) async fn read_file(
    file: &TreeFile,
    store: Option<&ObjectStoreSink>,
) -> Result<(String, Vec<u8>)> {
    match file {
        TreeFile::File(p) => std::fs::read(p)
            .map(|b| (p.display().to_string(), b))
            .map_err(|source| Error::Io {
                path: p.clone(),
                operation: "read",
                source,
            }),
        TreeFile::Url(u) => {
            let (dir, name) = u.rsplit_once('/').unwrap_or(("", u));
            let sink = ObjectStoreSink::from_url(dir)?;
            let name = percent_decode(name);
            Ok((u.clone(), sink.read(&name).await?))
        }
        TreeFile::Key(k) => match store {
            Some(sink) => Ok((k.clone(), sink.read(k).await?)),
            None => Err(Error::InvalidOption {
                option: "store".into(),
                reason: format!("{k} is a key of the tree's store, and no store was given"),
            }),
        },
    }
}

/// `<dataset>/video/<name>` → `(dataset, name)`.
fn supervisely_video(rel: &str) -> Option<(&str, &str)> {
    let mut parts = rel.split('/');
    match (parts.next(), parts.next(), parts.next(), parts.next()) {
        (Some(ds), Some("video"), Some(name), None) if !ds.is_empty() && !name.is_empty() => {
            Some((ds, name))
        }
        _ => None,
    }
}

/// The lower-case extension of a file name, if it has one (`.hidden` has none).
fn extension(name: &str) -> Option<String> {
    match name.rsplit_once('.') {
        Some((stem, ext)) if !stem.is_empty() && !ext.is_empty() => Some(ext.to_ascii_lowercase()),
        _ => None,
    }
}

fn glob_set(option: &str, patterns: &[String]) -> Result<Option<GlobSet>> {
    if patterns.is_empty() {
        return Ok(None);
    }
    let mut b = GlobSetBuilder::new();
    for p in patterns {
        let glob = globset::GlobBuilder::new(p)
            .literal_separator(true)
            .build()
            .map_err(|e| Error::InvalidOption {
                option: option.to_owned(),
                reason: format!("pattern {p:?}: {e}"),
            })?;
        b.add(glob);
    }
    b.build().map(Some).map_err(|e| Error::InvalidOption {
        option: option.to_owned(),
        reason: e.to_string(),
    })
}

/// Every file under `dir` (not entering hidden folders), with relative paths; symbolic links
/// are followed for files, not for folders (no cycles).
fn list_dir(dir: &Path) -> Result<Vec<Found>> {
    let not_found = |e: Option<std::io::Error>| Error::NotFound {
        uri: dir.display().to_string(),
        source: Some(match e {
            Some(e) => Box::new(e),
            None => "not a directory".into(),
        }),
    };
    match std::fs::metadata(dir) {
        Ok(m) if m.is_dir() => {}
        Ok(_) => return Err(not_found(None)),
        Err(e) => return Err(not_found(Some(e))),
    }
    let mut out = Vec::new();
    let mut stack = vec![(dir.to_owned(), String::new())];
    while let Some((path, rel)) = stack.pop() {
        let io = |source| Error::Io {
            path: path.clone(),
            operation: "list",
            source,
        };
        for entry in std::fs::read_dir(&path).map_err(io)? {
            let entry = entry.map_err(io)?;
            let Some(name) = entry.file_name().to_str().map(str::to_owned) else {
                continue; // Not UTF-8: no dataset key could name it.
            };
            if name.starts_with('.') {
                continue;
            }
            let child_rel = if rel.is_empty() {
                name.clone()
            } else {
                format!("{rel}/{name}")
            };
            let kind = entry.file_type().map_err(io)?;
            if kind.is_dir() {
                stack.push((entry.path(), child_rel));
            } else if std::fs::metadata(entry.path()).is_ok_and(|m| m.is_file()) {
                out.push(Found {
                    rel: child_rel,
                    file: TreeFile::File(entry.path()),
                    object: None,
                });
            }
        }
    }
    out.sort_by(|a, b| a.rel.cmp(&b.rel));
    Ok(out)
}

/// Every object under the sink's prefix; with `url`, each as a URL under it, otherwise as a key.
async fn list_store(sink: &ObjectStoreSink, root: &str, url: Option<&str>) -> Result<Vec<Found>> {
    let prefix = sink.prefix();
    let listed: Vec<_> = match sink
        .store()
        .list(Some(prefix))
        .try_collect::<Vec<_>>()
        .await
    {
        Ok(v) => v,
        Err(video_storage::object_store::Error::NotFound { .. }) => Vec::new(),
        Err(e) => {
            return Err(Error::Store {
                uri: root.to_owned(),
                operation: "list",
                transient: false,
                source: Box::new(e),
            });
        }
    };
    let base = match url {
        Some(u) => Some(url::Url::parse(u).map_err(|e| Error::InvalidPath {
            path: u.to_owned(),
            reason: e.to_string(),
        })?),
        None => None,
    };
    let skip = prefix.parts().count();
    let mut out = Vec::new();
    for meta in listed {
        let parts: Vec<String> = meta
            .location
            .parts()
            .skip(skip)
            .map(|p| percent_decode(p.as_ref()))
            .collect();
        // Hidden folders and files are not part of the tree (as on local disk).
        if parts.is_empty() || parts.iter().any(|p| p.starts_with('.')) {
            continue;
        }
        let rel = parts.join("/");
        let file = match &base {
            Some(base) => {
                let mut u = base.clone();
                if let Ok(mut segs) = u.path_segments_mut() {
                    segs.pop_if_empty().extend(&parts);
                }
                TreeFile::Url(u.to_string())
            }
            None => TreeFile::Key(rel.clone()),
        };
        out.push(Found {
            rel,
            file,
            object: Some((meta.location, meta.size)),
        });
    }
    out.sort_by(|a, b| a.rel.cmp(&b.rel));
    Ok(out)
}

fn percent_decode(s: &str) -> String {
    url::form_urlencoded::parse(format!("x={}", s.replace('+', "%2B")).as_bytes())
        .next()
        .map(|(_, v)| v.into_owned())
        .unwrap_or_else(|| s.to_owned())
}

/// Whether a file's first bytes are a video container's (see [`TreeOptions::sniff_unknown`]).
async fn sniff(found: &Found, store: Option<&ObjectStoreSink>) -> Result<bool> {
    let head = match (&found.file, &found.object, store) {
        (TreeFile::File(p), _, _) => {
            let mut buf = Vec::with_capacity(SNIFF_LEN);
            let f = std::fs::File::open(p).map_err(|source| Error::Io {
                path: p.clone(),
                operation: "open",
                source,
            })?;
            f.take(SNIFF_LEN as u64)
                .read_to_end(&mut buf)
                .map_err(|source| Error::Io {
                    path: p.clone(),
                    operation: "read",
                    source,
                })?;
            buf
        }
        (_, Some((location, size)), Some(sink)) => {
            let end = (*size).min(SNIFF_LEN as u64);
            sink.store()
                .get_range(location, 0..end)
                .await
                .map_err(|e| Error::Store {
                    uri: found.rel.clone(),
                    operation: "get",
                    transient: false,
                    source: Box::new(e),
                })?
                .to_vec()
        }
        _ => return Ok(false),
    };
    Ok(looks_like_video(&head))
}

/// Container signatures (see [`TreeOptions::sniff_unknown`]).
fn looks_like_video(b: &[u8]) -> bool {
    let at = |i: usize, sig: &[u8]| b.get(i..i + sig.len()) == Some(sig);
    (b.len() >= 8
        && [&b"ftyp"[..], b"moov", b"mdat", b"wide", b"free"]
            .iter()
            .any(|s| at(4, s)))
        || at(0, &[0x1a, 0x45, 0xdf, 0xa3])
        || (at(0, b"RIFF") && at(8, b"AVI "))
        || (at(0, &[0x47]) && at(188, &[0x47]))
        || at(0, &[0x00, 0x00, 0x01, 0xba])
        || at(0, b"FLV")
        || at(0, &[0x30, 0x26, 0xb2, 0x75, 0x8e, 0x66, 0xcf, 0x11])
        || at(0, b"OggS")
        || at(0, b"GIF87a")
        || at(0, b"GIF89a")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signatures() {
        let mut mp4 = vec![0, 0, 0, 0x20];
        mp4.extend_from_slice(b"ftypisom");
        assert!(looks_like_video(&mp4));
        assert!(looks_like_video(&[0x1a, 0x45, 0xdf, 0xa3, 1]));
        assert!(looks_like_video(b"GIF89a..."));
        assert!(!looks_like_video(b"hello world, not a video"));
        assert!(!looks_like_video(b""));
    }

    #[test]
    fn extensions_and_layout() {
        assert_eq!(extension("A.MP4").as_deref(), Some("mp4"));
        assert_eq!(extension(".hidden"), None);
        assert_eq!(extension("noext"), None);
        assert_eq!(supervisely_video("ds1/video/a.mp4"), Some(("ds1", "a.mp4")));
        assert_eq!(supervisely_video("ds1/ann/a.mp4.json"), None);
        assert_eq!(supervisely_video("x/ds1/video/a.mp4"), None);
    }
}
