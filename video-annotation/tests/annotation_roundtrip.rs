//! Round trip of a realistic Supervisely video annotation: convert sampled frames, write
//! Supervisely image JSON and COCO, parse them back, and compare with expectations computed
//! here by walking the input JSON (not by the library's conversion code).

#![allow(clippy::unwrap_used)]

use std::collections::BTreeSet;
use std::io::Read;
use std::path::PathBuf;

use base64::Engine as _;
use serde_json::Value;
use video_annotation::{
    Geometry, GeometryTransform, ImageAnnotation, ImageSize, Label, Mask, Point, Shape, Tag,
    TagValue, TagValueType, coco::CocoWriter, supervisely,
};
use video_core::{FrameTable, PacketEntry, SamplingPlan, Timestamp};

fn data(rel: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/supervisely")
        .join(rel)
}

fn json(rel: &str) -> Value {
    serde_json::from_str(&std::fs::read_to_string(data(rel)).unwrap()).unwrap()
}

const ANN: &str = "street/ann/street.mp4.json";

/// Frames around every range edge of the fixture: weather rain 10..=20 and fog 21..=40,
/// crowded 14..=14, occluded 12..=14, speed 10..=15, light_state 20..=20 and 21..=59, tracked
/// figures 13..=16 and 15, empty frames 9, 17, 40 (listed with no figures), 41, 59.
const SAMPLED: [u64; 17] = [
    9, 10, 11, 12, 13, 14, 15, 16, 17, 20, 21, 30, 39, 40, 41, 58, 59,
];

/// The tag value as the project meta types it.
fn typed(meta: &Value, name: &str, value: Option<&Value>) -> TagValue {
    let m = meta["tags"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["name"] == name)
        .unwrap_or_else(|| panic!("tag {name} not in meta.json"));
    match (m["value_type"].as_str().unwrap(), value) {
        ("none", None) => TagValue::None,
        ("any_number", Some(v)) => TagValue::Number(v.as_f64().unwrap()),
        ("any_string", Some(v)) => TagValue::Text(v.as_str().unwrap().into()),
        ("oneof_string", Some(v)) => TagValue::OneOf(v.as_str().unwrap().into()),
        other => panic!("unexpected tag {name}: {other:?}"),
    }
}

fn on_frame(tag: &Value, i: u64) -> bool {
    match tag.get("frameRange") {
        None => true,
        Some(r) => r[0].as_u64().unwrap() <= i && i <= r[1].as_u64().unwrap(),
    }
}

fn tags_on(meta: &Value, tags: &Value, i: u64) -> Vec<Tag> {
    tags.as_array()
        .unwrap()
        .iter()
        .filter(|t| on_frame(t, i))
        .map(|t| {
            let name = t["name"].as_str().unwrap();
            Tag::new(name, typed(meta, name, t.get("value")))
        })
        .collect()
}

/// Decode a Supervisely bitmap with the codec crates directly.
fn decode_mask(data: &str) -> Mask {
    let zipped = base64::engine::general_purpose::STANDARD
        .decode(data)
        .unwrap();
    let mut png_bytes = Vec::new();
    flate2::read::ZlibDecoder::new(&zipped[..])
        .read_to_end(&mut png_bytes)
        .unwrap();
    let mut dec = png::Decoder::new(&png_bytes[..]);
    dec.set_transformations(png::Transformations::EXPAND);
    let mut r = dec.read_info().unwrap();
    let mut buf = vec![0; r.output_buffer_size()];
    let f = r.next_frame(&mut buf).unwrap();
    let ch = r.output_color_type().0.samples();
    // Palette with transparency expands to RGBA (alpha decides); grayscale is 1 channel.
    Mask::from_fn(f.width, f.height, |x, y| {
        let px = &buf[y as usize * f.line_size + x as usize * ch..][..ch];
        if ch == 4 { px[3] > 0 } else { px[0] > 0 }
    })
}

/// Where a pixel coordinate goes when the image is scaled by `s` (pixel centres scale).
fn map(v: f64, s: f64) -> f64 {
    (v + 0.5) * s - 0.5
}

fn xy(p: &Value) -> (f64, f64) {
    (p[0].as_f64().unwrap(), p[1].as_f64().unwrap())
}

