"""Exact Frame Mix-up of videos and frame folders into numpy arrays.

``framemix.mix(path)`` decodes a video (or a folder of numbered JPEG/PNG frames) and returns
its Frame Mix-up tensor, the same values bit for bit as ``mixcli mix``; ``framemix.info(path)``
describes the input and its plan, as ``mixcli info --json``. :class:`VideoDataset` mixes the
clips of an annotation list on demand (a map-style dataset for torch's DataLoader), and
:class:`Loader` batches it with mixdata's threads. Errors are
:class:`FramemixError` subclasses that are also ``ValueError``, ``OSError`` or
``RuntimeError``.
"""

from ._errors import (
    DamagedInputWarning,
    DeviceError,
    FramemixError,
    InputError,
    InputNotFoundError,
    OptionError,
)
from ._framemix import CUDA_SUPPORT, Loader, LoaderIter, VideoDataset, __version__, info, mix

__all__ = [
    "mix",
    "info",
    "VideoDataset",
    "Loader",
    "LoaderIter",
    "FramemixError",
    "OptionError",
    "InputError",
    "InputNotFoundError",
    "DeviceError",
    "DamagedInputWarning",
    "CUDA_SUPPORT",
    "__version__",
]
