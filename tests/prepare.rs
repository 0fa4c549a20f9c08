//! Video preparation end to end: `prepare_video` into a dataset, judged against ffmpeg's
//! numbering of the source. Every frame of a barcode fixture shows its own frame number; for
//! every output frame, the number ffmpeg decodes from the stored output must be the number
//! ffmpeg decodes from the source at the index the manifest maps it to.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};

use video_dataset::core::prepare::{
    Preparation, PrepareLimits, PreparedManifest, SplitBy, SplitMode,
};
use video_dataset::{Error, PrepareOptions, PrepareReport, prepare_video};

mod common;

#[path = "../video-gst/tests/support/mod.rs"]
mod support;

use support::barcode::{self, FixtureSpec};
use support::ffmpeg::{ffmpeg_frame_numbers, ffprobe_frames, first_video_stream};

fn prepare(source: &Path, dataset: &Path, preparation: Preparation) -> PrepareReport {
    try_prepare(source, dataset, PrepareOptions::new(preparation))
        .unwrap_or_else(|e| panic!("{}: {}", source.display(), video_testkit::error_chain(&e)))
}

/// `prepare_video` of `source` into the local dataset `dataset` with `options`.
fn try_prepare(
    source: &Path,
    dataset: &Path,
    options: PrepareOptions,
) -> video_dataset::Result<PrepareReport> {
    common::block_on(prepare_video(source, dataset.to_str().unwrap(), options))
}

/// The stored manifest, read back from the dataset as JSON.
fn stored_manifest(dataset: &Path, report: &PrepareReport) -> PreparedManifest {
    let bytes = std::fs::read(dataset.join(&report.manifest_key)).unwrap();
    serde_json::from_slice(&bytes).unwrap()
}

/// For every output of `m` (files under `dataset`): ffmpeg decodes as many frames as the map
/// has, each showing the number ffmpeg decodes from the source at the mapped index. Returns
/// the source indices of all outputs in order.
fn check_outputs_against_source(source: &Path, dataset: &Path, m: &PreparedManifest) -> Vec<u64> {
    check_outputs_rotated(source, dataset, m, 0)
}

/// [`check_outputs_against_source`] for outputs whose pixels were turned `turned_cw` degrees
/// clockwise from the source's stored pictures (a rotation applied): their barcodes are read
/// turned back.
fn check_outputs_rotated(
    source: &Path,
    dataset: &Path,
    m: &PreparedManifest,
    turned_cw: u32,
) -> Vec<u64> {
    let source_numbers = ffmpeg_frame_numbers(source);
    assert_eq!(source_numbers.len() as u64, m.metadata.frame_count);
    let mut all = Vec::new();
    for o in &m.outputs {
        let file = dataset.join(&o.key);
        let got = frame_numbers_turned(&file, turned_cw);
        assert_eq!(
            got.len(),
            o.map.len(),
            "{}: ffmpeg decodes {} frames, the map has {}",
            o.key,
            got.len(),
            o.map.len()
        );
        assert_eq!(o.frames as usize, o.map.len());
        for (j, (n, f)) in got.iter().zip(&o.map.frames).enumerate() {
            assert_eq!(
                *n, source_numbers[f.source_index as usize],
                "{}: output frame {j} maps to source frame {} but shows another",
                o.key, f.source_index
            );
        }
        // The output's timestamps are the map's (ffprobe, from the output's first frame).
        let pts = pts_seconds(&file);
        assert_eq!(pts.len(), o.map.len(), "{}", o.key);
        for (j, (p, f)) in pts.iter().zip(&o.map.frames).enumerate() {
            let want = f.pts.as_secs_f64();
            assert!(
                (p - pts[0] - want).abs() < 0.002,
                "{}: frame {j} at {} s, the map says {want} s",
                o.key,
                p - pts[0]
            );
        }
        let boxes = support::mp4::top_level_boxes(&file);
        let at = |name: &str| boxes.iter().position(|b| b == name);
        assert!(
            matches!((at("moov"), at("mdat")), (Some(m), Some(d)) if m < d),
            "{}: moov must come before mdat: {boxes:?}",
            o.key
        );
        all.extend(o.map.frames.iter().map(|f| f.source_index));
    }
    all
}

