"""Hostile bundles built by hand: each raises the right typed error, quickly and small.

Lengths, counts, offsets, handles and varints that lie, broken slice lists, bad shards and
dtypes, and snappy-compressed blocks (builders in hostile_bundles.py). Each must raise the
right error class without allocating more than the file's size justifies (checked with
tracemalloc) or taking long (SIGALRM guard), and name the file and the tensor.
"""
from __future__ import annotations

import pytest

from flowsaver import errors
from flowsaver.format.bundle_read import BundleReader
from flowsaver.format.slices import TensorSlice
from bundle_builders import f32_entry, header, shape, snappy_literals, write_bundle
import hostile_bundles as hb


HOSTILE = [
    # (case, builder, expected error) -- the builder returns the tensor to read, or None
    # when opening the bundle must already fail.
    ("huge shape [2**40, 2**40]", hb.huge_shape, errors.DataLossError),
    ("huge shape with a matching 2**62 size", hb.huge_shape_matching_size, errors.DataLossError),
    ("huge offset", hb.huge_offset, errors.DataLossError),
    ("negative offset", hb.negative_offset, errors.DataLossError),
    ("negative dimension", hb.negative_dim, errors.DataLossError),
    ("rank 1000", hb.huge_rank, errors.DataLossError),
    ("size disagrees with shape", hb.size_disagrees_with_shape, errors.DataLossError),
    ("string claims 10**12 elements", hb.string_claims_1e12_elements, errors.DataLossError),
    ("string length 2**60", hb.string_length_claims_2_60, errors.DataLossError),
    ("string length varint never ends", hb.string_length_varint_never_ends,
     errors.DataLossError),
    ("variant claims 10**12 elements", hb.variant_claims_1e12_elements, errors.DataLossError),
    ("variant element is not a proto", hb.variant_element_is_not_a_proto, errors.DataLossError),
    ("partitioned [2**40, 2**40]", hb.partitioned_huge(2**40), errors.DataLossError),
    ("partitioned [2**16, 2**16] (16 GiB)", hb.partitioned_huge(2**16), errors.DataLossError),
    ("partitioned [2**33, 2**33]", hb.partitioned_huge(2**33), errors.DataLossError),
    ("unknown dtype enum 99", hb.unknown_dtype(99), errors.DataLossError),
    ("DT_INVALID", hb.unknown_dtype(0), errors.DataLossError),
    ("DT_RESOURCE", hb.unknown_dtype(20), errors.DataLossError),
    ("a _REF dtype", hb.unknown_dtype(101), errors.DataLossError),
    ("shard_id beyond num_shards", hb.shard_beyond_num_shards, errors.DataLossError),
    ("negative shard_id", hb.negative_shard, errors.DataLossError),
    ("missing data file", hb.missing_data_file, errors.NotFoundError),
    ("missing second shard", hb.missing_second_shard, errors.NotFoundError),
    ("slices do not cover the tensor",
     hb.partitioned([((0, 2), (0, -1)), ((3, 1), (0, -1))]), errors.InvalidArgumentError),
    ("overlapping slices", hb.partitioned([((0, 3), (0, -1)), ((2, 2), (0, -1))]),
     errors.DataLossError),
    ("listed slice has no entry",
     hb.partitioned([((0, 2), (0, -1)), ((2, 2), (0, -1))], stored=[((0, 2), (0, -1))]),
     errors.DataLossError),
    ("slice rank differs from the shape", hb.partitioned([((0, 4),)]), errors.DataLossError),
    ("slice extent outside the shape", hb.slice_extent_outside_shape, errors.DataLossError),
    ("slice entry with the wrong shape", hb.partitioned_slice_with_wrong_shape,
     errors.DataLossError),
    ("no header entry", hb.header_missing, errors.DataLossError),
    ("header does not parse", hb.header_garbage, errors.DataLossError),
    ("entry does not parse", hb.entry_garbage, errors.DataLossError),
    ("header num_shards 0", hb.header_num_shards(0), errors.DataLossError),
    ("header num_shards -1", hb.header_num_shards(-1), errors.DataLossError),
    ("index is a MetaGraphDef", hb.index_is_a_meta_graph, errors.DataLossError),
    ("index is empty", hb.index_empty, errors.DataLossError),
    ("index is missing", hb.index_missing, errors.NotFoundError),
    ("index is a directory", hb.index_is_a_directory, errors.OpError),
    ("restart count 2**32-1", hb.restart_count(2**32 - 1), errors.DataLossError),
    ("restart count 0", hb.restart_count(0), errors.DataLossError),
    ("restart offset outside the block", hb.restart_offset_outside(), errors.DataLossError),
    ("block shorter than its restart count", hb.block_shorter_than_restart_count(),
     errors.DataLossError),
    ("block entry varint never ends", hb.block_entry_varint_never_ends(), errors.DataLossError),
    ("block entry overruns the block", hb.block_entry_overruns(), errors.DataLossError),
    ("block entry shares more than the previous key", hb.block_entry_shares_too_much(),
     errors.DataLossError),
    ("keys out of order", hb.keys_out_of_order(), errors.DataLossError),
    ("keys repeat across blocks", hb.keys_repeat_across_blocks(), errors.DataLossError),
    ("index handle points past EOF", hb.index_handle_past_eof(), errors.DataLossError),
    ("index handle varint never ends", hb.index_handle_varint_never_ends(),
     errors.DataLossError),
    ("footer handle points past EOF", hb.footer_handle_past_eof(), errors.DataLossError),
    ("footer varints never end", hb.footer_varint_never_ends(), errors.DataLossError),
    ("footer handle size 2**64-1", hb.footer_huge_size(), errors.DataLossError),
    ("compression type 7", hb.compression(7), errors.DataLossError),
    ("compression type 2", hb.compression(2), errors.DataLossError),
    ("snappy block longer than it claims",
     hb.compression(1, lambda raw: snappy_literals(raw, len(raw) - 1)), errors.DataLossError),
    ("snappy block shorter than it claims",
     hb.compression(1, lambda raw: snappy_literals(raw, len(raw) + 10)), errors.DataLossError),
    ("snappy block claims 4 GiB",
     hb.compression(1, lambda raw: snappy_literals(raw, 2**32 - 1)), errors.DataLossError),
    ("snappy block claims 2 GiB",
     hb.compression(1, lambda raw: snappy_literals(raw, 2**31)), errors.DataLossError),
    ("snappy block that is not snappy", hb.compression(1, lambda raw: raw),
     errors.DataLossError),
    ("snappy length varint never ends", hb.compression(1, lambda raw: b"\xff" * 8),
     errors.DataLossError),
]


