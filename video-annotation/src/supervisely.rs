//! Supervisely's JSON formats: project `meta.json`, video annotations (read) and image
//! annotations (write, and read back).
//!
//! Every reader takes a `source_name` (usually the file name) that errors repeat, and reports
//! malformed input as [`Error::Annotation`] naming the member, object, frame and figure, for
//! example `clip.mp4.json: frames[2] (index 12) / figures[0] (key "f7"): objectKey "x" names no
//! object`.
//!
//! # Video annotations
//!
//! Read: `size` (`width`, `height`), `framesCount` (optional), `tags` (optional; each with
//! `name`, `value`, optional inclusive `frameRange: [first, last]`), `objects` (`key`,
//! `classTitle`, optional `tags`), `frames` (`index`, `figures`: `key`, `objectKey`,
//! `geometryType`, `geometry`, optional `trackId` given as a string or a number). Geometry
//! types: `rectangle`, `polygon`, `line`, `point` (from `points.exterior`/`points.interior`) and
//! `bitmap` (`bitmap.data`, `bitmap.origin`). Other members are ignored.
//!
//! With a project meta, every class and tag must be declared there, geometry must fit the
//! class's shape and tag values their type. Without one, the meta is inferred: classes in order
//! of first use with the shape their figures have (`any_shape` when they differ or there are
//! none) and no colour; tag metas with `none`, `any_number` or `any_string` from their values.
//!
//! # Image annotations
//!
//! Written as Supervisely's image annotation (`size`, `tags`, `objects` with `classTitle`,
//! `geometryType`, `points` or `bitmap`, and `tags`), named after the image
//! ([`annotation_file_name`]), to be uploaded with the images project's meta
//! ([`meta_to_value`] of [`ProjectMeta::for_images`]). Coordinates are rounded to whole pixels,
//! as Supervisely stores them; a rectangle is written as its top-left and bottom-right pixels.

use std::collections::{HashMap, HashSet};
use std::io::{Read, Write};

use serde_json::{Map, Value, json};

use crate::mask_png::{self, MaskError};
use crate::model::{
    Figure, FrameRange, Geometry, ImageAnnotation, ImageSize, Label, ObjectClass, Point,
    ProjectMeta, Shape, Tag, TagMeta, TagValue, TagValueType, VideoAnnotation, VideoObject,
    VideoTag,
};
use video_core::{Error, Result};

/// The file name of the annotation of image `image_file_name`: `clip_000042.png` →
/// `clip_000042.png.json` (Supervisely's convention).
pub fn annotation_file_name(image_file_name: &str) -> String {
    format!("{image_file_name}.json")
}

/// Supervisely's name of a shape (`line` for [`Shape::Polyline`], `any_shape` for
/// [`Shape::Any`]).
pub fn shape_name(shape: Shape) -> &'static str {
    match shape {
        Shape::Rectangle => "rectangle",
        Shape::Polygon => "polygon",
        Shape::Polyline => "line",
        Shape::Point => "point",
        Shape::Bitmap => "bitmap",
        Shape::Any => "any_shape",
    }
}

fn shape_from_name(name: &str) -> Option<Shape> {
    Some(match name {
        "rectangle" => Shape::Rectangle,
        "polygon" => Shape::Polygon,
        "line" => Shape::Polyline,
        "point" => Shape::Point,
        "bitmap" => Shape::Bitmap,
        "any_shape" => Shape::Any,
        _ => return None,
    })
}

/// Where errors come from: the document's name.
struct Cx<'a> {
    source: &'a str,
}

