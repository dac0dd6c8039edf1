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


def crc32c_zeros(crc: int, count: int) -> int:
    """``crc32c(bytes(count), crc)`` in O(log count) time and constant memory."""
    register = crc ^ _INVERT
    power = _BYTE
    while count:
        if count & 1:
            register = _times(power, register)
        count >>= 1
        if count:
            power = _square(power)
    return register ^ _INVERT


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
