//! The frame table of the chosen stream: from the MP4/MOV header (the header path), from the
//! scanned packets (the scan path, with the frames qtdemux loses added), or by decoding (packets
//! without presentation timestamps).

use std::time::Duration;

use video_core::{Error, FrameTable, Result, Timestamp};

use super::GstDemuxerBuilder;
use super::scan::{Scan, StreamScan};
use crate::header::Header;
use crate::pipeline::Deadline;

/// Where a frame table comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum TableFrom {
    /// The MP4/MOV header's sample tables (the scan read only the first packets).
    Header,
    /// The scanned packets (the scan read every packet).
    Scan,
}

/// The frame table of video stream `index` and the frames of it the demuxer never delivers
/// (see [`Probed::lost`](crate::probed::Probed::lost)). From [`TableFrom::Header`], `None`
/// when the header gives no table that can be trusted; `by_position` (packets without
/// presentation timestamps) builds the table by decoding.
pub(super) fn stream_table(
    opts: &GstDemuxerBuilder,
    header: &mut Option<Header<'_>>,
    scan: &Scan,
    index: usize,
    from: TableFrom,
    by_position: bool,
    deadline: Deadline,
) -> Result<Option<(FrameTable, Vec<u64>)>> {
    let input = &opts.input;
    let uri = input.uri();
    let stream = &scan.video[index];
    if by_position {
        if from == TableFrom::Header {
            return Ok(None);
        }
        // Packets without presentation timestamps (AVI with B-frames): the order frames are shown
        // in is only known after decoding, so the table comes from a decoding pass. The
        // timestamps GStreamer then invents are not always unique, so such files are decoded
        // from their start and frames are identified by their position in the decoder's output.
        let frames = crate::decode::decoded_frames(
            input,
            stream.stream_id.clone(),
            index,
            opts.stall_timeout,
            deadline,
            opts.max_frames,
        )?;
        return Ok(Some((
            FrameTable::from_presentation_order(frames),
            Vec::new(),
        )));
    }
    check_edit_start(&uri, stream, &scan.container)?;
    if from == TableFrom::Header {
        return Ok(
            match header.as_mut().and_then(|h| h.mp4_frame_table(&uri, index)) {
                Some(t) if durations_agree(&t, stream) => Some((t, Vec::new())),
                _ => None,
            },
        );
    }
    let table = stream.table(&uri)?;
    if matches!(scan.container.as_str(), "mp4" | "mov") {
        Ok(Some(add_frames_lost_at_edit_end(
            header, scan, index, table,
        )))
    } else {
        Ok(Some((table, Vec::new())))
    }
}

/// [`Error::Unsupported`] when qtdemux began an MP4/MOV edit list mid-GOP: FFmpeg decodes those
/// frames from the key frame before the edit, GStreamer cannot, so every index would be shifted.
fn check_edit_start(uri: &str, stream: &StreamScan, container: &str) -> Result<()> {
    let leading = stream
        .packets
        .iter()
        .take_while(|p| !p.keyframe)
        .filter(|p| p.pts.is_some())
        .count();
    if leading > 0 && matches!(container, "mp4" | "mov") {
        return Err(Error::Unsupported {
            uri: uri.to_owned(),
            reason: format!(
                "the edit list starts inside a GOP and GStreamer's MP4 demuxer does not send the key frame before it, \
                 so the first {leading} frames a player shows cannot be decoded and frame numbers would not match"
            ),
        });
    }
    Ok(())
}

