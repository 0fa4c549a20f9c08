//! Frame accuracy on the shared corpus of real videos, judged against FFmpeg's ground truth
//! (../shared/corpus: frame counts, pts, framemd5 of the decoder's native planes, rgb24).
//!
//! Without the corpus these tests print a loud SKIPPED line and pass; every other test still runs.

#![allow(clippy::unwrap_used)]

mod support;

use futures::StreamExt;
use support::corpus::{self, CorpusFile};
use support::ffmpeg::{self, Orientation as FfOrientation};
use video_core::{Demuxer, Error, Frame, FrameSource, FrameTable, ResolvedPlan};
use video_gst::{DecodeOptions, GstDemuxer, Orientation, OutputFormat};
use video_testkit::block_on as block;

/// A test of an error's variant.
type ErrorKind = fn(&Error) -> bool;

/// Files GStreamer 1.22 cannot decode (or not all of whose frames it can), with the error we
/// must give instead and words its message must hold (what is unsupported).
fn expected_failure(file: &str) -> Option<(ErrorKind, &'static str)> {
    match file {
        // (AV1 and VP9 in AVI, which avidemux 1.22 exposes only as video/x-avi-unknown, are
        // named on the demuxer's pad and decode like any other: checked by every test here.)
        // avdemux_gif stamps every frame 0 and never reaches EOS.
        "moviepy/pigs_in_a_polka.gif" => {
            Some((|e| matches!(e, Error::Unsupported { .. }), "animated GIF"))
        }
        _ => None,
    }
}

/// Frames the probe counts: FFmpeg's, but for a truncated file's cut last sample.
fn probe_frame_count(f: &CorpusFile) -> usize {
    match f.file.as_str() {
        // Annex-B H.264 in MP4 (no avcC; read as byte-stream), truncated inside its 6th sample:
        // qtdemux drops the cut sample, FFmpeg decodes what is left of it (with errors).
        "mediabunny/annex-b.mp4" => f.gstreamer_frame_count.unwrap_or(0),
        _ => f.frame_count_decoded,
    }
}

/// Frames GStreamer 1.22 can decode (see the corpus README): the first ones.
fn gst_frame_count(f: &CorpusFile) -> usize {
    match f.file.as_str() {
        // The last frame (a B-frame at 0.0833 s) is listed but qtdemux ends the edit list's
        // segment before its sample: decoding it is an Error::Decode (checked below).
        "mediabunny/no-correct-videoframe-format.mov" => f.gstreamer_frame_count.unwrap_or(0),
        _ => probe_frame_count(f),
    }
}

fn indices_to_check(table: &FrameTable, n: usize) -> Vec<u64> {
    let len = n as u64;
    let mut v = vec![0, len / 3, len / 2, 2 * len / 3, len.saturating_sub(1)];
    for f in table.iter().filter(|f| f.keyframe).take(6) {
        v.push(f.index);
        v.push(f.index.saturating_sub(1));
        v.push((f.index + 1).min(len - 1));
    }
    // A few deterministic pseudo-random frames.
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15 ^ len;
    for _ in 0..4 {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        v.push(x % len);
    }
    v.retain(|&i| i < len);
    v.sort_unstable();
    v.dedup();
    v
}

fn decode(path: &std::path::Path, stream: usize, opts: DecodeOptions, plan: &[u64]) -> Vec<Frame> {
    block(async {
        let mut d = GstDemuxer::builder(path)
            .with_video_stream(stream)
            .build()
            .unwrap();
        let mut src = d.frame_source(opts).await.unwrap();
        let plan = ResolvedPlan::from_indices(plan.to_vec());
        let frames: Vec<Frame> = src
            .frames(&plan)
            .map(|r| r.unwrap_or_else(|e| panic!("{}: {e}", path.display())))
            .collect()
            .await;
        frames
    })
}

/// The index among video streams (what `with_video_stream` takes) of absolute stream `abs`.
fn video_ordinal(f: &CorpusFile, abs: usize) -> usize {
    f.video_streams.iter().position(|s| s.index == abs).unwrap()
}

