"""The space/batch/depth rearrangements against real TensorFlow: ``tf.space_to_batch_nd``,
``tf.batch_to_space_nd``, TF1's ``tf.space_to_batch`` / ``tf.batch_to_space`` (square
blocks), ``tf.space_to_depth`` / ``tf.depth_to_space`` and their raw 4-D ops. Each row
must build TensorFlow's exact GraphDef, with its static shapes, and give its values; the
gradient rows compare the gradient subgraph node for node too; bad blocks, paddings and
crops fail as TensorFlow's do, at build time when the shapes are known and at run time when
they are fed.
"""
from __future__ import annotations

import numpy as np
import pytest

import flowsaver
from parity import (assert_close, assert_same_graph_def, build_both, check_row, run_built,
                    run_raw_op, tf1_mode)

RNG = np.random.default_rng(41)


def arr(*shape, dtype=np.float32):
    return RNG.uniform(-2, 2, shape).astype(dtype)


IMG = arr(2, 4, 6, 3)
CASES = [
    ("space_to_batch_nd", lambda api, x: api.space_to_batch_nd(x, [2, 3], [[0, 0], [1, 2]]),
     [IMG]),
    ("space_to_batch_nd_one_dim_named", lambda api, x: api.space_to_batch_nd(
        x, [2], [[1, 1]], name="s2b"), [arr(3, 4, 5)]),
    ("space_to_batch_nd_fed_block", lambda api, x, b, p: api.space_to_batch_nd(x, b, p),
     [IMG, np.array([2, 2], np.int32), np.array([[0, 0], [1, 1]], np.int32)]),
    ("batch_to_space_nd", lambda api, x: api.batch_to_space_nd(x, [2, 2], [[0, 1], [1, 0]]),
     [arr(8, 3, 2, 2)]),
    ("batch_to_space_nd_int64", lambda api, x: api.batch_to_space_nd(
        x, np.array([3, 1], np.int64), np.array([[1, 1], [0, 0]], np.int64)),
     [arr(6, 2, 2, 1)]),
    ("space_to_batch_v1", lambda api, x: api.space_to_batch(x, [[1, 1], [0, 0]], 2), [IMG]),
    ("space_to_batch_v1_block_shape", lambda api, x: api.nn.space_to_batch(
        x, [[0, 0], [0, 0]], block_shape=2, name="v1"), [IMG]),
    ("batch_to_space_v1", lambda api, x: api.batch_to_space(x, [[0, 1], [1, 0]], 2),
     [arr(8, 2, 3, 2)]),
    ("space_to_depth", lambda api, x: api.space_to_depth(x, 2), [IMG]),
    ("space_to_depth_nn_named", lambda api, x: api.nn.space_to_depth(x, 2, name="s2d"),
     [arr(1, 6, 4, 2, dtype=np.float64)]),
    ("depth_to_space", lambda api, x: api.depth_to_space(x, 2), [arr(2, 2, 3, 8)]),
    ("depth_to_space_int", lambda api, x: api.nn.depth_to_space(x, 3),
     [RNG.integers(-9, 9, (1, 2, 2, 18)).astype(np.int32)]),
    ("round_trip", lambda api, x: api.depth_to_space(api.space_to_depth(x, 2), 2), [IMG]),
]


def _static(t):
    return t.shape.as_list() if t.shape.ndims is not None else None


@pytest.mark.parametrize("name,fn,inputs", CASES, ids=[c[0] for c in CASES])
def test_op_matches_tensorflow(tf, name, fn, inputs):
    ours, theirs = check_row(tf, fn, inputs, rtol=0, atol=0)
    assert _static(ours) == _static(theirs)


GRADS = [
    ("space_to_batch_nd", lambda api, x: api.space_to_batch_nd(x, [2, 3], [[0, 0], [1, 2]])),
    ("batch_to_space_nd", lambda api, x: api.batch_to_space_nd(
        api.space_to_batch_nd(x, [2, 2], [[0, 0], [0, 0]]), [2, 2], [[1, 1], [0, 0]])),
    ("space_to_batch_v1", lambda api, x: api.space_to_batch(x, [[0, 0], [1, 1]], 2)),
    ("space_to_depth", lambda api, x: api.space_to_depth(x, 2)),
    ("depth_to_space", lambda api, x: api.depth_to_space(api.space_to_depth(x, 2) * 2.0, 2)),
]


@pytest.mark.parametrize("name,fn", GRADS, ids=[g[0] for g in GRADS])
def test_gradients_match_tensorflow(tf, name, fn):
    def build(api):
        x = api.placeholder(np.float32, IMG.shape, name="in0")
        y = fn(api, x)
        return api.gradients(y * y, [x])
    built = build_both(tf, build)
    assert_same_graph_def(built[0][0], built[1][0])
    ours, theirs = run_built(tf, built, {"in0": IMG})
    assert_close(ours, theirs, rtol=1e-6, atol=1e-6)


