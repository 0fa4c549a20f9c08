//! Transcoding into web-ready MP4 ([`GstDemuxer::transcode`]), judged by ffmpeg / ffprobe:
//! every output is H.264 High, yuv420p, even-sized within the limit, `moov` before `mdat`, with
//! key frames close enough, one frame per map entry at the map's timestamps, and each output
//! frame shows the barcode (frame number) of the source frame the map names, as ffmpeg reads
//! the source. Covers B-frames, variable frame rate, an edit list, rotation (applied and kept as
//! metadata), 10-bit H.264, HEVC, VP9 at an odd size, repeated frames, a partial range,
//! downscaling, audio (AAC copied, MP3 and Opus re-encoded) and a missing encoder.

mod support;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use support::barcode::{self, FixtureSpec};
use support::ffmpeg::{self, Orientation as FfOrientation};
use video_core::prepare::{FrameMap, MappedFrame};
use video_core::{Demuxer, Error};
use video_gst::{
    AudioOutcome, EncoderChoice, GstDemuxer, Orientation, TranscodeOptions, TranscodeReport,
};
use video_testkit::block_on;

/// Stall timeout of every pipeline here.
const STALL: Duration = Duration::from_secs(10);
/// Longest one transcode may take: a hang fails the test instead of blocking it.
const HANG_GUARD: Duration = Duration::from_secs(120);

/// Runs `f` on its own thread, failing the test if it panics or takes longer than
/// [`HANG_GUARD`].
fn guarded<T: Send + 'static>(what: String, f: impl FnOnce() -> T + Send + 'static) -> T {
    video_testkit::guarded(what, HANG_GUARD, f)
}

fn demuxer(path: &Path) -> GstDemuxer {
    GstDemuxer::builder(path)
        .with_stall_timeout(STALL)
        .build()
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// A source video and what ffmpeg reads from it.
struct Source {
    path: PathBuf,
    /// The barcode of ffmpeg's `i`-th frame, displayed orientation.
    numbers: Vec<u32>,
}

impl Source {
    fn new(path: PathBuf) -> Self {
        let stream = ffmpeg::first_video_stream(&path);
        let numbers = ffmpeg::ffmpeg_frame_numbers_opt(&path, stream, FfOrientation::Display)
            .into_iter()
            .enumerate()
            .map(|(i, n)| n.unwrap_or_else(|| panic!("{}: no barcode in {i}", path.display())))
            .collect();
        Source { path, numbers }
    }

    fn spec(spec: &FixtureSpec) -> Self {
        Self::new(barcode::generate(spec))
    }

    /// The map of source frames `[first, end)` (`end` `None`: to the last frame).
    fn copy_map(&self, first: u64, end: Option<u64>) -> FrameMap {
        let path = self.path.clone();
        guarded(format!("{}: table", path.display()), move || {
            let table = block_on(demuxer(&path).frame_table()).expect("frame table");
            FrameMap::copy_of(&table, first, end.unwrap_or(table.len())).expect("copy map")
        })
    }

    fn transcode(
        &self,
        map: &FrameMap,
        out: &Path,
        options: TranscodeOptions,
    ) -> video_core::Result<TranscodeReport> {
        let (path, map, out) = (self.path.clone(), map.clone(), out.to_owned());
        guarded(format!("{}: transcode", path.display()), move || {
            block_on(demuxer(&path).transcode(&map, &out, &options))
        })
    }
}

/// A fresh output path for `name`.
fn output(name: &str) -> PathBuf {
    let dir = barcode::fixture_dir().join("transcoded");
    std::fs::create_dir_all(&dir).expect("output dir");
    let path = dir.join(format!("{name}.mp4"));
    let _ = std::fs::remove_file(&path);
    path
}

/// `ffprobe -show_entries stream=...` of the first video stream: `key=value` pairs.
fn video_fields(path: &Path) -> std::collections::HashMap<String, String> {
    let out = ffmpeg::run_tool(
        Command::new("ffprobe")
            .args([
                "-v",
                "error",
                "-select_streams",
                "v:0",
                "-show_entries",
                "stream=codec_name,profile,pix_fmt,width,height,nb_frames",
                "-of",
                "default=noprint_wrappers=1",
            ])
            .arg(path),
        "ffprobe",
    );
    String::from_utf8_lossy(&out)
        .lines()
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect()
}

/// Duration in seconds of the first audio stream, from its packets; `None` without audio.
fn audio_stream(path: &Path) -> Option<(String, f64)> {
    let probe = ffmpeg::ffprobe_streams(path)
        .into_iter()
        .find(|s| s.codec_type == "audio")?;
    let out = ffmpeg::run_tool(
        Command::new("ffprobe")
            .args([
                "-v",
                "error",
                "-select_streams",
                "a:0",
                "-show_entries",
                "packet=pts,duration",
                "-of",
                "csv=p=0",
            ])
            .arg(path),
        "ffprobe audio packets",
    );
    let (num, den) = probe.time_base;
    let mut start = f64::MAX;
    let mut end = f64::MIN;
    for line in String::from_utf8_lossy(&out).lines() {
        let mut it = line.split(',');
        let pts: f64 = it.next()?.trim().parse().ok()?;
        let dur: f64 = it.next().and_then(|d| d.trim().parse().ok()).unwrap_or(0.0);
        let k = num as f64 / den as f64;
        start = start.min(pts * k);
        end = end.max((pts + dur) * k);
    }
    Some((probe.codec_name, end - start.max(0.0)))
}

/// What an output must show.
struct Expect<'a> {
    source: &'a Source,
    map: &'a FrameMap,
    /// Longest side allowed.
    max_side: u32,
    /// Clockwise rotation of the output's display matrix.
    rotation_cw: u32,
    /// Clockwise rotation of the barcode in the output as displayed (the source's display
    /// rotation: applied to the pixels or by the matrix, the picture shows the same).
    content_cw: u32,
    /// Display size of the output.
    display: Option<(usize, usize)>,
    keyframe_interval: Duration,
    /// The H.264 profile ffprobe must report.
    profile: &'a str,
}

