//! Encoding decoded RGB frames as JPEG (libjpeg-turbo) or PNG (the `png` crate).

use video_core::{
    BoxError, EncodedFrame, Error, Frame, FrameEncoder, ImageFormat, PixelFormat, Result,
};

/// How hard the PNG encoder works to make files small. PNG is lossless: every level decodes
/// to the same pixels.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum PngCompression {
    /// `fdeflate`'s fast deflate with the Paeth filter on every row: 11–15 ms for a 1080p
    /// camera-like frame. Paeth makes such files 10–20 % smaller than the Sub or Up filters
    /// for at most a few milliseconds more.
    #[default]
    Fast,
    /// zlib level 6 with a filter chosen per row (adaptive): 25–40 times slower than
    /// [`Fast`](Self::Fast) (0.3–0.5 s for 1080p) for files 3–5 % smaller on camera-like
    /// frames, about 20 % smaller on flat synthetic ones.
    Balanced,
    /// zlib level 9 with adaptive filtering: 0.4–1.3 s for 1080p, for files at most about
    /// 1.5 % smaller than [`Balanced`](Self::Balanced).
    Best,
}

/// Options of an [`ImageEncoder`].
///
/// ```
/// # use video_image::EncodeOptions;
/// # use video_core::ImageFormat;
/// let opts = EncodeOptions::default().format(ImageFormat::Jpeg).jpeg_quality(85);
/// assert_eq!(opts.jpeg_quality, 85);
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct EncodeOptions {
    /// The image format to write.
    ///
    /// Default: [`ImageFormat::Jpeg`].
    pub format: ImageFormat,
    /// JPEG quality, from 1 (smallest files) to 100 (best quality); [`ImageEncoder::new`]
    /// rejects other values. Chroma is always subsampled 4:2:0. Ignored for PNG.
    ///
    /// Default: 90.
    pub jpeg_quality: u8,
    /// How hard the PNG encoder compresses. Ignored for JPEG.
    ///
    /// Default: [`PngCompression::Fast`].
    pub png_compression: PngCompression,
}

impl Default for EncodeOptions {
    fn default() -> Self {
        EncodeOptions {
            format: ImageFormat::Jpeg,
            jpeg_quality: 90,
            png_compression: PngCompression::Fast,
        }
    }
}

impl EncodeOptions {
    /// Sets [`format`](Self::format).
    #[must_use]
    pub fn format(mut self, format: ImageFormat) -> Self {
        self.format = format;
        self
    }

    /// Sets [`jpeg_quality`](Self::jpeg_quality) (checked by [`ImageEncoder::new`]).
    #[must_use]
    pub fn jpeg_quality(mut self, quality: u8) -> Self {
        self.jpeg_quality = quality;
        self
    }

    /// Sets [`png_compression`](Self::png_compression).
    #[must_use]
    pub fn png_compression(mut self, compression: PngCompression) -> Self {
        self.png_compression = compression;
        self
    }
}

