"""Object stores through fsspec: ``s3://``, ``gs://``, ``memory://`` and the rest.

Loaded only when a URL is used (storage.py dispatches here), so that local checkpoints
never import fsspec. Which package provides each protocol, and the flowsaver extra that
installs it, is in ``EXTRAS``; a missing one raises ImportError naming the extra.

Credentials and endpoints are fsspec's business: the usual environment variables
(``AWS_ACCESS_KEY_ID``, ``AWS_ENDPOINT_URL``, ...), fsspec's configuration files, or
``set_storage_options("s3", endpoint_url=...)`` for options given in code.

What each call costs on S3 (the requests are what matters on a store):

    exists / isfile / getsize / getmtime   one HEAD (a LIST when it is a "directory")
    listdir                                 one LIST per 1000 names
    read_bytes                              one GET
    read_range, read_ranges                 one ranged GET per range, run concurrently
    write_bytes                             one PUT: the object appears whole or not at all
    open_output                             nothing until commit(): then one PUT, or a
                                            multipart upload for big objects
    copy                                    one server-side COPY: no bytes come here

Listings are never served from fsspec's cache: other processes write the same store.
"""
from __future__ import annotations

import datetime
import io
import os
import tempfile
import threading

from flowsaver import errors

# Protocol -> (the package that implements it, the flowsaver extra that installs it).
EXTRAS = {
    "s3": ("s3fs", "s3"), "s3a": ("s3fs", "s3"),
    "gs": ("gcsfs", "gcs"), "gcs": ("gcsfs", "gcs"),
}
# fsspec itself (memory://, file://, and every other protocol) comes with either extra.
_FSSPEC_EXTRA = "s3"

# An object being written stays in memory up to this size, then in a local temporary file.
SPOOL_IN_MEMORY = 64 << 20

_options: dict[str, dict] = {}
_stores: dict[tuple, "ObjectStore"] = {}
_lock = threading.Lock()


def protocol_of(url: str) -> str:
    return url.split("://", 1)[0].lower()


def set_storage_options(protocol: str, **options) -> None:
    """Options for every file system of ``protocol`` opened from now on (fsspec's
    storage options: ``endpoint_url``, ``key``, ``secret``, ``anon``, ...)."""
    with _lock:
        _options[protocol.lower()] = dict(options)
        for key in [k for k in _stores if k[0] == protocol.lower()]:
            del _stores[key]


def _missing(protocol: str, package: str, extra: str, exc: ImportError) -> ImportError:
    return ImportError(
        f"{protocol}:// paths need the optional package {package}, installed by the "
        f"extra flowsaver[{extra}]: pip install 'flowsaver[{extra}]' ({exc})")


def store_for(url: str) -> "ObjectStore":
    """The ObjectStore serving ``url`` (one per protocol and options, made once)."""
    protocol = protocol_of(url)
    # Keyed by process too: a file system's connections and event loop do not survive a
    # fork, so a child process (multiprocessing) makes its own.
    key = (protocol, tuple(sorted(_options.get(protocol, {}).items())), os.getpid())
    store = _stores.get(key)
    if store is not None:
        return store
    package, extra = EXTRAS.get(protocol, ("fsspec", _FSSPEC_EXTRA))
    try:
        import fsspec
    except ImportError as exc:
        raise _missing(protocol, "fsspec", extra, exc) from None
    try:
        cls = fsspec.get_filesystem_class(protocol)
    except ImportError as exc:
        raise _missing(protocol, package, extra, exc) from None
    except ValueError as exc:
        raise errors.UnimplementedError(f"{url}: no file system is known for protocol "
                                        f"{protocol!r}: {exc}") from None
    options = dict(_options.get(protocol, {}))
    # Never serve listings from a cache: other processes (other savers, a merging
    # process) change the store under us.
    options.setdefault("use_listings_cache", False)
    options.setdefault("skip_instance_cache", True)
    with _lock:
        store = _stores.get(key)
        if store is None:
            store = _stores[key] = ObjectStore(cls(**options), protocol)
    return store


class RemoteOutput:
    """An object being written; uploaded, and so visible at its name, only by ``commit()``.

    The bytes are kept here until then (in memory, spilled to a local temporary file past
    SPOOL_IN_MEMORY bytes), as TensorFlow's S3 file system keeps them: nothing of an
    unfinished object ever reaches the store, so an abort, or a process killed while
    writing, leaves no trace there, on every fsspec file system. The upload is one PUT,
    or for a spilled file fsspec's ``put_file`` (a multipart upload with concurrent parts
    on S3), which the store publishes only when complete.
    """

    def __init__(self, fs, path: str, url: str):
        self.path = url
        self._fs, self._fs_path = fs, path
        self._memory: io.BytesIO | None = io.BytesIO()
        self._file = None   # the named temporary file, once spilled
        self._done = False

    def write(self, data) -> int:
        if self._memory is not None:
            self._memory.write(data)
            if self._memory.tell() > SPOOL_IN_MEMORY:
                self._file = tempfile.NamedTemporaryFile(prefix="flowsaver-upload-",
                                                         delete=False)
                self._file.write(self._memory.getbuffer())
                self._memory = None
        else:
            self._file.write(data)
        return len(memoryview(data).cast("B"))

    def finish(self) -> None:
        if self._file is not None:
            self._file.flush()

    def commit(self) -> None:
        if self._done:
            return
        if self._memory is not None:
            self._fs.pipe_file(self._fs_path, self._memory.getvalue())
        else:
            self._file.close()
            self._fs.put_file(self._file.name, self._fs_path)
        self.abort()

    def abort(self) -> None:
        self._done = True
        self._memory = None
        if self._file is not None:
            self._file.close()
            try:
                os.remove(self._file.name)
            except FileNotFoundError:
                pass
            self._file = None


