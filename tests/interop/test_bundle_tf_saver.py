"""TF1 graph ``Saver`` checkpoints, both ways: flowsaver reads a Saver's checkpoint (with a
partitioned variable, and a ``Saver(sharded=True)`` over two CPU devices), and the same
variables added in the Saver's order give identical ``.index`` and ``.data`` files."""
from __future__ import annotations

import os

import ml_dtypes
import numpy as np
import pytest
from test_helpers import alternate_cpus

import flowsaver.train as fst
from bundle_cases import assert_reads_like_tf, assert_same_files, assert_same_tensor, box, \
    restore_slice
from flowsaver.format.bundle_read import BundleReader
from flowsaver.format.bundle_write import BundleWriter, save_tensors
from flowsaver.format.merge import ShardedBundleWriter
from flowsaver.format.slices import TensorSlice


def sliced_initializer(tf, full: np.ndarray):
    """A get_variable initializer giving each partition its part of ``full``."""
    def init(shape, dtype=None, partition_info=None):
        offsets = partition_info.var_offset if partition_info else [0] * len(shape)
        return tf.constant(full[tuple(slice(o, o + n) for o, n in zip(offsets, shape))],
                           dtype=dtype)
    return init


# Variables of the TF1 Saver checkpoint: names share prefixes, 21 keys > one restart run.
SAVER_VARIABLES = {
    "layer1/kernel": np.arange(6, dtype=np.float32).reshape(2, 3) / 7,
    "layer1/kernel/Momentum": np.full((2, 3), -0.0, np.float32),
    "layer1/bias": np.array([np.nan, np.inf, 1.0], np.float32),
    "layer1/bias/Momentum": np.zeros(3, np.float32),
    "layer2/kernel": np.arange(4, dtype=np.float64).reshape(2, 2),
    "layer2/kernel/Momentum": np.ones((2, 2), np.float64),
    "layer2/bias": np.array([1, 2], np.float16),
    "layer2/bias/Momentum": np.array([-1, 2], np.float16),
    "layer2/scale": np.array([1.5, -2.25], ml_dtypes.bfloat16),
    "counts/int8": np.array([-128, 127], np.int8),
    "counts/uint8": np.array([0, 255], np.uint8),
    "counts/int16": np.array([-32768, 32767], np.int16),
    "counts/uint16": np.array([0, 65535], np.uint16),
    "counts/int32": np.array([-(2 ** 31), 2 ** 31 - 1], np.int32),
    "counts/int64": np.array([-(2 ** 63), 2 ** 63 - 1], np.int64),
    "flags": np.array([True, False, True]),
    "phase": np.array([1 + 2j, -0.0 - 1j], np.complex64),
    "phase128": np.array([np.inf + 0j], np.complex128),
    "vocab": np.array([b"", b"\xff\x00", b"w" * 150], dtype=object),
    "global_step": np.int64(12345),
}
SAVER_PARTITIONED = ("embedding", np.arange(28, dtype=np.float32).reshape(7, 4) * 0.25, 3)


def tf1_saver_save(tf, prefix: str, sharded: bool = False) -> list[tuple]:
    """Saves SAVER_VARIABLES and the partitioned variable with a TF1 graph Saver.

    Ref variables for half of them, resource variables for the rest; with ``sharded``,
    the variables alternate between /cpu:0 and /cpu:1, partitions included, so the
    partitioned variable's slices land in different shards.

    Returns:
      ``(checkpoint key, TensorSlice or None, device)`` of every saved variable (part).
    """
    tf1 = tf.compat.v1
    alternate = alternate_cpus()

    graph = tf.Graph()
    with graph.as_default(), tf1.device(alternate if sharded else ""):
        for i, (name, value) in enumerate(SAVER_VARIABLES.items()):
            dtype = tf.string if value.dtype == object else tf.as_dtype(value.dtype)
            tf1.get_variable(name, initializer=tf.constant(value, dtype=dtype),
                             use_resource=bool(i % 2))
        name, full, parts = SAVER_PARTITIONED
        tf1.get_variable(name, shape=full.shape, dtype=tf.float32,
                         initializer=sliced_initializer(tf, full),
                         partitioner=tf1.fixed_size_partitioner(parts))
        placement = []
        for var in tf1.global_variables():
            info = var._save_slice_info
            if info is None:
                placement.append((var.op.name, None, var.device))
            else:
                tslice = TensorSlice(tuple(zip(info.var_offset, info.var_shape)))
                placement.append((info.full_name, tslice, var.device))
        saver = tf1.train.Saver(sharded=sharded)
        config = tf1.ConfigProto(device_count={"CPU": 2})
        with tf1.Session(graph=graph, config=config) as sess:
            sess.run(tf1.global_variables_initializer())
            saver.save(sess, prefix, write_meta_graph=False, write_state=False)
    return placement