/// Encodes RGB frames as JPEG or PNG images.
///
/// Input frames must be [`PixelFormat::Rgb8`] with exactly one plane whose `row_bytes` is
/// `width * 3` and whose `rows` is `height`; rows may be padded (`stride > row_bytes`) and
/// start at any `offset`. Padded rows are read in place for JPEG and copied once for PNG.
/// A frame in another format, or one whose plane does not fit in its `data`, gives
/// [`Error::Encode`] whose source says what is wrong; the encoder never panics on a malformed
/// frame.
///
/// The encoder holds no state besides its options: it is cheap to clone and can be shared
/// between threads (a libjpeg-turbo handle is created per call, which costs well under a
/// microsecond next to the milliseconds of compression).
///
/// Rough costs of one 1920×1080 frame on one x86-64 core, release build, for camera-like
/// frames (an upscaled photo, with and without added grain) and, last, for the flat synthetic
/// `testsrc2` pattern:
///
/// | Output                                | Time per frame  | Size            | `testsrc2`     |
/// |---------------------------------------|-----------------|-----------------|----------------|
/// | JPEG, quality 90, 4:2:0               | 6 ms            | 450–490 kB      | 4 ms, 117 kB   |
/// | PNG, [`PngCompression::Fast`]         | 11–15 ms        | 2.85–3.85 MB    | 2 ms, 261 kB   |
/// | PNG, [`PngCompression::Balanced`]     | 320–500 ms      | 2.75–3.7 MB     | 30 ms, 202 kB  |
/// | PNG, [`PngCompression::Best`]         | 430–1300 ms     | 2.7–3.7 MB      | 90 ms, 202 kB  |
///
/// Padded rows add about 0.5 ms to PNG (one copy) and nothing to JPEG.
///
/// ```
/// # use video_image::{EncodeOptions, ImageEncoder};
/// # use video_core::ImageFormat;
/// let jpeg = ImageEncoder::new(EncodeOptions::default())?;
/// let png = ImageEncoder::new(EncodeOptions::default().format(ImageFormat::Png))?;
/// assert!(ImageEncoder::new(EncodeOptions::default().jpeg_quality(0)).is_err());
/// # Ok::<(), video_core::Error>(())
/// ```
#[derive(Clone, Debug, Default)]
pub struct ImageEncoder {
    opts: EncodeOptions,
}

impl ImageEncoder {
    /// An encoder with the given options.
    ///
    /// # Errors
    /// [`Error::InvalidOption`] when `jpeg_quality` is not in `1..=100`.
    pub fn new(opts: EncodeOptions) -> Result<Self> {
        if !(1..=100).contains(&opts.jpeg_quality) {
            return Err(Error::InvalidOption {
                option: "jpeg_quality".into(),
                reason: format!(
                    "jpeg quality {} is out of range (use 1 to 100)",
                    opts.jpeg_quality
                ),
            });
        }
        Ok(ImageEncoder { opts })
    }

    /// The encoder's options.
    #[must_use]
    pub fn options(&self) -> &EncodeOptions {
        &self.opts
    }
}

impl FrameEncoder for ImageEncoder {
    fn encode(&self, frame: &Frame) -> Result<EncodedFrame> {
        let format = self.opts.format;
        let bytes = RgbView::of(frame)
            .and_then(|rgb| match format {
                ImageFormat::Jpeg => encode_jpeg(&rgb, self.opts.jpeg_quality),
                ImageFormat::Png => encode_png(&rgb, self.opts.png_compression),
                other => Err(FrameError::UnsupportedImageFormat(other).into()),
            })
            .map_err(|source| Error::Encode {
                index: frame.info.index,
                format: format.name(),
                source,
            })?;
        Ok(EncodedFrame {
            info: frame.info,
            width: frame.width,
            height: frame.height,
            format,
            bytes,
            framemd5: frame.framemd5.clone(),
        })
    }
}

/// Why a frame cannot be encoded; kept as the source of [`Error::Encode`].
#[derive(Debug, thiserror::Error)]
enum FrameError {
    #[error("pixel format {0} is not supported: the image encoder takes RGB frames")]
    UnsupportedPixelFormat(String),
    #[error("image format {0:?} is not supported by the image encoder")]
    UnsupportedImageFormat(ImageFormat),
    #[error("frame is empty ({width}x{height})")]
    Empty { width: u32, height: u32 },
    #[error("an RGB frame has one plane, this one has {0}")]
    PlaneCount(usize),
    #[error(
        "plane layout does not match a {width}x{height} RGB frame \
         (row_bytes {row_bytes}, rows {rows}, stride {stride})"
    )]
    Layout {
        width: u32,
        height: u32,
        row_bytes: usize,
        rows: usize,
        stride: usize,
    },
    #[error(
        "plane (offset {offset}, stride {stride}, {rows} rows of {row_bytes} bytes) \
         lies outside the frame's {len} bytes of data"
    )]
    OutOfBounds {
        offset: usize,
        stride: usize,
        rows: usize,
        row_bytes: usize,
        len: usize,
    },
}

