//! Minimal ISO-BMFF (MP4/MOV) box reader, to verify what the fixtures contain: edit lists
//! (`moov/trak/edts/elst`) and the order of the top-level boxes (faststart).

use std::path::Path;

/// One `elst` entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EditEntry {
    /// Duration of the edit in the movie time scale (`mvhd`).
    pub segment_duration: u64,
    /// Start of the edit in the track's media time scale (`mdhd`); -1 is an empty edit.
    pub media_time: i64,
    /// Media rate (16.16 fixed point integer part).
    pub media_rate: i16,
}

/// A box: type and payload (after the size/type header).
struct BoxRef<'a> {
    kind: [u8; 4],
    payload: &'a [u8],
}

/// Child boxes of `data`; stops at the first malformed or truncated box.
fn boxes(mut data: &[u8]) -> Vec<BoxRef<'_>> {
    let mut out = Vec::new();
    while data.len() >= 8 {
        let size32 = u32::from_be_bytes([data[0], data[1], data[2], data[3]]);
        let kind = [data[4], data[5], data[6], data[7]];
        let (header, size) = match size32 {
            0 => (8, data.len()),
            1 if data.len() >= 16 => {
                let mut large = [0u8; 8];
                large.copy_from_slice(&data[8..16]);
                (
                    16,
                    usize::try_from(u64::from_be_bytes(large)).unwrap_or(usize::MAX),
                )
            }
            1 => break,
            n => (8, n as usize),
        };
        if size < header || size > data.len() {
            // Truncated box: report what fits so truncated files can still be inspected.
            out.push(BoxRef {
                kind,
                payload: &data[header.min(data.len())..],
            });
            break;
        }
        out.push(BoxRef {
            kind,
            payload: &data[header..size],
        });
        data = &data[size..];
    }
    out
}

fn be_u32(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_be_bytes(b.get(at..at + 4)?.try_into().ok()?))
}

fn be_u64(b: &[u8], at: usize) -> Option<u64> {
    Some(u64::from_be_bytes(b.get(at..at + 8)?.try_into().ok()?))
}

fn parse_elst(payload: &[u8]) -> Option<Vec<EditEntry>> {
    let version = *payload.first()?;
    let count = be_u32(payload, 4)? as usize;
    let entry_len = if version == 1 { 20 } else { 12 };
    let mut entries = Vec::with_capacity(count.min(1024));
    for i in 0..count {
        let at = 8 + i * entry_len;
        let (segment_duration, media_time, rate_at) = if version == 1 {
            (
                be_u64(payload, at)?,
                be_u64(payload, at + 8)? as i64,
                at + 16,
            )
        } else {
            (
                u64::from(be_u32(payload, at)?),
                i64::from(be_u32(payload, at + 4)? as i32),
                at + 8,
            )
        };
        let media_rate = i16::from_be_bytes(payload.get(rate_at..rate_at + 2)?.try_into().ok()?);
        entries.push(EditEntry {
            segment_duration,
            media_time,
            media_rate,
        });
    }
    Some(entries)
}

/// Edit lists of every track, in track order; `None` for a track without `edts/elst`.
pub fn edit_lists(path: &Path) -> Vec<Option<Vec<EditEntry>>> {
    let data =
        std::fs::read(path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    let Some(moov) = boxes(&data).into_iter().find(|b| &b.kind == b"moov") else {
        return Vec::new();
    };
    boxes(moov.payload)
        .into_iter()
        .filter(|b| &b.kind == b"trak")
        .map(|trak| {
            let edts = boxes(trak.payload)
                .into_iter()
                .find(|b| &b.kind == b"edts")?;
            let elst = boxes(edts.payload)
                .into_iter()
                .find(|b| &b.kind == b"elst")?;
            parse_elst(elst.payload)
        })
        .collect()
}

/// Types of the top-level boxes in file order (`["ftyp", "moov", "free", "mdat"]` for a
/// faststart file).
pub fn top_level_boxes(path: &Path) -> Vec<String> {
    let data =
        std::fs::read(path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    boxes(&data)
        .iter()
        .map(|b| String::from_utf8_lossy(&b.kind).into_owned())
        .collect()
}
