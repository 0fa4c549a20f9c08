//! Bad inputs give typed errors that name the input, quickly: missing, empty, text and random
//! files, audio-only files, an MP4 whose `moov` is cut off, a directory, plans past the end or
//! with impossible values. Nothing may panic or hang: every call runs on its own thread under a
//! hang guard, with a 10 s stall timeout.

mod support;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::mpsc::{self, RecvTimeoutError};
use std::time::{Duration, Instant};

use futures::StreamExt;
use support::barcode::{self, FixtureSpec};
use support::ffmpeg::run_tool;
use support::mp4;
use video_core::{Demuxer, Error, Frame, FrameSource, ResolvedPlan, SamplingPlan};
use video_gst::{DecodeOptions, GstDemuxer, OutputFormat, Resize};
use video_testkit::block_on;

/// Stall timeout given to every demuxer here.
const STALL: Duration = Duration::from_secs(10);
/// Longest a single call may take: well past the stall timeout, so only a hang trips it.
const CALL_LIMIT: Duration = Duration::from_secs(15);

/// A fresh directory under cargo's test scratch space, removed when dropped.
struct TempDir(PathBuf);

impl TempDir {
    fn new(name: &str) -> Self {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0);
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
            .join(format!("bad-input-{name}-{}-{nanos}", std::process::id()));
        std::fs::create_dir_all(&dir)
            .unwrap_or_else(|e| panic!("cannot create {}: {e}", dir.display()));
        TempDir(dir)
    }

    fn file(&self, name: &str, bytes: &[u8]) -> PathBuf {
        let path = self.0.join(name);
        std::fs::write(&path, bytes)
            .unwrap_or_else(|e| panic!("cannot write {}: {e}", path.display()));
        path
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        // Leftovers in the target directory are harmless.
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The text of a panic payload.
fn panic_text(payload: &(dyn std::any::Any + Send)) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "<non-string panic>".to_owned())
}

/// Runs `f` on its own thread and returns its result; fails the test if it panics or does not
/// return within `limit` (the thread is then left behind: the test has failed anyway).
fn guarded<T: Send + 'static>(
    what: &str,
    limit: Duration,
    f: impl FnOnce() -> T + Send + 'static,
) -> T {
    let (tx, rx) = mpsc::channel();
    let handle = std::thread::Builder::new()
        .name(format!("guarded {what}"))
        .spawn(move || {
            let _ = tx.send(f());
        })
        .unwrap_or_else(|e| panic!("{what}: cannot spawn a thread: {e}"));
    match rx.recv_timeout(limit) {
        Ok(value) => {
            let _ = handle.join();
            value
        }
        Err(RecvTimeoutError::Timeout) => {
            panic!("{what}: no answer after {limit:?}: the call hangs")
        }
        Err(RecvTimeoutError::Disconnected) => match handle.join() {
            Err(payload) => panic!("{what}: panicked: {}", panic_text(payload.as_ref())),
            Ok(()) => panic!("{what}: the thread ended without an answer"),
        },
    }
}

/// Runs `f` and measures how long it took.
fn timed<T>(f: impl FnOnce() -> T) -> (T, Duration) {
    let started = Instant::now();
    let value = f();
    (value, started.elapsed())
}

