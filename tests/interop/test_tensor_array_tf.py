"""TensorArrays, ``tf.scan``, ``tf.map_fn``, ``tf.foldl``/``tf.foldr`` and their gradients:
TensorFlow 1.x's GraphDefs node for node and TensorFlow's values, in both executors."""
from __future__ import annotations

import numpy as np
import pytest

import flowsaver
from parity import assert_close, assert_same_graph_def, build_both, tf1_mode

X = np.array([[0.5, -1.0, 2.0], [1.5, 0.25, -0.75], [1.0, 2.0, -3.0], [0.1, 0.2, 0.3]],
             np.float32)


def _x(api):
    return api.placeholder(np.float32, [4, 3], name="x")


def tensor_array_ops(api):
    x = _x(api)
    ta = api.TensorArray(np.float32, size=4)
    ta = ta.unstack(x)
    read = ta.read(2)
    tb = api.TensorArray(np.float32, size=0, dynamic_size=True, clear_after_read=False)
    tb = tb.write(0, x[0]).write(1, x[1] * 2.0)
    tb = tb.scatter([3, 2], x[2:])
    tc = api.TensorArray(np.float32, size=2, infer_shape=False, clear_after_read=False)
    tc = tc.split(x, [1, 3])
    gathered = tb.gather([1, 3])
    return [read, tb.stack(), gathered, tb.size(), tc.concat(), tc.read(1)]


def tensor_array_in_loop(api):
    x = _x(api)
    ta = api.TensorArray(np.float32, size=4, element_shape=[3])

    def body(i, acc, ta):
        acc = acc * 0.5 + x[i]
        return i + 1, acc, ta.write(i, acc)
    _, last, ta = api.while_loop(lambda i, a, t: i < 4, body,
                                 [0, api.zeros([3]), ta])
    return [last, ta.stack()]


def tensor_array_grad(api):
    x = _x(api)
    ta = api.TensorArray(np.float32, size=4).unstack(x)
    out = api.TensorArray(np.float32, size=4)

    def body(i, h, out):
        h = api.tanh(h * ta.read(i) + 0.5)
        return i + 1, h, out.write(i, h)
    _, h, out = api.while_loop(lambda i, h, o: i < 4, body, [0, api.ones([3]), out])
    loss = api.reduce_sum(out.stack() * X) + api.reduce_sum(h)
    return api.gradients(loss, x)


def tensor_array_concat_grad(api):
    x = _x(api)
    ta = api.TensorArray(np.float32, size=2, infer_shape=False).split(x, [1, 3])
    tb = api.TensorArray(np.float32, size=4).unstack(x)
    gathered = tb.gather([0, 2])
    loss = api.reduce_sum(api.square(ta.concat())) + api.reduce_sum(gathered * 3.0)
    return api.gradients(loss, x)


def scans(api):
    x = _x(api)
    running = api.scan(lambda a, e: a + e, x)
    with_init = api.scan(lambda a, e: (a[0] * e, a[1] + api.reduce_sum(e)), x,
                         initializer=(api.ones([3]), api.constant(0.0)))
    backwards = api.scan(lambda a, e: a * 0.5 + e, x, reverse=True)
    return [running, with_init[0], with_init[1], backwards]


def scan_grad(api):
    x = _x(api)
    out = api.scan(lambda a, e: api.tanh(a * e + 1.0), x)
    return api.gradients(api.reduce_sum(out), x)


def maps(api):
    x = _x(api)
    doubled = api.map_fn(lambda row: row * 2.0, x)
    sums = api.map_fn(lambda row: api.reduce_sum(row), x)
    pairs = api.map_fn(lambda pair: pair[0] + pair[1], (x, x * 3.0), dtype=np.float32)
    counts = api.map_fn(lambda row: api.cast(api.reduce_sum(row), np.int32), x,
                        dtype=np.int32)
    return [doubled, sums, pairs, counts]


def map_grad(api):
    x = _x(api)
    w = api.constant([[1.0], [2.0], [-1.0]], name="w")
    out = api.map_fn(lambda row: api.matmul(api.expand_dims(row, 0), w)[0], x)
    return api.gradients(api.reduce_sum(api.square(out)), x)


def folds(api):
    x = _x(api)
    left = api.foldl(lambda a, e: a * 0.5 + e, x)
    right = api.foldr(lambda a, e: a * 0.5 + e, x, initializer=api.zeros([3]))
    total = api.foldl(lambda a, e: a + api.reduce_sum(e), x, initializer=api.constant(0.0))
    return [left, right, total]


def fold_grad(api):
    x = _x(api)
    out = api.foldr(lambda a, e: api.sigmoid(a * e), x)
    return api.gradients(api.reduce_sum(out), x)


CASES = [tensor_array_ops, tensor_array_in_loop, tensor_array_grad, tensor_array_concat_grad,
         scans, scan_grad, maps, map_grad, folds, fold_grad]


@pytest.mark.parametrize("build", CASES, ids=[c.__name__ for c in CASES])
def test_graph_def_matches_tensorflow(tf, build):
    (ours, _), (theirs, _) = build_both(tf, build)
    assert_same_graph_def(ours, theirs)


@pytest.mark.parametrize("interpreter", [False, True], ids=["compiled", "interpreter"])
@pytest.mark.parametrize("build", CASES, ids=[c.__name__ for c in CASES])
def test_values_match_tensorflow(tf, build, interpreter, monkeypatch):
    if interpreter:
        monkeypatch.setenv("FLOWSAVER_EXECUTOR", "interpreter")
    (ours, our_fetches), (theirs, their_fetches) = build_both(tf, build)
    with flowsaver.Session(graph=ours) as sess:
        got = sess.run(our_fetches, {"x:0": X})
    with tf1_mode(tf) as v1, v1.Session(graph=theirs) as sess:
        expected = sess.run(their_fetches, {"x:0": X})
    assert_close(got, expected, rtol=1e-5, atol=1e-5)
