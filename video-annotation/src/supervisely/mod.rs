//! Supervisely's JSON formats: project `meta.json`, video annotations (read) and image
//! annotations (write, and read back).
//!
//! Every reader takes a `source_name` (usually the file name) that errors repeat, and reports
//! malformed input as [`Error::Annotation`](video_core::Error::Annotation) naming the member,
//! object, frame and figure, for example `clip.mp4.json: frames[2] (index 12) / figures[0] (key
//! "f7"): objectKey "x" names no object`.
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
//! ([`annotation_file_name`]), to be uploaded with the images project's meta ([`meta_to_value`] of
//! [`ProjectMeta::for_images`](crate::ProjectMeta::for_images)). Coordinates are rounded to whole
//! pixels, as Supervisely stores them; a rectangle is written as its top-left and bottom-right
//! pixels.

// One file per concern: `meta` (project meta: classes, tag metas), `tags`, `geometry`
// (Supervisely geometry JSON and shape names), `video` (video annotations) and `image` (image
// annotations and their file names), on a shared reader (`context`) whose errors name the
// document and the place in it.

mod context;
mod geometry;
mod image;
mod meta;
mod tags;
mod video;

pub use geometry::shape_name;
pub use image::{
    annotation_file_name, image_annotation_from_value, image_annotation_to_value,
    parse_image_annotation, write_image_annotation,
};
pub use meta::{meta_from_value, meta_to_value, parse_meta, read_meta};
pub use video::{parse_video_annotation, read_video_annotation, video_annotation_from_value};

/// Documents shared by the tests of several files.
#[cfg(test)]
mod test_data {
    use serde_json::{Value, json};

    /// A project meta declaring the classes and tags of the test video annotation.
    pub(super) fn meta() -> Value {
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
}