fn web_copy_keeps_every_frame(spec: FixtureSpec) {
    let source = barcode::generate(&spec);
    let dataset = common::scratch(&spec.name);
    let report = prepare(&source, &dataset, Preparation::web());
    assert_eq!(report.outputs_written, 1);
    let m = stored_manifest(&dataset, &report);
    assert_eq!(
        std::fs::read(dataset.join(&report.manifest_key)).unwrap(),
        serde_json::to_vec_pretty(&report.manifest).unwrap(),
        "the stored manifest is the report's"
    );
    let all = check_outputs_against_source(&source, &dataset, &m);
    let n = m.metadata.frame_count;
    assert_eq!(
        all,
        (0..n).collect::<Vec<_>>(),
        "one output frame per source frame"
    );
    let o = &m.outputs[0];
    assert!(
        o.width.is_multiple_of(2) && o.height.is_multiple_of(2),
        "{}x{}",
        o.width,
        o.height
    );
    assert!(o.width <= 2048 && o.height <= 2048);
    // H.264 High, 4:2:0 8-bit, as ffprobe sees it.
    let file = dataset.join(&o.key);
    assert_eq!(
        ffprobe_video_entries(&file, "codec_name,profile,pix_fmt"),
        ["h264", "High", "yuv420p"],
        "{}",
        o.key
    );
    // A second run finds it stored.
    let again = prepare(&source, &dataset, Preparation::web());
    assert_eq!((again.outputs_written, again.outputs_skipped), (0, 1));
    assert_eq!(again.manifest.outputs, m.outputs);
    let _ = std::fs::remove_dir_all(&dataset);
}

#[test]
fn web_copy_of_h264_with_b_frames_keeps_every_frame() {
    web_copy_keeps_every_frame(barcode::h264_mp4_bframes());
}

#[test]
fn web_copy_of_vfr_keeps_every_frame_and_its_timestamps() {
    web_copy_keeps_every_frame(barcode::vfr_mp4());
}

/// GStreamer 1.22's MP4 demuxer ends this fixture's edit early: the last 9 frames ffmpeg shows
/// never come out of it (see `video-gst/tests/barcode.rs`). A web copy cannot have every frame,
/// so it fails, typed and naming the first missing frame, with nothing stored; a split stores
/// the segments before that frame, each starting at the edit as ffmpeg does, and a re-run
/// would go on from there.
#[test]
fn an_edit_list_starts_at_the_edit_and_frames_gstreamer_loses_fail_typed() {
    let source = barcode::generate(&barcode::edit_list_mp4());
    let dataset = common::scratch("edit-list");
    let e = try_prepare(&source, &dataset, PrepareOptions::new(Preparation::web())).unwrap_err();
    assert!(
        matches!(
            e,
            Error::Decode {
                index: Some(36),
                ..
            } | Error::Transcode { .. }
        ),
        "{e}"
    );
    assert!(
        video_testkit::error_chain(&e).contains("36"),
        "{}",
        video_testkit::error_chain(&e)
    );
    assert!(
        common::walk(&dataset)
            .iter()
            .all(|p| !p.to_string_lossy().ends_with(".mp4"))
    );
    let e = try_prepare(
        &source,
        &dataset,
        PrepareOptions::new(Preparation::split(SplitBy::Frames(12), SplitMode::Exact)),
    )
    .unwrap_err();
    assert!(
        video_testkit::error_chain(&e).contains("36"),
        "{}",
        video_testkit::error_chain(&e)
    );
    // The three segments before frame 36, from their records.
    let mut records: Vec<PathBuf> = common::walk(&dataset)
        .into_iter()
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    records.sort();
    assert_eq!(records.len(), 3, "{records:?}");
    let outputs: Vec<video_dataset::core::prepare::PreparedOutput> = records
        .iter()
        .map(|r| {
            let v: serde_json::Value = serde_json::from_slice(&std::fs::read(r).unwrap()).unwrap();
            serde_json::from_value(v["output"].clone()).unwrap()
        })
        .collect();
    let source_numbers = ffmpeg_frame_numbers(&source);
    assert_eq!(source_numbers[0], barcode::EDIT_LIST_FIRST_FRAME);
    for (k, o) in outputs.iter().enumerate() {
        assert_eq!(o.global_frame_offset, 12 * k as u64);
        let got = ffmpeg_frame_numbers(&dataset.join(&o.key));
        let want: Vec<u32> = o
            .map
            .frames
            .iter()
            .map(|f| source_numbers[f.source_index as usize])
            .collect();
        assert_eq!(got, want, "{}", o.key);
    }
    let _ = std::fs::remove_dir_all(&dataset);
}

