"""``tf.gradients`` against real TensorFlow: the same gradient values, the same gradient
subgraph (GraphDef equal node for node, so op types, names, inputs and attrs alike), and
the kernels of the convolution and pooling gradient ops equal to TensorFlow's raw ops.

Each row is a program over placeholders ``in0, in1, ...``; the test differentiates its
output with respect to every placeholder (sparse gradients made dense with
``convert_to_tensor``), in flowsaver and in TensorFlow's ``tf.compat.v1`` in TF1 mode.
"""
from __future__ import annotations

import collections

import numpy as np
import pytest

import flowsaver
from parity import (assert_close, assert_same_graph_def, build_both, run_both, run_raw_op,
                    tf1_mode)

RNG = np.random.default_rng(11)


def arr(*shape, low=-2.0, high=2.0, dtype=np.float32):
    return RNG.uniform(low, high, shape).astype(dtype)


def pos(*shape):
    return arr(*shape, low=0.5, high=2.0)


X23, Y23, Y3, Y21 = arr(2, 3), arr(2, 3), arr(3), arr(2, 1)
IMG, K33 = arr(2, 7, 7, 3), arr(3, 3, 3, 4)

# (name, fn(api, *placeholders) -> y, inputs, tf.gradients keyword arguments)
CASES = [
    ("add_broadcast", lambda api, x, y: x + y, [X23, Y3], {}),
    ("add_same_shape", lambda api, x, y: api.add(x, y), [X23, Y23], {}),
    ("sub", lambda api, x, y: x - y, [X23, Y21], {}),
    ("mul", lambda api, x, y: x * y, [X23, Y23], {}),
    ("mul_broadcast", lambda api, x, y: x * y, [X23, Y3], {}),
    ("realdiv", lambda api, x, y: x / y, [X23, pos(3)], {}),
    ("matmul", lambda api, x, y: api.matmul(x, y), [X23, arr(3, 4)], {}),
    ("matmul_ta", lambda api, x, y: api.matmul(x, y, transpose_a=True), [arr(3, 2), arr(3, 4)], {}),
    ("matmul_tb", lambda api, x, y: api.matmul(x, y, transpose_b=True), [X23, arr(4, 3)], {}),
    ("matmul_tt", lambda api, x, y: api.matmul(x, y, transpose_a=True, transpose_b=True),
     [arr(3, 2), arr(4, 3)], {}),
    ("relu", lambda api, x: api.nn.relu(x), [X23], {}),
    ("reduce_mean", lambda api, x: api.reduce_mean(x), [X23], {}),
    ("reduce_sum_axis", lambda api, x: api.reduce_sum(x, 1), [X23], {}),
    ("reduce_max", lambda api, x: api.reduce_max(x, 1), [X23], {}),
    ("reduce_min_keepdims", lambda api, x: api.reduce_min(x, 0, keepdims=True), [X23], {}),
    ("reduce_prod", lambda api, x: api.reduce_prod(x, 1), [X23], {}),
    ("square_exp_log", lambda api, x: api.square(x) + api.exp(x) + api.log(x * x + 1.0),
     [X23], {}),
    ("unary", lambda api, x: api.abs(x) - api.negative(x) + api.sign(x) + api.reciprocal(x)
     + api.sqrt(x * x + 1.0) + api.rsqrt(x * x + 1.0), [X23], {}),
    ("tanh_sigmoid", lambda api, x: api.tanh(api.sigmoid(x)), [X23], {}),
    ("pow", lambda api, x, y: api.pow(x, y), [pos(2, 3), Y3], {}),
    ("maximum_minimum", lambda api, x, y: api.maximum(x, y) + api.minimum(x, y),
     [X23, Y21], {}),
    ("squared_difference", lambda api, x, y: api.squared_difference(x, y), [X23, Y3], {}),
    ("floormod_floordiv", lambda api, x, y: api.floormod(x, y) + api.floordiv(x, y),
     [X23, pos(3)], {}),
    ("cast", lambda api, x: api.cast(api.cast(x, api.float64) * 2.0, api.float32), [X23], {}),
    ("add_n", lambda api, x, y: api.add_n([x, y, x]), [X23, Y23], {}),
    ("select", lambda api, x, y: api.where(x > y, x, y), [X23, Y23], {}),
    ("select_v2", lambda api, x, y: api.where_v2(x > 0.0, x, y), [X23, Y3], {}),
    ("reshape_transpose", lambda api, x: api.transpose(api.reshape(x, [3, 2])), [X23], {}),
    ("transpose_perm", lambda api, x: api.transpose(x, [1, 2, 0]), [arr(2, 3, 4)], {}),
    ("expand_squeeze", lambda api, x: api.squeeze(api.expand_dims(x, 0) * 2.0), [X23], {}),
    ("concat", lambda api, x, y: api.concat([x, y], 0), [X23, arr(1, 3)], {}),
    ("pack_unpack", lambda api, x, y: api.unstack(api.stack([x, y], 1), axis=2)[1],
     [X23, Y23], {}),
    ("slice", lambda api, x: api.slice(x, [0, 1], [2, 2]), [X23], {}),
    ("strided_slice", lambda api, x: x[:, 1:] * x[1, ::2][0], [X23], {}),
    ("gather", lambda api, x: api.gather(x, [1, 0, 1]), [X23], {}),
    ("gather_twice", lambda api, x: api.gather(x, [1]) * api.gather(x, [0]), [X23], {}),
    ("gather_and_dense", lambda api, x: api.reduce_sum(api.gather(x, [1, 1])) + api.reduce_sum(
        api.nn.relu(x)), [X23], {}),
    ("gather_axis1", lambda api, x: api.gather(x, [2, 0], axis=1), [X23], {}),
    ("tile", lambda api, x: api.tile(x, [2, 1]), [X23], {}),
    ("pad", lambda api, x: api.pad(x, [[1, 0], [0, 2]]), [X23], {}),
    ("fill", lambda api, x: api.fill([2, 2], api.reduce_sum(x)), [X23], {}),
    ("placeholder_with_default", lambda api, x: api.placeholder_with_default(x, [2, 3]) * 2.0,
     [X23], {}),
    ("activations", lambda api, x: api.nn.elu(x) + api.nn.selu(x) + api.nn.softplus(x)
     + api.nn.softsign(x) + api.nn.leaky_relu(x, 0.1) + api.nn.relu6(x * 4.0), [X23], {}),
    ("softmax", lambda api, x: api.nn.softmax(x) * api.constant([1.0, 2.0, 3.0]), [X23], {}),
    ("log_softmax", lambda api, x: api.nn.log_softmax(x), [X23], {}),
    ("bias_add_l2", lambda api, x, b: api.nn.l2_loss(api.nn.bias_add(x, b)), [X23, Y3], {}),
    ("softmax_cross_entropy", lambda api, x, y: api.nn.softmax_cross_entropy_with_logits_v2(
        labels=api.nn.softmax(y), logits=x), [X23, Y23], {}),
    ("sparse_softmax_cross_entropy", lambda api, x: api.reduce_mean(
        api.nn.sparse_softmax_cross_entropy_with_logits(
            labels=api.constant([2, 0], api.int64), logits=x)), [X23], {}),
    ("softmax_cross_entropy_v1", lambda api, x, y: api.nn.softmax_cross_entropy_with_logits(
        labels=y, logits=x), [X23, Y23], {}),
    ("sparse_softmax_cross_entropy_3d",
     lambda api, x: api.nn.sparse_softmax_cross_entropy_with_logits(
         labels=api.constant([[0, 1], [2, 0]]), logits=x), [arr(2, 2, 3)], {}),
    ("moments", lambda api, x: api.rsqrt(api.reduce_mean(api.squared_difference(
        x, api.reduce_mean(x, 0, keepdims=True)), 0) + 1e-3), [arr(4, 3)], {}),
    ("boolean_mask", lambda api, x: api.boolean_mask(x, api.constant([True, False])), [X23], {}),
    ("concat_three", lambda api, x: api.concat([x, x * 2.0, x], 1), [X23], {}),
    ("scalar", lambda api, x: api.square(x) * 3.0, [np.float32(1.5)], {}),
    ("conv_pool", lambda api, x, k: [
        api.nn.max_pool(api.nn.conv2d(x, k, [1, 2, 2, 1], "SAME"), [1, 2, 2, 1], [1, 2, 2, 1],
                        "SAME"),
        api.nn.avg_pool(api.nn.conv2d(x, k, [1, 1, 1, 1], "VALID"), [1, 3, 3, 1],
                        [1, 1, 1, 1], "VALID")], [IMG, K33], {}),
    # walk behaviour: unknown shapes, reuse, aggregation, gating, stopping, seeds
    ("unknown_batch", lambda api, x, y: api.reduce_mean(api.reduce_max(x * y, 1)),
     [X23, Y3], {"shapes": [[None, 3], [3]]}),
    ("unknown_rank", lambda api, x: api.reduce_sum(x, 0) * 2.0, [X23], {"shapes": [None]}),
    # a scalar fed to an unknown-rank placeholder: the reduction gradient computes [] % 0
    ("unknown_rank_scalar", lambda api, x: api.reduce_sum(x) + api.reduce_mean(x * x), [np.float32(2.5)],
     {"shapes": [None]}),
    ("unknown_dims", lambda api, x: api.reshape(x, [-1]) * 2.0, [X23], {"shapes": [[None, None]]}),
    ("used_twice", lambda api, x: x * x + api.exp(x), [X23], {}),
    ("several_ys", lambda api, x, y: [x * y, api.reduce_sum(x)], [X23, Y23], {}),
    ("gate_gradients", lambda api, x, y: x * y + x, [X23, Y3], {"gate_gradients": True}),
    ("colocate", lambda api, x: x * x + x, [X23], {"colocate_gradients_with_ops": True}),
    ("aggregation_tree", lambda api, x: x * x + x * 3.0, [X23], {"aggregation_method": 1}),
    ("stop_gradient_op", lambda api, x, y: x * api.stop_gradient(y), [X23, Y23], {}),
    ("stop_gradients_arg", lambda api, x: (lambda a: a * a + x)(x * 2.0), [X23],
     {"stop": True}),
    ("grad_ys", lambda api, x: x * 3.0, [X23], {"grad_ys": True}),
    ("named_scope", lambda api, x: api.nn.relu(x), [X23], {"name": "grads"}),
    ("unconnected", lambda api, x, y: x * 2.0, [X23, Y23], {}),
    # second derivatives: the gradient of the gradient
    ("twice_tanh_sigmoid", lambda api, x: api.tanh(x) + api.sigmoid(x), [X23], {"twice": True}),
    ("twice_activations", lambda api, x: (api.nn.relu(x) + api.nn.elu(x) + api.nn.selu(x)
                                          + api.nn.leaky_relu(x) + api.nn.relu6(x)) * x,
     [X23], {"twice": True}),
    ("twice_sqrt_rsqrt_reciprocal_softplus", lambda api, x: api.sqrt(x * x + 1.0)
     + api.rsqrt(x * x + 1.0) + api.reciprocal(x * x + 1.0) + api.nn.softplus(x), [X23],
     {"twice": True}),
    ("twice_cross_entropy", lambda api, x, y: api.nn.softmax_cross_entropy_with_logits_v2(
        labels=api.nn.softmax(y), logits=x), [X23, Y23], {"twice": True}),
    ("twice_bias_conv_pool", lambda api, x, k, b: api.square(api.nn.avg_pool(api.nn.bias_add(
        api.nn.conv2d(x, k, [1, 1, 1, 1], "SAME"), b), [1, 2, 2, 1], [1, 1, 1, 1], "SAME")),
     [arr(1, 4, 4, 2), arr(3, 3, 2, 2), arr(2)], {"twice": True}),
    ("devices", lambda api, x: _on_cpu(api, lambda: x * x + api.exp(x)), [X23],
     {"colocate_gradients_with_ops": True}),
]


