"""PNG images, encoded and decoded with zlib alone (no imaging library).

Byte layout (PNG 1.2, RFC 2083): the 8-byte SIGNATURE, then chunks, each

    u32 big-endian LENGTH | 4-byte TYPE | LENGTH bytes of DATA | u32 big-endian CRC-32
                                                                 of TYPE + DATA

``IHDR`` (13 bytes: u32 width, u32 height, u8 bit depth, u8 colour type, u8 compression
= 0, u8 filter method = 0, u8 interlace) comes first, ``PLTE`` holds a palette, the
``IDAT`` chunks together hold one zlib stream, ``IEND`` ends the file. The zlib stream
inflates to one filtered scanline per row: a filter-type byte (0 None, 1 Sub, 2 Up,
3 Average, 4 Paeth) then the row's bytes, samples big-endian for 16-bit depth.

The encoder writes 8- or 16-bit grey (colour type 0), grey+alpha (4), RGB (2) or RGBA
(6) with filter 0 on every row. The decoder reads every colour type and bit depth of
non-interlaced files, expanding palettes and low bit depths to 8-bit samples.
"""
from __future__ import annotations

import struct
import zlib

import numpy as np

from flowsaver import errors

SIGNATURE = b"\x89PNG\r\n\x1a\n"
_CHUNK_HEAD = struct.Struct(">I4s")
_IHDR = struct.Struct(">IIBBBBB")
# colour type -> channels (palette images have one index per pixel)
_CHANNELS = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}
_TYPE_OF_CHANNELS = {1: 0, 2: 4, 3: 2, 4: 6}
MAX_PIXELS = 1 << 30   # a header announcing more is corrupt, not an image


def _chunk(kind: bytes, data: bytes) -> bytes:
    return (struct.pack(">I", len(data)) + kind + data +
            struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))


def encode(image: np.ndarray, compression: int = -1) -> bytes:
    """PNG bytes of an [height, width, channels] uint8 or uint16 image (1-4 channels)."""
    image = np.asarray(image)
    if image.ndim != 3 or image.shape[2] not in _TYPE_OF_CHANNELS:
        raise errors.InvalidArgumentError(
            f"PNG image must be [height, width, 1-4 channels], got shape {image.shape}")
    if image.dtype not in (np.uint8, np.uint16):
        raise errors.InvalidArgumentError(f"PNG image must be uint8 or uint16, got "
                                          f"{image.dtype}")
    height, width, channels = image.shape
    depth = 8 * image.dtype.itemsize
    rows = image.astype(image.dtype.newbyteorder(">"), copy=False).reshape(height, -1)
    raw = np.zeros((height, 1 + rows.shape[1] * image.dtype.itemsize), np.uint8)
    raw[:, 1:] = rows.view(np.uint8).reshape(height, -1)
    header = _IHDR.pack(width, height, depth, _TYPE_OF_CHANNELS[channels], 0, 0, 0)
    return (SIGNATURE + _chunk(b"IHDR", header) +
            _chunk(b"IDAT", zlib.compress(raw.tobytes(), compression)) + _chunk(b"IEND", b""))


def _paeth(a: int, b: int, c: int) -> int:
    p = a + b - c
    pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
    if pa <= pb and pa <= pc:
        return a
    return b if pb <= pc else c


def _unfilter(data: bytes, height: int, stride: int, bpp: int) -> np.ndarray:
    """The raw scanlines of the inflated IDAT stream, filters undone."""
    if len(data) < height * (stride + 1):
        raise errors.InvalidArgumentError(f"PNG image data is truncated: {len(data)} bytes "
                                          f"for {height} rows of {stride}")
    out = np.zeros((height, stride), np.uint8)
    prior = np.zeros(stride, np.int32)
    for y in range(height):
        start = y * (stride + 1)
        kind = data[start]
        line = np.frombuffer(data, np.uint8, stride, start + 1).astype(np.int32)
        if kind == 0:
            row = line
        elif kind == 2:
            row = (line + prior) & 0xFF
        elif kind in (1, 3, 4):
            row = line.copy()
            for x in range(stride):
                left = row[x - bpp] if x >= bpp else 0
                if kind == 1:
                    pred = left
                elif kind == 3:
                    pred = (left + prior[x]) >> 1
                else:
                    pred = _paeth(left, prior[x], prior[x - bpp] if x >= bpp else 0)
                row[x] = (row[x] + pred) & 0xFF
        else:
            raise errors.InvalidArgumentError(f"PNG row {y} has unknown filter type {kind}")
        out[y] = row
        prior = row
    return out


