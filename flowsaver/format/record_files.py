"""TFRecord files on disk, plain or compressed (TensorFlow's ``TFRecordOptions``).

A compressed TFRecord file is the plain byte stream of records.py (records back to back,
each ``u64 length | u32 masked crc(length) | data | u32 masked crc(data)``) pushed
through one compressor for the whole file:

    NONE   the record stream as is
    ZLIB   one zlib stream (RFC 1950: 2-byte header, deflate data, Adler-32 trailer)
    GZIP   one gzip member (RFC 1952: 10-byte header, deflate data, CRC-32 and size)

TensorFlow's writer flushes the compressor when the file is flushed or closed; a reader
decompresses and then checks each record's CRCs exactly as for a plain file. Names are
TensorFlow's: ``compression_type`` is "" (or None), "ZLIB" or "GZIP".
"""
from __future__ import annotations

import io
import os
import zlib
from typing import Iterator

from flowsaver import errors
from flowsaver.format import storage
from flowsaver.format.records import (CRC_BYTES, HEADER_BYTES, LENGTH_BYTES, _CRC, _LENGTH,
                                      encode_record)
from flowsaver.format.coding import crc32c, mask

NONE, ZLIB, GZIP = "", "ZLIB", "GZIP"
COMPRESSION_TYPES = (NONE, ZLIB, GZIP)
# zlib's wbits: 15-bit window, +16 selects the gzip wrapper (RFC 1952) over zlib's.
_WBITS = {ZLIB: zlib.MAX_WBITS, GZIP: zlib.MAX_WBITS | 16}
_CHUNK = 256 * 1024
MAX_RECORD_BYTES = 1 << 40   # a length beyond this is corruption, not data


def check_compression(compression_type) -> str:
    """The canonical name of ``compression_type`` ("", "ZLIB", "GZIP"; None is "").

    Raises:
      InvalidArgumentError: another name.
    """
    name = (compression_type or "").upper() if isinstance(compression_type, str) else \
        ("" if compression_type is None else str(compression_type))
    if name not in COMPRESSION_TYPES:
        raise errors.InvalidArgumentError(f"Unsupported compression_type {compression_type!r}:"
                                          f" expected '', 'ZLIB' or 'GZIP'")
    return name


class RecordFileWriter:
    """Writes a TFRecord file at ``path``, compressed as ``compression_type`` says.

    ``level`` is zlib's compression level (TensorFlow's default, -1, is zlib's 6).
    """

    def __init__(self, path, compression_type: str = NONE, level: int = -1):
        self.path = os.fspath(path)
        self.compression = check_compression(compression_type)
        try:
            self._file = open(self.path, "wb") if not storage.is_url(self.path) else \
                storage.open_new(self.path)   # on a store: uploaded whole on flush/close
        except OSError as exc:
            raise errors.NotFoundError(f"{self.path}: cannot open for writing: "
                                       f"{exc.strerror}") from None
        self._deflate = None if not self.compression else \
            zlib.compressobj(level, zlib.DEFLATED, _WBITS[self.compression])

    def write(self, data: bytes) -> None:
        if self._file.closed:
            raise errors.FailedPreconditionError(f"{self.path}: writer is closed")
        record = encode_record(bytes(data))
        self._file.write(self._deflate.compress(record) if self._deflate else record)

    def flush(self) -> None:
        if self._deflate is not None:
            self._file.write(self._deflate.flush(zlib.Z_SYNC_FLUSH))
        self._file.flush()

    def close(self) -> None:
        if self._file.closed:
            return
        if self._deflate is not None:
            self._file.write(self._deflate.flush(zlib.Z_FINISH))
        self._file.close()

    def __enter__(self) -> "RecordFileWriter":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


class _Inflating(io.RawIOBase):
    """A read-only stream of the decompressed bytes of a ZLIB or GZIP file."""

    def __init__(self, file, compression: str, path: str):
        self._file, self._path = file, path
        self._inflate = zlib.decompressobj(_WBITS[compression])
        self._pending = b""

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        while not self._pending:
            if self._inflate.eof:
                return 0
            chunk = self._file.read(_CHUNK)
            try:
                self._pending = self._inflate.decompress(chunk) if chunk else \
                    self._inflate.flush()
            except zlib.error as exc:
                raise errors.DataLossError(f"{self._path}: corrupted compressed data: "
                                           f"{exc}") from None
            if not chunk:
                if not self._inflate.eof and not self._pending:
                    raise errors.DataLossError(f"{self._path}: the compressed stream ends "
                                               f"early")
                if not self._pending:
                    return 0
        n = min(len(buffer), len(self._pending))
        buffer[:n] = self._pending[:n]
        self._pending = self._pending[n:]
        return n


