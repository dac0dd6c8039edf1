"""``tf.io.gfile``: files and directories by path or URL, through the file system that
holds each (schemes.py), with TensorFlow's names, arguments and errors.

As in TensorFlow, a ``GFile`` opens its file on first use: ``GFile("x", "w")`` creates
nothing until something is written, and a missing file raises ``NotFoundError`` on the
first read, not in the constructor. Reads and writes go through separate handles, so
``"r+"`` truncates on its first write (TensorFlow does the same) and ``"a"`` appends.
Text modes read and write UTF-8.
"""
from __future__ import annotations

import codecs
import os
import posixpath
import shutil
from typing import Iterator

from flowsaver import errors
from flowsaver.format.filesystems import COPY_CHUNK_BYTES, LOCAL, FileStatistics
from flowsaver.format.schemes import filesystem_for, get_registered_schemes, scheme_of

__all__ = ["GFile", "copy", "exists", "get_registered_schemes", "glob", "isdir", "join",
           "listdir", "makedirs", "mkdir", "remove", "rename", "rmtree", "stat", "walk"]

_MODES = ("r", "w", "a", "r+", "w+", "a+")
_ALREADY_EXISTS = "file already exists"


def _path(name) -> str:
    name = os.fspath(name)
    return name.decode("utf-8") if isinstance(name, bytes) else name


class GFile:
    """A file of any registered file system, opened lazily (``tf.io.gfile.GFile``)."""

    def __init__(self, name, mode="r"):
        self._name = _path(name)
        self._mode = mode
        if mode.replace("b", "") not in _MODES:
            raise errors.InvalidArgumentError(
                "mode is not 'r' or 'w' or 'a' or 'r+' or 'w+' or 'a+'")
        self._binary = "b" in mode
        self._readable = mode.replace("b", "") in ("r", "r+", "w+", "a+")
        self._writable = mode.replace("b", "") != "r"
        self._reader = None
        self._writer = None
        self._decoder = None

    @property
    def name(self) -> str:
        return self._name

    @property
    def mode(self) -> str:
        return self._mode

    # -- lazily opened handles -----------------------------------------------------------
    def _read_handle(self):
        if not self._readable:
            raise errors.PermissionDeniedError("File isn't open for reading")
        if self._reader is None:
            if self._writer is not None:
                self._writer.flush()
            self._reader = filesystem_for(self._name).open(self._name, "rb")
            self._decoder = codecs.getincrementaldecoder("utf-8")()
        return self._reader

    def _write_handle(self):
        if not self._writable:
            raise errors.PermissionDeniedError("File isn't open for writing")
        if self._writer is None:
            append = "a" in self._mode
            self._writer = filesystem_for(self._name).open(self._name, "ab" if append else "wb")
        return self._writer

    def _text(self, data: bytes, final: bool = False):
        return data if self._binary else self._decoder.decode(data, final)

    # -- reading -----------------------------------------------------------------------------
    def read(self, n=-1):
        """Up to ``n`` bytes (all that is left when ``n`` is -1), str in text modes."""
        handle = self._read_handle()
        data = handle.read() if n is None or n < 0 else handle.read(n)
        return self._text(data, final=n is None or n < 0)

    def readline(self):
        return self._text(self._read_handle().readline())

    def readlines(self):
        return list(self)

    def __iter__(self) -> Iterator:
        return self

    def __next__(self):
        line = self.readline()
        if not line:
            raise StopIteration
        return line

    next = __next__

    def size(self) -> int:
        """The file's length in bytes."""
        return filesystem_for(self._name).stat(self._name).length

    def seek(self, offset=None, whence=0, position=None) -> None:
        """Move the read position (``position`` is the old name of ``offset``)."""
        if position is not None:
            offset = position
        handle = self._read_handle()
        base = {0: 0, 1: handle.tell(), 2: self.size()}.get(whence)
        if base is None:
            raise errors.InvalidArgumentError(f"Invalid whence argument: {whence}. Valid "
                                              f"values are 0, 1, or 2.")
        target = base + (offset or 0)
        if target < 0:
            raise errors.InvalidArgumentError(f"Seeking to a negative position: {target}")
        if target > self.size():
            raise errors.OutOfRangeError("reached end of file")
        handle.seek(target)
        self._decoder.reset()

    def tell(self) -> int:
        if self._writer is not None and self._reader is None:
            return self._writer.tell()
        return self._read_handle().tell()

    def seekable(self) -> bool:
        return True

    # -- writing -----------------------------------------------------------------------------
    def write(self, file_content) -> None:
        """Append ``file_content`` (str, written as UTF-8, or bytes)."""
        handle = self._write_handle()   # first, as TensorFlow: a bad value leaves the file
        if isinstance(file_content, str):
            file_content = file_content.encode("utf-8")
        elif not isinstance(file_content, (bytes, bytearray, memoryview)):
            raise TypeError(f"Expected binary or unicode string, got {file_content!r}")
        handle.write(file_content)

    def flush(self) -> None:
        if self._writer is not None:
            self._writer.flush()

    def close(self) -> None:
        """Flush and close; reading again reopens the file, as TensorFlow's does."""
        reader, writer = self._reader, self._writer
        self._reader = self._writer = None
        if reader is not None:
            reader.close()
        if writer is not None:
            writer.close()

    def __enter__(self) -> "GFile":
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()


