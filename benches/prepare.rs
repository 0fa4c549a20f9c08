//! Video preparation beside the ffmpeg CLI, on the same generated clips, in the same run.
//!
//! `cargo bench --bench prepare` generates (once, cached in `target/bench-fixtures/`, shared
//! with the `decode` bench) 1080p H.264 clips of `BENCH_SECONDS` (20 s) and three times as long
//! (60 s), 30 fps, 3 B-frames, GOP 250, and measures:
//!
//! | Row          | Ours (`prepare_video`)                          | ffmpeg CLI                                                        |
//! |--------------|-------------------------------------------------|-------------------------------------------------------------------|
//! | `web`        | web-ready copy (x264enc veryfast, faststart)    | `-c:v libx264 -preset veryfast -movflags +faststart`              |
//! | `split10-copy` | key-frame aligned stream-copy split, 10 s     | `-c copy -f segment -segment_time 10 -reset_timestamps 1`         |
//!
//! Each measurement is a separate process (ours: this binary re-run as `--child ROW CLIP
//! OUTDIR`), wall time by this process, CPU time and peak RSS by `/usr/bin/time`; runs of ours
//! and ffmpeg's alternate and the median of `BENCH_REPS` (3) is reported with the ratio. Peak
//! RSS is reported for both clip lengths, to show it does not grow with the video's length.
//! `BENCH_ROWS=web,split10-copy` picks rows. Without `--bench` (`cargo test --all-targets`) it
//! is a smoke run on 2 s clips.

use std::path::{Path, PathBuf};

use anyhow::{Context, bail, ensure};
use video_dataset::core::prepare::{Preparation, SplitBy, SplitMode};
use video_dataset::{PrepareOptions, prepare_video};

mod common;
use common::{ChildOutput, Meter, Run, Spec, env_u64, fixture, load_average, median, tool_version};

/// What a child of ours reports.
#[derive(serde::Serialize, serde::Deserialize, Debug, Clone)]
struct ChildReport {
    outputs: usize,
    frames: u64,
    bytes: u64,
    encoder: String,
}

impl ChildOutput for ChildReport {}

/// A benchmark row.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Row {
    Web,
    Split10Copy,
}

impl Row {
    const ALL: [Row; 2] = [Row::Web, Row::Split10Copy];

    fn name(self) -> &'static str {
        match self {
            Row::Web => "web",
            Row::Split10Copy => "split10-copy",
        }
    }

    fn parse(s: &str) -> anyhow::Result<Self> {
        Row::ALL
            .into_iter()
            .find(|r| r.name() == s)
            .with_context(|| format!("unknown row {s}"))
    }

    fn preparation(self) -> Preparation {
        match self {
            Row::Web => Preparation::web(),
            Row::Split10Copy => Preparation::split(SplitBy::Seconds(10.0), SplitMode::KeyFrames),
        }
    }

    fn ffmpeg_args(self, clip: &Path, outdir: &Path) -> Vec<String> {
        let mut a: Vec<String> = ["-hide_banner", "-nostdin", "-v", "error", "-y", "-i"]
            .iter()
            .map(|s| (*s).to_owned())
            .collect();
        a.push(clip.display().to_string());
        let rest: &[&str] = match self {
            Row::Web => &[
                "-c:v",
                "libx264",
                "-preset",
                "veryfast",
                "-movflags",
                "+faststart",
            ],
            Row::Split10Copy => &[
                "-c",
                "copy",
                "-f",
                "segment",
                "-segment_time",
                "10",
                "-reset_timestamps",
                "1",
            ],
        };
        a.extend(rest.iter().map(|s| (*s).to_owned()));
        a.push(match self {
            Row::Web => outdir.join("web.mp4").display().to_string(),
            Row::Split10Copy => outdir.join("seg%03d.mp4").display().to_string(),
        });
        a
    }
}

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    if let Some(i) = args.iter().position(|a| a == "--child") {
        return child(&args[i + 1..]);
    }
    parent(args.iter().any(|a| a == "--bench"))
}

fn child(args: &[String]) -> anyhow::Result<()> {
    let [row, clip, outdir] = args else {
        bail!("usage: --child ROW CLIP OUTDIR");
    };
    let row = Row::parse(row)?;
    let rt = tokio::runtime::Runtime::new()?;
    let report = rt.block_on(prepare_video(
        Path::new(clip),
        outdir.as_str(),
        PrepareOptions::new(row.preparation()),
    ))?;
    let m = &report.manifest;
    let out = ChildReport {
        outputs: m.outputs.len(),
        frames: m.frames,
        bytes: m.outputs.iter().map(|o| o.bytes).sum(),
        encoder: m
            .outputs
            .first()
            .map(|o| o.encoder.clone())
            .unwrap_or_default(),
    };
    println!("RESULT {}", serde_json::to_string(&out)?);
    Ok(())
}

