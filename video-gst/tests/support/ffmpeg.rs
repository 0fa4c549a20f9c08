//! The reference: what the real `ffmpeg` / `ffprobe` 5.1 CLI decode from a file.
//!
//! Streams are named by their **absolute** stream index (`-map 0:N`, `-select_streams N`, the
//! `.s<N>.` of the corpus ground-truth files), not by their rank among the video streams.
//! [`first_video_stream`] finds the index of the first video stream.
//!
//! Every function panics with ffmpeg's stderr when the tool fails: this is test support.

use std::io::{BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdout, Command, Stdio};
use std::sync::OnceLock;
use std::thread::JoinHandle;

use serde_json::Value;

use super::barcode::read_barcode_rotated;

/// Runs a tool to completion and returns its stdout; panics with its stderr on failure.
pub fn run_tool(cmd: &mut Command, what: &str) -> Vec<u8> {
    let output = cmd.stdin(Stdio::null()).output().unwrap_or_else(|e| {
        panic!(
            "{what}: cannot run {:?} (is ffmpeg installed?): {e}",
            cmd.get_program()
        )
    });
    assert!(
        output.status.success(),
        "{what} failed ({}): {:?}\n{}",
        output.status,
        cmd,
        String::from_utf8_lossy(&output.stderr)
    );
    output.stdout
}

/// Whether this ffmpeg build has the encoder `name` (from `ffmpeg -encoders`, asked once).
pub fn ffmpeg_has_encoder(name: &str) -> bool {
    static ENCODERS: OnceLock<Vec<String>> = OnceLock::new();
    ENCODERS
        .get_or_init(|| {
            let out = run_tool(
                Command::new("ffmpeg").args(["-hide_banner", "-encoders"]),
                "ffmpeg -encoders",
            );
            String::from_utf8_lossy(&out)
                .lines()
                .filter_map(|line| {
                    let mut words = line.split_whitespace();
                    let flags = words.next()?;
                    let encoder = words.next()?;
                    (flags.len() == 6 && flags != "------").then(|| encoder.to_owned())
                })
                .collect()
        })
        .iter()
        .any(|e| e == name)
}

/// Runs ffprobe with `args` on `path` and parses its JSON output.
fn ffprobe_json(path: &Path, args: &[&str]) -> Value {
    let mut cmd = Command::new("ffprobe");
    cmd.args(["-v", "error", "-of", "json"])
        .args(args)
        .arg(path);
    let out = run_tool(&mut cmd, &format!("ffprobe of {}", path.display()));
    serde_json::from_slice(&out)
        .unwrap_or_else(|e| panic!("ffprobe JSON for {}: {e}", path.display()))
}

/// Parses `"1/15360"` into `(1, 15360)`.
pub fn parse_rational(text: &str) -> Option<(i64, i64)> {
    let (num, den) = text.split_once('/')?;
    Some((num.trim().parse().ok()?, den.trim().parse().ok()?))
}

/// What ffprobe says about one stream.
#[derive(Debug, Clone, PartialEq)]
pub struct StreamProbe {
    /// Absolute stream index.
    pub index: usize,
    /// `video`, `audio`, ...
    pub codec_type: String,
    /// Codec name (`h264`, `vp9`, ...).
    pub codec_name: String,
    /// Stored (coded, not display-rotated) width; 0 for non-video streams.
    pub width: usize,
    /// Stored height; 0 for non-video streams.
    pub height: usize,
    /// Decoder pixel format.
    pub pix_fmt: Option<String>,
    /// Stream time base `(num, den)`.
    pub time_base: (i64, i64),
    /// Stream start time in seconds.
    pub start_time_s: Option<f64>,
    /// Frame count from the container header.
    pub nb_frames: Option<u64>,
    /// ffprobe's display-matrix rotation: **counter-clockwise** degrees (`-90` = show the stored
    /// picture rotated 90° clockwise), as in the corpus `rotation_displaymatrix_deg`.
    pub rotation_ccw: Option<i32>,
}

impl StreamProbe {
    /// Clockwise rotation (0, 90, 180, 270) that display, and ffmpeg's autorotation, apply.
    pub fn display_rotation_cw(&self) -> u32 {
        super::rotation_cw_from_ccw(self.rotation_ccw.unwrap_or(0))
    }

