"""File-reading datasets (``TFRecordDataset``, ``TextLineDataset``,
``FixedLengthRecordDataset``).

As in TensorFlow, a reader over several files is a ``TensorSliceDataset`` of the file
names (``is_files``) flat-mapped through a function that opens one file.
"""
from __future__ import annotations

from flowsaver.graph.tensor_shape import TensorShape
from flowsaver.ops.data.dataset import Dataset
from flowsaver.ops.op_builder import convert_to_tensor, create_op

DEFAULT_READ_BUFFER_BYTES = 256 * 1024


def _string():
    from flowsaver.graph.attr_value import as_dtype
    return as_dtype("string")


def _files(filenames) -> Dataset:
    from flowsaver.ops.array.api import reshape
    names = convert_to_tensor(filenames, dtype="string", name="Const") \
        if not hasattr(filenames, "dtype") else filenames
    flat = reshape(names, [-1], name="flat_filenames")
    variant = create_op("TensorSliceDataset", [[flat]], {
        "output_shapes": [TensorShape([])], "is_files": True}, name="TensorSliceDataset")
    return Dataset(variant, _string(), TensorShape([]))


class _FileDataset(Dataset):
    def __init__(self, filenames, open_one):
        files = _files(filenames)
        inner = files.flat_map(open_one)
        super().__init__(inner._variant_tensor, inner._types, inner._shapes)


def _one_file(op_type, inputs_for):
    def open_one(filename):
        variant = create_op(op_type, [filename] + inputs_for(), name=op_type)
        return Dataset(variant, _string(), TensorShape([]))
    return open_one


def _compression_and_buffer(compression_type, buffer_size) -> list:
    """The inputs after the file name of the record and line readers."""
    return [convert_to_tensor(compression_type or "", dtype="string", name="compression_type"),
            convert_to_tensor(DEFAULT_READ_BUFFER_BYTES if buffer_size is None
                              else buffer_size, dtype="int64", name="buffer_size")]


class TFRecordDataset(_FileDataset):
    """Records of TFRecord files (``compression_type`` "", "ZLIB" or "GZIP")."""

    def __init__(self, filenames, compression_type=None, buffer_size=None,
                 num_parallel_reads=None, name=None):
        super().__init__(filenames, _one_file(
            "TFRecordDataset", lambda: _compression_and_buffer(compression_type, buffer_size)))


class TextLineDataset(_FileDataset):
    """Lines of text files, without their line endings."""

    def __init__(self, filenames, compression_type=None, buffer_size=None,
                 num_parallel_reads=None, name=None):
        super().__init__(filenames, _one_file(
            "TextLineDataset", lambda: _compression_and_buffer(compression_type, buffer_size)))


class FixedLengthRecordDataset(_FileDataset):
    """Records of ``record_bytes`` bytes each, between a header and a footer."""

    def __init__(self, filenames, record_bytes, header_bytes=None, footer_bytes=None,
                 buffer_size=None, compression_type=None, num_parallel_reads=None,
                 name=None):
        def extra():
            return [convert_to_tensor(header_bytes or 0, dtype="int64", name="header_bytes"),
                    convert_to_tensor(record_bytes, dtype="int64", name="record_bytes"),
                    convert_to_tensor(footer_bytes or 0, dtype="int64", name="footer_bytes"),
                    convert_to_tensor(DEFAULT_READ_BUFFER_BYTES if buffer_size is None
                                      else buffer_size, dtype="int64", name="buffer_size"),
                    convert_to_tensor(compression_type or "", dtype="string",
                                      name="compression_type")]
        super().__init__(filenames, _one_file("FixedLengthRecordDatasetV2", extra))
