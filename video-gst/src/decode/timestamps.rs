//! The frame table of a stream whose packets carry no presentation timestamps, by decoding it.

use std::time::{Duration, Instant};

use gstreamer as gst;
use video_core::{Error, Result, Timestamp};

use super::graph::build_graph;
use super::options::{DecodeOptions, OutputFormat};
use crate::input::Input;
use crate::pipeline::Deadline;

/// Every frame the decoder outputs, in output (presentation) order, with its stream time: the
/// frame table of containers whose packets carry no presentation timestamps
/// (AVI with B-frames), where reordering is only known after decoding.
pub(crate) fn decoded_frames(
    input: &Input,
    stream_id: Option<String>,
    stream_index: usize,
    stall: Duration,
    deadline: Deadline,
    max_frames: u64,
) -> Result<Vec<video_core::FrameInfo>> {
    let uri = input.uri();
    let g = build_graph(
        input,
        &uri,
        stream_id,
        stream_index,
        DecodeOptions::default().output(OutputFormat::Native),
        (0, 0),
        false,
        None,
        None,
    )?;
    g.guard.set_state(gst::State::Playing)?;
    let mut out: Vec<video_core::FrameInfo> = Vec::new();
    let mut since = Instant::now();
    loop {
        if let Some(e) = g.failure.lock().ok().and_then(|mut f| f.take()) {
            return Err(e);
        }
        if g.guard.poll_bus()? && g.appsink.is_eos() {
            break;
        }
        deadline.check(&uri, "decoding to find frame timestamps")?;
        let Some(sample) = g.appsink.try_pull_sample(gst::ClockTime::from_mseconds(50)) else {
            if g.appsink.is_eos() {
                break;
            }
            if since.elapsed() > stall {
                return Err(Error::Timeout {
                    uri,
                    operation: "decoding to find frame timestamps".into(),
                    waited: since.elapsed(),
                });
            }
            continue;
        };
        since = Instant::now();
        let Some(buf) = sample.buffer() else { continue };
        let seg = sample
            .segment()
            .and_then(|s| s.downcast_ref::<gst::ClockTime>().cloned());
        let st = match (&seg, buf.pts()) {
            (Some(seg), Some(p)) => seg.to_stream_time(p),
            (None, p) => p,
            _ => None,
        };
        let Some(st) = st.and_then(|t| i64::try_from(t.nseconds()).ok()) else {
            continue;
        };
        let index = out.len() as u64;
        if index >= max_frames {
            return Err(Error::LimitExceeded {
                what: format!("{uri}: frame table"),
                limit: max_frames,
                actual: index + 1,
            });
        }
        out.push(video_core::FrameInfo {
            index,
            pts: Timestamp::from_nanos(st),
            duration: buf.duration().map(|d| Duration::from_nanos(d.nseconds())),
            // Decoders do not flag their output reliably, and without timestamps a seek cannot
            // be aimed at a key frame: only the first frame is a place to start decoding.
            keyframe: index == 0,
            decode_order: index,
        });
    }
    Ok(out)
}