/// The checked pixels of an RGB frame.
#[derive(Debug)]
struct RgbView<'a> {
    /// From the first byte of the first row to the last byte of the last row (the last row
    /// has no padding).
    pixels: &'a [u8],
    width: usize,
    height: usize,
    stride: usize,
}

impl<'a> RgbView<'a> {
    /// Checks the frame's format and plane layout against its data.
    fn of(frame: &'a Frame) -> std::result::Result<Self, BoxError> {
        if frame.format != PixelFormat::Rgb8 {
            return Err(FrameError::UnsupportedPixelFormat(frame.format.name().to_owned()).into());
        }
        if frame.width == 0 || frame.height == 0 {
            return Err(FrameError::Empty {
                width: frame.width,
                height: frame.height,
            }
            .into());
        }
        let [plane] = frame.planes.as_slice() else {
            return Err(FrameError::PlaneCount(frame.planes.len()).into());
        };
        let layout = || FrameError::Layout {
            width: frame.width,
            height: frame.height,
            row_bytes: plane.row_bytes,
            rows: plane.rows,
            stride: plane.stride,
        };
        let width = usize::try_from(frame.width).map_err(|_| layout())?;
        let height = usize::try_from(frame.height).map_err(|_| layout())?;
        let row_bytes = width.checked_mul(3).ok_or_else(layout)?;
        if plane.row_bytes != row_bytes || plane.rows != height || plane.stride < row_bytes {
            return Err(layout().into());
        }
        let out_of_bounds = || FrameError::OutOfBounds {
            offset: plane.offset,
            stride: plane.stride,
            rows: plane.rows,
            row_bytes: plane.row_bytes,
            len: frame.data.len(),
        };
        // height >= 1 was checked above.
        let end = plane
            .stride
            .checked_mul(height - 1)
            .and_then(|n| n.checked_add(row_bytes))
            .and_then(|n| n.checked_add(plane.offset))
            .ok_or_else(out_of_bounds)?;
        let pixels = frame
            .data
            .get(plane.offset..end)
            .ok_or_else(out_of_bounds)?;
        Ok(RgbView {
            pixels,
            width,
            height,
            stride: plane.stride,
        })
    }

    /// The pixels without row padding, `None` when rows are padded.
    fn packed(&self) -> Option<&'a [u8]> {
        (self.stride == self.width * 3).then_some(self.pixels)
    }
}

fn encode_jpeg(rgb: &RgbView<'_>, quality: u8) -> std::result::Result<Vec<u8>, BoxError> {
    // Creating a handle is a small allocation; a per-thread cache measured no faster.
    let mut compressor = turbojpeg::Compressor::new()?;
    compressor.set_quality(i32::from(quality));
    compressor.set_subsamp(turbojpeg::Subsamp::Sub2x2);
    // libjpeg-turbo reads padded rows in place through `pitch`.
    let image = turbojpeg::Image {
        pixels: rgb.pixels,
        width: rgb.width,
        pitch: rgb.stride,
        height: rgb.height,
        format: turbojpeg::PixelFormat::RGB,
    };
    Ok(compressor.compress_to_vec(image)?)
}