#[test]
fn web_copy_of_10_bit_hevc_is_8_bit_h264() {
    web_copy_keeps_every_frame(
        FixtureSpec::new("hevc-10bit", "libx265", "mp4", 320, 240, 40).args(&[
            "-pix_fmt",
            "yuv420p10le",
            "-x265-params",
            "log-level=error:bframes=3:keyint=25:min-keyint=25:scenecut=0",
        ]),
    );
}

#[test]
fn web_copy_of_an_odd_size_is_even() {
    web_copy_keeps_every_frame(barcode::vp9_webm_odd());
}

#[test]
fn web_copy_of_a_rotated_video_displays_upright_either_way() {
    let spec = barcode::rotated_mp4(90);
    let source = barcode::generate(&spec);
    for applied in [true, false] {
        let dataset = common::scratch(&format!("rot-{applied}"));
        let report = prepare(
            &source,
            &dataset,
            Preparation::web().rotation_applied(applied),
        );
        let m = stored_manifest(&dataset, &report);
        // ffmpeg decodes as displayed and the barcode reads only upright: with the rotation
        // applied the output's own pictures are the source's turned 90° (ffmpeg turns nothing);
        // kept as metadata, ffmpeg turns them as the source's were.
        check_outputs_rotated(&source, &dataset, &m, if applied { 90 } else { 0 });
        let o = &m.outputs[0];
        let file = dataset.join(&o.key);
        let probe = support::ffmpeg::ffprobe_stream(&file, first_video_stream(&file));
        if applied {
            assert_eq!((o.width, o.height), (192, 320), "rotated pixels");
            assert_eq!(probe.display_rotation_cw(), 0, "{probe:?}");
            assert_eq!(o.rotation_metadata, None);
        } else {
            assert_eq!((o.width, o.height), (320, 192), "stored pixels");
            assert_eq!(probe.display_rotation_cw(), 90, "{probe:?}");
            assert_eq!(o.rotation_metadata, Some(90));
        }
        let _ = std::fs::remove_dir_all(&dataset);
    }
    // A stream copy keeps the pixels and writes the rotation into every segment.
    let dataset = common::scratch("rot-split");
    let report = prepare(
        &source,
        &dataset,
        Preparation::split(SplitBy::Frames(25), SplitMode::KeyFrames),
    );
    let m = stored_manifest(&dataset, &report);
    check_outputs_rotated(&source, &dataset, &m, 0);
    for o in &m.outputs {
        let file = dataset.join(&o.key);
        let probe = support::ffmpeg::ffprobe_stream(&file, first_video_stream(&file));
        assert_eq!(probe.display_rotation_cw(), 90, "{}: {probe:?}", o.key);
        assert_eq!(
            (o.encoder.as_str(), o.rotation_metadata),
            ("copy", Some(90))
        );
    }
    let _ = std::fs::remove_dir_all(&dataset);
}

fn split_covers_every_frame_once(
    spec: FixtureSpec,
    by: SplitBy,
    mode: SplitMode,
) -> PreparedManifest {
    let source = barcode::generate(&spec);
    let dataset = common::scratch(&format!("{}-split-{by:?}-{mode:?}", spec.name));
    let report = prepare(&source, &dataset, Preparation::split(by, mode));
    let m = stored_manifest(&dataset, &report);
    assert!(m.outputs.len() > 1, "{:?}", m.outputs.len());
    let all = check_outputs_against_source(&source, &dataset, &m);
    let n = m.metadata.frame_count;
    assert_eq!(
        all,
        (0..n).collect::<Vec<_>>(),
        "segments cover every frame once"
    );
    let mut offset = 0;
    for o in &m.outputs {
        assert_eq!(o.global_frame_offset, offset, "{}", o.key);
        assert_eq!(o.source_index(0), Some(offset));
        offset += o.frames;
    }
    let _ = std::fs::remove_dir_all(&dataset);
    m
}

