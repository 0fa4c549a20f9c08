//! The dataset's layout in a store: every key and folder name the library writes or reads, and
//! the format names and versions of the JSON documents it stores. Sinks, the job and tests ask
//! this module; nothing else spells a key.
//!
//! # The tree
//!
//! Keys are `/`-separated and relative to the dataset (an `ObjectStoreSink`'s prefix). A video
//! is named by a [`VideoRef`]: its `folder` (`""` for the top, any depth) and its `name` (the
//! video file's stem).
//!
//! ```text
//! {dataset}/
//! ├── meta.json                                  META_KEY: Supervisely project meta (annotations)
//! ├── .video-dataset/                            BOOKKEEPING_DIR: the library's own files
//! │   ├── scenes/{reference_id}.json             scene_key: a scene appended to the dataset
//! │   ├── jobs/{job_id}.json                     job_key: the record of a job of many videos
//! │   ├── jobs/{job_id}.cancel                   job_cancel_key: a request to cancel the job
//! │   └── locks/{key, percent-encoded}.lock      file_lock_key: local-disk lock of a shared file
//! └── {folder}/
//!     ├── {video}_{index:06}.{jpg|png}           frame_key: a frame (name: FrameName template)
//!     ├── {video}_{index:06}.{jpg|png}.json      annotation_key: its annotation, beside it
//!     ├── img/{video}_{index:06}.{jpg|png}       frame_key with image folder IMAGE_FOLDER
//!     ├── ann/{video}_{index:06}.{jpg|png}.json  annotation_key of an image in img/
//!     ├── coco_instances.json                    coco_key: the folder's COCO instances
//!     ├── {video}.scene.json                     manifest_key: the video's manifest, written last
//!     ├── {video}.contact.png                    contact_sheet_key: a grid of its frames (export)
//!     ├── index.html                             index_html_key: the folder's page (export)
//!     ├── {video file name}                      uploaded_video_key: a video put there by upload
//!     ├── {video}.prepared/{tag}.mp4             prepared_output_key: a web-ready or fps copy
//!     ├── {video}.prepared/{tag}/{video}_{n:04}.mp4   prepared_output_key: segment n of a split
//!     ├── {video}.prepared/{tag}.json            prepared_manifest_key: its manifest, written last
//!     ├── webdataset/{name}-{n:06}.tar           webdataset_shard_key: WebDataset shard n of export `name`
//!     ├── webdataset/{name}.json                 webdataset_index_key: the export's index, written last
//!     └── .video-dataset/
//!         ├── {video}/{index:06}.json            record_key: one record per stored frame
//!         ├── {video}.coco.json                  coco_part_key: the video's part of the COCO file
//!         ├── {video}.prepared/{tag}/{n:04}.json prepared_record_key: one record per finished output
//!         └── {video}.lock                       lock_key: the video's writer lock (local disk)
//! ```
//!
//! With annotations (`video_dataset::extract_frames` given one) each folder is a Supervisely
//! images dataset (`img/`, `ann/`) and the dataset root a Supervisely project (`meta.json`).
//! On local disk object_store writes each object to a staging file `{name}#{n}` and renames it
//! into place; a killed writer can leave one behind (see `ObjectStoreSink::lock_video`).
//!
//! The manifest is a JSON object with `"format": "video-dataset/manifest"` ([`MANIFEST_FORMAT`])
//! and `"format_version"` ([`MANIFEST_FORMAT_VERSION`]); a scene one with
//! `"format": "video-dataset/scene"` ([`SCENE_FORMAT`]) and [`SCENE_FORMAT_VERSION`]; a job's
//! record one with `"format": "video-dataset/job"` ([`JOB_FORMAT`]) and [`JOB_FORMAT_VERSION`].
//!
//! The key functions build keys from names the caller has already checked with
//! [`check_video`], [`check_key`] or [`check_segment`] (which refuse empty, `.`/`..`,
//! backslash and control-character segments); they never fail.
//!
//! ```
//! use video_core::{VideoRef, layout};
//! let video = VideoRef { folder: "train".into(), name: "clip".into() };
//! assert_eq!(layout::record_key(&video, 42), "train/.video-dataset/clip/000042.json");
//! assert_eq!(layout::manifest_key(&video), "train/clip.scene.json");
//! assert_eq!(layout::annotation_key("train/img/clip_000042.jpg"), "train/ann/clip_000042.jpg.json");
//! ```

