"""Corrupted and hostile checkpoints: every failure is a typed OpError, quick and small.

Part 1 damages a small valid bundle (several dtypes, a string tensor, a partitioned tensor)
at every truncation point and every bit, and checks that opening or reading each tensor
either returns the exact original value or raises an OpError naming the file (and the
tensor, when one is involved). IndexError, struct.error, ValueError, KeyError,
MemoryError, hangs and wrong values all fail these tests.

Part 2 crafts hostile files by hand with the table and block builders: lengths, counts,
offsets, handles and varints that lie, broken slice lists, bad shards and dtypes, and
snappy-compressed blocks. Each must raise the right error class without allocating more
than the file's size justifies (checked with tracemalloc) or taking long (SIGALRM guard).
"""
from __future__ import annotations

import io
import os
import shutil
import tracemalloc

import ml_dtypes
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from flowsaver import errors
from flowsaver.format import snappy
from flowsaver.format.block import BlockBuilder
from flowsaver.format.bundle_read import BundleReader
from flowsaver.format.bundle_write import BundleWriter
from flowsaver.format.coding import (CorruptionError, crc32c, encode_fixed32, encode_varint,
                                     mask)
from flowsaver.format.protos import BundleEntryProto, BundleHeaderProto, TensorShapeProto
from flowsaver.format.slices import TensorSlice, decode_tensor_name_slice, \
    encode_tensor_name_slice
from flowsaver.format.table import TableBuilder
from test_helpers import time_limit

SAMPLES = "/work/shared/spec/tf_samples"
MAGIC = bytes.fromhex("57fb808b247547db")
MB = 1 << 20


# --- helpers --------------------------------------------------------------------------------

def data_path(prefix: str, shard: int = 0, num_shards: int = 1) -> str:
    return "%s.data-%05d-of-%05d" % (prefix, shard, num_shards)


def read(path: str) -> bytes:
    with open(path, "rb") as f:
        return f.read()


def write(path: str, data: bytes) -> None:
    with open(path, "wb") as f:
        f.write(data)


def same(a, b) -> bool:
    """Bit-identical arrays (object arrays compared element by element)."""
    if a.shape != b.shape or a.dtype != b.dtype:
        return False
    if a.dtype == object:
        return [bytes(x) for x in a.reshape(-1)] == [bytes(x) for x in b.reshape(-1)]
    return a.tobytes() == b.tobytes()


def flip(data: bytes, pos: int, bit: int) -> bytes:
    out = bytearray(data)
    out[pos] ^= 1 << bit
    return bytes(out)


# --- the small bundle every damage test starts from ----------------------------------------

PART_SLICES = [TensorSlice(((0, 2), (0, -1))), TensorSlice(((2, 2), (0, -1)))]


def expected_tensors() -> dict:
    return {
        "a/f32": np.arange(6, dtype=np.float32).reshape(2, 3),
        "b/i64": np.array(-2**40, np.int64),
        "c/str": np.array([b"", b"ab", b"xyz" * 3], dtype=object),
        "d/bool": np.array([True, False, True]),
        "e/bf16": np.array([1.0, -2.5], ml_dtypes.bfloat16),
        "f/empty": np.zeros((0, 3), np.float32),
        "g/part": np.arange(8, dtype=np.float32).reshape(4, 2),
        "h/hello": np.array(b"hello", dtype=object),
        "i/c64": np.array([1 + 2j], np.complex64),
    }


def write_small_bundle(prefix: str) -> dict:
    """Write the bundle (slices interleaved with whole tensors); returns its tensors."""
    tensors = expected_tensors()
    part = tensors["g/part"]
    with BundleWriter(prefix) as writer:
        writer.add("a/f32", tensors["a/f32"])
        writer.add("b/i64", tensors["b/i64"])
        writer.add("c/str", tensors["c/str"])
        writer.add_slice("g/part", part.shape, PART_SLICES[0], part[:2])
        writer.add("d/bool", tensors["d/bool"])
        writer.add_slice("g/part", part.shape, PART_SLICES[1], part[2:])
        writer.add("e/bf16", tensors["e/bf16"])
        writer.add("f/empty", tensors["f/empty"])
        writer.add("h/hello", tensors["h/hello"])
        writer.add("i/c64", tensors["i/c64"])
    return tensors


@pytest.fixture(scope="module")
def pristine(tmp_path_factory):
    """(index bytes, data bytes, tensors, {name: [(start, end) in the data file]})."""
    prefix = str(tmp_path_factory.mktemp("pristine") / "ck")
    tensors = write_small_bundle(prefix)
    ranges: dict = {name: [] for name in tensors}
    with BundleReader(prefix) as reader:
        assert reader.names() == sorted(tensors)
        for name, value in tensors.items():
            assert same(reader.get_tensor(name), value)
        for key, entry in reader.raw_entries().items():
            if entry.slices:
                continue
            name = decode_tensor_name_slice(key)[0] if key.startswith(b"\x00") else key
            ranges[name.decode()].append((entry.offset, entry.offset + entry.size))
    data = read(data_path(prefix))
    # Every byte of the data file belongs to exactly one tensor: no padding, no gaps.
    covered = sorted(r for rs in ranges.values() for r in rs if r[1] > r[0])
    assert [b for _, b in covered[:-1]] == [a for a, _ in covered[1:]]
    assert covered[0][0] == 0 and covered[-1][1] == len(data)
    return read(prefix + ".index"), data, tensors, ranges


