//! Annotations in the job: reading a Supervisely video annotation, the dataset's project meta,
//! and the dataset folder's COCO instances file.

use std::path::Path;
use std::sync::Arc;

use video_core::annotation::coco::{CocoDataset, CocoWriter};
use video_core::annotation::{ProjectMeta, SuperviselyAnnotator, VideoAnnotation, supervisely};
use video_core::{DatasetSink, Error, FrameRecord, Result, VideoRef};
use video_storage::ObjectStoreSink;

/// The key of the project meta of a dataset with annotations, at the dataset's root.
pub const META_KEY: &str = "meta.json";

/// The name of the COCO instances file of a dataset folder (`{folder}/coco_instances.json`).
pub const COCO_FILE_NAME: &str = "coco_instances.json";

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
        Ok(bytes) => {
            let text = String::from_utf8(bytes).map_err(|e| Error::Annotation {
                source_name: META_KEY.into(),
                location: String::new(),
                reason: "not UTF-8".into(),
                source: Some(Box::new(e)),
            })?;
            supervisely::parse_meta(META_KEY, &text)?.merged_with(&ours, &input.source_name)
        }
        Err(Error::NotFound { .. }) => Ok(ours),
        Err(e) => Err(e),
    }
}

/// Write the dataset's project meta.
pub(crate) async fn write_meta(sink: &ObjectStoreSink, meta: &ProjectMeta) -> Result<()> {
    let json = serde_json::to_vec_pretty(&supervisely::meta_to_value(meta)).map_err(|e| {
        Error::Annotation {
            source_name: META_KEY.into(),
            location: String::new(),
            reason: "could not be written".into(),
            source: Some(Box::new(e)),
        }
    })?;
    sink.write_dataset_file(META_KEY, &json).await
}

/// `{folder}/{rest}`, or `rest` at the top.
fn in_folder(folder: &str, rest: &str) -> String {
    if folder.is_empty() {
        rest.to_owned()
    } else {
        format!("{folder}/{rest}")
    }
}

/// The key of one video's part of its folder's COCO file.
fn coco_part_key(video: &VideoRef) -> String {
    in_folder(
        &video.folder,
        &format!(".video-dataset/{}.coco.json", video.name),
    )
}

fn coco_error(key: &str, reason: &str, e: serde_json::Error) -> Error {
    Error::Annotation {
        source_name: key.to_owned(),
        location: String::new(),
        reason: reason.to_owned(),
        source: Some(Box::new(e)),
    }
}

/// Store this video's COCO instances (its frames, with file names relative to the video's
/// folder) as `{folder}/.video-dataset/{video}.coco.json`, then rebuild the folder's
/// [`COCO_FILE_NAME`] from every video's part there ([`CocoDataset::merge`], in key order).
/// Returns the folder file's key.
pub(crate) async fn write_coco(
    sink: &ObjectStoreSink,
    video: &VideoRef,
    meta: &ProjectMeta,
    annotator: &SuperviselyAnnotator,
    input: &AnnotationInput,
    frames: &[FrameRecord],
) -> Result<String> {
    let mut writer = CocoWriter::new(meta);
    let strip = in_folder(&video.folder, "");
    for r in frames {
        let t = annotator.transform(r.width, r.height)?;
        let image = input.annotation.frame_annotation(r.index, &t)?;
        let file_name = r.key.strip_prefix(&strip).unwrap_or(&r.key);
        writer.add_image(file_name, r.index, &image)?;
    }
    let part_key = coco_part_key(video);
    let part = serde_json::to_vec(&writer.finish())
        .map_err(|e| coco_error(&part_key, "could not be written", e))?;
    sink.write_dataset_file(&part_key, &part).await?;

    let mut parts = Vec::new();
    for key in sink
        .list_keys(&in_folder(&video.folder, ".video-dataset"))
        .await?
    {
        if !key.ends_with(".coco.json") {
            continue;
        }
        let bytes = sink.read(&key).await?;
        let part: CocoDataset = serde_json::from_slice(&bytes)
            .map_err(|e| coco_error(&key, "is not a COCO file", e))?;
        parts.push(part);
    }
    let key = in_folder(&video.folder, COCO_FILE_NAME);
    let mut out = Vec::new();
    CocoDataset::merge(parts).write(&mut out)?;
    sink.write_dataset_file(&key, &out).await?;
    Ok(key)
}
