#!/usr/bin/env python3
"""Per-core throughput of ``video_dataset.extract(..., fps=1)`` on 1080p H.264: the number the
README's cost-on-paper paragraph multiplies by cores.

    python video-py/bench/fps1_throughput.py [--seconds 60] [--reps 3] [--dataset URL]

The clip is benches/decode.rs's long clip (1080p H.264, 30 fps, 8 Mbit/s, 3 B-frames, GOP 250;
made once into ``target/bench-fixtures/``, see bench_vs_pyav.py). Each repetition is a child
process that extracts one JPEG (q90) per second of video into a fresh dataset (a temporary
directory, or ``--dataset URL/rep-N`` in a store); the parent reads its wall time, and user +
system CPU time and peak RSS from ``os.wait4``. Printed: medians, video seconds per CPU second
(the per-core throughput: one task per core keeps the cores busy), frames and bytes per video
hour.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_vs_pyav import REPO, fixture  # noqa: E402


def child(clip: str, dataset: str) -> None:
    import video_dataset as vd

    report = vd.extract(clip, dataset, fps=1.0)
    print(json.dumps({"frames": report["frames_written"], "bytes": report["bytes_written"]}))


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        child(sys.argv[2], sys.argv[3])
        return
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seconds", type=int, default=60)
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--fixtures", type=Path, default=REPO / "target" / "bench-fixtures")
    ap.add_argument("--dataset", help="a store URL to write into (default: a temporary directory)")
    args = ap.parse_args()
    clip = fixture(args.fixtures, args.seconds)
    runs = []
    for rep in range(args.reps):
        with tempfile.TemporaryDirectory() as tmp:
            dataset = (f"{args.dataset.rstrip('/')}/fps1-{uuid.uuid4().hex[:8]}"
                       if args.dataset else tmp)
            start = time.perf_counter()
            proc = subprocess.Popen([sys.executable, __file__, "--child", str(clip), dataset],
                                    stdout=subprocess.PIPE)
            _, status, usage = os.wait4(proc.pid, 0)
            wall = time.perf_counter() - start
            if os.waitstatus_to_exitcode(status) != 0:
                raise SystemExit("the extraction failed")
            out = json.loads(proc.stdout.read().decode().strip().splitlines()[-1])
            runs.append({"wall": wall, "cpu": usage.ru_utime + usage.ru_stime,
                         "rss_mib": usage.ru_maxrss / 1024, **out})
    med = {k: statistics.median(r[k] for r in runs) for k in runs[0]}
    per_cpu = args.seconds / med["cpu"]
    print(json.dumps({
        "clip": clip.name, "dataset": "store" if args.dataset else "local directory",
        "reps": args.reps, "median": med,
        "video_seconds_per_cpu_second": round(per_cpu, 2),
        "video_seconds_per_wall_second": round(args.seconds / med["wall"], 2),
        "jpeg_kib_mean": round(med["bytes"] / med["frames"] / 1024, 1),
        "core_hours_per_video_hour": round(3600 / per_cpu / 3600, 4),
    }, indent=1))


if __name__ == "__main__":
    main()
