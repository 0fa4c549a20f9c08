//! Frame accuracy on generated barcode fixtures: every frame of a fixture shows its own frame
//! number, so a frame we hand out for index `i` must show the number ffmpeg's own decode shows
//! for its `i`-th frame.
//!
//! Covers H.264 (8 and 10 bit, B-frames), HEVC, VP9 at an odd size, AV1, MJPEG, ProRes and
//! MPEG-4 Part 2 in MP4/MKV/WebM/AVI/TS/MOV, variable frame rate, an edit list, display
//! rotation, resizing, GOP-aware seeking (through [`DecodeStats`]) and truncated files.

mod support;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use futures::StreamExt;
use support::barcode::{self, FixtureSpec};
use support::ffmpeg::{self, Orientation as FfOrientation};
use video_core::{
    DecodeStats, Demuxer, Error, Frame, FrameSource, FrameTable, PixelFormat, ResolvedPlan,
    SamplingPlan, VideoMetadata,
};
use video_gst::{DecodeOptions, GstDemuxer, Orientation, OutputFormat, Resize};
use video_testkit::block_on;

/// Stall timeout of every pipeline here: a hang shows up as an [`Error::Timeout`] within it.
const STALL: Duration = Duration::from_secs(10);
/// Longest one probe or decode call may take: past the stall timeout, so only a hang trips it.
const HANG_GUARD: Duration = Duration::from_secs(30);

/// A generated fixture and what ffmpeg decodes from it.
struct Fixture {
    spec: FixtureSpec,
    path: PathBuf,
    /// The barcode of ffmpeg's `i`-th decoded frame (display orientation); `None` where the
    /// frame carries no readable barcode (damaged tail of a truncated file).
    expected: Vec<Option<u32>>,
    /// Clockwise rotation ffmpeg applies for display.
    rotation_cw: u32,
    /// Stored size from ffprobe.
    stored: (u32, u32),
    /// Display size from ffprobe (swapped for 90/270).
    display: (u32, u32),
}

impl Fixture {
    fn new(spec: FixtureSpec) -> Self {
        let started = Instant::now();
        let path = barcode::generate(&spec);
        let stream = ffmpeg::first_video_stream(&path);
        let probe = ffmpeg::ffprobe_stream(&path, stream);
        let expected = ffmpeg::ffmpeg_frame_numbers_opt(&path, stream, FfOrientation::Display);
        let size = |(w, h): (usize, usize)| {
            (
                u32::try_from(w).expect("small width"),
                u32::try_from(h).expect("small height"),
            )
        };
        let fx = Fixture {
            stored: size((probe.width, probe.height)),
            display: size(probe.display_size()),
            rotation_cw: probe.display_rotation_cw(),
            spec,
            path,
            expected,
        };
        eprintln!(
            "{}: fixture and ffmpeg reference ({} frames) ready in {:?}",
            fx.name(),
            fx.expected.len(),
            started.elapsed()
        );
        fx
    }

    fn name(&self) -> String {
        barcode::describe(&self.spec, &self.path)
    }

    /// ffmpeg's barcode at index `i`, which must be readable.
    fn number(&self, i: u64) -> u32 {
        let i = usize::try_from(i).expect("small index");
        match self.expected.get(i) {
            Some(Some(n)) => *n,
            Some(None) => panic!(
                "{}: ffmpeg's frame {i} has no readable barcode",
                self.name()
            ),
            None => panic!(
                "{}: ffmpeg decodes only {} frames, no frame {i}",
                self.name(),
                self.expected.len()
            ),
        }
    }

    /// Our probe and frame table.
    fn probe(&self) -> (VideoMetadata, std::sync::Arc<FrameTable>) {
        let (name, path) = (self.name(), self.path.clone());
        guarded(format!("{name}: probe"), move || {
            let mut d = demuxer(&path);
            let meta = block_on(d.probe()).unwrap_or_else(|e| panic!("{name}: probe: {e}"));
            let table = block_on(d.frame_table()).unwrap_or_else(|e| panic!("{name}: table: {e}"));
            (meta, table)
        })
    }

    /// Decodes `plan` with `opts` on a fresh demuxer.
    fn decode(&self, opts: DecodeOptions, plan: &ResolvedPlan) -> Run {
        let (name, path, plan) = (self.name(), self.path.clone(), plan.clone());
        let what = format!("{name}: decoding {} frames", plan.len());
        guarded(what, move || {
            let mut d = demuxer(&path);
            let mut src = block_on(d.frame_source(opts))
                .unwrap_or_else(|e| panic!("{name}: frame source: {e}"));
            let results: Vec<video_core::Result<Frame>> = block_on(src.frames(&plan).collect());
            Run {
                results,
                stats: src.stats(),
            }
        })
    }
}