@pytest.mark.parametrize("case,build,expected", HOSTILE, ids=[row[0] for row in HOSTILE])
def test_hostile_bundle(tmp_path, case, build, expected):
    prefix = str(tmp_path / "ck")
    name = build(prefix)
    if name is None:
        error = hb.small_and_quick(expected, lambda: BundleReader(prefix))
        assert prefix + ".index" in str(error)
        return
    with BundleReader(prefix) as reader:
        assert name in reader.names()
        error = hb.small_and_quick(expected, lambda: reader.get_tensor(name))
    message = str(error)
    assert name in message, message
    assert prefix in message, message


def test_hostile_metadata_calls_raise_typed_errors(tmp_path):
    prefix = str(tmp_path / "ck")
    hb.unknown_dtype(99)(prefix)
    with BundleReader(prefix) as reader:
        with pytest.raises(errors.DataLossError, match="99"):
            reader.dtype("x")
        assert reader.shape("x") == (1,)
    hb.negative_dim(prefix)
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
    hb.partitioned([((0, 2), (0, -1)), ((3, 1), (0, -1))])(prefix)
    with BundleReader(prefix) as reader:
        part = reader.get_slice("x", TensorSlice(((0, 2), (0, -1))))
        assert part.tolist() == [[0.0, 1.0], [2.0, 3.0]]
        with pytest.raises(errors.InvalidArgumentError, match="sufficient slices"):
            reader.get_slice("x", TensorSlice(((1, 2), (0, -1))))


def test_a_rank_above_numpys_limit_is_listed_and_refused_typed_when_read(tmp_path):
    # make fuzz input v2_index #51348: an entry of rank 100 (TensorFlow allows 254; NumPy
    # arrays have at most 64 dimensions) made get_tensor raise NumPy's ValueError.
    prefix = str(tmp_path / "ck")
    entry, data = f32_entry([1.5])
    entry.shape.CopyFrom(shape(*[1] * 100))
    write_bundle(prefix, {"deep": entry}, data)
    with BundleReader(prefix) as reader:
        assert reader.shape("deep") == (1,) * 100      # listing it is fine
        with pytest.raises(errors.UnimplementedError, match=r"'deep'.*ck\.index.*rank 100"):
            reader.get_tensor("deep")


@pytest.mark.parametrize("bad", [b"\x0a\xff\xff\xff\xff",          # does not parse
                                 f32_entry([1.0], shard_id=3)[0]])  # names a missing shard
def test_one_bad_entry_loses_no_other_tensor(tmp_path, bad):
    """Entries are parsed when first used: a bad one raises DataLossError naming it,
    whether it is read alone, after enough lookups to parse the rest in one call, or
    with all of them, and every other tensor still reads back."""
    prefix = str(tmp_path / "ck")
    entries, data = {}, b""
    for i in range(100):
        entry, raw = f32_entry([float(i), -float(i)], offset=len(data))
        entries[f"w{i:03d}"] = entry
        data += raw
    entries["w050"] = bad
    write_bundle(prefix, entries, data)
    with BundleReader(prefix) as reader:
        assert len(reader.names()) == 100
        for i in range(100):
            name = f"w{i:03d}"
            if name == "w050":
                with pytest.raises(errors.DataLossError, match="'w050'") as info:
                    reader.get_tensor(name)
                assert prefix in str(info.value)
            else:
                assert reader.get_tensor(name).tolist() == [float(i), -float(i)]
        with pytest.raises(errors.DataLossError, match="'w050'"):
            reader.raw_entries()