/// Bytes of the files under `dir`.
fn bytes_in(dir: &Path) -> u64 {
    let mut total = 0;
    if let Ok(rd) = std::fs::read_dir(dir) {
        for e in rd.flatten() {
            let p = e.path();
            total += if p.is_dir() {
                bytes_in(&p)
            } else {
                e.metadata().map_or(0, |m| m.len())
            };
        }
    }
    total
}

fn fresh(dir: &Path) -> anyhow::Result<PathBuf> {
    let _ = std::fs::remove_dir_all(dir);
    std::fs::create_dir_all(dir)?;
    Ok(dir.to_owned())
}

fn parent(bench: bool) -> anyhow::Result<()> {
    let seconds = env_u64("BENCH_SECONDS", if bench { 20 } else { 2 })?;
    let reps = env_u64("BENCH_REPS", if bench { 3 } else { 1 })?.max(1);
    ensure!(seconds >= 1, "BENCH_SECONDS must be at least 1");
    if !bench {
        println!("test mode (no --bench): a smoke run on {seconds} s clips; use `cargo bench`");
    }
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/bench-fixtures");
    std::fs::create_dir_all(&dir)?;
    let clips = [seconds, 3 * seconds]
        .map(|s| {
            fixture(
                &dir,
                Spec {
                    codec: "h264",
                    height: 1080,
                    seconds: s,
                },
            )
            .map(|p| (s, p))
        })
        .into_iter()
        .collect::<anyhow::Result<Vec<_>>>()?;
    let meter = Meter::new(&dir);
    let exe = std::env::current_exe()?;
    let ffmpeg = PathBuf::from("ffmpeg");
    println!("# prepare bench: video-dataset vs ffmpeg CLI");
    println!(
        "{}; {}; {} CPUs; load {}; {} repetitions; peak RSS and CPU by {}",
        tool_version("ffmpeg", "-version"),
        tool_version("gst-launch-1.0", "--gst-version"),
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        load_average(),
        reps,
        meter.how()
    );
    println!();
    println!(
        "| row | clip | ours wall s | ffmpeg wall s | wall ratio | ours CPU s | ffmpeg CPU s | ours peak RSS MiB | ffmpeg peak RSS MiB | ours MB / ffmpeg MB | outputs |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|---|");
    let only = std::env::var("BENCH_ROWS").ok();
    let rows = Row::ALL.into_iter().filter(|r| {
        only.as_deref()
            .is_none_or(|o| o.split(',').any(|n| n == r.name()))
    });
    for row in rows {
        for (s, clip) in &clips {
            let mut ours: Vec<Run<ChildReport>> = Vec::new();
            let mut theirs: Vec<Run> = Vec::new();
            let (mut our_bytes, mut their_bytes) = (0, 0);
            for _ in 0..reps {
                let out = fresh(&dir.join("prepare-ours"))?;
                let run = meter.measure::<ChildReport>(
                    &exe,
                    &[
                        "--child".into(),
                        row.name().into(),
                        clip.display().to_string(),
                        out.display().to_string(),
                    ],
                )?;
                our_bytes = run.child.as_ref().map_or(0, |c| c.bytes);
                ours.push(run);
                let out = fresh(&dir.join("prepare-ffmpeg"))?;
                theirs.push(meter.measure::<()>(&ffmpeg, &row.ffmpeg_args(clip, &out))?);
                their_bytes = bytes_in(&out);
            }
            let wall = |v: &[f64]| median(v.to_vec());
            let (ow, fw) = (
                wall(&ours.iter().map(|r| r.wall_s).collect::<Vec<_>>()),
                wall(&theirs.iter().map(|r| r.wall_s).collect::<Vec<_>>()),
            );
            let (oc, fc) = (
                wall(&ours.iter().map(|r| r.cpu_s).collect::<Vec<_>>()),
                wall(&theirs.iter().map(|r| r.cpu_s).collect::<Vec<_>>()),
            );
            let peak = |v: Vec<u64>| v.into_iter().max().unwrap_or(0) as f64 / 1024.0;
            let report = ours.last().and_then(|r| r.child.clone());
            println!(
                "| {} | 1080p {s} s | {ow:.2} | {fw:.2} | {:.2}× | {oc:.2} | {fc:.2} | {:.0} | {:.0} | {:.1} / {:.1} | {} |",
                row.name(),
                ow / fw,
                peak(ours.iter().map(|r| r.peak_rss_kib).collect()),
                peak(theirs.iter().map(|r| r.peak_rss_kib).collect()),
                our_bytes as f64 / 1e6,
                their_bytes as f64 / 1e6,
                report.map_or_else(String::new, |r| format!(
                    "{} ({} frames, {})",
                    r.outputs, r.frames, r.encoder
                )),
            );
        }
    }
    let _ = std::fs::remove_dir_all(dir.join("prepare-ours"));
    let _ = std::fs::remove_dir_all(dir.join("prepare-ffmpeg"));
    Ok(())
}
