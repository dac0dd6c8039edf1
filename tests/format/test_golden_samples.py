"""Byte identity with every bundle real TensorFlow wrote: flowsaver re-writes each sample
(tests/fixtures/tf_samples) and must produce the same .index and data files, byte for byte."""
from __future__ import annotations

import glob
import os

import pytest

from fixture_paths import SAMPLES
from flowsaver.format.bundle_read import BundleReader
from flowsaver.format.bundle_write import BundleWriter
from flowsaver.format.merge import ShardedBundleWriter
from flowsaver.format.slices import decode_tensor_name_slice
from format_helpers import data_path, read

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
