"""TensorFlow 2's functional control flow, as its graph mode writes it: ``While``/
``StatelessWhile``, ``If``/``StatelessIf`` and ``PartitionedCall``/``StatefulPartitionedCall``
calling FunctionDefs of the GraphDef's library, with ``TensorList*`` and ``Optional*`` ops
and the gradient functions ``tf.gradients`` writes.

Each row builds a program with TensorFlow in graph mode with its TF 2 defaults (control
flow v2, resource variables) and runs it; its GraphDef, library included, is imported into
flowsaver and run there (compiled plans and the interpreter), and flowsaver's own export
of the imported graph is imported back into TensorFlow and run: all three give the same
values.
"""
from __future__ import annotations

import numpy as np
import pytest

import flowsaver
from flowsaver.format.graph_protos import GraphDef
from parity import assert_close

X = np.array([[1.0, -2.0, 3.0], [0.5, 5.0, -6.0], [2.0, 0.25, -1.5]], np.float32)


def _x(tf):
    return tf.compat.v1.placeholder(tf.float32, [3, 3], name="x")


def cond_and_gradient(tf):
    x = _x(tf)
    p = tf.compat.v1.placeholder_with_default(True, [], name="p")
    q = tf.compat.v1.placeholder_with_default(False, [], name="q")
    y = tf.cond(p, lambda: tf.sin(x) * x, lambda: tf.exp(x))
    z = tf.cond(q, lambda: tf.sin(x) * x, lambda: tf.exp(x))
    return [y, z] + tf.gradients(tf.reduce_sum(y) + tf.reduce_sum(z), x)


def while_and_gradient(tf):
    x = _x(tf)
    _, y = tf.while_loop(lambda i, y: i < 3, lambda i, y: (i + 1, tf.sin(y) * y), [0, x])
    return [y] + tf.gradients(tf.reduce_sum(y), x)


def nested_loops_and_conds(tf):
    x = _x(tf)

    def outer(j, acc):
        _, inner = tf.while_loop(lambda k, b: k < j, lambda k, b: (k + 1, b * 0.5 + x),
                                 [0, acc])
        return j + 1, tf.cond(tf.equal(j % 2, 0), lambda: inner + 1.0, lambda: inner * inner)
    _, y = tf.while_loop(lambda j, acc: j < 4, outer, [0, x])
    w = tf.cond(tf.reduce_sum(x) > 0.0,
                lambda: tf.while_loop(lambda i, v: i < 3, lambda i, v: (i + 1, v * x),
                                      [0, x])[1],
                lambda: x)
    return [y, w] + tf.gradients(tf.reduce_sum(y) + tf.reduce_sum(w), x)


def scan_map_fn_foldl(tf):
    x = _x(tf)
    ys = tf.scan(lambda a, b: a * b + 1.0, x)
    sums = tf.map_fn(lambda row: tf.reduce_sum(row * row), x)
    folded = tf.foldl(lambda a, b: a + tf.reduce_max(b), x, initializer=0.0)
    return [ys, sums, folded] + tf.gradients(
        tf.reduce_sum(ys) + tf.reduce_sum(sums) + folded, x)


def tensor_array_ops(tf):
    x = _x(tf)

    def body(i, ta):
        return i + 1, ta.write(i, x[i] * tf.cast(i + 1, tf.float32))
    _, ta = tf.while_loop(lambda i, ta: i < 3, body, [0, tf.TensorArray(tf.float32, 3)])
    gathered = ta.gather([2, 0])
    concat = ta.concat()
    split = tf.TensorArray(tf.float32, 3).split(tf.reshape(x, [9]), [2, 3, 4])
    scattered = tf.TensorArray(tf.float32, 3).scatter([2, 0, 1], x)
    last = split.read(2)
    total = tf.reduce_sum(gathered) + tf.reduce_sum(concat * concat) + \
        tf.reduce_sum(last * last) + tf.reduce_sum(scattered.stack() * x)
    return [gathered, concat, last, scattered.stack()] + tf.gradients(total, x)


def variables_in_loops(tf):
    x = _x(tf)
    v = tf.Variable(np.full([3, 3], 0.5, np.float32), name="v")
    _, y = tf.while_loop(lambda i, y: i < 3, lambda i, y: (i + 1, tf.matmul(y, v) + x),
                         [0, x])
    count = tf.Variable(0, name="count")
    bumped = tf.nest.flatten(tf.while_loop(lambda i: i < 2, lambda i: i + 1, [0]))
    with tf.control_dependencies(bumped):
        step = count.assign_add(1)
    return [y, step] + tf.gradients(tf.reduce_sum(y), [x, v])