fn demuxer(path: &Path) -> GstDemuxer {
    GstDemuxer::builder(path)
        .with_stall_timeout(STALL)
        .build()
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Runs `f` on its own thread and returns its result, failing the test if it panics or takes
/// longer than [`HANG_GUARD`] (the thread is then left behind: the test has failed anyway).
fn guarded<T: Send + 'static>(what: String, f: impl FnOnce() -> T + Send + 'static) -> T {
    video_testkit::guarded(what, HANG_GUARD, f)
}

/// The outcome of one `frames` call.
struct Run {
    results: Vec<video_core::Result<Frame>>,
    stats: DecodeStats,
}

/// Reads the barcode of an RGB frame (honouring its plane's offset and stride), displayed with
/// `rotation_cw`.
fn read_frame(frame: &Frame, rotation_cw: u32) -> Option<u32> {
    assert_eq!(
        frame.format,
        PixelFormat::Rgb8,
        "frame {}",
        frame.info.index
    );
    assert_eq!(frame.planes.len(), 1, "RGB has one plane");
    let plane = frame.planes[0];
    let (w, h) = (frame.width as usize, frame.height as usize);
    assert_eq!(
        plane.row_bytes,
        w * 3,
        "frame {} row bytes",
        frame.info.index
    );
    assert_eq!(plane.rows, h, "frame {} rows", frame.info.index);
    barcode::read_barcode_rotated(&frame.data[plane.offset..], w, h, plane.stride, rotation_cw)
}

/// Asserts that `run` gave exactly the frames of `plan`, in order, each `size` and showing
/// ffmpeg's barcode for its index when read with `rotation_cw`. Lists every mismatch.
fn assert_frames_match(
    fx: &Fixture,
    what: &str,
    plan: &ResolvedPlan,
    run: &Run,
    size: (u32, u32),
    rotation_cw: u32,
) {
    let name = fx.name();
    let mut problems = Vec::new();
    for (k, result) in run.results.iter().enumerate() {
        let planned = plan.indices().get(k).copied();
        match result {
            Err(e) => problems.push(format!("item {k} (planned index {planned:?}): error {e:?}")),
            Ok(frame) => {
                let i = frame.info.index;
                if Some(i) != planned {
                    problems.push(format!("item {k}: index {i}, planned {planned:?}"));
                    continue;
                }
                if (frame.width, frame.height) != size {
                    problems.push(format!(
                        "frame {i}: {}x{}, expected {}x{}",
                        frame.width, frame.height, size.0, size.1
                    ));
                    continue;
                }
                let want = fx.number(i);
                let got = read_frame(frame, rotation_cw);
                if got != Some(want) {
                    problems.push(format!(
                        "frame {i} shows barcode {got:?}, ffmpeg's frame {i} shows {want}"
                    ));
                }
            }
        }
    }
    if run.results.len() != plan.len() {
        problems.push(format!(
            "{} items for a plan of {} frames",
            run.results.len(),
            plan.len()
        ));
    }
    assert!(
        problems.is_empty(),
        "{name}: {what} (plan {:?}, stats {:?}):\n  {}",
        plan.indices(),
        run.stats,
        problems.join("\n  ")
    );
    assert_eq!(
        run.stats.frames_emitted,
        plan.len() as u64,
        "{name}: {what}: frames emitted"
    );
}

/// First, last, every key frame and its neighbours, and a few frames in the middle.
fn sparse_plan(table: &FrameTable) -> ResolvedPlan {
    let n = table.len();
    let mut v = vec![0, n - 1, n / 3, n / 2, 2 * n / 3 + 1];
    for k in table.iter().filter(|f| f.keyframe).map(|f| f.index) {
        v.extend([k.saturating_sub(1), k, k + 1]);
    }
    v.retain(|&i| i < n);
    ResolvedPlan::from_indices(v)
}

/// What to check on a fixture besides the sparse plan.
#[derive(Clone, Copy)]
struct Checks {
    /// Barcode of the first frame ffmpeg presents.
    first_number: u32,
    /// Also decode every frame.
    dense: bool,
    /// Frames at the end that ffmpeg decodes and GStreamer 1.22 cannot (a demuxer limitation):
    /// our table still lists them (ffmpeg's count and numbering), decoding one is an
    /// `Error::Decode` naming it, and every index before them decodes to ffmpeg's frame.
    missing_at_end: u64,
}

