//! The display matrix of a written MP4's video track: GStreamer 1.22's `mp4mux` ignores the
//! `image-orientation` tag, so a rotation kept as metadata is written into the `tkhd` box of
//! the finished file, in place (36 bytes; nothing moves).

use std::fs::OpenOptions;
use std::io::{Seek, SeekFrom, Write};
use std::path::Path;

use crate::mp4box::{child, children, read_at, video_tracks};

/// The `tkhd` matrix (16.16 fixed point, `w` 2.30) that shows a `width` x `height` stored
/// picture rotated clockwise by `rotation_cw` (90, 180 or 270), as FFmpeg writes it.
fn matrix(rotation_cw: u32, width: u32, height: u32) -> [u32; 9] {
    const ONE: u32 = 1 << 16;
    const MINUS_ONE: u32 = 0xFFFF_0000;
    const W: u32 = 1 << 30;
    let (w, h) = (width << 16, height << 16);
    match rotation_cw {
        90 => [0, ONE, 0, MINUS_ONE, 0, 0, h, 0, W],
        180 => [MINUS_ONE, 0, 0, 0, MINUS_ONE, 0, w, h, W],
        270 => [0, MINUS_ONE, 0, ONE, 0, 0, 0, w, W],
        _ => [ONE, 0, 0, 0, ONE, 0, 0, 0, W],
    }
}

/// Write the display matrix of a clockwise rotation into the first video track of the MP4 at
/// `path`, whose pictures are `width` x `height`.
pub(crate) fn write_rotation(
    path: &Path,
    rotation_cw: u32,
    width: u32,
    height: u32,
) -> std::io::Result<()> {
    let mut f = OpenOptions::new().read(true).write(true).open(path)?;
    let len = f.metadata()?.len();
    let missing = |what: &str| std::io::Error::other(format!("the written MP4 has no {what}"));
    let moov = children(&mut f, 0, len)
        .into_iter()
        .find(|b| &b.0 == b"moov")
        .ok_or_else(|| missing("moov box"))?;
    let (trak, _) = video_tracks(&mut f, moov.1, moov.2)
        .into_iter()
        .next()
        .ok_or_else(|| missing("video track"))?;
    let (ts, te) = child(&mut f, trak.1, trak.2, b"tkhd").ok_or_else(|| missing("tkhd box"))?;
    let version = read_at::<1>(&mut f, ts).ok_or_else(|| missing("tkhd version"))?[0];
    // version/flags, then creation, modification, track id, reserved, duration (32 or 64 bit
    // times), 8 reserved, layer, alternate group, volume, reserved.
    let at = ts + if version == 1 { 52 } else { 40 };
    if at + 36 > te {
        return Err(missing("room for a matrix in tkhd"));
    }
    let bytes: Vec<u8> = matrix(rotation_cw, width, height)
        .iter()
        .flat_map(|v| v.to_be_bytes())
        .collect();
    f.seek(SeekFrom::Start(at))?;
    f.write_all(&bytes)?;
    f.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identity_for_no_rotation() {
        assert_eq!(
            matrix(0, 4, 2),
            [1 << 16, 0, 0, 0, 1 << 16, 0, 0, 0, 1 << 30]
        );
    }

    #[test]
    fn quarter_turn_matches_qtdemux_rotate_90() {
        // qtdemux reads (a, b, c, d) = (0, 1, -1, 0) as `rotate-90`.
        let m = matrix(90, 320, 192);
        assert_eq!((m[0], m[1], m[3], m[4]), (0, 1 << 16, 0xFFFF_0000, 0));
    }
}