/// [`Error::LimitExceeded`] for a table of more than `max_frames` frames; an error that says
/// why (as far as the header can tell) for an empty one.
pub(super) fn check_table(
    uri: &str,
    header: &mut Option<Header<'_>>,
    table: &FrameTable,
    index: usize,
    max_frames: u64,
) -> Result<()> {
    if table.len() > max_frames {
        return Err(Error::LimitExceeded {
            what: format!("{uri}: frame table"),
            limit: max_frames,
            actual: table.len(),
        });
    }
    if table.is_empty() {
        // The demuxer stopped on this stream without a frame, and without telling why (its
        // error can stay inside parsebin). An MP4/MOV header can say why: the track's data
        // lies past the end of the file.
        if header
            .as_mut()
            .and_then(|h| h.mp4_first_sample_past_end(index))
            == Some(true)
        {
            return Err(Error::NotAVideo {
                uri: uri.to_owned(),
                reason: format!(
                    "the sample data of video stream {index} lies past the end of the file \
                     (cut short, or a corrupt chunk offset)"
                ),
                source: None,
            });
        }
        // Otherwise a backend failure, like the error it would be.
        return Err(crate::gsterror::backend(
            uri,
            None,
            format!("the demuxer delivered no frame of video stream {index}"),
        ));
    }
    Ok(())
}

/// Whether the header table's frame durations are the ones the parser gave the packets the
/// scan saw (in decode order). They differ when the bitstream's timing disagrees with the
/// container's, and then the header's key frames cannot be trusted either.
fn durations_agree(table: &FrameTable, stream: &StreamScan) -> bool {
    let by_decode: std::collections::HashMap<u64, Option<Duration>> =
        table.iter().map(|f| (f.decode_order, f.duration)).collect();
    let first_key = stream.packets.iter().position(|p| p.keyframe);
    let Some(first_key) = first_key else {
        return false;
    };
    stream.packets[first_key..]
        .iter()
        .enumerate()
        .all(|(k, p)| match by_decode.get(&(k as u64)) {
            Some(d) => *d == p.duration,
            None => p.pts.is_none(),
        })
}

/// The frames FFmpeg shows (the MP4/MOV header's samples inside the edit list) that the demux
/// pass never saw, added to `table`: qtdemux 1.22 ends a track's edit-list segment early in some
/// files (a B-frame stored after a sample the edit hides; an edit that trims the start), so
/// those frames never reach the decoder. With them in the table, frame numbers and the frame
/// count are FFmpeg's, and asking for one of them is an [`Error::Decode`] that says why
/// (see [`Probed::lost`](crate::probed::Probed::lost)). Returns the table and the indices of the lost frames.
fn add_frames_lost_at_edit_end(
    header: &mut Option<Header<'_>>,
    scan: &Scan,
    index: usize,
    table: FrameTable,
) -> (FrameTable, Vec<u64>) {
    let Some(header) = header.as_mut() else {
        return (table, Vec::new());
    };
    // Video pads come in track order only when the header declares as many video tracks.
    if header.mp4_track_counts().map(|c| c.0) != Some(scan.video.len()) {
        return (table, Vec::new());
    }
    let Some(shown) = header.mp4_edit_shown_times(index) else {
        return (table, Vec::new());
    };
    let tolerance = 1_000_000; // 1 ms: container time scales round
    let mut frames: Vec<video_core::FrameInfo> = table.iter().copied().collect();
    let seen: Vec<i64> = frames.iter().map(|f| f.pts.as_nanos()).collect();
    let missing: Vec<i64> = shown
        .iter()
        .copied()
        .filter(|&t| !seen.iter().any(|&s| (s - t).abs() <= tolerance))
        .collect();
    if missing.is_empty() {
        return (table, Vec::new());
    }
    let duration = frames.last().and_then(|f| f.duration);
    // After every packet the demuxer delivered (hidden ones included).
    let first_order = frames.iter().map(|f| f.decode_order + 1).max().unwrap_or(0);
    for (k, &t) in missing.iter().enumerate() {
        frames.push(video_core::FrameInfo {
            index: 0,
            pts: Timestamp::from_nanos(t),
            duration,
            keyframe: false,
            decode_order: first_order + k as u64,
        });
    }
    frames.sort_by_key(|f| f.pts);
    let lost = frames
        .iter()
        .enumerate()
        .filter(|(_, f)| missing.contains(&f.pts.as_nanos()))
        .map(|(i, _)| i as u64)
        .collect();
    (FrameTable::from_presentation_order(frames), lost)
}
