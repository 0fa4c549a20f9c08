//! Many short videos as one job, beside the same videos one at a time and beside the ffmpeg CLI,
//! in the same run; and the job's peak memory as the number of videos grows.
//!
//! ```text
//! N generated clips (ffmpeg: testsrc2, hue and noise seed per clip, libx264 with B-frames)
//!   ours, one job:        JobSpec { N videos, every K-th frame, concurrency C } -> submit -> wait
//!   ours, one at a time:  for each clip: extract_frames(clip, dataset, every K-th frame)
//!   ffmpeg, C at once:    ffmpeg -i clip -vf select=not(mod(n\,K)) -fps_mode passthrough -q:v 2 %06d.jpg
//!   ffmpeg, one at a time: the same commands, one process after the other
//!   memory:               the job over N videos and over M videos (peak RSS must not grow)
//! ```
//!
//! ```text
//! cargo run --release --example many_videos
//!     [-- --videos 16] [--rss-videos 64] [--seconds 6] [--fps 30] [--every 10]
//!     [--concurrency CORES] [--reps 3]
//! ```
//!
//! With no arguments: 16 clips of 6 s, 640x360 at 30 fps (GOP 60, 3 B-frames), every 10th frame
//! as JPEG (q90 for us, `-q:v 2` for ffmpeg), 3 repetitions (medians), then the job over 64
//! clips for memory. The clips are generated once into `target/many-videos/` (ffmpeg must be on
//! `PATH`) and reused. Every measurement is a separate process (ours is this program run again
//! with a hidden `--child` argument) into a fresh empty dataset: wall time by this process, CPU
//! time and peak RSS by `/usr/bin/time` (`wait4`), or, without it, by polling
//! `/proc/PID/status` (`VmHWM`). Prints the tables; each side's image count is checked against
//! the plan (`ceil(frames / K)` per clip).

mod common;

use std::collections::BTreeMap;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, bail, ensure};
use serde::{Deserialize, Serialize};
use video_dataset::{
    Demuxer, ExtractOptions, GstDemuxer, JobSpec, JobStatus, SamplingPlan, extract_frames, submit,
};

/// Width and height of the generated clips.
const SIZE: (u32, u32) = (640, 360);
/// Distance between key frames of the generated clips, in frames.
const GOP: u64 = 60;
/// Our JPEG quality; `-q:v 2` is ffmpeg's nearest (see `benches/README.md`).
const JPEG_QUALITY: u8 = 90;

fn main() {
    common::main_with(run);
}

/// What the command line asks for.
#[derive(Clone, Debug)]
struct Args {
    videos: usize,
    rss_videos: usize,
    seconds: u64,
    fps: u64,
    every: u64,
    concurrency: usize,
    reps: usize,
    /// `--child MODE OUT`: run one measured side (`job` or `seq`) into dataset `OUT`.
    child: Option<(String, PathBuf)>,
}

impl Args {
    fn parse() -> anyhow::Result<Self> {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        let mut a = Args {
            videos: 16,
            rss_videos: 64,
            seconds: 6,
            fps: 30,
            every: 10,
            concurrency: cores,
            reps: 3,
            child: None,
        };
        let mut it = std::env::args().skip(1);
        while let Some(flag) = it.next() {
            let mut value = || it.next().with_context(|| format!("{flag} needs a value"));
            let number = |v: String| -> anyhow::Result<u64> {
                let n: u64 = v.parse().with_context(|| format!("{flag} {v:?}"))?;
                ensure!(n >= 1, "{flag} must be at least 1");
                Ok(n)
            };
            match flag.as_str() {
                "--videos" => a.videos = number(value()?)? as usize,
                "--rss-videos" => a.rss_videos = number(value()?)? as usize,
                "--seconds" => a.seconds = number(value()?)?,
                "--fps" => a.fps = number(value()?)?,
                "--every" => a.every = number(value()?)?,
                "--concurrency" => a.concurrency = number(value()?)? as usize,
                "--reps" => a.reps = number(value()?)? as usize,
                "--child" => {
                    let mode = value()?;
                    let out = PathBuf::from(value()?);
                    a.child = Some((mode, out));
                }
                other => bail!(
                    "unknown argument {other:?}; usage: many_videos [--videos N] [--rss-videos M] \
                     [--seconds S] [--fps F] [--every K] [--concurrency C] [--reps R]"
                ),
            }
        }
        Ok(a)
    }

