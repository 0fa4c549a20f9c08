//! What the benchmarks share: generated clips, and measuring a process (wall time, CPU time,
//! peak RSS) the same way for ours and for the peer.
#![allow(dead_code, unreachable_pub)]

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, bail, ensure};

/// Frame rate of the generated clips.
pub const FPS: u64 = 30;
/// Distance between key frames of the generated clips.
pub const GOP: u64 = 250;
/// A `kB` field of `/proc/PID/status`.
pub fn proc_status_kib(pid: &str, field: &str) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with(field))?;
    line[field.len()..].split_whitespace().next()?.parse().ok()
}

/// User + system CPU seconds of a live process, from `/proc/PID/stat` (USER_HZ = 100).
pub fn proc_cpu_s(pid: u32) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let after = &stat[stat.rfind(')')? + 2..];
    let f: Vec<&str> = after.split_whitespace().collect();
    let ticks: u64 = f.get(11)?.parse::<u64>().ok()? + f.get(12)?.parse::<u64>().ok()?;
    Some(ticks as f64 / 100.0)
}

// ---------------------------------------------------------------------------------------------
// Measuring a process
// ---------------------------------------------------------------------------------------------

/// One measured process (or several, summed, for [`Peer::SeekPerFrame`]).
#[derive(Debug, Clone)]
pub struct Run<C = ()> {
    pub wall_s: f64,
    pub cpu_s: f64,
    pub peak_rss_kib: u64,
    /// What the process printed on its last `RESULT {json}` line, if anything.
    pub child: Option<C>,
}

/// What a measured child of ours reports on a `RESULT {json}` line of its stdout.
pub trait ChildOutput: serde::de::DeserializeOwned {
    /// The child's own peak RSS (`VmHWM`) just before it exited, in KiB, if it says.
    fn vm_hwm_kib(&self) -> u64 {
        0
    }
}

impl ChildOutput for () {}

impl<C> Default for Run<C> {
    fn default() -> Self {
        Run {
            wall_s: 0.0,
            cpu_s: 0.0,
            peak_rss_kib: 0,
            child: None,
        }
    }
}

impl<C> Run<C> {
    pub fn add(&mut self, other: Run<C>) {
        self.wall_s += other.wall_s;
        self.cpu_s += other.cpu_s;
        self.peak_rss_kib = self.peak_rss_kib.max(other.peak_rss_kib);
    }
}

pub struct Meter {
    pub gnu_time: Option<PathBuf>,
    pub scratch: PathBuf,
}

impl Meter {
    /// With `/usr/bin/time` when there is one, scratch files in `scratch`.
    pub fn new(scratch: &Path) -> Self {
        let gnu_time = Path::new("/usr/bin/time");
        Meter {
            gnu_time: gnu_time.exists().then(|| gnu_time.to_path_buf()),
            scratch: scratch.to_owned(),
        }
    }

    /// How peak RSS and CPU time are measured, for the report's header.
    pub fn how(&self) -> &'static str {
        if self.gnu_time.is_some() {
            "/usr/bin/time (wait4)"
        } else {
            "polling /proc (approximate)"
        }
    }

    pub fn measure<C: ChildOutput>(
        &self,
        program: &Path,
        args: &[String],
    ) -> anyhow::Result<Run<C>> {
        let what = format!("{} {}", program.display(), args.join(" "));
        let time_out = self.scratch.join("time.txt");
        let mut cmd = match &self.gnu_time {
            Some(t) => {
                let mut c = Command::new(t);
                c.arg("-o")
                    .arg(&time_out)
                    .args(["-f", "%e %U %S %M"])
                    .arg(program);
                c
            }
            None => Command::new(program),
        };
        cmd.args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let started = Instant::now();
        let child = cmd.spawn().with_context(|| format!("starting {what}"))?;
        let (mut polled_rss, mut polled_cpu) = (0u64, 0f64);
        let out = if self.gnu_time.is_none() {
            // Poll until the process is gone; `wait_with_output` below then reaps it.
            let pid = child.id();
            let pid_s = pid.to_string();
            while let Some(rss) = proc_status_kib(&pid_s, "VmHWM:") {
                polled_rss = polled_rss.max(rss);
                polled_cpu = proc_cpu_s(pid).unwrap_or(polled_cpu);
                std::thread::sleep(Duration::from_millis(5));
            }
            child.wait_with_output()?
        } else {
            child.wait_with_output()?
        };
        let wall_s = started.elapsed().as_secs_f64();
        if !out.status.success() {
            bail!(
                "{what} failed ({}):\n{}{}",
                out.status,
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
        }
        let stdout = String::from_utf8_lossy(&out.stdout);
        let child_report = match stdout.lines().rev().find_map(|l| l.strip_prefix("RESULT ")) {
            Some(json) => Some(serde_json::from_str::<C>(json)?),
            None => None,
        };
        let (cpu_s, peak_rss_kib) = if self.gnu_time.is_some() {
            let text = std::fs::read_to_string(&time_out)?;
            // The last line; earlier ones may say "Command exited with non-zero status".
            let f: Vec<&str> = text
                .lines()
                .last()
                .unwrap_or_default()
                .split_whitespace()
                .collect();
            ensure!(f.len() == 4, "unexpected /usr/bin/time output {text:?}");
            (f[1].parse::<f64>()? + f[2].parse::<f64>()?, f[3].parse()?)
        } else {
            let own = child_report.as_ref().map_or(0, C::vm_hwm_kib);
            (polled_cpu, polled_rss.max(own))
        };
        Ok(Run {
            wall_s,
            cpu_s,
            peak_rss_kib,
            child: child_report,
        })
    }
}

