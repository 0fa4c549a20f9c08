"""The Python API against ffmpeg's numbering of the same files."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import numpy as np
import pytest

import video_dataset as vd
from conftest import ffmpeg_numbers, ffprobe_pts, image_number, read_number


def numbers(frames):
    return [read_number(f) for f in frames]


def test_frames_by_index_in_the_callers_order(clips):
    path = clips["bframes"]
    truth = ffmpeg_numbers(path)
    video = vd.Video(str(path))
    assert len(video) == len(truth)
    asked = [17, 3, 17, 0, len(truth) - 1, 3, 40]
    frames = video.get_frames(asked)
    assert numbers(frames) == [truth[i] for i in asked]
    f = frames[0]
    assert isinstance(f, np.ndarray) and f.dtype == np.uint8 and f.shape == (240, 320, 3)
    assert f.flags["C_CONTIGUOUS"] and f.flags["WRITEABLE"]
    # Duplicates are separate arrays: writing to one leaves the other alone.
    frames[0][:] = 0
    assert read_number(frames[2]) == truth[17]
    assert read_number(video.get_frame(-1)) == truth[-1]
    assert read_number(video[5]) == truth[5]
    assert numbers(video[10:40:7]) == truth[10:40:7]
    assert numbers(video[-3:]) == truth[-3:]


def test_metadata_and_frame_table(clips):
    path = clips["vfr"]
    pts = ffprobe_pts(path)
    video = vd.Video(path)  # an os.PathLike
    meta = video.metadata
    assert meta["frame_count"] == len(pts) == len(video)
    assert (meta["width"], meta["height"]) == (320, 240)
    assert vd.probe(str(path))["frame_count"] == len(pts)
    table = video.frame_table
    assert table["pts"].dtype == np.float64 and len(table["pts"]) == len(pts)
    np.testing.assert_allclose(table["pts"], np.array(pts) - pts[0], atol=1e-4)
    assert table["keyframe"][0]


def test_frames_at_a_time(clips):
    path = clips["vfr"]
    truth = ffmpeg_numbers(path)
    pts = ffprobe_pts(path)
    video = vd.Video(str(path))
    times = [0.0, 0.5, 1.05, 2.2, 0.5]
    frames = video.frames_at(times)
    for t, f in zip(times, frames):
        expected = max(i for i, p in enumerate(pts) if p <= pts[0] + t + 1e-9)
        assert read_number(f) == truth[expected], t
        assert video.index_at(t) == expected
    assert read_number(video.frames_at(1.05)) == read_number(frames[2])


def test_sample_streams_a_plan(clips):
    path = clips["bframes"]
    truth = ffmpeg_numbers(path)
    video = vd.Video(str(path))
    seen = []
    for index, seconds, frame in video.sample(step=7):
        assert read_number(frame) == truth[index]
        assert seconds == pytest.approx(index / 30, abs=1e-3)
        seen.append(index)
    assert seen == list(range(0, len(truth), 7))
    # fps within a window: the frame shown at each k/2 s in [0.5, 2.5).
    got = [i for i, _, _ in video.sample(fps=2, start=0.5, end=2.5)]
    assert got == [15, 30, 45, 60]
    # The video is usable again after an iterator ends early.
    it = video.sample(step=1)
    next(it)
    del it
    assert read_number(video.get_frame(2)) == truth[2]


def test_resize(clips):
    video = vd.Video(str(clips["bframes"]), resize=160)
    assert video.get_frame(0).shape == (120, 160, 3)
    video = vd.Video(str(clips["bframes"]), resize=(200, 100))
    assert video.get_frame(0).shape == (100, 200, 3)


def test_errors_are_typed(clips, tmp_path):
    video = vd.Video(str(clips["bframes"]))
    n = len(video)
    with pytest.raises(vd.IndexOutOfRangeError) as e:
        video.get_frames([0, n + 4])
    assert isinstance(e.value, IndexError) and isinstance(e.value, vd.VideoDatasetError)
    assert (e.value.index, e.value.frame_count, e.value.kind) == (n + 4, n, "index_out_of_range")
    with pytest.raises(IndexError):
        video[n]
    with pytest.raises(vd.TimeOutOfRangeError) as e:
        video.frames_at([0.0, 1e6])
    assert str(clips["bframes"]) in str(e.value)
    missing = tmp_path / "missing.mp4"
    with pytest.raises(FileNotFoundError) as e:
        vd.Video(str(missing))
    assert isinstance(e.value, vd.NotFoundError) and str(missing) in str(e.value)
    text = tmp_path / "notes.mp4"
    text.write_text("not a video\n" * 100)
    with pytest.raises(vd.VideoDatasetError) as e:
        vd.Video(str(text))
    assert e.value.kind in ("not_a_video", "no_video_stream"), e.value.kind
    assert str(text) in str(e.value)
    with pytest.raises(vd.InvalidPlanError):
        video.sample(step=2, fps=1.0)
    with pytest.raises(ValueError):
        list(video.sample(step=0))
    # Still usable after errors.
    assert video.get_frame(1).shape == (240, 320, 3)


def test_encoded_and_written_frames(clips, tmp_path):
    path = clips["bframes"]
    truth = ffmpeg_numbers(path)
    video = vd.Video(str(path))
    images = video.encode_frames([8, 2, 8], format="png")
    for i, b in zip([8, 2, 8], images):
        assert b[:8] == b"\x89PNG\r\n\x1a\n"
        p = tmp_path / f"enc-{i}.png"
        p.write_bytes(b)
        assert image_number(p) == truth[i]
    targets = {12: tmp_path / "a" / "12.jpg", 30: str(tmp_path / "30.png")}
    video.write_frames(targets)
    video.write_frames([(12, tmp_path / "again.jpeg")], quality=70)
    assert image_number(tmp_path / "a" / "12.jpg") == truth[12]
    assert image_number(tmp_path / "30.png") == truth[30]
    assert image_number(tmp_path / "again.jpeg") == truth[12]
    with pytest.raises(vd.InvalidPathError):
        video.write_frames({1: tmp_path / "x.bmp"})
    assert not (tmp_path / "x.bmp").exists()


def test_extract_into_a_dataset(clips, tmp_path):
    path = clips["bframes"]
    truth = ffmpeg_numbers(path)
    dataset = tmp_path / "ds"
    report = vd.extract(str(path), str(dataset), step=10, format="png")
    assert report["frames_written"] == len(range(0, len(truth), 10))
    for record in report["frames"]:
        stored = dataset / record["key"]
        assert image_number(stored) == truth[record["index"]]
    again = vd.extract(path, dataset, step=10, format="png")
    assert again["frames_written"] == 0 and again["frames_existing"] == report["frames_written"]


def test_decoding_releases_the_gil(clips):
    """While one thread decodes, Python code in another thread keeps running."""
    path = clips["bframes"]
    video = vd.Video(str(path))
    counter = 0
    stop = threading.Event()

    def spin():
        nonlocal counter
        while not stop.is_set():
            counter += 1

    spinner = threading.Thread(target=spin)
    spinner.start()
    try:
        time.sleep(0.05)
        before = counter
        t0 = time.perf_counter()
        frames = video.get_frames(list(range(len(video))))
        decode_seconds = time.perf_counter() - t0
        during = counter - before
    finally:
        stop.set()
        spinner.join()
    assert len(frames) == len(video)
    # With the GIL held for the whole call, the spinner could not run at all during it.
    assert during > 1000, (during, decode_seconds)


def test_two_threads_decode_two_videos_at_once(clips):
    """Two threads, two videos, at once: each gets its own frames right. The wall time of both
    beside one alone is printed (the GIL test above is the assertion; the Python benchmark
    reports the ratio)."""
    paths = [clips["bframes"], clips["vfr"]]
    truths = {p: ffmpeg_numbers(p) for p in paths}
    results = {}

    def decode(p):
        v = vd.Video(str(p))
        results[p] = numbers(v.get_frames(list(range(len(v)))))

    t0 = time.perf_counter()
    decode(paths[0])
    decode(paths[1])
    one_after_other = time.perf_counter() - t0
    results.clear()
    threads = [threading.Thread(target=decode, args=(p,)) for p in paths]
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    together = time.perf_counter() - t0
    for p in paths:
        assert results[p] == truths[p], p
    print(f"two videos one after the other {one_after_other:.3f} s, in two threads {together:.3f} s")


def test_extract_a_tree_as_one_job(clips, tmp_path):
    from conftest import make_clip

    tree = tmp_path / "tree"
    (tree / "cam1").mkdir(parents=True)
    a = make_clip(tree / "cam1" / "a.mp4", 40)
    b = make_clip(tree / "b.mp4", 25)
    (tree / "notes.txt").write_text("not a video")
    dataset = tmp_path / "ds"
    out = vd.extract_tree(str(tree), str(dataset), step=5, format="png")
    assert out["state"] == "succeeded", out
    assert out["failures"] == []
    report = out["report"]
    assert report["frames_written"] == len(range(0, 40, 5)) + len(range(0, 25, 5))
    stored = sorted(p.relative_to(dataset).as_posix() for p in dataset.rglob("*.png"))
    assert any(s.startswith("cam1/") for s in stored) and any("/" not in s for s in stored), stored
    truths = {"a": ffmpeg_numbers(a), "b": ffmpeg_numbers(b)}
    for p in dataset.rglob("*.png"):
        video, index = p.stem.rsplit("_", 1)
        assert image_number(p) == truths[video][int(index)], p
    again = vd.extract_tree(tree, dataset, step=5, format="png")
    assert again["report"]["frames_written"] == 0
    assert again["report"]["frames_existing"] == report["frames_written"]


def test_a_video_by_url(clips):
    path = clips["bframes"]
    truth = ffmpeg_numbers(path)
    video = vd.Video(path.resolve().as_uri())  # file:///…: read by byte ranges, as a store's
    assert len(video) == len(truth)
    assert numbers(video.get_frames([44, 1])) == [truth[44], truth[1]]


def test_an_open_iterator_makes_other_calls_fail_fast_not_hang(clips):
    path = clips["bframes"]
    truth = ffmpeg_numbers(path)
    video = vd.Video(str(path))
    it = video.sample(step=1)
    assert read_number(next(it)[2]) == truth[0]
    t0 = time.perf_counter()
    with pytest.raises(RuntimeError, match="iterator"):
        video.get_frame(5)
    assert time.perf_counter() - t0 < 30
    del it
    assert read_number(video.get_frame(5)) == truth[5]
    # Leaving a loop early frees the video at once.
    for index, _, _ in video.sample(step=3):
        if index >= 9:
            break
    assert read_number(video.get_frame(7)) == truth[7]
    # An exhausted iterator too.
    assert [i for i, _, _ in video.sample(indices=[4, 2])] == [2, 4]
    assert read_number(video.get_frame(8)) == truth[8]


def test_errors_say_whether_a_retry_could_help(clips):
    """`transient` is the library's `is_transient` (a store error that is, is not quick to
    provoke: object_store retries for a minute first)."""
    video = vd.Video(str(clips["bframes"]))
    with pytest.raises(vd.IndexOutOfRangeError) as e:
        video.get_frame(10_000)
    assert "transient" in vars(e.value) and e.value.transient is False


def _peak_rss_iterating(path) -> int:
    """Peak RSS (KiB) of a fresh interpreter that iterates over every frame of ``path``."""
    import subprocess
    import sys

    code = (
        "import resource, sys, video_dataset as vd\n"
        "v = vd.Video(sys.argv[1])\n"
        "n = sum(1 for _ in v.sample(step=1))\n"
        "assert n == len(v), (n, len(v))\n"
        "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)\n"
    )
    out = subprocess.run([sys.executable, "-c", code, str(path)], check=True,
                         capture_output=True, text=True)
    return int(out.stdout.strip())


def test_iterating_a_longer_video_takes_no_more_memory(tmp_path):
    """Memory is bounded by the stream's buffering, not by the video's length: ten times the
    frames (640x480 RGB, 0.9 MiB each) must not raise the peak by more than a few frames."""
    from conftest import make_clip

    short = make_clip(tmp_path / "short.mp4", 60, size="640x480")
    long = make_clip(tmp_path / "long.mp4", 600, size="640x480")
    a, b = _peak_rss_iterating(short), _peak_rss_iterating(long)
    print(f"peak RSS: 60 frames {a / 1024:.0f} MiB, 600 frames {b / 1024:.0f} MiB")
    # Holding the 540 extra frames would add about 480 MiB.
    assert b - a < 40 * 1024, (a, b)