    /// The flags that make a child see the same clips and plan.
    fn child_args(&self, mode: &str, videos: usize, out: &Path) -> Vec<String> {
        let mut v: Vec<String> = [
            "--videos",
            &videos.to_string(),
            "--seconds",
            &self.seconds.to_string(),
            "--fps",
            &self.fps.to_string(),
            "--every",
            &self.every.to_string(),
            "--concurrency",
            &self.concurrency.to_string(),
            "--child",
            mode,
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        v.push(out.display().to_string());
        v
    }

    /// Images each side must write for `videos` clips.
    fn expected_images(&self, videos: usize) -> u64 {
        (self.seconds * self.fps).div_ceil(self.every) * videos as u64
    }
}

async fn run() -> anyhow::Result<()> {
    let args = Args::parse()?;
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/many-videos");
    let clips = clip_dir(&dir, &args);
    match &args.child {
        Some((mode, out)) => child(&args, &clips, mode, out).await,
        None => parent(&args, &dir, &clips),
    }
}

/// Where the clips of these settings are cached.
fn clip_dir(dir: &Path, a: &Args) -> PathBuf {
    dir.join(format!(
        "clips-{}x{}-{}fps-{}s-gop{GOP}-bf3",
        SIZE.0, SIZE.1, a.fps, a.seconds
    ))
}

fn clip_path(clips: &Path, i: usize) -> PathBuf {
    clips.join(format!("clip_{i:03}.mp4"))
}

// ---------------------------------------------------------------------------------------------
// Child: one measured side of ours
// ---------------------------------------------------------------------------------------------

/// What a child prints on its last line after `RESULT `.
#[derive(Debug, Default, Clone, Serialize, Deserialize)]
struct ChildReport {
    frames_planned: u64,
    frames_written: u64,
    /// `VmHWM` of the child just before it exits (its peak RSS).
    vm_hwm_kib: u64,
    /// (videos done, `VmRSS` then) each time a video ended.
    rss_by_videos_done: Vec<(u64, u64)>,
    /// Threads of the process at the end.
    threads: u64,
}

async fn child(args: &Args, clips: &Path, mode: &str, out: &Path) -> anyhow::Result<()> {
    let dataset = out.display().to_string();
    let options = ExtractOptions::default()
        .plan(SamplingPlan::every(args.every))
        .quality(JPEG_QUALITY);
    let paths: Vec<PathBuf> = (0..args.videos).map(|i| clip_path(clips, i)).collect();
    let mut report = ChildReport::default();
    match mode {
        "job" => {
            let mut spec = JobSpec::new(dataset)
                .options(options)
                .concurrency(args.concurrency);
            for p in &paths {
                spec = spec.video(p.clone(), "");
            }
            let job = submit(spec)?;
            let mut status = job.subscribe();
            let mut seen = 0;
            loop {
                let s = status.borrow_and_update().clone();
                match s {
                    JobStatus::Running { videos_done, .. } if videos_done > seen => {
                        seen = videos_done;
                        report
                            .rss_by_videos_done
                            .push((seen, proc_status_kib("self", "VmRSS:").unwrap_or(0)));
                    }
                    JobStatus::Succeeded(r) => {
                        report.frames_planned = r.frames_planned;
                        report.frames_written = r.frames_written;
                        break;
                    }
                    s if s.is_final() => bail!("the job did not succeed: {s:?}"),
                    _ => {}
                }
                status.changed().await?;
            }
        }
        "seq" => {
            for (i, p) in paths.iter().enumerate() {
                let r = extract_frames(p.clone(), &dataset, options.clone()).await?;
                report.frames_planned += r.frames_planned;
                report.frames_written += r.frames_written;
                report
                    .rss_by_videos_done
                    .push((i as u64 + 1, proc_status_kib("self", "VmRSS:").unwrap_or(0)));
            }
        }
        other => bail!("unknown child mode {other:?}"),
    }
    report.threads = proc_status_kib("self", "Threads:").unwrap_or(0);
    report.vm_hwm_kib = proc_status_kib("self", "VmHWM:").unwrap_or(0);
    println!("RESULT {}", serde_json::to_string(&report)?);
    Ok(())
}

/// A numeric field of `/proc/PID/status` (`kB` for the memory ones).
fn proc_status_kib(pid: &str, field: &str) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with(field))?;
    line[field.len()..].split_whitespace().next()?.parse().ok()
}