# -- paths ----------------------------------------------------------------------------------

def exists(path) -> bool:
    """Whether something (file or directory) is at ``path``."""
    path = _path(path)
    return filesystem_for(path).exists(path)


def isdir(path) -> bool:
    path = _path(path)
    return filesystem_for(path).isdir(path)


def stat(path) -> FileStatistics:
    """``length``, ``mtime_nsec`` and ``is_directory`` of ``path``."""
    path = _path(path)
    return filesystem_for(path).stat(path)


def listdir(path) -> list[str]:
    """The entries of directory ``path``; NotFoundError if it is none."""
    path = _path(path)
    fs = filesystem_for(path)
    if not fs.isdir(path):
        raise errors.NotFoundError(f"Could not find directory {path}")
    return fs.listdir(path)


def glob(pattern) -> list[str]:
    """The paths matching ``pattern`` (or any pattern of a list of them)."""
    if isinstance(pattern, (list, tuple)):
        return [match for p in pattern for match in glob(p)]
    pattern = _path(pattern)
    return filesystem_for(pattern).glob(pattern)


def join(path, *paths) -> str:
    """Join path components with ``/`` (``os.path.join`` for local paths)."""
    path = _path(path)
    if scheme_of(path):
        return posixpath.join(path, *map(_path, paths))
    return os.path.join(path, *map(_path, paths))


def mkdir(path) -> None:
    """Create directory ``path``; its parent must exist."""
    path = _path(path)
    filesystem_for(path).mkdir(path)


def makedirs(path) -> None:
    """Create ``path`` and every missing parent; an existing directory is fine."""
    path = _path(path)
    fs = filesystem_for(path)
    missing = []
    current = path.rstrip("/") or path
    while current and not fs.exists(current):
        missing.append(current)
        parent = posixpath.dirname(current) if scheme_of(path) else os.path.dirname(current)
        if parent == current or parent.endswith("://"):
            break
        current = parent
    if current and fs.exists(current) and not fs.isdir(current):
        raise errors.FailedPreconditionError(f"{current} is not a directory")
    for directory in reversed(missing):
        fs.mkdir(directory)


def remove(path) -> None:
    """Delete file ``path``."""
    path = _path(path)
    filesystem_for(path).remove(path)


def rmtree(path) -> None:
    """Delete ``path`` and everything below it."""
    path = _path(path)
    filesystem_for(path).rmtree(path)


def rename(src, dst, overwrite=False) -> None:
    """Move ``src`` to ``dst``; AlreadyExistsError if ``dst`` exists and not ``overwrite``."""
    src, dst = _path(src), _path(dst)
    source, target = filesystem_for(src), filesystem_for(dst)
    if not overwrite and target.exists(dst):
        raise errors.AlreadyExistsError(_ALREADY_EXISTS)
    if source is target:
        source.rename(src, dst)
        return
    _copy_between(source, src, target, dst)
    source.remove(src)


def copy(src, dst, overwrite=False) -> None:
    """Copy file ``src`` to ``dst``; AlreadyExistsError if ``dst`` exists and not
    ``overwrite``."""
    src, dst = _path(src), _path(dst)
    source, target = filesystem_for(src), filesystem_for(dst)
    if not overwrite and target.exists(dst):
        raise errors.AlreadyExistsError(_ALREADY_EXISTS)
    if source is target:
        source.copy(src, dst)
    else:
        _copy_between(source, src, target, dst)


def _copy_between(source, src: str, target, dst: str) -> None:
    with source.open(src, "rb") as reader, target.open(dst, "wb") as writer:
        shutil.copyfileobj(reader, writer, COPY_CHUNK_BYTES)


def walk(top, topdown=True, onerror=None):
    """``(directory, subdirectory names, file names)`` for ``top`` and every directory below
    it, parents first unless ``topdown`` is False. Errors listing a directory go to
    ``onerror`` (and that directory is skipped); a ``top`` that is no directory gives
    nothing."""
    top = _path(top)
    fs = filesystem_for(top)
    try:
        names = listdir(top)
    except errors.NotFoundError as exc:
        if onerror is not None:
            onerror(exc)
        return
    joiner = posixpath.join if scheme_of(top) else os.path.join
    subdirs, files = [], []
    for name in names:
        (subdirs if fs.isdir(joiner(top, name)) else files).append(name)
    here = (top, subdirs, files)
    if topdown:
        yield here
    for subdir in subdirs:
        yield from walk(joiner(top, subdir), topdown, onerror)
    if not topdown:
        yield here


def is_local(path) -> bool:
    """Whether ``path`` is on the local file system (so plain ``open`` would do)."""
    return filesystem_for(_path(path)) is LOCAL
