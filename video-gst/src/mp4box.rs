//! Reading MP4/MOV boxes, and fixed-size fields at an offset, from a seekable reader: what the
//! header readers (`header.rs`) and the sample-table reader (`mp4index.rs`) share. It depends
//! on neither.

use std::io::{Read, Seek, SeekFrom};

use crate::limits::MAX_CHILD_BOXES;

/// An MP4 box: (type, payload start, box end).
pub(crate) type Mp4Box = ([u8; 4], u64, u64);

/// Read a box header at `pos`: (type, payload start, box end). `None` when it does not fit
/// inside `end`.
pub(crate) fn box_at<R: Read + Seek>(f: &mut R, pos: u64, end: u64) -> Option<Mp4Box> {
    if pos.checked_add(8)? > end {
        return None;
    }
    f.seek(SeekFrom::Start(pos)).ok()?;
    let mut h = [0u8; 8];
    f.read_exact(&mut h).ok()?;
    let size = u64::from(u32::from_be_bytes([h[0], h[1], h[2], h[3]]));
    let kind = [h[4], h[5], h[6], h[7]];
    let (start, size) = match size {
        1 => {
            let mut l = [0u8; 8];
            f.read_exact(&mut l).ok()?;
            (pos + 16, u64::from_be_bytes(l))
        }
        0 => (pos + 8, end - pos),
        s => (pos + 8, s),
    };
    let box_end = pos.checked_add(size)?;
    (start <= box_end && box_end <= end).then_some((kind, start, box_end))
}

/// The boxes laid end to end in `start..end` (at most [`MAX_CHILD_BOXES`]).
pub(crate) fn children<R: Read + Seek>(f: &mut R, start: u64, end: u64) -> Vec<Mp4Box> {
    let mut out = Vec::new();
    let mut pos = start;
    while let Some(b) = box_at(f, pos, end) {
        pos = b.2;
        out.push(b);
        if out.len() >= MAX_CHILD_BOXES {
            break;
        }
    }
    out
}

/// The first box of type `kind` in `start..end`: (payload start, box end).
pub(crate) fn child<R: Read + Seek>(
    f: &mut R,
    start: u64,
    end: u64,
    kind: &[u8; 4],
) -> Option<(u64, u64)> {
    children(f, start, end)
        .into_iter()
        .find(|b| &b.0 == kind)
        .map(|b| (b.1, b.2))
}

/// `N` bytes at `pos`.
pub(crate) fn read_at<const N: usize>(f: &mut (impl Read + Seek), pos: u64) -> Option<[u8; N]> {
    f.seek(SeekFrom::Start(pos)).ok()?;
    let mut b = [0u8; N];
    f.read_exact(&mut b).ok()?;
    Some(b)
}

/// The whole payload of a box, when it is at most `cap` bytes.
pub(crate) fn read_payload<R: Read + Seek>(
    f: &mut R,
    start: u64,
    end: u64,
    cap: u64,
) -> Option<Vec<u8>> {
    let n = end.checked_sub(start)?;
    if n > cap {
        return None;
    }
    f.seek(SeekFrom::Start(start)).ok()?;
    let mut buf = vec![0u8; usize::try_from(n).ok()?];
    f.read_exact(&mut buf).ok()?;
    Some(buf)
}

/// The video tracks of the `moov` box in `ms..me`, in file order: (trak box, mdia payload).
pub(crate) fn video_tracks<R: Read + Seek>(
    f: &mut R,
    ms: u64,
    me: u64,
) -> Vec<(Mp4Box, (u64, u64))> {
    tracks(f, ms, me, b"vide")
}

/// The tracks with handler type `handler`, in file order: (trak box, mdia payload).
pub(crate) fn tracks<R: Read + Seek>(
    f: &mut R,
    ms: u64,
    me: u64,
    handler: &[u8; 4],
) -> Vec<(Mp4Box, (u64, u64))> {
    let mut out = Vec::new();
    for trak in children(f, ms, me) {
        if &trak.0 != b"trak" {
            continue;
        }
        let Some((ds, de)) = child(f, trak.1, trak.2, b"mdia") else {
            continue;
        };
        let Some((hs, _)) = child(f, ds, de, b"hdlr") else {
            continue;
        };
        // hdlr: version/flags(4) pre_defined(4) handler_type(4)
        if read_at::<4>(f, hs + 8) == Some(*handler) {
            out.push((trak, (ds, de)));
        }
    }
    out
}
