//! Container headers read directly: the frame count they state (MP4/MOV `stsz`, AVI `strh`),
//! which no GStreamer element exposes, and the MP4 facts the probe needs (track counts, sample
//! bytes, the frame table of [`mp4index`](crate::mp4index)).

use std::io::{Read, Seek, SeekFrom};

use video_core::{Error, FrameTable, Result};

use crate::input::{Input, ReadSeek};
use crate::limits::{MAX_CHILD_BOXES, MAX_DIMENSION, MAX_FRAMES, MAX_MOOV_BYTES, MAX_PIXELS};
use crate::mp4box::{Mp4Box, child, children, read_at, read_payload, tracks, video_tracks};

/// An input's header, read once per probe: MP4's `moov` box is loaded into memory the first time
/// it is needed, so the several questions the probe asks of it do not read it again (from a
/// store, once per question).
pub(crate) struct Header<'a> {
    len: u64,
    reader: MoovCache<Box<dyn ReadSeek + 'a>>,
    source_error: crate::input::SourceErrorSlot,
    /// A local file: reading the start of each sync sample is cheap (see
    /// [`mp4index`](crate::mp4index)).
    local: bool,
}

impl<'a> Header<'a> {
    /// The header of `input`, or `None` when its size or bytes cannot be read.
    pub(crate) fn open(input: &'a Input) -> Option<Self> {
        let source_error = crate::input::SourceErrorSlot::default();
        Some(Header {
            len: input.len()?,
            reader: MoovCache::new(input.watched_reader(&source_error)?),
            source_error,
            local: matches!(input, Input::File(_)),
        })
    }

    /// The first error the input's [`ByteSource`](video_core::ByteSource) returned while the
    /// header was read (the readers answer "unknown" then), taken out.
    pub(crate) fn take_source_error(&self) -> Option<video_core::Error> {
        self.source_error.lock().ok()?.take()
    }

    /// The header frame count of the `video_index`-th video track, if the container states one.
    pub(crate) fn frame_count(&mut self, container: &str, video_index: usize) -> Option<u64> {
        let len = self.len;
        match container {
            "mp4" | "mov" => stated_frame_count(self.mp4()?, len, container, video_index),
            _ => stated_frame_count(&mut self.reader, len, container, video_index),
        }
    }

    /// Check the sizes the header declares (the video streams' dimensions and frame counts)
    /// against the [`limits`](crate::limits), before anything allocates from them: an MP4/MOV
    /// `moov` or an AVI `hdrl` declaring more is [`Error::LimitExceeded`]. Other containers,
    /// and headers that cannot be read, pass (the demuxer then reports what is wrong).
    pub(crate) fn check_limits(&mut self, uri: &str) -> Result<()> {
        let len = self.len;
        match sniff_reader(&mut self.reader) {
            Some("mp4" | "mov") => match self.mp4() {
                Some(r) => check_mp4(r, len, uri),
                None => Ok(()),
            },
            Some("avi") => check_avi(&mut self.reader, len, uri),
            _ => Ok(()),
        }
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
        let table = read_payload(f, zs + 12, ze, MAX_MOOV_BYTES)?;
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
        let local = self.local;
        crate::mp4index::frame_table(self.mp4()?, len, uri, video_index, local)
    }

    /// The stream times of the frames FFmpeg shows of the `video_index`-th video track, when
    /// it has an edit list (see [`mp4index::edit_shown_times`](crate::mp4index::edit_shown_times)).
    pub(crate) fn mp4_edit_shown_times(&mut self, video_index: usize) -> Option<Vec<i64>> {
        let len = self.len;
        crate::mp4index::edit_shown_times(self.mp4()?, len, video_index)
    }

