//! Supervisely tags (`name`, `value`, `frameRange`): read untyped, inferred into tag metas or
//! typed against the project meta, and written.

use serde_json::{Map, Value, json};

use super::context::{Cx, join, kind, short};
use crate::model::{FrameRange, ProjectMeta, Tag, TagMeta, TagValue, TagValueType};
use video_core::Result;

/// A tag as read, before its value is typed.
pub(super) struct RawTag<'v> {
    pub(super) name: &'v str,
    pub(super) value: Option<&'v Value>,
    pub(super) frames: Option<FrameRange>,
    pub(super) loc: String,
}

pub(super) fn raw_tags<'v>(
    cx: &Cx<'_>,
    m: &'v Map<String, Value>,
    parent: &str,
    ranged: bool,
) -> Result<Vec<RawTag<'v>>> {
    let mut out = Vec::new();
    for (i, t) in cx.opt_array(m, "tags", parent)?.iter().enumerate() {
        let loc = join(parent, &format!("tags[{i}]"));
        let t = cx.object(t, &loc)?;
        let name = cx.string(t, "name", &loc)?;
        let loc = join(parent, &format!("tags[{i}] (name {name:?})"));
        let frames = match t.get("frameRange") {
            Some(r) if ranged && !r.is_null() => {
                let pair = r.as_array().and_then(|a| match a.as_slice() {
                    [a, b] => Some((a.as_u64()?, b.as_u64()?)),
                    _ => None,
                });
                let (a, b) = pair.ok_or_else(|| {
                    cx.err(
                        &loc,
                        format!(
                            "`frameRange` must be [first, last] frame indices, found {}",
                            short(r)
                        ),
                    )
                })?;
                Some(FrameRange::new(a, b).map_err(|_| {
                    cx.err(
                        &loc,
                        format!("`frameRange` [{a}, {b}] ends before it starts"),
                    )
                })?)
            }
            _ => None,
        };
        out.push(RawTag {
            name,
            value: t.get("value").filter(|v| !v.is_null()),
            frames,
            loc,
        });
    }
    Ok(out)
}

pub(super) fn inferred_type(v: Option<&Value>) -> Option<TagValueType> {
    match v {
        None => Some(TagValueType::None),
        Some(Value::Number(_)) => Some(TagValueType::Number),
        Some(Value::String(_)) => Some(TagValueType::Text),
        Some(_) => None,
    }
}

/// Add the tag meta a raw tag implies, or check it agrees with the one already inferred.
pub(super) fn infer_tag(cx: &Cx<'_>, meta: &mut ProjectMeta, t: &RawTag<'_>) -> Result<()> {
    let vt = inferred_type(t.value).ok_or_else(|| {
        cx.err(
            &t.loc,
            format!(
                "a tag value must be a number, a string or absent, found {}",
                kind(t.value.unwrap_or(&Value::Null))
            ),
        )
    })?;
    match meta.tag_meta(t.name) {
        None => meta.tag_metas.push(TagMeta::new(t.name, vt)),
        Some(m) if m.value_type == vt => {}
        Some(m) => {
            return Err(cx.err(
                &t.loc,
                format!(
                    "value of type {vt:?} where earlier uses of the tag have {:?}",
                    m.value_type
                ),
            ));
        }
    }
    Ok(())
}

pub(super) fn typed_tag(cx: &Cx<'_>, meta: &ProjectMeta, t: &RawTag<'_>) -> Result<Tag> {
    let Some(tm) = meta.tag_meta(t.name) else {
        return Err(cx.err(
            &t.loc,
            format!("tag {:?} is not declared in the project meta", t.name),
        ));
    };
    let value = match (&tm.value_type, t.value) {
        (TagValueType::None, None) => TagValue::None,
        (TagValueType::Number, Some(Value::Number(n))) => TagValue::Number(
            n.as_f64()
                .ok_or_else(|| cx.err(&t.loc, "number out of range"))?,
        ),
        (TagValueType::Text, Some(Value::String(s))) => TagValue::Text(s.clone()),
        (TagValueType::OneOf(allowed), Some(Value::String(s))) => {
            if !allowed.contains(s) {
                return Err(cx.err(&t.loc, format!("value {s:?} is not one of {allowed:?}")));
            }
            TagValue::OneOf(s.clone())
        }
        (vt, v) => {
            return Err(cx.err(
                &t.loc,
                format!(
                    "value {} does not fit the tag's value type {vt:?}",
                    v.map_or_else(|| "(none)".to_owned(), short)
                ),
            ));
        }
    };
    Ok(Tag::new(t.name, value))
}

pub(super) fn tag_to_value(t: &Tag) -> Value {
    let mut m = Map::new();
    m.insert("name".into(), json!(t.name));
    match &t.value {
        TagValue::None => {}
        TagValue::Number(n) => {
            m.insert("value".into(), json!(n));
        }
        TagValue::Text(s) | TagValue::OneOf(s) => {
            m.insert("value".into(), json!(s));
        }
    }
    Value::Object(m)
}