def function_calls(tf):
    x = _x(tf)
    v = tf.Variable([1.0, 2.0, 3.0], name="v")

    @tf.function
    def scaled(a):
        return a * v + 1.0

    @tf.function
    def plain(a):
        return tf.sin(a) * 2.0
    y = scaled(x) + plain(x)
    return [y] + tf.gradients(tf.reduce_sum(y * y), [x, v])


# row -> op types its GraphDef must hold (so a row cannot pass on TF1 control flow)
CASES = {
    cond_and_gradient: {"StatelessIf", "OptionalFromValue", "OptionalGetValue"},
    while_and_gradient: {"StatelessWhile", "EmptyTensorList", "TensorListPopBack"},
    nested_loops_and_conds: {"StatelessWhile", "StatelessIf"},
    scan_map_fn_foldl: {"StatelessWhile", "TensorListFromTensor", "TensorListStack"},
    tensor_array_ops: {"TensorListGather", "TensorListConcatV2", "TensorListSplit",
                       "TensorListScatterIntoExistingList", "ZerosLike"},
    variables_in_loops: {"While", "ReadVariableOp"},
    function_calls: {"PartitionedCall", "StatefulPartitionedCall"},
}
IDS = [c.__name__ for c in CASES]


def _op_types(graph_def) -> set:
    types = {n.op for n in graph_def.node}
    for function in graph_def.library.function:
        types |= {n.op for n in function.node_def}
    return types


def _run_in_tensorflow(tf, graph_def, init_name, names):
    v1 = tf.compat.v1
    graph = v1.Graph()
    with graph.as_default():
        v1.import_graph_def(graph_def, name="")
        with v1.Session(graph=graph) as sess:
            sess.run(init_name)
            return sess.run(names, {"x:0": X})


_BUILT: dict = {}


def _built(tf, build):
    """(TensorFlow's GraphDef, its init op's name, fetch names, TensorFlow's values)."""
    if build not in _BUILT:
        v1 = tf.compat.v1
        graph = v1.Graph()
        with graph.as_default():
            fetches = build(tf)
            init = v1.global_variables_initializer()
        names = [t.name for t in fetches]
        graph_def = graph.as_graph_def()
        assert CASES[build] <= _op_types(graph_def), CASES[build] - _op_types(graph_def)
        _BUILT[build] = (graph_def, init.name, names,
                         _run_in_tensorflow(tf, graph_def, init.name, names))
    return _BUILT[build]


def _import(graph_def):
    graph = flowsaver.Graph()
    with graph.as_default():
        flowsaver.import_graph_def(GraphDef.FromString(graph_def.SerializeToString()),
                                   name="")
    return graph


@pytest.mark.parametrize("interpreter", [False, True], ids=["compiled", "interpreter"])
@pytest.mark.parametrize("build", CASES, ids=IDS)
def test_tensorflows_functional_graph_runs_in_flowsaver(tf, build, interpreter, monkeypatch):
    if interpreter:
        monkeypatch.setenv("FLOWSAVER_EXECUTOR", "interpreter")
    graph_def, init, names, expected = _built(tf, build)
    graph = _import(graph_def)
    with flowsaver.Session(graph=graph) as sess:
        sess.run(init)
        got = sess.run(names, {"x:0": X})
        again = sess.run(names, {"x:0": X})
    assert_close(got, expected)
    assert_close(again, expected)


@pytest.mark.parametrize("build", CASES, ids=IDS)
def test_flowsaver_export_of_a_functional_graph_runs_in_tensorflow(tf, build):
    graph_def, init, names, expected = _built(tf, build)
    exported = _import(graph_def).as_graph_def()
    theirs = {f.signature.name: f.SerializeToString(deterministic=True)
              for f in graph_def.library.function}
    ours = {f.signature.name: f.SerializeToString(deterministic=True)
            for f in exported.library.function}
    assert ours == theirs  # the library goes back out as it came in
    their_graph_def = type(graph_def).FromString(exported.SerializeToString())
    assert_close(_run_in_tensorflow(tf, their_graph_def, init, names), expected)
