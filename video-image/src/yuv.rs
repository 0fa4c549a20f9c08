//! 8-bit planar YUV (4:2:0, 4:2:2, 4:4:4) to packed RGB, with `yuvutils-rs`.

use video_core::{Error, Frame, FrameData, FrameInfo, FramePool, PixelFormat, Plane, Result};
use yuvutils_rs::{YuvPlanarImage, YuvRange, YuvStandardMatrix};

/// How a YUV format samples its chroma planes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ChromaSubsampling {
    /// Chroma at half width and half height (I420).
    Yuv420,
    /// Chroma at half width, full height (Y42B).
    Yuv422,
    /// Chroma at full resolution (Y444).
    Yuv444,
}

impl ChromaSubsampling {
    /// The subsampling of a [`PixelFormat::Native`] format named as GStreamer names it: `I420`,
    /// `Y42B` and `Y444` (Y, U, V planes in that order); `None` for any other format.
    pub fn of_native(name: &str) -> Option<Self> {
        match name {
            "I420" => Some(Self::Yuv420),
            "Y42B" => Some(Self::Yuv422),
            "Y444" => Some(Self::Yuv444),
            _ => None,
        }
    }

    /// The GStreamer name of the 8-bit planar format with this subsampling.
    pub fn native_name(self) -> &'static str {
        match self {
            Self::Yuv420 => "I420",
            Self::Yuv422 => "Y42B",
            Self::Yuv444 => "Y444",
        }
    }
}

/// The matrix that turns Y'CbCr into R'G'B'.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ColorMatrix {
    /// ITU-R BT.709 (HD).
    Bt709,
    /// ITU-R BT.601 (SD).
    Bt601,
    /// ITU-R BT.2020 (non-constant luminance).
    Bt2020,
    /// SMPTE 240M.
    Smpte240m,
    /// FCC (Kr 0.30, Kb 0.11).
    Fcc,
}

impl ColorMatrix {
    /// The matrix for a stream that signals none: BT.709 from 720 rows up, BT.601 below
    /// (GStreamer's default, which is what players do).
    ///
    /// ```
    /// use video_image::ColorMatrix;
    /// assert_eq!(ColorMatrix::untagged(720), ColorMatrix::Bt709);
    /// assert_eq!(ColorMatrix::untagged(576), ColorMatrix::Bt601);
    /// ```
    pub fn untagged(height: u32) -> Self {
        if height >= 720 {
            Self::Bt709
        } else {
            Self::Bt601
        }
    }

    fn to_yuvutils(self) -> YuvStandardMatrix {
        match self {
            Self::Bt709 => YuvStandardMatrix::Bt709,
            Self::Bt601 => YuvStandardMatrix::Bt601,
            Self::Bt2020 => YuvStandardMatrix::Bt2020,
            // yuvutils-rs 0.8's `Smpte240` has Kr and Kb swapped (0.087, 0.212).
            Self::Smpte240m => YuvStandardMatrix::Custom(0.212, 0.087),
            Self::Fcc => YuvStandardMatrix::Custom(0.30, 0.11),
        }
    }
}

/// The range of the Y'CbCr code values.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ColorRange {
    /// Y in 16–235, chroma in 16–240 ("TV", "limited", "MPEG").
    #[default]
    Limited,
    /// Every code value, 0–255 ("PC", "full", "JPEG").
    Full,
}

