//! Moving geometry onto the output image: rotation, resizing and clipping.

use serde::{Deserialize, Serialize};

use crate::model::{Geometry, ImageSize, Mask, Point};
use video_core::{Error, Result};

/// A clockwise rotation by a multiple of 90°, as a decoder applies a video's display rotation.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[non_exhaustive]
pub enum Rotation {
    /// No rotation.
    #[default]
    None,
    /// 90° clockwise.
    Cw90,
    /// 180°.
    Cw180,
    /// 270° clockwise (90° counter-clockwise).
    Cw270,
}

impl Rotation {
    /// The rotation of `degrees` clockwise (0, 90, 180 or 270, as
    /// [`VideoMetadata::rotation`](video_core::VideoMetadata::rotation) holds it).
    ///
    /// # Errors
    /// [`Error::Unsupported`] for any other angle.
    pub fn from_degrees(degrees: u32) -> Result<Self> {
        match degrees {
            0 => Ok(Rotation::None),
            90 => Ok(Rotation::Cw90),
            180 => Ok(Rotation::Cw180),
            270 => Ok(Rotation::Cw270),
            d => Err(Error::Unsupported {
                uri: "geometry transform".into(),
                reason: format!("rotation by {d} degrees (only 0, 90, 180 and 270)"),
            }),
        }
    }

    /// The angle in degrees, clockwise.
    pub fn degrees(self) -> u32 {
        match self {
            Rotation::None => 0,
            Rotation::Cw90 => 90,
            Rotation::Cw180 => 180,
            Rotation::Cw270 => 270,
        }
    }

    /// The size an image of `size` has after this rotation.
    pub fn rotate_size(self, size: ImageSize) -> ImageSize {
        match self {
            Rotation::Cw90 | Rotation::Cw270 => size.transposed(),
            Rotation::None | Rotation::Cw180 => size,
        }
    }

    /// Where pixel coordinates `(x, y)` of an image of `size` land after this rotation.
    fn rotate_point(self, size: ImageSize, x: f64, y: f64) -> (f64, f64) {
        let (w1, h1) = (f64::from(size.width) - 1.0, f64::from(size.height) - 1.0);
        match self {
            Rotation::None => (x, y),
            Rotation::Cw90 => (h1 - y, x),
            Rotation::Cw180 => (w1 - x, h1 - y),
            Rotation::Cw270 => (y, w1 - x),
        }
    }
}

/// How annotation coordinates become coordinates on the output image.
///
/// The annotation's coordinates refer to an image of the *source* size. They are first rotated
/// when they are in the video's *stored* orientation and the decoder rotates frames for display
/// ([`with_stored_rotation`](Self::with_stored_rotation)), then scaled to the output size, then
/// clipped to the output image. The rules are those of [the module docs](super#geometry-follows-the-image).
///
/// Supervisely's annotation tool shows (and its annotations use) the displayed orientation, so
/// for its annotations the source size is the displayed size and no rotation is applied: a
/// rotated video only means its width and height are already swapped.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct GeometryTransform {
    source: ImageSize,
    rotation: Rotation,
    output: ImageSize,
}

impl GeometryTransform {
    /// No change: coordinates are in display orientation and the output has the same size
    /// (geometry is still clipped to the image).
    pub fn identity(size: ImageSize) -> Self {
        GeometryTransform {
            source: size,
            rotation: Rotation::None,
            output: size,
        }
    }

    /// Coordinates in display orientation on an image of `source` size, scaled to an output
    /// image of `output` size.
    ///
    /// # Errors
    /// [`Error::InvalidOption`] (option `size`) when a size has a zero side.
    pub fn resize(source: ImageSize, output: ImageSize) -> Result<Self> {
        for (what, s) in [("source", source), ("output", output)] {
            if s.width == 0 || s.height == 0 {
                return Err(Error::InvalidOption {
                    option: "size".into(),
                    reason: format!(
                        "geometry transform: {what} size {}x{} has a zero side",
                        s.width, s.height
                    ),
                });
            }
        }
        Ok(GeometryTransform {
            source,
            rotation: Rotation::None,
            output,
        })
    }

