"""The issue's seed programs run unchanged after ``import flowsaver as tf``.

The programs are kept as source text (``SEED_PROGRAMS``) so that they run exactly as
written; ``tests/interop/test_seed_programs_tf.py`` runs the same text in TensorFlow.
"""
from __future__ import annotations

import numpy as np
import pytest

import flowsaver

# (a) variables initialized from another variable's initialized_value()
INITIALIZED_VALUE = '''
weights = tf.Variable(tf.random_normal([784, 200], stddev=0.35), name="weights")
biases = tf.Variable(tf.zeros([200]), name="biases")
init_op = tf.initialize_all_variables()
w2 = tf.Variable(weights.initialized_value(), name="w2")
w_twice = tf.Variable(weights.initialized_value() * 0.2, name="w_twice")
'''

# (b) placeholders fed by tensor, a variable, a named op to restore later
OP_TO_RESTORE = '''
w1 = tf.placeholder("float", name="w1")
w2 = tf.placeholder("float", name="w2")
b1 = tf.Variable(2.0, name="bias")
feed_dict = {w1: 4, w2: 8}
w3 = tf.add(w1, w2)
w4 = tf.multiply(w3, b1, name="op_to_restore")
sess = tf.Session()
sess.run(tf.global_variables_initializer())
result = sess.run(w4, feed_dict)
'''

SEED_PROGRAMS = {"initialized_value": INITIALIZED_VALUE, "op_to_restore": OP_TO_RESTORE}


def run_program(tf, source: str, graph) -> dict:
    """Run ``source`` with ``tf`` bound to a module, building into ``graph``."""
    namespace = {"tf": tf}
    with graph.as_default():
        exec(compile(source, "<seed program>", "exec"), namespace)  # noqa: S102
    return namespace


@pytest.fixture()
def graph():
    return flowsaver.Graph()


def test_initialized_value_program_builds(graph):
    ns = run_program(flowsaver, INITIALIZED_VALUE, graph)
    assert ns["weights"].shape.as_list() == [784, 200]
    assert ns["w2"].shape.as_list() == [784, 200]
    assert ns["w_twice"].shape.as_list() == [784, 200]
    assert [v.op.name for v in flowsaver.Graph.get_collection(graph, "variables")] == \
        ["weights", "biases", "w2", "w_twice"]
    # initialize_all_variables ran before w2 and w_twice existed: it covers two variables
    assert sorted(c.name for c in ns["init_op"].control_inputs) == \
        ["biases/Assign", "weights/Assign"]


def test_initialized_value_program_after_init_op(graph):
    ns = run_program(flowsaver, INITIALIZED_VALUE, graph)
    with flowsaver.Session(graph=graph) as sess:
        sess.run(ns["init_op"])
        sess.run([ns["w2"].initializer])
        sess.run(ns["w_twice"].initializer)
        weights, biases, w2, w_twice = sess.run(
            [ns["weights"], ns["biases"], ns["w2"], ns["w_twice"]])
    np.testing.assert_array_equal(w2, weights)
    np.testing.assert_allclose(w_twice, weights * np.float32(0.2), rtol=1e-6)
    np.testing.assert_array_equal(biases, np.zeros([200], np.float32))
    assert weights.dtype == np.float32 and w_twice.dtype == np.float32
    assert 0.3 < weights.std() < 0.4 and abs(weights.mean()) < 0.01


def test_initialized_value_program_all_in_one_run(graph):
    """One run of every initializer: the copies see the same random draw as ``weights``."""
    ns = run_program(flowsaver, INITIALIZED_VALUE, graph)
    with graph.as_default(), flowsaver.Session() as sess:
        sess.run(flowsaver.global_variables_initializer())
        weights, w2, w_twice = sess.run([ns["weights"], ns["w2"], ns["w_twice"]])
    np.testing.assert_array_equal(w2, weights)
    np.testing.assert_allclose(w_twice, weights * np.float32(0.2), rtol=1e-6)


def test_initialized_value_program_copies_before_the_original(graph):
    """``w2``'s initializer works while ``weights`` is still uninitialized."""
    ns = run_program(flowsaver, INITIALIZED_VALUE, graph)
    with flowsaver.Session(graph=graph) as sess:
        sess.run(ns["w2"].initializer)
        assert sess.run(flowsaver.is_variable_initialized(ns["weights"])) == False  # noqa: E712
        w2 = sess.run(ns["w2"])
        assert w2.shape == (784, 200) and 0.3 < w2.std() < 0.4
        with pytest.raises(flowsaver.errors.FailedPreconditionError, match="weights"):
            sess.run(ns["weights"])


def test_op_to_restore_program(graph):
    ns = run_program(flowsaver, OP_TO_RESTORE, graph)
    assert ns["result"] == 24.0
    assert np.asarray(ns["result"]).dtype == np.float32
    assert ns["w4"].name == "op_to_restore:0"
    assert graph.get_tensor_by_name("op_to_restore:0") is ns["w4"]
    sess = ns["sess"]
    assert sess.run("op_to_restore:0", {"w1:0": 1.5, "w2:0": 2.5}) == 8.0
    sess.close()


def test_tf1_mode_switches_are_accepted_and_compat_v1_is_flowsaver():
    import flowsaver as tf
    tf.disable_v2_behavior()
    tf.disable_eager_execution()
    tf.compat.v1.disable_resource_variables()
    assert tf.compat.v1 is tf
    assert tf.executing_eagerly() is False
    with pytest.raises(NotImplementedError, match="eager"):
        tf.enable_eager_execution()


def test_tf_namespaces_name_the_same_functions():
    import flowsaver as tf
    assert tf.math.log is tf.log and tf.math.reduce_sum is tf.reduce_sum
    assert tf.random.normal is tf.random_normal and tf.random.uniform is tf.random_uniform
    assert tf.linalg.matmul is tf.matmul
    assert tf.initializers.zeros is tf.zeros_initializer
    with tf.Graph().as_default():
        tf.random.set_seed(1)
        v = tf.get_variable("v", [2], initializer=tf.initializers.ones())
        with tf.Session() as sess:
            sess.run(tf.initializers.global_variables())
            assert sess.run(tf.math.reduce_sum(v)) == 2.0
