//! Checks the test-support code itself against the real ffmpeg CLI: the barcode fixtures decode
//! to the frame numbers they should, the special fixtures (edit list, rotation, VFR, MPEG-TS,
//! AVI, truncation) have the property they are made for, and the corpus loads.

mod support;

use std::path::Path;

use support::barcode::{self, FixtureSpec};
use support::ffmpeg::{self, Orientation};
use support::{corpus, mp4};

/// Generates a fixture and returns its path, logging how long generation took.
fn fixture(spec: &FixtureSpec) -> std::path::PathBuf {
    let start = std::time::Instant::now();
    let path = barcode::generate(spec);
    eprintln!(
        "fixture {} ready in {:?}",
        barcode::describe(spec, &path),
        start.elapsed()
    );
    path
}

fn expected(range: std::ops::Range<u32>) -> Vec<u32> {
    range.collect()
}

#[test]
fn h264_bframes_mp4_reads_frame_numbers_in_order() {
    let spec = barcode::h264_mp4_bframes();
    let path = fixture(&spec);
    assert_eq!(ffmpeg::ffmpeg_frame_numbers(&path), expected(0..60));

    let (probe, frames) = ffmpeg::ffprobe_frames(&path, 0);
    assert_eq!((probe.width, probe.height), (320, 240));
    assert_eq!(frames.len(), 60);
    assert!(
        frames.iter().any(|f| f.pict_type == "B"),
        "no B-frames in {}",
        path.display()
    );
    let keys: Vec<usize> = frames
        .iter()
        .enumerate()
        .filter(|(_, f)| f.key_frame)
        .map(|(i, _)| i)
        .collect();
    assert_eq!(keys, [0, 25, 50], "fixed GOP");
    let pts = ffmpeg::ffprobe_frame_pts(&path, 0);
    for (i, t) in pts.iter().enumerate() {
        let t = t.expect("every MP4 frame has a pts");
        assert!((t - i as f64 / 30.0).abs() < 1e-6, "frame {i} at {t}");
    }

    // The RGB frames, framemd5 and md5_hex agree with each other.
    let rgb_md5 = ffmpeg::framemd5_log(&path, 0, Some("rgb24"));
    assert_eq!(rgb_md5.dimensions, Some((320, 240)));
    assert_eq!(rgb_md5.frames.len(), 60);
    let frames: Vec<Vec<u8>> = ffmpeg::ffmpeg_rgb_frames(&path, 0, Orientation::Stored).collect();
    assert_eq!(frames.len(), 60);
    for (i, (frame, line)) in frames.iter().zip(&rgb_md5.frames).enumerate() {
        assert_eq!(line.size, frame.len());
        assert_eq!(ffmpeg::md5_hex(frame), line.md5, "frame {i}");
    }
    assert_eq!(ffmpeg::psnr_rgb(&frames[7], &frames[7]), f64::INFINITY);
    let psnr = ffmpeg::psnr_rgb(&frames[7], &frames[8]);
    assert!(
        psnr.is_finite() && psnr < 30.0,
        "consecutive frames differ in their barcode: {psnr} dB"
    );
    let native = ffmpeg::framemd5(&path, 0, None);
    assert_eq!(native.len(), 60);
    assert_eq!(native[0].size, 320 * 240 * 3 / 2, "yuv420p frame size");
}

#[test]
fn vp9_webm_at_odd_size_reads_frame_numbers_in_order() {
    let spec = barcode::vp9_webm_odd();
    let path = fixture(&spec);
    let probe = ffmpeg::ffprobe_stream(&path, 0);
    assert_eq!(
        (probe.codec_name.as_str(), probe.width, probe.height),
        ("vp9", 322, 186)
    );
    assert_eq!(ffmpeg::ffmpeg_frame_numbers(&path), expected(0..60));
}

#[test]
fn edit_list_mp4_hides_the_leading_frames() {
    let spec = barcode::edit_list_mp4();
    let path = fixture(&spec);
    let lists = mp4::edit_lists(&path);
    let video_edits = lists[0].as_ref().expect("the video track has an edit list");
    eprintln!("edit list of {}: {video_edits:?}", path.display());
    assert!(
        video_edits.iter().any(|e| e.media_time > 0),
        "elst media_time skips the leading frames"
    );

    let first = barcode::EDIT_LIST_FIRST_FRAME;
    assert_eq!(ffmpeg::ffmpeg_frame_numbers(&path), expected(first..60));
    let pts = ffmpeg::ffprobe_frame_pts(&path, 0);
    assert_eq!(pts.len(), 60 - first as usize);
    assert_eq!(pts[0], Some(0.0), "the first presented frame is at pts 0");
}

