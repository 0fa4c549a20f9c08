//! Decoding speed and peak memory of video-dataset beside the ffmpeg CLI, on the same generated
//! clips, in the same run.
//!
//! `cargo bench --bench decode` generates (once, cached in `target/bench-fixtures/`) 30 fps
//! clips with B-frames and closed GOPs of 250 frames: 1080p H.264 `BENCH_SECONDS` long (20 s)
//! and three times as long (60 s), 1080p HEVC as long as the short one, and 2160p H.264 half
//! as long and as long (`BENCH_4K=0` leaves the 4K clips out), then measures:
//!
//! | Workload       | Ours                                          | ffmpeg CLI                                        |
//! |----------------|-----------------------------------------------|---------------------------------------------------|
//! | `dense-rgb`    | every frame as RGB8, discarded                | `-pix_fmt rgb24 -f rawvideo /dev/null`            |
//! | `dense-native` | every frame in the decoder's format (I420)    | `-f rawvideo /dev/null` (yuv420p)                 |
//! | `every30-jpeg` | every 30th frame, JPEG q90 files (H.264, HEVC)| `select=not(mod(n\,30))`, `-q:v 2` JPEG files      |
//! | `random100-jpeg` | 100 random frames (fixed seed), JPEG files  | `select=eq(n\,a)+eq(n\,b)+…`, JPEG files           |
//! | `random100-rgb` | the same frames as RGB8, discarded           | the same `select`, `-pix_fmt rgb24 -f rawvideo`   |
//! | `fps2-10-50s-jpeg` | 2 fps in [10 s, 50 s) of the 60 s clip    | the same frames by `select=eq(n\,a)+…`             |
//! | `gopsK-jpeg`   | one frame in the middle of K GOPs, long clip  | one `ffmpeg -ss T -i … -frames:v 1` per frame      |
//!
//! Issue 11's targets compare some rows with `ffmpeg -i CLIP -f null -` (decoding every frame
//! of the clip, no output), measured beside ours in each repetition of such a row, and are
//! checked in a last table (the median of the repetitions' ratios).
//!
//! Each measurement is a separate process, ours being this binary re-run as
//! `--child PLAN OUTPUT CLIP OUTDIR`, so that both sides pay for process start-up and are
//! measured the same way: wall time by this process, CPU time and peak RSS by `/usr/bin/time`
//! (from `wait4`). Without `/usr/bin/time`, `/proc/PID/status` is polled instead (peak RSS
//! then may miss a short final spike). Runs of ours and ffmpeg alternate, and the median of
//! `BENCH_REPS` repetitions is reported, so that load from other processes hits both sides.
//!
//! Environment: `BENCH_SECONDS` (length of the short clip, default 20), `BENCH_REPS` (default
//! 3), `BENCH_4K=0` to leave out the 2160p rows, `BENCH_SKIP=0` to hand every frame of a
//! decoded stretch to the decoder (`DecodeOptions::skip_unreferenced(false)`),
//! `BENCH_THREAD_BYTES=N` for `DecodeOptions::decoder_thread_bytes(N)`,
//! `BENCH_COMPARE=0` to skip the comparison, `BENCH_STAGES=0` to skip the criterion
//! micro-benchmarks of the pure stages (plan resolution, JPEG encoding) that run last. Without
//! `--bench` (`cargo test --all-targets`) it is a smoke test: 2 s clips (1 s and 2 s at 4K), one
//! repetition, criterion in test mode. See `benches/README.md`.

use std::collections::BTreeSet;
use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context, bail, ensure};
use criterion::{Criterion, Throughput};
use futures::StreamExt;
use video_dataset::core::FrameEncoder;
mod common;
use common::{
    ChildOutput, FPS, GOP, Meter, Spec, env_u64, fixture, load_average, median, proc_status_kib,
    tool_version,
};

use video_dataset::core::FramePool;
use video_dataset::image::{ColorMatrix, ColorRange, YuvPlanes, yuv_to_rgb, yuv_to_rgb_in};
use video_dataset::{
    DecodeOptions, Demuxer, EncodeOptions, FrameSource, FrameTable, GstDemuxer, ImageEncoder,
    ImageFormat, OutputFormat, ResolvedPlan, SamplingPlan,
};

/// Seed of the random-frames workload.
const SEED: u64 = 0x00C0_FFEE_5EED;
/// JPEG quality of our encoder; `-q:v 2` is ffmpeg's nearest (files are reported to compare).
const JPEG_QUALITY: u8 = 90;

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    if args.get(1).map(String::as_str) == Some("--child") {
        return child(&args[2..]);
    }
    // Like criterion: `cargo bench` passes `--bench`; without it (`cargo test --benches`,
    // `cargo test --all-targets`) run a quick smoke test on a tiny clip instead.
    let bench = args.iter().any(|a| a == "--bench") && !args.iter().any(|a| a == "--test");
    parent(bench)
}