#[test]
fn probe_frame_counts_and_pts_match_ffmpeg() {
    let Some(files) = corpus::load() else { return };
    let mut checked = 0;
    for f in &files {
        let mut d = GstDemuxer::open(&f.path).unwrap();
        let probed = block(d.probe());
        if let Some((is_expected, what)) = expected_failure(&f.file) {
            let e = probed.expect_err(&f.file);
            assert!(is_expected(&e), "{}: unexpected error kind {e:?}", f.file);
            assert!(
                e.to_string().contains(what),
                "{}: the error does not say \"{what}\": {e}",
                f.file
            );
            assert!(
                e.to_string().contains(&f.file),
                "{}: error does not name the file: {e}",
                f.file
            );
            continue;
        }
        let m = probed.unwrap_or_else(|e| panic!("{}: {e}", f.file));
        let table = block(d.frame_table()).unwrap();
        let gt = f.primary();
        assert_eq!(
            m.video_stream,
            video_ordinal(f, f.primary_stream),
            "{}: default stream",
            f.file
        );
        assert_eq!(
            m.frame_count as usize,
            probe_frame_count(f),
            "{}: frame count",
            f.file
        );
        assert_eq!(
            (m.stored_width as usize, m.stored_height as usize),
            (gt.width, gt.height),
            "{}: size",
            f.file
        );
        assert_eq!(m.codec, gt.codec, "{}: codec", f.file);
        assert_eq!(m.rotation, gt.display_rotation_cw(), "{}: rotation", f.file);
        if let Some(h) = f.frame_count_header {
            assert_eq!(
                m.header_frame_count,
                Some(h),
                "{}: header frame count",
                f.file
            );
        }
        assert!(
            m.keyframe_count >= 1 && m.max_gop >= 1,
            "{}: key frames",
            f.file
        );
        // pts, relative to the first frame (constant origin shifts are documented: MPEG-TS,
        // MP4 without edit list, AVI); where FFmpeg has a pts for the first frame and there is no
        // documented shift, also absolute.
        let first_gt = gt.pts_s.iter().flatten().next().copied().unwrap();
        let first = table.first().unwrap().pts.as_seconds();
        let shifted = f.file.ends_with(".ts")
            || f.file.ends_with(".avi")
            || f.file.ends_with("rotate-buck-bunny.mp4");
        if !shifted {
            assert!(
                (first - first_gt).abs() < 1e-3,
                "{}: first pts {first} vs ffmpeg {first_gt}",
                f.file
            );
        }
        let mut compared = 0;
        for (i, fi) in table.iter().enumerate() {
            let Some(Some(p)) = gt.pts_s.get(i) else {
                continue;
            };
            let ours = fi.pts.as_seconds() - first;
            let theirs = p - first_gt;
            assert!(
                (ours - theirs).abs() < 1.5e-3,
                "{}: frame {i} pts {ours:.6} vs ffmpeg {theirs:.6}",
                f.file
            );
            compared += 1;
        }
        assert!(
            compared + 2 >= table.len() as usize,
            "{}: too few pts compared ({compared})",
            f.file
        );
        checked += 1;
    }
    eprintln!("probe checked on {checked} corpus files");
    assert!(checked >= 30);
}

#[test]
fn second_video_stream_can_be_chosen() {
    let Some(files) = corpus::load() else { return };
    let f = corpus::find(&files, "nasa_13013.mp4");
    let other = f
        .video_streams
        .iter()
        .find(|s| s.index != f.primary_stream)
        .unwrap();
    let ord = video_ordinal(f, other.index);
    let mut d = GstDemuxer::builder(&f.path)
        .with_video_stream(ord)
        .build()
        .unwrap();
    let m = block(d.probe()).unwrap();
    assert_eq!(
        (m.width as usize, m.height as usize, m.frame_count as usize),
        (other.width, other.height, other.decoded_frame_count)
    );
    let mut d = GstDemuxer::builder(&f.path)
        .with_video_stream(7)
        .build()
        .unwrap();
    assert!(matches!(
        block(d.probe()),
        Err(Error::NoVideoStream {
            requested: Some(7),
            ..
        })
    ));
}

#[test]
fn native_frames_are_bit_identical_to_ffmpeg() {
    let Some(files) = corpus::load() else { return };
    let mut total = 0;
    for f in &files {
        if expected_failure(&f.file).is_some() {
            continue;
        }
        let gt = f.primary();
        let md5 = ffmpeg::read_framemd5(&gt.framemd5_native);
        let mut d = GstDemuxer::open(&f.path).unwrap();
        let table = block(d.frame_table()).unwrap();
        let n = gst_frame_count(f);
        let plan = indices_to_check(&table, n);
        let frames = decode(
            &f.path,
            video_ordinal(f, f.primary_stream),
            DecodeOptions::default().output(OutputFormat::Native),
            &plan,
        );
        assert_eq!(frames.len(), plan.len(), "{}", f.file);
        for fr in &frames {
            let i = fr.info.index as usize;
            let want = &md5.frames[i];
            let packed = fr.to_packed();
            assert_eq!(
                packed.len(),
                want.size,
                "{}: frame {i} size ({:?})",
                f.file,
                fr.format
            );
            assert_eq!(
                ffmpeg::md5_hex(&packed),
                want.md5,
                "{}: frame {i} differs from ffmpeg's frame {i}",
                f.file
            );
            total += 1;
        }
    }
    eprintln!("{total} frames bit-identical to ffmpeg");
    assert!(total > 300);
}

