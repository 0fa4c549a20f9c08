//! Plans by time end at the frame table's end, whatever container holds the frames: one clip
//! copied into MP4, Matroska and MPEG-TS gives the same `fps` plan, and it is the frames FFmpeg
//! shows at `k / fps` before the video's end.

#![allow(clippy::unwrap_used)]

mod common;

use std::path::Path;
use std::process::Command;

use video_dataset::core::Demuxer;
use video_dataset::{GstDemuxer, SamplingPlan};

/// FFmpeg's frames of `path` (presentation order): pts in seconds.
fn ffprobe_frames(path: &Path) -> Vec<f64> {
    let out = Command::new("ffprobe")
        .args(["-v", "error", "-select_streams", "v:0", "-show_entries"])
        .args(["frame=best_effort_timestamp_time", "-of", "csv=p=0"])
        .arg(path)
        .output()
        .unwrap();
    assert!(out.status.success());
    let mut frames: Vec<f64> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .filter_map(|l| l.trim().trim_end_matches(',').parse().ok())
        .collect();
    frames.sort_by(f64::total_cmp);
    frames
}

#[tokio::test]
async fn fps_plans_agree_across_containers() {
    let dir = common::scratch("fps-plan");
    let mut counts = Vec::new();
    for rate in ["30", "25", "30000/1001"] {
        let mp4 = video_testkit::fixtures::lavfi_clip(
            &dir,
            &format!("clip-{}.mp4", rate.replace('/', "_")),
            &format!("testsrc2=size=160x90:rate={rate}"),
            &[video_testkit::fixtures::X264_ARGS, &["-t", "20"]].concat(),
        );
        for ext in ["mp4", "mkv", "ts"] {
            let path = mp4.with_extension(ext);
            if ext != "mp4" {
                let status = Command::new("ffmpeg")
                    .args(["-loglevel", "error", "-y", "-i"])
                    .arg(&mp4)
                    .args(["-c", "copy"])
                    .arg(&path)
                    .status()
                    .unwrap();
                assert!(status.success());
            }
            let mut d = GstDemuxer::open(&path).unwrap();
            let table = d.frame_table().await.unwrap();
            let plan = SamplingPlan::fps(1.0).resolve(&table).unwrap();
            // FFmpeg's frame shown at k seconds from its first frame, for every k before the
            // clip's true end (frames × frame duration, from the MP4's exact time base).
            let ff = ffprobe_frames(&path);
            let (num, den): (f64, f64) = match rate.split_once('/') {
                Some((n, d)) => (n.parse().unwrap(), d.parse().unwrap()),
                None => (rate.parse().unwrap(), 1.0),
            };
            let true_end = ff.len() as f64 * den / num;
            let first = ff[0];
            let want: Vec<u64> = (0..)
                .map(|k| k as f64)
                .take_while(|&k| k < true_end)
                .map(|k| ff.iter().rposition(|f| f - first <= k + 1e-9).unwrap() as u64)
                .collect();
            assert_eq!(plan.indices(), want, "{}", path.display());
            counts.push((path.display().to_string(), plan.len()));
        }
    }
    eprintln!("{counts:?}");
}
