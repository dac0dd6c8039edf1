"""TFRecord files, plain and compressed: round trips and every way a file can be damaged
(each must raise a typed error naming the file, never return wrong records)."""
from __future__ import annotations

import gzip
import zlib

import pytest
from hypothesis import given, settings, strategies as st

from flowsaver import errors
from flowsaver.format.record_files import (RecordFileWriter, TFRecordCompressionType,
                                           TFRecordOptions, check_compression,
                                           iter_record_file)
from flowsaver.format.records import encode_record

COMPRESSIONS = ["", "GZIP", "ZLIB"]


def _write(path, records, compression=""):
    with RecordFileWriter(path, compression) as w:
        for r in records:
            w.write(r)


@settings(max_examples=25, deadline=None)
@given(records=st.lists(st.binary(max_size=300), max_size=8),
       compression=st.sampled_from(COMPRESSIONS))
def test_round_trip(tmp_path_factory, records, compression):
    path = tmp_path_factory.mktemp("r") / "f.tfrecord"
    _write(path, records, compression)
    assert list(iter_record_file(path, compression)) == records


def test_compressed_files_are_the_standard_streams(tmp_path):
    records = [b"abc", b"", b"x" * 1000]
    plain = b"".join(encode_record(r) for r in records)
    _write(tmp_path / "g", records, "GZIP")
    _write(tmp_path / "z", records, "ZLIB")
    assert gzip.decompress((tmp_path / "g").read_bytes()) == plain
    assert zlib.decompress((tmp_path / "z").read_bytes()) == plain


def test_flush_makes_a_readable_prefix(tmp_path):
    w = RecordFileWriter(tmp_path / "f", "GZIP")
    w.write(b"one")
    w.flush()
    data = (tmp_path / "f").read_bytes()
    assert zlib.decompressobj(31).decompress(data) == encode_record(b"one")
    w.close()


@pytest.mark.parametrize("damage", ["flip_length", "flip_data", "truncate_header",
                                    "truncate_data"])
def test_damaged_plain_file(tmp_path, damage):
    path = tmp_path / "f"
    _write(path, [b"first", b"second record"])
    data = bytearray(path.read_bytes())
    first = len(encode_record(b"first"))
    if damage == "flip_length":
        data[first] ^= 1
    elif damage == "flip_data":
        data[first + 13] ^= 0x20
    elif damage == "truncate_header":
        data = data[:first + 5]
    else:
        data = data[:-3]
    path.write_bytes(bytes(data))
    with pytest.raises(errors.DataLossError, match=str(path)):
        list(iter_record_file(path))


@pytest.mark.parametrize("compression", ["GZIP", "ZLIB"])
def test_damaged_compressed_file(tmp_path, compression):
    path = tmp_path / "f"
    _write(path, [b"abc" * 100], compression)
    data = bytearray(path.read_bytes())
    path.write_bytes(bytes(data[:len(data) // 2]))
    with pytest.raises(errors.DataLossError, match=str(path)):
        list(iter_record_file(path, compression))
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(errors.DataLossError, match=str(path)):
        list(iter_record_file(path, compression))


def test_a_wrong_compression_is_data_loss(tmp_path):
    _write(tmp_path / "f", [b"abc"], "")
    with pytest.raises(errors.DataLossError):
        list(iter_record_file(tmp_path / "f", "GZIP"))


def test_missing_file_and_bad_names(tmp_path):
    with pytest.raises(errors.NotFoundError, match="nope"):
        list(iter_record_file(tmp_path / "nope"))
    with pytest.raises(errors.InvalidArgumentError, match="BZIP2"):
        check_compression("BZIP2")
    assert TFRecordOptions(TFRecordCompressionType.GZIP).compression_type == "GZIP"
    assert TFRecordOptions.get_compression_type_string(None) == ""
    assert TFRecordOptions.get_compression_type_string("zlib") == "ZLIB"


def test_writing_after_close_fails(tmp_path):
    w = RecordFileWriter(tmp_path / "f")
    w.close()
    with pytest.raises(errors.FailedPreconditionError):
        w.write(b"x")
