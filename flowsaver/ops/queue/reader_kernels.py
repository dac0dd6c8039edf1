"""TensorFlow 1.x readers (``TFRecordReaderV2``, ``TextLineReaderV2``,
``WholeFileReaderV2``, ``FixedLengthRecordReaderV2``) and ``ReaderReadV2`` /
``ReaderReadUpToV2``: a reader takes file names from a queue (usually a
``string_input_producer``'s), one file at a time, and produces (key, record) pairs; when
the queue is closed and empty, reading raises ``OutOfRangeError``.

Keys are TensorFlow's: ``FILE:BYTE_OFFSET`` for TFRecords, ``FILE:LINE`` (1-based) for
text lines, ``FILE:RECORD_NUMBER`` for fixed-length records, the file name for whole files.
"""
from __future__ import annotations

import threading

import numpy as np

from flowsaver.format.record_files import iter_record_file
from flowsaver.format.records import RECORD_OVERHEAD
from flowsaver.ops.data import pipeline
from flowsaver.ops.registry import NOT_FOLDABLE, OpTable

TABLE = OpTable(__name__)
define, kernel, shape_fn = TABLE.define, TABLE.kernel, TABLE.shape_fn

_NAMES = 'container: string = ""; shared_name: string = ""'
define(
    f'TFRecordReaderV2() -> (reader_handle: resource); {_NAMES}; compression_type: string = ""; !stateful',
    f'TextLineReaderV2() -> (reader_handle: resource); skip_header_lines: int = 0; {_NAMES}; !stateful',
    f'WholeFileReaderV2() -> (reader_handle: resource); {_NAMES}; !stateful',
    f'FixedLengthRecordReaderV2() -> (reader_handle: resource); header_bytes: int = 0; record_bytes: int; footer_bytes: int = 0; hop_bytes: int = 0; {_NAMES}; encoding: string = ""; !stateful',
    'ReaderReadV2(reader_handle: resource, queue_handle: resource) -> (key: string, value: string); !stateful',
    'ReaderReadUpToV2(reader_handle: resource, queue_handle: resource, num_records: int64) -> (keys: string, values: string); !stateful',
    'ReaderNumRecordsProducedV2(reader_handle: resource) -> (records_produced: int64); !stateful',
    'ReaderResetV2(reader_handle: resource) -> (); !stateful',
)
_OPS = sorted(TABLE.op_defs)
TABLE.not_differentiable(*_OPS)
TABLE.mark(NOT_FOLDABLE, *_OPS)


def _text(value) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


class Reader:
    """One reader's position: the current file's (key, record) iterator and a count."""

    def __init__(self, records_of):
        self.records_of = records_of      # file name -> iterator of (key, record)
        self.current = None
        self.produced = 0
        self.lock = threading.Lock()

    def read(self, queue, op):
        with self.lock:
            while True:
                if self.current is None:
                    (name,) = queue.dequeue(None, op)
                    self.current = self.records_of(_text(np.asarray(name, object).item()))
                try:
                    key, value = next(self.current)
                except StopIteration:
                    self.current = None
                    continue
                self.produced += 1
                return key.encode(), value

    def reset(self) -> None:
        with self.lock:
            self.current, self.produced = None, 0


def _tfrecords(compression):
    def records(name):
        offset = 0
        for data in iter_record_file(name, compression):
            yield f"{name}:{offset}", data
            offset += RECORD_OVERHEAD + len(data)
    return records


def _lines(skip):
    def records(name):
        for number, (line,) in enumerate(pipeline.TextLines(name, "").elements(), 1):
            if number > skip:
                yield f"{name}:{number}", np.asarray(line, object).item()
    return records


def _whole(name):
    with open(name, "rb") as f:
        yield name, f.read()


def _fixed(header, record, footer, hop):
    def records(name):
        with open(name, "rb") as f:
            body = f.read()
        body = body[header:len(body) - footer if footer else None]
        step = hop or record
        for number, at in enumerate(range(0, len(body) - record + 1, step)):
            yield f"{name}:{number}", body[at:at + record]
    return records


def _reader_kernel(records_for):
    def build(op, ctx):
        shared = _text(op.get_attr("shared_name"))
        key = ("reader", shared or op.name)
        return lambda: ctx.resource(key, lambda: Reader(records_for(op)))
    return build


TABLE.kernel("TFRecordReaderV2")(_reader_kernel(
    lambda op: _tfrecords(_text(op.get_attr("compression_type")))))
TABLE.kernel("TextLineReaderV2")(_reader_kernel(
    lambda op: _lines(op.get_attr("skip_header_lines"))))
TABLE.kernel("WholeFileReaderV2")(_reader_kernel(lambda op: _whole))
TABLE.kernel("FixedLengthRecordReaderV2")(_reader_kernel(lambda op: _fixed(
    op.get_attr("header_bytes"), op.get_attr("record_bytes"), op.get_attr("footer_bytes"),
    op.get_attr("hop_bytes"))))


@shape_fn("TFRecordReaderV2", "TextLineReaderV2", "WholeFileReaderV2",
          "FixedLengthRecordReaderV2", "ReaderNumRecordsProducedV2")
def _scalar(op):
    return [[]]


@shape_fn("ReaderReadV2")
def _pair(op):
    return [[], []]


@shape_fn("ReaderReadUpToV2")
def _vectors(op):
    return [[None], [None]]


@shape_fn("ReaderResetV2")
def _nothing(op):
    return []


@kernel("ReaderReadV2")
def _read(op, ctx):
    def run(reader, queue):
        key, value = reader.read(queue, op)
        return [np.array(key, object), np.array(value, object)]
    return run


@kernel("ReaderReadUpToV2")
def _read_up_to(op, ctx):
    from flowsaver import errors

    def run(reader, queue, count):
        keys, values = [], []
        for _ in range(int(count)):
            try:
                key, value = reader.read(queue, op)
            except errors.OutOfRangeError:
                if keys:
                    break
                raise
            keys.append(key)
            values.append(value)
        out_keys, out_values = np.empty(len(keys), object), np.empty(len(values), object)
        out_keys[:], out_values[:] = keys, values
        return [out_keys, out_values]
    return run


@kernel("ReaderNumRecordsProducedV2")
def _produced(op, ctx):
    return lambda reader: np.int64(reader.produced)


@kernel("ReaderResetV2")
def _reset(op, ctx):
    return lambda reader: reader.reset()
