//! The frame table of an MP4/MOV video track from its `moov` header alone, without reading any
//! sample data: a remote file can be probed by fetching only its header.
//!
//! The table must be exactly the one the demux pass (`filesrc ! typefind ! parsebin`, see
//! `demux/scan.rs`) builds, so this module models what GStreamer 1.22's qtdemux does with the
//! sample tables and the edit list:
//!
//! - A sample's PTS is `dts + cslg_shift + ctts`, where `cslg_shift` is minus the most negative
//!   composition offset (0 when none is negative), scaled to nanoseconds rounding down. Its
//!   duration is `scale(dts + delta) - scale(dts)`.
//! - The edit list becomes the segment: `start = media_time + cslg_shift`, `time` = the duration
//!   of the empty edits before it, `stop = start + edit duration`; without an edit list the
//!   segment starts at `cslg_shift` with time 0 and lasts the track's `mdhd` duration. Stream time
//!   is `pts - start + time`; packets before `start` or at/after `stop` are decoded but not shown.
//! - Key frames come from `stss` (every sample when it is absent). For a local file they are
//!   kept only where the sample is a random access point (`nal::random_access`, read from the
//!   first bytes of each sync sample), as the demux pass reads them: a sync sample that is not
//!   one (an I frame that is not IDR/IRAP, a P frame in a wrong `stss`) would make a decoder
//!   start where it cannot. Through a byte source (a store) the `stss` is trusted: one read per
//!   sync sample would cost what the header path saves.
//!
//! Everything outside the shapes checked against GStreamer (fragmented files, several edits,
//! edits that start after the first GOP, rates other than 1, codecs whose parser may change key
//! flags, samples beyond the end of the file, inconsistent tables) gives a [`NotApplicable`]
//! reason, and the caller falls back to the demux pass.

use std::io::{Read, Seek};
use std::time::Duration;

use video_core::{FrameTable, PacketEntry, Timestamp};

use crate::limits::{MAX_FRAMES, MAX_TABLE_BOX_BYTES};
use crate::mp4box::{Mp4Box, child, children, read_at, read_payload, video_tracks};
use crate::nal::{self, Codec};

/// Why the header alone cannot give the table the demux pass would give.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum NotApplicable {
    /// No `moov` box (or it is not a complete box inside the file).
    NoMoov,
    /// Fragmented MP4 (`mvex` or `moof`): the samples are not in the header.
    Fragmented,
    /// There is no video track with this index.
    NoSuchTrack,
    /// A codec whose parser is not known to keep the container's key-frame flags and timing.
    Codec(String),
    /// A box is missing, too short, or its fields contradict each other.
    Malformed(&'static str),
    /// The sample tables disagree on the number of samples.
    CountMismatch {
        /// Samples in `stsz`.
        stsz: u64,
        /// Samples in `stts`.
        stts: u64,
        /// Samples in `ctts`, if present.
        ctts: Option<u64>,
        /// Samples covered by `stsc` + `stco`/`co64`.
        chunks: u64,
    },
    /// A sample lies (partly) beyond the end of the file: the file is truncated.
    Truncated {
        /// The first sample that does not fit.
        sample: u64,
    },
    /// An edit list shape whose handling by qtdemux has not been verified.
    EditList(&'static str),
    /// A time or size that overflows when converted (nanoseconds past `i64::MAX`, …).
    TooLarge,
    /// A box bigger than [`MAX_TABLE_BOX_BYTES`], or more samples than [`MAX_FRAMES`].
    Limit {
        /// What was limited (a box name, `samples`).
        what: &'static str,
        /// The limit.
        limit: u64,
        /// What the file declares.
        actual: u64,
    },
    /// Sample durations vary, or the frame rate is one GStreamer may round: the parser's buffer
    /// durations (from the caps frame rate) cannot be predicted.
    FrameRate,
    /// The first sample is not a sync sample.
    NoInitialKeyframe,
    /// The resulting table is empty or two frames share a timestamp.
    Table(String),
    /// More sync samples than [`MAX_SYNC_READS`]: checking each one's NAL units would read too
    /// much of a remote file one piece at a time; the demux pass reads it in one go.
    SyncSamples(u64),
}

/// Most sync samples whose first bytes the header path reads.
const MAX_SYNC_READS: u64 = 4096;

/// Bytes read from the start of each sync sample: the NAL unit headers, parameter sets and
/// SEI messages before the first slice, and that slice's header.
const SYNC_PREFIX: u32 = 1024;

/// The largest sync sample read whole (when its start does not tell).
const MAX_SYNC_SAMPLE: u32 = 64 << 20;

/// The frame table of the `video_index`-th video track (in file order) of the MP4/MOV file read
/// through `r` (`len` bytes), built from the `moov` box alone. `Some` only when the table is
/// known to equal the one the GStreamer demux pass builds; `None` means "fall back to the scan".
pub(crate) fn frame_table<R: Read + Seek>(
    r: &mut R,
    len: u64,
    uri: &str,
    video_index: usize,
    read_sync_samples: bool,
) -> Option<FrameTable> {
    try_frame_table(r, len, uri, video_index, read_sync_samples).ok()
}

/// [`frame_table`], saying why not when it cannot. `read_sync_samples`: keep only the sync
/// samples whose NAL units are a random access point (reading the start of each).
pub(crate) fn try_frame_table<R: Read + Seek>(
    r: &mut R,
    len: u64,
    uri: &str,
    video_index: usize,
    read_sync_samples: bool,
) -> Result<FrameTable, NotApplicable> {
    let top = children(r, 0, len);
    if top.iter().any(|b| &b.0 == b"moof") {
        return Err(NotApplicable::Fragmented);
    }
    let moov = top
        .iter()
        .find(|b| &b.0 == b"moov")
        .ok_or(NotApplicable::NoMoov)?;
    let (ms, me) = (moov.1, moov.2);
    if child(r, ms, me, b"mvex").is_some() {
        return Err(NotApplicable::Fragmented);
    }
    let mvhd = payload(r, ms, me, b"mvhd")?;
    let (movie_scale, movie_duration) = timescale_duration(&mvhd).ok_or(Malformed("mvhd"))?;
    let tracks = video_tracks(r, ms, me);
    if video_index >= tracks.len() {
        return Err(NotApplicable::NoSuchTrack);
    }
    // The demux pass numbers the video pads parsebin exposes; that equals the file order only
    // when every video track up to this one becomes a pad, so each must be one we understand.
    let mut chosen = None;
    for (i, t) in tracks.iter().take(video_index + 1).enumerate() {
        let track = read_track(r, t)?;
        if i == video_index {
            chosen = Some(track);
        }
    }
    let track = chosen.ok_or(NotApplicable::NoSuchTrack)?;
    build(
        r,
        &track,
        len,
        uri,
        Movie {
            timescale: movie_scale,
            duration: movie_duration,
        },
        read_sync_samples,
    )
}

use NotApplicable::Malformed;

/// The `mvhd` fields that matter.
#[derive(Clone, Copy, Debug)]
struct Movie {
    timescale: u32,
    duration: u64,
}

/// One edit list entry, in movie (duration) and media (media_time) time scales.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Edit {
    duration: u64,
    /// `None` for an empty edit.
    media_time: Option<u64>,
    rate: u32,
}

/// The parsed sample tables of one video track.
#[derive(Debug, Default)]
struct Track {
    timescale: u32,
    duration: u64,
    edits: Option<Vec<Edit>>,
    /// (count, delta)
    stts: Vec<(u32, u32)>,
    /// (count, offset)
    ctts: Option<Vec<(u32, i32)>>,
    /// 1-based sync samples; `None` when every sample is a sync sample.
    stss: Option<Vec<u32>>,
    /// Constant size, or one size per sample.
    sizes: Sizes,
    /// (first_chunk, samples_per_chunk)
    stsc: Vec<(u32, u32)>,
    chunk_offsets: Vec<u64>,
    /// The codec and the size of the NAL unit length prefix (`avcC`/`hvcC`).
    nal: Option<(Codec, usize)>,
}

