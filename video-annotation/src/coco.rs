//! COCO instances files: one per dataset.
//!
//! [`CocoWriter`] collects the images of a dataset (from any number of videos) with their
//! annotations and gives a [`CocoDataset`], which serialises to a COCO instances JSON file.
//! Categories are the project's classes in order, with ids from 1. Next to COCO's own fields,
//! images and annotations keep `frame_index` and annotations keep `object_id` (the video
//! object's identity, from the label's [`OBJECT_ID_TAG`](crate::OBJECT_ID_TAG) tag).
//!
//! How labels become COCO annotations (coordinates in the image's pixels, as the labels have
//! them):
//! - a **rectangle** covers the pixels `left..=right` × `top..=bottom`: `bbox` is
//!   `[left, top, right − left + 1, bottom − top + 1]`, `area` its width × height and
//!   `segmentation` the box's outline;
//! - a **polygon**'s outline is its `segmentation` (one list of `x, y` pairs), `bbox` the extent
//!   of its vertices and `area` the outline's area less its holes' (COCO polygons cannot
//!   hold holes, so the outline alone is drawn);
//! - a **bitmap** becomes an uncompressed run-length `segmentation` (`{"counts", "size"}`,
//!   column-major over the whole image, starting with a run of unset pixels, as pycocotools
//!   reads it), `bbox` the box of its set pixels and `area` their count;
//! - **points** and **polylines** are not instances: they are skipped and counted in
//!   [`CocoWriter::skipped_labels`].
//!
//! `iscrowd` is always 0: every label is one object.

use std::collections::HashMap;
use std::io::Write;

use serde::{Deserialize, Serialize};

use crate::geometry::ring_area2;
use crate::model::{Geometry, ImageAnnotation, ProjectMeta};
use video_core::{Error, Result};

/// A COCO instances file.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct CocoDataset {
    /// The images.
    pub images: Vec<CocoImage>,
    /// The instances on them.
    pub annotations: Vec<CocoAnnotation>,
    /// The categories, one per class.
    pub categories: Vec<CocoCategory>,
}

/// One image of a [`CocoDataset`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CocoImage {
    /// Image id, from 1.
    pub id: u64,
    /// The image's file name in the dataset.
    pub file_name: String,
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// The video frame the image shows (extra field).
    pub frame_index: u64,
}

/// One instance of a [`CocoDataset`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CocoAnnotation {
    /// Annotation id, from 1.
    pub id: u64,
    /// The [`CocoImage::id`] it is on.
    pub image_id: u64,
    /// The [`CocoCategory::id`] of its class.
    pub category_id: u64,
    /// `[x, y, width, height]`.
    pub bbox: [f64; 4],
    /// Area in pixels.
    pub area: f64,
    /// Always 0.
    pub iscrowd: u8,
    /// Its outline or mask.
    pub segmentation: Segmentation,
    /// The video object it belongs to (extra field), when the label says.
    pub object_id: Option<String>,
    /// The video frame the image shows (extra field).
    pub frame_index: u64,
}

/// A COCO segmentation.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Segmentation {
    /// Polygons, each a flat list `x0, y0, x1, y1, …`.
    Polygons(Vec<Vec<f64>>),
    /// Uncompressed run-length encoding over the image, column-major.
    Rle {
        /// Alternating run lengths, unset pixels first.
        counts: Vec<u64>,
        /// `[height, width]`.
        size: [u32; 2],
    },
}

/// A COCO category.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CocoCategory {
    /// Category id, from 1 in class order.
    pub id: u64,
    /// The class name.
    pub name: String,
    /// Empty.
    pub supercategory: String,
}

/// Builds a [`CocoDataset`] image by image.
#[derive(Debug, Clone)]
pub struct CocoWriter {
    dataset: CocoDataset,
    category_of: HashMap<String, u64>,
    skipped: u64,
}

impl CocoWriter {
    /// A writer whose categories are the classes of `meta`.
    pub fn new(meta: &ProjectMeta) -> Self {
        let categories: Vec<CocoCategory> = meta
            .classes
            .iter()
            .enumerate()
            .map(|(i, c)| CocoCategory {
                id: i as u64 + 1,
                name: c.name.clone(),
                supercategory: String::new(),
            })
            .collect();
        CocoWriter {
            category_of: categories.iter().map(|c| (c.name.clone(), c.id)).collect(),
            dataset: CocoDataset {
                categories,
                ..CocoDataset::default()
            },
            skipped: 0,
        }
    }

