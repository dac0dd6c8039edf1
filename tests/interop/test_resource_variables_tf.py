"""Resource variables made by flowsaver (``use_resource=True``, or every variable after
``tf.enable_resource_variables()``) build TensorFlow 2 graph mode's nodes, save and restore
like TensorFlow's, and train with the ``ResourceApply*`` ops to the same values."""
import contextlib

import numpy as np
import pytest

import flowsaver
from flowsaver.format.graph_protos import GraphDef
from parity import graph_def_diff


@contextlib.contextmanager
def resource_mode():
    flowsaver.enable_resource_variables()
    try:
        yield
    finally:
        flowsaver.disable_resource_variables()


def build_both(tf, build):
    """``build`` in flowsaver (resource variables on) and in TF 2's graph mode."""
    ours = flowsaver.Graph()
    with resource_mode(), ours.as_default():
        our_out = build(flowsaver)
    v1 = tf.compat.v1
    theirs = v1.Graph()
    with theirs.as_default():  # TensorFlow 2's graph mode: resource variables by default
        their_out = build(v1)
    return (ours, our_out), (theirs, their_out)


def _same_graph(ours, theirs):
    problems = graph_def_diff(ours.as_graph_def(),
                              GraphDef.FromString(theirs.as_graph_def().SerializeToString()))
    assert not problems, "\n".join(problems)


def variables_and_saver(api):
    v = api.Variable(3.0, name="v")
    w = api.get_variable("w", [2])
    with api.variable_scope("s"):
        u = api.get_variable("u", [2], initializer=api.zeros_initializer())
    y = v * 2.0 + api.reduce_sum(w + u)
    a = v.assign(5.0)
    saver = api.train.Saver()
    return y, a, saver


def regression(make_optimizer):
    def build(api):
        x = api.placeholder(api.float32, [None, 3], name="x")
        y = api.placeholder(api.float32, [None, 2], name="y")
        w = api.Variable(np.array([[0.5, -0.2], [0.1, 0.3], [-0.4, 0.2]], np.float32),
                         name="w")
        b = api.get_variable("b", [2], initializer=api.zeros_initializer())
        loss = api.reduce_mean(api.square(api.matmul(x, w) + b - y), name="loss")
        step = api.train.get_or_create_global_step()
        return loss, make_optimizer(api).minimize(loss, global_step=step, name="train")
    return build


def test_resource_variables_build_tensorflows_graph_and_run(tf, tmp_path):
    (ours, (y, a, saver)), (theirs, _) = build_both(tf, variables_and_saver)
    _same_graph(ours, theirs)
    assert all(type(v).__name__ == "ResourceVariable"
               for v in ours.get_collection("variables"))
    with ours.as_default(), flowsaver.Session(graph=ours) as sess:
        sess.run(flowsaver.global_variables_initializer())
        before = sess.run(y)
        sess.run(a)
        prefix = saver.save(sess, str(tmp_path / "r"))
        assert sess.run("v/Read/ReadVariableOp:0") == 5.0
    with ours.as_default(), flowsaver.Session(graph=ours) as sess:
        saver.restore(sess, prefix)
        assert np.isclose(sess.run(y), before + 4.0)
    v1 = tf.compat.v1
    with theirs.as_default(), v1.Session(graph=theirs) as sess:
        v1.train.Saver().restore(sess, prefix)  # TF's resource graph reads flowsaver's files
        assert sess.run("v/Read/ReadVariableOp:0") == 5.0


@pytest.mark.parametrize("name,make", [
    ("adam", lambda api: api.train.AdamOptimizer(0.05)),
    ("momentum", lambda api: api.train.MomentumOptimizer(0.05, 0.9)),
    ("sgd", lambda api: api.train.GradientDescentOptimizer(0.1)),
])
def test_resource_variable_training_matches_tensorflow(tf, name, make):
    (ours, (loss, train)), (theirs, (tloss, ttrain)) = build_both(tf, regression(make))
    _same_graph(ours, theirs)
    x = np.array([[1.0, 2.0, -1.0], [0.5, -0.5, 1.5]], np.float32)
    t = np.array([[1.0, 0.0], [0.0, 1.0]], np.float32)
    feeds = {"x:0": x, "y:0": t}
    with ours.as_default(), flowsaver.Session(graph=ours) as sess:
        sess.run(flowsaver.global_variables_initializer())
        our_losses = [sess.run([loss, train], feeds)[0] for _ in range(10)]
    v1 = tf.compat.v1
    with theirs.as_default(), v1.Session(graph=theirs) as sess:
        sess.run(v1.global_variables_initializer())
        their_losses = [sess.run([tloss, ttrain], feeds)[0] for _ in range(10)]
    np.testing.assert_allclose(our_losses, their_losses, rtol=1e-5)
