//! In-memory implementations of the traits, for tests of code built on them (feature `testing`;
//! **not covered by semver**).
//!
//! [`SyntheticSource`] makes frames without any video; [`MemorySink`] keeps a dataset in a map.
//! Both satisfy the `conformance` checks like any backend. [`assert_same_pixels`] compares two
//! frames row by row.

use std::collections::BTreeMap;
use std::sync::Mutex;

use async_trait::async_trait;
use futures::stream::{self, BoxStream, StreamExt};

use crate::{
    DatasetSink, DecodeStats, EncodedFrame, Error, Frame, FrameRecord, FrameSource, FrameTable,
    PixelFormat, Plane, ResolvedPlan, Result, VideoManifest, VideoRef,
};

/// A frame source that paints each frame's index into its pixels: every byte of frame `i`
/// is `i % 251`. Rows are padded to a stride of `width * 3 + 5` to exercise stride handling.
#[derive(Debug)]
pub struct SyntheticSource {
    table: FrameTable,
    width: u32,
    height: u32,
    stats: DecodeStats,
}

impl SyntheticSource {
    /// A source over `table`, producing `width`×`height` RGB frames.
    pub fn new(table: FrameTable, width: u32, height: u32) -> Self {
        SyntheticSource {
            table,
            width,
            height,
            stats: DecodeStats::default(),
        }
    }

    /// The value every pixel byte of frame `index` has.
    pub fn value_of(index: u64) -> u8 {
        (index % 251) as u8
    }
}

impl FrameSource for SyntheticSource {
    fn frames(&mut self, plan: &ResolvedPlan) -> BoxStream<'_, Result<Frame>> {
        self.stats = DecodeStats::default();
        let (w, h) = (self.width, self.height);
        let stride = w as usize * 3 + 5;
        let items: Vec<Result<Frame>> = plan
            .indices()
            .iter()
            .map(|&i| {
                let info = *self.table.frame(i)?;
                Ok(Frame {
                    info,
                    width: w,
                    height: h,
                    format: PixelFormat::Rgb8,
                    planes: vec![Plane {
                        offset: 0,
                        stride,
                        row_bytes: w as usize * 3,
                        rows: h as usize,
                    }],
                    data: vec![Self::value_of(i); stride * h as usize].into(),
                    framemd5: None,
                })
            })
            .collect();
        let n = items.iter().filter(|r| r.is_ok()).count() as u64;
        self.stats.frames_decoded = n;
        self.stats.frames_emitted = n;
        // End the stream after the first error, as the contract says.
        let mut failed = false;
        stream::iter(items)
            .take_while(move |r| {
                let go = !failed;
                failed |= r.is_err();
                futures::future::ready(go)
            })
            .boxed()
    }

    fn stats(&self) -> DecodeStats {
        self.stats
    }
}

/// A dataset kept in memory. A frame's annotation is stored where
/// [`layout::annotation_key`](crate::layout::annotation_key) puts it (`f/clip_000003.png.json`);
/// dataset files under their key.
#[derive(Debug, Default)]
pub struct MemorySink {
    frames: Mutex<BTreeMap<(VideoRef, u64), (EncodedFrame, FrameRecord)>>,
    finished: Mutex<BTreeMap<VideoRef, VideoManifest>>,
    files: Mutex<BTreeMap<String, Vec<u8>>>,
}

fn key_of(video: &VideoRef, frame: &EncodedFrame) -> String {
    let name = crate::layout::default_frame_file_name(
        &video.name,
        frame.info.index,
        frame.format.extension(),
    );
    crate::layout::frame_key(video, None, &name)
}

fn poisoned() -> Error {
    Error::Backend {
        backend: "memory",
        uri: None,
        element: None,
        source: "a thread panicked while holding the sink".into(),
    }
}

impl MemorySink {
    /// An empty sink.
    pub fn new() -> Self {
        Self::default()
    }

    /// The stored image of a frame.
    pub fn frame(&self, video: &VideoRef, index: u64) -> Option<EncodedFrame> {
        self.frames
            .lock()
            .ok()?
            .get(&(video.clone(), index))
            .map(|(f, _)| f.clone())
    }

    /// Number of stored frames.
    pub fn len(&self) -> usize {
        self.frames.lock().map(|m| m.len()).unwrap_or(0)
    }

    /// Whether no frame is stored.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The manifest of a finished video.
    pub fn manifest(&self, video: &VideoRef) -> Option<VideoManifest> {
        self.finished.lock().ok()?.get(video).cloned()
    }