    /// Whether the `video_index`-th video track's first sample lies past the end of the file
    /// (see [`mp4index::first_sample_past_end`](crate::mp4index::first_sample_past_end)).
    pub(crate) fn mp4_first_sample_past_end(&mut self, video_index: usize) -> Option<bool> {
        let len = self.len;
        crate::mp4index::first_sample_past_end(self.mp4()?, len, video_index)
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

    /// Find the top-level `moov` box and keep its payload (once; at most [`MAX_MOOV_BYTES`]).
    fn load_moov(&mut self, len: u64) {
        if self.base.is_some() {
            return;
        }
        let payload = child(&mut self.inner, 0, len, b"moov").and_then(|(ms, me)| {
            Some((ms, read_payload(&mut self.inner, ms, me, MAX_MOOV_BYTES)?))
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
    sniff_reader(&mut input.reader()?).map(str::to_owned)
}

/// [`sniff_container`] on a reader (read from its start).
fn sniff_reader<R: Read + Seek>(f: &mut R) -> Option<&'static str> {
    f.seek(SeekFrom::Start(0)).ok()?;
    let mut head = [0u8; 512];
    let mut n = 0;
    // A reader may return fewer bytes than asked before the end: fill what the file has.
    while n < head.len() {
        match f.read(&mut head[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(_) => return None,
        }
    }
    sniff_bytes(&head[..n])
}

/// The container's short name from its first bytes (up to 512).
pub(crate) fn sniff_bytes(head: &[u8]) -> Option<&'static str> {
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
    Some(name)
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

/// The frame count the container header states for its `video_index`-th video track (MP4/MOV:
/// the `stsz`/`stz2` sample count; AVI: the stream header's `dwLength`), if it states one. Zero
/// is "not stated" (fragmented MP4 declares no samples in its header; streaming AVI writers
/// leave the length 0).
pub(crate) fn stated_frame_count<R: Read + Seek>(
    f: &mut R,
    len: u64,
    container: &str,
    video_index: usize,
) -> Option<u64> {
    let n = match container {
        "mp4" | "mov" => {
            let (_, zs, _) = sample_sizes(f, len, video_index)?;
            // stsz / stz2: version/flags(4) sample_size or reserved+field_size(4) sample_count(4)
            u64::from(u32::from_be_bytes(read_at::<4>(f, zs + 8)?))
        }
        "avi" => u64::from(
            avi_streams(f, len)?
                .into_iter()
                .filter(|s| &s.kind == b"vids")
                .nth(video_index)?
                .length,
        ),
        _ => return None,
    };
    (n > 0).then_some(n)
}

/// One declared size against its limit.
fn within(uri: &str, what: impl FnOnce() -> String, limit: u64, actual: u64) -> Result<()> {
    if actual <= limit {
        return Ok(());
    }
    Err(Error::LimitExceeded {
        what: format!("{uri}: {}", what()),
        limit,
        actual,
    })
}

/// A stream's declared picture size against [`MAX_DIMENSION`] and [`MAX_PIXELS`].
fn check_size(uri: &str, stream: &str, source: &str, width: u64, height: u64) -> Result<()> {
    let dim = u64::from(MAX_DIMENSION);
    within(
        uri,
        || format!("{stream} width declared in {source}"),
        dim,
        width,
    )?;
    within(
        uri,
        || format!("{stream} height declared in {source}"),
        dim,
        height,
    )?;
    within(
        uri,
        || format!("{stream} pixels (width × height) declared in {source}"),
        MAX_PIXELS,
        width * height,
    )
}

/// The sizes an MP4/MOV header declares for each video track, against the limits: the display
/// size (`tkhd`), the coded size of the first sample description (`stsd`) and the number of
/// samples (`stsz`/`stz2`).
fn check_mp4<R: Read + Seek>(f: &mut R, len: u64, uri: &str) -> Result<()> {
    let Some((ms, me)) = child(f, 0, len, b"moov") else {
        return Ok(());
    };
    for (i, (trak, (ds, de))) in video_tracks(f, ms, me).into_iter().enumerate() {
        let stream = format!("video track {i}");
        if let Some((ts, _)) = child(f, trak.1, trak.2, b"tkhd") {
            // tkhd: width and height are 16.16 fixed point, after the matrix.
            let at = match read_at::<1>(f, ts) {
                Some([0]) => Some(ts + 76),
                Some([1]) => Some(ts + 88),
                _ => None,
            };
            if let Some(wh) = at.and_then(|at| read_at::<8>(f, at)) {
                let w = u64::from(u16::from_be_bytes([wh[0], wh[1]]));
                let h = u64::from(u16::from_be_bytes([wh[4], wh[5]]));
                check_size(uri, &stream, "the track header (tkhd)", w, h)?;
            }
        }
        let Some((is, ie)) = child(f, ds, de, b"minf") else {
            continue;
        };
        let Some((ss, se)) = child(f, is, ie, b"stbl") else {
            continue;
        };
        if let Some((sd, sde)) = child(f, ss, se, b"stsd") {
            // stsd: version/flags(4) entry_count(4), then the first VisualSampleEntry:
            // size(4) format(4) reserved(6) data_reference_index(2) pre_defined/reserved(16)
            // width(2) height(2).
            if sde.saturating_sub(sd) >= 8 + 36
                && let Some(wh) = read_at::<4>(f, sd + 8 + 32)
            {
                let w = u64::from(u16::from_be_bytes([wh[0], wh[1]]));
                let h = u64::from(u16::from_be_bytes([wh[2], wh[3]]));
                check_size(uri, &stream, "the sample description (stsd)", w, h)?;
            }
        }
        // The sample-size box, found here rather than by `stated_frame_count`, which walks
        // every track again (quadratic in the number of tracks).
        let sizes = children(f, ss, se)
            .into_iter()
            .find(|b| &b.0 == b"stsz" || &b.0 == b"stz2");
        if let Some(c) = sizes.and_then(|(_, zs, _)| read_at::<4>(f, zs + 8)) {
            within(
                uri,
                || format!("{stream} samples declared in the sample-size table (stsz)"),
                MAX_FRAMES,
                u64::from(u32::from_be_bytes(c)),
            )?;
        }
    }
    Ok(())
}

/// The sizes an AVI header declares for each video stream, against the limits: the number of
/// frames (`strh` `dwLength`) and the picture size (`strf` BITMAPINFOHEADER).
fn check_avi<R: Read + Seek>(f: &mut R, len: u64, uri: &str) -> Result<()> {
    let Some(streams) = avi_streams(f, len) else {
        return Ok(());
    };
    for (i, s) in streams.iter().filter(|s| &s.kind == b"vids").enumerate() {
        let stream = format!("video stream {i}");
        within(
            uri,
            || format!("{stream} frames declared in the stream header (strh)"),
            MAX_FRAMES,
            u64::from(s.length),
        )?;
        if let Some((w, h)) = s.size {
            // biHeight is negative for top-down pictures.
            check_size(
                uri,
                &stream,
                "the stream format (strf)",
                u64::from(w.unsigned_abs()),
                u64::from(h.unsigned_abs()),
            )?;
        }
    }
    Ok(())
}

/// One AVI stream (`LIST strl`): what its `strh` and `strf` declare.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
struct AviStream {
    /// `fccType`: `vids`, `auds`, …
    kind: [u8; 4],
    /// `dwLength`: the stream's length in its own units (frames, for video).
    length: u32,
    /// `biWidth`, `biHeight` of a video stream's BITMAPINFOHEADER.
    size: Option<(i32, i32)>,
}

/// The streams an AVI file's `hdrl` declares, in file order; `None` when it is not a RIFF AVI.
/// Walks at most [`MAX_CHILD_BOXES`] chunks in all, and never reads past `len`.
fn avi_streams<R: Read + Seek>(f: &mut R, len: u64) -> Option<Vec<AviStream>> {
    let riff = read_at::<12>(f, 0)?;
    if &riff[0..4] != b"RIFF" || &riff[8..12] != b"AVI " {
        return None;
    }
    // RIFF chunks: LIST hdrl { avih, LIST strl { strh, strf, ... } ... }, then LIST movi.
    let mut streams: Vec<AviStream> = Vec::new();
    let mut pos = 12u64;
    let mut stack = vec![len];
    let mut steps = 0;
    while let Some(&lim) = stack.last() {
        steps += 1;
        if steps > MAX_CHILD_BOXES {
            break;
        }
        if pos.saturating_add(8) > lim {
            stack.pop();
            pos = lim;
            continue;
        }
        let Some(h) = read_at::<8>(f, pos) else { break };
        let id = [h[0], h[1], h[2], h[3]];
        let size = u64::from(u32::from_le_bytes([h[4], h[5], h[6], h[7]]));
        let body = pos + 8;
        // The chunk, padded to an even size; never past its parent.
        let next = body.saturating_add(size + (size & 1)).min(lim);
        let body_end = body.saturating_add(size).min(lim);
        if &id == b"LIST" {
            let Some(list) = read_at::<4>(f, body).filter(|_| body + 4 <= body_end) else {
                break;
            };
            match &list {
                b"hdrl" | b"strl" => {
                    if &list == b"strl" {
                        streams.push(AviStream::default());
                    }
                    stack.push(next);
                    pos = body + 4;
                    continue;
                }
                b"movi" => break,
                _ => {}
            }
        } else if stack.len() > 1 {
            let in_strl = !streams.is_empty();
            if &id == b"strh" && in_strl && body_end - body >= 36 {
                let strh = read_at::<36>(f, body)?;
                if let Some(s) = streams.last_mut() {
                    s.kind = [strh[0], strh[1], strh[2], strh[3]];
                    s.length = u32::from_le_bytes([strh[32], strh[33], strh[34], strh[35]]);
                }
            } else if &id == b"strf" && in_strl && body_end - body >= 12 {
                let strf = read_at::<12>(f, body)?;
                if let Some(s) = streams.last_mut().filter(|s| &s.kind == b"vids") {
                    s.size = Some((
                        i32::from_le_bytes([strf[4], strf[5], strf[6], strf[7]]),
                        i32::from_le_bytes([strf[8], strf[9], strf[10], strf[11]]),
                    ));
                }
            }
        }
        pos = next;
    }
    Some(streams)
}

#[cfg(test)]
mod fuzz;

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use crate::fixtures::{avi_chunk, ffprobe_stream, fixture, put_u16, put_u32, stbl_box, write};
    use std::io::Cursor;

    fn stated(bytes: &[u8], container: &str) -> Option<u64> {
        stated_frame_count(&mut Cursor::new(bytes), bytes.len() as u64, container, 0)
    }

    fn limits(bytes: &[u8]) -> Result<()> {
        let len = bytes.len() as u64;
        match sniff_bytes(&bytes[..bytes.len().min(512)]) {
            Some("mp4" | "mov") => check_mp4(&mut Cursor::new(bytes), len, "mem.mp4"),
            Some("avi") => check_avi(&mut Cursor::new(bytes), len, "mem.avi"),
            _ => Ok(()),
        }
    }

    /// The frame count the header states is the one ffprobe reports as `nb_frames` (read from
    /// the same header by FFmpeg), and for these generated files also the number of packets
    /// ffprobe counts by reading every one.
    #[test]
    fn stated_frame_counts_equal_ffprobe() {
        for (name, container) in [
            ("x264.mp4", "mp4"),
            ("x264-faststart.mp4", "mp4"),
            ("x264.mov", "mov"),
            ("hevc.mp4", "mp4"),
            ("x264.avi", "avi"),
            ("mpeg4.avi", "avi"),
        ] {
            let path = fixture(name);
            let bytes = std::fs::read(&path).unwrap();
            assert_eq!(
                sniff_bytes(&bytes[..512]),
                Some(container),
                "{name}: container"
            );
            let nb_frames: u64 = ffprobe_stream(&path, "nb_frames", false).parse().unwrap();
            let packets: u64 = ffprobe_stream(&path, "nb_read_packets", true)
                .parse()
                .unwrap();
            assert_eq!(stated(&bytes, container), Some(nb_frames), "{name}");
            assert_eq!(nb_frames, packets, "{name}: ffprobe's own counts");
            // The same through `Header`, as the probe asks it.
            let input = Input::File(path.clone());
            let mut h = Header::open(&input).unwrap();
            assert_eq!(h.frame_count(container, 0), Some(nb_frames), "{name}");
            assert_eq!(
                h.frame_count(container, 1),
                None,
                "{name}: one video stream"
            );
            h.check_limits(&input.uri()).unwrap();
            if container != "avi" {
                assert_eq!(h.mp4_track_counts(), Some((1, 0)), "{name}");
            }
        }
    }

    #[test]
    fn sniffing_reads_the_first_bytes_only() {
        assert_eq!(sniff_bytes(b""), None);
        assert_eq!(sniff_bytes(b"RIFF\0\0\0\0AVI "), Some("avi"));
        assert_eq!(sniff_bytes(b"RIFF\0\0\0\0WAVE"), None);
        assert_eq!(sniff_bytes(b"\0\0\0\x14ftypqt  "), Some("mov"));
        assert_eq!(sniff_bytes(b"\0\0\0\x14ftypisom"), Some("mp4"));
        assert_eq!(sniff_bytes(b"\0\0\0\x08mdat"), Some("mov"));
        assert_eq!(
            sniff_bytes(&[0x1A, 0x45, 0xDF, 0xA3, 0x42]),
            Some("matroska")
        );
        assert_eq!(sniff_bytes(b"not a video at all"), None);
    }

    /// Every prefix of a real header, and bytes that are no container at all: no panic, no
    /// count that is not the file's, no limit error on sizes that are not there.
    #[test]
    fn cut_and_malformed_headers_state_nothing_wrong() {
        for (name, container) in [("x264-faststart.mp4", "mp4"), ("mpeg4.avi", "avi")] {
            let bytes = std::fs::read(fixture(name)).unwrap();
            let whole = stated(&bytes, container).unwrap();
            for cut in (0..bytes.len().min(12_000)).chain((0..bytes.len()).step_by(997)) {
                let got = stated(&bytes[..cut], container);
                assert!(
                    got.is_none() || got == Some(whole),
                    "{name} cut at {cut}: {got:?}"
                );
                limits(&bytes[..cut]).unwrap();
            }
        }
        // A RIFF AVI whose lists claim more than the file holds, or nothing at all.
        let mut avi =
            b"RIFF\xff\xff\xff\xffAVI LIST\xff\xff\xff\xffhdrlLIST\x08\0\0\0strlstrh".to_vec();
        assert_eq!(stated(&avi, "avi"), None);
        avi.extend_from_slice(&[0xff; 60]);
        assert_eq!(stated(&avi, "avi"), None);
        limits(&avi).unwrap();
        assert_eq!(stated(b"RIFF", "avi"), None);
        assert_eq!(stated(b"\0\0\0\x08moov", "mp4"), None);
        assert_eq!(
            stated(b"\0\0\0\x01moov\xff\xff\xff\xff\xff\xff\xff\xff", "mp4"),
            None
        );
        assert_eq!(stated(b"anything", "matroska"), None);
    }

    fn limit_of(e: Error) -> (String, u64, u64) {
        match e {
            Error::LimitExceeded {
                what,
                limit,
                actual,
            } => (what, limit, actual),
            other => panic!("expected LimitExceeded, got {other:?}"),
        }
    }

    /// Dimensions and frame counts an MP4 declares beyond the limits, patched into a generated
    /// file: `LimitExceeded` naming the file and the box, before anything is allocated.
    #[test]
    fn mp4_declared_sizes_past_the_limits_are_refused() {
        let orig = std::fs::read(fixture("x264-faststart.mp4")).unwrap();
        limits(&orig).unwrap();
        let (sd, _) = stbl_box(&orig, b"stsd");
        // The first VisualSampleEntry's width and height.
        let (w_at, h_at) = (sd + 8 + 32, sd + 8 + 34);
        assert_eq!(
            (
                u16::from_be_bytes([orig[w_at], orig[w_at + 1]]),
                u16::from_be_bytes([orig[h_at], orig[h_at + 1]])
            ),
            (160, 120)
        );
        let dim = u64::from(MAX_DIMENSION);
        for (w, h, want) in [
            (
                65535u16,
                65535u16,
                Some(("width declared in the sample description", dim, 65535)),
            ),
            (
                160,
                65535,
                Some(("height declared in the sample description", dim, 65535)),
            ),
            (
                16385,
                120,
                Some(("width declared in the sample description", dim, 16385)),
            ),
            (16384, 16384, Some(("pixels", MAX_PIXELS, 1 << 28))),
            // At the limits exactly: accepted.
            (16384, 4096, None),
            (4096, 16384, None),
        ] {
            let mut b = orig.clone();
            put_u16(&mut b, w_at, w);
            put_u16(&mut b, h_at, h);
            match (limits(&b), want) {
                (Ok(()), None) => {}
                (Err(e), Some((what, limit, actual))) => {
                    let text = e.to_string();
                    let (w_what, w_limit, w_actual) = limit_of(e);
                    assert!(w_what.contains(what), "{w_what}");
                    assert!(w_what.starts_with("mem.mp4: video track 0"), "{w_what}");
                    assert_eq!((w_limit, w_actual), (limit, actual), "{text}");
                }
                (got, want) => panic!("{w}x{h}: {got:?}, expected {want:?}"),
            }
        }
        // The track header's display size (16.16 fixed point).
        let (tk, _) = crate::fixtures::find_box(&orig, &[b"moov", b"trak", b"tkhd"]).unwrap();
        assert_eq!(orig[tk], 0, "tkhd version 0");
        let mut b = orig.clone();
        put_u32(&mut b, tk + 76, 0xFFFF_0000);
        let (what, limit, actual) = limit_of(limits(&b).unwrap_err());
        assert!(
            what.contains("width declared in the track header (tkhd)"),
            "{what}"
        );
        assert_eq!((limit, actual), (dim, 65535));
        // Billions of samples in the sample-size table.
        let (zs, _) = stbl_box(&orig, b"stsz");
        assert_eq!(stated(&orig, "mp4"), Some(150));
        let mut b = orig.clone();
        put_u32(&mut b, zs + 8, u32::MAX);
        let (what, limit, actual) = limit_of(limits(&b).unwrap_err());
        assert!(
            what.contains("samples declared in the sample-size table"),
            "{what}"
        );
        assert_eq!((limit, actual), (MAX_FRAMES, u64::from(u32::MAX)));
        // One above the limit, one at it.
        put_u32(&mut b, zs + 8, (MAX_FRAMES + 1) as u32);
        assert!(limits(&b).is_err());
        put_u32(&mut b, zs + 8, MAX_FRAMES as u32);
        limits(&b).unwrap();
    }

    /// The same for AVI: the stream format's picture size and the stream header's length.
    #[test]
    fn avi_declared_sizes_past_the_limits_are_refused() {
        let orig = std::fs::read(fixture("mpeg4.avi")).unwrap();
        limits(&orig).unwrap();
        let strh = avi_chunk(&orig, b"strh");
        let strf = avi_chunk(&orig, b"strf");
        assert_eq!(&orig[strh..strh + 4], b"vids");
        let le = |at: usize| i32::from_le_bytes(orig[at..at + 4].try_into().unwrap());
        assert_eq!((le(strf + 4), le(strf + 8)), (160, 120));
        let dim = u64::from(MAX_DIMENSION);
        for (w, h, want) in [
            (
                65535i32,
                65535i32,
                Some(("width declared in the stream format", dim, 65535)),
            ),
            (
                160,
                -65535,
                Some(("height declared in the stream format", dim, 65535)),
            ),
            (
                i32::MIN,
                120,
                Some(("width declared in the stream format", dim, 1 << 31)),
            ),
            (16384, 16384, Some(("pixels", MAX_PIXELS, 1 << 28))),
            (160, -120, None),
            (16384, 4096, None),
        ] {
            let mut b = orig.clone();
            b[strf + 4..strf + 8].copy_from_slice(&w.to_le_bytes());
            b[strf + 8..strf + 12].copy_from_slice(&h.to_le_bytes());
            match (limits(&b), want) {
                (Ok(()), None) => {}
                (Err(e), Some((what, limit, actual))) => {
                    let (w_what, w_limit, w_actual) = limit_of(e);
                    assert!(w_what.contains(what), "{w_what}");
                    assert!(w_what.starts_with("mem.avi: video stream 0"), "{w_what}");
                    assert_eq!((w_limit, w_actual), (limit, actual), "{w_what}");
                }
                (got, want) => panic!("{w}x{h}: {got:?}, expected {want:?}"),
            }
        }
        let mut b = orig.clone();
        b[strh + 32..strh + 36].copy_from_slice(&u32::MAX.to_le_bytes());
        let (what, limit, actual) = limit_of(limits(&b).unwrap_err());
        assert!(
            what.contains("frames declared in the stream header (strh)"),
            "{what}"
        );
        assert_eq!((limit, actual), (MAX_FRAMES, u64::from(u32::MAX)));
    }

    /// An MP4 box: size, type, payload.
    fn mp4_box(kind: &[u8; 4], payload: &[u8]) -> Vec<u8> {
        let mut b = ((payload.len() + 8) as u32).to_be_bytes().to_vec();
        b.extend_from_slice(kind);
        b.extend_from_slice(payload);
        b
    }

    /// A reader that counts its reads.
    struct CountingReader<'a> {
        inner: Cursor<&'a [u8]>,
        reads: u64,
    }

    impl Read for CountingReader<'_> {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            self.reads += 1;
            self.inner.read(buf)
        }
    }

