"""Row updates against real TensorFlow: the ``tf.scatter_*`` ops on ref variables,
``tf.unique``, and every optimizer given the ``IndexedSlices`` gradient of an embedding
lookup (repeated ids included): the same sparse update nodes (``Unique`` and
``UnsortedSegmentSum`` de-duplication, ``SparseApply*`` ops, Adam's assign-and-scatter, plain
SGD's ``ScatterSub``) and the same values, step after step."""
from __future__ import annotations

import numpy as np
import pytest

import flowsaver
from parity import assert_close, assert_same_graph_def, build_both, run_built, tf1_mode

TABLE = np.arange(18, dtype=np.float32).reshape(6, 3) / 4 + 1


def _scatters(api):
    v = api.Variable(TABLE, name="v")
    w = api.Variable(np.arange(12, dtype=np.int32).reshape(6, 2) + 5, name="w")
    rows = api.constant([4, 1, 4])
    updates = api.constant(np.linspace(0.5, 2.0, 9, dtype=np.float32).reshape(3, 3))
    int_updates = api.constant(np.array([[2, 3], [4, 5], [3, 2]], np.int32))
    return [api.scatter_update(v, rows, updates), api.scatter_add(v, rows, updates),
            api.scatter_sub(v, rows, updates, name="sub"), api.scatter_mul(v, rows, updates),
            api.scatter_div(v, rows, updates), api.scatter_min(v, rows, updates),
            api.scatter_max(v, [0, 0], [[9.0, 0, 1], [1, 9, 0]]),
            api.scatter_div(w, rows, int_updates), api.scatter_add(w, [[0, 1]], [[[1, 1],
                                                                                 [2, 2]]]),
            v.scatter_sub(api.IndexedSlices(updates, rows)),
            v.scatter_update(api.IndexedSlices(updates[:1], [5]))]


def test_scatter_ops_match_tensorflow(tf):
    """Each fetched scatter runs once, in order, on the variable the earlier ones left."""
    built = build_both(tf, _scatters)
    assert_same_graph_def(built[0][0], built[1][0])
    results = []
    for graph, fetches in built:
        with tf1_mode(tf) as v1, graph.as_default():
            api = flowsaver if graph is built[0][0] else v1
            with api.Session(graph=graph) as sess:
                sess.run(api.global_variables_initializer())
                results.append([sess.run(f) for f in fetches])
    assert_close(results[0], results[1])


@pytest.mark.parametrize("bad", [
    lambda api, v: api.scatter_add(v, [6], [[1.0, 1.0, 1.0]]),
    lambda api, v: api.scatter_update(v, api.placeholder_with_default([-1], [None]),
                                      [[1.0, 1.0, 1.0]]),
], ids=["index_too_large", "negative_index"])
def test_scatter_index_errors_match_tensorflow(tf, bad):
    for which in ("ours", "theirs"):
        with tf1_mode(tf) as v1:
            api = flowsaver if which == "ours" else v1
            with api.Graph().as_default():
                v = api.Variable(TABLE)
                op = bad(api, v)
                with api.Session() as sess, pytest.raises(api.errors.InvalidArgumentError):
                    sess.run(v.initializer)
                    sess.run(op)


def test_unique_matches_tensorflow(tf):
    def build(api):
        x = api.placeholder(api.int64, [None], name="x")
        s = api.placeholder(api.string, [None], name="s")
        return [api.unique(x), api.unique(x, out_idx=api.int64, name="u"), api.unique(s)]
    built = build_both(tf, build)
    assert_same_graph_def(built[0][0], built[1][0])
    ours, theirs = run_built(tf, built, {"x": np.array([7, -2, 7, 7, 0, -2], np.int64),
                                         "s": np.array([b"b", b"a", b"b"], object)})
    assert_close(ours, theirs)


OPTIMIZERS = [
    ("sgd", lambda api: api.train.GradientDescentOptimizer(0.5)),
    ("momentum", lambda api: api.train.MomentumOptimizer(0.2, 0.9)),
    ("nesterov", lambda api: api.train.MomentumOptimizer(0.2, 0.9, use_nesterov=True)),
    ("adam", lambda api: api.train.AdamOptimizer(0.05)),
    ("adagrad", lambda api: api.train.AdagradOptimizer(0.3)),
    ("rmsprop", lambda api: api.train.RMSPropOptimizer(0.05, momentum=0.5)),
    ("rmsprop_centered", lambda api: api.train.RMSPropOptimizer(0.05, centered=True)),
    ("adadelta", lambda api: api.train.AdadeltaOptimizer(5.0)),
    ("ftrl", lambda api: api.train.FtrlOptimizer(0.3, l1_regularization_strength=0.01)),
    ("ftrl_shrinkage", lambda api: api.train.FtrlOptimizer(
        0.3, l2_shrinkage_regularization_strength=0.05)),
]


def _embedding_model(optimizer):
    def build(api):
        ids = api.placeholder(api.int32, [None], name="ids")
        target = api.placeholder(api.float32, [None, 3], name="target")
        table = api.get_variable("table", initializer=TABLE)
        dense = api.get_variable("dense", initializer=np.eye(3, dtype=np.float32))
        out = api.matmul(api.nn.embedding_lookup(table, ids), dense)
        loss = api.reduce_mean(api.square(out - target), name="loss")
        return loss, optimizer(api).minimize(loss, name="train"), table
    return build


@pytest.mark.parametrize("name,optimizer", OPTIMIZERS, ids=[o[0] for o in OPTIMIZERS])
def test_sparse_gradients_update_rows_as_in_tensorflow(tf, name, optimizer):
    (g1, f1), (g2, f2) = build_both(tf, _embedding_model(optimizer))
    assert_same_graph_def(g1, g2)
    feeds = {"ids:0": np.array([3, 0, 3, 5, 3], np.int32),
             "target:0": np.linspace(-1, 1, 15, dtype=np.float32).reshape(5, 3)}
    runs = []
    for graph, (loss, train, table) in ((g1, f1), (g2, f2)):
        with tf1_mode(tf) as v1, graph.as_default():
            api = flowsaver if graph is g1 else v1
            with api.Session(graph=graph) as sess:
                sess.run(api.global_variables_initializer())
                losses = [sess.run([loss, train], feeds)[0] for _ in range(10)]
                runs.append((losses, sess.run(table)))
    np.testing.assert_allclose(runs[0][0], runs[1][0], rtol=1e-5)
    np.testing.assert_allclose(runs[0][1], runs[1][1], rtol=1e-5, atol=1e-6)
    untouched = [1, 2, 4]  # rows no id selects keep their values
    np.testing.assert_array_equal(runs[0][1][untouched], TABLE[untouched])
    assert not np.array_equal(runs[0][1][[0, 3, 5]], TABLE[[0, 3, 5]])