#[derive(Debug)]
enum Sizes {
    Constant { size: u32, count: u32 },
    Each(Vec<u32>),
}

impl Default for Sizes {
    fn default() -> Self {
        Sizes::Each(Vec::new())
    }
}

impl Sizes {
    fn count(&self) -> u64 {
        match self {
            Sizes::Constant { count, .. } => u64::from(*count),
            Sizes::Each(v) => v.len() as u64,
        }
    }
    fn get(&self, i: usize) -> Option<u32> {
        match self {
            Sizes::Constant { size, count } => (i < *count as usize).then_some(*size),
            Sizes::Each(v) => v.get(i).copied(),
        }
    }
}

/// The payload of the first `kind` child of `start..end`, read into memory.
fn payload<R: Read + Seek>(
    r: &mut R,
    start: u64,
    end: u64,
    kind: &[u8; 4],
) -> Result<Vec<u8>, NotApplicable> {
    let (s, e) = child(r, start, end, kind).ok_or(Malformed(box_name(kind)))?;
    table_box(r, kind, s, e)
}

/// A sample-table box's payload, when it is at most [`MAX_TABLE_BOX_BYTES`]; the box lies
/// inside the input (see [`child`]), so the allocation is bounded by both.
fn table_box<R: Read + Seek>(
    r: &mut R,
    kind: &[u8; 4],
    start: u64,
    end: u64,
) -> Result<Vec<u8>, NotApplicable> {
    let size = end.saturating_sub(start);
    if size > MAX_TABLE_BOX_BYTES {
        return Err(NotApplicable::Limit {
            what: box_name(kind),
            limit: MAX_TABLE_BOX_BYTES,
            actual: size,
        });
    }
    read_payload(r, start, end, MAX_TABLE_BOX_BYTES).ok_or(Malformed(box_name(kind)))
}

fn optional_payload<R: Read + Seek>(
    r: &mut R,
    start: u64,
    end: u64,
    kind: &[u8; 4],
) -> Result<Option<Vec<u8>>, NotApplicable> {
    match child(r, start, end, kind) {
        None => Ok(None),
        Some((s, e)) => table_box(r, kind, s, e).map(Some),
    }
}

fn box_name(kind: &[u8; 4]) -> &'static str {
    match kind {
        b"mvhd" => "mvhd",
        b"tkhd" => "tkhd",
        b"mdhd" => "mdhd",
        b"minf" => "minf",
        b"stbl" => "stbl",
        b"stsd" => "stsd",
        b"stts" => "stts",
        b"stsc" => "stsc",
        b"stsz" => "stsz",
        b"elst" => "elst",
        b"ctts" => "ctts",
        b"stss" => "stss",
        b"stco" => "stco",
        b"co64" => "co64",
        _ => "box",
    }
}

/// Big-endian reads from a byte slice, all checked.
fn u32_at(b: &[u8], at: usize) -> Option<u32> {
    let s = b.get(at..at.checked_add(4)?)?;
    Some(u32::from_be_bytes([s[0], s[1], s[2], s[3]]))
}

fn u64_at(b: &[u8], at: usize) -> Option<u64> {
    let s = b.get(at..at.checked_add(8)?)?;
    let mut a = [0u8; 8];
    a.copy_from_slice(s);
    Some(u64::from_be_bytes(a))
}

/// `mvhd`/`mdhd`: (timescale, duration), by version.
fn timescale_duration(b: &[u8]) -> Option<(u32, u64)> {
    let (ts, dur) = match b.first()? {
        0 => (u32_at(b, 12)?, u64::from(u32_at(b, 16)?)),
        1 => (u32_at(b, 20)?, u64_at(b, 24)?),
        _ => return None,
    };
    (ts > 0).then_some((ts, dur))
}

/// A full box's entry table: the entry count at byte 4, entries of `entry` bytes after it; the
/// count must fit in the box (so it cannot make us allocate more than the box holds).
fn entries(b: &[u8], header: usize, entry: usize) -> Option<(u32, &[u8])> {
    let n = u32_at(b, header.checked_sub(4)?)?;
    let body = b.get(header..)?;
    let need = (n as usize).checked_mul(entry)?;
    (need <= body.len()).then_some((n, body.get(..need)?))
}

fn read_track<R: Read + Seek>(
    r: &mut R,
    (trak, (ds, de)): &(Mp4Box, (u64, u64)),
) -> Result<Track, NotApplicable> {
    let (ts, te) = (trak.1, trak.2);
    // qtdemux refuses a track without tkhd.
    child(r, ts, te, b"tkhd").ok_or(Malformed("tkhd"))?;
    let mdhd = payload(r, *ds, *de, b"mdhd")?;
    let (timescale, duration) = timescale_duration(&mdhd).ok_or(Malformed("mdhd"))?;
    let edits = match child(r, ts, te, b"edts") {
        None => None,
        Some((es, ee)) => match optional_payload(r, es, ee, b"elst")? {
            None => None,
            Some(b) => Some(parse_elst(&b).ok_or(Malformed("elst"))?),
        },
    };
    let (is, ie) = child(r, *ds, *de, b"minf").ok_or(Malformed("minf"))?;
    let (ss, se) = child(r, is, ie, b"stbl").ok_or(Malformed("stbl"))?;
    let stsd = payload(r, ss, se, b"stsd")?;
    // stsd: version/flags(4) entry_count(4) { size(4) format(4) ... }
    if u32_at(&stsd, 4) != Some(1) {
        return Err(Malformed("stsd"));
    }
    let format = read_at::<4>(&mut std::io::Cursor::new(&stsd), 12).ok_or(Malformed("stsd"))?;
    // h264parse/h265parse on length-prefixed input keep qtdemux's timestamps; key frames are
    // sync samples that are random access points, as in the demux pass (see the tests).
    if !matches!(&format, b"avc1" | b"avc3" | b"hvc1" | b"hev1") {
        return Err(NotApplicable::Codec(
            String::from_utf8_lossy(&format).into_owned(),
        ));
    }
    let nal = nal_length(&stsd, &format);
    if child(r, ss, se, b"stps").is_some() {
        // qtdemux also treats partial sync samples as key frames.
        return Err(NotApplicable::Codec("stps".into()));
    }
    if child(r, ss, se, b"stz2").is_some() {
        return Err(Malformed("stz2"));
    }
    let stts = payload(r, ss, se, b"stts")?;
    let (_, body) = entries(&stts, 8, 8).ok_or(Malformed("stts"))?;
    let stts = body
        .chunks_exact(8)
        .filter_map(|e| Some((u32_at(e, 0)?, u32_at(e, 4)?)))
        .collect();
    let ctts = match optional_payload(r, ss, se, b"ctts")? {
        None => None,
        Some(b) => {
            let (_, body) = entries(&b, 8, 8).ok_or(Malformed("ctts"))?;
            Some(
                body.chunks_exact(8)
                    .filter_map(|e| Some((u32_at(e, 0)?, u32_at(e, 4)? as i32)))
                    .collect(),
            )
        }
    };
    let stss = match optional_payload(r, ss, se, b"stss")? {
        None => None,
        Some(b) => {
            let (_, body) = entries(&b, 8, 4).ok_or(Malformed("stss"))?;
            Some(body.chunks_exact(4).filter_map(|e| u32_at(e, 0)).collect())
        }
    };
    let stsz = payload(r, ss, se, b"stsz")?;
    let size = u32_at(&stsz, 4).ok_or(Malformed("stsz"))?;
    let count = u32_at(&stsz, 8).ok_or(Malformed("stsz"))?;
    // Every table below is sized by what its box holds, and the per-sample vectors of `build`
    // by this count: bound it before anything is built from it.
    if u64::from(count) > MAX_FRAMES {
        return Err(NotApplicable::Limit {
            what: "samples",
            limit: MAX_FRAMES,
            actual: u64::from(count),
        });
    }
    let sizes = if size != 0 {
        Sizes::Constant { size, count }
    } else {
        let (_, body) = entries(&stsz, 12, 4).ok_or(Malformed("stsz"))?;
        Sizes::Each(body.chunks_exact(4).filter_map(|e| u32_at(e, 0)).collect())
    };
    let stsc = payload(r, ss, se, b"stsc")?;
    let (_, body) = entries(&stsc, 8, 12).ok_or(Malformed("stsc"))?;
    let stsc: Vec<(u32, u32)> = body
        .chunks_exact(12)
        .filter_map(|e| Some((u32_at(e, 0)?, u32_at(e, 4)?)))
        .collect();
    // Chunks are numbered from 1, and each entry starts after the one before.
    if stsc.first().is_some_and(|e| e.0 != 1) || stsc.windows(2).any(|w| w[1].0 <= w[0].0) {
        return Err(Malformed("stsc"));
    }
    let chunk_offsets = if let Some(b) = optional_payload(r, ss, se, b"stco")? {
        let (_, body) = entries(&b, 8, 4).ok_or(Malformed("stco"))?;
        body.chunks_exact(4)
            .filter_map(|e| u32_at(e, 0).map(u64::from))
            .collect()
    } else if let Some(b) = optional_payload(r, ss, se, b"co64")? {
        let (_, body) = entries(&b, 8, 8).ok_or(Malformed("co64"))?;
        body.chunks_exact(8).filter_map(|e| u64_at(e, 0)).collect()
    } else {
        return Err(Malformed("stco"));
    };
    Ok(Track {
        timescale,
        duration,
        edits,
        stts,
        ctts,
        stss,
        sizes,
        stsc,
        chunk_offsets,
        nal,
    })
}

