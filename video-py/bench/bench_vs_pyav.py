#!/usr/bin/env python3
"""Times video_dataset's Python API against PyAV on the workloads of benches/decode.rs, in the
same run, and checks that both returned the same frames.

    python video-py/bench/bench_vs_pyav.py [--seconds 20] [--reps 3] [--fixtures DIR]

The clip is benches/decode.rs's short clip (benches/common/mod.rs `fixture`): 1080p H.264,
testsrc2 with temporal noise, 30 fps, 8 Mbit/s, libx264 veryfast, 3 B-frames, closed GOPs of
exactly 250 frames, yuv420p, faststart; generated once into `target/bench-fixtures/` (the same
file name, so a clip `cargo bench --bench decode` made is reused).

Workloads (every frame as an H×W×3 uint8 RGB array, handed to the caller and dropped):

- ``dense-rgb``: every frame;
- ``every30-rgb``: every 30th frame;
- ``random100-rgb``: 100 distinct frames drawn by benches/decode.rs's ``random_indices``
  (splitmix64, the same seed).

Ours streams the plan with ``Video.sample`` (``step=1``, ``step=30``, ``indices=...``). PyAV is
used the way a user would write it fast: ``thread_type = "AUTO"``, frames numbered in decode
output order, ``to_ndarray(format="rgb24", src_colorspace="ITU709")`` only for the frames wanted
(BT.709 as ours; see ``RGB`` below). For sparse plans PyAV
has two ways: decode the whole stream and convert only the targets (``sequential``), or seek to
the key frame before each target's GOP and decode forward (``seek``); ``--pyav-sparse`` picks
one, or ``both`` (the default: both are timed, one row each).

Every measurement is a child process (this script with ``--child``): wall time by the parent,
user + system CPU time and peak RSS (``ru_maxrss``) from ``os.wait4``. Tools alternate, who goes
first alternating between repetitions; medians are printed.

Same frames: each child writes, for every frame it returns, its index and a subsample of the
picture (every 8th row and column: the per-pixel differences survive, unlike a mean) to a
file. The parent checks that both tools returned the same indices, and for each frame that
ours is closer to PyAV's frame with the same index than to PyAV's neighbours (frame identity),
and reports the largest mean absolute difference (the two convert YUV to RGB with slightly
different arithmetic).

Last, ``two-threads``: dense RGB of the clip in one thread, then of two copies in two threads at
once (two ``Video`` objects), in one process: the speedup is ``2 × one / two``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[2]
FPS = 30
GOP = 250
SEED = 0x00C0_FFEE_5EED
SUB = 8  # fingerprint: every SUB-th row and column
WORKLOADS = ["dense-rgb", "every30-rgb", "random100-rgb"]
MASK = (1 << 64) - 1
# PyAV's conversion to RGB. Without a colorspace, swscale converts untagged video with BT.601,
# while ours (GStreamer) takes untagged HD for BT.709, as players do: the frames differ by a mean
# of 9 levels (46 at most). `--pyav-colorspace default` times the plain call.
RGB = {"format": "rgb24", "src_colorspace": "ITU709"}


def random_indices(n: int, count: int, seed: int) -> list[int]:
    """benches/decode.rs `random_indices`: `count` distinct indices below `n`, sorted."""
    state = seed
    chosen: set[int] = set()
    want = min(count, n)
    while len(chosen) < want:
        state = (state + 0x9E3779B97F4A7C15) & MASK
        z = state
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK
        z ^= z >> 31
        chosen.add(z % n)
    return sorted(chosen)


def fixture(directory: Path, seconds: int) -> Path:
    """benches/common/mod.rs `fixture` for 1080p H.264."""
    path = directory / f"h264-1080p{FPS}-{seconds}s-gop{GOP}-bf3-8M.mp4"
    if path.exists():
        return path
    directory.mkdir(parents=True, exist_ok=True)
    print(f"generating {path} ...", file=sys.stderr)
    tmp = path.with_suffix(".tmp.mp4")
    subprocess.run(
        ["ffmpeg", "-hide_banner", "-nostdin", "-v", "error", "-y",
         "-f", "lavfi", "-i", f"testsrc2=size=1920x1080:rate={FPS}", "-t", str(seconds),
         "-vf", "noise=alls=8:allf=t", "-b:v", "8M", "-maxrate", "12M", "-bufsize", "16M",
         "-c:v", "libx264", "-preset", "veryfast", "-bf", "3",
         "-g", str(GOP), "-keyint_min", str(GOP), "-sc_threshold", "0",
         "-pix_fmt", "yuv420p", "-movflags", "+faststart", str(tmp)],
        check=True,
    )
    os.replace(tmp, path)
    return path


def plan(workload: str, n: int) -> list[int] | None:
    """The frame indices a workload asks for (None: every frame)."""
    if workload == "dense-rgb":
        return None
    if workload == "every30-rgb":
        return list(range(0, n, 30))
    if workload == "random100-rgb":
        return random_indices(n, 100, SEED)
    raise SystemExit(f"unknown workload {workload}")


# ---------------------------------------------------------------- children: one tool, one run


def ours(clip: str, workload: str, n: int):
    import video_dataset as vd

    video = vd.Video(clip)
    wanted = plan(workload, len(video))
    if wanted is None:
        frames = video.sample(step=1)
    elif workload == "every30-rgb":
        frames = video.sample(step=30)
    else:
        frames = video.sample(indices=wanted)
    for index, _seconds, rgb in frames:
        yield index, rgb


def pyav_sequential(clip: str, workload: str, n: int):
    import av

    with av.open(clip) as container:
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        wanted = plan(workload, n)
        targets = None if wanted is None else set(wanted)
        last = None if wanted is None else wanted[-1]
        for index, frame in enumerate(container.decode(stream)):
            if targets is None or index in targets:
                yield index, frame.to_ndarray(**RGB)
            if last is not None and index >= last:
                break


def pyav_seek(clip: str, workload: str, n: int):
    """Sparse plans: demux once for the key frames, then per target GOP seek to its key frame
    and decode forward to the GOP's targets."""
    import av

    wanted = plan(workload, n)
    if wanted is None:
        yield from pyav_sequential(clip, workload, n)
        return
    with av.open(clip) as container:
        stream = container.streams.video[0]
        # Presentation times in order, and the key frames among them.
        packets = [(p.pts, p.is_keyframe) for p in container.demux(stream) if p.pts is not None]
    order = sorted(packets)
    pts_of = [p for p, _ in order]
    index_of = {p: i for i, p in enumerate(pts_of)}
    keys = [i for i, (_, k) in enumerate(order) if k]
    gops: dict[int, list[int]] = {}
    for t in wanted:
        key = max(k for k in keys if k <= t)
        gops.setdefault(key, []).append(t)
    with av.open(clip) as container:
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        for key, targets in sorted(gops.items()):
            container.seek(pts_of[key], stream=stream, backward=True, any_frame=False)
            todo = set(targets)
            for frame in container.decode(stream):
                index = index_of.get(frame.pts)
                if index is None or index < key:
                    continue
                if index in todo:
                    yield index, frame.to_ndarray(**RGB)
                    todo.discard(index)
                if not todo:
                    break


