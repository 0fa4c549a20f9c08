//! The md5 of decoded frames' native planes (`ffmpeg -f framemd5`), taken on the decoder's
//! source pad, before any flip, conversion or scaling.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use gstreamer as gst;
use gstreamer::prelude::*;
use gstreamer_video as gst_video;
use md5::{Digest as _, Md5};
use video_core::{FrameMd5, FrameTable, Timestamp};

/// Hashes the target frames as they leave the decoder; the decode loop takes each target's
/// md5 when the frame reaches the appsink.
#[derive(Debug)]
pub(super) struct Md5Tap {
    table: Arc<FrameTable>,
    targets: HashSet<u64>,
    tolerance: Duration,
    /// Md5 of each target seen so far, by frame index (a frame decoded again after a restart
    /// gives the same planes).
    found: Mutex<HashMap<u64, FrameMd5>>,
}

impl Md5Tap {
    pub(super) fn new(table: Arc<FrameTable>, targets: &[u64], tolerance: Duration) -> Self {
        Md5Tap {
            table,
            targets: targets.iter().copied().collect(),
            tolerance,
            found: Mutex::default(),
        }
    }

    /// Watch the buffers leaving `pad` (the decoder's source pad).
    pub(super) fn attach(self: &Arc<Self>, pad: &gst::Pad) {
        let tap = Arc::clone(self);
        pad.add_probe(gst::PadProbeType::BUFFER, move |pad, info| {
            if let Some(buffer) = info.buffer() {
                tap.on_buffer(pad, buffer);
            }
            gst::PadProbeReturn::Ok
        });
    }

    /// The md5 of target `index`, once it left the decoder.
    pub(super) fn take(&self, index: u64) -> Option<FrameMd5> {
        self.found.lock().ok()?.remove(&index)
    }

    fn on_buffer(&self, pad: &gst::Pad, buffer: &gst::BufferRef) {
        let Some(pts) = buffer.pts() else { return };
        let segment = pad
            .sticky_event::<gst::event::Segment>(0)
            .and_then(|ev| ev.segment().downcast_ref::<gst::ClockTime>().cloned());
        // The same identification as the decode loop's, from the same stream time.
        let st = match segment {
            Some(seg) => match seg.to_stream_time(pts) {
                Some(st) => st,
                None => return,
            },
            None => pts,
        };
        let Ok(nanos) = i64::try_from(st.nseconds()) else {
            return;
        };
        let Some(index) = self
            .table
            .nearest_index(Timestamp::from_nanos(nanos), self.tolerance)
        else {
            return;
        };
        if !self.targets.contains(&index) {
            return;
        }
        let Some(caps) = pad.current_caps() else {
            return;
        };
        let Ok(vinfo) = gst_video::VideoInfo::from_caps(&caps) else {
            return;
        };
        if let Some(md5) = md5_of_planes(&vinfo, buffer)
            && let Ok(mut found) = self.found.lock()
        {
            found.insert(index, md5);
        }
    }
}

/// The md5 of the buffer's planes, rows without padding, one plane after the other (the bytes
/// `ffmpeg -f framemd5` hashes).
fn md5_of_planes(vinfo: &gst_video::VideoInfo, buffer: &gst::BufferRef) -> Option<FrameMd5> {
    let vframe = gst_video::VideoFrameRef::from_buffer_ref_readable(buffer, vinfo).ok()?;
    let mut hasher = Md5::new();
    for p in 0..vinfo.n_planes() {
        let (row_bytes, rows, stride) = super::frame::plane_layout(vinfo, &vframe, p);
        let src = vframe.plane_data(p).ok()?;
        if stride == row_bytes {
            hasher.update(src.get(..row_bytes * rows)?);
        } else {
            for r in 0..rows {
                hasher.update(src.get(r * stride..r * stride + row_bytes)?);
            }
        }
    }
    let hex: String = hasher
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    Some(FrameMd5::new(
        hex,
        ffmpeg_pix_fmt(vinfo.format()).map(str::to_owned),
    ))
}

/// FFmpeg's name for the planes of a GStreamer format, where the layouts are the same (plane
/// order, byte order, padding bits).
fn ffmpeg_pix_fmt(format: gst_video::VideoFormat) -> Option<&'static str> {
    use gst_video::VideoFormat as F;
    Some(match format {
        F::I420 => "yuv420p",
        F::Y42b => "yuv422p",
        F::Y444 => "yuv444p",
        F::Y41b => "yuv411p",
        F::Yuv9 => "yuv410p",
        F::I42010le => "yuv420p10le",
        F::I42210le => "yuv422p10le",
        F::Y44410le => "yuv444p10le",
        F::I42012le => "yuv420p12le",
        F::I42212le => "yuv422p12le",
        F::Y44412le => "yuv444p12le",
        F::A420 => "yuva420p",
        F::Nv12 => "nv12",
        F::Nv21 => "nv21",
        F::Nv16 => "nv16",
        F::P01010le => "p010le",
        F::Gray8 => "gray",
        F::Gray16Le => "gray16le",
        F::Gbr => "gbrp",
        F::Gbr10le => "gbrp10le",
        F::Gbr12le => "gbrp12le",
        F::Gbra => "gbrap",
        F::Rgb => "rgb24",
        F::Bgr => "bgr24",
        F::Rgba => "rgba",
        F::Bgra => "bgra",
        F::Argb => "argb",
        F::Abgr => "abgr",
        F::Rgbx => "rgb0",
        F::Bgrx => "bgr0",
        F::Yuy2 => "yuyv422",
        F::Uyvy => "uyvy422",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use gstreamer_video::prelude::*;

    /// A 3x3 I420 buffer with padded rows hashes as its packed planes: 9 Y, 4 U, 4 V bytes.
    #[test]
    fn padded_rows_hash_as_packed_planes() {
        gst::init().unwrap();
        let vinfo = gst_video::VideoInfo::builder(gst_video::VideoFormat::I420, 3, 3)
            .build()
            .unwrap();
        assert!(vinfo.stride()[0] > 3, "rows are padded");
        let mut buffer = gst::Buffer::with_size(vinfo.size()).unwrap();
        let mut packed = Vec::new();
        {
            let b = buffer.get_mut().unwrap();
            let mut frame = gst_video::VideoFrameRef::from_buffer_ref_writable(b, &vinfo).unwrap();
            for (p, side) in [(0u32, 3usize), (1, 2), (2, 2)] {
                let stride = frame.plane_stride()[p as usize] as usize;
                let data = frame.plane_data_mut(p).unwrap();
                data.fill(0xEE); // padding
                for r in 0..side {
                    for c in 0..side {
                        let v = (p as usize * 50 + r * 7 + c) as u8;
                        data[r * stride + c] = v;
                        packed.push(v);
                    }
                }
            }
        }
        let got = md5_of_planes(&vinfo, &buffer).unwrap();
        let want: String = Md5::digest(&packed)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        assert_eq!(packed.len(), 9 + 4 + 4);
        assert_eq!(got.md5, want);
        assert_eq!(got.pix_fmt.as_deref(), Some("yuv420p"));
    }
}