    /// Frame size after ffmpeg's autorotation (width and height swapped for 90 and 270).
    pub fn display_size(&self) -> (usize, usize) {
        if self.display_rotation_cw().is_multiple_of(180) {
            (self.width, self.height)
        } else {
            (self.height, self.width)
        }
    }
}

fn json_str(v: &Value, key: &str) -> Option<String> {
    v.get(key).and_then(Value::as_str).map(str::to_owned)
}

fn json_f64(v: &Value, key: &str) -> Option<f64> {
    match v.get(key)? {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.parse().ok(),
        _ => None,
    }
}

fn json_i64(v: &Value, key: &str) -> Option<i64> {
    match v.get(key)? {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.parse().ok(),
        _ => None,
    }
}

fn stream_probe(s: &Value) -> StreamProbe {
    let rotation_ccw = s
        .get("side_data_list")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .find_map(|sd| json_f64(sd, "rotation"))
        .map(|r| r.round() as i32);
    StreamProbe {
        index: json_i64(s, "index")
            .and_then(|i| usize::try_from(i).ok())
            .expect("ffprobe stream without index"),
        codec_type: json_str(s, "codec_type").unwrap_or_default(),
        codec_name: json_str(s, "codec_name").unwrap_or_default(),
        width: json_i64(s, "width")
            .and_then(|w| usize::try_from(w).ok())
            .unwrap_or(0),
        height: json_i64(s, "height")
            .and_then(|h| usize::try_from(h).ok())
            .unwrap_or(0),
        pix_fmt: json_str(s, "pix_fmt"),
        time_base: json_str(s, "time_base")
            .as_deref()
            .and_then(parse_rational)
            .unwrap_or((1, 1)),
        start_time_s: json_f64(s, "start_time"),
        nb_frames: json_i64(s, "nb_frames").and_then(|n| u64::try_from(n).ok()),
        rotation_ccw,
    }
}

/// Probes all streams of a file (`ffprobe -show_streams`).
pub fn ffprobe_streams(path: &Path) -> Vec<StreamProbe> {
    let json = ffprobe_json(path, &["-show_streams"]);
    json.get("streams")
        .and_then(Value::as_array)
        .map(|streams| streams.iter().map(stream_probe).collect())
        .unwrap_or_default()
}

/// Probes stream `stream` (absolute index).
pub fn ffprobe_stream(path: &Path, stream: usize) -> StreamProbe {
    ffprobe_streams(path)
        .into_iter()
        .find(|s| s.index == stream)
        .unwrap_or_else(|| panic!("{} has no stream {stream}", path.display()))
}

/// Absolute index of the first video stream.
pub fn first_video_stream(path: &Path) -> usize {
    ffprobe_streams(path)
        .into_iter()
        .find(|s| s.codec_type == "video")
        .unwrap_or_else(|| panic!("{} has no video stream", path.display()))
        .index
}

/// One decoded frame as ffprobe `-show_frames` reports it.
#[derive(Debug, Clone, PartialEq)]
pub struct ProbeFrame {
    /// Frame pts in the stream time base (absent, e.g., for B-frame neighbours in AVI).
    pub pts: Option<i64>,
    /// ffmpeg's best-effort timestamp (used when `pts` is absent).
    pub best_effort_timestamp: Option<i64>,
    /// Packet duration in time-base units.
    pub duration: Option<i64>,
    /// Whether the decoder flagged the frame as a key frame.
    pub key_frame: bool,
    /// `I`, `P`, `B`, ...
    pub pict_type: String,
}

/// All frames ffmpeg decodes from stream `stream`, in output (presentation) order, with the
/// stream's probe.
pub fn ffprobe_frames(path: &Path, stream: usize) -> (StreamProbe, Vec<ProbeFrame>) {
    let probe = ffprobe_stream(path, stream);
    let select = stream.to_string();
    let json = ffprobe_json(
        path,
        &[
            "-select_streams",
            &select,
            "-show_entries",
            "frame=pts,best_effort_timestamp,pkt_duration,key_frame,pict_type",
        ],
    );
    let frames = json
        .get("frames")
        .and_then(Value::as_array)
        .map(|frames| {
            frames
                .iter()
                .map(|f| ProbeFrame {
                    pts: json_i64(f, "pts"),
                    best_effort_timestamp: json_i64(f, "best_effort_timestamp"),
                    duration: json_i64(f, "pkt_duration"),
                    key_frame: json_i64(f, "key_frame") == Some(1),
                    pict_type: json_str(f, "pict_type").unwrap_or_default(),
                })
                .collect()
        })
        .unwrap_or_default();
    (probe, frames)
}

