//! Probing: the header path (MP4/MOV sample tables, only the first packets demuxed) or the
//! scan path (every packet demuxed); then the choice of video stream and its checks, its frame
//! table ([`table`](super::table)) and its metadata ([`metadata`](super::metadata)).

use std::sync::Arc;

use gstreamer as gst;
use video_core::{Error, Result};

use super::GstDemuxerBuilder;
use super::metadata::metadata;
use super::scan::{Scan, ScanLimits, StreamScan, Until, scan_with};
use super::table::{TableFrom, check_table, stream_table};
use crate::gsterror::codec_of;
use crate::header::Header;
use crate::pipeline::Deadline;
use crate::probed::Probed;

/// Probe the input of `opts` (blocking): the header path when the header can give the frame
/// table, else (or when it turns out it cannot) the scan path.
pub(super) fn probe_blocking(opts: &GstDemuxerBuilder) -> Result<Probed> {
    let input = &opts.input;
    let uri = input.uri();
    let deadline = Deadline::after(opts.probe_deadline);
    // Before anything opens the input: a FIFO or a device would block the header reader.
    input.check()?;
    let limits = ScanLimits {
        max_frames: opts.max_frames,
        deadline,
    };
    // Read once and shared by the questions below (for MP4, the `moov` box stays in memory).
    let mut header = Header::open(input);
    // Sizes the header declares are checked before the demuxer allocates from them.
    if let Some(h) = header.as_mut() {
        h.check_limits(&input.uri())?;
    }
    let header_counts = opts
        .header_index
        .then(|| crate::header::sniff_container(input))
        .flatten()
        .filter(|c| c == "mp4" || c == "mov")
        .and_then(|_| header.as_mut()?.mp4_track_counts());
    // A source that failed while the header was read (a stalled or unreachable store) would
    // fail the demux pass again, after as long: say so now.
    if let Some(e) = header.as_ref().and_then(|h| h.take_source_error()) {
        return Err(e);
    }
    deadline.check(&uri, "reading the container header")?;
    if let Some(counts) = header_counts
        && let Some(p) = header_path(opts, &mut header, counts, limits, deadline)?
    {
        return Ok(p);
    }
    scan_path(opts, &mut header, limits, deadline)
}

/// The header path: the sample tables in the MP4/MOV header give the frame table, so only the
/// streams' caps and first packets are demuxed (`counts`: the header's video and audio tracks).
/// `None` when the header's table cannot be trusted after all.
fn header_path(
    opts: &GstDemuxerBuilder,
    header: &mut Option<Header<'_>>,
    (video, audio): (usize, usize),
    limits: ScanLimits,
    deadline: Deadline,
) -> Result<Option<Probed>> {
    let first = scan_with(
        &opts.input,
        opts.stall_timeout,
        Until::FirstPackets { video, audio },
        limits,
    )?;
    probed_from(opts, header, first, TableFrom::Header, deadline)
}

/// The scan path: every packet of the file is demuxed and gives the frame table.
fn scan_path(
    opts: &GstDemuxerBuilder,
    header: &mut Option<Header<'_>>,
    limits: ScanLimits,
    deadline: Deadline,
) -> Result<Probed> {
    let full = scan_with(&opts.input, opts.stall_timeout, Until::End, limits)?;
    probed_from(opts, header, full, TableFrom::Scan, deadline)?.ok_or_else(|| {
        crate::gsterror::backend(
            &opts.input.uri(),
            None,
            "no frame table from the demux pass",
        )
    })
}

/// Metadata and table from a scan. With [`TableFrom::Header`], `None` says the header gives no
/// table that can be trusted.
fn probed_from(
    opts: &GstDemuxerBuilder,
    header: &mut Option<Header<'_>>,
    scan: Scan,
    from: TableFrom,
    deadline: Deadline,
) -> Result<Option<Probed>> {
    let uri = opts.input.uri();
    deadline.check(&uri, "building the frame table")?;
    let index = choose_stream(&uri, &scan, opts.video_stream)?;
    let stream = &scan.video[index];
    let caps = check_stream(&uri, stream, index, opts.max_dimension)?;
    let by_position = !stream.has_all_pts();
    let Some((table, lost)) =
        stream_table(opts, header, &scan, index, from, by_position, deadline)?
    else {
        return Ok(None);
    };
    check_table(&uri, header, &table, index, opts.max_frames)?;
    let metadata = metadata(&opts.input, header, &scan, index, caps, &table);
    Ok(Some(Probed {
        metadata,
        table: Arc::new(table),
        stream_id: stream.stream_id.clone(),
        stream_index: index,
        by_position,
        lost,
        oriented: stream.oriented(),
    }))
}

/// The video stream to use: the `requested` one, else the one with the most pixels, as FFmpeg
/// picks it (the first on a tie).
fn choose_stream(uri: &str, scan: &Scan, requested: Option<usize>) -> Result<usize> {
    if scan.video.is_empty() {
        if scan.audio == 0 {
            return Err(Error::NotAVideo {
                uri: uri.to_owned(),
                reason: "no audio or video stream found".into(),
                source: None,
            });
        }
        return Err(Error::NoVideoStream {
            uri: uri.to_owned(),
            requested,
        });
    }
    Ok(match requested {
        Some(i) if i < scan.video.len() => i,
        Some(i) => {
            return Err(Error::NoVideoStream {
                uri: uri.to_owned(),
                requested: Some(i),
            });
        }
        None => {
            // FFmpeg's choice: the stream with the most pixels; the first on a tie.
            let mut best = 0;
            let mut best_area = 0u64;
            for (i, v) in scan.video.iter().enumerate() {
                let (w, h) = v.size();
                let area = u64::from(w) * u64::from(h);
                if area > best_area {
                    best = i;
                    best_area = area;
                }
            }
            best
        }
    })
}

/// The stream's caps, once it is known to be decodable here and within `max_dimension`.
fn check_stream<'s>(
    uri: &str,
    stream: &'s StreamScan,
    index: usize,
    max_dimension: u32,
) -> Result<&'s gst::Caps> {
    let caps = stream.caps.as_ref().ok_or_else(|| Error::NotAVideo {
        uri: uri.to_owned(),
        reason: "video stream without caps".into(),
        source: None,
    })?;
    if caps
        .structure(0)
        .is_some_and(|s| s.name() == "video/x-avi-unknown")
    {
        let (codec, element, package) = codec_of(caps);
        return Err(Error::UnsupportedCodec {
            uri: uri.to_owned(),
            codec,
            element: element.map(str::to_owned),
            package: package.map(str::to_owned),
        });
    }
    let (width, height) = stream.size();
    for (side, value) in [("width", width), ("height", height)] {
        if value > max_dimension {
            return Err(Error::LimitExceeded {
                what: format!("{uri}: frame {side} of video stream {index}"),
                limit: u64::from(max_dimension),
                actual: u64::from(value),
            });
        }
    }
    Ok(caps)
}