impl Cx<'_> {
    fn err(&self, location: &str, reason: impl Into<String>) -> Error {
        Error::Annotation {
            source_name: self.source.to_owned(),
            location: location.to_owned(),
            reason: reason.into(),
            source: None,
        }
    }

    fn object<'v>(&self, v: &'v Value, loc: &str) -> Result<&'v Map<String, Value>> {
        v.as_object()
            .ok_or_else(|| self.err(loc, format!("expected an object, found {}", kind(v))))
    }

    fn field<'v>(&self, m: &'v Map<String, Value>, name: &str, loc: &str) -> Result<&'v Value> {
        m.get(name)
            .ok_or_else(|| self.err(loc, format!("missing field `{name}`")))
    }

    fn string<'v>(&self, m: &'v Map<String, Value>, name: &str, loc: &str) -> Result<&'v str> {
        let v = self.field(m, name, loc)?;
        v.as_str().ok_or_else(|| {
            self.err(
                loc,
                format!("field `{name}` must be a string, found {}", kind(v)),
            )
        })
    }

    fn uint(&self, m: &Map<String, Value>, name: &str, loc: &str) -> Result<u64> {
        let v = self.field(m, name, loc)?;
        v.as_u64().ok_or_else(|| {
            self.err(
                loc,
                format!(
                    "field `{name}` must be a whole number >= 0, found {}",
                    short(v)
                ),
            )
        })
    }

    fn array<'v>(&self, m: &'v Map<String, Value>, name: &str, loc: &str) -> Result<&'v [Value]> {
        let v = self.field(m, name, loc)?;
        self.as_array(v, name, loc)
    }

    fn as_array<'v>(&self, v: &'v Value, name: &str, loc: &str) -> Result<&'v [Value]> {
        v.as_array().map(Vec::as_slice).ok_or_else(|| {
            self.err(
                loc,
                format!("field `{name}` must be an array, found {}", kind(v)),
            )
        })
    }

    /// An optional array: missing or `null` is empty.
    fn opt_array<'v>(
        &self,
        m: &'v Map<String, Value>,
        name: &str,
        loc: &str,
    ) -> Result<&'v [Value]> {
        match m.get(name) {
            None | Some(Value::Null) => Ok(&[]),
            Some(v) => self.as_array(v, name, loc),
        }
    }

    fn size(&self, root: &Map<String, Value>) -> Result<ImageSize> {
        let size = self.object(self.field(root, "size", "")?, "size")?;
        let dim = |name| -> Result<u32> {
            let v = self.uint(size, name, "size")?;
            u32::try_from(v).map_err(|_| self.err("size", format!("`{name}` {v} is too large")))
        };
        Ok(ImageSize::new(dim("width")?, dim("height")?))
    }
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// A value for a message: short ones in full, long ones by kind.
fn short(v: &Value) -> String {
    let s = v.to_string();
    if s.len() <= 40 { s } else { kind(v).to_owned() }
}

fn join(a: &str, b: &str) -> String {
    if a.is_empty() {
        b.to_owned()
    } else {
        format!("{a} / {b}")
    }
}

fn parse_json(cx: &Cx<'_>, text: &str) -> Result<Value> {
    serde_json::from_str(text).map_err(|e| Error::Annotation {
        source_name: cx.source.to_owned(),
        location: format!("line {} column {}", e.line(), e.column()),
        reason: "not valid JSON".into(),
        source: Some(Box::new(e)),
    })
}

fn read_json(cx: &Cx<'_>, reader: impl Read) -> Result<Value> {
    serde_json::from_reader(reader).map_err(|e| Error::Annotation {
        source_name: cx.source.to_owned(),
        location: format!("line {} column {}", e.line(), e.column()),
        reason: if e.is_io() {
            "could not be read".into()
        } else {
            "not valid JSON".into()
        },
        source: Some(Box::new(e)),
    })
}

// ---------------------------------------------------------------------------------------------
// Project meta

/// Parse a project `meta.json`.
///
/// # Errors
/// [`Error::Annotation`] for invalid JSON, a missing or mistyped member, an unknown shape or
/// value type, or a name declared twice.
pub fn parse_meta(source_name: &str, text: &str) -> Result<ProjectMeta> {
    let cx = Cx {
        source: source_name,
    };
    meta_from_value(source_name, &parse_json(&cx, text)?)
}

/// Read a project `meta.json` from a reader. Errors as [`parse_meta`].
///
/// # Errors
/// As [`parse_meta`], and [`Error::Annotation`] when the reader fails.
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

fn opt_string(
    cx: &Cx<'_>,
    m: &Map<String, Value>,
    name: &str,
    loc: &str,
) -> Result<Option<String>> {
    match m.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(v) => Err(cx.err(
            loc,
            format!("field `{name}` must be a string, found {}", kind(v)),
        )),
    }
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

// ---------------------------------------------------------------------------------------------
// Tags

/// A tag as read, before its value is typed.
struct RawTag<'v> {
    name: &'v str,
    value: Option<&'v Value>,
    frames: Option<FrameRange>,
    loc: String,
}

fn raw_tags<'v>(
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

fn inferred_type(v: Option<&Value>) -> Option<TagValueType> {
    match v {
        None => Some(TagValueType::None),
        Some(Value::Number(_)) => Some(TagValueType::Number),
        Some(Value::String(_)) => Some(TagValueType::Text),
        Some(_) => None,
    }
}