const SPARSE_AND_DENSE: Checks = Checks {
    first_number: 0,
    dense: true,
    missing_at_end: 0,
};

/// The common checks: ffmpeg's reference is the consecutive numbers from `first_number`; our
/// probe agrees with ffprobe and counts ffmpeg's frames; a sparse plan (and, if asked, every
/// frame) shows ffmpeg's barcodes at the same indices.
fn check_fixture(spec: FixtureSpec, checks: Checks) -> (Fixture, VideoMetadata, ResolvedPlan) {
    let fx = Fixture::new(spec);
    let name = fx.name();
    let want: Vec<Option<u32>> = (checks.first_number..fx.spec.frames).map(Some).collect();
    assert_eq!(fx.expected, want, "{name}: ffmpeg's reference decode");

    let (meta, table) = fx.probe();
    assert_eq!(
        meta.frame_count,
        fx.expected.len() as u64,
        "{name}: frame count vs the frames ffmpeg decodes"
    );
    let decodable = meta.frame_count - checks.missing_at_end;
    let only_decodable = |p: ResolvedPlan| {
        ResolvedPlan::from_indices(
            p.indices()
                .iter()
                .copied()
                .filter(|&i| i < decodable)
                .collect(),
        )
    };
    assert_eq!(table.len(), meta.frame_count, "{name}: table length");
    assert_eq!(
        (meta.stored_width, meta.stored_height),
        fx.stored,
        "{name}: stored size"
    );
    assert_eq!(
        (meta.width, meta.height),
        fx.display,
        "{name}: display size"
    );
    assert_eq!(meta.rotation, fx.rotation_cw, "{name}: rotation");
    for (k, f) in table.iter().enumerate() {
        assert_eq!(f.index, k as u64, "{name}: table index");
    }

    if checks.missing_at_end > 0 {
        // The first frame GStreamer cannot give: a typed error naming it, after the frame before.
        let plan = ResolvedPlan::from_indices(vec![decodable - 1, decodable]);
        let run = fx.decode(DecodeOptions::default(), &plan);
        match run.results.as_slice() {
            [
                Ok(f),
                Err(Error::Decode {
                    index: Some(i),
                    reason,
                    ..
                }),
            ] => {
                assert_eq!((f.info.index, *i), (decodable - 1, decodable), "{name}");
                assert!(reason.contains("edit list"), "{name}: {reason}");
            }
            other => panic!("{name}: frames {plan:?}: {other:?}"),
        }
    }
    let sparse = only_decodable(sparse_plan(&table));
    let run = fx.decode(DecodeOptions::default(), &sparse);
    assert_frames_match(
        &fx,
        "sparse plan",
        &sparse,
        &run,
        fx.display,
        fx.rotation_cw,
    );
    eprintln!("{name}: sparse {:?}: {:?}", sparse.indices(), run.stats);

    if checks.dense {
        let all = only_decodable(
            SamplingPlan::all()
                .resolve(&table)
                .unwrap_or_else(|e| panic!("{name}: {e}")),
        );
        let run = fx.decode(DecodeOptions::default(), &all);
        assert_frames_match(&fx, "every frame", &all, &run, fx.display, fx.rotation_cw);
        eprintln!("{name}: dense: {:?}", run.stats);
        // One pass from the start: no frame decoded twice (a few extra for the preroll).
        assert!(
            run.stats.frames_decoded <= table.len() + 8,
            "{name}: every frame: {:?} for {} frames",
            run.stats,
            table.len()
        );
    }
    (fx, meta, sparse)
}

// ---------------------------------------------------------------------------------------------
// Codecs and containers.
// ---------------------------------------------------------------------------------------------

#[test]
fn h264_mp4_bframes_matches_ffmpeg() {
    check_fixture(barcode::h264_mp4_bframes(), SPARSE_AND_DENSE);
}

#[test]
fn h264_10bit_mp4_matches_ffmpeg() {
    check_fixture(barcode::h264_10bit_mp4(), SPARSE_AND_DENSE);
}

#[test]
fn hevc_mkv_matches_ffmpeg() {
    check_fixture(barcode::hevc_mkv(), SPARSE_AND_DENSE);
}

#[test]
fn vp9_webm_odd_size_matches_ffmpeg() {
    let (_, meta, _) = check_fixture(barcode::vp9_webm_odd(), SPARSE_AND_DENSE);
    assert_eq!((meta.width, meta.height), (322, 186));
}

#[test]
fn av1_mkv_matches_ffmpeg() {
    check_fixture(barcode::av1_mkv(), SPARSE_AND_DENSE);
}

