//! The format-neutral annotation model.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use video_core::{Error, Result};

/// Width and height of an image (or of a video's frames) in pixels.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ImageSize {
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
}

impl ImageSize {
    /// A size of `width` × `height` pixels.
    pub fn new(width: u32, height: u32) -> Self {
        ImageSize { width, height }
    }

    /// The size with width and height swapped (what a 90° or 270° rotation shows).
    pub fn transposed(self) -> Self {
        ImageSize {
            width: self.height,
            height: self.width,
        }
    }
}

/// A point in pixel coordinates: `x` to the right, `y` down, `(0, 0)` the centre of the top-left
/// pixel, so integer values name pixels (see [the module docs](super#coordinates)).
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Point {
    /// Column.
    pub x: f64,
    /// Row.
    pub y: f64,
}

impl Point {
    /// The point `(x, y)`.
    pub fn new(x: f64, y: f64) -> Self {
        Point { x, y }
    }
}

/// A binary mask of `width` × `height` pixels, row by row.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "MaskData", into = "MaskData")]
pub struct Mask {
    width: u32,
    height: u32,
    bits: Vec<bool>,
}

/// The serialised form of a [`Mask`]: rows of `0`/`1` characters.
#[derive(Serialize, Deserialize)]
struct MaskData {
    width: u32,
    height: u32,
    rows: Vec<String>,
}

impl TryFrom<MaskData> for Mask {
    type Error = String;

    fn try_from(d: MaskData) -> std::result::Result<Self, String> {
        if d.rows.len() != d.height as usize {
            return Err(format!(
                "mask has {} rows, expected {}",
                d.rows.len(),
                d.height
            ));
        }
        // Sized from the rows given, not from the declared width (which could be anything).
        let mut bits = Vec::with_capacity(d.rows.iter().map(String::len).sum());
        for (r, row) in d.rows.iter().enumerate() {
            if row.len() != d.width as usize {
                return Err(format!(
                    "mask row {r} has {} columns, expected {}",
                    row.len(),
                    d.width
                ));
            }
            for c in row.bytes() {
                match c {
                    b'0' => bits.push(false),
                    b'1' => bits.push(true),
                    _ => return Err(format!("mask row {r} holds a character other than 0 and 1")),
                }
            }
        }
        Ok(Mask {
            width: d.width,
            height: d.height,
            bits,
        })
    }
}

impl From<Mask> for MaskData {
    fn from(m: Mask) -> Self {
        let rows = m
            .bits
            .chunks(m.width.max(1) as usize)
            .take(m.height as usize)
            .map(|r| r.iter().map(|&b| if b { '1' } else { '0' }).collect())
            .collect();
        MaskData {
            width: m.width,
            height: m.height,
            rows,
        }
    }
}

impl std::fmt::Debug for Mask {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Mask")
            .field("width", &self.width)
            .field("height", &self.height)
            .field("set", &self.count())
            .finish()
    }
}

impl Mask {
    /// A mask with no pixel set.
    pub fn new(width: u32, height: u32) -> Self {
        Mask {
            width,
            height,
            bits: vec![false; width as usize * height as usize],
        }
    }

    /// A mask whose pixel `(x, y)` is `f(x, y)`.
    pub fn from_fn(width: u32, height: u32, mut f: impl FnMut(u32, u32) -> bool) -> Self {
        let mut bits = Vec::with_capacity(width as usize * height as usize);
        for y in 0..height {
            for x in 0..width {
                bits.push(f(x, y));
            }
        }
        Mask {
            width,
            height,
            bits,
        }
    }

    /// Width in pixels.
    pub fn width(&self) -> u32 {
        self.width
    }

    /// Height in pixels.
    pub fn height(&self) -> u32 {
        self.height
    }

    /// Whether pixel `(x, y)` is set; `false` outside the mask.
    pub fn get(&self, x: u32, y: u32) -> bool {
        x < self.width
            && y < self.height
            && self.bits[y as usize * self.width as usize + x as usize]
    }

    /// Set or clear pixel `(x, y)`; does nothing outside the mask.
    pub fn set(&mut self, x: u32, y: u32, value: bool) {
        if x < self.width && y < self.height {
            self.bits[y as usize * self.width as usize + x as usize] = value;
        }
    }

    /// How many pixels are set.
    pub fn count(&self) -> u64 {
        self.bits.iter().filter(|&&b| b).count() as u64
    }

