"""The Ray Data example (examples/ray_extract.py) on a local Ray cluster, into a dataset on the
S3 test server: a worker killed mid-run is retried by Ray and the dataset ends complete, every
stored frame the right one (its barcode read from the image as ffmpeg decodes it), nothing
doubled; a second run writes nothing, and a file that is not a video is its own row's error.

The videos are uploaded to the S3 test server and read from it by the tasks. Needs the S3
server of the test command (scripts/test.sh exports VIDEO_TEST_S3_URL and the
AWS_* variables); skipped without it, failed without it under VIDEO_TEST_INTEGRATION.
"""

from __future__ import annotations

import importlib.util
import json
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import pytest

from conftest import ffmpeg_numbers, make_clip, read_number

REPO = Path(__file__).resolve().parents[2]
FRAMES = 240  # per clip
STEP = 2
WIDTH, HEIGHT = 320, 240
NAMES = ["alpha", "bravo", "charlie", "delta"]


@pytest.fixture(scope="module")
def s3_url():
    url = os.environ.get("VIDEO_TEST_S3_URL")
    if not url:
        reason = ("VIDEO_TEST_S3_URL is not set: the Ray test needs the S3 test server "
                  "(scripts/test.sh starts it and sets VIDEO_TEST_S3_URL and AWS_*)")
        if os.environ.get("VIDEO_TEST_INTEGRATION"):
            pytest.fail(reason)
        pytest.skip(reason)
    return url.rstrip("/")