    /// Add image `file_name`, showing video frame `frame_index`, with its annotation. Returns
    /// the image's id.
    ///
    /// # Errors
    /// [`Error::Annotation`] naming the image and label when a label's class is not in the
    /// meta or a coordinate is not finite; nothing is added then.
    pub fn add_image(
        &mut self,
        file_name: &str,
        frame_index: u64,
        annotation: &ImageAnnotation,
    ) -> Result<u64> {
        let image_id = self.dataset.images.len() as u64 + 1;
        let first_id = self.dataset.annotations.len() as u64 + 1;
        let size = annotation.size;
        let mut added = Vec::new();
        let mut skipped = 0;
        for (i, label) in annotation.labels.iter().enumerate() {
            let err = |reason: String| Error::Annotation {
                source_name: file_name.to_owned(),
                location: format!("labels[{i}] (class {:?})", label.class),
                reason,
                source: None,
            };
            let category_id = *self
                .category_of
                .get(&label.class)
                .ok_or_else(|| err("class is not in the project meta".into()))?;
            let Some((bbox, area, segmentation)) = instance(&label.geometry, size) else {
                skipped += 1;
                continue;
            };
            if !bbox.iter().chain([&area]).all(|v| v.is_finite()) {
                return Err(err("coordinate is not finite".into()));
            }
            added.push(CocoAnnotation {
                id: first_id + added.len() as u64,
                image_id,
                category_id,
                bbox,
                area,
                iscrowd: 0,
                segmentation,
                object_id: label.object_id().map(str::to_owned),
                frame_index,
            });
        }
        self.dataset.images.push(CocoImage {
            id: image_id,
            file_name: file_name.to_owned(),
            width: size.width,
            height: size.height,
            frame_index,
        });
        self.dataset.annotations.extend(added);
        self.skipped += skipped;
        Ok(image_id)
    }

    /// How many labels were points or polylines, which COCO instances do not hold.
    pub fn skipped_labels(&self) -> u64 {
        self.skipped
    }

    /// The dataset.
    pub fn finish(self) -> CocoDataset {
        self.dataset
    }
}

impl CocoDataset {
    /// One dataset holding the images and instances of all `parts` (for example one per video
    /// written into the same folder), in order. Categories are matched by name, in order of
    /// first appearance, with ids from 1; image and annotation ids are renumbered from 1 and
    /// annotations point at their image's and category's new ids. Everything else is kept.
    ///
    /// ```
    /// use video_annotation::coco::{CocoCategory, CocoDataset};
    /// let cat = |id, name: &str| CocoCategory { id, name: name.into(), supercategory: String::new() };
    /// let a = CocoDataset { categories: vec![cat(1, "car")], ..CocoDataset::default() };
    /// let b = CocoDataset { categories: vec![cat(1, "person"), cat(2, "car")], ..CocoDataset::default() };
    /// let m = CocoDataset::merge([a, b]);
    /// assert_eq!(m.categories, [cat(1, "car"), cat(2, "person")]);
    /// ```
    pub fn merge(parts: impl IntoIterator<Item = CocoDataset>) -> CocoDataset {
        let mut out = CocoDataset::default();
        let mut category_ids: HashMap<String, u64> = HashMap::new();
        for part in parts {
            let mut category_of = HashMap::new();
            for c in part.categories {
                let next = category_ids.len() as u64 + 1;
                let id = *category_ids.entry(c.name.clone()).or_insert_with(|| {
                    out.categories.push(CocoCategory {
                        id: next,
                        ..c.clone()
                    });
                    next
                });
                category_of.insert(c.id, id);
            }
            let mut image_of = HashMap::new();
            for mut image in part.images {
                let id = out.images.len() as u64 + 1;
                image_of.insert(image.id, id);
                image.id = id;
                out.images.push(image);
            }
            for mut a in part.annotations {
                a.id = out.annotations.len() as u64 + 1;
                a.image_id = image_of.get(&a.image_id).copied().unwrap_or(0);
                a.category_id = category_of.get(&a.category_id).copied().unwrap_or(0);
                out.annotations.push(a);
            }
        }
        out
    }