TOOLS = {"ours": ours, "pyav": pyav_sequential, "pyav-seek": pyav_seek}


def child(tool: str, workload: str, clip: str, n: int, out: str) -> None:
    if os.environ.get("PYAV_COLORSPACE") == "default":
        RGB.pop("src_colorspace")
    count = 0
    with open(out, "wb") as f:
        for index, rgb in TOOLS[tool](clip, workload, n):
            sub = np.ascontiguousarray(rgb[::SUB, ::SUB])
            f.write(np.int64(index).tobytes())
            f.write(np.array(sub.shape, dtype=np.int64).tobytes())
            f.write(sub.tobytes())
            count += 1
    print(count)


def read_fingerprints(path: Path):
    data = path.read_bytes()
    out, pos = [], 0
    while pos < len(data):
        index = int(np.frombuffer(data, np.int64, 1, pos)[0])
        shape = tuple(int(x) for x in np.frombuffer(data, np.int64, 3, pos + 8))
        pos += 32
        size = int(np.prod(shape))
        out.append((index, np.frombuffer(data, np.uint8, size, pos).reshape(shape)))
        pos += size
    return out


# ---------------------------------------------------------------- parent


def measure(tool: str, workload: str, clip: Path, n: int, out: Path) -> dict:
    start = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, __file__, "--child", tool, workload, str(clip), str(n), str(out)],
        stdout=subprocess.PIPE,
    )
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    stdout = proc.stdout.read().decode() if proc.stdout else ""
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise SystemExit(f"{tool} {workload} failed with status {proc.returncode}")
    return {
        "wall": wall,
        "cpu": usage.ru_utime + usage.ru_stime,
        "rss_mib": usage.ru_maxrss / 1024,
        "frames": int(stdout.split()[-1]),
    }


def compare(ours_fp, theirs_fp, reference=None) -> dict:
    """Same indices; frame identity (ours i closer to PyAV's i than to PyAV's i-1 and i+1, taken
    from ``reference``, PyAV's dense run, when given, else the neighbouring returned frames);
    largest mean absolute difference."""
    ours_idx = [i for i, _ in ours_fp]
    theirs_idx = [i for i, _ in theirs_fp]
    if ours_idx != theirs_idx:
        return {"same": False, "why": f"indices differ: {ours_idx[:5]}… vs {theirs_idx[:5]}…"}
    theirs = {i: a for i, a in theirs_fp}
    worst, wrong = 0.0, []
    for pos, (i, a) in enumerate(ours_fp):
        a = a.astype(np.int16)
        d_same = float(np.abs(a - theirs[i]).mean())
        worst = max(worst, d_same)
        if reference is not None:
            near = [reference.get(i - 1), reference.get(i + 1)]
        else:
            near = [theirs_fp[p][1] for p in (pos - 1, pos + 1) if 0 <= p < len(theirs_fp)]
        if any(b is not None and float(np.abs(a - b).mean()) <= d_same for b in near):
            wrong.append(i)
    return {"same": not wrong, "max_mad": worst, "not_closest": wrong[:10]}


