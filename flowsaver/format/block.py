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
        self.restarts = [decode_fixed32(data, self._limit + 4 * i) for i in range(num_restarts)]
        if self.restarts[0] != 0 or any(r > self._limit for r in self.restarts):
            raise CorruptionError("block restart offsets point outside the block")

    def entries(self) -> list[tuple[bytes, bytes]]:
        """Every ``(key, value)`` as bytes, in stored order (also what iterating gives)."""
        return list(zip(*self.columns(check_order=False)))

    def columns(self, after: bytes | None = None, check_order: bool = True):
        """``(keys, values)``: two lists of bytes, in stored order.

        Each entry's lengths are checked against the block and its previous key, in a
        tight loop over a ``bytes`` copy of the block (indexing bytes gives ints and
        slicing gives bytes, with no conversions): opening a 1000-tensor checkpoint
        decodes 1000 entries here. With ``check_order`` every key must be greater than the
        one before it (the first greater than ``after``, the last key of the block before)."""
        data, limit = bytes(self._data[:self._limit]), self._limit
        keys, values = [], []
        add_key, add_value = keys.append, values.append
        pos = 0
        key = b""
        last = after
        while pos < limit:
            if pos + 3 <= limit:
                shared, non_shared, value_len = data[pos], data[pos + 1], data[pos + 2]
            if pos + 3 <= limit and (shared | non_shared | value_len) < 128:
                pos += 3
            else:
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