/// Borrowed planes of an 8-bit planar YUV image: Y, then U (Cb), then V (Cr), each with its
/// own stride in bytes (rows may be padded).
#[derive(Clone, Copy, Debug)]
pub struct YuvPlanes<'a> {
    subsampling: ChromaSubsampling,
    width: u32,
    height: u32,
    planes: [(&'a [u8], usize); 3],
}

impl<'a> YuvPlanes<'a> {
    /// Planes given as `(bytes from the plane's first row on, stride)` for Y, U and V. Their
    /// sizes are checked by [`yuv_to_rgb`], which fails rather than read past a plane.
    pub fn new(
        subsampling: ChromaSubsampling,
        width: u32,
        height: u32,
        planes: [(&'a [u8], usize); 3],
    ) -> Self {
        YuvPlanes {
            subsampling,
            width,
            height,
            planes,
        }
    }

    /// The planes of a decoded [`Frame`] in `I420`, `Y42B` or `Y444`
    /// ([`ChromaSubsampling::of_native`]).
    ///
    /// # Errors
    /// [`Error::Convert`] when the frame is in another format, has other than three planes, or
    /// a plane starts past the end of its data.
    pub fn of_frame(frame: &'a Frame) -> Result<Self> {
        let fail = |reason: String| Error::Convert {
            index: frame.info.index,
            from: frame.format.name().to_owned(),
            to: "RGB",
            source: reason.into(),
        };
        let subsampling = match &frame.format {
            PixelFormat::Native(name) => ChromaSubsampling::of_native(name),
            _ => None,
        }
        .ok_or_else(|| {
            fail("not 8-bit planar YUV (I420, Y42B or Y444): no RGB conversion".to_owned())
        })?;
        let [y, u, v] = frame.planes.as_slice() else {
            return Err(fail(format!(
                "planar YUV has three planes, this frame has {}",
                frame.planes.len()
            )));
        };
        let plane = |i: usize, p: &Plane| {
            frame
                .data
                .get(p.offset..)
                .map(|bytes| (bytes, p.stride))
                .ok_or_else(|| {
                    fail(format!(
                        "plane {i} starts at byte {} of {}",
                        p.offset,
                        frame.data.len()
                    ))
                })
        };
        Ok(YuvPlanes {
            subsampling,
            width: frame.width,
            height: frame.height,
            planes: [plane(0, y)?, plane(1, u)?, plane(2, v)?],
        })
    }
}

/// Converts `planes` to a packed RGB [`Frame`] (rows not padded) described by `info`, with
/// `matrix` and `range`.
///
/// The bytes are those of `yuvutils-rs`'s `yuv420_to_rgb`, `yuv422_to_rgb` or
/// `yuv444_to_rgb`, so they do not depend on who calls.
///
/// # Errors
/// [`Error::Convert`] when a plane is shorter than its size and stride need, or a size is zero
/// or does not fit in 32 bits; the frame is never read out of bounds.
///
/// ```
/// use video_core::{FrameInfo, Timestamp};
/// use video_image::{ChromaSubsampling, ColorMatrix, ColorRange, YuvPlanes, yuv_to_rgb};
/// // A 4x2 I420 image: mid-grey luma, neutral chroma.
/// let (y, u, v) = ([126u8; 8], [128u8; 2], [128u8; 2]);
/// let planes = YuvPlanes::new(ChromaSubsampling::Yuv420, 4, 2, [(&y, 4), (&u, 2), (&v, 2)]);
/// let info = FrameInfo { index: 0, pts: Timestamp::ZERO, duration: None, keyframe: true, decode_order: 0 };
/// let rgb = yuv_to_rgb(&planes, ColorMatrix::untagged(2), ColorRange::Limited, info)?;
/// assert_eq!((rgb.width, rgb.height, rgb.data.len()), (4, 2, 4 * 2 * 3));
/// # Ok::<(), video_core::Error>(())
/// ```
pub fn yuv_to_rgb(
    planes: &YuvPlanes<'_>,
    matrix: ColorMatrix,
    range: ColorRange,
    info: FrameInfo,
) -> Result<Frame> {
    convert(planes, matrix, range, info, |len| vec![0u8; len].into())
}

/// [`yuv_to_rgb`] into a buffer from `pool`: the same bytes, without allocating and zeroing a
/// new buffer for each frame once the pool holds returned ones (the conversion writes every
/// byte).
///
/// # Errors
/// As [`yuv_to_rgb`].
pub fn yuv_to_rgb_in(
    planes: &YuvPlanes<'_>,
    matrix: ColorMatrix,
    range: ColorRange,
    info: FrameInfo,
    pool: &FramePool,
) -> Result<Frame> {
    convert(planes, matrix, range, info, |len| pool.buffer(len))
}

fn convert(
    planes: &YuvPlanes<'_>,
    matrix: ColorMatrix,
    range: ColorRange,
    info: FrameInfo,
    buffer: impl FnOnce(usize) -> FrameData,
) -> Result<Frame> {
    let fail = |source: video_core::BoxError| Error::Convert {
        index: info.index,
        from: planes.subsampling.native_name().to_owned(),
        to: "RGB",
        source,
    };
    let (w, h) = (planes.width, planes.height);
    let stride = |i: usize| {
        u32::try_from(planes.planes[i].1)
            .map_err(|_| fail(format!("plane {i}'s stride does not fit in 32 bits").into()))
    };
    let image = YuvPlanarImage {
        y_plane: planes.planes[0].0,
        y_stride: stride(0)?,
        u_plane: planes.planes[1].0,
        u_stride: stride(1)?,
        v_plane: planes.planes[2].0,
        v_stride: stride(2)?,
        width: w,
        height: h,
    };
    let range = match range {
        ColorRange::Full => YuvRange::Full,
        ColorRange::Limited => YuvRange::Limited,
    };
    let matrix = matrix.to_yuvutils();
    let row_bytes = w as usize * 3;
    let rgb_stride = u32::try_from(row_bytes)
        .map_err(|_| fail(format!("a row of {w} RGB pixels does not fit in 32 bits").into()))?;
    let mut data = buffer(row_bytes * h as usize);
    match planes.subsampling {
        ChromaSubsampling::Yuv420 => {
            yuvutils_rs::yuv420_to_rgb(&image, &mut data, rgb_stride, range, matrix)
        }
        ChromaSubsampling::Yuv422 => {
            yuvutils_rs::yuv422_to_rgb(&image, &mut data, rgb_stride, range, matrix)
        }
        ChromaSubsampling::Yuv444 => {
            yuvutils_rs::yuv444_to_rgb(&image, &mut data, rgb_stride, range, matrix)
        }
    }
    .map_err(|e| fail(Box::new(e)))?;
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
        framemd5: None,
    })
}

/// Converts a decoded 8-bit planar YUV [`Frame`] (`I420`, `Y42B`, `Y444`) to packed RGB:
/// [`YuvPlanes::of_frame`], then [`yuv_to_rgb`]. The RGB frame keeps the decoded frame's
/// [`framemd5`](Frame::framemd5).
///
/// # Errors
/// As [`YuvPlanes::of_frame`] and [`yuv_to_rgb`].
pub fn frame_to_rgb(frame: &Frame, matrix: ColorMatrix, range: ColorRange) -> Result<Frame> {
    let mut rgb = yuv_to_rgb(&YuvPlanes::of_frame(frame)?, matrix, range, frame.info)?;
    rgb.framemd5.clone_from(&frame.framemd5);
    Ok(rgb)
}

#[cfg(test)]
mod tests {
    use super::*;
    use video_core::Timestamp;

    fn info() -> FrameInfo {
        FrameInfo {
            index: 3,
            pts: Timestamp::ZERO,
            duration: None,
            keyframe: true,
            decode_order: 3,
        }
    }

    /// A `w`x`h` frame in `sub`, planes padded by 3 bytes a row and 5 bytes apart.
    fn yuv_frame(sub: ChromaSubsampling, w: usize, h: usize) -> Frame {
        let (cw, ch) = match sub {
            ChromaSubsampling::Yuv420 => (w.div_ceil(2), h.div_ceil(2)),
            ChromaSubsampling::Yuv422 => (w.div_ceil(2), h),
            ChromaSubsampling::Yuv444 => (w, h),
        };
        let mut data = Vec::new();
        let mut planes = Vec::new();
        for (i, (pw, ph)) in [(w, h), (cw, ch), (cw, ch)].into_iter().enumerate() {
            data.extend([0xEE; 5]);
            let offset = data.len();
            for y in 0..ph {
                for x in 0..pw {
                    data.push(((x * 7 + y * 13 + i * 50) % 220 + 16) as u8);
                }
                data.extend([0xAB; 3]);
            }
            planes.push(Plane {
                offset,
                stride: pw + 3,
                row_bytes: pw,
                rows: ph,
            });
        }
        Frame {
            info: info(),
            width: w as u32,
            height: h as u32,
            format: PixelFormat::Native(sub.native_name().into()),
            planes,
            data: data.into(),
            framemd5: None,
        }
    }

    #[test]
    fn each_subsampling_matches_yuvutils_on_packed_planes() {
        for sub in [
            ChromaSubsampling::Yuv420,
            ChromaSubsampling::Yuv422,
            ChromaSubsampling::Yuv444,
        ] {
            // Odd sizes convert too (yuvutils' edge handling is its own).
            let odd = frame_to_rgb(
                &yuv_frame(sub, 37, 23),
                ColorMatrix::Bt709,
                ColorRange::Full,
            )
            .expect("converts");
            assert_eq!(odd.data.len(), 37 * 23 * 3);
            let f = yuv_frame(sub, 38, 24);
            let rgb = frame_to_rgb(&f, ColorMatrix::Bt709, ColorRange::Full).expect("converts");
            assert_eq!(rgb.format, PixelFormat::Rgb8);
            assert_eq!(rgb.info, f.info);
            assert_eq!(rgb.data.len(), 38 * 24 * 3);
            // The same image without row padding gives the same pixels.
            let mut packed = Vec::new();
            let mut tight = Vec::new();
            for i in 0..3 {
                let start = packed.len();
                f.append_packed_plane(i, &mut packed);
                tight.push((start, f.planes[i].row_bytes));
            }
            let planes = YuvPlanes::new(
                sub,
                38,
                24,
                [0, 1, 2].map(|i| (&packed[tight[i].0..], tight[i].1)),
            );
            let again = yuv_to_rgb(&planes, ColorMatrix::Bt709, ColorRange::Full, info())
                .expect("converts");
            assert!(again.data == rgb.data, "{sub:?}");
        }
    }

    /// A pooled buffer keeps an earlier frame's bytes: the conversion must write every one of
    /// them, at odd sizes too (where the last chroma sample covers one pixel).
    #[test]
    fn a_reused_buffer_full_of_stale_bytes_gives_the_same_frame() {
        let pool = video_core::FramePool::new(1);
        for sub in [
            ChromaSubsampling::Yuv420,
            ChromaSubsampling::Yuv422,
            ChromaSubsampling::Yuv444,
        ] {
            for (w, h) in [(37, 23), (38, 24), (1, 1), (3, 2)] {
                let f = yuv_frame(sub, w, h);
                let planes = YuvPlanes::of_frame(&f).expect("planes");
                let fresh =
                    frame_to_rgb(&f, ColorMatrix::Bt709, ColorRange::Limited).expect("converts");
                for stale in [0x00, 0x5A, 0xFF] {
                    drop(pool.filled(w * h * 3 + 64, stale));
                    let reused = yuv_to_rgb_in(
                        &planes,
                        ColorMatrix::Bt709,
                        ColorRange::Limited,
                        f.info,
                        &pool,
                    )
                    .expect("converts");
                    assert!(reused.data.is_pooled());
                    assert_eq!(reused.data, fresh.data, "{sub:?} {w}x{h}, stale {stale:#x}");
                }
            }
        }
    }

    #[test]
    fn matrix_and_range_change_the_pixels() {
        let f = yuv_frame(ChromaSubsampling::Yuv420, 16, 16);
        let a = frame_to_rgb(&f, ColorMatrix::Bt709, ColorRange::Limited).expect("converts");
        let b = frame_to_rgb(&f, ColorMatrix::Bt601, ColorRange::Limited).expect("converts");
        let c = frame_to_rgb(&f, ColorMatrix::Bt709, ColorRange::Full).expect("converts");
        assert_ne!(a.data, b.data);
        assert_ne!(a.data, c.data);
        assert_eq!(ColorMatrix::untagged(719), ColorMatrix::Bt601);
        assert_eq!(ColorMatrix::untagged(1080), ColorMatrix::Bt709);
    }

    /// Each matrix against its definition (Kr, Kb from the standards: BT.709, BT.601, BT.2020,
    /// SMPTE 240M, FCC): a full-range 4:4:4 pixel Y'CbCr → R'G'B' within 1 code.
    #[test]
    fn each_matrix_follows_its_luma_weights() {
        let cases = [
            (ColorMatrix::Bt709, 0.2126, 0.0722),
            (ColorMatrix::Bt601, 0.299, 0.114),
            (ColorMatrix::Bt2020, 0.2627, 0.0593),
            (ColorMatrix::Smpte240m, 0.212, 0.087),
            (ColorMatrix::Fcc, 0.30, 0.11),
        ];
        let (y, u, v) = (110u8, 150u8, 90u8);
        let (y_plane, u_plane, v_plane) = ([y; 4], [u; 4], [v; 4]);
        let planes = YuvPlanes::new(
            ChromaSubsampling::Yuv444,
            2,
            2,
            [(&y_plane, 2), (&u_plane, 2), (&v_plane, 2)],
        );
        for (matrix, kr, kb) in cases {
            let rgb = yuv_to_rgb(&planes, matrix, ColorRange::Full, info()).expect("converts");
            let (yf, cb, cr) = (f64::from(y), f64::from(u) - 128.0, f64::from(v) - 128.0);
            let r = yf + 2.0 * (1.0 - kr) * cr;
            let b = yf + 2.0 * (1.0 - kb) * cb;
            let g = (yf - kr * r - kb * b) / (1.0 - kr - kb);
            for (got, want) in rgb.data[..3].iter().zip([r, g, b]) {
                assert!(
                    (f64::from(*got) - want.clamp(0.0, 255.0)).abs() <= 1.0,
                    "{matrix:?}: got {:?}, want {:?}",
                    &rgb.data[..3],
                    [r, g, b]
                );
            }
        }
    }

    #[test]
    fn malformed_frames_are_errors_not_panics() {
        let good = yuv_frame(ChromaSubsampling::Yuv420, 20, 10);
        let mut cases: Vec<Frame> = Vec::new();
        let mut push = |change: &dyn Fn(&mut Frame)| {
            let mut f = good.clone();
            change(&mut f);
            cases.push(f);
        };
        push(&|f| f.format = PixelFormat::Rgb8);
        push(&|f| f.format = PixelFormat::Native("NV12".into()));
        push(&|f| {
            f.planes.pop();
        });
        push(&|f| f.planes[2].offset = f.data.len() + 1);
        push(&|f| {
            let n = f.data.len() - 10;
            f.data.as_mut_vec().truncate(n);
        });
        push(&|f| f.height = 40);
        push(&|f| f.width = 0);
        push(&|f| f.planes[0].stride = usize::MAX);
        for f in &cases {
            let err =
                frame_to_rgb(f, ColorMatrix::Bt601, ColorRange::Limited).expect_err("malformed");
            assert!(matches!(err, Error::Convert { index: 3, .. }), "{err:?}");
        }
    }
}