fn encode_png(
    rgb: &RgbView<'_>,
    compression: PngCompression,
) -> std::result::Result<Vec<u8>, BoxError> {
    let (level, filter, adaptive) = match compression {
        PngCompression::Fast => (
            png::Compression::Fast,
            png::FilterType::Paeth,
            png::AdaptiveFilterType::NonAdaptive,
        ),
        PngCompression::Balanced => (
            png::Compression::Default,
            png::FilterType::Sub,
            png::AdaptiveFilterType::Adaptive,
        ),
        PngCompression::Best => (
            png::Compression::Best,
            png::FilterType::Sub,
            png::AdaptiveFilterType::Adaptive,
        ),
    };
    // `write_image_data` takes whole packed images only (its row-by-row `StreamWriter` does not
    // use the fast deflater and is about four times slower), so padded rows are packed first,
    // which costs about 0.5 ms for 1080p.
    let repacked;
    let pixels = match rgb.packed() {
        Some(p) => p,
        None => {
            let row_bytes = rgb.width * 3;
            let mut v = Vec::with_capacity(row_bytes * rgb.height);
            for row in rgb.pixels.chunks(rgb.stride) {
                v.extend_from_slice(&row[..row_bytes]);
            }
            repacked = v;
            &repacked[..]
        }
    };
    let width = u32::try_from(rgb.width)?;
    let height = u32::try_from(rgb.height)?;
    let mut out = Vec::with_capacity(pixels.len() / 2);
    {
        let mut encoder = png::Encoder::new(&mut out, width, height);
        encoder.set_color(png::ColorType::Rgb);
        encoder.set_depth(png::BitDepth::Eight);
        encoder.set_compression(level);
        encoder.set_filter(filter);
        encoder.set_adaptive_filter(adaptive);
        let mut writer = encoder.write_header()?;
        writer.write_image_data(pixels)?;
        writer.finish()?;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use video_core::{FrameInfo, Plane, Timestamp};

    /// A `width`x`height` RGB frame with rows of `stride` bytes starting at `offset`; padding
    /// bytes are 0xAB so that reading them shows in the output.
    fn frame(
        width: u32,
        height: u32,
        stride: usize,
        offset: usize,
        px: impl Fn(usize, usize) -> [u8; 3],
    ) -> Frame {
        let (w, h) = (width as usize, height as usize);
        let mut data = vec![0xAB; offset + stride * h];
        for y in 0..h {
            for x in 0..w {
                let i = offset + y * stride + x * 3;
                data[i..i + 3].copy_from_slice(&px(x, y));
            }
        }
        Frame {
            info: FrameInfo {
                index: 7,
                pts: Timestamp::ZERO,
                duration: None,
                keyframe: true,
                decode_order: 7,
            },
            width,
            height,
            format: PixelFormat::Rgb8,
            planes: vec![Plane {
                offset,
                stride,
                row_bytes: w * 3,
                rows: h,
            }],
            data: data.into(),
            framemd5: None,
        }
    }

    fn gradient(x: usize, y: usize) -> [u8; 3] {
        [(x * 2) as u8, (y * 3) as u8, ((x + y) % 256) as u8]
    }

    fn png_encoder(c: PngCompression) -> ImageEncoder {
        ImageEncoder::new(
            EncodeOptions::default()
                .format(ImageFormat::Png)
                .png_compression(c),
        )
        .expect("valid options")
    }

    fn error_chain(e: &Error) -> String {
        let mut s = e.to_string();
        let mut src = std::error::Error::source(e);
        while let Some(e) = src {
            s.push_str(": ");
            s.push_str(&e.to_string());
            src = e.source();
        }
        s
    }

    #[test]
    fn options_change_the_output() {
        let noisy = |x: usize, y: usize| {
            let v = (x * 7919 + y * 104_729) % 251;
            [v as u8, (v * 3) as u8, (255 - v) as u8]
        };
        let f = frame(64, 48, 64 * 3, 0, noisy);
        let size_at = |q: u8| {
            let enc = ImageEncoder::new(EncodeOptions::default().jpeg_quality(q)).expect("valid");
            enc.encode(&f).expect("encodes").bytes.len()
        };
        assert!(size_at(30) < size_at(95), "{} {}", size_at(30), size_at(95));
        // The documented default: JPEG at quality 90.
        let default = ImageEncoder::default().encode(&f).expect("encodes");
        let q90 = ImageEncoder::new(EncodeOptions::default().jpeg_quality(90))
            .expect("valid")
            .encode(&f)
            .expect("encodes");
        assert_eq!(default.bytes, q90.bytes);
        assert_ne!(default.bytes.len(), size_at(95));
        let png = png_encoder(PngCompression::Best)
            .encode(&f)
            .expect("encodes");
        assert_eq!(&png.bytes[..8], b"\x89PNG\r\n\x1a\n");
        assert_eq!(png.format, ImageFormat::Png);
    }

    #[test]
    fn encoder_is_send_and_sync() {
        fn check<T: Send + Sync + Clone + std::fmt::Debug + 'static>() {}
        check::<ImageEncoder>();
        let _: Box<dyn FrameEncoder> = Box::new(ImageEncoder::default());
    }

    #[test]
    fn jpeg_decodes_back_close_to_input() {
        let (w, h) = (97u32, 61u32); // odd sizes exercise 4:2:0 edges
        let f = frame(w, h, w as usize * 3, 0, gradient);
        let out = ImageEncoder::default().encode(&f).expect("encodes");
        assert_eq!(out.format, ImageFormat::Jpeg);
        assert_eq!((out.width, out.height, out.info), (w, h, f.info));
        assert_eq!(&out.bytes[..2], &[0xFF, 0xD8]);
        let img = turbojpeg::decompress(&out.bytes, turbojpeg::PixelFormat::RGB).expect("decodes");
        assert_eq!((img.width, img.height), (w as usize, h as usize));
        let packed = f.to_packed();
        let mut total = 0u64;
        for y in 0..img.height {
            let row = &img.pixels[y * img.pitch..][..img.width * 3];
            let src = &packed[y * img.width * 3..][..img.width * 3];
            total += row
                .iter()
                .zip(src)
                .map(|(&a, &b)| u64::from(a.abs_diff(b)))
                .sum::<u64>();
        }
        let mae = total as f64 / packed.len() as f64;
        assert!(mae < 2.0, "mean abs error {mae}");
    }

    #[test]
    fn jpeg_reads_padded_rows_in_place() {
        let (w, h) = (40u32, 30u32);
        let packed = frame(w, h, 120, 0, gradient);
        let padded = frame(w, h, 128 + 5, 17, gradient);
        let enc = ImageEncoder::new(EncodeOptions::default().jpeg_quality(75)).expect("valid");
        assert_eq!(
            enc.encode(&packed).expect("packed").bytes,
            enc.encode(&padded).expect("padded").bytes
        );
    }

    #[test]
    fn png_decodes_back_exactly_from_padded_rows() {
        let (w, h) = (53u32, 29u32);
        for c in [
            PngCompression::Fast,
            PngCompression::Balanced,
            PngCompression::Best,
        ] {
            for (stride, offset) in [(w as usize * 3, 0), (w as usize * 3 + 13, 9)] {
                let f = frame(w, h, stride, offset, gradient);
                let out = png_encoder(c).encode(&f).expect("encodes");
                assert_eq!(out.format, ImageFormat::Png);
                assert_eq!((out.width, out.height), (w, h));
                let mut reader = png::Decoder::new(&out.bytes[..])
                    .read_info()
                    .expect("png header");
                let mut buf = vec![0; reader.output_buffer_size()];
                let info = reader.next_frame(&mut buf).expect("png data");
                assert_eq!((info.width, info.height), (w, h));
                assert_eq!(info.color_type, png::ColorType::Rgb);
                assert_eq!(info.bit_depth, png::BitDepth::Eight);
                assert_eq!(
                    &buf[..info.buffer_size()],
                    &f.to_packed()[..],
                    "{c:?} {stride}"
                );
            }
        }
    }

    #[test]
    fn jpeg_quality_out_of_range_is_rejected() {
        for q in [0u8, 101, 255] {
            let err = ImageEncoder::new(EncodeOptions::default().jpeg_quality(q))
                .expect_err("out of range");
            assert!(matches!(err, Error::InvalidOption { .. }), "{err:?}");
            assert!(err.to_string().contains(&q.to_string()), "{err}");
        }
        for q in [1u8, 100] {
            let enc = ImageEncoder::new(EncodeOptions::default().jpeg_quality(q)).expect("valid");
            enc.encode(&frame(8, 8, 24, 0, gradient)).expect("encodes");
        }
    }

    #[test]
    fn non_rgb_input_is_rejected_naming_the_format() {
        let mut f = frame(16, 16, 48, 0, gradient);
        f.format = PixelFormat::Native("I420".into());
        for enc in [ImageEncoder::default(), png_encoder(PngCompression::Fast)] {
            let err = enc.encode(&f).expect_err("not RGB");
            assert!(matches!(err, Error::Encode { index: 7, .. }), "{err:?}");
            let chain = error_chain(&err);
            assert!(chain.contains("I420"), "{chain}");
        }
    }

    #[test]
    fn malformed_frames_are_errors_not_panics() {
        let good = frame(16, 8, 48 + 4, 3, gradient);
        let mut cases: Vec<(&str, Frame)> = Vec::new();
        let mut push = |name, change: &dyn Fn(&mut Frame)| {
            let mut f = good.clone();
            change(&mut f);
            cases.push((name, f));
        };
        push("offset past end", &|f| {
            f.planes[0].offset = f.data.len() + 1;
        });
        // The last row's 4 padding bytes may be missing, not its pixels.
        push("last row cut", &|f| {
            let n = f.data.len() - 5;
            f.data.as_mut_vec().truncate(n);
        });
        push("offset pushes last row out", &|f| f.planes[0].offset += 5);
        push("stride too long", &|f| f.planes[0].stride += 10);
        push("stride overflow", &|f| f.planes[0].stride = usize::MAX / 2);
        push("offset overflow", &|f| f.planes[0].offset = usize::MAX - 10);
        push("stride below row", &|f| f.planes[0].stride = 40);
        push("row_bytes mismatch", &|f| f.planes[0].row_bytes = 45);
        push("rows mismatch", &|f| f.planes[0].rows = 9);
        push("too tall", &|f| f.height = 9);
        push("too wide", &|f| f.width = 17);
        push("no plane", &|f| f.planes.clear());
        push("two planes", &|f| {
            let p = f.planes[0];
            f.planes.push(p);
        });
        push("zero width", &|f| {
            f.width = 0;
            f.planes[0].row_bytes = 0;
        });
        push("zero height", &|f| {
            f.height = 0;
            f.planes[0].rows = 0;
        });
        push("no data", &|f| f.data.as_mut_vec().clear());
        let mut unpadded_end = good.clone();
        let n = unpadded_end.data.len() - 4;
        unpadded_end.data.as_mut_vec().truncate(n);
        for enc in [ImageEncoder::default(), png_encoder(PngCompression::Fast)] {
            enc.encode(&good).expect("the unchanged frame encodes");
            enc.encode(&unpadded_end)
                .expect("the last row needs no padding");
            for (name, f) in &cases {
                let err = enc.encode(f).expect_err(name);
                assert!(matches!(err, Error::Encode { .. }), "{name}: {err:?}");
            }
        }
    }

    #[test]
    fn shared_between_threads() {
        let enc = std::sync::Arc::new(ImageEncoder::default());
        let f = frame(64, 48, 64 * 3, 0, gradient);
        let first = enc.encode(&f).expect("encodes").bytes;
        std::thread::scope(|s| {
            for _ in 0..4 {
                s.spawn(|| {
                    for _ in 0..5 {
                        assert_eq!(enc.encode(&f).expect("encodes").bytes, first);
                    }
                });
            }
        });
    }
}
