"""``tf.while_loop`` builds TensorFlow 1.x's loop node for node and runs to its values.

Each row is a TF1 program run once with ``api = flowsaver`` and once with TensorFlow's
``tf.compat.v1`` (control flow v1): the GraphDefs must be identical and the fetched values
equal, in both executors (compiled plans and ``FLOWSAVER_EXECUTOR=interpreter``). TensorFlow's
GraphDef of each program is also imported into flowsaver and run there.
"""
from __future__ import annotations

import collections

import numpy as np
import pytest

import flowsaver
from flowsaver.format.graph_protos import GraphDef
from parity import assert_close, assert_same_graph_def, build_both, tf1_mode

X = np.array([[1.0, -2.0, 3.0], [4.0, 5.0, -6.0]], np.float32)
Pair = collections.namedtuple("Pair", "a b")


def _x(api):
    return api.placeholder(np.float32, [2, 3], name="x")


def counting(api):
    i = api.while_loop(lambda i: i < 10, lambda i: i + 1, [0])
    n = api.placeholder_with_default(np.int32(7), [], name="n")
    total = api.while_loop(lambda i, t: i < n, lambda i, t: (i + 1, t + i), [0, 0],
                           name="sum")
    return [i, total]


def invariants(api):
    x = _x(api)
    w = api.constant([[0.5], [1.0], [-1.0]], name="w")

    def body(i, acc):
        return i + 1, acc + api.matmul(x, w) * api.cast(i, np.float32)
    return api.while_loop(lambda i, acc: i < 4, body, [0, api.zeros([2, 1])])


def nested(api):
    x = _x(api)

    def outer(j, acc):
        inner = api.while_loop(lambda k, b: k < j, lambda k, b: (k + 1, b + x), [0, acc])
        return j + 1, inner[1] * 0.5
    return api.while_loop(lambda j, acc: j < 3, outer, [0, x])


def structures(api):
    x = _x(api)
    start = {"count": api.constant(0), "pair": Pair(x, (x[0], [x[1]]))}

    def body(s):
        p = s["pair"]
        return ({"count": s["count"] + 1,
                 "pair": Pair(p.a * 2.0, (p.b[0] + 1.0, [p.b[1][0] - p.b[0]]))},)
    out = api.while_loop(lambda s: s["count"] < 3, body, [start],
                         return_same_structure=True)
    return [out[0]["count"], out[0]["pair"].a, out[0]["pair"].b[0], out[0]["pair"].b[1][0]]


def cond_inside(api):
    x = _x(api)

    def body(i, acc):
        acc = api.cond(api.equal(i % 2, 0), lambda: acc + x, lambda: acc * 2.0)
        return i + 1, acc
    return api.while_loop(lambda i, acc: i < 5, body, [0, api.zeros_like(x)])


def loop_inside_cond(api):
    x = _x(api)
    p = api.placeholder_with_default(True, [], name="p")
    return api.cond(p, lambda: api.while_loop(lambda a: api.reduce_sum(a) < 100.0,
                                              lambda a: a * 2.0 + 1.0, [x]),
                    lambda: x - 1.0)


def maximum_iterations(api):
    x = _x(api)
    a = api.while_loop(lambda v: api.reduce_sum(v) < 1e9, lambda v: v * 3.0, [x],
                       maximum_iterations=4)
    b = api.while_loop(lambda i, v: i < 100, lambda i, v: (i + 1, v + 1.0), (0, x),
                       maximum_iterations=api.constant(6, name="limit"), name="two")
    return [a, b]


def shape_invariants(api):
    x = _x(api)

    def body(i, rows):
        return i + 1, api.concat([rows, rows[:1] + 1.0], axis=0)
    i, rows = api.while_loop(lambda i, r: i < 3, body, [0, x],
                             shape_invariants=[api.TensorShape([]),
                                               api.TensorShape([None, 3])])
    return [i, rows, api.shape(rows)]


def state_in_body(api):
    v = api.Variable(0.0, name="v")

    def body(i):
        with api.control_dependencies([api.assign_add(v, 2.0)]):
            return i + 1
    out = api.while_loop(lambda i: i < 3, body, [0])
    with api.control_dependencies([out]):
        read = api.identity(v.read_value(), name="after")
    return [out, read]


def under_control_dependencies(api):
    x = _x(api)
    first = api.identity(x, name="first")
    with api.control_dependencies([first]):
        return api.while_loop(lambda i: i < 2, lambda i: i + 1, [0], parallel_iterations=3)


CASES = [counting, invariants, nested, structures, cond_inside, loop_inside_cond,
         maximum_iterations, shape_invariants, state_in_body, under_control_dependencies]


@pytest.mark.parametrize("build", CASES, ids=[c.__name__ for c in CASES])
def test_graph_def_matches_tensorflow(tf, build):
    (ours, _), (theirs, _) = build_both(tf, build)
    assert_same_graph_def(ours, theirs)


def _feeds(graph):
    return {"x:0": X} if "x" in {op.name for op in graph.get_operations()} else {}


@pytest.mark.parametrize("interpreter", [False, True], ids=["compiled", "interpreter"])
@pytest.mark.parametrize("build", CASES, ids=[c.__name__ for c in CASES])
def test_values_match_tensorflow(tf, build, interpreter, monkeypatch):
    if interpreter:
        monkeypatch.setenv("FLOWSAVER_EXECUTOR", "interpreter")
    (ours, our_fetches), (theirs, their_fetches) = build_both(tf, build)
    with ours.as_default():
        our_init = flowsaver.global_variables_initializer()
    with ours.as_default(), flowsaver.Session(graph=ours) as sess:
        sess.run(our_init)
        our_out = sess.run(our_fetches, _feeds(ours))
    with tf1_mode(tf) as v1:
        with theirs.as_default():
            their_init = v1.global_variables_initializer()
        with v1.Session(graph=theirs) as sess:
            sess.run(their_init)
            their_out = sess.run(their_fetches, _feeds(theirs))
    assert_close(our_out, their_out)


@pytest.mark.parametrize("build", CASES, ids=[c.__name__ for c in CASES])
def test_tensorflows_graph_def_imports_and_runs(tf, build):
    (_, _), (theirs, their_fetches) = build_both(tf, build)
    with tf1_mode(tf) as v1:
        with theirs.as_default():
            init = v1.global_variables_initializer()
        names = [t.name for t in tf.nest.flatten(their_fetches)]
        with v1.Session(graph=theirs) as sess:
            sess.run(init)
            expected = sess.run(names, _feeds(theirs))
    graph = flowsaver.Graph()
    with graph.as_default():
        flowsaver.import_graph_def(GraphDef.FromString(
            theirs.as_graph_def().SerializeToString()), name="")
        with flowsaver.Session(graph=graph) as sess:
            sess.run(init.name)
            got = sess.run(names, _feeds(graph))
    assert_close(got, expected)