    /// The smallest box holding every set pixel, as inclusive `(x0, y0, x1, y1)`; `None` when
    /// no pixel is set.
    pub fn bounds(&self) -> Option<(u32, u32, u32, u32)> {
        let mut b: Option<(u32, u32, u32, u32)> = None;
        for y in 0..self.height {
            for x in 0..self.width {
                if self.get(x, y) {
                    b = Some(match b {
                        None => (x, y, x, y),
                        Some((x0, y0, x1, y1)) => (x0.min(x), y0.min(y), x1.max(x), y1.max(y)),
                    });
                }
            }
        }
        b
    }

    /// The pixels of the inclusive box `(x0, y0)`–`(x1, y1)`, which must lie in the mask.
    pub(crate) fn crop(&self, x0: u32, y0: u32, x1: u32, y1: u32) -> Mask {
        Mask::from_fn(x1 - x0 + 1, y1 - y0 + 1, |x, y| self.get(x0 + x, y0 + y))
    }
}

/// A shape on an image.
///
/// Coordinates follow [the module's convention](super#coordinates): pixel coordinates, integer
/// values naming pixels; a rectangle's right and bottom edges are inclusive.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
#[non_exhaustive]
pub enum Geometry {
    /// An axis-aligned box from pixel `(left, top)` to pixel `(right, bottom)`, both included.
    Rectangle {
        /// Leftmost column.
        left: f64,
        /// Top row.
        top: f64,
        /// Rightmost column (included).
        right: f64,
        /// Bottom row (included).
        bottom: f64,
    },
    /// A polygon: its outline and the outlines of its holes (no closing point repeated).
    Polygon {
        /// The outline.
        exterior: Vec<Point>,
        /// The holes.
        interiors: Vec<Vec<Point>>,
    },
    /// An open line through the points, in order.
    Polyline {
        /// The vertices, at least two.
        points: Vec<Point>,
    },
    /// A single point.
    Point {
        /// Column.
        x: f64,
        /// Row.
        y: f64,
    },
    /// A binary mask whose top-left pixel sits on pixel `(origin_x, origin_y)` of the image.
    Bitmap {
        /// Column of the mask's left edge.
        origin_x: i64,
        /// Row of the mask's top edge.
        origin_y: i64,
        /// The mask.
        mask: Mask,
    },
}

impl Geometry {
    /// The shape of this geometry.
    pub fn shape(&self) -> Shape {
        match self {
            Geometry::Rectangle { .. } => Shape::Rectangle,
            Geometry::Polygon { .. } => Shape::Polygon,
            Geometry::Polyline { .. } => Shape::Polyline,
            Geometry::Point { .. } => Shape::Point,
            Geometry::Bitmap { .. } => Shape::Bitmap,
        }
    }

    /// The smallest inclusive pixel box `(left, top, right, bottom)` holding the geometry: the
    /// vertices' extent, or a bitmap's set pixels. `None` for a geometry with no vertex or an
    /// empty mask.
    pub fn bounds(&self) -> Option<(f64, f64, f64, f64)> {
        let fold = |pts: &mut dyn Iterator<Item = &Point>| {
            pts.fold(None, |b: Option<(f64, f64, f64, f64)>, p| {
                Some(match b {
                    None => (p.x, p.y, p.x, p.y),
                    Some((l, t, r, bt)) => (l.min(p.x), t.min(p.y), r.max(p.x), bt.max(p.y)),
                })
            })
        };
        match self {
            &Geometry::Rectangle {
                left,
                top,
                right,
                bottom,
            } => Some((left, top, right, bottom)),
            Geometry::Polygon { exterior, .. } => fold(&mut exterior.iter()),
            Geometry::Polyline { points } => fold(&mut points.iter()),
            &Geometry::Point { x, y } => Some((x, y, x, y)),
            Geometry::Bitmap {
                origin_x,
                origin_y,
                mask,
            } => mask.bounds().map(|(x0, y0, x1, y1)| {
                // In f64: an origin near the ends of i64 must not overflow.
                let (ox, oy) = (*origin_x as f64, *origin_y as f64);
                (
                    ox + f64::from(x0),
                    oy + f64::from(y0),
                    ox + f64::from(x1),
                    oy + f64::from(y1),
                )
            }),
        }
    }
}

/// The shape an object class allows.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Shape {
    /// [`Geometry::Rectangle`].
    Rectangle,
    /// [`Geometry::Polygon`].
    Polygon,
    /// [`Geometry::Polyline`].
    Polyline,
    /// [`Geometry::Point`].
    Point,
    /// [`Geometry::Bitmap`].
    Bitmap,
    /// Any geometry.
    Any,
}