/// The geometry the rules give for a figure on an image scaled by `s` to `out`, rounded to whole
/// pixels as the Supervisely writer stores it; `None` when it is dropped. The fixture's polygons
/// and lines lie well inside the image; its rectangles and points also test clipping.
fn expected_geometry(fig: &Value, s: f64, out: ImageSize) -> Option<Geometry> {
    let (wm, hm) = (f64::from(out.width) - 1.0, f64::from(out.height) - 1.0);
    let g = &fig["geometry"];
    let ext = || g["points"]["exterior"].as_array().unwrap();
    let pts = |ring: &Vec<Value>| -> Vec<Point> {
        ring.iter()
            .map(|p| {
                let (x, y) = xy(p);
                Point::new(map(x, s).round(), map(y, s).round())
            })
            .collect()
    };
    match fig["geometryType"].as_str().unwrap() {
        "rectangle" => {
            let ((x0, y0), (x1, y1)) = (xy(&ext()[0]), xy(&ext()[1]));
            let (l, r) = (map(x0.min(x1), s), map(x0.max(x1), s));
            let (t, b) = (map(y0.min(y1), s), map(y0.max(y1), s));
            if r < -0.5 || b < -0.5 || l > wm + 0.5 || t > hm + 0.5 {
                return None;
            }
            let c = |v: f64, m: f64| v.clamp(0.0, m).round();
            Some(Geometry::Rectangle {
                left: c(l, wm),
                top: c(t, hm),
                right: c(r, wm),
                bottom: c(b, hm),
            })
        }
        "point" => {
            let (x, y) = xy(&ext()[0]);
            let (x, y) = (map(x, s), map(y, s));
            let on = |v: f64, m: f64| (-0.5..=m + 0.5).contains(&v);
            (on(x, wm) && on(y, hm)).then(|| Geometry::Point {
                x: x.clamp(0.0, wm).round(),
                y: y.clamp(0.0, hm).round(),
            })
        }
        "polygon" => Some(Geometry::Polygon {
            exterior: pts(ext()),
            interiors: g["points"]["interior"]
                .as_array()
                .unwrap()
                .iter()
                .map(|r| pts(r.as_array().unwrap()))
                .collect(),
        }),
        "line" => Some(Geometry::Polyline { points: pts(ext()) }),
        "bitmap" => {
            let src = decode_mask(g["bitmap"]["data"].as_str().unwrap());
            let (ox, oy) = (
                g["bitmap"]["origin"][0].as_i64().unwrap(),
                g["bitmap"]["origin"][1].as_i64().unwrap(),
            );
            if s == 1.0 {
                // The fixture's masks touch all four sides of their box: nothing to trim.
                return Some(Geometry::Bitmap {
                    origin_x: ox,
                    origin_y: oy,
                    mask: src,
                });
            }
            assert_eq!(s, 0.5, "the test knows halving only");
            // Halving: output pixel u is set when source pixel 2u + 1 (under its centre) is.
            let set = |u: i64, v: i64| {
                let (x, y) = (2 * u + 1 - ox, 2 * v + 1 - oy);
                x >= 0 && y >= 0 && src.get(x as u32, y as u32)
            };
            let cells: Vec<(i64, i64)> = (oy / 2 - 1..=(oy + i64::from(src.height())) / 2 + 1)
                .flat_map(|v| {
                    (ox / 2 - 1..=(ox + i64::from(src.width())) / 2 + 1).map(move |u| (u, v))
                })
                .filter(|&(u, v)| set(u, v))
                .collect();
            let u0 = cells.iter().map(|c| c.0).min()?;
            let v0 = cells.iter().map(|c| c.1).min()?;
            let u1 = cells.iter().map(|c| c.0).max()?;
            let v1 = cells.iter().map(|c| c.1).max()?;
            Some(Geometry::Bitmap {
                origin_x: u0,
                origin_y: v0,
                mask: Mask::from_fn((u1 - u0 + 1) as u32, (v1 - v0 + 1) as u32, |u, v| {
                    set(u0 + i64::from(u), v0 + i64::from(v))
                }),
            })
        }
        other => panic!("fixture has {other}"),
    }
}

/// The labels and image tags the rules give for frame `i`, walking the input JSON.
fn expected(ann: &Value, meta: &Value, i: u64, s: f64, out: ImageSize) -> ImageAnnotation {
    let mut labels = Vec::new();
    for frame in ann["frames"].as_array().unwrap() {
        if frame["index"].as_u64() != Some(i) {
            continue;
        }
        for fig in frame["figures"].as_array().unwrap() {
            let object = ann["objects"]
                .as_array()
                .unwrap()
                .iter()
                .find(|o| o["key"] == fig["objectKey"])
                .unwrap();
            let mut tags = tags_on(meta, &object["tags"], i);
            tags.push(Tag::new(
                "object_id",
                TagValue::Text(object["key"].as_str().unwrap().into()),
            ));
            if fig.get("trackId").is_some() {
                tags.push(Tag::new("auto-tracked", TagValue::None));
            }
            if let Some(geometry) = expected_geometry(fig, s, out) {
                labels.push(Label {
                    class: object["classTitle"].as_str().unwrap().into(),
                    geometry,
                    tags,
                });
            }
        }
    }
    ImageAnnotation {
        size: out,
        labels,
        tags: tags_on(meta, &ann["tags"], i),
    }
}

