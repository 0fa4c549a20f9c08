//! Target `coco`: COCO files as the job reads them back (serde), `CocoDataset::merge`, and
//! `CocoWriter` on arbitrary labels and image sizes.

use std::collections::HashMap;

use proptest::collection::vec;
use proptest::prelude::*;
use proptest::test_runner::TestCaseError;
use serde_json::{Value, json};
use video_annotation::coco::{CocoDataset, CocoWriter, Segmentation};
use video_annotation::{
    Geometry, ImageAnnotation, ImageSize, Label, ObjectClass, ProjectMeta, Shape, Tag, TagValue,
};
use video_core::Error;

use super::check;
use super::json::{Mutation, any_json, mutation, number};
use super::supervisely::any_geometry;

fn id() -> impl Strategy<Value = Value> {
    prop_oneof![8 => (0u64..6).prop_map(|v| json!(v)), 1 => number()]
}

fn f() -> impl Strategy<Value = Value> {
    prop_oneof![8 => (-5.0..50.0f64).prop_map(|v| json!(v)), 1 => number()]
}

fn coco_doc() -> impl Strategy<Value = Value> {
    let image = (id(), "[a-z]{1,4}", (0u32..50, 0u32..50), 0u64..20).prop_map(|(id, name, (w, h), fi)| {
        json!({"id": id, "file_name": format!("{name}.png"), "width": w, "height": h, "frame_index": fi})
    });
    let seg = prop_oneof![
        vec(vec(f(), 0..8), 0..3).prop_map(|p| json!(p)),
        (vec(0u64..10, 0..8), 0u32..10, 0u32..10)
            .prop_map(|(c, h, w)| json!({"counts": c, "size": [h, w]})),
        any_json(),
    ];
    let ann = (
        id(),
        id(),
        id(),
        vec(f(), 4),
        f(),
        seg,
        proptest::option::of("[a-z]{1,3}"),
        0u64..20,
    )
        .prop_map(
            |(id, image_id, category_id, bbox, area, seg, object_id, fi)| {
                json!({"id": id, "image_id": image_id, "category_id": category_id, "bbox": bbox,
                   "area": area, "iscrowd": 0, "segmentation": seg, "object_id": object_id,
                   "frame_index": fi})
            },
        );
    let cat = (id(), prop_oneof![Just("car"), Just("person"), Just("road")])
        .prop_map(|(id, name)| json!({"id": id, "name": name, "supercategory": ""}));
    (vec(image, 0..5), vec(ann, 0..6), vec(cat, 0..4))
        .prop_map(|(i, a, c)| json!({"images": i, "annotations": a, "categories": c}))
}

#[derive(Clone, Debug)]
pub(crate) struct MergeCase {
    parts: Vec<(Value, Vec<Mutation>)>,
}

fn merge_case() -> impl Strategy<Value = MergeCase> {
    let muts = prop_oneof![3 => Just(Vec::new()), 2 => vec(mutation(), 1..3)];
    vec((coco_doc(), muts), 0..4).prop_map(|parts| MergeCase { parts })
}

fn check_merge(c: &MergeCase) -> Result<(), TestCaseError> {
    let mut parts = Vec::new();
    for (v, muts) in &c.parts {
        let mut v = v.clone();
        for m in muts {
            m.apply(&mut v);
        }
        // The job reads parts with serde_json::from_slice.
        if let Ok(d) = serde_json::from_slice::<CocoDataset>(v.to_string().as_bytes()) {
            parts.push(d);
        }
    }
    let m = CocoDataset::merge(parts.clone());
    check(
        m.images
            .iter()
            .enumerate()
            .all(|(i, im)| im.id == i as u64 + 1),
        || "image ids not 1..".into(),
    )?;
    check(
        m.annotations
            .iter()
            .enumerate()
            .all(|(i, a)| a.id == i as u64 + 1),
        || "annotation ids not 1..".into(),
    )?;
    check(
        m.categories
            .iter()
            .enumerate()
            .all(|(i, c)| c.id == i as u64 + 1),
        || "category ids not 1..".into(),
    )?;
    let names: std::collections::HashSet<&str> =
        m.categories.iter().map(|c| c.name.as_str()).collect();
    check(names.len() == m.categories.len(), || {
        "a category name twice".into()
    })?;
    // Each annotation points at an image of its own part with its old id (or 0 when there was
    // none), and at the category of the same name.
    let mut next_image = 0usize;
    let mut next_ann = 0usize;
    for p in &parts {
        let base = next_image;
        let cats: HashMap<u64, &str> = p
            .categories
            .iter()
            .map(|c| (c.id, c.name.as_str()))
            .collect();
        for a in &p.annotations {
            let got = &m.annotations[next_ann];
            next_ann += 1;
            if p.images.iter().any(|im| im.id == a.image_id) {
                let new = got.image_id as usize;
                check(new > base && new <= base + p.images.len(), || {
                    "image of another part".into()
                })?;
                check(p.images[new - base - 1].id == a.image_id, || {
                    "wrong image".into()
                })?;
            } else {
                check(got.image_id == 0, || "an unknown image got an id".into())?;
            }
            match cats.get(&a.category_id) {
                Some(name) => {
                    let c = m.categories.get((got.category_id as usize).wrapping_sub(1));
                    check(c.is_some_and(|c| c.name == *name), || {
                        "wrong category".into()
                    })?;
                }
                None => check(got.category_id == 0, || {
                    "an unknown category got an id".into()
                })?,
            }
        }
        next_image += p.images.len();
    }
    let mut out = Vec::new();
    m.write(&mut out)
        .map_err(|e| TestCaseError::fail(format!("write: {e}")))?;
    serde_json::from_slice::<CocoDataset>(&out)
        .map_err(|e| TestCaseError::fail(format!("a written file does not read back: {e}")))?;
    Ok(())
}

