//! The transcode loop, on a thread of its own: decode the map's source frames, push each
//! output frame into the encode pipeline at its output time, wait for the file.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use futures::StreamExt;
use gstreamer as gst;
use gstreamer_video as gst_video;
use gstreamer_video::prelude::*;
use video_core::prepare::FrameMap;
use video_core::{Error, Frame, FrameSource, PixelFormat, ResolvedPlan, Result, VideoMetadata};

use super::graph::{AudioWindow, Graph, Spec, build};
use super::{AudioOutcome, TranscodeOptions, TranscodeReport, target_size};
use crate::decode::Orientation;
use crate::input::Input;
use crate::pipeline::{Deadline, StallWatch};

/// One transcode.
pub(super) struct Job {
    pub(super) uri: String,
    pub(super) input: Input,
    pub(super) source: crate::GstFrameSource,
    pub(super) metadata: VideoMetadata,
    pub(super) map: FrameMap,
    pub(super) output: PathBuf,
    pub(super) options: TranscodeOptions,
    pub(super) encoder: String,
    pub(super) stall: Duration,
    pub(super) deadline: Option<Duration>,
}

/// Encoded frames the appsrc may hold, at most (each the size of one decoded frame).
const QUEUED_FRAMES: u64 = 2;

impl Job {
    /// Write the output under a temporary name, rename it when complete; remove it on error.
    /// `cancelled` says whether the caller still waits for the result.
    pub(super) fn run(mut self, cancelled: &dyn Fn() -> bool) -> Result<TranscodeReport> {
        let temp = temp_path(&self.output);
        let result = self.encode(&temp, cancelled).and_then(|mut report| {
            std::fs::rename(&temp, &self.output).map_err(|e| self.io_error("rename", e))?;
            report.bytes = std::fs::metadata(&self.output)
                .map_err(|e| self.io_error("stat", e))?
                .len();
            Ok(report)
        });
        if result.is_err() {
            let _ = std::fs::remove_file(&temp);
        }
        result
    }

    fn io_error(&self, what: &str, e: std::io::Error) -> Error {
        Error::Transcode {
            uri: self.uri.clone(),
            output: self.output.display().to_string(),
            reason: format!("cannot {what} the output file: {e}"),
            source: Some(Box::new(e)),
        }
    }

    fn fail(&self, reason: impl Into<String>) -> Error {
        failure(&self.uri, &self.output, reason)
    }