#[test]
fn rgb_frames_are_close_to_ffmpeg_where_colour_is_tagged() {
    let Some(files) = corpus::load() else { return };
    let mut total = 0;
    for f in &files {
        let gt = f.primary();
        if expected_failure(&f.file).is_some() || !gt.has_color_matrix_tag() {
            continue;
        }
        let mut d = GstDemuxer::open(&f.path).unwrap();
        let table = block(d.frame_table()).unwrap();
        let plan: Vec<u64> = indices_to_check(&table, gst_frame_count(f))
            .into_iter()
            .take(4)
            .collect();
        let ours = decode(
            &f.path,
            video_ordinal(f, f.primary_stream),
            DecodeOptions::default().orientation(Orientation::Stored),
            &plan,
        );
        let theirs = ffmpeg::ffmpeg_rgb_frames(&f.path, f.primary_stream, FfOrientation::Stored);
        let mut want = plan.iter().copied().peekable();
        let mut k = 0;
        for (i, rgb) in theirs.enumerate() {
            if want.peek() != Some(&(i as u64)) {
                continue;
            }
            want.next();
            let psnr = ffmpeg::psnr_rgb(&ours[k].to_packed(), &rgb);
            assert!(
                psnr >= 40.0,
                "{}: frame {i} RGB PSNR {psnr:.1} dB < 40",
                f.file
            );
            k += 1;
            total += 1;
            if want.peek().is_none() {
                break;
            }
        }
        assert_eq!(k, plan.len(), "{}", f.file);
    }
    eprintln!("{total} tagged RGB frames within 40 dB of ffmpeg");
    assert!(total >= 8);
}

/// The frame table's key frames are points a decoder can start at: for H.264 and HEVC every one
/// is a key frame of FFmpeg's decode (ffprobe `-show_frames` `key_frame`: IDR/recovery point,
/// IRAP), whatever the container. h264parse/h265parse flag every I slice as a key frame (in
/// `hevc.ts` a TRAIL_R picture); the table must not follow them.
#[test]
fn h264_and_hevc_key_frames_are_ffmpeg_key_frames() {
    let Some(files) = corpus::load() else { return };
    let mut checked = 0;
    for f in &files {
        let gt = f.primary();
        if !(gt.codec == "h264" || gt.codec == "hevc") {
            continue;
        }
        let mut d = GstDemuxer::open(&f.path).unwrap();
        let table = block(d.frame_table()).unwrap_or_else(|e| panic!("{}: {e}", f.file));
        let ours: Vec<usize> = table
            .iter()
            .filter(|k| k.keyframe)
            .map(|k| k.index as usize)
            .collect();
        let extra: Vec<usize> = ours
            .iter()
            .copied()
            .filter(|i| !gt.key_frame_indices_decoded.contains(i))
            .collect();
        assert!(
            extra.is_empty(),
            "{}: table key frames {ours:?}, ffmpeg's {:?}: {extra:?} are not",
            f.file,
            gt.key_frame_indices_decoded
        );
        checked += ours.len();
    }
    // hevc.ts: one IDR (ffprobe: key_frame 1 only on frame 0), the other I pictures are TRAIL_R.
    let f = corpus::find(&files, "hevc.ts");
    assert_eq!(f.primary().key_frame_indices_decoded, vec![0]);
    eprintln!("{checked} H.264/HEVC key frames are ffmpeg key frames");
    assert!(checked >= 20);
}

/// The frames of a plan of frame `i` alone, from `src` (of corpus file `name`).
fn alone<S: FrameSource + ?Sized>(src: &mut S, name: &str, i: u64) -> Vec<Frame> {
    block(
        src.frames(&ResolvedPlan::from_indices(vec![i]))
            .collect::<Vec<_>>(),
    )
    .into_iter()
    .map(|r| r.unwrap_or_else(|e| panic!("{name} frame {i}: {e}")))
    .collect()
}

/// A seek lands where the frame table says decoding can start: no restart from an earlier key
/// frame is needed (`DecodeStats::retries`), on the files whose key frames GStreamer's parsers
/// misjudge.
#[test]
fn seeks_need_no_restart_where_the_parser_misjudges_key_frames() {
    let Some(files) = corpus::load() else { return };
    for name in ["hevc.ts", "fucked-keyframes.mp4"] {
        let f = corpus::find(&files, name);
        let md5 = ffmpeg::read_framemd5(&f.primary().framemd5_native);
        let mut d = GstDemuxer::open(&f.path).unwrap();
        let table = block(d.frame_table()).unwrap();
        let mut src =
            block(d.frame_source(DecodeOptions::default().output(OutputFormat::Native))).unwrap();
        for i in (1..table.len()).step_by(7) {
            let frames = alone(&mut src, name, i);
            assert_eq!(
                ffmpeg::md5_hex(&frames[0].to_packed()),
                md5.frames[i as usize].md5,
                "{name}: frame {i}"
            );
            let s = src.stats();
            assert_eq!(s.retries, 0, "{name}: frame {i} needed a restart: {s:?}");
        }
    }
}

