"""``tf.losses`` against real TensorFlow: same GraphDef node for node, same values, the
same ``LOSSES``/``REGULARIZATION_LOSSES`` collections and totals, and the same gradients."""
from __future__ import annotations

import numpy as np
import pytest

import flowsaver
from parity import (assert_close, assert_same_graph_def, build_both, run_both, run_built,
                    tf1_mode)

RNG = np.random.default_rng(31)


def arr(*shape, low=-2.0, high=2.0, dtype=np.float32):
    return RNG.uniform(low, high, shape).astype(dtype)


ONEHOT = np.eye(3, dtype=np.float32)[[0, 2, 1, 2]]
PROBS = arr(4, 3, low=0.05, high=0.95)
LABELS01 = (arr(4, 3) > 0).astype(np.float32)
SPARSE = np.array([0, 2, 1, 2], np.int32)

CASES = [
    ("mse", lambda api, l, p: api.losses.mean_squared_error(l, p), [arr(4, 3), arr(4, 3)]),
    ("mse_weights_scope", lambda api, l, p, w: api.losses.mean_squared_error(
        l, p, weights=w, scope="mse"), [arr(4, 3), arr(4, 3), np.float32(0.5)]),
    ("mse_weight_rows", lambda api, l, p: api.losses.mean_squared_error(
        l, p, weights=api.constant([[1.0], [0.0], [2.0], [1.0]])), [arr(4, 3), arr(4, 3)]),
    ("mse_sum", lambda api, l, p: api.losses.mean_squared_error(
        l, p, reduction=api.losses.Reduction.SUM), [arr(4, 3), arr(4, 3)]),
    ("mse_mean", lambda api, l, p: api.losses.mean_squared_error(
        l, p, weights=2.0, reduction=api.losses.Reduction.MEAN), [arr(4, 3), arr(4, 3)]),
    ("mse_none", lambda api, l, p: api.losses.mean_squared_error(
        l, p, reduction=api.losses.Reduction.NONE), [arr(4, 3), arr(4, 3)]),
    ("mse_batch", lambda api, l, p: api.losses.mean_squared_error(
        l, p, reduction=api.losses.Reduction.SUM_OVER_BATCH_SIZE), [arr(4, 3), arr(4, 3)]),
    ("absolute_difference", lambda api, l, p: api.losses.absolute_difference(l, p),
     [arr(4, 3), arr(4, 3)]),
    ("log_loss", lambda api, l, p: api.losses.log_loss(l, p), [LABELS01, PROBS]),
    ("hinge_loss", lambda api, l, p: api.losses.hinge_loss(l, p), [LABELS01, arr(4, 3)]),
    ("huber_loss", lambda api, l, p: api.losses.huber_loss(l, p, delta=0.5),
     [arr(4, 3), arr(4, 3)]),
    ("softmax_xent", lambda api, l, x: api.losses.softmax_cross_entropy(l, x),
     [ONEHOT, arr(4, 3)]),
    ("softmax_xent_smoothing", lambda api, l, x: api.losses.softmax_cross_entropy(
        l, x, label_smoothing=0.1, weights=0.5), [ONEHOT, arr(4, 3)]),
    ("sparse_softmax_xent", lambda api, l, x: api.losses.sparse_softmax_cross_entropy(l, x),
     [SPARSE, arr(4, 3)]),
    ("sparse_softmax_xent_column", lambda api, l, x: api.losses.sparse_softmax_cross_entropy(
        l, x, weights=api.constant([1.0, 2.0, 0.0, 1.0])), [SPARSE.reshape(4, 1), arr(4, 3)]),
    ("sigmoid_xent", lambda api, l, x: api.losses.sigmoid_cross_entropy(l, x),
     [LABELS01, arr(4, 3)]),
    ("sigmoid_xent_smoothing", lambda api, l, x: api.losses.sigmoid_cross_entropy(
        l, x, label_smoothing=0.2, scope="bce"), [LABELS01, arr(4, 3)]),
    ("compute_weighted_loss", lambda api, l: api.losses.compute_weighted_loss(l),
     [arr(4, 3)]),
    ("unknown_batch", lambda api, l, p: api.losses.mean_squared_error(
        api.placeholder_with_default(l, [None, 3]), p), [arr(4, 3), arr(4, 3)]),
    ("div_no_nan", lambda api, x, y: api.div_no_nan(x, y * api.constant([1.0, 0.0, 1.0])),
     [arr(2, 3), arr(2, 3)]),
]