/// The codec and NAL unit length size of the first `stsd` entry (`format`: its four-cc), from
/// its `avcC`/`hvcC` box.
fn nal_length(stsd: &[u8], format: &[u8; 4]) -> Option<(Codec, usize)> {
    let (codec, cc, at) = match format {
        b"avc1" | b"avc3" => (Codec::H264, b"avcC", 4),
        b"hvc1" | b"hev1" => (Codec::H265, b"hvcC", 21),
        _ => return None,
    };
    // stsd: version/flags(4) entry_count(4), the entry: size(4) format(4), then the
    // VisualSampleEntry fields (78 bytes) and its boxes.
    let end = (u32_at(stsd, 8)? as usize + 8).min(stsd.len());
    let mut pos = 8 + 8 + 78;
    while pos + 8 <= end {
        let size = u32_at(stsd, pos)? as usize;
        if size < 8 || pos + size > end {
            return None;
        }
        if &stsd[pos + 4..pos + 8] == cc {
            let b = stsd.get(pos + 8 + at)?;
            return Some((codec, usize::from(b & 3) + 1));
        }
        pos += size;
    }
    None
}

/// Calls `f(sample, offset, size)` for every sample, in decode order, walking the chunks
/// (`stsc`, `stco`/`co64`, `stsz`).
fn for_each_sample(
    t: &Track,
    mut f: impl FnMut(usize, u64, u32) -> Result<(), NotApplicable>,
) -> Result<(), NotApplicable> {
    let chunks = t.chunk_offsets.len();
    let mut sample = 0usize;
    for (j, &(first, per)) in t.stsc.iter().enumerate() {
        let next = t
            .stsc
            .get(j + 1)
            .map_or(chunks + 1, |e| (e.0 as usize).min(chunks + 1));
        for c in (first as usize)..next {
            let c = c.checked_sub(1).ok_or(Malformed("stsc"))?;
            let mut pos = *t.chunk_offsets.get(c).ok_or(Malformed("stco"))?;
            for _ in 0..per {
                let size = t.sizes.get(sample).ok_or(Malformed("stsz"))?;
                f(sample, pos, size)?;
                pos = pos.saturating_add(u64::from(size));
                sample += 1;
            }
        }
    }
    Ok(())
}

/// The file offset of every sample, in decode order.
fn sample_offsets(t: &Track) -> Result<Vec<u64>, NotApplicable> {
    let mut out = Vec::with_capacity(t.sizes.count().min(MAX_FRAMES) as usize);
    for_each_sample(t, |_, pos, _| {
        out.push(pos);
        Ok(())
    })?;
    Ok(out)
}

/// Clear the key flag of each sample in `key` whose NAL units (the first bytes read through
/// `r`) are not a random access point; nothing to do for a track without `avcC`/`hvcC`.
fn check_random_access<R: Read + Seek>(
    r: &mut R,
    t: &Track,
    key: &mut [bool],
) -> Result<(), NotApplicable> {
    let Some((codec, length)) = t.nal else {
        return Ok(());
    };
    let candidates = key.iter().filter(|&&k| k).count() as u64;
    if candidates > MAX_SYNC_READS {
        return Err(NotApplicable::SyncSamples(candidates));
    }
    let offsets = sample_offsets(t)?;
    for (i, k) in key.iter_mut().enumerate() {
        if !*k {
            continue;
        }
        let size = t.sizes.get(i).ok_or(Malformed("stsz"))?;
        let at = *offsets.get(i).ok_or(Malformed("stco"))?;
        let mut read = |n: u32| -> Result<Vec<u8>, NotApplicable> {
            let mut buf = vec![0u8; n as usize];
            r.seek(std::io::SeekFrom::Start(at))
                .and_then(|_| r.read_exact(&mut buf))
                .map_err(|_| NotApplicable::Truncated { sample: i as u64 })?;
            Ok(buf)
        };
        let prefix = read(size.min(SYNC_PREFIX))?;
        let units = nal::units(&prefix, nal::Framing::Length(length));
        // The start decides when it holds an IDR slice (H.264) or the first picture's NAL
        // header (HEVC); else (an I picture with a recovery point, whose every slice must be I;
        // parameter sets or SEI longer than the prefix) the whole sample is read.
        let decided = units.iter().any(|n| match codec {
            Codec::H264 => n.first().is_some_and(|h| h & 0x1f == 5),
            Codec::H265 => nal::hevc_type(n).is_some_and(|t| t < 32),
        });
        *k = if decided || size <= SYNC_PREFIX {
            nal::random_access(codec, &units)
        } else if size > MAX_SYNC_SAMPLE {
            return Err(NotApplicable::TooLarge);
        } else {
            let whole = read(size)?;
            nal::random_access(codec, &nal::units(&whole, nal::Framing::Length(length)))
        };
    }
    Ok(())
}

fn parse_elst(b: &[u8]) -> Option<Vec<Edit>> {
    let version = *b.first()?;
    let entry = match version {
        0 => 12,
        1 => 20,
        _ => return None,
    };
    let (_, body) = entries(b, 8, entry)?;
    body.chunks_exact(entry)
        .map(|e| {
            let (duration, media_time, rate) = if version == 1 {
                let t = u64_at(e, 8)?;
                (u64_at(e, 0)?, (t != u64::MAX).then_some(t), u32_at(e, 16)?)
            } else {
                let t = u32_at(e, 4)?;
                (
                    u64::from(u32_at(e, 0)?),
                    (t != u32::MAX).then_some(u64::from(t)),
                    u32_at(e, 8)?,
                )
            };
            Some(Edit {
                duration,
                media_time,
                rate,
            })
        })
        .collect()
}

/// `gst_util_uint64_scale(v, GST_SECOND, timescale)`: rounds down.
fn to_ns(v: u64, timescale: u32) -> Option<u64> {
    let ns = u128::from(v) * 1_000_000_000 / u128::from(timescale.max(1));
    u64::try_from(ns).ok().filter(|&n| n < i64::MAX as u64)
}

/// The segment qtdemux sends for the track's (single) media edit, in nanoseconds.
#[derive(Clone, Copy, Debug)]
struct Segment {
    start: u64,
    stop: u64,
    time: u64,
    /// The edit's media_time in media units (where qtdemux starts looking for a key frame).
    media_time: u64,
}