/// Checks `out` against `expect` and returns every problem found.
fn problems(out: &Path, expect: &Expect<'_>) -> Vec<String> {
    let mut p = Vec::new();
    let fields = video_fields(out);
    let field = |k: &str| fields.get(k).cloned().unwrap_or_default();
    if field("codec_name") != "h264" {
        p.push(format!("codec {}", field("codec_name")));
    }
    if field("profile") != expect.profile {
        p.push(format!(
            "profile {}, expected {}",
            field("profile"),
            expect.profile
        ));
    }
    if field("pix_fmt") != "yuv420p" {
        p.push(format!("pix_fmt {}", field("pix_fmt")));
    }
    let w: u32 = field("width").parse().unwrap_or(0);
    let h: u32 = field("height").parse().unwrap_or(0);
    if w == 0 || h == 0 || w % 2 == 1 || h % 2 == 1 || w.max(h) > expect.max_side {
        p.push(format!("size {w}x{h} (max side {})", expect.max_side));
    }
    let boxes = support::mp4::top_level_boxes(out);
    let moov = boxes.iter().position(|b| b == "moov");
    let mdat = boxes.iter().position(|b| b == "mdat");
    if !matches!((moov, mdat), (Some(a), Some(b)) if a < b) {
        p.push(format!(
            "top-level boxes {boxes:?}: moov must come before mdat"
        ));
    }
    let stream = ffmpeg::first_video_stream(out);
    let (probe, frames) = ffmpeg::ffprobe_frames(out, stream);
    if probe.display_rotation_cw() != expect.rotation_cw {
        p.push(format!(
            "display rotation {}° (ffprobe {:?}), expected {}°",
            probe.display_rotation_cw(),
            probe.rotation_ccw,
            expect.rotation_cw
        ));
    }
    if let Some(display) = expect.display
        && probe.display_size() != display
    {
        p.push(format!(
            "display size {:?}, expected {display:?}",
            probe.display_size()
        ));
    }
    let n = expect.map.len();
    if frames.len() != n {
        p.push(format!(
            "ffprobe decodes {} frames, the map has {n}",
            frames.len()
        ));
    }
    if field("nb_frames") != n.to_string() {
        p.push(format!("nb_frames {} for a map of {n}", field("nb_frames")));
    }
    let (num, den) = probe.time_base;
    let seconds = |t: i64| t as f64 * num as f64 / den as f64;
    let pts: Vec<f64> = frames
        .iter()
        .map(|f| f.pts.or(f.best_effort_timestamp).map_or(f64::NAN, seconds))
        .collect();
    for (i, (t, m)) in pts.iter().zip(&expect.map.frames).enumerate() {
        let want = m.pts.as_secs_f64();
        if (t - want).abs() > 0.001 {
            p.push(format!("frame {i} at {t:.6} s, the map says {want:.6} s"));
        }
    }
    let keys: Vec<f64> = frames
        .iter()
        .zip(&pts)
        .filter(|(f, _)| f.key_frame)
        .map(|(_, t)| *t)
        .collect();
    if !frames.first().is_some_and(|f| f.key_frame) {
        p.push("the first frame is not a key frame".into());
    }
    let limit = expect.keyframe_interval.as_secs_f64() + 0.001;
    let last = pts.last().copied().unwrap_or(0.0);
    for w in keys.windows(2).chain(std::iter::once(
        [keys.last().copied().unwrap_or(0.0), last].as_slice(),
    )) {
        // From each key frame to the next (and the last to the last frame).
        if w[1] - w[0] > limit {
            p.push(format!(
                "key frames at {:.3} s and {:.3} s: more than {limit:.3} s apart (keys {keys:?})",
                w[0], w[1]
            ));
        }
    }
    let decoded = ffmpeg::ffmpeg_rgb_frames(out, stream, FfOrientation::Display);
    let (dw, dh) = (decoded.width, decoded.height);
    let read: Vec<Option<u32>> = decoded
        .map(|rgb| barcode::read_barcode_rotated(&rgb, dw, dh, dw * 3, expect.content_cw))
        .collect();
    if read.len() != n {
        p.push(format!(
            "ffmpeg decodes {} frames, the map has {n}",
            read.len()
        ));
    }
    for (i, (got, m)) in read.iter().zip(&expect.map.frames).enumerate() {
        let want = expect.source.numbers[m.source_index as usize];
        if *got != Some(want) {
            p.push(format!(
                "output frame {i} shows {got:?}, source frame {} shows {want}",
                m.source_index
            ));
        }
    }
    p
}

