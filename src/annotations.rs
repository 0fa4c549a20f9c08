//! Annotations in the job: reading a Supervisely video annotation, the dataset's project meta,
//! and the dataset folder's COCO instances file.

use std::path::Path;
use std::sync::Arc;

use video_annotation::coco::{CocoDataset, CocoWriter};
use video_annotation::{ProjectMeta, SuperviselyAnnotator, VideoAnnotation, supervisely};
use video_core::layout;
use video_core::{DatasetSink, Error, FrameRecord, Result, VideoRef};
use video_storage::ObjectStoreSink;

pub use video_core::layout::{COCO_FILE_NAME, META_KEY};

/// A video's annotation to copy onto its sampled frames (see
/// [`ExtractOptions::annotation`](crate::ExtractOptions::annotation)).
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct AnnotationInput {
    /// Where the annotation came from (usually its file), named in errors.
    pub source_name: String,
    /// The annotation, with its project meta (given or inferred).
    pub annotation: Arc<VideoAnnotation>,
}

impl AnnotationInput {
    /// An annotation read elsewhere, named `source_name` in errors.
    pub fn new(source_name: impl Into<String>, annotation: VideoAnnotation) -> Self {
        AnnotationInput {
            source_name: source_name.into(),
            annotation: Arc::new(annotation),
        }
    }

    /// Read a Supervisely video annotation (`VIDEO.json`), checked against the project meta
    /// `meta` (`meta.json`) when given; without one the classes and tag metas are inferred from
    /// the annotation (see [`supervisely`]).
    ///
    /// # Errors
    /// [`Error::Io`] naming a file that cannot be read; [`Error::Annotation`] naming the file
    /// and the place for malformed content.
    pub fn read_supervisely(annotation: &Path, meta: Option<&Path>) -> Result<Self> {
        let open = |p: &Path| {
            std::fs::File::open(p).map_err(|source| Error::Io {
                path: p.to_owned(),
                operation: "open",
                source,
            })
        };
        let meta = match meta {
            Some(p) => Some(supervisely::read_meta(
                &p.display().to_string(),
                std::io::BufReader::new(open(p)?),
            )?),
            None => None,
        };
        let name = annotation.display().to_string();
        let parsed = supervisely::read_video_annotation(
            &name,
            std::io::BufReader::new(open(annotation)?),
            meta.as_ref(),
        )?;
        Ok(Self::new(name, parsed))
    }
}

/// The dataset's project meta with this annotation's classes and tags added (read from
/// [`META_KEY`] when there is one).
pub(crate) async fn dataset_meta(
    sink: &ObjectStoreSink,
    input: &AnnotationInput,
) -> Result<ProjectMeta> {
    let ours = input.annotation.meta.for_images()?;
    match sink.read(META_KEY).await {
        Ok(bytes) => parse_stored_meta(&bytes)?.merged_with(&ours, &input.source_name),
        Err(Error::NotFound { .. }) => Ok(ours),
        Err(e) => Err(e),
    }
}

/// Parse a stored project meta.
fn parse_stored_meta(bytes: &[u8]) -> Result<ProjectMeta> {
    let text = std::str::from_utf8(bytes).map_err(|e| Error::Annotation {
        source_name: META_KEY.into(),
        location: String::new(),
        reason: "not UTF-8".into(),
        source: Some(Box::new(e)),
    })?;
    supervisely::parse_meta(META_KEY, text)
}

/// Add this annotation's classes and tags to the dataset's project meta, merging with what is
/// stored at the moment of writing: a concurrent job's classes are never lost (see
/// [`ObjectStoreSink::update_dataset_file`]).
pub(crate) async fn write_meta(sink: &ObjectStoreSink, input: &AnnotationInput) -> Result<()> {
    let ours = input.annotation.meta.for_images()?;
    sink.update_dataset_file(META_KEY, |current| {
        let meta = match current {
            Some(bytes) => parse_stored_meta(bytes)?.merged_with(&ours, &input.source_name)?,
            None => ours.clone(),
        };
        serde_json::to_vec_pretty(&supervisely::meta_to_value(&meta)).map_err(|e| {
            Error::Annotation {
                source_name: META_KEY.into(),
                location: String::new(),
                reason: "could not be written".into(),
                source: Some(Box::new(e)),
            }
        })
    })
    .await
}