def test_raw_four_dimensional_ops_match_tensorflow(tf):
    """The v1 ops themselves (TF1's Python functions build the ND ones): SpaceToBatch and
    BatchToSpace with a block_size attr, and NCHW SpaceToDepth checked through NHWC (TF's
    CPU kernel takes NHWC only)."""
    ours, theirs = run_raw_op(tf, "SpaceToBatch", {
        "input": IMG, "paddings": np.array([[1, 1], [0, 2]], np.int32)}, {"block_size": 2})
    assert_close(ours, theirs, rtol=0, atol=0)
    ours, theirs = run_raw_op(tf, "BatchToSpace", {
        "input": arr(8, 2, 3, 2), "crops": np.array([[0, 1], [2, 0]], np.int64)},
        {"block_size": 2})
    assert_close(ours, theirs, rtol=0, atol=0)
    with flowsaver.Graph().as_default():
        x = flowsaver.constant(IMG.transpose(0, 3, 1, 2))
        nchw = flowsaver.space_to_depth(x, 2, data_format="NCHW")
        back = flowsaver.depth_to_space(nchw, 2, data_format="NCHW")
        assert nchw.shape.as_list() == [2, 12, 2, 3]
        got, again = flowsaver.Session().run([nchw, back])
    want = tf.nn.space_to_depth(IMG, 2).numpy()
    np.testing.assert_array_equal(got.transpose(0, 2, 3, 1), want)
    np.testing.assert_array_equal(again, IMG.transpose(0, 3, 1, 2))


BUILD_ERRORS = [
    ("space_to_batch_not_divisible", lambda api, x: api.space_to_batch_nd(
        x, [3, 2], [[0, 0], [0, 0]])),
    ("space_to_batch_negative_padding", lambda api, x: api.space_to_batch_nd(
        x, [2, 2], [[0, -2], [0, 0]])),
    ("space_to_batch_padding_shape", lambda api, x: api.space_to_batch_nd(
        x, [2, 2], [[0, 0]])),
    ("space_to_batch_rank", lambda api, x: api.space_to_batch_nd(
        x, [1, 1, 1, 1], [[0, 0]] * 4)),
    ("batch_to_space_batch", lambda api, x: api.batch_to_space_nd(
        x, [2, 2], [[0, 0], [0, 0]])),
    ("batch_to_space_crops", lambda api, x: api.batch_to_space_nd(
        x, [2, 1], [[5, 5], [0, 0]])),
    ("space_to_depth_not_divisible", lambda api, x: api.space_to_depth(x, 4)),
    ("depth_to_space_not_divisible", lambda api, x: api.depth_to_space(x, 2)),
]


@pytest.mark.parametrize("name,fn", BUILD_ERRORS, ids=[e[0] for e in BUILD_ERRORS])
def test_build_errors_match_tensorflow(tf, name, fn):
    with flowsaver.Graph().as_default(), pytest.raises(ValueError) as ours:
        fn(flowsaver, flowsaver.placeholder(np.float32, IMG.shape))
    with tf1_mode(tf) as v1, v1.Graph().as_default(), pytest.raises(ValueError):
        fn(v1, v1.placeholder(np.float32, IMG.shape))
    assert ours.value.args[0]


RUN_ERRORS = [  # the blocks, paddings and crops fed: checked by the kernels
    ("SpaceToBatchND", [3, 2], [[0, 0], [0, 0]], "not divisible by block_shape[0]=3"),
    ("SpaceToBatchND", [2, 2], [[0, -1], [0, 0]], "must be non-negative"),
    ("SpaceToBatchND", [0, 2], [[0, 0], [0, 0]], "must be positive"),
    ("BatchToSpaceND", [2, 2], [[0, 0], [0, 0]], "is not divisible by product of block"),
    ("BatchToSpaceND", [2, 1], [[5, 5], [0, 0]], "Cropped size must be non-negative"),
]


@pytest.mark.parametrize("op_type,block,amounts,words", RUN_ERRORS,
                         ids=[f"{r[0]}-{r[3][:20]}" for r in RUN_ERRORS])
def test_run_errors_match_tensorflow(tf, op_type, block, amounts, words):
    def build(api):
        x = api.placeholder(np.float32, None, name="in0")
        b = api.placeholder(np.int32, [2], name="in1")
        p = api.placeholder(np.int32, [2, 2], name="in2")
        fn = api.space_to_batch_nd if op_type == "SpaceToBatchND" else api.batch_to_space_nd
        return fn(x, b, p)
    feeds = {"in0": IMG, "in1": np.array(block, np.int32), "in2": np.array(amounts, np.int32)}
    built = build_both(tf, build)
    with pytest.raises(tf.errors.InvalidArgumentError):
        _run_theirs(tf, built, feeds)
    with pytest.raises(flowsaver.errors.InvalidArgumentError) as ours:
        with flowsaver.Session(graph=built[0][0]) as sess:
            sess.run(built[0][1], {built[0][0].get_tensor_by_name(k + ":0"): v
                                   for k, v in feeds.items()})
    assert words in str(ours.value)


def _run_theirs(tf, built, feeds):
    graph, fetch = built[1]
    with tf1_mode(tf) as v1, v1.Session(graph=graph) as sess:
        sess.run(fetch, {graph.get_tensor_by_name(k + ":0"): v for k, v in feeds.items()})