/// Convert the sampled frames, write each as Supervisely image JSON, parse it back.
fn round_trip(
    video: &video_annotation::VideoAnnotation,
    t: &GeometryTransform,
) -> Vec<(u64, ImageAnnotation)> {
    let images_meta = video.meta.for_images().unwrap();
    video
        .frame_annotations(&SAMPLED, t)
        .unwrap()
        .into_iter()
        .map(|(i, image)| {
            let name = supervisely::annotation_file_name(&format!("street_{i:06}.png"));
            let mut text = Vec::new();
            supervisely::write_image_annotation(&image, &mut text).unwrap();
            let back = supervisely::parse_image_annotation(
                &name,
                std::str::from_utf8(&text).unwrap(),
                Some(&images_meta),
            )
            .unwrap();
            (i, back)
        })
        .collect()
}

fn load() -> (Value, Value, video_annotation::VideoAnnotation) {
    let meta_json = json("meta.json");
    let ann_json = json(ANN);
    let meta = supervisely::read_meta("meta.json", std::fs::File::open(data("meta.json")).unwrap())
        .unwrap();
    let video = supervisely::read_video_annotation(
        ANN,
        std::fs::File::open(data(ANN)).unwrap(),
        Some(&meta),
    )
    .unwrap();
    (meta_json, ann_json, video)
}

#[test]
fn every_sampled_frame_matches_the_rules() {
    let (meta, ann, video) = load();
    let size = ImageSize::new(1280, 720);
    assert_eq!(video.size, size);
    let got = round_trip(&video, &GeometryTransform::identity(size));
    assert_eq!(got.len(), SAMPLED.len());
    for (i, back) in &got {
        assert_eq!(*back, expected(&ann, &meta, *i, 1.0, size), "frame {i}");
    }
    // Hand-checked spots, so the expectation code cannot drift unnoticed.
    let at = |i: u64| &got.iter().find(|(j, _)| *j == i).unwrap().1;
    let names = |tags: &[Tag]| tags.iter().map(|t| t.name.clone()).collect::<Vec<_>>();
    assert!(at(9).labels.is_empty() && names(&at(9).tags) == ["camera"]);
    assert!(at(17).labels.is_empty() && at(40).labels.is_empty() && at(59).labels.is_empty());
    assert_eq!(names(&at(14).tags), ["weather", "crowded", "camera"]);
    assert_eq!(at(21).tags[0].value, TagValue::OneOf("fog".into()));
    assert_eq!(at(40).tags[0].value, TagValue::OneOf("fog".into()));
    assert_eq!(names(&at(41).tags), ["camera"]);
    // Frame 12: car-1 occluded (12..=14) with speed, car-2 clamped at the left edge.
    assert_eq!(
        names(&at(12).labels[0].tags),
        ["plate", "occluded", "speed_kmh", "object_id"]
    );
    assert_eq!(
        at(12).labels[1].geometry,
        Geometry::Rectangle {
            left: 0.0,
            top: 400.0,
            right: 120.0,
            bottom: 520.0
        }
    );
    // Frame 16: car-1 is tracked, past its occluded and speed ranges.
    assert_eq!(
        names(&at(16).labels[0].tags),
        ["plate", "object_id", "auto-tracked"]
    );
    // Frame 21: the light's point is outside the image and dropped.
    assert!(at(21).labels.is_empty());
    // Frame 20: light state red (20..=20) and the car clamped at the bottom right.
    assert_eq!(
        at(20)
            .labels
            .iter()
            .map(|l| l.class.as_str())
            .collect::<Vec<_>>(),
        ["car", "lane", "traffic_light"]
    );
    assert_eq!(
        at(20).labels[2].tags[0].value,
        TagValue::OneOf("red".into())
    );
    assert_eq!(
        at(20).labels[0].geometry,
        Geometry::Rectangle {
            left: 1200.0,
            top: 600.0,
            right: 1279.0,
            bottom: 719.0
        }
    );
    // Every label of one object carries the same identity, distinct from the other car's.
    let ids: BTreeSet<_> = got
        .iter()
        .flat_map(|(_, a)| a.labels.iter())
        .filter(|l| l.class == "car")
        .map(|l| l.object_id().unwrap().to_owned())
        .collect();
    assert_eq!(
        ids.into_iter().collect::<Vec<_>>(),
        ["9f2a0c1e-car1", "b61d77e0-car2"]
    );
}

