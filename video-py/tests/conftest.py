"""Fixtures of the Python tests: barcode clips made with the ffmpeg CLI, and the frame numbers
ffmpeg decodes from them (the ground truth: frame N must show what ffmpeg's N-th frame shows).

Every frame of a barcode clip shows its own source frame number n in its top half: 24 vertical
bars, the 24-bit codeword ``n << 8 | (n * 37 + 101) % 251``, most significant bit first, white
for 1 and black for 0; the bottom half is grey. It is the barcode of the Rust tests
(video-testkit/src/barcode.rs), painted by the same ffmpeg filter.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import List, Optional

import numpy as np
import pytest

BARS = 24


def barcode_filter() -> str:
    codeword = "(N*256+mod(N*37+101,251))"
    bar = f"floor(X*{BARS}/W)"
    bit = f"mod(floor({codeword}/pow(2,{BARS - 1}-{bar})),2)"
    return f"geq=lum='if(lt(Y,H/2),16+219*{bit},126)':cb=128:cr=128"


def read_number(rgb: np.ndarray) -> Optional[int]:
    """The frame number an H×W×3 (or H×W grey) picture shows, or None."""
    grey = rgb.mean(axis=2) if rgb.ndim == 3 else rgb.astype(np.float64)
    h, w = grey.shape
    band = grey[h // 8 : 3 * h // 8]
    codeword = 0
    for i in range(BARS):
        x0, x1 = (i * w) // BARS, ((i + 1) * w) // BARS
        q = (x1 - x0) // 4
        cells = band[:, x0 + q : x1 - q]
        white = (cells > 200).mean()
        black = (cells < 60).mean()
        if white >= 0.8:
            bit = 1
        elif black >= 0.8:
            bit = 0
        else:
            return None
        codeword = codeword << 1 | bit
    n, check = codeword >> 8, codeword & 0xFF
    return n if (n * 37 + 101) % 251 == check else None


def make_clip(path: Path, frames: int, rate: str = "30", size: str = "320x240", extra=()) -> Path:
    """A barcode clip: H.264 with B-frames in MP4 unless ``extra`` says otherwise."""
    if path.exists():
        return path
    tmp = path.with_suffix(".part" + path.suffix)
    subprocess.run(
        ["ffmpeg", "-v", "error", "-y", "-f", "lavfi",
         "-i", f"color=c=black:s={size}:r={rate}:d={frames}",
         "-frames:v", str(frames),
         "-vf", f"format=yuv420p,{barcode_filter()}",
         "-c:v", "libx264", "-preset", "veryfast", "-bf", "3", "-g", "12",
         "-pix_fmt", "yuv420p", *extra, str(tmp)],
        check=True,
    )
    os.replace(tmp, path)
    return path


def ffmpeg_numbers(path: Path) -> List[int]:
    """The number every frame ffmpeg decodes shows, in ffmpeg's order."""
    probe = json.loads(subprocess.run(
        ["ffprobe", "-v", "error", "-select_streams", "v:0", "-show_entries",
         "stream=width,height", "-of", "json", str(path)],
        check=True, capture_output=True).stdout)
    w, h = probe["streams"][0]["width"], probe["streams"][0]["height"]
    raw = subprocess.run(
        ["ffmpeg", "-v", "error", "-noautorotate", "-i", str(path), "-map", "0:v:0",
         "-fps_mode", "passthrough", "-f", "rawvideo", "-pix_fmt", "gray", "-"],
        check=True, capture_output=True).stdout
    frames = np.frombuffer(raw, dtype=np.uint8).reshape(-1, h, w)
    numbers = [read_number(f) for f in frames]
    assert all(n is not None for n in numbers), f"{path}: ffmpeg frames without a barcode"
    return numbers  # type: ignore[return-value]


def ffprobe_pts(path: Path) -> List[float]:
    """Presentation times (seconds) of the frames ffprobe decodes, in order."""
    out = json.loads(subprocess.run(
        ["ffprobe", "-v", "error", "-select_streams", "v:0", "-show_entries",
         "frame=pts_time,best_effort_timestamp_time", "-of", "json", str(path)],
        check=True, capture_output=True).stdout)
    return [float(f.get("pts_time", f.get("best_effort_timestamp_time"))) for f in out["frames"]]


def image_number(path: Path) -> Optional[int]:
    """The number a stored JPEG or PNG shows, decoded by ffmpeg."""
    probe = json.loads(subprocess.run(
        ["ffprobe", "-v", "error", "-show_entries", "stream=width,height", "-of", "json",
         str(path)], check=True, capture_output=True).stdout)
    w, h = probe["streams"][0]["width"], probe["streams"][0]["height"]
    raw = subprocess.run(
        ["ffmpeg", "-v", "error", "-i", str(path), "-f", "rawvideo", "-pix_fmt", "gray", "-"],
        check=True, capture_output=True).stdout
    return read_number(np.frombuffer(raw, dtype=np.uint8).reshape(h, w))


@pytest.fixture(scope="session")
def clips(tmp_path_factory):
    d = tmp_path_factory.mktemp("clips")
    bframes = make_clip(d / "bframes.mp4", 90)
    # Variable frame rate: frame n at n/30 s for the first half, n/10 s after (ffmpeg setpts).
    vfr = d / "vfr.mp4"
    if not vfr.exists():
        subprocess.run(
            ["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i", "color=c=black:s=320x240:r=30",
             "-frames:v", "60",
             "-vf", f"format=yuv420p,{barcode_filter()},setpts='if(lt(N,30),N/30,1+(N-30)/10)/TB'",
             "-fps_mode", "passthrough", "-c:v", "libx264", "-preset", "veryfast", "-bf", "2",
             "-video_track_timescale", "90000", str(vfr)],
            check=True,
        )
    return {"bframes": bframes, "vfr": vfr, "dir": d}
