//! The annotations of **video-dataset**: video annotations, and how they travel to the sampled
//! frames.
//!
//! This crate sits on [`video_core`] (its frame indices,
//! [`VideoMetadata`](video_core::VideoMetadata), [`Error`](video_core::Error)) and nothing else
//! of the workspace; video-core knows nothing of it. It holds:
//!
//! | part | what |
//! |---|---|
//! | the model | [`VideoAnnotation`] (its [`VideoObject`]s, per-frame [`Figure`]s with a [`Geometry`], frame-ranged [`VideoTag`]s) and [`ImageAnnotation`] (its [`Label`]s and [`Tag`]s), declared by a [`ProjectMeta`] (classes, tag metas); format-neutral |
//! | conversion | [`VideoAnnotation::frame_annotation`]: the annotation of one sampled frame, by the [rules below](#conversion-rules), with geometry moved onto the stored image by a [`GeometryTransform`] |
//! | [`supervisely`] | Supervisely's JSON: project `meta.json` (read, write), video annotations (read), image annotations (write, read back) |
//! | [`coco`] | COCO instances files: [`CocoWriter`](coco::CocoWriter) from image annotations, [`CocoDataset`](coco::CocoDataset) to read and merge them |
//! | extraction | [`SuperviselyAnnotator`]: a [`FrameAnnotator`](video_core::FrameAnnotator) that writes each stored frame's Supervisely image annotation |
//!
//! # How it plugs into extraction
//!
//! Extraction ([`video_core::extract_to_sink_opts`]) knows annotations only as the
//! [`FrameAnnotator`](video_core::FrameAnnotator) trait: once a frame is stored, the annotator
//! turns its [`FrameRecord`](video_core::FrameRecord) (index and stored size) into a JSON
//! document, which the sink stores with
//! [`DatasetSink::write_annotation`](video_core::DatasetSink::write_annotation). Give it a
//! [`SuperviselyAnnotator`] through
//! [`ExtractToSinkOptions::annotator`](video_core::ExtractToSinkOptions::annotator), after
//! checking the annotation belongs to the video ([`VideoAnnotation::fit_to_video`]). The
//! `video-dataset` package does all of this for `ExtractOptions::annotation`, and also writes the
//! project meta and the COCO file; it re-exports this crate as `video_dataset::annotation`.
//!
//! ```
//! use std::sync::Arc;
//! use video_annotation::{SuperviselyAnnotator, supervisely};
//! use video_core::{ExtractToSinkOptions, VideoMetadata};
//!
//! let ann = supervisely::parse_video_annotation("clip.mp4.json", r#"{
//!     "size": {"width": 640, "height": 360}, "objects": [], "frames": []
//! }"#, None)?;
//! let mut video = VideoMetadata::new("clip.mp4"); // as a Demuxer probes it
//! (video.width, video.height) = (640, 360);
//! (video.stored_width, video.stored_height) = (640, 360);
//! let rotation = ann.fit_to_video("clip.mp4.json", &video)?;
//! let annotator = SuperviselyAnnotator::new("clip.mp4.json", Arc::new(ann))
//!     .with_stored_rotation(rotation);
//! let options = ExtractToSinkOptions::default().annotator(Some(Arc::new(annotator)));
//! // extract_to_sink_opts(&mut source, &encoder, &sink, &video_ref, &manifest, &plan, &options)
//! # let _ = options;
//! # Ok::<(), video_core::Error>(())
//! ```
//!
//! # Features
//!
//! This crate has no optional features.
//!
//! # Frames
//!
//! Frame indices are video-core's frame indices (see
//! [its crate docs](video_core#what-frame-n-means)): 0-based, presentation order. A
//! [`FrameRange`] includes both its ends.
//!
//! # Coordinates
//!
//! Coordinates are pixel coordinates, `x` to the right and `y` down, with integer values naming
//! pixels: `(0, 0)` is the centre of the top-left pixel and `(width - 1, height - 1)` the centre
//! of the bottom-right one (Supervisely's convention). A [`Geometry::Rectangle`] includes its
//! right column and bottom row, so it covers `right - left + 1` columns. Bitmaps are placed by
//! the pixel of their top-left corner.
//!
//! Coordinates are in the orientation of the image the annotator saw. Supervisely's tool shows
//! frames the way a player does, rotated for display, so its annotations are in **display**
//! orientation: for a video with a display rotation, the annotation's size is already the
//! rotated size, and only resizing applies ([`GeometryTransform::resize`]). Annotations made on
//! the stored (unrotated) frames are rotated the way the decoder rotates the frames with
//! [`GeometryTransform::with_stored_rotation`].
//!
//! # Conversion rules
//!
//! For each sampled frame `i` ([`VideoAnnotation::frame_annotation`]):
//! - every figure on frame `i` becomes a [`Label`] with its object's class and the figure's
//!   geometry (moved onto the output image, below);
//! - the object's tags whose range contains `i`, or that have no range, go on the label;
//! - every label carries an [`OBJECT_ID_TAG`] tag whose text is the video object's
//!   [`key`](VideoObject::key): the same on every frame the object appears in, different for two
//!   objects of one class (Supervisely's own sampler stores the class id there, which loses
//!   identity);
//! - a label whose figure has a [`track_id`](Figure::track_id) also carries an
//!   [`AUTO_TRACKED_TAG`] tag with no value;
//! - video tags whose range contains `i`, or that have no range, become image tags;
//! - a frame without figures gets an annotation with no labels (but its image tags).
//!
//! [`VideoAnnotation::annotated_frames`] lists the frames with at least one figure and
//! [`VideoAnnotation::only_annotated`] is the [`SamplingPlan`](video_core::SamplingPlan) filter that
//! keeps only those.
//!
//! # Geometry follows the image
//!
//! A [`GeometryTransform`] first rotates stored-orientation coordinates clockwise as the decoder
//! rotates frames (exact, pixel for pixel), then resizes: pixel centres scale, so `x` becomes
//! `(x + 0.5) · sx − 0.5` with `sx = output width / source width` (and the same for `y`), as a
//! scaler maps a source image onto the output. Bitmaps are resized by nearest neighbour: an
//! output pixel is set when the source pixel under its centre is set.
//!
//! Then geometry is clipped to the output image, never panicking on any input:
//! - a **point** is kept when it lies on a pixel of the image (at most half a pixel beyond the
//!   outer pixel centres), moved onto the nearest pixel centre inside; otherwise dropped;
//! - a **rectangle** is clamped to the image's pixel centres, and dropped when it does not reach
//!   any pixel of the image;
//! - a **polygon**'s outline and holes are clipped to the rectangle of pixel centres
//!   (Sutherland–Hodgman); the polygon is dropped when its outline keeps fewer than three
//!   vertices or no area, and a hole that does is removed;
//! - a **polyline** is clipped segment by segment; where it leaves the image and comes back it
//!   is cut, and each piece with two distinct points becomes its own label;
//! - a **bitmap** loses the pixels outside the image and is trimmed to its set pixels; it is
//!   dropped when none remains;
//! - a geometry with a non-finite coordinate is dropped.
//!
//! A figure whose geometry is dropped leaves no label on that frame.
//!
//! # Example
//!
//! ```
//! use video_annotation::{supervisely, GeometryTransform, ImageSize};
//!
//! let ann = supervisely::parse_video_annotation("clip.mp4.json", r#"{
//!     "size": {"width": 640, "height": 360},
//!     "tags": [{"name": "rain", "frameRange": [0, 9]}],
//!     "objects": [{"key": "o1", "classTitle": "car", "tags": []}],
//!     "frames": [{"index": 4, "figures": [{"key": "f1", "objectKey": "o1",
//!         "geometryType": "rectangle",
//!         "geometry": {"points": {"exterior": [[10, 20], [110, 80]], "interior": []}}}]}],
//!     "framesCount": 10
//! }"#, None)?;
//! let half = GeometryTransform::resize(ann.size, ImageSize::new(320, 180))?;
//! let image = ann.frame_annotation(4, &half)?;
//! assert_eq!(image.labels[0].object_id(), Some("o1"));
//! let json = supervisely::image_annotation_to_value(&image)?;
//! assert_eq!(json["objects"][0]["points"]["exterior"][0], serde_json::json!([5, 10]));
//! # Ok::<(), video_core::Error>(())
//! ```
#![cfg_attr(docsrs, feature(doc_cfg))]
#![deny(rustdoc::broken_intra_doc_links)]

mod convert;
mod copy;
mod geometry;
mod mask_png;
mod model;

pub mod coco;
pub mod supervisely;

pub use convert::{AUTO_TRACKED_TAG, OBJECT_ID_TAG};
pub use copy::SuperviselyAnnotator;
pub use geometry::{GeometryTransform, Rotation};
pub use model::{
    Figure, FrameRange, Geometry, ImageAnnotation, ImageSize, Label, Mask, ObjectClass, Point,
    ProjectMeta, Shape, Tag, TagMeta, TagValue, TagValueType, VideoAnnotation, VideoObject,
    VideoTag,
};