#[test]
fn mjpeg_avi_matches_ffmpeg() {
    check_fixture(barcode::mjpeg_avi(), SPARSE_AND_DENSE);
}

#[test]
fn prores_mov_matches_ffmpeg() {
    check_fixture(barcode::prores_mov(), SPARSE_AND_DENSE);
}

#[test]
fn mpeg4_avi_bframes_matches_ffmpeg() {
    check_fixture(barcode::mpeg4_avi_bframes(), SPARSE_AND_DENSE);
}

#[test]
fn h264_avi_bframes_matches_ffmpeg() {
    check_fixture(barcode::h264_avi_bframes(), SPARSE_AND_DENSE);
}

#[test]
fn h264_ts_matches_ffmpeg() {
    check_fixture(barcode::h264_ts(), SPARSE_AND_DENSE);
}

/// Open GOPs in MPEG-TS: H.264 I frames with a recovery point SEI (recovery_frame_cnt 0) and
/// HEVC CRA pictures are points a decoder can start at, and ffmpeg flags them as key frames
/// (ffprobe `key_frame`). The table's key frames are exactly ffmpeg's, and each frame around
/// them asked for alone (decoding starts at its key frame, or the one before for a leading
/// picture) is ffmpeg's frame, with no restart.
#[test]
fn open_gop_ts_key_frames_are_ffmpegs_and_seek_exactly() {
    for spec in [barcode::h264_ts_open_gop(), barcode::hevc_ts_open_gop()] {
        let (fx, _, _) = check_fixture(spec, SPARSE_AND_DENSE);
        let name = fx.name();
        let (_, table) = fx.probe();
        let stream = ffmpeg::first_video_stream(&fx.path);
        let (_, frames) = ffmpeg::ffprobe_frames(&fx.path, stream);
        let want: Vec<u64> = (0..frames.len() as u64)
            .filter(|&i| frames[i as usize].key_frame)
            .collect();
        let ours: Vec<u64> = table
            .iter()
            .filter(|f| f.keyframe)
            .map(|f| f.index)
            .collect();
        assert_eq!(ours, want, "{name}: key frames (ours, ffmpeg's)");
        assert!(want.len() >= 3, "{name}: {want:?}");
        for &k in &want[1..] {
            for i in [k - 2, k - 1, k, k + 1] {
                let plan = ResolvedPlan::from_indices(vec![i]);
                let run = fx.decode(DecodeOptions::default(), &plan);
                assert_frames_match(&fx, "one frame", &plan, &run, fx.display, fx.rotation_cw);
                assert_eq!(run.stats.retries, 0, "{name}: frame {i}: {:?}", run.stats);
                eprintln!("{name}: frame {i} alone (key {k}): {:?}", run.stats);
            }
        }
    }
}

#[test]
fn vfr_mp4_matches_ffmpeg_and_keeps_its_timestamps() {
    let spec = barcode::vfr_mp4();
    let (fx, _, _) = check_fixture(spec, SPARSE_AND_DENSE);
    let (meta, table) = fx.probe();
    assert!(meta.variable_frame_rate, "{}: VFR flag", fx.name());
    for f in table.iter() {
        let want = barcode::vfr_pts_seconds(fx.number(f.index));
        let got = f.pts.as_seconds();
        assert!(
            (got - want).abs() < 1e-3,
            "{}: frame {} at {got:.6} s, its barcode's time is {want:.6} s",
            fx.name(),
            f.index
        );
    }
}

#[test]
fn edit_list_mp4_starts_at_the_edit() {
    // GStreamer 1.22's qtdemux ends this edit early: it sends 51 of the 60 samples ("we
    // reached the end of our segment") although the edit spans all of them, so the last 9
    // frames ffmpeg shows cannot be produced: the table lists them (from the header), decoding
    // one is a typed error. Every index before them must agree.
    let missing_at_end = 9;
    let checks = Checks {
        first_number: barcode::EDIT_LIST_FIRST_FRAME,
        dense: true,
        missing_at_end,
    };
    let (fx, meta, _) = check_fixture(barcode::edit_list_mp4(), checks);
    assert_eq!(
        meta.frame_count,
        u64::from(60 - barcode::EDIT_LIST_FIRST_FRAME),
        "{}: frames hidden by the edit list are not frames",
        fx.name()
    );
    let (_, table) = fx.probe();
    let first = table.first().map(|f| f.pts.as_seconds());
    assert!(
        first.is_some_and(|t| t.abs() < 1e-3),
        "{}: the first presented frame is at pts {first:?}, ffmpeg says 0",
        fx.name()
    );
    // Frame 0 is the first frame after the edit, decoded from references before it.
    let plan = ResolvedPlan::from_indices(vec![0]);
    let run = fx.decode(DecodeOptions::default(), &plan);
    assert_frames_match(&fx, "frame 0 alone", &plan, &run, fx.display, 0);
}