fn assert_output(name: &str, out: &Path, expect: &Expect<'_>) {
    let p = problems(out, expect);
    assert!(
        p.is_empty(),
        "{name} ({}): {} problems:\n{}",
        out.display(),
        p.len(),
        p.join("\n")
    );
}

fn expect<'a>(source: &'a Source, map: &'a FrameMap) -> Expect<'a> {
    Expect {
        source,
        map,
        max_side: 2048,
        rotation_cw: 0,
        content_cw: 0,
        display: None,
        keyframe_interval: Duration::from_secs(2),
        profile: "High",
    }
}

/// Transcodes the whole of `spec` with `options` and checks the output.
fn whole(name: &str, spec: &FixtureSpec, options: TranscodeOptions) -> TranscodeReport {
    let source = Source::spec(spec);
    let map = source.copy_map(0, None);
    assert_eq!(
        map.len(),
        source.numbers.len(),
        "{name}: our frame table and ffmpeg disagree on the frame count"
    );
    let out = output(name);
    let interval = options.keyframe_interval;
    let report = source
        .transcode(&map, &out, options)
        .unwrap_or_else(|e| panic!("{name}: {e}"));
    assert_output(
        name,
        &out,
        &Expect {
            keyframe_interval: interval,
            ..expect(&source, &map)
        },
    );
    assert_eq!(report.frames, map.len() as u64, "{name}: report");
    assert_eq!(
        report.bytes,
        std::fs::metadata(&out).expect("output").len(),
        "{name}: report bytes"
    );
    report
}