// ---------------------------------------------------------------------------------------------
// Running processes, some at once
// ---------------------------------------------------------------------------------------------

/// A batch of processes, run up to some number at once.
#[derive(Debug, Default, Clone)]
struct Batch {
    wall_s: f64,
    /// User + system CPU time of all processes (NaN without `/usr/bin/time`).
    cpu_s: f64,
    /// The largest peak RSS of one process.
    max_rss_kib: u64,
    /// The sum of the `at_once` largest peaks: a bound on the batch's memory at any moment.
    top_sum_rss_kib: u64,
    /// Our child's report (a batch of one of ours).
    child: Option<ChildReport>,
}

/// Runs processes and measures them.
struct Meter {
    gnu_time: Option<PathBuf>,
    scratch: PathBuf,
}

struct Running {
    child: Child,
    index: usize,
    polled_rss_kib: u64,
}

impl Meter {
    /// Runs `cmds` (program then arguments), at most `at_once` at a time, in order.
    fn run(&self, cmds: &[Vec<String>], at_once: usize) -> anyhow::Result<Batch> {
        fresh_dir(&self.scratch)?;
        let started = Instant::now();
        let mut next = 0;
        let mut running: Vec<Running> = Vec::new();
        let mut rss = vec![0u64; cmds.len()];
        let mut batch = Batch {
            cpu_s: if self.gnu_time.is_some() {
                0.0
            } else {
                f64::NAN
            },
            ..Batch::default()
        };
        loop {
            while running.len() < at_once && next < cmds.len() {
                running.push(self.spawn(&cmds[next], next)?);
                next += 1;
            }
            if running.is_empty() {
                break;
            }
            let mut k = 0;
            let mut ended = false;
            while k < running.len() {
                let r = &mut running[k];
                if self.gnu_time.is_none()
                    && let Some(kib) = proc_status_kib(&r.child.id().to_string(), "VmHWM:")
                {
                    r.polled_rss_kib = r.polled_rss_kib.max(kib);
                }
                match r.child.try_wait()? {
                    None => k += 1,
                    Some(status) => {
                        let r = running.swap_remove(k);
                        ended = true;
                        let what = cmds[r.index].join(" ");
                        let out = self.read(r.index, "stdout")?;
                        if !status.success() {
                            bail!(
                                "{what} failed ({status}):\n{out}{}",
                                self.read(r.index, "stderr")?
                            );
                        }
                        if let Some(json) =
                            out.lines().rev().find_map(|l| l.strip_prefix("RESULT "))
                        {
                            batch.child = Some(serde_json::from_str(json)?);
                        }
                        rss[r.index] = r.polled_rss_kib;
                        if self.gnu_time.is_some() {
                            let (cpu, peak) = self.time_of(r.index)?;
                            batch.cpu_s += cpu;
                            rss[r.index] = peak;
                        } else if let Some(c) = &batch.child {
                            rss[r.index] = rss[r.index].max(c.vm_hwm_kib);
                        }
                    }
                }
            }
            if !ended {
                std::thread::sleep(Duration::from_millis(5));
            }
        }
        batch.wall_s = started.elapsed().as_secs_f64();
        rss.sort_unstable_by(|a, b| b.cmp(a));
        batch.max_rss_kib = rss.first().copied().unwrap_or(0);
        batch.top_sum_rss_kib = rss.iter().take(at_once).sum();
        Ok(batch)
    }

