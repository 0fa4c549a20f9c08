//! Inputs the fuzz targets (`tests/fuzz_annotation`, `scripts/fuzz.sh supervisely|coco`) found
//! to crash, hang, allocate without bound or give a wrong answer, kept as named regression
//! tests. Each says what the code did before its fix.

#![allow(clippy::unwrap_used)]

use std::io::Write;

use base64::Engine as _;
use serde_json::json;
use video_annotation::coco::{CocoWriter, Segmentation};
use video_annotation::{
    Geometry, GeometryTransform, ImageAnnotation, ImageSize, Label, Mask, ObjectClass, Point,
    ProjectMeta, Rotation, Shape, supervisely,
};
use video_core::Error;

/// Was: `origin + width - 1` overflowed (a panic in debug builds) for a bitmap whose origin is
/// at the end of i64, when the transform rotates.
#[test]
fn rotated_bitmap_with_an_extreme_origin_is_dropped() {
    let t = GeometryTransform::resize(ImageSize::new(1, 1), ImageSize::new(1, 1))
        .unwrap()
        .with_stored_rotation(Rotation::Cw90);
    for (ox, oy) in [(0, i64::MIN), (i64::MIN, 0), (i64::MAX, i64::MAX)] {
        for w in [0, 3] {
            let g = Geometry::Bitmap {
                origin_x: ox,
                origin_y: oy,
                mask: Mask::from_fn(w, w, |_, _| true),
            };
            assert!(t.apply(&g).is_empty(), "{ox} {oy} {w}");
        }
    }
}

/// Was: `origin + x` overflowed in `Geometry::bounds` (a panic in debug builds).
#[test]
fn bitmap_bounds_with_an_extreme_origin() {
    let g = Geometry::Bitmap {
        origin_x: i64::MAX,
        origin_y: i64::MIN,
        mask: Mask::from_fn(2, 2, |_, _| true),
    };
    let (l, t, r, b) = g.bounds().unwrap();
    assert!(l <= r && t <= b && [l, t, r, b].iter().all(|v| v.is_finite()));
}

fn any_meta() -> ProjectMeta {
    ProjectMeta {
        classes: vec![ObjectClass {
            name: "car".into(),
            shape: Shape::Any,
            color: None,
        }],
        tag_metas: vec![],
    }
}

fn one_bitmap(size: ImageSize, origin_x: i64, origin_y: i64, mask: Mask) -> ImageAnnotation {
    ImageAnnotation {
        size,
        labels: vec![Label {
            class: "car".into(),
            geometry: Geometry::Bitmap {
                origin_x,
                origin_y,
                mask,
            },
            tags: vec![],
        }],
        tags: vec![],
    }
}

/// Was: `x - origin_x` overflowed in the RLE (a panic in debug builds).
#[test]
fn coco_bitmap_with_an_extreme_origin() {
    let mut w = CocoWriter::new(&any_meta());
    let ann = one_bitmap(
        ImageSize::new(1, 1),
        i64::MIN,
        0,
        Mask::from_fn(1, 1, |_, _| true),
    );
    w.add_image("a.png", 0, &ann).unwrap();
    let d = w.finish();
    assert_eq!(
        d.annotations[0].segmentation,
        Segmentation::Rle {
            counts: vec![1],
            size: [1, 1]
        }
    );
}

/// Was: the RLE walked every pixel of the image, 1.8 · 10¹⁹ for a declared `u32::MAX` square
/// (a hang). Now the work is the mask's size.
#[test]
fn coco_rle_on_a_huge_declared_image_is_bounded_by_the_mask() {
    let mut w = CocoWriter::new(&any_meta());
    let big = u32::MAX;
    let ann = one_bitmap(
        ImageSize::new(big, big),
        1,
        2,
        Mask::from_fn(2, 2, |x, y| x == y),
    );
    w.add_image("a.png", 0, &ann).unwrap();
    let d = w.finish();
    let Segmentation::Rle { counts, size } = &d.annotations[0].segmentation else {
        panic!("not an RLE");
    };
    assert_eq!(*size, [big, big]);
    let h = u64::from(big);
    // Column 1: rows 0-1 unset, row 2 set; column 2: row 3 set.
    assert_eq!(counts, &vec![h + 2, 1, h, 1, (h - 4) + (h - 3) * h]);
    assert_eq!(
        counts.iter().map(|&c| u128::from(c)).sum::<u128>(),
        u128::from(h) * u128::from(h)
    );
}

fn zip_b64(bytes: &[u8]) -> String {
    let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::fast());
    z.write_all(bytes).unwrap();
    base64::engine::general_purpose::STANDARD.encode(z.finish().unwrap())
}

