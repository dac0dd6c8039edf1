"""``tf.gradients`` without TensorFlow: the walk's behaviour, names and errors, sparse
gradients, and the kernels of the gradient-only ops against NumPy references."""
from __future__ import annotations

import numpy as np
import pytest

import flowsaver as tf
from flowsaver import errors
from flowsaver.ops.autodiff.gradients import AggregationMethod, IndexedSlices
from flowsaver.ops.op_builder import create_op

RNG = np.random.default_rng(9)


def arr(*shape, dtype=np.float32):
    return RNG.uniform(-2.0, 2.0, shape).astype(dtype)


def run(fetches, feeds=None, graph=None):
    with tf.Session(graph=graph or tf.get_default_graph()) as sess:
        return sess.run(fetches, feeds or {})


@pytest.fixture(autouse=True)
def fresh_graph():
    g = tf.Graph()
    with g.as_default():
        yield g


# ---- the walk -----------------------------------------------------------------------------------
def test_scopes_are_named_as_tensorflow_names_them(fresh_graph):
    x = tf.placeholder(tf.float32, [2, 3], name="x")
    y = tf.nn.relu(x)
    tf.gradients(y, [x])
    tf.gradients(y, [x])
    tf.gradients(y, [x], name="mine")
    names = [op.name for op in fresh_graph.get_operations()]
    for expected in ("gradients/Shape", "gradients/grad_ys_0/Const", "gradients/grad_ys_0",
                     "gradients/Relu_grad/ReluGrad", "gradients_1/Relu_grad/ReluGrad",
                     "mine/Relu_grad/ReluGrad"):
        assert expected in names
    assert fresh_graph.get_operation_by_name("gradients/grad_ys_0").type == "Fill"


def test_values_of_a_small_program():
    x = tf.placeholder(tf.float32, [2, 3])
    w = tf.placeholder(tf.float32, [3])
    loss = tf.reduce_sum(tf.square(x * w))
    gx, gw = tf.gradients(loss, [x, w])
    a, b = arr(2, 3), arr(3)
    got_x, got_w = run([gx, gw], {x: a, w: b})
    np.testing.assert_allclose(got_x, 2 * a * b * b, rtol=1e-5)
    np.testing.assert_allclose(got_w, (2 * a * a * b).sum(0), rtol=1e-5)
    assert gx.shape.as_list() == [2, 3] and gw.shape.as_list() == [3]


def test_a_tensor_used_twice_sums_its_gradients_with_add_n(fresh_graph):
    x = tf.placeholder(tf.float32, [2], name="x")
    y = x * x + tf.exp(x)
    (g,) = tf.gradients(y, [x])
    assert g.op.name == "gradients/AddN" and g.op.type == "AddN"
    assert g.op.get_attr("_class") == [b"loc:@gradients/mul_grad/Mul"]
    a = np.array([0.5, -1.0], np.float32)
    np.testing.assert_allclose(run(g, {x: a}), 2 * a + np.exp(a), rtol=1e-6)


def test_tree_aggregation_adds_pairwise():
    x = tf.placeholder(tf.float32, [2], name="x")
    (g,) = tf.gradients(x * x + x, [x], aggregation_method=AggregationMethod.EXPERIMENTAL_TREE)
    assert g.op.name.startswith("gradients/x_gradient_sum/")
    np.testing.assert_allclose(run(g, {x: np.array([1.0, 2.0], np.float32)}), [3.0, 5.0])


def test_unconnected_and_integer_paths_give_none():
    x = tf.placeholder(tf.float32, [2])
    other = tf.placeholder(tf.float32, [2])
    y = tf.cast(tf.argmax(tf.reshape(x, [1, 2]), 1), tf.float32) + other
    assert tf.gradients(y, [x]) == [None]
    assert tf.gradients(x * 2.0, [other]) == [None]


def test_stop_gradient_op_and_stop_gradients_argument():
    x = tf.placeholder(tf.float32, [2])
    a = x * 3.0
    assert tf.gradients(tf.stop_gradient(a) * x, [a]) == [None]
    (g,) = tf.gradients(a * a + x, [x], stop_gradients=[a])
    np.testing.assert_allclose(run(g, {x: np.array([1.0, 2.0], np.float32)}), [1.0, 1.0])


def test_grad_ys_seed_the_walk(fresh_graph):
    x = tf.placeholder(tf.float32, [2])
    (g,) = tf.gradients(x * 3.0, [x], grad_ys=[tf.constant([1.0, 10.0])])
    assert fresh_graph.get_operation_by_name("gradients/grad_ys_0").type == "Identity"
    np.testing.assert_allclose(run(g, {x: np.zeros(2, np.float32)}), [3.0, 30.0])


