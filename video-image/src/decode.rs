//! Decoding stored JPEG (libjpeg-turbo) and PNG (the `png` crate) images back to packed RGB.

use video_core::{Error, Result};

/// A decoded image: `height` rows of `width` packed RGB8 pixels, no padding.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct RgbImage {
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// `width * height * 3` bytes, row after row.
    pub pixels: Vec<u8>,
}

/// The default cap on the pixels [`decode_image`] decodes: 64 megapixels (an 8K frame is 33).
pub const DEFAULT_MAX_PIXELS: u64 = 64 << 20;

/// Decode the JPEG or PNG image `bytes` (told apart by their first bytes) to packed RGB8.
///
/// Grey, palette, 16-bit and alpha PNGs are converted (16-bit samples keep their high byte,
/// alpha is dropped). `name` (a key or path) names the image in errors. The size is read from
/// the header first, so an image of more than `max_pixels` pixels is refused before anything
/// is allocated for it.
///
/// ```
/// use video_image::{decode_image, DEFAULT_MAX_PIXELS};
/// // A 2x1 grey PNG, written with the png crate.
/// let mut png_bytes = Vec::new();
/// let mut encoder = png::Encoder::new(&mut png_bytes, 2, 1);
/// encoder.set_color(png::ColorType::Grayscale);
/// encoder.write_header()?.write_image_data(&[10, 200])?;
/// let image = decode_image("a.png", &png_bytes, DEFAULT_MAX_PIXELS)?;
/// assert_eq!((image.width, image.height), (2, 1));
/// assert_eq!(image.pixels, [10, 10, 10, 200, 200, 200]);
/// assert!(decode_image("a.png", &png_bytes, 1).is_err());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// # Errors
/// [`Error::Decode`] naming `name` for bytes that are neither JPEG nor PNG or do not decode;
/// [`Error::LimitExceeded`] for an image of more than `max_pixels` pixels.
pub fn decode_image(name: &str, bytes: &[u8], max_pixels: u64) -> Result<RgbImage> {
    if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
        decode_jpeg(name, bytes, max_pixels)
    } else if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        decode_png(name, bytes, max_pixels)
    } else {
        Err(failed(name, "neither a JPEG nor a PNG image"))
    }
}

fn failed(name: &str, reason: impl std::fmt::Display) -> Error {
    Error::Decode {
        uri: name.to_owned(),
        index: None,
        pts: None,
        reason: reason.to_string(),
    }
}

fn check_size(name: &str, width: u64, height: u64, max_pixels: u64) -> Result<()> {
    let pixels = width.saturating_mul(height);
    if pixels > max_pixels {
        return Err(Error::LimitExceeded {
            what: format!("{name}: pixels of a decoded image"),
            limit: max_pixels,
            actual: pixels,
        });
    }
    if pixels == 0 {
        return Err(failed(name, format!("empty image ({width}x{height})")));
    }
    Ok(())
}

fn decode_jpeg(name: &str, bytes: &[u8], max_pixels: u64) -> Result<RgbImage> {
    let mut d = turbojpeg::Decompressor::new().map_err(|e| failed(name, e))?;
    let header = d.read_header(bytes).map_err(|e| failed(name, e))?;
    check_size(name, header.width as u64, header.height as u64, max_pixels)?;
    let mut pixels = vec![0u8; header.width * header.height * 3];
    d.decompress(
        bytes,
        turbojpeg::Image {
            pixels: &mut pixels[..],
            width: header.width,
            pitch: header.width * 3,
            height: header.height,
            format: turbojpeg::PixelFormat::RGB,
        },
    )
    .map_err(|e| failed(name, e))?;
    let dim = |v: usize| u32::try_from(v).map_err(|_| failed(name, "too large"));
    Ok(RgbImage {
        width: dim(header.width)?,
        height: dim(header.height)?,
        pixels,
    })
}