// ---------------------------------------------------------------------------------------------
// GOP-aware seeking.
// ---------------------------------------------------------------------------------------------

#[test]
fn h264_mp4_sparse_plans_decode_only_the_gops_they_need() {
    let fx = Fixture::new(barcode::h264_mp4_bframes());
    let name = fx.name();
    let (meta, table) = fx.probe();
    let keys: Vec<u64> = table
        .iter()
        .filter(|f| f.keyframe)
        .map(|f| f.index)
        .collect();
    assert_eq!(keys, [0, 25, 50], "{name}: key frames (fixed 25-frame GOP)");
    assert_eq!(meta.max_gop, 25, "{name}: longest GOP");
    assert_eq!(meta.keyframe_count, 3, "{name}: key frame count");
    let gop = meta.max_gop;
    let total = table.len();

    let check = |indices: Vec<u64>| -> DecodeStats {
        let plan = ResolvedPlan::from_indices(indices);
        let run = fx.decode(DecodeOptions::default(), &plan);
        assert_frames_match(&fx, "GOP plan", &plan, &run, fx.display, 0);
        eprintln!("{name}: plan {:?}: {:?}", plan.indices(), run.stats);
        run.stats
    };

    // One frame late in the file: seek to its GOP, decode only that GOP's head.
    let late = check(vec![55]);
    assert!(
        late.seeks >= 1,
        "{name}: frame 55 alone without a seek: {late:?}"
    );
    assert!(
        late.frames_decoded <= gop + 8,
        "{name}: frame 55 alone decoded {} frames (GOP {gop}): {late:?}",
        late.frames_decoded
    );

    // The last frame: the same.
    let last = check(vec![total - 1]);
    assert!(last.seeks >= 1, "{name}: last frame: {last:?}");
    assert!(
        last.frames_decoded <= gop + 8,
        "{name}: last frame decoded {} frames: {last:?}",
        last.frames_decoded
    );

    // Two frames in the same GOP: at most one seek, that GOP decoded once.
    let same_gop = check(vec![30, 40]);
    assert!(
        same_gop.seeks <= 1,
        "{name}: frames 30 and 40 (one GOP) used {} seeks: {same_gop:?}",
        same_gop.seeks
    );
    assert!(
        same_gop.frames_decoded <= gop + 8,
        "{name}: frames 30 and 40 decoded {} frames: {same_gop:?}",
        same_gop.frames_decoded
    );

    // A frame in every GOP: no GOP decoded twice.
    let every_gop = check(vec![5, 30, 55]);
    assert!(
        every_gop.frames_decoded <= total + 8,
        "{name}: frames 5, 30, 55 decoded {} frames of {total}: {every_gop:?}",
        every_gop.frames_decoded
    );
    assert!(
        every_gop.seeks <= 3,
        "{name}: frames 5, 30, 55: {every_gop:?}"
    );

    // A plan from a sampling rule: every 7th frame.
    let table_plan = SamplingPlan::every(7)
        .resolve(&table)
        .unwrap_or_else(|e| panic!("{name}: {e}"));
    let want: Vec<u64> = (0..total).step_by(7).collect();
    assert_eq!(table_plan.indices(), want.as_slice());
    let stats = check(table_plan.indices().to_vec());
    assert!(
        stats.frames_decoded <= total + 8,
        "{name}: every 7th frame decoded {} frames of {total}: {stats:?}",
        stats.frames_decoded
    );
}