#[test]
fn rotated_mp4_reads_only_with_the_display_rotation() {
    for rotation in [90, 180, 270] {
        let spec = barcode::rotated_mp4(rotation);
        let path = fixture(&spec);
        let probe = ffmpeg::ffprobe_stream(&path, 0);
        assert_eq!(
            probe.display_rotation_cw(),
            rotation,
            "ffprobe rotation {:?}",
            probe.rotation_ccw
        );
        if rotation == 90 {
            assert_eq!(
                probe.rotation_ccw,
                Some(-90),
                "the corpus convention: -90 = 90° clockwise"
            );
        }

        // Displayed frames read with the display rotation and with no other.
        let frames = ffmpeg::ffmpeg_rgb_frames(&path, 0, Orientation::Display);
        let (w, h) = (frames.width, frames.height);
        assert_eq!(
            (w, h),
            if rotation == 180 {
                (320, 192)
            } else {
                (192, 320)
            }
        );
        let mut count = 0u32;
        for (i, rgb) in frames.enumerate() {
            let i = u32::try_from(i).expect("few frames");
            assert_eq!(
                barcode::read_barcode_rotated(&rgb, w, h, w * 3, rotation),
                Some(i)
            );
            for wrong in [0, 90, 180, 270].into_iter().filter(|&r| r != rotation) {
                assert_eq!(
                    barcode::read_barcode_rotated(&rgb, w, h, w * 3, wrong),
                    None,
                    "frame {i} read at {wrong}°"
                );
            }
            assert_eq!(
                barcode::read_barcode_any_orientation(&rgb, w, h, w * 3),
                Some((i, rotation))
            );
            count += 1;
        }
        assert_eq!(count, 60);

        // Stored frames read without rotation.
        let stored = ffmpeg::ffmpeg_frame_numbers_opt(&path, 0, Orientation::Stored);
        assert_eq!(stored, (0..60).map(Some).collect::<Vec<_>>());
    }
}

#[test]
fn corrupted_or_foreign_frames_do_not_read() {
    let path = fixture(&barcode::h264_mp4_bframes());
    let mut frames = ffmpeg::ffmpeg_rgb_frames(&path, 0, Orientation::Stored);
    let (w, h) = (frames.width, frames.height);
    let frame = frames.nth(37).expect("frame 37");
    assert_eq!(barcode::read_barcode(&frame, w, h, w * 3), Some(37));

    // Invert one bar at a time: the check bits catch every single-bar error.
    for bar in 0..barcode::BARS as usize {
        let mut damaged = frame.clone();
        let (x0, x1) = (bar * w / 24 + 2, (bar + 1) * w / 24 - 2);
        for y in 0..h / 2 {
            for x in x0..x1 {
                for c in 0..3 {
                    let p = (y * w + x) * 3 + c;
                    damaged[p] = 255 - damaged[p];
                }
            }
        }
        assert_eq!(
            barcode::read_barcode(&damaged, w, h, w * 3),
            None,
            "bar {bar} inverted"
        );
    }
    // Uniform frames (black, white, grey) are not frames of ours.
    for value in [0u8, 128, 255] {
        assert_eq!(
            barcode::read_barcode(&vec![value; w * h * 3], w, h, w * 3),
            None
        );
    }
    // Padded rows (as GStreamer may deliver them) read the same.
    let stride = w * 3 + 64;
    let mut padded = vec![0u8; stride * h];
    for y in 0..h {
        padded[y * stride..y * stride + w * 3].copy_from_slice(&frame[y * w * 3..(y + 1) * w * 3]);
    }
    assert_eq!(barcode::read_barcode(&padded, w, h, stride), Some(37));
}