/// Add the tag meta a raw tag implies, or check it agrees with the one already inferred.
fn infer_tag(cx: &Cx<'_>, meta: &mut ProjectMeta, t: &RawTag<'_>) -> Result<()> {
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

fn typed_tag(cx: &Cx<'_>, meta: &ProjectMeta, t: &RawTag<'_>) -> Result<Tag> {
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

fn tag_to_value(t: &Tag) -> Value {
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

// ---------------------------------------------------------------------------------------------
// Geometry

fn point(cx: &Cx<'_>, v: &Value, loc: &str) -> Result<Point> {
    let xy = v.as_array().and_then(|a| match a.as_slice() {
        [x, y] => Some((x.as_f64()?, y.as_f64()?)),
        _ => None,
    });
    match xy {
        Some((x, y)) if x.is_finite() && y.is_finite() => Ok(Point::new(x, y)),
        _ => Err(cx.err(loc, format!("a point must be [x, y], found {}", short(v)))),
    }
}

fn ring(cx: &Cx<'_>, v: &Value, name: &str, loc: &str) -> Result<Vec<Point>> {
    cx.as_array(v, name, loc)?
        .iter()
        .enumerate()
        .map(|(i, p)| point(cx, p, &format!("{loc} / {name}[{i}]")))
        .collect()
}

/// Geometry of `geometry_type` from the members holding it (`points` or `bitmap`).
fn geometry(
    cx: &Cx<'_>,
    geometry_type: &str,
    g: &Map<String, Value>,
    loc: &str,
) -> Result<Geometry> {
    let points = |cx: &Cx<'_>| -> Result<(Vec<Point>, Vec<Vec<Point>>)> {
        let p = cx.object(cx.field(g, "points", loc)?, &join(loc, "points"))?;
        let ploc = join(loc, "points");
        let exterior = ring(cx, cx.field(p, "exterior", &ploc)?, "exterior", &ploc)?;
        let interior = cx
            .opt_array(p, "interior", &ploc)?
            .iter()
            .enumerate()
            .map(|(i, r)| ring(cx, r, &format!("interior[{i}]"), &ploc))
            .collect::<Result<Vec<_>>>()?;
        Ok((exterior, interior))
    };
    let need = |what: &str, n: usize, ok: bool| -> Result<()> {
        if ok {
            Ok(())
        } else {
            Err(cx.err(
                loc,
                format!("a {geometry_type} needs {what} exterior points, found {n}"),
            ))
        }
    };
    Ok(match geometry_type {
        "rectangle" => {
            let (e, _) = points(cx)?;
            need("2", e.len(), e.len() == 2)?;
            Geometry::Rectangle {
                left: e[0].x.min(e[1].x),
                top: e[0].y.min(e[1].y),
                right: e[0].x.max(e[1].x),
                bottom: e[0].y.max(e[1].y),
            }
        }
        "polygon" => {
            let (exterior, interiors) = points(cx)?;
            need("at least 3", exterior.len(), exterior.len() >= 3)?;
            Geometry::Polygon {
                exterior,
                interiors,
            }
        }
        "line" => {
            let (points, _) = points(cx)?;
            need("at least 2", points.len(), points.len() >= 2)?;
            Geometry::Polyline { points }
        }
        "point" => {
            let (e, _) = points(cx)?;
            need("1", e.len(), e.len() == 1)?;
            Geometry::Point {
                x: e[0].x,
                y: e[0].y,
            }
        }
        "bitmap" => {
            let bloc = join(loc, "bitmap");
            let b = cx.object(cx.field(g, "bitmap", loc)?, &bloc)?;
            let data = cx.string(b, "data", &bloc)?;
            let origin = cx.field(b, "origin", &bloc)?;
            let (ox, oy) = origin
                .as_array()
                .and_then(|a| match a.as_slice() {
                    [x, y] => Some((x.as_i64()?, y.as_i64()?)),
                    _ => None,
                })
                .ok_or_else(|| {
                    cx.err(
                        &bloc,
                        format!(
                            "`origin` must be [x, y] whole numbers, found {}",
                            short(origin)
                        ),
                    )
                })?;
            let mask = mask_png::decode(data).map_err(|e| match e {
                MaskError::Bad(reason, source) => Error::Annotation {
                    source_name: cx.source.to_owned(),
                    location: bloc.clone(),
                    reason: reason.to_owned(),
                    source,
                },
                MaskError::TooLarge => Error::LimitExceeded {
                    what: format!("{}: {bloc}: decompressed bitmap bytes", cx.source),
                    limit: mask_png::MAX_COMPRESSED_PNG,
                    actual: mask_png::MAX_COMPRESSED_PNG + 1,
                },
                MaskError::TooManyPixels(pixels) => Error::LimitExceeded {
                    what: format!("{}: {bloc}: bitmap pixels (width × height)", cx.source),
                    limit: mask_png::MAX_MASK_PIXELS,
                    actual: pixels,
                },
            })?;
            Geometry::Bitmap {
                origin_x: ox,
                origin_y: oy,
                mask,
            }
        }
        other => return Err(cx.err(loc, format!("unknown geometry type {other:?}"))),
    })
}

/// The geometry members of an image object: `points` or `bitmap`, coordinates rounded.
fn geometry_to_members(
    g: &Geometry,
    m: &mut Map<String, Value>,
) -> std::result::Result<(), String> {
    let r = |v: f64| -> std::result::Result<i64, String> {
        if v.is_finite() {
            Ok(v.round() as i64)
        } else {
            Err(format!("coordinate {v} is not finite"))
        }
    };
    let pts = |ps: &[Point]| -> std::result::Result<Value, String> {
        Ok(Value::Array(
            ps.iter()
                .map(|p| Ok(json!([r(p.x)?, r(p.y)?])))
                .collect::<std::result::Result<Vec<_>, String>>()?,
        ))
    };
    let (exterior, interior) = match g {
        &Geometry::Rectangle {
            left,
            top,
            right,
            bottom,
        } => (
            json!([[r(left)?, r(top)?], [r(right)?, r(bottom)?]]),
            json!([]),
        ),
        Geometry::Polygon {
            exterior,
            interiors,
        } => (
            pts(exterior)?,
            Value::Array(
                interiors
                    .iter()
                    .map(|i| pts(i))
                    .collect::<std::result::Result<_, _>>()?,
            ),
        ),
        Geometry::Polyline { points } => (pts(points)?, json!([])),
        &Geometry::Point { x, y } => (json!([[r(x)?, r(y)?]]), json!([])),
        Geometry::Bitmap {
            origin_x,
            origin_y,
            mask,
        } => {
            let data =
                mask_png::encode(mask).map_err(|e| format!("bitmap could not be encoded: {e}"))?;
            m.insert(
                "bitmap".into(),
                json!({ "data": data, "origin": [origin_x, origin_y] }),
            );
            return Ok(());
        }
    };
    m.insert(
        "points".into(),
        json!({ "exterior": exterior, "interior": interior }),
    );
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Video annotations

/// Parse a Supervisely video annotation (`VIDEO.json`). With `meta`, classes and tags are
/// checked against it; without, they are inferred (see [the module docs](self)).
///
/// # Errors
/// [`Error::Annotation`] naming the place for invalid JSON, missing or mistyped members, an
/// unknown geometry type, a figure naming an unknown object, a frame index past `framesCount`,
/// an object key used twice, and (with a meta) an undeclared class or tag, geometry that does
/// not fit the class or a value that does not fit the tag; [`Error::LimitExceeded`] naming the
/// file and the figure for a bitmap that decompresses to more than 64 MiB or whose PNG declares
/// more than 2²⁶ pixels (8192 × 8192).
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
/// As [`parse_video_annotation`], and [`Error::Annotation`] when the reader fails.
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

// ---------------------------------------------------------------------------------------------
// Image annotations

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
/// [`TagValue::Text`]).
///
/// # Errors
/// [`Error::Annotation`] naming the place for invalid JSON, missing or mistyped members, an
/// unknown geometry type and (with a meta) an undeclared class or tag or a value that does not
/// fit; [`Error::LimitExceeded`] for a bitmap over the limits of [`parse_video_annotation`].
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
    use crate::Mask;

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

    fn meta() -> Value {
        json!({
            "classes": [
                {"title": "car", "shape": "rectangle", "color": "#FF0000"},
                {"title": "person", "shape": "point", "color": "#00FF00"}
            ],
            "tags": [
                {"name": "night", "value_type": "none", "color": "#000000"},
                {"name": "color", "value_type": "oneof_string", "values": ["red", "blue"]}
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
