//! Helpers shared by the examples.
#![allow(dead_code)]

use std::path::PathBuf;

pub(crate) mod exit;
pub(crate) mod extract_args;

pub(crate) use exit::{chain, interrupted};

/// Run an example's `run` on a Tokio runtime (object_store's cloud clients need one); on error,
/// print the error chain on one line and exit with status 1.
///
/// SIGINT (Ctrl-C) and SIGTERM stop the work cleanly: the job is dropped (no new write starts),
/// the runtime is shut down, which waits for the file writes already running on its blocking
/// threads to end (each ends whole or removes its staging file, so no partial file is left),
/// and the process exits with status 130 (SIGINT) or 143 (SIGTERM). A re-run completes the job.
pub(crate) fn main_with<F: std::future::Future<Output = anyhow::Result<()>>>(
    run: impl FnOnce() -> F,
) {
    let rt = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: {}", chain(&e));
            std::process::exit(1);
        }
    };
    let outcome = rt.block_on(async {
        tokio::select! {
            r = run() => Ok(r),
            signal = interrupted() => Err(signal),
        }
    });
    // Waits for blocking work in flight (local file writes) before the process ends.
    drop(rt);
    match outcome {
        Ok(Ok(())) => {}
        Ok(Err(e)) => {
            eprintln!("error: {}", chain(&*e));
            std::process::exit(1);
        }
        Err((name, status)) => {
            eprintln!("error: interrupted by {name}; run the same command again to complete");
            std::process::exit(status);
        }
    }
}

/// A 10-second 640x360 H.264 clip with B-frames, made once with GStreamer
/// (`videotestsrc ! x264enc ! mp4mux`) in the system temp directory.
pub(crate) fn sample_clip() -> anyhow::Result<PathBuf> {
    use gst::prelude::*;
    use gstreamer as gst;
    let path = std::env::temp_dir().join("video-dataset-sample-640x360-300f-i420.mp4");
    if path.exists() {
        return Ok(path);
    }
    gst::init()?;
    // A name of its own for each caller (tests generate it from several threads at once).
    static CALLS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let call = CALLS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let tmp = path.with_extension(format!("{}-{call}.part", std::process::id()));
    let desc = format!(
        "videotestsrc num-buffers=300 pattern=smpte horizontal-speed=3 ! video/x-raw,format=I420,width=640,height=360,framerate=30/1 ! \
         x264enc bframes=2 key-int-max=60 speed-preset=veryfast ! mp4mux ! filesink location={}",
        tmp.display()
    );
    let pipeline = gst::parse::launch(&desc)?;
    pipeline.set_state(gst::State::Playing)?;
    let bus = pipeline.bus().ok_or_else(|| anyhow::anyhow!("no bus"))?;
    let msg = bus.timed_pop_filtered(
        gst::ClockTime::from_seconds(120),
        &[gst::MessageType::Eos, gst::MessageType::Error],
    );
    pipeline.set_state(gst::State::Null)?;
    match msg.as_ref().map(|m| m.view()) {
        Some(gst::MessageView::Eos(_)) => {}
        Some(gst::MessageView::Error(e)) => {
            anyhow::bail!("generating the sample clip failed: {}", e.error())
        }
        _ => anyhow::bail!("generating the sample clip timed out"),
    }
    std::fs::rename(&tmp, &path)?;
    Ok(path)
}

/// Whether `path` is a regular file that starts with a GIF signature: such a video is read with
/// the pure-Rust GIF backend (`video_dataset::gif`), everything else with GStreamer (which also
/// says what is wrong with a path that is not a regular file).
pub(crate) fn is_gif(path: &std::path::Path) -> bool {
    video_dataset::gif::is_gif_file(path)
}
