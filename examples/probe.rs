//! Probe a video and print its metadata as one JSON object.
//!
//! ```text
//! {filesrc} - {typefind} - {parsebin} - {appsink} -> FrameTable -> VideoMetadata -> JSON
//! ```
//!
//! `cargo run --release --example probe -- VIDEO [--stream N] [--full-scan]`. Without a VIDEO,
//! probes a clip it generates. `--full-scan` reads every packet even where the MP4/MOV header's
//! sample tables give the frame table. On bad input it exits non-zero with a one-line error on
//! stderr. An animated GIF (by content) is read with the pure-Rust GIF backend.

use video_dataset::gif::GifDemuxer;
use video_dataset::{Demuxer, GstDemuxer};

#[path = "common/mod.rs"]
mod common;

async fn run() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let mut path = None;
    let mut stream = None;
    let mut full_scan = false;
    while let Some(a) = args.next() {
        match a.as_str() {
            "--full-scan" => full_scan = true,
            "--stream" => {
                stream = Some(
                    args.next()
                        .ok_or_else(|| anyhow::anyhow!("--stream needs a value"))?
                        .parse()?,
                )
            }
            _ if path.is_none() => path = Some(std::path::PathBuf::from(a)),
            other => anyhow::bail!("unexpected argument {other:?}"),
        }
    }
    let path = match path {
        Some(p) => p,
        None => common::sample_clip()?,
    };
    // By content: animated GIF with the GIF backend (one stream), the rest with GStreamer.
    let mut demuxer: Box<dyn Demuxer> = if common::is_gif(&path) && stream.unwrap_or(0) == 0 {
        Box::new(GifDemuxer::open(&path)?)
    } else {
        let mut b = GstDemuxer::builder(&path).with_header_index(!full_scan);
        if let Some(s) = stream {
            b = b.with_video_stream(s);
        }
        Box::new(b.build()?)
    };
    let m = demuxer.probe().await?;
    let json = common::extract_args::metadata_json(&m);
    println!("{json}");
    Ok(())
}

fn main() {
    common::main_with(run);
}