    /// Say that the coordinates are in the video's *stored* orientation (the source size is
    /// then the stored size) and that the decoder rotates frames by `rotation` clockwise: the
    /// geometry is rotated the same way before it is scaled. The output size is in display
    /// orientation. Default: [`Rotation::None`] (coordinates in display orientation).
    #[must_use]
    pub fn with_stored_rotation(mut self, rotation: Rotation) -> Self {
        self.rotation = rotation;
        self
    }

    /// The size the annotation's coordinates refer to.
    pub fn source_size(&self) -> ImageSize {
        self.source
    }

    /// The rotation applied to stored-orientation coordinates.
    pub fn rotation(&self) -> Rotation {
        self.rotation
    }

    /// The output image's size.
    pub fn output_size(&self) -> ImageSize {
        self.output
    }

    /// Horizontal and vertical scale factors from the rotated source to the output.
    fn scale(&self) -> (f64, f64) {
        let d = self.rotation.rotate_size(self.source);
        (
            f64::from(self.output.width) / f64::from(d.width.max(1)),
            f64::from(self.output.height) / f64::from(d.height.max(1)),
        )
    }

    /// Map one point: rotate, then scale pixel centres.
    pub fn map_point(&self, p: Point) -> Point {
        let (x, y) = self.rotation.rotate_point(self.source, p.x, p.y);
        let (sx, sy) = self.scale();
        Point::new((x + 0.5) * sx - 0.5, (y + 0.5) * sy - 0.5)
    }

    /// The geometry on the output image: transformed and clipped. Empty when nothing of it
    /// lies on the image or what is left is degenerate; more than one polyline when clipping
    /// cuts a polyline into pieces.
    pub fn apply(&self, geometry: &Geometry) -> Vec<Geometry> {
        let out = self.output;
        if out.width == 0 || out.height == 0 {
            return Vec::new();
        }
        match geometry {
            &Geometry::Rectangle {
                left,
                top,
                right,
                bottom,
            } => {
                let a = self.map_point(Point::new(left, top));
                let b = self.map_point(Point::new(right, bottom));
                if ![a.x, a.y, b.x, b.y].iter().all(|v| v.is_finite()) {
                    return Vec::new();
                }
                clip_rectangle(out, a.x.min(b.x), a.y.min(b.y), a.x.max(b.x), a.y.max(b.y))
                    .into_iter()
                    .collect()
            }
            &Geometry::Point { x, y } => {
                let p = self.map_point(Point::new(x, y));
                clip_point(out, p).into_iter().collect()
            }
            Geometry::Polygon {
                exterior,
                interiors,
            } => {
                let map = |ring: &[Point]| -> Vec<Point> {
                    ring.iter().map(|&p| self.map_point(p)).collect()
                };
                let Some(exterior) = clip_ring(out, &map(exterior)) else {
                    return Vec::new();
                };
                let interiors = interiors
                    .iter()
                    .filter_map(|r| clip_ring(out, &map(r)))
                    .collect();
                vec![Geometry::Polygon {
                    exterior,
                    interiors,
                }]
            }
            Geometry::Polyline { points } => {
                let pts: Vec<Point> = points.iter().map(|&p| self.map_point(p)).collect();
                clip_polyline(out, &pts)
                    .into_iter()
                    .map(|points| Geometry::Polyline { points })
                    .collect()
            }
            Geometry::Bitmap {
                origin_x,
                origin_y,
                mask,
            } => self
                .map_bitmap(*origin_x, *origin_y, mask)
                .into_iter()
                .collect(),
        }
    }