def iter_record_file(path, compression_type: str = NONE) -> Iterator[bytes]:
    """Every record's data in the TFRecord file at ``path``, CRCs checked.

    Raises:
      NotFoundError: no file at ``path``.
      DataLossError: a CRC fails, a record is cut short, or compressed data is corrupt;
        the message names the file and the record's offset (in the decompressed stream).
    """
    path = os.fspath(path)
    compression = check_compression(compression_type)
    try:
        raw = open(path, "rb") if not storage.is_url(path) else \
            io.BytesIO(storage.read_bytes(path))   # one GET
    except OSError as exc:
        raise errors.NotFoundError(f"{path}: {exc.strerror}") from None
    with raw:
        stream = io.BufferedReader(_Inflating(raw, compression, path), _CHUNK) \
            if compression else raw
        offset = 0
        while True:
            header = stream.read(HEADER_BYTES)
            if not header:
                return
            where = f"{path}: record at offset {offset}"
            if len(header) < HEADER_BYTES:
                raise errors.DataLossError(f"{where}: truncated record header")
            (length,) = _LENGTH.unpack_from(header)
            if mask(crc32c(header[:LENGTH_BYTES])) != _CRC.unpack_from(header, LENGTH_BYTES)[0]:
                raise errors.DataLossError(f"{where}: corrupted record length (CRC mismatch)")
            if length > MAX_RECORD_BYTES:
                raise errors.DataLossError(f"{where}: record length {length} is not credible")
            body = stream.read(length + CRC_BYTES)
            if len(body) != length + CRC_BYTES:
                raise errors.DataLossError(f"{where}: truncated record ({length} bytes "
                                           f"announced)")
            data = body[:length]
            if mask(crc32c(data)) != _CRC.unpack_from(body, length)[0]:
                raise errors.DataLossError(f"{where}: corrupted record data (CRC mismatch)")
            yield data
            offset += HEADER_BYTES + length + CRC_BYTES


# ---- TensorFlow's Python names (tf.io / tf.python_io) ---------------------------------------
class TFRecordCompressionType:
    """``tf.python_io.TFRecordCompressionType``: NONE, ZLIB, GZIP."""
    NONE, ZLIB, GZIP = 0, 1, 2


_BY_ENUM = {TFRecordCompressionType.NONE: NONE, TFRecordCompressionType.ZLIB: ZLIB,
            TFRecordCompressionType.GZIP: GZIP}


class TFRecordOptions:
    """``tf.io.TFRecordOptions``: how a TFRecord file is compressed.

    ``compression_type`` is "", "ZLIB", "GZIP", None or a TFRecordCompressionType value;
    ``compression_level`` is zlib's level (None: zlib's default). TensorFlow's tuning
    knobs (buffer sizes, memory level, strategy) are accepted and have no effect here.
    """

    def __init__(self, compression_type=None, flush_mode=None, input_buffer_size=None,
                 output_buffer_size=None, window_bits=None, compression_level=None,
                 compression_method=None, mem_level=None, compression_strategy=None):
        if isinstance(compression_type, int):
            compression_type = _BY_ENUM.get(compression_type, str(compression_type))
        self.compression_type = check_compression(compression_type)
        self.compression_level = compression_level

    @classmethod
    def get_compression_type_string(cls, options) -> str:
        """The compression name of ``options`` (an options object, a name or None)."""
        if isinstance(options, TFRecordOptions):
            return options.compression_type
        if isinstance(options, int):
            return _BY_ENUM.get(options, "")
        return check_compression(options)


class TFRecordWriter(RecordFileWriter):
    """``tf.io.TFRecordWriter(path, options=None)``."""

    def __init__(self, path, options=None):
        level = options.compression_level if isinstance(options, TFRecordOptions) else None
        super().__init__(path, TFRecordOptions.get_compression_type_string(options),
                         -1 if level is None else level)


def tf_record_iterator(path, options=None) -> Iterator[bytes]:
    """``tf.io.tf_record_iterator``: every record of a TFRecord file, as bytes."""
    return iter_record_file(path, TFRecordOptions.get_compression_type_string(options))
