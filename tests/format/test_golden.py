"""Golden bytes for every encoding the format layer writes.

Each table row is an exact byte string taken from the spec (tf-formats.md sections 0 and 1)
or from a file real TensorFlow wrote (tf_samples/). The last group re-writes every sample
bundle with flowsaver and demands byte identity of the .index and every data file.
"""
from __future__ import annotations

import glob
import io
import os

import ml_dtypes
import numpy as np
import pytest

from flowsaver.format import coding
from flowsaver.format.block import BlockBuilder, BlockReader
from flowsaver.format.bundle_read import BundleReader
from flowsaver.format.bundle_write import BundleWriter
from flowsaver.format.coding import CorruptionError
from flowsaver.format.merge import ShardedBundleWriter
from flowsaver.format.protos import (BundleEntryProto, BundleHeaderProto, TensorShapeProto,
                                     TensorSliceProto)
from flowsaver.format.slices import (TensorSlice, decode_tensor_name_slice,
                                     encode_tensor_name_slice)
from flowsaver.format.table import TableBuilder, TableReader, short_successor, \
    shortest_separator

SAMPLES = "/work/shared/spec/tf_samples"
S2 = os.path.join(SAMPLES, "s2_refvar_momentum", "model-7")
S3 = os.path.join(SAMPLES, "s3_dtypes", "dtypes")
S9 = os.path.join(SAMPLES, "s9_multiblock_index", "big")


def h(text: str) -> bytes:
    """Bytes from spaced hex, as the spec prints them."""
    return bytes.fromhex(text)


def read(path: str) -> bytes:
    with open(path, "rb") as f:
        return f.read()


def data_path(prefix: str, shard: int = 0, num_shards: int = 1) -> str:
    return "%s.data-%05d-of-%05d" % (prefix, shard, num_shards)


# --- section 0: varints, fixed ints, crc32c, masking --------------------------------------

VARINTS = [
    (0, "00"),
    (1, "01"),
    (127, "7f"),
    (128, "80 01"),
    (300, "ac 02"),
    (16383, "ff 7f"),
    (16384, "80 80 01"),
    (2**32 - 1, "ff ff ff ff 0f"),
    (2**63, "80 80 80 80 80 80 80 80 80 01"),
    (2**64 - 1, "ff ff ff ff ff ff ff ff ff 01"),
]


@pytest.mark.parametrize("value,hexbytes", VARINTS)
def test_varint_golden(value, hexbytes):
    encoded = h(hexbytes)
    assert coding.encode_varint(value) == encoded
    assert coding.decode_varint(encoded, 0) == (value, len(encoded))
    # Decoding stops at the last byte of the varint, whatever follows.
    assert coding.decode_varint(b"\x99" + encoded + b"\xff\xff", 1) == (value,
                                                                         1 + len(encoded))


@pytest.mark.parametrize("value,hexbytes", [(v, x) for v, x in VARINTS if v < 2**32])
def test_varint32_golden(value, hexbytes):
    assert coding.decode_varint32(h(hexbytes), 0) == (value, len(h(hexbytes)))


BAD_VARINTS = [
    # (bytes, decoder) -- each must raise CorruptionError, never IndexError or loop.
    ("", coding.decode_varint),                                   # nothing at all
    ("80", coding.decode_varint),                                 # truncated
    ("ff ff ff", coding.decode_varint),                           # truncated
    ("80 80 80 80 80 80 80 80 80 80 00", coding.decode_varint),   # 11 bytes: overlong
    ("ff ff ff ff ff ff ff ff ff ff ff ff ff", coding.decode_varint),  # never ends
    ("ff ff ff ff ff ff ff ff ff 02", coding.decode_varint),      # 2**64: overflows
    ("ff ff ff ff ff ff ff ff ff 7f", coding.decode_varint),      # overflows
    ("80 80 80 80 80 00", coding.decode_varint32),                # 6 bytes: overlong
    ("ff ff ff ff 1f", coding.decode_varint32),                   # 2**33-1: overflows
    ("ff ff ff ff 10", coding.decode_varint32),                   # 2**32: overflows
    ("ff ff", coding.decode_varint32),                            # truncated
]


@pytest.mark.parametrize("hexbytes,decoder", BAD_VARINTS)
def test_varint_decoding_errors(hexbytes, decoder):
    with pytest.raises(CorruptionError):
        decoder(h(hexbytes), 0)


def test_varint_limit_is_respected():
    # The bytes exist, but past the caller's limit: a block's entries end before its restarts.
    with pytest.raises(CorruptionError):
        coding.decode_varint(h("80 80 01"), 0, limit=2)


