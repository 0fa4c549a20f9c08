//! Copying a video's annotation onto its stored frames: checking that it fits the video, and
//! writing each frame's Supervisely image annotation through the sink.

use std::sync::Arc;

use crate::geometry::{GeometryTransform, Rotation};
use crate::model::{ImageSize, ProjectMeta, VideoAnnotation};
use crate::supervisely;
use video_core::{Error, FrameAnnotator, FrameRecord, Result, VideoMetadata};

impl VideoAnnotation {
    /// Check that this annotation (read from `source_name`) belongs to the probed video `video`,
    /// and say how its coordinates reach frames decoded in display orientation: the stored
    /// rotation to apply ([`GeometryTransform::with_stored_rotation`]).
    ///
    /// - An annotation whose size is the video's **display** size needs no rotation
    ///   ([`Rotation::None`]); this is how Supervisely annotates, and the choice for a 180°
    ///   rotation, where both sizes are equal.
    /// - One whose size is the **stored** size of a rotated video is rotated as the decoder
    ///   rotates the frames (the video's rotation).
    /// - Any other size is an error, as is a figure on a frame index the video does not have,
    ///   and a frame count (Supervisely's `framesCount`) other than the video's: the annotation
    ///   was then made on another encoding, where an index may be another picture. Set
    ///   [`frame_count`](VideoAnnotation::frame_count) to `None` to copy such an annotation anyway.
    ///
    /// # Errors
    /// [`Error::Annotation`] naming `source_name`, the annotation's size and the video's display
    /// and stored sizes; or the first frame index with figures that is not below the video's
    /// frame count. [`Error::Unsupported`] for a rotation that is not a multiple of 90°.
    pub fn fit_to_video(&self, source_name: &str, video: &VideoMetadata) -> Result<Rotation> {
        let display = ImageSize::new(video.width, video.height);
        let stored = ImageSize::new(video.stored_width, video.stored_height);
        let rotation = Rotation::from_degrees(video.rotation)?;
        let rotation = if self.size == display {
            Rotation::None
        } else if self.size == stored && rotation != Rotation::None {
            rotation
        } else {
            return Err(Error::Annotation {
                source_name: source_name.to_owned(),
                location: "size".into(),
                reason: format!(
                    "the annotation is for {}x{} frames, but {} is displayed at {}x{} (stored {}x{}, rotated {}°)",
                    self.size.width,
                    self.size.height,
                    video.uri,
                    display.width,
                    display.height,
                    stored.width,
                    stored.height,
                    video.rotation
                ),
                source: None,
            });
        };
        if let Some(n) = self.frame_count
            && n != video.frame_count
        {
            // Supervisely records the frame count of the video it was annotated on: another
            // count means another encoding (a transcode, a trimmed copy), where the same index is
            // a different picture.
            return Err(Error::Annotation {
                source_name: source_name.to_owned(),
                location: "framesCount".into(),
                reason: format!(
                    "the annotation was made on a video of {n} frames, but {} has {} frames: its frame indices may not be the same pictures (clear the annotation's frame_count to copy it anyway)",
                    video.uri, video.frame_count
                ),
                source: None,
            });
        }
        if let Some((&index, _)) = self
            .frames
            .range(video.frame_count..)
            .find(|(_, figures)| !figures.is_empty())
        {
            return Err(Error::Annotation {
                source_name: source_name.to_owned(),
                location: format!("frames (index {index})"),
                reason: format!(
                    "frame {index} is past the end of {}, which has {} frames (0 to {})",
                    video.uri,
                    video.frame_count,
                    video.frame_count.saturating_sub(1)
                ),
                source: None,
            });
        }
        Ok(rotation)
    }
}