def decode(data: bytes) -> np.ndarray:
    """The [height, width, channels] pixels of PNG ``data`` (uint8, or uint16 for 16-bit).

    Raises:
      InvalidArgumentError: not a PNG, a bad chunk CRC, truncated or interlaced data.
    """
    data = bytes(data)
    if not data.startswith(SIGNATURE):
        raise errors.InvalidArgumentError("Invalid PNG data: bad signature")
    at, header, palette, alpha_table, idat = len(SIGNATURE), None, None, None, []
    while at + 12 <= len(data):
        length, kind = _CHUNK_HEAD.unpack_from(data, at)
        if at + 12 + length > len(data):
            raise errors.InvalidArgumentError(f"Invalid PNG data: chunk {kind!r} at offset "
                                              f"{at} runs past the end")
        body = data[at + 8:at + 8 + length]
        (crc,) = struct.unpack_from(">I", data, at + 8 + length)
        if zlib.crc32(kind + body) & 0xFFFFFFFF != crc:
            raise errors.InvalidArgumentError(f"Invalid PNG data: CRC mismatch in chunk "
                                              f"{kind!r} at offset {at}")
        if kind == b"IHDR":
            header = _IHDR.unpack(body)
        elif kind == b"PLTE":
            palette = np.frombuffer(body, np.uint8).reshape(-1, 3)
        elif kind == b"tRNS":
            alpha_table = np.frombuffer(body, np.uint8)
        elif kind == b"IDAT":
            idat.append(body)
        elif kind == b"IEND":
            break
        at += 12 + length
    if header is None or not idat:
        raise errors.InvalidArgumentError("Invalid PNG data: no IHDR or no IDAT chunk")
    width, height, depth, color, _, _, interlace = header
    if color not in _CHANNELS or depth not in (1, 2, 4, 8, 16):
        raise errors.InvalidArgumentError(f"Invalid PNG data: colour type {color}, depth "
                                          f"{depth}")
    if interlace:
        raise errors.UnimplementedError("Interlaced PNG images are not supported")
    if width * height > MAX_PIXELS:
        raise errors.InvalidArgumentError(f"PNG image of {width}x{height} is too large")
    channels = _CHANNELS[color]
    bits = depth * channels
    stride = (width * bits + 7) // 8
    try:
        raw = zlib.decompress(b"".join(idat))
    except zlib.error as exc:
        raise errors.InvalidArgumentError(f"Invalid PNG data: {exc}") from None
    rows = _unfilter(raw, height, stride, max(1, bits // 8))
    if depth == 16:
        pixels = rows.view(">u2").astype(np.uint16).reshape(height, width, channels)
    elif depth == 8:
        pixels = rows.reshape(height, width, channels)
    else:
        bitsplit = np.unpackbits(rows, axis=1).reshape(height, -1, depth)
        weights = 1 << np.arange(depth - 1, -1, -1)
        values = (bitsplit * weights).sum(axis=2)[:, :width].astype(np.uint8)
        if color == 0:   # low-depth grey scales up to the full 8-bit range
            values = (values * (255 // ((1 << depth) - 1))).astype(np.uint8)
        pixels = values.reshape(height, width, 1)
    if color == 3:
        if palette is None:
            raise errors.InvalidArgumentError("Invalid PNG data: palette image without PLTE")
        index = pixels[..., 0]
        rgb = palette[np.minimum(index, len(palette) - 1)]
        if alpha_table is not None:
            alpha = np.full(256, 255, np.uint8)
            alpha[:len(alpha_table)] = alpha_table
            return np.concatenate([rgb, alpha[index][..., None]], axis=2)
        return rgb
    return pixels