// ---------------------------------------------------------------------------------------------
// Workloads
// ---------------------------------------------------------------------------------------------

/// Which frames a workload takes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Pick {
    /// Every frame.
    All,
    /// Every n-th frame, starting with the first.
    Every(u64),
    /// This many distinct frames drawn with [`SEED`], in order.
    Random(usize),
    /// One frame in the middle of each of this many GOPs spread over the clip.
    Gops(usize),
    /// This many frames per second over the middle two thirds of the clip: `[d/6, 5d/6)` of
    /// its duration `d` (`[10 s, 50 s)` of the 60 s long clip).
    FpsWindow(u64),
}

impl Pick {
    fn to_arg(self) -> String {
        match self {
            Pick::All => "all".into(),
            Pick::Every(n) => format!("every:{n}"),
            Pick::Random(n) => format!("random:{n}"),
            Pick::Gops(n) => format!("gops:{n}"),
            Pick::FpsWindow(n) => format!("fpswin:{n}"),
        }
    }

    fn parse(s: &str) -> anyhow::Result<Self> {
        let (kind, n) = s.split_once(':').unwrap_or((s, ""));
        Ok(match kind {
            "all" => Pick::All,
            "every" => Pick::Every(n.parse()?),
            "random" => Pick::Random(n.parse()?),
            "gops" => Pick::Gops(n.parse()?),
            "fpswin" => Pick::FpsWindow(n.parse()?),
            _ => bail!("unknown plan {s:?}"),
        })
    }

    /// The plan, resolved against a clip's frame table.
    fn plan(self, table: &FrameTable) -> anyhow::Result<ResolvedPlan> {
        let n = table.len();
        let plan = match self {
            Pick::All => SamplingPlan::all(),
            Pick::Every(k) => SamplingPlan::every(k),
            Pick::Random(count) => SamplingPlan::indices(random_indices(n, count, SEED)),
            Pick::Gops(k) => {
                let keys: Vec<u64> = table
                    .iter()
                    .filter(|f| f.keyframe)
                    .map(|f| f.index)
                    .collect();
                let g = keys.len();
                let k = k.min(g);
                SamplingPlan::indices((0..k).map(|i| {
                    let j = (2 * i + 1) * g / (2 * k);
                    let end = keys.get(j + 1).copied().unwrap_or(n);
                    keys[j] + (end - keys[j]) / 2
                }))
            }
            Pick::FpsWindow(fps) => {
                let d = table.len() as f64 / FPS as f64;
                SamplingPlan::fps(fps as f64).seconds(Some(d / 6.0), Some(d * 5.0 / 6.0))
            }
        };
        Ok(plan.resolve(table)?)
    }

    /// The frame indices, in order.
    fn indices(self, table: &FrameTable) -> anyhow::Result<Vec<u64>> {
        Ok(self.plan(table)?.indices().to_vec())
    }
}

/// What a workload does with the frames.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Output {
    /// RGB8 frames, discarded.
    Rgb,
    /// The decoder's own format, discarded.
    Native,
    /// RGB8 frames encoded as JPEG files.
    Jpeg,
}

impl Output {
    fn to_arg(self) -> &'static str {
        match self {
            Output::Rgb => "rgb",
            Output::Native => "native",
            Output::Jpeg => "jpeg",
        }
    }

    fn parse(s: &str) -> anyhow::Result<Self> {
        Ok(match s {
            "rgb" => Output::Rgb,
            "native" => Output::Native,
            "jpeg" => Output::Jpeg,
            _ => bail!("unknown output {s:?}"),
        })
    }
}

/// How ffmpeg does the same work.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Peer {
    /// One ffmpeg run over the whole clip (`-f rawvideo /dev/null`, or a `select` filter
    /// writing JPEG files).
    OneRun,
    /// One `ffmpeg -ss T -i CLIP -frames:v 1` run per frame.
    SeekPerFrame,
}

/// The clips the workloads run on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum ClipKind {
    /// 1080p H.264, `BENCH_SECONDS` long.
    Short,
    /// 1080p H.264, three times as long (60 s by default).
    Long,
    /// 1080p HEVC (libx265), as long as the short clip.
    Hevc,
    /// 2160p H.264, half as long as the short clip.
    UhdHalf,
    /// 2160p H.264, as long as the short clip.
    Uhd,
}

/// What issue 11 asks of a workload.
#[derive(Clone, Copy, Debug)]
enum Target {
    /// Our CPU time at most this times that of `ffmpeg -i CLIP -f null -` (decoding every
    /// frame of the clip, no output).
    VsDecodeAll(f64),
    /// Our CPU time at most this times that of the ffmpeg CLI doing the same work.
    VsPeer(f64),
    /// Our peak RSS at most this many MiB.
    PeakRssMib(f64),
}

