//! Peak memory and throughput of the `upload` example on a small and a ≥ 1 GiB H.264 file.
//!
//! ```text
//! ffmpeg testsrc2+noise -> clip.mp4 --concat -c copy--> big.mp4 (>= 1 GiB)
//! /usr/bin/time -f %M  target/release/examples/upload {clip,big}.mp4 OUTDIR  -> peak RSS, wall
//! ```
//!
//! `cargo bench --bench upload` builds the `upload` example (release), generates the fixtures once
//! into `target/bench-fixtures/` (a 10 s 720p30 clip at about 40 Mbit/s, and that clip repeated
//! with ffmpeg's concat demuxer and `-c copy` until the file passes `BENCH_UPLOAD_MIB`, default
//! 1024 MiB), then uploads each file into a fresh local-disk dataset under `/usr/bin/time` and
//! prints peak RSS (`wait4`'s `ru_maxrss`), wall time and throughput, beside `cp` of the same
//! file as the disk's own speed. Without `--bench` (`cargo test --all-targets`) it does nothing:
//! it is too slow for CI. See `benches/README.md`.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use anyhow::{Context, bail, ensure};

/// Length of the generated base clip in seconds.
const CLIP_SECONDS: u32 = 10;

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let bench = args.iter().any(|a| a == "--bench") && !args.iter().any(|a| a == "--test");
    if !bench {
        println!("upload bench: skipped without --bench (run `cargo bench --bench upload`)");
        return Ok(());
    }
    let target_mib: u64 = match std::env::var("BENCH_UPLOAD_MIB") {
        Ok(v) => v.parse().context("BENCH_UPLOAD_MIB")?,
        Err(_) => 1024,
    };
    let time = Path::new("/usr/bin/time");
    ensure!(
        time.exists(),
        "/usr/bin/time is needed for peak RSS (Debian package `time`)"
    );
    let exe = build_example("upload")?;
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/bench-fixtures");
    std::fs::create_dir_all(&dir)?;
    let clip = base_clip(&dir)?;
    let big = big_file(&dir, &clip, target_mib)?;

    println!("# upload bench: `upload` example into a local-disk dataset");
    println!(
        "{} CPUs; peak RSS by /usr/bin/time (wait4); the OS page cache holds the source (read once before)",
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    println!();
    println!("| file | size MiB | frames | upload s | MiB/s | peak RSS MiB | cp s | cp MiB/s |");
    println!("|---|---|---|---|---|---|---|---|");
    for file in [&clip, &big] {
        let size = std::fs::metadata(file)?.len();
        warm(file)?;
        let out = dir.join("upload-out");
        fresh_dir(&out)?;
        let started = Instant::now();
        let run = Command::new(time)
            .arg("-f")
            .arg("PEAK_RSS_KIB %M")
            .arg(&exe)
            .arg(file)
            .arg(&out)
            .output()?;
        let wall = started.elapsed().as_secs_f64();
        let stderr = String::from_utf8_lossy(&run.stderr);
        ensure!(
            run.status.success(),
            "upload of {} failed: {stderr}",
            file.display()
        );
        let rss_kib: f64 = stderr
            .lines()
            .find_map(|l| l.strip_prefix("PEAK_RSS_KIB "))
            .context("no peak RSS from /usr/bin/time")?
            .trim()
            .parse()?;
        let report: serde_json::Value = serde_json::from_slice(&run.stdout)?;
        ensure!(
            report["size"].as_u64() == Some(size),
            "the example reports {} bytes for a {size}-byte file",
            report["size"]
        );
        let stored = out.join("raw").join(file.file_name().context("file name")?);
        ensure!(
            std::fs::metadata(&stored)?.len() == size,
            "stored size differs"
        );
        fresh_dir(&out)?;
        let started = Instant::now();
        let cp = Command::new("cp").arg(file).arg(&out).status()?;
        let cp_wall = started.elapsed().as_secs_f64();
        ensure!(cp.success(), "cp failed");
        let _ = std::fs::remove_dir_all(&out);
        let mib = size as f64 / (1024.0 * 1024.0);
        println!(
            "| {} | {:.0} | {} | {:.2} | {:.0} | {:.0} | {:.2} | {:.0} |",
            file.file_name().unwrap_or_default().to_string_lossy(),
            mib,
            report["frame_count"],
            wall,
            mib / wall,
            rss_kib / 1024.0,
            cp_wall,
            mib / cp_wall,
        );
    }
    Ok(())
}