/// Presentation times in seconds of all decoded frames of `stream`: `pts * time_base`, or the
/// best-effort timestamp when the frame has no pts, `None` when it has neither (the corpus
/// convention for `pts_s`). Not shifted by the start time.
pub fn ffprobe_frame_pts(path: &Path, stream: usize) -> Vec<Option<f64>> {
    let (probe, frames) = ffprobe_frames(path, stream);
    let (num, den) = probe.time_base;
    frames
        .iter()
        .map(|f| {
            f.pts
                .or(f.best_effort_timestamp)
                .map(|t| t as f64 * num as f64 / den as f64)
        })
        .collect()
}

/// Orientation of decoded frames.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Orientation {
    /// As displayed: ffmpeg's default autorotation applies the display matrix.
    Display,
    /// As stored in the bitstream (`-noautorotate`).
    Stored,
}

/// Packed RGB24 frames decoded by ffmpeg, streamed from the child process one frame at a time.
///
/// Runs `ffmpeg -v error [-noautorotate] -i F -map 0:N -fps_mode passthrough -enc_time_base -1
/// -f rawvideo -pix_fmt rgb24 -`: every decoded frame, none dropped or duplicated, converted by
/// swscale with ffmpeg's default matrix. Frames are `width * height * 3` bytes, rows unpadded.
/// Iteration panics if ffmpeg exits with an error status; decode errors that ffmpeg survives
/// (truncated files) are only logged, see [`RgbFrames::stderr`].
#[derive(Debug)]
pub struct RgbFrames {
    /// Frame width (after autorotation for [`Orientation::Display`]).
    pub width: usize,
    /// Frame height.
    pub height: usize,
    /// Rotation ffmpeg applied, clockwise degrees (0 for [`Orientation::Stored`]).
    pub applied_rotation_cw: u32,
    path: PathBuf,
    child: Option<Child>,
    stdout: Option<BufReader<ChildStdout>>,
    stderr_reader: Option<JoinHandle<String>>,
    stderr: Option<String>,
}

impl RgbFrames {
    /// Bytes per frame.
    pub fn frame_len(&self) -> usize {
        self.width * self.height * 3
    }

    /// ffmpeg's stderr, once the iterator is exhausted.
    pub fn stderr(&self) -> Option<&str> {
        self.stderr.as_deref()
    }

    /// Waits for ffmpeg and checks its exit status.
    fn finish(&mut self) {
        self.stdout = None;
        let Some(mut child) = self.child.take() else {
            return;
        };
        let status = child
            .wait()
            .unwrap_or_else(|e| panic!("waiting for ffmpeg: {e}"));
        let stderr = self
            .stderr_reader
            .take()
            .map(|h| h.join().unwrap_or_default())
            .unwrap_or_default();
        assert!(
            status.success(),
            "ffmpeg decode of {} failed ({status}):\n{stderr}",
            self.path.display()
        );
        self.stderr = Some(stderr);
    }
}

impl Iterator for RgbFrames {
    type Item = Vec<u8>;

    fn next(&mut self) -> Option<Vec<u8>> {
        let len = self.frame_len();
        let stdout = self.stdout.as_mut()?;
        let mut frame = vec![0u8; len];
        let mut filled = 0;
        while filled < len {
            match stdout.read(&mut frame[filled..]) {
                Ok(0) => break,
                Ok(n) => filled += n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => panic!("reading ffmpeg output for {}: {e}", self.path.display()),
            }
        }
        if filled == len {
            return Some(frame);
        }
        self.finish();
        assert!(
            filled == 0,
            "ffmpeg output for {} ends with a partial frame ({filled} of {len} bytes): \
             frame size is not {}x{}",
            self.path.display(),
            self.width,
            self.height
        );
        None
    }
}