    fn encode(&mut self, location: &Path, cancelled: &dyn Fn() -> bool) -> Result<TranscodeReport> {
        let deadline = Deadline::after(self.deadline);
        let table = self.source.frame_table().clone();
        let plan =
            ResolvedPlan::from_indices(self.map.frames.iter().map(|f| f.source_index).collect());
        let map = self.map.clone();
        let options = self.options.clone();
        let rotation = self.metadata.rotation % 360;
        // Stored: the rotation goes into the file's display matrix once it is written.
        let (flip, rotation_metadata) = match (options.orientation, rotation) {
            (_, 0) => (None, None),
            (Orientation::Stored, r) => (None, Some(r)),
            (_, r) => (Some(flip_method(r)), None),
        };
        let rate = Rate::of(&map, &self.metadata);
        let key_int_max = key_int_max(&map, options.keyframe_interval);
        let audio = (options.audio && self.metadata.audio_streams > 0).then(|| {
            let first = map.frames[0];
            let from = table
                .pts_of(first.source_index)
                .map_or(0, |t| t.as_nanos().max(0) as u64);
            let out_at = ns(first.pts);
            AudioWindow {
                from: gst::ClockTime::from_nseconds(from),
                to: gst::ClockTime::from_nseconds(from + ns(map.end).saturating_sub(out_at)),
                out_at: gst::ClockTime::from_nseconds(out_at),
            }
        });
        let uri = self.uri.clone();
        let input = self.input.clone();
        let encoder = self.encoder.clone();
        let stall = self.stall;
        let output = self.output.clone();
        let fail = |reason: String| failure(&uri, &output, reason);

        let colorimetry = self.source.colorimetry();
        let mut frames = self.source.frames(&plan);
        let mut graph: Option<Graph> = None;
        let mut size = (0, 0);
        let mut next = 0usize; // the next output frame
        while next < map.len() {
            deadline.check(&uri, "transcoding")?;
            if cancelled() {
                return Err(fail("the caller stopped waiting for the transcode".into()));
            }
            let want = map.frames[next].source_index;
            let frame = match futures::executor::block_on(frames.next()) {
                Some(frame) => frame?,
                None => {
                    return Err(Error::Decode {
                        uri: uri.clone(),
                        index: Some(want),
                        pts: table.pts_of(want),
                        reason: "the decoder ended before this frame".into(),
                    });
                }
            };
            if frame.info.index != want {
                return Err(Error::Decode {
                    uri: uri.clone(),
                    index: Some(want),
                    pts: table.pts_of(want),
                    reason: format!("the decoder gave frame {} instead", frame.info.index),
                });
            }
            let tagged = colorimetry.lock().ok().and_then(|c| c.clone());
            let info = video_info(&uri, &frame, &rate, &self.metadata, tagged.as_deref())?;
            if graph.is_none() {
                let oriented = if flip.is_some() && rotation % 180 == 90 {
                    (frame.height, frame.width)
                } else {
                    (frame.width, frame.height)
                };
                size = target_size(oriented.0, oriented.1, options.max_side);
                let spec = Spec {
                    uri: &uri,
                    input: &input,
                    caps: info
                        .to_caps()
                        .map_err(|e| crate::gsterror::backend(&uri, None, e.to_string()))?,
                    flip,
                    size,
                    encoder: &encoder,
                    options: &options,
                    key_int_max,
                    timescale: (!rate.constant).then_some(90_000),
                    audio,
                    location,
                    queue_bytes: info.size() as u64 * QUEUED_FRAMES,
                };
                let g = build(&spec)?;
                g.start()?;
                graph = Some(g);
            }
            let Some(g) = graph.as_ref() else {
                return Err(fail("the pipeline was not built".into()));
            };
            let buffer = to_buffer(&uri, frame, &info)?;
            while next < map.len() && map.frames[next].source_index == want {
                let out = map.frames[next];
                let mut b = buffer.copy();
                {
                    let b = b.make_mut();
                    b.set_pts(gst::ClockTime::from_nseconds(ns(out.pts)));
                    b.set_dts(gst::ClockTime::NONE);
                    b.set_duration(
                        map.duration_of(next)
                            .map(|d| gst::ClockTime::from_nseconds(ns(d))),
                    );
                }
                wait_for_room(g, &uri, stall, &deadline, next)?;
                g.appsrc
                    .push_buffer(b)
                    .map_err(|e| fail(format!("the encoder refused frame {next}: {e:?}")))?;
                next += 1;
            }
        }
        drop(frames);
        let Some(g) = graph else {
            return Err(self.fail("no frame to encode"));
        };
        g.appsrc
            .end_of_stream()
            .map_err(|e| self.fail(format!("cannot end the video stream: {e:?}")))?;
        wait_finished(&g, &uri, stall, &deadline)?;
        let encoded = g.encoded.load(Ordering::SeqCst);
        let audio = g
            .audio
            .lock()
            .map(|a| a.clone())
            .unwrap_or(AudioOutcome::None);
        drop(g);
        if encoded != map.len() as u64 {
            return Err(self.fail(format!(
                "the encoder wrote {encoded} frames for a map of {}",
                map.len()
            )));
        }
        if let Some(rotation) = rotation_metadata {
            // mp4mux 1.22 ignores the `image-orientation` tag: the matrix is written here.
            let (w, h) = size;
            super::matrix::write_rotation(location, rotation, w, h)
                .map_err(|e| fail(format!("cannot write the rotation into the file: {e}")))?;
        }
        Ok(TranscodeReport {
            frames: encoded,
            width: size.0,
            height: size.1,
            encoder,
            audio,
            rotation_metadata,
            bytes: 0,
        })
    }
}

/// An [`Error::Transcode`] of its own (no underlying error).
fn failure(uri: &str, output: &Path, reason: impl Into<String>) -> Error {
    Error::Transcode {
        uri: uri.to_owned(),
        output: output.display().to_string(),
        reason: reason.into(),
        source: None,
    }
}

/// Nanoseconds of a duration, saturating.
fn ns(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}

/// The output's frame rate as the encoder and the muxer see it.
struct Rate {
    /// Every frame lasts the same (within 1 µs, the rounding of nanosecond timestamps).
    constant: bool,
    /// The frame rate for the caps: exact for a constant rate, the mean for a variable one.
    fps: gst::Fraction,
}