    impl Seek for CountingReader<'_> {
        fn seek(&mut self, to: SeekFrom) -> std::io::Result<u64> {
            self.inner.seek(to)
        }
    }

    /// A header of thousands of video tracks is read in time linear in its size: each question
    /// walks the tracks once (checking the limits used to walk them again for every track).
    #[test]
    fn many_tracks_are_walked_once() {
        let tracks = 3000u64;
        let mut tkhd = vec![0u8; 84];
        tkhd[76..78].copy_from_slice(&160u16.to_be_bytes());
        tkhd[80..82].copy_from_slice(&120u16.to_be_bytes());
        let mut hdlr = vec![0u8; 24];
        hdlr[8..12].copy_from_slice(b"vide");
        let mut stsz = vec![0u8; 12];
        stsz[4..8].copy_from_slice(&100u32.to_be_bytes());
        stsz[8..12].copy_from_slice(&25u32.to_be_bytes());
        let stbl = mp4_box(b"stbl", &mp4_box(b"stsz", &stsz));
        let mdia = mp4_box(
            b"mdia",
            &[mp4_box(b"hdlr", &hdlr), mp4_box(b"minf", &stbl)].concat(),
        );
        let trak = mp4_box(b"trak", &[mp4_box(b"tkhd", &tkhd), mdia].concat());
        let moov = mp4_box(b"moov", &trak.repeat(tracks as usize));
        let file = [mp4_box(b"ftyp", b"isom\0\0\0\0isom"), moov].concat();
        let len = file.len() as u64;
        let boxes = 7 * tracks + 2;
        let mut r = CountingReader {
            inner: Cursor::new(&file),
            reads: 0,
        };
        check_mp4(&mut r, len, "many.mp4").unwrap();
        assert!(r.reads < 10 * boxes, "{} reads for {boxes} boxes", r.reads);
        r.reads = 0;
        assert_eq!(
            stated_frame_count(&mut r, len, "mp4", tracks as usize - 1),
            Some(25)
        );
        assert!(r.reads < 10 * boxes, "{} reads for {boxes} boxes", r.reads);
        r.reads = 0;
        let _ = crate::mp4index::try_frame_table(&mut r, len, "many.mp4", 0, true);
        assert!(r.reads < 10 * boxes, "{} reads for {boxes} boxes", r.reads);
    }

    /// Through the public API: a probe of a file declaring too much ends with `LimitExceeded`
    /// naming the file, before any pipeline runs.
    #[test]
    fn probing_a_file_declaring_too_much_is_a_limit_error() {
        use video_core::Demuxer as _;
        crate::pipeline::init("limits").unwrap();
        let mp4 = std::fs::read(fixture("x264.mp4")).unwrap();
        let (sd, _) = stbl_box(&mp4, b"stsd");
        let mut b = mp4.clone();
        put_u16(&mut b, sd + 8 + 32, 65535);
        put_u16(&mut b, sd + 8 + 34, 65535);
        let avi = std::fs::read(fixture("mpeg4.avi")).unwrap();
        let strh = avi_chunk(&avi, b"strh");
        let mut c = avi.clone();
        c[strh + 32..strh + 36].copy_from_slice(&3_000_000_000u32.to_le_bytes());
        for (name, bytes) in [("huge.mp4", b), ("long.avi", c)] {
            let path = write(name, &bytes);
            let mut d = crate::GstDemuxer::open(&path).unwrap();
            let e = futures::executor::block_on(d.probe()).unwrap_err();
            assert!(matches!(e, Error::LimitExceeded { .. }), "{name}: {e:?}");
            assert!(e.to_string().contains(&path.display().to_string()), "{e}");
            std::fs::remove_file(&path).unwrap();
        }
    }
}