fn segment(t: &Track, movie: Movie, cslg_ns: u64) -> Result<Segment, NotApplicable> {
    let edits = t.edits.as_deref().unwrap_or(&[]);
    let movie_ns = to_ns(movie.duration, movie.timescale).ok_or(NotApplicable::TooLarge)?;
    let (time, edit) = match edits {
        [] => {
            // qtdemux's dummy segment: the whole track from 0.
            let d = to_ns(t.duration, t.timescale).ok_or(NotApplicable::TooLarge)?;
            if d == 0 {
                return Err(NotApplicable::EditList(
                    "no edit list and no track duration",
                ));
            }
            return Ok(Segment {
                start: cslg_ns,
                stop: d.checked_add(cslg_ns).ok_or(NotApplicable::TooLarge)?,
                time: 0,
                media_time: 0,
            });
        }
        [e] => (0, *e),
        [empty, e] if empty.media_time.is_none() => (
            to_ns(empty.duration, movie.timescale).ok_or(NotApplicable::TooLarge)?,
            *e,
        ),
        _ => return Err(NotApplicable::EditList("more than one media edit")),
    };
    let Some(media_time) = edit.media_time else {
        return Err(NotApplicable::EditList("only empty edits"));
    };
    if edit.rate != 0x1_0000 {
        return Err(NotApplicable::EditList("rate other than 1"));
    }
    if edit.duration == 0 {
        return Err(NotApplicable::EditList("zero-duration edit"));
    }
    let media_start = to_ns(media_time, t.timescale).ok_or(NotApplicable::TooLarge)?;
    // segment->duration is computed from the accumulated movie time, as qtdemux does.
    let total = to_ns(
        edits
            .iter()
            .take_while(|e| e.media_time.is_none())
            .map(|e| e.duration)
            .try_fold(edit.duration, u64::checked_add)
            .ok_or(NotApplicable::TooLarge)?,
        movie.timescale,
    )
    .ok_or(NotApplicable::TooLarge)?;
    let seg_duration = total.checked_sub(time).ok_or(Malformed("elst"))?;
    let media_stop = media_start
        .checked_add(seg_duration)
        .ok_or(NotApplicable::TooLarge)?;
    // stop = MIN(media_stop, movie duration - time + media_start): only accept files where the
    // movie duration does not cut the edit, so the movie duration's exact value cannot matter.
    if movie_ns < total {
        return Err(NotApplicable::EditList(
            "edit extends past the movie duration",
        ));
    }
    Ok(Segment {
        start: media_start
            .checked_add(cslg_ns)
            .ok_or(NotApplicable::TooLarge)?,
        stop: media_stop
            .checked_add(cslg_ns)
            .ok_or(NotApplicable::TooLarge)?,
        time,
        media_time,
    })
}

fn build<R: Read + Seek>(
    r: &mut R,
    t: &Track,
    len: u64,
    uri: &str,
    movie: Movie,
    read_sync_samples: bool,
) -> Result<FrameTable, NotApplicable> {
    let n = t.sizes.count();
    let stts_n = t
        .stts
        .iter()
        .try_fold(0u64, |a, e| a.checked_add(u64::from(e.0)))
        .ok_or(NotApplicable::TooLarge)?;
    let ctts_n = t
        .ctts
        .as_ref()
        .map(|c| c.iter().map(|e| u64::from(e.0)).sum::<u64>());
    let chunks_n = chunk_sample_count(t, n);
    if n != stts_n || ctts_n.is_some_and(|c| c != n) || chunks_n != n {
        return Err(NotApplicable::CountMismatch {
            stsz: n,
            stts: stts_n,
            ctts: ctts_n,
            chunks: chunks_n,
        });
    }
    if n == 0 {
        return Err(NotApplicable::Table("no samples".into()));
    }
    if n > MAX_FRAMES {
        return Err(NotApplicable::Limit {
            what: "samples",
            limit: MAX_FRAMES,
            actual: n,
        });
    }
    check_sample_data_in_file(t, len)?;

    // Per-sample DTS (media units) and composition offsets, in decode order.
    let n = n as usize;
    let mut dts = Vec::with_capacity(n);
    let mut deltas = Vec::with_capacity(n);
    let mut acc = 0u64;
    for &(count, delta) in &t.stts {
        for _ in 0..count {
            dts.push(acc);
            deltas.push(delta);
            acc = acc
                .checked_add(u64::from(delta))
                .ok_or(NotApplicable::TooLarge)?;
        }
    }
    let mut offsets = Vec::with_capacity(n);
    match &t.ctts {
        Some(c) => {
            for &(count, off) in c {
                offsets.extend(std::iter::repeat_n(off, count as usize));
            }
        }
        None => offsets.resize(n, 0),
    }
    // qtdemux drops a ctts whose offsets are implausibly large (half of one exceeds the track
    // duration); such a file is not worth modelling.
    if offsets
        .iter()
        .any(|&o| u64::from(o.unsigned_abs()) / 2 > t.duration)
    {
        return Err(Malformed("ctts"));
    }
    let cslg_shift = offsets
        .iter()
        .filter(|&&o| o != i32::MIN)
        .map(|&o| -i64::from(o))
        .max()
        .unwrap_or(0)
        .max(0) as u64;
    let cslg_ns = to_ns(cslg_shift, t.timescale).ok_or(NotApplicable::TooLarge)?;
    let seg = segment(t, movie, cslg_ns)?;

    let mut key = vec![t.stss.is_none(); n];
    if let Some(stss) = &t.stss {
        for &s in stss {
            let i = (s as usize).checked_sub(1).ok_or(Malformed("stss"))?;
            *key.get_mut(i).ok_or(Malformed("stss"))? = true;
        }
    }
    if read_sync_samples {
        check_random_access(r, t, &mut key)?;
    }
    if key.first() != Some(&true) {
        return Err(NotApplicable::NoInitialKeyframe);
    }
    let pts_units = |i: usize| -> Option<u64> {
        let v = i128::from(dts[i]) + i128::from(cslg_shift) + i128::from(offsets[i]);
        u64::try_from(v).ok()
    };
    // qtdemux starts pushing at the key frame before the edit's media_time (looked up by DTS or
    // by PTS, depending on how much of the table it parsed). Accept only edits that start before
    // the second key frame on both counts, so that key frame is always sample 0.
    if let Some(k) = key.iter().skip(1).position(|&k| k).map(|p| p + 1) {
        let pts_k = pts_units(k).ok_or(Malformed("ctts"))?;
        let pts_k_no_cslg = pts_k.checked_sub(cslg_shift).ok_or(Malformed("ctts"))?;
        if dts[k] <= seg.media_time || pts_k_no_cslg <= seg.media_time {
            return Err(NotApplicable::EditList("edit starts after the first GOP"));
        }
    }
    // Only edits that show the track from its first frame (the usual B-frame delay edit):
    // with an edit that trims the start (an `ffmpeg -ss … -c copy` file) qtdemux 1.22 was seen
    // to stop sending samples well before the edit's end (51 of 60), at a point not modelled
    // here, so such files are left to the demux pass.
    let first_shown = (0..n)
        .filter_map(|i| {
            let v = i128::from(dts[i]) + i128::from(offsets[i]);
            u64::try_from(v).ok()
        })
        .min()
        .ok_or(Malformed("ctts"))?;
    if seg.media_time > first_shown {
        return Err(NotApplicable::EditList(
            "the edit trims the start of the track",
        ));
    }
    let frame_duration = parser_frame_duration(t)?;
    let media_stop_ns = seg.stop - cslg_ns;
    let mut packets = Vec::with_capacity(n);
    for i in 0..n {
        let pts = to_ns(pts_units(i).ok_or(Malformed("ctts"))?, t.timescale)
            .ok_or(NotApplicable::TooLarge)?;
        let dts_ns = to_ns(dts[i], t.timescale).ok_or(NotApplicable::TooLarge)?;
        let shown = pts >= seg.start && pts < seg.stop;
        // qtdemux stops at the first sample whose DTS reaches the edit's end; such samples must
        // all be hidden anyway, so whether they are sent cannot change the table.
        if dts_ns >= media_stop_ns && shown {
            return Err(NotApplicable::EditList(
                "a frame shown before the edit's end is decoded after it",
            ));
        }
        let stream_time = if shown {
            let t = (pts - seg.start)
                .checked_add(seg.time)
                .and_then(|t| i64::try_from(t).ok())
                .ok_or(NotApplicable::TooLarge)?;
            Some(Timestamp::from_nanos(t))
        } else {
            None
        };
        packets.push(PacketEntry {
            pts: stream_time,
            duration: Some(frame_duration),
            keyframe: key[i],
        });
    }
    // The demux pass refuses MP4 files where frames are shown before the first key frame (in
    // decode order); sample 0 is a key frame here, so there are none.
    let table = FrameTable::from_decode_order(uri, packets)
        .map_err(|e| NotApplicable::Table(e.to_string()))?;
    if table.is_empty() {
        return Err(NotApplicable::Table("no frame inside the edit".into()));
    }
    Ok(table)
}

