#!/usr/bin/env python3
"""Frames of many videos into one dataset in object storage, on a Ray cluster (Ray Data).

    python examples/ray_extract.py --dataset s3://bucket/frames s3://bucket/videos/ [--fps 1]
    python examples/ray_extract.py --dataset s3://bucket/frames s3://b/a.mp4 s3://b/b.mp4 --step 30

Each input is a video (a store URL or a local path) or a prefix/directory ending in ``/``, listed
for video files (``s3://bucket/videos/``). The videos become a Ray dataset of one row per video
(one block each, so one task per video); each task calls ``video_dataset.extract`` on its video
with the sampling options, writing into the dataset URL, and returns the video's report; the
driver prints a summary as JSON (per video: frames planned, written, already there, errors) and
exits 1 if a video failed.

Retries. The dataset is the shared medium and writes are idempotent: every frame is an object of
its own, written whole or not at all, the video's manifest last; a run finds the frames an
earlier or a concurrent run stored and skips them. So any task may be run again:

- a task whose worker dies (killed, out of memory, a lost node) is run again by Ray Data (its
  default for map tasks: retried without limit); the new attempt skips the frames the dead one
  stored;
- a transient error (a store that cannot be reached, resets or answers with server errors after
  object_store's own retries, about a minute; a stalled decode or store) is retried inside the
  task, ``--attempts`` times in all with backoff;
- any other error (not a video, a bad plan, a decode error) is the video's, reported in its row,
  and the other videos go on.

A video listed twice, or two runs at once, write the same objects: nothing is lost or doubled.
Two different videos with the same file stem would write the same keys: listed prefixes keep
their sub-folders (``s3://b/videos/x/clip.mp4`` goes to folder ``x``), and a clash is refused.

Ray: ``ray.init()`` joins the cluster RAY_ADDRESS names (``ray job submit`` sets it), else
starts a local one. Every worker needs ``video_dataset`` installed and the store's credentials
(the AWS_* variables of the driver are passed on to the workers: ``--no-forward-env`` to leave
them to the nodes' own configuration, such as instance roles).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import PurePosixPath
from typing import Any, Dict, List, Optional

VIDEO_EXTENSIONS = {".mp4", ".mov", ".m4v", ".mkv", ".webm", ".avi", ".ts", ".mts", ".mpg",
                    ".mpeg", ".flv", ".wmv", ".3gp", ".gif"}
# Environment variables of object_store's stores, passed on to the workers.
FORWARDED_ENV_PREFIXES = ("AWS_", "GOOGLE_", "AZURE_")
# The columns of a summary row taken from the video's report.
REPORT_KEYS = ("frames_planned", "frames_written", "frames_existing", "frames_redone",
               "bytes_written", "source_bytes_read", "elapsed_s")


# ------------------------------------------------------------------------------------ inputs


def _s3_filesystem():
    """pyarrow's S3 filesystem configured from the variables object_store reads."""
    import pyarrow.fs as pafs

    env = os.environ
    kwargs: Dict[str, Any] = {}
    endpoint = env.get("AWS_ENDPOINT") or env.get("AWS_ENDPOINT_URL")
    if endpoint:
        scheme, _, host = endpoint.partition("://")
        kwargs.update(endpoint_override=host.rstrip("/"), scheme=scheme)
    if env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION"):
        kwargs["region"] = env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION")
    if env.get("AWS_ACCESS_KEY_ID"):
        kwargs.update(access_key=env["AWS_ACCESS_KEY_ID"],
                      secret_key=env.get("AWS_SECRET_ACCESS_KEY"),
                      session_token=env.get("AWS_SESSION_TOKEN"))
    virtual = env.get("AWS_VIRTUAL_HOSTED_STYLE_REQUEST", "").lower() in ("1", "true")
    kwargs["force_virtual_addressing"] = virtual
    return pafs.S3FileSystem(**kwargs)


def filesystem(url: str):
    """(pyarrow filesystem, path in it) for a store URL or a local path."""
    import pyarrow.fs as pafs

    if url.startswith("s3://"):
        return _s3_filesystem(), url[len("s3://"):]
    if "://" in url:
        return pafs.FileSystem.from_uri(url)
    return pafs.LocalFileSystem(), os.path.abspath(url)


def list_videos(prefix: str) -> List[Dict[str, str]]:
    """The video files under ``prefix``, each with its folder relative to the prefix."""
    import pyarrow.fs as pafs

    fs, path = filesystem(prefix)
    base = path.rstrip("/")
    infos = fs.get_file_info(pafs.FileSelector(base, recursive=True))
    scheme = prefix.split("://", 1)[0] + "://" if "://" in prefix else ""
    videos = []
    for info in infos:
        if info.type != pafs.FileType.File:
            continue
        rel = PurePosixPath(info.path[len(base):].lstrip("/"))
        if rel.suffix.lower() not in VIDEO_EXTENSIONS or any(p.startswith(".") for p in rel.parts):
            continue
        url = scheme + info.path if scheme else info.path
        videos.append({"video": url, "folder": str(rel.parent) if str(rel.parent) != "." else ""})
    return sorted(videos, key=lambda v: v["video"])


def plan_inputs(inputs: List[str], folder: str) -> List[Dict[str, str]]:
    """One row per video: explicit videos into ``folder``, listed ones into ``folder`` plus their
    sub-folder. Refuses two different videos that would write the same keys."""
    rows: List[Dict[str, str]] = []
    for item in inputs:
        if item.endswith("/") or (("://" not in item) and os.path.isdir(item)):
            found = list_videos(item)
            if not found:
                raise SystemExit(f"no videos under {item}")
            for v in found:
                sub = "/".join(p for p in (folder, v["folder"]) if p)
                rows.append({"video": v["video"], "folder": sub})
        else:
            rows.append({"video": item, "folder": folder})
    owners: Dict[tuple, str] = {}
    for row in rows:
        key = (row["folder"], PurePosixPath(row["video"].split("?")[0]).stem)
        other = owners.setdefault(key, row["video"])
        if other != row["video"]:
            raise SystemExit(f"{other} and {row['video']} would write the same frames "
                             f"(folder {key[0]!r}, name {key[1]!r}): give them other names")
    return rows


# ------------------------------------------------------------------------------- the task


def is_transient(e: Exception) -> bool:
    """Whether the same extraction later could succeed: the library's ``is_transient`` (a
    timeout, or a store failure marked transient)."""
    return bool(getattr(e, "transient", False))


def extract_video(row: Dict[str, Any], *, dataset: str, options: Dict[str, Any],
                  attempts: int) -> Dict[str, Any]:
    """Runs on a Ray worker: extracts one video into the dataset, returns its summary row.

    Transient store errors are retried here with backoff; any other error is reported in the
    row. A worker that dies is Ray's to retry (the task has no state outside the dataset)."""
    import video_dataset as vd

    # Every row has every column (Ray Data concatenates the rows' blocks).
    out: Dict[str, Any] = {"video": row["video"], "folder": row["folder"], "error": None,
                           "attempts": 0, "pid": os.getpid(), **{k: None for k in REPORT_KEYS}}
    opts = dict(options)
    if row["folder"]:
        opts["folder"] = row["folder"]
    for attempt in range(1, attempts + 1):
        out["attempts"] = attempt
        try:
            report = vd.extract(row["video"], dataset, **opts)
        except Exception as e:  # the video's error, in its row: the other videos go on
            if isinstance(e, vd.VideoDatasetError) and is_transient(e) and attempt < attempts:
                time.sleep(min(30.0, 0.5 * 2 ** attempt))
                continue
            out["error"] = f"{type(e).__name__}: {e}"
            break
        out.update(
            frames_planned=report["frames_planned"],
            frames_written=report["frames_written"],
            frames_existing=report["frames_existing"],
            frames_redone=report["frames_redone"],
            bytes_written=report["bytes_written"],
            source_bytes_read=report.get("source_bytes_read"),
            elapsed_s=report["elapsed"],
        )
        break
    return out


# ------------------------------------------------------------------------------- pipeline