/// Skipping unreferenced frames hands the decoder fewer frames and changes no output byte: a
/// sparse plan decoded with [`DecodeOptions::skip_unreferenced`] on and off gives the same
/// frames (RGB bytes, the md5 of the native planes, and ffmpeg's barcodes), and with it on strictly fewer
/// frames reach the decoder, never fewer than the frames the targets may reference.
fn check_skipping(spec: FixtureSpec) {
    let fx = Fixture::new(spec);
    let name = fx.name();
    let (_, table) = fx.probe();
    let n = table.len();
    // Targets late in their GOPs, so that frames no target needs lie before them.
    let plan = ResolvedPlan::from_indices(vec![10, 21, 22, 40, n - 2]);
    let opts = |on: bool| {
        DecodeOptions::default()
            .framemd5(true)
            .skip_unreferenced(on)
    };
    let on = fx.decode(opts(true), &plan);
    let off = fx.decode(opts(false), &plan);
    eprintln!("{name}: skipping on {:?}, off {:?}", on.stats, off.stats);
    assert_frames_match(&fx, "skipping on", &plan, &on, fx.display, fx.rotation_cw);
    assert_frames_match(&fx, "skipping off", &plan, &off, fx.display, fx.rotation_cw);
    assert_eq!(on.results.len(), off.results.len(), "{name}: frame count");
    for (a, b) in on.results.iter().zip(&off.results) {
        let (Ok(a), Ok(b)) = (a, b) else {
            panic!("{name}: an error where assert_frames_match saw none")
        };
        assert_eq!(a.info, b.info, "{name}: frame info");
        assert_eq!(
            (a.width, a.height, &a.format),
            (b.width, b.height, &b.format)
        );
        assert!(
            a.framemd5.is_some(),
            "{name}: frame {} has an md5",
            a.info.index
        );
        assert_eq!(
            a.framemd5, b.framemd5,
            "{name}: md5 of frame {}",
            a.info.index
        );
        assert!(
            a.data == b.data,
            "{name}: frame {} differs with skipping on",
            a.info.index
        );
    }
    let (s_on, s_off) = (on.stats, off.stats);
    assert_eq!(s_off.frames_skipped, 0, "{name}: skipping off: {s_off:?}");
    assert!(s_on.frames_skipped > 0, "{name}: nothing skipped: {s_on:?}");
    assert!(
        s_on.frames_to_decoder < s_off.frames_to_decoder,
        "{name}: skipping on handed {} frames to the decoder, off {}",
        s_on.frames_to_decoder,
        s_off.frames_to_decoder
    );
    assert!(
        s_on.frames_decoded < s_off.frames_decoded,
        "{name}: decoded {} frames on, {} off",
        s_on.frames_decoded,
        s_off.frames_decoded
    );
    assert!(
        s_on.frames_needed >= plan.len() as u64 && s_on.frames_needed <= s_on.frames_to_decoder,
        "{name}: lower bound {} vs {} handed: {s_on:?}",
        s_on.frames_needed,
        s_on.frames_to_decoder
    );
}

/// x264 picks few B-frames on the barcode clips (and makes them all references): force three
/// between references, the middle one a reference (B-pyramid), the others not.
fn forced_bframes(mut spec: FixtureSpec) -> FixtureSpec {
    spec.name.push_str("-forced-b");
    spec.args(&["-bf", "3", "-x264-params", "b-adapt=0:b-pyramid=normal"])
}

#[test]
fn h264_mp4_skips_unreferenced_frames_with_identical_output() {
    check_skipping(forced_bframes(barcode::h264_mp4_bframes()));
}

#[test]
fn h264_ts_skips_unreferenced_frames_with_identical_output() {
    check_skipping(forced_bframes(barcode::h264_ts()));
}

#[test]
fn hevc_mkv_skips_unreferenced_frames_with_identical_output() {
    check_skipping(barcode::hevc_mkv());
}

// ---------------------------------------------------------------------------------------------
// Output options: rotation, resizing, native format.
// ---------------------------------------------------------------------------------------------

fn check_rotation(rotation_cw: u32) {
    let sparse_only = Checks {
        first_number: 0,
        dense: false,
        missing_at_end: 0,
    };
    let (fx, meta, plan) = check_fixture(barcode::rotated_mp4(rotation_cw), sparse_only);
    let name = fx.name();
    assert_eq!(fx.rotation_cw, rotation_cw, "{name}: ffprobe's rotation");
    assert_eq!(meta.rotation, rotation_cw, "{name}: our rotation");
    assert_eq!((meta.stored_width, meta.stored_height), (320, 192));
    let display = if rotation_cw.is_multiple_of(180) {
        (320, 192)
    } else {
        (192, 320)
    };
    assert_eq!((meta.width, meta.height), display, "{name}: display size");

    // Display (default): swapped for 90/270, reads at the display rotation and at no other.
    let run = fx.decode(DecodeOptions::default(), &plan);
    assert_frames_match(&fx, "display", &plan, &run, display, rotation_cw);
    for frame in run.results.iter().flatten() {
        let i = frame.info.index;
        for wrong in [0, 90, 180, 270].into_iter().filter(|&r| r != rotation_cw) {
            assert_eq!(
                read_frame(frame, wrong),
                None,
                "{name}: displayed frame {i} reads at {wrong}° (display rotation {rotation_cw}°)"
            );
        }
    }

    // Stored: the coded picture, reads at 0° only.
    let opts = DecodeOptions::default().orientation(Orientation::Stored);
    let run = fx.decode(opts, &plan);
    assert_frames_match(&fx, "stored", &plan, &run, (320, 192), 0);
    for frame in run.results.iter().flatten() {
        for wrong in [90, 180, 270] {
            assert_eq!(
                read_frame(frame, wrong),
                None,
                "{name}: stored frame {} reads at {wrong}°",
                frame.info.index
            );
        }
    }
}

