"""Joined plan steps (runtime/fusion.py): a convolution and the bias added to its output run
as one kernel where nothing else needs the convolution's own output, give the two ops'
values within float rounding, and fail naming the node whose kernel fails."""
import numpy as np
import pytest

import flowsaver as tf
from flowsaver import errors
from flowsaver.runtime import compiled, executor, fetches as fetch_util

RNG = np.random.default_rng(11)


def _plan(sess, fetches, feeds):
    mapper = fetch_util.FetchMapper(sess.graph, fetches)
    return sess._plan(mapper, list(feeds)), mapper


def _fused_pairs(plan) -> list:
    return [(step.fused.type, step.op.type) for step in plan.steps if step.fused is not None]


def _conv_bias(x_shape, f_shape, strides=(1, 1), padding="SAME", dilations=(1, 1),
               dtype=tf.float32):
    x = tf.placeholder(dtype, x_shape, name="x")
    f = tf.constant(RNG.standard_normal(f_shape), dtype, name="f")
    b = tf.constant(RNG.standard_normal(f_shape[3]), dtype, name="b")
    conv = tf.nn.conv2d(x, f, [1, *strides, 1], padding, dilations=[1, *dilations, 1])
    return x, conv, tf.nn.bias_add(conv, b), b


CASES = {  # (input shape, filter shape, strides, padding, dilations): every kernel path
    "blocked 3x3": ((3, 9, 10, 6), (3, 3, 6, 20), (1, 1), "SAME", (1, 1)),
    "paired 5x5 into 8": ((2, 9, 12, 4), (5, 5, 4, 8), (1, 1), "SAME", (1, 1)),
    "strided valid": ((2, 11, 9, 5), (3, 2, 5, 7), (2, 2), "VALID", (1, 1)),
    "dilated": ((2, 12, 12, 3), (3, 3, 3, 6), (1, 1), "SAME", (2, 2)),
    "1x1": ((2, 5, 5, 8), (1, 1, 8, 12), (1, 1), "VALID", (1, 1)),
    "one input channel (slabs)": ((3, 10, 10, 1), (5, 5, 1, 9), (1, 1), "SAME", (1, 1)),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_conv_and_bias_join_and_match_the_two_ops(name):
    x_shape, f_shape, strides, padding, dilations = CASES[name]
    with tf.Graph().as_default():
        x, conv, y, b = _conv_bias(x_shape, f_shape, strides, padding, dilations)
        out = tf.nn.relu(y)
        with tf.Session() as sess:
            feed = {x: RNG.standard_normal(x_shape).astype(np.float32)}
            plan, mapper = _plan(sess, [out], feed)
            assert _fused_pairs(plan) == [("Conv2D", "BiasAdd")]
            assert "Conv2D" not in [s.op.type for s in plan.steps]
            joined = sess.run(out, feed)
            # fetching the convolution's output keeps the two steps apart
            plan_apart, _ = _plan(sess, [out, conv], feed)
            assert _fused_pairs(plan_apart) == []
            apart, conv_value = sess.run([out, conv], feed)
            bias = sess.run(b)
            values = list(feed.values())
            interpreted = executor.execute(plan, values)[0]
    np.testing.assert_array_equal(apart, np.maximum(conv_value + bias, 0))
    np.testing.assert_allclose(joined, apart, rtol=1e-5, atol=1e-5)
    np.testing.assert_array_equal(interpreted, joined)


def test_float64_joins_and_half_runs_the_two_kernels():
    for dtype, np_dtype, tolerance in ((tf.float64, np.float64, 1e-12),
                                       (tf.float16, np.float16, 0)):
        with tf.Graph().as_default():
            x, conv, y, b = _conv_bias((2, 6, 6, 3), (3, 3, 3, 4), dtype=dtype)
            with tf.Session() as sess:
                feed = {x: RNG.standard_normal((2, 6, 6, 3)).astype(np_dtype)}
                joined = sess.run(y, feed)
                conv_value, bias = sess.run([conv, b], feed)
        assert joined.dtype == np_dtype
        np.testing.assert_allclose(joined, conv_value + bias, rtol=tolerance, atol=tolerance)


def _kept_apart(build) -> list:
    with tf.Graph().as_default():
        fetches = build()
        with tf.Session() as sess:
            sess.run(tf.global_variables_initializer())
            feed = {sess.graph.get_tensor_by_name("x:0"):
                    RNG.standard_normal((2, 6, 6, 3)).astype(np.float32)}
            plan, _ = _plan(sess, fetches, feed)
            sess.run(fetches, feed)
    return _fused_pairs(plan)


def test_steps_stay_apart_when_the_convolution_output_is_needed_elsewhere_or_ordered():
    def read_twice():
        x, conv, y, _ = _conv_bias((2, 6, 6, 3), (3, 3, 3, 4))
        return [y + tf.reduce_sum(conv)]

    def waited_on():
        x, conv, y, _ = _conv_bias((2, 6, 6, 3), (3, 3, 3, 4))
        with tf.control_dependencies([conv.op]):
            other = tf.identity(x)
        return [y, other]

    def waits():
        x = tf.placeholder(tf.float32, (2, 6, 6, 3), name="x")
        gate, f = tf.identity(x), tf.ones([3, 3, 3, 4])
        with tf.control_dependencies([gate]):
            conv = tf.nn.conv2d(x, f, [1, 1, 1, 1], "SAME")
        assert conv.op.control_inputs == [gate.op]
        return [tf.nn.bias_add(conv, tf.ones([4]))]

    def assignment_between():   # the convolution reads the variable's ref itself
        x = tf.placeholder(tf.float32, (2, 6, 6, 3), name="x")
        w = tf.Variable(tf.ones([3, 3, 3, 4]))
        conv = tf.raw_ops.Conv2D(input=x, filter=w._ref(), strides=[1, 1, 1, 1],
                                 padding="SAME")
        with tf.control_dependencies([conv.op]):
            step = tf.assign_add(w, tf.ones([3, 3, 3, 4]))
        with tf.control_dependencies([step]):
            bias = tf.identity(tf.ones([4]))
        return [tf.nn.bias_add(conv, bias)]

    def channels_first_bias():
        x = tf.placeholder(tf.float32, (2, 6, 6, 3), name="x")
        conv = tf.nn.conv2d(x, tf.ones([3, 3, 3, 4]), [1, 1, 1, 1], "SAME")
        return [tf.nn.bias_add(tf.transpose(conv, [0, 3, 1, 2]), tf.ones([4]),
                               data_format="NCHW")]

    for build in (read_twice, waited_on, waits, assignment_between, channels_first_bias):
        assert _kept_apart(build) == [], build.__name__


def test_a_joined_step_reads_the_values_the_convolution_read():
    """The joined step runs where the bias was added: an assignment between them changes
    neither a filter read before it by the variable's read (joined: the read's value is
    computed already), nor one the convolution reads itself through the variable's ref
    (kept apart: the read happens when the step runs)."""
    for through_ref in (False, True):
        with tf.Graph().as_default():
            x = tf.placeholder(tf.float32, (1, 5, 5, 2), name="x")
            w = tf.Variable(tf.ones([3, 3, 2, 4]))
            kernel = w._ref() if through_ref else w.value()
            conv = tf.raw_ops.Conv2D(input=x, filter=kernel, strides=[1, 1, 1, 1],
                                     padding="SAME")
            # no control edge to the convolution: the plan's order puts the assignment
            # after it, on the way to the bias
            step = tf.assign_add(w, tf.ones([3, 3, 2, 4]))
            with tf.control_dependencies([step]):
                bias = tf.identity(tf.ones([4]))
            y = tf.nn.bias_add(conv, bias)
            with tf.Session() as sess:
                sess.run(tf.global_variables_initializer())
                feed = {x: np.ones((1, 5, 5, 2), np.float32)}
                plan, _ = _plan(sess, [y], feed)
                order = [s.op for s in plan.steps]
                assert order.index(step.op) > order.index(kernel.op)
                conv_step = [s for s in plan.steps if s.op is conv.op or s.fused is conv.op]
                assert conv_step[0].derefs[1] is through_ref
                assert _fused_pairs(plan) == ([] if through_ref else [("Conv2D", "BiasAdd")])
                first, second = sess.run(y, feed), sess.run(y, feed)
        assert first[0, 2, 2, 0] == 18 + 1 and second[0, 2, 2, 0] == 36 + 1


def test_a_failing_joined_step_names_the_node_whose_kernel_fails():
    with tf.Graph().as_default():
        x = tf.placeholder(tf.float32, (2, 6, 6, 3), name="x")
        f = tf.placeholder(tf.float32, None, name="filter")
        bias = tf.placeholder(tf.float32, None, name="bias")
        conv = tf.nn.conv2d(x, f, [1, 1, 1, 1], "SAME", name="conv")
        y = tf.nn.bias_add(conv, bias, name="add_bias")
        with tf.Session() as sess:
            plan, _ = _plan(sess, [y], {x: 0, f: 0, bias: 0})
            assert _fused_pairs(plan) == [("Conv2D", "BiasAdd")]
            xv = np.ones((2, 6, 6, 3), np.float32)
            with pytest.raises(errors.InvalidArgumentError, match="add_bias") as caught:
                sess.run(y, {x: xv, f: np.ones((3, 3, 3, 4), np.float32),
                             bias: np.ones(5, np.float32)})
            assert caught.value.op.name == "add_bias"
            with pytest.raises(errors.InvalidArgumentError, match="conv") as caught:
                sess.run(y, {x: xv, f: np.ones((3, 3, 2, 4), np.float32),
                             bias: np.ones(4, np.float32)})
            assert caught.value.op.name == "conv"
            good = sess.run(y, {x: xv, f: np.ones((3, 3, 3, 4), np.float32),
                                bias: np.ones(4, np.float32)})
    assert good[0, 2, 2, 0] == 28.0 and good[0, 0, 0, 0] == 13.0


def test_compiled_plan_of_a_training_step_joins_forward_convolutions():
    with tf.Graph().as_default():
        x = tf.placeholder(tf.float32, (4, 8, 8, 2), name="x")
        h = tf.layers.conv2d(x, 6, 3, padding="same", activation=tf.nn.relu)
        h = tf.layers.conv2d(h, 5, 3, padding="same")
        loss = tf.reduce_mean(tf.square(h))
        train = tf.train.GradientDescentOptimizer(0.1).minimize(loss)
        with tf.Session() as sess:
            sess.run(tf.global_variables_initializer())
            feed = {x: RNG.standard_normal((4, 8, 8, 2)).astype(np.float32)}
            mapper = fetch_util.FetchMapper(sess.graph, [train, loss])
            plan = sess._plan(mapper, [x])
            assert _fused_pairs(plan) == [("Conv2D", "BiasAdd")] * 2
            run = compiled.compile_plan(plan, mapper.targets)
            before = sess.run(loss, feed)
            for _ in range(5):
                run(list(feed.values()))
            assert sess.run(loss, feed) < before
