//! Editing an MP4 that `mp4mux` wrote, in place: its video track's edit list made to hide the
//! first samples (the packets a stream copy takes from before an edit list's start).

use std::fs::File;
use std::io::{Seek, SeekFrom, Write};
use std::path::Path;
use std::time::Duration;

use crate::mp4box::{child, children, read_at, read_payload, video_tracks};

/// Largest sample-table box read (stts, ctts): a few MB covers hours of video.
const MAX_TABLE_BYTES: u64 = 64 << 20;

/// Make the edit list of the (single) video track of the MP4 at `path` start at the
/// composition time of sample `lead` (in decode order) and last `shown`, so that players skip
/// the first `lead` samples (decoded as references, never shown). The movie's and the track's
/// durations become `shown`. The file must have an edit list already (`mp4mux` writes one when
/// the first decode time lies before the first presentation time, which the caller arranges);
/// the boxes keep their sizes. Errors say what was missing.
pub(crate) fn hide_leading_samples(
    path: &Path,
    lead: usize,
    shown: Duration,
) -> Result<(), String> {
    let mut f = File::options()
        .read(true)
        .write(true)
        .open(path)
        .map_err(|e| format!("cannot reopen the output to edit its edit list: {e}"))?;
    let len = f
        .metadata()
        .map_err(|e| format!("cannot read the output's size: {e}"))?
        .len();
    let (ms, me) = child(&mut f, 0, len, b"moov").ok_or("the output has no moov box")?;
    let (mvhd, _) = child(&mut f, ms, me, b"mvhd").ok_or("the output has no mvhd box")?;
    let movie_scale = timescale(&mut f, mvhd).ok_or("cannot read the movie time scale")?;
    let tracks = video_tracks(&mut f, ms, me);
    let [(trak, (ds, de))] = tracks.as_slice() else {
        return Err(format!(
            "the output has {} video tracks, not one",
            tracks.len()
        ));
    };
    let (is, ie) = child(&mut f, *ds, *de, b"minf").ok_or("the track has no minf box")?;
    let (ss, se) = child(&mut f, is, ie, b"stbl").ok_or("the track has no stbl box")?;
    // Composition time of sample `lead`: its decode time plus its composition offset.
    let (ts, te) = child(&mut f, ss, se, b"stts").ok_or("the track has no stts box")?;
    let stts = read_payload(&mut f, ts, te, MAX_TABLE_BYTES).ok_or("cannot read stts")?;
    let mut decode_time: i64 = 0;
    let mut left = lead as u64;
    for e in entries(&stts, 8) {
        if left == 0 {
            break;
        }
        let (count, delta) = (u64::from(be32(e, 0)), i64::from(be32(e, 4)));
        let n = count.min(left);
        decode_time += n as i64 * delta;
        left -= n;
    }
    if left > 0 {
        return Err(format!("the track has fewer than {} samples", lead + 1));
    }
    let mut offset: i64 = 0;
    let ctts_box = children(&mut f, ss, se)
        .into_iter()
        .find(|b| &b.0 == b"ctts");
    if let Some((_, cs, ce)) = ctts_box {
        let ctts = read_payload(&mut f, cs, ce, MAX_TABLE_BYTES).ok_or("cannot read ctts")?;
        let signed = ctts.first() == Some(&1);
        let mut left = lead as u64;
        for e in entries(&ctts, 8) {
            let count = u64::from(be32(e, 0));
            if left < count {
                offset = if signed {
                    i64::from(be32(e, 4) as i32)
                } else {
                    i64::from(be32(e, 4))
                };
                break;
            }
            left -= count;
        }
    }
    let media_time = decode_time + offset;
    let movie_duration = (shown.as_nanos() * u128::from(movie_scale)).div_ceil(1_000_000_000);
    let movie_duration = u64::try_from(movie_duration).map_err(|_| "duration overflows")?;
    // The edit list: every entry but the last made empty of time, the last one showing from
    // `media_time` for the shown duration.
    let (es, ee) = child(&mut f, trak.1, trak.2, b"edts")
        .ok_or("mp4mux wrote no edit list, so the copied hidden samples cannot be hidden")?;
    let (ls, le) = child(&mut f, es, ee, b"elst").ok_or("the edts box has no elst")?;
    let head = read_at::<8>(&mut f, ls).ok_or("cannot read elst")?;
    let version = head[0];
    let count = be32(&head, 4) as u64;
    let size = if version == 1 { 20 } else { 12 };
    if count == 0 || ls + 8 + count * size > le {
        return Err(format!(
            "the edit list has {count} entries that do not fit its box"
        ));
    }
    for k in 0..count {
        let at = ls + 8 + k * size;
        let last = k + 1 == count;
        let (duration, time) = if last {
            (movie_duration, media_time)
        } else {
            (0, -1)
        };
        let mut entry = Vec::with_capacity(16);
        if version == 1 {
            entry.extend_from_slice(&duration.to_be_bytes());
            entry.extend_from_slice(&time.to_be_bytes());
        } else {
            let d = u32::try_from(duration).map_err(|_| "duration overflows elst v0")?;
            let t = i32::try_from(time).map_err(|_| "media time overflows elst v0")?;
            entry.extend_from_slice(&d.to_be_bytes());
            entry.extend_from_slice(&t.to_be_bytes());
        }
        write_at(&mut f, at, &entry)?;
    }
    // Durations: the movie's (mvhd) and the track's (tkhd), in the movie time scale.
    write_duration(&mut f, mvhd, 12, 20, movie_duration)?;
    let (tkhd, _) = child(&mut f, trak.1, trak.2, b"tkhd").ok_or("the track has no tkhd box")?;
    write_duration(&mut f, tkhd, 20, 28, movie_duration)?;
    f.sync_all()
        .map_err(|e| format!("cannot write the edited output: {e}"))
}

/// The time scale of an `mvhd` box whose payload starts at `at`.
fn timescale(f: &mut File, at: u64) -> Option<u32> {
    let version = read_at::<1>(f, at)?[0];
    let pos = if version == 1 { at + 20 } else { at + 12 };
    Some(u32::from_be_bytes(read_at::<4>(f, pos)?))
}

/// Write a full box's duration field: at `v0` (4 bytes) or `v1` (8 bytes) past its payload
/// start `at`, by version.
fn write_duration(f: &mut File, at: u64, v0: u64, v1: u64, duration: u64) -> Result<(), String> {
    let version = read_at::<1>(f, at).ok_or("cannot read a box version")?[0];
    if version == 1 {
        write_at(f, at + v1, &duration.to_be_bytes())
    } else {
        let d = u32::try_from(duration).map_err(|_| "duration overflows a version 0 box")?;
        write_at(f, at + v0, &d.to_be_bytes())
    }
}

fn write_at(f: &mut File, at: u64, bytes: &[u8]) -> Result<(), String> {
    f.seek(SeekFrom::Start(at))
        .and_then(|_| f.write_all(bytes))
        .map_err(|e| format!("cannot edit the output: {e}"))
}

/// The entries of a full box with a 4-byte entry count after its version and flags.
fn entries(payload: &[u8], size: usize) -> impl Iterator<Item = &[u8]> {
    let count = payload.get(4..8).map_or(0, |c| be32(c, 0) as usize);
    payload
        .get(8..)
        .unwrap_or_default()
        .chunks_exact(size)
        .take(count)
}

fn be32(b: &[u8], at: usize) -> u32 {
    b.get(at..at + 4)
        .map_or(0, |s| u32::from_be_bytes([s[0], s[1], s[2], s[3]]))
}
