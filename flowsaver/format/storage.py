"""Where files live: a local path goes to the ``os`` module, a URL to an object store.

Every path-taking function of the checkpoint code calls these instead of ``os``/``open``.
For a local path each one is the ``os`` call it replaces, so local behaviour is exactly
what it was and ``fsspec`` is never imported. A path of the form ``scheme://...``
(``s3://bucket/run/model.ckpt``, ``gs://...``, ``memory://...``) goes to
``remote.ObjectStore``, which speaks fsspec and is loaded on first use; the extra that
provides the protocol (``flowsaver[s3]``, ``flowsaver[gcs]``) is named when it is missing.

Object stores have no atomic rename, so writes never rely on one there: an output is
written straight to its final name and becomes visible in one step when it is committed
(one PUT, or the completion of a multipart upload). The checkpoint commit protocol built
on that is written down in bundle_write.py.

Outputs are two-phase on every store: ``finish()`` makes the bytes durable but invisible,
``commit()`` makes them visible. Writers finish everything first and commit in the order
that keeps readers safe (data, then index, then the state file).
"""
from __future__ import annotations

import os
import re
import sys
from typing import Protocol

from flowsaver.format import atomic, files

# "scheme://": a letter, then letters, digits, "+", "-" or "."; at least two characters,
# so that a Windows drive ("C:\\", "C://") is never taken for a scheme.
_URL = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]+://")


def is_url(path) -> bool:
    """Whether ``path`` names an object in a store (``scheme://...``) rather than a file."""
    return isinstance(path, str) and _URL.match(path) is not None


def store_for(path: str):
    from flowsaver.format import remote  # only URLs load the fsspec binding
    return remote.store_for(path)


# ---- queries ------------------------------------------------------------------------------
def exists(path: str) -> bool:
    return store_for(path).exists(path) if is_url(path) else os.path.exists(path)


def isfile(path: str) -> bool:
    return store_for(path).isfile(path) if is_url(path) else os.path.isfile(path)


def isdir(path: str) -> bool:
    return store_for(path).isdir(path) if is_url(path) else os.path.isdir(path)


def listdir(path: str) -> list[str]:
    """Names (not paths) in a directory. Raises OSError (FileNotFoundError) as os does."""
    return store_for(path).listdir(path) if is_url(path) else os.listdir(path or ".")


def getsize(path: str) -> int:
    return store_for(path).getsize(path) if is_url(path) else os.path.getsize(path)


def getmtime_ns(path: str) -> int:
    """Modification time in nanoseconds since the epoch."""
    return store_for(path).getmtime_ns(path) if is_url(path) else os.stat(path).st_mtime_ns


def isabs(path: str) -> bool:
    """Whether a path is absolute: a URL always is (it names its store and bucket)."""
    return is_url(path) or os.path.isabs(path)


def same_directory(a: str, b: str) -> bool:
    """Whether two directory names are one directory (after normalising both)."""
    if is_url(a) or is_url(b):
        return a.rstrip("/") == b.rstrip("/")
    return os.path.abspath(a or ".") == os.path.abspath(b or ".")


# ---- changes ------------------------------------------------------------------------------
def remove(path: str) -> None:
    """Deletes one file. Raises FileNotFoundError when it is not there."""
    if is_url(path):
        store_for(path).remove(path)
    else:
        os.remove(path)


def remove_if_present(path: str) -> None:
    """Deletes one file; one that is not there is fine."""
    try:
        remove(path)
    except FileNotFoundError:
        pass


def mkdir(path: str) -> None:
    """Creates one directory level (a no-op on object stores, which have none)."""
    if not is_url(path):
        os.mkdir(path)


def makedirs(path: str) -> None:
    """Creates a directory and its parents; existing ones are fine."""
    if not is_url(path):
        os.makedirs(path, exist_ok=True)


def move(src: str, dst: str) -> None:
    """Moves a file onto ``dst``: an atomic rename locally, copy then delete on a store."""
    if is_url(src) or is_url(dst):
        store = store_for(dst)
        store.copy(src, dst)
        store.remove(src)
    else:
        os.replace(src, dst)