def _on_cpu(api, fn):
    with api.device("/cpu:0"):
        return fn()


def _program(fn, inputs, options, nones: dict):
    shapes = options.get("shapes") or [a.shape for a in inputs]

    def build(api):
        phs = [api.placeholder(a.dtype, s, name=f"in{i}") for i, (a, s) in
               enumerate(zip(inputs, shapes))]
        ys = fn(api, *phs)
        kwargs = {k: v for k, v in options.items() if k in (
            "gate_gradients", "colocate_gradients_with_ops", "aggregation_method", "name")}
        if options.get("stop"):
            kwargs["stop_gradients"] = [api.get_default_graph().get_tensor_by_name("mul:0")]
        if options.get("grad_ys"):
            kwargs["grad_ys"] = [api.ones([2, 3]) * 2.0]
        api.gradients(ys, phs, **kwargs)  # a first call: the second one is gradients_1/
        grads = api.gradients(ys, phs, **kwargs)
        if options.get("twice"):
            grads = api.gradients([g for g in grads if g is not None], phs)
        nones[api.__name__.split(".")[0]] = [g is None for g in grads]
        return [api.convert_to_tensor(g) for g in grads if g is not None]
    return build


@pytest.mark.parametrize("name,fn,inputs,options", CASES, ids=[c[0] for c in CASES])
def test_gradients_match_tensorflow(tf, name, fn, inputs, options):
    nones: dict = {}
    build = _program(fn, inputs, options, nones)
    ours, theirs = run_both(tf, build, {f"in{i}": a for i, a in enumerate(inputs)})
    assert_close(ours, theirs)
    assert nones["flowsaver"] == nones["tensorflow"]
    (g1, _), (g2, _) = build_both(tf, build)
    assert _grad_op_types(g1) == _grad_op_types(g2)
    assert_same_graph_def(g1, g2)