mod frame_name;

pub use frame_name::{DEFAULT_FRAME_NAME, FrameName};

use crate::{Error, Result, VideoRef};

/// The folder of the library's own files, hidden among the frames: at the dataset's top (scenes,
/// locks) and in every video folder (records, COCO parts, video locks).
pub const BOOKKEEPING_DIR: &str = ".video-dataset";

/// The `format` field of a stored manifest.
pub const MANIFEST_FORMAT: &str = "video-dataset/manifest";

/// Version of the manifest's JSON shape, written as `format_version` by sinks that store
/// manifests as JSON. It changes when a field is renamed, moved or removed, not when one is added.
///
/// Version 1 (`"format": "video-dataset/scene-1"`) kept the source as a string inside `video`
/// and had no sampling settings or `sample_info`.
pub const MANIFEST_FORMAT_VERSION: u32 = 2;

/// The `format` field of a prepared video's manifest.
pub const PREPARED_FORMAT: &str = "video-dataset/prepared";

/// The `format_version` field of a prepared video's manifest.
pub const PREPARED_FORMAT_VERSION: u32 = 1;

/// The `format` field of a stored scene.
pub const SCENE_FORMAT: &str = "video-dataset/scene";

/// The `format_version` field of a stored scene.
pub const SCENE_FORMAT_VERSION: u32 = 1;

/// The `format` field of a WebDataset export's index ([`webdataset_index_key`]).
pub const WEBDATASET_FORMAT: &str = "video-dataset/webdataset";

/// The `format_version` field of a WebDataset export's index.
pub const WEBDATASET_FORMAT_VERSION: u32 = 1;

/// The folder of WebDataset exports in a dataset folder (`{folder}/webdataset/`).
pub const WEBDATASET_DIR: &str = "webdataset";

/// The `format` field of a stored job record.
pub const JOB_FORMAT: &str = "video-dataset/job";

/// The `format_version` field of a stored job record.
pub const JOB_FORMAT_VERSION: u32 = 1;

/// The `format` field of a stored request to cancel a job ([`job_cancel_key`]).
pub const JOB_CANCEL_FORMAT: &str = "video-dataset/job-cancel";

/// The `format_version` field of a stored request to cancel a job.
pub const JOB_CANCEL_FORMAT_VERSION: u32 = 1;

/// The key of the project meta of a dataset with annotations, at the dataset's root
/// (Supervisely's `meta.json`).
pub const META_KEY: &str = "meta.json";

/// The name of the COCO instances file of a dataset folder (`{folder}/coco_instances.json`).
pub const COCO_FILE_NAME: &str = "coco_instances.json";

/// The image folder of a video folder in a dataset with annotations (Supervisely's `img/`):
/// the folder `video_dataset::extract_frames` puts frames in when it copies annotations.
pub const IMAGE_FOLDER: &str = "img";

/// The annotation folder beside [`IMAGE_FOLDER`] (Supervisely's `ann/`).
pub const ANNOTATION_FOLDER: &str = "ann";

/// Dataset-relative folder of the scene documents.
pub const SCENES_DIR: &str = ".video-dataset/scenes";

/// Dataset-relative folder of the job records.
pub const JOBS_DIR: &str = ".video-dataset/jobs";

/// The extension of every JSON document the library stores.
const JSON: &str = ".json";
/// The suffix of one video's part of its folder's COCO file.
const COCO_PART: &str = ".coco.json";
/// The suffix of a video's manifest.
const MANIFEST: &str = ".scene.json";
/// The suffix of a video's contact sheet.
const CONTACT_SHEET: &str = ".contact.png";
/// The file name of a folder's index page.
const INDEX_HTML: &str = "index.html";
/// The suffix of a lock file.
const LOCK: &str = ".lock";
const PREPARED: &str = ".prepared";
const MP4: &str = ".mp4";

/// `{folder}/{rest}`, or `rest` for the top folder (`""`).
///
/// ```
/// assert_eq!(video_core::layout::in_folder("a/b", "c.json"), "a/b/c.json");
/// assert_eq!(video_core::layout::in_folder("", "c.json"), "c.json");
/// ```
pub fn in_folder(folder: &str, rest: &str) -> String {
    if folder.is_empty() {
        rest.to_owned()
    } else {
        format!("{folder}/{rest}")
    }
}

