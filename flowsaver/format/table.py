"""SSTable files (the `.index` of a tensor bundle, and a whole V1 checkpoint).

File layout (LevelDB's table, with TensorFlow's options):

    [data block 0][trailer] ... [data block k][trailer]
    [metaindex block][trailer] [index block][trailer] [footer]

    trailer   := u8 compression type (0 none, 1 snappy)
                 | fixed32 mask(crc32c(block bytes + type byte))
    handle    := varint64 offset | varint64 size          (size excludes the trailer)
    footer    := handle(metaindex) | handle(index) | zero padding to 40 bytes
                 | fixed32 0x8b80fb57 | fixed32 0xdb477524  (magic, low word first; 48 bytes)

The index block (restart interval 1) maps a separator key >= every key of a data block
to that block's handle. The metaindex block is always empty and never read.

Writer rules, to be byte-identical with TensorFlow: 256 KiB blocks; a block is flushed
after the entry that makes its size estimate reach the block size; an entry whose key
and value together are at least twice the block size first flushes the current block;
the index key of a block is the shortest separator between its last key and the next
block's first key, and for the last block the short successor of its last key.
"""
from __future__ import annotations

from flowsaver.format import snappy
from flowsaver.format.block import (DATA_RESTART_INTERVAL, INDEX_RESTART_INTERVAL,
                                    BlockBuilder, BlockReader)
from flowsaver.format.coding import (CorruptionError, crc32c, decode_fixed32, decode_varint,
                                     encode_fixed32, encode_varint, mask)

BLOCK_SIZE = 262144          # TensorFlow's table option (LevelDB's default is 4 KiB)
BLOCK_TRAILER_SIZE = 5
FOOTER_SIZE = 48
HANDLES_SIZE = 40            # the footer's two handles, zero-padded
MAGIC_LO = 0x8B80FB57
MAGIC_HI = 0xDB477524
NO_COMPRESSION = 0
SNAPPY_COMPRESSION = 1
MAX_BLOCK_SIZE = 1 << 31     # no sane index block is larger; guards snappy expansion


def shortest_separator(start: bytes, limit: bytes) -> bytes:
    """A short key ``k`` with ``start <= k < limit`` (LevelDB's bytewise rule)."""
    n = min(len(start), len(limit))
    i = 0
    while i < n and start[i] == limit[i]:
        i += 1
    if i >= n:
        return start  # one is a prefix of the other
    byte = start[i]
    if byte < 0xFF and byte + 1 < limit[i]:
        return start[:i] + bytes([byte + 1])
    return start


def short_successor(key: bytes) -> bytes:
    """A short key ``>= key``: the first byte that is not 0xff, incremented, then cut."""
    for i, byte in enumerate(key):
        if byte != 0xFF:
            return key[:i] + bytes([byte + 1])
    return key


def encode_handle(offset: int, size: int) -> bytes:
    return encode_varint(offset) + encode_varint(size)


class TableBuilder:
    """Writes sorted entries to a binary file object as an SSTable."""

    def __init__(self, file, block_size: int = BLOCK_SIZE):
        self._file = file
        self._block_size = block_size
        self._offset = 0
        self._data = BlockBuilder(DATA_RESTART_INTERVAL)
        self._index = BlockBuilder(INDEX_RESTART_INTERVAL)
        self._last_key = b""
        self._num_entries = 0
        self._pending_handle: bytes | None = None

    def add(self, key: bytes, value: bytes) -> None:
        if self._num_entries and key <= self._last_key:
            raise ValueError(f"table keys must be strictly increasing: {key!r} after "
                             f"{self._last_key!r}")
        if self._num_entries and len(key) + len(value) >= 2 * self._block_size:
            self._flush()
        if self._pending_handle is not None:
            self._index.add(shortest_separator(self._last_key, key), self._pending_handle)
            self._pending_handle = None
        self._last_key = key
        self._num_entries += 1
        self._data.add(key, value)
        if self._data.size_estimate() >= self._block_size:
            self._flush()

    def _flush(self) -> None:
        if self._data.empty:
            return
        self._pending_handle = self._write_block(self._data)

    def _write_block(self, builder: BlockBuilder) -> bytes:
        contents = builder.finish()
        builder.reset()
        type_byte = bytes([NO_COMPRESSION])
        trailer = type_byte + encode_fixed32(mask(crc32c(type_byte, crc32c(contents))))
        handle = encode_handle(self._offset, len(contents))
        self._file.write(contents)
        self._file.write(trailer)
        self._offset += len(contents) + BLOCK_TRAILER_SIZE
        return handle

    def finish(self) -> int:
        """Write the remaining blocks and the footer; returns the file size."""
        self._flush()
        metaindex_handle = self._write_block(BlockBuilder(DATA_RESTART_INTERVAL))
        if self._pending_handle is not None:
            self._index.add(short_successor(self._last_key), self._pending_handle)
            self._pending_handle = None
        index_handle = self._write_block(self._index)
        handles = metaindex_handle + index_handle
        footer = handles + bytes(HANDLES_SIZE - len(handles))
        footer += encode_fixed32(MAGIC_LO) + encode_fixed32(MAGIC_HI)
        self._file.write(footer)
        self._offset += FOOTER_SIZE
        return self._offset