#[test]
fn h264_with_b_frames() {
    let report = whole(
        "h264-bframes",
        &barcode::h264_mp4_bframes(),
        TranscodeOptions::default().keyframe_interval(Duration::from_millis(500)),
    );
    assert_eq!((report.width, report.height), (320, 240));
    assert_eq!(report.encoder, "x264enc");
    assert_eq!(report.audio, AudioOutcome::None);
    assert_eq!(report.rotation_metadata, None);
}

#[test]
fn variable_frame_rate_keeps_its_timestamps() {
    // Pauses of 0.25 s every 10 frames: key frames must be forced by time, not by count.
    whole(
        "h264-vfr",
        &barcode::vfr_mp4(),
        TranscodeOptions::default().keyframe_interval(Duration::from_millis(500)),
    );
}

#[test]
fn edit_list() {
    let source = Source::spec(&barcode::edit_list_mp4());
    // qtdemux 1.22 never delivers the tail of this edit list (frames 36.. of ffmpeg's 45; see
    // the corpus README): the frames it does deliver are transcoded exactly...
    let map = source.copy_map(0, Some(30));
    let out = output("h264-edit-list");
    source
        .transcode(&map, &out, TranscodeOptions::default())
        .expect("transcode");
    assert_output("edit list [0, 30)", &out, &expect(&source, &map));
    // ...and asking for the whole fails, naming the frame, and leaves no file.
    let map = source.copy_map(0, None);
    let out = output("h264-edit-list-whole");
    let e = source
        .transcode(&map, &out, TranscodeOptions::default())
        .expect_err("frames qtdemux never delivers");
    match &e {
        Error::Transcode {
            source: Some(inner),
            ..
        } => assert!(
            matches!(
                inner.downcast_ref::<Error>(),
                Some(Error::Decode { index: Some(_), .. })
            ),
            "{e:?}"
        ),
        other => panic!("expected Error::Transcode with a decode error, got {other:?}"),
    }
    assert!(!out.exists(), "no partial output");
}

#[test]
fn h264_10_bit_becomes_8_bit() {
    whole("h264-10bit", &barcode::h264_10bit_mp4(), Default::default());
}

#[test]
fn hevc() {
    whole("hevc", &barcode::hevc_mkv(), Default::default());
}

#[test]
fn vp9_odd_size_becomes_even() {
    whole("vp9-odd", &barcode::vp9_webm_odd(), Default::default());
    let odd = FixtureSpec::new("vp9-odd-321x185", "libvpx-vp9", "webm", 321, 185, 30).args(&[
        "-b:v",
        "0",
        "-crf",
        "30",
        "-deadline",
        "realtime",
        "-cpu-used",
        "8",
    ]);
    let report = whole("vp9-321x185", &odd, Default::default());
    assert_eq!((report.width, report.height), (320, 184));
}

#[test]
fn downscaled_within_max_side() {
    let source = Source::spec(&barcode::h264_mp4_bframes());
    let map = source.copy_map(0, None);
    let out = output("h264-max-side-200");
    let report = source
        .transcode(&map, &out, TranscodeOptions::default().max_side(Some(200)))
        .expect("transcode");
    assert_eq!((report.width, report.height), (200, 150));
    assert_output(
        "max side 200",
        &out,
        &Expect {
            max_side: 200,
            display: Some((200, 150)),
            ..expect(&source, &map)
        },
    );
}

#[test]
fn rotation_applied() {
    let source = Source::spec(&barcode::rotated_mp4(90));
    let map = source.copy_map(0, None);
    let out = output("rotated-90-display");
    let report = source
        .transcode(&map, &out, TranscodeOptions::default())
        .expect("transcode");
    assert_eq!((report.width, report.height), (192, 320));
    assert_eq!(report.rotation_metadata, None);
    assert_output(
        "rotation applied",
        &out,
        &Expect {
            rotation_cw: 0,
            content_cw: 90,
            display: Some((192, 320)),
            ..expect(&source, &map)
        },
    );
}