@pytest.mark.parametrize("value", [-1, 2**64])
def test_varint_encode_out_of_range(value):
    with pytest.raises(ValueError):
        coding.encode_varint(value)


@pytest.mark.parametrize("value,fixed32,fixed64", [
    (0, "00 00 00 00", "00 00 00 00 00 00 00 00"),
    (1, "01 00 00 00", "01 00 00 00 00 00 00 00"),
    (0x8B80FB57, "57 fb 80 8b", "57 fb 80 8b 00 00 00 00"),
    (0xFFFFFFFF, "ff ff ff ff", "ff ff ff ff 00 00 00 00"),
])
def test_fixed_golden(value, fixed32, fixed64):
    assert coding.encode_fixed32(value) == h(fixed32)
    assert coding.decode_fixed32(h(fixed32), 0) == value
    assert coding.encode_fixed64(value) == h(fixed64)
    assert coding.decode_fixed64(h(fixed64), 0) == value


@pytest.mark.parametrize("decoder,size", [(coding.decode_fixed32, 4),
                                          (coding.decode_fixed64, 8)])
def test_fixed_truncated(decoder, size):
    with pytest.raises(CorruptionError):
        decoder(bytes(size - 1), 0)
    with pytest.raises(CorruptionError):
        decoder(bytes(size), 1)


CRCS = [
    (b"", 0x00000000),
    (b"123456789", 0xE3069283),               # the CRC-32C check value
    (bytes(32), 0x8A9136AA),                  # RFC 3720 B.4: 32 zero bytes
    (b"\xff" * 32, 0x62A8AB43),               # RFC 3720 B.4: 32 0xff bytes
    (bytes(range(32)), 0x46DD794E),           # RFC 3720 B.4: ascending
]


@pytest.mark.parametrize("data,crc", CRCS)
def test_crc32c_golden(data, crc):
    assert coding.crc32c(data) == crc


def test_crc32c_extend_is_crc_of_concatenation():
    assert coding.crc32c(b"456789", coding.crc32c(b"123")) == 0xE3069283


@pytest.mark.parametrize("data,masked", [
    (b"", 0xA282EAD8),                 # mask(0): the stored crc of an empty tensor
    (b"\x05\x00\x00\x00", 0x439CC6D9),  # length crc of b"hello", stored d9 c6 9c 43
])
def test_mask_golden(data, masked):
    assert coding.mask(coding.crc32c(data)) == masked
    assert coding.unmask(masked) == coding.crc32c(data)


@pytest.mark.parametrize("crc", [0, 1, 0x7FFF, 0x8000, 0xE3069283, 0xFFFFFFFF, 0xA282EAD8,
                                 0x12345678])
def test_mask_unmask_inverse(crc):
    assert coding.unmask(coding.mask(crc)) == crc
    assert coding.mask(coding.unmask(crc)) == crc
    assert 0 <= coding.mask(crc) <= 0xFFFFFFFF


def test_mask_is_rotate_right_15_plus_delta():
    assert coding.mask(1) == ((1 << 17) + 0xA282EAD8) & 0xFFFFFFFF
    assert coding.mask(1 << 15) == (1 + 0xA282EAD8) & 0xFFFFFFFF


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


@pytest.mark.parametrize("index", [S2 + ".index", S3 + ".index", S9 + ".index"])
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


# --- section 1.3: protos ------------------------------------------------------------------

def _shape(*dims) -> TensorShapeProto:
    proto = TensorShapeProto()
    for d in dims:
        proto.dim.add(size=d)
    return proto


PROTOS = [
    (BundleHeaderProto(num_shards=1, version={"producer": 1}), "08 01 1a 02 08 01"),
    (BundleHeaderProto(num_shards=2, version={"producer": 1}), "08 02 1a 02 08 01"),
    (BundleEntryProto(dtype=1, shape=_shape(2), size=8, crc32c=0x1F9DFD66),
     "08 01 12 04 12 02 08 02 28 08 35 66 fd 9d 1f"),
    (BundleEntryProto(dtype=3, shape=_shape(), offset=48, size=4, crc32c=0x6582151D),
     "08 03 12 00 20 30 28 04 35 1d 15 82 65"),
    (_shape(0, 3), "12 00 12 02 08 03"),
    (TensorSliceProto(extent=[{"length": 2}, {"length": 2}]), "0a 02 10 02 0a 02 10 02"),
    (TensorSliceProto(extent=[{}, {"start": 2, "length": 2}]), "0a 00 0a 04 08 02 10 02"),
]


