"""Opening a file a user or another file named, without trusting what it is.

A path can name a FIFO (opening it to read blocks until a writer comes), a device
(``/dev/zero`` never ends) or a directory. Every reader of checkpoint files, state files
and indexes opens through here: the open itself never blocks (``O_NONBLOCK``), and
anything but a regular file is refused before a byte is read.
"""
from __future__ import annotations

import os
import stat
import threading

from flowsaver import errors

_CHUNK = 1 << 20


class CommitOnExit:
    """A writer used as ``with writer:`` calls its ``finish()`` when the block ends
    normally and its ``abort()`` when it raises (nothing is left at the path then)."""

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            self.finish()
        else:
            self.abort()


def open_regular_file(path: str) -> int:
    """A read-only fd of a regular file. A FIFO, device or directory is refused, not read.

    Raises:
      NotFoundError: no such file.
      InvalidArgumentError: a directory, FIFO, socket or device.
      PermissionDeniedError: the file exists but cannot be opened.
    """
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_BINARY", 0))
    except FileNotFoundError:
        raise errors.NotFoundError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise errors.InvalidArgumentError(f"{path} is a directory, not a checkpoint file") \
            from None
    except OSError as exc:
        raise errors.PermissionDeniedError(f"{path}: cannot open: {exc.strerror}") from None
    mode = os.fstat(fd).st_mode
    if not stat.S_ISREG(mode):
        os.close(fd)
        kind = "a directory" if stat.S_ISDIR(mode) else "a FIFO" if stat.S_ISFIFO(mode) \
            else "a device or socket"
        raise errors.InvalidArgumentError(f"{path} is not a regular file ({kind}); it is "
                                          f"not read")
    return fd


def physical_memory_bytes() -> int:
    """The machine's physical memory; a large fallback where the OS does not say."""
    try:
        return os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return 1 << 48


def read_regular_file(path: str, limit: int) -> bytes:
    """Up to ``limit`` bytes of the regular file at ``path`` (see open_regular_file).

    Memory follows the file's size, not ``limit``: ``f.read(limit)`` would allocate all
    of ``limit`` first (2 GiB for a 300-byte .meta file). The caller compares the length
    with its own bound: asking for one byte more than it accepts tells a file that grew
    past the bound from one that fits.
    """
    fd = open_regular_file(path)
    with os.fdopen(fd, "rb") as f:
        try:
            size = os.fstat(fd).st_size
            data = f.read(min(limit, size))
            if len(data) < limit:      # the file may have grown since fstat
                rest = iter(lambda: f.read(min(limit - len(data), _CHUNK)), b"")
                for chunk in rest:
                    data += chunk
                    if len(data) >= limit:
                        break
            return data
        except OSError as exc:
            raise errors.DataLossError(f"{path}: reading failed: {exc.strerror or exc}") \
                from None


def read_exactly(fd: int, view, offset: int, where: str, path: str) -> None:
    got = 0
    while got < len(view):
        try:
            n = _pread_into(fd, view[got:], offset + got)
        except OSError as exc:  # an I/O error, or the reader closed by another thread
            raise errors.DataLossError(f"{where}: reading {path} at offset {offset + got} "
                                       f"failed: {exc.strerror or exc}") from None
        if n <= 0:
            raise errors.DataLossError(f"{where}: {path} ended after {offset + got} bytes "
                                       f"while reading")
        got += n


if hasattr(os, "preadv"):
    def _pread_into(fd: int, view, offset: int) -> int:
        return os.preadv(fd, [view[:1 << 30]], offset)
else:  # Windows: no positioned read into a buffer
    _seek_lock = threading.Lock()

    def _pread_into(fd: int, view, offset: int) -> int:
        with _seek_lock:
            os.lseek(fd, offset, os.SEEK_SET)
            return os.readv(fd, [view[:1 << 30]]) if hasattr(os, "readv") else \
                _read_copy(fd, view)

    def _read_copy(fd, view):
        chunk = os.read(fd, min(len(view), 1 << 30))
        view[:len(chunk)] = chunk
        return len(chunk)
