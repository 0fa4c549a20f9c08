//! Transcode a whole video into a web-ready MP4 (H.264 High, faststart, audio copied or
//! re-encoded to AAC), for measuring: `cargo run --release -p video-gst --example transcode --
//! IN OUT`.

use std::path::PathBuf;
use std::time::Instant;

use video_core::Demuxer;
use video_core::prepare::FrameMap;
use video_gst::{GstDemuxer, TranscodeOptions};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args_os().skip(1);
    let (Some(input), Some(output)) = (args.next(), args.next()) else {
        return Err("usage: transcode IN OUT".into());
    };
    let started = Instant::now();
    let mut demuxer = GstDemuxer::open(PathBuf::from(input))?;
    let report = futures::executor::block_on(async {
        let table = demuxer.frame_table().await?;
        let map = FrameMap::copy_of(&table, 0, table.len())?;
        demuxer
            .transcode(&map, &PathBuf::from(output), &TranscodeOptions::default())
            .await
    })?;
    println!("{report:?} in {:?}", started.elapsed());
    Ok(())
}