#[test]
fn rotation_kept_as_metadata() {
    let source = Source::spec(&barcode::rotated_mp4(90));
    let map = source.copy_map(0, None);
    let out = output("rotated-90-stored");
    let report = source
        .transcode(
            &map,
            &out,
            TranscodeOptions::default().orientation(Orientation::Stored),
        )
        .expect("transcode");
    assert_eq!((report.width, report.height), (320, 192));
    assert_eq!(report.rotation_metadata, Some(90));
    // ffmpeg's display decode applies the matrix: the barcodes read upright only if it is there.
    assert_output(
        "rotation as metadata",
        &out,
        &Expect {
            rotation_cw: 90,
            content_cw: 90,
            display: Some((192, 320)),
            ..expect(&source, &map)
        },
    );
}

#[test]
fn repeated_frames() {
    let source = Source::spec(&barcode::h264_mp4_bframes());
    let step = Duration::from_nanos(1_000_000_000 / 30);
    let indices = [0u64, 0, 1, 1, 2, 7, 7, 7, 30];
    let map = FrameMap {
        frames: indices
            .iter()
            .enumerate()
            .map(|(i, &source_index)| MappedFrame {
                source_index,
                pts: step * i as u32,
            })
            .collect(),
        end: step * indices.len() as u32,
    };
    let out = output("h264-repeats");
    let report = source
        .transcode(&map, &out, TranscodeOptions::default())
        .expect("transcode");
    assert_eq!(report.frames, indices.len() as u64);
    assert_output("repeats", &out, &expect(&source, &map));
}

#[test]
fn partial_range() {
    let source = Source::spec(&barcode::h264_mp4_bframes());
    let map = source.copy_map(10, Some(40));
    assert_eq!(map.frames[0].source_index, 10);
    let out = output("h264-10-40");
    source
        .transcode(&map, &out, TranscodeOptions::default())
        .expect("transcode");
    assert_output("frames 10..40", &out, &expect(&source, &map));
}

/// `video` with a sine tone of `seconds` encoded by `codec` into `container`, made once.
fn with_audio(video: &Path, codec: &str, container: &str, seconds: f64) -> PathBuf {
    let dir = barcode::fixture_dir();
    let stem = video.file_stem().map(|s| s.to_string_lossy().into_owned());
    let path = dir.join(format!(
        "{}-audio-{codec}-{seconds}.{container}",
        stem.unwrap_or_default()
    ));
    if path.exists() {
        return path;
    }
    let temp = dir.join(format!(
        ".tmp-{}-audio-{codec}.{container}",
        std::process::id()
    ));
    ffmpeg::run_tool(
        Command::new("ffmpeg")
            .args(["-nostdin", "-v", "error", "-y", "-i"])
            .arg(video)
            .args(["-f", "lavfi", "-i"])
            .arg(format!(
                "sine=frequency=440:sample_rate=48000:duration={seconds}"
            ))
            .args(["-map", "0:v", "-map", "1:a", "-c:v", "copy", "-c:a", codec])
            .arg(&temp),
        "muxing audio into a fixture",
    );
    std::fs::rename(&temp, &path).expect("rename fixture");
    path
}