impl Shape {
    /// Whether a geometry of shape `other` is allowed in a class of this shape.
    pub fn allows(self, other: Shape) -> bool {
        self == Shape::Any || self == other
    }
}

/// A class of objects: `car`, `person`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ObjectClass {
    /// The class name, unique in a project.
    pub name: String,
    /// The geometry its objects have.
    pub shape: Shape,
    /// Display colour as `#RRGGBB`, when known.
    pub color: Option<String>,
}

/// What kind of value a tag holds.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", content = "values", rename_all = "snake_case")]
#[non_exhaustive]
pub enum TagValueType {
    /// No value: the tag is there or not.
    None,
    /// A number.
    Number,
    /// Free text.
    Text,
    /// One of these strings.
    OneOf(Vec<String>),
}

/// The declaration of a tag: its name and value type.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TagMeta {
    /// The tag name, unique in a project.
    pub name: String,
    /// Its value type.
    pub value_type: TagValueType,
    /// Display colour as `#RRGGBB`, when known.
    pub color: Option<String>,
}

impl TagMeta {
    /// A tag meta without colour.
    pub fn new(name: impl Into<String>, value_type: TagValueType) -> Self {
        TagMeta {
            name: name.into(),
            value_type,
            color: None,
        }
    }

    /// Whether `value` fits this tag's value type.
    pub fn accepts(&self, value: &TagValue) -> bool {
        match (&self.value_type, value) {
            (TagValueType::None, TagValue::None)
            | (TagValueType::Number, TagValue::Number(_))
            | (TagValueType::Text, TagValue::Text(_)) => true,
            (TagValueType::OneOf(allowed), TagValue::OneOf(v)) => allowed.contains(v),
            _ => false,
        }
    }
}

/// A tag's value.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", content = "value", rename_all = "snake_case")]
#[non_exhaustive]
pub enum TagValue {
    /// No value.
    None,
    /// A number.
    Number(f64),
    /// Free text.
    Text(String),
    /// One of the strings the tag's [`TagValueType::OneOf`] lists.
    OneOf(String),
}

/// A tag on an image or a label.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Tag {
    /// The tag's name (a [`TagMeta::name`]).
    pub name: String,
    /// Its value.
    pub value: TagValue,
}

impl Tag {
    /// A tag.
    pub fn new(name: impl Into<String>, value: TagValue) -> Self {
        Tag {
            name: name.into(),
            value,
        }
    }
}

/// An inclusive range of frame indices, `first..=last` (0-based, the crate's frame indices).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "(u64, u64)", into = "(u64, u64)")]
pub struct FrameRange {
    first: u64,
    last: u64,
}

impl FrameRange {
    /// The frames `first..=last`.
    ///
    /// # Errors
    /// [`Error::Annotation`] when `first > last`.
    pub fn new(first: u64, last: u64) -> Result<Self> {
        if first > last {
            return Err(Error::Annotation {
                source_name: "frame range".into(),
                location: String::new(),
                reason: format!("first frame {first} is after last frame {last}"),
                source: None,
            });
        }
        Ok(FrameRange { first, last })
    }

    /// The first frame, included.
    pub fn first(&self) -> u64 {
        self.first
    }

    /// The last frame, included.
    pub fn last(&self) -> u64 {
        self.last
    }

    /// Whether frame `index` is in the range (both ends included).
    pub fn contains(&self, index: u64) -> bool {
        self.first <= index && index <= self.last
    }
}

impl TryFrom<(u64, u64)> for FrameRange {
    type Error = String;
    fn try_from((first, last): (u64, u64)) -> std::result::Result<Self, String> {
        FrameRange::new(first, last).map_err(|e| e.to_string())
    }
}

impl From<FrameRange> for (u64, u64) {
    fn from(r: FrameRange) -> Self {
        (r.first, r.last)
    }
}

/// A tag on a video or on a video object, optionally limited to a range of frames.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct VideoTag {
    /// The tag.
    pub tag: Tag,
    /// The frames it applies to; `None` for the whole video.
    pub frames: Option<FrameRange>,
}

impl VideoTag {
    /// A tag on every frame.
    pub fn whole(tag: Tag) -> Self {
        VideoTag { tag, frames: None }
    }

    /// A tag on the frames of `range`.
    pub fn ranged(tag: Tag, range: FrameRange) -> Self {
        VideoTag {
            tag,
            frames: Some(range),
        }
    }

    /// Whether the tag applies to frame `index`: it has no range, or its range contains `index`.
    pub fn applies_to(&self, index: u64) -> bool {
        self.frames.is_none_or(|r| r.contains(index))
    }
}

