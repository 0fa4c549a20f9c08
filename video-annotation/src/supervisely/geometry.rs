//! Supervisely geometry JSON (`points`, `bitmap`) to and from the model's [`Geometry`], and
//! Supervisely's shape names.

use serde_json::{Map, Value, json};

use super::context::{Cx, join, short};
use crate::mask_png::{self, MaskError};
use crate::model::{Geometry, Point, Shape};
use video_core::{Error, Result};

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

pub(super) fn shape_from_name(name: &str) -> Option<Shape> {
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

pub(super) fn point(cx: &Cx<'_>, v: &Value, loc: &str) -> Result<Point> {
    let xy = v.as_array().and_then(|a| match a.as_slice() {
        [x, y] => Some((x.as_f64()?, y.as_f64()?)),
        _ => None,
    });
    match xy {
        Some((x, y)) if x.is_finite() && y.is_finite() => Ok(Point::new(x, y)),
        _ => Err(cx.err(loc, format!("a point must be [x, y], found {}", short(v)))),
    }
}

pub(super) fn ring(cx: &Cx<'_>, v: &Value, name: &str, loc: &str) -> Result<Vec<Point>> {
    cx.as_array(v, name, loc)?
        .iter()
        .enumerate()
        .map(|(i, p)| point(cx, p, &format!("{loc} / {name}[{i}]")))
        .collect()
}

/// Geometry of `geometry_type` from the members holding it (`points` or `bitmap`).
pub(super) fn geometry(
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
pub(super) fn geometry_to_members(
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
