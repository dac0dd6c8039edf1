"""Golden bytes of sstable blocks and tables (spec section 1.2), from the spec and from files
real TensorFlow wrote (tests/fixtures/tf_samples)."""
from __future__ import annotations

import io
import os

import pytest

from fixture_paths import SAMPLES
from flowsaver.format import coding
from flowsaver.format.block import BlockBuilder, BlockReader
from flowsaver.format.table import TableBuilder, TableReader, short_successor, \
    shortest_separator
from format_helpers import h, read

S2 = str(SAMPLES / "s2_refvar_momentum" / "model-7")
S3 = str(SAMPLES / "s3_dtypes" / "dtypes")
S9 = str(SAMPLES / "s9_multiblock_index" / "big")


# --- section 1.2: blocks ----------------------------------------------------------------------

def test_empty_block_golden():
    assert BlockBuilder().finish() == h("00000000 01000000")
    assert BlockBuilder(restart_interval=1).finish() == h("00000000 01000000")
    assert list(BlockReader(h("00000000 01000000"))) == []


# 17 entries k00..k16 -> b"v" with restart interval 16: the 17th entry starts a new run
# with shared = 0, and its offset (0x53 = 83) is the second restart.
BLOCK_17 = h(
    "00 03 01 6b3030 76"      # k00  offset 0: shared 0, non_shared 3, value 1
    "02 01 01 31 76"          # k01  shares "k0"
    "02 01 01 32 76"
    "02 01 01 33 76"
    "02 01 01 34 76"
    "02 01 01 35 76"
    "02 01 01 36 76"
    "02 01 01 37 76"
    "02 01 01 38 76"
    "02 01 01 39 76"          # k09  ends at 52
    "01 02 01 3130 76"        # k10  shares "k" only
    "02 01 01 31 76"          # k11
    "02 01 01 32 76"
    "02 01 01 33 76"
    "02 01 01 34 76"
    "02 01 01 35 76"          # k15  ends at 83
    "00 03 01 6b3136 76"      # k16  offset 83: restart, shared forced to 0
    "00000000 53000000"       # restarts [0, 83]
    "02000000"                # n = 2
)


def test_block_restart_at_entry_17_golden():
    builder = BlockBuilder(restart_interval=16)
    keys = [b"k%02d" % i for i in range(17)]
    for key in keys:
        builder.add(key, b"v")
    assert builder.finish() == BLOCK_17
    reader = BlockReader(BLOCK_17)
    assert reader.restarts == [0, 83]
    assert list(reader) == [(k, b"v") for k in keys]


def test_block_interval_1_never_shares():
    builder = BlockBuilder(restart_interval=1)
    builder.add(b"ab", b"1")
    builder.add(b"ac", b"2")
    assert builder.finish() == h("00 02 01 6162 31  00 02 01 6163 32"
                                 "00000000 06000000 02000000")


def _decode_handle(value: bytes) -> tuple[int, int]:
    offset, pos = coding.decode_varint(value, 0)
    size, _ = coding.decode_varint(value, pos)
    return offset, size


def _data_block_of(index_path: str, block: int = 0):
    table = TableReader(read(index_path))
    handles = [_decode_handle(v) for _, v in BlockReader(table.read_block(table.index_handle))]
    return table, handles, BlockReader(table.read_block(handles[block]))


def test_s3_dtypes_block_restarts():
    # Spec 1.2: s3_dtypes has 21 entries and restarts (0, 367); the 17th entry restarts.
    _, _, block = _data_block_of(S3 + ".index")
    assert block.restarts == [0, 367]
    assert len(list(block)) == 21


# --- section 1.2: tables ----------------------------------------------------------------------

# Spec 1.2.1: the annotated dump of s2_refvar_momentum/model-7.index, (offset, bytes).
MODEL7_DUMP = [
    (0, "00 00 06 | 08 01 1a 02 08 01"),
    (9, "00 08 0f" + b"layer1/b".hex() + "08 01 12 04 12 02 08 02 28 08 35 66 fd 9d 1f"),
    (35, "08 09 11" + b"/Momentum".hex() + "08 01 12 04 12 02 08 02 20 08 28 08 35 e8 e3 46 59"),
    (64, "07 01 15" + b"w".hex()),
    (89, "08 09 15" + b"/Momentum".hex()),
    (122, "00 04 0d" + b"step".hex() + "08 03 12 00 20 30 28 04 35 1d 15 82 65"),
    (142, "00 00 00 00 | 01 00 00 00"),
    (150, "00 | 1a 66 36 6e"),
    (155, "00 00 00 00 01 00 00 00 | 00 c0 f2 a1 b0"),
    (168, "00 01 03 | 74 | 00 96 01 | 00 00 00 00 01 00 00 00 | 00 58 39 c9 00"),
    (188, "9b 01 08 a8 01 0f" + "00" * 34),
    (228, "57 fb 80 8b 24 75 47 db"),
]