@pytest.fixture(scope="module")
def example():
    spec = importlib.util.spec_from_file_location("ray_extract", REPO / "examples" / "ray_extract.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def ray_cluster(example):
    import ray

    example.init_ray(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield ray
    ray.shutdown()


def put_object(url: str, path: Path) -> None:
    """Uploads a file to the S3 test server (path-style URL, SigV4 by curl)."""
    endpoint = os.environ["AWS_ENDPOINT"].rstrip("/")
    region = os.environ.get("AWS_REGION", "us-east-1")
    subprocess.run(
        ["curl", "-sSf", "--aws-sigv4", f"aws:amz:{region}:s3",
         "--user", f"{os.environ['AWS_ACCESS_KEY_ID']}:{os.environ['AWS_SECRET_ACCESS_KEY']}",
         "-T", str(path), f"{endpoint}/{url[len('s3://'):]}"],
        check=True)


def descendants_running(title: str) -> list[int]:
    """Processes below this one whose title contains ``title`` (Ray workers running a task)."""
    me = os.getpid()
    parents, titles = {}, {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
            cmd = Path(f"/proc/{entry}/cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        parents[int(entry)] = int(stat.rsplit(")", 1)[1].split()[1])
        titles[int(entry)] = cmd
    found = []
    for pid, cmd in titles.items():
        if title not in cmd:
            continue
        p = pid
        while p in parents and p != me and p > 1:
            p = parents[p]
        if p == me:
            found.append(pid)
    return found


def test_ray_pipeline_survives_a_killed_worker(s3_url, example, ray_cluster, tmp_path):
    import pyarrow.fs as pafs

    t0 = time.monotonic()
    # The videos, uploaded to the S3 test server (with curl: pyarrow's uploads fail against
    # moto's multipart completion), read from there by the tasks; the dataset beside them.
    local = tmp_path / "videos"
    local.mkdir()
    clips = {n: make_clip(local / f"{n}.mp4", FRAMES, size=f"{WIDTH}x{HEIGHT}") for n in NAMES}
    run_prefix = f"{s3_url}/ray-{uuid.uuid4().hex[:8]}"
    for name, clip in clips.items():
        put_object(f"{run_prefix}/videos/{name}.mp4", clip)
    fs, _ = example.filesystem(s3_url + "/")
    bucket_path = lambda url: url[len("s3://"):]  # noqa: E731
    dataset = f"{run_prefix}/frames"

    # The first video twice (two tasks at once on the same video), then the listing.
    inputs = [f"{run_prefix}/videos/{NAMES[0]}.mp4", f"{run_prefix}/videos/"]
    rows = example.plan_inputs(inputs, "")
    assert [r["video"] for r in rows] == [
        inputs[0], *(f"{run_prefix}/videos/{n}.mp4" for n in NAMES)]

    def stored():
        try:
            infos = fs.get_file_info(pafs.FileSelector(bucket_path(dataset), recursive=True))
        except FileNotFoundError:
            return [], []
        keys = [i.path for i in infos if i.type == pafs.FileType.File]
        return [k for k in keys if k.endswith(".jpg")], [k for k in keys if k.endswith(".scene.json")]

    # Kill the workers running extractions once frames are stored and a manifest is missing.
    killed: dict = {}
    stop = threading.Event()

    def killer():
        while not stop.is_set():
            jpgs, manifests = stored()
            if len(jpgs) >= 20 and len(manifests) < len(NAMES):
                pids = descendants_running("Map(extract_video)")
                if pids:
                    for pid in pids:
                        os.kill(pid, signal.SIGKILL)
                    names = {Path(k).name.rsplit("_", 1)[0] for k in jpgs}
                    done = {Path(k).name[: -len(".scene.json")] for k in manifests}
                    killed.update(pids=pids, jpgs=len(jpgs), unfinished=sorted(names - done))
                    return
            time.sleep(0.1)

    watcher = threading.Thread(target=killer, daemon=True)
    watcher.start()
    started = time.monotonic()
    print(f"set-up {time.monotonic() - t0:.1f} s")
    summary = example.run(rows, dataset, {"step": STEP})
    print(f"first run {summary['totals']['wall_s']} s")
    stop.set()
    watcher.join()
    print(json.dumps({"killed": killed, "totals": summary["totals"]}, indent=1))

    # The kill happened mid-run, and the run finished anyway with every video.
    assert killed, "no worker was killed: the extractions ended before the watcher saw frames"
    assert killed["unfinished"], killed
    assert summary["failed"] == [], summary
    assert sorted(Path(r["video"]).stem for r in summary["videos"]) == sorted([NAMES[0], *NAMES])
    assert not set(killed["pids"]) & {r["pid"] for r in summary["videos"]}
    planned = len(range(0, FRAMES, STEP))
    for r in summary["videos"]:
        assert r["frames_planned"] == planned, r
        assert r["frames_written"] + r["frames_existing"] == planned, r
    # Some attempt found frames stored by a killed (or a concurrent) one and kept them.
    assert any(r["frames_existing"] > 0 for r in summary["videos"]), summary

    # The dataset: every manifest, exactly the planned frames, each showing its number.
    jpgs, manifests = stored()
    assert sorted(Path(k).name for k in manifests) == sorted(f"{n}.scene.json" for n in NAMES)
    for name, clip in clips.items():
        truth = ffmpeg_numbers(clip)
        assert len(truth) == FRAMES
        want = [f"{name}_{i:06d}.jpg" for i in range(0, FRAMES, STEP)]
        have = sorted(Path(k).name for k in jpgs if Path(k).name.startswith(name + "_"))
        assert have == want, name
        check = tmp_path / "check" / name
        check.mkdir(parents=True)
        for k in have:
            with fs.open_input_stream(f"{bucket_path(dataset)}/{k}") as f:
                (check / k).write_bytes(f.read())
        # One ffmpeg per video decodes its stored JPEGs in name (= index) order.
        raw = subprocess.run(
            ["ffmpeg", "-v", "error", "-pattern_type", "glob", "-i", str(check / "*.jpg"),
             "-f", "rawvideo", "-pix_fmt", "gray", "-"],
            check=True, capture_output=True).stdout
        import numpy as np

        images = np.frombuffer(raw, dtype=np.uint8).reshape(len(have), HEIGHT, WIDTH)
        got = [read_number(img) for img in images]
        assert got == [truth[i] for i in range(0, FRAMES, STEP)], name
        with fs.open_input_stream(f"{bucket_path(dataset)}/{name}.scene.json") as f:
            manifest = json.loads(f.read())
        assert manifest["format"] == "video-dataset/manifest"
        # One record per stored frame, nothing else left behind for the video.
        infos = fs.get_file_info(pafs.FileSelector(
            f"{bucket_path(dataset)}/.video-dataset/{name}", recursive=True))
        records = sorted(Path(i.path).name for i in infos if i.type == pafs.FileType.File)
        assert records == [f"{i:06d}.json" for i in range(0, FRAMES, STEP)], name

    print(f"checked {time.monotonic() - started:.1f} s after the start")
    # Again, with a file that is not a video among them: nothing left to write, and the bad
    # file is its row's error while the others complete.
    broken = tmp_path / "broken.mp4"
    broken.write_bytes(b"not a video\n" * 100)
    put_object(f"{run_prefix}/other/broken.mp4", broken)
    bad = {"video": f"{run_prefix}/other/broken.mp4", "folder": "other"}
    again = example.run([*rows, bad], dataset, {"step": STEP})
    print(f"second run {again['totals']['wall_s']} s")
    assert again["failed"] == [bad["video"]], again
    (bad_row,) = [r for r in again["videos"] if r["video"] == bad["video"]]
    assert bad_row["error"].startswith("NotAVideoError"), bad_row
    good = [r for r in again["videos"] if r["video"] != bad["video"]]
    assert sum(r["frames_written"] for r in good) == 0, again["totals"]
    assert all(r["frames_existing"] == planned and r["error"] is None for r in good)
