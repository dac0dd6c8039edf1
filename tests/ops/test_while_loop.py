"""``tf.while_loop`` without TensorFlow: results, errors, what may not be fed or fetched.

GraphDef and value parity with TensorFlow is in ``tests/interop/test_while_loop_tf.py``.
"""
from __future__ import annotations

import numpy as np
import pytest

import flowsaver as tf


@pytest.fixture()
def g():
    graph = tf.Graph()
    with graph.as_default():
        yield graph


def test_fibonacci(g):
    _, a, _ = tf.while_loop(lambda i, a, b: i < 10, lambda i, a, b: (i + 1, b, a + b),
                            [0, 0, 1])
    with tf.Session() as sess:
        assert sess.run(a) == 55


def test_a_single_variable_comes_back_bare_unless_asked(g):
    bare = tf.while_loop(lambda v: v < 3, lambda v: v + 1, [0])
    kept = tf.while_loop(lambda v: v < 3, lambda v: [v + 1], [0], return_same_structure=True)
    assert bare.name == "while/Exit:0" and isinstance(kept, list)


def test_the_body_runs_once_per_iteration(g):
    counter = tf.Variable(0, name="counter")

    def body(i):
        with tf.control_dependencies([tf.assign_add(counter, 1)]):
            return i + 1
    out = tf.while_loop(lambda i: i < 4, body, [0])
    with tf.Session() as sess:
        sess.run(counter.initializer)
        assert sess.run(out) == 4 and sess.run(counter) == 4
        sess.run(out)
        assert sess.run(counter) == 8


ERRORS = [
    ("cond_not_callable", lambda: tf.while_loop(1, lambda v: v, [0]), TypeError, "callable"),
    ("no_loop_vars", lambda: tf.while_loop(lambda: True, lambda: 1, []), ValueError,
     "must be provided"),
    ("structure", lambda: tf.while_loop(lambda a, b: a < 1, lambda a, b: [a], [0, 1]),
     ValueError, "same nested structure"),
    ("shape_grows", lambda: tf.while_loop(lambda v: tf.size(v) < 9,
                                          lambda v: tf.concat([v, v], 0), [tf.ones([2])]),
     ValueError, "enters the loop with shape"),
    ("dtype_changes", lambda: tf.while_loop(lambda v: v < 1, lambda v: tf.cast(v, tf.float32),
                                            [0]), TypeError, "float32"),
    ("invariant_too_narrow", lambda: tf.while_loop(
        lambda v: v[0] < 1, lambda v: v, [tf.ones([3])], shape_invariants=[tf.TensorShape([2])]),
     ValueError, "not compatible"),
    ("parallel_iterations", lambda: tf.while_loop(lambda v: v < 1, lambda v: v, [0],
                                                  parallel_iterations=0), TypeError, "positive"),
    ("maximum_iterations_shape", lambda: tf.while_loop(
        lambda v: v < 1, lambda v: v, [0], maximum_iterations=[1, 2]), ValueError, "scalar"),
]


@pytest.mark.parametrize("name,build,error,fragment", ERRORS, ids=[e[0] for e in ERRORS])
def test_while_loop_errors(g, name, build, error, fragment):
    with pytest.raises(error, match=fragment):
        build()


def test_the_inside_of_a_loop_cannot_be_fetched_fed_or_used_outside(g):
    seen = {}

    def body(v):
        seen["inside"] = v * 2.0
        return seen["inside"]
    out = tf.while_loop(lambda v: v < 10.0, body, [tf.constant(1.0)])
    inside = seen["inside"]
    with tf.Session() as sess:
        with pytest.raises(ValueError, match="while/mul has been marked as not fetchable"):
            sess.run(inside)
        with pytest.raises(ValueError, match="may not be fed"):
            sess.run(out, {inside: 3.0})
        assert sess.run(out) == 16.0
    with pytest.raises(ValueError, match="'while/mul' is in a while loop"):
        inside + 1.0


def test_a_loop_inside_a_loop_body_sees_the_outer_values(g):
    x = tf.placeholder(tf.float32, [2], name="x")

    def outer(i, acc):
        inner = tf.while_loop(lambda j, a: j < i, lambda j, a: (j + 1, a + x), [0, acc])
        return i + 1, inner[1]
    _, out = tf.while_loop(lambda i, acc: i < 4, outer, [0, tf.zeros([2])])
    with tf.Session() as sess:  # 0 + 1 + 2 + 3 additions of x
        np.testing.assert_array_equal(sess.run(out, {x: [1.0, -1.0]}), [6.0, -6.0])