class TableReader:
    """Reads every entry of an SSTable held in memory.

    All structural problems raise ``CorruptionError`` with a plain message; callers add
    the file name. Keys are checked to be strictly increasing across the whole table.
    """

    def __init__(self, data):
        self._data = data
        size = len(data)
        if size < FOOTER_SIZE:
            raise CorruptionError(f"file is too short to be an sstable ({size} bytes, "
                                  f"the footer alone is {FOOTER_SIZE})")
        footer = size - FOOTER_SIZE
        if (decode_fixed32(data, footer + HANDLES_SIZE) != MAGIC_LO
                or decode_fixed32(data, footer + HANDLES_SIZE + 4) != MAGIC_HI):
            raise CorruptionError("not an sstable (bad magic number)")
        limit = footer + HANDLES_SIZE
        metaindex_handle, pos = self._handle(footer, limit)
        self.index_handle, pos = self._handle(pos, limit)
        # Stricter than TensorFlow, which reads neither: the padding must be zeros and the
        # (always empty) metaindex block must check, so that no flipped bit goes unseen.
        if any(data[pos:limit]):
            raise CorruptionError("footer padding is not zero")
        if bytes(data[footer:pos]) != encode_handle(*metaindex_handle) + \
                encode_handle(*self.index_handle):
            raise CorruptionError("footer handles are not canonically encoded")
        self.read_block(metaindex_handle)

    def _handle(self, pos: int, limit: int) -> tuple[tuple[int, int], int]:
        offset, pos = decode_varint(self._data, pos, limit)
        size, pos = decode_varint(self._data, pos, limit)
        return (offset, size), pos

    def read_block(self, handle: tuple[int, int]):
        """The checked, decompressed contents of the block at ``handle``."""
        offset, size = handle
        end = offset + size
        if end + BLOCK_TRAILER_SIZE > len(self._data) - FOOTER_SIZE:
            raise CorruptionError(f"block handle (offset {offset}, size {size}) points past "
                                  f"the end of the {len(self._data)}-byte file")
        data = self._data
        contents = memoryview(data)[offset:end]
        type_byte = data[end]
        stored = decode_fixed32(data, end + 1)
        actual = mask(crc32c(data[end:end + 1], crc32c(contents)))
        if stored != actual:
            raise CorruptionError(f"block checksum mismatch at offset {offset}")
        if type_byte == NO_COMPRESSION:
            return contents
        if type_byte == SNAPPY_COMPRESSION:
            return snappy.decompress(contents, MAX_BLOCK_SIZE)
        raise CorruptionError(f"block at offset {offset} has compression type {type_byte}, "
                              f"which flowsaver cannot decode (known: 0 none, 1 snappy)")

    def items(self) -> list[tuple[bytes, bytes]]:
        """Every ``(key, value)`` in key order, as a list (``list(self)``, faster)."""
        return list(zip(*self.columns()))

    def block_handles(self) -> list[tuple[int, int]]:
        """The ``(offset, size)`` of every data block, in key order."""
        return [self._handle_from(handle_bytes)[0] for _, handle_bytes
                in BlockReader(self.read_block(self.index_handle)).entries()]

    def columns(self) -> tuple[list, list]:
        """``(keys, values)`` of every entry in key order: two lists, the fastest form."""
        keys, values = [], []
        for handle in self.block_handles():
            block_keys, block_values = BlockReader(self.read_block(handle)).columns(
                keys[-1] if keys else None)
            keys += block_keys
            values += block_values
        return keys, values

    def __iter__(self):
        """Yield every ``(key, value)`` in key order."""
        last = None
        for _, handle_bytes in BlockReader(self.read_block(self.index_handle)):
            handle, end = self._handle_from(handle_bytes)
            for key, value in BlockReader(self.read_block(handle)):
                if last is not None and key <= last:
                    raise CorruptionError(f"keys out of order: {key!r} after {last!r}")
                last = key
                yield key, value

    @staticmethod
    def _handle_from(buf: bytes) -> tuple[tuple[int, int], int]:
        offset, pos = decode_varint(buf, 0)
        size, pos = decode_varint(buf, pos)
        return (offset, size), pos
