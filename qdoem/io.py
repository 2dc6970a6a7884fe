"""Atomic file writes: the one place where qdoem writes files that must never be half-written.

Every writer goes to a temporary file in the destination folder, is flushed and fsynced, and is
then moved over the destination with ``os.replace`` (atomic on POSIX and Windows), and the
folder is fsynced so that the rename itself survives a power cut. A crash, a ``kill -9`` or an
interrupt mid-write leaves the previous file intact, never a truncated one. Files get the
permissions of an ordinary ``open()`` under the user's umask (a bare temporary file would be
readable by its owner only).
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable
from typing import IO, Any

__all__ = ["atomic_write", "atomic_write_text", "atomic_torch_save"]


def atomic_write(
    path: str | os.PathLike,
    write: Callable[[IO[bytes]], Any],
    *,
    previous: str | os.PathLike | None = None,
) -> None:
    """Call ``write(fh)`` on a temporary binary file, then move it onto ``path``.

    Parameters
    ----------
    path : path-like
        Destination; its folder is created if missing.
    write : callable
        Writes the content to the open binary file handle it is given.
    previous : path-like, optional
        Keep the file being replaced here (same folder): it is linked (or copied) to
        ``previous`` before the new content is moved onto ``path``, so at every moment ``path``
        is a complete file and ``previous`` holds the one before it.
    """
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    tmp = _write_temporary(folder, os.path.splitext(path)[1], write)
    try:
        if previous is not None and os.path.isfile(path):
            _keep_copy(path, os.fspath(previous), folder)
        os.replace(tmp, path)
    except BaseException:
        _remove(tmp)
        raise
    _fsync_folder(folder)


def atomic_write_text(path: str | os.PathLike, text: str) -> None:
    """Write ``text`` (UTF-8) to ``path`` atomically."""
    atomic_write(path, lambda fh: fh.write(text.encode("utf-8")))


def atomic_torch_save(
    obj: Any, path: str | os.PathLike, *, previous: str | os.PathLike | None = None
) -> None:
    """``torch.save(obj)`` to ``path`` atomically (``previous``: see :func:`atomic_write`)."""
    import torch

    atomic_write(path, lambda fh: torch.save(obj, fh), previous=previous)


def _write_temporary(folder: str, suffix: str, write: Callable[[IO[bytes]], Any]) -> str:
    """A fsynced temporary file in ``folder`` holding what ``write`` wrote; its path."""
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=".tmp-", suffix=suffix)
    try:
        if hasattr(os, "fchmod"):  # mkstemp creates 0600; give what open() would
            os.fchmod(fd, 0o666 & ~_umask())
        with os.fdopen(fd, "wb") as fh:
            write(fh)
            fh.flush()
            os.fsync(fh.fileno())
    except BaseException:
        _remove(tmp)
        raise
    return tmp


def _keep_copy(path: str, previous: str, folder: str) -> None:
    """Atomically make ``previous`` a copy of ``path`` (a hard link where the filesystem has
    them), leaving ``path`` in place."""
    link = _write_temporary(folder, ".link", lambda fh: None)
    try:
        os.unlink(link)
        try:
            os.link(path, link)
        except OSError:  # no hard links here (some network or FAT filesystems)
            shutil.copyfile(path, link)
        os.replace(link, previous)
    except BaseException:
        _remove(link)
        raise


def _umask() -> int:
    # Reading the umask means setting it; 0o077 is the safe value to hold for that instant.
    mask = os.umask(0o077)
    os.umask(mask)
    return mask


def _fsync_folder(folder: str) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:  # Windows cannot open a folder; its rename is durable without this
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _remove(path: str) -> None:
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass
