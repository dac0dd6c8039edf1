"""Issue 16's untyped exceptions and blow-ups in restoring and importing graphs, rebuilt
from the inputs the issue describes: a restore graph whose constants lie, a non-UTF-8
shared_name, and a 353-byte .meta whose Fill takes a 5e8-element constant shape.
"""
from __future__ import annotations

import time
import tracemalloc

import numpy as np
import pytest

import flowsaver as tf
from flowsaver import errors
from flowsaver.format.graph_protos import MetaGraphDef
from test_helpers import tensor_proto, time_limit

# Time bounds below are CPU seconds of this process (time.process_time), whatever else
# the machine is running; time_limit (wall clock) only stops a hang.

MB = 1 << 20


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    """``(checkpoint prefix, its MetaGraphDef)`` of one [3, 2] variable ``v``."""
    directory = tmp_path_factory.mktemp("saved")
    with tf.Graph().as_default():
        tf.Variable(np.arange(6, dtype=np.float32).reshape(3, 2), name="v")
        saver = tf.train.Saver()
        with tf.Session() as sess:
            sess.run(tf.global_variables_initializer())
            prefix = saver.save(sess, str(directory / "model"))
    with open(prefix + ".meta", "rb") as f:
        return prefix, MetaGraphDef.FromString(f.read())


def _node(meta, name):
    return next(n for n in meta.graph_def.node if n.name == name)


def _restore(tmp_path, saved, change):
    """Import the saved graph with ``change`` applied to it, and restore into it."""
    prefix, original = saved
    meta = MetaGraphDef()
    meta.CopyFrom(original)
    change(meta)
    path = tmp_path / "changed.meta"
    path.write_bytes(meta.SerializeToString())
    with tf.Graph().as_default(), time_limit(60):
        saver = tf.train.import_meta_graph(str(path))
        with tf.Session() as sess:
            saver.restore(sess, prefix)
            return sess.run("v:0")


@pytest.mark.parametrize("spec, problem", [
    ("3 x 0,1:-", "'x' is not an integer"),
    ("3 2 0,1", "rank"),
    ("3 2 0;1:-", "neither '-' nor 'start,length'"),
    ("3 2 0,9:-", "does not fit"),
    (" ".join(["1"] * 300) + " -", "more than a shape has"),
])
def test_restore_with_a_malformed_shape_and_slice(tmp_path, saved, spec, problem):
    def change(meta):
        _node(meta, "save/RestoreV2/shape_and_slices").attr["value"].tensor.string_val[0] = \
            spec.encode()
    with pytest.raises(errors.InvalidArgumentError) as info:
        _restore(tmp_path, saved, change)
    assert "'v'" in str(info.value) and problem in str(info.value)
    assert saved[0] in str(info.value)


def test_a_malformed_spec_is_also_a_value_error():
    from flowsaver.format.slices import parse_shape_and_slice
    with pytest.raises(ValueError, match="'x' is not an integer"):
        parse_shape_and_slice("3 x 0,1:-")


def test_restore_with_a_short_tensor_names_constant(tmp_path, saved):
    def change(meta):
        tensor = _node(meta, "save/RestoreV2/tensor_names").attr["value"].tensor
        del tensor.string_val[:]
        tensor.tensor_shape.dim[0].size = 0
    with pytest.raises(errors.InvalidArgumentError,
                       match=r"save/RestoreV2: tensor_names \(0 entries\).*each of the 1 "):
        _restore(tmp_path, saved, change)


def test_a_non_utf8_shared_name_still_names_the_variable(tmp_path, saved):
    def change(meta):
        _node(meta, "v").attr["shared_name"].s = b"\xff\xfe"
    np.testing.assert_array_equal(_restore(tmp_path, saved, change),
                                  np.arange(6, dtype=np.float32).reshape(3, 2))


def _fill_meta() -> bytes:
    """A tiny MetaGraphDef: Fill(dims=<5e8 int32 zeros, one stored value>, 1.0)."""
    meta = MetaGraphDef()
    meta.meta_info_def.tensorflow_version = "2.21.0"
    graph = meta.graph_def
    dims = graph.node.add(name="dims", op="Const")
    dims.attr["dtype"].type = 3
    dims.attr["value"].tensor.CopyFrom(tensor_proto(3, [500_000_000], int_val=[0]))
    value = graph.node.add(name="value", op="Const")
    value.attr["dtype"].type = 1
    value.attr["value"].tensor.CopyFrom(tensor_proto(1, [], float_val=[1.0]))
    fill = graph.node.add(name="fill", op="Fill", input=["dims", "value"])
    fill.attr["T"].type = 1
    fill.attr["index_type"].type = 3
    return meta.SerializeToString()


def test_import_a_fill_of_a_5e8_element_shape_constant(tmp_path):
    path = tmp_path / "fill.meta"
    path.write_bytes(_fill_meta())
    assert len(path.read_bytes()) < 400
    start = time.process_time()
    tracemalloc.start()
    try:
        with tf.Graph().as_default() as graph, time_limit(60):
            tf.train.import_meta_graph(str(path))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    # Before: a rank-5e8 shape was built (4 GB, over a minute). The shape stays unknown.
    assert peak < 16 * MB and time.process_time() - start < 20
    assert graph.get_tensor_by_name("fill:0").shape.ndims is None


def test_building_a_fill_of_a_5e8_element_shape_refuses_clearly():
    with tf.Graph().as_default():
        dims = tf.placeholder(tf.int32, [500_000_000])
        with pytest.raises(ValueError, match="500000000 elements.*at most 254 dimensions"):
            tf.fill(dims, 1.0)
        with pytest.raises(ValueError, match="at most 254 dimensions"):
            tf.reshape(tf.zeros([1]), tf.placeholder(tf.int32, [300]))


def test_an_invalid_graph_in_a_meta_file_raises_a_typed_value_error(tmp_path, saved):
    # The ~130 "bare value errors" of corrupt .meta files: TensorFlow raises ValueError,
    # flowsaver an InvalidArgumentError that is also one, naming the file and the node.
    meta = MetaGraphDef()
    meta.CopyFrom(saved[1])
    meta.graph_def.node.add().CopyFrom(_node(meta, "v"))
    path = tmp_path / "duplicate.meta"
    path.write_bytes(meta.SerializeToString())
    with tf.Graph().as_default():
        with pytest.raises(errors.InvalidArgumentError) as info:
            tf.train.import_meta_graph(str(path))
    assert isinstance(info.value, ValueError)
    assert str(path) in str(info.value) and "Node 'v' appears more than once" in str(info.value)


def test_a_state_file_naming_no_checkpoint_raises_a_typed_value_error(tmp_path):
    (tmp_path / "checkpoint").write_text('all_model_checkpoint_paths: "model-1"\n')
    with pytest.raises(errors.DataLossError) as info:
        tf.train.get_checkpoint_state(str(tmp_path))
    assert isinstance(info.value, ValueError)     # what TensorFlow raises
    assert str(tmp_path / "checkpoint") in str(info.value)
