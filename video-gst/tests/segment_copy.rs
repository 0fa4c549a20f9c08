//! Stream copy of segments ([`GstDemuxer::copy_segments`]) on barcode fixtures: every frame of
//! a fixture shows its own number, so a segment `[first, end)` must decode (in ffmpeg) to exactly
//! the numbers ffmpeg decodes from the source at indices `first..end`, at the source's
//! timestamps moved to start at 0, in an MP4 whose `moov` comes first.

mod support;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use support::barcode::{self, FixtureSpec};
use support::ffmpeg;
use video_core::prepare::clean_cuts;
use video_core::{Demuxer, Error, FrameTable};
use video_gst::{CopyReport, CopySegment, GstDemuxer};
use video_testkit::block_on;

/// A generated fixture, its frame table and ffmpeg's barcodes of its frames.
struct Source {
    name: String,
    path: PathBuf,
    table: std::sync::Arc<FrameTable>,
    codes: Vec<u32>,
}

impl Source {
    fn new(spec: FixtureSpec) -> Self {
        let path = barcode::generate(&spec);
        let name = barcode::describe(&spec, &path);
        let table = block_on(demuxer(&path).frame_table()).expect("frame table");
        let codes = ffmpeg::ffmpeg_frame_numbers(&path);
        assert_eq!(
            codes.len() as u64,
            table.len(),
            "{name}: ffmpeg and the frame table disagree on the frame count"
        );
        Source {
            name,
            path,
            table,
            codes,
        }
    }

    /// Seconds of frame `i` in the source.
    fn pts_s(&self, i: u64) -> f64 {
        self.table.pts_of(i).expect("frame in table").as_nanos() as f64 / 1e9
    }

    /// Copy `segments` into a fresh directory; the outputs and reports.
    fn copy(
        &self,
        segments: &[CopySegment],
        tag: &str,
    ) -> Result<(Vec<PathBuf>, Vec<CopyReport>), Error> {
        let dir = out_dir(&format!("{}-{tag}", stem(&self.path)));
        let outputs: Vec<PathBuf> = (0..segments.len())
            .map(|k| dir.join(format!("seg{k:03}.mp4")))
            .collect();
        let reports = block_on(demuxer(&self.path).copy_segments(segments, &outputs))?;
        Ok((outputs, reports))
    }

    /// Every check of one copied segment against the source.
    fn check_segment(&self, seg: CopySegment, out: &Path, report: &CopyReport) {
        let what = format!(
            "{}: segment [{}, {}) in {}",
            self.name,
            seg.first,
            seg.end,
            out.display()
        );
        let n = (seg.end - seg.first) as usize;
        let range = seg.first as usize..seg.end as usize;
        // The report.
        assert_eq!(report.frames, n as u64, "{what}: report frames");
        assert_eq!(
            report.bytes,
            std::fs::metadata(out).expect("output exists").len(),
            "{what}: report bytes"
        );
        let sources: Vec<u64> = report.map.frames.iter().map(|f| f.source_index).collect();
        assert_eq!(
            sources,
            (seg.first..seg.end).collect::<Vec<_>>(),
            "{what}: map sources"
        );
        // moov before mdat.
        let boxes = support::mp4::top_level_boxes(out);
        let moov = boxes.iter().position(|b| b == "moov");
        let mdat = boxes.iter().position(|b| b == "mdat");
        assert!(
            matches!((moov, mdat), (Some(a), Some(b)) if a < b),
            "{what}: top-level boxes {boxes:?}"
        );
        // ffprobe's frame count, ffmpeg's barcodes.
        let stream = ffmpeg::first_video_stream(out);
        let pts = ffmpeg::ffprobe_frame_pts(out, stream);
        assert_eq!(pts.len(), n, "{what}: ffprobe frame count");
        let codes = ffmpeg::ffmpeg_frame_numbers(out);
        assert_eq!(codes, self.codes[range.clone()], "{what}: barcodes");
        // Timestamps relative to the segment's start, within a tick of the output's time base
        // (rounding to it, plus a microsecond for printing) and as the map says.
        let (num, den) = ffmpeg::ffprobe_stream(out, stream).time_base;
        let tick = num as f64 / den as f64 + 1e-6;
        let base = self.pts_s(seg.first);
        for (i, p) in pts.iter().enumerate() {
            let got = p.unwrap_or_else(|| panic!("{what}: frame {i} has no pts"));
            let want = self.pts_s(seg.first + i as u64) - base;
            assert!(
                (got - want).abs() <= tick,
                "{what}: frame {i} at {got} s, source says {want} s (tick {tick} s; all: {pts:?})"
            );
            let mapped = report.map.frames[i].pts.as_secs_f64();
            assert!(
                (mapped - want).abs() < 1e-6,
                "{what}: map pts of {i}: {mapped} vs {want}"
            );
        }
    }

