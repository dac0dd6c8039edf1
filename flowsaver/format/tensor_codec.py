"""How one tensor's bytes are laid out in a data file, and its entry checksum.

memcpy dtypes: the C-order little-endian array; crc = crc32c(bytes).

DT_STRING, n elements:
    varint64 len[0..n) | fixed32 mask(crc32c(len as u32 LE ...)) | s[0] s[1] ... s[n-1]
  The lengths are hashed as fixed-width little-endian u32 (u64 when one exceeds 2**32-1),
  not as the varints written. The entry crc continues from that length crc over the four
  masked bytes as written, then over the string bytes.

DT_VARIANT, per element:
    varint64 L | L bytes of VariantTensorDataProto | fixed32 mask(running crc)
  The running crc (from 0) extends over u64 LE(L), the proto bytes, then the 4 bytes written.

An empty numeric tensor writes nothing; its crc is 0, stored masked as 0xa282ead8. An
empty string tensor still writes its 4-byte length crc (entry crc 0x640cc1f6), as TF does.
"""
from __future__ import annotations

import struct

import numpy as np

from flowsaver.format.coding import (CorruptionError, crc32c, decode_fixed32, decode_varint,
                                     encode_fixed32, encode_varint, mask)
from flowsaver.format.protos import VariantTensorDataProto

_U32_MAX = 0xFFFFFFFF


def _as_bytes(item) -> bytes:
    if isinstance(item, bytes):
        return item
    if isinstance(item, str):
        return item.encode("utf-8")
    if isinstance(item, (bytearray, memoryview, np.bytes_)):
        return bytes(item)
    raise TypeError(f"string tensor element of type {type(item).__name__} is not bytes or str")


def encode_strings(array: np.ndarray) -> tuple[list[bytes], int]:
    """Chunks to write for a string tensor, and its (unmasked) crc."""
    items = [_as_bytes(x) for x in array.reshape(-1).tolist()]
    lengths = [len(x) for x in items]
    fmt = "<%dQ" if any(n > _U32_MAX for n in lengths) else "<%dI"
    crc = crc32c(struct.pack(fmt % len(lengths), *lengths))
    length_crc = encode_fixed32(mask(crc))
    crc = crc32c(length_crc, crc)
    body = b"".join(items)
    crc = crc32c(body, crc)
    head = b"".join(encode_varint(n) for n in lengths) + length_crc
    return [head, body], crc


def decode_strings(data, count: int) -> tuple[np.ndarray, int]:
    """Parse ``count`` strings from ``data``; returns (object array of bytes, crc)."""
    size = len(data)
    if count == 0 and size == 0:  # TensorFlow writes 4 bytes; accept none as well
        return np.empty(0, dtype=object), 0
    if count + 4 > size:
        raise CorruptionError(f"{count} strings cannot fit in {size} bytes")
    lengths = []
    pos = 0
    for _ in range(count):
        n, pos = decode_varint(data, pos, size)
        lengths.append(n)
    total = sum(lengths)
    if pos + 4 + total != size:
        raise CorruptionError(f"string lengths add up to {pos + 4 + total} bytes, "
                              f"the entry holds {size}")
    fmt = "<%dQ" if any(n > _U32_MAX for n in lengths) else "<%dI"
    crc = crc32c(struct.pack(fmt % count, *lengths))
    stored = decode_fixed32(data, pos)
    if stored != mask(crc):
        raise CorruptionError(f"string length checksum mismatch: stored {stored:#010x}, "
                              f"computed {mask(crc):#010x}")
    crc = crc32c(data[pos:pos + 4], crc)
    pos += 4
    crc = crc32c(data[pos:], crc)
    out = np.empty(count, dtype=object)
    view = memoryview(data)
    for i, n in enumerate(lengths):
        out[i] = bytes(view[pos:pos + n])
        pos += n
    return out, crc


def _variant_bytes(item) -> bytes:
    if isinstance(item, (bytes, bytearray, memoryview)):
        return bytes(item)
    if hasattr(item, "SerializeToString"):
        return item.SerializeToString()
    raise TypeError(f"variant element of type {type(item).__name__} is neither bytes "
                    f"nor a VariantTensorDataProto")


def encode_variants(array: np.ndarray) -> tuple[list[bytes], int]:
    """Chunks to write for a variant tensor (serialized VariantTensorDataProto elements)."""
    chunks = []
    crc = 0
    for item in array.reshape(-1).tolist():
        body = _variant_bytes(item)
        crc = crc32c(struct.pack("<Q", len(body)), crc)
        crc = crc32c(body, crc)
        check = encode_fixed32(mask(crc))
        crc = crc32c(check, crc)
        chunks += [encode_varint(len(body)), body, check]
    return chunks, crc


def decode_variants(data, count: int) -> tuple[np.ndarray, int]:
    """Parse ``count`` variant elements; returns (object array of protos, crc)."""
    size = len(data)
    if count * 5 > size:
        raise CorruptionError(f"{count} variant elements cannot fit in {size} bytes")
    out = np.empty(count, dtype=object)
    pos = 0
    crc = 0
    for i in range(count):
        n, pos = decode_varint(data, pos, size)
        if pos + n + 4 > size:
            raise CorruptionError(f"variant element {i} of {n} bytes runs past the entry")
        body = bytes(data[pos:pos + n])
        crc = crc32c(body, crc32c(struct.pack("<Q", n), crc))
        stored = decode_fixed32(data, pos + n)
        if stored != mask(crc):
            raise CorruptionError(f"variant element {i} checksum mismatch")
        crc = crc32c(data[pos + n:pos + n + 4], crc)
        pos += n + 4
        try:
            out[i] = VariantTensorDataProto.FromString(body)
        except Exception as exc:  # protobuf raises DecodeError or RuntimeError by backend
            raise CorruptionError(f"variant element {i} is not a VariantTensorDataProto: "
                                  f"{exc}") from exc
    if pos != size:
        raise CorruptionError(f"variant elements end at byte {pos} of a {size}-byte entry")
    return out, crc
