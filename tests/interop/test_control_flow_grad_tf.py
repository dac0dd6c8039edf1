"""Gradients through ``tf.cond`` and ``tf.while_loop``: TensorFlow 1.x's gradient graphs
(Switch/Merge gradients, gradient loops with stacks) node for node, and their values, in
both executors; TensorFlow's gradient GraphDefs imported into flowsaver run to the same
values."""
from __future__ import annotations

import numpy as np
import pytest

import flowsaver
from flowsaver.format.graph_protos import GraphDef
from parity import assert_close, assert_same_graph_def, build_both, tf1_mode

X = np.array([[0.5, -1.0, 2.0], [1.5, 0.25, -0.75]], np.float32)


def _x(api):
    return api.placeholder(np.float32, [2, 3], name="x")


def cond_grad(api):
    x = _x(api)
    p = api.placeholder_with_default(True, [], name="p")
    y = api.cond(p, lambda: api.tanh(x) * x, lambda: x * 3.0)
    z = api.cond(p, lambda: (y, x), lambda: (x, y))  # one branch passes x through
    loss = api.reduce_sum(z[0] * z[1])
    return api.gradients(loss, [x]) + api.gradients(api.reduce_sum(y), x, name="again")


def cond_grad_false(api):
    x = _x(api)
    p = api.placeholder_with_default(False, [], name="p")
    y = api.cond(p, lambda: api.square(x), lambda: api.exp(x) * 2.0)
    return api.gradients(api.reduce_mean(y), x)


def nested_cond_grad(api):
    x = _x(api)
    p = api.placeholder_with_default(True, [], name="p")
    q = api.placeholder_with_default(False, [], name="q")
    y = api.cond(p, lambda: api.cond(q, lambda: x * x, lambda: api.sigmoid(x)), lambda: -x)
    return api.gradients(y, x)


def loop_grad(api):
    x = _x(api)
    w = api.constant([[0.5, -0.25], [1.0, 0.5], [-1.0, 0.75]], name="w")

    def body(i, h):
        return i + 1, api.tanh(api.matmul(h, w) + x[:, :2]) @ api.transpose(w)
    _, h = api.while_loop(lambda i, h: i < 4, body, [0, x])
    loss = api.reduce_sum(h * h)
    return api.gradients(loss, [x, w])


def loop_unused_exit_grad(api):
    x = _x(api)
    out = api.while_loop(lambda i, a, b: i < 3,
                         lambda i, a, b: (i + 1, a * x, b + api.reduce_sum(a)),
                         [0, x, api.constant(0.0)])
    return api.gradients(out[2], x) + api.gradients(out[1], x, name="g2")


def nested_loop_grad(api):
    x = _x(api)

    def outer(j, acc):
        def inner_body(k, b):
            return k + 1, api.sigmoid(b) * x
        inner = api.while_loop(lambda k, b: k < j, inner_body, [0, acc])
        return j + 1, inner[1] + 1.0
    _, out = api.while_loop(lambda j, acc: j < 3, outer, [0, x])
    return api.gradients(api.reduce_sum(out), x)


def cond_in_loop_grad(api):
    x = _x(api)

    def body(i, acc):
        acc = api.cond(api.equal(i % 2, 0), lambda: acc * x, lambda: api.tanh(acc))
        return i + 1, acc
    _, out = api.while_loop(lambda i, acc: i < 5, body, [0, x])
    return api.gradients(out, x)


def variable_in_loop_grad(api):
    x = _x(api)
    v = api.Variable(np.float32([[1.0, 0.5], [-0.5, 1.0], [0.25, 0.25]]), name="v")

    def body(i, h):
        return [i + 1, api.nn.relu(api.matmul(h, v)) @ api.transpose(v)]
    _, h = api.while_loop(lambda i, h: i < 3, body, [0, x], maximum_iterations=2)
    loss = api.reduce_mean(api.square(h))
    return api.gradients(loss, [v, x])


CASES = [cond_grad, cond_grad_false, nested_cond_grad, loop_grad, loop_unused_exit_grad,
         nested_loop_grad, cond_in_loop_grad, variable_in_loop_grad]


@pytest.mark.parametrize("build", CASES, ids=[c.__name__ for c in CASES])
def test_gradient_graph_def_matches_tensorflow(tf, build):
    (ours, _), (theirs, _) = build_both(tf, build)
    assert_same_graph_def(ours, theirs)


def _values(session, graph, fetches, init):
    with graph.as_default(), session(graph=graph) as sess:
        sess.run(init)
        return sess.run(fetches, {"x:0": X})


@pytest.mark.parametrize("interpreter", [False, True], ids=["compiled", "interpreter"])
@pytest.mark.parametrize("build", CASES, ids=[c.__name__ for c in CASES])
def test_gradient_values_match_tensorflow(tf, build, interpreter, monkeypatch):
    if interpreter:
        monkeypatch.setenv("FLOWSAVER_EXECUTOR", "interpreter")
    (ours, our_fetches), (theirs, their_fetches) = build_both(tf, build)
    with ours.as_default():
        our_init = flowsaver.global_variables_initializer()
    got = _values(flowsaver.Session, ours, our_fetches, our_init)
    with tf1_mode(tf) as v1:
        with theirs.as_default():
            their_init = v1.global_variables_initializer()
        expected = _values(v1.Session, theirs, their_fetches, their_init)
    assert_close(got, expected, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("build", [loop_grad, nested_loop_grad, cond_in_loop_grad],
                         ids=lambda b: b.__name__)
def test_tensorflows_gradient_graph_def_runs(tf, build):
    (_, _), (theirs, their_fetches) = build_both(tf, build)
    names = [t.name for t in their_fetches]
    with tf1_mode(tf) as v1:
        with v1.Session(graph=theirs) as sess:
            expected = sess.run(names, {"x:0": X})
    graph = flowsaver.Graph()
    with graph.as_default():
        flowsaver.import_graph_def(GraphDef.FromString(
            theirs.as_graph_def().SerializeToString()), name="")
        with flowsaver.Session(graph=graph) as sess:
            got = sess.run(names, {"x:0": X})
    assert_close(got, expected, rtol=1e-5, atol=1e-5)