class Damaged:
    """A copy of the pristine bundle with replaced bytes, reused across examples."""

    def __init__(self, directory: str, pristine):
        self.index, self.data, self.tensors, self.ranges = pristine
        self.prefix = os.path.join(directory, "ck")

        self._on_disk: dict = {}

    def write(self, index: bytes | None = None, data: bytes | None = None) -> None:
        self._put(self.prefix + ".index", self.index if index is None else index)
        self._put(data_path(self.prefix), self.data if data is None else data)

    def _put(self, path: str, content: bytes) -> None:
        # Thousands of rewrites: skip unchanged files, and overwrite in place when the size
        # is unchanged (truncating a file costs milliseconds on some file systems).
        before = self._on_disk.get(path)
        if before == content:
            return
        with open(path, "r+b" if before is not None and len(before) == len(content)
                  else "wb") as f:
            f.write(content)
        self._on_disk[path] = content

    def outcome(self):
        """``(open error or None, {name: value or OpError})``; other exceptions propagate."""
        results = {}
        with time_limit(5):
            try:
                reader = BundleReader(self.prefix)
            except errors.OpError as exc:
                return exc, results
            with reader:
                assert reader.names() == sorted(self.tensors)
                for name in self.tensors:
                    try:
                        results[name] = reader.get_tensor(name)
                    except errors.OpError as exc:
                        results[name] = exc
        return None, results

    def check(self, damaged_tensors=None, *, must_fail: bool = True) -> bool:
        """Assert no wrong value and good messages; returns whether anything failed.

        ``damaged_tensors``: names that must fail (None: unknown, any may fail).
        """
        open_error, results = self.outcome()
        if open_error is not None:
            assert isinstance(open_error, errors.DataLossError), repr(open_error)
            assert self.prefix + ".index" in str(open_error)
            return True
        failed = False
        for name, result in results.items():
            if isinstance(result, errors.OpError):
                assert isinstance(result, (errors.DataLossError, errors.NotFoundError)), \
                    repr(result)
                message = str(result)
                assert self.prefix in message, message
                assert name in message, message
                failed = True
            else:
                assert damaged_tensors is None or name not in damaged_tensors, \
                    f"damage to {name} went unnoticed"
                assert same(result, self.tensors[name]), f"wrong value for {name}"
        if must_fail:
            assert failed, "the damage went unnoticed"
        return failed

    def owners(self, pos: int) -> set:
        return {name for name, rs in self.ranges.items() if any(a <= pos < b for a, b in rs)}


@pytest.fixture
def damaged(tmp_path, pristine):
    return Damaged(str(tmp_path), pristine)


# --- part 1: every truncation, every bit ------------------------------------------------------

def test_every_truncation_of_the_index(damaged):
    for size in range(len(damaged.index)):
        damaged.write(index=damaged.index[:size])
        open_error, _ = damaged.outcome()
        assert isinstance(open_error, errors.DataLossError), (size, open_error)
        assert damaged.prefix + ".index" in str(open_error)


def test_every_truncation_of_the_data_file(damaged):
    for size in range(len(damaged.data)):
        damaged.write(data=damaged.data[:size])
        cut = {name for name, rs in damaged.ranges.items() if any(b > size for _, b in rs)}
        assert cut                       # the last tensor always loses bytes
        _, results = damaged.outcome()
        for name, result in results.items():
            if name in cut:
                assert isinstance(result, errors.DataLossError), (size, name, result)
                assert name in str(result) and damaged.prefix in str(result)
            else:
                assert same(result, damaged.tensors[name]), (size, name)


def test_every_bit_flip_of_the_index(damaged):
    unnoticed = []
    for pos in range(len(damaged.index)):
        for bit in range(8):
            damaged.write(index=flip(damaged.index, pos, bit))
            if not damaged.check(must_fail=False):
                unnoticed.append((pos, bit, damaged.index[pos]))
    # A flipped bit that reads back identical values is not data loss, but the reader
    # promises that every flipped bit is seen (it checks the footer padding and the
    # metaindex block for exactly that), so each must raise.
    assert unnoticed == []


def test_every_bit_flip_of_the_data_file(damaged):
    for pos in range(len(damaged.data)):
        owners = damaged.owners(pos)
        assert len(owners) == 1
        for bit in range(8):
            damaged.write(data=flip(damaged.data, pos, bit))
            damaged.check(owners)