    fn spawn(&self, cmd: &[String], index: usize) -> anyhow::Result<Running> {
        let (program, args) = cmd.split_first().context("empty command")?;
        let mut c = match &self.gnu_time {
            Some(t) => {
                let mut c = Command::new(t);
                c.arg("-o")
                    .arg(self.scratch.join(format!("{index}.time")))
                    .args(["-f", "%e %U %S %M"])
                    .arg(program);
                c
            }
            None => Command::new(program),
        };
        // Output into files: a pipe nobody reads while we poll could fill and block the child.
        let file = |ext: &str| File::create(self.scratch.join(format!("{index}.{ext}")));
        let child = c
            .args(args)
            .stdin(Stdio::null())
            .stdout(file("stdout")?)
            .stderr(file("stderr")?)
            .spawn()
            .with_context(|| format!("starting {}", cmd.join(" ")))?;
        Ok(Running {
            child,
            index,
            polled_rss_kib: 0,
        })
    }

    fn read(&self, index: usize, ext: &str) -> anyhow::Result<String> {
        Ok(std::fs::read_to_string(
            self.scratch.join(format!("{index}.{ext}")),
        )?)
    }

    /// CPU seconds and peak RSS (KiB) of process `index`, from `/usr/bin/time`.
    fn time_of(&self, index: usize) -> anyhow::Result<(f64, u64)> {
        let text = self.read(index, "time")?;
        let f: Vec<&str> = text
            .lines()
            .last()
            .unwrap_or_default()
            .split_whitespace()
            .collect();
        ensure!(f.len() == 4, "unexpected /usr/bin/time output {text:?}");
        Ok((f[1].parse::<f64>()? + f[2].parse::<f64>()?, f[3].parse()?))
    }
}

// ---------------------------------------------------------------------------------------------
// Parent
// ---------------------------------------------------------------------------------------------

/// Generates the clips that are missing, `at_once` ffmpeg processes at a time; checks the
/// first one (frame count, B-frames).
fn generate_clips(meter: &Meter, a: &Args, clips: &Path, count: usize) -> anyhow::Result<()> {
    std::fs::create_dir_all(clips)?;
    let missing: Vec<usize> = (0..count)
        .filter(|&i| !clip_path(clips, i).exists())
        .collect();
    if !missing.is_empty() {
        eprintln!(
            "generating {} clips into {} ...",
            missing.len(),
            clips.display()
        );
        let started = Instant::now();
        let cmds: Vec<Vec<String>> = missing
            .iter()
            .map(|&i| {
                let path = clip_path(clips, i);
                let tmp = path.with_extension("tmp.mp4");
                // A hue and a noise seed of its own per clip: distinct content, same cost.
                let filter = format!(
                    "testsrc2=size={}x{}:rate={}:duration={},hue=h={},noise=alls=6:allf=t:all_seed={}",
                    SIZE.0,
                    SIZE.1,
                    a.fps,
                    a.seconds,
                    (i * 47) % 360,
                    i + 1
                );
                let g = GOP.to_string();
                [
                    "ffmpeg", "-hide_banner", "-nostdin", "-v", "error", "-y", "-f", "lavfi", "-i",
                    &filter, "-c:v", "libx264", "-preset", "veryfast", "-bf", "3", "-g", &g,
                    "-keyint_min", &g, "-sc_threshold", "0", "-pix_fmt", "yuv420p", "-movflags",
                    "+faststart", "-threads", "1",
                ]
                .iter()
                .map(|s| s.to_string())
                .chain([tmp.display().to_string()])
                .collect()
            })
            .collect();
        meter
            .run(&cmds, a.concurrency)
            .context("generating the clips with ffmpeg (is it installed?)")?;
        for &i in &missing {
            let path = clip_path(clips, i);
            std::fs::rename(path.with_extension("tmp.mp4"), &path)?;
        }
        eprintln!("  done in {:.1} s", started.elapsed().as_secs_f64());
    }
    let first = clip_path(clips, 0);
    let table = futures::executor::block_on(async {
        let mut d = GstDemuxer::open(&first)?;
        d.frame_table().await
    })?;
    ensure!(
        table.len() == a.seconds * a.fps,
        "{}: {} frames, expected {}",
        first.display(),
        table.len(),
        a.seconds * a.fps
    );
    ensure!(
        table
            .as_slice()
            .windows(2)
            .any(|w| w[1].decode_order < w[0].decode_order),
        "{}: no B-frames",
        first.display()
    );
    Ok(())
}

