"""Exact Frame Mix-up of videos and frame folders into numpy arrays.

``framemix.mix(path)`` decodes a video (or a folder of numbered JPEG/PNG frames) and returns
its Frame Mix-up tensor, the same values bit for bit as ``mixcli mix``; ``framemix.info(path)``
describes the input and its plan, as ``mixcli info --json``. Errors are
:class:`FramemixError` subclasses that are also ``ValueError``, ``OSError`` or
``RuntimeError``.
"""

import os
from typing import Any, Literal, Optional, Sequence, SupportsIndex, Tuple, Union

import numpy as np
import numpy.typing as npt

from ._errors import (
    DamagedInputWarning as DamagedInputWarning,
    DeviceError as DeviceError,
    FramemixError as FramemixError,
    InputError as InputError,
    InputNotFoundError as InputNotFoundError,
    OptionError as OptionError,
)

__version__: str
#: True when this build can mix on CUDA devices (``device="cuda"``).
CUDA_SUPPORT: bool

_Path = Union[str, "os.PathLike[str]"]
_Frames = Union[Literal["all"], SupportsIndex]
_Schedule = Union[
    Literal["average", "linear", "linear0"], str, Sequence[SupportsIndex]
]
_Select = Literal["spread", "consecutive"]
_Layout = Literal["tchw", "cthw", "thwc"]
_Scale = Literal["raw", "unit", "imagenet"]
_Size = Union[Tuple[SupportsIndex, SupportsIndex], str]
_Device = Literal["cpu", "cuda"]

def mix(
    path: _Path,
    *,
    segments: SupportsIndex = 8,
    frames: Optional[_Frames] = None,
    schedule: _Schedule = "linear",
    select: _Select = "spread",
    train: bool = False,
    seed: Optional[SupportsIndex] = None,
    layout: _Layout = "tchw",
    scale: _Scale = "raw",
    size: Optional[_Size] = None,
    threads: SupportsIndex = 0,
    allow_damaged: bool = False,
    autorotate: bool = True,
    device: _Device = "cpu",
) -> npt.NDArray[np.float32]:
    """Mixes one video or frame folder and returns its Frame Mix-up tensor.

    Decodes `path` (any video FFmpeg reads, or a folder of numbered JPEG or PNG frames) and
    folds the frames of each of the `segments` windows into one image, exactly as
    `mixcli mix` does: the same values, bit for bit. Options take the command line's values
    and spellings. The GIL is released while the input is decoded and mixed.

    Args:
        path: a video file or a folder of numbered JPEG/PNG frames (str or os.PathLike).
        segments: S, the number of mixed frames out. Default 8.
        frames: frames mixed per segment, "all" or an int N >= 1. Default: all, or the
            number of numerators of a custom schedule.
        schedule: the weights: "average", "linear" (default), "linear0",
            "custom:N,N,..." or a list of ints (one numerator per mixed frame).
        select: which frames of a window are mixed: "spread" (default) or "consecutive".
        train: train mode: random positions within each window, drawn from `seed`.
        seed: the seed of train mode, 0 to 2**64 - 1; train=True needs it.
        layout: "tchw" (default, shape [S, 3, H, W]), "cthw" ([3, S, H, W]) or
            "thwc" ([S, H, W, 3]).
        scale: "raw" (default, 0 to 255), "unit" (0 to 1) or "imagenet"
            ((v / 255 - mean) / std per channel).
        size: resize every frame before mixing (bilinear): (width, height) or "WxH".
            Default: the input's own size.
        threads: decoder threads, 0 (default: FFmpeg decides) to 64.
        allow_damaged: mix a damaged input anyway; a DamagedInputWarning says what was
            damaged. Default False: a damaged input raises InputError.
        autorotate: turn the frames by the video's display matrix, as the ffmpeg program
            does. Default True.
        device: "cpu" (default) or "cuda" (a build with the cuda feature).

    Returns:
        A float32, C-contiguous numpy array in the layout's shape. It owns the mixed values
        (they are not copied), so torch.from_numpy shares its memory.

    Raises:
        OptionError: a bad option value or combination (a ValueError).
        InputError: the input is missing, not a video, damaged or unreadable (an OSError
            with the path as filename; InputNotFoundError, a FileNotFoundError, when it
            does not exist).
        DeviceError: the device is not available (a RuntimeError).
    """

def info(
    path: _Path,
    *,
    segments: SupportsIndex = 8,
    frames: Optional[_Frames] = None,
    schedule: _Schedule = "linear",
    select: _Select = "spread",
    train: bool = False,
    seed: Optional[SupportsIndex] = None,
    quick: bool = False,
    autorotate: bool = True,
) -> dict[str, Any]:
    """Describes one video or frame folder and its plan, as `mixcli info --json` does.

    Decodes every frame (unless quick=True) to count the frames that really decode, and
    plans the mix with the given options (the same as mix's).

    Args:
        path: a video file or a folder of numbered JPEG/PNG frames.
        segments, frames, schedule, select, train, seed: the plan, as for mix.
        quick: trust the demuxed packet count instead of decoding every frame.
        autorotate: report the size after the display matrix's turn. Default True.

    Returns:
        A dict: "frames" (F), "width", "height", "segments" (for each segment a dict of
        "frames" (positions), "numerators", "denominator", "window" ([lo, hi))), "input",
        "kind" ("video" or "frames"), "counted", "frames_exact", "rotation",
        "display_rotation", "damage" (None with quick=True), and for videos "container",
        "codec", "frame_rate" ([num, den] or None), "header_frames", "duration_s".

    Raises:
        OptionError: a bad option (a ValueError).
        InputError: the input is missing, not a video or unreadable (an OSError).
    """
