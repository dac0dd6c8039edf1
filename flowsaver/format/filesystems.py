"""File systems: what ``tf.io.gfile`` works through, and the local one.

A ``FileSystem`` is a small set of operations (open, stat, list, make/remove directories,
rename, copy, glob) in terms of which ``gfile`` is written; schemes.py says which one holds
a path (the local one here, the object stores of store_filesystem.py, or one registered
for a scheme). Errors are TensorFlow's classes and messages (``NotFoundError: x; No such
file or directory``), whatever file system raised them.
"""
from __future__ import annotations

import abc
import dataclasses
import errno
import os
import shutil
import stat as _stat
from typing import BinaryIO

from flowsaver import errors



@dataclasses.dataclass(frozen=True)
class FileStatistics:
    """What ``gfile.stat`` returns, with TensorFlow's field names."""

    length: int
    mtime_nsec: int
    is_directory: bool


class FileSystem(abc.ABC):
    """The operations gfile needs from a storage system; paths keep their scheme."""

    @abc.abstractmethod
    def open(self, path: str, mode: str) -> BinaryIO:
        """A binary file object; ``mode`` is one of rb, wb, ab, r+b, w+b, a+b."""

    @abc.abstractmethod
    def stat(self, path: str) -> FileStatistics:
        """Raises NotFoundError when nothing is at ``path``."""

    @abc.abstractmethod
    def listdir(self, path: str) -> list[str]:
        """The names directly under directory ``path`` (not . and ..)."""

    @abc.abstractmethod
    def mkdir(self, path: str) -> None:
        """Create one directory; its parent must exist; an existing path is left alone."""

    @abc.abstractmethod
    def remove(self, path: str) -> None:
        """Delete one file."""

    @abc.abstractmethod
    def rmtree(self, path: str) -> None:
        """Delete a directory and everything below it (or a single file)."""

    @abc.abstractmethod
    def rename(self, src: str, dst: str) -> None:
        """Move ``src`` onto ``dst``, replacing a file there."""

    @abc.abstractmethod
    def glob(self, pattern: str) -> list[str]:
        """Paths matching ``pattern`` (``*``, ``?``, ``[...]`` within one component)."""

    # Derived operations; a file system may do them more directly.
    def exists(self, path: str) -> bool:
        try:
            self.stat(path)
        except errors.NotFoundError:
            return False
        return True

    def isdir(self, path: str) -> bool:
        try:
            return self.stat(path).is_directory
        except errors.NotFoundError:
            return False

    def copy(self, src: str, dst: str) -> None:
        """Copy the bytes of file ``src`` to ``dst``, replacing a file there."""
        with self.open(src, "rb") as source, self.open(dst, "wb") as target:
            shutil.copyfileobj(source, target, COPY_CHUNK_BYTES)


COPY_CHUNK_BYTES = 1 << 20


def translate_os_error(exc: OSError, path: str) -> errors.OpError:
    """The TensorFlow error for an OS error on ``path``, with TF's message form."""
    reason = os.strerror(exc.errno) if exc.errno else str(exc)
    message = f"{path}; {reason}"
    if exc.errno == errno.ENOENT:
        return errors.NotFoundError(message)
    if exc.errno == errno.EEXIST:
        return errors.AlreadyExistsError(message)
    if exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        return errors.PermissionDeniedError(message)
    if exc.errno in (errno.EISDIR, errno.ENOTDIR, errno.ENOTEMPTY):
        return errors.FailedPreconditionError(message)
    if exc.errno == errno.ENOSPC:
        return errors.ResourceExhaustedError(message)
    if exc.errno in (errno.EINVAL, errno.ENAMETOOLONG):
        return errors.InvalidArgumentError(message)
    return errors.UnknownError(message)


def local_path(path: str) -> str:
    """``file:///x`` -> ``/x``; other paths unchanged."""
    return path[len("file://"):] if path.startswith("file://") else path


class LocalFileSystem(FileSystem):
    """The machine's own files, through the standard library."""

    def open(self, path, mode):
        try:
            return open(local_path(path), mode)  # noqa: SIM115 - the caller closes it
        except OSError as exc:
            raise translate_os_error(exc, path) from None

    def exists(self, path):
        return os.path.exists(local_path(path))

    def isdir(self, path):
        return os.path.isdir(local_path(path))

    def stat(self, path):
        try:
            result = os.stat(local_path(path))
        except OSError as exc:
            raise translate_os_error(exc, path) from None
        return FileStatistics(length=result.st_size, mtime_nsec=result.st_mtime_ns,
                              is_directory=_stat.S_ISDIR(result.st_mode))

    def listdir(self, path):
        try:
            return os.listdir(local_path(path))
        except OSError:
            raise errors.NotFoundError(f"Could not find directory {path}") from None

    def mkdir(self, path):
        try:
            os.mkdir(local_path(path))
        except FileExistsError:
            pass   # as TensorFlow's mkdir: an existing path, even a file, is no error
        except OSError as exc:
            raise translate_os_error(exc, path) from None

    def remove(self, path):
        local = local_path(path)
        if os.path.isdir(local) and not os.path.islink(local):
            raise errors.FailedPreconditionError(f"{path}; Is a directory")
        try:
            os.remove(local)
        except OSError as exc:
            raise translate_os_error(exc, path) from None

    def rmtree(self, path):
        local = local_path(path)
        if not os.path.lexists(local):
            raise errors.NotFoundError(f"{path} not found")
        try:
            if os.path.isdir(local) and not os.path.islink(local):
                shutil.rmtree(local)
            else:
                os.remove(local)
        except OSError as exc:
            raise translate_os_error(exc, getattr(exc, "filename", None) or path) from None

    def rename(self, src, dst):
        try:
            os.replace(local_path(src), local_path(dst))
        except OSError as exc:
            raise translate_os_error(exc, src) from None

    def glob(self, pattern):
        from flowsaver.format.state import get_matching_files   # TensorFlow's rules
        return get_matching_files(local_path(pattern))

    def copy(self, src, dst):
        if os.path.isdir(local_path(src)):
            raise errors.InvalidArgumentError(f"{src}; Is a directory")
        try:
            shutil.copyfile(local_path(src), local_path(dst))
        except OSError as exc:
            failed = exc.filename if isinstance(exc.filename, str) else src
            raise translate_os_error(exc, failed) from None


LOCAL = LocalFileSystem()