/// The ffmpeg command that samples clip `i` into `out/clip_{i}/`.
fn ffmpeg_cmd(a: &Args, clips: &Path, out: &Path, i: usize) -> anyhow::Result<Vec<String>> {
    let dir = out.join(format!("clip_{i:03}"));
    std::fs::create_dir_all(&dir)?;
    let select = format!("select=not(mod(n\\,{}))", a.every);
    Ok([
        "ffmpeg",
        "-hide_banner",
        "-nostdin",
        "-v",
        "error",
        "-i",
        &clip_path(clips, i).display().to_string(),
        "-map",
        "0:v:0",
        "-vf",
        &select,
        "-fps_mode",
        "passthrough",
        "-q:v",
        "2",
        "-f",
        "image2",
        &dir.join("%06d.jpg").display().to_string(),
    ]
    .iter()
    .map(|s| s.to_string())
    .collect())
}

/// JPEG files under `dir`, recursively.
fn count_jpegs(dir: &Path) -> anyhow::Result<u64> {
    let mut n = 0;
    for e in std::fs::read_dir(dir).with_context(|| dir.display().to_string())? {
        let e = e?;
        let p = e.path();
        if e.file_type()?.is_dir() {
            n += count_jpegs(&p)?;
        } else if p.extension().is_some_and(|x| x == "jpg") {
            n += 1;
        }
    }
    Ok(n)
}

fn fresh_dir(dir: &Path) -> anyhow::Result<()> {
    if dir.exists() {
        std::fs::remove_dir_all(dir).with_context(|| format!("removing {}", dir.display()))?;
    }
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    Ok(())
}

/// One configuration measured.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Config {
    OursJob,
    OursSeq,
    FfmpegPar,
    FfmpegSeq,
}

impl Config {
    const ALL: [Config; 4] = [
        Config::OursJob,
        Config::OursSeq,
        Config::FfmpegPar,
        Config::FfmpegSeq,
    ];

    fn label(self, a: &Args) -> String {
        match self {
            Config::OursJob => format!("ours: one job (concurrency {})", a.concurrency),
            Config::OursSeq => "ours: extract_frames, one video after another".into(),
            Config::FfmpegPar => {
                format!("ffmpeg CLI: a process per video, {} at once", a.concurrency)
            }
            Config::FfmpegSeq => "ffmpeg CLI: a process per video, one at a time".into(),
        }
    }

    fn at_once(self, a: &Args) -> usize {
        match self {
            Config::OursJob | Config::FfmpegPar => a.concurrency,
            Config::OursSeq | Config::FfmpegSeq => 1,
        }
    }
}