fn audio_case(name: &str, codec: &str, container: &str, outcome: AudioOutcome) {
    let video = barcode::generate(&barcode::h264_mp4_bframes());
    let source = Source::new(with_audio(&video, codec, container, 2.0));
    for (label, first, end) in [("whole", 0, None), ("part", 10, Some(40))] {
        let map = source.copy_map(first, end);
        let out = output(&format!("{name}-{label}"));
        let report = source
            .transcode(&map, &out, TranscodeOptions::default())
            .unwrap_or_else(|e| panic!("{name} {label}: {e}: {e:?}"));
        assert_eq!(report.audio, outcome, "{name} {label}");
        assert_output(&format!("{name} {label}"), &out, &expect(&source, &map));
        let (codec, seconds) = audio_stream(&out).unwrap_or_else(|| panic!("{name}: no audio"));
        assert_eq!(codec, "aac", "{name} {label}");
        let want = map.end.as_secs_f64() - map.frames[0].pts.as_secs_f64();
        assert!(
            (seconds - want).abs() < 0.1,
            "{name} {label}: {seconds:.3} s of audio for {want:.3} s of video"
        );
        let without = output(&format!("{name}-{label}-no-audio"));
        let report = source
            .transcode(&map, &without, TranscodeOptions::default().audio(false))
            .unwrap_or_else(|e| panic!("{name} {label} without audio: {e}"));
        assert_eq!(report.audio, AudioOutcome::None);
        assert!(audio_stream(&without).is_none(), "{name}: audio(false)");
    }
}

#[test]
fn audio_aac_is_copied() {
    audio_case("audio-aac", "aac", "mp4", AudioOutcome::Copied);
}

#[test]
fn through_a_byte_source() {
    // The same source read through a ByteSource (appsrc in random-access mode), for the decoder
    // and for the audio branch alike.
    let video = barcode::generate(&barcode::h264_mp4_bframes());
    let source = Source::new(with_audio(&video, "aac", "mp4", 2.0));
    let map = source.copy_map(5, Some(50));
    let out = output("byte-source-aac");
    let (path, map2, out2) = (source.path.clone(), map.clone(), out.clone());
    let report = guarded("byte source transcode".into(), move || {
        let bytes = video_core::FileSource::open(&path).expect("file source");
        let mut d = video_gst::GstDemuxerBuilder::from_source(std::sync::Arc::new(bytes))
            .with_stall_timeout(STALL)
            .build()
            .expect("demuxer");
        block_on(d.transcode(&map2, &out2, &TranscodeOptions::default()))
    })
    .expect("transcode");
    assert_eq!(report.audio, AudioOutcome::Copied);
    assert_output("byte source", &out, &expect(&source, &map));
    let (codec, seconds) = audio_stream(&out).expect("audio");
    assert_eq!(codec, "aac");
    assert!(
        (seconds - 1.5).abs() < 0.1,
        "{seconds:.3} s of audio for 1.5 s"
    );
}

#[test]
fn audio_mp3_is_reencoded() {
    audio_case(
        "audio-mp3",
        "libmp3lame",
        "mkv",
        AudioOutcome::Reencoded { from: "mp3".into() },
    );
}

#[test]
fn audio_opus_is_reencoded() {
    audio_case(
        "audio-opus",
        "libopus",
        "mkv",
        AudioOutcome::Reencoded {
            from: "opus".into(),
        },
    );
}

#[test]
fn missing_encoder() {
    let source = Source::spec(&barcode::h264_mp4_bframes());
    let map = source.copy_map(0, Some(5));
    let out = output("no-encoder");
    let e = source
        .transcode(
            &map,
            &out,
            TranscodeOptions::default().encoder(EncoderChoice::Named("no-such-enc".into())),
        )
        .expect_err("no such encoder");
    assert!(
        matches!(&e, Error::NoEncoder { codec, tried, package }
            if codec == "h264" && tried == "no-such-enc" && !package.is_empty()),
        "{e:?}"
    );
    assert!(!out.exists(), "nothing written");
    assert_eq!(
        video_gst::h264_encoder(&EncoderChoice::Auto).expect("x264enc is installed"),
        "x264enc"
    );
}

