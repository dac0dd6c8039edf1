"""Primitive encodings shared by every on-disk structure.

  varint32 / varint64  LEB128: 7 bits a byte, low group first, high bit = more follows;
                       at most 5 / 10 bytes.
  fixed32 / fixed64    little-endian 4 / 8 bytes.
  crc32c               Castagnoli CRC (reflected poly 0x82F63B78); check value of
                       b"123456789" is 0xE3069283. Computed by the `crc32c` package,
                       which uses the SSE4.2 / ARMv8 instruction where there is one.
  mask(c)              rotate right 15, then add MASK_DELTA (mod 2**32). LevelDB masks
                       stored CRCs so that a CRC of data holding CRCs is not degenerate.
"""
from __future__ import annotations

import struct

import crc32c as _crc32c

MASK_DELTA = 0xA282EAD8
MAX_VARINT32_BYTES = 5
MAX_VARINT64_BYTES = 10

_U32 = struct.Struct("<I")
_U64 = struct.Struct("<Q")


class CorruptionError(ValueError):
    """A malformed primitive. Callers turn it into a DataLossError naming the file."""


def crc32c(data, value: int = 0) -> int:
    """CRC32C of ``data`` (any buffer), continuing from ``value``."""
    return _crc32c.crc32c(data, value)


def mask(crc: int) -> int:
    """The masked form of a CRC, as stored in tables and bundle entries."""
    return (((crc >> 15) | (crc << 17)) + MASK_DELTA) & 0xFFFFFFFF


def unmask(masked: int) -> int:
    """Inverse of :func:`mask`."""
    rot = (masked - MASK_DELTA) & 0xFFFFFFFF
    return ((rot >> 17) | (rot << 15)) & 0xFFFFFFFF


def encode_varint(value: int) -> bytes:
    """LEB128 bytes of a non-negative integer below 2**64."""
    if value < 0 or value >= 1 << 64:
        raise ValueError(f"varint out of range: {value}")
    out = bytearray()
    while value >= 0x80:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def decode_varint(buf, pos: int, limit: int | None = None,
                  max_bytes: int = MAX_VARINT64_BYTES) -> tuple[int, int]:
    """Decode a varint at ``buf[pos:]``; returns ``(value, next_pos)``.

    Raises CorruptionError when the varint runs past ``limit`` or is too long.
    """
    end = len(buf) if limit is None else limit
    result = 0
    shift = 0
    for i in range(pos, min(end, pos + max_bytes)):
        byte = buf[i]
        result |= (byte & 0x7F) << shift
        if byte < 0x80:
            if result >> 64:
                raise CorruptionError("varint overflows 64 bits")
            return result, i + 1
        shift += 7
    if pos + max_bytes <= end:
        raise CorruptionError("varint longer than %d bytes" % max_bytes)
    raise CorruptionError("varint runs past the end of its buffer")


def decode_varint32(buf, pos: int, limit: int | None = None) -> tuple[int, int]:
    """Decode a varint32 (at most 5 bytes, value below 2**32)."""
    value, nxt = decode_varint(buf, pos, limit, MAX_VARINT32_BYTES)
    if value >> 32:
        raise CorruptionError("varint32 overflows 32 bits")
    return value, nxt


def encode_fixed32(value: int) -> bytes:
    return _U32.pack(value)


def decode_fixed32(buf, pos: int) -> int:
    if pos < 0 or pos + 4 > len(buf):
        raise CorruptionError("fixed32 runs past the end of its buffer")
    return _U32.unpack_from(buf, pos)[0]


def encode_fixed64(value: int) -> bytes:
    return _U64.pack(value)


def decode_fixed64(buf, pos: int) -> int:
    if pos < 0 or pos + 8 > len(buf):
        raise CorruptionError("fixed64 runs past the end of its buffer")
    return _U64.unpack_from(buf, pos)[0]