/// The buffer duration the parser sets: h264parse/h265parse replace qtdemux's per-sample
/// durations with one frame at the caps frame rate (none for variable rate). Only a constant
/// sample duration whose rate GStreamer keeps as is (`n/d` with `d` in 1..=4, or `n000/1001`)
/// is predicted; the duration is `1 s * d / n` rounded down.
fn parser_frame_duration(t: &Track) -> Result<Duration, NotApplicable> {
    let mut deltas = t.stts.iter().filter(|e| e.0 > 0).map(|e| e.1);
    let delta = deltas.next().ok_or(NotApplicable::FrameRate)?;
    if delta == 0 || deltas.any(|d| d != delta) {
        return Err(NotApplicable::FrameRate);
    }
    let g = gcd(u64::from(t.timescale), u64::from(delta));
    let (n, d) = (u64::from(t.timescale) / g, u64::from(delta) / g);
    let plain = (1..=4).contains(&d);
    let ntsc = d == 1001 && n % 1000 == 0;
    if !(plain || ntsc) || n == 0 || n > 1000 * d {
        return Err(NotApplicable::FrameRate);
    }
    Ok(Duration::from_nanos(1_000_000_000 * d / n))
}

fn gcd(mut a: u64, mut b: u64) -> u64 {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a.max(1)
}

/// How many samples `stsc` + the chunk offsets describe (capped just above `limit`).
fn chunk_sample_count(t: &Track, limit: u64) -> u64 {
    let chunks = t.chunk_offsets.len() as u64;
    let mut total = 0u64;
    for (j, &(first, per)) in t.stsc.iter().enumerate() {
        let next = t
            .stsc
            .get(j + 1)
            .map_or(chunks + 1, |e| u64::from(e.0).min(chunks + 1));
        let first = u64::from(first);
        if first == 0 || next < first {
            return u64::MAX;
        }
        total = total.saturating_add((next - first).saturating_mul(u64::from(per)));
        if total > limit {
            return total;
        }
    }
    total
}

/// Every sample's bytes must lie inside the file, or qtdemux stops early (truncated file).
fn check_sample_data_in_file(t: &Track, len: u64) -> Result<(), NotApplicable> {
    for_each_sample(t, |sample, pos, size| {
        let truncated = NotApplicable::Truncated {
            sample: sample as u64,
        };
        match pos.checked_add(u64::from(size)) {
            Some(end) if end <= len => Ok(()),
            _ => Err(truncated),
        }
    })
}

/// Whether the header puts the first sample of the `video_index`-th video track past the end of
/// the file (`len` bytes): a file cut before its media data, or a corrupt chunk offset. `None`
/// when the header cannot tell.
pub(crate) fn first_sample_past_end<R: Read + Seek>(
    r: &mut R,
    len: u64,
    video_index: usize,
) -> Option<bool> {
    let (ms, me) = child(r, 0, len, b"moov")?;
    let tracks = video_tracks(r, ms, me);
    let t = read_track(r, tracks.get(video_index)?).ok()?;
    match check_sample_data_in_file(&t, len) {
        Err(NotApplicable::Truncated { sample: 0 }) => Some(true),
        Ok(()) | Err(NotApplicable::Truncated { .. }) => Some(false),
        Err(_) => None,
    }
}

