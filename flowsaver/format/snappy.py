"""Snappy decompression, for SSTable blocks whose trailer says type 1.

TensorFlow's bundle writer never compresses, but its table reader accepts snappy blocks,
so we read them too. Stream layout: varint32 uncompressed length, then elements whose
tag byte's low two bits give the kind:
  00 literal   length-1 in the upper 6 bits (60..63 mean 1..4 more little-endian bytes)
  01 copy      length 4..11 from bits 2-4, offset = bits 5-7 << 8 | next byte
  10 copy      length 1..64 from the upper 6 bits, offset = next 2 bytes LE
  11 copy      length 1..64 from the upper 6 bits, offset = next 4 bytes LE
"""
from __future__ import annotations

from flowsaver.format.coding import CorruptionError, decode_varint32


def decompress(data, max_size: int) -> bytes:
    """Decompress ``data``; refuse outputs larger than ``max_size`` bytes."""
    length, pos = decode_varint32(data, 0)
    if length > max_size:
        raise CorruptionError(f"snappy block claims {length} bytes, over the {max_size} limit")
    out = bytearray()
    n = len(data)
    while pos < n:
        tag = data[pos]
        pos += 1
        kind = tag & 3
        if kind == 0:
            size = tag >> 2
            if size >= 60:
                extra = size - 59
                if pos + extra > n:
                    raise CorruptionError("snappy literal length runs past the input")
                size = int.from_bytes(data[pos:pos + extra], "little")
                pos += extra
            size += 1
            if pos + size > n or len(out) + size > length:
                raise CorruptionError("snappy literal runs past the input or the output")
            out += data[pos:pos + size]
            pos += size
            continue
        if kind == 1:
            if pos + 1 > n:
                raise CorruptionError("snappy copy runs past the input")
            size = 4 + ((tag >> 2) & 7)
            offset = ((tag >> 5) << 8) | data[pos]
            pos += 1
        else:
            width = 2 if kind == 2 else 4
            if pos + width > n:
                raise CorruptionError("snappy copy runs past the input")
            size = (tag >> 2) + 1
            offset = int.from_bytes(data[pos:pos + width], "little")
            pos += width
        if offset == 0 or offset > len(out) or len(out) + size > length:
            raise CorruptionError("snappy copy offset or length is out of range")
        start = len(out) - offset
        for i in range(size):  # byte by byte: a copy may overlap its own output
            out.append(out[start + i])
    if len(out) != length:
        raise CorruptionError(f"snappy block decompressed to {len(out)} bytes, "
                              f"header said {length}")
    return bytes(out)
