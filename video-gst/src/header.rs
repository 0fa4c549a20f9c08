//! Container headers read directly: the frame count they state (MP4/MOV `stsz`, AVI `strh`),
//! which no GStreamer element exposes, and the MP4 facts the probe needs (track counts, sample
//! bytes, the frame table of [`mp4index`](crate::mp4index)).

use std::io::{Read, Seek, SeekFrom};

use video_core::FrameTable;

use crate::input::{Input, ReadSeek};

/// Largest `moov` box kept in memory (a 3-hour 30 fps track's sample tables are a few MiB).
const MOOV_CACHE_MAX: u64 = 64 * 1024 * 1024;

/// An input's header, read once per probe: MP4's `moov` box is loaded into memory the first time
/// it is needed, so the several questions the probe asks of it do not read it again (from a
/// store, once per question).
pub(crate) struct Header<'a> {
    len: u64,
    reader: MoovCache<Box<dyn ReadSeek + 'a>>,
}

impl<'a> Header<'a> {
    /// The header of `input`, or `None` when its size or bytes cannot be read.
    pub(crate) fn open(input: &'a Input) -> Option<Self> {
        Some(Header {
            len: input.len()?,
            reader: MoovCache::new(input.reader()?),
        })
    }

    /// The header frame count of the `video_index`-th video track, if the container states one.
    pub(crate) fn frame_count(&mut self, container: &str, video_index: usize) -> Option<u64> {
        let len = self.len;
        let n = match container {
            "mp4" | "mov" => mp4(self.mp4()?, len, video_index),
            "avi" => avi(&mut self.reader, len, video_index),
            _ => None,
        };
        // Fragmented MP4 declares no samples in its header: that is "not stated", not zero.
        n.filter(|&n| n > 0)
    }

    /// The numbers of video and audio tracks an MP4/MOV header declares.
    pub(crate) fn mp4_track_counts(&mut self) -> Option<(usize, usize)> {
        let len = self.len;
        let f = self.mp4()?;
        let (ms, me) = child(f, 0, len, b"moov")?;
        Some((
            tracks(f, ms, me, b"vide").len(),
            tracks(f, ms, me, b"soun").len(),
        ))
    }

    /// Total bytes of the `video_index`-th video track's samples (the `stsz` sizes).
    pub(crate) fn mp4_track_bytes(&mut self, video_index: usize) -> Option<u64> {
        let len = self.len;
        let f = self.mp4()?;
        let (kind, zs, ze) = sample_sizes(f, len, video_index)?;
        if &kind != b"stsz" {
            return None;
        }
        // stsz: version/flags(4) sample_size(4) sample_count(4) [entry_size(4) × count]
        let head = read_at::<12>(f, zs)?;
        let size = u64::from(u32::from_be_bytes([head[4], head[5], head[6], head[7]]));
        let count = u64::from(u32::from_be_bytes([head[8], head[9], head[10], head[11]]));
        if size != 0 {
            return size.checked_mul(count);
        }
        let table = read_payload(f, zs + 12, ze, MOOV_CACHE_MAX)?;
        if (table.len() as u64) < count.checked_mul(4)? {
            return None;
        }
        Some(
            table
                .chunks_exact(4)
                .take(count as usize)
                .map(|c| u64::from(u32::from_be_bytes([c[0], c[1], c[2], c[3]])))
                .sum(),
        )
    }

    /// The `video_index`-th video track's frame table from the MP4 sample tables, when
    /// [`mp4index`](crate::mp4index) knows it equals the demux pass's.
    pub(crate) fn mp4_frame_table(&mut self, uri: &str, video_index: usize) -> Option<FrameTable> {
        let len = self.len;
        crate::mp4index::frame_table(self.mp4()?, len, uri, video_index)
    }

    /// The stream times of the frames FFmpeg shows of the `video_index`-th video track, when
    /// it has an edit list (see [`mp4index::edit_shown_times`](crate::mp4index::edit_shown_times)).
    pub(crate) fn mp4_edit_shown_times(&mut self, video_index: usize) -> Option<Vec<i64>> {
        let len = self.len;
        crate::mp4index::edit_shown_times(self.mp4()?, len, video_index)
    }

    /// The reader, with the `moov` box loaded.
    fn mp4(&mut self) -> Option<&mut MoovCache<Box<dyn ReadSeek + 'a>>> {
        self.reader.load_moov(self.len);
        Some(&mut self.reader)
    }
}

