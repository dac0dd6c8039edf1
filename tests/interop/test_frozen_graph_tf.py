"""Frozen graphs cross between flowsaver and TensorFlow: ``convert_variables_to_constants``
gives TensorFlow's GraphDef byte for byte (ref and resource variables, white- and
blacklists); a frozen graph written by each (binary and text) imports and runs in the
other with no variable ops left, through ``import_graph_def`` with ``input_map`` and
``return_elements``; ``extract_sub_graph`` and ``remove_training_nodes`` give TensorFlow's
graphs."""
from __future__ import annotations

import numpy as np
import pytest
from google.protobuf import text_format

import flowsaver
from flowsaver.format.graph_protos import GraphDef
from parity import build_both, tf1_mode

X = np.array([[1.0, -2.0, 0.5], [3.0, 0.25, -1.0]], np.float32)
VARIABLE_OPS = {"VariableV2", "Variable", "VarHandleOp", "ReadVariableOp", "Assign",
                "AssignVariableOp"}


def net(tf, resource: bool):
    x = tf.placeholder(tf.float32, [None, 3], name="x")
    with tf.variable_scope("net", use_resource=resource):
        w = tf.get_variable("w", initializer=np.linspace(-1, 1, 6, dtype=np.float32)
                            .reshape(3, 2))
        b = tf.get_variable("b", initializer=np.array([0.5, -0.25], np.float32))
        scale = tf.get_variable("scale", initializer=np.float32(3.0))
    hidden = tf.nn.relu(tf.matmul(x, w) + b, name="hidden")
    checked = tf.check_numerics(hidden, "hidden is not finite", name="checked")
    y = tf.identity(checked * scale, name="y")
    tf.identity(tf.reduce_sum(y), name="total")
    return y


def _frozen_by(tf, resource, **lists):
    """(flowsaver's frozen GraphDef, TensorFlow's), each freezing its own build of ``net``."""
    (ours, _), (theirs, _) = build_both(tf, lambda api: net(api, resource))
    with flowsaver.Session(graph=ours) as sess:
        with ours.as_default():
            sess.run(flowsaver.global_variables_initializer())
        our_frozen = flowsaver.graph_util.convert_variables_to_constants(
            sess, ours.as_graph_def(), ["y", "total"], **lists)
    with tf1_mode(tf) as v1, v1.Session(graph=theirs) as sess:
        with theirs.as_default():
            sess.run(v1.global_variables_initializer())
        their_frozen = v1.graph_util.convert_variables_to_constants(
            sess, theirs.as_graph_def(), ["y", "total"], **lists)
    return our_frozen, GraphDef.FromString(their_frozen.SerializeToString())


LISTS = [{}, {"variable_names_whitelist": ["net/w", "net/scale"]},
         {"variable_names_blacklist": ["net/b"]}]


@pytest.mark.parametrize("lists", LISTS, ids=["all", "whitelist", "blacklist"])
@pytest.mark.parametrize("resource", [False, True], ids=["ref", "resource"])
def test_frozen_graph_def_is_tensorflows(tf, resource, lists):
    ours, theirs = _frozen_by(tf, resource, **lists)
    assert ours.SerializeToString(deterministic=True) == \
        theirs.SerializeToString(deterministic=True)
    left = {n.op for n in ours.node} & VARIABLE_OPS
    assert bool(left) == bool(lists), left


def _expected(resource):
    with flowsaver.Graph().as_default():
        y = net(flowsaver, resource)
        with flowsaver.Session() as sess:
            sess.run(flowsaver.global_variables_initializer())
            return sess.run(y, {"x:0": X})


def _run_frozen(api, graph_def, feed_value):
    """Import ``graph_def`` under ``frozen`` with ``x`` mapped to a new placeholder; run y."""
    with api.Graph().as_default() as graph:
        new_x = api.placeholder(api.float32, [None, 3], name="new_x")
        y, op = api.import_graph_def(graph_def, input_map={"x:0": new_x},
                                     return_elements=["y:0", "total"], name="frozen")
        assert op.name == "frozen/total"
        with api.Session(graph=graph) as sess:
            return sess.run(y, {new_x: feed_value})