/// The stream times (ns, in presentation order) of the frames FFmpeg shows of the
/// `video_index`-th video track: the samples whose presentation time lies inside the track's
/// media edit, among the samples whose bytes are in the file. `None` when the track has no edit
/// list, an edit list of another shape than one media edit (after at most one empty edit), or a
/// codec or table this reader does not read. qtdemux stops sending a track's samples near the
/// edit's end, so a frame shown before the end but decoded after a sample past it never comes
/// out of GStreamer; comparing these times with the demux pass finds such frames.
pub(crate) fn edit_shown_times<R: Read + Seek>(
    r: &mut R,
    len: u64,
    video_index: usize,
) -> Option<Vec<i64>> {
    let (ms, me) = child(r, 0, len, b"moov")?;
    let mvhd = payload(r, ms, me, b"mvhd").ok()?;
    let (movie_scale, movie_duration) = timescale_duration(&mvhd)?;
    let tracks = video_tracks(r, ms, me);
    let t = read_track(r, tracks.get(video_index)?).ok()?;
    if t.edits.as_ref().is_none_or(|e| e.is_empty()) {
        return None;
    }
    let n = usize::try_from(t.sizes.count()).ok()?;
    if n as u64 > MAX_FRAMES {
        return None;
    }
    // Samples cut off by a truncation are missing for another reason.
    let in_file = match check_sample_data_in_file(&t, len) {
        Ok(()) => n,
        Err(NotApplicable::Truncated { sample }) => usize::try_from(sample).ok()?,
        Err(_) => return None,
    };
    let mut offsets = Vec::with_capacity(n);
    match &t.ctts {
        Some(c) => {
            for &(count, off) in c {
                offsets.extend(std::iter::repeat_n(off, count as usize));
                if offsets.len() > n {
                    return None;
                }
            }
        }
        None => offsets.resize(n, 0),
    }
    let movie = Movie {
        timescale: movie_scale,
        duration: movie_duration,
    };
    // In media time without the composition shift: [media_time, media_time + duration).
    let seg = segment(&t, movie, 0).ok()?;
    let mut shown = Vec::new();
    let mut dts = 0u64;
    let mut i = 0usize;
    for &(count, delta) in &t.stts {
        for _ in 0..count {
            if i >= in_file {
                break;
            }
            let pts = i128::from(dts) + i128::from(*offsets.get(i)?);
            let pts = to_ns(u64::try_from(pts).ok()?, t.timescale)?;
            if pts >= seg.start && pts < seg.stop {
                shown.push(i64::try_from(pts - seg.start + seg.time).ok()?);
            }
            dts = dts.checked_add(u64::from(delta))?;
            i += 1;
        }
    }
    shown.sort_unstable();
    Some(shown)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures::{SRC, ffmpeg, find_box, fixture, put_u32, stbl_box};
    use std::fs::File;
    use std::path::{Path, PathBuf};

    /// Files whose header contradicts the bitstream in ways the header cannot show: the stss
    /// marks P frames 25, 49, ... as sync samples (the IDRs are 24, 48, ...) and the SPS timing
    /// (30 fps) disagrees with the sample durations (24 fps). h264parse follows the bitstream.
    const KNOWN_LIES: &[&str] = &["mediabunny/fucked-keyframes.mp4"];

    /// What the header gives for each H.264/HEVC video track of the corpus's MP4/MOV files:
    /// `None` = a table (equal to the scan's and to ffmpeg's), `Some(reason)` = why not. Derived
    /// from the files' properties (ffprobe, the corpus README): fragmented files, variable or
    /// rounded frame rates, Annex B data in `avc1` (sample sizes that do not add up), edit lists
    /// that start after the first GOP or cut a frame short are left to the scan.
    const CORPUS_EXPECTED: &[(&str, usize, Option<NotApplicable>)] = &[
        // `avc1` with start codes: the sample tables point past the end of the data.
        (
            "mediabunny/annex-b.mp4",
            0,
            Some(NotApplicable::Truncated { sample: 5 }),
        ),
        (
            "mediabunny/cursed-vfr.mp4",
            0,
            Some(NotApplicable::FrameRate),
        ),
        ("mediabunny/edit-list-discard.mp4", 0, None),
        ("mediabunny/edts.mp4", 0, None),
        (
            "mediabunny/frag-buck-bunny.mp4",
            0,
            Some(NotApplicable::Fragmented),
        ),
        // A table (its timestamps equal the scan's); the probe rejects it (see KNOWN_LIES).
        ("mediabunny/fucked-keyframes.mp4", 0, None),
        (
            "mediabunny/no-correct-videoframe-format.mov",
            0,
            Some(NotApplicable::EditList(
                "a frame shown before the edit's end is decoded after it",
            )),
        ),
        (
            "mediabunny/rotate-buck-bunny.mp4",
            0,
            Some(NotApplicable::Fragmented),
        ),
        ("mediabunny/sar_2x1.mp4", 0, None),
        ("mediabunny/video-h265.mp4", 0, None),
        ("mediabunny/video.mp4", 0, None),
        // Variable frame rate.
        ("moviepy/fire2.mp4", 0, Some(NotApplicable::FrameRate)),
        ("moviepy/test_video.mp4", 0, None),
        ("torchcodec/bt709_full_range.mp4", 0, None),
        ("torchcodec/h264_10bits.mp4", 0, None),
        ("torchcodec/h265_10bits.mp4", 0, None),
        (
            "torchcodec/h265_video.mp4",
            0,
            Some(NotApplicable::EditList("edit starts after the first GOP")),
        ),
        ("torchcodec/nasa_13013.mp4", 0, None),
        ("torchcodec/nasa_13013.mp4", 1, None),
        ("video_reader-rs/input.mp4", 0, None),
    ];

    fn header_table(path: &Path, video_index: usize) -> Result<FrameTable, NotApplicable> {
        let mut f = File::open(path).unwrap();
        let len = f.metadata().unwrap().len();
        try_frame_table(&mut f, len, &path.display().to_string(), video_index, true)
    }

    /// The table the library builds without the header: the demux pass.
    fn scan_table(path: &Path, video_index: usize) -> FrameTable {
        let input = crate::input::Input::File(path.to_owned());
        let scan = crate::demux::scan(
            &input,
            std::time::Duration::from_secs(20),
            crate::demux::Until::End,
        )
        .unwrap();
        scan.video[video_index]
            .table(&path.display().to_string())
            .unwrap()
    }

    fn describe(t: &FrameTable) -> String {
        let keys: Vec<u64> = t.iter().filter(|f| f.keyframe).map(|f| f.index).collect();
        format!(
            "{} frames, first {:?}, keys {:?}",
            t.len(),
            t.first().map(|f| f.pts),
            keys
        )
    }

    /// The two tables are equal, frame by frame and field by field (index, pts, duration,
    /// decode order, key flag).
    fn assert_same(path: &Path, header: &FrameTable, scan: &FrameTable) {
        assert_eq!(
            header.len(),
            scan.len(),
            "{}: frame counts differ\n header: {}\n   scan: {}",
            path.display(),
            describe(header),
            describe(scan)
        );
        for (a, b) in header.iter().zip(scan.iter()) {
            assert_eq!(
                (a.index, a.pts, a.duration, a.decode_order, a.keyframe),
                (b.index, b.pts, b.duration, b.decode_order, b.keyframe),
                "{}: frame {} differs (index, pts, duration, decode order, key)",
                path.display(),
                a.index
            );
        }
        assert!(header == scan, "{}: tables differ", path.display());
    }

    #[test]
    fn corpus_header_tables_equal_the_scan_and_ffmpeg() {
        let Some(corpus) = video_testkit::corpus_dir() else {
            return;
        };
        crate::pipeline::init("corpus").unwrap();
        let manifest: serde_json::Value =
            serde_json::from_reader(File::open(corpus.join("MANIFEST.json")).unwrap()).unwrap();
        let mut seen = Vec::new();
        for entry in manifest["files"].as_array().unwrap() {
            let name = entry["file"].as_str().unwrap();
            if !(name.ends_with(".mp4") || name.ends_with(".mov")) {
                continue;
            }
            let path = corpus.join(name);
            for (vi, stream) in entry["video_streams"]
                .as_array()
                .unwrap()
                .iter()
                .enumerate()
            {
                let header = header_table(&path, vi);
                seen.push((name.to_owned(), vi, header.as_ref().err().cloned()));
                let header = match header {
                    Ok(t) => t,
                    Err(why) => {
                        println!("{name} video {vi}: None ({why:?})");
                        continue;
                    }
                };
                let scan = scan_table(&path, vi);
                if KNOWN_LIES.contains(&name) {
                    // Timestamps and order still agree; the key flags and durations come from
                    // the bitstream in the scan and cannot be seen in the header (the probe
                    // notices the durations and takes the scan's table).
                    let order = |t: &FrameTable| -> Vec<(i64, u64)> {
                        t.iter()
                            .map(|f| (f.pts.as_nanos(), f.decode_order))
                            .collect()
                    };
                    assert_eq!(order(&header), order(&scan), "{name}");
                    println!(
                        "{name} video {vi}: Some, KNOWN MISMATCH with the scan\n header {}\n   scan {}",
                        describe(&header),
                        describe(&scan)
                    );
                    continue;
                }
                assert_same(&path, &header, &scan);
                // ffmpeg's frames, relative to the first one, within 1 µs.
                let want: Vec<f64> = stream["pts_s"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|v| v.as_f64().unwrap())
                    .collect();
                assert_eq!(header.len(), want.len() as u64, "{name} video {vi}");
                let t0 = header.first().unwrap().pts.as_seconds();
                for (f, w) in header.iter().zip(&want) {
                    let got = f.pts.as_seconds() - t0;
                    assert!(
                        (got - (w - want[0])).abs() < 1e-6,
                        "{name} video {vi} frame {}: {got} vs ffmpeg {}",
                        f.index,
                        w - want[0]
                    );
                }
                println!("{name} video {vi}: Some ({})", describe(&header));
            }
        }
        let want: Vec<(String, usize, Option<NotApplicable>)> = CORPUS_EXPECTED
            .iter()
            .map(|(n, i, why)| ((*n).to_owned(), *i, why.clone()))
            .collect();
        assert_eq!(seen, want, "corpus tracks: header table (None) or why not");
    }

    fn lcg(state: &mut u64) -> u64 {
        *state = state
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        *state >> 33
    }

    fn from_bytes(b: &[u8]) -> Result<FrameTable, NotApplicable> {
        try_frame_table(&mut std::io::Cursor::new(b), b.len() as u64, "mem", 0, true)
    }

    /// Every cut of `full` inside its `moov` box, and cuts through the rest: a table only from
    /// a file holding its whole `moov` and every sample's bytes, and then the whole file's.
    /// Returns the largest cut that gave none.
    fn check_truncation(name: &str, full: &[u8]) -> usize {
        let whole = from_bytes(full).unwrap();
        let (_, moov_end) = find_box(full, &[b"moov"]).unwrap();
        let (moov_start, _) = find_box(full, &[b"moov"]).unwrap();
        let mut cuts: Vec<usize> = (moov_start.saturating_sub(64)..moov_end + 64).collect();
        cuts.extend((0..full.len()).step_by(full.len() / 300 + 1));
        cuts.extend(full.len().saturating_sub(64)..full.len());
        let mut refused = 0;
        for cut in cuts.into_iter().filter(|&c| c <= full.len()) {
            match from_bytes(&full[..cut]) {
                Err(_) => refused = refused.max(cut),
                Ok(t) => {
                    assert!(cut >= moov_end, "{name}: cut at {cut} inside moov");
                    assert_eq!(t, whole, "{name}: cut at {cut}");
                }
            }
        }
        refused
    }

    #[test]
    fn truncated_generated_files_give_none() {
        for name in ["x264-faststart.mp4", "x264.mp4", "hevc.mp4"] {
            let full = std::fs::read(fixture(name)).unwrap();
            let refused = check_truncation(name, &full);
            // No audio: the last bytes of the file are video (moov at the end, or the last
            // sample), so every cut short of the whole file is noticed.
            assert_eq!(refused, full.len() - 1, "{name}");
        }
    }

    #[test]
    fn truncated_corpus_files_give_none() {
        let Some(corpus) = video_testkit::corpus_dir() else {
            return;
        };
        // moov first, then mdat (whose last bytes are audio).
        let full = std::fs::read(corpus.join("mediabunny/video.mp4")).unwrap();
        let (_, moov_end) = find_box(&full, &[b"moov"]).unwrap();
        let refused = check_truncation("video.mp4", &full);
        // Some cut inside the video data was noticed.
        assert!(refused > moov_end + 1000, "{refused}");
    }

    /// Words of the `moov` box overwritten with 0, all ones, the sign bit or random values:
    /// never a panic, and a table only with every frame's fields sane.
    fn corrupt_moov(name: &str, full: &[u8], rounds: usize, rng: &mut u64) {
        let (ms, me) = find_box(full, &[b"moov"]).unwrap();
        for round in 0..rounds {
            let mut b = full.to_vec();
            let edits = 1 + lcg(rng) % 4;
            for _ in 0..edits {
                let at = ms + (lcg(rng) as usize) % (me - ms - 4);
                let v: u32 = match round % 4 {
                    0 => 0,
                    1 => u32::MAX,
                    2 => 0x8000_0000,
                    _ => lcg(rng) as u32,
                };
                b[at..at + 4].copy_from_slice(&v.to_be_bytes());
            }
            if let Ok(t) = from_bytes(&b) {
                assert!(t.len() <= MAX_FRAMES, "{name} round {round}");
            }
        }
    }

    #[test]
    fn corrupted_generated_headers_never_panic() {
        let mut rng = 0x5eed_u64;
        for name in ["x264.mp4", "x264-faststart.mp4", "x264.mov", "hevc.mp4"] {
            let full = std::fs::read(fixture(name)).unwrap();
            corrupt_moov(name, &full, 3000, &mut rng);
        }
    }

    #[test]
    fn corrupted_corpus_headers_never_panic() {
        let Some(corpus) = video_testkit::corpus_dir() else {
            return;
        };
        let mut rng = 0x5eed_u64;
        for name in [
            "mediabunny/video.mp4",
            "mediabunny/edts.mp4",
            "torchcodec/h265_video.mp4",
        ] {
            let full = std::fs::read(corpus.join(name)).unwrap();
            corrupt_moov(name, &full, 3000, &mut rng);
        }
    }

    #[test]
    fn random_bytes_give_none() {
        let mut rng = 7u64;
        for n in [0usize, 1, 7, 8, 16, 100, 4096] {
            for _ in 0..50 {
                let b: Vec<u8> = (0..n).map(|_| lcg(&mut rng) as u8).collect();
                assert!(from_bytes(&b).is_err());
                let mut r = std::io::Cursor::new(&b);
                assert!(frame_table(&mut r, b.len() as u64, "mem", 0, true).is_none());
            }
        }
        // Boxes that claim huge counts in a tiny file.
        let mut b = Vec::new();
        b.extend_from_slice(&16u32.to_be_bytes());
        b.extend_from_slice(b"moov");
        b.extend_from_slice(&[0xff; 8]);
        assert!(from_bytes(&b).is_err());
    }

    /// A reader of `len` zero bytes that holds none of them: what a box larger than the
    /// limit is read from.
    struct Zeros {
        len: u64,
        pos: u64,
        read: u64,
    }

    impl Read for Zeros {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            let n = (buf.len() as u64).min(self.len.saturating_sub(self.pos)) as usize;
            buf[..n].fill(0);
            self.pos += n as u64;
            self.read += n as u64;
            Ok(n)
        }
    }

    impl Seek for Zeros {
        fn seek(&mut self, to: std::io::SeekFrom) -> std::io::Result<u64> {
            if let std::io::SeekFrom::Start(p) = to {
                self.pos = p;
            }
            Ok(self.pos)
        }
    }

    #[test]
    fn a_table_box_past_the_limit_is_not_read() {
        let mut r = Zeros {
            len: 1 << 40,
            pos: 0,
            read: 0,
        };
        let e = table_box(&mut r, b"stsz", 8, 8 + MAX_TABLE_BOX_BYTES + 1).unwrap_err();
        assert_eq!(
            e,
            NotApplicable::Limit {
                what: "stsz",
                limit: MAX_TABLE_BOX_BYTES,
                actual: MAX_TABLE_BOX_BYTES + 1
            }
        );
        assert_eq!(r.read, 0);
        assert_eq!(table_box(&mut r, b"stts", 8, 24).unwrap(), vec![0; 16]);
    }

    /// Hostile sample tables, patched into a generated file: each refused with its reason
    /// before anything is built from it.
    #[test]
    fn patched_sample_tables_are_refused_with_the_reason() {
        let orig = std::fs::read(fixture("x264-faststart.mp4")).unwrap();
        assert_eq!(from_bytes(&orig).unwrap().len(), 150);
        let patched = |f: &dyn Fn(&mut Vec<u8>)| {
            let mut b = orig.clone();
            f(&mut b);
            from_bytes(&b)
        };
        // Billions of samples, in a sample-size table of 150 entries.
        let (zs, _) = stbl_box(&orig, b"stsz");
        assert_eq!(
            patched(&|b| put_u32(b, zs + 8, u32::MAX)),
            Err(NotApplicable::Limit {
                what: "samples",
                limit: MAX_FRAMES,
                actual: u64::from(u32::MAX)
            })
        );
        // More samples than the limit, all of one constant size (no per-sample table).
        assert_eq!(
            patched(&|b| {
                put_u32(b, zs + 4, 100);
                put_u32(b, zs + 8, (MAX_FRAMES + 1) as u32);
            }),
            Err(NotApplicable::Limit {
                what: "samples",
                limit: MAX_FRAMES,
                actual: MAX_FRAMES + 1
            })
        );
        // A sample-to-chunk table pointing at chunk 0 (chunks are numbered from 1).
        let (sc, _) = stbl_box(&orig, b"stsc");
        assert_eq!(patched(&|b| put_u32(b, sc + 8, 0)), Err(Malformed("stsc")));
        // An empty sample description.
        let (sd, _) = stbl_box(&orig, b"stsd");
        assert_eq!(patched(&|b| put_u32(b, sd + 4, 0)), Err(Malformed("stsd")));
        // A chunk offset past the end of the file.
        let (co, _) = stbl_box(&orig, b"stco");
        assert_eq!(
            patched(&|b| put_u32(b, co + 8, u32::MAX - 10)),
            Err(NotApplicable::Truncated { sample: 0 })
        );
        // A time-to-sample table claiming more entries than its box holds.
        let (ts, _) = stbl_box(&orig, b"stts");
        assert_eq!(
            patched(&|b| put_u32(b, ts + 4, 0x4000_0000)),
            Err(Malformed("stts"))
        );
        // A sync sample numbered 0, or past the last sample.
        let (ss, _) = stbl_box(&orig, b"stss");
        assert_eq!(patched(&|b| put_u32(b, ss + 8, 0)), Err(Malformed("stss")));
        assert_eq!(
            patched(&|b| put_u32(b, ss + 8, 151)),
            Err(Malformed("stss"))
        );
        // A sample table box reaching past its parent.
        assert_eq!(
            patched(&|b| put_u32(b, ts - 8, 0x7fff_ffff)),
            Err(Malformed("stts"))
        );
        // The moov box reaching past the end of the file.
        let (ms, _) = find_box(&orig, &[b"moov"]).unwrap();
        assert_eq!(
            patched(&|b| put_u32(b, ms - 8, u32::MAX)),
            Err(NotApplicable::NoMoov)
        );
    }

    /// A sync sample that is not a random access point (here a P frame, as in a wrong `stss`)
    /// is no key frame: the header path reads its NAL units, as the demux pass does.
    #[test]
    fn sync_samples_that_are_not_random_access_points_are_not_key_frames() {
        let orig = std::fs::read(fixture("x264-faststart.mp4")).unwrap();
        let keys = |t: &FrameTable| -> Vec<u64> {
            t.iter()
                .filter(|f| f.keyframe)
                .map(|f| f.decode_order)
                .collect()
        };
        let (ss, _) = stbl_box(&orig, b"stss");
        let count = u32::from_be_bytes(orig[ss + 4..ss + 8].try_into().unwrap());
        let stss: Vec<u64> = (0..count as usize)
            .map(|k| {
                u64::from(u32::from_be_bytes(
                    orig[ss + 8 + 4 * k..ss + 12 + 4 * k].try_into().unwrap(),
                )) - 1
            })
            .collect();
        let want = keys(&from_bytes(&orig).unwrap());
        assert_eq!(want, stss, "x264's IDRs are its sync samples");
        assert!(stss.len() >= 3, "{stss:?}");
        // The second sync sample moved to the sample after it (a P frame): neither is a key
        // frame now.
        let mut b = orig.clone();
        put_u32(&mut b, ss + 12, stss[1] as u32 + 2);
        let mut expected = want.clone();
        expected.remove(1);
        assert_eq!(keys(&from_bytes(&b).unwrap()), expected);
        // Without reading sample data (a byte source), the stss is taken as it is.
        let trusted = try_frame_table(&mut std::io::Cursor::new(&b), b.len() as u64, "m", 0, false);
        let mut moved = want.clone();
        moved[1] += 1;
        assert_eq!(keys(&trusted.unwrap()), moved);
        // The tracks of the fixtures have their NAL unit length size read.
        for (name, codec) in [
            ("x264-faststart.mp4", Codec::H264),
            ("hevc.mp4", Codec::H265),
        ] {
            let data = std::fs::read(fixture(name)).unwrap();
            let mut r = std::io::Cursor::new(&data);
            let (ms, me) = child(&mut r, 0, data.len() as u64, b"moov").unwrap();
            let tracks = video_tracks(&mut r, ms, me);
            let t = read_track(&mut r, &tracks[0]).unwrap();
            assert_eq!(t.nal, Some((codec, 4)), "{name}");
        }
    }

    /// The same hostile tables through the public API: the probe (which falls back to the
    /// demuxer's pass when the header is refused) ends with an error naming the file and what
    /// was wrong, never a panic, a hang or a table.
    #[test]
    fn probing_patched_sample_tables_is_a_typed_error() {
        use video_core::{Demuxer as _, Error};
        crate::pipeline::init("patched").unwrap();
        let orig = std::fs::read(fixture("x264-faststart.mp4")).unwrap();
        let (sc, _) = stbl_box(&orig, b"stsc");
        let (sd, _) = stbl_box(&orig, b"stsd");
        let (co, _) = stbl_box(&orig, b"stco");
        let (ms, _) = find_box(&orig, &[b"moov"]).unwrap();
        // qtdemux says "corrupt" / "incomplete"; under load its error sometimes stays inside
        // parsebin and the probe reports that no stream data came out: both are `NotAVideo`.
        let cases = [
            ("chunk0.mp4", sc + 8, 0, true),
            ("empty-stsd.mp4", sd + 4, 0, true),
            ("moov-past-end.mp4", ms - 8, u32::MAX, true),
            // Every sample past the end of the file: the demuxer delivers none and GStreamer gives
            // no reason; the header does.
            ("stco-past-end.mp4", co + 8, u32::MAX - 10, true),
        ];
        for (name, at, value, not_a_video) in cases {
            let mut b = orig.clone();
            put_u32(&mut b, at, value);
            let path = crate::fixtures::write(name, &b);
            let mut d = crate::GstDemuxer::open(&path).unwrap();
            let e = futures::executor::block_on(d.probe()).unwrap_err();
            assert!(
                e.to_string().contains(&path.display().to_string()),
                "{name}: {e}"
            );
            assert_eq!(
                matches!(e, Error::NotAVideo { .. }),
                not_a_video,
                "{name}: {e:?}"
            );
            std::fs::remove_file(&path).unwrap();
        }
    }

    #[test]
    fn generated_files_equal_the_scan() {
        crate::pipeline::init("generated").unwrap();
        let dir = std::env::temp_dir().join(format!("mp4index-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let make = |name: &str, args: &[&str]| -> PathBuf {
            let out = dir.join(name);
            ffmpeg(args, &out);
            out
        };
        let base = fixture("x264.mp4");
        let b = base.to_str().unwrap();
        let x264 = ["-c:v", "libx264", "-bf", "2", "-pix_fmt", "yuv420p"];
        let made = [
            (base.clone(), None),
            (fixture("x264.mov"), None),
            (fixture("x264-faststart.mp4"), None),
            (fixture("hevc.mp4"), None),
            (
                make(
                    "ntsc.mp4",
                    &[
                        &[
                            "-f",
                            "lavfi",
                            "-i",
                            "testsrc2=size=160x120:rate=30000/1001:duration=4",
                        ][..],
                        &x264,
                    ]
                    .concat(),
                ),
                None,
            ),
            (
                make(
                    "neg_cts.mp4",
                    &[
                        &["-f", "lavfi", "-i", SRC][..],
                        &x264,
                        &["-movflags", "+negative_cts_offsets"],
                    ]
                    .concat(),
                ),
                None,
            ),
            (
                make("cut_t.mp4", &["-i", b, "-t", "3.3", "-c", "copy"]),
                None,
            ),
            (
                make(
                    "no_edts.mp4",
                    &["-i", b, "-c", "copy", "-use_editlist", "0"],
                ),
                None,
            ),
            (
                make("cut_ss0.mp4", &["-ss", "0.5", "-i", b, "-c", "copy"]),
                Some(NotApplicable::EditList(
                    "the edit trims the start of the track",
                )),
            ),
            (
                make(
                    "cut_ss1.mp4",
                    &["-ss", "1.2", "-i", b, "-t", "2", "-c", "copy"],
                ),
                Some(NotApplicable::EditList(
                    "the edit trims the start of the track",
                )),
            ),
            (
                make(
                    "cut_mov.mov",
                    &[
                        "-ss", "0.3", "-i", b, "-t", "2.5", "-c", "copy", "-f", "mov",
                    ],
                ),
                Some(NotApplicable::EditList(
                    "the edit trims the start of the track",
                )),
            ),
            (
                make(
                    "vfr.mp4",
                    &[
                        &[
                            "-f",
                            "lavfi",
                            "-i",
                            SRC,
                            "-vf",
                            "setpts='if(lt(N,50),N,N*2)/25/TB'",
                            "-fps_mode",
                            "passthrough",
                        ][..],
                        &x264,
                    ]
                    .concat(),
                ),
                Some(NotApplicable::FrameRate),
            ),
            (
                make("mpeg4.mp4", &["-f", "lavfi", "-i", SRC, "-c:v", "mpeg4"]),
                Some(NotApplicable::Codec("mp4v".into())),
            ),
            (
                make(
                    "frag.mp4",
                    &[
                        &["-f", "lavfi", "-i", SRC][..],
                        &x264,
                        &["-movflags", "+frag_keyframe+empty_moov"],
                    ]
                    .concat(),
                ),
                Some(NotApplicable::Fragmented),
            ),
        ];
        for (path, refused) in &made {
            match (header_table(path, 0), refused) {
                (Ok(header), None) => {
                    let scan = scan_table(path, 0);
                    assert_same(path, &header, &scan);
                    println!("{}: Some ({})", path.display(), describe(&header));
                }
                (Err(why), Some(want)) => assert_eq!(&why, want, "{}", path.display()),
                (got, want) => panic!(
                    "{}: header table {:?}, expected {}",
                    path.display(),
                    got.map(|t| describe(&t)),
                    match want {
                        None => "a table".to_owned(),
                        Some(w) => format!("{w:?}"),
                    }
                ),
            }
        }
        let _ = std::fs::remove_dir_all(&dir);
    }
}