impl Drop for RgbFrames {
    fn drop(&mut self) {
        // Stopped early: stop our own child (by handle) and reap it.
        self.stdout = None;
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
        if let Some(handle) = self.stderr_reader.take() {
            let _ = handle.join();
        }
    }
}

/// Decodes every frame of `stream` (absolute index) to packed RGB24; see [`RgbFrames`].
///
/// The size comes from ffprobe (swapped for 90/270 rotations in [`Orientation::Display`]);
/// streams that change size mid-way are not supported (the iterator panics on a partial frame).
pub fn ffmpeg_rgb_frames(path: &Path, stream: usize, orientation: Orientation) -> RgbFrames {
    let probe = ffprobe_stream(path, stream);
    assert_eq!(
        probe.codec_type,
        "video",
        "{} stream {stream} is not video",
        path.display()
    );
    let (width, height, applied_rotation_cw) = match orientation {
        Orientation::Display => {
            let (w, h) = probe.display_size();
            (w, h, probe.display_rotation_cw())
        }
        Orientation::Stored => (probe.width, probe.height, 0),
    };
    let mut cmd = Command::new("ffmpeg");
    cmd.args(["-nostdin", "-hide_banner", "-v", "error"]);
    if orientation == Orientation::Stored {
        cmd.arg("-noautorotate");
    }
    cmd.arg("-i")
        .arg(path)
        .args([
            "-map",
            &format!("0:{stream}"),
            "-fps_mode",
            "passthrough",
            "-enc_time_base",
            "-1",
        ])
        .args(["-f", "rawvideo", "-pix_fmt", "rgb24", "-"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run ffmpeg: {e}"));
    let stdout = child
        .stdout
        .take()
        .map(|s| BufReader::with_capacity(1 << 20, s));
    let stderr_reader = child.stderr.take().map(|mut err| {
        std::thread::spawn(move || {
            let mut text = String::new();
            let _ = err.read_to_string(&mut text);
            text
        })
    });
    RgbFrames {
        width,
        height,
        applied_rotation_cw,
        path: path.to_owned(),
        child: Some(child),
        stdout,
        stderr_reader,
        stderr: None,
    }
}

/// Barcodes of every frame ffmpeg decodes from `stream`, in order; `None` for frames without a
/// readable barcode (e.g. the damaged tail of a truncated file).
///
/// With [`Orientation::Display`] the frames are read with the display rotation, so this also
/// checks that ffmpeg rotated them as the display matrix says.
pub fn ffmpeg_frame_numbers_opt(
    path: &Path,
    stream: usize,
    orientation: Orientation,
) -> Vec<Option<u32>> {
    let frames = ffmpeg_rgb_frames(path, stream, orientation);
    let (w, h, rotation) = (frames.width, frames.height, frames.applied_rotation_cw);
    frames
        .map(|rgb| read_barcode_rotated(&rgb, w, h, w * 3, rotation))
        .collect()
}

/// Barcodes of every frame ffmpeg decodes from the first video stream, displayed orientation:
/// what an extraction of frame index `i` must show. Panics if a frame has no readable barcode.
pub fn ffmpeg_frame_numbers(path: &Path) -> Vec<u32> {
    let stream = first_video_stream(path);
    ffmpeg_frame_numbers_opt(path, stream, Orientation::Display)
        .into_iter()
        .enumerate()
        .map(|(i, n)| {
            n.unwrap_or_else(|| panic!("{}: no barcode in decoded frame {i}", path.display()))
        })
        .collect()
}

/// One line of a framemd5 file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FrameMd5 {
    /// Output stream number (0 when a single stream is mapped).
    pub stream: usize,
    /// dts, in the header's time base.
    pub dts: i64,
    /// pts, in the header's time base (equal to ffprobe's frame pts with the corpus options).
    pub pts: i64,
    /// Duration in time-base units.
    pub duration: i64,
    /// Size in bytes of the tightly packed frame.
    pub size: usize,
    /// Lowercase hexadecimal MD5 of the tightly packed planes.
    pub md5: String,
}

/// A parsed framemd5 file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Framemd5Log {
    /// `#tb 0:` time base `(num, den)`.
    pub time_base: Option<(i64, i64)>,
    /// `#dimensions 0:` `(width, height)`.
    pub dimensions: Option<(usize, usize)>,
    /// One entry per frame, in output order.
    pub frames: Vec<FrameMd5>,
}

