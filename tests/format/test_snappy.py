"""Snappy-compressed table blocks: golden streams, malformed streams, a block that reads."""
from __future__ import annotations

import numpy as np
import pytest

from flowsaver.format import snappy
from flowsaver.format.bundle_read import BundleReader
from flowsaver.format.coding import CorruptionError, encode_varint
from bundle_builders import assemble_table, block_of, bundle_items, f32_entry, snappy_literals
from format_helpers import data_path, same, write


def test_snappy_block_reads(tmp_path):
    prefix = str(tmp_path / "ck")
    values = np.arange(64, dtype=np.float32)
    entry, data = f32_entry(values)
    raw = block_of(bundle_items({"x": entry, "y/" + "z" * 200: entry}))
    stored = snappy_literals(raw)
    assert len(raw) > 200 and stored[len(encode_varint(len(raw)))] == 60 << 2
    write(prefix + ".index", assemble_table([(stored, 1)]))
    write(data_path(prefix), data)
    with BundleReader(prefix) as reader:
        assert reader.names() == ["x", "y/" + "z" * 200]
        assert same(reader.get_tensor("x"), values)


SNAPPY = [
    # (stream, decompressed)
    ("00", b""),
    ("05 10 68656c6c6f", b"hello"),                          # one literal
    ("0a 04 6162 1e 0200", b"ab" * 5),                       # literal + copy (2-byte offset)
    ("0a 04 6162 11 02", b"ab" * 5),                         # copy, 1-byte offset form
    ("0a 04 6162 1f 02000000", b"ab" * 5),                   # copy, 4-byte offset form
    ("07 00 61 16 0100", b"a" * 7),                          # copy overlapping its output
    ("03 f0 02 616263", b"abc"),                             # literal, 1-byte length form
    ("03 f4 0200 616263", b"abc"),                           # literal, 2-byte length form
]


@pytest.mark.parametrize("stream,raw", SNAPPY)
def test_snappy_golden(stream, raw):
    assert snappy.decompress(bytes.fromhex(stream), 1 << 20) == raw


BAD_SNAPPY = [
    "",                    # no length
    "ff ff ff ff ff ff",   # length varint never ends
    "05 10 6865",          # literal runs past the input
    "02 10 68656c6c6f",    # literal longer than the stated length
    "06 10 68656c6c6f",    # stated length not reached
    "05 1e 0000",          # copy before any output
    "0a 04 6162 1e 0300",  # copy offset beyond the output
    "0a 04 6162 1e 0000",  # copy offset 0
    "0a 04 6162 1e 02",    # copy offset cut short
    "03 fc 02",            # literal length bytes cut short
    "05 10 68656c6c6f 00", # trailing element past the stated length
]


@pytest.mark.parametrize("stream", BAD_SNAPPY)
def test_snappy_errors(stream):
    with pytest.raises(CorruptionError):
        snappy.decompress(bytes.fromhex(stream), 1 << 20)


def test_snappy_refuses_more_than_its_limit():
    with pytest.raises(CorruptionError):
        snappy.decompress(bytes.fromhex("80 08") + b"\x00" * 4, 1000)