impl Rate {
    fn of(map: &FrameMap, m: &VideoMetadata) -> Self {
        let n = map.len();
        let durations: Vec<Duration> = (0..n).filter_map(|i| map.duration_of(i)).collect();
        // The last frame's duration is the map's end, often rounded: judge by the others.
        let judged = if n > 1 {
            &durations[..n - 1]
        } else {
            &durations[..]
        };
        let min = judged.iter().min().copied().unwrap_or_default();
        let max = judged.iter().max().copied().unwrap_or_default();
        let span = map
            .frames
            .last()
            .map_or(Duration::ZERO, |l| l.pts.saturating_sub(map.frames[0].pts));
        let mean = if n > 1 {
            span / u32::try_from(n - 1).unwrap_or(u32::MAX)
        } else {
            map.end.saturating_sub(map.frames[0].pts)
        };
        let constant = !mean.is_zero() && max.saturating_sub(min) <= Duration::from_micros(1);
        // A variable rate still gets its mean rate in the caps: mp4mux takes the last
        // sample's duration from it (the encoded buffers' durations are not kept).
        let fps = if !mean.is_zero() {
            // The stream's own fraction when it is this rate (30000/1001, not an approximation).
            let nominal = m
                .nominal_fps
                .filter(|r| r.num > 0 && r.den > 0)
                .and_then(|r| {
                    let d = Duration::from_secs_f64(r.den as f64 / r.num as f64);
                    (d.abs_diff(mean) <= Duration::from_micros(1)).then(|| {
                        gst::Fraction::new(
                            i32::try_from(r.num).unwrap_or(0),
                            i32::try_from(r.den).unwrap_or(1),
                        )
                    })
                });
            nominal
                .or_else(|| gst::Fraction::approximate_f64(1.0 / mean.as_secs_f64()))
                .unwrap_or(gst::Fraction::new(0, 1))
        } else {
            gst::Fraction::new(0, 1)
        };
        Rate { constant, fps }
    }
}

/// The most frames between two key frames that keeps every two key frames of `map` at most
/// `interval` apart, wherever they fall: for each frame, how many frames follow it within
/// `interval`, the least over the map (at least 1; a single gap longer than `interval` cannot
/// be helped). A constant rate gives `interval x fps`; a variable rate is judged by its
/// sparsest stretch.
pub(super) fn key_int_max(map: &FrameMap, interval: Duration) -> u32 {
    let pts: Vec<Duration> = map.frames.iter().map(|f| f.pts).collect();
    let n = pts.len();
    let mut least = n;
    let mut j = 0;
    for i in 0..n {
        j = j.max(i);
        while j + 1 < n && pts[j + 1].saturating_sub(pts[i]) <= interval {
            j += 1;
        }
        if j + 1 < n {
            // A frame further than `interval` follows: a key frame must come by frame j.
            least = least.min(j - i);
        }
    }
    u32::try_from(least).unwrap_or(u32::MAX).max(1)
}

/// The caps of a decoded frame: its native format and size, the output's rate, the source's
/// pixel aspect ratio, and the colorimetry the decoder gave it (its range, matrix, transfer
/// and primaries, so that a full-range or BT.2020 source is converted and tagged as what it
/// is, not taken for GStreamer's default).
fn video_info(
    uri: &str,
    frame: &Frame,
    rate: &Rate,
    m: &VideoMetadata,
    colorimetry: Option<&str>,
) -> Result<gst_video::VideoInfo> {
    let format = match &frame.format {
        PixelFormat::Native(name) => gst_video::VideoFormat::from_string(name),
        PixelFormat::Rgb8 => gst_video::VideoFormat::Rgb,
        other => {
            return Err(crate::gsterror::backend(
                uri,
                None,
                format!("cannot encode frames in {other:?}"),
            ));
        }
    };
    if format == gst_video::VideoFormat::Unknown {
        return Err(crate::gsterror::backend(
            uri,
            None,
            format!("cannot encode frames in {:?}", frame.format),
        ));
    }
    let par = m.pixel_aspect_ratio;
    let par = if par.num > 0 && par.den > 0 {
        gst::Fraction::new(
            i32::try_from(par.num).unwrap_or(1),
            i32::try_from(par.den).unwrap_or(1),
        )
    } else {
        gst::Fraction::new(1, 1)
    };
    let colorimetry = colorimetry.and_then(|c| c.parse::<gst_video::VideoColorimetry>().ok());
    let builder = gst_video::VideoInfo::builder(format, frame.width, frame.height)
        .fps(rate.fps)
        .par(par);
    match &colorimetry {
        Some(c) => builder.colorimetry(c).build(),
        None => builder.build(),
    }
    .map_err(|e| crate::gsterror::backend(uri, None, e.to_string()))
}

