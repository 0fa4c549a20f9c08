//! Target `supervisely`: the Supervisely readers (video annotation, project meta, image
//! annotation, bitmaps) and what a read annotation goes through next (conversion to frames,
//! clipping, writing, reading back, COCO).

use std::io::Write;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

use base64::Engine as _;
use proptest::collection::vec;
use proptest::prelude::*;
use proptest::test_runner::TestCaseError;
use serde_json::{Value, json};
use video_annotation::coco::{CocoWriter, Segmentation};
use video_annotation::{
    Geometry, GeometryTransform, ImageAnnotation, ImageSize, Mask, Point, Rotation, supervisely,
};
use video_core::Error;

use super::check;
use super::json::{Mutation, TextEdit, any_json, mutation, number, text_edit};

const VIDEO: &str = "fuzz/clip.mp4.json";

/// How many video annotations were read, how many had a bitmap, and how many labels came out of
/// conversion: printed at the end, to see that the mutations leave enough valid input.
static READ: AtomicU64 = AtomicU64::new(0);
static BITMAPS: AtomicU64 = AtomicU64::new(0);
static LABELS: AtomicU64 = AtomicU64::new(0);
const META: &str = "fuzz/meta.json";
const IMAGE: &str = "fuzz/clip_000001.png.json";

/// An error from a reader must be typed and name the document.
pub(crate) fn check_error<T>(r: &video_core::Result<T>, source: &str) -> Result<(), TestCaseError> {
    match r {
        Ok(_) => Ok(()),
        Err(
            e @ Error::Annotation {
                source_name,
                reason,
                ..
            },
        ) => check(
            source_name == source && !reason.is_empty() && e.to_string().starts_with(source),
            || format!("annotation error not naming {source}: {e}"),
        ),
        Err(e @ Error::LimitExceeded { what, .. }) => check(what.starts_with(source), || {
            format!("limit error not naming {source}: {e}")
        }),
        Err(e) => Err(TestCaseError::fail(format!("unexpected error kind: {e:?}"))),
    }
}

// ---------------------------------------------------------------------------------------------
// Bitmaps

/// How a bitmap's `data` is made.
#[derive(Clone, Debug)]
pub(crate) enum BitmapSpec {
    /// A real PNG of a `w` × `h` mask in one of five colour layouts, maybe with one byte changed.
    Png {
        w: u32,
        h: u32,
        bits: Vec<bool>,
        color: u8,
        corrupt: Option<(usize, u8)>,
    },
    /// A PNG whose header declares `w` × `h` and whose image data is a few bytes.
    Header { w: u32, h: u32, color: u8 },
    /// zlib of arbitrary bytes, in base64.
    Zlib(Vec<u8>),
    /// base64 of arbitrary bytes.
    Base64(Vec<u8>),
    /// Arbitrary text.
    Text(String),
}

pub(crate) fn bitmap_spec() -> impl Strategy<Value = BitmapSpec> {
    let png = (
        1u32..20,
        1u32..20,
        vec(any::<bool>(), 400),
        0u8..6,
        prop_oneof![9 => Just(None), 1 => (0usize..400, any::<u8>()).prop_map(Some)],
    )
        .prop_map(|(w, h, bits, color, corrupt)| BitmapSpec::Png {
            w,
            h,
            bits,
            color,
            corrupt,
        });
    let dim = prop_oneof![
        Just(0u32),
        1u32..100,
        Just(8192),
        Just(8193),
        Just(60_000),
        Just(65_535),
        Just(1 << 20),
        Just(i32::MAX as u32),
        Just(u32::MAX),
        any::<u32>(),
    ];
    let header =
        (dim.clone(), dim, 0u8..6).prop_map(|(w, h, color)| BitmapSpec::Header { w, h, color });
    prop_oneof![
        24 => png,
        6 => header,
        1 => vec(any::<u8>(), 0..64).prop_map(BitmapSpec::Zlib),
        1 => vec(any::<u8>(), 0..64).prop_map(BitmapSpec::Base64),
        1 => ".{0,16}".prop_map(BitmapSpec::Text),
    ]
}

fn zip_b64(bytes: &[u8]) -> String {
    let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::fast());
    z.write_all(bytes).unwrap();
    base64::engine::general_purpose::STANDARD.encode(z.finish().unwrap())
}