    /// Write as JSON.
    ///
    /// # Errors
    /// [`Error::Annotation`] when the writer fails.
    pub fn write(&self, writer: impl Write) -> Result<()> {
        serde_json::to_writer(writer, self).map_err(|e| Error::Annotation {
            source_name: "COCO dataset".into(),
            location: String::new(),
            reason: "could not be written".into(),
            source: Some(Box::new(e)),
        })
    }
}

/// `bbox`, `area` and `segmentation` of a geometry; `None` for points and polylines.
fn instance(g: &Geometry, size: crate::ImageSize) -> Option<([f64; 4], f64, Segmentation)> {
    match g {
        &Geometry::Rectangle {
            left,
            top,
            right,
            bottom,
        } => {
            // Corners given the wrong way round (built in memory) describe the same rectangle,
            // never a negative area.
            let (left, right) = (left.min(right), left.max(right));
            let (top, bottom) = (top.min(bottom), top.max(bottom));
            let (w, h) = (right - left + 1.0, bottom - top + 1.0);
            let (r, b) = (right + 1.0, bottom + 1.0);
            Some((
                [left, top, w, h],
                w * h,
                Segmentation::Polygons(vec![vec![left, top, r, top, r, b, left, b]]),
            ))
        }
        Geometry::Polygon {
            exterior,
            interiors,
        } => {
            let (l, t, r, b) = g.bounds()?;
            let area = (ring_area2(exterior).abs()
                - interiors.iter().map(|h| ring_area2(h).abs()).sum::<f64>())
                / 2.0;
            Some((
                [l, t, r - l, b - t],
                area.max(0.0),
                Segmentation::Polygons(vec![exterior.iter().flat_map(|p| [p.x, p.y]).collect()]),
            ))
        }
        Geometry::Bitmap {
            origin_x,
            origin_y,
            mask,
        } => {
            let (l, t, r, b) = g.bounds()?;
            let counts = rle_counts(*origin_x, *origin_y, mask, size);
            Some((
                [l, t, r - l + 1.0, b - t + 1.0],
                mask.count() as f64,
                Segmentation::Rle {
                    counts,
                    size: [size.height, size.width],
                },
            ))
        }
        _ => None,
    }
}

