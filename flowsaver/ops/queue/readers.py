"""``tf.TFRecordReader``, ``tf.TextLineReader``, ``tf.WholeFileReader``,
``tf.FixedLengthRecordReader``: graph handles on session readers (reader_kernels.py)."""
from __future__ import annotations

from flowsaver.format.record_files import TFRecordOptions
from flowsaver.ops.op_builder import create_op

__all__ = ["FixedLengthRecordReader", "ReaderBase", "TFRecordReader", "TextLineReader",
           "WholeFileReader"]


class ReaderBase:
    """Reads (key, value) records from the files a queue hands out."""

    def __init__(self, reader_ref):
        self._reader_ref = reader_ref

    reader_ref = property(lambda self: self._reader_ref)

    @staticmethod
    def _queue_ref(queue):
        return queue.queue_ref if hasattr(queue, "queue_ref") else queue

    def read(self, queue, name=None):
        """The next (key, value): from the current file, else from the next file queued."""
        return tuple(create_op("ReaderReadV2", [self._reader_ref, self._queue_ref(queue)],
                               name=name or "ReaderReadV2"))

    def read_up_to(self, queue, num_records, name=None):
        return tuple(create_op("ReaderReadUpToV2", [self._reader_ref, self._queue_ref(queue),
                                                    num_records],
                               name=name or "ReaderReadUpToV2"))

    def num_records_produced(self, name=None):
        return create_op("ReaderNumRecordsProducedV2", [self._reader_ref], name=name)

    def reset(self, name=None):
        return create_op("ReaderResetV2", [self._reader_ref], name=name)


class TFRecordReader(ReaderBase):
    def __init__(self, name=None, options=None):
        compression = TFRecordOptions.get_compression_type_string(options)
        super().__init__(create_op("TFRecordReaderV2", [], {"compression_type": compression},
                                   name=name or "TFRecordReaderV2"))


class TextLineReader(ReaderBase):
    def __init__(self, skip_header_lines=None, name=None):
        super().__init__(create_op("TextLineReaderV2", [], {
            "skip_header_lines": skip_header_lines or 0}, name=name or "TextLineReaderV2"))


class WholeFileReader(ReaderBase):
    def __init__(self, name=None):
        super().__init__(create_op("WholeFileReaderV2", [], name=name or "WholeFileReaderV2"))


class FixedLengthRecordReader(ReaderBase):
    def __init__(self, record_bytes, header_bytes=None, footer_bytes=None, hop_bytes=None,
                 name=None, encoding=None):
        super().__init__(create_op("FixedLengthRecordReaderV2", [], {
            "record_bytes": record_bytes, "header_bytes": header_bytes or 0,
            "footer_bytes": footer_bytes or 0, "hop_bytes": hop_bytes or 0,
            "encoding": encoding or ""}, name=name or "FixedLengthRecordReaderV2"))