def test_grad_ys_errors():
    x = tf.placeholder(tf.float32, [2])
    with pytest.raises(ValueError, match="Passed 2 grad_ys for 1 ys"):
        tf.gradients(x * 2.0, [x], grad_ys=[x, x])
    with pytest.raises(TypeError, match="must be real or integer"):
        tf.gradients(x * 2.0, [x], grad_ys=[tf.constant([True, False])])
    z = tf.placeholder(tf.complex64, [2])
    with pytest.raises(TypeError, match="must set grad_ys"):
        tf.gradients(z, [z])
    with pytest.raises(ValueError, match="aggregation_method"):
        tf.gradients(x, [x], aggregation_method=7)


def test_an_op_without_gradient_raises_lookup_error():
    x = tf.placeholder(tf.float32, [3, 2])
    y = tf.pad(x, [[1, 1], [0, 0]], mode="REFLECT")
    with pytest.raises(LookupError, match="No gradient defined for operation'MirrorPad'"):
        tf.gradients(y, [x])


def test_gate_gradients_wraps_several_gradients_in_a_tuple(fresh_graph):
    x = tf.placeholder(tf.float32, [2], name="x")
    w = tf.placeholder(tf.float32, [2], name="w")
    gx, gw = tf.gradients(x * w, [x, w], gate_gradients=True)
    assert gx.op.name == "gradients/mul_grad/tuple/control_dependency"
    assert gw.op.name == "gradients/mul_grad/tuple/control_dependency_1"
    gate = fresh_graph.get_operation_by_name("gradients/mul_grad/tuple/group_deps")
    assert gate in gx.op.control_inputs
    a, b = np.array([1.0, 2.0], np.float32), np.array([3.0, 4.0], np.float32)
    np.testing.assert_allclose(run([gx, gw], {x: a, w: b}), [b, a])


def test_variables_get_their_gradient_through_the_read(fresh_graph):
    w = tf.Variable(np.array([[1.0, 2.0], [3.0, 4.0]], np.float32), name="w")
    x = tf.constant([[1.0, -1.0]])
    loss = tf.reduce_sum(tf.matmul(x, w) ** 2)
    (g,) = tf.gradients(loss, [w])
    assert g.op.name == "gradients/MatMul_grad/MatMul_1"
    with tf.Session(graph=fresh_graph) as sess:
        sess.run(tf.global_variables_initializer())
        got = sess.run(g)
    y = np.array([[1.0, -1.0]]) @ np.array([[1.0, 2.0], [3.0, 4.0]])
    np.testing.assert_allclose(got, np.array([[1.0], [-1.0]]) @ (2 * y), rtol=1e-6)


def test_gather_gives_indexed_slices_that_convert_to_dense():
    params = tf.placeholder(tf.float32, [3, 2])
    y = tf.gather(params, [2, 0, 2])
    (g,) = tf.gradients(y * 2.0, [params])
    assert isinstance(g, IndexedSlices)
    dense = tf.convert_to_tensor(g)
    assert dense.op.type == "UnsortedSegmentSum"
    got = run(dense, {params: arr(3, 2)})
    np.testing.assert_allclose(got, [[2.0, 2.0], [0.0, 0.0], [4.0, 4.0]])


def test_sparse_gradients_are_concatenated_and_mixed_ones_made_dense():
    params = tf.placeholder(tf.float32, [3, 2])
    y = tf.gather(params, [0]) + tf.gather(params, [1, 1])
    (g,) = tf.gradients(y, [params])
    assert isinstance(g, IndexedSlices) and g.values.op.type == "ConcatV2"
    np.testing.assert_allclose(run(tf.convert_to_tensor(g), {params: arr(3, 2)}),
                               [[2.0, 2.0], [2.0, 2.0], [0.0, 0.0]])
    (g,) = tf.gradients(tf.reduce_sum(tf.gather(params, [2])) + tf.reduce_sum(params),
                        [params])
    assert isinstance(g, tf.Tensor) and g.op.type == "AddN"
    np.testing.assert_allclose(run(g, {params: arr(3, 2)}), [[1, 1], [1, 1], [2, 2]])


def test_unknown_batch_dimension():
    x = tf.placeholder(tf.float32, [None, 3])
    b = tf.placeholder(tf.float32, [3])
    loss = tf.reduce_mean(tf.reduce_max(x + b, 1))
    gx, gb = tf.gradients(loss, [x, b])
    a = np.array([[1.0, 5.0, 2.0], [7.0, 0.0, 1.0]], np.float32)
    got_x, got_b = run([gx, gb], {x: a, b: np.zeros(3, np.float32)})
    np.testing.assert_allclose(got_x, [[0, 0.5, 0], [0.5, 0, 0]])
    np.testing.assert_allclose(got_b, [0.5, 0.5, 0])


# ---- kernels of the gradient ops ---------------------------------------------------------------
def _conv_attrs(fmt="NHWC", stride=2, padding="SAME"):
    strides = [1, stride, stride, 1] if fmt == "NHWC" else [1, 1, stride, stride]
    return {"strides": strides, "padding": padding, "data_format": fmt}