def two_threads(clip: Path) -> dict:
    """One dense RGB decode, then two at once in two threads (one process)."""
    code = f"""
import threading, time, video_dataset as vd
def run():
    for _ in vd.Video({str(clip)!r}).sample(step=1):
        pass
t = time.perf_counter(); run(); one = time.perf_counter() - t
ts = [threading.Thread(target=run) for _ in range(2)]
t = time.perf_counter()
[x.start() for x in ts]; [x.join() for x in ts]
two = time.perf_counter() - t
print(one, two)
"""
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True)
    one, two = (float(x) for x in out.stdout.split())
    return {"one": one, "two": two, "speedup": 2 * one / two}


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        tool, workload, clip, n, out = sys.argv[2:7]
        child(tool, workload, clip, int(n), out)
        return
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seconds", type=int, default=int(os.environ.get("BENCH_SECONDS", 20)))
    ap.add_argument("--reps", type=int, default=int(os.environ.get("BENCH_REPS", 3)))
    ap.add_argument("--fixtures", type=Path, default=REPO / "target" / "bench-fixtures")
    ap.add_argument("--workloads", nargs="+", default=WORKLOADS, choices=WORKLOADS)
    ap.add_argument("--pyav-sparse", choices=["sequential", "seek", "both"], default="both")
    ap.add_argument("--pyav-colorspace", choices=["ITU709", "default"], default="ITU709",
                    help="PyAV's source colorspace for RGB (default: BT.709, as ours)")
    ap.add_argument("--no-threads", action="store_true", help="skip the two-threads row")
    ap.add_argument("--json", type=Path, help="also write the results here")
    args = ap.parse_args()

    clip = fixture(args.fixtures, args.seconds)
    n = args.seconds * FPS
    os.environ["PYAV_COLORSPACE"] = args.pyav_colorspace
    work = args.fixtures / "pyav-bench"
    work.mkdir(parents=True, exist_ok=True)
    pyav_tools = {"sequential": ["pyav"], "seek": ["pyav-seek"], "both": ["pyav", "pyav-seek"]}
    tools = ["ours", *pyav_tools[args.pyav_sparse]]
    print(f"# video_dataset vs PyAV: {clip.name} ({n} frames), {args.reps} repetitions, medians, "
          f"PyAV colorspace {args.pyav_colorspace}")
    rows, results = [], {}
    reference = None  # PyAV's dense frames, the neighbours of the identity check
    for workload in args.workloads:
        runs: dict[str, list[dict]] = {t: [] for t in tools}
        names = tools if workload != "dense-rgb" else ["ours", "pyav"]
        for rep in range(args.reps):
            order = names if rep % 2 == 0 else list(reversed(names))
            for tool in order:
                runs[tool].append(measure(tool, workload, clip, n, work / f"{tool}-{workload}.bin"))
        ours_fp = read_fingerprints(work / f"ours-{workload}.bin")
        for tool in names[1:]:
            theirs_fp = read_fingerprints(work / f"{tool}-{workload}.bin")
            if workload == "dense-rgb":
                reference = {i: a for i, a in theirs_fp}
            check = compare(ours_fp, theirs_fp, reference)
            med = {t: {k: statistics.median(r[k] for r in runs[t]) for k in runs[t][0]} for t in ("ours", tool)}
            row = {
                "workload": workload, "pyav": tool, "frames": (med["ours"]["frames"], med[tool]["frames"]),
                "ours": med["ours"], "theirs": med[tool], **check,
            }
            rows.append(row)
        for f in work.glob(f"*-{workload}.bin"):
            f.unlink()
        del ours_fp, theirs_fp
    print()
    print("| workload | PyAV way | frames ours / PyAV | ours s | PyAV s | ours/PyAV | ours CPU s | PyAV CPU s | CPU ratio | ours peak RSS MiB | PyAV peak RSS MiB | same frames | max mean abs diff |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        o, t = r["ours"], r["theirs"]
        print(f"| {r['workload']} | {r['pyav']} | {int(r['frames'][0])} / {int(r['frames'][1])} "
              f"| {o['wall']:.2f} | {t['wall']:.2f} | **{o['wall'] / t['wall']:.2f}×** "
              f"| {o['cpu']:.2f} | {t['cpu']:.2f} | {o['cpu'] / t['cpu']:.2f}× "
              f"| {o['rss_mib']:.0f} | {t['rss_mib']:.0f} "
              f"| {'yes' if r['same'] else 'NO ' + str(r.get('why') or r.get('not_closest'))} "
              f"| {r.get('max_mad', float('nan')):.2f} |")
    results["rows"] = rows
    if not args.no_threads:
        tt = two_threads(clip)
        results["two_threads"] = tt
        print()
        print(f"two threads, two videos (ours, dense RGB): one alone {tt['one']:.2f} s, "
              f"two at once {tt['two']:.2f} s: speedup {tt['speedup']:.2f}×")
    if args.json:
        args.json.write_text(json.dumps(results, indent=1, default=str))
    if not all(r["same"] for r in rows):
        raise SystemExit("the tools returned different frames")


if __name__ == "__main__":
    main()