/// The uncompressed RLE counts of `mask` placed at `(origin_x, origin_y)` on an image of `size`:
/// column-major, starting with a run of unset pixels.
///
/// The columns and rows outside the mask are counted in bulk, so the work is bounded by the
/// mask's size, not by the image's (which can be declared as large as `u32::MAX` squared).
fn rle_counts(
    origin_x: i64,
    origin_y: i64,
    mask: &crate::Mask,
    size: crate::ImageSize,
) -> Vec<u64> {
    let (w, h) = (i64::from(size.width), i64::from(size.height));
    // The image columns and rows the mask covers, clipped to the image.
    let cols = (
        origin_x.clamp(0, w),
        origin_x.saturating_add(i64::from(mask.width())).clamp(0, w),
    );
    let rows = (
        origin_y.clamp(0, h),
        origin_y
            .saturating_add(i64::from(mask.height()))
            .clamp(0, h),
    );
    let mut counts = Vec::new();
    let (mut run, mut current) = (0u64, false);
    let mut push = |set: bool, len: u64| {
        if len == 0 {
            return;
        }
        if set != current {
            counts.push(run);
            (run, current) = (0, set);
        }
        run += len;
    };
    // The values are clamped to [0, u32::MAX], so the casts are exact and the products fit u64.
    let (hu, c0, c1, r0, r1) = (
        h as u64,
        cols.0 as u64,
        cols.1 as u64,
        rows.0 as u64,
        rows.1 as u64,
    );
    push(false, c0 * hu);
    for x in cols.0..cols.1 {
        push(false, r0);
        for y in rows.0..rows.1 {
            // In the mask's range by construction: x - origin_x in [0, mask width).
            let (mx, my) = ((x - origin_x) as u32, (y - origin_y) as u32);
            push(mask.get(mx, my), 1);
        }
        push(false, hu - r1);
    }
    push(false, (w as u64 - c1) * hu);
    counts.push(run);
    counts
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_rectangle_with_swapped_corners_is_the_same_rectangle() {
        let size = crate::ImageSize {
            width: 100,
            height: 80,
        };
        let rect = |left, top, right, bottom| Geometry::Rectangle {
            left,
            top,
            right,
            bottom,
        };
        let (bbox, area, _) = instance(&rect(30.0, 20.0, 10.0, 5.0), size).unwrap();
        assert_eq!(bbox, [10.0, 5.0, 21.0, 16.0]);
        assert_eq!(area, 21.0 * 16.0);
        let (normal, _, _) = instance(&rect(10.0, 5.0, 30.0, 20.0), size).unwrap();
        assert_eq!(bbox, normal);
    }

    use super::*;
    use crate::model::*;

    fn label(class: &str, geometry: Geometry, object: &str) -> Label {
        Label {
            class: class.into(),
            geometry,
            tags: vec![Tag::new(
                crate::OBJECT_ID_TAG,
                TagValue::Text(object.into()),
            )],
        }
    }

    fn meta() -> ProjectMeta {
        ProjectMeta {
            classes: vec![
                ObjectClass {
                    name: "car".into(),
                    shape: Shape::Rectangle,
                    color: None,
                },
                ObjectClass {
                    name: "road".into(),
                    shape: Shape::Any,
                    color: None,
                },
            ],
            tag_metas: vec![],
        }
    }

    #[test]
    fn boxes_polygons_masks_and_skipped_shapes() {
        let mut w = CocoWriter::new(&meta());
        let ann = ImageAnnotation {
            size: ImageSize::new(4, 3),
            labels: vec![
                label(
                    "car",
                    Geometry::Rectangle {
                        left: 1.0,
                        top: 0.0,
                        right: 2.0,
                        bottom: 2.0,
                    },
                    "c1",
                ),
                label(
                    "road",
                    Geometry::Polygon {
                        exterior: vec![
                            Point::new(0.0, 0.0),
                            Point::new(3.0, 0.0),
                            Point::new(3.0, 2.0),
                            Point::new(0.0, 2.0),
                        ],
                        interiors: vec![vec![
                            Point::new(1.0, 1.0),
                            Point::new(2.0, 1.0),
                            Point::new(2.0, 2.0),
                        ]],
                    },
                    "r1",
                ),
                label("road", Geometry::Point { x: 1.0, y: 1.0 }, "p"),
                // Pixels (1,1) and (2,1): column-major runs over 4x3 = 4 unset, 1, 2 unset, 1, 4.
                label(
                    "road",
                    Geometry::Bitmap {
                        origin_x: 1,
                        origin_y: 1,
                        mask: Mask::from_fn(2, 1, |_, _| true),
                    },
                    "m",
                ),
            ],
            tags: vec![],
        };
        assert_eq!(w.add_image("a.png", 42, &ann).unwrap(), 1);
        assert_eq!(w.skipped_labels(), 1);
        let d = w.finish();
        assert_eq!(d.categories[1].id, 2);
        assert_eq!(d.images[0].frame_index, 42);
        let a = &d.annotations;
        assert_eq!(a.len(), 3);
        assert_eq!(a[0].bbox, [1.0, 0.0, 2.0, 3.0]);
        assert_eq!(a[0].area, 6.0);
        assert_eq!(a[0].category_id, 1);
        assert_eq!(a[1].bbox, [0.0, 0.0, 3.0, 2.0]);
        assert_eq!(a[1].area, 6.0 - 0.5);
        assert_eq!(
            a[1].segmentation,
            Segmentation::Polygons(vec![vec![0.0, 0.0, 3.0, 0.0, 3.0, 2.0, 0.0, 2.0]])
        );
        assert_eq!(a[2].bbox, [1.0, 1.0, 2.0, 1.0]);
        assert_eq!(
            a[2].segmentation,
            Segmentation::Rle {
                counts: vec![4, 1, 2, 1, 4],
                size: [3, 4]
            }
        );
        assert_eq!(a[2].object_id.as_deref(), Some("m"));
        assert_eq!(a.iter().map(|x| x.id).collect::<Vec<_>>(), [1, 2, 3]);
    }

    #[test]
    fn unknown_class_is_an_error_and_adds_nothing() {
        let mut w = CocoWriter::new(&meta());
        let ann = ImageAnnotation {
            size: ImageSize::new(4, 3),
            labels: vec![label("boat", Geometry::Point { x: 0.0, y: 0.0 }, "b")],
            tags: vec![],
        };
        let e = w.add_image("x.png", 0, &ann).unwrap_err();
        assert!(
            e.to_string().contains("x.png: labels[0] (class \"boat\")"),
            "{e}"
        );
        assert!(w.finish().images.is_empty());
    }
}