/// A reader that serves the bytes of one range (the `moov` payload) from memory and the rest
/// from `inner`.
struct MoovCache<R> {
    inner: R,
    /// Offset of `data` in the input; `None` until [`load_moov`](Self::load_moov) ran.
    base: Option<u64>,
    data: Vec<u8>,
    pos: u64,
}

impl<R: Read + Seek> MoovCache<R> {
    fn new(inner: R) -> Self {
        MoovCache {
            inner,
            base: None,
            data: Vec::new(),
            pos: 0,
        }
    }

    /// Find the top-level `moov` box and keep its payload (once; at most [`MOOV_CACHE_MAX`]).
    fn load_moov(&mut self, len: u64) {
        if self.base.is_some() {
            return;
        }
        let payload = child(&mut self.inner, 0, len, b"moov").and_then(|(ms, me)| {
            Some((ms, read_payload(&mut self.inner, ms, me, MOOV_CACHE_MAX)?))
        });
        let (base, data) = payload.unwrap_or((0, Vec::new()));
        self.base = Some(base);
        self.data = data;
    }
}

impl<R: Read + Seek> Read for MoovCache<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let base = self.base.unwrap_or(0);
        let cached = self
            .pos
            .checked_sub(base)
            .and_then(|at| usize::try_from(at).ok())
            .filter(|&at| at < self.data.len());
        let n = match cached {
            Some(at) => {
                let n = buf.len().min(self.data.len() - at);
                buf[..n].copy_from_slice(&self.data[at..at + n]);
                n
            }
            None => {
                self.inner.seek(SeekFrom::Start(self.pos))?;
                self.inner.read(buf)?
            }
        };
        self.pos += n as u64;
        Ok(n)
    }
}

impl<R: Read + Seek> Seek for MoovCache<R> {
    fn seek(&mut self, to: SeekFrom) -> std::io::Result<u64> {
        self.pos = match to {
            SeekFrom::Start(p) => p,
            SeekFrom::End(_) => self.inner.seek(to)?,
            SeekFrom::Current(d) => self.pos.checked_add_signed(d).ok_or_else(|| {
                std::io::Error::new(std::io::ErrorKind::InvalidInput, "seek before the start")
            })?,
        };
        Ok(self.pos)
    }
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

/// The boxes laid end to end in `start..end` (at most 10 000).
pub(crate) fn children<R: Read + Seek>(f: &mut R, start: u64, end: u64) -> Vec<Mp4Box> {
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
fn tracks<R: Read + Seek>(
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

/// The `video_index`-th video track's sample-size box: (`stsz` or `stz2`, payload, end).
fn sample_sizes<R: Read + Seek>(f: &mut R, len: u64, video_index: usize) -> Option<Mp4Box> {
    let (ms, me) = child(f, 0, len, b"moov")?;
    let (_, (ds, de)) = video_tracks(f, ms, me).into_iter().nth(video_index)?;
    let (is, ie) = child(f, ds, de, b"minf")?;
    let (ss, se) = child(f, is, ie, b"stbl")?;
    children(f, ss, se)
        .into_iter()
        .find(|b| &b.0 == b"stsz" || &b.0 == b"stz2")
}

fn mp4<R: Read + Seek>(f: &mut R, len: u64, video_index: usize) -> Option<u64> {
    let (_, zs, _) = sample_sizes(f, len, video_index)?;
    // stsz / stz2: version/flags(4) sample_size or reserved+field_size(4) sample_count(4)
    let c = read_at::<4>(f, zs + 8)?;
    Some(u64::from(u32::from_be_bytes(c)))
}

fn avi<R: Read + Seek>(f: &mut R, len: u64, video_index: usize) -> Option<u64> {
    let riff = read_at::<12>(f, 0)?;
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
        let h = read_at::<8>(f, pos)?;
        let id = [h[0], h[1], h[2], h[3]];
        let size = u64::from(u32::from_le_bytes([h[4], h[5], h[6], h[7]]));
        let next = pos + 8 + size + (size & 1);
        if &id == b"LIST" {
            let list = read_at::<4>(f, pos + 8)?;
            if &list == b"hdrl" || &list == b"strl" {
                stack.push(next.min(lim));
                pos += 12;
                continue;
            }
            if &list == b"movi" {
                break;
            }
        } else if &id == b"strh" {
            let strh = read_at::<36>(f, pos + 8)?;
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