    /// Rotate, scale (nearest neighbour on pixel centres), clip to the output and trim a mask.
    fn map_bitmap(&self, ox: i64, oy: i64, mask: &Mask) -> Option<Geometry> {
        // Rotate exactly, pixel by pixel.
        let (rx, ry, rotated) = if self.rotation == Rotation::None {
            (ox, oy, mask.clone())
        } else {
            let (w, h) = match self.rotation {
                Rotation::Cw90 | Rotation::Cw270 => (mask.height(), mask.width()),
                _ => (mask.width(), mask.height()),
            };
            // The rotated position of the mask's corners gives its new origin.
            let corners = [
                (ox, oy),
                (
                    ox.saturating_add(i64::from(mask.width()) - 1),
                    oy.saturating_add(i64::from(mask.height()) - 1),
                ),
            ]
            .map(|(x, y)| self.rotation.rotate_point(self.source, x as f64, y as f64));
            let nx = corners[0].0.min(corners[1].0) as i64;
            let ny = corners[0].1.min(corners[1].1) as i64;
            let (mw, mh) = (mask.width(), mask.height());
            let m = Mask::from_fn(w, h, |u, v| {
                let (sx, sy) = match self.rotation {
                    Rotation::Cw90 => (v, mh - 1 - u),
                    Rotation::Cw180 => (mw - 1 - u, mh - 1 - v),
                    _ => (mw - 1 - v, u),
                };
                mask.get(sx, sy)
            });
            (nx, ny, m)
        };
        // Scale: output pixel u is set when the source pixel under its centre is set.
        let (sx, sy) = self.scale();
        let span = |o: i64, len: u32, s: f64, limit: u32| -> (i64, i64) {
            let a = (o as f64 * s - 0.5).ceil() as i64;
            let b = ((o as f64 + f64::from(len)) * s - 0.5).ceil() as i64;
            (a.max(0), b.min(i64::from(limit)))
        };
        let (u0, u1) = span(rx, rotated.width(), sx, self.output.width);
        let (v0, v1) = span(ry, rotated.height(), sy, self.output.height);
        if u0 >= u1 || v0 >= v1 {
            return None;
        }
        let src = |u: i64, o: i64, s: f64, len: u32| -> u32 {
            let p = (((u as f64 + 0.5) / s).floor() as i64)
                .saturating_sub(o)
                .clamp(0, i64::from(len) - 1);
            p as u32
        };
        let scaled = Mask::from_fn((u1 - u0) as u32, (v1 - v0) as u32, |u, v| {
            rotated.get(
                src(u0 + i64::from(u), rx, sx, rotated.width()),
                src(v0 + i64::from(v), ry, sy, rotated.height()),
            )
        });
        let (x0, y0, x1, y1) = scaled.bounds()?;
        Some(Geometry::Bitmap {
            origin_x: u0 + i64::from(x0),
            origin_y: v0 + i64::from(y0),
            mask: scaled.crop(x0, y0, x1, y1),
        })
    }
}

/// The largest coordinate of a pixel centre along a side of `len` pixels.
fn max_of(len: u32) -> f64 {
    f64::from(len) - 1.0
}

/// Clamp a rectangle into the image; `None` when it does not reach the image's pixels.
fn clip_rectangle(size: ImageSize, l: f64, t: f64, r: f64, b: f64) -> Option<Geometry> {
    let (wm, hm) = (max_of(size.width), max_of(size.height));
    if r < -0.5 || b < -0.5 || l > wm + 0.5 || t > hm + 0.5 {
        return None;
    }
    Some(Geometry::Rectangle {
        left: l.clamp(0.0, wm),
        top: t.clamp(0.0, hm),
        right: r.clamp(0.0, wm),
        bottom: b.clamp(0.0, hm),
    })
}

/// Keep a point that lies on one of the image's pixels, moved to the nearest pixel centre
/// inside when it is within half a pixel of the edge.
fn clip_point(size: ImageSize, p: Point) -> Option<Geometry> {
    let (wm, hm) = (max_of(size.width), max_of(size.height));
    let inside = |v: f64, m: f64| v.is_finite() && (-0.5..=m + 0.5).contains(&v);
    (inside(p.x, wm) && inside(p.y, hm)).then(|| Geometry::Point {
        x: p.x.clamp(0.0, wm),
        y: p.y.clamp(0.0, hm),
    })
}

/// Twice the signed area of a ring (shoelace).
pub(crate) fn ring_area2(ring: &[Point]) -> f64 {
    let n = ring.len();
    (0..n)
        .map(|i| {
            let (a, b) = (ring[i], ring[(i + 1) % n]);
            a.x * b.y - b.x * a.y
        })
        .sum()
}