/// The key of `rest` in `video`'s folder: `{folder}/{rest}`.
pub fn video_folder_key(video: &VideoRef, rest: &str) -> String {
    in_folder(&video.folder, rest)
}

/// The key of a frame image named `file_name` (see [`FrameName::render`]) of `video`:
/// `{folder}/{file_name}`, or `{folder}/{image_folder}/{file_name}`.
pub fn frame_key(video: &VideoRef, image_folder: Option<&str>, file_name: &str) -> String {
    match image_folder {
        Some(dir) => video_folder_key(video, &format!("{dir}/{file_name}")),
        None => video_folder_key(video, file_name),
    }
}

/// The file name of frame `index` of the video `video` under the default template
/// ([`DEFAULT_FRAME_NAME`]): `{video}_{index:06}.{ext}`.
pub fn default_frame_file_name(video: &str, index: u64, ext: &str) -> String {
    FrameName::default().render(video, index, ext)
}

/// The folder of a video's bookkeeping files: `{folder}/.video-dataset`.
pub fn bookkeeping_dir(folder: &str) -> String {
    in_folder(folder, BOOKKEEPING_DIR)
}

/// The folder of a video's frame records: `{folder}/.video-dataset/{video}`.
pub fn records_dir(video: &VideoRef) -> String {
    format!("{}/{}", bookkeeping_dir(&video.folder), video.name)
}

/// The file name of frame `index`'s record: `{index:06}.json`.
pub fn record_file_name(index: u64) -> String {
    format!("{index:06}{JSON}")
}