@pytest.mark.parametrize("name,fn,inputs", CASES, ids=[c[0] for c in CASES])
def test_loss_matches_tensorflow(tf, name, fn, inputs):
    def build(api):
        phs = [api.placeholder(a.dtype, a.shape, name=f"in{i}") for i, a in enumerate(inputs)]
        out = fn(api, *phs)
        grads = [g for g in api.gradients(out, phs) if g is not None]
        return [out, api.get_collection(api.GraphKeys.LOSSES)] + grads
    built = build_both(tf, build)
    assert_same_graph_def(built[0][0], built[1][0])
    ours, theirs = run_built(tf, built, {f"in{i}": a for i, a in enumerate(inputs)})
    assert_close(ours, theirs)


def collections(api):
    x = api.placeholder(api.float32, [4, 3], name="x")
    w = api.Variable(np.ones([3, 3], np.float32), name="w")
    with api.variable_scope("reg", regularizer=api.nn.l2_loss):
        v = api.get_variable("v", [3], initializer=api.constant_initializer(0.5))
    y = api.matmul(x, w) + v
    api.losses.mean_squared_error(x, y)
    api.losses.add_loss(api.reduce_sum(y) * 0.01)
    api.losses.absolute_difference(x, y, loss_collection=None)
    return [api.losses.get_losses(), api.losses.get_regularization_losses(),
            api.losses.get_regularization_loss(), api.losses.get_total_loss(),
            api.losses.get_total_loss(add_regularization_losses=False, name="data_loss"),
            api.losses.get_regularization_loss(scope="nothing")]


def test_loss_collections_match_tensorflow(tf):
    (g1, ours), (g2, theirs) = build_both(tf, collections)
    assert_same_graph_def(g1, g2)
    assert [len(ours[0]), len(ours[1])] == [len(theirs[0]), len(theirs[1])] == [2, 1]
    x = arr(4, 3)

    def program(api):
        fetches = collections(api)
        api.group(api.global_variables_initializer(), name="init")
        return fetches
    ours, theirs = run_both(tf, program, {"x": x}, init=True)
    assert_close(ours, theirs)


ERRORS = [
    ("bad_reduction", lambda api: api.losses.mean_squared_error(
        [1.0], [2.0], reduction="mean"), ValueError),
    ("no_labels", lambda api: api.losses.mean_squared_error(None, [1.0]), ValueError),
    ("shapes", lambda api: api.losses.mean_squared_error(
        api.placeholder(np.float32, [2, 3]), api.placeholder(np.float32, [3, 2])), ValueError),
    ("weights_rank", lambda api: api.losses.mean_squared_error(
        api.placeholder(np.float32, [2, 3]), api.placeholder(np.float32, [2, 3]),
        weights=api.constant([1.0, 2.0])), ValueError),
    ("weights_dims", lambda api: api.losses.mean_squared_error(
        api.placeholder(np.float32, [2, 3]), api.placeholder(np.float32, [2, 3]),
        weights=api.ones([2, 2])), ValueError),
]


@pytest.mark.parametrize("name,fn,exc", ERRORS, ids=[e[0] for e in ERRORS])
def test_build_errors_match_tensorflow(tf, name, fn, exc):
    with flowsaver.Graph().as_default(), pytest.raises(exc):
        fn(flowsaver)
    with tf1_mode(tf) as v1, v1.Graph().as_default(), pytest.raises(exc):
        fn(v1)
