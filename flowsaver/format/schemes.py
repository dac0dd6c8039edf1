"""Which file system holds a path: the one registered for its scheme, else the object
stores for any other ``scheme://`` URL (fsspec through storage.py: ``s3://``, ``gs://``,
``memory://``, ...), else the machine's own files (a plain path, or ``file://``).

A path's scheme is what comes before ``://`` (``s3://bucket/key`` -> ``s3``). A file system
of one's own is added with ``register_filesystem(scheme, fs)``; from then on every gfile
call on a URL of that scheme goes to it.
"""
from __future__ import annotations

from flowsaver.format.filesystems import LOCAL, FileSystem

SCHEME_SEPARATOR = "://"
LOCAL_SCHEMES = ("", "file")
_REGISTRY: dict[str, FileSystem] = {scheme: LOCAL for scheme in LOCAL_SCHEMES}


def scheme_of(path: str) -> str:
    """``s3`` for ``s3://b/k``; ``""`` for a path without one."""
    head, sep, _ = path.partition(SCHEME_SEPARATOR)
    if not sep or "/" in head or not head:
        return ""
    return head


def register_filesystem(scheme: str, filesystem: FileSystem) -> None:
    """Send every gfile call on ``scheme://...`` paths to ``filesystem`` from now on."""
    if not isinstance(filesystem, FileSystem):
        raise TypeError(f"{filesystem!r} is not a flowsaver.format.filesystems.FileSystem")
    _REGISTRY[scheme] = filesystem


def get_registered_schemes() -> list[str]:
    """The schemes with a file system of their own (``""`` and ``file`` are local paths);
    every other ``scheme://`` URL goes to fsspec's object stores."""
    return list(_REGISTRY)


def filesystem_for(path: str) -> FileSystem:
    """The file system that holds ``path``: the one registered for its scheme, else the
    object stores for a URL, else the local one."""
    scheme = scheme_of(path)
    if scheme in _REGISTRY:
        return _REGISTRY[scheme]
    from flowsaver.format.store_filesystem import OBJECT_STORES   # fsspec only when used
    return OBJECT_STORES