impl ProjectMeta {
    /// The classes and tag metas of `self` followed by those of `other` that `self` does not
    /// have (by name): the meta of a dataset that holds frames of both projects.
    ///
    /// # Errors
    /// [`Error::Annotation`] naming `other_name` and the class or tag when both declare one name
    /// with a different shape or value type.
    pub fn merged_with(&self, other: &ProjectMeta, other_name: &str) -> Result<ProjectMeta> {
        let mut meta = self.clone();
        let clash = |location: String, reason: String| Error::Annotation {
            source_name: other_name.to_owned(),
            location,
            reason,
            source: None,
        };
        for c in &other.classes {
            match meta.class(&c.name) {
                None => meta.classes.push(c.clone()),
                Some(have) if have.shape == c.shape => {}
                Some(have) => {
                    return Err(clash(
                        format!("class {:?}", c.name),
                        format!(
                            "shape {:?} differs from the dataset's {:?}",
                            c.shape, have.shape
                        ),
                    ));
                }
            }
        }
        for t in &other.tag_metas {
            match meta.tag_meta(&t.name) {
                None => meta.tag_metas.push(t.clone()),
                Some(have) if have.value_type == t.value_type => {}
                Some(have) => {
                    return Err(clash(
                        format!("tag {:?}", t.name),
                        format!(
                            "value type {:?} differs from the dataset's {:?}",
                            t.value_type, have.value_type
                        ),
                    ));
                }
            }
        }
        Ok(meta)
    }
}

/// A [`FrameAnnotator`] that writes each stored frame's annotation as Supervisely image JSON
/// ([`supervisely::image_annotation_to_value`]), converted from a video annotation by
/// [`VideoAnnotation::frame_annotation`] with geometry scaled to the stored image's size
/// ([`GeometryTransform::resize`] from the annotation's size to the record's `width` ×
/// `height`), after the stored rotation, if any.
///
/// ```
/// use std::sync::Arc;
/// use video_annotation::{SuperviselyAnnotator, VideoAnnotation, supervisely};
/// use video_core::{FrameAnnotator, FrameRecord};
/// let ann = supervisely::parse_video_annotation("clip.mp4.json", r#"{
///     "size": {"width": 640, "height": 360}, "objects": [], "frames": []
/// }"#, None)?;
/// let annotator = SuperviselyAnnotator::new("clip.mp4.json", Arc::new(ann));
/// let record = FrameRecord {
///     index: 3, pts_seconds: 0.1, key: "img/clip_000003.jpg".into(), width: 320, height: 180,
///     bytes: 1000, content_hash: None, annotation_key: None, framemd5: None,
/// };
/// let json: serde_json::Value = serde_json::from_slice(&annotator.annotate(&record)?).unwrap();
/// assert_eq!(json["size"]["width"], 320);
/// # Ok::<(), video_core::Error>(())
/// ```
#[derive(Clone, Debug)]
pub struct SuperviselyAnnotator {
    source_name: String,
    annotation: Arc<VideoAnnotation>,
    rotation: Rotation,
}

impl SuperviselyAnnotator {
    /// Annotations from `annotation` (read from `source_name`, which errors name), in display
    /// orientation.
    pub fn new(source_name: impl Into<String>, annotation: Arc<VideoAnnotation>) -> Self {
        SuperviselyAnnotator {
            source_name: source_name.into(),
            annotation,
            rotation: Rotation::None,
        }
    }

    /// Say that the annotation is in the video's stored orientation and frames are rotated by
    /// `rotation` (as [`VideoAnnotation::fit_to_video`] returns). Default: [`Rotation::None`].
    #[must_use]
    pub fn with_stored_rotation(mut self, rotation: Rotation) -> Self {
        self.rotation = rotation;
        self
    }

    /// The transform for an image stored at `width` × `height`.
    pub fn transform(&self, width: u32, height: u32) -> Result<GeometryTransform> {
        Ok(
            GeometryTransform::resize(self.annotation.size, ImageSize::new(width, height))?
                .with_stored_rotation(self.rotation),
        )
    }
}