fn decode_png(name: &str, bytes: &[u8], max_pixels: u64) -> Result<RgbImage> {
    let mut decoder = png::Decoder::new(bytes);
    decoder.set_transformations(png::Transformations::normalize_to_color8());
    let mut reader = decoder.read_info().map_err(|e| failed(name, e))?;
    let (width, height) = (reader.info().width, reader.info().height);
    check_size(name, u64::from(width), u64::from(height), max_pixels)?;
    let mut buf = vec![0u8; reader.output_buffer_size()];
    let out = reader.next_frame(&mut buf).map_err(|e| failed(name, e))?;
    let channels = match out.color_type {
        png::ColorType::Grayscale => 1,
        png::ColorType::GrayscaleAlpha => 2,
        png::ColorType::Rgb => 3,
        png::ColorType::Rgba => 4,
        png::ColorType::Indexed => {
            return Err(failed(name, "palette left unexpanded"));
        }
    };
    if out.bit_depth != png::BitDepth::Eight {
        return Err(failed(name, format!("{:?} samples", out.bit_depth)));
    }
    let (w, h) = (width as usize, height as usize);
    let mut pixels = Vec::with_capacity(w * h * 3);
    for row in buf.chunks(out.line_size).take(h) {
        for px in row.chunks_exact(channels).take(w) {
            match channels {
                1 | 2 => pixels.extend_from_slice(&[px[0]; 3]),
                _ => pixels.extend_from_slice(&px[..3]),
            }
        }
    }
    if pixels.len() != w * h * 3 {
        return Err(failed(name, "short image data"));
    }
    Ok(RgbImage {
        width,
        height,
        pixels,
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn png_of(color: png::ColorType, depth: png::BitDepth, w: u32, h: u32, data: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        {
            let mut e = png::Encoder::new(&mut out, w, h);
            e.set_color(color);
            e.set_depth(depth);
            let mut wr = e.write_header().unwrap();
            wr.write_image_data(data).unwrap();
        }
        out
    }

    #[test]
    fn png_colour_types_become_rgb() {
        let grey = png_of(
            png::ColorType::Grayscale,
            png::BitDepth::Eight,
            2,
            1,
            &[10, 200],
        );
        let img = decode_image("g.png", &grey, DEFAULT_MAX_PIXELS).unwrap();
        assert_eq!(img.pixels, [10, 10, 10, 200, 200, 200]);
        let rgba = png_of(
            png::ColorType::Rgba,
            png::BitDepth::Eight,
            1,
            2,
            &[1, 2, 3, 255, 4, 5, 6, 0],
        );
        let img = decode_image("a.png", &rgba, DEFAULT_MAX_PIXELS).unwrap();
        assert_eq!((img.width, img.height), (1, 2));
        assert_eq!(img.pixels, [1, 2, 3, 4, 5, 6]);
        let deep = png_of(
            png::ColorType::Rgb,
            png::BitDepth::Sixteen,
            1,
            1,
            &[1, 2, 3, 4, 5, 6],
        );
        let img = decode_image("d.png", &deep, DEFAULT_MAX_PIXELS).unwrap();
        assert_eq!(img.pixels, [1, 3, 5]);
    }

    #[test]
    fn jpeg_decodes_to_its_colour() {
        let mut c = turbojpeg::Compressor::new().unwrap();
        c.set_quality(95);
        let px = [200u8, 40, 90].repeat(16 * 8);
        let jpeg = c
            .compress_to_vec(turbojpeg::Image {
                pixels: &px[..],
                width: 16,
                pitch: 48,
                height: 8,
                format: turbojpeg::PixelFormat::RGB,
            })
            .unwrap();
        let img = decode_image("a.jpg", &jpeg, DEFAULT_MAX_PIXELS).unwrap();
        assert_eq!((img.width, img.height), (16, 8));
        for (got, want) in img.pixels.iter().zip(&px) {
            assert!(got.abs_diff(*want) <= 4, "{got} vs {want}");
        }
        let e = decode_image("a.jpg", &jpeg, 100).unwrap_err();
        assert!(matches!(e, Error::LimitExceeded { actual: 128, .. }), "{e}");
        let e = decode_image("x.jpg", &jpeg[..20], DEFAULT_MAX_PIXELS).unwrap_err();
        assert!(e.to_string().contains("x.jpg"), "{e}");
        let e = decode_image("t.txt", b"hello", DEFAULT_MAX_PIXELS).unwrap_err();
        assert!(e.to_string().contains("neither a JPEG nor a PNG"), "{e}");
    }
}