class ReuploadedObject:
    """A growing object: written here, uploaded whole (one PUT) by every flush."""

    def __init__(self, store: "ObjectStore", url: str):
        self._store, self.url = store, url
        self._data = bytearray()
        self._uploaded = -1
        self.closed = False

    def write(self, data) -> int:
        if self.closed:
            raise ValueError(f"{self.url} is closed")
        self._data += data
        return len(memoryview(data).cast("B"))

    def flush(self) -> None:
        if len(self._data) != self._uploaded:
            self._store.write_bytes(self.url, bytes(self._data))
            self._uploaded = len(self._data)

    def close(self) -> None:
        if not self.closed:
            self.flush()
            self.closed = True


class ObjectStore:
    """The storage.py operations on one fsspec file system. Paths are full URLs."""

    def __init__(self, fs, protocol: str):
        self.fs = fs
        self.protocol = protocol

    def _p(self, url: str) -> str:
        return self.fs._strip_protocol(url)

    def exists(self, url: str) -> bool:
        return self.fs.exists(self._p(url))

    def isfile(self, url: str) -> bool:
        return self.fs.isfile(self._p(url))

    def isdir(self, url: str) -> bool:
        path = self._p(url).rstrip("/")
        return bool(path) and self.fs.isdir(path)

    def listdir(self, url: str) -> list[str]:
        path = self._p(url).rstrip("/")
        self.fs.invalidate_cache(path)
        try:
            entries = self.fs.ls(path, detail=False)
        except FileNotFoundError:
            raise FileNotFoundError(2, "No such directory", url) from None
        names = []
        for entry in entries:
            name = entry.rstrip("/").rsplit("/", 1)[-1]
            if entry.rstrip("/") != path and name:
                names.append(name)
        if not names and not self.fs.isdir(path):
            raise FileNotFoundError(2, "No such directory", url)
        return names

    def getsize(self, url: str) -> int:
        return int(self.fs.size(self._p(url)))

    def getmtime_ns(self, url: str) -> int:
        info = self.fs.info(self._p(url))
        when = info.get("LastModified") or info.get("mtime") or info.get("created") \
            or info.get("updated")
        if isinstance(when, str):
            when = datetime.datetime.fromisoformat(when.replace("Z", "+00:00"))
        if isinstance(when, datetime.datetime):
            if when.tzinfo is None:
                when = when.replace(tzinfo=datetime.timezone.utc)
            return int(when.timestamp() * 1_000_000_000)
        if isinstance(when, (int, float)):
            return int(when * 1_000_000_000)
        raise OSError(f"{url}: the store reports no modification time")

    def remove(self, url: str) -> None:
        path = self._p(url)
        if not self.fs.isfile(path):
            raise FileNotFoundError(2, "No such object", url)
        self.fs.rm_file(path)

    def copy(self, src: str, dst: str) -> None:
        self.fs.copy(self._p(src), self._p(dst))

    def read_bytes(self, url: str, limit: int | None = None) -> bytes:
        path = self._p(url)
        if limit is not None and self.fs.size(path) > limit:
            return self.fs.cat_file(path, start=0, end=limit + 1)
        return self.fs.cat_file(path)

    def read_range(self, url: str, offset: int, size: int) -> bytes:
        if size <= 0:
            return b""
        return self.fs.cat_file(self._p(url), start=offset, end=offset + size)

    def read_ranges(self, url: str, ranges: list[tuple[int, int]]) -> list[bytes]:
        """``[(offset, size)]`` -> their bytes; the requests run concurrently."""
        if not ranges:
            return []
        path = self._p(url)
        return self.fs.cat_ranges([path] * len(ranges), [o for o, _ in ranges],
                                  [o + n for o, n in ranges])

    def write_bytes(self, url: str, data: bytes) -> None:
        self.fs.pipe_file(self._p(url), bytes(data))

    def open_new(self, url: str) -> ReuploadedObject:
        if self.exists(url):
            raise FileExistsError(17, "Object exists", url)
        return ReuploadedObject(self, url)

    def open_output(self, url: str) -> RemoteOutput:
        return RemoteOutput(self.fs, self._p(url), url)
