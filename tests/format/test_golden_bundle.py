"""Golden bytes of bundle contents: header and entry protos (spec 1.3), data-file encodings
of every kind of tensor (1.4) and partitioned tensors' slice keys (1.6)."""
from __future__ import annotations

import ml_dtypes
import numpy as np
import pytest

from fixture_paths import SAMPLES
from flowsaver.format import coding
from flowsaver.format.bundle_read import BundleReader
from flowsaver.format.bundle_write import BundleWriter
from flowsaver.format.coding import CorruptionError
from flowsaver.format.protos import (BundleEntryProto, BundleHeaderProto, TensorShapeProto,
                                     TensorSliceProto)
from flowsaver.format.slices import (TensorSlice, decode_tensor_name_slice,
                                     encode_tensor_name_slice)
from format_helpers import data_path, h, read

S2 = str(SAMPLES / "s2_refvar_momentum" / "model-7")


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
    prefix = str(SAMPLES / "s11_variant" / "variant")
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
    reader = BundleReader(str(SAMPLES / sample))
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