def _grad_op_types(graph) -> collections.Counter:
    return collections.Counter(n.op for n in graph.as_graph_def().node
                               if n.name.startswith(("gradients", "grads")))


# ---- whole models: the gradient of a loss with respect to variables ----------------------------
def _mlp(api):
    x = api.placeholder(api.float32, [None, 8], name="x")
    y = api.placeholder(api.int64, [None], name="y")
    w1 = api.Variable(np.linspace(-1, 1, 128).reshape(8, 16).astype(np.float32), name="w1")
    b1 = api.get_variable("b1", [16], initializer=api.constant_initializer(0.1))
    h = api.nn.relu(api.nn.bias_add(api.matmul(x, w1), b1))
    w2 = api.Variable(np.linspace(-1, 1, 64).reshape(16, 4).astype(np.float32), name="w2")
    logits = api.add(api.matmul(h, w2), 0.5, name="logits")
    loss = api.reduce_mean(api.nn.sparse_softmax_cross_entropy_with_logits(
        labels=y, logits=logits), name="loss")
    return api.gradients(loss, [w1, b1, w2])


def _cnn(api):
    x = api.placeholder(api.float32, [None, 8, 8, 1], name="x")
    y = api.placeholder(api.float32, [None, 3], name="y")
    k = api.get_variable("conv/k", [3, 3, 1, 4], initializer=api.constant_initializer(0.1))
    b = api.get_variable("conv/b", [4], initializer=api.zeros_initializer())
    c = api.nn.relu(api.nn.bias_add(api.nn.conv2d(x, k, [1, 1, 1, 1], "SAME"), b))
    p = api.nn.max_pool(c, [1, 2, 2, 1], [1, 2, 2, 1], "VALID")
    f = api.reshape(p, [-1, 4 * 4 * 4])
    w = api.Variable(np.linspace(-0.5, 0.5, 192).reshape(64, 3).astype(np.float32), name="w")
    logits = api.matmul(f, w)
    loss = api.reduce_mean(api.nn.softmax_cross_entropy_with_logits_v2(labels=y, logits=logits))
    return api.gradients(loss, [k, b, w], gate_gradients=True)