#[derive(Clone, Copy, Debug)]
struct Workload {
    name: &'static str,
    pick: Pick,
    output: Output,
    clip: ClipKind,
    peer: Peer,
    target: Option<Target>,
}

fn workloads() -> Vec<Workload> {
    use ClipKind::*;
    use Output::*;
    use Target::*;
    let w = |name, pick, output, clip, peer, target| Workload {
        name,
        pick,
        output,
        clip,
        peer,
        target,
    };
    let one = Peer::OneRun;
    vec![
        w(
            "dense-rgb",
            Pick::All,
            Rgb,
            Short,
            one,
            Some(VsDecodeAll(1.15)),
        ),
        w("dense-native", Pick::All, Native, Short, one, None),
        w(
            "every30-jpeg",
            Pick::Every(30),
            Jpeg,
            Short,
            one,
            Some(VsDecodeAll(0.75)),
        ),
        w("random100-jpeg", Pick::Random(100), Jpeg, Short, one, None),
        w(
            "random100-rgb",
            Pick::Random(100),
            Rgb,
            Short,
            one,
            Some(VsDecodeAll(0.75)),
        ),
        w("dense-rgb", Pick::All, Rgb, Long, one, None),
        w(
            "fps2-10-50s-jpeg",
            Pick::FpsWindow(2),
            Jpeg,
            Long,
            one,
            Some(VsDecodeAll(0.55)),
        ),
        w(
            "gops1-jpeg",
            Pick::Gops(1),
            Jpeg,
            Long,
            Peer::SeekPerFrame,
            None,
        ),
        w(
            "gops2-jpeg",
            Pick::Gops(2),
            Jpeg,
            Long,
            Peer::SeekPerFrame,
            None,
        ),
        w(
            "gops4-jpeg",
            Pick::Gops(4),
            Jpeg,
            Long,
            Peer::SeekPerFrame,
            None,
        ),
        w(
            "every30-jpeg",
            Pick::Every(30),
            Jpeg,
            Hevc,
            one,
            Some(VsPeer(0.80)),
        ),
        w(
            "dense-rgb",
            Pick::All,
            Rgb,
            UhdHalf,
            one,
            Some(PeakRssMib(200.0)),
        ),
        w(
            "dense-rgb",
            Pick::All,
            Rgb,
            Uhd,
            one,
            Some(PeakRssMib(200.0)),
        ),
    ]
}

/// `count` distinct indices below `n` (splitmix64 from `seed`), sorted.
fn random_indices(n: u64, count: usize, seed: u64) -> Vec<u64> {
    let mut state = seed;
    let mut next = move || {
        state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    };
    let want = count.min(usize::try_from(n).unwrap_or(usize::MAX));
    let mut set = BTreeSet::new();
    while set.len() < want {
        set.insert(next() % n);
    }
    set.into_iter().collect()
}

/// The fewest frames a decoder must output to reach `targets`: the union of
/// `decode_start(t)..=t`, and the number of GOPs decoding starts from.
fn lower_bound(table: &FrameTable, targets: &[u64]) -> (u64, usize) {
    let mut frames = 0;
    let mut covered_to: Option<u64> = None; // last index already counted
    let mut starts = BTreeSet::new();
    for &t in targets {
        let k = table.decode_start(t).unwrap_or(0);
        starts.insert(k);
        let from = match covered_to {
            Some(c) if c >= k => c + 1,
            _ => k,
        };
        if t >= from {
            frames += t - from + 1;
        }
        covered_to = Some(covered_to.map_or(t, |c| c.max(t)));
    }
    (frames, starts.len())
}

// ---------------------------------------------------------------------------------------------
// Child: one of our workloads, in its own process
// ---------------------------------------------------------------------------------------------

/// What a child reports on its last line of stdout (`RESULT {json}`).
#[derive(Debug, Default, Clone, serde::Serialize, serde::Deserialize)]
struct ChildReport {
    /// Opening the file, probing and building the frame table (a demux-only pass).
    open_s: f64,
    /// The frame stream, including JPEG encoding and file writes.
    decode_s: f64,
    frames_emitted: u64,
    frames_decoded: u64,
    seeks: u64,
    retries: u64,
    /// Frames (access units) handed to the decoder.
    #[serde(default)]
    frames_to_decoder: u64,
    /// Frames dropped before the decoder: no target needs them.
    #[serde(default)]
    frames_skipped: u64,
    /// The targets and the frames they may reference (`DecodeStats::frames_needed`).
    #[serde(default)]
    frames_needed: u64,
    /// `VmHWM` of the child just before it exits.
    vm_hwm_kib: u64,
}

impl ChildOutput for ChildReport {
    fn vm_hwm_kib(&self) -> u64 {
        self.vm_hwm_kib
    }
}