#[test]
fn other_presets_decode_to_their_frame_numbers() {
    let presets = [
        barcode::hevc_mkv(),
        barcode::av1_mkv(),
        barcode::mjpeg_avi(),
        barcode::prores_mov(),
        barcode::h264_10bit_mp4(),
        barcode::mpeg4_avi_bframes(),
        barcode::h264_avi_bframes(),
    ];
    for spec in &presets {
        let path = fixture(spec);
        assert_eq!(
            ffmpeg::ffmpeg_frame_numbers(&path),
            expected(0..spec.frames),
            "{}",
            barcode::describe(spec, &path)
        );
    }
    // AVI with B-frames: some frames have no pts at all in the container.
    let path = barcode::generate(&barcode::h264_avi_bframes());
    let (_, frames) = ffmpeg::ffprobe_frames(&path, 0);
    assert!(
        frames.iter().any(|f| f.pts.is_none()),
        "AVI B-frames carry no pts"
    );
}

#[test]
fn mpeg_ts_starts_at_a_non_zero_pts() {
    let path = fixture(&barcode::h264_ts());
    assert_eq!(ffmpeg::ffmpeg_frame_numbers(&path), expected(0..60));
    let pts = ffmpeg::ffprobe_frame_pts(&path, 0);
    let first = pts[0].expect("TS frames have pts");
    assert!(first > 1.0, "first pts {first}");
    for (i, t) in pts.iter().enumerate() {
        let t = t.expect("TS frames have pts");
        assert!(
            (t - first - i as f64 / 30.0).abs() < 1e-4,
            "frame {i} at {t}"
        );
    }
}

#[test]
fn vfr_mp4_has_the_irregular_timestamps() {
    let path = fixture(&barcode::vfr_mp4());
    assert_eq!(ffmpeg::ffmpeg_frame_numbers(&path), expected(0..60));
    let pts = ffmpeg::ffprobe_frame_pts(&path, 0);
    assert_eq!(pts.len(), 60);
    for (n, t) in (0u32..).zip(&pts) {
        let t = t.expect("MP4 frames have pts");
        assert!(
            (t - barcode::vfr_pts_seconds(n)).abs() < 1e-4,
            "frame {n} at {t}, expected {}",
            barcode::vfr_pts_seconds(n)
        );
    }
}

#[test]
fn truncated_files_decode_a_prefix() {
    let mp4_path = fixture(&barcode::truncated_mp4());
    let boxes = mp4::top_level_boxes(&mp4_path);
    let moov = boxes
        .iter()
        .position(|b| b == "moov")
        .expect("moov survives the cut");
    let mdat = boxes
        .iter()
        .position(|b| b == "mdat")
        .expect("mdat header survives the cut");
    assert!(moov < mdat, "faststart: {boxes:?}");
    let header = ffmpeg::ffprobe_stream(&mp4_path, 0).nb_frames;
    assert_eq!(header, Some(60), "the index still announces every frame");

    for path in [mp4_path, fixture(&barcode::truncated_mkv())] {
        let numbers = ffmpeg::ffmpeg_frame_numbers_opt(&path, 0, Orientation::Display);
        eprintln!(
            "{}: ffmpeg decodes {} frames: {numbers:?}",
            path.display(),
            numbers.len()
        );
        assert!(
            numbers.len() >= 5 && numbers.len() < 60,
            "{} frames",
            numbers.len()
        );
        // Every readable frame is in order; only the damaged tail may be unreadable.
        let readable: Vec<u32> = numbers.iter().map_while(|n| *n).collect();
        assert!(
            readable.len() + 2 >= numbers.len(),
            "unreadable frames in the middle: {numbers:?}"
        );
        assert_eq!(
            readable,
            expected(0..u32::try_from(readable.len()).expect("few frames"))
        );
    }
}

#[test]
fn fixtures_are_cached_by_spec() {
    let spec = barcode::h264_mp4_bframes();
    let a = barcode::generate(&spec);
    let modified = std::fs::metadata(&a)
        .and_then(|m| m.modified())
        .expect("mtime");
    let b = barcode::generate(&spec);
    assert_eq!(a, b);
    assert_eq!(
        std::fs::metadata(&b)
            .and_then(|m| m.modified())
            .expect("mtime"),
        modified,
        "not regenerated"
    );
    let other = spec.clone().args(&["-crf", "30"]);
    assert_ne!(other.file_name(), spec.file_name());
}

#[test]
fn md5_matches_reference_vectors() {
    assert_eq!(ffmpeg::md5_hex(b""), "d41d8cd98f00b204e9800998ecf8427e");
    assert_eq!(ffmpeg::md5_hex(b"abc"), "900150983cd24fb0d6963f7d28e17f72");
    assert_eq!(
        ffmpeg::md5_hex(
            b"12345678901234567890123456789012345678901234567890123456789012345678901234567890"
        ),
        "57edf4a22be3c955ac49da2e2107b67a"
    );
}

