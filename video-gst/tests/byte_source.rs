//! Videos read through a `ByteSource` (appsrc in random-access mode) give exactly what the same
//! files give through `filesrc`: metadata, frame table, decoded frames and errors. Checked on
//! every file of the shared corpus.

#![allow(clippy::unwrap_used)]

mod support;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use futures::StreamExt;
use support::corpus;
use video_core::{ByteSource, Demuxer, Error, FileSource, Frame, FrameSource, ResolvedPlan};
use video_gst::{DecodeOptions, GstDemuxer, GstDemuxerBuilder};

fn block<T>(f: impl std::future::Future<Output = T>) -> T {
    futures::executor::block_on(f)
}

/// A file that counts the bytes read from it, and can be made to fail past an offset.
#[derive(Debug)]
struct Counted {
    inner: FileSource,
    read: AtomicU64,
    requests: AtomicU64,
    fail_from: Option<u64>,
}

impl Counted {
    fn new(path: &std::path::Path, fail_from: Option<u64>) -> Arc<Self> {
        Arc::new(Counted {
            inner: FileSource::open(path).unwrap(),
            read: AtomicU64::new(0),
            requests: AtomicU64::new(0),
            fail_from,
        })
    }
}

impl ByteSource for Counted {
    fn uri(&self) -> &str {
        self.inner.uri()
    }
    fn len(&self) -> u64 {
        self.inner.len()
    }
    fn read_at(&self, offset: u64, len: usize) -> video_core::Result<Bytes> {
        if self.fail_from.is_some_and(|f| offset + len as u64 > f) {
            return Err(Error::Backend {
                backend: "test",
                uri: Some(self.uri().to_owned()),
                element: None,
                source: "connection reset (injected)".into(),
            });
        }
        self.requests.fetch_add(1, Ordering::Relaxed);
        let b = self.inner.read_at(offset, len)?;
        self.read.fetch_add(b.len() as u64, Ordering::Relaxed);
        Ok(b)
    }
}

fn frames(d: &mut GstDemuxer, plan: &[u64]) -> Vec<Frame> {
    block(async {
        let mut src = d.frame_source(DecodeOptions::default()).await.unwrap();
        let plan = ResolvedPlan::from_indices(plan.to_vec());
        src.frames(&plan).map(|r| r.unwrap()).collect().await
    })
}

#[test]
fn corpus_through_a_byte_source_equals_the_file() {
    let Some(files) = corpus::load() else { return };
    let mut compared = 0;
    for f in &files {
        let mut by_path = GstDemuxer::open(&f.path).unwrap();
        let src = Counted::new(&f.path, None);
        let mut by_bytes = GstDemuxer::from_source(src.clone()).unwrap();
        let (a, b) = (block(by_path.probe()), block(by_bytes.probe()));
        match (a, b) {
            (Ok(a), Ok(b)) => {
                assert_eq!(a, b, "{}: metadata differs through a byte source", f.file);
                let (ta, tb) = (
                    block(by_path.frame_table()).unwrap(),
                    block(by_bytes.frame_table()).unwrap(),
                );
                assert_eq!(ta, tb, "{}: frame table differs", f.file);
                let n = ta.len();
                let plan: Vec<u64> = [0, n / 2, n - 1].into_iter().collect::<Vec<_>>();
                let mut plan = plan;
                plan.dedup();
                let fa = frames(&mut by_path, &plan);
                let fb = frames(&mut by_bytes, &plan);
                assert_eq!(fa.len(), fb.len(), "{}", f.file);
                for (x, y) in fa.iter().zip(&fb) {
                    assert_eq!(x.info, y.info, "{}", f.file);
                    assert!(
                        x.planes == y.planes,
                        "{}: frame {} differs",
                        f.file,
                        x.info.index
                    );
                }
                compared += 1;
            }
            (Err(a), Err(b)) => assert_eq!(
                std::mem::discriminant(&a),
                std::mem::discriminant(&b),
                "{}: {a} vs {b}",
                f.file
            ),
            (a, b) => panic!("{}: file gave {a:?}, byte source gave {b:?}", f.file),
        }
        assert!(src.requests.load(Ordering::Relaxed) > 0, "{}", f.file);
    }
    assert!(compared >= 25, "only {compared} files compared");
}

#[test]
fn a_failing_byte_source_gives_its_own_error_without_hanging() {
    let Some(files) = corpus::load() else { return };
    let f = files
        .iter()
        .filter(|f| f.file.ends_with(".mp4") && f.size_bytes > 200_000)
        .max_by_key(|f| f.size_bytes)
        .unwrap();
    let src = Counted::new(&f.path, Some(f.size_bytes / 2));
    let mut d = GstDemuxerBuilder::from_source(src)
        .with_stall_timeout(Duration::from_secs(10))
        .build()
        .unwrap();
    let started = Instant::now();
    let e = block(d.probe()).unwrap_err();
    assert!(
        started.elapsed() < Duration::from_secs(8),
        "took {:?}",
        started.elapsed()
    );
    let text = e.to_string();
    assert!(
        matches!(
            e,
            Error::Backend {
                backend: "test",
                ..
            }
        ),
        "{f:?}: {e:?}",
        f = f.file
    );
    assert!(text.contains(&f.path.display().to_string()), "{text}");
}

#[test]
fn an_empty_or_gif_byte_source_is_refused_up_front() {
    let dir = std::env::temp_dir().join(format!("vg-bytes-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let empty = dir.join("empty.mp4");
    std::fs::write(&empty, b"").unwrap();
    let e = block(
        GstDemuxer::from_source(Counted::new(&empty, None))
            .unwrap()
            .probe(),
    );
    assert!(matches!(e, Err(Error::NotAVideo { .. })), "{e:?}");
    let text = dir.join("notes.mp4");
    std::fs::write(&text, b"this is not a video, just some text\n".repeat(100)).unwrap();
    let e = block(
        GstDemuxer::from_source(Counted::new(&text, None))
            .unwrap()
            .probe(),
    );
    assert!(matches!(e, Err(Error::NotAVideo { .. })), "{e:?}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn header_index_probe_equals_the_full_scan() {
    let Some(files) = corpus::load() else { return };
    let mut from_header = Vec::new();
    for f in &files {
        let src = Counted::new(&f.path, None);
        let mut quick = GstDemuxer::from_source(src.clone()).unwrap();
        let mut full = GstDemuxerBuilder::new(&f.path)
            .with_header_index(false)
            .build()
            .unwrap();
        match (block(quick.probe()), block(full.probe())) {
            (Ok(a), Ok(b)) => {
                assert_eq!(a, b, "{}: metadata differs with the header index", f.file);
                assert_eq!(
                    block(quick.frame_table()).unwrap(),
                    block(full.frame_table()).unwrap(),
                    "{}: frame table differs with the header index",
                    f.file
                );
                let read = src.read.load(Ordering::Relaxed);
                if read < f.size_bytes {
                    from_header.push(format!("{} ({read} of {} bytes)", f.file, f.size_bytes));
                }
            }
            (Err(a), Err(b)) => assert_eq!(
                std::mem::discriminant(&a),
                std::mem::discriminant(&b),
                "{}: {a} vs {b}",
                f.file
            ),
            (a, b) => panic!("{}: header index gave {a:?}, full scan {b:?}", f.file),
        }
    }
    eprintln!(
        "probed from the header ({}): {}",
        from_header.len(),
        from_header.join(", ")
    );
}