/// A measured run of ours (with its report) or of ffmpeg.
type Run = common::Run<ChildReport>;

fn child(args: &[String]) -> anyhow::Result<()> {
    let [pick, output, clip, outdir] = args else {
        bail!("usage: --child PLAN OUTPUT CLIP OUTDIR");
    };
    let pick = Pick::parse(pick)?;
    let output = Output::parse(output)?;
    let report =
        futures::executor::block_on(run_ours(pick, output, Path::new(clip), Path::new(outdir)))?;
    println!("RESULT {}", serde_json::to_string(&report)?);
    Ok(())
}

async fn run_ours(
    pick: Pick,
    output: Output,
    clip: &Path,
    outdir: &Path,
) -> anyhow::Result<ChildReport> {
    let t0 = Instant::now();
    let mut demuxer = GstDemuxer::open(clip)?;
    let table = demuxer.frame_table().await?;
    let plan = pick.plan(&table)?;
    let opts = DecodeOptions::default()
        .output(match output {
            Output::Native => OutputFormat::Native,
            Output::Rgb | Output::Jpeg => OutputFormat::Rgb8,
        })
        .skip_unreferenced(std::env::var("BENCH_SKIP").map_or(true, |v| v != "0"));
    let opts = match std::env::var("BENCH_THREAD_BYTES") {
        Ok(v) => opts.decoder_thread_bytes(v.parse()?),
        Err(_) => opts,
    };
    let mut source = demuxer.frame_source(opts).await?;
    let open_s = t0.elapsed().as_secs_f64();

    let encoder = ImageEncoder::new(
        EncodeOptions::default()
            .format(ImageFormat::Jpeg)
            .jpeg_quality(JPEG_QUALITY),
    )?;
    let t1 = Instant::now();
    let mut expected = plan.indices().iter();
    let mut emitted = 0u64;
    let mut stream = source.frames(&plan);
    while let Some(frame) = stream.next().await {
        let frame = frame?;
        let want = expected.next().copied();
        ensure!(
            want == Some(frame.info.index),
            "frame {} came out where frame {want:?} was expected",
            frame.info.index
        );
        match output {
            Output::Rgb | Output::Native => {
                black_box(&frame.data);
            }
            Output::Jpeg => {
                let jpeg = encoder.encode(&frame)?;
                std::fs::write(
                    outdir.join(format!("{:06}.jpg", frame.info.index)),
                    &jpeg.bytes,
                )?;
            }
        }
        emitted += 1;
    }
    drop(stream);
    let decode_s = t1.elapsed().as_secs_f64();
    ensure!(
        emitted == plan.len() as u64,
        "{emitted} frames came out of a plan of {}",
        plan.len()
    );
    let stats = source.stats();
    Ok(ChildReport {
        open_s,
        decode_s,
        frames_emitted: stats.frames_emitted,
        frames_decoded: stats.frames_decoded,
        seeks: stats.seeks,
        retries: stats.retries,
        frames_to_decoder: stats.frames_to_decoder,
        frames_skipped: stats.frames_skipped,
        frames_needed: stats.frames_needed,
        vm_hwm_kib: proc_status_kib("self", "VmHWM:").unwrap_or(0),
    })
}

// ---------------------------------------------------------------------------------------------
// Parent
// ---------------------------------------------------------------------------------------------

/// A clip and what we know of it.
struct Clip {
    path: PathBuf,
    seconds: u64,
    table: std::sync::Arc<FrameTable>,
    bytes: u64,
}

/// Every clip of a run.
struct Clips {
    short: Clip,
    long: Clip,
    hevc: Clip,
    /// Half as long as `short`, and as long (`BENCH_4K=0`: none).
    uhd: Option<[Clip; 2]>,
}

impl Clips {
    fn get(&self, kind: ClipKind) -> Option<&Clip> {
        match kind {
            ClipKind::Short => Some(&self.short),
            ClipKind::Long => Some(&self.long),
            ClipKind::Hevc => Some(&self.hevc),
            ClipKind::UhdHalf => self.uhd.as_ref().map(|u| &u[0]),
            ClipKind::Uhd => self.uhd.as_ref().map(|u| &u[1]),
        }
    }

    fn all(&self) -> impl Iterator<Item = &Clip> {
        [&self.short, &self.long, &self.hevc]
            .into_iter()
            .chain(self.uhd.iter().flatten())
    }
}

fn open_clip(path: PathBuf, seconds: u64) -> anyhow::Result<Clip> {
    let table = futures::executor::block_on(async {
        let mut d = GstDemuxer::open(&path)?;
        d.frame_table().await
    })?;
    ensure!(
        table.len() == seconds * FPS,
        "{}: {} frames in the frame table, expected {}",
        path.display(),
        table.len(),
        seconds * FPS
    );
    let b_frames = table
        .as_slice()
        .windows(2)
        .any(|w| w[1].decode_order < w[0].decode_order);
    ensure!(
        b_frames,
        "{}: no B-frames (decode order = presentation order)",
        path.display()
    );
    let bytes = std::fs::read(&path)?.len() as u64; // also warms the page cache
    Ok(Clip {
        path,
        seconds,
        table,
        bytes,
    })
}