#[test]
fn corpus_loads_with_ground_truth() {
    let Some(files) = corpus::load() else {
        return;
    };
    assert_eq!(files.len(), 35);
    let streams: usize = files.iter().map(|f| f.video_streams.len()).sum();
    assert_eq!(streams, 36, "video streams");
    for f in &files {
        let len = std::fs::metadata(&f.path)
            .map(|m| m.len())
            .unwrap_or_else(|e| panic!("{}: {e}", f.path.display()));
        assert_eq!(len, f.size_bytes, "{}", f.file);
        let p = f.primary();
        assert_eq!(p.decoded_frame_count, f.frame_count_decoded, "{}", f.file);
        assert_eq!(p.pts_s.len(), f.frame_count_decoded, "{}", f.file);
        assert!(
            p.framemd5_native.is_file() && p.framemd5_rgb24.is_file(),
            "{}",
            f.file
        );
        assert_eq!(
            ffmpeg::read_framemd5(&p.framemd5_native).frames.len(),
            f.frame_count_decoded,
            "{}",
            f.file
        );
        assert_eq!(
            p.framemd5_rgb24_autorotated.is_some(),
            p.rotation_ccw.is_some(),
            "{}",
            f.file
        );
    }
    assert_eq!(corpus::find(&files, "nasa_13013.mp4").primary_stream, 3);
    assert_eq!(
        corpus::find(&files, "rotate-buck-bunny.mp4")
            .primary()
            .display_rotation_cw(),
        90
    );
    assert_eq!(
        corpus::find(&files, "fire2.mp4")
            .primary()
            .display_rotation_cw(),
        180
    );
    let avi = corpus::find(&files, "avc-aac.avi").primary();
    assert_eq!(
        avi.pts_s.iter().filter(|t| t.is_none()).count(),
        2,
        "AVI frames without pts"
    );
    assert!(
        corpus::find(&files, "transparent.webm")
            .primary()
            .framemd5_libvpx_vp9
            .is_some()
    );
    assert_eq!(
        corpus::find(&files, "av1-aac.avi")
            .primary()
            .gstreamer_frame_count,
        None
    );
    assert!(corpus::find(&files, "annex-b.mp4").has_disagreement("frame_count_header_vs_decoded"));

    // Our framemd5 command reproduces the stored ground truth, and md5_hex of our RGB decode
    // matches the rgb24 framemd5.
    let h265 = corpus::find(&files, "h265_video.mp4");
    let stream = h265.primary();
    let stored = ffmpeg::read_framemd5(&stream.framemd5_native);
    assert_eq!(
        ffmpeg::framemd5(&h265.path, stream.index, None),
        stored.frames
    );
    let rgb = ffmpeg::read_framemd5(&stream.framemd5_rgb24);
    let decoded: Vec<String> =
        ffmpeg::ffmpeg_rgb_frames(&h265.path, stream.index, Orientation::Stored)
            .map(|f| ffmpeg::md5_hex(&f))
            .collect();
    let expected_md5: Vec<String> = rgb.frames.iter().map(|l| l.md5.clone()).collect();
    assert_eq!(decoded, expected_md5);
    let pts = ffmpeg::ffprobe_frame_pts(&h265.path, stream.index);
    assert_eq!(pts, stream.pts_s);
    check_rotated_corpus_file(corpus::find(&files, "rotate-buck-bunny.mp4"));
}

/// The autorotated rgb24 framemd5 of a corpus file matches our Display-orientation decode.
fn check_rotated_corpus_file(file: &corpus::CorpusFile) {
    let stream = file.primary();
    let reference = ffmpeg::read_framemd5(
        stream
            .framemd5_rgb24_autorotated
            .as_deref()
            .expect("rotated stream"),
    );
    let frames =
        ffmpeg::ffmpeg_rgb_frames(Path::new(&file.path), stream.index, Orientation::Display);
    assert_eq!(
        reference.dimensions,
        Some((frames.width, frames.height)),
        "{}",
        file.file
    );
    let first: Vec<String> = frames.take(3).map(|f| ffmpeg::md5_hex(&f)).collect();
    let expected_md5: Vec<String> = reference
        .frames
        .iter()
        .take(3)
        .map(|l| l.md5.clone())
        .collect();
    assert_eq!(first, expected_md5, "{}", file.file);
}
