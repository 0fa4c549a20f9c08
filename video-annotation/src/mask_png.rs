//! Supervisely's bitmap encoding: a PNG of the mask, zlib-compressed, in base64.

use std::io::{Read, Write};

use base64::Engine as _;

use crate::model::Mask;
use video_core::BoxError;

/// The most bytes a bitmap may decompress to (the PNG file, before decoding it).
pub(crate) const MAX_COMPRESSED_PNG: u64 = 64 << 20;

/// The most pixels a bitmap may have (`width × height`): 2²⁶, an 8192 × 8192 mask. Checked on the
/// PNG header, before the pixels are allocated.
pub(crate) const MAX_MASK_PIXELS: u64 = 1 << 26;

/// Why a bitmap could not be decoded.
#[derive(Debug)]
pub(crate) enum MaskError {
    /// The data was bad; the reason and the decoder's error.
    Bad(&'static str, Option<BoxError>),
    /// The decompressed data would exceed [`MAX_COMPRESSED_PNG`].
    TooLarge,
    /// The PNG declares more than [`MAX_MASK_PIXELS`] pixels (the number it declares).
    TooManyPixels(u64),
}

/// Decode `data`: base64, then zlib, then a PNG whose set pixels are those with a non-zero
/// alpha (when the PNG has alpha or a transparent palette entry) or a non-zero value.
pub(crate) fn decode(data: &str) -> Result<Mask, MaskError> {
    let zipped = base64::engine::general_purpose::STANDARD
        .decode(data.trim())
        .map_err(|e| MaskError::Bad("bitmap data is not base64", Some(Box::new(e))))?;
    let mut png_bytes = Vec::new();
    flate2::read::ZlibDecoder::new(&zipped[..])
        .take(MAX_COMPRESSED_PNG + 1)
        .read_to_end(&mut png_bytes)
        .map_err(|e| MaskError::Bad("bitmap data is not zlib-compressed", Some(Box::new(e))))?;
    if png_bytes.len() as u64 > MAX_COMPRESSED_PNG {
        return Err(MaskError::TooLarge);
    }
    let mut decoder = png::Decoder::new(&png_bytes[..]);
    decoder.set_transformations(png::Transformations::normalize_to_color8());
    let mut reader = decoder
        .read_info()
        .map_err(|e| MaskError::Bad("bitmap data is not a PNG", Some(Box::new(e))))?;
    let (w, h) = reader.info().size();
    let pixels = u64::from(w) * u64::from(h);
    if pixels > MAX_MASK_PIXELS {
        return Err(MaskError::TooManyPixels(pixels));
    }
    let mut buf = vec![0; reader.output_buffer_size()];
    let frame = reader
        .next_frame(&mut buf)
        .map_err(|e| MaskError::Bad("bitmap PNG cannot be decoded", Some(Box::new(e))))?;
    let (color, _) = reader.output_color_type();
    let channels = color.samples();
    let has_alpha = matches!(color, png::ColorType::GrayscaleAlpha | png::ColorType::Rgba);
    let (w, h) = (frame.width, frame.height);
    let stride = frame.line_size;
    Ok(Mask::from_fn(w, h, |x, y| {
        let at = y as usize * stride + x as usize * channels;
        let px = &buf[at..at + channels];
        if has_alpha {
            px[channels - 1] != 0
        } else {
            px.iter().any(|&v| v != 0)
        }
    }))
}

/// Encode a mask as Supervisely stores it: an 8-bit palette PNG (index 0 transparent black,
/// index 1 white), zlib-compressed, in base64.
pub(crate) fn encode(mask: &Mask) -> Result<String, BoxError> {
    let mut png_bytes = Vec::new();
    {
        let mut enc = png::Encoder::new(&mut png_bytes, mask.width(), mask.height());
        enc.set_color(png::ColorType::Indexed);
        enc.set_depth(png::BitDepth::Eight);
        enc.set_palette(vec![0, 0, 0, 255, 255, 255]);
        enc.set_trns(vec![0, 255]);
        let mut writer = enc.write_header()?;
        let data: Vec<u8> = (0..mask.height())
            .flat_map(|y| (0..mask.width()).map(move |x| (x, y)))
            .map(|(x, y)| u8::from(mask.get(x, y)))
            .collect();
        writer.write_image_data(&data)?;
        writer.finish()?;
    }
    let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
    z.write_all(&png_bytes)?;
    let zipped = z.finish()?;
    Ok(base64::engine::general_purpose::STANDARD.encode(zipped))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn zip_b64(png_bytes: &[u8]) -> String {
        let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::fast());
        z.write_all(png_bytes).unwrap();
        base64::engine::general_purpose::STANDARD.encode(z.finish().unwrap())
    }

    #[test]
    fn round_trip() {
        let m = Mask::from_fn(5, 3, |x, y| (x + y) % 2 == 0 || x == 4);
        let back = decode(&encode(&m).unwrap()).unwrap();
        assert_eq!(back, m);
    }

    #[test]
    fn grayscale_and_rgba_masks() {
        // 3x1 grayscale: 0, 255, 7 -> false, true, true.
        let mut gray = Vec::new();
        let mut enc = png::Encoder::new(&mut gray, 3, 1);
        enc.set_color(png::ColorType::Grayscale);
        let mut w = enc.write_header().unwrap();
        w.write_image_data(&[0, 255, 7]).unwrap();
        w.finish().unwrap();
        let m = decode(&zip_b64(&gray)).unwrap();
        assert_eq!((m.get(0, 0), m.get(1, 0), m.get(2, 0)), (false, true, true));
        // 2x1 RGBA: white but transparent, black but opaque -> alpha decides.
        let mut rgba = Vec::new();
        let mut enc = png::Encoder::new(&mut rgba, 2, 1);
        enc.set_color(png::ColorType::Rgba);
        let mut w = enc.write_header().unwrap();
        w.write_image_data(&[255, 255, 255, 0, 0, 0, 0, 255])
            .unwrap();
        w.finish().unwrap();
        let m = decode(&zip_b64(&rgba)).unwrap();
        assert_eq!((m.get(0, 0), m.get(1, 0)), (false, true));
    }

    #[test]
    fn bad_data_is_an_error() {
        assert!(matches!(decode("not base64!"), Err(MaskError::Bad(..))));
        let not_zlib = base64::engine::general_purpose::STANDARD.encode(b"plain");
        assert!(matches!(decode(&not_zlib), Err(MaskError::Bad(..))));
        assert!(matches!(
            decode(&zip_b64(b"not a png")),
            Err(MaskError::Bad(..))
        ));
    }
}