@pytest.mark.parametrize("offset,hexbytes", MODEL7_DUMP)
def test_model7_index_annotated_dump(offset, hexbytes):
    expected = h(hexbytes.replace("|", ""))
    rebuilt = _rebuild_table(read(S2 + ".index"))
    assert rebuilt[offset:offset + len(expected)] == expected


def _rebuild_table(original: bytes, **options) -> bytes:
    out = io.BytesIO()
    builder = TableBuilder(out, **options)
    for key, value in TableReader(original):
        builder.add(key, value)
    size = builder.finish()
    assert size == len(out.getvalue())
    return out.getvalue()


@pytest.mark.parametrize("index", [S2 + ".index", S3 + ".index", S9 + ".index"],
                         ids=lambda p: os.path.relpath(p, SAMPLES))
def test_table_rebuilt_byte_for_byte(index):
    original = read(index)
    assert _rebuild_table(original) == original


def test_model7_footer_and_trailers():
    data = read(S2 + ".index")
    assert len(data) == 236
    table = TableReader(data)
    assert table.index_handle == (168, 15)
    assert coding.decode_varint(data, 188) == (155, 190)   # metaindex offset
    assert data[-8:] == h("57 fb 80 8b 24 75 47 db")
    # Every block trailer is type 0 + mask(crc32c(contents + type byte)).
    for offset, size in [(0, 150), (155, 8), (168, 15)]:
        crc = coding.crc32c(data[offset:offset + size + 1])
        assert data[offset + size + 1:offset + size + 5] == coding.encode_fixed32(
            coding.mask(crc))


def test_empty_table_golden():
    out = io.BytesIO()
    assert TableBuilder(out).finish() == 74
    # No entries: no data block, the empty metaindex block at 0, an empty index block at
    # 13, and the footer: handles (0, 8) and (13, 8), padding, magic.
    assert out.getvalue() == h("00000000 01000000 00 c0f2a1b0"
                               "00000000 01000000 00 c0f2a1b0"
                               "00 08 0d 08" + "00" * 36 + "57fb808b 247547db")
    assert list(TableReader(out.getvalue())) == []


def test_s9_has_two_data_blocks():
    table, handles, first = _data_block_of(S9 + ".index")
    assert len(handles) == 2
    # Spec 1.2: the first block overshoots 256 KiB by one entry: 262289 bytes.
    assert handles[0] == (0, 262289)
    index = list(BlockReader(table.read_block(table.index_handle)))
    last_of_first = list(first)[-1][0]
    assert last_of_first.startswith(b"01188_")
    # "01188_x..." vs "01189_x...": no shorter separator, the whole last key is the index key.
    assert index[0][0] == last_of_first
    assert index[1][0] == b"1"                  # short_successor(b"01399_x...")


SEPARATORS = [
    # (start, limit, separator)
    (b"01188_" + b"x" * 200, b"01189_" + b"x" * 200, b"01188_" + b"x" * 200),
    (b"03561_" + b"x" * 200, b"03564_" + b"x" * 200, b"03562"),
    (b"abc", b"abcdef", b"abc"),              # start is a prefix of limit: unchanged
    (b"abcdef", b"abc", b"abcdef"),           # limit is a prefix: unchanged
    (b"a\xff", b"a\xff\x00", b"a\xff"),
    (b"a\xffz", b"b", b"a\xffz"),             # first difference at 0: a+1 == b, unchanged
    (b"a\xffz", b"c", b"b"),
    (b"\xfe", b"\xff", b"\xfe"),
    (b"", b"a", b""),
    (b"helloa", b"hellz", b"hellp"),
]


@pytest.mark.parametrize("start,limit,separator", SEPARATORS)
def test_shortest_separator_golden(start, limit, separator):
    assert shortest_separator(start, limit) == separator


SUCCESSORS = [
    (b"w1/Adam_1", b"x"),
    (b"step", b"t"),
    (b"u8", b"v"),
    (b"\xff\xff", b"\xff\xff"),               # all 0xff: unchanged
    (b"", b""),
    (b"\xff\x01abc", b"\xff\x02"),
    (b"\xfe", b"\xff"),
]


@pytest.mark.parametrize("key,successor", SUCCESSORS)
def test_short_successor_golden(key, successor):
    assert short_successor(key) == successor