/// The ffmpeg command line(s) doing a workload's work.
fn ffmpeg_runs(w: &Workload, clip: &Clip, outdir: &Path) -> anyhow::Result<Vec<Vec<String>>> {
    let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<String>>();
    let clip_s = clip.path.display().to_string();
    let mut base = s(&["-hide_banner", "-nostdin", "-v", "error"]);
    let jpeg_out = outdir.join("%06d.jpg").display().to_string();
    let select = |expr: String, output: Output| {
        let sink = match output {
            Output::Jpeg => s(&["-q:v", "2", "-f", "image2", &jpeg_out]),
            Output::Rgb => s(&["-pix_fmt", "rgb24", "-f", "rawvideo", "-y", "/dev/null"]),
            Output::Native => s(&["-f", "rawvideo", "-y", "/dev/null"]),
        };
        s(&["-vf", &format!("select={expr}"), "-fps_mode", "passthrough"])
            .into_iter()
            .chain(sink)
            .collect::<Vec<String>>()
    };
    if w.peer == Peer::SeekPerFrame {
        return w
            .pick
            .indices(&clip.table)?
            .into_iter()
            .map(|t| {
                // Input seeking is exact by default (decodes from the key frame before and
                // drops frames before T); 1 ms early so that rounding cannot skip the target.
                let secs = clip.table.pts_of(t).map_or(0.0, |p| p.as_seconds()) - 0.001;
                let mut a = base.clone();
                a.extend(s(&["-ss", &format!("{:.6}", secs.max(0.0)), "-i", &clip_s]));
                a.extend(s(&["-map", "0:v:0", "-frames:v", "1", "-q:v", "2", "-y"]));
                a.push(outdir.join(format!("{t:06}.jpg")).display().to_string());
                Ok(a)
            })
            .collect();
    }
    base.extend(s(&["-i", &clip_s, "-map", "0:v:0"]));
    let tail = match (w.pick, w.output) {
        (Pick::All, Output::Rgb) => s(&[
            "-fps_mode",
            "passthrough",
            "-pix_fmt",
            "rgb24",
            "-f",
            "rawvideo",
            "-y",
            "/dev/null",
        ]),
        (Pick::All, Output::Native) => s(&[
            "-fps_mode",
            "passthrough",
            "-f",
            "rawvideo",
            "-y",
            "/dev/null",
        ]),
        (Pick::Every(n), output) => select(format!("not(mod(n\\,{n}))"), output),
        (pick, output) => {
            let terms: Vec<String> = pick
                .indices(&clip.table)?
                .iter()
                .map(|i| format!("eq(n\\,{i})"))
                .collect();
            select(terms.join("+"), output)
        }
    };
    base.extend(tail);
    Ok(vec![base])
}

/// Files in `dir` and their total size.
fn files_in(dir: &Path) -> anyhow::Result<(u64, u64)> {
    let mut n = 0;
    let mut bytes = 0;
    for e in std::fs::read_dir(dir)? {
        n += 1;
        bytes += e?.metadata()?.len();
    }
    Ok((n, bytes))
}

fn fresh_dir(dir: &Path) -> anyhow::Result<()> {
    if dir.exists() {
        std::fs::remove_dir_all(dir)?;
    }
    std::fs::create_dir_all(dir)?;
    Ok(())
}

/// All measurements of one workload.
#[derive(Default)]
struct Results {
    ours: Vec<Run>,
    ffmpeg: Vec<Run>,
    /// `ffmpeg -i CLIP -f null -` on the row's clip, measured beside ours in each repetition
    /// (rows with a [`Target::VsDecodeAll`] only).
    decode_all: Vec<Run>,
    /// Files written and their bytes, ours and ffmpeg's (last run).
    files: [(u64, u64); 2],
}