#[test]
fn openh264_when_named() {
    let source = Source::spec(&barcode::h264_mp4_bframes());
    let map = source.copy_map(0, None);
    let out = output("openh264");
    let report = source
        .transcode(
            &map,
            &out,
            TranscodeOptions::default()
                .encoder(EncoderChoice::Named("openh264enc".into()))
                .keyframe_interval(Duration::from_millis(500)),
        )
        .expect("transcode");
    assert_eq!(report.encoder, "openh264enc");
    // openh264 has no High profile: everything else holds.
    assert_output(
        "openh264",
        &out,
        &Expect {
            keyframe_interval: Duration::from_millis(500),
            profile: "Constrained Baseline",
            ..expect(&source, &map)
        },
    );
}

#[test]
fn errors_name_source_and_output_and_leave_nothing() {
    let source = Source::spec(&barcode::h264_mp4_bframes());
    let map = source.copy_map(0, Some(5));
    // A directory that does not exist: the file sink cannot open the output.
    let out = barcode::fixture_dir().join("no-such-dir").join("out.mp4");
    let e = source
        .transcode(&map, &out, TranscodeOptions::default())
        .expect_err("unwritable output");
    match &e {
        Error::Transcode { uri, output, .. } => {
            assert_eq!(uri, &source.path.display().to_string());
            assert_eq!(output, &out.display().to_string());
        }
        other => panic!("expected Error::Transcode, got {other:?}"),
    }
    // A map that goes backwards.
    let out = output("backwards");
    let mut bad = source.copy_map(0, Some(5));
    bad.frames.swap(1, 2);
    for (i, f) in bad.frames.iter_mut().enumerate() {
        f.pts = Duration::from_millis(40 * i as u64);
    }
    let e = source
        .transcode(&bad, &out, TranscodeOptions::default())
        .expect_err("backwards map");
    assert!(matches!(e, Error::Transcode { .. }), "{e:?}");
    let dir = out.parent().expect("dir");
    let leftovers: Vec<_> = std::fs::read_dir(dir)
        .expect("dir")
        .flatten()
        .filter(|e| {
            // Only this test's output: others write into the same folder at the same time.
            let name = e.file_name().to_string_lossy().into_owned();
            name.starts_with(".backwards.") && name.ends_with(".partial")
        })
        .map(|e| e.path())
        .collect();
    assert!(leftovers.is_empty(), "partial files left: {leftovers:?}");
}

#[test]
fn dropping_the_future_stops_and_leaves_nothing() {
    let spec = FixtureSpec::new("h264-long", "libx264", "mp4", 640, 480, 900).args(&[
        "-preset",
        "ultrafast",
        "-g",
        "30",
    ]);
    let path = barcode::generate(&spec);
    let out = output("dropped");
    let dir = out.parent().expect("dir").to_owned();
    let partials = move || -> Vec<PathBuf> {
        std::fs::read_dir(&dir)
            .expect("dir")
            .flatten()
            .map(|e| e.path())
            .filter(|p| {
                p.file_name()
                    .is_some_and(|n| n.to_string_lossy().starts_with(".dropped.mp4."))
            })
            .collect()
    };
    let out2 = out.clone();
    let p2 = partials.clone();
    guarded("dropped transcode".into(), move || {
        let mut d = demuxer(&path);
        let table = block_on(d.frame_table()).expect("table");
        let map = FrameMap::copy_of(&table, 0, table.len()).expect("map");
        let options = TranscodeOptions::default();
        let mut fut = Box::pin(d.transcode(&map, &out2, &options));
        // Poll until the partial file exists (encoding has started), then drop the future.
        let started = Instant::now();
        while p2().is_empty() {
            let waker = futures::task::noop_waker();
            let mut cx = std::task::Context::from_waker(&waker);
            if let std::task::Poll::Ready(r) = fut.as_mut().poll(&mut cx) {
                panic!("finished before it could be dropped: {r:?}");
            }
            assert!(started.elapsed() < Duration::from_secs(60), "never started");
            std::thread::sleep(Duration::from_millis(5));
        }
    });
    let started = Instant::now();
    while !partials().is_empty() && started.elapsed() < Duration::from_secs(20) {
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(partials().is_empty(), "partial file left: {:?}", partials());
    assert!(!out.exists(), "a dropped transcode wrote its output");
}
