"""Run one TF1 program in flowsaver and in real TensorFlow, and compare the results.

A program is a function ``build(api)`` where ``api`` is ``flowsaver`` or TensorFlow's
``tf.compat.v1``; it builds into the default graph and returns its fetches. TensorFlow
runs in TF1 mode (ref variables, Switch/Merge conditionals, identity tensor equality),
switched on only for the duration of the call.
"""
from __future__ import annotations

import contextlib

import numpy as np

import flowsaver


@contextlib.contextmanager
def tf1_mode(tf):
    """TensorFlow 2's graph mode set to behave as TensorFlow 1.x, then restored."""
    v1 = tf.compat.v1
    v1.disable_resource_variables()
    v1.disable_control_flow_v2()
    v1.disable_tensor_equality()
    v1.disable_v2_tensorshape()
    try:
        yield v1
    finally:
        v1.enable_resource_variables()
        v1.enable_control_flow_v2()
        v1.enable_tensor_equality()
        v1.enable_v2_tensorshape()


def build_both(tf, build):
    """(flowsaver graph, its fetches), (TensorFlow graph, its fetches) for ``build``."""
    ours = flowsaver.Graph()
    with ours.as_default():
        our_fetches = build(flowsaver)
    with tf1_mode(tf) as v1:
        theirs = v1.Graph()
        with theirs.as_default():
            their_fetches = build(v1)
    return (ours, our_fetches), (theirs, their_fetches)


def run_both(tf, build, feeds=None, init=False):
    """Outputs of ``build``'s fetches in both systems; ``feeds`` maps tensor names to values."""
    return run_built(tf, build_both(tf, build), feeds, init)


def run_built(tf, built, feeds=None, init=False):
    """Outputs of the fetches of ``built`` (what ``build_both`` returned) in both systems."""
    (ours, our_fetches), (theirs, their_fetches) = built
    feeds = feeds or {}
    with flowsaver.Session(graph=ours) as sess:
        if init:
            with ours.as_default():
                sess.run(flowsaver.global_variables_initializer())
        our_out = sess.run(our_fetches, {_name(k): v for k, v in feeds.items()})
    with tf1_mode(tf) as v1, v1.Session(graph=theirs) as sess:
        if init:
            with theirs.as_default():
                sess.run(v1.global_variables_initializer())
        their_out = sess.run(their_fetches, {_name(k): v for k, v in feeds.items()})
    return our_out, their_out


def run_raw_op(tf, op_type, inputs, attrs, ours_only=False):
    """``op_type`` on ``inputs`` (a dict by argument name) and ``attrs``: TensorFlow's raw op
    in graph mode, and flowsaver's op built with create_op; ``(ours, theirs)``, theirs None
    with ``ours_only`` (an op TensorFlow has no kernel for here)."""
    from flowsaver.ops.op_builder import create_op
    theirs = None
    if not ours_only:
        with tf1_mode(tf) as v1:
            g = v1.Graph()
            with g.as_default():
                out = getattr(tf.raw_ops, op_type)(**inputs, **attrs)
            with v1.Session(graph=g) as sess:
                theirs = sess.run(out)
    g = flowsaver.Graph()
    with g.as_default():
        out = create_op(op_type, list(inputs.values()), attrs)
        with flowsaver.Session(graph=g) as sess:
            ours = sess.run(out)
    return ours, theirs


def _name(key: str) -> str:
    return key if ":" in key else key + ":0"


def node_summary(node) -> tuple:
    """What must match between two NodeDefs: name, op, inputs, device and every attr."""
    attrs = {k: node.attr[k].SerializeToString(deterministic=True) for k in node.attr}
    return node.name, node.op, list(node.input), node.device, attrs


def graph_def_diff(ours, theirs) -> list[str]:
    """Human-readable differences between two GraphDefs, node by node; [] when equal."""
    problems = []
    our_nodes = {n.name: n for n in ours.node}
    their_nodes = {n.name: n for n in theirs.node}
    if [n.name for n in ours.node] != [n.name for n in theirs.node]:
        problems.append(f"node order/names differ:\n  ours:   {[n.name for n in ours.node]}\n"
                        f"  theirs: {[n.name for n in theirs.node]}")
    for name in their_nodes:
        if name not in our_nodes:
            continue
        a, b = node_summary(our_nodes[name]), node_summary(their_nodes[name])
        if a != b:
            problems.append(f"node {name!r} differs:\n  ours:   {_brief(our_nodes[name])}\n"
                            f"  theirs: {_brief(their_nodes[name])}")
    if ours.versions.SerializeToString() != theirs.versions.SerializeToString():
        problems.append(f"versions differ: {ours.versions} vs {theirs.versions}")
    return problems


def _brief(node) -> str:
    return str(node).replace("\n", " ")


def assert_same_graph_def(our_graph, their_graph):
    from flowsaver.format.graph_protos import GraphDef
    theirs = GraphDef.FromString(their_graph.as_graph_def().SerializeToString())
    problems = graph_def_diff(our_graph.as_graph_def(), theirs)
    assert not problems, "\n".join(problems)


def check_row(tf, fn, inputs, rtol=None, atol=None):
    """One parity row: ``fn(api, *placeholders)`` over ``inputs`` (fed as ``in0``,
    ``in1``, ...) builds TensorFlow's GraphDef node for node and gives its values; returns
    both graphs' fetches, for more checks."""
    def build(api):
        phs = [api.placeholder(a.dtype, a.shape, name=f"in{i}") for i, a in enumerate(inputs)]
        return fn(api, *phs)
    built = build_both(tf, build)
    assert_same_graph_def(built[0][0], built[1][0])
    ours, theirs = run_built(tf, built, {f"in{i}": a for i, a in enumerate(inputs)})
    assert_close(ours, theirs, rtol=rtol, atol=atol)
    return built[0][1], built[1][1]


def assert_close(ours, theirs, rtol=None, atol=None, what=""):
    """Equal structure and dtype; values equal (integers, bools, strings) or close (floats)."""
    if isinstance(theirs, (list, tuple)):
        assert isinstance(ours, (list, tuple)) and len(ours) == len(theirs), what
        for i, (a, b) in enumerate(zip(ours, theirs)):
            assert_close(a, b, rtol, atol, f"{what}[{i}]")
        return
    if isinstance(theirs, dict):
        assert set(ours) == set(theirs), what
        for k in theirs:
            assert_close(ours[k], theirs[k], rtol, atol, f"{what}[{k!r}]")
        return
    a, b = np.asarray(ours), np.asarray(theirs)
    assert a.dtype == b.dtype, f"{what}: dtype {a.dtype} != TensorFlow's {b.dtype}"
    assert a.shape == b.shape, f"{what}: shape {a.shape} != TensorFlow's {b.shape}"
    if a.dtype.kind in "fc":
        tol = {2: 1e-3, 4: 1e-5, 8: 1e-10}.get(a.dtype.itemsize, 1e-5)
        np.testing.assert_allclose(a, b, rtol=rtol or tol, atol=atol or tol, err_msg=what)
    else:
        np.testing.assert_array_equal(a, b, err_msg=what)