#[test]
fn halved_frames_match_the_rules() {
    let (meta, ann, video) = load();
    let out = ImageSize::new(640, 360);
    let t = GeometryTransform::resize(video.size, out).unwrap();
    let got = round_trip(&video, &t);
    for (i, back) in &got {
        assert_eq!(*back, expected(&ann, &meta, *i, 0.5, out), "frame {i}");
    }
    // Hand-checked: car-1 on frame 10, (100, 200)-(300, 350) -> (49.75, 99.75)-(149.75, 174.75).
    let f10 = &got.iter().find(|(i, _)| *i == 10).unwrap().1;
    assert_eq!(
        f10.labels[0].geometry,
        Geometry::Rectangle {
            left: 50.0,
            top: 100.0,
            right: 150.0,
            bottom: 175.0
        }
    );
    // The road mask 8x6 at (300, 500) halves to 4x3 at (150, 250).
    assert!(matches!(
        &f10.labels[2].geometry,
        Geometry::Bitmap { origin_x: 150, origin_y: 250, mask } if (mask.width(), mask.height()) == (4, 3)
    ));
}

#[test]
fn only_annotated_frames_are_those_with_figures() {
    let (_, ann, video) = load();
    let want: BTreeSet<u64> = ann["frames"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| !f["figures"].as_array().unwrap().is_empty())
        .map(|f| f["index"].as_u64().unwrap())
        .collect();
    assert_eq!(video.annotated_frames(), want);
    assert!(!want.contains(&40), "frame 40 is listed with no figures");
    let table = FrameTable::from_decode_order(
        "street.mp4",
        (0..60).map(|i| PacketEntry {
            pts: Some(Timestamp::from_nanos(i * 33_366_667)),
            duration: None,
            keyframe: i % 30 == 0,
        }),
    )
    .unwrap();
    let plan = SamplingPlan::all()
        .filter(video.only_annotated())
        .resolve(&table)
        .unwrap();
    assert_eq!(plan.indices(), want.iter().copied().collect::<Vec<_>>());
}

#[test]
fn without_meta_the_classes_and_tags_are_inferred() {
    let (meta, _, with_meta) = load();
    let text = std::fs::read_to_string(data(ANN)).unwrap();
    let video = supervisely::parse_video_annotation(ANN, &text, None).unwrap();
    let want: Vec<(String, Shape)> = meta["classes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            let shape = match c["shape"].as_str().unwrap() {
                "rectangle" => Shape::Rectangle,
                "polygon" => Shape::Polygon,
                "line" => Shape::Polyline,
                "point" => Shape::Point,
                "bitmap" => Shape::Bitmap,
                s => panic!("{s}"),
            };
            (c["title"].as_str().unwrap().to_owned(), shape)
        })
        .collect();
    let got: Vec<(String, Shape)> = video
        .meta
        .classes
        .iter()
        .map(|c| (c.name.clone(), c.shape))
        .collect();
    assert_eq!(got, want);
    // one-of cannot be told from free text without the meta.
    assert_eq!(
        video.meta.tag_meta("weather").unwrap().value_type,
        TagValueType::Text
    );
    assert_eq!(
        video.meta.tag_meta("speed_kmh").unwrap().value_type,
        TagValueType::Number
    );
    assert_eq!(video.frames, with_meta.frames);
}