MODELS = [
    ("mlp", _mlp, {"x": arr(5, 8), "y": np.array([0, 1, 2, 3, 0], np.int64)}),
    ("cnn", _cnn, {"x": arr(5, 8, 8, 1), "y": np.eye(3, dtype=np.float32)[[0, 1, 2, 0, 1]]}),
]


@pytest.mark.parametrize("name,build,feeds", MODELS, ids=[m[0] for m in MODELS])
def test_model_gradients_match_tensorflow(tf, name, build, feeds):
    ours, theirs = run_both(tf, build, feeds, init=True)
    assert_close(ours, theirs)
    (g1, _), (g2, _) = build_both(tf, build)
    assert _grad_op_types(g1) == _grad_op_types(g2)
    assert_same_graph_def(g1, g2)


# ---- kernels of the convolution and pooling gradient ops ---------------------------------------
def _geometries():
    rows = []
    for padding in ("SAME", "VALID"):
        for stride in (1, 2):
            # few channels (slab input gradient), 9 (blocked im2col), windows that tile
            # the input exactly at stride 2 (MaxPoolGrad's interleaving path)
            for shape, k in (((2, 7, 7, 3), (3, 3)), ((3, 8, 5, 2), (2, 3)),
                             ((1, 5, 6, 4), (1, 1)), ((2, 7, 6, 9), (3, 2)),
                             ((2, 8, 6, 3), (2, 2))):
                rows.append((padding, stride, shape, k))
    return rows


