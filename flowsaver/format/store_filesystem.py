"""gfile on object stores: the FileSystem (filesystems.py) every ``scheme://`` URL gets
unless another is registered for its scheme, speaking through storage.py (fsspec, loaded
only when a URL is used).

Stores hold objects, not files: a file opened for writing is uploaded whole when it is
flushed or closed (one PUT; "a" reads the object first and uploads it longer), ``rename``
is a copy then a delete, and directories exist only as prefixes of objects, so ``mkdir``
has nothing to do.
"""
from __future__ import annotations

import io

from flowsaver import errors
from flowsaver.format import storage
from flowsaver.format.filesystems import FileStatistics, FileSystem


def _missing(path: str) -> errors.NotFoundError:
    return errors.NotFoundError(f"{path}; No such file or directory")


class _Upload(io.RawIOBase):
    """A writable stream whose bytes become the object at ``path`` on flush and close."""

    def __init__(self, path: str, start: bytes = b""):
        self._path = path
        self._data = bytearray(start)
        self._uploaded = -1 if start else 0

    def writable(self) -> bool:
        return True

    def write(self, data) -> int:
        self._data += data
        return len(memoryview(data).cast("B"))

    def tell(self) -> int:
        return len(self._data)

    def flush(self) -> None:
        if not self.closed and len(self._data) != self._uploaded:
            storage.write_atomic(self._path, bytes(self._data))
            self._uploaded = len(self._data)

    def close(self) -> None:
        if not self.closed:
            if self._uploaded != len(self._data) or self._uploaded == 0:
                storage.write_atomic(self._path, bytes(self._data))
        super().close()


class ObjectStoreFileSystem(FileSystem):
    """Every operation gfile needs, on the object store a URL names."""

    def open(self, path, mode):
        if mode == "rb":
            try:
                return io.BytesIO(storage.read_bytes(path))
            except FileNotFoundError:
                raise _missing(path) from None
        start = b""
        if "a" in mode and storage.isfile(path):
            start = storage.read_bytes(path)
        return _Upload(path, start)

    def exists(self, path):
        return storage.exists(path)

    def isdir(self, path):
        return storage.isdir(path)

    def stat(self, path):
        if storage.isdir(path):
            return FileStatistics(0, 0, True)
        if not storage.isfile(path):
            raise _missing(path)
        return FileStatistics(storage.getsize(path), storage.getmtime_ns(path), False)

    def listdir(self, path):
        try:
            return sorted(storage.listdir(path))
        except FileNotFoundError:
            raise errors.NotFoundError(f"Could not find directory {path}") from None

    def mkdir(self, path):
        storage.mkdir(path)

    def remove(self, path):
        try:
            storage.remove(path)
        except FileNotFoundError:
            raise _missing(path) from None

    def rmtree(self, path):
        if not storage.exists(path):
            raise errors.NotFoundError(f"{path} not found")
        storage.store_for(path).remove_tree(path)

    def rename(self, src, dst):
        if not storage.isfile(src):
            raise _missing(src)
        storage.move(src, dst)

    def copy(self, src, dst):
        if not storage.isfile(src):
            raise _missing(src)
        storage.copy(src, dst)

    def glob(self, pattern):
        from flowsaver.format.state import get_matching_files
        return get_matching_files(pattern)


OBJECT_STORES = ObjectStoreFileSystem()