fn parent(bench: bool) -> anyhow::Result<()> {
    let seconds = env_u64("BENCH_SECONDS", if bench { 20 } else { 2 })?;
    let reps = env_u64("BENCH_REPS", if bench { 3 } else { 1 })?.max(1);
    let compare = env_u64("BENCH_COMPARE", 1)? != 0;
    let stages = env_u64("BENCH_STAGES", 1)? != 0;
    ensure!(seconds >= 1, "BENCH_SECONDS must be at least 1");
    if !bench {
        println!("test mode (no --bench): a smoke run on a {seconds} s clip; use `cargo bench`");
    }

    let uhd = env_u64("BENCH_4K", 1)? != 0;
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/bench-fixtures");
    std::fs::create_dir_all(&dir)?;
    let make = |codec, height, seconds| {
        open_clip(
            fixture(
                &dir,
                Spec {
                    codec,
                    height,
                    seconds,
                },
            )?,
            seconds,
        )
    };
    let clips = Clips {
        short: make("h264", 1080, seconds)?,
        long: make("h264", 1080, 3 * seconds)?,
        hevc: make("hevc", 1080, seconds)?,
        uhd: if uhd {
            Some([
                make("h264", 2160, seconds.div_ceil(2))?,
                make("h264", 2160, seconds)?,
            ])
        } else {
            None
        },
    };
    let meter = Meter::new(&dir);

    println!("# decode bench: video-dataset vs ffmpeg CLI");
    println!("clips (30 fps, B-frames, GOP {GOP}):");
    for clip in clips.all() {
        println!(
            "- {} ({} frames, {:.1} MB)",
            clip.path.file_name().unwrap_or_default().to_string_lossy(),
            clip.table.len(),
            clip.bytes as f64 / 1e6,
        );
    }
    println!(
        "{}; {}; {} CPUs; {} repetitions; peak RSS and CPU by {}",
        tool_version("ffmpeg", "-version"),
        tool_version("gst-launch-1.0", "--gst-version"),
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        reps,
        meter.how()
    );
    if compare {
        compare_with_ffmpeg(&meter, &clips, reps, &dir)?;
    }
    if stages {
        micro_stages(&clips.long)?;
    }
    Ok(())
}

/// `ffmpeg -i CLIP -f null -`: decoding every frame, no output; the baseline of issue 11's
/// targets.
fn decode_all_args(clip: &Clip) -> Vec<String> {
    ["-hide_banner", "-nostdin", "-v", "error", "-i"]
        .iter()
        .map(|x| x.to_string())
        .chain([clip.path.display().to_string()])
        .chain(["-f", "null", "-"].iter().map(|x| x.to_string()))
        .collect()
}

