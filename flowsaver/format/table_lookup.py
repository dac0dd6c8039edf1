"""Looking keys up in an SSTable held in memory without decoding every entry.

``TableReader.columns`` turns every entry into two Python objects, which is most of the
time it takes to open a 1000-tensor checkpoint, although a program often reads a few
tensors of it. ``TableLookup`` does what LevelDB's (and TensorFlow's) table reader does
instead. The keys stored whole (``shared == 0``: the first entry of each block, and each
restart point of TensorFlow's writer) cut the table into groups of at most 16 entries.
Opening checks every block (checksum, and every entry's lengths against the block and the
previous key: ``block.scan``) and slices out only those whole keys, which must increase;
a lookup bisects them and decodes one group, once. A group's keys are checked to increase
and to stay below the next group's first key when it is decoded, so a lookup never
answers for the wrong key, and a table whose order is broken in one group still answers
for keys of every other group. A block the fast scan does not handle (a length taking a
second varint byte: an entry of 128 bytes or more) makes the whole table decode at open
with ``TableReader.columns``, which also names any problem precisely.

All problems raise ``CorruptionError``; callers add the file name.
"""
from __future__ import annotations

import bisect
import operator

import numpy as np

from flowsaver.format.block import BlockReader, Unusual
from flowsaver.format.coding import CorruptionError
from flowsaver.format.table import TableReader


class TableLookup:
    """Key -> value of one SSTable held in memory.

    Example:
      >>> table = TableLookup(index_bytes)
      >>> table.get(b"dense/kernel")   # the serialized value, or None
    """

    def __init__(self, data):
        reader = TableReader(data)
        self._layouts: list = []
        self._layout_starts: list = []   # the position of each block's first entry
        self._firsts: list = []     # the first key of each group, increasing
        self._groups: list = []     # (layout, first entry, stop entry) of each group
        self._group_keys: dict = {}
        self._all_keys: list | None = None
        self._eager: dict | None = None
        try:
            for handle in reader.block_handles():
                layout = BlockReader(reader.read_block(handle)).layout()
                self._add_groups(layout)
        except Unusual:
            keys, values = reader.columns()
            self._eager = dict(zip(keys, values))
            self._all_keys = keys
            return
        firsts = self._firsts
        if not all(map(operator.lt, firsts, firsts[1:])):
            bad = next(i for i in range(1, len(firsts)) if firsts[i] <= firsts[i - 1])
            raise CorruptionError(f"keys out of order: {firsts[bad]!r} after "
                                  f"{firsts[bad - 1]!r}")

    def _add_groups(self, layout) -> None:
        self._layout_starts.append(self._layout_starts[-1] + len(self._layouts[-1])
                                   if self._layouts else 0)
        heads = layout.heads()
        data = layout.data
        starts, ends = layout.key_starts[heads].tolist(), layout.key_ends[heads].tolist()
        self._layouts.append(layout)
        self._firsts += [data[a:b] for a, b in zip(starts, ends)]
        self._groups += [(layout, a, b) for a, b in zip(heads, heads[1:] + [len(layout)])]

    def __len__(self) -> int:
        if self._eager is not None:
            return len(self._eager)
        return sum(map(len, self._layouts))

    def get(self, key: bytes) -> bytes | None:
        """The value stored under ``key``, or None."""
        if self._eager is not None:
            return self._eager.get(key)
        if self._all_keys is not None:   # every key decoded: no group to decode
            i = bisect.bisect_left(self._all_keys, key)
            if i == len(self._all_keys) or self._all_keys[i] != key:
                return None
            b = bisect.bisect_right(self._layout_starts, i) - 1
            return self._layouts[b].value(i - self._layout_starts[b])
        g = bisect.bisect_right(self._firsts, key) - 1
        if g < 0:
            return None
        keys = self._keys_of(g)
        i = bisect.bisect_left(keys, key)
        if i == len(keys) or keys[i] != key:
            return None
        layout, first, _ = self._groups[g]
        return layout.value(first + i)

    def keys(self) -> list:
        """Every key, in order (decoded once)."""
        if self._all_keys is None:
            keys = []
            for layout in self._layouts:    # one loop a block: the groups' checks at once
                keys += layout.keys()
            if not all(map(operator.lt, keys, keys[1:])):
                for g in range(len(self._groups)):
                    self._keys_of(g)        # raises, naming the keys out of order
            self._all_keys = keys
        return self._all_keys

    def values(self) -> list:
        """Every value, in key order (after checking every key: ``keys``)."""
        if self._eager is not None:
            return list(self._eager.values())
        self.keys()
        values = []
        for layout in self._layouts:
            values += layout.values()
        return values

    def holding(self, byte: int) -> list:
        """The positions, in key order, of the entries whose values hold ``byte``: one
        search of each block's bytes, without slicing out the values."""
        if self._eager is not None:
            return [i for i, value in enumerate(self._eager.values()) if byte in value]
        found, base = [], 0
        for layout in self._layouts:
            hits = np.flatnonzero(np.frombuffer(layout.data, np.uint8) == byte)
            entries = np.searchsorted(layout.value_ends, hits, side="right")
            inside = entries < len(layout)   # past the last value: never, but stay in range
            entries, hits = entries[inside], hits[inside]
            entries = entries[hits >= layout.key_ends[entries]]   # in the value, not the key
            found += (np.unique(entries) + base).tolist()
            base += len(layout)
        return found

    def _keys_of(self, g: int) -> list:
        keys = self._group_keys.get(g)
        if keys is None:
            layout, first, stop = self._groups[g]
            keys = layout.keys(first, stop)
            following = self._firsts[g + 1] if g + 1 < len(self._firsts) else None
            if not all(map(operator.lt, keys, keys[1:])) \
                    or (following is not None and keys[-1] >= following):
                bad = next((i for i in range(1, len(keys)) if keys[i] <= keys[i - 1]), None)
                later, earlier = (keys[bad], keys[bad - 1]) if bad else (following, keys[-1])
                raise CorruptionError(f"keys out of order: {later!r} after {earlier!r}")
            self._group_keys[g] = keys
        return keys
