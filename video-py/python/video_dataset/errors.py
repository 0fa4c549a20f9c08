"""The exceptions video_dataset raises, one class per kind of error of the Rust library.

Every class derives from :class:`VideoDatasetError`, and from the Python built-in exception that
means the same where there is one, so code that catches the built-in keeps working::

    try:
        video.get_frame(10_000)
    except IndexError as e:          # also video_dataset.IndexOutOfRangeError
        print(e.index, e.frame_count)

Every raised exception carries ``kind`` (the Rust error's kind, such as ``"index_out_of_range"``),
``transient`` (whether the same call later could succeed: a stall, or a store that could not be
reached or answered with server errors) and, where known, ``uri``, ``index`` and ``frame_count``
(else ``None``).
"""

from __future__ import annotations

from typing import Optional


class VideoDatasetError(Exception):
    """Base class of every error video_dataset raises."""

    kind: str = "error"
    transient: bool = False
    uri: Optional[str] = None
    index: Optional[int] = None
    frame_count: Optional[int] = None


class NotFoundError(VideoDatasetError, FileNotFoundError):
    """The video does not exist or cannot be opened."""


class NotAVideoError(VideoDatasetError, ValueError):
    """The file is not a video, or is damaged beyond reading."""


class NoVideoStreamError(VideoDatasetError, ValueError):
    """The file has no video stream (or not the one asked for)."""


class UnsupportedCodecError(VideoDatasetError, ValueError):
    """No decoder for the video's codec is installed."""


class UnsupportedError(VideoDatasetError, ValueError):
    """The input or the request is not supported."""


class InvalidPlanError(VideoDatasetError, ValueError):
    """A sampling plan that cannot work."""


class IndexOutOfRangeError(VideoDatasetError, IndexError):
    """A frame index past the end of the video (``index``, ``frame_count``)."""


class TimeOutOfRangeError(VideoDatasetError, IndexError):
    """A time before the first frame or at or after the end of the video."""


class StallTimeoutError(VideoDatasetError, TimeoutError):
    """A decode or a store made no progress for too long."""


class DecodeError(VideoDatasetError):
    """A frame could not be decoded (``index`` names it when known)."""


class EncodeError(VideoDatasetError):
    """An image could not be encoded."""


class InvalidPathError(VideoDatasetError, ValueError):
    """A path or dataset key that is not allowed."""


class LimitExceededError(VideoDatasetError, ValueError):
    """A configured limit was exceeded."""


class IoError(VideoDatasetError, OSError):
    """Reading or writing a local file failed."""


class StoreError(VideoDatasetError, OSError):
    """The dataset's store failed."""


class AnnotationError(VideoDatasetError, ValueError):
    """An annotation that does not fit the video."""


class InvalidOptionError(VideoDatasetError, ValueError):
    """An option with a value that cannot work."""


class BackendError(VideoDatasetError):
    """The media backend (GStreamer) failed."""
