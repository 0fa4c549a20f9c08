//! The frame count a container header states (MP4/MOV `stsz`, AVI `strh`), read directly: no
//! GStreamer element exposes it.

use std::io::{Read, Seek, SeekFrom};

use crate::input::Input;

/// The header frame count of the `video_index`-th video track, if the container states one.
pub(crate) fn frame_count(input: &Input, container: &str, video_index: usize) -> Option<u64> {
    let len = input.len()?;
    let mut f = input.reader()?;
    let n = match container {
        "mp4" | "mov" => mp4(&mut *f, len, video_index),
        "avi" => avi(&mut *f, len, video_index),
        _ => None,
    };
    // Fragmented MP4 declares no samples in its header: that is "not stated", not zero.
    n.filter(|&n| n > 0)
}

/// The container's short name from the file's first bytes, or `None` when not recognised.
pub(crate) fn sniff_container(input: &Input) -> Option<String> {
    let mut f = input.reader()?;
    let mut head = [0u8; 512];
    let n = f.read(&mut head).ok()?;
    let head = &head[..n];
    let name = if head.len() >= 12 && &head[4..8] == b"ftyp" {
        if &head[8..12] == b"qt  " {
            "mov"
        } else {
            "mp4"
        }
    } else if head.len() >= 8
        && matches!(&head[4..8], b"moov" | b"mdat" | b"wide" | b"free" | b"skip")
    {
        "mov"
    } else if head.starts_with(&[0x1A, 0x45, 0xDF, 0xA3]) {
        if head.windows(4).take(64).any(|w| w == b"webm") {
            "webm"
        } else {
            "matroska"
        }
    } else if head.len() >= 12 && &head[0..4] == b"RIFF" && &head[8..12] == b"AVI " {
        "avi"
    } else if head.len() > 376 && head[0] == 0x47 && head[188] == 0x47 && head[376] == 0x47 {
        "mpegts"
    } else if head.starts_with(&[0, 0, 1, 0xBA]) {
        "mpeg-ps"
    } else if head.starts_with(b"OggS") {
        "ogg"
    } else if head.starts_with(b"FLV") {
        "flv"
    } else {
        return None;
    };
    Some(name.to_owned())
}

/// Read a box header at `pos`: (type, payload start, box end).
fn box_at<R: Read + Seek + ?Sized>(f: &mut R, pos: u64, end: u64) -> Option<([u8; 4], u64, u64)> {
    if pos + 8 > end {
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
    (size >= 8 && box_end <= end).then_some((kind, start, box_end))
}

fn children<R: Read + Seek + ?Sized>(f: &mut R, start: u64, end: u64) -> Vec<([u8; 4], u64, u64)> {
    let mut out = Vec::new();
    let mut pos = start;
    while let Some(b) = box_at(f, pos, end) {
        pos = b.2;
        out.push(b);
        if out.len() > 10_000 {
            break;
        }
    }
    out
}

fn child<R: Read + Seek + ?Sized>(
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

fn read_at<const N: usize, R: Read + Seek + ?Sized>(f: &mut R, pos: u64) -> Option<[u8; N]> {
    f.seek(SeekFrom::Start(pos)).ok()?;
    let mut b = [0u8; N];
    f.read_exact(&mut b).ok()?;
    Some(b)
}

fn mp4<R: Read + Seek + ?Sized>(f: &mut R, len: u64, video_index: usize) -> Option<u64> {
    let (ms, me) = child(f, 0, len, b"moov")?;
    let mut n = 0;
    for (kind, ts, te) in children(f, ms, me) {
        if &kind != b"trak" {
            continue;
        }
        let Some((ds, de)) = child(f, ts, te, b"mdia") else {
            continue;
        };
        let Some((hs, _)) = child(f, ds, de, b"hdlr") else {
            continue;
        };
        // hdlr: version/flags(4) pre_defined(4) handler_type(4)
        if read_at::<4, _>(f, hs + 8)? != *b"vide" {
            continue;
        }
        if n != video_index {
            n += 1;
            continue;
        }
        let (is, ie) = child(f, ds, de, b"minf")?;
        let (ss, se) = child(f, is, ie, b"stbl")?;
        let (zs, _) = child(f, ss, se, b"stsz").or_else(|| child(f, ss, se, b"stz2"))?;
        // stsz: version/flags(4) sample_size(4) sample_count(4)
        let c = read_at::<4, _>(f, zs + 8)?;
        return Some(u64::from(u32::from_be_bytes(c)));
    }
    None
}

fn avi<R: Read + Seek + ?Sized>(f: &mut R, len: u64, video_index: usize) -> Option<u64> {
    let riff = read_at::<12, _>(f, 0)?;
    if &riff[0..4] != b"RIFF" || &riff[8..12] != b"AVI " {
        return None;
    }
    // Walk RIFF chunks: LIST hdrl { avih, LIST strl { strh, strf, ... } ... }
    let mut n = 0;
    let mut pos = 12u64;
    let end = len;
    let mut stack = vec![end];
    let mut steps = 0;
    while let Some(&lim) = stack.last() {
        steps += 1;
        if steps > 100_000 || pos + 8 > lim {
            stack.pop();
            if stack.is_empty() {
                break;
            }
            continue;
        }
        let h = read_at::<8, _>(f, pos)?;
        let id = [h[0], h[1], h[2], h[3]];
        let size = u64::from(u32::from_le_bytes([h[4], h[5], h[6], h[7]]));
        let next = pos + 8 + size + (size & 1);
        if &id == b"LIST" {
            let list = read_at::<4, _>(f, pos + 8)?;
            if &list == b"hdrl" || &list == b"strl" {
                stack.push(next.min(lim));
                pos += 12;
                continue;
            }
            if &list == b"movi" {
                break;
            }
        } else if &id == b"strh" {
            let strh = read_at::<36, _>(f, pos + 8)?;
            if &strh[0..4] == b"vids" {
                if n == video_index {
                    return Some(u64::from(u32::from_le_bytes([
                        strh[32], strh[33], strh[34], strh[35],
                    ])));
                }
                n += 1;
            }
        }
        pos = next;
        while stack.len() > 1 && pos >= *stack.last()? {
            stack.pop();
        }
    }
    None
}
