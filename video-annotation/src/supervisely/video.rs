//! Supervisely video annotations (`VIDEO.json`), read into a [`VideoAnnotation`].

use std::collections::{HashMap, HashSet};
use std::io::Read;

use serde_json::Value;

use super::context::{Cx, join, kind, parse_json, read_json};
use super::geometry::{geometry, shape_name};
use super::tags::{RawTag, infer_tag, raw_tags, typed_tag};
use crate::model::{
    Figure, ObjectClass, ProjectMeta, Shape, VideoAnnotation, VideoObject, VideoTag,
};
use video_core::Result;

/// Parse a Supervisely video annotation (`VIDEO.json`). With `meta`, classes and tags are
/// checked against it; without, they are inferred (see [the module docs](super)).
///
/// # Errors
/// [`Error::Annotation`](video_core::Error::Annotation) naming the place for invalid JSON, missing
/// or mistyped members, an unknown geometry type, a figure naming an unknown object, a frame index
/// past `framesCount`, an object key used twice, and (with a meta) an undeclared class or tag,
/// geometry that does not fit the class or a value that does not fit the tag;
/// [`Error::LimitExceeded`](video_core::Error::LimitExceeded) naming the file and the figure for a
/// bitmap that decompresses to more than 64 MiB or whose PNG declares more than 2²⁶ pixels (8192 ×
/// 8192).
pub fn parse_video_annotation(
    source_name: &str,
    text: &str,
    meta: Option<&ProjectMeta>,
) -> Result<VideoAnnotation> {
    let cx = Cx {
        source: source_name,
    };
    video_annotation_from_value(source_name, &parse_json(&cx, text)?, meta)
}

/// Read a Supervisely video annotation from a reader.
///
/// # Errors
/// As [`parse_video_annotation`], and [`Error::Annotation`](video_core::Error::Annotation) when the
/// reader fails.
pub fn read_video_annotation(
    source_name: &str,
    reader: impl Read,
    meta: Option<&ProjectMeta>,
) -> Result<VideoAnnotation> {
    let cx = Cx {
        source: source_name,
    };
    video_annotation_from_value(source_name, &read_json(&cx, reader)?, meta)
}