fn chunk(out: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
    out.extend_from_slice(&(data.len() as u32).to_be_bytes());
    out.extend_from_slice(kind);
    out.extend_from_slice(data);
    let mut crc = flate2::Crc::new();
    crc.update(kind);
    crc.update(data);
    out.extend_from_slice(&crc.sum().to_be_bytes());
}

/// PNG colour type and bit depth for layout `color`.
fn layout(color: u8) -> (png::ColorType, png::BitDepth) {
    match color % 6 {
        0 => (png::ColorType::Indexed, png::BitDepth::Eight),
        1 => (png::ColorType::Grayscale, png::BitDepth::Eight),
        2 => (png::ColorType::Grayscale, png::BitDepth::One),
        3 => (png::ColorType::GrayscaleAlpha, png::BitDepth::Eight),
        4 => (png::ColorType::Rgb, png::BitDepth::Sixteen),
        _ => (png::ColorType::Rgba, png::BitDepth::Eight),
    }
}

/// A PNG with a header declaring `w` × `h` and a token of image data.
pub(crate) fn header_only_png(w: u32, h: u32, color: u8) -> Vec<u8> {
    let (c, d) = layout(color);
    let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
    let mut ihdr = Vec::new();
    ihdr.extend_from_slice(&w.to_be_bytes());
    ihdr.extend_from_slice(&h.to_be_bytes());
    ihdr.extend_from_slice(&[d as u8, c as u8, 0, 0, 0]);
    chunk(&mut out, b"IHDR", &ihdr);
    if c == png::ColorType::Indexed {
        chunk(&mut out, b"PLTE", &[0, 0, 0, 255, 255, 255]);
    }
    let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::fast());
    z.write_all(&[0u8; 16]).unwrap();
    chunk(&mut out, b"IDAT", &z.finish().unwrap());
    chunk(&mut out, b"IEND", &[]);
    out
}

/// A real PNG of a mask.
pub(crate) fn mask_png(w: u32, h: u32, set: impl Fn(u32, u32) -> bool, color: u8) -> Vec<u8> {
    let (c, d) = layout(color);
    let mut bytes = Vec::new();
    let mut enc = png::Encoder::new(&mut bytes, w, h);
    enc.set_color(c);
    enc.set_depth(d);
    if c == png::ColorType::Indexed {
        enc.set_palette(vec![0, 0, 0, 255, 255, 255]);
        enc.set_trns(vec![0, 255]);
    }
    let mut data = Vec::new();
    for y in 0..h {
        let row: Vec<bool> = (0..w).map(|x| set(x, y)).collect();
        match (c, d) {
            (png::ColorType::Grayscale, png::BitDepth::One) => {
                for byte in row.chunks(8) {
                    data.push(
                        byte.iter()
                            .enumerate()
                            .fold(0u8, |a, (i, &b)| a | (u8::from(b) << (7 - i))),
                    );
                }
            }
            _ => {
                for b in row {
                    let v = if b { 255u8 } else { 0 };
                    match (c, d) {
                        (png::ColorType::Indexed, _) => data.push(u8::from(b)),
                        (png::ColorType::Grayscale, _) => data.push(v),
                        (png::ColorType::GrayscaleAlpha, _) => data.extend([v, v]),
                        (png::ColorType::Rgb, _) => data.extend([v; 6]),
                        _ => data.extend([v, v, v, v]),
                    }
                }
            }
        }
    }
    let mut writer = enc.write_header().unwrap();
    writer.write_image_data(&data).unwrap();
    writer.finish().unwrap();
    bytes
}

