"""Frame-accurate frames from videos as NumPy arrays, and videos into image datasets.

Frame ``N`` is the ``N``-th frame a player shows (ffmpeg's ``-fps_mode passthrough`` numbering),
as an ``H×W×3`` ``uint8`` RGB array, upright. Decoding releases the GIL.

>>> import video_dataset as vd
>>> video = vd.Video("clip.mp4")                      # doctest: +SKIP
>>> frames = video.get_frames([30, 0, 30])            # doctest: +SKIP
>>> for index, seconds, rgb in video.sample(fps=2):   # doctest: +SKIP
...     pass
"""

from __future__ import annotations

from . import errors
from ._native import ERROR_CLASSES as _ERROR_CLASSES
from ._native import FrameIterator, Video, extract, extract_tree, probe
from .errors import *  # noqa: F401,F403
from .errors import VideoDatasetError

# The Rust side raises these classes by name: every name it knows must exist here.
for _name in _ERROR_CLASSES:
    if not issubclass(getattr(errors, _name), VideoDatasetError):  # pragma: no cover
        raise ImportError(f"video_dataset.errors.{_name} is not a VideoDatasetError")
del _name

__all__ = [
    "Video",
    "FrameIterator",
    "probe",
    "extract",
    "extract_tree",
    "VideoDatasetError",
    *[n for n in dir(errors) if n.endswith("Error") and n != "VideoDatasetError"],
]
