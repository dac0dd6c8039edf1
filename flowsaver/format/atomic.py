"""Atomic file writes: write under a temporary name, then rename onto the real name.

Every file flowsaver writes goes through this module, so a reader never sees a half-written
file, and a crash leaves at worst a temporary file next to the old, intact one.

Temporary names, as TensorFlow makes them (so that tools cleaning up after TensorFlow also
recognise ours, and ours recognise TensorFlow's):

    <path>.tmp<uuid4 hex>       32 lowercase hex digits; used for the `checkpoint` state
                                file and `.meta` files (TF's atomic_write_string_to_file)
    <path>.tempstate<uint64>    decimal random 64-bit number; used for the `.index` and
                                `.data-NNNNN-of-NNNNN` files of a tensor bundle

The rename is `os.replace`, which is atomic on POSIX and on Windows when source and target
are on the same volume; the temporary file is always in the target's directory, so they are.
"""
from __future__ import annotations

import contextlib
import logging
import os
import random
import re
import uuid
from typing import IO, Callable, Iterator, Union

_log = logging.getLogger(__name__)

UUID_TMP_MARK = ".tmp"
TEMPSTATE_MARK = ".tempstate"
UUID_HEX_DIGITS = 32

# How a temporary name ends, for either scheme.
_TEMP_TAIL = re.compile(r"(\.tmp[0-9a-f]{32}|\.tempstate[0-9]+)$")
# What may stand between a checkpoint prefix and the temporary tail: nothing (the file is
# the prefix itself, e.g. a V1 checkpoint or the state file), or one of the files a prefix
# owns. Listing them keeps prefix `model-1` from claiming `model-10.index.tempstate…`.
_OWNED_MIDDLE = re.compile(r"(|\.index|\.meta|\.data-\d{5}-of-\d{5}|-\d{5}-of-\d{5})")

_rng = random.SystemRandom()

TempSuffix = Union[str, Callable[[], str]]


def uuid_temp_suffix() -> str:
    """Returns a fresh `.tmp<uuid4 hex>` suffix (state file and `.meta` scheme)."""
    return UUID_TMP_MARK + uuid.uuid4().hex


def tempstate_suffix() -> str:
    """Returns a fresh `.tempstate<decimal uint64>` suffix (tensor bundle scheme)."""
    return TEMPSTATE_MARK + str(_rng.getrandbits(64))


def discard(temp_path: str) -> None:
    """Removes a temporary file during error handling, without hiding the original error."""
    try:
        os.remove(temp_path)
    except FileNotFoundError:
        pass
    except OSError as exc:
        # The caller re-raises the error that got us here; that one matters more, but a
        # stray temp file must not go unmentioned.
        _log.warning("Could not remove temporary file %s: %s", temp_path, exc)


@contextlib.contextmanager
def atomic_file(path: str | os.PathLike, mode: str = "wb",
                temp_suffix: TempSuffix = uuid_temp_suffix) -> Iterator[IO]:
    """Yields a file open on a temporary name; renames it onto `path` on a clean exit.

    On any exception inside the block, or in the rename, the temporary file is removed and
    the exception propagates; `path` is left as it was.

    Args:
      path: the final file name.
      mode: "wb" for bytes or "w" for UTF-8 text (written with "\\n" line ends on every OS).
      temp_suffix: a string, or a function returning one, appended to `path` for the
        temporary name; `uuid_temp_suffix` (the default) or `tempstate_suffix`.

    Raises:
      ValueError: `mode` is not a write mode this helper supports.

    Example:
      with atomic_file(prefix + ".index", "wb", tempstate_suffix) as f:
          f.write(table_bytes)
    """
    if mode not in ("wb", "w"):
        raise ValueError(f"atomic_file supports modes 'wb' and 'w', got {mode!r}")
    path = os.fspath(path)
    suffix = temp_suffix() if callable(temp_suffix) else temp_suffix
    temp_path = path + suffix
    if mode == "w":
        f = open(temp_path, "x", encoding="utf-8", newline="")
    else:
        f = open(temp_path, "xb")
    try:
        with f:
            yield f
        os.replace(temp_path, path)
    except BaseException:
        discard(temp_path)
        raise


def atomic_write_bytes(path: str | os.PathLike, data: bytes,
                       temp_suffix: TempSuffix = uuid_temp_suffix) -> None:
    """Writes `data` to `path` atomically (temporary file, then rename)."""
    with atomic_file(path, "wb", temp_suffix) as f:
        f.write(data)


def atomic_write_text(path: str | os.PathLike, text: str,
                      temp_suffix: TempSuffix = uuid_temp_suffix) -> None:
    """Writes `text` to `path` atomically, encoded as UTF-8."""
    atomic_write_bytes(path, text.encode("utf-8"), temp_suffix)


def is_temp_name(name: str) -> bool:
    """Returns whether a file name ends like one of our (or TensorFlow's) temporary names."""
    return _TEMP_TAIL.search(name) is not None


def find_temp_files(prefix: str | os.PathLike) -> list[str]:
    """Returns leftover temporary files of a checkpoint prefix or file, sorted.

    Matches `<prefix>[.index|.meta|.data-NNNNN-of-NNNNN|-NNNNN-of-NNNNN]` followed by
    `.tempstate<digits>` or `.tmp<32 hex>`, in the prefix's directory. Pass the state file's
    path (e.g. `dir/checkpoint`) to find its temporaries. The prefix is matched literally,
    not as a glob pattern.

    Returns:
      Full paths; an empty list when the directory does not exist.
    """
    prefix = os.fspath(prefix)
    directory, base = os.path.split(prefix)
    try:
        names = os.listdir(directory or ".")
    except FileNotFoundError:
        return []
    found = []
    for name in names:
        if not name.startswith(base):
            continue
        tail = _TEMP_TAIL.search(name)
        if tail is None:
            continue
        if _OWNED_MIDDLE.fullmatch(name[len(base):tail.start()]):
            found.append(os.path.join(directory, name))
    return sorted(found)
