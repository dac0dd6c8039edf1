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

import importlib.machinery
import importlib.util
import struct
import sys

MASK_DELTA = 0xA282EAD8
MAX_VARINT32_BYTES = 5
MAX_VARINT64_BYTES = 10

_U32 = struct.Struct("<I")
_U64 = struct.Struct("<Q")


def _load_crc32c():
    """The crc32c package's compiled ``crc32c(data, value)`` function.

    Loaded from the package's extension module directly, when the package itself is not
    imported yet: its ``__init__`` imports importlib.metadata only to set ``__version__``,
    which costs 30-60 ms, more than everything else `flowsaver inspect` imports but NumPy.
    Any surprise in the package's layout falls back to the plain import.
    """
    if "crc32c" not in sys.modules:
        package = importlib.util.find_spec("crc32c")   # finds; runs nothing
        locations = package.submodule_search_locations if package else None
        spec = importlib.machinery.PathFinder.find_spec("crc32c._crc32c", locations) \
            if locations else None
        if spec is not None and spec.loader is not None:
            # Not put in sys.modules: a later `import crc32c` builds the package as usual.
            module = importlib.util.module_from_spec(spec)
            spec.loader.exec_module(module)
            if callable(getattr(module, "crc32c", None)):
                return module.crc32c
    import crc32c
    return crc32c.crc32c


_crc32c_function = _load_crc32c()


class CorruptionError(ValueError):
    """A malformed primitive. Callers turn it into a DataLossError naming the file."""


def crc32c(data, value: int = 0) -> int:
    """CRC32C of ``data`` (any buffer), continuing from ``value``."""
    return _crc32c_function(data, value)


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
