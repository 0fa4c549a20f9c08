//! From a video annotation to the annotations of its sampled frames.

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

use crate::geometry::GeometryTransform;
use crate::model::{ImageAnnotation, Label, Tag, TagValue, VideoAnnotation, VideoObject};
use video_core::{Error, FnFilter, FrameFilter, FrameInfo, Result};

/// The label tag holding the video object's identity ([`VideoObject::key`]), as text.
pub const OBJECT_ID_TAG: &str = "object_id";

/// The label tag (no value) on labels whose figure came from a tracker.
pub const AUTO_TRACKED_TAG: &str = "auto-tracked";

impl VideoAnnotation {
    /// The frames that carry at least one figure, ascending.
    pub fn annotated_frames(&self) -> BTreeSet<u64> {
        self.frames
            .iter()
            .filter(|(_, figures)| !figures.is_empty())
            .map(|(&i, _)| i)
            .collect()
    }

    /// A [`FrameFilter`] that keeps only [annotated frames](Self::annotated_frames), for
    /// [`SamplingPlan::among`](video_core::SamplingPlan::among) (every `step`-th annotated
    /// frame, as Supervisely samples) or
    /// [`SamplingPlan::filter`](video_core::SamplingPlan::filter) (the annotated frames of
    /// the step's grid).
    ///
    /// ```
    /// # use video_annotation::{VideoAnnotation, Figure, Geometry};
    /// # use video_core::{FrameTable, PacketEntry, SamplingPlan, Timestamp};
    /// let mut ann = VideoAnnotation::default();
    /// ann.frames.insert(7, vec![Figure {
    ///     key: "f".into(), object_key: "o".into(),
    ///     geometry: Geometry::Point { x: 1.0, y: 1.0 }, track_id: None,
    /// }]);
    /// # let table = FrameTable::from_decode_order("t", (0..20).map(|i| PacketEntry {
    /// #     pts: Some(Timestamp::from_nanos(i * 40_000_000)), duration: None, keyframe: true,
    /// # }))?;
    /// let plan = SamplingPlan::all().filter(ann.only_annotated()).resolve(&table)?;
    /// assert_eq!(plan.indices(), [7]);
    /// # Ok::<(), video_core::Error>(())
    /// ```
    pub fn only_annotated(&self) -> Arc<dyn FrameFilter> {
        let frames = self.annotated_frames();
        Arc::new(FnFilter(move |f: &FrameInfo| frames.contains(&f.index)))
    }

    /// The annotation of sampled frame `index`, by the rules of
    /// [the module docs](super#conversion-rules), with geometry moved onto the output image by
    /// `transform` (whose output size becomes the image size).
    ///
    /// # Errors
    /// [`Error::Annotation`] when a figure on the frame names an object the annotation does not
    /// have (annotations read by [`supervisely`](crate::supervisely) are checked when read).
    pub fn frame_annotation(
        &self,
        index: u64,
        transform: &GeometryTransform,
    ) -> Result<ImageAnnotation> {
        let objects: HashMap<&str, &VideoObject> =
            self.objects.iter().map(|o| (o.key.as_str(), o)).collect();
        let mut labels = Vec::new();
        for (n, figure) in self.frames.get(&index).into_iter().flatten().enumerate() {
            let Some(object) = objects.get(figure.object_key.as_str()) else {
                return Err(Error::Annotation {
                    source_name: "video annotation".into(),
                    location: format!("frame {index} / figures[{n}] (key {:?})", figure.key),
                    reason: format!("object {:?} does not exist", figure.object_key),
                    source: None,
                });
            };
            let mut tags: Vec<Tag> = object
                .tags
                .iter()
                .filter(|t| t.applies_to(index))
                .map(|t| t.tag.clone())
                .collect();
            tags.push(Tag::new(OBJECT_ID_TAG, TagValue::Text(object.key.clone())));
            if figure.track_id.is_some() {
                tags.push(Tag::new(AUTO_TRACKED_TAG, TagValue::None));
            }
            for geometry in transform.apply(&figure.geometry) {
                labels.push(Label {
                    class: object.class.clone(),
                    geometry,
                    tags: tags.clone(),
                });
            }
        }
        Ok(ImageAnnotation {
            size: transform.output_size(),
            labels,
            tags: self
                .tags
                .iter()
                .filter(|t| t.applies_to(index))
                .map(|t| t.tag.clone())
                .collect(),
        })
    }

