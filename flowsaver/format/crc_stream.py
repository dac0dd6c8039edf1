"""The CRC32C of a range of a file, in constant memory, skipping the file's holes.

`flowsaver verify` checks a tensor's bytes against its stored CRC without holding the
tensor: the range is read in pieces of PIECE bytes. A sparse file's holes read as zeros,
and the CRC of n zero bytes is a linear map of the CRC before them (multiplying the CRC
register by x**(8n) modulo the Castagnoli polynomial), computed here in O(log n) by
squaring that map, as zlib's crc32_combine does. So a hostile index claiming a
terabyte-sized tensor over a sparse terabyte-sized data file is checked in moments, and
any data a hole hides is read and checked like the rest.
"""
from __future__ import annotations

import errno
import os

from flowsaver.format.coding import crc32c

PIECE = 1 << 20
# The reflected Castagnoli polynomial (coding.py) and the CRC's pre- and post-inversion.
POLY = 0x82F63B78
_INVERT = 0xFFFFFFFF
_BITS = 32


def _times(matrix: list[int], vector: int) -> int:
    """A 32x32 GF(2) matrix (one column per bit, as an int) times a vector."""
    out, i = 0, 0
    while vector:
        if vector & 1:
            out ^= matrix[i]
        vector >>= 1
        i += 1
    return out


def _square(matrix: list[int]) -> list[int]:
    return [_times(matrix, column) for column in matrix]


def _one_zero_byte() -> list[int]:
    # The register's map for one zero bit, squared three times: eight zero bits.
    bit = [POLY] + [1 << i for i in range(_BITS - 1)]
    return _square(_square(_square(bit)))


_BYTE = _one_zero_byte()
# _POWERS[k] maps the register across 2**k zero bytes; squared into place on first use
# (a squaring costs ~0.1 ms, so the few dozen a process needs are made once).
_POWERS = [_BYTE]


def _power(k: int) -> list[int]:
    while len(_POWERS) <= k:
        _POWERS.append(_square(_POWERS[-1]))
    return _POWERS[k]


def _shift(register: int, count: int) -> int:
    """The register after ``count`` zero bytes: one matrix product per set bit."""
    k = 0
    while count:
        if count & 1:
            register = _times(_power(k), register)
        count >>= 1
        k += 1
    return register


def crc32c_zeros(crc: int, count: int) -> int:
    """``crc32c(bytes(count), crc)`` in O(log count) time and constant memory."""
    return _shift(crc ^ _INVERT, count) ^ _INVERT


def crc32c_combine(crc_a: int, crc_b: int, len_b: int) -> int:
    """``crc32c(a + b)`` from ``crc32c(a)``, ``crc32c(b)`` and ``len(b)`` (zlib's
    crc32_combine): two threads can each take the CRC of their own part of a buffer.

    The CRC is affine in its input: the CRC of ``a + b`` is that of ``a`` followed by
    ``len(b)`` zero bytes, xor that of ``b``, xor that of ``len(b)`` zero bytes (the
    part both of the others hold, from the register's starting value)."""
    return _shift(crc_a ^ _INVERT, len_b) ^ crc_b ^ _shift(_INVERT, len_b)


def _data_regions(fd: int, start: int, stop: int):
    """``(begin, end)`` ranges within [start, stop) that may hold data; the gaps between
    them are holes (read as zeros). Without SEEK_DATA, the whole range."""
    if not hasattr(os, "SEEK_DATA"):
        yield start, stop
        return
    pos = start
    while pos < stop:
        try:
            begin = os.lseek(fd, pos, os.SEEK_DATA)
        except OSError as exc:
            if exc.errno == errno.ENXIO:       # nothing but a hole up to the end of file
                return
            yield pos, stop                    # the file system cannot tell: read it all
            return
        if begin >= stop:
            return
        end = min(os.lseek(fd, begin, os.SEEK_HOLE), stop)
        yield begin, end
        pos = end


def crc32c_of_range(fd: int, offset: int, size: int, read_into) -> int:
    """The CRC32C of ``size`` bytes at ``offset`` of ``fd``.

    ``read_into(view, position)`` fills ``view`` from the file at ``position`` (it raises
    the caller's typed error when the file ends early). Holes are not read.
    """
    crc, pos, stop = 0, offset, offset + size
    buffer = memoryview(bytearray(min(PIECE, size)))
    for begin, end in _data_regions(fd, offset, stop):
        crc = crc32c_zeros(crc, begin - pos)
        for piece_start in range(begin, end, PIECE):
            view = buffer[:min(PIECE, end - piece_start)]
            read_into(view, piece_start)
            crc = crc32c(view, crc)
        pos = end
    return crc32c_zeros(crc, stop - pos)
