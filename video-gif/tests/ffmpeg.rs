//! The GIF backend gives FFmpeg's frames: count, pts and RGB pixels (`ffmpeg -pix_fmt rgb24`,
//! every frame, passthrough timing), on a GIF ffmpeg generates (with transparency and partial
//! images: ffmpeg's GIF encoder stores only what changed), on hand-made GIFs (every disposal
//! method) and on the corpus GIF when present; and video-core's conformance checks.

#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::process::Command;

use futures::StreamExt;
use video_core::{Demuxer, Error, FrameSource, ResolvedPlan};
use video_gif::GifDemuxer;
use video_testkit::block_on;
use video_testkit::fixtures::lavfi_clip;
use video_testkit::run_ok as run;

fn scratch(name: &str) -> PathBuf {
    let d =
        Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("gif-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// FFmpeg's frames of `path`: (pts in seconds, rgb24 pixels), width, height.
fn ffmpeg_frames(path: &Path) -> (Vec<(f64, Vec<u8>)>, usize, usize) {
    let probe = run(Command::new("ffprobe")
        .args(["-v", "error", "-select_streams", "v:0"])
        .args([
            "-show_entries",
            "stream=width,height:frame=pts_time",
            "-of",
            "csv=p=0",
        ])
        .arg(path));
    let text = String::from_utf8(probe).unwrap();
    let mut lines = text.lines().filter(|l| !l.trim().is_empty());
    let first = lines.next().unwrap();
    // The stream line comes first or last depending on the section order; find it.
    let (mut size, mut pts) = (None, Vec::new());
    for l in std::iter::once(first).chain(lines) {
        let parts: Vec<&str> = l.trim_end_matches(',').split(',').collect();
        if parts.len() == 2 {
            size = Some((
                parts[0].parse::<usize>().unwrap(),
                parts[1].parse::<usize>().unwrap(),
            ));
        } else {
            pts.push(parts[0].parse::<f64>().unwrap());
        }
    }
    let (w, h) = size.unwrap();
    let raw = run(Command::new("ffmpeg")
        .args(["-v", "error", "-i"])
        .arg(path)
        .args([
            "-map",
            "0:v:0",
            "-fps_mode",
            "passthrough",
            "-pix_fmt",
            "rgb24",
            "-f",
            "rawvideo",
            "-",
        ]));
    let frame_bytes = w * h * 3;
    assert_eq!(raw.len() % frame_bytes, 0);
    assert_eq!(
        raw.len() / frame_bytes,
        pts.len(),
        "ffprobe and ffmpeg frame counts"
    );
    let frames = raw
        .chunks(frame_bytes)
        .zip(pts)
        .map(|(c, p)| (p, c.to_vec()))
        .collect();
    (frames, w, h)
}

/// Every frame of `path` equals FFmpeg's; returns the frame count.
fn check_equal_to_ffmpeg(path: &Path) -> usize {
    let (want, w, h) = ffmpeg_frames(path);
    let mut d = GifDemuxer::open(path).unwrap();
    let m = block_on(d.probe()).unwrap();
    assert_eq!((m.width as usize, m.height as usize), (w, h));
    assert_eq!(
        m.frame_count as usize,
        want.len(),
        "{}: frame count",
        path.display()
    );
    let table = block_on(d.frame_table()).unwrap();
    for (f, (pts, _)) in table.iter().zip(&want) {
        assert!(
            (f.pts.as_seconds() - pts).abs() < 1e-6,
            "{}: frame {} pts {} vs ffmpeg {pts}",
            path.display(),
            f.index,
            f.pts.as_seconds()
        );
    }
    let mut src = block_on(d.frame_source()).unwrap();
    let all = ResolvedPlan::from_indices((0..table.len()).collect());
    let frames: Vec<_> = block_on(src.frames(&all).collect::<Vec<_>>());
    assert_eq!(frames.len(), want.len());
    for (i, (f, (_, rgb))) in frames.into_iter().zip(&want).enumerate() {
        let f = f.unwrap();
        assert_eq!(f.info.index, i as u64);
        let diff = f.data.iter().zip(rgb).filter(|(a, b)| a != b).count();
        assert_eq!(
            diff,
            0,
            "{}: frame {i}: {diff} bytes differ from ffmpeg's",
            path.display()
        );
    }
    // A sparse plan gives the same frames as the full decode.
    let last = table.len() - 1;
    let sparse = ResolvedPlan::from_indices(vec![last / 2, last]);
    let frames: Vec<_> = block_on(src.frames(&sparse).collect::<Vec<_>>());
    for (f, i) in frames.into_iter().zip([last / 2, last]) {
        assert_eq!(f.unwrap().data, want[i as usize].1, "frame {i} alone");
    }
    want.len()
}

#[test]
fn generated_gif_equals_ffmpeg() {
    let dir = scratch("generated");
    let path = dir.join("anim.gif");
    // Moving content over a still background: ffmpeg's encoder stores partial, transparent
    // images; a varied frame rate gives varied delays.
    run(Command::new("ffmpeg")
        .args([
            "-v",
            "error",
            "-y",
            "-f",
            "lavfi",
            "-i",
            "testsrc2=size=96x64:rate=12:duration=2",
            "-vf",
            "split[a][b];[a]palettegen[p];[b][p]paletteuse",
        ])
        .arg(&path));
    assert_eq!(check_equal_to_ffmpeg(&path), 24);
}

/// One image of a hand-made GIF: rectangle, colour index, disposal, transparent index, delay.
struct Image {
    rect: (u16, u16, u16, u16),
    fill: fn(u16, u16) -> u8,
    dispose: gif::DisposalMethod,
    transparent: Option<u8>,
    delay: u16,
}

/// Writes a GIF whose palette is red (the background, index 0), green, blue, white, black.
fn write_gif(path: &Path, width: u16, height: u16, images: &[Image]) {
    let palette = [255, 0, 0, 0, 255, 0, 0, 0, 255, 255, 255, 255, 0, 0, 0];
    let file = std::fs::File::create(path).unwrap();
    let mut enc = gif::Encoder::new(file, width, height, &palette).unwrap();
    for im in images {
        let (left, top, w, h) = im.rect;
        let mut buffer = Vec::with_capacity(usize::from(w) * usize::from(h));
        for y in 0..h {
            for x in 0..w {
                buffer.push((im.fill)(x, y));
            }
        }
        let frame = gif::Frame {
            delay: im.delay,
            dispose: im.dispose,
            transparent: im.transparent,
            left,
            top,
            width: w,
            height: h,
            buffer: buffer.into(),
            ..gif::Frame::default()
        };
        enc.write_frame(&frame).unwrap();
    }
}

#[test]
fn disposal_methods_and_delays_equal_ffmpeg() {
    use gif::DisposalMethod::{Any, Background, Keep, Previous};
    let dir = scratch("disposal");
    let img = |rect, fill, dispose, transparent, delay| Image {
        rect,
        fill,
        dispose,
        transparent,
        delay,
    };
    // A first image smaller than the screen, images restoring to the background (with and
    // without a transparent index) and to the previous canvas, delays of 0, 1 and odd values.
    let images = [
        img((4, 4, 20, 12), |x, _| 1 + (x % 2) as u8, Keep, None, 7),
        img(
            (10, 2, 16, 10),
            |x, y| ((x + y) % 4) as u8,
            Background,
            Some(3),
            0,
        ),
        img((0, 0, 12, 12), |_, y| 2 + (y % 2) as u8, Previous, None, 1),
        img(
            (20, 8, 12, 8),
            |x, _| 4 - (x % 3) as u8,
            Background,
            None,
            3,
        ),
        img((2, 10, 30, 6), |x, y| ((x * y) % 5) as u8, Any, Some(0), 25),
        img((8, 0, 8, 20), |_, _| 3, Previous, Some(1), 2),
        img(
            (0, 0, 32, 20),
            |x, y| ((x / 4 + y / 4) % 5) as u8,
            Keep,
            Some(4),
            10,
        ),
    ];
    for (name, first_transparent) in [("plain", None), ("transparent", Some(2))] {
        let path = dir.join(format!("{name}.gif"));
        let mut images: Vec<Image> = images
            .iter()
            .map(|i| img(i.rect, i.fill, i.dispose, i.transparent, i.delay))
            .collect();
        images[0].transparent = first_transparent;
        write_gif(&path, 32, 20, &images);
        assert_eq!(check_equal_to_ffmpeg(&path), 7, "{name}");
    }
}

#[test]
fn corpus_gif_equals_ffmpeg() {
    let Some(corpus) = video_testkit::corpus_dir() else {
        return;
    };
    let path = corpus.join("moviepy/pigs_in_a_polka.gif");
    assert_eq!(check_equal_to_ffmpeg(&path), 30);
}

#[test]
fn not_a_gif_is_a_typed_error() {
    let dir = scratch("bad");
    let text = dir.join("notes.gif");
    std::fs::write(&text, b"not a gif at all").unwrap();
    let e = block_on(GifDemuxer::open(&text).unwrap().probe()).unwrap_err();
    assert!(matches!(e, Error::NotAVideo { .. }), "{e:?}");
    let cut = dir.join("cut.gif");
    std::fs::write(&cut, b"GIF89a\x10\x00").unwrap();
    let e = block_on(GifDemuxer::open(&cut).unwrap().probe()).unwrap_err();
    assert!(matches!(e, Error::NotAVideo { .. }), "{e:?}");
    assert!(e.to_string().contains("cut.gif"), "{e}");
}

/// The GIF backend decodes through `Box<dyn Demuxer>` (a backend picked at run time).
#[test]
fn boxed_dyn_demuxer_decodes() {
    let path = lavfi_clip(
        &scratch("dyn"),
        "anim.gif",
        "testsrc2=size=40x30:rate=10:duration=1",
        &[],
    );
    let mut d: Box<dyn video_core::Demuxer> = Box::new(GifDemuxer::open(&path).unwrap());
    let frames = block_on(video_core::conformance::demuxer_frame_source_honours_plan(
        &mut d,
        &video_core::SamplingPlan::indices([0, 5, 9]),
    ));
    assert!(frames.iter().all(|f| (f.width, f.height) == (40, 30)));
}

#[test]
fn gif_frame_source_passes_conformance() {
    let path = lavfi_clip(
        &scratch("conformance"),
        "anim.gif",
        "testsrc2=size=40x30:rate=10:duration=3",
        &[],
    );
    let mut d = GifDemuxer::open(&path).unwrap();
    let table = block_on(d.frame_table()).unwrap();
    assert_eq!(table.len(), 30);
    let mut src = block_on(d.frame_source()).unwrap();
    let plan = video_core::SamplingPlan::indices([0, 1, 14, 15, 28, 29])
        .resolve(&table)
        .unwrap();
    let frames = block_on(video_core::conformance::frame_source_honours_plan(
        &mut src, &table, &plan,
    ));
    assert!(frames.iter().all(|f| (f.width, f.height) == (40, 30)));
    // Out-of-range indices are an error, an empty plan an empty stream.
    let bad: Vec<_> = block_on(
        src.frames(&ResolvedPlan::from_indices(vec![30]))
            .collect::<Vec<_>>(),
    );
    assert!(matches!(
        bad.as_slice(),
        [Err(Error::IndexOutOfRange {
            index: 30,
            frame_count: 30
        })]
    ));
    assert!(
        block_on(
            src.frames(&ResolvedPlan::from_indices(vec![]))
                .collect::<Vec<_>>()
        )
        .is_empty()
    );
}
