//! Supervisely's project `meta.json`: object classes and tag metas.

use std::io::Read;

use serde_json::{Map, Value, json};

use super::context::{Cx, opt_string, parse_json, read_json, short};
use super::geometry::{shape_from_name, shape_name};
use crate::model::{ObjectClass, ProjectMeta, TagMeta, TagValueType};
use video_core::Result;

/// Parse a project `meta.json`.
///
/// # Errors
/// [`Error::Annotation`](video_core::Error::Annotation) for invalid JSON, a missing or mistyped
/// member, an unknown shape or value type, or a name declared twice.
pub fn parse_meta(source_name: &str, text: &str) -> Result<ProjectMeta> {
    let cx = Cx {
        source: source_name,
    };
    meta_from_value(source_name, &parse_json(&cx, text)?)
}

/// Read a project `meta.json` from a reader. Errors as [`parse_meta`].
///
/// # Errors
/// As [`parse_meta`], and [`Error::Annotation`](video_core::Error::Annotation) when the reader
/// fails.
pub fn read_meta(source_name: &str, reader: impl Read) -> Result<ProjectMeta> {
    let cx = Cx {
        source: source_name,
    };
    meta_from_value(source_name, &read_json(&cx, reader)?)
}

/// A project meta from parsed JSON: `classes` (`title`, `shape`, `color`) and `tags` (`name`,
/// `value_type` of `none`, `any_number`, `any_string` or `oneof_string` with its `values`,
/// `color`). Both lists may be missing (empty).
///
/// # Errors
/// As [`parse_meta`].
pub fn meta_from_value(source_name: &str, value: &Value) -> Result<ProjectMeta> {
    let cx = Cx {
        source: source_name,
    };
    let root = cx.object(value, "")?;
    let mut meta = ProjectMeta::default();
    for (i, c) in cx.opt_array(root, "classes", "")?.iter().enumerate() {
        let loc = format!("classes[{i}]");
        let c = cx.object(c, &loc)?;
        let name = cx.string(c, "title", &loc)?;
        let loc = format!("classes[{i}] (title {name:?})");
        let shape_s = cx.string(c, "shape", &loc)?;
        let shape = shape_from_name(shape_s)
            .ok_or_else(|| cx.err(&loc, format!("unsupported shape {shape_s:?}")))?;
        if meta.class(name).is_some() {
            return Err(cx.err(&loc, "class declared twice"));
        }
        meta.classes.push(ObjectClass {
            name: name.to_owned(),
            shape,
            color: opt_string(&cx, c, "color", &loc)?,
        });
    }
    for (i, t) in cx.opt_array(root, "tags", "")?.iter().enumerate() {
        let loc = format!("tags[{i}]");
        let t = cx.object(t, &loc)?;
        let name = cx.string(t, "name", &loc)?;
        let loc = format!("tags[{i}] (name {name:?})");
        let vt = cx.string(t, "value_type", &loc)?;
        let value_type = match vt {
            "none" => TagValueType::None,
            "any_number" => TagValueType::Number,
            "any_string" => TagValueType::Text,
            "oneof_string" => {
                let values = cx.array(t, "values", &loc)?;
                let values = values
                    .iter()
                    .map(|v| {
                        v.as_str().map(str::to_owned).ok_or_else(|| {
                            cx.err(
                                &loc,
                                format!("`values` must hold strings, found {}", short(v)),
                            )
                        })
                    })
                    .collect::<Result<Vec<_>>>()?;
                TagValueType::OneOf(values)
            }
            other => return Err(cx.err(&loc, format!("unsupported value_type {other:?}"))),
        };
        if meta.tag_meta(name).is_some() {
            return Err(cx.err(&loc, "tag declared twice"));
        }
        meta.tag_metas.push(TagMeta {
            name: name.to_owned(),
            value_type,
            color: opt_string(&cx, t, "color", &loc)?,
        });
    }
    Ok(meta)
}

