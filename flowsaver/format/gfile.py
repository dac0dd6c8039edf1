"""``tf.io.gfile``: files by path or URL, as TensorFlow's file-system layer offers them.

Local paths use the ``os`` module; ``scheme://`` URLs use an object store through
storage.py (fsspec, loaded only then). On a store, a file opened for writing is uploaded
when it is closed (and by ``flush``), and ``rename`` is a copy then a delete.
"""
from __future__ import annotations

import dataclasses
import io
import os
import shutil

from flowsaver import errors
from flowsaver.format import storage
from flowsaver.format.state import get_matching_files


def _not_found(path: str) -> errors.NotFoundError:
    return errors.NotFoundError(f"{path}; No such file or directory")


class GFile:
    """A file by path or URL, opened in ``mode`` ("r", "rb", "w", "wb", "a", "ab").

    Example:
      >>> with GFile("s3://bucket/run/notes.txt", "w") as f:
      ...     f.write("step 10: loss 0.25\\n")
    """

    def __init__(self, name, mode: str = "r"):
        self.name = os.fspath(name)
        self.mode = mode
        binary = "b" in mode
        if mode.replace("b", "") not in ("r", "w", "a"):
            raise errors.InvalidArgumentError(f"mode {mode!r} is not one of r, w, a (+b)")
        if storage.is_url(self.name):
            self._f = self._remote(binary)
        else:
            try:
                self._f = open(self.name, mode,
                               **({} if binary else {"encoding": "utf-8", "newline": ""}))
            except FileNotFoundError:
                raise _not_found(self.name) from None

    def _remote(self, binary: bool):
        kind = self.mode.replace("b", "")
        if kind == "r":
            try:
                data = storage.read_bytes(self.name)
            except FileNotFoundError:
                raise _not_found(self.name) from None
            raw = io.BytesIO(data)
            return raw if binary else io.TextIOWrapper(raw, encoding="utf-8", newline="")
        start = b""
        if kind == "a" and storage.exists(self.name):
            start = storage.read_bytes(self.name)
        if storage.exists(self.name):
            storage.remove(self.name)
        target = storage.open_new(self.name)
        if start:
            target.write(start)
        raw = _Uploaded(target)
        return raw if binary else io.TextIOWrapper(raw, encoding="utf-8", newline="",
                                                   write_through=True)

    def __getattr__(self, name):   # read, readline, write, seek, tell, flush, ...
        return getattr(self._f, name)

    def __iter__(self):
        return iter(self._f)

    def size(self) -> int:
        return stat(self.name).length

    def close(self) -> None:
        self._f.close()

    def __enter__(self) -> "GFile":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


class _Uploaded(io.RawIOBase):
    """A writable raw stream over storage.open_new's object (uploaded on flush/close)."""

    def __init__(self, target):
        self._target = target

    def writable(self) -> bool:
        return True

    def write(self, data) -> int:
        return self._target.write(data)

    def flush(self) -> None:
        if not self.closed:
            self._target.flush()

    def close(self) -> None:
        if not self.closed:
            self._target.close()
        super().close()


@dataclasses.dataclass(frozen=True)
class FileStatistics:
    length: int
    mtime_nsec: int
    is_directory: bool


def exists(path) -> bool:
    return storage.exists(os.fspath(path))


def isdir(path) -> bool:
    return storage.isdir(os.fspath(path))


def listdir(path) -> list[str]:
    """Names in a directory (subdirectories without a trailing slash here)."""
    path = os.fspath(path)
    try:
        return sorted(storage.listdir(path))
    except FileNotFoundError:
        raise _not_found(path) from None


def glob(pattern) -> list[str]:
    """Paths matching a pattern, as TensorFlow matches them (fnmatch per component)."""
    return get_matching_files(os.fspath(pattern))


def makedirs(path) -> None:
    storage.makedirs(os.fspath(path))


def mkdir(path) -> None:
    """Creates one directory; its parent must exist (a no-op on object stores)."""
    path = os.fspath(path)
    try:
        storage.mkdir(path)
    except FileExistsError:
        raise errors.AlreadyExistsError(f"{path}: file already exists") from None
    except FileNotFoundError:
        raise _not_found(os.path.dirname(path)) from None


def remove(path) -> None:
    path = os.fspath(path)
    try:
        storage.remove(path)
    except FileNotFoundError:
        raise _not_found(path) from None


def rename(src, dst, overwrite: bool = False) -> None:
    src, dst = os.fspath(src), os.fspath(dst)
    if not overwrite and storage.exists(dst):
        raise errors.AlreadyExistsError(f"{dst}: file already exists")
    storage.move(src, dst)


def copy(src, dst, overwrite: bool = False) -> None:
    src, dst = os.fspath(src), os.fspath(dst)
    if not overwrite and storage.exists(dst):
        raise errors.AlreadyExistsError(f"{dst}: file already exists")
    if storage.is_url(src) != storage.is_url(dst):   # between a disk and a store
        storage.write_atomic(dst, storage.read_bytes(src))
    else:
        storage.copy(src, dst)


def rmtree(path) -> None:
    path = os.fspath(path)
    if storage.is_url(path):
        storage.store_for(path).remove_tree(path)
    else:
        shutil.rmtree(path)


def stat(path) -> FileStatistics:
    path = os.fspath(path)
    if not storage.exists(path):
        raise _not_found(path)
    if storage.isdir(path):
        return FileStatistics(0, 0, True)
    return FileStatistics(storage.getsize(path), storage.getmtime_ns(path), False)


def walk(top, topdown: bool = True, onerror=None):
    """``(dirname, subdirs, files)`` for each directory under ``top``."""
    top = os.fspath(top)
    try:
        names = storage.listdir(top)
    except OSError as exc:
        if onerror is not None:
            onerror(exc)
        return
    subdirs = [n for n in names if storage.isdir(os.path.join(top, n))]
    files = [n for n in names if n not in subdirs]
    if topdown:
        yield top, subdirs, files
    for sub in subdirs:
        yield from walk(os.path.join(top, sub), topdown, onerror)
    if not topdown:
        yield top, subdirs, files


def join(path, *paths) -> str:
    return os.path.join(os.fspath(path), *map(os.fspath, paths))
