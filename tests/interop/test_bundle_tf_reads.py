"""flowsaver reads what TensorFlow writes: eager ``SaveV2`` of every dtype (unsorted names,
so data order differs from key order), a TF2 object-based ``tf.train.Checkpoint``, and
empty string tensors. TF1 graph Savers are in test_bundle_tf_saver.py; the checkpoint state
file is covered by test_state_tf.py."""
from __future__ import annotations

import ml_dtypes
import numpy as np
import pytest

import flowsaver.train as fst
from bundle_cases import (ALL_DTYPES, EMPTY_STRING_SHAPES, assert_reads_like_tf,
                          assert_same_files, assert_same_tensor, sample_tensors, savev2)
from flowsaver.format.bundle_read import BundleReader
from flowsaver.format.bundle_write import BundleWriter, save_tensors


@pytest.mark.parametrize("name", ALL_DTYPES)
def test_flowsaver_reads_tf_savev2_dtype(tf, tmp_path, name):
    tensors = dict(reversed(sample_tensors(name).items()))
    prefix = str(tmp_path / "ck")
    savev2(tf, prefix, tensors, dict.fromkeys(tensors, name))

    assert_reads_like_tf(tf, prefix)
    ours = fst.load_checkpoint(prefix)
    for key, value in tensors.items():
        assert_same_tensor(ours.get_tensor(key), value, key)
        assert ours.get_variable_to_dtype_map()[key].name == name


def make_tf2_model(tf):
    """A tf.Module tree with variables of several dtypes, a dict and a list."""
    model = tf.Module()
    model.kernel = tf.Variable(np.arange(6, dtype=np.float32).reshape(3, 2))
    model.bias = tf.Variable(np.array([0.5, -0.0], np.float64))
    # A key with "." and "/" is escaped by TensorFlow as "a..b.Sc".
    model.table = {"a.b/c": tf.Variable(np.int16(-9)),
                   "words": tf.Variable(np.array([b"\xfe", b""], dtype=object))}
    model.stack = [tf.Variable(np.array([True])),
                   tf.Variable(np.array([1.5], ml_dtypes.bfloat16))]
    return model


def test_flowsaver_reads_tf2_object_checkpoint(tf, tmp_path):
    step = tf.Variable(7, dtype=tf.int64)
    ckpt = tf.train.Checkpoint(model=make_tf2_model(tf), step=step)
    prefix = ckpt.save(str(tmp_path / "ckpt"))

    assert_reads_like_tf(tf, prefix)
    listed = dict(fst.list_variables(prefix))
    assert listed["_CHECKPOINTABLE_OBJECT_GRAPH"] == []
    assert listed["model/table/a..b.Sc/.ATTRIBUTES/VARIABLE_VALUE"] == []
    assert fst.load_checkpoint(prefix).get_variable_to_dtype_map()[
        "_CHECKPOINTABLE_OBJECT_GRAPH"].name == "string"
    assert fst.latest_checkpoint(str(tmp_path)) == prefix
    # Rewriting every entry in TensorFlow's data order reproduces its files exactly.
    copy = str(tmp_path / "copy")
    rewrite_in_data_order(prefix, copy)
    assert_same_files(copy, prefix)


def rewrite_in_data_order(src: str, dst: str) -> None:
    """Copies a single-shard, unpartitioned bundle with flowsaver, in its data order."""
    reader = BundleReader(src)
    entries = sorted(reader.raw_entries().items(), key=lambda kv: kv[1].offset)
    with BundleWriter(dst) as writer:
        for key, entry in entries:
            writer.add(key.decode("utf-8", "surrogateescape"), reader.get_tensor(key),
                       dtype=entry.dtype)


@pytest.mark.parametrize("writer", ["tensorflow", "flowsaver"])
@pytest.mark.parametrize("shape", EMPTY_STRING_SHAPES)
def test_flowsaver_reads_empty_string_tensor(tf, tmp_path, shape, writer):
    """Empty string tensors written by either library read back in both."""
    prefix = str(tmp_path / "ck")
    tensors = {"empty": np.empty(shape, dtype=object)}
    if writer == "tensorflow":
        savev2(tf, prefix, tensors, {"empty": "string"})
    else:
        save_tensors(prefix, tensors)
    assert_reads_like_tf(tf, prefix)