/// Parses framemd5 text (`#` header lines, then `stream, dts, pts, duration, size, hash`).
pub fn parse_framemd5(text: &str) -> Framemd5Log {
    let mut log = Framemd5Log {
        time_base: None,
        dimensions: None,
        frames: Vec::new(),
    };
    for line in text.lines().map(str::trim).filter(|l| !l.is_empty()) {
        if let Some(header) = line.strip_prefix('#') {
            if let Some(tb) = header.strip_prefix("tb 0:") {
                log.time_base = parse_rational(tb);
            } else if let Some(dims) = header.strip_prefix("dimensions 0:") {
                log.dimensions = dims
                    .trim()
                    .split_once('x')
                    .and_then(|(w, h)| Some((w.parse().ok()?, h.parse().ok()?)));
            }
            continue;
        }
        let fields: Vec<&str> = line.split(',').map(str::trim).collect();
        assert_eq!(fields.len(), 6, "bad framemd5 line {line:?}");
        let number = |i: usize| -> i64 {
            fields[i]
                .parse()
                .unwrap_or_else(|e| panic!("bad field {i} in framemd5 line {line:?}: {e}"))
        };
        log.frames.push(FrameMd5 {
            stream: usize::try_from(number(0)).expect("negative stream number"),
            dts: number(1),
            pts: number(2),
            duration: number(3),
            size: usize::try_from(number(4)).expect("negative frame size"),
            md5: fields[5].to_ascii_lowercase(),
        });
    }
    log
}

/// Reads and parses a framemd5 file (e.g. the corpus ground truth).
pub fn read_framemd5(path: &Path) -> Framemd5Log {
    let text = std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    parse_framemd5(&text)
}

/// Runs ffmpeg's framemd5 on `stream` exactly as the corpus ground truth was made:
/// `ffmpeg -copyts -noautorotate -i F -map 0:N -fps_mode passthrough -enc_time_base -1
/// [-pix_fmt X] -f framemd5 -`. Without `pix_fmt` the hashes are of the decoder's native format.
pub fn framemd5_log(path: &Path, stream: usize, pix_fmt: Option<&str>) -> Framemd5Log {
    let mut cmd = Command::new("ffmpeg");
    cmd.args([
        "-nostdin",
        "-hide_banner",
        "-v",
        "error",
        "-copyts",
        "-noautorotate",
        "-i",
    ])
    .arg(path)
    .args([
        "-map",
        &format!("0:{stream}"),
        "-fps_mode",
        "passthrough",
        "-enc_time_base",
        "-1",
    ]);
    if let Some(pix_fmt) = pix_fmt {
        cmd.args(["-pix_fmt", pix_fmt]);
    }
    cmd.args(["-f", "framemd5", "-"]);
    let out = run_tool(&mut cmd, &format!("framemd5 of {}", path.display()));
    parse_framemd5(&String::from_utf8_lossy(&out))
}

/// The framemd5 lines of `stream`; see [`framemd5_log`].
pub fn framemd5(path: &Path, stream: usize, pix_fmt: Option<&str>) -> Vec<FrameMd5> {
    framemd5_log(path, stream, pix_fmt).frames
}

/// PSNR in dB between two equally long 8-bit buffers (e.g. packed RGB frames); infinite when
/// they are identical.
pub fn psnr_rgb(a: &[u8], b: &[u8]) -> f64 {
    assert_eq!(a.len(), b.len(), "PSNR of buffers of different sizes");
    assert!(!a.is_empty(), "PSNR of empty buffers");
    let sse: u64 = a
        .iter()
        .zip(b)
        .map(|(&x, &y)| {
            let d = u64::from(x.abs_diff(y));
            d * d
        })
        .sum();
    if sse == 0 {
        return f64::INFINITY;
    }
    let mse = sse as f64 / a.len() as f64;
    10.0 * (255.0 * 255.0 / mse).log10()
}