    /// A stored annotation or dataset file, by key.
    pub fn file(&self, key: &str) -> Option<Vec<u8>> {
        self.files.lock().ok()?.get(key).cloned()
    }

    /// Keys of the stored annotations and dataset files, sorted.
    pub fn file_keys(&self) -> Vec<String> {
        self.files
            .lock()
            .map(|m| m.keys().cloned().collect())
            .unwrap_or_default()
    }
}

#[async_trait]
impl DatasetSink for MemorySink {
    async fn existing(&self, video: &VideoRef, indices: &[u64]) -> Result<Vec<FrameRecord>> {
        let m = self.frames.lock().map_err(|_| poisoned())?;
        Ok(indices
            .iter()
            .filter_map(|&i| m.get(&(video.clone(), i)).map(|(_, r)| r.clone()))
            .collect())
    }

    async fn write_frame(&self, video: &VideoRef, frame: &EncodedFrame) -> Result<FrameRecord> {
        let rec = FrameRecord {
            index: frame.info.index,
            pts_seconds: frame.info.pts.as_seconds(),
            key: key_of(video, frame),
            width: frame.width,
            height: frame.height,
            bytes: frame.bytes.len() as u64,
            content_hash: None,
            annotation_key: None,
            framemd5: frame.framemd5.clone(),
        };
        self.frames.lock().map_err(|_| poisoned())?.insert(
            (video.clone(), frame.info.index),
            (frame.clone(), rec.clone()),
        );
        Ok(rec)
    }

    async fn finish_video(&self, video: &VideoRef, manifest: &VideoManifest) -> Result<()> {
        self.finished
            .lock()
            .map_err(|_| poisoned())?
            .insert(video.clone(), manifest.clone());
        Ok(())
    }

    async fn write_annotation(
        &self,
        video: &VideoRef,
        frame: &FrameRecord,
        json: &[u8],
    ) -> Result<String> {
        let stored = self
            .frames
            .lock()
            .map_err(|_| poisoned())?
            .contains_key(&(video.clone(), frame.index));
        if !stored {
            return Err(Error::NotFound {
                uri: frame.key.clone(),
                source: Some("the frame is not stored, so it cannot be annotated".into()),
            });
        }
        let key = crate::layout::annotation_key(&frame.key);
        self.files
            .lock()
            .map_err(|_| poisoned())?
            .insert(key.clone(), json.to_vec());
        Ok(key)
    }

    async fn write_dataset_file(&self, key: &str, bytes: &[u8]) -> Result<()> {
        self.files
            .lock()
            .map_err(|_| poisoned())?
            .insert(key.to_owned(), bytes.to_vec());
        Ok(())
    }

    async fn read_dataset_file(&self, key: &str) -> Result<Option<Vec<u8>>> {
        Ok(self.file(key))
    }
}

/// The two frames have the same size, format and pixels: every row of every plane, compared
/// byte for byte (the strides may differ; the padding between rows is not compared). Panics
/// naming `what`, the frame, the plane and the row otherwise.
pub fn assert_same_pixels(a: &crate::Frame, b: &crate::Frame, what: &str) {
    let i = a.info.index;
    assert_eq!(
        (a.width, a.height, &a.format, a.planes.len()),
        (b.width, b.height, &b.format, b.planes.len()),
        "{what}: frame {i}: size, format or plane count differs"
    );
    assert!(!a.planes.is_empty(), "{what}: frame {i} has no planes");
    for (p, (pa, pb)) in a.planes.iter().zip(&b.planes).enumerate() {
        assert_eq!(
            (pa.row_bytes, pa.rows),
            (pb.row_bytes, pb.rows),
            "{what}: frame {i} plane {p}: row size or count differs"
        );
        assert!(
            pa.row_bytes > 0 && pa.rows > 0,
            "{what}: frame {i} plane {p} is empty"
        );
        for r in 0..pa.rows {
            let row = |f: &crate::Frame, pl: &crate::Plane| -> Vec<u8> {
                let start = pl.offset + r * pl.stride;
                f.data
                    .get(start..start + pl.row_bytes)
                    .unwrap_or_else(|| panic!("{what}: frame {i} plane {p} row {r} is missing"))
                    .to_vec()
            };
            assert!(
                row(a, pa) == row(b, pb),
                "{what}: frame {i} plane {p} row {r}: pixels differ"
            );
        }
    }
}
