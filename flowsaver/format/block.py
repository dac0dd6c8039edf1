"""SSTable blocks: sorted key/value entries with prefix compression and restart points.

Byte layout of one block (LevelDB's, as TensorFlow's tsl/lib/io writes it):

    entry   := varint32 shared | varint32 non_shared | varint32 value_len
               | key[shared:] (non_shared bytes) | value (value_len bytes)
    block   := entry* | fixed32 restart_offset[n] | fixed32 n

``shared`` is the length of the prefix the key shares with the previous key of the same
block; it is 0 at a restart point. Every ``restart_interval`` entries a restart point
records the entry's byte offset (the first is always 0), so a reader can binary-search.
TensorFlow uses interval 16 for data blocks and 1 for the index block. An empty block is
``00 00 00 00 01 00 00 00``; ``n >= 1`` always.
"""
from __future__ import annotations

import operator
import struct
from dataclasses import dataclass

import numpy as np

from flowsaver.format.coding import (CorruptionError, decode_fixed32, decode_varint32,
                                     encode_fixed32, encode_varint)

DATA_RESTART_INTERVAL = 16
INDEX_RESTART_INTERVAL = 1


def _shared_prefix_len(a: bytes, b: bytes) -> int:
    n = min(len(a), len(b))
    i = 0
    while i < n and a[i] == b[i]:
        i += 1
    return i


class BlockBuilder:
    """Accumulates sorted entries into the bytes of one block."""

    def __init__(self, restart_interval: int = DATA_RESTART_INTERVAL):
        self.restart_interval = restart_interval
        self.reset()

    def reset(self) -> None:
        self._buf = bytearray()
        self._restarts = [0]
        self._counter = 0
        self._last_key = b""
        self.num_entries = 0

    @property
    def empty(self) -> bool:
        return self.num_entries == 0

    def size_estimate(self) -> int:
        """Bytes the block would take if finished now."""
        return len(self._buf) + 4 * len(self._restarts) + 4

    def add(self, key: bytes, value: bytes) -> None:
        shared = 0
        if self._counter < self.restart_interval:
            shared = _shared_prefix_len(self._last_key, key)
        else:
            self._restarts.append(len(self._buf))
            self._counter = 0
        buf = self._buf
        buf += encode_varint(shared)
        buf += encode_varint(len(key) - shared)
        buf += encode_varint(len(value))
        buf += key[shared:]
        buf += value
        self._last_key = key
        self._counter += 1
        self.num_entries += 1

    def finish(self) -> bytes:
        out = self._buf
        for r in self._restarts:
            out += encode_fixed32(r)
        out += encode_fixed32(len(self._restarts))
        return bytes(out)


class BlockReader:
    """Reads the entries of one block's bytes (trailer already stripped and checked)."""

    def __init__(self, data):
        if len(data) < 4:
            raise CorruptionError(f"block of {len(data)} bytes is shorter than its restart count")
        num_restarts = decode_fixed32(data, len(data) - 4)
        if num_restarts == 0 or num_restarts > (len(data) - 4) // 4:
            raise CorruptionError(f"block restart count {num_restarts} does not fit its "
                                  f"{len(data)} bytes")
        self._data = data
        self._limit = len(data) - 4 - 4 * num_restarts  # where entries end
        self.restarts = list(struct.unpack_from(f"<{num_restarts}I", data, self._limit))
        if self.restarts[0] != 0 or any(r > self._limit for r in self.restarts):
            raise CorruptionError("block restart offsets point outside the block")

    def layout(self) -> "Layout":
        """The checked ``Layout`` of the entries (``scan``); ``Unusual`` for a block the
        fast scan does not handle."""
        return scan(bytes(self._data[:self._limit]))

    def entries(self) -> list[tuple[bytes, bytes]]:
        """Every ``(key, value)`` as bytes, in stored order (also what iterating gives)."""
        return list(zip(*self.columns(check_order=False)))

    def columns(self, after: bytes | None = None, check_order: bool = True):
        """``(keys, values)``: two lists of bytes, in stored order.

        Each entry's lengths are checked against the block and its previous key; with
        ``check_order`` every key must be greater than the one before it (the first
        greater than ``after``, the last key of the block before). Opening a 1000-tensor
        checkpoint decodes 1000 entries here, so the usual block (every length one varint
        byte) is walked by ``_columns_fast``; anything else, and any block that fails a
        check there, goes through ``_columns_checked``, which names the problem."""
        data = bytes(self._data[:self._limit])  # bytes: indexing gives ints, slicing bytes
        try:
            return _columns_fast(data, after, check_order)
        except Unusual:
            return self._columns_checked(data, after, check_order)

    def _columns_checked(self, data: bytes, after, check_order: bool):
        """``columns`` one entry at a time, every varint decoded in full."""
        limit = self._limit
        keys, values = [], []
        add_key, add_value = keys.append, values.append
        pos = 0
        key = b""
        last = after
        while pos < limit:
            shared, pos = decode_varint32(data, pos, limit)
            non_shared, pos = decode_varint32(data, pos, limit)
            value_len, pos = decode_varint32(data, pos, limit)
            end_key = pos + non_shared
            end_value = end_key + value_len
            if shared > len(key) or end_value > limit:
                raise CorruptionError("block entry overruns the block or its previous key")
            key = key[:shared] + data[pos:end_key] if shared else data[pos:end_key]
            if check_order:
                if last is not None and key <= last:
                    raise CorruptionError(f"keys out of order: {key!r} after {last!r}")
                last = key
            add_key(key)
            add_value(data[end_key:end_value])
            pos = end_value
        return keys, values

    def __iter__(self):
        """Yield ``(key, value)`` as bytes, in stored order."""
        return iter(self.entries())