def test_footer_rejects_a_non_canonical_varint(tmp_path):
    # model-7's footer is 9b 01 08 a8 01 0f, 34 zero bytes, magic (spec 1.2.1). Setting the
    # top bit of 0f gives 8f 00: another encoding of 15 that swallows a padding byte. No
    # writer produces it, so it is a flipped bit, and the reader promises to see those.
    src = os.path.join(SAMPLES, "s2_refvar_momentum", "model-7")
    prefix = str(tmp_path / "model-7")
    index = read(src + ".index")
    assert index[188:194] == bytes.fromhex("9b 01 08 a8 01 0f")
    write(prefix + ".index", flip(index, 193, 7))
    shutil.copyfile(data_path(src), data_path(prefix))
    with pytest.raises(errors.DataLossError, match="model-7.index"):
        BundleReader(prefix)


def test_extra_bytes_after_the_data_are_harmless(damaged):
    # Offsets are authoritative; a longer data file (e.g. alignment padding) still reads.
    damaged.write(data=damaged.data + b"\x00" * 7)
    damaged.check(set(), must_fail=False)
    _, results = damaged.outcome()
    assert all(not isinstance(r, errors.OpError) for r in results.values())


CORRUPTION = settings(max_examples=200, deadline=None, database=None,
                      suppress_health_check=[HealthCheck.function_scoped_fixture])


@CORRUPTION
@given(data=st.data(), in_index=st.booleans())
def test_random_bit_flips(damaged, data, in_index):
    original = damaged.index if in_index else damaged.data
    flips = data.draw(st.lists(st.tuples(st.integers(0, len(original) - 1),
                                         st.integers(0, 7)), min_size=1, max_size=3))
    corrupted = original
    for pos, bit in flips:
        corrupted = flip(corrupted, pos, bit)
    if corrupted == original:             # two flips of the same bit cancel out
        return
    if in_index:
        damaged.write(index=corrupted)
        damaged.check()
    else:
        damaged.write(data=corrupted)
        changed = {p for p in range(len(original)) if corrupted[p] != original[p]}
        damaged.check(set().union(*(damaged.owners(p) for p in changed)))


@CORRUPTION
@given(data=st.data(), in_index=st.booleans())
def test_random_overwrites(damaged, data, in_index):
    original = damaged.index if in_index else damaged.data
    start = data.draw(st.integers(0, len(original) - 1))
    junk = data.draw(st.binary(min_size=1, max_size=len(original) - start))
    corrupted = original[:start] + junk + original[start + len(junk):]
    if corrupted == original:
        return
    if in_index:
        damaged.write(index=corrupted)
        damaged.check()
    else:
        damaged.write(data=corrupted)
        changed = {p for p in range(len(original)) if corrupted[p] != original[p]}
        damaged.check(set().union(*(damaged.owners(p) for p in changed)))


DATA_ERRORS = [
    # (case, tensor, damage given the data bytes and the tensor's (start, end)) -- the
    # message must name the data file that holds the damage, not only the index: that is
    # the file a user has to replace.
    ("memcpy crc mismatch", "a/f32", lambda data, r: flip(data, r[0], 0)),
    ("string bytes crc mismatch", "c/str", lambda data, r: flip(data, r[1] - 1, 0)),
    ("string lengths broken", "c/str", lambda data, r: flip(data, r[0], 1)),
    ("tensor truncated", "i/c64", lambda data, r: data[:r[0] + 3]),
    ("slice truncated", "g/part", lambda data, r: data[:r[0] + 3]),
]


@pytest.mark.parametrize("case,name,damage", DATA_ERRORS, ids=[r[0] for r in DATA_ERRORS])
def test_data_file_errors_name_the_data_file(damaged, case, name, damage):
    damaged.write(data=damage(damaged.data, damaged.ranges[name][0]))
    with BundleReader(damaged.prefix) as reader:
        with pytest.raises(errors.DataLossError) as info:
            reader.get_tensor(name)
    assert name in str(info.value)
    assert os.path.basename(data_path(damaged.prefix)) in str(info.value)


# --- part 2: hostile files built by hand ------------------------------------------------------

def shape(*dims) -> TensorShapeProto:
    proto = TensorShapeProto()
    for d in dims:
        proto.dim.add(size=d)
    return proto


def header(num_shards: int = 1, **version) -> BundleHeaderProto:
    proto = BundleHeaderProto(num_shards=num_shards)
    proto.version.producer = 1
    for field, value in version.items():
        if field == "bad_consumers":
            proto.version.bad_consumers.extend(value)
        else:
            setattr(proto.version, field, value)
    return proto


def table_bytes(items) -> bytes:
    """A valid SSTable of ``[(key, value bytes)]`` (sorted here)."""
    out = io.BytesIO()
    builder = TableBuilder(out)
    for key, value in sorted(items):
        builder.add(key, value)
    builder.finish()
    return out.getvalue()


def bundle_items(entries: dict, head=None) -> list:
    items = [(b"", (head or header()).SerializeToString())]
    for key, entry in entries.items():
        key = key.encode() if isinstance(key, str) else key
        items.append((key, entry if isinstance(entry, bytes) else entry.SerializeToString()))
    return items