/// A Supervisely video annotation from parsed JSON.
///
/// # Errors
/// As [`parse_video_annotation`].
pub fn video_annotation_from_value(
    source_name: &str,
    value: &Value,
    meta: Option<&ProjectMeta>,
) -> Result<VideoAnnotation> {
    let cx = Cx {
        source: source_name,
    };
    let root = cx.object(value, "")?;
    let size = cx.size(root)?;
    let frame_count = match root.get("framesCount") {
        None | Some(Value::Null) => None,
        Some(_) => Some(cx.uint(root, "framesCount", "")?),
    };
    let video_tags = raw_tags(&cx, root, "", true)?;

    // Objects.
    struct RawObject<'v> {
        key: &'v str,
        class: &'v str,
        tags: Vec<RawTag<'v>>,
        loc: String,
    }
    let mut objects = Vec::new();
    let mut keys = HashSet::new();
    for (i, o) in cx.array(root, "objects", "")?.iter().enumerate() {
        let loc = format!("objects[{i}]");
        let o = cx.object(o, &loc)?;
        let key = cx.string(o, "key", &loc)?;
        let loc = format!("objects[{i}] (key {key:?})");
        if !keys.insert(key) {
            return Err(cx.err(&loc, "object key used twice"));
        }
        let class = cx.string(o, "classTitle", &loc)?;
        let tags = raw_tags(&cx, o, &loc, true)?;
        objects.push(RawObject {
            key,
            class,
            tags,
            loc,
        });
    }
    let object_class: HashMap<&str, (&str, &str)> = objects
        .iter()
        .map(|o| (o.key, (o.class, o.loc.as_str())))
        .collect();

    // Frames and figures.
    let mut frames: std::collections::BTreeMap<u64, Vec<Figure>> = Default::default();
    let mut figure_shapes: Vec<(&str, Shape, String)> = Vec::new();
    for (j, f) in cx.array(root, "frames", "")?.iter().enumerate() {
        let loc = format!("frames[{j}]");
        let f = cx.object(f, &loc)?;
        let index = cx.uint(f, "index", &loc)?;
        let loc = format!("frames[{j}] (index {index})");
        if let Some(n) = frame_count
            && index >= n
        {
            return Err(cx.err(
                &loc,
                format!("frame index {index} is past the video's {n} frames (framesCount)"),
            ));
        }
        let figures = frames.entry(index).or_default();
        for (k, fig) in cx.array(f, "figures", &loc)?.iter().enumerate() {
            let floc = join(&loc, &format!("figures[{k}]"));
            let fig = cx.object(fig, &floc)?;
            let key = cx.string(fig, "key", &floc)?;
            let floc = join(&loc, &format!("figures[{k}] (key {key:?})"));
            let object_key = cx.string(fig, "objectKey", &floc)?;
            let Some(&(class, _)) = object_class.get(object_key) else {
                return Err(cx.err(&floc, format!("objectKey {object_key:?} names no object")));
            };
            let gtype = cx.string(fig, "geometryType", &floc)?;
            // The geometry sits in `geometry`; older exports put its members on the figure.
            let g = match fig.get("geometry") {
                Some(g) => cx.object(g, &join(&floc, "geometry"))?,
                None => fig,
            };
            let geometry = geometry(&cx, gtype, g, &join(&floc, "geometry"))?;
            let track_id = match fig.get("trackId") {
                None | Some(Value::Null) => None,
                Some(Value::String(s)) => Some(s.clone()),
                Some(Value::Number(n)) => Some(n.to_string()),
                Some(v) => {
                    return Err(cx.err(
                        &floc,
                        format!("`trackId` must be a string or a number, found {}", kind(v)),
                    ));
                }
            };
            figure_shapes.push((class, geometry.shape(), floc));
            figures.push(Figure {
                key: key.to_owned(),
                object_key: object_key.to_owned(),
                geometry,
                track_id,
            });
        }
    }

    // The meta: given (and checked) or inferred.
    let meta = match meta {
        Some(m) => {
            for o in &objects {
                if m.class(o.class).is_none() {
                    return Err(cx.err(
                        &o.loc,
                        format!("class {:?} is not declared in the project meta", o.class),
                    ));
                }
            }
            for (class, shape, loc) in &figure_shapes {
                if let Some(c) = m.class(class)
                    && !c.shape.allows(*shape)
                {
                    return Err(cx.err(
                        loc,
                        format!(
                            "a {} in class {class:?} of shape {}",
                            shape_name(*shape),
                            shape_name(c.shape)
                        ),
                    ));
                }
            }
            m.clone()
        }
        None => {
            let mut m = ProjectMeta::default();
            for o in &objects {
                if m.class(o.class).is_none() {
                    let mut shapes = figure_shapes
                        .iter()
                        .filter(|(c, _, _)| *c == o.class)
                        .map(|(_, s, _)| *s);
                    let first = shapes.next();
                    let shape = match first {
                        Some(s) if shapes.all(|t| t == s) => s,
                        _ => Shape::Any,
                    };
                    m.classes.push(ObjectClass {
                        name: o.class.to_owned(),
                        shape,
                        color: None,
                    });
                }
            }
            for t in video_tags
                .iter()
                .chain(objects.iter().flat_map(|o| o.tags.iter()))
            {
                infer_tag(&cx, &mut m, t)?;
            }
            m
        }
    };

    let video_tag = |t: &RawTag<'_>| -> Result<VideoTag> {
        Ok(VideoTag {
            tag: typed_tag(&cx, &meta, t)?,
            frames: t.frames,
        })
    };
    let tags = video_tags
        .iter()
        .map(video_tag)
        .collect::<Result<Vec<_>>>()?;
    let objects = objects
        .iter()
        .map(|o| {
            Ok(VideoObject {
                key: o.key.to_owned(),
                class: o.class.to_owned(),
                tags: o.tags.iter().map(video_tag).collect::<Result<Vec<_>>>()?,
            })
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(VideoAnnotation {
        size,
        frame_count,
        meta,
        objects,
        frames,
        tags,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{FrameRange, Geometry, ImageSize, TagValue, TagValueType};
    use crate::supervisely::meta_from_value;
    use crate::supervisely::test_data::meta;
    use serde_json::json;
    use video_core::Error;

    /// A way to break a document, and what the error must say.
    type Case = (Box<dyn Fn(&mut Value)>, &'static [&'static str]);

    /// A small valid video annotation to break in each test.
    fn video() -> Value {
        json!({
            "size": {"width": 100, "height": 50},
            "framesCount": 10,
            "tags": [{"name": "night", "frameRange": [2, 4]}],
            "objects": [
                {"key": "o1", "classTitle": "car", "tags": [{"name": "color", "value": "red"}]},
                {"key": "o2", "classTitle": "person", "tags": []}
            ],
            "frames": [
                {"index": 3, "figures": [
                    {"key": "f1", "objectKey": "o1", "geometryType": "rectangle",
                     "geometry": {"points": {"exterior": [[30, 40], [10, 5]], "interior": []}}},
                    {"key": "f2", "objectKey": "o2", "geometryType": "point", "trackId": 17,
                     "geometry": {"points": {"exterior": [[7, 8]], "interior": []}}}
                ]}
            ]
        })
    }

    fn read(v: &Value, m: Option<&ProjectMeta>) -> Result<VideoAnnotation> {
        video_annotation_from_value("v.json", v, m)
    }

    fn err_text(v: &Value, m: Option<&ProjectMeta>) -> String {
        match read(v, m) {
            Err(e @ Error::Annotation { .. }) => e.to_string(),
            other => panic!("expected an annotation error, got {other:?}"),
        }
    }

    #[test]
    fn reads_with_meta_and_types_tags() {
        let m = meta_from_value("meta.json", &meta()).unwrap();
        let a = read(&video(), Some(&m)).unwrap();
        assert_eq!(a.size, ImageSize::new(100, 50));
        assert_eq!(a.frame_count, Some(10));
        assert_eq!(a.meta, m);
        assert_eq!(
            a.objects[0].tags[0].tag.value,
            TagValue::OneOf("red".into())
        );
        assert_eq!(a.tags[0].frames, Some(FrameRange::new(2, 4).unwrap()));
        let figs = &a.frames[&3];
        // Rectangle corners in either order are normalised.
        assert_eq!(
            figs[0].geometry,
            Geometry::Rectangle {
                left: 10.0,
                top: 5.0,
                right: 30.0,
                bottom: 40.0
            }
        );
        assert_eq!(figs[0].track_id, None);
        assert_eq!(figs[1].track_id.as_deref(), Some("17"));
    }

    #[test]
    fn infers_meta_without_one() {
        let mut v = video();
        // A second car figure of another shape makes the class any_shape.
        v["frames"][0]["figures"]
            .as_array_mut()
            .unwrap()
            .push(json!(
            {"key": "f3", "objectKey": "o1", "geometryType": "line",
             "geometry": {"points": {"exterior": [[1, 1], [5, 5]], "interior": []}}}));
        v["objects"][1]["tags"] = json!([{"name": "age", "value": 31}]);
        let a = read(&v, None).unwrap();
        let shapes: Vec<_> = a
            .meta
            .classes
            .iter()
            .map(|c| (c.name.as_str(), c.shape))
            .collect();
        assert_eq!(shapes, [("car", Shape::Any), ("person", Shape::Point)]);
        let tags: Vec<_> = a
            .meta
            .tag_metas
            .iter()
            .map(|t| (t.name.as_str(), t.value_type.clone()))
            .collect();
        assert_eq!(
            tags,
            [
                ("night", TagValueType::None),
                ("color", TagValueType::Text),
                ("age", TagValueType::Number)
            ]
        );
        assert_eq!(a.objects[0].tags[0].tag.value, TagValue::Text("red".into()));
    }

    #[test]
    fn malformed_video_annotations_name_the_place() {
        let cases: Vec<Case> = vec![
            (
                Box::new(|v| drop(v.as_object_mut().unwrap().remove("size"))),
                &["missing field `size`"],
            ),
            (
                Box::new(|v| {
                    drop(
                        v["objects"][1]
                            .as_object_mut()
                            .unwrap()
                            .remove("classTitle"),
                    )
                }),
                &["objects[1] (key \"o2\")", "missing field `classTitle`"],
            ),
            (
                Box::new(|v| v["frames"][0]["index"] = json!("3")),
                &["frames[0]", "`index` must be a whole number", "\"3\""],
            ),
            (
                Box::new(|v| v["frames"][0]["figures"][1]["geometryType"] = json!("cuboid")),
                &[
                    "frames[0] (index 3) / figures[1] (key \"f2\")",
                    "unknown geometry type \"cuboid\"",
                ],
            ),
            (
                Box::new(|v| v["frames"][0]["figures"][0]["objectKey"] = json!("nobody")),
                &[
                    "frames[0] (index 3) / figures[0] (key \"f1\")",
                    "\"nobody\" names no object",
                ],
            ),
            (
                Box::new(|v| v["frames"][0]["index"] = json!(10)),
                &["frames[0] (index 10)", "past the video's 10 frames"],
            ),
            (
                Box::new(|v| v["tags"][0]["frameRange"] = json!([5, 4])),
                &["tags[0] (name \"night\")", "[5, 4] ends before it starts"],
            ),
            (
                Box::new(|v| v["tags"][0]["frameRange"] = json!([1, -4])),
                &["tags[0] (name \"night\")", "`frameRange` must be"],
            ),
            (
                Box::new(|v| {
                    v["frames"][0]["figures"][0]["geometry"]["points"]["exterior"] = json!([[1, 2]])
                }),
                &[
                    "figures[0] (key \"f1\") / geometry",
                    "needs 2 exterior points, found 1",
                ],
            ),
            (
                Box::new(|v| {
                    v["frames"][0]["figures"][0]["geometry"]["points"]["exterior"][1] =
                        json!([1, "x"])
                }),
                &[
                    "figures[0] (key \"f1\") / geometry / points / exterior[1]",
                    "[x, y]",
                ],
            ),
            (
                Box::new(|v| {
                    v["frames"][0]["figures"][0]["geometryType"] = json!("bitmap");
                    v["frames"][0]["figures"][0]["geometry"] =
                        json!({"bitmap": {"data": "%%%", "origin": [0, 0]}});
                }),
                &["figures[0] (key \"f1\") / geometry / bitmap", "not base64"],
            ),
            (
                Box::new(|v| v["objects"][1]["key"] = json!("o1")),
                &["objects[1] (key \"o1\")", "used twice"],
            ),
            (
                Box::new(|v| v["objects"] = json!({})),
                &["field `objects` must be an array, found an object"],
            ),
            (
                Box::new(|v| v["objects"][0]["tags"][0]["value"] = json!(true)),
                &[
                    "objects[0] (key \"o1\") / tags[0] (name \"color\")",
                    "found a boolean",
                ],
            ),
            (
                Box::new(|v| v["objects"][1]["tags"] = json!([{"name": "color", "value": 3}])),
                &[
                    "objects[1] (key \"o2\") / tags[0] (name \"color\")",
                    "earlier uses",
                ],
            ),
        ];
        for (n, (break_it, wants)) in cases.into_iter().enumerate() {
            let mut v = video();
            break_it(&mut v);
            let msg = err_text(&v, None);
            assert!(msg.starts_with("v.json: "), "case {n}: {msg}");
            for w in wants {
                assert!(msg.contains(w), "case {n}: {msg:?} lacks {w:?}");
            }
        }
    }

    #[test]
    fn meta_violations_name_the_place() {
        let m = meta_from_value("meta.json", &meta()).unwrap();
        let cases: Vec<Case> = vec![
            (
                Box::new(|v| v["objects"][1]["classTitle"] = json!("dog")),
                &["objects[1] (key \"o2\")", "class \"dog\" is not declared"],
            ),
            (
                Box::new(|v| v["objects"][0]["tags"][0]["value"] = json!("green")),
                &[
                    "objects[0] (key \"o1\") / tags[0] (name \"color\")",
                    "\"green\" is not one of",
                ],
            ),
            (
                Box::new(|v| v["tags"][0]["name"] = json!("fog")),
                &["tags[0] (name \"fog\")", "not declared"],
            ),
            (
                Box::new(|v| v["tags"][0]["value"] = json!(1)),
                &["tags[0] (name \"night\")", "does not fit"],
            ),
            (
                Box::new(|v| v["frames"][0]["figures"][1]["objectKey"] = json!("o1")),
                &[
                    "figures[1] (key \"f2\")",
                    "a point in class \"car\" of shape rectangle",
                ],
            ),
        ];
        for (n, (break_it, wants)) in cases.into_iter().enumerate() {
            let mut v = video();
            break_it(&mut v);
            let msg = err_text(&v, Some(&m));
            for w in wants {
                assert!(msg.contains(w), "case {n}: {msg:?} lacks {w:?}");
            }
        }
    }
}