def test_conv_backprop_in_nchw_equals_nhwc():
    x, f, dy = arr(2, 6, 5, 3), arr(3, 2, 3, 4), arr(2, 3, 3, 4)
    nchw = (0, 3, 1, 2)
    outs = run([
        create_op("Conv2DBackpropInput", [[2, 6, 5, 3], f, dy], _conv_attrs()),
        create_op("Conv2DBackpropInput", [[2, 3, 6, 5], f, dy.transpose(nchw)],
                  _conv_attrs("NCHW")),
        create_op("Conv2DBackpropFilter", [x, [3, 2, 3, 4], dy], _conv_attrs()),
        create_op("Conv2DBackpropFilter", [x.transpose(nchw), [3, 2, 3, 4], dy.transpose(nchw)],
                  _conv_attrs("NCHW"))])
    np.testing.assert_allclose(outs[1], outs[0].transpose(nchw), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(outs[3], outs[2], rtol=1e-5, atol=1e-5)


def test_conv_backprop_input_is_the_transpose_of_conv2d():
    x, f, dy = arr(1, 5, 5, 2), arr(3, 3, 2, 3), arr(1, 3, 3, 3)
    y = create_op("Conv2D", [x, f], _conv_attrs())
    dx = create_op("Conv2DBackpropInput", [[1, 5, 5, 2], f, dy], _conv_attrs())
    got_y, got_dx = run([y, dx])
    # <conv(x), dy> == <x, conv^T(dy)>
    np.testing.assert_allclose((got_y * dy).sum(), (x * got_dx).sum(), rtol=1e-4)


def test_max_pool_grad_routes_ties_to_the_first_maximum():
    x = np.array([[1.0, 3.0], [3.0, 0.0]], np.float32).reshape(1, 2, 2, 1)
    attrs = {"ksize": [1, 2, 2, 1], "strides": [1, 2, 2, 1], "padding": "VALID"}
    out = run(create_op("MaxPoolGrad", [x, np.full((1, 1, 1, 1), 3.0, np.float32),
                                        np.full((1, 1, 1, 1), 5.0, np.float32)], attrs))
    np.testing.assert_array_equal(out.reshape(2, 2), [[0.0, 5.0], [0.0, 0.0]])


def test_avg_pool_grad_counts_only_pixels_inside_the_input():
    attrs = {"ksize": [1, 2, 2, 1], "strides": [1, 2, 2, 1], "padding": "SAME"}
    out = run(create_op("AvgPoolGrad", [[1, 3, 3, 1], np.ones((1, 2, 2, 1), np.float32)],
                        attrs))
    np.testing.assert_allclose(out.reshape(3, 3), [[0.25, 0.25, 0.5], [0.25, 0.25, 0.5],
                                                   [0.5, 0.5, 1.0]])


def test_gradient_kernels_reject_bad_shapes_and_layouts():
    f, dy = arr(3, 3, 2, 3), arr(1, 2, 2, 3)
    with pytest.raises(errors.InvalidArgumentError, match="out_backprop has shape"):
        run(create_op("Conv2DBackpropInput", [[1, 5, 5, 2], f, dy], _conv_attrs()))
    with pytest.raises(errors.UnimplementedError, match="batch and depth"):
        run(create_op("Conv2DBackpropInput", [[1, 5, 5, 2], f, arr(1, 3, 3, 3)],
                      {"strides": [2, 2, 2, 1], "padding": "SAME"}))


def test_support_kernels():
    offsets = create_op("ConcatOffset", [1, [[2, 3, 4], [2, 5, 4], [2, 1, 4]]])
    stitch = create_op("DynamicStitch", [[[0, 2], [1]], [[10.0, 30.0], [20.0]]])
    cum = create_op("Cumprod", [[[1.0, 2.0, 3.0]], 1], {"exclusive": True, "reverse": True})
    diff = create_op("ListDiff", [[1, 2, 3, 4], [2, 4]])
    seg = create_op("UnsortedSegmentSum", [[[1.0], [2.0], [3.0]], [1, -1, 1], 3])
    inv = create_op("InvertPermutation", [[2, 0, 1]])
    wide = create_op("BroadcastTo", [[1.0, 2.0], [2, 2]])
    got = run([offsets, stitch, cum, diff, seg, inv, wide])
    np.testing.assert_array_equal(got[0], [[0, 0, 0], [0, 3, 0], [0, 8, 0]])
    np.testing.assert_array_equal(got[1], [10.0, 20.0, 30.0])
    np.testing.assert_array_equal(got[2], [[6.0, 3.0, 1.0]])
    np.testing.assert_array_equal(got[3][0], [1, 3])
    np.testing.assert_array_equal(got[3][1], [0, 2])
    np.testing.assert_array_equal(got[4], [[0.0], [4.0], [0.0]])
    np.testing.assert_array_equal(got[5], [1, 2, 0])
    np.testing.assert_array_equal(got[6], [[1.0, 2.0], [1.0, 2.0]])
    with pytest.raises(errors.InvalidArgumentError, match="permutation"):
        run(create_op("InvertPermutation", [[0, 0, 1]]))
    with pytest.raises(errors.InvalidArgumentError, match="out of range"):
        run(create_op("UnsortedSegmentSum", [[1.0, 2.0], [0, 5], 2]))