def write_bundle(prefix: str, entries: dict, data=b"", head=None) -> str:
    """An index with these entries (valid table), and data files from ``data``."""
    write(prefix + ".index", table_bytes(bundle_items(entries, head)))
    shards = data if isinstance(data, dict) else {0: data}
    num_shards = (head or header()).num_shards
    for shard, content in shards.items():
        write(data_path(prefix, shard, max(num_shards, 1)), content)
    return prefix


def trailer(stored: bytes, kind: int) -> bytes:
    return bytes([kind]) + encode_fixed32(mask(crc32c(stored + bytes([kind]))))


def assemble_table(blocks, *, index_values=None, footer_handles=None) -> bytes:
    """A table from raw data blocks ``[(stored bytes, compression type)]``.

    Checksums are right, so the lie under test is the only thing wrong. ``index_values``
    replaces the index block's handle values; ``footer_handles`` the footer's handles.
    """
    out = bytearray()
    handles = []
    for stored, kind in blocks:
        handles.append(encode_varint(len(out)) + encode_varint(len(stored)))
        out += stored + trailer(stored, kind)
    meta = BlockBuilder().finish()
    meta_handle = encode_varint(len(out)) + encode_varint(len(meta))
    out += meta + trailer(meta, 0)
    index = BlockBuilder(restart_interval=1)
    for i, value in enumerate(index_values or handles):
        index.add(b"\xff" + bytes([i]), value)
    index_contents = index.finish()
    index_handle = encode_varint(len(out)) + encode_varint(len(index_contents))
    out += index_contents + trailer(index_contents, 0)
    handles_bytes = footer_handles if footer_handles is not None else meta_handle + index_handle
    out += handles_bytes + bytes(40 - len(handles_bytes)) + MAGIC
    return bytes(out)


def block_of(items, restart_interval: int = 16) -> bytes:
    builder = BlockBuilder(restart_interval)
    for key, value in items:
        builder.add(key, value)
    return builder.finish()


def snappy_literals(raw: bytes, claimed: int | None = None) -> bytes:
    """A snappy stream of literal elements only (60-byte and 1-byte-length forms)."""
    out = bytearray(encode_varint(len(raw) if claimed is None else claimed))
    pos = 0
    while pos < len(raw):
        chunk = raw[pos:pos + (200 if pos == 0 else 60)]
        if len(chunk) <= 60:
            out.append((len(chunk) - 1) << 2)
        else:
            out += bytes([60 << 2, len(chunk) - 1])
        out += chunk
        pos += len(chunk)
    return bytes(out)


def f32_entry(values, **fields) -> tuple[BundleEntryProto, bytes]:
    data = np.asarray(values, np.float32).tobytes()
    entry = BundleEntryProto(dtype=1, shape=shape(len(values)), size=len(data),
                             crc32c=mask(crc32c(data)))
    for field, value in fields.items():
        setattr(entry, field, value)
    return entry, data


def small_and_quick(expected, fn, *, peak=4 * MB, seconds=5.0):
    """Run ``fn``; it must raise ``expected`` within ``seconds``, peaking under ``peak``."""
    tracemalloc.start()
    try:
        with time_limit(seconds):
            with pytest.raises(expected) as info:
                fn()
        used = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert used < peak, f"{fn} allocated {used} bytes before failing"
    return info.value


def open_and_read(prefix: str, name: str | bytes | None = None):
    """Open the bundle and read ``name`` (every tensor when None)."""
    def run():
        with BundleReader(prefix) as reader:
            for n in ([name] if name is not None else reader.names()):
                reader.get_tensor(n)
    return run


# Each builder writes a hostile bundle at ``prefix`` and returns the tensor to read (or
# None when opening alone must fail).

def huge_shape(prefix):
    write_bundle(prefix, {"x": BundleEntryProto(dtype=1, shape=shape(2**40, 2**40), size=16)},
                 bytes(16))
    return "x"


def huge_shape_matching_size(prefix):
    # 2**30 x 2**30 float32 is 2**62 bytes: the size agrees with the shape, the file does not.
    write_bundle(prefix, {"x": BundleEntryProto(dtype=1, shape=shape(2**30, 2**30),
                                                size=2**62)}, bytes(16))
    return "x"


def huge_offset(prefix):
    entry, data = f32_entry([1.0], offset=2**62)
    write_bundle(prefix, {"x": entry}, data)
    return "x"


def negative_offset(prefix):
    entry, data = f32_entry([1.0], offset=-4)
    write_bundle(prefix, {"x": entry}, data)
    return "x"


def negative_dim(prefix):
    write_bundle(prefix, {"x": BundleEntryProto(dtype=1, shape=shape(-1), size=4)}, bytes(4))
    return "x"


def huge_rank(prefix):
    write_bundle(prefix, {"x": BundleEntryProto(dtype=1, shape=shape(*[1] * 1000), size=4)},
                 bytes(4))
    return "x"


def size_disagrees_with_shape(prefix):
    entry, data = f32_entry([1.0, 2.0, 3.0])
    entry.size = 8
    write_bundle(prefix, {"x": entry}, data)
    return "x"


def string_claims_1e12_elements(prefix):
    write_bundle(prefix, {"s": BundleEntryProto(dtype=7, shape=shape(10**12), size=10)},
                 bytes.fromhex("05 d9 c6 9c 43") + b"hello")
    return "s"