/// Lowercase hexadecimal MD5 of `data` (RFC 1321), to compare tightly packed planes with
/// framemd5 lines.
pub fn md5_hex(data: &[u8]) -> String {
    const S: [u32; 64] = [
        7, 12, 17, 22, 7, 12, 17, 22, 7, 12, 17, 22, 7, 12, 17, 22, 5, 9, 14, 20, 5, 9, 14, 20, 5,
        9, 14, 20, 5, 9, 14, 20, 4, 11, 16, 23, 4, 11, 16, 23, 4, 11, 16, 23, 4, 11, 16, 23, 6, 10,
        15, 21, 6, 10, 15, 21, 6, 10, 15, 21, 6, 10, 15, 21,
    ];
    // K[i] = floor(|sin(i + 1)| * 2^32).
    let k: Vec<u32> = (0..64)
        .map(|i| ((f64::from(i + 1)).sin().abs() * 4_294_967_296.0) as u32)
        .collect();
    let mut state: [u32; 4] = [0x6745_2301, 0xefcd_ab89, 0x98ba_dcfe, 0x1032_5476];

    let mut message = data.to_vec();
    let bit_len = (data.len() as u64).wrapping_mul(8);
    message.push(0x80);
    while message.len() % 64 != 56 {
        message.push(0);
    }
    message.extend_from_slice(&bit_len.to_le_bytes());

    for block in message.chunks_exact(64) {
        let m: Vec<u32> = block
            .chunks_exact(4)
            .map(|w| u32::from_le_bytes([w[0], w[1], w[2], w[3]]))
            .collect();
        let [mut a, mut b, mut c, mut d] = state;
        for i in 0..64 {
            let (f, g) = match i / 16 {
                0 => ((b & c) | (!b & d), i),
                1 => ((d & b) | (!d & c), (5 * i + 1) % 16),
                2 => (b ^ c ^ d, (3 * i + 5) % 16),
                _ => (c ^ (b | !d), (7 * i) % 16),
            };
            let rotated = a
                .wrapping_add(f)
                .wrapping_add(k[i])
                .wrapping_add(m[g])
                .rotate_left(S[i]);
            a = d;
            d = c;
            c = b;
            b = b.wrapping_add(rotated);
        }
        state[0] = state[0].wrapping_add(a);
        state[1] = state[1].wrapping_add(b);
        state[2] = state[2].wrapping_add(c);
        state[3] = state[3].wrapping_add(d);
    }
    state
        .iter()
        .flat_map(|w| w.to_le_bytes())
        .map(|byte| format!("{byte:02x}"))
        .collect()
}

/// The total size in bytes of the packets of the `video_index`-th video stream (`v:N`), as
/// ffprobe reads them: what a demux pass over every packet of that stream must read at least.
pub fn video_packet_bytes(path: &Path, video_index: usize) -> u64 {
    let out = run_tool(
        Command::new("ffprobe")
            .args(["-v", "error", "-select_streams"])
            .arg(format!("v:{video_index}"))
            .args(["-show_entries", "packet=size", "-of", "csv=p=0"])
            .arg(path),
        "ffprobe packet sizes",
    );
    String::from_utf8_lossy(&out)
        .lines()
        .filter_map(|l| l.trim().trim_end_matches(',').parse::<u64>().ok())
        .sum()
}

/// The byte range (`pos..pos + size`) of the packet of the `video_index`-th video stream that
/// lies last in the file, as ffprobe reads it: a demux pass over every packet must read it.
pub fn last_video_packet_range(path: &Path, video_index: usize) -> std::ops::Range<u64> {
    let out = run_tool(
        Command::new("ffprobe")
            .args(["-v", "error", "-select_streams"])
            .arg(format!("v:{video_index}"))
            .args(["-show_entries", "packet=pos,size", "-of", "csv=p=0"])
            .arg(path),
        "ffprobe packet positions",
    );
    String::from_utf8_lossy(&out)
        .lines()
        .filter_map(|l| {
            let mut it = l.split(',').map(|v| v.trim().parse::<u64>().ok());
            let (size, pos) = (it.next()??, it.next()??);
            Some(pos..pos + size)
        })
        .max_by_key(|r| r.start)
        .unwrap_or_else(|| panic!("{}: no video packet", path.display()))
}