def _write_and_read(api_module, graph_def, directory, as_text):
    path = api_module.train.write_graph(graph_def, str(directory), "frozen.pbtxt" if as_text
                                        else "frozen.pb", as_text=as_text)
    with open(path, "rb") as f:
        data = f.read()
    return data


@pytest.mark.parametrize("as_text", [False, True], ids=["binary", "text"])
@pytest.mark.parametrize("resource", [False, True], ids=["ref", "resource"])
@pytest.mark.parametrize("writer", ["flowsaver", "tensorflow"])
def test_frozen_files_run_in_the_other_system(tf, tmp_path, writer, resource, as_text):
    ours, theirs = _frozen_by(tf, resource)
    expected = _expected(resource)
    if writer == "flowsaver":
        data = _write_and_read(flowsaver, ours, tmp_path, as_text)
        their_def = tf.compat.v1.GraphDef()
        if as_text:
            text_format.Parse(data.decode(), their_def)
        else:
            their_def.ParseFromString(data)
        assert not {n.op for n in their_def.node} & VARIABLE_OPS
        with tf1_mode(tf) as v1:
            np.testing.assert_allclose(_run_frozen(v1, their_def, X), expected, rtol=1e-6)
    else:
        with tf1_mode(tf) as v1:
            their_def = v1.GraphDef.FromString(theirs.SerializeToString())
            data = _write_and_read(v1, their_def, tmp_path, as_text)
        our_def = flowsaver.GraphDef()
        if as_text:
            text_format.Parse(data.decode(), our_def)
        else:
            our_def.ParseFromString(data)
        assert not {n.op for n in our_def.node} & VARIABLE_OPS
        np.testing.assert_allclose(_run_frozen(flowsaver, our_def, X), expected, rtol=1e-6)


def test_write_graph_writes_tensorflows_bytes(tf, tmp_path):
    ours, _ = _frozen_by(tf, False)
    with tf1_mode(tf) as v1:
        their_def = v1.GraphDef.FromString(ours.SerializeToString())
        for as_text in (False, True):
            name = "g.pbtxt" if as_text else "g.pb"
            theirs = v1.io.write_graph(their_def, str(tmp_path / "tf"), name, as_text=as_text)
            mine = flowsaver.io.write_graph(ours, str(tmp_path / "fs"), name, as_text=as_text)
            assert open(mine, "rb").read() == open(theirs, "rb").read(), name


def test_sub_graph_and_training_nodes_are_tensorflows(tf):
    (ours, _), (theirs, _) = build_both(tf, lambda api: net(api, False))
    our_def = ours.as_graph_def()
    their_def = theirs.as_graph_def()
    with tf1_mode(tf) as v1:
        for dest in (["y"], ["hidden"], ["total", "net/b/read"]):
            mine = flowsaver.graph_util.extract_sub_graph(our_def, dest)
            theirs_sub = v1.graph_util.extract_sub_graph(their_def, dest)
            assert mine.SerializeToString(deterministic=True) == \
                theirs_sub.SerializeToString(deterministic=True), dest
        for protected in (None, ["y"], ["checked"]):
            mine = flowsaver.graph_util.remove_training_nodes(our_def, protected)
            theirs_pruned = v1.graph_util.remove_training_nodes(their_def, protected)
            assert mine.SerializeToString(deterministic=True) == \
                theirs_pruned.SerializeToString(deterministic=True), protected
        for node in our_def.node:
            assert flowsaver.graph_util.must_run_on_cpu(node, True) == \
                v1.graph_util.must_run_on_cpu(
                    v1.NodeDef.FromString(node.SerializeToString()), True), node.name
    with ours.as_default():
        assert flowsaver.graph_util.tensor_shape_from_node_def_name(ours, "y").as_list() == \
            [None, 2]