#[test]
fn exact_splits_cut_where_asked() {
    let m = split_covers_every_frame_once(
        barcode::h264_mp4_bframes(),
        SplitBy::Frames(17),
        SplitMode::Exact,
    );
    let lens: Vec<u64> = m.outputs.iter().map(|o| o.frames).collect();
    assert_eq!(lens, [17, 17, 17, 9]);
    // By time: the VFR fixture, at most 0.7 s from each segment's first frame.
    let m =
        split_covers_every_frame_once(barcode::vfr_mp4(), SplitBy::Seconds(0.7), SplitMode::Exact);
    for o in &m.outputs {
        let last = o.map.frames.last().unwrap().pts.as_secs_f64();
        assert!(last < 0.7, "{}: last frame at {last} s", o.key);
    }
}

#[test]
fn key_frame_splits_cut_at_key_frames_and_say_so() {
    // Key frames at 0, 25, 50; asking for 30 frames cuts at 25 and 50.
    let m = split_covers_every_frame_once(
        barcode::h264_mp4_bframes(),
        SplitBy::Frames(30),
        SplitMode::KeyFrames,
    );
    let firsts: Vec<u64> = m.outputs.iter().map(|o| o.global_frame_offset).collect();
    assert_eq!(firsts, [0, 25, 50]);
    assert!(
        m.outputs
            .iter()
            .all(|o| o.encoder == "copy" && !o.longer_than_asked)
    );
    // Asking for 10 frames cannot be met: segments are whole GOPs, marked longer than asked.
    let m = split_covers_every_frame_once(
        barcode::hevc_mkv(),
        SplitBy::Frames(10),
        SplitMode::KeyFrames,
    );
    let (last, rest) = m.outputs.split_last().unwrap();
    assert!(rest.iter().all(|o| o.longer_than_asked), "{:?}", m.outputs);
    assert!(!last.longer_than_asked && last.frames == 10, "{last:?}");
}

#[test]
fn fps_conversion_shows_the_frame_shown_at_each_time() {
    let spec = barcode::vfr_mp4();
    let source = barcode::generate(&spec);
    let dataset = common::scratch("fps");
    let report = prepare(&source, &dataset, Preparation::web().fps(Some(12.0)));
    let m = stored_manifest(&dataset, &report);
    check_outputs_against_source(&source, &dataset, &m);
    // The rule, against ffprobe's timestamps of the source: output frame k is the last source
    // frame whose pts (from the first) is at or before k / 12.
    let pts = pts_seconds(&source);
    let o = &m.outputs[0];
    for (k, f) in o.map.frames.iter().enumerate() {
        let t = k as f64 / 12.0;
        let want = pts.iter().rposition(|p| p - pts[0] <= t + 1e-6).unwrap();
        assert_eq!(f.source_index as usize, want, "output frame {k} at {t} s");
    }
    let _ = std::fs::remove_dir_all(&dataset);
}

#[test]
fn a_source_over_a_limit_fails_before_anything_is_written() {
    let source = barcode::generate(&barcode::h264_mp4_bframes());
    let dataset = common::scratch("limits");
    for limits in [
        PrepareLimits::default().max_frames(Some(59)),
        PrepareLimits::default().max_bytes(Some(1000)),
        PrepareLimits::default().max_seconds(Some(1.5)),
    ] {
        let e = try_prepare(
            &source,
            &dataset,
            PrepareOptions::new(Preparation::web()).limits(limits),
        )
        .unwrap_err();
        assert!(
            matches!(e, Error::LimitExceeded { .. } | Error::TooLarge { .. }),
            "{e}"
        );
        assert!(e.to_string().contains(source.to_str().unwrap()), "{e}");
        let written: Vec<_> = common::walk(&dataset);
        assert!(written.is_empty(), "{written:?}");
    }
    let _ = std::fs::remove_dir_all(&dataset);
}