    /// Copy the segments between consecutive `bounds` (which include 0 and the end) and check
    /// each; also that they cover every frame once.
    fn split_and_check(&self, bounds: &[u64], tag: &str) {
        let segments: Vec<CopySegment> = bounds
            .windows(2)
            .map(|w| CopySegment {
                first: w[0],
                end: w[1],
            })
            .collect();
        let (outputs, reports) = self.copy(&segments, tag).unwrap_or_else(|e| {
            panic!(
                "{}: copy at {bounds:?}: {}",
                self.name,
                video_testkit::error_chain(&e)
            )
        });
        assert_eq!(reports.len(), segments.len());
        let mut covered = Vec::new();
        for ((seg, out), report) in segments.iter().zip(&outputs).zip(&reports) {
            self.check_segment(*seg, out, report);
            covered.extend(report.map.frames.iter().map(|f| f.source_index));
        }
        if bounds.first() == Some(&0) && bounds.last() == Some(&self.table.len()) {
            assert_eq!(
                covered,
                (0..self.table.len()).collect::<Vec<_>>(),
                "{}: segments cover every frame once",
                self.name
            );
        }
    }
}

fn demuxer(path: &Path) -> GstDemuxer {
    GstDemuxer::builder(path)
        .with_stall_timeout(Duration::from_secs(10))
        .with_deadline(Some(Duration::from_secs(60)))
        .build()
        .expect("demuxer")
}

