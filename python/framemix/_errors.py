"""The exceptions and the warning framemix raises.

Every error is a :class:`FramemixError` and also the built-in exception a caller expects:
:class:`OptionError` is a ``ValueError``, :class:`InputError` an ``OSError`` (with
``filename`` and, where the system gave one, ``errno``), :class:`InputNotFoundError` also a
``FileNotFoundError``, :class:`DeviceError` a ``RuntimeError``. ``str(error)`` is the
library's message, as ``mixcli`` prints it (``PATH: problem``); ``kind`` is the stable name of
the problem that ``mixcli batch`` reports (``"not_found"``, ``"damaged"``, ``"usage"``, ...).
"""

from __future__ import annotations

from typing import Optional

__all__ = [
    "FramemixError",
    "OptionError",
    "InputError",
    "InputNotFoundError",
    "DeviceError",
    "DamagedInputWarning",
]


class FramemixError(Exception):
    """The base of every error framemix raises.

    Attributes: ``message`` (the whole message, ``PATH: problem`` when it concerns a file),
    ``kind`` (the stable name of the problem), ``path`` (the file or folder, or ``None``),
    ``reason`` (the problem without the path).
    """

    def __init__(
        self,
        message: str,
        kind: str,
        path: Optional[str] = None,
        errno: Optional[int] = None,
        reason: Optional[str] = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.kind = kind
        self.path = path
        self.reason = message if reason is None else reason
        self._errno = errno

    def __str__(self) -> str:
        return self.message

    def __reduce__(self):  # type: ignore[override]
        # Errors cross process boundaries (worker processes of a data loader): rebuild them
        # from the same five values.
        return (type(self), (self.message, self.kind, self.path, self._errno, self.reason))


class OptionError(FramemixError, ValueError):
    """A bad option value or combination, or a plan the library refuses (``kind`` is
    ``"usage"`` or ``"mix"``)."""


class InputError(FramemixError, OSError):
    """The input: not found, not a video, no video stream, damaged, truncated, an unreadable
    or mismatched frame, a pipe, an I/O error. ``filename`` is the path; ``errno`` is the
    system's error number where there is one (``ENOENT`` for a missing input), else ``None``;
    ``strerror`` is the problem without the path."""

    def __init__(
        self,
        message: str,
        kind: str,
        path: Optional[str] = None,
        errno: Optional[int] = None,
        reason: Optional[str] = None,
    ) -> None:
        FramemixError.__init__(self, message, kind, path, errno, reason)
        self.errno = errno
        self.strerror = self.reason
        self.filename = path

    def __str__(self) -> str:
        return self.message


class InputNotFoundError(InputError, FileNotFoundError):
    """The input does not exist (``errno`` is ``ENOENT``)."""


class DeviceError(FramemixError, RuntimeError):
    """The requested device is not available (a build without CUDA support, no GPU) or
    failed."""


class DamagedInputWarning(UserWarning):
    """A damaged input was mixed anyway because ``allow_damaged=True``; the message says what
    was damaged."""