#[test]
fn a_rerun_makes_only_the_outputs_missing() {
    let source = barcode::generate(&barcode::h264_mp4_bframes());
    let dataset = common::scratch("rerun");
    let prep = Preparation::split(SplitBy::Frames(20), SplitMode::Exact);
    let first = prepare(&source, &dataset, prep.clone());
    assert_eq!(first.outputs_written, 3);
    // A run killed before its second output was recorded, and before its manifest.
    let video = video_dataset::VideoRef {
        folder: String::new(),
        name: first.manifest.outputs[1]
            .key
            .split('/')
            .next()
            .unwrap()
            .trim_end_matches(".prepared")
            .to_owned(),
    };
    let rec = video_dataset::core::layout::prepared_record_key(&video, &prep.tag(), 1);
    std::fs::remove_file(dataset.join(rec)).unwrap();
    std::fs::remove_file(dataset.join(&first.manifest_key)).unwrap();
    let again = prepare(&source, &dataset, prep.clone());
    assert_eq!((again.outputs_written, again.outputs_skipped), (1, 2));
    let m = stored_manifest(&dataset, &again);
    assert_eq!(m.outputs, first.manifest.outputs);
    check_outputs_against_source(&source, &dataset, &m);
    // Other settings under the same tag make everything again.
    let smaller = prepare(&source, &dataset, prep.max_side(Some(160)));
    assert_eq!(smaller.outputs_written, 3);
    assert!(smaller.manifest.outputs.iter().all(|o| o.width == 160));
    let _ = std::fs::remove_dir_all(&dataset);
}

/// The barcodes of every frame ffmpeg decodes from `path` as displayed, read as pictures
/// turned `turned_cw` degrees clockwise beyond what ffmpeg's autorotation did.
fn frame_numbers_turned(path: &Path, turned_cw: u32) -> Vec<u32> {
    let frames = support::ffmpeg::ffmpeg_rgb_frames(
        path,
        first_video_stream(path),
        support::ffmpeg::Orientation::Display,
    );
    let (w, h) = (frames.width, frames.height);
    let rotation = (frames.applied_rotation_cw + turned_cw) % 360;
    frames
        .enumerate()
        .map(|(i, rgb)| {
            barcode::read_barcode_rotated(&rgb, w, h, w * 3, rotation)
                .unwrap_or_else(|| panic!("{}: no barcode in decoded frame {i}", path.display()))
        })
        .collect()
}

/// Presentation times in seconds of every frame ffprobe decodes from the first video stream.
fn pts_seconds(path: &Path) -> Vec<f64> {
    let (probe, frames) = ffprobe_frames(path, first_video_stream(path));
    let (num, den) = probe.time_base;
    frames
        .iter()
        .map(|f| {
            let t = f
                .pts
                .or(f.best_effort_timestamp)
                .expect("a frame without pts");
            t as f64 * num as f64 / den as f64
        })
        .collect()
}

/// ffprobe's values of `entries` (comma-separated stream entries) for the first video stream.
fn ffprobe_video_entries(path: &Path, entries: &str) -> Vec<String> {
    let out = video_testkit::run_ok(std::process::Command::new("ffprobe").args([
        "-v",
        "error",
        "-select_streams",
        "v:0",
        "-show_entries",
        &format!("stream={entries}"),
        "-of",
        "default=noprint_wrappers=1:nokey=1",
        path.to_str().unwrap(),
    ]));
    String::from_utf8(out)
        .unwrap()
        .lines()
        .map(str::to_owned)
        .collect()
}

/// Into S3: the outputs are streamed up, the manifest and records written there, and a re-run
/// finds them.
#[cfg(feature = "aws")]
#[test]
fn web_copy_into_s3() {
    let Some(url) = video_testkit::s3_test_url("prepare_web_copy_into_s3") else {
        return;
    };
    let source = barcode::generate(&barcode::h264_mp4_bframes());
    let run = || {
        common::block_on(prepare_video(
            &source,
            &url,
            PrepareOptions::new(Preparation::web()).folder_path("prepared"),
        ))
        .unwrap()
    };
    let report = run();
    let sink = video_dataset::ObjectStoreSink::from_url(&url).unwrap();
    let o = &report.manifest.outputs[0];
    let bytes = common::block_on(sink.read(&o.key)).unwrap();
    assert_eq!(bytes.len() as u64, o.bytes);
    let local = common::scratch("s3-web");
    let file = local.join(&o.key);
    std::fs::create_dir_all(file.parent().unwrap()).unwrap();
    std::fs::write(&file, &bytes).unwrap();
    let stored: PreparedManifest =
        serde_json::from_slice(&common::block_on(sink.read(&report.manifest_key)).unwrap())
            .unwrap();
    check_outputs_against_source(&source, &local, &stored);
    let again = run();
    assert_eq!((again.outputs_written, again.outputs_skipped), (0, 1));
    let _ = std::fs::remove_dir_all(&local);
}

