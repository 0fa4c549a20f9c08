//! Placeholder until the MP4 sample-table reader lands.

use std::io::{Read, Seek};

use video_core::FrameTable;

/// The frame table from the `moov` box (not yet: always `None`).
pub(crate) fn frame_table<R: Read + Seek>(
    _r: &mut R,
    _len: u64,
    _uri: &str,
    _video_index: usize,
) -> Option<FrameTable> {
    None
}