/// Opens `path` (asking for video stream `stream` if given) and runs every step: build, probe
/// twice (an error is not cached as a success), frame table, frame source. Each must fail with
/// an error that `is_expected` accepts and whose message names the file, within
/// [`CALL_LIMIT`]; a failing build counts for all steps. Returns the probe's error, or a
/// description of the first step that did not behave.
fn check_fails(
    path: &Path,
    stream: Option<usize>,
    expected: &'static str,
    is_expected: fn(&Error) -> bool,
) -> Result<Error, String> {
    let shown = path.display().to_string();
    let path = path.to_owned();
    guarded(&format!("opening {shown}"), CALL_LIMIT * 5, move || {
        let check = |step: &str, (result, elapsed): (video_core::Result<()>, Duration)| match result
        {
            _ if elapsed >= CALL_LIMIT => Err(format!(
                "{shown}: {step} took {elapsed:?} (stall timeout {STALL:?})"
            )),
            Ok(()) => Err(format!("{shown}: {step} succeeded, expected {expected}")),
            Err(e) if !is_expected(&e) => Err(format!(
                "{shown}: {step} gave {e:?} (\"{e}\") after {elapsed:?}, expected {expected}"
            )),
            Err(e) if !e.to_string().contains(&shown) => Err(format!(
                "{shown}: {step}: the error does not name the file: \"{e}\""
            )),
            Err(e) => Ok(e),
        };
        let mut builder = GstDemuxer::builder(&path).with_stall_timeout(STALL);
        if let Some(i) = stream {
            builder = builder.with_video_stream(i);
        }
        let mut d = match builder.build() {
            Ok(d) => d,
            // Failing before reading is fine, with the expected error.
            Err(e) => return check("build", (Err(e), Duration::ZERO)),
        };
        let first = check("probe", timed(|| block_on(d.probe()).map(drop)))?;
        check("probe again", timed(|| block_on(d.probe()).map(drop)))?;
        check("frame_table", timed(|| block_on(d.frame_table()).map(drop)))?;
        check(
            "frame_source",
            timed(|| block_on(d.frame_source(DecodeOptions::default())).map(drop)),
        )?;
        eprintln!("{shown}: {first}");
        Ok(first)
    })
}

/// [`check_fails`], failing the test on the first step that does not behave.
fn assert_fails(
    path: &Path,
    stream: Option<usize>,
    expected: &'static str,
    is_expected: fn(&Error) -> bool,
) -> Error {
    check_fails(path, stream, expected, is_expected).unwrap_or_else(|problem| panic!("{problem}"))
}

// ---------------------------------------------------------------------------------------------
// Files that are not videos.
// ---------------------------------------------------------------------------------------------

#[test]
fn missing_file_is_not_found() {
    let dir = TempDir::new("missing");
    let path = dir.0.join("no-such-video.mp4");
    let e = assert_fails(&path, None, "NotFound", |e| {
        matches!(e, Error::NotFound { .. })
    });
    if let Error::NotFound { uri, .. } = &e {
        assert!(uri.contains("no-such-video.mp4"), "uri {uri}");
    }
    // A missing directory on the way is the same.
    let path = dir.0.join("no-such-dir").join("video.mkv");
    assert_fails(&path, None, "NotFound", |e| {
        matches!(e, Error::NotFound { .. })
    });
}

#[test]
fn empty_file_is_not_a_video() {
    let dir = TempDir::new("empty");
    for name in ["empty.mp4", "empty"] {
        let path = dir.file(name, b"");
        assert_fails(&path, None, "NotAVideo", |e| {
            matches!(e, Error::NotAVideo { .. })
        });
    }
}

#[test]
fn text_file_is_not_a_video() {
    let dir = TempDir::new("text");
    let text =
        "This is not a video.\nJust a few lines of plain text,\nwith no media in it.\n".repeat(40);
    // With a text name and with a video name: the extension must not fool the probe.
    for name in ["notes.txt", "notes.mp4"] {
        let path = dir.file(name, text.as_bytes());
        assert_fails(&path, None, "NotAVideo", |e| {
            matches!(e, Error::NotAVideo { .. })
        });
    }
}

/// `len` bytes from a xorshift64 generator seeded with `seed`.
fn random_bytes(seed: u64, len: usize) -> Vec<u8> {
    let mut x = seed;
    let mut out = Vec::with_capacity(len + 8);
    while out.len() < len {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        out.extend_from_slice(&x.to_le_bytes());
    }
    out.truncate(len);
    out
}