/// `video-dataset prepare … --json` prints the outputs' keys and their maps as one object.
#[cfg(feature = "cli")]
#[test]
fn cli_prepare_prints_outputs_and_their_maps() {
    let source = barcode::generate(&barcode::h264_mp4_bframes());
    let dataset = common::scratch("cli");
    let cli = |args: &[&str]| {
        std::process::Command::new(env!("CARGO_BIN_EXE_video-dataset"))
            .arg("prepare")
            .args(args)
            .output()
            .unwrap()
    };
    let (src, ds) = (source.to_str().unwrap(), dataset.to_str().unwrap());
    let out = cli(&["split", src, ds, "--max-frames", "25", "--json", "-q"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let outputs = v["outputs"].as_array().unwrap();
    assert_eq!(outputs.len(), 3, "{v}");
    let mut all = Vec::new();
    for o in outputs {
        assert!(dataset.join(o["key"].as_str().unwrap()).is_file(), "{o}");
        all.extend(
            o["source_index"]
                .as_array()
                .unwrap()
                .iter()
                .map(|i| i.as_u64().unwrap()),
        );
    }
    assert_eq!(all, (0..60).collect::<Vec<u64>>());
    assert!(dataset.join(v["manifest"].as_str().unwrap()).is_file());

    let out = cli(&["fps", src, ds, "--fps", "10", "--json", "-q"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    // 60 frames at 30 fps are 2 s: 20 frames at 10 fps, every third source frame.
    let idx: Vec<u64> = v["outputs"][0]["source_index"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i.as_u64().unwrap())
        .collect();
    assert_eq!(idx, (0..20).map(|k| 3 * k).collect::<Vec<u64>>());

    // A split needs a length; --fps needs --exact: usage errors, status 2.
    assert_eq!(cli(&["split", src, ds]).status.code(), Some(2));
    assert_eq!(
        cli(&["split", src, ds, "--max-frames", "9", "--fps", "5"])
            .status
            .code(),
        Some(2)
    );
    // A source over a limit: status 1, one line naming the file.
    let out = cli(&["web", src, ds, "--limit-frames", "10"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains(src));
    let _ = std::fs::remove_dir_all(&dataset);
}

/// MPEG-2 video cannot go into an MP4 by stream copy (mp4mux takes no MPEG-2 here): the
/// segments of a key-frame split are re-encoded with the same boundaries, and say so.
#[test]
fn key_frame_splits_re_encode_what_mp4_cannot_hold() {
    let spec = FixtureSpec::new("mpeg2-ts", "mpeg2video", "ts", 320, 240, 60).args(&[
        "-g",
        "20",
        "-bf",
        "2",
        "-flags",
        "+cgop",
        "-sc_threshold",
        "1000000000",
        "-q:v",
        "4",
    ]);
    let m = split_covers_every_frame_once(spec, SplitBy::Frames(25), SplitMode::KeyFrames);
    assert!(
        m.outputs.iter().all(|o| o.encoder == "x264enc"),
        "{:?}",
        m.outputs.iter().map(|o| &o.encoder).collect::<Vec<_>>()
    );
}

/// A job of several videos prepares each into its folder, counts the outputs' frames, keeps
/// its record, and a second run finds everything stored.
#[test]
fn a_job_prepares_every_video_and_resumes() {
    use video_dataset::{JobSpec, JobStatus, read_job, submit};
    let a = barcode::generate(&barcode::h264_mp4_bframes());
    let b = barcode::generate(&barcode::vfr_mp4());
    let dataset = common::scratch("job");
    let ds = dataset.to_str().unwrap().to_owned();
    let spec = JobSpec::new(ds.clone())
        .video(&a, "a")
        .video(&b, "b/c")
        .concurrency(2)
        .prepare(Some(PrepareOptions::new(Preparation::split(
            SplitBy::Frames(20),
            SplitMode::Exact,
        ))));
    let run = |spec: JobSpec| {
        common::block_on(async {
            let job = submit(spec).unwrap();
            let status = job.wait(std::time::Duration::from_secs(300)).await.unwrap();
            (job.id().to_owned(), status)
        })
    };
    let (id, status) = run(spec.clone());
    let JobStatus::Succeeded(report) = status else {
        panic!("{status:?}")
    };
    assert_eq!(report.frames_planned, 120);
    assert_eq!((report.frames_written, report.frames_existing), (120, 0));
    let record = common::block_on(read_job(&ds, &id)).unwrap();
    assert_eq!((record.videos_done, record.frames_done), (2, 120));
    for (source, folder) in [(&a, "a"), (&b, "b/c")] {
        let name = source.file_stem().unwrap().to_str().unwrap();
        let key = format!("{folder}/{name}.prepared/split-20f-exact.json");
        let m: PreparedManifest =
            serde_json::from_slice(&std::fs::read(dataset.join(&key)).unwrap()).unwrap();
        assert_eq!(m.outputs.len(), 3, "{key}");
        check_outputs_against_source(source, &dataset, &m);
    }
    let (_, status) = run(spec);
    let JobStatus::Succeeded(report) = status else {
        panic!("{status:?}")
    };
    assert_eq!((report.frames_written, report.frames_existing), (0, 120));
    let _ = std::fs::remove_dir_all(&dataset);
}

/// A prepared output is a video like any other: frames sampled from a segment map back to the
/// source through the manifest, and show the source frame they map to.
#[test]
fn frames_sampled_from_a_segment_map_back_to_the_source() {
    use video_dataset::{ExtractOptions, ImageFormat, SamplingPlan, extract_frames};
    let source = barcode::generate(&barcode::vfr_mp4());
    let dataset = common::scratch("sample-prepared");
    let report = prepare(
        &source,
        &dataset,
        Preparation::split(SplitBy::Seconds(1.0), SplitMode::Exact).fps(Some(20.0)),
    );
    let m = stored_manifest(&dataset, &report);
    let source_numbers = ffmpeg_frame_numbers(&source);
    let (k, segment) = (1, &m.outputs[1]);
    let frames = common::block_on(extract_frames(
        dataset.join(&segment.key),
        dataset.join("sampled").to_str().unwrap(),
        ExtractOptions::default()
            .plan(SamplingPlan::indices([0, 7, segment.frames - 1]))
            .format(ImageFormat::Png),
    ))
    .unwrap()
    .frames;
    assert_eq!(frames.len(), 3);
    for f in frames {
        let source_index = m.source_index(k, f.index).unwrap();
        let (w, h, rgb) = video_testkit::png::png_rgb(&dataset.join("sampled").join(&f.key));
        let n = barcode::read_barcode(&rgb, w as usize, h as usize, 3 * w as usize);
        assert_eq!(
            n,
            Some(source_numbers[source_index as usize]),
            "segment {k} frame {} maps to source frame {source_index}",
            f.index
        );
        // The global index of the frame among all outputs' frames.
        assert_eq!(
            m.outputs[k].global_frame_offset + f.index,
            20 + f.index,
            "one second at 20 fps before it"
        );
    }
    let _ = std::fs::remove_dir_all(&dataset);
}

/// A full-range source (Motion JPEG, `yuvj420p`) keeps its colours: the web copy is tagged
/// with the source's colorimetry, so ffmpeg shows it as it shows the source. Taken for
/// GStreamer's default (limited range), its blacks and whites would be stretched.
#[test]
fn web_copy_of_a_full_range_source_keeps_its_colours() {
    use support::ffmpeg::{Orientation, ffmpeg_rgb_frames, psnr_rgb};
    let source = barcode::generate(&barcode::mjpeg_avi());
    let dataset = common::scratch("full-range");
    let report = prepare(&source, &dataset, Preparation::web());
    let m = stored_manifest(&dataset, &report);
    check_outputs_against_source(&source, &dataset, &m);
    let output = dataset.join(&m.outputs[0].key);
    let first = |p: &Path| {
        ffmpeg_rgb_frames(p, first_video_stream(p), Orientation::Display)
            .next()
            .unwrap()
    };
    let psnr = psnr_rgb(&first(&source), &first(&output));
    assert!(
        psnr > 32.0,
        "frame 0 of the web copy is {psnr:.1} dB from the source's"
    );
    // The barcode's black, white and grey survive either reading; the range tag must say
    // full, as the source's does, for every other colour to be shown right.
    assert_eq!(ffprobe_video_entries(&source, "color_range"), ["pc"]);
    assert_eq!(ffprobe_video_entries(&output, "color_range"), ["pc"]);
    let _ = std::fs::remove_dir_all(&dataset);
}
