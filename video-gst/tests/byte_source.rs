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

/// The frames of `plan` from both demuxers; a frame neither can give (a frame the MP4 demuxer
/// never sends is an `Error::Decode` naming it) must fail the same way in both.
fn frames_of_both(
    a: &mut GstDemuxer,
    b: &mut GstDemuxer,
    plan: &[u64],
    file: &str,
) -> (Vec<Frame>, Vec<Frame>) {
    let all = |d: &mut GstDemuxer| -> Vec<video_core::Result<Frame>> {
        block(async {
            let mut src = d.frame_source(DecodeOptions::default()).await.unwrap();
            let plan = ResolvedPlan::from_indices(plan.to_vec());
            src.frames(&plan).collect().await
        })
    };
    let (ra, rb) = (all(a), all(b));
    let split = |r: Vec<video_core::Result<Frame>>| {
        let mut ok = Vec::new();
        let mut failed = Vec::new();
        for x in r {
            match x {
                Ok(f) => ok.push(f),
                Err(Error::Decode { index, .. }) => failed.push(index),
                Err(e) => panic!("{file}: {e}"),
            }
        }
        (ok, failed)
    };
    let ((fa, ea), (fb, eb)) = (split(ra), split(rb));
    assert_eq!(ea, eb, "{file}: frames that cannot be decoded");
    (fa, fb)
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
                let (fa, fb) = frames_of_both(&mut by_path, &mut by_bytes, &plan, &f.file);
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

fn assert_source_error(e: &Error, f: &corpus::CorpusFile, started: Instant) {
    assert!(
        started.elapsed() < Duration::from_secs(8),
        "took {:?}",
        started.elapsed()
    );
    assert!(
        matches!(
            e,
            Error::Backend {
                backend: "test",
                ..
            }
        ),
        "{}: {e:?}",
        f.file
    );
    let text = e.to_string();
    assert!(text.contains(&f.path.display().to_string()), "{text}");
}

#[test]
fn a_failing_byte_source_gives_its_own_error_without_hanging() {
    let Some(files) = corpus::load() else { return };
    let f = files
        .iter()
        .filter(|f| f.file.ends_with(".mp4") && f.size_bytes > 200_000)
        .max_by_key(|f| f.size_bytes)
        .unwrap();
    // Reading every packet (no header index) fails while probing.
    let src = Counted::new(&f.path, Some(f.size_bytes / 2));
    let mut d = GstDemuxerBuilder::from_source(src)
        .with_header_index(false)
        .with_stall_timeout(Duration::from_secs(10))
        .build()
        .unwrap();
    let started = Instant::now();
    let e = block(d.probe()).unwrap_err();
    assert_source_error(&e, f, started);
    // From the header, probing reads little; decoding the last frame then fails.
    let src = Counted::new(&f.path, Some(f.size_bytes / 2));
    let mut d = GstDemuxerBuilder::from_source(src)
        .with_stall_timeout(Duration::from_secs(10))
        .build()
        .unwrap();
    let n = block(d.probe()).unwrap().frame_count;
    let started = Instant::now();
    let got: Vec<_> = block(async {
        let mut s = d.frame_source(DecodeOptions::default()).await.unwrap();
        s.frames(&ResolvedPlan::from_indices(vec![0, n - 1]))
            .collect::<Vec<_>>()
            .await
    });
    assert!(got[0].is_ok(), "{:?}", got[0]);
    let e = got[1].as_ref().unwrap_err();
    assert_source_error(e, f, started);
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

/// x264 files whose key frames the parser and the container's sync table may see differently:
/// a non-IDR I-frame at a scene cut, open GOPs (recovery-point I-frames as sync samples).
fn tricky_x264_files(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let make = |name: &str, args: &[&str]| {
        let out = dir.join(name);
        let status = std::process::Command::new("ffmpeg")
            .args(["-v", "error", "-y"])
            .args(args)
            .args([
                "-c:v",
                "libx264",
                "-preset",
                "ultrafast",
                "-pix_fmt",
                "yuv420p",
            ])
            .arg(&out)
            .status()
            .expect("ffmpeg");
        assert!(status.success(), "{name}");
        out
    };
    vec![
        make(
            "scenecut.mp4",
            &[
                "-f",
                "lavfi",
                "-i",
                "testsrc2=size=320x240:rate=25:duration=4",
                "-f",
                "lavfi",
                "-i",
                "mandelbrot=size=320x240:rate=25",
                "-filter_complex",
                "[0:v][1:v]concat=n=2:v=1[a];[a]trim=duration=8[v]",
                "-map",
                "[v]",
                "-bf",
                "2",
                "-x264-params",
                "keyint=250:min-keyint=250:scenecut=40",
            ],
        ),
        make(
            "opengop.mp4",
            &[
                "-f",
                "lavfi",
                "-i",
                "testsrc2=size=320x240:rate=25:duration=8",
                "-bf",
                "3",
                "-x264-params",
                "keyint=50:open-gop=1",
            ],
        ),
        make(
            "opengop.mov",
            &[
                "-f",
                "lavfi",
                "-i",
                "testsrc2=size=320x240:rate=30000/1001:duration=8",
                "-bf",
                "3",
                "-x264-params",
                "keyint=40:open-gop=1",
                "-f",
                "mov",
            ],
        ),
    ]
}

#[test]
fn header_index_probe_equals_the_full_scan() {
    let Some(files) = corpus::load() else { return };
    let dir = std::env::temp_dir().join(format!("vg-header-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let mut inputs: Vec<(String, std::path::PathBuf, u64)> = files
        .iter()
        .map(|f| (f.file.clone(), f.path.clone(), f.size_bytes))
        .collect();
    for p in tricky_x264_files(&dir) {
        let size = std::fs::metadata(&p).unwrap().len();
        inputs.push((p.display().to_string(), p, size));
    }
    let mut from_header = Vec::new();
    for (file, path, size) in &inputs {
        let f = Named {
            file,
            path,
            size_bytes: *size,
        };
        let src = Counted::new(f.path, None);
        let mut quick = GstDemuxer::from_source(src.clone()).unwrap();
        let mut full = GstDemuxerBuilder::new(f.path)
            .with_header_index(false)
            .build()
            .unwrap();
        match (block(quick.probe()), block(full.probe())) {
            (Ok(mut a), Ok(b)) => {
                let (ta, tb) = (
                    block(quick.frame_table()).unwrap(),
                    block(full.frame_table()).unwrap(),
                );
                assert_eq!(ta.len(), tb.len(), "{}", f.file);
                // Key frames: the header's are the container's sync samples (FFmpeg's packet
                // K flags); the scan's are the parser's, which adds non-IDR I-frames. Every
                // sync sample must be a key frame for the parser too.
                for (x, y) in ta.iter().zip(tb.iter()) {
                    assert_eq!(
                        (x.index, x.pts, x.duration, x.decode_order),
                        (y.index, y.pts, y.duration, y.decode_order),
                        "{}: frame {} differs with the header index",
                        f.file,
                        x.index
                    );
                    assert!(
                        !x.keyframe || y.keyframe,
                        "{}: frame {} is a sync sample but not a key frame for the parser",
                        f.file,
                        x.index
                    );
                }
                if a.keyframe_count != b.keyframe_count {
                    eprintln!(
                        "{}: {} sync samples, {} parser key frames",
                        f.file, a.keyframe_count, b.keyframe_count
                    );
                    (a.keyframe_count, a.max_gop) = (b.keyframe_count, b.max_gop);
                }
                assert_eq!(a, b, "{}: metadata differs with the header index", f.file);
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
    std::fs::remove_dir_all(&dir).unwrap();
}

struct Named<'a> {
    file: &'a str,
    path: &'a std::path::Path,
    size_bytes: u64,
}

/// A source that stops answering for longer than the stall timeout makes the demux pass end
/// with `Error::Timeout` naming the input (once the read returns, the pipeline is released).
#[derive(Debug)]
struct Stalling {
    inner: FileSource,
    stall_at: u64,
    stall_for: Duration,
    stalled: std::sync::atomic::AtomicBool,
}

impl ByteSource for Stalling {
    fn uri(&self) -> &str {
        self.inner.uri()
    }
    fn len(&self) -> u64 {
        self.inner.len()
    }
    fn read_at(&self, offset: u64, len: usize) -> video_core::Result<Bytes> {
        if offset + len as u64 > self.stall_at && !self.stalled.swap(true, Ordering::SeqCst) {
            std::thread::sleep(self.stall_for);
        }
        self.inner.read_at(offset, len)
    }
}

#[test]
fn a_stalled_byte_source_times_out() {
    let Some(files) = corpus::load() else { return };
    let f = files
        .iter()
        .filter(|f| f.file.ends_with(".webm") && f.size_bytes > 100_000)
        .max_by_key(|f| f.size_bytes)
        .unwrap();
    let src = Arc::new(Stalling {
        inner: FileSource::open(&f.path).unwrap(),
        stall_at: f.size_bytes / 2,
        stall_for: Duration::from_secs(5),
        stalled: Default::default(),
    });
    let mut d = GstDemuxerBuilder::from_source(src)
        .with_stall_timeout(Duration::from_secs(1))
        .build()
        .unwrap();
    let e = block(d.probe()).unwrap_err();
    assert!(matches!(e, Error::Timeout { .. }), "{}: {e:?}", f.file);
    assert!(e.to_string().contains(&f.path.display().to_string()), "{e}");
}
