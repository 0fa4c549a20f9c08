//! Stored PNG images: their size from the header, whether they are whole, their pixels.

use std::path::Path;

/// The PNG signature.
pub const SIGNATURE: &[u8; 8] = b"\x89PNG\r\n\x1a\n";

/// Width and height from a PNG's `IHDR` chunk (the first chunk). Panics naming `name` when
/// `bytes` does not start with the PNG signature and a header.
pub fn png_size(name: &str, bytes: &[u8]) -> (u32, u32) {
    assert!(bytes.starts_with(SIGNATURE), "{name}: no PNG signature");
    assert!(bytes.len() >= 24, "{name}: no PNG header");
    (be32(bytes, 16), be32(bytes, 20))
}

/// [`png_size`] of a PNG file.
pub fn png_file_size(path: &Path) -> (u32, u32) {
    let bytes = std::fs::read(path).unwrap();
    png_size(&path.display().to_string(), &bytes)
}

/// A PNG that parses to its end: signature, `IHDR` of the size `w` × `h`, chunks up to `IEND`,
/// nothing after it. Panics naming `name` otherwise.
pub fn assert_whole_png(name: &str, bytes: &[u8], w: u32, h: u32) {
    assert_eq!(png_size(name, bytes), (w, h), "{name}");
    let mut i = 8;
    loop {
        assert!(i + 12 <= bytes.len(), "{name}: truncated PNG");
        let len = be32(bytes, i) as usize;
        let kind = &bytes[i + 4..i + 8];
        i += 12 + len;
        if kind == b"IEND" {
            assert_eq!(i, bytes.len(), "{name}: bytes after IEND");
            return;
        }
    }
}

/// Width, height and RGB pixels (tightly packed rows) of an RGB PNG file, decoded by the `png`
/// crate.
pub fn png_rgb(path: &Path) -> (u32, u32, Vec<u8>) {
    let decoder = png::Decoder::new(std::fs::File::open(path).unwrap());
    let mut reader = decoder.read_info().unwrap();
    let mut buf = vec![0; reader.output_buffer_size()];
    let info = reader.next_frame(&mut buf).unwrap();
    assert_eq!(info.color_type, png::ColorType::Rgb, "{}", path.display());
    buf.truncate(info.buffer_size());
    (info.width, info.height, buf)
}

fn be32(b: &[u8], i: usize) -> u32 {
    u32::from_be_bytes([b[i], b[i + 1], b[i + 2], b[i + 3]])
}
