"""Property tests: whatever the format layer writes, it reads back bit for bit.

Random names (unicode with "/" and spaces; byte names with 00/ff for slice keys), every
storable dtype with raw random bit patterns (so NaN payloads and signed zeros count),
scalar and zero-size shapes, random partitions written with add_slice in random order,
and random shard counts through ShardedBundleWriter.
"""
from __future__ import annotations

import io
import itertools
import os
import tempfile

import numpy as np
from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st

from flowsaver.format import coding, dtypes
from flowsaver.format.block import BlockBuilder, BlockReader
from flowsaver.format.bundle_read import BundleReader, key_to_name, name_to_key
from flowsaver.format.bundle_write import BundleWriter
from flowsaver.format.merge import ShardedBundleWriter
from flowsaver.format.protos import VariantTensorDataProto
from flowsaver.format.slices import (TensorSlice, decode_tensor_name_slice,
                                     encode_tensor_name_slice, format_shape_and_slice,
                                     parse_shape_and_slice)
from flowsaver.format.table import TableBuilder, TableReader, short_successor, \
    shortest_separator

STORABLE = sorted((d for d in dtypes.BY_ENUM.values()
                   if d.kind in ("memcpy", "string", "variant")), key=lambda d: d.enum)
FAST = settings(max_examples=150, deadline=None, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
SLOW = settings(max_examples=100, deadline=None, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


def test_every_storable_dtype_is_drawn():
    names = {d.name for d in STORABLE}
    assert {"float16", "float32", "float64", "bfloat16", "int8", "int16", "int32", "int64",
            "uint8", "uint16", "uint32", "uint64", "bool", "complex64", "complex128",
            "string", "variant", "qint8", "quint8", "qint16", "quint16", "qint32",
            "float8_e5m2", "float8_e4m3fn", "int4", "uint4"} <= names
    assert "resource" not in names


# --- strategies ---------------------------------------------------------------------------

unicode_names = st.text(
    alphabet=st.one_of(st.sampled_from("/ _.:-"),
                       st.characters(blacklist_categories=("Cs",))),
    min_size=1, max_size=12,
).filter(lambda s: not s.startswith("\x00"))  # a leading 00 is the slice-key namespace

# Byte names for partitioned tensors: 00 and ff anywhere exercise the key escaping.
byte_names = st.one_of(
    st.binary(min_size=1, max_size=8),
    st.builds(lambda a, b: a + b"\x00" + b + b"\xff", st.binary(max_size=3),
              st.binary(max_size=3)),
)

shapes = st.lists(st.integers(0, 4), max_size=4).map(tuple).filter(
    lambda s: int(np.prod(s, dtype=np.int64)) <= 48)


@st.composite
def values(draw, info: dtypes.DType, shape):
    """An array of dtype ``info`` and ``shape`` holding arbitrary bit patterns."""
    count = int(np.prod(shape, dtype=np.int64))
    if info.kind == "string":
        items = draw(st.lists(st.binary(max_size=40), min_size=count, max_size=count))
        return _object_array(items, shape)
    if info.kind == "variant":
        items = draw(st.lists(st.builds(VariantTensorDataProto,
                                        type_name=st.text(max_size=8),
                                        metadata=st.binary(max_size=16)),
                              min_size=count, max_size=count))
        return _object_array(items, shape)
    if info.name == "bool":
        return np.array(draw(st.lists(st.booleans(), min_size=count, max_size=count)),
                        dtype=np.bool_).reshape(shape)
    if info.name in ("int4", "uint4"):
        lo, hi = (-8, 7) if info.name == "int4" else (0, 15)
        ints = draw(st.lists(st.integers(lo, hi), min_size=count, max_size=count))
        return np.array(ints, dtype=np.int8).astype(info.numpy).reshape(shape)
    size = count * info.numpy.itemsize
    raw = draw(st.binary(min_size=size, max_size=size))
    return np.frombuffer(raw, dtype=np.uint8).view(info.numpy).reshape(shape).copy()


def _object_array(items, shape) -> np.ndarray:
    out = np.empty(len(items), dtype=object)
    for i, item in enumerate(items):
        out[i] = item
    return out.reshape(shape)


@st.composite
def tensors(draw, shape=shapes):
    info = draw(st.sampled_from(STORABLE))
    shp = draw(shape)
    return info, draw(values(info, shp))


def bits(info: dtypes.DType, array: np.ndarray):
    """What must survive a round trip: shape, dtype and every bit of every element."""
    if info.kind == "string":
        return array.shape, [bytes(x) for x in array.reshape(-1)]
    if info.kind == "variant":
        return array.shape, [x.SerializeToString() for x in array.reshape(-1)]
    return array.shape, array.dtype, np.ascontiguousarray(array).tobytes()


def dtype_arg(draw_bool: bool, info: dtypes.DType):
    """The dtype to pass to add(): required for quantized and variant, else optional."""
    if info.kind == "variant" or info.name.startswith("q") or draw_bool:
        return info.name
    return None


def data_file(prefix: str, shard: int = 0, num_shards: int = 1) -> str:
    return "%s.data-%05d-of-%05d" % (prefix, shard, num_shards)


# --- whole tensors ------------------------------------------------------------------------

@SLOW
@given(items=st.lists(st.tuples(unicode_names, tensors(), st.booleans()), max_size=8,
                      unique_by=lambda t: t[0].encode("utf-8")))
def test_whole_tensors_round_trip(items):
    with tempfile.TemporaryDirectory() as tmp:
        prefix = os.path.join(tmp, "dir", "ck")
        with BundleWriter(prefix) as writer:
            for name, (info, array), pass_dtype in items:
                writer.add(name, array, dtype=dtype_arg(pass_dtype, info))
        with BundleReader(prefix) as reader:
            assert reader.names() == sorted((n for n, _, _ in items), key=name_to_key)
            for name, (info, array), _ in items:
                assert reader.has_tensor(name)
                assert reader.dtype(name).name == info.name
                assert reader.dtype(name).enum == info.enum
                assert reader.shape(name) == array.shape
                assert bits(info, reader.get_tensor(name)) == bits(info, array)
            # The data file is the tensors' bytes in add order, no gaps, no padding.
            entries = reader.raw_entries()
            offset = 0
            for name, _, _ in items:
                entry = entries[name_to_key(name)]
                assert entry.offset == offset
                offset += entry.size
            assert os.path.getsize(data_file(prefix)) == offset
        assert sorted(os.listdir(os.path.dirname(prefix))) == ["ck.data-00000-of-00001",
                                                              "ck.index"]


@FAST
@given(tensor=tensors(), name=unicode_names)
@example(tensor=(dtypes.BY_NAME["string"], np.zeros((0,), dtype=object)), name="empty")
@example(tensor=(dtypes.BY_NAME["string"], np.zeros((3, 0), dtype=object)), name="e")
@example(tensor=(dtypes.BY_NAME["variant"], np.zeros((0,), dtype=object)), name="v")
# a quiet NaN with a payload, a negative signalling NaN, -0.0
@example(tensor=(dtypes.BY_NAME["float32"],
                 np.array([0x7FC00001, 0xFFA00000, 0x80000000], np.uint32).view(np.float32)),
         name="nan payloads")
def test_single_tensor_and_its_slices(tensor, name):
    info, array = tensor
    with tempfile.TemporaryDirectory() as tmp:
        prefix = os.path.join(tmp, "ck")
        with BundleWriter(prefix) as writer:
            writer.add(name, array, dtype=dtype_arg(True, info))
        with BundleReader(prefix) as reader:
            assert reader.names() == [name]
            # A tensor saved whole can be read as any slice of itself.
            if array.ndim:
                box = tuple((0, -1) if d == 0 else (d // 2, d - d // 2) for d in array.shape)
                part = reader.get_slice(name, TensorSlice(box))
                expect = array[tuple(slice(s, None) if n != -1 else slice(None)
                                     for s, n in box)]
                assert bits(info, part) == bits(info, expect)


@FAST
@given(names=st.lists(st.binary(min_size=1, max_size=6).filter(lambda b: b[0] != 0),
                      min_size=1, max_size=5, unique=True))
def test_byte_names_round_trip(names):
    # Keys are raw bytes; names that are not UTF-8 come back as surrogate-escaped str.
    with tempfile.TemporaryDirectory() as tmp:
        prefix = os.path.join(tmp, "ck")
        with BundleWriter(prefix) as writer:
            for i, name in enumerate(names):
                writer.add(name, np.array([i], np.int16))
        with BundleReader(prefix) as reader:
            assert [name_to_key(n) for n in reader.names()] == sorted(names)
            for i, name in enumerate(names):
                as_str = key_to_name(name)
                assert reader.has_tensor(as_str)
                assert reader.get_tensor(name).tolist() == [i]
                assert reader.get_tensor(as_str).tolist() == [i]


def test_has_tensor_accepts_the_bytes_that_get_tensor_accepts(tmp_path):
    prefix = str(tmp_path / "ck")
    with BundleWriter(prefix) as writer:
        writer.add(b"k\xff", np.zeros(2))
        writer.add("plain", np.zeros(2))
    with BundleReader(prefix) as reader:
        assert reader.get_tensor(b"k\xff").shape == (2,)
        assert reader.get_tensor(b"plain").shape == (2,)
        assert reader.has_tensor(b"plain")
        assert reader.has_tensor(b"k\xff")


def test_header_only_bundle(tmp_path):
    prefix = str(tmp_path / "ck")
    BundleWriter(prefix).finish()
    with BundleReader(prefix) as reader:
        assert reader.names() == []
        assert reader.header.num_shards == 1
    assert os.path.getsize(data_file(prefix)) == 0


# --- partitioned tensors --------------------------------------------------------------------

@st.composite
def partitions(draw, full_shape):
    """A grid partition of ``full_shape``: a list of TensorSlices tiling it exactly."""
    per_dim = []
    for dim in full_shape:
        cuts = sorted(draw(st.sets(st.integers(1, max(dim - 1, 1)), max_size=2))) \
            if dim > 1 else []
        bounds = [0] + [c for c in cuts if c < dim] + [dim]
        pieces = list(zip(bounds, bounds[1:]))
        if len(pieces) == 1 and draw(st.booleans()):
            per_dim.append([(0, -1)])             # a full extent: written as "-"
        else:
            per_dim.append([(lo, hi - lo) for lo, hi in pieces])
    slices = [TensorSlice(tuple(ext)) for ext in itertools.product(*per_dim)]
    return draw(st.permutations(slices))


full_shapes = st.lists(st.integers(1, 5), min_size=1, max_size=3).map(tuple)


def slice_of(array: np.ndarray, tslice: TensorSlice) -> np.ndarray:
    box = tslice.resolve(array.shape)
    return array[tuple(slice(s, s + n) for s, n in box)]


@st.composite
def partitioned(draw):
    info = draw(st.sampled_from(STORABLE))
    shape = draw(full_shapes)
    array = draw(values(info, shape))
    return info, array, draw(partitions(shape))


@st.composite
def sub_slices(draw, shape):
    extents = []
    for dim in shape:
        if draw(st.booleans()):
            extents.append((0, -1))
        else:
            start = draw(st.integers(0, dim))
            extents.append((start, draw(st.integers(0, dim - start))))
    return TensorSlice(tuple(extents))


@SLOW
@given(part=partitioned(), name=byte_names, others=st.lists(
    st.tuples(unicode_names, tensors()), max_size=3, unique_by=lambda t: t[0]),
    data=st.data())
def test_partitioned_round_trip(part, name, others, data):
    info, array, slices = part
    others = [(n, t) for n, t in others if name_to_key(n) != name]
    with tempfile.TemporaryDirectory() as tmp:
        prefix = os.path.join(tmp, "ck")
        with BundleWriter(prefix) as writer:
            for tslice in slices:
                writer.add_slice(name, array.shape, tslice, slice_of(array, tslice),
                                 dtype=info.name)
            for other, (oinfo, oarray) in others:
                writer.add(other, oarray, dtype=oinfo.name)
        with BundleReader(prefix) as reader:
            expected_names = sorted([key_to_name(name)] + [n for n, _ in others],
                                    key=name_to_key)
            assert reader.names() == expected_names
            assert reader.has_tensor(key_to_name(name))
            assert reader.shape(name) == array.shape
            assert reader.dtype(name).name == info.name
            assert bits(info, reader.get_tensor(name)) == bits(info, array)
            want = data.draw(sub_slices(array.shape))
            assert bits(info, reader.get_slice(name, want)) == \
                bits(info, slice_of(array, want))
            for other, (oinfo, oarray) in others:
                assert bits(oinfo, reader.get_tensor(other)) == bits(oinfo, oarray)
            entries = reader.raw_entries()
            if len(slices) > 1:
                # The plain-name entry holds only dtype, shape and the slices, in add order.
                full = entries[name]
                assert [TensorSlice.from_proto(s) for s in full.slices] == list(slices)
                assert (full.offset, full.size, full.crc32c, full.shard_id) == (0, 0, 0, 0)
                slice_keys = {encode_tensor_name_slice(name, s) for s in slices}
                assert slice_keys <= set(entries)
                for key in slice_keys:
                    assert decode_tensor_name_slice(key)[0] == name
                    assert key_to_name(key) not in reader.names()
            else:
                assert not entries[name].slices      # one covering slice: a plain entry


# --- sharded saves -----------------------------------------------------------------------------

@SLOW
@given(num_shards=st.integers(1, 4), data=st.data(),
       items=st.lists(st.tuples(unicode_names, tensors()), max_size=6,
                      unique_by=lambda t: t[0].encode("utf-8")),
       part=partitioned(), part_name=byte_names)
def test_sharded_round_trip(num_shards, data, items, part, part_name):
    items = [(n, t) for n, t in items if name_to_key(n) != part_name]
    info, array, slices = part
    with tempfile.TemporaryDirectory() as tmp:
        prefix = os.path.join(tmp, "ck")
        writer = ShardedBundleWriter(prefix, num_shards)
        shard_of = {}
        for name, (tinfo, tarray) in items:
            shard = data.draw(st.integers(0, num_shards - 1))
            shard_of[name_to_key(name)] = shard
            writer.shard(shard).add(name, tarray, dtype=tinfo.name)
        # A partitioned tensor's slices may land on different devices (shards).
        for tslice in slices:
            shard = data.draw(st.integers(0, num_shards - 1))
            writer.shard(shard).add_slice(part_name, array.shape, tslice,
                                          slice_of(array, tslice), dtype=info.name)
        writer.finish()
        assert sorted(os.listdir(tmp)) == sorted(
            ["ck.index"] + [os.path.basename(data_file(prefix, i, num_shards))
                            for i in range(num_shards)])
        with BundleReader(prefix) as reader:
            assert reader.header.num_shards == num_shards
            assert reader.names() == sorted([n for n, _ in items] + [key_to_name(part_name)],
                                            key=name_to_key)
            entries = reader.raw_entries()
            for name, (tinfo, tarray) in items:
                # Part k's data file becomes shard k: shard ids are kept, offsets too.
                assert entries[name_to_key(name)].shard_id == shard_of[name_to_key(name)]
                assert reader.shape(name) == tarray.shape
                assert bits(tinfo, reader.get_tensor(name)) == bits(tinfo, tarray)
            assert bits(info, reader.get_tensor(part_name)) == bits(info, array)
            if len(slices) > 1:
                listed = [TensorSlice.from_proto(s) for s in entries[part_name].slices]
                assert sorted(listed, key=str) == sorted(slices, key=str)


# --- building blocks: varints, blocks, tables, slice keys ---------------------------------------

@FAST
@given(value=st.integers(0, 2**64 - 1), junk=st.binary(max_size=4))
def test_varint_round_trip(value, junk):
    encoded = coding.encode_varint(value)
    assert len(encoded) == max(1, (value.bit_length() + 6) // 7)
    assert coding.decode_varint(encoded + junk, 0) == (value, len(encoded))


@FAST
@given(data=st.binary(max_size=64), split=st.integers(0, 64))
def test_crc32c_extend(data, split):
    assert coding.crc32c(data[split:], coding.crc32c(data[:split])) == coding.crc32c(data)


@FAST
@given(crc=st.integers(0, 2**32 - 1))
def test_mask_round_trip(crc):
    assert coding.unmask(coding.mask(crc)) == crc


sorted_items = st.dictionaries(st.binary(max_size=20), st.binary(max_size=30),
                               max_size=60).map(lambda d: sorted(d.items()))


@FAST
@given(items=sorted_items, interval=st.integers(1, 20))
def test_block_round_trip(items, interval):
    builder = BlockBuilder(restart_interval=interval)
    for key, value in items:
        builder.add(key, value)
    contents = builder.finish()
    reader = BlockReader(contents)
    assert list(reader) == items
    assert len(reader.restarts) == max(1, -(-len(items) // interval))


@FAST
@given(items=sorted_items, block_size=st.sampled_from([16, 64, 256, 262144]))
def test_table_round_trip(items, block_size):
    out = io.BytesIO()
    builder = TableBuilder(out, block_size=block_size)
    for key, value in items:
        builder.add(key, value)
    assert builder.finish() == len(out.getvalue())
    assert list(TableReader(out.getvalue())) == items


@FAST
@given(start=st.binary(max_size=8), limit=st.binary(max_size=8))
def test_shortest_separator_is_between(start, limit):
    assume(start < limit)
    sep = shortest_separator(start, limit)
    assert start <= sep < limit
    assert len(sep) <= len(start)


@FAST
@given(key=st.binary(max_size=8))
def test_short_successor_is_not_smaller(key):
    succ = short_successor(key)
    assert succ >= key
    assert len(succ) <= len(key)


extents = st.tuples(st.integers(0, 2**62), st.one_of(st.just(-1), st.integers(0, 2**62)))


@FAST
@given(name=st.binary(max_size=10), ext=st.lists(extents, min_size=1, max_size=4))
def test_slice_key_round_trip(name, ext):
    tslice = TensorSlice(tuple(ext))
    key = encode_tensor_name_slice(name, tslice)
    assert key.startswith(b"\x00")
    assert decode_tensor_name_slice(key) == (name, tslice)


@FAST
@given(a=st.integers(0, 2**63 - 1), b=st.integers(0, 2**63 - 1))
def test_slice_keys_sort_like_their_starts(a, b):
    # OrderedCode keeps numeric order, so the slices of one tensor sort by start.
    ka = encode_tensor_name_slice(b"t", TensorSlice(((a, -1),)))
    kb = encode_tensor_name_slice(b"t", TensorSlice(((b, -1),)))
    assert (ka < kb) == (a < b)


@FAST
@given(shape=full_shapes, data=st.data())
def test_shape_and_slice_spec_round_trip(shape, data):
    tslice = data.draw(sub_slices(shape))
    spec = format_shape_and_slice(shape, tslice)
    assert parse_shape_and_slice(spec) == (shape, tslice)


@FAST
@given(scalar=st.binary(max_size=12), items=st.lists(st.binary(max_size=6), max_size=4))
@example(scalar=b"graph\x00\x00", items=[b"x\x00", b""])
def test_python_bytes_keep_their_trailing_nul_bytes(scalar, items):
    # A serialized proto often ends in NULs; NumPy's "S" arrays would drop them.
    with tempfile.TemporaryDirectory() as directory:
        prefix = os.path.join(directory, "ckpt")
        with BundleWriter(prefix) as writer:
            writer.add("scalar", scalar)
            writer.add("items", items)
        with BundleReader(prefix) as reader:
            assert reader.get_tensor("scalar")[()] == scalar
            assert list(reader.get_tensor("items")) == items


@FAST
@given(st.lists(st.binary(max_size=200), max_size=40))
def test_index_values_framed_as_one_entry_list(values):
    """Opening a bundle frames its index values as one BundleEntryList: whole-array
    operations when every value is shorter than 128 bytes, a loop otherwise. Both give
    the values back in order, and the positions holding the shard_id tag byte."""
    from flowsaver.format import bundle_index
    framed, sharded = bundle_index._frame_entries(values)
    got, pos = [], 0
    while pos < len(framed):
        assert framed[pos] == 0x0A
        size, pos = coding.decode_varint32(framed, pos + 1, len(framed))
        got.append(framed[pos:pos + size])
        pos += size
    assert got == values
    assert sharded == [i for i, v in enumerate(values) if 0x18 in v]