#[derive(Clone, Debug)]
pub(crate) struct WriterCase {
    size: (u32, u32),
    labels: Vec<(usize, Geometry, bool)>,
}

fn writer_case() -> impl Strategy<Value = WriterCase> {
    let size = prop_oneof![
        6 => (0u32..40, 0u32..40),
        1 => Just((u32::MAX, u32::MAX)),
        1 => Just((u32::MAX, 1)),
        1 => Just((1, u32::MAX)),
        1 => (any::<u32>(), any::<u32>()),
    ];
    (size, vec((0usize..4, any_geometry(), any::<bool>()), 0..5))
        .prop_map(|(size, labels)| WriterCase { size, labels })
}

/// The pixels an uncompressed RLE sets, column-major over `w` × `h` (only for small images).
fn decode_rle(counts: &[u64], w: u32, h: u32) -> Vec<(u32, u32)> {
    let mut set = Vec::new();
    let mut pos = 0u64;
    for (i, &c) in counts.iter().enumerate() {
        if i % 2 == 1 {
            for p in pos..pos + c {
                set.push(((p / u64::from(h)) as u32, (p % u64::from(h)) as u32));
            }
        }
        pos += c;
    }
    let _ = w;
    set
}

fn check_writer(c: &WriterCase) -> Result<(), TestCaseError> {
    let meta = ProjectMeta {
        classes: ["car", "person", "road"]
            .iter()
            .map(|n| ObjectClass {
                name: (*n).into(),
                shape: Shape::Any,
                color: None,
            })
            .collect(),
        tag_metas: vec![],
    };
    let size = ImageSize::new(c.size.0, c.size.1);
    let ann = ImageAnnotation {
        size,
        labels: c
            .labels
            .iter()
            .map(|(class, g, obj)| Label {
                class: ["car", "person", "road", "boat"][*class].into(),
                geometry: g.clone(),
                tags: if *obj {
                    vec![Tag::new("object_id", TagValue::Text("o".into()))]
                } else {
                    vec![]
                },
            })
            .collect(),
        tags: vec![],
    };
    let mut w = CocoWriter::new(&meta);
    match w.add_image("fuzz/a.png", 3, &ann) {
        Err(e @ Error::Annotation { .. }) => {
            return check(e.to_string().starts_with("fuzz/a.png: labels["), || {
                format!("{e}")
            });
        }
        Err(e) => return Err(TestCaseError::fail(format!("unexpected error {e:?}"))),
        Ok(_) => {}
    }
    let d = w.finish();
    check(c.labels.iter().all(|(class, ..)| *class < 3), || {
        "an unknown class was accepted".into()
    })?;
    for (a, (_, g, _)) in d
        .annotations
        .iter()
        .zip(c.labels.iter().filter(|(_, g, _)| {
            !matches!(g, Geometry::Point { .. } | Geometry::Polyline { .. }) && g.bounds().is_some()
        }))
    {
        check(a.bbox.iter().all(|v| v.is_finite()), || {
            format!("bbox {:?}", a.bbox)
        })?;
        if let (
            Segmentation::Rle {
                counts,
                size: [h, wd],
            },
            Geometry::Bitmap {
                origin_x,
                origin_y,
                mask,
            },
        ) = (&a.segmentation, g)
        {
            let total: u128 = counts.iter().map(|&v| u128::from(v)).sum();
            check(total == u128::from(*h) * u128::from(*wd), || {
                format!("RLE sums to {total}")
            })?;
            check(
                counts.len() as u64 <= 2 * u64::from(mask.width()) * u64::from(mask.height()) + 2,
                || "more runs than the mask can make".into(),
            )?;
            if u64::from(*h) * u64::from(*wd) <= 4096 {
                let got = decode_rle(counts, *wd, *h);
                let mut want = Vec::new();
                for x in 0..*wd {
                    for y in 0..*h {
                        let (mx, my) = (
                            i128::from(x) - i128::from(*origin_x),
                            i128::from(y) - i128::from(*origin_y),
                        );
                        if mx >= 0
                            && my >= 0
                            && mx < i128::from(mask.width())
                            && my < i128::from(mask.height())
                            && mask.get(mx as u32, my as u32)
                        {
                            want.push((x, y));
                        }
                    }
                }
                check(got == want, || {
                    format!("RLE sets {got:?}, the mask {want:?}")
                })?;
            }
        }
    }
    let mut out = Vec::new();
    d.write(&mut out)
        .map_err(|e| TestCaseError::fail(format!("write: {e}")))?;
    Ok(())
}

pub(crate) fn fuzz() {
    super::run("coco/merge", 100, 0.4, merge_case(), |c| check_merge(&c));
    super::run("coco/writer", 150, 0.6, writer_case(), |c| check_writer(&c));
}
