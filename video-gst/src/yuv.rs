//! The decoder's 8-bit planar YUV to RGB: GStreamer's colorimetry mapped to video-image's
//! conversion.

use gstreamer as gst;
use gstreamer_video as gst_video;
use gstreamer_video::prelude::*;
use video_core::{Error, Frame, FrameInfo, FramePool};
use video_image::{ChromaSubsampling, ColorMatrix, ColorRange, YuvPlanes};

/// Convert a decoded 8-bit planar YUV frame (I420, Y42B, Y444) to packed RGB with the matrix
/// and range its caps signal (untagged: BT.709 from 720 rows up, BT.601 below).
pub(crate) fn yuv_to_rgb_frame(
    vinfo: &gst_video::VideoInfo,
    vframe: &gst_video::VideoFrameRef<&gst::BufferRef>,
    info: FrameInfo,
    pool: &FramePool,
) -> std::result::Result<Frame, String> {
    use gst_video::VideoFormat;
    let (w, h) = (vinfo.width(), vinfo.height());
    let subsampling = match vinfo.format() {
        VideoFormat::I420 => ChromaSubsampling::Yuv420,
        VideoFormat::Y42b => ChromaSubsampling::Yuv422,
        VideoFormat::Y444 => ChromaSubsampling::Yuv444,
        other => return Err(format!("no RGB conversion for {other:?}")),
    };
    let plane = |p: u32| {
        vframe
            .plane_data(p)
            .map(|bytes| (bytes, vframe.plane_stride()[p as usize].max(0) as usize))
            .map_err(|_| format!("cannot read plane {p}"))
    };
    let planes = YuvPlanes::new(subsampling, w, h, [plane(0)?, plane(1)?, plane(2)?]);
    let (matrix, range) = colour(&vinfo.colorimetry(), h);
    video_image::yuv_to_rgb_in(&planes, matrix, range, info, pool).map_err(|e| match e {
        Error::Convert { source, .. } => format!("YUV to RGB conversion failed: {source}"),
        other => other.to_string(),
    })
}

/// The matrix and range of `colorimetry` (a stream `height` rows high): what the stream
/// signals, else [`ColorMatrix::untagged`] and limited range.
fn colour(colorimetry: &gst_video::VideoColorimetry, height: u32) -> (ColorMatrix, ColorRange) {
    use gst_video::{VideoColorMatrix, VideoColorRange};
    let range = match colorimetry.range() {
        VideoColorRange::Range0_255 => ColorRange::Full,
        _ => ColorRange::Limited,
    };
    let matrix = match colorimetry.matrix() {
        VideoColorMatrix::Bt709 => ColorMatrix::Bt709,
        VideoColorMatrix::Bt601 => ColorMatrix::Bt601,
        VideoColorMatrix::Bt2020 => ColorMatrix::Bt2020,
        VideoColorMatrix::Smpte240m => ColorMatrix::Smpte240m,
        VideoColorMatrix::Fcc => ColorMatrix::Fcc,
        _ => ColorMatrix::untagged(height),
    };
    (matrix, range)
}

#[cfg(test)]
mod tests {
    use super::*;
    use gst_video::{
        VideoColorMatrix, VideoColorPrimaries, VideoColorRange, VideoTransferFunction,
    };

    fn colorimetry(
        range: VideoColorRange,
        matrix: VideoColorMatrix,
    ) -> gst_video::VideoColorimetry {
        gst_video::VideoColorimetry::new(
            range,
            matrix,
            VideoTransferFunction::Unknown,
            VideoColorPrimaries::Unknown,
        )
    }

    #[test]
    fn signalled_colorimetry_is_kept_and_untagged_depends_on_height() {
        use VideoColorMatrix as M;
        for (m, want) in [
            (M::Bt709, ColorMatrix::Bt709),
            (M::Bt601, ColorMatrix::Bt601),
            (M::Bt2020, ColorMatrix::Bt2020),
            (M::Smpte240m, ColorMatrix::Smpte240m),
            (M::Fcc, ColorMatrix::Fcc),
        ] {
            for h in [480, 1080] {
                assert_eq!(
                    colour(&colorimetry(VideoColorRange::Range16_235, m), h).0,
                    want
                );
            }
        }
        for m in [M::Unknown, M::Rgb] {
            let c = colorimetry(VideoColorRange::Unknown, m);
            assert_eq!(colour(&c, 719), (ColorMatrix::Bt601, ColorRange::Limited));
            assert_eq!(colour(&c, 720), (ColorMatrix::Bt709, ColorRange::Limited));
        }
        let full = colorimetry(VideoColorRange::Range0_255, M::Bt709);
        assert_eq!(colour(&full, 480).1, ColorRange::Full);
    }
}