#[test]
fn random_bytes_are_a_typed_error() {
    let dir = TempDir::new("random");
    for (name, seed) in [
        ("random.bin", 0x9E37_79B9_7F4A_7C15),
        ("random.mp4", 0x0123_4567_89AB_CDEF),
    ] {
        let path = dir.file(name, &random_bytes(seed, 64 * 1024));
        // Random bytes may happen to look like an audio stream to a type finder; what matters
        // is a typed error about the file, not a backend failure, a timeout or a panic.
        assert_fails(
            &path,
            None,
            "NotAVideo (or NoVideoStream/UnsupportedCodec/Unsupported)",
            |e| {
                matches!(
                    e,
                    Error::NotAVideo { .. }
                        | Error::NoVideoStream { .. }
                        | Error::UnsupportedCodec { .. }
                        | Error::Unsupported { .. }
                )
            },
        );
    }
}

#[test]
fn directory_is_a_typed_error() {
    let dir = TempDir::new("directory");
    let sub = dir.0.join("looks-like-a-video.mp4");
    std::fs::create_dir_all(&sub).unwrap_or_else(|e| panic!("{}: {e}", sub.display()));
    for path in [&dir.0, &sub] {
        assert_fails(path, None, "NotFound or NotAVideo", |e| {
            matches!(e, Error::NotFound { .. } | Error::NotAVideo { .. })
        });
    }
}

// ---------------------------------------------------------------------------------------------
// Media files without (usable) video.
// ---------------------------------------------------------------------------------------------

/// Encodes one second of a sine tone with ffmpeg into `path` (codec chosen by `codec_args`).
fn audio_file(path: &Path, codec_args: &[&str]) {
    let mut cmd = Command::new("ffmpeg");
    cmd.args([
        "-nostdin",
        "-hide_banner",
        "-v",
        "error",
        "-y",
        "-f",
        "lavfi",
        "-i",
        "sine=frequency=440:duration=1",
    ])
    .args(codec_args)
    .arg(path);
    run_tool(&mut cmd, &format!("encoding {}", path.display()));
}