pub fn env_u64(name: &str, default: u64) -> anyhow::Result<u64> {
    match std::env::var(name) {
        Ok(v) => v.parse().with_context(|| format!("{name}={v:?}")),
        Err(_) => Ok(default),
    }
}

/// A generated clip: `testsrc2` with temporal noise (so that it costs about what camera footage
/// costs to decode), 3 B-frames, closed GOPs of exactly [`GOP`] frames, yuv420p, [`FPS`] fps.
#[derive(Clone, Copy, Debug)]
pub struct Spec {
    /// `h264` (libx264) or `hevc` (libx265).
    pub codec: &'static str,
    pub height: u32,
    pub seconds: u64,
}

impl Spec {
    pub fn width(self) -> u32 {
        self.height * 16 / 9
    }

    /// Mean bit rate in Mbit/s: 8 at 1080p, 30 at 2160p.
    pub fn mbits(self) -> u32 {
        if self.height > 1080 { 30 } else { 8 }
    }

    /// Noise strength: more at 2160p so that the picture is not mostly flat.
    pub fn noise(self) -> u32 {
        if self.height > 1080 { 12 } else { 8 }
    }
}

/// Generates `spec` (once) into `dir`.
pub fn fixture(dir: &Path, spec: Spec) -> anyhow::Result<PathBuf> {
    let Spec {
        codec,
        height,
        seconds,
    } = spec;
    let mbits = spec.mbits();
    let path = dir.join(format!(
        "{codec}-{height}p{FPS}-{seconds}s-gop{GOP}-bf3-{mbits}M.mp4"
    ));
    if path.exists() {
        return Ok(path);
    }
    eprintln!("generating {} ...", path.display());
    let tmp = path.with_extension("tmp.mp4");
    let mut cmd = Command::new("ffmpeg");
    cmd.args([
        "-hide_banner",
        "-nostdin",
        "-v",
        "error",
        "-y",
        "-f",
        "lavfi",
        "-i",
    ])
    .arg(format!(
        "testsrc2=size={}x{height}:rate={FPS}",
        spec.width()
    ))
    .args(["-t", &seconds.to_string()])
    .args(["-vf", &format!("noise=alls={}:allf=t", spec.noise())])
    .args([
        "-b:v",
        &format!("{mbits}M"),
        "-maxrate",
        &format!("{}M", mbits * 3 / 2),
        "-bufsize",
        &format!("{}M", mbits * 2),
    ]);
    match codec {
        "h264" => cmd
            .args(["-c:v", "libx264", "-preset", "veryfast", "-bf", "3"])
            .args(["-g", &GOP.to_string(), "-keyint_min", &GOP.to_string()])
            .args(["-sc_threshold", "0"]),
        "hevc" => cmd
            .args(["-c:v", "libx265", "-preset", "veryfast", "-tag:v", "hvc1"])
            .args([
                "-x265-params",
                &format!(
                    "keyint={GOP}:min-keyint={GOP}:scenecut=0:open-gop=0:bframes=3:log-level=error"
                ),
            ]),
        other => bail!("no encoder for {other}"),
    };
    let status = cmd
        .args(["-pix_fmt", "yuv420p", "-movflags", "+faststart"])
        .arg(&tmp)
        .status()
        .context("running ffmpeg (is it installed?)")?;
    ensure!(
        status.success(),
        "ffmpeg could not generate {}",
        tmp.display()
    );
    std::fs::rename(&tmp, &path)?;
    Ok(path)
}

pub fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    match v.len() {
        0 => f64::NAN,
        n if n % 2 == 1 => v[n / 2],
        n => (v[n / 2 - 1] + v[n / 2]) / 2.0,
    }
}

pub fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "?".into())
}

pub fn tool_version(program: &str, arg: &str) -> String {
    Command::new(program)
        .arg(arg)
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|s| s.lines().next().map(str::to_owned))
        .unwrap_or_else(|| format!("{program}: not found"))
}