@pytest.mark.parametrize("proto,hexbytes", PROTOS)
def test_proto_golden(proto, hexbytes):
    assert proto.SerializeToString() == h(hexbytes)
    assert type(proto).FromString(h(hexbytes)) == proto


def test_layer1_b_entry_written_by_bundle_writer(tmp_path):
    value = BundleReader(S2).get_tensor("layer1/b")
    prefix = str(tmp_path / "ck")
    with BundleWriter(prefix) as writer:
        writer.add("layer1/b", value)
    entry = BundleReader(prefix).raw_entries()[b"layer1/b"]
    assert entry.SerializeToString() == h("08 01 12 04 12 02 08 02 28 08 35 66 fd 9d 1f")


@pytest.mark.parametrize("shape,hexbytes", [
    # scalar: the shape is present but empty (12 00); size 4; crc of four zero bytes
    ((), "08 01 12 00 28 04 35"
     + coding.encode_fixed32(coding.mask(coding.crc32c(bytes(4)))).hex()),
    # empty tensor: a zero dim is an empty Dim; offset and size omitted; crc = mask(0)
    ((0, 3), "08 01 12 06 12 00 12 02 08 03 35 d8 ea 82 a2"),
])
def test_shape_encoding_in_entries(tmp_path, shape, hexbytes):
    prefix = str(tmp_path / "ck")
    with BundleWriter(prefix) as writer:
        writer.add("t", np.zeros(shape, np.float32))
    entry = BundleReader(prefix).raw_entries()[b"t"]
    assert entry.SerializeToString() == h(hexbytes)


# --- section 1.4: data file encodings --------------------------------------------------------

STRINGS = [
    # (value, data file bytes, entry crc32c)
    (np.array(b"hello", dtype=object),
     "05 d9 c6 9c 43" + b"hello".hex(), 0x29C0E0EC),
    (np.array([b"", b"a", b"xyz" * 50], dtype=object),
     "00 01 96 01 93 26 97 e6" + (b"a" + b"xyz" * 50).hex(), 0x46882F50),
    # No elements: TensorFlow's WriteStringTensor still writes the length checksum,
    # mask(crc32c(b"")) = d8 ea 82 a2, and the entry crc continues over those 4 bytes.
    # (Unlike every other dtype, an empty string tensor is not 0 bytes.)
    (np.zeros((0,), dtype=object), "d8 ea 82 a2", 0x640CC1F6),
    (np.zeros((2, 0), dtype=object), "d8 ea 82 a2", 0x640CC1F6),
]


@pytest.mark.parametrize("value,data_hex,crc", STRINGS)
def test_string_tensor_golden(tmp_path, value, data_hex, crc):
    prefix = str(tmp_path / "ck")
    with BundleWriter(prefix) as writer:
        writer.add("s", value)
    assert read(data_path(prefix)) == h(data_hex)
    entry = BundleReader(prefix).raw_entries()[b"s"]
    assert (entry.offset, entry.size, entry.crc32c) == (0, len(h(data_hex)), crc)
    back = BundleReader(prefix).get_tensor("s")
    assert back.shape == value.shape and back.tolist() == value.tolist()


MEMCPY = [
    # (array, stored bytes), spec 1.4's table
    (np.array([1.0], np.float16), "00 3c"),
    (np.array([1.0], ml_dtypes.bfloat16), "80 3f"),
    (np.array([1.0, -2.5, 65504.0], np.float16), "00 3c 00 c1 ff 7b"),
    (np.array([1.0, -2.5, 3.140625], ml_dtypes.bfloat16), "80 3f 20 c0 49 40"),
    (np.array([1.0], np.float32), "00 00 80 3f"),
    (np.array([1.0], np.float64), "00 00 00 00 00 00 f0 3f"),
    (np.array([-3, 70000], np.int32), "fd ff ff ff 70 11 01 00"),
    (np.array([True, False, True]), "01 00 01"),
    (np.array([1 + 2j], np.complex64), "00 00 80 3f 00 00 00 40"),
    (np.array([-1], np.int8), "ff"),
    (np.array([65535], np.uint16), "ff ff"),
    (np.array([2**63 + 5], np.uint64), "05 00 00 00 00 00 00 80"),
    (np.array([[1, 2], [3, 4]], np.uint8), "01 02 03 04"),          # C order
    (np.array([[1, 2], [3, 4]], np.uint8).T, "01 03 02 04"),        # made C-contiguous
    (np.array([1.0], np.dtype(">f4")), "00 00 80 3f"),              # stored little-endian
    # int4: one byte an element, as ml_dtypes holds it in memory (the low nibble; the spec
    # has no TF sample for int4, so this pins flowsaver's choice rather than TF's bytes)
    (np.array([-8, 7], ml_dtypes.int4), "08 07"),
]