def copy(src: str, dst: str) -> None:
    """Copies a file (server-side on an object store: the bytes do not come here)."""
    if is_url(src) or is_url(dst):
        store_for(dst).copy(src, dst)
    else:
        import shutil
        shutil.copyfile(src, dst)


# ---- reading ------------------------------------------------------------------------------
def read_bytes(path: str, limit: int | None = None) -> bytes:
    """A whole file's bytes, at most ``limit + 1`` of them when ``limit`` is given.

    Local files are read by files.read_regular_file: a missing file is NotFoundError, and
    one that is not a regular file (a FIFO, a device, a directory) is refused with
    InvalidArgumentError rather than read, since reading one could block forever.
    """
    if is_url(path):
        return store_for(path).read_bytes(path, limit)
    return files.read_regular_file(path, sys.maxsize if limit is None else limit + 1)


def read_range(path: str, offset: int, size: int) -> bytes:
    """``size`` bytes at ``offset`` (fewer when the file ends first)."""
    if is_url(path):
        return store_for(path).read_range(path, offset, size)
    with open(path, "rb") as f:
        f.seek(offset)
        return f.read(size)


# ---- writing ------------------------------------------------------------------------------
class Output(Protocol):
    """A file being written: bytes go in, ``finish()`` then ``commit()`` publish them."""

    path: str

    def write(self, data) -> int: ...
    def finish(self) -> None: ...
    def commit(self) -> None: ...
    def abort(self) -> None: ...


class LocalOutput:
    """A local file written under a temporary name and renamed into place on commit.

    With ``sync``, ``finish`` fsyncs the file and ``commit`` fsyncs the directory after
    the rename, so that a committed file survives a power cut as well as a crash.
    """

    def __init__(self, path: str, temp_suffix: atomic.TempSuffix = atomic.tempstate_suffix,
                 sync: bool = False):
        self.path = path
        suffix = temp_suffix() if callable(temp_suffix) else temp_suffix
        self.temp_path = path + suffix
        self.sync = sync
        self._file = open(self.temp_path, "xb", buffering=0)

    def write(self, data) -> int:
        return self._file.write(data)

    def finish(self) -> None:
        if self._file.closed:
            return
        if self.sync:
            os.fsync(self._file.fileno())
        self._file.close()

    def commit(self) -> None:
        self.finish()
        os.replace(self.temp_path, self.path)
        if self.sync:
            fsync_directory(os.path.dirname(self.path))

    def abort(self) -> None:
        self._file.close()
        atomic.discard(self.temp_path)


def fsync_directory(directory: str) -> None:
    """Makes a directory's entries (renames, new files) durable; a no-op where the
    platform cannot open a directory (Windows)."""
    try:
        fd = os.open(directory or ".", os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def open_output(path: str, temp_suffix: atomic.TempSuffix = atomic.tempstate_suffix,
                sync: bool = False) -> Output:
    """An output for ``path``: a temporary local file, or an uncommitted remote object."""
    if is_url(path):
        return store_for(path).open_output(path)
    return LocalOutput(path, temp_suffix, sync)


def open_new(path: str):
    """A new file for appending (event files, which grow as events arrive).

    Locally: ``open(path, "xb")``. On a store, which cannot append, the bytes are kept
    here and each ``flush()`` uploads the whole object again with one PUT, as TensorFlow's
    S3 file system does; readers see the object as of the last flush.

    Raises:
      FileExistsError: the file or object is already there.
    """
    if is_url(path):
        return store_for(path).open_new(path)
    return open(path, "xb")


def write_atomic(path: str, data: bytes, temp_suffix: atomic.TempSuffix = atomic.uuid_temp_suffix,
                 sync: bool = False) -> None:
    """Writes a whole file so that readers see the old bytes or the new, never a mixture.

    Locally: a temporary file renamed into place (atomic.py). On a store: one PUT.
    """
    if is_url(path):
        store_for(path).write_bytes(path, data)
        return
    out = LocalOutput(path, temp_suffix, sync)
    try:
        view = memoryview(data)
        while view:
            view = view[out.write(view):]
        out.commit()
    except BaseException:
        out.abort()
        raise
