//! What probing found about the chosen video stream: the demuxer builds it, frame sources
//! decode with it.

use std::sync::Arc;

use video_core::{FrameTable, VideoMetadata};

/// What the demuxer found, shared with the frame source.
#[derive(Debug)]
pub(crate) struct Probed {
    pub(crate) metadata: VideoMetadata,
    pub(crate) table: Arc<FrameTable>,
    pub(crate) stream_id: Option<String>,
    pub(crate) stream_index: usize,
    /// Identify decoded frames by their position in the output of a decode from the start
    /// (tables built by decoding), not by timestamp.
    pub(crate) by_position: bool,
    /// Frames of the table (FFmpeg shows them) that GStreamer's demuxer never delivers: asking
    /// for one is an [`Error::Decode`](video_core::Error::Decode).
    pub(crate) lost: Vec<u64>,
    /// The stream's image-orientation tag asks for a rotation or a flip: display orientation
    /// needs `videoflip` (which, left in the pipeline with nothing to do, copies every frame).
    pub(crate) oriented: bool,
}
