"""Exact Frame Mix-up of videos and frame folders into numpy arrays.

``framemix.mix(path)`` decodes a video (or a folder of numbered JPEG/PNG frames) and returns
its Frame Mix-up tensor, the same values bit for bit as ``mixcli mix``; ``framemix.info(path)``
describes the input and its plan, as ``mixcli info --json``. Errors are
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
from ._framemix import CUDA_SUPPORT, __version__, info, mix

__all__ = [
    "mix",
    "info",
    "FramemixError",
    "OptionError",
    "InputError",
    "InputNotFoundError",
    "DeviceError",
    "DamagedInputWarning",
    "CUDA_SUPPORT",
    "__version__",
]