impl FrameAnnotator for SuperviselyAnnotator {
    fn annotate(&self, frame: &FrameRecord) -> Result<Vec<u8>> {
        let rename = |e: Error| match e {
            Error::Annotation {
                location,
                reason,
                source,
                ..
            } => Error::Annotation {
                source_name: self.source_name.clone(),
                location: format!("frame {} ({}): {location}", frame.index, frame.key),
                reason,
                source,
            },
            other => other,
        };
        let t = self.transform(frame.width, frame.height)?;
        let image = self
            .annotation
            .frame_annotation(frame.index, &t)
            .map_err(rename)?;
        let value = supervisely::image_annotation_to_value(&image).map_err(rename)?;
        serde_json::to_vec_pretty(&value).map_err(|e| Error::Annotation {
            source_name: self.source_name.clone(),
            location: format!("frame {} ({})", frame.index, frame.key),
            reason: "could not be written".into(),
            source: Some(Box::new(e)),
        })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::model::{Figure, Geometry, ObjectClass, Shape, TagMeta, TagValueType};

    fn video(w: u32, h: u32, rotation: u32, frames: u64) -> VideoMetadata {
        let mut m = VideoMetadata::new("clip.mp4");
        (m.stored_width, m.stored_height) = (w, h);
        (m.width, m.height) = if rotation % 180 == 90 { (h, w) } else { (w, h) };
        m.rotation = rotation;
        m.frame_count = frames;
        m
    }

    fn annotation(w: u32, h: u32, figure_on: u64) -> VideoAnnotation {
        let mut a = VideoAnnotation {
            size: ImageSize::new(w, h),
            ..VideoAnnotation::default()
        };
        a.frames.insert(
            figure_on,
            vec![Figure {
                key: "f".into(),
                object_key: "o".into(),
                geometry: Geometry::Point { x: 1.0, y: 2.0 },
                track_id: None,
            }],
        );
        a.frames.insert(99, Vec::new()); // empty frames past the end are harmless
        a
    }

    #[test]
    fn sizes_and_rotations() {
        let a = annotation(1280, 720, 5);
        assert_eq!(
            a.fit_to_video("a.json", &video(1280, 720, 0, 60)).unwrap(),
            Rotation::None
        );
        // Display size of a rotated video: no rotation; stored size: the video's rotation.
        let b = annotation(720, 1280, 5);
        assert_eq!(
            b.fit_to_video("b.json", &video(1280, 720, 90, 60)).unwrap(),
            Rotation::None
        );
        assert_eq!(
            a.fit_to_video("a.json", &video(1280, 720, 270, 60))
                .unwrap(),
            Rotation::Cw270
        );
        assert_eq!(
            a.fit_to_video("a.json", &video(1280, 720, 180, 60))
                .unwrap(),
            Rotation::None
        );
        let e = a
            .fit_to_video("a.json", &video(640, 360, 0, 60))
            .unwrap_err();
        let msg = e.to_string();
        assert!(
            matches!(e, Error::Annotation { ref source_name, .. } if source_name == "a.json"),
            "{msg}"
        );
        assert!(msg.contains("1280x720") && msg.contains("640x360"), "{msg}");
    }

    #[test]
    fn frames_past_the_end() {
        let a = annotation(1280, 720, 60);
        let e = a
            .fit_to_video("a.json", &video(1280, 720, 0, 60))
            .unwrap_err();
        assert!(e.to_string().contains("frame 60 is past the end"), "{e}");
        annotation(1280, 720, 59)
            .fit_to_video("a.json", &video(1280, 720, 0, 60))
            .unwrap();
    }

    #[test]
    fn metas_merge_by_name() {
        let class = |name: &str, shape| ObjectClass {
            name: name.into(),
            shape,
            color: None,
        };
        let a = ProjectMeta {
            classes: vec![class("car", Shape::Rectangle)],
            tag_metas: vec![TagMeta::new("speed", TagValueType::Number)],
        };
        let b = ProjectMeta {
            classes: vec![
                class("person", Shape::Polygon),
                class("car", Shape::Rectangle),
            ],
            tag_metas: vec![TagMeta::new("speed", TagValueType::Number)],
        };
        let m = a.merged_with(&b, "b").unwrap();
        let names: Vec<&str> = m.classes.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(names, ["car", "person"]);
        assert_eq!(m.tag_metas.len(), 1);
        let c = ProjectMeta {
            classes: vec![class("car", Shape::Polygon)],
            tag_metas: vec![],
        };
        assert!(
            a.merged_with(&c, "c")
                .unwrap_err()
                .to_string()
                .contains("car")
        );
    }
}