GEOMETRIES = _geometries()
_IDS = [f"{p}-s{s}-{'x'.join(map(str, sh))}-k{k[0]}{k[1]}" for p, s, sh, k in GEOMETRIES]


def _out_hw(shape, k, stride, padding):
    if padding == "SAME":
        return [-(-shape[1] // stride), -(-shape[2] // stride)]
    return [(shape[1] - k[0]) // stride + 1, (shape[2] - k[1]) // stride + 1]


@pytest.mark.parametrize("padding,stride,shape,k", GEOMETRIES, ids=_IDS)
def test_conv2d_backprop_kernels_match_tensorflow(tf, padding, stride, shape, k):
    x, f = arr(*shape), arr(k[0], k[1], shape[3], 5)
    dy = arr(shape[0], *_out_hw(shape, k, stride, padding), 5)
    attrs = {"strides": [1, stride, stride, 1], "padding": padding}
    ours, theirs = run_raw_op(tf, "Conv2DBackpropInput", {
        "input_sizes": np.array(shape, np.int32), "filter": f, "out_backprop": dy}, attrs)
    assert_close(ours, theirs)
    ours, theirs = run_raw_op(tf, "Conv2DBackpropFilter", {
        "input": x, "filter_sizes": np.array(f.shape, np.int32), "out_backprop": dy}, attrs)
    assert_close(ours, theirs)


@pytest.mark.parametrize("k", [(2, 2), (3, 3), (2, 3), (1, 2)], ids=lambda k: f"{k[0]}x{k[1]}")
def test_max_pool_grad_after_a_relu_routes_ties_as_tensorflow(tf, k):
    """Windows tiling the input (stride = window) over a ReLU's output rounded to a few
    values: most windows hold their maximum more than once (zeros, 0.0 beside -0.0, equal
    numbers at every offset), and only the first of them takes the gradient."""
    rng = np.random.default_rng(7)
    x = np.maximum(np.round(rng.standard_normal((3, 6 * k[0], 6 * k[1], 5)) * 1.5) - 1.0, 0.0)
    x = x.astype(np.float32)
    x[rng.random(x.shape) < 0.2] = -0.0
    attrs = {"ksize": [1, k[0], k[1], 1], "strides": [1, k[0], k[1], 1], "padding": "VALID"}
    y = x.reshape(3, 6, k[0], 6, k[1], 5).max(axis=(2, 4))
    dy = arr(3, 6, 6, 5)
    ours, theirs = run_raw_op(tf, "MaxPoolGrad", {"orig_input": x, "orig_output": y, "grad": dy},
                              attrs)
    np.testing.assert_array_equal(ours, theirs)


@pytest.mark.parametrize("padding,stride,shape,k", GEOMETRIES, ids=_IDS)
def test_pool_grad_kernels_match_tensorflow(tf, padding, stride, shape, k):
    x = arr(*shape)
    x[0, 0, :2] = 1.5  # ties: the first maximum of a window takes the gradient
    attrs = {"ksize": [1, k[0], k[1], 1], "strides": [1, stride, stride, 1], "padding": padding}
    dy = arr(shape[0], *_out_hw(shape, k, stride, padding), shape[3])
    with tf1_mode(tf) as v1:
        g = v1.Graph()
        with g.as_default():
            y = tf.raw_ops.MaxPool(input=x, **attrs)
        with v1.Session(graph=g) as sess:
            y = sess.run(y)
    ours, theirs = run_raw_op(tf, "MaxPoolGrad",
                            {"orig_input": x, "orig_output": y, "grad": dy}, attrs)
    assert_close(ours, theirs)
    ours, theirs = run_raw_op(tf, "AvgPoolGrad",
                            {"orig_input_shape": np.array(shape, np.int32), "grad": dy}, attrs)
    assert_close(ours, theirs)