/// Clip a closed ring to the rectangle of pixel centres `[0, w-1] × [0, h-1]`
/// (Sutherland–Hodgman). `None` when fewer than three distinct vertices or no area remain.
fn clip_ring(size: ImageSize, ring: &[Point]) -> Option<Vec<Point>> {
    if ring.iter().any(|p| !(p.x.is_finite() && p.y.is_finite())) {
        return None;
    }
    let (wm, hm) = (max_of(size.width), max_of(size.height));
    // Each edge: inside test and intersection with the boundary line.
    type Inside = fn(Point, f64) -> bool;
    type Cut = fn(Point, Point, f64) -> Point;
    let lerp_x = |a: Point, b: Point, x: f64| {
        let t = (x - a.x) / (b.x - a.x);
        Point::new(x, a.y + t * (b.y - a.y))
    };
    let lerp_y = |a: Point, b: Point, y: f64| {
        let t = (y - a.y) / (b.y - a.y);
        Point::new(a.x + t * (b.x - a.x), y)
    };
    let edges: [(Inside, Cut, f64); 4] = [
        (|p, v| p.x >= v, lerp_x, 0.0),
        (|p, v| p.x <= v, lerp_x, wm),
        (|p, v| p.y >= v, lerp_y, 0.0),
        (|p, v| p.y <= v, lerp_y, hm),
    ];
    let mut pts = ring.to_vec();
    for (inside, cut, v) in edges {
        if pts.is_empty() {
            break;
        }
        let mut next = Vec::with_capacity(pts.len() + 4);
        for i in 0..pts.len() {
            let cur = pts[i];
            let prev = pts[(i + pts.len() - 1) % pts.len()];
            match (inside(prev, v), inside(cur, v)) {
                (true, true) => next.push(cur),
                (true, false) => next.push(cut(prev, cur, v)),
                (false, true) => {
                    next.push(cut(prev, cur, v));
                    next.push(cur);
                }
                (false, false) => {}
            }
        }
        pts = next;
    }
    // Cut points lie on the boundary; far-away vertices make the float intersection miss it by
    // more than the image (a vertex at 1e17 is 16 units from the next float), so clamp.
    for p in &mut pts {
        *p = Point::new(p.x.clamp(0.0, wm), p.y.clamp(0.0, hm));
    }
    pts.dedup();
    while pts.len() > 1 && pts.first() == pts.last() {
        pts.pop();
    }
    (pts.len() >= 3 && ring_area2(&pts).abs() > 1e-9).then_some(pts)
}

/// Clip a polyline to the rectangle of pixel centres (Liang–Barsky per segment). Returns the
/// pieces that stay on the image, each with at least two distinct points.
fn clip_polyline(size: ImageSize, pts: &[Point]) -> Vec<Vec<Point>> {
    let (wm, hm) = (max_of(size.width), max_of(size.height));
    let mut pieces: Vec<Vec<Point>> = Vec::new();
    let mut current: Vec<Point> = Vec::new();
    let mut flush = |current: &mut Vec<Point>| {
        current.dedup();
        if current.len() >= 2 {
            pieces.push(std::mem::take(current));
        } else {
            current.clear();
        }
    };
    for seg in pts.windows(2) {
        let (a, b) = (seg[0], seg[1]);
        match clip_segment(a, b, wm, hm) {
            Some((p, q, cut_end)) => {
                if current.last() != Some(&p) {
                    flush(&mut current);
                    current.push(p);
                }
                current.push(q);
                if cut_end {
                    flush(&mut current);
                }
            }
            None => flush(&mut current),
        }
    }
    flush(&mut current);
    pieces
}