/// The frame index of a record's file name (`000042.json` → 42): digits, then `.json`.
pub fn record_index(file_name: &str) -> Option<u64> {
    let digits = file_name.strip_suffix(JSON)?;
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

/// The key of frame `index`'s record: `{folder}/.video-dataset/{video}/{index:06}.json`. A frame
/// counts as stored when its record exists; the record holds the image's key.
pub fn record_key(video: &VideoRef, index: u64) -> String {
    format!("{}/{}", records_dir(video), record_file_name(index))
}

/// The file name of the manifest of the video `video`: `{video}.scene.json`.
pub fn manifest_file_name(video: &str) -> String {
    format!("{video}{MANIFEST}")
}

/// The key of a video's manifest: `{folder}/{video}.scene.json`.
pub fn manifest_key(video: &VideoRef) -> String {
    video_folder_key(video, &manifest_file_name(&video.name))
}

/// The video name of a manifest's file name (`clip.scene.json` → `clip`; not a staging file
/// `clip.scene.json#1`).
pub fn manifest_video(file_name: &str) -> Option<&str> {
    file_name.strip_suffix(MANIFEST).filter(|v| !v.is_empty())
}

/// The key of shard `n` of the WebDataset export `name` of `folder`:
/// `{folder}/webdataset/{name}-{n:06}.tar`.
pub fn webdataset_shard_key(folder: &str, name: &str, n: u64) -> String {
    in_folder(folder, &format!("{WEBDATASET_DIR}/{name}-{n:06}.tar"))
}

/// The key of the index of the WebDataset export `name` of `folder`, written after its shards:
/// `{folder}/webdataset/{name}.json`.
pub fn webdataset_index_key(folder: &str, name: &str) -> String {
    in_folder(folder, &format!("{WEBDATASET_DIR}/{name}{JSON}"))
}

/// The WebDataset sample key of frame `index` of `video`: `{folder}/{video}_{index:06}`, the
/// video's name with `%` written `%25` and `.` written `%2E` (WebDataset splits a member's base
/// name at its first dot: the key's base name must have none). The folder is kept as is (a
/// reader splits at the last `/` first), so keys are unique across a dataset: distinct
/// `(folder, name, index)` give distinct keys.
///
/// ```
/// use video_core::{VideoRef, layout};
/// let v = VideoRef { folder: "train/cam.1".into(), name: "clip.v2".into() };
/// assert_eq!(layout::webdataset_sample_key(&v, 42), "train/cam.1/clip%2Ev2_000042");
/// ```
pub fn webdataset_sample_key(video: &VideoRef, index: u64) -> String {
    let name = video.name.replace('%', "%25").replace('.', "%2E");
    video_folder_key(video, &format!("{name}_{index:06}"))
}

/// The key of a video's contact sheet (`video_export::write_contact_sheet`), beside its
/// manifest: `{folder}/{video}.contact.png`.
pub fn contact_sheet_key(video: &VideoRef) -> String {
    video_folder_key(video, &format!("{}{CONTACT_SHEET}", video.name))
}

/// The key of a folder's index page (`video_export::write_index_html`): `{folder}/index.html`.
pub fn index_html_key(folder: &str) -> String {
    in_folder(folder, INDEX_HTML)
}

/// The key of a video's writer lock (a local-disk `flock`):
/// `{folder}/.video-dataset/{video}.lock`.
pub fn lock_key(video: &VideoRef) -> String {
    format!("{}/{}{LOCK}", bookkeeping_dir(&video.folder), video.name)
}

/// The key of the lock of a read-modify-write of the dataset file `key` on local disk:
/// `.video-dataset/locks/{key}.lock`, the key percent-encoded (every byte but ASCII letters and
/// digits as `%XX`, upper-case hex) so that any key is one file name.
pub fn file_lock_key(key: &str) -> String {
    use std::fmt::Write as _;
    let mut encoded = String::with_capacity(key.len());
    for b in key.bytes() {
        if b.is_ascii_alphanumeric() {
            encoded.push(char::from(b));
        } else {
            let _ = write!(encoded, "%{b:02X}");
        }
    }
    format!("{BOOKKEEPING_DIR}/locks/{encoded}{LOCK}")
}

/// The file name of one video's part of its folder's COCO file: `{video}.coco.json`.
pub fn coco_part_file_name(video: &str) -> String {
    format!("{video}{COCO_PART}")
}

/// The video whose COCO part `file_name` is (`clip.coco.json` → `clip`).
pub fn coco_part_video(file_name: &str) -> Option<&str> {
    file_name.strip_suffix(COCO_PART)
}

/// The key of one video's part of its folder's COCO file:
/// `{folder}/.video-dataset/{video}.coco.json`.
pub fn coco_part_key(video: &VideoRef) -> String {
    format!(
        "{}/{}",
        bookkeeping_dir(&video.folder),
        coco_part_file_name(&video.name)
    )
}

/// The key of a folder's COCO instances file: `{folder}/coco_instances.json`.
pub fn coco_key(folder: &str) -> String {
    in_folder(folder, COCO_FILE_NAME)
}

/// The key of a scene: `.video-dataset/scenes/{reference_id}.json`.
pub fn scene_key(reference_id: &str) -> String {
    format!("{SCENES_DIR}/{reference_id}{JSON}")
}

/// The reference id a job gives the scene of the video `video` when the caller names none: the
/// video's path in the dataset without its extension, folders joined by `__` (`train/day1` and
/// `clip` give `train__day1__clip`; a video at the top gives its name).
pub fn default_scene_id(video: &VideoRef) -> String {
    video
        .folder
        .split('/')
        .filter(|s| !s.is_empty())
        .chain(std::iter::once(video.name.as_str()))
        .collect::<Vec<_>>()
        .join("__")
}

/// The reference id of a scene's file name in [`SCENES_DIR`] (`a.json` → `a`), before
/// percent-decoding.
pub fn scene_id(file_name: &str) -> Option<&str> {
    file_name.strip_suffix(JSON)
}

/// The key of a job's record: `.video-dataset/jobs/{job_id}.json`.
pub fn job_key(job_id: &str) -> String {
    format!("{JOBS_DIR}/{job_id}{JSON}")
}

/// The key of a request to cancel a job, beside its record: `.video-dataset/jobs/{job_id}.cancel`
/// (a JSON object with `"format"` [`JOB_CANCEL_FORMAT`]). The running job looks for it on its
/// periodic tick; [`job_id`] does not take its name for a record's.
pub fn job_cancel_key(job_id: &str) -> String {
    format!("{JOBS_DIR}/{job_id}.cancel")
}

/// The job id of a record's file name in [`JOBS_DIR`] (`a.json` → `a`; not a staging file
/// `a.json#1`).
pub fn job_id(file_name: &str) -> Option<&str> {
    file_name.strip_suffix(JSON).filter(|id| !id.is_empty())
}

/// The key of a video uploaded into `folder`: `{folder}/{file name}`.
pub fn uploaded_video_key(folder: &str, file_name: &str) -> String {
    in_folder(folder, file_name)
}

/// The folder of a video's prepared outputs: `{folder}/{video}.prepared`.
pub fn prepared_dir(video: &VideoRef) -> String {
    video_folder_key(video, &format!("{}{PREPARED}", video.name))
}

/// The key of a prepared output of `video` made as `tag` says
/// ([`Preparation::tag`](crate::prepare::Preparation::tag)): `{video}.prepared/{tag}.mp4` for a
/// single output (`segment` `None`), `{video}.prepared/{tag}/{video}_{n:04}.mp4` for segment `n`.
///
/// ```
/// use video_core::{VideoRef, layout};
/// let v = VideoRef { folder: "a".into(), name: "clip".into() };
/// assert_eq!(layout::prepared_output_key(&v, "web", None), "a/clip.prepared/web.mp4");
/// assert_eq!(
///     layout::prepared_output_key(&v, "split-10s", Some(3)),
///     "a/clip.prepared/split-10s/clip_0003.mp4"
/// );
/// ```
pub fn prepared_output_key(video: &VideoRef, tag: &str, segment: Option<u64>) -> String {
    match segment {
        None => format!("{}/{tag}{MP4}", prepared_dir(video)),
        Some(n) => format!("{}/{tag}/{}_{n:04}{MP4}", prepared_dir(video), video.name),
    }
}

/// The key of the manifest of `video`'s outputs made as `tag` says:
/// `{folder}/{video}.prepared/{tag}.json`, written after every output is stored.
pub fn prepared_manifest_key(video: &VideoRef, tag: &str) -> String {
    format!("{}/{tag}{JSON}", prepared_dir(video))
}

/// The key of the record of one finished prepared output (output `n`, 0 for a single one):
/// `{folder}/.video-dataset/{video}.prepared/{tag}/{n:04}.json`. An output counts as stored
/// when its record exists; a re-run skips it.
pub fn prepared_record_key(video: &VideoRef, tag: &str, n: u64) -> String {
    format!(
        "{}/{}{PREPARED}/{tag}/{n:04}{JSON}",
        bookkeeping_dir(&video.folder),
        video.name
    )
}

/// The file name of the annotation of the image `image_file_name`: `{image}.json`
/// (Supervisely's images format: `clip_000042.jpg` → `clip_000042.jpg.json`).
pub fn annotation_file_name(image_file_name: &str) -> String {
    format!("{image_file_name}{JSON}")
}

/// The image file name an annotation's file name belongs to (`a.jpg.json` → `a.jpg`).
pub fn annotated_image(annotation_file_name: &str) -> Option<&str> {
    annotation_file_name.strip_suffix(JSON)
}

/// The key of the annotation of the image stored under `image_key`: an image in a folder
/// named `img` has it in the sibling `ann` folder (`{dir}/img/{image}` →
/// `{dir}/ann/{image}.json`, Supervisely's images project); any other image beside it
/// (`{dir}/{image}` → `{dir}/{image}.json`).
pub fn annotation_key(image_key: &str) -> String {
    let (dir, name) = match image_key.rsplit_once('/') {
        Some((dir, name)) => (Some(dir), name),
        None => (None, image_key),
    };
    let file = annotation_file_name(name);
    match dir {
        Some(IMAGE_FOLDER) => format!("{ANNOTATION_FOLDER}/{file}"),
        Some(d) => match d
            .strip_suffix(IMAGE_FOLDER)
            .and_then(|p| p.strip_suffix('/'))
        {
            Some(parent) => format!("{parent}/{ANNOTATION_FOLDER}/{file}"),
            None => format!("{d}/{file}"),
        },
        None => file,
    }
}

/// Check the `format` and `format_version` fields of the stored document `doc` (read from
/// `key`, a `what`: `"manifest"`, `"scene"`) against the ones this version writes.
///
/// # Errors
/// [`Error::Unsupported`] naming the key for a document of another format or version.
pub fn check_format(
    key: &str,
    what: &str,
    doc: &serde_json::Value,
    format: &str,
    format_version: u32,
) -> Result<()> {
    let (found, version) = (&doc["format"], &doc["format_version"]);
    if found != format || version != format_version {
        return Err(Error::Unsupported {
            uri: key.to_owned(),
            reason: format!(
                "{what} format {found} version {version}; this version reads {format:?} version {format_version}"
            ),
        });
    }
    Ok(())
}

/// Check one segment of a key (`whole`, named in the error): not empty, not `.`/`..`, no
/// backslashes or control characters, so that no key leaves the dataset.
///
/// # Errors
/// [`Error::InvalidPath`] naming `whole` and what is wrong.
pub fn check_segment(whole: &str, seg: &str) -> Result<()> {
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

/// Check an identifier that becomes one key segment (a job id, a scene reference id): what
/// [`check_segment`] checks, and no `/`. `what` names it in the error (`"a job id"`).
///
/// # Errors
/// [`Error::InvalidPath`] naming the identifier.
pub fn check_id(id: &str, what: &str) -> Result<()> {
    if id.contains('/') {
        return Err(Error::InvalidPath {
            path: id.to_owned(),
            reason: format!("{what} cannot contain '/'"),
        });
    }
    check_segment(id, id)
}

/// Check a dataset-relative key: `/`-separated segments that each pass [`check_segment`].
///
/// # Errors
/// [`Error::InvalidPath`] naming the key.
pub fn check_key(key: &str) -> Result<()> {
    key.split('/').try_for_each(|seg| check_segment(key, seg))
}

/// Check that a video's folder and name make keys inside the dataset: the name one segment,
/// the folder `""` or relative segments. Sinks call it before asking this module for a key.
///
/// # Errors
/// [`Error::InvalidPath`] naming the name or the folder.
pub fn check_video(video: &VideoRef) -> Result<()> {
    check_segment(&video.name, &video.name)?;
    if video.name.contains('/') {
        return Err(Error::InvalidPath {
            path: video.name.clone(),
            reason: "a video name cannot contain '/'".into(),
        });
    }
    if video.folder.is_empty() {
        return Ok(());
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
    Ok(())
}

#[cfg(test)]
mod tests {
    //! The layout's specification: each key shape pinned byte for byte. Existing datasets are
    //! resumed by these names, so a test failing here means a change of on-store format.
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn default_scene_ids() {
        let v = |folder: &str, name: &str| VideoRef {
            folder: folder.into(),
            name: name.into(),
        };
        assert_eq!(default_scene_id(&v("", "clip")), "clip");
        assert_eq!(
            default_scene_id(&v("train/day1", "clip")),
            "train__day1__clip"
        );
        assert_eq!(default_scene_id(&v("/a//b/", "c")), "a__b__c");
        assert_eq!(
            scene_key(&default_scene_id(&v("a", "b"))),
            ".video-dataset/scenes/a__b.json"
        );
    }

    fn video(folder: &str, name: &str) -> VideoRef {
        VideoRef {
            folder: folder.into(),
            name: name.into(),
        }
    }

    #[test]
    fn format_names_and_versions() {
        assert_eq!(BOOKKEEPING_DIR, ".video-dataset");
        assert_eq!(MANIFEST_FORMAT, "video-dataset/manifest");
        assert_eq!(MANIFEST_FORMAT_VERSION, 2);
        assert_eq!(SCENE_FORMAT, "video-dataset/scene");
        assert_eq!(SCENE_FORMAT_VERSION, 1);
        assert_eq!(META_KEY, "meta.json");
        assert_eq!(COCO_FILE_NAME, "coco_instances.json");
        assert_eq!(IMAGE_FOLDER, "img");
        assert_eq!(ANNOTATION_FOLDER, "ann");
        assert_eq!(SCENES_DIR, ".video-dataset/scenes");
        assert_eq!(JOBS_DIR, ".video-dataset/jobs");
        assert_eq!(JOB_FORMAT, "video-dataset/job");
        assert_eq!(JOB_FORMAT_VERSION, 1);
        assert_eq!(JOB_CANCEL_FORMAT, "video-dataset/job-cancel");
        assert_eq!(JOB_CANCEL_FORMAT_VERSION, 1);
    }

    #[test]
    fn job_keys() {
        assert_eq!(
            job_key("0001764617768123-9f2c01ab"),
            ".video-dataset/jobs/0001764617768123-9f2c01ab.json"
        );
        assert_eq!(job_id("a.json"), Some("a"));
        assert_eq!(job_id(".json"), None);
        assert_eq!(job_id("a.json#1"), None);
        assert_eq!(job_id("a.lock"), None);
        assert_eq!(
            job_cancel_key("0001764617768123-9f2c01ab"),
            ".video-dataset/jobs/0001764617768123-9f2c01ab.cancel"
        );
        // A cancel request is never listed as a record.
        assert_eq!(job_id("0001764617768123-9f2c01ab.cancel"), None);
    }

    #[test]
    fn frame_keys() {
        assert_eq!(DEFAULT_FRAME_NAME, "{video}_{index}.{ext}");
        assert_eq!(
            default_frame_file_name("clip", 42, "jpg"),
            "clip_000042.jpg"
        );
        assert_eq!(
            default_frame_file_name("clip", 1_234_567, "png"),
            "clip_1234567.png"
        );
        let name = "clip_000042.jpg";
        assert_eq!(frame_key(&video("", "clip"), None, name), "clip_000042.jpg");
        assert_eq!(
            frame_key(&video("train/cam1", "clip"), None, name),
            "train/cam1/clip_000042.jpg"
        );
        assert_eq!(
            frame_key(&video("train", "clip"), Some(IMAGE_FOLDER), name),
            "train/img/clip_000042.jpg"
        );
        assert_eq!(
            frame_key(&video("", "clip"), Some("img"), name),
            "img/clip_000042.jpg"
        );
        assert_eq!(video_folder_key(&video("", "clip"), ""), "");
        assert_eq!(video_folder_key(&video("a", "clip"), ""), "a/");
    }

    #[test]
    fn record_keys() {
        assert_eq!(
            record_key(&video("", "clip"), 42),
            ".video-dataset/clip/000042.json"
        );
        assert_eq!(
            record_key(&video("train/cam1", "clip"), 1_234_567),
            "train/cam1/.video-dataset/clip/1234567.json"
        );
        assert_eq!(records_dir(&video("", "clip")), ".video-dataset/clip");
        assert_eq!(records_dir(&video("t", "clip")), "t/.video-dataset/clip");
        assert_eq!(bookkeeping_dir(""), ".video-dataset");
        assert_eq!(bookkeeping_dir("t"), "t/.video-dataset");
        assert_eq!(record_file_name(0), "000000.json");
        assert_eq!(record_index("000042.json"), Some(42));
        assert_eq!(record_index("1234567.json"), Some(1_234_567));
        for bad in [
            ".json",
            "+5.json",
            "42.jpg",
            "a42.json",
            "000042.json#1",
            "42",
        ] {
            assert_eq!(record_index(bad), None, "{bad}");
        }
    }

    #[test]
    fn manifest_and_lock_keys() {
        assert_eq!(manifest_file_name("clip"), "clip.scene.json");
        assert_eq!(manifest_key(&video("", "clip")), "clip.scene.json");
        assert_eq!(
            manifest_key(&video("train/cam1", "clip")),
            "train/cam1/clip.scene.json"
        );
        assert_eq!(manifest_video("clip.scene.json"), Some("clip"));
        assert_eq!(manifest_video("a b.scene.json"), Some("a b"));
        for other in [
            ".scene.json",
            "clip.json",
            "clip.scene.json#1",
            "clip.coco.json",
        ] {
            assert_eq!(manifest_video(other), None, "{other}");
        }
        assert_eq!(contact_sheet_key(&video("", "clip")), "clip.contact.png");
        assert_eq!(
            contact_sheet_key(&video("train/cam1", "clip")),
            "train/cam1/clip.contact.png"
        );
        assert_eq!(index_html_key(""), "index.html");
        assert_eq!(index_html_key("train/cam1"), "train/cam1/index.html");
        assert_eq!(lock_key(&video("", "clip")), ".video-dataset/clip.lock");
        assert_eq!(
            lock_key(&video("train", "clip")),
            "train/.video-dataset/clip.lock"
        );
        assert_eq!(
            file_lock_key("meta.json"),
            ".video-dataset/locks/meta%2Ejson.lock"
        );
        assert_eq!(
            file_lock_key("train/coco_instances.json"),
            ".video-dataset/locks/train%2Fcoco%5Finstances%2Ejson.lock"
        );
        assert_eq!(file_lock_key("é"), ".video-dataset/locks/%C3%A9.lock");
    }

    #[test]
    fn webdataset_keys() {
        assert_eq!(WEBDATASET_FORMAT, "video-dataset/webdataset");
        assert_eq!(WEBDATASET_FORMAT_VERSION, 1);
        assert_eq!(WEBDATASET_DIR, "webdataset");
        assert_eq!(
            webdataset_shard_key("", "frames", 3),
            "webdataset/frames-000003.tar"
        );
        assert_eq!(
            webdataset_shard_key("a/b", "x", 1_234_567),
            "a/b/webdataset/x-1234567.tar"
        );
        assert_eq!(webdataset_index_key("", "frames"), "webdataset/frames.json");
        assert_eq!(
            webdataset_index_key("t", "frames"),
            "t/webdataset/frames.json"
        );
        assert_eq!(webdataset_sample_key(&video("", "clip"), 7), "clip_000007");
        assert_eq!(
            webdataset_sample_key(&video("a.b/c", "x.y%2E.z"), 1_234_567),
            "a.b/c/x%2Ey%252E%2Ez_1234567"
        );
        // Escaping keeps distinct names distinct.
        assert_ne!(
            webdataset_sample_key(&video("", "a.b"), 0),
            webdataset_sample_key(&video("", "a%2Eb"), 0)
        );
        assert_eq!(manifest_video("clip.scene.json"), Some("clip"));
        assert_eq!(manifest_video("a.b.scene.json"), Some("a.b"));
        assert_eq!(manifest_video(".scene.json"), None);
        assert_eq!(manifest_video("clip.scene.json#1"), None);
        assert_eq!(manifest_video("clip.json"), None);
    }

    #[test]
    fn coco_and_scene_keys() {
        assert_eq!(coco_part_file_name("clip"), "clip.coco.json");
        assert_eq!(coco_part_video("clip.coco.json"), Some("clip"));
        assert_eq!(coco_part_video("clip.scene.json"), None);
        assert_eq!(
            coco_part_key(&video("", "clip")),
            ".video-dataset/clip.coco.json"
        );
        assert_eq!(
            coco_part_key(&video("train", "clip")),
            "train/.video-dataset/clip.coco.json"
        );
        assert_eq!(coco_key(""), "coco_instances.json");
        assert_eq!(coco_key("train"), "train/coco_instances.json");
        assert_eq!(scene_key("a"), ".video-dataset/scenes/a.json");
        assert_eq!(scene_id("a.json"), Some("a"));
        assert_eq!(uploaded_video_key("", "a.mp4"), "a.mp4");
        assert_eq!(uploaded_video_key("v/x", "a.mp4"), "v/x/a.mp4");
    }

    #[test]
    fn annotation_keys() {
        assert_eq!(annotation_file_name("a.jpg"), "a.jpg.json");
        assert_eq!(annotated_image("a.jpg.json"), Some("a.jpg"));
        assert_eq!(
            annotation_key("train/img/clip_000042.jpg"),
            "train/ann/clip_000042.jpg.json"
        );
        assert_eq!(annotation_key("img/a.png"), "ann/a.png.json");
        assert_eq!(
            annotation_key("train/clip_000042.jpg"),
            "train/clip_000042.jpg.json"
        );
        assert_eq!(annotation_key("a.png"), "a.png.json");
        // Only a folder named exactly `img` is Supervisely's.
        assert_eq!(
            annotation_key("train/xxximg/a.png"),
            "train/xxximg/a.png.json"
        );
    }

    #[test]
    fn names_are_checked() {
        check_video(&video("", "clip")).unwrap();
        check_video(&video("a/b c/d", "clip.v2")).unwrap();
        for (folder, name) in [
            ("", ""),
            ("", "a/b"),
            ("", ".."),
            ("/abs", "a"),
            ("a//b", "a"),
            ("a/", "a"),
            ("a/../b", "a"),
            ("a\\b", "a"),
            ("a", "x\ny"),
        ] {
            assert!(
                matches!(
                    check_video(&video(folder, name)),
                    Err(Error::InvalidPath { .. })
                ),
                "{folder:?} {name:?}"
            );
        }
        check_key("a/b/c.json").unwrap();
        for bad in ["", "/a", "a/", "a/./b", "a\\b"] {
            assert!(check_key(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn formats_are_checked() {
        let doc = serde_json::json!({"format": MANIFEST_FORMAT, "format_version": 2});
        check_format(
            "k",
            "manifest",
            &doc,
            MANIFEST_FORMAT,
            MANIFEST_FORMAT_VERSION,
        )
        .unwrap();
        let old = serde_json::json!({"format": "video-dataset/scene-1"});
        let e = check_format("k", "manifest", &old, MANIFEST_FORMAT, 2).unwrap_err();
        assert!(
            e.to_string()
                .contains("manifest format \"video-dataset/scene-1\" version null"),
            "{e}"
        );
        assert!(matches!(e, Error::Unsupported { uri, .. } if uri == "k"));
    }
}
