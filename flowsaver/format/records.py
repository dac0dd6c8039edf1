"""TFRecord framing: the container of TensorBoard event files and ``.tfrecord`` data.

Byte layout of one record (all integers little-endian; a file is records back to back,
with no header or footer):

    offset 0      u64   LENGTH of the data
    offset 8      u32   masked CRC32C of the 8 LENGTH bytes
    offset 12     LENGTH bytes of data
    offset 12+L   u32   masked CRC32C of the data

``masked`` is coding.mask: the LevelDB masking of table and bundle CRCs. So a record
costs RECORD_OVERHEAD bytes on top of its data. TensorFlow writes event files this way
(uncompressed); compressed TFRecord files (GZIP/ZLIB) are not handled here.
"""
from __future__ import annotations

import io
import os
import struct
from typing import BinaryIO, Iterator

from flowsaver import errors
from flowsaver.format import storage
from flowsaver.format.coding import crc32c, mask

LENGTH_BYTES = 8
CRC_BYTES = 4
HEADER_BYTES = LENGTH_BYTES + CRC_BYTES
RECORD_OVERHEAD = HEADER_BYTES + CRC_BYTES
_LENGTH = struct.Struct("<Q")
_CRC = struct.Struct("<I")


def encode_record(data: bytes) -> bytes:
    """One framed record holding ``data``."""
    length = _LENGTH.pack(len(data))
    return (length + _CRC.pack(mask(crc32c(length))) + data
            + _CRC.pack(mask(crc32c(data))))


class RecordWriter:
    """Appends records to a binary file object (which the caller opened and closes).

    Example:
      >>> with open("x.tfrecord", "wb") as f:
      ...     RecordWriter(f).write(b"payload")
    """

    def __init__(self, file: BinaryIO):
        self.file = file

    def write(self, data: bytes) -> None:
        self.file.write(encode_record(bytes(data)))

    def flush(self) -> None:
        self.file.flush()


def _read_exact(f: BinaryIO, n: int) -> bytes:
    chunks, got = [], 0
    while got < n:
        chunk = f.read(n - got)
        if not chunk:
            break
        chunks.append(chunk)
        got += len(chunk)
    return b"".join(chunks)


def _open_read(path: str):
    """The file, or for a URL the object's bytes fetched with one GET."""
    if storage.is_url(path):
        try:
            return io.BytesIO(storage.read_bytes(path))
        except FileNotFoundError:
            raise errors.NotFoundError(f"{path}: no such object") from None
    return open(path, "rb")


def read_records(path, allow_truncated_tail: bool = False) -> Iterator[bytes]:
    """Every record's data in a TFRecord file, each checked against its two CRCs.

    Args:
      allow_truncated_tail: end quietly at an incomplete last record (a file still being
        written) instead of raising.

    Raises:
      DataLossError: a CRC does not match, a length runs past the end of the file, or
        (without allow_truncated_tail) the file ends inside a record; the message names
        the file and the record's offset.
    """
    path = os.fspath(path)
    with _open_read(path) as f:
        size = f.seek(0, os.SEEK_END)
        f.seek(0)
        offset = 0
        while True:
            header = _read_exact(f, HEADER_BYTES)
            if not header:
                return
            where = f"{path}: record at offset {offset}"
            if len(header) < HEADER_BYTES:
                if allow_truncated_tail:
                    return
                raise errors.DataLossError(f"{where}: the file ends inside its header")
            (length,) = _LENGTH.unpack_from(header)
            (length_crc,) = _CRC.unpack_from(header, LENGTH_BYTES)
            if mask(crc32c(header[:LENGTH_BYTES])) != length_crc:
                raise errors.DataLossError(f"{where}: corrupted length (CRC mismatch)")
            if offset + RECORD_OVERHEAD + length > size:
                if allow_truncated_tail:
                    return
                raise errors.DataLossError(f"{where}: {length} bytes of data run past the "
                                           f"end of the file ({size} bytes)")
            data = _read_exact(f, length)
            tail = _read_exact(f, CRC_BYTES)
            if len(data) != length or len(tail) != CRC_BYTES:
                if allow_truncated_tail:   # the file shrank while being read
                    return
                raise errors.DataLossError(f"{where}: the file ends inside its data")
            if mask(crc32c(data)) != _CRC.unpack(tail)[0]:
                raise errors.DataLossError(f"{where}: corrupted data (CRC mismatch)")
            yield data
            offset += RECORD_OVERHEAD + length