/// The file name of `path` without its extension.
fn stem(path: &Path) -> String {
    path.file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// A fresh, empty output directory for one test.
fn out_dir(tag: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join("segment-copy")
        .join(tag);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("output directory");
    dir
}

/// 0, every clean cut, the end.
fn all_bounds(table: &FrameTable) -> Vec<u64> {
    let mut b = vec![0];
    b.extend(clean_cuts(table));
    b.push(table.len());
    b
}

/// Cut at every clean cut, then at every other one, then at none.
fn every_cut_and_subsets(spec: FixtureSpec) {
    let src = Source::new(spec);
    let cuts = clean_cuts(&src.table);
    assert!(!cuts.is_empty(), "{}: no clean cut at all", src.name);
    // Clean cuts are key frames.
    assert!(
        cuts.iter()
            .all(|&c| src.table.get(c).is_some_and(|f| f.keyframe))
    );
    src.split_and_check(&all_bounds(&src.table), "all");
    let mut every_other = vec![0];
    every_other.extend(cuts.iter().step_by(2));
    every_other.push(src.table.len());
    src.split_and_check(&every_other, "every-other");
    src.split_and_check(&[0, src.table.len()], "whole");
}

#[test]
fn h264_mp4_with_b_frames() {
    every_cut_and_subsets(barcode::h264_mp4_bframes());
}

#[test]
fn hevc_in_matroska() {
    // Matroska gives no decode times: the copy's come from the frame table.
    every_cut_and_subsets(barcode::hevc_mkv());
}

#[test]
fn h264_in_mpeg_ts() {
    every_cut_and_subsets(barcode::h264_ts());
}

#[test]
fn hevc_in_mp4() {
    every_cut_and_subsets(
        FixtureSpec::new("hevc-mp4", "libx265", "mp4", 320, 240, 60).args(&[
            "-tag:v",
            "hvc1",
            "-x265-params",
            "log-level=error:bframes=3:keyint=25:min-keyint=25:scenecut=0",
        ]),
    );
}

#[test]
fn h264_in_matroska() {
    every_cut_and_subsets(
        FixtureSpec::new("h264-mkv", "libx264", "mkv", 320, 240, 60).args(&[
            "-g",
            "20",
            "-keyint_min",
            "20",
            "-sc_threshold",
            "0",
            "-bf",
            "3",
            "-pix_fmt",
            "yuv420p",
        ]),
    );
}

#[test]
fn variable_frame_rate_mp4() {
    every_cut_and_subsets(barcode::vfr_mp4());
}

#[test]
fn a_middle_segment_alone() {
    let src = Source::new(barcode::h264_mp4_bframes());
    let cuts = clean_cuts(&src.table);
    assert!(cuts.len() >= 2, "{}: cuts {cuts:?}", src.name);
    src.split_and_check(&cuts[..2], "middle");
}

/// Open GOPs: key frames with leading pictures are not clean cuts, the others are, and copies at
/// the clean ones are exact. `leading` says whether the encoder put leading pictures into the
/// fixture (x265 does; x264 with `open-gop=1` codes no B-frame before its key frames on this
/// content, checked with ffprobe: its key frames are all clean).
fn open_gop(spec: FixtureSpec, leading: bool) {
    let src = Source::new(spec);
    let cuts = clean_cuts(&src.table);
    let frames = src.table.as_slice();
    // The rule, frame by frame: a key frame is unclean when some frame decoded after it is
    // shown before it, or some frame decoded before it is shown after it.
    for k in frames.iter().filter(|f| f.keyframe && f.index > 0) {
        let crossing = frames.iter().any(|f| {
            (f.decode_order > k.decode_order && f.index < k.index)
                || (f.decode_order < k.decode_order && f.index > k.index)
        });
        assert_eq!(
            cuts.contains(&k.index),
            !crossing,
            "{}: key frame {} (cuts {cuts:?})",
            src.name,
            k.index
        );
    }
    let unclean: Vec<u64> = frames
        .iter()
        .filter(|f| f.keyframe && f.index > 0 && !cuts.contains(&f.index))
        .map(|f| f.index)
        .collect();
    if !leading {
        assert!(
            unclean.is_empty(),
            "{}: unclean key frames {unclean:?}",
            src.name
        );
        src.split_and_check(&all_bounds(&src.table), "clean");
        return;
    }
    assert!(
        !unclean.is_empty(),
        "{}: expected open-GOP key frames with leading pictures (cuts {cuts:?})",
        src.name
    );
    // Our copy refuses them, naming the index.
    for &k in &unclean {
        let e = src
            .copy(
                &[
                    CopySegment { first: 0, end: k },
                    CopySegment {
                        first: k,
                        end: src.table.len(),
                    },
                ],
                "unclean",
            )
            .expect_err("cut at an open-GOP key frame");
        assert!(
            matches!(&e, Error::InvalidPlan { reason } if reason.contains(&k.to_string())),
            "{}: {e}",
            src.name
        );
    }
    // The rule is needed: a plain decode-order cut at such a key frame (ffmpeg's own segment
    // muxer, which cuts at the first key frame packet at or after the time) does not give the
    // frames [0, K) and [K, n).
    let k = unclean[0];
    let dir = out_dir(&format!("{}-ffmpeg-cut", stem(&src.path)));
    let pattern = dir.join("part%d.ts");
    let at = format!("{:.6}", src.pts_s(k) - src.pts_s(0));
    let mut cmd = Command::new("ffmpeg");
    cmd.args(["-nostdin", "-v", "error", "-y", "-i"])
        .arg(&src.path)
        .args([
            "-map",
            "0:v:0",
            "-c",
            "copy",
            "-f",
            "segment",
            "-segment_times",
            &at,
        ])
        .arg(&pattern);
    video_testkit::run_ok(&mut cmd);
    let first_part = dir.join("part0.ts");
    let stream = ffmpeg::first_video_stream(&first_part);
    let got: Vec<Option<u32>> =
        ffmpeg::ffmpeg_frame_numbers_opt(&first_part, stream, ffmpeg::Orientation::Stored);
    let want: Vec<Option<u32>> = src.codes[..k as usize].iter().map(|&c| Some(c)).collect();
    assert_ne!(
        got, want,
        "{}: a decode-order cut at unclean key frame {k} still gave frames [0, {k})",
        src.name
    );
    eprintln!(
        "{}: a decode-order cut at {k} gives {} frames instead of {k}: {got:?}",
        src.name,
        got.len()
    );
    // Copies at the clean cuts are exact.
    src.split_and_check(&all_bounds(&src.table), "clean");
}

#[test]
fn h264_open_gop_in_ts() {
    open_gop(barcode::h264_ts_open_gop(), false);
}

#[test]
fn hevc_open_gop_in_ts() {
    open_gop(barcode::hevc_ts_open_gop(), true);
}

#[test]
fn unclean_bounds_are_invalid_plans_naming_the_index() {
    let src = Source::new(barcode::h264_mp4_bframes());
    let cuts = clean_cuts(&src.table);
    let bad = cuts[0] + 1;
    for segments in [
        vec![CopySegment { first: 0, end: bad }],
        vec![CopySegment {
            first: bad,
            end: src.table.len(),
        }],
    ] {
        let e = src.copy(&segments, "bad").expect_err("not a clean cut");
        assert!(
            matches!(&e, Error::InvalidPlan { reason } if reason.contains(&format!("frame {bad} "))),
            "{e}"
        );
    }
    // Overlapping and empty segments, and a missing output path.
    let n = src.table.len();
    let e = src
        .copy(
            &[
                CopySegment { first: 0, end: n },
                CopySegment { first: 0, end: n },
            ],
            "overlap",
        )
        .expect_err("overlap");
    assert!(matches!(e, Error::InvalidPlan { .. }), "{e}");
    let e = block_on(demuxer(&src.path).copy_segments(&[CopySegment { first: 0, end: n }], &[]))
        .expect_err("no output");
    assert!(matches!(e, Error::InvalidPlan { .. }), "{e}");
}

#[test]
fn edit_list_mp4() {
    let src = Source::new(barcode::edit_list_mp4());
    assert_eq!(src.codes[0], barcode::EDIT_LIST_FIRST_FRAME);
    let cuts = clean_cuts(&src.table);
    assert!(cuts.len() >= 2, "{}: cuts {cuts:?}", src.name);
    let n = src.table.len();
    // The first segment is decoded from packets the edit list hides: they are copied and
    // hidden again by the output's edit list, so it shows exactly frames [0, cut).
    src.split_and_check(&[0, cuts[0], cuts[1]], "hidden-start");
    let first = out_dir_path(&src, "hidden-start").join("seg000.mp4");
    let packets = packet_count(&first);
    assert!(
        packets > cuts[0],
        "{}: the first segment has {packets} packets for {} frames: the hidden references are missing",
        src.name,
        cuts[0]
    );
    // Past the second cut, qtdemux 1.22 ends the edit early and never delivers the last frames:
    // refused (or, if GStreamer ever delivers them, exact), and nothing is left behind.
    let seg = CopySegment {
        first: cuts[1],
        end: n,
    };
    match src.copy(&[seg], "lost-end") {
        Ok((outputs, reports)) => src.check_segment(seg, &outputs[0], &reports[0]),
        Err(e) => {
            assert!(
                matches!(&e, Error::Unsupported { reason, .. } if reason.contains("never delivered")),
                "{}: {e}",
                src.name
            );
            let left = out_dir_listing(&src, "lost-end");
            assert!(left.is_empty(), "{}: left behind {left:?}", src.name);
        }
    }
}

/// Video packets in the file at `path` (`ffprobe -count_packets`), shown or not.
fn packet_count(path: &Path) -> u64 {
    let mut cmd = Command::new("ffprobe");
    cmd.args(["-v", "error", "-count_packets", "-select_streams", "v:0"])
        .args(["-show_entries", "stream=nb_read_packets", "-of", "csv=p=0"])
        .arg(path);
    let out = video_testkit::run_ok(&mut cmd);
    String::from_utf8_lossy(&out)
        .trim()
        .parse()
        .unwrap_or_else(|e| panic!("ffprobe packet count of {}: {e}", path.display()))
}

/// The output directory of `tag`.
fn out_dir_path(src: &Source, tag: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join("segment-copy")
        .join(format!("{}-{tag}", stem(&src.path)))
}

/// Files left in the output directory of `tag` (hidden ones too).
fn out_dir_listing(src: &Source, tag: &str) -> Vec<String> {
    std::fs::read_dir(out_dir_path(src, tag))
        .map(|d| {
            d.flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn a_failure_removes_every_output_of_the_call() {
    let src = Source::new(barcode::h264_mp4_bframes());
    let cuts = clean_cuts(&src.table);
    let dir = out_dir(&format!("{}-fail", stem(&src.path)));
    let first = dir.join("seg000.mp4");
    // The second output's directory does not exist: its write fails after the first is done.
    let second = dir.join("missing").join("seg001.mp4");
    let segments = [
        CopySegment {
            first: 0,
            end: cuts[0],
        },
        CopySegment {
            first: cuts[0],
            end: src.table.len(),
        },
    ];
    let e = block_on(demuxer(&src.path).copy_segments(&segments, &[first.clone(), second.clone()]))
        .expect_err("unwritable output");
    assert!(
        matches!(&e, Error::Transcode { output, .. } if output.contains("seg001")),
        "{}",
        video_testkit::error_chain(&e)
    );
    let left: Vec<_> = std::fs::read_dir(&dir)
        .expect("output directory")
        .flatten()
        .map(|e| e.path())
        .collect();
    assert!(
        !first.exists(),
        "the finished first segment was not removed: {left:?}"
    );
    assert!(
        left.iter().all(|p| p.is_dir()),
        "files left behind: {left:?}"
    );
}

#[test]
fn a_codec_mp4mux_cannot_store_is_unsupported() {
    let spec = FixtureSpec::new("mpeg2-ts", "mpeg2video", "ts", 320, 240, 30).args(&["-g", "10"]);
    let path = barcode::generate(&spec);
    let table = block_on(demuxer(&path).frame_table()).expect("frame table");
    let dir = out_dir("mpeg2-ts");
    let out = dir.join("seg000.mp4");
    let e = block_on(demuxer(&path).copy_segments(
        &[CopySegment {
            first: 0,
            end: table.len(),
        }],
        std::slice::from_ref(&out),
    ))
    .expect_err("mpeg-2 video in MP4");
    assert!(
        matches!(&e, Error::Unsupported { uri, reason } if uri.contains("mpeg2-ts") && reason.contains("mp4mux cannot store")),
        "{e}"
    );
    assert!(!out.exists());
}