/// A buffer of `frame` in GStreamer's default layout for `info`: the frame's own bytes when
/// its planes already are laid out so, else a copy row by row.
fn to_buffer(uri: &str, frame: Frame, info: &gst_video::VideoInfo) -> Result<gst::Buffer> {
    let fail = |reason: &str| Error::Decode {
        uri: uri.to_owned(),
        index: Some(frame.info.index),
        pts: Some(frame.info.pts),
        reason: reason.to_owned(),
    };
    if frame.planes.len() != info.n_planes() as usize {
        return Err(fail("decoded frame's planes do not match its format"));
    }
    let default_layout = frame.data.len() == info.size()
        && frame.planes.iter().enumerate().all(|(p, plane)| {
            info.offset()[p] == plane.offset && info.stride()[p] as usize == plane.stride
        });
    if default_layout {
        return Ok(gst::Buffer::from_mut_slice(frame.data));
    }
    let mut buffer =
        gst::Buffer::with_size(info.size()).map_err(|_| fail("cannot allocate a frame buffer"))?;
    {
        let b = buffer
            .get_mut()
            .ok_or_else(|| fail("frame buffer not writable"))?;
        let mut vf = gst_video::VideoFrameRef::from_buffer_ref_writable(b, info)
            .map_err(|_| fail("cannot map the frame buffer"))?;
        for (p, plane) in frame.planes.iter().enumerate() {
            let stride = vf.plane_stride()[p].max(0) as usize;
            let dst = vf
                .plane_data_mut(p as u32)
                .map_err(|_| fail("cannot write a plane of the frame buffer"))?;
            for r in 0..plane.rows {
                let src = frame
                    .data
                    .get(plane.offset + r * plane.stride..)
                    .and_then(|s| s.get(..plane.row_bytes));
                let to = dst
                    .get_mut(r * stride..)
                    .and_then(|d| d.get_mut(..plane.row_bytes));
                match (src, to) {
                    (Some(src), Some(to)) => to.copy_from_slice(src),
                    _ => return Err(fail("decoded plane does not fit its format's layout")),
                }
            }
        }
    }
    Ok(buffer)
}

/// Wait until the appsrc's queue has room for another frame, failing on a pipeline error,
/// a stall or the deadline.
fn wait_for_room(
    g: &Graph,
    uri: &str,
    stall: Duration,
    deadline: &Deadline,
    frame: usize,
) -> Result<()> {
    let limit = g.appsrc.max_bytes();
    let mut watch = StallWatch::new(&g.progress);
    loop {
        g.check()?;
        if g.appsrc.current_level_bytes() < limit {
            return Ok(());
        }
        deadline.check(uri, format_args!("encoding output frame {frame}"))?;
        let (lock, cvar) = &*g.room;
        if let Ok(mut ready) = lock.lock() {
            *ready = false;
            let _ = cvar.wait_timeout(ready, Duration::from_millis(20));
        }
        watch.check(stall, uri, format_args!("encoding output frame {frame}"))?;
    }
}

/// Wait until the file is complete (the filesink has the end of the stream, or the pipeline
/// ended), failing on a pipeline error, a stall or the deadline.
fn wait_finished(g: &Graph, uri: &str, stall: Duration, deadline: &Deadline) -> Result<()> {
    let mut watch = StallWatch::new(&g.progress);
    loop {
        if g.check()? || g.finished.load(Ordering::SeqCst) {
            // An error posted with the end still counts.
            g.check()?;
            return Ok(());
        }
        deadline.check(uri, "finishing the output file")?;
        std::thread::sleep(Duration::from_millis(10));
        watch.check(stall, uri, "finishing the output file")?;
    }
}

/// `videoflip` method applying a clockwise rotation.
fn flip_method(rotation_cw: u32) -> &'static str {
    match rotation_cw {
        90 => "clockwise",
        180 => "rotate-180",
        270 => "counterclockwise",
        _ => "none",
    }
}

/// A temporary name next to `output` (the same file system, so renaming is atomic).
fn temp_path(output: &Path) -> PathBuf {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let name = output
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "output".into());
    output.with_file_name(format!(".{name}.{}-{n}.partial", std::process::id()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use video_core::prepare::MappedFrame;

    fn map_of(pts_ms: &[u64]) -> FrameMap {
        FrameMap {
            frames: pts_ms
                .iter()
                .enumerate()
                .map(|(i, &t)| MappedFrame {
                    source_index: i as u64,
                    pts: Duration::from_millis(t),
                })
                .collect(),
            end: Duration::from_millis(pts_ms.last().copied().unwrap_or(0) + 40),
        }
    }

    #[test]
    fn key_int_max_of_a_constant_rate() {
        let map = map_of(&(0..200).map(|i| i * 40).collect::<Vec<_>>());
        assert_eq!(key_int_max(&map, Duration::from_secs(2)), 50);
        assert_eq!(key_int_max(&map, Duration::from_millis(100)), 2);
        assert_eq!(key_int_max(&map, Duration::from_millis(10)), 1);
    }

    #[test]
    fn key_int_max_follows_the_sparsest_stretch() {
        // 25 fps with a 1 s pause after frame 10: within 2 s of frame 0 come only frames
        // 1..=10 (at 0.04..0.4 s) and 11..=25 (1.44..2.0 s).
        let mut pts: Vec<u64> = (0..=10).map(|i| i * 40).collect();
        pts.extend((11..100).map(|i| 1000 + i * 40));
        let map = map_of(&pts);
        assert_eq!(key_int_max(&map, Duration::from_secs(2)), 25);
        // A map shorter than the interval needs no key frame but the first.
        assert_eq!(
            key_int_max(&map_of(&[0, 40, 80]), Duration::from_secs(2)),
            3
        );
    }
}
