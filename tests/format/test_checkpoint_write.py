"""Writing a checkpoint from values in memory, shards in parallel (checkpoint_write.py):
the bytes are those of part bundles joined by merge_bundles (MergeV2Checkpoints), and a
failure in any shard leaves no file behind."""
import os

import numpy as np
import pytest

from flowsaver import errors
from flowsaver.format.bundle_read import BundleReader
from flowsaver.format.checkpoint_write import TensorToSave, write_checkpoint
from flowsaver.format.merge import ShardedBundleWriter
from flowsaver.format.slices import parse_shape_and_slice

SHARDS = [
    [TensorToSave("a", "", np.arange(6, dtype=np.float32).reshape(2, 3)),
     TensorToSave("emb", "4 2 0,2:-", np.ones((2, 2), np.float64)),
     TensorToSave("s", "", np.array([b"x", b"yz"], dtype=object))],
    [TensorToSave("b", "", np.arange(3, dtype=np.int64)),
     TensorToSave("emb", "4 2 2,2:-", np.full((2, 2), 2.0))],
    [TensorToSave("c", "", np.float16(1.5))],
]


def _files(directory) -> dict:
    return {name: (directory / name).read_bytes() for name in sorted(os.listdir(directory))}


def test_shards_written_at_once_are_the_bytes_of_merged_parts(tmp_path):
    (tmp_path / "direct").mkdir()
    (tmp_path / "merged").mkdir()
    write_checkpoint(str(tmp_path / "direct" / "ck"), SHARDS)
    writer = ShardedBundleWriter(str(tmp_path / "merged" / "ck"), len(SHARDS))
    for k, shard in enumerate(SHARDS):
        for t in shard:
            if t.slice_spec:
                full, tslice = parse_shape_and_slice(t.slice_spec)
                writer.shard(k).add_slice(t.name, full, tslice, t.value)
            else:
                writer.shard(k).add(t.name, t.value)
    writer.finish()
    assert _files(tmp_path / "direct") == _files(tmp_path / "merged")
    reader = BundleReader(str(tmp_path / "direct" / "ck"))
    assert reader.get_tensor("emb").tolist() == [[1, 1], [1, 1], [2, 2], [2, 2]]
    assert reader.header.num_shards == 3


def test_a_failing_shard_leaves_no_file(tmp_path):
    bad = SHARDS[:2] + [[TensorToSave("c", "", np.float16(1.5)),
                         TensorToSave("a", "", np.zeros(2))]]   # "a" is in shard 0 too
    with pytest.raises(errors.InvalidArgumentError, match="Duplicate tensor"):
        write_checkpoint(str(tmp_path / "ck"), bad)
    assert os.listdir(tmp_path) == []
    with pytest.raises(errors.InvalidArgumentError):
        write_checkpoint(str(tmp_path / "ck"), [[TensorToSave("x", "9 9 0,1:-", np.ones(3))]])
    assert os.listdir(tmp_path) == []


def test_sync_writes_the_same_bytes(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    write_checkpoint(str(tmp_path / "a" / "ck"), SHARDS, sync=True)
    write_checkpoint(str(tmp_path / "b" / "ck"), SHARDS)
    assert _files(tmp_path / "a") == _files(tmp_path / "b")