/// Runs one configuration over `videos` clips into a fresh `out`; checks the image count.
fn measure(
    meter: &Meter,
    a: &Args,
    clips: &Path,
    out: &Path,
    config: Config,
    videos: usize,
) -> anyhow::Result<Batch> {
    fresh_dir(out)?;
    let me = std::env::current_exe()?.display().to_string();
    let ours = |mode: &str| {
        let mut cmd = vec![me.clone()];
        cmd.extend(a.child_args(mode, videos, out));
        vec![cmd]
    };
    let (cmds, at_once) = match config {
        Config::OursJob => (ours("job"), 1),
        Config::OursSeq => (ours("seq"), 1),
        Config::FfmpegPar | Config::FfmpegSeq => (
            (0..videos)
                .map(|i| ffmpeg_cmd(a, clips, out, i))
                .collect::<anyhow::Result<Vec<_>>>()?,
            config.at_once(a),
        ),
    };
    let batch = meter.run(&cmds, at_once)?;
    let images = count_jpegs(out)?;
    let expected = a.expected_images(videos);
    ensure!(
        images == expected,
        "{}: {images} images written, expected {expected}",
        config.label(a)
    );
    if let Some(c) = &batch.child {
        ensure!(
            c.frames_written == expected && c.frames_planned == expected,
            "{}: {} frames planned, {} written, expected {expected}",
            config.label(a),
            c.frames_planned,
            c.frames_written
        );
    }
    Ok(batch)
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    match v.len() {
        0 => f64::NAN,
        n if n % 2 == 1 => v[n / 2],
        n => (v[n / 2 - 1] + v[n / 2]) / 2.0,
    }
}

fn mib(kib: u64) -> f64 {
    kib as f64 / 1024.0
}

fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "?".into())
}