/// The classes and tag declarations of a project.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProjectMeta {
    /// Object classes, in order (COCO category ids follow this order).
    pub classes: Vec<ObjectClass>,
    /// Tag declarations.
    pub tag_metas: Vec<TagMeta>,
}

impl ProjectMeta {
    /// The class named `name`.
    pub fn class(&self, name: &str) -> Option<&ObjectClass> {
        self.classes.iter().find(|c| c.name == name)
    }

    /// The tag meta named `name`.
    pub fn tag_meta(&self, name: &str) -> Option<&TagMeta> {
        self.tag_metas.iter().find(|t| t.name == name)
    }

    /// The meta of the images project that frames of this video project are written to: the same
    /// classes and tags plus the [`OBJECT_ID_TAG`](crate::OBJECT_ID_TAG) (text) and
    /// [`AUTO_TRACKED_TAG`](crate::AUTO_TRACKED_TAG) (no value) declarations.
    ///
    /// # Errors
    /// [`Error::Annotation`] when the video project already declares one of those names with
    /// another value type.
    pub fn for_images(&self) -> Result<ProjectMeta> {
        let mut meta = self.clone();
        for (name, value_type) in [
            (crate::OBJECT_ID_TAG, TagValueType::Text),
            (crate::AUTO_TRACKED_TAG, TagValueType::None),
        ] {
            match meta.tag_meta(name) {
                Some(existing) if existing.value_type == value_type => {}
                Some(existing) => {
                    return Err(Error::Annotation {
                        source_name: "project meta".into(),
                        location: format!("tag {name:?}"),
                        reason: format!(
                            "the name is reserved for a {value_type:?} tag, but the project declares it as {:?}",
                            existing.value_type
                        ),
                        source: None,
                    });
                }
                None => meta.tag_metas.push(TagMeta::new(name, value_type)),
            }
        }
        Ok(meta)
    }
}

/// One annotated object of a video: a car followed through the frames.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct VideoObject {
    /// The object's stable identity, unique in the video (Supervisely's object `key`).
    pub key: String,
    /// Its class name.
    pub class: String,
    /// Its tags, each optionally limited to a range of frames.
    pub tags: Vec<VideoTag>,
}

/// The geometry of one object on one frame.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Figure {
    /// The figure's identity (Supervisely's figure `key`).
    pub key: String,
    /// The [`VideoObject::key`] of the object it outlines.
    pub object_key: String,
    /// Where the object is on this frame.
    pub geometry: Geometry,
    /// The tracker run that produced it, when it came from a tracker rather than a person.
    pub track_id: Option<String>,
}

/// The annotation of one video.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct VideoAnnotation {
    /// The frame size the coordinates refer to.
    pub size: ImageSize,
    /// The video's frame count, when the annotation states it.
    pub frame_count: Option<u64>,
    /// Classes and tag declarations.
    pub meta: ProjectMeta,
    /// The objects, in order.
    pub objects: Vec<VideoObject>,
    /// Figures by frame index; a frame with no figure may be absent or map to an empty list.
    pub frames: BTreeMap<u64, Vec<Figure>>,
    /// Tags on the video, each optionally limited to a range of frames.
    pub tags: Vec<VideoTag>,
}

impl Default for ImageSize {
    fn default() -> Self {
        ImageSize::new(0, 0)
    }
}

/// One shape on an image with its class and tags.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Label {
    /// The class name.
    pub class: String,
    /// The geometry, in the image's coordinates.
    pub geometry: Geometry,
    /// The label's tags.
    pub tags: Vec<Tag>,
}

impl Label {
    /// The video object this label came from: the text of its
    /// [`OBJECT_ID_TAG`](crate::OBJECT_ID_TAG) tag.
    pub fn object_id(&self) -> Option<&str> {
        self.tags.iter().find_map(|t| match (&t.value, &*t.name) {
            (TagValue::Text(v), crate::OBJECT_ID_TAG) => Some(v.as_str()),
            _ => None,
        })
    }

    /// Whether the label carries the [`AUTO_TRACKED_TAG`](crate::AUTO_TRACKED_TAG) tag.
    pub fn is_auto_tracked(&self) -> bool {
        self.tags.iter().any(|t| t.name == crate::AUTO_TRACKED_TAG)
    }
}

/// The annotation of one image.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ImageAnnotation {
    /// The image size.
    pub size: ImageSize,
    /// Its labels.
    pub labels: Vec<Label>,
    /// Tags on the whole image.
    pub tags: Vec<Tag>,
}
