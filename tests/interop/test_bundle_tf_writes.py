"""TensorFlow reads what flowsaver writes: every dtype (extreme values, scalars, empty and
3-D tensors), partitioned tensors (``add_slice``) and sharded checkpoints, through
``tf.train.load_checkpoint`` and through the ``RestoreV2`` op, sub-slices included."""
from __future__ import annotations

import numpy as np
import pytest

import flowsaver.train as fst
from bundle_cases import (ALL_DTYPES, PARTITIONED, REFUSED_PARTITIONS, SLICE_REFUSED_MESSAGE,
                          TF_SLICE_REFUSED, assert_maps_equal, assert_same_tensor, box,
                          restore_slice, sample_tensors, savev2_slices, tf_dtype,
                          write_partitioned)
from flowsaver.format.bundle_write import BundleWriter
from flowsaver.format.merge import ShardedBundleWriter
from flowsaver.format.slices import TensorSlice


@pytest.mark.parametrize("name", ALL_DTYPES)
def test_tf_reads_flowsaver_dtype(tf, tmp_path, name):
    tensors = sample_tensors(name)
    prefix = str(tmp_path / "ck")
    with BundleWriter(prefix) as writer:
        for key, value in tensors.items():
            writer.add(key, value, dtype=name)

    tf_reader = tf.train.load_checkpoint(prefix)
    for key, value in tensors.items():
        assert_same_tensor(tf_reader.get_tensor(key), value, key)
    assert {v.name for v in tf_reader.get_variable_to_dtype_map().values()} == {name}
    ours = fst.load_checkpoint(prefix)
    assert_maps_equal(tf_reader, ours)
    for key in tensors:
        assert_same_tensor(ours.get_tensor(key), tf_reader.get_tensor(key), key)

    keys = list(tensors)
    restored = tf.raw_ops.RestoreV2(prefix=prefix, tensor_names=keys,
                                    shape_and_slices=[""] * len(keys),
                                    dtypes=[tf_dtype(tf, name)] * len(keys))
    for key, tensor in zip(keys, restored):
        assert_same_tensor(tensor.numpy(), tensors[key], key)
    # A tensor stored whole reads back as a slice too, for the dtypes TF slices.
    cube = tensors[f"{name}/cube"]
    if name in TF_SLICE_REFUSED:
        with pytest.raises(tf.errors.InvalidArgumentError, match=SLICE_REFUSED_MESSAGE):
            restore_slice(tf, prefix, f"{name}/cube", name, cube.shape, "1,1:-:1,2")
    else:
        assert_same_tensor(
            restore_slice(tf, prefix, f"{name}/cube", name, cube.shape, "1,1:-:1,2"),
            cube[1:2, :, 1:3], "cube")


@pytest.mark.parametrize("case", PARTITIONED, ids=[c[0] for c in PARTITIONED])
def test_tf_assembles_flowsaver_slices(tf, tmp_path, case):
    prefix = str(tmp_path / "ck")
    full = write_partitioned(prefix, [case])[case[0]]
    key, name, shape, _, reads = case

    tf_reader = tf.train.load_checkpoint(prefix)
    assert list(tf_reader.get_variable_to_shape_map()) == [key]  # slice keys hidden
    assert_same_tensor(tf_reader.get_tensor(key), full, key)
    assert_maps_equal(tf_reader, fst.load_checkpoint(prefix))

    (whole,) = tf.raw_ops.RestoreV2(prefix=prefix, tensor_names=[key], shape_and_slices=[""],
                                    dtypes=[tf_dtype(tf, name)])
    assert_same_tensor(whole.numpy(), full, key)
    for spec in reads:
        expected = full[box(TensorSlice.parse(spec), shape)]
        assert_same_tensor(restore_slice(tf, prefix, key, name, shape, spec), expected, spec)
        assert_same_tensor(fst.load_checkpoint(prefix).get_slice(key, TensorSlice.parse(spec)),
                           expected, spec)


@pytest.mark.parametrize("writer", ["flowsaver", "tensorflow"])
@pytest.mark.parametrize("case", REFUSED_PARTITIONS, ids=TF_SLICE_REFUSED)
def test_partitioned_dtypes_tf_cannot_read_back(tf, tmp_path, case, writer):
    key, name, shape, stored, reads = case
    prefix = str(tmp_path / "ck")
    if writer == "flowsaver":
        full = write_partitioned(prefix, [case])[key]
    else:
        full = savev2_slices(tf, prefix, case)
    tf_reader = tf.train.load_checkpoint(prefix)
    assert tf_reader.get_variable_to_shape_map() == {key: list(shape)}
    with pytest.raises(ValueError, match=SLICE_REFUSED_MESSAGE):
        tf_reader.get_tensor(key)
    with pytest.raises(tf.errors.InvalidArgumentError, match=SLICE_REFUSED_MESSAGE):
        restore_slice(tf, prefix, key, name, shape, reads[0])
    ours = fst.load_checkpoint(prefix)
    assert_same_tensor(ours.get_tensor(key), full, key)
    expected = full[box(TensorSlice.parse(reads[0]), shape)]
    assert_same_tensor(ours.get_slice(key, TensorSlice.parse(reads[0])), expected, reads[0])


def test_tf_reads_flowsaver_sharded(tf, tmp_path):
    prefix = str(tmp_path / "sharded")
    emb = np.arange(21, dtype=np.float32).reshape(7, 3) - 10.5
    plain = {"a": np.float64([[1.5, -0.0]]), "b": np.array([b"x", b""], dtype=object),
             "c": np.int64(-(2 ** 63)), "d/e": np.zeros((0,), np.uint16)}
    writer = ShardedBundleWriter(prefix, 3)
    writer.shard(0).add("a", plain["a"])
    writer.shard(2).add("b", plain["b"])
    writer.shard(1).add("c", plain["c"])
    writer.shard(1).add("d/e", plain["d/e"])
    for shard, spec in [(2, "0,3:-"), (0, "3,2:-"), (1, "5,2:-")]:
        tslice = TensorSlice.parse(spec)
        writer.shard(shard).add_slice("emb", (7, 3), tslice, emb[box(tslice, (7, 3))])
    writer.finish()

    tf_reader = tf.train.load_checkpoint(prefix)
    for key, value in {**plain, "emb": emb}.items():
        assert_same_tensor(tf_reader.get_tensor(key), value, key)
    assert_maps_equal(tf_reader, fst.load_checkpoint(prefix))
    assert_same_tensor(restore_slice(tf, prefix, "emb", "float32", (7, 3), "2,4:1,2"),
                       emb[2:6, 1:3], "emb")
    restored = tf.raw_ops.RestoreV2(prefix=prefix, tensor_names=["b", "c"],
                                    shape_and_slices=["", ""], dtypes=[tf.string, tf.int64])
    assert_same_tensor(restored[0].numpy(), plain["b"], "b")
    assert_same_tensor(restored[1].numpy(), plain["c"], "c")
