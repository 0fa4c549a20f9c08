//! Split a video into segments of about `SECONDS` seconds by stream copy, at clean key frames.
//!
//! `cargo run --release -p video-gst --example split_copy -- CLIP OUTDIR [SECONDS]`
//!
//! Each segment ends at the first clean cut at least `SECONDS` after its start; prints the
//! segments and the time the copy took (probing excluded, then included).

use std::path::PathBuf;
use std::time::Instant;

use video_core::Demuxer;
use video_core::prepare::clean_cuts;
use video_gst::{CopySegment, GstDemuxer};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let (Some(clip), Some(outdir)) = (args.next(), args.next()) else {
        return Err("usage: split_copy CLIP OUTDIR [SECONDS]".into());
    };
    let seconds: f64 = args.next().map_or(Ok(10.0), |s| s.parse())?;
    let outdir = PathBuf::from(outdir);
    std::fs::create_dir_all(&outdir)?;
    let started = Instant::now();
    let mut demuxer = GstDemuxer::open(&clip)?;
    let table = futures::executor::block_on(demuxer.frame_table())?;
    let probed = started.elapsed();
    let n = table.len();
    let mut bounds = vec![0u64];
    for c in clean_cuts(&table) {
        let last = *bounds.last().unwrap_or(&0);
        let since = table
            .pts_of(c)
            .zip(table.pts_of(last))
            .and_then(|(a, b)| a.duration_since(b))
            .map_or(0.0, |d| d.as_secs_f64());
        if since >= seconds - 1e-3 {
            bounds.push(c);
        }
    }
    bounds.push(n);
    let segments: Vec<CopySegment> = bounds
        .windows(2)
        .map(|w| CopySegment {
            first: w[0],
            end: w[1],
        })
        .collect();
    let outputs: Vec<PathBuf> = (0..segments.len())
        .map(|k| outdir.join(format!("out{k:03}.mp4")))
        .collect();
    let copy_started = Instant::now();
    let reports = futures::executor::block_on(demuxer.copy_segments(&segments, &outputs))?;
    let copied = copy_started.elapsed();
    for (s, r) in segments.iter().zip(&reports) {
        println!(
            "[{}, {}): {} frames, {} bytes",
            s.first, s.end, r.frames, r.bytes
        );
    }
    println!(
        "{} segments: copy {:.3} s, probe {:.3} s, total {:.3} s",
        segments.len(),
        copied.as_secs_f64(),
        probed.as_secs_f64(),
        started.elapsed().as_secs_f64()
    );
    Ok(())
}