def string_length_claims_2_60(prefix):
    data = encode_varint(2**60) + bytes(4) + b"abc"
    write_bundle(prefix, {"s": BundleEntryProto(dtype=7, shape=shape(1), size=len(data))},
                 data)
    return "s"


def string_length_varint_never_ends(prefix):
    data = b"\xff" * 16
    write_bundle(prefix, {"s": BundleEntryProto(dtype=7, shape=shape(2), size=16)}, data)
    return "s"


def variant_claims_1e12_elements(prefix):
    write_bundle(prefix, {"v": BundleEntryProto(dtype=21, shape=shape(10**12), size=10)},
                 bytes(10))
    return "v"


def variant_element_is_not_a_proto(prefix):
    body = b"\xff\xff\xff"
    crc = crc32c(body, crc32c(len(body).to_bytes(8, "little")))
    data = encode_varint(len(body)) + body + encode_fixed32(mask(crc))
    crc = crc32c(data[-4:], crc)
    write_bundle(prefix, {"v": BundleEntryProto(dtype=21, shape=shape(), size=len(data),
                                                crc32c=mask(crc))}, data)
    return "v"


def partitioned_huge(dim):
    def build(prefix):
        halves = [TensorSlice(((0, dim // 2), (0, -1))),
                  TensorSlice(((dim // 2, dim // 2), (0, -1)))]
        full = BundleEntryProto(dtype=1, shape=shape(dim, dim),
                                slices=[s.to_proto() for s in halves])
        entries = {"x": full}
        for s in halves:
            entries[encode_tensor_name_slice(b"x", s)] = BundleEntryProto(
                dtype=1, shape=shape(dim // 2, dim), size=16)
        write_bundle(prefix, entries, bytes(32))
        return "x"
    return build


def unknown_dtype(enum):
    def build(prefix):
        write_bundle(prefix, {"x": BundleEntryProto(dtype=enum, shape=shape(1), size=4)},
                     bytes(4))
        return "x"
    return build


def shard_beyond_num_shards(prefix):
    entry, data = f32_entry([1.0], shard_id=3)
    write_bundle(prefix, {"x": entry}, data)
    return None


def negative_shard(prefix):
    entry, data = f32_entry([1.0], shard_id=-1)
    write_bundle(prefix, {"x": entry}, data)
    return None


def missing_data_file(prefix):
    entry, data = f32_entry([1.0])
    write_bundle(prefix, {"x": entry}, data)
    os.remove(data_path(prefix))
    return "x"


def missing_second_shard(prefix):
    a, da = f32_entry([1.0])
    b, db = f32_entry([2.0], shard_id=1)
    write_bundle(prefix, {"a": a, "b": b}, {0: da}, head=header(2))
    return "b"


def partitioned(slices, *, stored=None, full_shape=(4, 2)):
    """A partitioned float32 tensor listing ``slices`` and storing ``stored`` (default:
    the same) slices, each with its correct bytes."""
    def build(prefix):
        full = BundleEntryProto(dtype=1, shape=shape(*full_shape),
                                slices=[TensorSlice(s).to_proto() for s in slices])
        entries = {"x": full}
        data = bytearray()
        for s in (slices if stored is None else stored):
            tslice = TensorSlice(s)
            # Not tslice.resolve(): some rows list slices that do not fit the shape.
            dims = [n if n != -1 else full_shape[i] for i, (_, n) in
                    enumerate(tslice.extents)]
            values = np.arange(int(np.prod(dims)), dtype=np.float32).tobytes()
            entries[encode_tensor_name_slice(b"x", tslice)] = BundleEntryProto(
                dtype=1, shape=shape(*dims), offset=len(data), size=len(values),
                crc32c=mask(crc32c(values)))
            data += values
        write_bundle(prefix, entries, bytes(data))
        return "x"
    return build


def partitioned_slice_with_wrong_shape(prefix):
    partitioned([((0, 2), (0, -1)), ((2, 2), (0, -1))])(prefix)
    # Re-write the index with the second slice's entry claiming [1, 2] (and 8 bytes).
    with BundleReader(prefix) as reader:
        entries = reader.raw_entries()
    key = encode_tensor_name_slice(b"x", TensorSlice(((2, 2), (0, -1))))
    entries[key].shape.dim[0].size = 1
    entries[key].size = 8
    write(prefix + ".index", table_bytes(bundle_items(entries)))
    return "x"


def slice_extent_outside_shape(prefix):
    partitioned([((0, 2), (0, -1)), ((2, 9), (0, -1))], stored=[((0, 2), (0, -1))])(prefix)
    return "x"


def header_missing(prefix):
    entry, data = f32_entry([1.0])
    write(prefix + ".index", table_bytes([(b"x", entry.SerializeToString())]))
    write(data_path(prefix), data)
    return None


def header_garbage(prefix):
    write(prefix + ".index", table_bytes([(b"", b"\xff\xff\xff")]))
    return None


def entry_garbage(prefix):
    write_bundle(prefix, {"x": b"\x0a\xff\xff\xff\xff"}, b"")
    return None


def header_num_shards(n):
    def build(prefix):
        write(prefix + ".index", table_bytes(bundle_items({}, header(n))))
        return None
    return build


def index_is_a_meta_graph(prefix):
    shutil.copyfile(os.path.join(SAMPLES, "s2_refvar_momentum", "model-7.meta"),
                    prefix + ".index")
    return None


def index_empty(prefix):
    write(prefix + ".index", b"")
    return None


def index_missing(prefix):
    return None


def index_is_a_directory(prefix):
    os.mkdir(prefix + ".index")
    return None


# Tables whose structure lies, with every checksum right.

def _entries_block() -> bytes:
    entry, _ = f32_entry([1.0])
    return block_of(bundle_items({"x": entry}))


def _with_data(table: bytes):
    def build(prefix):
        write(prefix + ".index", table)
        write(data_path(prefix), np.float32(1.0).tobytes())
        return None
    return build


def restart_count(n):
    contents = _entries_block()
    return _with_data(assemble_table([(contents[:-4] + encode_fixed32(n), 0)]))


def restart_offset_outside():
    contents = _entries_block()
    body = contents[:-8] + encode_fixed32(10_000) + contents[-4:]
    return _with_data(assemble_table([(body, 0)]))


def block_shorter_than_restart_count():
    return _with_data(assemble_table([(b"\x01\x00", 0)]))


def block_entry_varint_never_ends():
    return _with_data(assemble_table([(b"\xff" * 12 + encode_fixed32(0) + encode_fixed32(1),
                                       0)]))


def block_entry_overruns():
    # shared 0, non_shared 1, value_len 100: the value runs into the restart array.
    return _with_data(assemble_table([(b"\x00\x01\x64k" + encode_fixed32(0)
                                       + encode_fixed32(1), 0)]))


def block_entry_shares_too_much():
    # The first entry claims a shared prefix with a previous key that does not exist.
    return _with_data(assemble_table([(b"\x05\x01\x00k" + encode_fixed32(0)
                                       + encode_fixed32(1), 0)]))


def keys_out_of_order():
    header_value = header().SerializeToString()
    entry, _ = f32_entry([1.0])
    # BlockBuilder does not sort; the reader must notice b"b" before b"a".
    contents = block_of([(b"", header_value), (b"b", entry.SerializeToString()),
                         (b"a", entry.SerializeToString())])
    return _with_data(assemble_table([(contents, 0)]))


def keys_repeat_across_blocks():
    block = _entries_block()
    return _with_data(assemble_table([(block, 0), (block, 0)]))


def index_handle_past_eof():
    return _with_data(assemble_table([(_entries_block(), 0)],
                                     index_values=[encode_varint(0) + encode_varint(10**6)]))


def index_handle_varint_never_ends():
    return _with_data(assemble_table([(_entries_block(), 0)], index_values=[b"\xff" * 12]))


def footer_handle_past_eof():
    return _with_data(assemble_table([(_entries_block(), 0)],
                                     footer_handles=encode_varint(0) + encode_varint(8)
                                     + encode_varint(2**40) + encode_varint(20)))


def footer_varint_never_ends():
    return _with_data(assemble_table([(_entries_block(), 0)], footer_handles=b"\xff" * 40))


def footer_huge_size():
    return _with_data(assemble_table([(_entries_block(), 0)],
                                     footer_handles=encode_varint(0) + encode_varint(2**64 - 1)
                                     + encode_varint(0) + encode_varint(2**64 - 1)))


def compression(kind, stored=None):
    contents = _entries_block()
    return _with_data(assemble_table([(contents if stored is None else stored(contents),
                                       kind)]))


HOSTILE = [
    # (case, builder, expected error) -- the builder returns the tensor to read, or None
    # when opening the bundle must already fail.
    ("huge shape [2**40, 2**40]", huge_shape, errors.DataLossError),
    ("huge shape with a matching 2**62 size", huge_shape_matching_size, errors.DataLossError),
    ("huge offset", huge_offset, errors.DataLossError),
    ("negative offset", negative_offset, errors.DataLossError),
    ("negative dimension", negative_dim, errors.DataLossError),
    ("rank 1000", huge_rank, errors.DataLossError),
    ("size disagrees with shape", size_disagrees_with_shape, errors.DataLossError),
    ("string claims 10**12 elements", string_claims_1e12_elements, errors.DataLossError),
    ("string length 2**60", string_length_claims_2_60, errors.DataLossError),
    ("string length varint never ends", string_length_varint_never_ends,
     errors.DataLossError),
    ("variant claims 10**12 elements", variant_claims_1e12_elements, errors.DataLossError),
    ("variant element is not a proto", variant_element_is_not_a_proto, errors.DataLossError),
    ("partitioned [2**40, 2**40]", partitioned_huge(2**40), errors.DataLossError),
    ("partitioned [2**16, 2**16] (16 GiB)", partitioned_huge(2**16), errors.DataLossError),
    ("partitioned [2**33, 2**33]", partitioned_huge(2**33), errors.DataLossError),
    ("unknown dtype enum 99", unknown_dtype(99), errors.DataLossError),
    ("DT_INVALID", unknown_dtype(0), errors.DataLossError),
    ("DT_RESOURCE", unknown_dtype(20), errors.DataLossError),
    ("a _REF dtype", unknown_dtype(101), errors.DataLossError),
    ("shard_id beyond num_shards", shard_beyond_num_shards, errors.DataLossError),
    ("negative shard_id", negative_shard, errors.DataLossError),
    ("missing data file", missing_data_file, errors.NotFoundError),
    ("missing second shard", missing_second_shard, errors.NotFoundError),
    ("slices do not cover the tensor",
     partitioned([((0, 2), (0, -1)), ((3, 1), (0, -1))]), errors.InvalidArgumentError),
    ("overlapping slices", partitioned([((0, 3), (0, -1)), ((2, 2), (0, -1))]),
     errors.DataLossError),
    ("listed slice has no entry",
     partitioned([((0, 2), (0, -1)), ((2, 2), (0, -1))], stored=[((0, 2), (0, -1))]),
     errors.DataLossError),
    ("slice rank differs from the shape", partitioned([((0, 4),)]), errors.DataLossError),
    ("slice extent outside the shape", slice_extent_outside_shape, errors.DataLossError),
    ("slice entry with the wrong shape", partitioned_slice_with_wrong_shape,
     errors.DataLossError),
    ("no header entry", header_missing, errors.DataLossError),
    ("header does not parse", header_garbage, errors.DataLossError),
    ("entry does not parse", entry_garbage, errors.DataLossError),
    ("header num_shards 0", header_num_shards(0), errors.DataLossError),
    ("header num_shards -1", header_num_shards(-1), errors.DataLossError),
    ("index is a MetaGraphDef", index_is_a_meta_graph, errors.DataLossError),
    ("index is empty", index_empty, errors.DataLossError),
    ("index is missing", index_missing, errors.NotFoundError),
    ("index is a directory", index_is_a_directory, errors.OpError),
    ("restart count 2**32-1", restart_count(2**32 - 1), errors.DataLossError),
    ("restart count 0", restart_count(0), errors.DataLossError),
    ("restart offset outside the block", restart_offset_outside(), errors.DataLossError),
    ("block shorter than its restart count", block_shorter_than_restart_count(),
     errors.DataLossError),
    ("block entry varint never ends", block_entry_varint_never_ends(), errors.DataLossError),
    ("block entry overruns the block", block_entry_overruns(), errors.DataLossError),
    ("block entry shares more than the previous key", block_entry_shares_too_much(),
     errors.DataLossError),
    ("keys out of order", keys_out_of_order(), errors.DataLossError),
    ("keys repeat across blocks", keys_repeat_across_blocks(), errors.DataLossError),
    ("index handle points past EOF", index_handle_past_eof(), errors.DataLossError),
    ("index handle varint never ends", index_handle_varint_never_ends(),
     errors.DataLossError),
    ("footer handle points past EOF", footer_handle_past_eof(), errors.DataLossError),
    ("footer varints never end", footer_varint_never_ends(), errors.DataLossError),
    ("footer handle size 2**64-1", footer_huge_size(), errors.DataLossError),
    ("compression type 7", compression(7), errors.DataLossError),
    ("compression type 2", compression(2), errors.DataLossError),
    ("snappy block longer than it claims",
     compression(1, lambda raw: snappy_literals(raw, len(raw) - 1)), errors.DataLossError),
    ("snappy block shorter than it claims",
     compression(1, lambda raw: snappy_literals(raw, len(raw) + 10)), errors.DataLossError),
    ("snappy block claims 4 GiB",
     compression(1, lambda raw: snappy_literals(raw, 2**32 - 1)), errors.DataLossError),
    ("snappy block claims 2 GiB",
     compression(1, lambda raw: snappy_literals(raw, 2**31)), errors.DataLossError),
    ("snappy block that is not snappy", compression(1, lambda raw: raw),
     errors.DataLossError),
    ("snappy length varint never ends", compression(1, lambda raw: b"\xff" * 8),
     errors.DataLossError),
]


@pytest.mark.parametrize("case,build,expected", HOSTILE, ids=[row[0] for row in HOSTILE])
def test_hostile_bundle(tmp_path, case, build, expected):
    prefix = str(tmp_path / "ck")
    name = build(prefix)
    if name is None:
        error = small_and_quick(expected, lambda: BundleReader(prefix))
        assert prefix + ".index" in str(error)
        return
    with BundleReader(prefix) as reader:
        assert name in reader.names()
        error = small_and_quick(expected, lambda: reader.get_tensor(name))
    message = str(error)
    assert name in message, message
    assert prefix in message, message


def test_hostile_metadata_calls_raise_typed_errors(tmp_path):
    prefix = str(tmp_path / "ck")
    unknown_dtype(99)(prefix)
    with BundleReader(prefix) as reader:
        with pytest.raises(errors.DataLossError, match="99"):
            reader.dtype("x")
        assert reader.shape("x") == (1,)
    negative_dim(prefix)
    with BundleReader(prefix) as reader:
        with pytest.raises(errors.DataLossError, match="x"):
            reader.shape("x")
        with pytest.raises(errors.NotFoundError, match="nope"):
            reader.get_tensor("nope")


@pytest.mark.parametrize("version,expected", [
    ({"min_consumer": 2}, errors.InvalidArgumentError),
    ({"bad_consumers": [1]}, errors.InvalidArgumentError),
    ({"producer": -1}, errors.InvalidArgumentError),
    ({"min_consumer": 1, "bad_consumers": [0, 2]}, None),      # readable
])
def test_header_versions(tmp_path, version, expected):
    prefix = str(tmp_path / "ck")
    entry, data = f32_entry([1.0])
    write_bundle(prefix, {"x": entry}, data, head=header(**version))
    if expected is None:
        with BundleReader(prefix) as reader:
            assert reader.get_tensor("x").tolist() == [1.0]
    else:
        with pytest.raises(expected, match="version"):
            BundleReader(prefix)


def test_partitioned_partial_cover_still_reads_the_covered_part(tmp_path):
    prefix = str(tmp_path / "ck")
    partitioned([((0, 2), (0, -1)), ((3, 1), (0, -1))])(prefix)
    with BundleReader(prefix) as reader:
        part = reader.get_slice("x", TensorSlice(((0, 2), (0, -1))))
        assert part.tolist() == [[0.0, 1.0], [2.0, 3.0]]
        with pytest.raises(errors.InvalidArgumentError, match="sufficient slices"):
            reader.get_slice("x", TensorSlice(((1, 2), (0, -1))))


# --- snappy ------------------------------------------------------------------------------------

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


# --- fuzzing behind valid checksums --------------------------------------------------------------

FUZZ = settings(max_examples=300, deadline=None, database=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture,
                                       HealthCheck.too_slow])


@FUZZ
@given(contents=st.binary(max_size=80), kind=st.sampled_from([0, 0, 1, 2]))
def test_fuzz_block_contents(tmp_path, contents, kind):
    # Random block bytes with a correct trailer: only the block parsers stand guard.
    prefix = str(tmp_path / "fz")
    write(prefix + ".index", assemble_table([(contents, kind)]))
    write(data_path(prefix), b"")
    with time_limit(5):
        try:
            open_and_read(prefix)()
        except errors.OpError as exc:
            assert prefix in str(exc)


@FUZZ
@given(value=st.binary(max_size=40), data=st.binary(max_size=40))
def test_fuzz_entry_values(tmp_path, value, data):
    # A random BundleEntryProto value under a valid table, random bytes in the data file.
    prefix = str(tmp_path / "fz")
    write(prefix + ".index", table_bytes(bundle_items({"x": value})))
    write(data_path(prefix), data)
    with time_limit(5):
        try:
            open_and_read(prefix)()
        except errors.OpError as exc:
            assert prefix in str(exc)


@FUZZ
@given(dtype=st.sampled_from([1, 7, 21, 10, 14, 19, 99]),
       dims=st.lists(st.integers(0, 2**40), max_size=3),
       data=st.binary(max_size=40), offset=st.integers(-2, 50),
       size=st.integers(-1, 60))
def test_fuzz_entries_with_valid_crc(tmp_path, dtype, dims, data, offset, size):
    # The entry's crc matches whatever bytes it points at, so decoders see hostile input.
    prefix = str(tmp_path / "fz")
    window = data[max(offset, 0):max(offset, 0) + max(size, 0)]
    entry = BundleEntryProto(dtype=dtype, shape=shape(*dims), offset=offset, size=size)
    if dtype == 7 and len(window) >= 4:
        # For strings, make the length checksum and entry crc right for these bytes too.
        entry.crc32c = _string_crc(window, int(np.prod(dims, dtype=object)))
    else:
        entry.crc32c = mask(crc32c(window))
    write(prefix + ".index", table_bytes(bundle_items({"x": entry})))
    write(data_path(prefix), data)
    with time_limit(5):
        tracemalloc.start()
        try:
            open_and_read(prefix, "x")()
        except errors.OpError as exc:
            assert prefix in str(exc)
        finally:
            used = tracemalloc.get_traced_memory()[1]
            tracemalloc.stop()
    assert used < 4 * MB


def _string_crc(window: bytes, count: int) -> int:
    """The entry crc a string tensor of ``count`` elements stored as ``window`` would have
    if its lengths parse; anything when they do not (the reader must then fail anyway)."""
    from flowsaver.format.coding import decode_varint
    lengths, pos = [], 0
    try:
        for _ in range(min(count, len(window))):
            n, pos = decode_varint(window, pos)
            lengths.append(n)
    except CorruptionError:
        return 0
    width = 8 if any(n > 0xFFFFFFFF for n in lengths) else 4
    crc = crc32c(b"".join(n.to_bytes(width, "little") for n in lengths))
    return mask(crc32c(window[pos:], crc))
