"""The fuzzer's own writers of the framings that carry checksums, so that a mutated
payload can be wrapped in valid CRCs without trusting the code under test:

    SSTable (LevelDB table with TensorFlow's options; flowsaver/format/table.py):
        [data block][trailer] [metaindex block][trailer] [index block][trailer] [footer]
        block    := entries, then fixed32 restart offsets, then fixed32 restart count
        entry    := varint shared | varint unshared | varint value length | key tail | value
        trailer  := u8 compression type (0) | fixed32 mask(crc32c(block + type byte))
        footer   := varint handles of metaindex and index, zero-padded to 40 bytes,
                    then the magic 0xdb4775248b80fb57 (little-endian)
    TFRecord (flowsaver/format/records.py):
        u64 length | u32 mask(crc32c(length bytes)) | data | u32 mask(crc32c(data))

Unlike the writers under test, this one writes keys in any order it is given, and can
put every entry in its own block, so that the fuzzer reaches the readers' order and
block checks with checksums that hold.
"""
from __future__ import annotations

import struct

import crc32c as _crc

MASK_DELTA = 0xA282EAD8
TABLE_MAGIC = struct.pack("<Q", 0xDB4775248B80FB57)
HANDLES_SIZE = 40


def crc32c(data: bytes, value: int = 0) -> int:
    """CRC32C of ``data``, continuing from ``value`` (the crc32c package, as flowsaver)."""
    return _crc.crc32c(data, value)


def mask(crc: int) -> int:
    return (((crc >> 15) | (crc << 17)) + MASK_DELTA) & 0xFFFFFFFF


def varint(value: int) -> bytes:
    value &= (1 << 64) - 1          # negative numbers as protobuf writes them: 10 bytes
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def block(items, restart_interval: int = 16) -> bytes:
    """One block of ``[(key, value)]`` in the given order, keys prefix-compressed."""
    out, restarts, last = bytearray(), [], b""
    for i, (key, value) in enumerate(items):
        if i % restart_interval == 0:
            restarts.append(len(out))
            shared = 0
        else:
            shared = 0
            while shared < min(len(key), len(last)) and key[shared] == last[shared]:
                shared += 1
        out += varint(shared) + varint(len(key) - shared) + varint(len(value))
        out += key[shared:] + value
        last = key
    if not restarts:
        restarts.append(0)
    for r in restarts:
        out += struct.pack("<I", r)
    out += struct.pack("<I", len(restarts))
    return bytes(out)


def _trailer(contents: bytes) -> bytes:
    return b"\x00" + struct.pack("<I", mask(crc32c(contents + b"\x00")))


def table(items, per_block: int = 1 << 30) -> bytes:
    """A table of ``[(key, value)]`` in the given order, ``per_block`` entries a block."""
    out = bytearray()
    index_items = []
    groups = [items[i:i + per_block] for i in range(0, len(items), per_block)] or [[]]
    for group in groups:
        contents = block(group)
        handle = varint(len(out)) + varint(len(contents))
        out += contents + _trailer(contents)
        # The last key of the block separates it from the next (keys >= all of it).
        index_items.append((group[-1][0] if group else b"", handle))
    meta = block([])
    meta_handle = varint(len(out)) + varint(len(meta))
    out += meta + _trailer(meta)
    index = block(index_items, restart_interval=1)
    index_handle = varint(len(out)) + varint(len(index))
    out += index + _trailer(index)
    handles = meta_handle + index_handle
    out += handles + bytes(HANDLES_SIZE - len(handles)) + TABLE_MAGIC
    return bytes(out)


def record(data: bytes) -> bytes:
    length = struct.pack("<Q", len(data))
    return (length + struct.pack("<I", mask(crc32c(length))) + data
            + struct.pack("<I", mask(crc32c(data))))


def parse_records(data: bytes) -> list[bytes] | None:
    """The payloads of ``data`` when it is a valid TFRecord stream to its last byte
    (every length and payload with its checksum), else None. Blind byte edits can leave a
    valid stream of other records (a record frame copied, say): this is what such a file
    holds."""
    out, pos = [], 0
    while pos < len(data):
        if pos + 12 > len(data):
            return None
        length_bytes = data[pos:pos + 8]
        if struct.unpack_from("<I", data, pos + 8)[0] != mask(crc32c(length_bytes)):
            return None
        (length,) = struct.unpack("<Q", length_bytes)
        end = pos + 12 + length
        if end + 4 > len(data):
            return None
        payload = data[pos + 12:end]
        if struct.unpack_from("<I", data, end)[0] != mask(crc32c(payload)):
            return None
        out.append(payload)
        pos = end + 4
    return out


def split_records(data: bytes) -> list[bytes]:
    """The payloads of a valid TFRecord stream (the fuzzer's seeds only)."""
    records = parse_records(data)
    if records is None:
        raise ValueError("not a valid TFRecord stream")
    return records