/// Build an example in release mode and return its path (next to this bench's `deps/`).
fn build_example(name: &str) -> anyhow::Result<PathBuf> {
    let status = Command::new(env!("CARGO"))
        .args(["build", "--quiet", "--release", "--example", name])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .status()?;
    ensure!(status.success(), "building example {name} failed");
    let exe = std::env::current_exe()?;
    let profile_dir = exe
        .parent()
        .and_then(Path::parent)
        .context("bench executable outside target/<profile>/deps")?;
    Ok(profile_dir.join("examples").join(name))
}

fn ffmpeg(args: &[&str]) -> anyhow::Result<()> {
    let out = Command::new("ffmpeg")
        .args(["-hide_banner", "-nostdin", "-v", "error", "-y"])
        .args(args)
        .output()
        .context("running ffmpeg (is it installed?)")?;
    if !out.status.success() {
        bail!("ffmpeg {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    }
    Ok(())
}

/// A 10 s 720p30 H.264 clip with B-frames, noisy enough to be large (about 40 Mbit/s).
fn base_clip(dir: &Path) -> anyhow::Result<PathBuf> {
    let path = dir.join(format!("upload-720p-{CLIP_SECONDS}s.mp4"));
    if path.exists() {
        return Ok(path);
    }
    let tmp = path.with_extension("part.mp4");
    eprintln!("generating {} ...", path.display());
    ffmpeg(&[
        "-f",
        "lavfi",
        "-i",
        &format!("testsrc2=size=1280x720:rate=30:duration={CLIP_SECONDS}"),
        "-vf",
        "noise=alls=25:allf=t",
        "-c:v",
        "libx264",
        "-preset",
        "veryfast",
        "-b:v",
        "40M",
        "-maxrate",
        "40M",
        "-bufsize",
        "40M",
        "-bf",
        "2",
        "-g",
        "60",
        "-pix_fmt",
        "yuv420p",
        &tmp.display().to_string(),
    ])?;
    std::fs::rename(&tmp, &path)?;
    Ok(path)
}

/// `clip` repeated with the concat demuxer and `-c copy` until the file is at least
/// `target_mib` MiB.
fn big_file(dir: &Path, clip: &Path, target_mib: u64) -> anyhow::Result<PathBuf> {
    let clip_size = std::fs::metadata(clip)?.len();
    let target = target_mib * 1024 * 1024;
    let copies = target.div_ceil(clip_size).max(1) + 1; // the moov atom is not repeated
    let path = dir.join(format!("upload-big-{target_mib}MiB.mp4"));
    if std::fs::metadata(&path).is_ok_and(|m| m.len() >= target) {
        return Ok(path);
    }
    eprintln!("generating {} ({copies} copies) ...", path.display());
    let list = dir.join("upload-concat.txt");
    let line = format!("file '{}'\n", clip.display());
    std::fs::write(&list, line.repeat(copies as usize))?;
    let tmp = path.with_extension("part.mp4");
    ffmpeg(&[
        "-f",
        "concat",
        "-safe",
        "0",
        "-i",
        &list.display().to_string(),
        "-c",
        "copy",
        &tmp.display().to_string(),
    ])?;
    let size = std::fs::metadata(&tmp)?.len();
    ensure!(
        size >= target,
        "concatenated file is {size} bytes, wanted {target}"
    );
    std::fs::rename(&tmp, &path)?;
    Ok(path)
}

/// Read a file once so both the upload and `cp` find it in the page cache.
fn warm(path: &Path) -> anyhow::Result<()> {
    let mut f = std::fs::File::open(path)?;
    std::io::copy(&mut f, &mut std::io::sink())?;
    Ok(())
}

fn fresh_dir(dir: &Path) -> anyhow::Result<()> {
    if dir.exists() {
        std::fs::remove_dir_all(dir)?;
    }
    std::fs::create_dir_all(dir)?;
    Ok(())
}