fn coco_error(key: &str, reason: &str, e: serde_json::Error) -> Error {
    Error::Annotation {
        source_name: key.to_owned(),
        location: String::new(),
        reason: reason.to_owned(),
        source: Some(Box::new(e)),
    }
}

/// The key `info.videos` of a folder's COCO file: the names of the videos merged into it.
const COCO_VIDEOS: &str = "videos";

/// Store this video's COCO instances (its frames, with file names relative to the video's
/// folder) as `{folder}/.video-dataset/{video}.coco.json` ([`layout::coco_part_key`]), then
/// rebuild the folder's
/// [`COCO_FILE_NAME`] from every video's part ([`CocoDataset::merge`], in video name order).
/// The videos merged are those the folder file already lists (in its `info.videos`), those
/// whose parts are listed, and this one; the file is replaced only if no other job replaced it
/// since it was read ([`ObjectStoreSink::begin_update`]), so a part a LIST misses is still in
/// the file, and the last job to finish writes every video. Returns the folder file's key.
pub(crate) async fn write_coco(
    sink: &ObjectStoreSink,
    video: &VideoRef,
    meta: &ProjectMeta,
    annotator: &SuperviselyAnnotator,
    input: &AnnotationInput,
    frames: &[FrameRecord],
) -> Result<String> {
    let mut writer = CocoWriter::new(meta);
    let strip = layout::in_folder(&video.folder, "");
    for r in frames {
        let t = annotator.transform(r.width, r.height)?;
        let image = input.annotation.frame_annotation(r.index, &t)?;
        let file_name = r.key.strip_prefix(&strip).unwrap_or(&r.key);
        writer.add_image(file_name, r.index, &image)?;
    }
    let ours = writer.finish();
    let part_key = layout::coco_part_key(video);
    let part =
        serde_json::to_vec(&ours).map_err(|e| coco_error(&part_key, "could not be written", e))?;
    sink.write_dataset_file(&part_key, &part).await?;

    let key = layout::coco_key(&video.folder);
    let parts_dir = layout::bookkeeping_dir(&video.folder);
    for _ in 0..100 {
        let update = sink.begin_update(&key).await?;
        let mut names = std::collections::BTreeSet::new();
        if let Some(bytes) = update.current() {
            let doc: serde_json::Value = serde_json::from_slice(bytes)
                .map_err(|e| coco_error(&key, "is not a COCO file", e))?;
            if let Some(listed) = doc["info"][COCO_VIDEOS].as_array() {
                names.extend(listed.iter().filter_map(|v| v.as_str()).map(str::to_owned));
            }
        }
        for k in sink.list_keys(&parts_dir).await? {
            if let Some(name) = k.rsplit('/').next().and_then(layout::coco_part_video) {
                names.insert(name.to_owned());
            }
        }
        names.insert(video.name.clone());
        let mut parts = Vec::new();
        let mut merged_names = Vec::new();
        for name in names {
            if name == video.name {
                parts.push(ours.clone());
            } else {
                let other = VideoRef {
                    folder: video.folder.clone(),
                    name: name.clone(),
                };
                let k = layout::coco_part_key(&other);
                let bytes = match sink.read(&k).await {
                    Ok(b) => b,
                    // A part removed since: its video left the folder.
                    Err(Error::NotFound { .. }) => continue,
                    Err(e) => return Err(e),
                };
                parts.push(
                    serde_json::from_slice(&bytes)
                        .map_err(|e| coco_error(&k, "is not a COCO file", e))?,
                );
            }
            merged_names.push(name);
        }
        let mut doc = serde_json::to_value(CocoDataset::merge(parts))
            .map_err(|e| coco_error(&key, "could not be written", e))?;
        doc["info"] = serde_json::json!({
            "description": "COCO instances of the folder's videos, written by video-dataset",
            COCO_VIDEOS: merged_names,
        });
        let out =
            serde_json::to_vec(&doc).map_err(|e| coco_error(&key, "could not be written", e))?;
        if update.commit(out).await? {
            return Ok(key);
        }
    }
    Err(Error::Annotation {
        source_name: key,
        location: String::new(),
        reason: "100 conditional writes in a row lost a race with other writers".into(),
        source: None,
    })
}