def run(rows: List[Dict[str, str]], dataset: str, options: Dict[str, Any], *,
        num_cpus: float = 1.0, attempts: int = 3) -> Dict[str, Any]:
    """Runs the pipeline on the connected Ray cluster; returns the summary."""
    import ray

    if not rows:
        return {"videos": [], "totals": {}, "failed": []}
    started = time.perf_counter()
    ds = ray.data.from_items(rows, override_num_blocks=len(rows))
    ds = ds.map(
        extract_video,
        fn_kwargs={"dataset": dataset, "options": options, "attempts": attempts},
        # Ray Data runs a task again when its worker dies (max_retries=-1 by default); errors
        # raised by the task are not retried by Ray: extract_video retries the transient ones.
        num_cpus=num_cpus,
    )
    results = ds.take_all()
    done = {r["video"] for r in results}
    for row in rows:  # every task returns a row; defensive, should Ray drop a block
        if row["video"] not in done:
            results.append({**row, **{k: None for k in REPORT_KEYS}, "attempts": None,
                            "pid": None, "error": "no result (the task failed)"})
    results.sort(key=lambda r: (r["folder"], r["video"]))
    totals = {k: sum(r.get(k) or 0 for r in results)
              for k in ("frames_planned", "frames_written", "frames_existing", "bytes_written")}
    totals["videos"] = len(results)
    totals["failed"] = sum(1 for r in results if r.get("error"))
    totals["wall_s"] = round(time.perf_counter() - started, 3)
    return {"videos": results, "totals": totals,
            "failed": [r["video"] for r in results if r.get("error")]}


def init_ray(forward_env: bool = True, **kwargs) -> None:
    """``ray.init()``: the cluster at RAY_ADDRESS, else a local one; with the store variables
    passed on to the workers."""
    import ray

    runtime_env: Dict[str, Any] = {}
    if forward_env:
        env = {k: v for k, v in os.environ.items() if k.startswith(FORWARDED_ENV_PREFIXES)}
        if env:
            runtime_env["env_vars"] = env
    ray.init(address=os.environ.get("RAY_ADDRESS"), runtime_env=runtime_env or None, **kwargs)


def parse_resize(text: Optional[str]):
    if text is None:
        return None
    if "x" in text:
        w, h = text.split("x", 1)
        return (int(w), int(h))
    return int(text)


def main(argv: Optional[List[str]] = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("inputs", nargs="+", help="video URLs or paths; a prefix ending in / is listed")
    ap.add_argument("--dataset", required=True, help="the dataset's URL (s3://bucket/frames) or directory")
    how = ap.add_mutually_exclusive_group()
    how.add_argument("--fps", type=float, help="frames per second of video")
    how.add_argument("--step", type=int, help="every N-th frame")
    how.add_argument("--indices", type=lambda s: [int(x) for x in s.split(",")],
                     help="frame indices, comma-separated")
    ap.add_argument("--start", type=float, help="seconds from the first frame")
    ap.add_argument("--end", type=float, help="seconds from the first frame")
    ap.add_argument("--max-frames", type=int)
    ap.add_argument("--format", default="jpg", choices=["jpg", "png"])
    ap.add_argument("--quality", type=int, default=90)
    ap.add_argument("--resize", help="N (longest side) or WxH")
    ap.add_argument("--folder", default="", help="dataset folder of the videos")
    ap.add_argument("--num-cpus", type=float, default=1.0, help="CPUs per video task (default 1)")
    ap.add_argument("--attempts", type=int, default=3, help="attempts of a video on transient store errors")
    ap.add_argument("--no-forward-env", action="store_true")
    ap.add_argument("--output", help="also write the summary JSON to this file")
    args = ap.parse_args(argv)

    options = {k: v for k, v in {
        "fps": args.fps, "step": args.step, "indices": args.indices, "start": args.start,
        "end": args.end, "max_frames": args.max_frames, "format": args.format,
        "quality": args.quality, "resize": parse_resize(args.resize),
    }.items() if v is not None}
    rows = plan_inputs(args.inputs, args.folder)
    init_ray(forward_env=not args.no_forward_env)
    summary = run(rows, args.dataset, options, num_cpus=args.num_cpus, attempts=args.attempts)
    text = json.dumps(summary, indent=1)
    print(text)
    if args.output:
        with open(args.output, "w") as f:
            f.write(text)
    return 1 if summary["failed"] else 0


if __name__ == "__main__":
    sys.exit(main())