@pytest.mark.parametrize("value,data_hex", MEMCPY, ids=lambda v: getattr(v, "dtype", v))
def test_memcpy_tensor_golden(tmp_path, value, data_hex):
    prefix = str(tmp_path / "ck")
    with BundleWriter(prefix) as writer:
        writer.add("t", value)
    stored = read(data_path(prefix))
    assert stored == h(data_hex)
    entry = BundleReader(prefix).raw_entries()[b"t"]
    assert entry.crc32c == coding.mask(coding.crc32c(stored))


def test_empty_tensor_crc_and_offset(tmp_path):
    prefix = str(tmp_path / "ck")
    with BundleWriter(prefix) as writer:
        writer.add("a", np.arange(3, dtype=np.int8))
        writer.add("b", np.zeros((0, 3), np.float32))
        writer.add("c", np.arange(2, dtype=np.int8))
    entries = BundleReader(prefix).raw_entries()
    # An empty numeric tensor writes nothing: offset = the running size, size omitted,
    # crc = mask(0); the next tensor starts at the same offset.
    assert (entries[b"b"].offset, entries[b"b"].size) == (3, 0)
    assert entries[b"b"].crc32c == 0xA282EAD8
    assert entries[b"c"].offset == 3
    assert read(data_path(prefix)) == h("00 01 02 00 01")


def test_variant_sample_checksums():
    # Spec 1.4: the s11 TensorList: L = 62, element checksum 0xe6e3f6e7, entry crc 0xe44362f7.
    prefix = os.path.join(SAMPLES, "s11_variant", "variant")
    data = read(data_path(prefix))
    assert data[0] == 62
    assert coding.decode_fixed32(data, 1 + 62) == 0xE6E3F6E7
    assert BundleReader(prefix).raw_entries()[b"tl"].crc32c == 0xE44362F7


# --- section 1.6: slice keys -----------------------------------------------------------------

SIGNED = [
    # (value, WriteSignedNumIncreasing bytes)
    (0, "80"), (1, "81"), (2, "82"), (4, "84"), (63, "bf"),
    (-1, "7f"), (-64, "40"),
    (64, "c0 40"), (100, "c0 64"), (8191, "df ff"),
    (8192, "e0 20 00"), (9000, "e0 23 28"),
    (-65, "3f bf"),
    (2**40, "fd 00 00 00 00 00"),
    (2**63 - 1, "ff c0 7f ff ff ff ff ff ff ff"),
]


@pytest.mark.parametrize("value,hexbytes", SIGNED)
def test_signed_num_increasing_golden(value, hexbytes):
    # Rank 1, the value as the start and a full extent (7f) as the length; the key is
    #   00 | name "" -> 00 01 | rank 01 01 | start | length
    key = encode_tensor_name_slice(b"", TensorSlice(((value, -1),)))
    assert key == h("00 00 01 01 01") + h(hexbytes) + h("7f")
    if value >= 0:
        assert decode_tensor_name_slice(key) == (b"", TensorSlice(((value, -1),)))


SLICE_KEYS = [
    # (name, slice, key) -- the first four are keys real TensorFlow wrote (s4, s15, s7)
    (b"emb", ((0, 2), (0, 2)), "00 656d62 0001 0102 80 82 80 82"),
    (b"emb", ((4, 2), (0, 2)), "00 656d62 0001 0102 84 82 80 82"),
    (b"big", ((100, 100), (0, -1)), "00 626967 0001 0102 c064 c064 80 7f"),
    (b"big2", ((9000, 100), (0, -1)), "00 62696732 0001 0102 e02328 c064 80 7f"),
    (b"v", ((0, -1),), "00 76 0001 0101 80 7f"),
    # names with bytes that need escaping: 00 -> 00 ff, ff -> ff 00
    (b"a\x00b\xff", ((0, 1),), "00 61 00ff 62 ff00 0001 0101 80 81"),
    (b"\x00", ((0, 1),), "00 00ff 0001 0101 80 81"),
    (b"\xff", ((0, 1),), "00 ff00 0001 0101 80 81"),
]


@pytest.mark.parametrize("name,extents,hexbytes", SLICE_KEYS)
def test_slice_key_golden(name, extents, hexbytes):
    key = h(hexbytes)
    assert encode_tensor_name_slice(name, TensorSlice(extents)) == key
    assert decode_tensor_name_slice(key) == (name, TensorSlice(extents))


