//! Colour conversion of decoded frames, on the consumer's side of the pipeline.

use gstreamer as gst;
use gstreamer_video as gst_video;
use gstreamer_video::prelude::*;
use video_core::{Frame, PixelFormat, Plane};

/// Convert a decoded 8-bit planar YUV frame (I420, Y42B, Y444) to packed RGB with the matrix
/// and range its caps signal (untagged: BT.709 from 720 rows up, BT.601 below).
pub(super) fn yuv_to_rgb_frame(
    vinfo: &gst_video::VideoInfo,
    vframe: &gst_video::VideoFrameRef<&gst::BufferRef>,
    info: video_core::FrameInfo,
) -> std::result::Result<Frame, String> {
    use gst_video::{VideoColorMatrix, VideoColorRange, VideoFormat};
    use yuvutils_rs::{YuvPlanarImage, YuvRange, YuvStandardMatrix};
    let (w, h) = (vinfo.width(), vinfo.height());
    let plane = |p: u32| {
        vframe
            .plane_data(p)
            .map_err(|_| format!("cannot read plane {p}"))
    };
    let stride = |p: usize| vframe.plane_stride()[p].max(0) as u32;
    let image = YuvPlanarImage {
        y_plane: plane(0)?,
        y_stride: stride(0),
        u_plane: plane(1)?,
        u_stride: stride(1),
        v_plane: plane(2)?,
        v_stride: stride(2),
        width: w,
        height: h,
    };
    let colorimetry = vinfo.colorimetry();
    let range = match colorimetry.range() {
        VideoColorRange::Range0_255 => YuvRange::Full,
        _ => YuvRange::Limited,
    };
    let matrix = match colorimetry.matrix() {
        VideoColorMatrix::Bt709 => YuvStandardMatrix::Bt709,
        VideoColorMatrix::Bt601 => YuvStandardMatrix::Bt601,
        VideoColorMatrix::Bt2020 => YuvStandardMatrix::Bt2020,
        VideoColorMatrix::Smpte240m => YuvStandardMatrix::Smpte240,
        VideoColorMatrix::Fcc => YuvStandardMatrix::Custom(0.30, 0.11),
        _ if h >= 720 => YuvStandardMatrix::Bt709,
        _ => YuvStandardMatrix::Bt601,
    };
    let row_bytes = w as usize * 3;
    let mut data = vec![0u8; row_bytes * h as usize];
    let res = match vinfo.format() {
        VideoFormat::I420 => {
            yuvutils_rs::yuv420_to_rgb(&image, &mut data, row_bytes as u32, range, matrix)
        }
        VideoFormat::Y42b => {
            yuvutils_rs::yuv422_to_rgb(&image, &mut data, row_bytes as u32, range, matrix)
        }
        VideoFormat::Y444 => {
            yuvutils_rs::yuv444_to_rgb(&image, &mut data, row_bytes as u32, range, matrix)
        }
        other => return Err(format!("no RGB conversion for {other:?}")),
    };
    res.map_err(|e| format!("YUV to RGB conversion failed: {e}"))?;
    Ok(Frame {
        info,
        width: w,
        height: h,
        format: PixelFormat::Rgb8,
        planes: vec![Plane {
            offset: 0,
            stride: row_bytes,
            row_bytes,
            rows: h as usize,
        }],
        data,
    })
}
