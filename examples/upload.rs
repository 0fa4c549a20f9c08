//! Upload a video into a dataset: probe it, then stream it into the store in parts.
//!
//! ```text
//! VIDEO -> {GstDemuxer | GifDemuxer}::probe -> upload_video (multipart, sha256) -> DATASET/{folder}/{name}
//! ```
//!
//! `cargo run --release --example upload -- VIDEO DATASET [--folder F]` (DATASET: a directory or
//! a store URL). Without arguments it uploads the generated sample clip into `./dataset/raw`.
//! Prints the stored key, content hash, size and probed frame count as JSON.

use std::path::Path;

use video_dataset::gif::GifDemuxer;
use video_dataset::storage::{ObjectStoreSink, UploadOptions, upload_video};
use video_dataset::{Demuxer, GstDemuxer};

#[path = "common/mod.rs"]
mod common;

async fn run() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let mut pos = Vec::new();
    let mut folder = "raw".to_owned();
    while let Some(a) = args.next() {
        match a.as_str() {
            "--folder" => {
                folder = args
                    .next()
                    .ok_or_else(|| anyhow::anyhow!("--folder needs a value"))?
            }
            _ => pos.push(a),
        }
    }
    let video = match pos.first() {
        Some(v) => std::path::PathBuf::from(v),
        None => common::sample_clip()?,
    };
    let dataset = pos.get(1).cloned().unwrap_or_else(|| "dataset".to_owned());
    let sink = ObjectStoreSink::from_url(&dataset)?;
    // By content: animated GIF with the GIF backend, the rest with GStreamer.
    let open_demuxer = |path: &Path| -> video_dataset::Result<Box<dyn Demuxer>> {
        Ok(if common::is_gif(path) {
            Box::new(GifDemuxer::open(path)?)
        } else {
            Box::new(GstDemuxer::open(path)?)
        })
    };
    let up = upload_video(
        &sink,
        &video,
        &folder,
        open_demuxer,
        UploadOptions::default(),
    )
    .await?;
    let json = common::extract_args::uploaded_json(&up);
    println!("{json}");
    Ok(())
}

fn main() {
    common::main_with(run);
}
