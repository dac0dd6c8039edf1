"""Builders of hostile bundles for tests/format/test_corruption_hostile.py.

Each builder writes a hostile bundle at ``prefix`` and returns the tensor to read (or None
when opening alone must fail); the test table there says which error each must raise.
"""
from __future__ import annotations

import os
import shutil
import tracemalloc

import numpy as np
import pytest

from fixture_paths import SAMPLES
from flowsaver.format.bundle_read import BundleReader
from flowsaver.format.coding import crc32c, encode_fixed32, encode_varint, mask
from flowsaver.format.protos import BundleEntryProto
from flowsaver.format.slices import TensorSlice, encode_tensor_name_slice
from bundle_builders import (assemble_table, block_of, bundle_items, f32_entry, header,
                             shape, table_bytes, write_bundle)
from format_helpers import data_path, write
from test_helpers import time_limit

MB = 1 << 20


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
    return "x"  # entries are checked when read, as TensorFlow does on lookup


def negative_shard(prefix):
    entry, data = f32_entry([1.0], shard_id=-1)
    write_bundle(prefix, {"x": entry}, data)
    return "x"  # entries are checked when read, as TensorFlow does on lookup


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
    return "x"  # entries are checked when read, as TensorFlow does on lookup


def header_num_shards(n):
    def build(prefix):
        write(prefix + ".index", table_bytes(bundle_items({}, header(n))))
        return None
    return build


def index_is_a_meta_graph(prefix):
    shutil.copyfile(SAMPLES / "s2_refvar_momentum" / "model-7.meta", prefix + ".index")
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