/// Runs every workload `reps` times, ours and ffmpeg's alternately, and prints the tables.
fn compare_with_ffmpeg(meter: &Meter, clips: &Clips, reps: u64, dir: &Path) -> anyhow::Result<()> {
    let exe = std::env::current_exe()?;
    let ffmpeg = PathBuf::from("ffmpeg");
    let (ours_dir, ff_dir) = (dir.join("out-ours"), dir.join("out-ffmpeg"));
    let load_before = load_average();
    let started = Instant::now();

    let list: Vec<Workload> = workloads()
        .into_iter()
        .filter(|w| clips.get(w.clip).is_some())
        .collect();
    let clip_of = |w: &Workload| clips.get(w.clip).expect("filtered above");
    let mut results: Vec<Results> = list.iter().map(|_| Results::default()).collect();
    for rep in 0..reps {
        for (w, r) in list.iter().zip(results.iter_mut()) {
            let clip = clip_of(w);
            let ours_args: Vec<String> = vec![
                "--child".into(),
                w.pick.to_arg(),
                w.output.to_arg().into(),
                clip.path.display().to_string(),
                ours_dir.display().to_string(),
            ];
            let ff_args = ffmpeg_runs(w, clip, &ff_dir)?;
            // Alternate who goes first. A row whose target is decoding every frame with no
            // output measures that too, beside ours (the machine's speed drifts over minutes:
            // a baseline measured at another moment skews the ratio by 10 % or more here).
            let sides: Vec<u64> = if matches!(w.target, Some(Target::VsDecodeAll(_))) {
                (0..3).map(|i| (i + rep) % 3).collect()
            } else {
                vec![rep % 2, 1 - rep % 2]
            };
            for side in sides {
                if side == 2 {
                    let run = meter.measure(&ffmpeg, &decode_all_args(clip))?;
                    eprintln!(
                        "rep {}/{reps} {:<17} {:>3}s clip: ffmpeg -f null {:6.2} s ({:.2} s CPU)",
                        rep + 1,
                        w.name,
                        clip.seconds,
                        run.wall_s,
                        run.cpu_s
                    );
                    r.decode_all.push(run);
                } else if side == 0 {
                    fresh_dir(&ours_dir)?;
                    let run = meter.measure(&exe, &ours_args)?;
                    r.files[0] = files_in(&ours_dir)?;
                    r.ours.push(run);
                } else {
                    fresh_dir(&ff_dir)?;
                    let mut total = Run::default();
                    for a in &ff_args {
                        total.add(meter.measure(&ffmpeg, a)?);
                    }
                    r.files[1] = files_in(&ff_dir)?;
                    r.ffmpeg.push(total);
                }
            }
            let last = r
                .ours
                .last()
                .and_then(|o| o.child.clone())
                .unwrap_or_default();
            eprintln!(
                "rep {}/{reps} {:<17} {:>3}s clip{}: ours {:6.2} s, ffmpeg {:6.2} s (to decoder {}, decoded {}, skipped {}, seeks {})",
                rep + 1,
                w.name,
                clip.seconds,
                clip_label(w.clip),
                r.ours.last().map_or(f64::NAN, |x| x.wall_s),
                r.ffmpeg.last().map_or(f64::NAN, |x| x.wall_s),
                last.frames_to_decoder,
                last.frames_decoded,
                last.frames_skipped,
                last.seeks,
            );
        }
    }
    let _ = std::fs::remove_dir_all(&ours_dir);
    let _ = std::fs::remove_dir_all(&ff_dir);

    let mib = |kib: f64| kib / 1024.0;
    let med = |runs: &[Run], f: fn(&Run) -> f64| median(runs.iter().map(f).collect());
    println!();
    println!(
        "| workload | clip | frames out | ours s | ffmpeg s | ours/ffmpeg | ours CPU s | ffmpeg CPU s | CPU ratio | ours peak RSS MiB | ffmpeg peak RSS MiB |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|---|");
    for (w, r) in list.iter().zip(&results) {
        let clip = clip_of(w);
        let (ow, fw) = (med(&r.ours, |x| x.wall_s), med(&r.ffmpeg, |x| x.wall_s));
        let (oc, fc) = (med(&r.ours, |x| x.cpu_s), med(&r.ffmpeg, |x| x.cpu_s));
        let (orss, frss) = (
            med(&r.ours, |x| x.peak_rss_kib as f64),
            med(&r.ffmpeg, |x| x.peak_rss_kib as f64),
        );
        let out = r
            .ours
            .last()
            .and_then(|o| o.child.as_ref())
            .map_or(0, |c| c.frames_emitted);
        println!(
            "| {} | {} s{} | {} | {:.2} | {:.2} | **{:.2}×** | {:.2} | {:.2} | {:.2}× | {:.0} | {:.0} |",
            w.name,
            clip.seconds,
            clip_label(w.clip),
            out,
            ow,
            fw,
            ow / fw,
            oc,
            fc,
            oc / fc,
            mib(orss),
            mib(frss),
        );
    }

    println!();
    println!(
        "| workload | clip | ours: open + frame table s | ours: frames s | frames to decoder | frames decoded | skipped before decoder | lower bound: referenced | lower bound: GOPs | decoded / referenced bound | seeks | retries | JPEG files ours / ffmpeg | mean JPEG KiB ours / ffmpeg |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|");
    for (w, r) in list.iter().zip(&results) {
        let clip = clip_of(w);
        let reports: Vec<&ChildReport> = r.ours.iter().filter_map(|o| o.child.as_ref()).collect();
        let open = median(reports.iter().map(|c| c.open_s).collect());
        let frames = median(reports.iter().map(|c| c.decode_s).collect());
        let last = reports.last().copied().cloned().unwrap_or_default();
        let (bound, gops) = lower_bound(&clip.table, &w.pick.indices(&clip.table)?);
        let jpeg = if w.output == Output::Jpeg {
            let mean = |(n, b): (u64, u64)| {
                if n == 0 {
                    0.0
                } else {
                    b as f64 / n as f64 / 1024.0
                }
            };
            (
                format!("{} / {}", r.files[0].0, r.files[1].0),
                format!("{:.0} / {:.0}", mean(r.files[0]), mean(r.files[1])),
            )
        } else {
            ("–".into(), "–".into())
        };
        println!(
            "| {} | {} s{} | {:.2} | {:.2} | {} | {} | {} | {} | {} ({}) | {:.2} | {} | {} | {} | {} |",
            w.name,
            clip.seconds,
            clip_label(w.clip),
            open,
            frames,
            last.frames_to_decoder,
            last.frames_decoded,
            last.frames_skipped,
            last.frames_needed,
            bound,
            gops,
            last.frames_decoded as f64 / last.frames_needed.max(1) as f64,
            last.seeks,
            last.retries,
            jpeg.0,
            jpeg.1,
        );
    }

    println!();
    println!("Against the targets (`ffmpeg -i CLIP -f null -` decodes every frame, no output):");
    println!();
    println!(
        "| workload | clip | ours CPU s | compared with | its CPU s | CPU ratio | wall ratio | target | met |"
    );
    println!("|---|---|---|---|---|---|---|---|---|");
    for (w, r) in list.iter().zip(&results) {
        let Some(target) = w.target else { continue };
        let clip = clip_of(w);
        let (oc, ow) = (med(&r.ours, |x| x.cpu_s), med(&r.ours, |x| x.wall_s));
        let (what, other, limit, ratio_cpu, ratio_wall) = match target {
            Target::VsDecodeAll(limit) => {
                // The median of each repetition's ratio: ours and the baseline side by side.
                let paired = |f: fn(&Run) -> f64| {
                    median(
                        r.ours
                            .iter()
                            .zip(&r.decode_all)
                            .map(|(o, b)| f(o) / f(b))
                            .collect(),
                    )
                };
                (
                    "ffmpeg -f null",
                    med(&r.decode_all, |x| x.cpu_s),
                    limit,
                    paired(|x| x.cpu_s),
                    paired(|x| x.wall_s),
                )
            }
            Target::VsPeer(limit) => {
                let (fc, fw) = (med(&r.ffmpeg, |x| x.cpu_s), med(&r.ffmpeg, |x| x.wall_s));
                ("ffmpeg, same work", fc, limit, oc / fc, ow / fw)
            }
            Target::PeakRssMib(limit) => {
                let rss = mib(med(&r.ours, |x| x.peak_rss_kib as f64));
                println!(
                    "| {} | {} s{} | {:.2} | – | – | peak RSS {:.0} MiB | – | ≤ {:.0} MiB | {} |",
                    w.name,
                    clip.seconds,
                    clip_label(w.clip),
                    oc,
                    rss,
                    limit,
                    if rss <= limit { "yes" } else { "**no**" },
                );
                continue;
            }
        };
        println!(
            "| {} | {} s{} | {:.2} | {} | {:.2} | **{:.2}×** | {:.2}× | ≤ {:.2}× | {} |",
            w.name,
            clip.seconds,
            clip_label(w.clip),
            oc,
            what,
            other,
            ratio_cpu,
            ratio_wall,
            limit,
            if ratio_cpu <= limit { "yes" } else { "**no**" },
        );
    }
    println!();
    println!(
        "load average before: {load_before}, after: {}; comparison took {:.0} s",
        load_average(),
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// How a clip is named in the tables beside its length.
fn clip_label(kind: ClipKind) -> &'static str {
    match kind {
        ClipKind::Short | ClipKind::Long => "",
        ClipKind::Hevc => " HEVC",
        ClipKind::UhdHalf | ClipKind::Uhd => " 4K",
    }
}

/// Criterion benchmarks of the pure stages: plan resolution, YUV to RGB conversion and JPEG
/// encoding of one frame.
fn micro_stages(clip: &Clip) -> anyhow::Result<()> {
    let native = futures::executor::block_on(async {
        let mut d = GstDemuxer::open(&clip.path)?;
        let opts = DecodeOptions::default().output(OutputFormat::Native);
        let mut source = d.frame_source(opts).await?;
        let mut stream = source.frames(&SamplingPlan::indices([100]).resolve(&clip.table)?);
        let frame = stream.next().await.context("no frame came out")??;
        anyhow::Ok(frame)
    })?;
    let planes = YuvPlanes::of_frame(&native)?;
    // The clip is untagged 1080p: BT.709, limited range, as the source converts it.
    let (matrix, range) = (ColorMatrix::Bt709, ColorRange::Limited);
    let frame = yuv_to_rgb(&planes, matrix, range, native.info)?;
    let encoder = ImageEncoder::new(
        EncodeOptions::default()
            .format(ImageFormat::Jpeg)
            .jpeg_quality(JPEG_QUALITY),
    )?;
    let table = clip.table.clone();
    let mut c = Criterion::default()
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
        .sample_size(20)
        .configure_from_args();
    {
        let mut g = c.benchmark_group("plan");
        g.throughput(Throughput::Elements(table.len()));
        g.bench_function("resolve_every30", |b| {
            b.iter(|| SamplingPlan::every(30).resolve(black_box(&table)))
        });
        let random = random_indices(table.len(), 100, SEED);
        g.bench_function("resolve_indices100", |b| {
            b.iter(|| SamplingPlan::indices(black_box(random.clone())).resolve(black_box(&table)))
        });
        g.finish();
    }
    {
        // What a pooled buffer saves: a fresh 6 MB buffer is zeroed (or page-faulted) first.
        let mut g = c.benchmark_group("convert");
        g.throughput(Throughput::Elements(1));
        let pool = FramePool::new(2);
        g.bench_function("i420_to_rgb_1080p_pooled", |b| {
            b.iter(|| yuv_to_rgb_in(black_box(&planes), matrix, range, native.info, &pool))
        });
        g.bench_function("i420_to_rgb_1080p_fresh", |b| {
            b.iter(|| yuv_to_rgb(black_box(&planes), matrix, range, native.info))
        });
        g.finish();
    }
    {
        let mut g = c.benchmark_group("encode");
        g.throughput(Throughput::Elements(1));
        g.bench_function("jpeg_q90_1080p", |b| {
            b.iter(|| encoder.encode(black_box(&frame)))
        });
        g.finish();
    }
    c.final_summary();
    Ok(())
}
