//! Videos read through a `ByteSource` (appsrc in random-access mode) give exactly what the same
//! files give through `filesrc`: metadata, frame table, decoded frames and errors. Checked on
//! every file of the shared corpus.

#![allow(clippy::unwrap_used)]

mod support;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use bytes::Bytes;
use futures::StreamExt;
use support::corpus;
use video_core::testing::assert_same_pixels;
use video_core::{ByteSource, Demuxer, Error, FileSource, Frame, FrameSource, ResolvedPlan};
use video_gst::{DecodeOptions, GstDemuxer, GstDemuxerBuilder};
use video_testkit::block_on as block;
use video_testkit::fixtures::X264_ARGS;

/// A file that counts the bytes read from it, and can be made to fail past an offset or on
/// reads of one byte range.
#[derive(Debug)]
struct Counted {
    inner: FileSource,
    read: AtomicU64,
    requests: AtomicU64,
    fail: Option<std::ops::Range<u64>>,
}

impl Counted {
    fn new(path: &std::path::Path, fail_from: Option<u64>) -> Arc<Self> {
        Self::failing(path, fail_from.map(|f| f..u64::MAX))
    }

    fn failing(path: &std::path::Path, fail: Option<std::ops::Range<u64>>) -> Arc<Self> {
        Arc::new(Counted {
            inner: FileSource::open(path).unwrap(),
            read: AtomicU64::new(0),
            requests: AtomicU64::new(0),
            fail,
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
        if self
            .fail
            .as_ref()
            .is_some_and(|f| offset < f.end && offset + len as u64 > f.start)
        {
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

/// `path` through a byte source gives what it gives through `filesrc`: the same metadata,
/// table and pixels of its first, middle and last frames, or the same kind of error. Returns
/// whether frames were compared.
fn byte_source_equals_the_file(file: &str, path: &std::path::Path) -> bool {
    let mut by_path = GstDemuxer::open(path).unwrap();
    let src = Counted::new(path, None);
    let mut by_bytes = GstDemuxer::from_source(src.clone()).unwrap();
    let compared = match (block(by_path.probe()), block(by_bytes.probe())) {
        (Ok(a), Ok(b)) => {
            assert_eq!(a, b, "{file}: metadata differs through a byte source");
            let (ta, tb) = (
                block(by_path.frame_table()).unwrap(),
                block(by_bytes.frame_table()).unwrap(),
            );
            assert_eq!(ta, tb, "{file}: frame table differs");
            let n = ta.len();
            let mut plan = vec![0, n / 2, n - 1];
            plan.dedup();
            let (fa, fb) = frames_of_both(&mut by_path, &mut by_bytes, &plan, file);
            assert!(!fa.is_empty(), "{file}: no frame of {plan:?} decoded");
            assert_eq!(fa.len(), fb.len(), "{file}");
            for (x, y) in fa.iter().zip(&fb) {
                assert_eq!(x.info, y.info, "{file}");
                assert_same_pixels(x, y, file);
            }
            true
        }
        (Err(a), Err(b)) => {
            assert_eq!(
                std::mem::discriminant(&a),
                std::mem::discriminant(&b),
                "{file}: {a} vs {b}"
            );
            false
        }
        (a, b) => panic!("{file}: file gave {a:?}, byte source gave {b:?}"),
    };
    assert!(src.requests.load(Ordering::Relaxed) > 0, "{file}");
    compared
}

#[test]
fn generated_videos_through_a_byte_source_equal_the_file() {
    let dir = std::env::temp_dir().join(format!("vg-bytes-gen-{}", std::process::id()));
    let mut files = tricky_x264_files(&{
        std::fs::create_dir_all(&dir).unwrap();
        dir.clone()
    });
    files.push(generated(
        &dir,
        "vp8.webm",
        &["-c:v", "libvpx", "-deadline", "realtime", "-cpu-used", "8"],
    ));
    files.push(generated(&dir, "mpeg4.avi", &["-c:v", "mpeg4", "-g", "25"]));
    for path in &files {
        assert!(
            byte_source_equals_the_file(&path.display().to_string(), path),
            "{}: not probed",
            path.display()
        );
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn corpus_through_a_byte_source_equals_the_file() {
    let Some(files) = corpus::load() else { return };
    let mut compared = 0;
    for f in &files {
        if byte_source_equals_the_file(&f.file, &f.path) {
            compared += 1;
        }
    }
    assert!(compared >= 25, "only {compared} files compared");
}

/// The error a failing source gave, reported as is (not a timeout, not a generic pipeline
/// failure) and naming the input. A hang would end with the stall timeout's `Timeout`.
fn assert_source_error(e: &Error, path: &std::path::Path) {
    assert!(
        matches!(
            e,
            Error::Backend {
                backend: "test",
                ..
            }
        ),
        "{}: {e:?}",
        path.display()
    );
    let text = e.to_string();
    assert!(text.contains(&path.display().to_string()), "{text}");
}

/// A video made with the ffmpeg CLI into `dir`: 8 s of 320x240 at 25 fps, `codec_args` after
/// the lavfi input.
fn generated(dir: &std::path::Path, name: &str, codec_args: &[&str]) -> std::path::PathBuf {
    video_testkit::fixtures::lavfi_clip(
        dir,
        name,
        "testsrc2=size=320x240:rate=25:duration=8",
        codec_args,
    )
}

#[test]
fn a_failing_byte_source_gives_its_own_error_without_hanging() {
    let dir = std::env::temp_dir().join(format!("vg-failing-{}", std::process::id()));
    // moov first, so the header is in the half that can be read.
    let path = generated(
        &dir,
        "clip.mp4",
        &[
            X264_ARGS,
            &["-g", "25", "-bf", "2", "-movflags", "+faststart"],
        ]
        .concat(),
    );
    let size = std::fs::metadata(&path).unwrap().len();
    assert!(size > 200_000, "{size}");
    // Reading every packet (no header index) fails while probing.
    let src = Counted::new(&path, Some(size / 2));
    let mut d = GstDemuxerBuilder::from_source(src)
        .with_header_index(false)
        .with_stall_timeout(Duration::from_secs(10))
        .build()
        .unwrap();
    let e = block(d.probe()).unwrap_err();
    assert_source_error(&e, &path);
    // From the header, probing reads little; decoding the last frame then fails.
    let src = Counted::new(&path, Some(size / 2));
    let mut d = GstDemuxerBuilder::from_source(src)
        .with_stall_timeout(Duration::from_secs(10))
        .build()
        .unwrap();
    let n = block(d.probe()).unwrap().frame_count;
    assert_eq!(n, 200);
    let got: Vec<_> = block(async {
        let mut s = d.frame_source(DecodeOptions::default()).await.unwrap();
        s.frames(&ResolvedPlan::from_indices(vec![0, n - 1]))
            .collect::<Vec<_>>()
            .await
    });
    assert!(got[0].is_ok(), "{:?}", got[0]);
    let e = got[1].as_ref().unwrap_err();
    assert_source_error(e, &path);
    std::fs::remove_dir_all(&dir).unwrap();
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
            .args(X264_ARGS)
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

/// The corpus files the probe must be seen taking the frame table of from the MP4/MOV header:
/// what `mp4index` gives a table for (see its `CORPUS_EXPECTED`), less
/// `mediabunny/fucked-keyframes.mp4`, whose header durations and sync samples contradict the
/// bitstream (the probe notices and takes the scan's table), and less the files too small to
/// tell (`mediabunny/edit-list-discard.mp4`, 2.9 KB, and `moviepy/test_video.mp4`, 1.7 KB: the
/// first-packets pass reads them whole).
const CORPUS_FROM_HEADER: &[&str] = &[
    "mediabunny/edts.mp4",
    "mediabunny/sar_2x1.mp4",
    "mediabunny/video-h265.mp4",
    "mediabunny/video.mp4",
    "torchcodec/bt709_full_range.mp4",
    "torchcodec/h264_10bits.mp4",
    "torchcodec/h265_10bits.mp4",
    "torchcodec/nasa_13013.mp4",
    "video_reader-rs/input.mp4",
];

/// Probe `path` with the header index (through a counting byte source) and without it (a demux
/// pass over every packet), compare the two results, and say whether the first took its
/// table from the header: it did when a probe through a source that fails every read of the
/// video stream's last packet still gives the same result, while a pass over every packet
/// through such a source fails.
///
/// Everything is compared field by field. The one intended difference is the key frames: the
/// header's are the container's sync samples that are random access points (their NAL units
/// read), the scan's every random access point, which a wrong `stss` may omit; so every header
/// key frame must be one of the scan's, and each side's `keyframe_count` and `max_gop` must be
/// its own table's.
fn header_probe_equals_the_scan(file: &str, path: &std::path::Path) -> bool {
    let size = std::fs::metadata(path).unwrap().len();
    let src = Counted::new(path, None);
    let mut quick = GstDemuxer::from_source(src.clone()).unwrap();
    let mut full = GstDemuxerBuilder::new(path)
        .with_header_index(false)
        .build()
        .unwrap();
    match (block(quick.probe()), block(full.probe())) {
        (Ok(mut a), Ok(mut b)) => {
            let (ta, tb) = (
                block(quick.frame_table()).unwrap(),
                block(full.frame_table()).unwrap(),
            );
            assert_eq!(ta.len(), tb.len(), "{file}");
            for (x, y) in ta.iter().zip(tb.iter()) {
                assert_eq!(
                    (x.index, x.pts, x.duration, x.decode_order),
                    (y.index, y.pts, y.duration, y.decode_order),
                    "{file}: frame {} differs with the header index",
                    x.index
                );
                assert!(
                    !x.keyframe || y.keyframe,
                    "{file}: frame {} is a key frame of the header but not of the scan",
                    x.index
                );
            }
            for (m, t, side) in [(&a, &ta, "header"), (&b, &tb, "scan")] {
                let keys: Vec<u64> = t.iter().filter(|f| f.keyframe).map(|f| f.index).collect();
                assert_eq!(
                    m.keyframe_count,
                    keys.len() as u64,
                    "{file}: {side} key frames"
                );
                let mut gop = 0;
                for (k, next) in keys.iter().zip(keys.iter().skip(1).chain([&t.len()])) {
                    gop = gop.max(next - k);
                }
                assert_eq!(m.max_gop, gop, "{file}: {side} longest GOP");
            }
            if a.keyframe_count != b.keyframe_count {
                eprintln!(
                    "{file}: {} header key frames, {} scan key frames",
                    a.keyframe_count, b.keyframe_count
                );
            }
            // Both checked against their own tables above; the rest must be equal.
            (a.keyframe_count, a.max_gop, b.keyframe_count, b.max_gop) = (0, 0, 0, 0);
            assert_eq!(a, b, "{file}: metadata differs with the header index");
            let read = src.read.load(Ordering::Relaxed);
            let last = support::ffmpeg::last_video_packet_range(path, a.video_stream);
            // The scan needs that packet (it does not when qtdemux stops before it, as on
            // `no-correct-videoframe-format.mov`: then nothing can be told).
            let mut scan =
                GstDemuxerBuilder::from_source(Counted::failing(path, Some(last.clone())))
                    .with_header_index(false)
                    .build()
                    .unwrap();
            let scan_needs_it = block(scan.probe()).is_err();
            let fenced = Counted::failing(path, Some(last.clone()));
            let mut d = GstDemuxer::from_source(fenced).unwrap();
            let from_header = scan_needs_it
                && match (block(d.probe()), block(d.frame_table())) {
                    (Ok(mut m), Ok(t)) => {
                        (m.keyframe_count, m.max_gop) = (0, 0);
                        assert_eq!(m, a, "{file}: metadata differs without the last packet");
                        assert_eq!(t, ta, "{file}: table differs without the last packet");
                        true
                    }
                    _ => false,
                };
            eprintln!(
                "{file}: header probe read {read} of {size} bytes; \
                 without the last video packet ({last:?}): {from_header}"
            );
            from_header
        }
        (Err(a), Err(b)) => {
            assert_eq!(
                std::mem::discriminant(&a),
                std::mem::discriminant(&b),
                "{file}: {a} vs {b}"
            );
            false
        }
        (a, b) => panic!("{file}: header index gave {a:?}, full scan {b:?}"),
    }
}

/// Generated x264 MP4/MOV files (constant frame rate, B-frames, an edit list for their delay,
/// key frames the parser may see differently): every one is probed from its header, with the
/// scan's result.
#[test]
fn header_index_probe_equals_the_full_scan_on_generated_files() {
    let dir = std::env::temp_dir().join(format!("vg-header-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    for p in tricky_x264_files(&dir) {
        let name = p.display().to_string();
        assert!(
            header_probe_equals_the_scan(&name, &p),
            "{name}: the probe did not take the table from the header"
        );
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Every corpus file: the same result with and without the header index, and the header taken
/// for exactly the files of [`CORPUS_FROM_HEADER`].
#[test]
fn header_index_probe_equals_the_full_scan_on_the_corpus() {
    let Some(files) = corpus::load() else { return };
    let mut from_header = Vec::new();
    for f in &files {
        if header_probe_equals_the_scan(&f.file, &f.path) {
            from_header.push(f.file.as_str());
        }
    }
    from_header.sort_unstable();
    assert_eq!(
        from_header, CORPUS_FROM_HEADER,
        "corpus files probed from the header"
    );
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
    let dir = std::env::temp_dir().join(format!("vg-stalled-{}", std::process::id()));
    // WebM: no header index, the probe reads every packet.
    let path = generated(
        &dir,
        "clip.webm",
        &[
            "-c:v",
            "libvpx",
            "-b:v",
            "1M",
            "-deadline",
            "realtime",
            "-cpu-used",
            "8",
        ],
    );
    let size = std::fs::metadata(&path).unwrap().len();
    assert!(size > 100_000, "{size}");
    let src = Arc::new(Stalling {
        inner: FileSource::open(&path).unwrap(),
        stall_at: size / 2,
        stall_for: Duration::from_secs(5),
        stalled: Default::default(),
    });
    let mut d = GstDemuxerBuilder::from_source(src)
        .with_stall_timeout(Duration::from_secs(1))
        .build()
        .unwrap();
    let e = block(d.probe()).unwrap_err();
    assert!(
        matches!(e, Error::Timeout { .. }),
        "{}: {e:?}",
        path.display()
    );
    assert!(e.to_string().contains(&path.display().to_string()), "{e}");
    std::fs::remove_dir_all(&dir).unwrap();
}