/// Every frame asked for alone (so decoding starts with a seek) is the right frame, on the files
/// whose key frames, GOP structure or timestamps make seeking hard.
#[test]
fn single_frame_plans_seek_to_the_right_frame() {
    let Some(files) = corpus::load() else { return };
    let hard = [
        "fucked-keyframes.mp4", // stss lists P-frames as sync samples
        "h265_video.mp4",       // open GOPs: B-frames reference the previous GOP
        "hevc.ts",              // one key frame, MPEG-TS origin
        "no-initial-keyframe.ts",
        "frames.webm", // millisecond timestamps
        "cursed-vfr.mp4",
        "edts.mp4",
        "video-h265.mp4",
        "avc-aac.avi", // no pts
        "nasa_13013.mp4",
        "big_buck_bunny_0_30.webm",
        "frag-buck-bunny.mp4", // qtdemux cannot start in the last fragment: a retry further back
    ];
    let mut total = 0;
    for name in hard {
        let f = corpus::find(&files, name);
        let md5 = ffmpeg::read_framemd5(&f.primary().framemd5_native);
        let mut d = GstDemuxer::open(&f.path).unwrap();
        let table = block(d.frame_table()).unwrap();
        let mut src =
            block(d.frame_source(DecodeOptions::default().output(OutputFormat::Native))).unwrap();
        let n = table.len();
        let mut picks: Vec<u64> = (0..12).map(|k| k * n / 12).collect();
        picks.extend([n - 1, n / 2 + 1]);
        for f_ in table.iter().filter(|f| f.keyframe).skip(1).take(3) {
            picks.extend([f_.index, f_.index.saturating_sub(1)]);
        }
        picks.sort_unstable();
        picks.dedup();
        for i in picks {
            let frames = alone(&mut src, name, i);
            assert_eq!(frames.len(), 1);
            let got = ffmpeg::md5_hex(&frames[0].to_packed());
            assert_eq!(
                got, md5.frames[i as usize].md5,
                "{name}: frame {i} alone is not ffmpeg's frame {i}"
            );
            let s = src.stats();
            let mut k = table.decode_start(i).unwrap();
            if name == "fucked-keyframes.mp4" {
                // qtdemux can only start at the container's (wrong) sync samples 0, 25, 49, ...:
                // the real IDR before them is one GOP further back.
                k = table
                    .keyframe_at_or_before(k.saturating_sub(1))
                    .unwrap_or(0);
            }
            // GOP-aware: decoding starts at the key frame the target needs, so it never decodes
            // much more than the frames from that key frame to the target (plus decoder delay).
            assert!(
                s.frames_decoded <= (i - k.min(i)) + 1 + 16 || s.retries > 0,
                "{name}: frame {i} decoded {} frames from key frame {k}",
                s.frames_decoded
            );
            total += 1;
        }
    }
    eprintln!("{total} single-frame seeks bit-exact");
}

/// A frame FFmpeg shows that GStreamer's demuxer never delivers is in the table (so the count
/// and every index are FFmpeg's) and asking for it is a typed error naming it and saying why.
#[test]
fn a_frame_qtdemux_never_sends_is_a_decode_error() {
    let Some(files) = corpus::load() else { return };
    let f = corpus::find(&files, "no-correct-videoframe-format.mov");
    let results = block(async {
        let mut d = GstDemuxer::open(&f.path).unwrap();
        let table = d.frame_table().await.unwrap();
        assert_eq!(table.len(), 6);
        let mut src = d.frame_source(DecodeOptions::default()).await.unwrap();
        let plan = ResolvedPlan::from_indices(vec![4, 5]);
        src.frames(&plan).collect::<Vec<_>>().await
    });
    match results.as_slice() {
        [
            Ok(frame),
            Err(Error::Decode {
                index: Some(5),
                pts: Some(pts),
                reason,
                uri,
            }),
        ] => {
            assert_eq!(frame.info.index, 4);
            assert!((pts.as_seconds() - 0.083333).abs() < 1e-4, "{pts:?}");
            assert!(
                reason.contains("edit list") && uri.contains(&f.file),
                "{reason}"
            );
        }
        other => panic!("{}: {other:?}", f.file),
    }
}