fn parent(a: &Args, dir: &Path, clips: &Path) -> anyhow::Result<()> {
    let gnu_time = Path::new("/usr/bin/time");
    let meter = Meter {
        gnu_time: gnu_time.exists().then(|| gnu_time.to_path_buf()),
        scratch: dir.join("scratch"),
    };
    generate_clips(&meter, a, clips, a.videos.max(a.rss_videos))?;
    let out = dir.join("out");
    let frames = a.seconds * a.fps;
    println!(
        "{} clips of {} s, {}x{} at {} fps ({frames} frames, GOP {GOP}, 3 B-frames); every {}th \
         frame as JPEG ({} images per clip); concurrency {}; {} repetition(s), medians",
        a.videos,
        a.seconds,
        SIZE.0,
        SIZE.1,
        a.fps,
        a.every,
        frames.div_ceil(a.every),
        a.concurrency,
        a.reps
    );
    println!(
        "peak RSS and CPU time: {}; load average before: {}",
        if meter.gnu_time.is_some() {
            "/usr/bin/time (wait4)"
        } else {
            "polling /proc/PID/status"
        },
        load_average()
    );

    let mut runs: BTreeMap<Config, Vec<Batch>> = BTreeMap::new();
    let mut big: Vec<Batch> = Vec::new();
    for rep in 0..a.reps {
        // Who goes first turns with each repetition, so that load from elsewhere spreads.
        let mut order = Config::ALL.to_vec();
        let n = order.len();
        order.rotate_left(rep % n);
        for config in order {
            let b = measure(&meter, a, clips, &out, config, a.videos)?;
            eprintln!(
                "rep {}: {:<50} {:>7.2} s",
                rep + 1,
                config.label(a),
                b.wall_s
            );
            runs.entry(config).or_default().push(b);
        }
        let b = measure(&meter, a, clips, &out, Config::OursJob, a.rss_videos)?;
        eprintln!(
            "rep {}: {:<50} {:>7.2} s",
            rep + 1,
            format!("ours: one job over {} videos", a.rss_videos),
            b.wall_s
        );
        big.push(b);
    }
    fresh_dir(&out)?;
    std::fs::remove_dir_all(&out)?;
    println!("load average after: {}", load_average());

    let med = |v: &[Batch], f: fn(&Batch) -> f64| median(v.iter().map(f).collect());
    let wall = |c: Config| med(&runs[&c], |b| b.wall_s);
    let cpu = |c: Config| med(&runs[&c], |b| b.cpu_s);
    let peak = |v: &[Batch]| v.iter().map(|b| b.max_rss_kib).max().unwrap_or(0);
    let top = |v: &[Batch]| v.iter().map(|b| b.top_sum_rss_kib).max().unwrap_or(0);
    // How busy the cores were: CPU time over wall time times the cores (100 % = every core
    // busy for the whole run).
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get()) as f64;
    let busy = |cpu_s: f64, wall_s: f64| 100.0 * cpu_s / (wall_s * cores);

    println!();
    println!(
        "| run | videos | at once | images | wall s | CPU s | CPU utilisation ({cores} cores) | peak RSS MiB (one process) | peak RSS MiB (all at once, bound) |"
    );
    println!("|---|---|---|---|---|---|---|---|---|");
    for c in Config::ALL {
        println!(
            "| {} | {} | {} | {} | {:.2} | {:.2} | {:.0} % | {:.0} | {:.0} |",
            c.label(a),
            a.videos,
            c.at_once(a),
            a.expected_images(a.videos),
            wall(c),
            cpu(c),
            busy(cpu(c), wall(c)),
            mib(peak(&runs[&c])),
            mib(top(&runs[&c])),
        );
    }
    println!(
        "| ours: one job (concurrency {}) | {} | {} | {} | {:.2} | {:.2} | {:.0} % | {:.0} | {:.0} |",
        a.concurrency,
        a.rss_videos,
        a.concurrency,
        a.expected_images(a.rss_videos),
        med(&big, |b| b.wall_s),
        med(&big, |b| b.cpu_s),
        busy(med(&big, |b| b.cpu_s), med(&big, |b| b.wall_s)),
        mib(peak(&big)),
        mib(peak(&big)),
    );

    let ratio = |x: f64, y: f64| x / y;
    println!();
    println!("| comparison | wall ratio | CPU ratio |");
    println!("|---|---|---|");
    let row = |name: String, x: Config, y: Config| {
        println!(
            "| {name} | **{:.2}×** | {:.2}× |",
            ratio(wall(x), wall(y)),
            ratio(cpu(x), cpu(y))
        );
    };
    row(
        format!(
            "ours: one job / one video after another ({} videos)",
            a.videos
        ),
        Config::OursJob,
        Config::OursSeq,
    );
    row(
        format!("ffmpeg: {} at once / one at a time", a.concurrency),
        Config::FfmpegPar,
        Config::FfmpegSeq,
    );
    row(
        format!(
            "ours one job / ffmpeg {} at once (same parallelism)",
            a.concurrency
        ),
        Config::OursJob,
        Config::FfmpegPar,
    );
    row(
        "ours one after another / ffmpeg one at a time".into(),
        Config::OursSeq,
        Config::FfmpegSeq,
    );

    let (small, large) = (peak(&runs[&Config::OursJob]), peak(&big));
    let per_video = (large as f64 - small as f64) / (a.rss_videos as f64 - a.videos as f64);
    println!();
    println!(
        "peak RSS of one job: {:.1} MiB over {} videos, {:.1} MiB over {} videos: {:.2}× \
         ({:+.0} KiB per added video)",
        mib(small),
        a.videos,
        mib(large),
        a.rss_videos,
        large as f64 / small as f64,
        per_video
    );
    let each = |v: &[Batch]| {
        v.iter()
            .map(|b| format!("{:.0}", mib(b.max_rss_kib)))
            .collect::<Vec<_>>()
            .join(", ")
    };
    println!(
        "peak RSS MiB of each repetition: {} videos: {}; {} videos: {}",
        a.videos,
        each(&runs[&Config::OursJob]),
        a.rss_videos,
        each(&big)
    );
    // Where the memory goes as the job goes on: VmRSS as videos end (last repetition).
    if let Some(c) = big.last().and_then(|b| b.child.as_ref()) {
        let at: Vec<String> = c
            .rss_by_videos_done
            .iter()
            .filter(|(n, _)| {
                let q = (a.rss_videos as u64).div_ceil(8).max(1);
                n % q == 0 || *n == a.rss_videos as u64
            })
            .map(|(n, kib)| format!("{n}: {:.0}", mib(*kib)))
            .collect();
        println!(
            "VmRSS MiB of the {}-video job after N videos ended: {}; threads at the end: {}",
            a.rss_videos,
            at.join(", "),
            c.threads
        );
    }
    Ok(())
}