def add_in_saver_order(writer: BundleWriter, placement) -> None:
    """Adds variables as TF's Saver does: sorted by key, a partitioned one's parts in order."""
    name, full, _ = SAVER_PARTITIONED
    for key, tslice, _ in sorted(placement, key=lambda p: (p[0], p[1] and p[1].extents)):
        if tslice is None:
            writer.add(key, SAVER_VARIABLES[key])
        else:
            writer.add_slice(key, full.shape, tslice, full[box(tslice, full.shape)])


@pytest.fixture(scope="module")
def tf1_checkpoint(tf, tmp_path_factory):
    """(prefix, placement) of one TF1 graph Saver save."""
    prefix = str(tmp_path_factory.mktemp("tf1_saver") / "model.ckpt")
    return prefix, tf1_saver_save(tf, prefix)


@pytest.fixture(scope="module")
def tf1_sharded_checkpoint(tf, tmp_path_factory):
    """(prefix, placement) of one TF1 graph ``Saver(sharded=True)`` save over two CPUs."""
    prefix = str(tmp_path_factory.mktemp("tf1_sharded") / "model.ckpt")
    return prefix, tf1_saver_save(tf, prefix, sharded=True)


def test_flowsaver_reads_tf1_saver(tf, tf1_checkpoint):
    prefix, _ = tf1_checkpoint
    assert_reads_like_tf(tf, prefix)
    ours = fst.load_checkpoint(prefix)
    for key, value in SAVER_VARIABLES.items():
        assert_same_tensor(ours.get_tensor(key), value, key)
    name, full, _ = SAVER_PARTITIONED
    assert_same_tensor(ours.get_tensor(name), full, name)
    assert len(BundleReader(prefix).raw_entries()[name.encode()].slices) == 3


def test_flowsaver_reads_tf1_sharded_saver(tf, tf1_sharded_checkpoint):
    prefix, placement = tf1_sharded_checkpoint
    assert {device for _, _, device in placement} == {"/device:CPU:0", "/device:CPU:1"}
    reader = BundleReader(prefix)
    assert reader.header.num_shards == 2
    shards = {e.shard_id for k, e in reader.raw_entries().items() if k.startswith(b"\x00")}
    assert shards == {0, 1}  # the partitioned variable is spread over both devices
    assert_reads_like_tf(tf, prefix)
    name, full, _ = SAVER_PARTITIONED
    assert_same_tensor(fst.load_variable(prefix, name), full, name)
    spec = TensorSlice.parse("2,4:1,2")
    assert_same_tensor(fst.load_checkpoint(prefix).get_slice(name, spec),
                       restore_slice(tf, prefix, name, "float32", full.shape, str(spec)), name)


# --- byte identity -------------------------------------------------------------------------

def test_bundle_writer_matches_tf1_saver_bytes(tf, tf1_checkpoint, tmp_path):
    theirs, placement = tf1_checkpoint
    ours = str(tmp_path / "model.ckpt")
    with BundleWriter(ours) as writer:
        add_in_saver_order(writer, placement)
    assert_same_files(ours, theirs)


def test_sharded_writer_matches_tf1_sharded_saver_bytes(tf, tf1_sharded_checkpoint, tmp_path):
    """One part per device, devices in sorted order, then the merge: the same three files."""
    theirs, placement = tf1_sharded_checkpoint
    ours = str(tmp_path / "model.ckpt")
    devices = sorted({device for _, _, device in placement})
    writer = ShardedBundleWriter(ours, len(devices))
    for shard, device in enumerate(devices):
        add_in_saver_order(writer.shard(shard), [p for p in placement if p[2] == device])
    writer.finish()
    assert_same_files(ours, theirs, num_shards=2)
    assert sorted(os.listdir(tmp_path)) == sorted(os.listdir(os.path.dirname(theirs)))


def test_save_tensors_matches_tf1_saver_bytes_unpartitioned(tf, tmp_path):
    """save_tensors (sorted keys) against a Saver over the same plain variables."""
    tf1 = tf.compat.v1
    theirs = str(tmp_path / "tf" / "model")
    os.makedirs(os.path.dirname(theirs))
    graph = tf.Graph()
    with graph.as_default():
        for name, value in SAVER_VARIABLES.items():
            dtype = tf.string if value.dtype == object else tf.as_dtype(value.dtype)
            tf1.get_variable(name, initializer=tf.constant(value, dtype=dtype))
        saver = tf1.train.Saver()
        with tf1.Session(graph=graph) as sess:
            sess.run(tf1.global_variables_initializer())
            saver.save(sess, theirs, write_meta_graph=False, write_state=False)
    ours = save_tensors(str(tmp_path / "ours" / "model"), SAVER_VARIABLES)
    assert_same_files(ours, theirs)