#[test]
fn audio_only_files_have_no_video_stream() {
    let dir = TempDir::new("audio");
    let files: [(&str, &[&str]); 3] = [
        ("tone.m4a", &["-c:a", "aac"]),
        ("tone.ogg", &["-c:a", "libvorbis"]),
        ("tone.wav", &["-c:a", "pcm_s16le"]),
    ];
    // Every file is checked before failing, so one run shows every container's behaviour.
    let mut problems = Vec::new();
    for (name, args) in files {
        let path = dir.0.join(name);
        audio_file(&path, args);
        let result = check_fails(&path, None, "NoVideoStream { requested: None }", |e| {
            matches!(
                e,
                Error::NoVideoStream {
                    requested: None,
                    ..
                }
            )
        });
        match result {
            Ok(e) => assert!(!e.is_transient(), "{e:?}"),
            Err(problem) => problems.push(problem),
        }
    }
    // Asking for a video stream by index names the index.
    let path = dir.0.join("tone.m4a");
    let result = check_fails(
        &path,
        Some(0),
        "NoVideoStream { requested: Some(0) }",
        |e| {
            matches!(
                e,
                Error::NoVideoStream {
                    requested: Some(0),
                    ..
                }
            )
        },
    );
    problems.extend(result.err());
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn video_stream_index_past_the_video_streams_is_no_video_stream() {
    let path = barcode::generate(&barcode::h264_mp4_bframes());
    assert_fails(
        &path,
        Some(1),
        "NoVideoStream { requested: Some(1) }",
        |e| {
            matches!(
                e,
                Error::NoVideoStream {
                    requested: Some(1),
                    ..
                }
            )
        },
    );
}

#[test]
fn mp4_with_its_moov_cut_off_is_not_a_video() {
    // No faststart: ffmpeg writes `moov` after `mdat`, so cutting the file in half loses it.
    let spec = FixtureSpec::new("moov-at-end", "libx264", "mp4", 320, 240, 60)
        .args(&["-g", "25", "-pix_fmt", "yuv420p"]);
    let whole = barcode::generate(&spec);
    let boxes = mp4::top_level_boxes(&whole);
    let (mdat, moov) = (
        boxes.iter().position(|b| b == "mdat"),
        boxes.iter().position(|b| b == "moov"),
    );
    assert!(
        matches!((mdat, moov), (Some(a), Some(b)) if a < b),
        "{}: moov must follow mdat: {boxes:?}",
        whole.display()
    );
    // Control: the whole file is a video.
    let mut d = GstDemuxer::builder(&whole)
        .with_stall_timeout(STALL)
        .build()
        .unwrap_or_else(|e| panic!("{e}"));
    let meta = block_on(d.probe()).unwrap_or_else(|e| panic!("{}: {e}", whole.display()));
    assert_eq!(meta.frame_count, 60);

    let bytes = std::fs::read(&whole).unwrap_or_else(|e| panic!("{}: {e}", whole.display()));
    let dir = TempDir::new("moov");
    let cut = dir.file("moov-cut-off.mp4", &bytes[..bytes.len() / 2]);
    let boxes = mp4::top_level_boxes(&cut);
    assert!(
        !boxes.iter().any(|b| b == "moov"),
        "{}: {boxes:?}",
        cut.display()
    );
    // Several fresh demuxers: a race between the demuxer's error and the stall timeout shows
    // up as an occasional Timeout.
    for _ in 0..3 {
        assert_fails(&cut, None, "NotAVideo", |e| {
            matches!(e, Error::NotAVideo { .. })
        });
    }
}

// ---------------------------------------------------------------------------------------------
// Plans and options that cannot work.
// ---------------------------------------------------------------------------------------------

/// Decodes `indices` from `path` under the hang guard; returns every item of the stream.
fn decode(path: &Path, opts: DecodeOptions, indices: Vec<u64>) -> Vec<video_core::Result<Frame>> {
    let what = format!("decoding {indices:?} from {}", path.display());
    let path = path.to_owned();
    guarded(&what.clone(), CALL_LIMIT, move || {
        let mut d = GstDemuxer::builder(&path)
            .with_stall_timeout(STALL)
            .build()
            .unwrap_or_else(|e| panic!("{what}: {e}"));
        let mut src = block_on(d.frame_source(opts)).unwrap_or_else(|e| panic!("{what}: {e}"));
        let plan = ResolvedPlan::from_indices(indices);
        block_on(src.frames(&plan).collect::<Vec<_>>())
    })
}

#[test]
fn index_past_the_end_is_out_of_range() {
    let path = barcode::generate(&barcode::h264_mp4_bframes());
    let mut d = GstDemuxer::builder(&path)
        .with_stall_timeout(STALL)
        .build()
        .unwrap_or_else(|e| panic!("{e}"));
    let table = block_on(d.frame_table()).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(table.len(), 60);

    let out_of_range = |e: &Error, want: u64| matches!(e, Error::IndexOutOfRange { index, frame_count: 60 } if *index == want);
    // Resolving a plan.
    for (plan, want) in [
        (SamplingPlan::indices([60]), 60),
        (SamplingPlan::indices([3, 59, 1000]), 1000),
        (SamplingPlan::indices([u64::MAX]), u64::MAX),
        (SamplingPlan::every(1).range(60, 70), 60),
    ] {
        let e = plan
            .resolve(&table)
            .expect_err("a plan past the end must not resolve");
        assert!(out_of_range(&e, want), "{plan:?}: {e:?}");
        assert!(
            e.to_string().contains(&want.to_string()) && e.to_string().contains("60"),
            "{e}"
        );
    }

    // Decoding a resolved plan that was not checked against the table: frames before the bad
    // index may come first, then exactly one IndexOutOfRange, then the end.
    for (indices, want) in [
        (vec![60], 60),
        (vec![3, 60], 60),
        (vec![0, u64::MAX], u64::MAX),
    ] {
        let items = decode(&path, DecodeOptions::default(), indices.clone());
        let (last, before) = items
            .split_last()
            .unwrap_or_else(|| panic!("{indices:?}: empty stream"));
        match last {
            Err(e) => assert!(out_of_range(e, want), "{indices:?}: {e:?}"),
            Ok(f) => panic!("{indices:?}: ended with frame {}", f.info.index),
        }
        for (item, &i) in before.iter().zip(&indices) {
            match item {
                Ok(f) => assert_eq!(f.info.index, i, "{indices:?}"),
                Err(e) => panic!("{indices:?}: error before the last item: {e:?}"),
            }
        }
    }
    // An empty plan gives an empty stream.
    assert!(decode(&path, DecodeOptions::default(), Vec::new()).is_empty());
}

#[test]
fn impossible_plans_are_invalid() {
    let path = barcode::generate(&barcode::h264_mp4_bframes());
    let mut d = GstDemuxer::builder(&path)
        .with_stall_timeout(STALL)
        .build()
        .unwrap_or_else(|e| panic!("{e}"));
    let table = block_on(d.frame_table()).unwrap_or_else(|e| panic!("{e}"));
    for plan in [
        SamplingPlan::every(0),
        SamplingPlan::every(0).range(0, 10),
        SamplingPlan::every(1).range(10, 5),
        SamplingPlan::fps(0.0),
        SamplingPlan::fps(-1.0),
        SamplingPlan::fps(f64::NAN),
        SamplingPlan::time_range(-1.0, None),
        SamplingPlan::time_range(1.0, Some(0.5)),
        SamplingPlan::all().max_frames(0),
    ] {
        let e = plan
            .resolve(&table)
            .expect_err("an impossible plan must not resolve");
        assert!(matches!(e, Error::InvalidPlan { .. }), "{plan:?}: {e:?}");
    }
    let e = SamplingPlan::every(0).resolve(&table).expect_err("step 0");
    assert!(
        e.to_string().contains('0'),
        "the reason names the step: {e}"
    );
}

#[test]
fn impossible_options_are_invalid() {
    let path = barcode::generate(&barcode::h264_mp4_bframes());
    let e = GstDemuxer::builder(&path)
        .with_stall_timeout(Duration::ZERO)
        .build()
        .expect_err("zero stall timeout");
    assert!(matches!(e, Error::InvalidOption { .. }), "{e:?}");

    let mut d = GstDemuxer::builder(&path)
        .with_stall_timeout(STALL)
        .build()
        .unwrap_or_else(|e| panic!("{e}"));
    for opts in [
        DecodeOptions::default().buffer_frames(0),
        DecodeOptions::default().resize(Some(Resize::Exact {
            width: 0,
            height: 120,
        })),
        DecodeOptions::default().resize(Some(Resize::FitWithin { max_side: 0 })),
        DecodeOptions::default()
            .output(OutputFormat::Native)
            .resize(Some(Resize::Exact {
                width: 160,
                height: 120,
            })),
    ] {
        let e = block_on(d.frame_source(opts.clone())).expect_err("impossible options");
        assert!(matches!(e, Error::InvalidOption { .. }), "{opts:?}: {e:?}");
    }
}

// ---------------------------------------------------------------------------------------------
// Special files: FIFOs, devices and sockets are refused before anything opens them.
// ---------------------------------------------------------------------------------------------

/// Makes a FIFO at `path` with the `mkfifo` tool.
fn mkfifo(path: &Path) {
    let mut cmd = Command::new("mkfifo");
    cmd.arg(path);
    run_tool(&mut cmd, &format!("making the FIFO {}", path.display()));
}

#[test]
fn special_files_are_not_regular_files() {
    let dir = TempDir::new("special");
    let fifo = dir.0.join("fifo.mp4");
    mkfifo(&fifo);
    let socket_path = dir.0.join("socket.mp4");
    // Kept open for the whole test: a socket file with a listener behind it.
    let _listener = std::os::unix::net::UnixListener::bind(&socket_path)
        .unwrap_or_else(|e| panic!("{}: {e}", socket_path.display()));
    let cases = [
        (fifo.clone(), "not a regular file (FIFO)"),
        (
            PathBuf::from("/dev/null"),
            "not a regular file (character device)",
        ),
        (
            PathBuf::from("/dev/zero"),
            "not a regular file (character device)",
        ),
        (socket_path.clone(), "not a regular file (socket)"),
    ];
    let mut problems = Vec::new();
    for (path, reason) in cases {
        match check_fails(&path, None, "NotAVideo", |e| {
            matches!(e, Error::NotAVideo { .. })
        }) {
            Ok(e) if e.to_string().contains(reason) => {}
            Ok(e) => problems.push(format!("{}: \"{e}\" lacks \"{reason}\"", path.display())),
            Err(problem) => problems.push(problem),
        }
    }
    // Without the header index (every packet read), and through a symbolic link to the FIFO.
    let link = dir.0.join("link-to-fifo.mkv");
    std::os::unix::fs::symlink(&fifo, &link).unwrap_or_else(|e| panic!("{}: {e}", link.display()));
    for path in [fifo, link] {
        let shown = path.display().to_string();
        let result = guarded(&format!("probing {shown}"), CALL_LIMIT, move || {
            let mut d = GstDemuxer::builder(&path)
                .with_stall_timeout(STALL)
                .with_header_index(false)
                .build()
                .unwrap_or_else(|e| panic!("{e}"));
            block_on(d.probe()).map(drop)
        });
        match result {
            Err(e @ Error::NotAVideo { .. })
                if e.to_string().contains(&shown) && e.to_string().contains("(FIFO)") => {}
            other => problems.push(format!("{shown}: {other:?}")),
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

// ---------------------------------------------------------------------------------------------
// Limits and deadlines.
// ---------------------------------------------------------------------------------------------

/// A file that counts the bytes read from it.
#[derive(Debug)]
struct Counted {
    inner: video_core::FileSource,
    read: std::sync::atomic::AtomicU64,
}

impl video_core::ByteSource for Counted {
    fn uri(&self) -> &str {
        self.inner.uri()
    }
    fn len(&self) -> u64 {
        self.inner.len()
    }
    fn read_at(&self, offset: u64, len: usize) -> video_core::Result<bytes::Bytes> {
        let b = self.inner.read_at(offset, len)?;
        self.read
            .fetch_add(b.len() as u64, std::sync::atomic::Ordering::Relaxed);
        Ok(b)
    }
}

/// Whether `e` is the frame-table limit on `uri` with these numbers.
fn is_frame_limit(e: &Error, uri: &str, want_limit: u64, want_actual: u64) -> bool {
    matches!(e, Error::LimitExceeded { what, limit, actual }
        if what == &format!("{uri}: frame table") && *limit == want_limit && *actual == want_actual)
}

#[test]
fn frame_tables_longer_than_the_limit_stop_the_probe() {
    // A Matroska file (no header table): the demux pass reads every packet.
    // Noise makes every frame large, so the bytes read tell how far the pass went.
    let spec = FixtureSpec::new("limit-frames", "libx264", "mkv", 128, 96, 600)
        .filter("noise=alls=60:allf=t")
        .args(&["-g", "30", "-crf", "12", "-pix_fmt", "yuv420p"]);
    let path = barcode::generate(&spec);
    let uri = path.display().to_string();
    // At the limit: fine.
    let mut d = GstDemuxer::builder(&path)
        .with_stall_timeout(STALL)
        .with_max_frames(600)
        .build()
        .unwrap_or_else(|e| panic!("{e}"));
    let table = block_on(d.frame_table()).unwrap_or_else(|e| panic!("{uri}: {e}"));
    assert_eq!(table.len(), 600);

    // One frame over: the pass stops at packet 601 (the first one too many).
    let mut d = GstDemuxer::builder(&path)
        .with_stall_timeout(STALL)
        .with_max_frames(599)
        .build()
        .unwrap_or_else(|e| panic!("{e}"));
    let e = block_on(d.probe()).expect_err("600 frames over a limit of 599");
    assert!(is_frame_limit(&e, &uri, 599, 600), "{e:?}");
    assert!(e.to_string().contains(&uri), "{e}");

    // Far over: the pass stops early, so it reads only the start of the file.
    let counted = std::sync::Arc::new(Counted {
        inner: video_core::FileSource::open(&path).unwrap_or_else(|e| panic!("{e}")),
        read: Default::default(),
    });
    let total = video_core::ByteSource::len(counted.as_ref());
    let mut d = video_gst::GstDemuxerBuilder::from_source(counted.clone())
        .with_stall_timeout(STALL)
        .with_max_frames(20)
        .build()
        .unwrap_or_else(|e| panic!("{e}"));
    let e = block_on(d.frame_table()).expect_err("600 frames over a limit of 20");
    assert!(is_frame_limit(&e, &uri, 20, 21), "{e:?}");
    let read = counted.read.load(std::sync::atomic::Ordering::Relaxed);
    assert!(
        read < total / 4,
        "{uri}: read {read} of {total} bytes before stopping at frame 21 of 600"
    );

    // MP4 with the header's sample tables, and without them (every packet read).
    let mp4 = barcode::generate(&barcode::h264_mp4_bframes());
    let mp4_uri = mp4.display().to_string();
    for header in [true, false] {
        let mut d = GstDemuxer::builder(&mp4)
            .with_stall_timeout(STALL)
            .with_header_index(header)
            .with_max_frames(59)
            .build()
            .unwrap_or_else(|e| panic!("{e}"));
        let e = block_on(d.probe()).expect_err("60 frames over a limit of 59");
        assert!(
            is_frame_limit(&e, &mp4_uri, 59, 60),
            "header {header}: {e:?}"
        );
    }
}

#[test]
fn frames_larger_than_the_dimension_limit_are_refused_at_probe() {
    let path = barcode::generate(&barcode::h264_mp4_bframes()); // 320x240
    let uri = path.display().to_string();
    // (The width is checked first: 320 > 239 too.)
    for (max, side, actual) in [(319, "width", 320), (239, "width", 320)] {
        let mut d = GstDemuxer::builder(&path)
            .with_stall_timeout(STALL)
            .with_max_dimension(max)
            .build()
            .unwrap_or_else(|e| panic!("{e}"));
        let e = block_on(d.probe()).expect_err("a frame larger than the limit");
        match &e {
            Error::LimitExceeded {
                what,
                limit,
                actual: got,
            } => {
                assert!(what.contains(&uri) && what.contains(side), "{what}");
                assert_eq!((*limit, *got), (u64::from(max), actual));
            }
            other => panic!("{uri}: max {max}: {other:?}"),
        }
    }
    let mut d = GstDemuxer::builder(&path)
        .with_stall_timeout(STALL)
        .with_max_dimension(320)
        .build()
        .unwrap_or_else(|e| panic!("{e}"));
    let m = block_on(d.probe()).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!((m.stored_width, m.stored_height), (320, 240));
    // The default limit is documented and lets real videos through.
    assert_eq!(video_gst::limits::MAX_DIMENSION, 16_384);
    assert_eq!(video_gst::limits::MAX_FRAMES, 10_000_000);
}

/// Whether `e` is a deadline timeout naming `uri`.
fn is_deadline(e: &Error, uri: &str) -> bool {
    matches!(e, Error::Timeout { uri: u, operation, .. } if u == uri && operation.contains("deadline"))
}

#[test]
fn a_deadline_ends_a_probe_and_a_decode() {
    let tiny = Some(Duration::from_nanos(1));
    for spec in [barcode::h264_mp4_bframes(), barcode::hevc_mkv()] {
        let path = barcode::generate(&spec);
        let uri = path.display().to_string();
        // The probe.
        let mut d = GstDemuxer::builder(&path)
            .with_stall_timeout(STALL)
            .with_probe_deadline(tiny)
            .build()
            .unwrap_or_else(|e| panic!("{e}"));
        let e = block_on(d.probe()).expect_err("a probe within 1 ns");
        assert!(is_deadline(&e, &uri), "{e:?}");
        assert!(e.to_string().contains("deadline"), "{e}");

        // A decode: the probe has no deadline, the decode has.
        let p2 = path.clone();
        let items = guarded(&format!("decoding {uri}"), CALL_LIMIT, move || {
            let mut d = GstDemuxer::builder(&p2)
                .with_stall_timeout(STALL)
                .with_decode_deadline(tiny)
                .build()
                .unwrap_or_else(|e| panic!("{e}"));
            let mut src = block_on(d.frame_source(DecodeOptions::default()))
                .unwrap_or_else(|e| panic!("{e}"));
            let plan = ResolvedPlan::from_indices(vec![0, 30, 59]);
            block_on(src.frames(&plan).collect::<Vec<_>>())
        });
        match items.as_slice() {
            [Err(e)] => assert!(is_deadline(e, &uri), "{e:?}"),
            other => panic!("{uri}: {} items, first {:?}", other.len(), other.first()),
        }

        // A generous deadline changes nothing.
        let mut d = GstDemuxer::builder(&path)
            .with_stall_timeout(STALL)
            .with_deadline(Some(Duration::from_secs(600)))
            .build()
            .unwrap_or_else(|e| panic!("{e}"));
        let mut src =
            block_on(d.frame_source(DecodeOptions::default())).unwrap_or_else(|e| panic!("{e}"));
        let plan = ResolvedPlan::from_indices(vec![0, 59]);
        let frames: Vec<_> = block_on(src.frames(&plan).collect::<Vec<_>>());
        assert_eq!(frames.len(), 2);
        for f in frames {
            f.unwrap_or_else(|e| panic!("{uri}: {e}"));
        }
    }
    // A zero deadline cannot work.
    let path = barcode::generate(&barcode::h264_mp4_bframes());
    let e = GstDemuxer::builder(&path)
        .with_deadline(Some(Duration::ZERO))
        .build()
        .expect_err("zero deadline");
    assert!(matches!(e, Error::InvalidOption { .. }), "{e:?}");
}

#[test]
fn a_stream_declaring_65535_by_65535_exceeds_the_dimension_limit() {
    // Raw video in AVI takes its size from the container header alone (no bitstream to parse).
    let dir = TempDir::new("huge");
    let small = dir.0.join("raw.avi");
    let mut cmd = Command::new("ffmpeg");
    cmd.args(["-nostdin", "-v", "error", "-y", "-f", "lavfi", "-i"])
        .arg("testsrc=size=32x32:rate=5:duration=1")
        .args(["-c:v", "rawvideo", "-pix_fmt", "bgr24"])
        .arg(&small);
    run_tool(&mut cmd, "encoding raw video in AVI");
    let mut bytes = std::fs::read(&small).unwrap_or_else(|e| panic!("{e}"));
    // BITMAPINFOHEADER: size(4) width(4) height(4) after the `strf` chunk header.
    let strf = bytes
        .windows(4)
        .position(|w| w == b"strf")
        .unwrap_or_else(|| panic!("{}: no strf chunk", small.display()));
    bytes[strf + 12..strf + 16].copy_from_slice(&65535i32.to_le_bytes());
    bytes[strf + 16..strf + 20].copy_from_slice(&65535i32.to_le_bytes());
    let huge = dir.file("huge.avi", &bytes);
    let e = assert_fails(&huge, None, "LimitExceeded", |e| {
        matches!(e, Error::LimitExceeded { .. })
    });
    match e {
        Error::LimitExceeded {
            what,
            limit,
            actual,
        } => {
            assert!(what.contains("width"), "{what}");
            assert_eq!((limit, actual), (16_384, 65_535));
        }
        other => panic!("{other:?}"),
    }
    // Control: the file as ffmpeg wrote it is a video.
    let mut d = GstDemuxer::builder(&small)
        .with_stall_timeout(STALL)
        .build()
        .unwrap_or_else(|e| panic!("{e}"));
    let m = block_on(d.probe()).unwrap_or_else(|e| panic!("{}: {e}", small.display()));
    assert_eq!((m.stored_width, m.frame_count), (32, 5));
}