/// A PNG whose header declares `w` × `h` RGBA pixels, with a token of image data.
fn declared_png(w: u32, h: u32) -> Vec<u8> {
    let chunk = |out: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]| {
        out.extend_from_slice(&(data.len() as u32).to_be_bytes());
        out.extend_from_slice(kind);
        out.extend_from_slice(data);
        let mut crc = flate2::Crc::new();
        crc.update(kind);
        crc.update(data);
        out.extend_from_slice(&crc.sum().to_be_bytes());
    };
    let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
    let mut ihdr = w.to_be_bytes().to_vec();
    ihdr.extend_from_slice(&h.to_be_bytes());
    ihdr.extend_from_slice(&[8, 6, 0, 0, 0]);
    chunk(&mut out, b"IHDR", &ihdr);
    let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::fast());
    z.write_all(&[0u8; 16]).unwrap();
    chunk(&mut out, b"IDAT", &z.finish().unwrap());
    chunk(&mut out, b"IEND", &[]);
    out
}

fn video_with_bitmap(data: &str) -> String {
    json!({
        "size": {"width": 64, "height": 64},
        "objects": [{"key": "o1", "classTitle": "mask"}],
        "frames": [{"index": 0, "figures": [{"key": "f1", "objectKey": "o1",
            "geometryType": "bitmap", "geometry": {"bitmap": {"data": data, "origin": [0, 0]}}}]}]
    })
    .to_string()
}

/// Was: a 60000 × 60000 PNG made the reader allocate its 14.4 GB output buffer before decoding
/// (and a mask of as many pixels after). Now the header is checked first.
#[test]
fn bitmap_png_declaring_60000_square_is_a_limit_error() {
    for (w, h) in [(60_000, 60_000), (8193, 8192), (65_535, 65_535)] {
        let text = video_with_bitmap(&zip_b64(&declared_png(w, h)));
        let e = supervisely::parse_video_annotation("big.json", &text, None).unwrap_err();
        match &e {
            Error::LimitExceeded {
                what,
                limit,
                actual,
            } => {
                assert!(what.starts_with("big.json: frames[0]"), "{e}");
                assert!(what.contains("figures[0]"), "{e}");
                assert_eq!(*limit, 1 << 26);
                assert_eq!(*actual, u64::from(w) * u64::from(h));
            }
            other => panic!("{w}x{h}: expected LimitExceeded, got {other:?}"),
        }
    }
    // Just under the limit the header passes and the missing data is the error.
    let text = video_with_bitmap(&zip_b64(&declared_png(8192, 8192)));
    let e = supervisely::parse_video_annotation("big.json", &text, None).unwrap_err();
    assert!(
        matches!(&e, Error::Annotation { location, .. } if location.contains("bitmap")),
        "{e}"
    );
}

/// Was: the serde form of a mask reserved `width × height` bits from the declared numbers
/// before checking the rows (34 GB for this one).
#[test]
fn mask_json_with_a_huge_declared_width_is_an_error() {
    let text = json!({"width": u32::MAX, "height": 8, "rows": vec!["0"; 8]}).to_string();
    let e = serde_json::from_str::<Mask>(&text).unwrap_err();
    assert!(e.to_string().contains("columns"), "{e}");
}

/// Whether every vertex of a clipped geometry lies on the pixel centres of `size`.
fn on_image(size: ImageSize, g: &Geometry) -> bool {
    let (wm, hm) = (f64::from(size.width) - 1.0, f64::from(size.height) - 1.0);
    let on = |p: &Point| (0.0..=wm).contains(&p.x) && (0.0..=hm).contains(&p.y);
    match g {
        Geometry::Polyline { points } => points.iter().all(on),
        Geometry::Polygon {
            exterior,
            interiors,
        } => exterior.iter().chain(interiors.iter().flatten()).all(on),
        _ => unreachable!(),
    }
}

/// Was (found by the long fuzz run): clipping a segment from y = 1.4 · 10¹⁷ down into the image
/// computed its crossing of the bottom edge as y = 51.1 on a 41-pixel-high image, because a
/// float that large is 16 units from the next; the label ended up off the image.
#[test]
fn clipping_lines_and_polygons_from_far_away_stays_on_the_image() {
    let out = ImageSize::new(1, 41);
    let t = GeometryTransform::resize(ImageSize::new(1, 75), out)
        .unwrap()
        .with_stored_rotation(Rotation::Cw180);
    let far = Point::new(0.0, 1.434_828_903_186_605_8e17);
    let near = Point::new(0.0, -19.917_996_248_630_253);
    let line = Geometry::Polyline {
        points: vec![far, near],
    };
    let got = t.apply(&line);
    assert!(!got.is_empty());
    assert!(got.iter().all(|g| on_image(out, g)), "{got:?}");

    let out = ImageSize::new(40, 41);
    let t = GeometryTransform::identity(out);
    let polygon = Geometry::Polygon {
        exterior: vec![
            Point::new(0.0, 1.434_828_903_186_605_8e17),
            Point::new(3.0, -19.9),
            Point::new(30.0, -19.9),
        ],
        interiors: vec![],
    };
    let got = t.apply(&polygon);
    assert!(!got.is_empty());
    assert!(got.iter().all(|g| on_image(out, g)), "{got:?}");
}