impl BitmapSpec {
    pub(crate) fn data(&self) -> String {
        match self {
            BitmapSpec::Png {
                w,
                h,
                bits,
                color,
                corrupt,
            } => {
                let mut bytes = mask_png(*w, *h, |x, y| bits[(y * 20 + x) as usize], *color);
                if let Some((at, v)) = corrupt {
                    let i = 8 + at % (bytes.len() - 8);
                    bytes[i] = *v;
                }
                zip_b64(&bytes)
            }
            BitmapSpec::Header { w, h, color } => zip_b64(&header_only_png(*w, *h, *color)),
            BitmapSpec::Zlib(b) => zip_b64(b),
            BitmapSpec::Base64(b) => base64::engine::general_purpose::STANDARD.encode(b),
            BitmapSpec::Text(t) => t.clone(),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Documents

fn coord() -> impl Strategy<Value = Value> {
    prop_oneof![
        40 => (-10i64..70).prop_map(|v| json!(v)),
        20 => (-10.0..70.0f64).prop_map(|v| json!(v)),
        1 => number(),
        1 => Just(json!("3")),
    ]
}

fn point() -> impl Strategy<Value = Value> {
    prop_oneof![
        60 => (coord(), coord()).prop_map(|(x, y)| json!([x, y])),
        1 => any_json(),
    ]
}

fn origin() -> impl Strategy<Value = Value> {
    let o = prop_oneof![
        30 => (-5i64..60).prop_map(|v| json!(v)),
        1 => Just(json!(i64::MIN)),
        1 => Just(json!(i64::MAX)),
        1 => Just(json!(i64::MAX - 3)),
        1 => any::<i64>().prop_map(|v| json!(v)),
        1 => number(),
    ];
    (o.clone(), o).prop_map(|(x, y)| json!([x, y]))
}

/// `(geometryType, members)` of a figure or an image object.
fn geometry() -> impl Strategy<Value = (String, Value)> {
    let points = |n: std::ops::Range<usize>| {
        (vec(point(), n), vec(vec(point(), 0..5), 0..2))
            .prop_map(|(e, i)| json!({"points": {"exterior": e, "interior": i}}))
    };
    prop_oneof![
        3 => points(2..3).prop_map(|g| ("rectangle".to_owned(), g)),
        3 => points(3..8).prop_map(|g| ("polygon".to_owned(), g)),
        2 => points(2..6).prop_map(|g| ("line".to_owned(), g)),
        2 => points(1..2).prop_map(|g| ("point".to_owned(), g)),
        6 => (bitmap_spec(), origin()).prop_map(|(b, o)| {
            ("bitmap".to_owned(), json!({"bitmap": {"data": b.data(), "origin": o}}))
        }),
        1 => points(0..4).prop_map(|g| ("cuboid".to_owned(), g)),
    ]
}

/// A tag's value as its name types it (`rain`: none, `color`: one of red/blue, `speed`: a
/// number, `note`: text), or rarely anything.
fn tag_value(name: &'static str) -> BoxedStrategy<Option<Value>> {
    let typed = match name {
        "rain" => Just(None).boxed(),
        "color" => prop_oneof![Just("red"), Just("blue")]
            .prop_map(|s| Some(json!(s)))
            .boxed(),
        "speed" => (0u32..5).prop_map(|v| Some(json!(v))).boxed(),
        _ => "[a-z]{0,4}".prop_map(|s| Some(json!(s))).boxed(),
    };
    prop_oneof![30 => typed, 1 => any_json().prop_map(Some)].boxed()
}

fn tags() -> impl Strategy<Value = Value> {
    let name = prop_oneof![Just("rain"), Just("color"), Just("speed"), Just("note")];
    let range = prop_oneof![
        30 => Just(None),
        30 => (0u64..20, 0u64..20).prop_map(|(a, b)| Some(json!([a.min(b), a.max(b)]))),
        1 => (0u64..20, 0u64..20).prop_map(|(a, b)| Some(json!([a, b]))),
        1 => any_json().prop_map(Some),
    ];
    let tag = name.prop_flat_map(|n| (Just(n), tag_value(n)));
    vec((tag, range), 0..3).prop_map(|ts| {
        Value::Array(
            ts.into_iter()
                .map(|((n, v), r)| {
                    let mut t = json!({ "name": n });
                    if let Some(v) = v {
                        t["value"] = v;
                    }
                    if let Some(r) = r {
                        t["frameRange"] = r;
                    }
                    t
                })
                .collect(),
        )
    })
}

fn dim() -> impl Strategy<Value = Value> {
    prop_oneof![30 => (1u32..80).prop_map(|v| json!(v)), 1 => Just(json!(0)), 1 => number()]
}

const CLASSES: [&str; 3] = ["car", "person", "road"];

fn video_doc() -> impl Strategy<Value = Value> {
    let object =
        (0usize..3, tags()).prop_map(|(c, t)| json!({"classTitle": CLASSES[c], "tags": t}));
    let track = prop_oneof![
        12 => Just(None),
        3 => Just(Some(json!("t1"))),
        3 => Just(Some(json!(17))),
        1 => any_json().prop_map(Some),
    ];
    let figure = (0u32..100, 0usize..4, geometry(), track, any::<bool>()).prop_map(
        |(k, o, (gtype, g), track, nested)| {
            let mut f = json!({"key": format!("f{k}"), "objectKey": format!("o{o}"), "geometryType": gtype});
            if nested {
                f["geometry"] = g;
            } else if let (Value::Object(f), Value::Object(g)) = (&mut f, g) {
                f.extend(g);
            }
            if let Some(t) = track {
                f["trackId"] = t;
            }
            f
        },
    );
    let index = prop_oneof![30 => (0u64..20).prop_map(|v| json!(v)), 1 => number()];
    let frame = (index, vec(figure, 0..4)).prop_map(|(i, f)| json!({"index": i, "figures": f}));
    let count = prop_oneof![
        10 => Just(None),
        10 => (20u64..30).prop_map(|v| Some(json!(v))),
        1 => (0u64..20).prop_map(|v| Some(json!(v))),
        1 => number().prop_map(Some),
    ];
    (
        dim(),
        dim(),
        count,
        tags(),
        vec(object, 4..5),
        vec(frame, 0..4),
        any::<u8>(),
    )
        .prop_map(|(w, h, count, tags, mut objects, frames, dup)| {
            // Keys o0, o1, …; now and then one used twice.
            for (i, o) in objects.iter_mut().enumerate() {
                let k = if dup == 0 { 0 } else { i };
                o["key"] = json!(format!("o{k}"));
            }
            let mut d = json!({
                "size": {"width": w, "height": h},
                "tags": tags,
                "objects": objects,
                "frames": frames,
            });
            if let Some(c) = count {
                d["framesCount"] = c;
            }
            d
        })
}

fn meta_doc() -> impl Strategy<Value = Value> {
    let shape = prop_oneof![
        Just("rectangle"),
        Just("polygon"),
        Just("line"),
        Just("point"),
        Just("bitmap"),
        Just("any_shape"),
        Just("graph")
    ];
    let shape = prop_oneof![12 => Just("any_shape"), 6 => shape];
    let classes = vec(shape, 3).prop_map(|s| {
        CLASSES
            .iter()
            .zip(s)
            .map(|(c, s)| json!({"title": c, "shape": s, "color": "#FF0000"}))
            .collect::<Vec<_>>()
    });
    let vt = prop_oneof![
        Just(json!({"value_type": "none"})),
        Just(json!({"value_type": "any_number"})),
        Just(json!({"value_type": "any_string"})),
        Just(json!({"value_type": "oneof_string", "values": ["red", "blue"]})),
        Just(json!({"value_type": "any_date"})),
    ];
    let name = prop_oneof![
        Just("rain"),
        Just("color"),
        Just("speed"),
        Just("object_id")
    ];
    let tag = (name, vt).prop_map(|(n, mut v)| {
        v["name"] = json!(n);
        v
    });
    let typed = json!([
        {"name": "rain", "value_type": "none"},
        {"name": "color", "value_type": "oneof_string", "values": ["red", "blue"]},
        {"name": "speed", "value_type": "any_number"},
        {"name": "note", "value_type": "any_string"},
    ]);
    let tags = prop_oneof![6 => Just(typed), 1 => vec(tag, 0..4).prop_map(Value::Array)];
    (classes, tags).prop_map(|(c, t)| json!({"classes": c, "tags": t}))
}

fn image_doc() -> impl Strategy<Value = Value> {
    let object = (0usize..3, geometry(), tags()).prop_map(|(c, (gtype, g), t)| {
        let mut o = json!({"classTitle": CLASSES[c], "geometryType": gtype, "tags": t});
        if let (Value::Object(o), Value::Object(g)) = (&mut o, g) {
            o.extend(g);
        }
        o
    });
    (dim(), dim(), tags(), vec(object, 0..4)).prop_map(
        |(w, h, t, o)| json!({"size": {"width": w, "height": h}, "tags": t, "objects": o}),
    )
}

/// A document, the mutations applied to it, and an edit of its text.
#[derive(Clone, Debug)]
pub(crate) struct Doc {
    value: Value,
    mutations: Vec<Mutation>,
    edit: TextEdit,
}

impl Doc {
    fn bytes(&self) -> Vec<u8> {
        let mut v = self.value.clone();
        for m in &self.mutations {
            m.apply(&mut v);
        }
        self.edit.apply(&v.to_string())
    }
}

fn doc(base: impl Strategy<Value = Value>) -> impl Strategy<Value = Doc> {
    let muts = prop_oneof![1 => Just(Vec::new()), 1 => vec(mutation(), 1..4)];
    (base, muts, text_edit()).prop_map(|(value, mutations, edit)| Doc {
        value,
        mutations,
        edit,
    })
}

// ---------------------------------------------------------------------------------------------
// Properties

fn rotation() -> impl Strategy<Value = Rotation> {
    prop_oneof![
        Just(Rotation::None),
        Just(Rotation::Cw90),
        Just(Rotation::Cw180),
        Just(Rotation::Cw270)
    ]
}

#[derive(Clone, Debug)]
pub(crate) struct VideoCase {
    video: Doc,
    meta: Option<Doc>,
    output: (u32, u32),
    rotation: Rotation,
}

fn video_case() -> impl Strategy<Value = VideoCase> {
    (
        doc(video_doc()),
        proptest::option::of(doc(meta_doc())),
        (1u32..64, 1u32..64),
        rotation(),
    )
        .prop_map(|(video, meta, output, rotation)| VideoCase {
            video,
            meta,
            output,
            rotation,
        })
}

/// Whether a geometry lies on an image of `size`, as clipping promises.
pub(crate) fn inside(size: ImageSize, g: &Geometry) -> bool {
    let (wm, hm) = (f64::from(size.width) - 1.0, f64::from(size.height) - 1.0);
    let eps = 1e-6;
    let on = |p: &Point| {
        p.x.is_finite()
            && p.y.is_finite()
            && p.x >= -eps
            && p.y >= -eps
            && p.x <= wm + eps
            && p.y <= hm + eps
    };
    match g {
        &Geometry::Rectangle {
            left,
            top,
            right,
            bottom,
        } => {
            on(&Point::new(left, top))
                && on(&Point::new(right, bottom))
                && left <= right
                && top <= bottom
        }
        &Geometry::Point { x, y } => on(&Point::new(x, y)),
        Geometry::Polygon {
            exterior,
            interiors,
        } => exterior.len() >= 3 && exterior.iter().chain(interiors.iter().flatten()).all(on),
        Geometry::Polyline { points } => points.len() >= 2 && points.iter().all(on),
        Geometry::Bitmap {
            origin_x,
            origin_y,
            mask,
        } => {
            *origin_x >= 0
                && *origin_y >= 0
                && origin_x + i64::from(mask.width()) <= i64::from(size.width)
                && origin_y + i64::from(mask.height()) <= i64::from(size.height)
                && mask.count() > 0
        }
        _ => false,
    }
}

/// What is done with an image annotation next: written, read back with the images meta, and
/// turned into COCO.
fn image_round_trip(
    img: &ImageAnnotation,
    meta: &video_annotation::ProjectMeta,
    frame: u64,
) -> Result<(), TestCaseError> {
    let v = supervisely::image_annotation_to_value(img)
        .map_err(|e| TestCaseError::fail(format!("a converted frame cannot be written: {e}")))?;
    if let Ok(images_meta) = meta.for_images() {
        let back = supervisely::parse_image_annotation(IMAGE, &v.to_string(), Some(&images_meta));
        match back {
            Ok(b) => check(b.labels.len() == img.labels.len(), || {
                "labels lost in the round trip".into()
            })?,
            Err(e) => {
                return Err(TestCaseError::fail(format!(
                    "a written frame does not read back: {e}"
                )));
            }
        }
    }
    let mut coco = CocoWriter::new(meta);
    coco.add_image("fuzz/clip_000001.png", frame, img)
        .map_err(|e| TestCaseError::fail(format!("a converted frame is refused by COCO: {e}")))?;
    for a in coco.finish().annotations {
        check(
            a.bbox.iter().all(|v| v.is_finite()) && a.area.is_finite() && a.area >= 0.0,
            || format!("COCO bbox/area {:?} {}", a.bbox, a.area),
        )?;
        if let Segmentation::Rle { counts, size } = &a.segmentation {
            let total: u64 = counts.iter().sum();
            check(total == u64::from(size[0]) * u64::from(size[1]), || {
                format!("RLE covers {total} pixels of {size:?}")
            })?;
        }
    }
    Ok(())
}

fn check_video(c: &VideoCase) -> Result<(), TestCaseError> {
    let meta = match &c.meta {
        Some(m) => {
            let bytes = m.bytes();
            let r = supervisely::read_meta(META, &bytes[..]);
            check_error(&r, META)?;
            if let Ok(text) = std::str::from_utf8(&bytes) {
                let p = supervisely::parse_meta(META, text);
                check(p.is_ok() == r.is_ok(), || {
                    "parse_meta and read_meta disagree".into()
                })?;
            }
            match r {
                Ok(m) => Some(m),
                Err(_) => return Ok(()),
            }
        }
        None => None,
    };
    let bytes = c.video.bytes();
    let r = supervisely::read_video_annotation(VIDEO, &bytes[..], meta.as_ref());
    check_error(&r, VIDEO)?;
    if let Ok(text) = std::str::from_utf8(&bytes) {
        let p = supervisely::parse_video_annotation(VIDEO, text, meta.as_ref());
        check(p.is_ok() == r.is_ok(), || "parse and read disagree".into())?;
    }
    let ann = match r {
        Ok(a) => a,
        Err(e) => {
            if std::env::var_os("FUZZ_DEBUG").is_some() {
                eprintln!(
                    "REJECT {}",
                    e.to_string().chars().take(160).collect::<String>()
                );
            }
            return Ok(());
        }
    };
    READ.fetch_add(1, Relaxed);
    if ann
        .frames
        .values()
        .flatten()
        .any(|f| matches!(f.geometry, Geometry::Bitmap { .. }))
    {
        BITMAPS.fetch_add(1, Relaxed);
    }

    let out = ImageSize::new(c.output.0, c.output.1);
    let t = match GeometryTransform::resize(ann.size, out) {
        Ok(t) => t.with_stored_rotation(c.rotation),
        Err(Error::InvalidOption { .. }) if ann.size.width == 0 || ann.size.height == 0 => {
            return Ok(());
        }
        Err(e) => return Err(TestCaseError::fail(format!("resize: {e}"))),
    };
    let _ = ann.only_annotated();
    for &i in ann.frames.keys().take(6) {
        let img = ann
            .frame_annotation(i, &t)
            .map_err(|e| TestCaseError::fail(format!("frame_annotation({i}): {e}")))?;
        check(img.size == out, || {
            "image size is not the output size".into()
        })?;
        LABELS.fetch_add(img.labels.len() as u64, Relaxed);
        for l in &img.labels {
            check(inside(out, &l.geometry), || {
                format!("label off the {out:?} image: {:?}", l.geometry)
            })?;
        }
        image_round_trip(&img, &ann.meta, i)?;
    }
    Ok(())
}

fn check_image(doc: &Doc, meta: bool) -> Result<(), TestCaseError> {
    let bytes = doc.bytes();
    let text = String::from_utf8_lossy(&bytes);
    let m = meta.then(|| {
        supervisely::meta_from_value(
            META,
            &json!({"classes": [
                {"title": "car", "shape": "any_shape"}, {"title": "person", "shape": "rectangle"}],
                "tags": [{"name": "color", "value_type": "any_string"}, {"name": "rain", "value_type": "none"}]}),
        )
        .unwrap()
    });
    let r = supervisely::parse_image_annotation(IMAGE, &text, m.as_ref());
    check_error(&r, IMAGE)?;
    if let Ok(img) = r {
        // Whatever was read can be written again (it was read from whole numbers).
        let v = supervisely::image_annotation_to_value(&img).map_err(|e| {
            TestCaseError::fail(format!("a read image annotation cannot be written: {e}"))
        })?;
        let back =
            supervisely::image_annotation_from_value(IMAGE, &v, m.as_ref()).map_err(|e| {
                TestCaseError::fail(format!("written image annotation does not read back: {e}"))
            })?;
        check(back.labels.len() == img.labels.len(), || {
            "labels lost".into()
        })?;
    }
    Ok(())
}

/// Arbitrary geometry, moved onto a bounded output image.
#[derive(Clone, Debug)]
pub(crate) struct TransformCase {
    geometry: Geometry,
    source: (u32, u32),
    output: (u32, u32),
    rotation: Rotation,
}

fn any_coord() -> impl Strategy<Value = f64> + Clone {
    prop_oneof![
        8 => -20.0..120.0f64,
        1 => Just(f64::NAN),
        1 => Just(f64::INFINITY),
        1 => Just(f64::NEG_INFINITY),
        1 => Just(1e300),
        1 => Just(-1e300),
        1 => Just(f64::MAX),
        1 => Just(9.3e18),
        1 => any::<f64>(),
    ]
}

pub(crate) fn any_geometry() -> impl Strategy<Value = Geometry> {
    let pt = (any_coord(), any_coord()).prop_map(|(x, y)| Point::new(x, y));
    let origin = prop_oneof![
        6 => -30i64..120,
        1 => Just(i64::MIN),
        1 => Just(i64::MAX),
        1 => any::<i64>(),
    ];
    prop_oneof![
        (any_coord(), any_coord(), any_coord(), any_coord()).prop_map(
            |(left, top, right, bottom)| {
                Geometry::Rectangle {
                    left,
                    top,
                    right,
                    bottom,
                }
            }
        ),
        (vec(pt.clone(), 0..8), vec(vec(pt.clone(), 0..5), 0..2)).prop_map(
            |(exterior, interiors)| Geometry::Polygon {
                exterior,
                interiors
            }
        ),
        vec(pt.clone(), 0..8).prop_map(|points| Geometry::Polyline { points }),
        (any_coord(), any_coord()).prop_map(|(x, y)| Geometry::Point { x, y }),
        (
            origin.clone(),
            origin,
            0u32..24,
            0u32..24,
            vec(any::<bool>(), 576)
        )
            .prop_map(|(origin_x, origin_y, w, h, bits)| Geometry::Bitmap {
                origin_x,
                origin_y,
                mask: Mask::from_fn(w, h, |x, y| bits[(y * 24 + x) as usize]),
            }),
    ]
}

fn transform_case() -> impl Strategy<Value = TransformCase> {
    let size = prop_oneof![
        6 => (1u32..200, 1u32..200),
        1 => Just((0u32, 7u32)),
        1 => (any::<u32>(), any::<u32>()),
        1 => Just((u32::MAX, u32::MAX)),
        1 => Just((1u32, 1u32)),
    ];
    (any_geometry(), size, (1u32..256, 1u32..256), rotation()).prop_map(
        |(geometry, source, output, rotation)| TransformCase {
            geometry,
            source,
            output,
            rotation,
        },
    )
}

fn check_transform(c: &TransformCase) -> Result<(), TestCaseError> {
    let source = ImageSize::new(c.source.0, c.source.1);
    let out = ImageSize::new(c.output.0, c.output.1);
    let _ = c.geometry.bounds();
    let t = match GeometryTransform::resize(source, out) {
        Ok(t) => t.with_stored_rotation(c.rotation),
        Err(_) => GeometryTransform::identity(out),
    };
    for g in t.apply(&c.geometry) {
        check(inside(out, &g), || format!("off the {out:?} image: {g:?}"))?;
    }
    Ok(())
}

pub(crate) fn fuzz() {
    let n = super::run("supervisely/video", 120, 0.5, video_case(), |c| {
        check_video(&c)
    });
    eprintln!(
        "  supervisely/video: {n} cases (with shrinking runs: {} annotations read, {} with a bitmap, {} labels converted)",
        READ.load(Relaxed),
        BITMAPS.load(Relaxed),
        LABELS.load(Relaxed)
    );
    super::run(
        "supervisely/image",
        80,
        0.2,
        (doc(image_doc()), any::<bool>()),
        |(d, m)| check_image(&d, m),
    );
    super::run(
        "supervisely/bytes",
        100,
        0.1,
        vec(any::<u8>(), 0..256),
        |b| {
            check_error(
                &supervisely::read_video_annotation(VIDEO, &b[..], None),
                VIDEO,
            )?;
            check_error(&supervisely::read_meta(META, &b[..]), META)?;
            let text = String::from_utf8_lossy(&b);
            check_error(
                &supervisely::parse_image_annotation(IMAGE, &text, None),
                IMAGE,
            )
        },
    );
    super::run("supervisely/transform", 150, 0.2, transform_case(), |c| {
        check_transform(&c)
    });
}