class Unusual(Exception):
    """The fast walk met something it does not handle; the checked walk takes over."""


@dataclass(frozen=True)
class Layout:
    """Where the entries of a block whose lengths are all one varint byte lie, as NumPy
    arrays: ``shared[i]`` and the key suffix ``data[key_starts[i]:key_ends[i]]`` give key
    ``i``, ``data[key_ends[i]:value_ends[i]]`` is its value. Every length has been
    checked against the block and every ``shared`` against the previous key's length."""
    data: bytes
    shared: np.ndarray
    key_starts: np.ndarray
    key_ends: np.ndarray
    value_ends: np.ndarray

    def __len__(self) -> int:
        return len(self.shared)

    def heads(self) -> list:
        """The entries whose keys are stored whole (``shared == 0``)."""
        return np.flatnonzero(self.shared == 0).tolist()

    def keys(self, first: int = 0, stop: int | None = None) -> list:
        """Keys ``first..stop-1``; ``shared[first]`` must be 0 (a key stored whole)."""
        data, keys = self.data, []
        add = keys.append
        key = b""
        part = slice(first, stop)
        for n, a, b in zip(self.shared[part].tolist(), self.key_starts[part].tolist(),
                           self.key_ends[part].tolist()):
            key = key[:n] + data[a:b] if n else data[a:b]
            add(key)
        return keys

    def value(self, i: int) -> bytes:
        return self.data[int(self.key_ends[i]):int(self.value_ends[i])]

    def values(self) -> list:
        data = self.data
        return [data[a:b] for a, b in zip(self.key_ends.tolist(), self.value_ends.tolist())]


def _entry_starts(data: bytes) -> list[int]:
    """Where each entry starts, reading every length as one byte: right exactly when
    no length needs a second varint byte, which the caller then checks. Each step moves
    at least 3 bytes, so a hostile block ends the loop as fast as a good one."""
    starts = []
    add = starts.append
    pos, limit = 0, len(data)
    try:
        while pos < limit:
            add(pos)
            pos += 3 + data[pos + 1] + data[pos + 2]
    except IndexError:  # a header runs past the entries
        raise Unusual from None
    if pos != limit:
        raise Unusual
    return starts


def scan(data: bytes) -> Layout:
    """The ``Layout`` of a block's entry bytes: one short loop finds the entries, NumPy
    checks every length at once. Raises ``Unusual`` for anything the checked walk must
    look at (multi-byte lengths, a key sharing more than its predecessor holds)."""
    if not data:
        empty = np.zeros(0, np.int64)
        return Layout(data, empty, empty, empty, empty)
    starts = np.array(_entry_starts(data), np.int64)
    raw = np.frombuffer(data, np.uint8)
    shared = raw[starts].astype(np.int64)
    non_shared, value_len = raw[starts + 1], raw[starts + 2]
    if ((shared | non_shared | value_len) >= 0x80).any():
        raise Unusual
    if shared[0] or (shared[1:] > (shared + non_shared)[:-1]).any():
        raise Unusual
    key_starts = starts + 3
    key_ends = key_starts + non_shared
    return Layout(data, shared, key_starts, key_ends, key_ends + value_len)


def _columns_fast(data: bytes, after, check_order: bool) -> tuple[list, list]:
    """``BlockReader.columns`` for a block whose lengths are all single varint bytes
    (``scan``). Raises ``Unusual`` for what the checked walk must look at, keys out of
    order included."""
    layout = scan(data)
    keys = layout.keys()
    if check_order and keys and not ((after is None or keys[0] > after)
                                     and all(map(operator.lt, keys, keys[1:]))):
        raise Unusual
    return keys, layout.values()
