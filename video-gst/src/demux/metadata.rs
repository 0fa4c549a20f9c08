//! The metadata of the chosen stream: from the scan (container, streams, caps, tags), the frame
//! table, and the MP4/MOV or AVI header (frame count, MP4 track bytes for the bitrate).

use std::time::Duration;

use gstreamer as gst;
use video_core::{FrameTable, Rational, VideoMetadata};

use super::scan::Scan;
use crate::gsterror::codec_of;
use crate::header::Header;
use crate::input::Input;

/// The metadata of video stream `index` of `scan`, whose caps are `caps` and frame table `table`.
pub(super) fn metadata(
    input: &Input,
    header: &mut Option<Header<'_>>,
    scan: &Scan,
    index: usize,
    caps: &gst::Caps,
    table: &FrameTable,
) -> VideoMetadata {
    let stream = &scan.video[index];
    let (codec, _, _) = codec_of(caps);
    let mut m = VideoMetadata::new(input.uri());
    m.container = scan.container.clone();
    m.container_duration = scan.duration.map(|d| Duration::from_nanos(d.nseconds()));
    m.codec = codec;
    m.video_streams = scan.video.len() as u32;
    m.audio_streams = scan.audio;
    m.video_stream = index;
    let (w, h) = stream.size();
    m.stored_width = w;
    m.stored_height = h;
    m.rotation = stream.rotation();
    (m.width, m.height) = if m.rotation % 180 == 90 {
        (h, w)
    } else {
        (w, h)
    };
    if let Some(s) = caps.structure(0) {
        caps_fields(&mut m, s);
    }
    m.header_frame_count = header
        .as_mut()
        .and_then(|h| h.frame_count(&m.container, index));
    m.fill_from_table(table);
    m.bitrate = bitrate(&m, header, index, stream.tags.as_ref(), input);
    m
}

/// What the caps say: frame rate, pixel aspect ratio, profile, bit depth and pixel format.
fn caps_fields(m: &mut VideoMetadata, s: &gst::StructureRef) {
    if let Ok(f) = s.get::<gst::Fraction>("framerate")
        && f.numer() > 0
    {
        m.nominal_fps = Some(Rational::new(i64::from(f.numer()), i64::from(f.denom())));
    }
    if let Ok(par) = s.get::<gst::Fraction>("pixel-aspect-ratio") {
        m.pixel_aspect_ratio = Rational::new(i64::from(par.numer()), i64::from(par.denom()));
    }
    m.profile = s.get::<String>("profile").ok();
    let depth = s
        .get::<u32>("bit-depth-luma")
        .ok()
        .or_else(|| s.get::<i32>("bit-depth-luma").ok().map(|v| v.max(0) as u32));
    m.bit_depth = depth;
    let chroma = s.get::<String>("chroma-format").ok();
    m.pixel_format = match (chroma.as_deref(), depth) {
        (Some("4:2:0"), Some(8)) => Some("I420".into()),
        (Some("4:2:0"), Some(10)) => Some("I420_10LE".into()),
        (Some("4:2:2"), Some(8)) => Some("Y42B".into()),
        (Some("4:2:2"), Some(10)) => Some("I422_10LE".into()),
        (Some("4:4:4"), Some(8)) => Some("Y444".into()),
        (Some("4:4:4"), Some(10)) => Some("Y444_10LE".into()),
        (Some("4:0:0"), Some(8)) => Some("GRAY8".into()),
        _ => None,
    };
}

/// The bitrate: for MP4/MOV the stream's sample sizes over its duration, as FFmpeg computes it
/// (the parsers' bitrate tags come only once they have seen the data); elsewhere the declared
/// bitrate; failing both, the size of the file (`input`) over the container's duration.
fn bitrate(
    m: &VideoMetadata,
    header: &mut Option<Header<'_>>,
    index: usize,
    tags: Option<&gst::TagList>,
    input: &Input,
) -> Option<u64> {
    let mut bitrate = None;
    let mp4_bytes = matches!(m.container.as_str(), "mp4" | "mov")
        .then(|| header.as_mut()?.mp4_track_bytes(index))
        .flatten();
    if let (Some(bytes), Some(d)) = (mp4_bytes, m.duration)
        && d.as_secs_f64() > 0.0
    {
        bitrate = Some((bytes as f64 * 8.0 / d.as_secs_f64()) as u64);
    } else if let Some(tags) = tags {
        bitrate = tags
            .get::<gst::tags::Bitrate>()
            .map(|v| u64::from(v.get()))
            .or_else(|| {
                tags.get::<gst::tags::NominalBitrate>()
                    .map(|v| u64::from(v.get()))
            })
            .filter(|&b| b > 0);
    }
    if bitrate.is_none()
        && let (Some(d), Some(meta)) = (m.container_duration, input.len())
        && d.as_secs_f64() > 0.0
    {
        bitrate = Some((meta as f64 * 8.0 / d.as_secs_f64()) as u64);
    }
    bitrate
}