@pytest.mark.parametrize("sample,keys", [
    ("s4_partitioned_sharded/partitioned", [b"\x00emb\x00\x01\x01\x02\x80\x82\x80\x82",
                                            b"\x00emb\x00\x01\x01\x02\x82\x82\x80\x82",
                                            b"\x00emb\x00\x01\x01\x02\x84\x82\x80\x82"]),
    ("s15_large_slice_offsets/sl", [h("00 626967 0001 0102 c064 c064 807f"),
                                    h("00 62696732 0001 0102 e02328 c064 807f")]),
])
def test_sample_slice_keys(sample, keys):
    reader = BundleReader(os.path.join(SAMPLES, sample))
    entries = reader.raw_entries()
    assert [k for k in entries if k.startswith(b"\x00")] == keys
    for key in keys:
        name, tslice = decode_tensor_name_slice(key)
        assert key in {encode_tensor_name_slice(name, TensorSlice.from_proto(s))
                       for s in entries[name].slices}
    assert all(not n.startswith("\x00") for n in reader.names())


BAD_SLICE_KEYS = [
    "",                               # empty
    "01 00",                          # does not start with num(0)
    "00 656d62",                      # name never terminated
    "00 656d62 00 02",                # bad escape after 00
    "00 656d62 ff 01 0001 0101 80 7f",  # bad escape after ff
    "00 656d62 0001 00",              # rank 0
    "00 656d62 0001 0101 80",         # length missing
    "00 656d62 0001 0101 80 7f 00",   # trailing byte
    "00 656d62 0001 0101 7f 7f",      # negative start
    "00 656d62 0001 0101 c0",         # two-byte number cut short
]


@pytest.mark.parametrize("hexbytes", BAD_SLICE_KEYS)
def test_slice_key_decoding_errors(hexbytes):
    with pytest.raises(CorruptionError):
        decode_tensor_name_slice(h(hexbytes))


# --- byte identity with every TensorFlow sample bundle ---------------------------------------

SAMPLE_PREFIXES = sorted(p[:-len(".index")] for p in
                         glob.glob(os.path.join(SAMPLES, "**", "*.index"), recursive=True))


def test_samples_cover_every_kind():
    names = {os.path.relpath(p, SAMPLES) for p in SAMPLE_PREFIXES}
    assert {"s3_dtypes/dtypes", "s9_multiblock_index/big", "s11_variant/variant",
            "s4_partitioned_sharded/partitioned", "s4_partitioned_sharded/sharded-1",
            "s15_large_slice_offsets/sl"} <= names


def rewrite_bundle(src: str, dst: str) -> int:
    """Re-add every tensor of ``src`` to a new bundle at ``dst`` in data-file order.

    Slices of partitioned tensors go through add_slice; a multi-shard bundle is rewritten
    through ShardedBundleWriter, shard by shard. Returns the number of shards.
    """
    reader = BundleReader(src)
    entries = reader.raw_entries()
    num_shards = reader.header.num_shards
    sharded = ShardedBundleWriter(dst, num_shards) if num_shards > 1 else None
    single = BundleWriter(dst) if sharded is None else None
    partitioned = {key for key, entry in entries.items() if entry.slices}
    # Data-file order; an empty tensor (size 0) comes before a tensor at the same offset.
    order = sorted((e.shard_id, e.offset, e.size, k) for k, e in entries.items()
                   if k not in partitioned)
    for shard, _, _, key in order:
        writer = single or sharded.shard(shard)
        entry = entries[key]
        if key.startswith(b"\x00"):
            name, tslice = decode_tensor_name_slice(key)
            full_shape = reader.shape(name)
            writer.add_slice(name, full_shape, tslice, reader.get_slice(name, tslice),
                             dtype=entry.dtype)
        else:
            writer.add(key, reader.get_tensor(key), dtype=entry.dtype)
    (single or sharded).finish()
    reader.close()
    return num_shards


@pytest.mark.parametrize("src", SAMPLE_PREFIXES, ids=lambda p: os.path.relpath(p, SAMPLES))
def test_rewrite_sample_is_byte_identical(tmp_path, src):
    dst = str(tmp_path / "ck")
    num_shards = rewrite_bundle(src, dst)
    assert read(dst + ".index") == read(src + ".index")
    for shard in range(num_shards):
        assert read(data_path(dst, shard, num_shards)) == read(data_path(src, shard,
                                                                         num_shards))
    assert sorted(os.listdir(tmp_path)) == sorted(
        ["ck.index"] + [os.path.basename(data_path(dst, s, num_shards))
                        for s in range(num_shards)])