    /// [`frame_annotation`](Self::frame_annotation) for each of `indices`, in order.
    ///
    /// # Errors
    /// As [`frame_annotation`](Self::frame_annotation).
    pub fn frame_annotations(
        &self,
        indices: &[u64],
        transform: &GeometryTransform,
    ) -> Result<Vec<(u64, ImageAnnotation)>> {
        indices
            .iter()
            .map(|&i| Ok((i, self.frame_annotation(i, transform)?)))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::geometry::Rotation;
    use crate::model::*;
    use video_core::{FrameTable, PacketEntry, SamplingPlan, Timestamp};

    fn tag(name: &str, value: TagValue, range: Option<(u64, u64)>) -> VideoTag {
        VideoTag {
            tag: Tag::new(name, value),
            frames: range.map(|(a, b)| FrameRange::new(a, b).unwrap()),
        }
    }

    fn rect(l: f64) -> Geometry {
        Geometry::Rectangle {
            left: l,
            top: 10.0,
            right: l + 20.0,
            bottom: 30.0,
        }
    }

    fn figure(key: &str, object: &str, geometry: Geometry, track: Option<&str>) -> Figure {
        Figure {
            key: key.into(),
            object_key: object.into(),
            geometry,
            track_id: track.map(Into::into),
        }
    }

    /// Two objects of the same class (one with ranged and unranged tags, one without tags),
    /// figures on frames 3 to 6 and 9, a tracked figure on frame 5, video tags on 4..=6 and
    /// everywhere.
    fn sample() -> VideoAnnotation {
        let mut ann = VideoAnnotation {
            size: ImageSize::new(200, 100),
            frame_count: Some(12),
            ..Default::default()
        };
        ann.objects = vec![
            VideoObject {
                key: "car-a".into(),
                class: "car".into(),
                tags: vec![
                    tag("color", TagValue::OneOf("red".into()), None),
                    tag("occluded", TagValue::None, Some((4, 5))),
                    tag("speed", TagValue::Number(12.5), Some((6, 6))),
                ],
            },
            VideoObject {
                key: "car-b".into(),
                class: "car".into(),
                tags: vec![],
            },
        ];
        for i in 3..=6 {
            ann.frames.insert(
                i,
                vec![figure(&format!("a{i}"), "car-a", rect(i as f64), None)],
            );
        }
        ann.frames
            .get_mut(&5)
            .unwrap()
            .push(figure("b5", "car-b", rect(100.0), Some("track-1")));
        ann.frames.insert(8, vec![]);
        ann.frames
            .insert(9, vec![figure("b9", "car-b", rect(150.0), None)]);
        ann.tags = vec![
            tag("weather", TagValue::Text("rain".into()), None),
            tag("overtaking", TagValue::None, Some((4, 6))),
        ];
        ann
    }

    fn names(tags: &[Tag]) -> Vec<&str> {
        tags.iter().map(|t| t.name.as_str()).collect()
    }

    fn at(ann: &VideoAnnotation, i: u64) -> ImageAnnotation {
        ann.frame_annotation(i, &GeometryTransform::identity(ann.size))
            .unwrap()
    }

    #[test]
    fn figures_become_labels_with_class_geometry_and_object_identity() {
        let ann = sample();
        let img = at(&ann, 5);
        assert_eq!(img.size, ImageSize::new(200, 100));
        assert_eq!(img.labels.len(), 2);
        assert_eq!(img.labels[0].class, "car");
        assert_eq!(img.labels[0].geometry, rect(5.0));
        assert_eq!(img.labels[0].object_id(), Some("car-a"));
        assert_eq!(img.labels[1].geometry, rect(100.0));
        // The object's identity, not its class: both are cars.
        assert_eq!(img.labels[1].object_id(), Some("car-b"));
    }

    #[test]
    fn object_tags_follow_inclusive_ranges() {
        let ann = sample();
        // occluded is 4..=5, speed is 6..=6, color everywhere.
        let want: [(u64, &[&str]); 4] = [
            (3, &["color", OBJECT_ID_TAG]),
            (4, &["color", "occluded", OBJECT_ID_TAG]),
            (5, &["color", "occluded", OBJECT_ID_TAG]),
            (6, &["color", "speed", OBJECT_ID_TAG]),
        ];
        for (i, tags) in want {
            assert_eq!(names(&at(&ann, i).labels[0].tags), tags, "frame {i}");
        }
        assert_eq!(at(&ann, 6).labels[0].tags[1].value, TagValue::Number(12.5));
    }

    #[test]
    fn objects_without_tags_get_only_identity_and_tracked_figures_are_marked() {
        let ann = sample();
        let img = at(&ann, 5);
        assert_eq!(
            names(&img.labels[1].tags),
            [OBJECT_ID_TAG, AUTO_TRACKED_TAG]
        );
        assert!(img.labels[1].is_auto_tracked());
        assert!(!img.labels[0].is_auto_tracked());
        let img = at(&ann, 9);
        assert_eq!(names(&img.labels[0].tags), [OBJECT_ID_TAG]);
    }

    #[test]
    fn video_tags_become_image_tags_on_their_frames() {
        let ann = sample();
        // overtaking is 4..=6: one before, first, last, one after.
        for (i, want) in [
            (3, &["weather"][..]),
            (4, &["weather", "overtaking"][..]),
            (6, &["weather", "overtaking"][..]),
            (7, &["weather"][..]),
        ] {
            assert_eq!(names(&at(&ann, i).tags), want, "frame {i}");
        }
    }

    #[test]
    fn frames_without_figures_get_empty_annotations() {
        let ann = sample();
        for i in [0, 7, 8, 11] {
            let img = at(&ann, i);
            assert!(img.labels.is_empty(), "frame {i}");
            assert_eq!(img.size, ann.size);
            assert_eq!(names(&img.tags), ["weather"]);
        }
    }

    #[test]
    fn geometry_follows_the_transform() {
        let ann = sample();
        let t = GeometryTransform::resize(ann.size, ImageSize::new(100, 50)).unwrap();
        let img = ann.frame_annotation(9, &t).unwrap();
        assert_eq!(img.size, ImageSize::new(100, 50));
        // Pixel x maps to (x + 0.5) / 2 - 0.5: 150 -> 74.75, 10 -> 4.75, 170 -> 84.75, 30 -> 14.75.
        assert_eq!(
            img.labels[0].geometry,
            Geometry::Rectangle {
                left: 74.75,
                top: 4.75,
                right: 84.75,
                bottom: 14.75
            }
        );
        // A figure that leaves the image entirely leaves no label.
        let mut ann = sample();
        ann.frames
            .insert(10, vec![figure("x", "car-a", rect(500.0), None)]);
        assert!(at(&ann, 10).labels.is_empty());
    }

    #[test]
    fn stored_coordinates_follow_the_decoder_rotation() {
        // Annotated on the stored 200x100 frames; the decoder shows them rotated.
        let mut ann = sample();
        ann.frames.insert(
            1,
            vec![figure(
                "p",
                "car-b",
                Geometry::Polygon {
                    exterior: vec![
                        Point::new(0.0, 0.0),
                        Point::new(10.0, 0.0),
                        Point::new(0.0, 20.0),
                    ],
                    interiors: vec![],
                },
                None,
            )],
        );
        let cases = [
            // 90° cw: (x, y) -> (99 - y, x) on a 100x200 display.
            (Rotation::Cw90, [(99.0, 0.0), (99.0, 10.0), (79.0, 0.0)]),
            // 180°: (x, y) -> (199 - x, 99 - y).
            (
                Rotation::Cw180,
                [(199.0, 99.0), (189.0, 99.0), (199.0, 79.0)],
            ),
            // 270° cw: (x, y) -> (y, 199 - x).
            (Rotation::Cw270, [(0.0, 199.0), (0.0, 189.0), (20.0, 199.0)]),
        ];
        for (r, want) in cases {
            let display = r.rotate_size(ann.size);
            let t = GeometryTransform::resize(ann.size, display)
                .unwrap()
                .with_stored_rotation(r);
            let img = ann.frame_annotation(1, &t).unwrap();
            assert_eq!(img.size, display, "{r:?}");
            assert_eq!(
                img.labels[0].geometry,
                Geometry::Polygon {
                    exterior: want.iter().map(|&(x, y)| Point::new(x, y)).collect(),
                    interiors: vec![]
                },
                "{r:?}"
            );
        }
        // Display-space input (Supervisely's): a rotated video only swaps the size, so the
        // transform is a plain resize of the display size and coordinates stay put.
        let t = GeometryTransform::resize(ann.size, ann.size).unwrap();
        let img = ann.frame_annotation(1, &t).unwrap();
        assert!(
            matches!(&img.labels[0].geometry, Geometry::Polygon { exterior, .. } if exterior[1] == Point::new(10.0, 0.0))
        );
    }

    #[test]
    fn unknown_object_is_an_error_naming_the_figure() {
        let mut ann = sample();
        ann.frames
            .insert(2, vec![figure("ghost-fig", "ghost", rect(0.0), None)]);
        let e = ann
            .frame_annotation(2, &GeometryTransform::identity(ann.size))
            .unwrap_err();
        let msg = e.to_string();
        assert!(matches!(e, Error::Annotation { .. }), "{msg}");
        assert!(
            msg.contains("frame 2") && msg.contains("ghost-fig") && msg.contains("\"ghost\""),
            "{msg}"
        );
    }

    #[test]
    fn only_annotated_keeps_frames_with_figures() {
        let ann = sample();
        assert_eq!(
            ann.annotated_frames().into_iter().collect::<Vec<_>>(),
            [3, 4, 5, 6, 9],
            "frame 8 has an empty figure list"
        );
        let table = FrameTable::from_decode_order(
            "t",
            (0..12).map(|i| PacketEntry {
                pts: Some(Timestamp::from_nanos(i * 40_000_000)),
                duration: None,
                keyframe: i == 0,
            }),
        )
        .unwrap();
        let plan = SamplingPlan::every(2)
            .filter(ann.only_annotated())
            .resolve(&table)
            .unwrap();
        assert_eq!(plan.indices(), [4, 6]);
        // Among the annotated frames, then every second one (Supervisely's order).
        let plan = SamplingPlan::every(2)
            .among(ann.only_annotated())
            .resolve(&table)
            .unwrap();
        assert_eq!(plan.indices(), [3, 5, 9]);
        let plan = SamplingPlan::all()
            .filter(ann.only_annotated())
            .resolve(&table)
            .unwrap();
        assert_eq!(plan.indices(), [3, 4, 5, 6, 9]);
    }
}
