"""Reading the bytes of a bundle's files: positioned reads of local files, and ranged
requests to a store with as few of them as possible.

A local data file is opened as a regular file only (``open_regular_file``) and read with
positioned reads (``read_exactly``); a data object of a store is read with HTTP range
requests. ``RemoteBlob`` stands where a local file
descriptor would, and ``prefetch`` plans the requests for many tensors at once: tensors
close together in one object share a ranged GET, and the GETs run concurrently.
"""
from __future__ import annotations

import os
import stat
import threading

from flowsaver import errors
from flowsaver.format import storage


def open_regular_file(path: str) -> int:
    """A read-only fd of a regular file. A FIFO, device or directory is refused, not read:
    a FIFO would block and /dev/zero never ends."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_BINARY", 0))
    except FileNotFoundError:
        raise errors.NotFoundError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise errors.InvalidArgumentError(f"{path} is a directory, not a checkpoint file") \
            from None
    except OSError as exc:
        raise errors.PermissionDeniedError(f"{path}: cannot open: {exc.strerror}") from None
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise errors.InvalidArgumentError(f"{path} is not a regular file")
    return fd


def read_object(url: str) -> bytes:
    """A whole object of a store; NotFoundError when it is not there."""
    try:
        return storage.read_bytes(url)
    except FileNotFoundError:
        raise errors.NotFoundError(f"{url}: no such object") from None
    except OSError as exc:
        raise errors.UnavailableError(f"{url}: cannot read: {exc}") from None


class RemoteBlob:
    """A data object of a store, read by byte ranges; stands where a local fd would."""

    def __init__(self, url: str):
        self.url = url
        self._store = storage.store_for(url)

    def read(self, offset: int, size: int, where: str) -> bytes:
        try:
            data = self._store.read_range(self.url, offset, size)
        except OSError as exc:
            raise errors.DataLossError(f"{where}: reading {self.url} at offset {offset} "
                                       f"failed: {exc}") from None
        if len(data) != size:
            raise errors.DataLossError(f"{where}: {self.url} ended after "
                                       f"{offset + len(data)} bytes while reading")
        return data

    def read_many(self, ranges: list[tuple[int, int]], where: str) -> list[bytes]:
        try:
            out = self._store.read_ranges(self.url, ranges)
        except OSError as exc:
            raise errors.DataLossError(f"{where}: reading {self.url} failed: {exc}") from None
        for (offset, size), data in zip(ranges, out):
            if isinstance(data, BaseException) or len(data) != size:
                raise errors.DataLossError(f"{where}: {size} bytes at offset {offset} of "
                                           f"{self.url} could not be read")
        return out


# Neighbouring tensors of a remote bundle share one ranged GET when the bytes between them
# are fewer than this, and a joined range grows to at most _MAX_JOINED_RANGE bytes.
_COALESCE_GAP = 1 << 20
_MAX_JOINED_RANGE = 64 << 20


def _coalesce(extents) -> list[tuple[int, int, list]]:
    """Sorted ``[(offset, size)]`` -> ``[(start, end, members)]`` ranges to fetch."""
    runs: list = []
    for offset, size in extents:
        if runs and offset - runs[-1][1] <= _COALESCE_GAP \
                and offset + size - runs[-1][0] <= _MAX_JOINED_RANGE:
            start, end, members = runs[-1]
            runs[-1] = (start, max(end, offset + size), members + [(offset, size)])
        else:
            runs.append((offset, offset + size, [(offset, size)]))
    return runs


def prefetch(wanted, where: str) -> dict:
    """Fetch ``[(shard_id, blob, offset, size)]`` in joined, concurrent ranged GETs.

    Returns:
      ``{(shard_id, offset, size): memoryview}`` of the fetched bytes.
    """
    by_shard: dict = {}
    for shard_id, blob, offset, size in wanted:
        by_shard.setdefault(shard_id, (blob, set()))[1].add((offset, size))
    out = {}
    for shard_id, (blob, extents) in by_shard.items():
        runs = _coalesce(sorted(extents))
        datas = blob.read_many([(start, end - start) for start, end, _ in runs],
                               f"{len(extents)} tensors of {where}")
        for (start, _, members), data in zip(runs, datas):
            view = memoryview(data)
            for offset, size in members:
                out[(shard_id, offset, size)] = view[offset - start:offset - start + size]
    return out


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