#[test]
fn coco_file_keeps_boxes_objects_and_frames() {
    let (_, ann, video) = load();
    let images_meta = video.meta.for_images().unwrap();
    let mut w = CocoWriter::new(&images_meta);
    let t = GeometryTransform::identity(video.size);
    for (i, image) in video.frame_annotations(&SAMPLED, &t).unwrap() {
        w.add_image(&format!("street_{i:06}.png"), i, &image)
            .unwrap();
    }
    let mut out = Vec::new();
    w.finish().write(&mut out).unwrap();
    let coco: Value = serde_json::from_slice(&out).unwrap();

    // Expected instances: rectangles, polygons and bitmaps on sampled frames, from the input.
    let mut want = Vec::new();
    for frame in ann["frames"].as_array().unwrap() {
        let i = frame["index"].as_u64().unwrap();
        if !SAMPLED.contains(&i) {
            continue;
        }
        for fig in frame["figures"].as_array().unwrap() {
            let kind = fig["geometryType"].as_str().unwrap();
            if ["rectangle", "polygon", "bitmap"].contains(&kind) {
                want.push((i, fig["objectKey"].as_str().unwrap().to_owned(), kind, fig));
            }
        }
    }
    let images = coco["images"].as_array().unwrap();
    let annotations = coco["annotations"].as_array().unwrap();
    assert_eq!(images.len(), SAMPLED.len());
    assert_eq!(annotations.len(), want.len());
    assert_eq!(
        coco["categories"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["name"].as_str().unwrap())
            .collect::<Vec<_>>(),
        ["car", "pedestrian", "lane", "traffic_light", "road"]
    );
    for (a, (i, key, kind, fig)) in annotations.iter().zip(&want) {
        assert_eq!(a["frame_index"], *i);
        assert_eq!(a["object_id"], key.as_str());
        assert_eq!(a["iscrowd"], 0);
        let image = images.iter().find(|im| im["id"] == a["image_id"]).unwrap();
        assert_eq!(image["frame_index"], *i);
        assert_eq!(image["file_name"], format!("street_{i:06}.png"));
        let bbox: Vec<f64> = a["bbox"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_f64().unwrap())
            .collect();
        match *kind {
            "rectangle" => {
                let e = fig["geometry"]["points"]["exterior"].as_array().unwrap();
                let ((x0, y0), (x1, y1)) = (xy(&e[0]), xy(&e[1]));
                let (l, r) = (x0.min(x1).clamp(0.0, 1279.0), x0.max(x1).clamp(0.0, 1279.0));
                let (t, b) = (y0.min(y1).clamp(0.0, 719.0), y0.max(y1).clamp(0.0, 719.0));
                assert_eq!(bbox, [l, t, r - l + 1.0, b - t + 1.0]);
                assert_eq!(a["category_id"], 1);
            }
            "polygon" => {
                let e = fig["geometry"]["points"]["exterior"].as_array().unwrap();
                let xs: Vec<f64> = e.iter().map(|p| xy(p).0).collect();
                let ys: Vec<f64> = e.iter().map(|p| xy(p).1).collect();
                let min = |v: &[f64]| v.iter().copied().fold(f64::INFINITY, f64::min);
                let max = |v: &[f64]| v.iter().copied().fold(f64::NEG_INFINITY, f64::max);
                assert_eq!(
                    bbox,
                    [min(&xs), min(&ys), max(&xs) - min(&xs), max(&ys) - min(&ys)]
                );
                assert_eq!(a["segmentation"][0].as_array().unwrap().len(), 2 * e.len());
            }
            _ => {
                let mask = decode_mask(fig["geometry"]["bitmap"]["data"].as_str().unwrap());
                let o = &fig["geometry"]["bitmap"]["origin"];
                assert_eq!(
                    bbox,
                    [
                        o[0].as_f64().unwrap(),
                        o[1].as_f64().unwrap(),
                        f64::from(mask.width()),
                        f64::from(mask.height())
                    ]
                );
                assert_eq!(a["area"].as_f64().unwrap(), mask.count() as f64);
                let counts = a["segmentation"]["counts"].as_array().unwrap();
                let total: u64 = counts.iter().map(|c| c.as_u64().unwrap()).sum();
                assert_eq!(total, 1280 * 720);
            }
        }
    }
}

#[test]
fn broken_fixture_copies_fail_with_the_place_named() {
    let (_, ann, _) = load();
    let meta = supervisely::parse_meta(
        "meta.json",
        &std::fs::read_to_string(data("meta.json")).unwrap(),
    )
    .unwrap();
    // A figure of frame 14 pointing at an object that does not exist.
    let mut broken = ann.clone();
    let frames = broken["frames"].as_array_mut().unwrap();
    let j = frames.iter().position(|f| f["index"] == 14).unwrap();
    frames[j]["figures"][0]["objectKey"] = "deleted-object".into();
    let e = supervisely::video_annotation_from_value(ANN, &broken, Some(&meta)).unwrap_err();
    let msg = e.to_string();
    assert!(
        msg.contains(&format!("frames[{j}] (index 14) / figures[0]"))
            && msg.contains("\"deleted-object\""),
        "{msg}"
    );
}