#[test]
fn rotated_90_mp4_is_displayed_rotated() {
    check_rotation(90);
}

#[test]
fn rotated_180_mp4_is_displayed_rotated() {
    check_rotation(180);
}

#[test]
fn rotated_270_mp4_is_displayed_rotated() {
    check_rotation(270);
}

#[test]
fn resized_frames_keep_their_barcode() {
    let fx = Fixture::new(barcode::h264_mp4_bframes());
    let (_, table) = fx.probe();
    let plan = sparse_plan(&table);

    let exact = Resize::Exact {
        width: 160,
        height: 120,
    };
    let run = fx.decode(DecodeOptions::default().resize(Some(exact)), &plan);
    assert_frames_match(&fx, "resize to 160x120", &plan, &run, (160, 120), 0);

    let fit = Resize::FitWithin { max_side: 200 };
    let run = fx.decode(DecodeOptions::default().resize(Some(fit)), &plan);
    assert_frames_match(&fx, "fit within 200", &plan, &run, (200, 150), 0);

    // Aspect ratio not kept: 240x240 from 320x240.
    let square = Resize::Exact {
        width: 240,
        height: 240,
    };
    let run = fx.decode(DecodeOptions::default().resize(Some(square)), &plan);
    assert_frames_match(&fx, "resize to 240x240", &plan, &run, (240, 240), 0);
}

#[test]
fn native_frames_carry_the_barcode_in_their_luma_plane() {
    let fx = Fixture::new(barcode::h264_mp4_bframes());
    let (_, table) = fx.probe();
    let plan = sparse_plan(&table);
    let run = fx.decode(DecodeOptions::default().output(OutputFormat::Native), &plan);
    assert_eq!(run.results.len(), plan.len(), "{}", fx.name());
    for (result, &i) in run.results.iter().zip(plan.indices()) {
        let frame = result
            .as_ref()
            .unwrap_or_else(|e| panic!("{}: frame {i}: {e}", fx.name()));
        assert_eq!(frame.info.index, i);
        assert_eq!(
            frame.format,
            PixelFormat::Native("I420".into()),
            "{}",
            fx.name()
        );
        assert_eq!((frame.width, frame.height), (320, 240));
        let y = frame.planes[0];
        assert_eq!((y.row_bytes, y.rows), (320, 240), "luma plane");
        let got = barcode::read_barcode_luma(&frame.data[y.offset..], 320, 240, y.stride);
        assert_eq!(got, Some(fx.number(i)), "{}: native frame {i}", fx.name());
    }
}

// ---------------------------------------------------------------------------------------------
// Truncated files.
// ---------------------------------------------------------------------------------------------

