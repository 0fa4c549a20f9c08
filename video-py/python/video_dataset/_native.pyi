"""Type stubs of the extension module (re-exported by ``video_dataset``)."""

from __future__ import annotations

import os
from typing import Any, Dict, Iterator, List, Mapping, Optional, Sequence, Tuple, Union, overload

import numpy as np
import numpy.typing as npt

PathLike = Union[str, "os.PathLike[str]"]
"""A local path, or a store URL (``s3://bucket/key.mp4``, ``file:///abs/a.mp4``, ``https://…``)."""

Resize = Union[None, int, Tuple[int, int]]
"""``None`` (the video's size), an int (the longest side, never enlarged) or ``(width, height)``."""

RGBFrame = npt.NDArray[np.uint8]
"""An ``H×W×3`` RGB image."""

ERROR_CLASSES: Dict[str, List[str]]

def probe(video: PathLike) -> Dict[str, Any]:
    """Probes a video: duration, fps, width, height, codec, exact frame count, rotation, …"""

def extract(
    video: PathLike,
    dataset: PathLike,
    *,
    indices: Optional[Sequence[int]] = None,
    step: Optional[int] = None,
    fps: Optional[float] = None,
    start: Optional[float] = None,
    end: Optional[float] = None,
    max_frames: Optional[int] = None,
    format: str = "jpg",
    quality: int = 90,
    resize: Resize = None,
    folder: Optional[str] = None,
) -> Dict[str, Any]:
    """Extracts frames of ``video`` into the dataset at ``dataset`` (a directory or a store URL);
    frames already there are skipped. Returns the report (``frames_written``, ``frames``, …)."""

def extract_tree(
    source: PathLike,
    dataset: PathLike,
    *,
    step: Optional[int] = None,
    fps: Optional[float] = None,
    start: Optional[float] = None,
    end: Optional[float] = None,
    max_frames: Optional[int] = None,
    format: str = "jpg",
    quality: int = 90,
    resize: Resize = None,
    concurrency: int = 2,
) -> Dict[str, Any]:
    """Extracts frames from every video of a tree (a directory or a store prefix) into the
    dataset, mirroring its folders, as one job. Returns ``{"job_id", "state", "report",
    "failures"}``; a video that fails is listed in ``failures`` and the others go on. Ctrl-C
    cancels the job; the same call again completes it."""

class Video:
    """A video opened and probed once; its frames by index, by time or by plan."""

    def __init__(self, video: PathLike, *, resize: Resize = None) -> None: ...
    def __len__(self) -> int: ...
    @property
    def location(self) -> str: ...
    @property
    def metadata(self) -> Dict[str, Any]: ...
    @property
    def frame_table(self) -> Dict[str, npt.NDArray[Any]]:
        """``pts`` and ``duration`` (seconds from the first frame, float64) and ``keyframe``
        (bool), one entry per frame."""
    def get_frame(self, index: int) -> RGBFrame:
        """Frame ``index`` (negative counts from the end)."""
    def get_frames(self, indices: Sequence[int]) -> List[RGBFrame]:
        """The frames at ``indices`` in that order, duplicates allowed (each decoded once)."""
    @overload
    def __getitem__(self, key: int) -> RGBFrame: ...
    @overload
    def __getitem__(self, key: slice) -> List[RGBFrame]: ...
    @overload
    def frames_at(self, seconds: float) -> RGBFrame: ...
    @overload
    def frames_at(self, seconds: Sequence[float]) -> List[RGBFrame]: ...
    def index_at(self, seconds: float) -> int:
        """The index of the frame shown ``seconds`` after the first frame."""
    def encode_frames(
        self, indices: Sequence[int], *, format: str = "jpeg", quality: int = 90
    ) -> List[bytes]: ...
    def write_frames(
        self,
        targets: Union[Mapping[int, PathLike], Sequence[Tuple[int, PathLike]]],
        *,
        quality: int = 90,
    ) -> None:
        """Writes each frame to its path(s), JPEG or PNG by extension, each file whole or not at all."""
    def sample(
        self,
        *,
        indices: Optional[Sequence[int]] = None,
        step: Optional[int] = None,
        fps: Optional[float] = None,
        start: Optional[float] = None,
        end: Optional[float] = None,
        max_frames: Optional[int] = None,
    ) -> FrameIterator:
        """Streams the plan's frames in index order as ``(index, seconds, frame)``; memory stays
        bounded. The video is busy (other calls wait) until the iterator ends or is dropped."""

class FrameIterator(Iterator[Tuple[int, float, RGBFrame]]):
    def __iter__(self) -> FrameIterator: ...
    def __next__(self) -> Tuple[int, float, RGBFrame]: ...