/// A project `meta.json` for an images project: classes with `title`, `shape`, `color` (a
/// colour derived from the name when the class has none), and tag metas. Pass the meta of
/// [`ProjectMeta::for_images`] so the `object_id` and `auto-tracked` tags are declared.
pub fn meta_to_value(meta: &ProjectMeta) -> Value {
    let classes: Vec<Value> = meta
        .classes
        .iter()
        .map(|c| {
            json!({
                "title": c.name,
                "shape": shape_name(c.shape),
                "color": c.color.clone().unwrap_or_else(|| color_of(&c.name)),
                "geometry_config": {},
            })
        })
        .collect();
    let tags: Vec<Value> = meta
        .tag_metas
        .iter()
        .map(|t| {
            let mut m = Map::new();
            m.insert("name".into(), json!(t.name));
            let vt = match &t.value_type {
                TagValueType::None => "none",
                TagValueType::Number => "any_number",
                TagValueType::Text => "any_string",
                TagValueType::OneOf(values) => {
                    m.insert("values".into(), json!(values));
                    "oneof_string"
                }
            };
            m.insert("value_type".into(), json!(vt));
            m.insert(
                "color".into(),
                json!(t.color.clone().unwrap_or_else(|| color_of(&t.name))),
            );
            Value::Object(m)
        })
        .collect();
    json!({ "classes": classes, "tags": tags, "projectType": "images" })
}

/// A stable colour for a name (FNV-1a of its bytes), as `#RRGGBB`.
fn color_of(name: &str) -> String {
    let h = name.bytes().fold(0x811c_9dc5u32, |h, b| {
        (h ^ u32::from(b)).wrapping_mul(0x0100_0193)
    });
    format!("#{:06X}", h & 0x00FF_FFFF)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::supervisely::parse_video_annotation;
    use crate::supervisely::test_data::meta;
    use video_core::Error;

    #[test]
    fn invalid_json_and_bad_meta_are_errors() {
        let e = parse_video_annotation("v.json", "{\"size\": ", None).unwrap_err();
        assert!(
            matches!(&e, Error::Annotation { location, .. } if location.starts_with("line 1")),
            "{e}"
        );
        assert!(std::error::Error::source(&e).is_some());
        let e = meta_from_value(
            "meta.json",
            &json!({"classes": [{"title": "g", "shape": "graph"}]}),
        )
        .unwrap_err();
        assert!(
            e.to_string()
                .contains("classes[0] (title \"g\"): unsupported shape \"graph\""),
            "{e}"
        );
        let e = meta_from_value(
            "meta.json",
            &json!({"tags": [{"name": "t", "value_type": "oneof_string"}]}),
        )
        .unwrap_err();
        assert!(
            e.to_string()
                .contains("tags[0] (name \"t\"): missing field `values`"),
            "{e}"
        );
        let e = meta_from_value(
            "meta.json",
            &json!({"tags": [{"name": "t", "value_type": "any_date"}]}),
        )
        .unwrap_err();
        assert!(
            e.to_string()
                .contains("unsupported value_type \"any_date\""),
            "{e}"
        );
    }

    #[test]
    fn meta_round_trips_and_images_meta_declares_the_extra_tags() {
        let m = meta_from_value("meta.json", &meta()).unwrap();
        let images = m.for_images().unwrap();
        let v = meta_to_value(&images);
        assert_eq!(v["projectType"], "images");
        let back = meta_from_value("out", &v).unwrap();
        assert_eq!(back.classes[0], m.classes[0]);
        assert_eq!(
            back.tag_meta(crate::OBJECT_ID_TAG).unwrap().value_type,
            TagValueType::Text
        );
        assert_eq!(
            back.tag_meta(crate::AUTO_TRACKED_TAG).unwrap().value_type,
            TagValueType::None
        );
        // A generated colour is stable and well-formed.
        assert_eq!(v["tags"][1]["color"], v["tags"][1]["color"]);
        let c = v["tags"][1]["color"].as_str().unwrap();
        assert!(c.len() == 7 && c.starts_with('#'), "{c}");
        // The reserved names cannot mean something else.
        let mut clash = m.clone();
        clash
            .tag_metas
            .push(TagMeta::new("object_id", TagValueType::Number));
        assert!(clash.for_images().is_err());
    }
}
