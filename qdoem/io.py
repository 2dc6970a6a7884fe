"""Atomic file writes: the one place where qdoem writes files that must never be half-written.

Every writer goes to a temporary file in the destination folder, is flushed and fsynced, and is
then moved over the destination with ``os.replace`` (atomic on POSIX and Windows). A crash or an
interrupt mid-write leaves the previous file intact, never a truncated one.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from typing import IO, Any

__all__ = ["atomic_write", "atomic_write_text", "atomic_torch_save"]


def atomic_write(path: str | os.PathLike, write: Callable[[IO[bytes]], Any]) -> None:
    """Call ``write(fh)`` on a temporary binary file, then move it onto ``path``.

    Parameters
    ----------
    path : path-like
        Destination; its folder is created if missing.
    write : callable
        Writes the content to the open binary file handle it is given.
    """
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    suffix = os.path.splitext(path)[1]
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=".tmp-", suffix=suffix)
    try:
        with os.fdopen(fd, "wb") as fh:
            write(fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def atomic_write_text(path: str | os.PathLike, text: str) -> None:
    """Write ``text`` (UTF-8) to ``path`` atomically."""
    atomic_write(path, lambda fh: fh.write(text.encode("utf-8")))


def atomic_torch_save(obj: Any, path: str | os.PathLike) -> None:
    """``torch.save(obj)`` to ``path`` atomically."""
    import torch

    atomic_write(path, lambda fh: torch.save(obj, fh))