/// A truncated file: our table counts the frames ffmpeg decodes (not the header's count), an
/// index past them is out of range, and decoding every frame, then a sparse plan, gives frames
/// showing ffmpeg's barcode for their index until, at most once and last, an [`Error::Decode`]
/// naming the planned index of a frame GStreamer cannot decode. Never a hang, a wrong frame or
/// another error.
fn check_truncated(spec: FixtureSpec) {
    let fx = Fixture::new(spec);
    let name = fx.name();
    let readable = fx.expected.iter().take_while(|n| n.is_some()).count();
    assert!(
        readable >= 1 && readable < fx.spec.frames as usize,
        "{name}: ffmpeg reference: {:?}",
        fx.expected
    );
    // ffmpeg's readable frames are 0, 1, 2, ...: frame index i shows barcode i.
    for (i, n) in fx.expected.iter().take(readable).enumerate() {
        assert_eq!(*n, Some(i as u32), "{name}: ffmpeg reference frame {i}");
    }
    let (meta, table) = fx.probe();
    eprintln!(
        "{name}: ffmpeg decodes {} frames ({readable} readable); our table has {} (header {:?})",
        fx.expected.len(),
        meta.frame_count,
        meta.header_frame_count
    );
    assert_eq!(
        meta.frame_count,
        fx.expected.len() as u64,
        "{name}: frame count vs the frames ffmpeg decodes from the truncated file"
    );
    assert_eq!(table.len(), meta.frame_count, "{name}: table length");

    // Frames the header may announce but the data lacks are out of range, not decodable.
    let past = table.len() + 3;
    let err = SamplingPlan::indices([past])
        .resolve(&table)
        .expect_err("index past the data");
    assert!(
        matches!(err, Error::IndexOutOfRange { index, frame_count } if index == past && frame_count == table.len()),
        "{name}: plan of frame {past}: {err:?}"
    );
    let run = fx.decode(
        DecodeOptions::default(),
        &ResolvedPlan::from_indices(vec![past]),
    );
    assert!(
        matches!(run.results.as_slice(), [Err(Error::IndexOutOfRange { index, .. })] if *index == past),
        "{name}: decoding frame {past}: {:?}",
        run.results
    );

    let check_run = |what: &str, plan: &ResolvedPlan| -> usize {
        let run = fx.decode(DecodeOptions::default(), plan);
        let mut given = 0usize;
        for (k, result) in run.results.iter().enumerate() {
            let planned = plan.indices()[k];
            match result {
                Ok(frame) => {
                    assert_eq!(frame.info.index, planned, "{name}: {what}: item {k}");
                    // Source frame number == index in these fixtures; a frame we hand out must
                    // show it, also where ffmpeg's own frame is damaged.
                    let got = read_frame(frame, 0);
                    assert_eq!(
                        got,
                        Some(u32::try_from(planned).expect("small index")),
                        "{name}: {what}: frame {planned} shows {got:?} (ffmpeg's frame: {:?})",
                        fx.expected.get(planned as usize)
                    );
                    given += 1;
                }
                Err(e) => {
                    assert!(
                        matches!(e, Error::Decode { index: Some(j), .. } if *j == planned),
                        "{name}: {what}: item {k} (frame {planned}): expected a Decode error \
                         naming frame {planned}, got {e:?}"
                    );
                    assert!(
                        e.to_string().contains(&fx.path.display().to_string()),
                        "{name}: error does not name the file: {e}"
                    );
                    assert_eq!(
                        k + 1,
                        run.results.len(),
                        "{name}: {what}: the stream goes on after an error"
                    );
                }
            }
        }
        if run.results.last().is_some_and(Result::is_ok) {
            assert_eq!(
                run.results.len(),
                plan.len(),
                "{name}: {what}: the stream ended without error after {} of {} frames",
                run.results.len(),
                plan.len()
            );
        }
        eprintln!(
            "{name}: {what}: {given} frames of {} planned, then {:?}; {:?}",
            plan.len(),
            run.results
                .last()
                .and_then(|r| r.as_ref().err())
                .map(ToString::to_string),
            run.stats
        );
        given
    };

    let all = SamplingPlan::all()
        .resolve(&table)
        .unwrap_or_else(|e| panic!("{name}: {e}"));
    let dense_given = check_run("every frame", &all);
    assert!(
        dense_given > 0,
        "{name}: no frame of a file ffmpeg decodes {readable} frames of"
    );

    // Frames that came out of the dense run come out of a sparse one too, and the frame past
    // the end of the data (if the table lists one) fails the same way.
    let n = table.len();
    let given = dense_given as u64;
    let mut indices = vec![0, given / 2, given - 1];
    if given < n {
        indices.push(given);
        indices.push(n - 1);
    }
    let sparse = ResolvedPlan::from_indices(indices);
    let sparse_given = check_run("sparse", &sparse);
    let decodable = sparse.indices().iter().filter(|&&i| i < given).count();
    assert_eq!(
        sparse_given,
        decodable,
        "{name}: sparse plan {:?} after {given} decodable frames",
        sparse.indices()
    );
}

#[test]
fn truncated_mp4_gives_the_frames_ffmpeg_decodes() {
    check_truncated(barcode::truncated_mp4());
}

#[test]
fn truncated_mkv_gives_the_frames_ffmpeg_decodes() {
    check_truncated(barcode::truncated_mkv());
}

/// A truncation inside the first GOP (B-frames whose references are cut off).
#[test]
fn truncated_in_the_first_gop_gives_the_frames_ffmpeg_decodes() {
    for base in [barcode::truncated_mp4(), barcode::truncated_mkv()] {
        let mut spec = base;
        spec.post = vec![barcode::PostStep::Truncate { permille: 300 }];
        spec.name = format!("{}-early", spec.name);
        check_truncated(spec);
    }
}
