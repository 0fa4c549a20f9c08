//! Copying a decoded sample into a [`Frame`].

use gstreamer as gst;
use gstreamer_video as gst_video;
use gstreamer_video::prelude::*;
use video_core::{Error, Frame, FramePool, PixelFormat, Plane, Result};

use super::options::OutputFormat;
use crate::yuv::yuv_to_rgb_frame;

/// [`Error::LimitExceeded`] when a decoded frame is wider or higher than `max` (a stream can
/// change size after the caps the probe checked).
pub(super) fn check_size(uri: &str, sample: &gst::Sample, index: u64, max: u32) -> Result<()> {
    let Some(s) = sample.caps().and_then(|c| c.structure(0)) else {
        return Ok(());
    };
    for side in ["width", "height"] {
        let value = s.get::<i32>(side).unwrap_or(0).max(0) as u32;
        if value > max {
            return Err(Error::LimitExceeded {
                what: format!("{uri}: {side} of decoded frame {index}"),
                limit: u64::from(max),
                actual: u64::from(value),
            });
        }
    }
    Ok(())
}

/// Copy a decoded sample into a [`Frame`], honouring the buffer's plane offsets and strides.
pub(super) fn to_frame(
    uri: &str,
    sample: &gst::Sample,
    info: video_core::FrameInfo,
    output: OutputFormat,
    pool: &FramePool,
) -> Result<Frame> {
    let fail = |reason: &str| Error::Decode {
        uri: uri.to_owned(),
        index: Some(info.index),
        pts: Some(info.pts),
        reason: reason.to_owned(),
    };
    let caps = sample
        .caps()
        .ok_or_else(|| fail("decoded sample has no caps"))?;
    let vinfo = gst_video::VideoInfo::from_caps(caps)
        .map_err(|_| fail("decoded sample has caps that are not raw video"))?;
    let buffer = sample
        .buffer()
        .ok_or_else(|| fail("decoded sample has no buffer"))?;
    let vframe = gst_video::VideoFrameRef::from_buffer_ref_readable(buffer, &vinfo)
        .map_err(|_| fail("cannot map the decoded buffer"))?;
    if output == OutputFormat::Rgb8 && vinfo.format() != gst_video::VideoFormat::Rgb {
        return yuv_to_rgb_frame(&vinfo, &vframe, info, pool).map_err(|e| fail(&e));
    }
    let mut planes = Vec::new();
    let mut frame_data = pool.empty(buffer.size());
    let data = frame_data.as_mut_vec();
    for p in 0..vinfo.n_planes() {
        let (row_bytes, rows, stride) = plane_layout(&vinfo, &vframe, p);
        let src = vframe
            .plane_data(p)
            .map_err(|_| fail("cannot read a plane of the decoded buffer"))?;
        let offset = data.len();
        if stride == row_bytes && src.len() >= row_bytes * rows {
            data.extend_from_slice(&src[..row_bytes * rows]);
        } else {
            for r in 0..rows {
                let row = src
                    .get(r * stride..r * stride + row_bytes)
                    .ok_or_else(|| fail("decoded plane shorter than its layout"))?;
                data.extend_from_slice(row);
            }
        }
        planes.push(Plane {
            offset,
            stride: row_bytes,
            row_bytes,
            rows,
        });
    }
    let format = match output {
        OutputFormat::Rgb8 => PixelFormat::Rgb8,
        OutputFormat::Native => PixelFormat::Native(vinfo.format().to_str().to_string()),
    };
    Ok(Frame {
        info,
        width: vinfo.width(),
        height: vinfo.height(),
        format,
        planes,
        data: frame_data,
        framemd5: None,
    })
}

/// Plane `p` of a mapped frame: `(bytes of pixels in a row, rows, stride)`, the row's bytes
/// without padding (what `ffmpeg -f rawvideo` and `framemd5` keep).
pub(super) fn plane_layout(
    vinfo: &gst_video::VideoInfo,
    vframe: &gst_video::VideoFrameRef<&gst::BufferRef>,
    p: u32,
) -> (usize, usize, usize) {
    let finfo = vinfo.format_info();
    let comp = (0..finfo.n_components())
        .find(|&c| finfo.plane()[c as usize] == p)
        .unwrap_or(p);
    let row_bytes =
        vinfo.comp_width(comp as u8) as usize * finfo.pixel_stride()[comp as usize].max(1) as usize;
    let rows = vinfo.comp_height(comp as u8) as usize;
    let stride = vframe.plane_stride()[p as usize].max(0) as usize;
    (row_bytes, rows, stride)
}