/// The part of segment `a`–`b` inside `[0, wm] × [0, hm]`, and whether `b` itself was cut off.
fn clip_segment(a: Point, b: Point, wm: f64, hm: f64) -> Option<(Point, Point, bool)> {
    if ![a.x, a.y, b.x, b.y].iter().all(|v| v.is_finite()) {
        return None;
    }
    let (dx, dy) = (b.x - a.x, b.y - a.y);
    let (mut t0, mut t1) = (0.0f64, 1.0f64);
    for (p, q) in [(-dx, a.x), (dx, wm - a.x), (-dy, a.y), (dy, hm - a.y)] {
        if p == 0.0 {
            if q < 0.0 {
                return None;
            }
        } else {
            let r = q / p;
            if p < 0.0 {
                t0 = t0.max(r);
            } else {
                t1 = t1.min(r);
            }
        }
    }
    if t0 > t1 {
        return None;
    }
    // Inside up to float error, which is large for far-away points (the parameter of an edge
    // 40 units from the end of a 10¹⁷-long segment rounds to 1): clamp.
    let at = |t: f64| {
        let p = if t == 0.0 {
            a
        } else if t == 1.0 {
            b
        } else {
            Point::new(a.x + t * dx, a.y + t * dy)
        };
        Point::new(p.x.clamp(0.0, wm), p.y.clamp(0.0, hm))
    };
    Some((at(t0), at(t1), t1 < 1.0))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn size(w: u32, h: u32) -> ImageSize {
        ImageSize::new(w, h)
    }

    fn rect(l: f64, t: f64, r: f64, b: f64) -> Geometry {
        Geometry::Rectangle {
            left: l,
            top: t,
            right: r,
            bottom: b,
        }
    }

    fn pts(v: &[(f64, f64)]) -> Vec<Point> {
        v.iter().map(|&(x, y)| Point::new(x, y)).collect()
    }

    #[test]
    fn identity_keeps_geometry_inside() {
        let t = GeometryTransform::identity(size(100, 50));
        let g = rect(10.0, 5.0, 20.0, 45.0);
        assert_eq!(t.apply(&g), vec![g.clone()]);
        let p = Geometry::Point { x: 99.0, y: 0.0 };
        assert_eq!(t.apply(&p), vec![p.clone()]);
    }

    #[test]
    fn resize_scales_pixel_centres() {
        // 200x100 -> 100x50: pixel x maps to (x + 0.5) / 2 - 0.5.
        let t = GeometryTransform::resize(size(200, 100), size(100, 50)).unwrap();
        assert_eq!(
            t.apply(&rect(10.5, 20.5, 50.5, 60.5)),
            vec![rect(5.0, 10.0, 25.0, 30.0)]
        );
        // Upscale x3 horizontally, x2 vertically: point (1, 1) -> (4, 2.5).
        let t = GeometryTransform::resize(size(10, 10), size(30, 20)).unwrap();
        assert_eq!(
            t.apply(&Geometry::Point { x: 1.0, y: 1.0 }),
            vec![Geometry::Point { x: 4.0, y: 2.5 }]
        );
        assert!(GeometryTransform::resize(size(0, 10), size(5, 5)).is_err());
    }

    #[test]
    fn rotations_of_stored_coordinates() {
        // Stored 4 wide, 3 high. Pixel (1, 0) (top row, second column).
        let s = size(4, 3);
        let p = Geometry::Point { x: 1.0, y: 0.0 };
        let on = |r: Rotation| {
            GeometryTransform::resize(s, r.rotate_size(s))
                .unwrap()
                .with_stored_rotation(r)
                .apply(&p)
        };
        // 90° clockwise: the top row becomes the right column; display is 3 x 4.
        assert_eq!(on(Rotation::Cw90), vec![Geometry::Point { x: 2.0, y: 1.0 }]);
        assert_eq!(
            on(Rotation::Cw180),
            vec![Geometry::Point { x: 2.0, y: 2.0 }]
        );
        // 270° clockwise: the top row becomes the left column, read bottom to top.
        assert_eq!(
            on(Rotation::Cw270),
            vec![Geometry::Point { x: 0.0, y: 2.0 }]
        );
        assert_eq!(on(Rotation::None), vec![p.clone()]);
        // A rectangle stays normalised.
        let r = GeometryTransform::resize(s, s.transposed())
            .unwrap()
            .with_stored_rotation(Rotation::Cw90)
            .apply(&rect(0.0, 0.0, 1.0, 2.0));
        assert_eq!(r, vec![rect(0.0, 0.0, 2.0, 1.0)]);
        assert_eq!(Rotation::from_degrees(270).unwrap(), Rotation::Cw270);
        assert!(Rotation::from_degrees(45).is_err());
    }

    #[test]
    fn rotation_then_resize() {
        // Stored 200x100, rotated 90° -> display 100x200, output 50x100 (half).
        let t = GeometryTransform::resize(size(200, 100), size(50, 100))
            .unwrap()
            .with_stored_rotation(Rotation::Cw90);
        // Stored (0.5, 98.5) -> display (99 - 98.5, 0.5) = (0.5, 0.5) -> half: (0.0, 0.0).
        assert_eq!(
            t.apply(&Geometry::Point { x: 0.5, y: 98.5 }),
            vec![Geometry::Point { x: 0.0, y: 0.0 }]
        );
    }

    #[test]
    fn bitmaps_rotate_exactly() {
        // An L: pixels (0,0), (0,1), (1,1) of a 2x2 mask at origin (1, 0) on a 4x3 image.
        let mask = Mask::from_fn(2, 2, |x, y| !(x == 1 && y == 0));
        let g = Geometry::Bitmap {
            origin_x: 1,
            origin_y: 0,
            mask,
        };
        let set = |g: &Geometry| -> Vec<(i64, i64)> {
            let Geometry::Bitmap {
                origin_x,
                origin_y,
                mask,
            } = g
            else {
                panic!("not a bitmap")
            };
            let mut v = Vec::new();
            for y in 0..mask.height() {
                for x in 0..mask.width() {
                    if mask.get(x, y) {
                        v.push((origin_x + i64::from(x), origin_y + i64::from(y)));
                    }
                }
            }
            v.sort();
            v
        };
        let s = size(4, 3);
        for r in [Rotation::Cw90, Rotation::Cw180, Rotation::Cw270] {
            let t = GeometryTransform::resize(s, r.rotate_size(s))
                .unwrap()
                .with_stored_rotation(r);
            let out = t.apply(&g);
            assert_eq!(out.len(), 1);
            // Every set pixel lands where the point rotation puts it.
            let mut want: Vec<(i64, i64)> = set(&g)
                .into_iter()
                .map(|(x, y)| {
                    let p = t.map_point(Point::new(x as f64, y as f64));
                    (p.x as i64, p.y as i64)
                })
                .collect();
            want.sort();
            assert_eq!(set(&out[0]), want, "{r:?}");
        }
        // Hand-checked for 90°: (1,0),(1,1),(2,1) -> (2,1),(1,1),(1,2).
        let t = GeometryTransform::resize(s, s.transposed())
            .unwrap()
            .with_stored_rotation(Rotation::Cw90);
        assert_eq!(set(&t.apply(&g)[0]), vec![(1, 1), (1, 2), (2, 1)]);
    }

    #[test]
    fn bitmaps_scale_by_nearest_pixel_and_clip() {
        // 2x2 block at (2, 2) on 8x8, doubled -> 4x4 block at (4, 4).
        let g = Geometry::Bitmap {
            origin_x: 2,
            origin_y: 2,
            mask: Mask::from_fn(2, 2, |_, _| true),
        };
        let t = GeometryTransform::resize(size(8, 8), size(16, 16)).unwrap();
        let out = t.apply(&g);
        let Geometry::Bitmap {
            origin_x,
            origin_y,
            mask,
        } = &out[0]
        else {
            panic!("not a bitmap")
        };
        assert_eq!(
            (*origin_x, *origin_y, mask.width(), mask.height()),
            (4, 4, 4, 4)
        );
        assert_eq!(mask.count(), 16);
        // Half outside on the left: cut, and trimmed to what is left.
        let g = Geometry::Bitmap {
            origin_x: -1,
            origin_y: 0,
            mask: Mask::from_fn(3, 1, |_, _| true),
        };
        let out = GeometryTransform::identity(size(8, 8)).apply(&g);
        assert!(
            matches!(&out[..], [Geometry::Bitmap { origin_x: 0, origin_y: 0, mask }] if mask.width() == 2)
        );
        // Entirely outside: dropped.
        let g = Geometry::Bitmap {
            origin_x: 9,
            origin_y: 0,
            mask: Mask::from_fn(1, 1, |_, _| true),
        };
        assert!(GeometryTransform::identity(size(8, 8)).apply(&g).is_empty());
    }

    #[test]
    fn rectangles_are_clamped_or_dropped() {
        let t = GeometryTransform::identity(size(100, 50));
        assert_eq!(
            t.apply(&rect(-20.0, -5.0, 120.0, 30.0)),
            vec![rect(0.0, 0.0, 99.0, 30.0)]
        );
        assert!(t.apply(&rect(100.0, 0.0, 130.0, 10.0)).is_empty());
        assert!(t.apply(&rect(-30.0, 0.0, -1.0, 10.0)).is_empty());
        assert!(t.apply(&rect(f64::NAN, 0.0, 1.0, 1.0)).is_empty());
    }

    #[test]
    fn points_outside_are_dropped_and_edge_points_snapped() {
        let t = GeometryTransform::identity(size(10, 10));
        assert!(t.apply(&Geometry::Point { x: -1.0, y: 5.0 }).is_empty());
        assert!(t.apply(&Geometry::Point { x: 5.0, y: 10.0 }).is_empty());
        assert_eq!(
            t.apply(&Geometry::Point { x: 9.4, y: -0.3 }),
            vec![Geometry::Point { x: 9.0, y: 0.0 }]
        );
    }

    #[test]
    fn polygons_are_clipped_or_dropped() {
        let t = GeometryTransform::identity(size(10, 10));
        // A triangle sticking out to the right is cut at x = 9.
        let tri = Geometry::Polygon {
            exterior: pts(&[(5.0, 0.0), (13.0, 4.0), (5.0, 8.0)]),
            interiors: vec![pts(&[(6.0, 3.0), (7.0, 3.0), (6.0, 4.0)])],
        };
        let out = t.apply(&tri);
        assert_eq!(
            out,
            vec![Geometry::Polygon {
                exterior: pts(&[(5.0, 0.0), (9.0, 2.0), (9.0, 6.0), (5.0, 8.0)]),
                interiors: vec![pts(&[(6.0, 3.0), (7.0, 3.0), (6.0, 4.0)])],
            }]
        );
        // Entirely outside, or a hole outside: dropped.
        let out = t.apply(&Geometry::Polygon {
            exterior: pts(&[(11.0, 0.0), (15.0, 0.0), (15.0, 5.0)]),
            interiors: vec![],
        });
        assert!(out.is_empty());
        let out = t.apply(&Geometry::Polygon {
            exterior: pts(&[(0.0, 0.0), (9.0, 0.0), (9.0, 9.0)]),
            interiors: vec![pts(&[(20.0, 0.0), (25.0, 0.0), (25.0, 5.0)])],
        });
        assert!(matches!(&out[..], [Geometry::Polygon { interiors, .. }] if interiors.is_empty()));
        // Degenerate (a line) after clipping: dropped.
        let out = t.apply(&Geometry::Polygon {
            exterior: pts(&[(-5.0, 0.0), (-1.0, 0.0), (-1.0, 5.0)]),
            interiors: vec![],
        });
        assert!(out.is_empty());
    }

    #[test]
    fn polylines_are_cut_into_pieces() {
        let t = GeometryTransform::identity(size(10, 10));
        // In, out across the right edge, back in.
        let line = Geometry::Polyline {
            points: pts(&[(1.0, 1.0), (5.0, 1.0), (13.0, 1.0), (13.0, 5.0), (5.0, 5.0)]),
        };
        assert_eq!(
            t.apply(&line),
            vec![
                Geometry::Polyline {
                    points: pts(&[(1.0, 1.0), (5.0, 1.0), (9.0, 1.0)])
                },
                Geometry::Polyline {
                    points: pts(&[(9.0, 5.0), (5.0, 5.0)])
                },
            ]
        );
        let outside = Geometry::Polyline {
            points: pts(&[(-3.0, -3.0), (-1.0, 20.0)]),
        };
        assert!(t.apply(&outside).is_empty());
    }
}
