"""Exact Frame Mix-up of videos and frame folders into numpy arrays.

``framemix.mix(path)`` decodes a video (or a folder of numbered JPEG/PNG frames) and returns
its Frame Mix-up tensor, the same values bit for bit as ``mixcli mix``; ``framemix.info(path)``
describes the input and its plan, as ``mixcli info --json``. :class:`VideoDataset` mixes the
clips of an annotation list on demand (a map-style dataset for torch's DataLoader), and
:class:`Loader` batches it with mixdata's threads. Errors are
:class:`FramemixError` subclasses that are also ``ValueError``, ``OSError`` or
``RuntimeError``.
"""

import os
import pathlib
from typing import Any, Iterator, List, Literal, Optional, Sequence, SupportsIndex, Tuple, Union

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
_CropMode = Union[Literal["center", "three", "random", "multiscale"], str]
_ListFormat = Literal["video", "rawframes", "sthv1", "sthv2"]
_Label = Union[int, Tuple[int, ...]]
_Dtype = Literal["float32", "float16", "bfloat16", "f32", "f16", "bf16"]
#: An output array: float32 (default), float16, or uint16 holding bfloat16 bit patterns.
_Array = npt.NDArray[Union[np.float32, np.float16, np.uint16]]

def mix(
    path: _Path,
    *,
    segments: SupportsIndex = 8,
    frames: Optional[_Frames] = None,
    schedule: _Schedule = "linear",
    select: _Select = "spread",
    train: bool = False,
    seed: Optional[SupportsIndex] = None,
    epoch: Optional[SupportsIndex] = None,
    layout: _Layout = "tchw",
    scale: _Scale = "raw",
    size: Optional[_Size] = None,
    resize_short: Optional[SupportsIndex] = None,
    crop: Optional[_Size] = None,
    crop_mode: _CropMode = "center",
    flip: bool = False,
    template: Optional[str] = None,
    start: Optional[SupportsIndex] = None,
    threads: SupportsIndex = 0,
    allow_damaged: bool = False,
    autorotate: bool = True,
    device: _Device = "cpu",
    dtype: _Dtype = "float32",
) -> _Array:
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
        epoch: with train=True, mix epoch E's draw: the seed is derived from seed, E and
            index 0 by the dataset rule (VideoDataset's sample 0), as `--epoch E`. Default
            None: the seed is used as it is.
        layout: "tchw" (default, shape [S, 3, H, W]), "cthw" ([3, S, H, W]) or
            "thwc" ([S, H, W, 3]).
        scale: "raw" (default, 0 to 255), "unit" (0 to 1) or "imagenet"
            ((v / 255 - mean) / std per channel).
        size: resize every frame before mixing (bilinear): (width, height) or "WxH".
            Default: the input's own size. Not with resize_short.
        resize_short: resize every frame's short side to N (bicubic), the long side keeping
            the aspect ratio (mmaction2's Resize(scale=(-1, N))).
        crop: keep a (width, height) (or "WxH") crop of every resized frame.
        crop_mode: where the crop is taken: "center" (default); "three" (three views on a
            leading axis, [3, S, C, H, W] for tchw, mmaction2's ThreeCrop); "random" or "multiscale"
            (TSN's multi-scale crop), drawn per clip from the seed, need train=True; any
            other mode mixdata's parser takes (`--crop-mode`).
        flip: flip the clip horizontally with probability 1/2, drawn from the seed (needs
            train=True). Default False.
        template: the frame names of a frame folder, a Python format such as
            "img_{:05}.jpg"; other files are ignored. Default: every file is a frame.
        start: the number of the template's first frame (default 1).
        threads: decoder threads, 0 (default: FFmpeg decides) to 64.
        allow_damaged: mix a damaged input anyway; a DamagedInputWarning says what was
            damaged. Default False: a damaged input raises InputError.
        autorotate: turn the frames by the video's display matrix, as the ffmpeg program
            does. Default True.
        device: "cpu" (default) or "cuda" (a build with the cuda feature).
        dtype: the element type: "float32" (default), "float16" or "bfloat16" (or "f32",
            "f16", "bf16"). A half value is the float32 result rounded to nearest, ties to
            even, in Rust without the GIL; the float32 values are not kept.

    Returns:
        A C-contiguous numpy array in the layout's shape: float32, float16, or for bfloat16
        (which numpy lacks) uint16 holding the bfloat16 bit patterns, which
        torch.from_numpy(a.view(np.int16)).view(torch.bfloat16) makes a torch.bfloat16
        tensor without a copy. It owns the values (they are not copied), so
        torch.from_numpy shares its memory.

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
    epoch: Optional[SupportsIndex] = None,
    template: Optional[str] = None,
    start: Optional[SupportsIndex] = None,
    quick: bool = False,
    autorotate: bool = True,
) -> dict[str, Any]:
    """Describes one video or frame folder and its plan, as `mixcli info --json` does.

    Decodes every frame (unless quick=True) to count the frames that really decode, and
    plans the mix with the given options (the same as mix's).

    Args:
        path: a video file or a folder of numbered JPEG/PNG frames.
        segments, frames, schedule, select, train, seed, epoch: the plan, as for mix.
        template, start: a frame folder's frame names, as for mix.
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

class VideoDataset:
    """Clips of an annotation list, each mixed on demand as an epoch draws it: a map-style
    dataset (`len(ds)`, `ds[i] -> (array, label)`) for torch.utils.data.DataLoader.

    The list is read once, here (mixdata's readers: mmaction2's video and rawframe lists,
    Something-Something V1's CSV and V2's JSON); relative paths resolve against `root`,
    absolute ones are taken as they are. Every clip is mixed exactly as `mixcli batch --list`
    with the same options mixes it: in train mode sample i of epoch e is drawn with the seed
    rule of mixdata (seed, e, i), so its bits do not depend on which process or thread fetches
    it, or in which order. The GIL is released while a clip is decoded and mixed.

    The dataset pickles as its arguments and its current epoch, and is rebuilt (the list read
    again) when unpickled: DataLoader worker processes each get their own.

    Args:
        list_file: the annotation list (str or os.PathLike).
        root: the folder the list's relative paths resolve against.
        list_format: "video" (default; mmaction2: PATH LABEL...), "rawframes" (mmaction2:
            DIR TOTAL_FRAMES LABEL...), "sthv1" (ID;LABEL TEXT) or "sthv2" (the V2 JSON).
        labels: the label file of an sthv1 or sthv2 list.
        **options: how every clip is mixed, as for framemix.mix: segments, frames,
            schedule, select, train, seed (the dataset's seed in train mode), layout, scale,
            size, resize_short, crop, crop_mode, flip, template, start, threads (decoder
            threads per clip, default 1), allow_damaged, autorotate, device; epoch, the
            epoch to start at (default 0); and dtype, the samples' element type: "float32"
            (default), "float16" or "bfloat16" (as for framemix.mix: float16 arrays, or uint16
            arrays of bfloat16 bit patterns). With crop=(w, h) (or size=(w, h)) every clip
            comes out at one size, so clips of any size batch together.

    Raises:
        OptionError: a bad option, list format or combination (a ValueError).
        InputError: the list or label file is missing or unreadable, or a line does not
            parse (the message names the file and the line; an OSError).
    """

    def __init__(
        self,
        list_file: _Path,
        root: _Path,
        list_format: _ListFormat = "video",
        labels: Optional[_Path] = None,
        *,
        segments: SupportsIndex = 8,
        frames: Optional[_Frames] = None,
        schedule: _Schedule = "linear",
        select: _Select = "spread",
        train: bool = False,
        seed: Optional[SupportsIndex] = None,
        epoch: SupportsIndex = 0,
        layout: _Layout = "tchw",
        scale: _Scale = "raw",
        size: Optional[_Size] = None,
        resize_short: Optional[SupportsIndex] = None,
        crop: Optional[_Size] = None,
        crop_mode: _CropMode = "center",
        flip: bool = False,
        template: Optional[str] = None,
        start: Optional[SupportsIndex] = None,
        threads: SupportsIndex = 1,
        allow_damaged: bool = False,
        autorotate: bool = True,
        device: _Device = "cpu",
        dtype: _Dtype = "float32",
    ) -> None: ...
    def __len__(self) -> int:
        """The number of clips in the list."""
    def __getitem__(self, index: SupportsIndex) -> Tuple[_Array, _Label]:
        """Mixes clip `index` as the current epoch draws it.

        Returns:
            (array, label): the C-contiguous array in the layout's shape (owned by numpy, no
            copy) in the dataset's dtype: float32, float16, or uint16 holding bfloat16 bit
            patterns (rounded to nearest, ties to even, without the GIL); and the clip's label:
            an int, a tuple of ints for a clip with several labels, or -1 for a clip without
            one.

        Raises:
            IndexError: `index` is negative or not below len(dataset).
            InputError: the clip is missing, damaged or unreadable (the message names it).
        """
    def set_epoch(self, epoch: SupportsIndex) -> None:
        """Sets the epoch whose train-mode draws __getitem__ mixes (test mode: every epoch is
        the same). Call it at the start of every epoch, in each worker process it matters to
        (or use framemix.Loader, which takes the epoch itself).

        Args:
            epoch: 0 to 2**64 - 1.
        """
    @property
    def epoch(self) -> int:
        """The current epoch (set_epoch)."""
    @property
    def paths(self) -> List[pathlib.Path]:
        """The clips' paths (pathlib.Path), in list order (relative ones joined to root)."""
    @property
    def sample_shape(self) -> Optional[Tuple[int, ...]]:
        """The shape every sample has when the options fix the frame size (crop, or size
        without crop), else None (each clip's own size); with three crops a leading axis of 3
        views.
        """
    @property
    def dtype(self) -> Literal["float32", "float16", "bfloat16"]:
        """The samples' element type: "float32", "float16" or "bfloat16" (whose arrays are
        numpy uint16, the bit patterns).
        """
    def __reduce__(self) -> Tuple[Any, ...]:
        """Pickles as (the constructor, the arguments as given, the current epoch): unpickling
        reads the list again.
        """
    def __setstate__(self, state: int) -> None:
        """Restores the epoch of a pickled dataset."""

class LoaderIter(Iterator[Tuple[_Array, npt.NDArray[np.int64], npt.NDArray[np.int64]]]):
    """One epoch of a Loader: an iterator of (batch, labels, indices). Dropping it stops the
    epoch's threads."""

    def __iter__(self) -> "LoaderIter":
        """The iterator itself."""
    def __next__(
        self,
    ) -> Tuple[_Array, npt.NDArray[np.int64], npt.NDArray[np.int64]]:
        """The next batch: (batch, labels, indices). Raises the error of a failed sample
        (on_error="fail"), StopIteration at the end of the epoch."""

class Loader:
    """Batches of a VideoDataset, decoded and mixed by mixdata's worker threads (not Python
    processes), in a seeded order.

    Iterating yields one epoch's batches: (batch, labels, indices), where batch is
    [B, S, 3, H, W] for layout "tchw" ([B, 3, S, H, W] for "cthw", [B, S, H, W, 3] for
    "thwc") in the loader's dtype (float32, float16, or uint16 holding bfloat16 bit
    patterns), owned by numpy without a copy (torch.from_numpy shares it); labels is int64 [B]
    (-1 for a clip without a label; int64 [B, L] padded with -1 when a clip of the list has
    several); indices is int64 [B], the samples' indices in the dataset. The GIL is released
    while the iterator waits for a batch.

    The batches are the same, bit for bit, whatever the number of workers: sample i of epoch
    e is the dataset's (seed rule (seed, e, i)), and the order of an epoch depends on `seed`
    and the epoch only. Every sample has one shape: the crop's (or size's), else the first
    clip's; a clip of another shape is an error naming it.

    Args:
        dataset: a framemix.VideoDataset.
        batch_size: samples per batch, at least 1.
        workers: decoding threads, 0 (decode on the iterating thread) to 256.
        shuffle: visit the samples in a new seeded order each epoch. Default True.
        seed: the seed of the shuffle, 0 to 2**64 - 1. Default 0.
        drop_last: leave out a last batch shorter than batch_size. Default False.
        on_error: "fail" (default: the first sample that fails raises its error and ends the
            epoch) or "skip" (it is left out and the batch filled from the next samples;
            `skipped` lists it).
        epoch: the epoch the next iteration mixes (set_epoch changes it). Default 0.
        prefetch: batches in flight at most (raised to `workers`). Default 2.
        dtype: the batches' element type, "float32", "float16" or "bfloat16" (or "f32",
            "f16", "bf16"). Default None: the dataset's dtype. The workers mix in float32
            and round each batch to a half dtype themselves (to nearest, ties to even), so
            the iterating thread converts nothing and Python holds only the half values.

    Raises:
        OptionError: a bad batch size, worker count or policy, or an empty dataset.
        InputError: no clip of the dataset opens (when the shape comes from the first clip).
    """

    def __init__(
        self,
        dataset: VideoDataset,
        batch_size: SupportsIndex,
        workers: SupportsIndex,
        shuffle: bool = True,
        seed: SupportsIndex = 0,
        drop_last: bool = False,
        on_error: Literal["fail", "skip"] = "fail",
        epoch: SupportsIndex = 0,
        prefetch: SupportsIndex = 2,
        dtype: Optional[_Dtype] = None,
    ) -> None: ...
    def __iter__(self) -> LoaderIter:
        """Starts an epoch (the current one, set_epoch): its batches, in order."""
    def __len__(self) -> int:
        """Batches per epoch when no sample is skipped."""
    def set_epoch(self, epoch: SupportsIndex) -> None:
        """Sets the epoch the next iteration mixes (its order and its train-mode draws).

        Args:
            epoch: 0 to 2**64 - 1.
        """
    @property
    def epoch(self) -> int:
        """The epoch the next iteration mixes."""
    @property
    def dataset(self) -> VideoDataset:
        """The dataset."""
    @property
    def dtype(self) -> Literal["float32", "float16", "bfloat16"]:
        """The batches' element type: "float32", "float16" or "bfloat16" (whose arrays are numpy
        uint16, the bit patterns).
        """
    @property
    def sample_shape(self) -> Tuple[int, ...]:
        """The shape of every sample (the batch's after its first axis; with three crops a
        leading axis of 3 views).
        """
    def order(self, epoch: SupportsIndex) -> List[int]:
        """The order in which `epoch` visits the samples (a list of indices)."""
    @property
    def skipped(self) -> List[Tuple[int, FramemixError]]:
        """The samples left out of the current (or last) epoch with on_error="skip": a list of
        (index, exception), in order.
        """
