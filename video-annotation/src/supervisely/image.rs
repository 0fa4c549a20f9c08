//! Supervisely image annotations: written from an [`ImageAnnotation`] (and read back), and
//! named after their image.

use std::io::Write;

use serde_json::{Map, Value, json};

use super::context::{Cx, parse_json};
use super::geometry::{geometry, geometry_to_members, shape_name};
use super::tags::{RawTag, infer_tag, raw_tags, tag_to_value, typed_tag};
use crate::model::{ImageAnnotation, Label, ProjectMeta};
use video_core::{Error, Result};

/// The file name of the annotation of image `image_file_name`: `clip_000042.png` →
/// `clip_000042.png.json` (Supervisely's convention, as [`video_core::layout`] names it).
pub fn annotation_file_name(image_file_name: &str) -> String {
    video_core::layout::annotation_file_name(image_file_name)
}

/// An image annotation as Supervisely JSON.
///
/// # Errors
/// [`Error::Annotation`] naming the label when a coordinate is not finite or a bitmap cannot be
/// encoded.
pub fn image_annotation_to_value(annotation: &ImageAnnotation) -> Result<Value> {
    let objects = annotation
        .labels
        .iter()
        .enumerate()
        .map(|(i, l)| {
            let mut m = Map::new();
            m.insert("classTitle".into(), json!(l.class));
            m.insert("description".into(), json!(""));
            m.insert(
                "tags".into(),
                Value::Array(l.tags.iter().map(tag_to_value).collect()),
            );
            m.insert("geometryType".into(), json!(shape_name(l.geometry.shape())));
            geometry_to_members(&l.geometry, &mut m).map_err(|reason| Error::Annotation {
                source_name: "image annotation".into(),
                location: format!("labels[{i}] (class {:?})", l.class),
                reason,
                source: None,
            })?;
            Ok(Value::Object(m))
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(json!({
        "description": "",
        "size": { "height": annotation.size.height, "width": annotation.size.width },
        "tags": annotation.tags.iter().map(tag_to_value).collect::<Vec<_>>(),
        "objects": objects,
    }))
}

/// Write an image annotation as Supervisely JSON (pretty-printed).
///
/// # Errors
/// As [`image_annotation_to_value`], and [`Error::Annotation`] when the writer fails.
pub fn write_image_annotation(annotation: &ImageAnnotation, writer: impl Write) -> Result<()> {
    let v = image_annotation_to_value(annotation)?;
    serde_json::to_writer_pretty(writer, &v).map_err(|e| Error::Annotation {
        source_name: "image annotation".into(),
        location: String::new(),
        reason: "could not be written".into(),
        source: Some(Box::new(e)),
    })
}

/// Parse a Supervisely image annotation. With `meta`, tags are typed and checked against it
/// (pass the images project's meta); without, values are typed by their JSON kind (strings as
/// [`TagValue::Text`](crate::TagValue::Text)).
///
/// # Errors
/// [`Error::Annotation`] naming the place for invalid JSON, missing or mistyped members, an unknown
/// geometry type and (with a meta) an undeclared class or tag or a value that does not fit;
/// [`Error::LimitExceeded`] for a bitmap over the limits of
/// [`parse_video_annotation`](super::parse_video_annotation).
pub fn parse_image_annotation(
    source_name: &str,
    text: &str,
    meta: Option<&ProjectMeta>,
) -> Result<ImageAnnotation> {
    let cx = Cx {
        source: source_name,
    };
    image_annotation_from_value(source_name, &parse_json(&cx, text)?, meta)
}

/// A Supervisely image annotation from parsed JSON.
///
/// # Errors
/// As [`parse_image_annotation`].
pub fn image_annotation_from_value(
    source_name: &str,
    value: &Value,
    meta: Option<&ProjectMeta>,
) -> Result<ImageAnnotation> {
    let cx = Cx {
        source: source_name,
    };
    let root = cx.object(value, "")?;
    let size = cx.size(root)?;
    let image_tags = raw_tags(&cx, root, "", false)?;
    let mut raw_labels = Vec::new();
    for (i, o) in cx.array(root, "objects", "")?.iter().enumerate() {
        let loc = format!("objects[{i}]");
        let o = cx.object(o, &loc)?;
        let class = cx.string(o, "classTitle", &loc)?;
        let loc = format!("objects[{i}] (class {class:?})");
        let gtype = cx.string(o, "geometryType", &loc)?;
        let geometry = geometry(&cx, gtype, o, &loc)?;
        raw_labels.push((class, geometry, raw_tags(&cx, o, &loc, false)?, loc));
    }
    let inferred;
    let meta = match meta {
        Some(m) => {
            for (class, _, _, loc) in &raw_labels {
                if m.class(class).is_none() {
                    return Err(cx.err(
                        loc,
                        format!("class {class:?} is not declared in the project meta"),
                    ));
                }
            }
            m
        }
        None => {
            let mut m = ProjectMeta::default();
            for t in image_tags
                .iter()
                .chain(raw_labels.iter().flat_map(|l| l.2.iter()))
            {
                infer_tag(&cx, &mut m, t)?;
            }
            inferred = m;
            &inferred
        }
    };
    let tags = |ts: &[RawTag<'_>]| {
        ts.iter()
            .map(|t| typed_tag(&cx, meta, t))
            .collect::<Result<Vec<_>>>()
    };
    Ok(ImageAnnotation {
        size,
        labels: raw_labels
            .iter()
            .map(|(class, geometry, ts, _)| {
                Ok(Label {
                    class: (*class).to_owned(),
                    geometry: geometry.clone(),
                    tags: tags(ts)?,
                })
            })
            .collect::<Result<Vec<_>>>()?,
        tags: tags(&image_tags)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Geometry, ImageSize, Mask, Tag, TagValue};

    #[test]
    fn image_annotations_round_trip_with_rounding() {
        let ann = ImageAnnotation {
            size: ImageSize::new(20, 10),
            labels: vec![
                Label {
                    class: "car".into(),
                    geometry: Geometry::Rectangle {
                        left: 1.4,
                        top: 2.5,
                        right: 7.0,
                        bottom: 9.0,
                    },
                    tags: vec![Tag::new("object_id", TagValue::Text("o1".into()))],
                },
                Label {
                    class: "person".into(),
                    geometry: Geometry::Bitmap {
                        origin_x: 3,
                        origin_y: 4,
                        mask: Mask::from_fn(3, 2, |x, y| x != y),
                    },
                    tags: vec![Tag::new("auto-tracked", TagValue::None)],
                },
            ],
            tags: vec![Tag::new("night", TagValue::None)],
        };
        let mut out = Vec::new();
        write_image_annotation(&ann, &mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        let v: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(
            v["objects"][0]["points"]["exterior"],
            json!([[1, 3], [7, 9]])
        );
        assert_eq!(v["objects"][1]["bitmap"]["origin"], json!([3, 4]));
        assert_eq!(v["objects"][1]["geometryType"], "bitmap");
        assert!(v["tags"][0].get("value").is_none());
        let back = parse_image_annotation("a.png.json", &text, None).unwrap();
        assert_eq!(back.labels[1], ann.labels[1]);
        assert_eq!(back.tags, ann.tags);
        assert_eq!(
            back.labels[0].geometry,
            Geometry::Rectangle {
                left: 1.0,
                top: 3.0,
                right: 7.0,
                bottom: 9.0
            }
        );
        let bad = ImageAnnotation {
            labels: vec![Label {
                class: "x".into(),
                geometry: Geometry::Point {
                    x: f64::NAN,
                    y: 0.0,
                },
                tags: vec![],
            }],
            ..ann
        };
        let e = image_annotation_to_value(&bad).unwrap_err();
        assert!(e.to_string().contains("labels[0] (class \"x\")"), "{e}");
        assert_eq!(
            annotation_file_name("clip_000042.png"),
            "clip_000042.png.json"
        );
    }
}
