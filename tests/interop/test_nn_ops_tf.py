"""``tf.nn`` against real TensorFlow: same GraphDef, node for node, and the same outputs.

Each row is a program over placeholders ``in0, in1, ...`` fed with the row's arrays, run
once with ``flowsaver`` and once with TensorFlow's ``tf.compat.v1`` in TF1 mode. Rows
without inputs use Python constants, whose Const nodes must be named alike too. Dropout
draws different random numbers in each system, so it is checked by its GraphDef, its
scaling and the fraction of elements it keeps.
"""
from __future__ import annotations

import numpy as np
import pytest

import flowsaver
from parity import assert_close, assert_same_graph_def, build_both, run_both, tf1_mode

RNG = np.random.default_rng(7)


def arr(*shape, dtype=np.float32, low=-3.0, high=3.0):
    return RNG.uniform(low, high, shape).astype(dtype)


def labels(batch, classes, dtype=np.float32):
    raw = RNG.uniform(0.0, 1.0, (batch, classes))
    return (raw / raw.sum(axis=1, keepdims=True)).astype(dtype)


X23, X23_64, X245 = arr(2, 3), arr(2, 3, dtype=np.float64), arr(2, 4, 5)
IMG = arr(2, 7, 7, 3)          # batch 2, odd 7x7, 3 channels
IMG_ODD = arr(1, 8, 5, 2)
IMG64 = arr(2, 6, 6, 2, dtype=np.float64)
W33 = arr(3, 3, 3, 4)
W53 = arr(5, 3, 2, 3)
W11 = arr(1, 1, 3, 5)
W64 = arr(2, 2, 2, 3, dtype=np.float64)

ACTIVATIONS = [
    ("relu", lambda api, x: api.nn.relu(x)),
    ("relu6", lambda api, x: api.nn.relu6(x * 3.0)),
    ("elu", lambda api, x: api.nn.elu(x)),
    ("selu", lambda api, x: api.nn.selu(x)),
    ("leaky_relu", lambda api, x: api.nn.leaky_relu(x)),
    ("leaky_relu_alpha", lambda api, x: api.nn.leaky_relu(x, alpha=0.05, name="lr")),
    ("softplus", lambda api, x: api.nn.softplus(x)),
    ("softsign", lambda api, x: api.nn.softsign(x)),
    ("sigmoid", lambda api, x: api.nn.sigmoid(x)),
    ("tanh", lambda api, x: api.nn.tanh(x)),
    ("softmax", lambda api, x: api.nn.softmax(x)),
    ("log_softmax", lambda api, x: api.nn.log_softmax(x)),
    ("l2_loss", lambda api, x: api.nn.l2_loss(x)),
    ("relu_named", lambda api, x: api.nn.relu(x, name="act")),
    ("softmax_named", lambda api, x: api.nn.softmax(x, name="probs")),
]

CASES = [(f"{n}_{x.dtype}", f, [x]) for n, f in ACTIVATIONS for x in (X23, X23_64)]
CASES += [
    ("relu_int32", lambda api, x: api.nn.relu(x), [np.array([-2, 0, 5], np.int32)]),
    ("relu6_int32", lambda api, x: api.nn.relu6(x), [np.array([-2, 3, 9], np.int32)]),
    ("softmax_axis0", lambda api, x: api.nn.softmax(x, axis=0), [X23]),
    ("softmax_dim0_named", lambda api, x: api.nn.softmax(x, dim=0, name="sm"), [X23]),
    ("softmax_axis1_of_3", lambda api, x: api.nn.softmax(x, axis=1), [X245]),
    ("softmax_axis_neg2", lambda api, x: api.nn.softmax(x, axis=-2), [X245]),
    ("softmax_last_as_index", lambda api, x: api.nn.softmax(x, axis=2), [X245]),
    ("log_softmax_axis0", lambda api, x: api.nn.log_softmax(x, axis=0), [X23_64]),
    ("softmax_1d", lambda api, x: api.nn.softmax(x), [arr(5)]),
    # rows of every length class the kernel treats apart: up to 8 values, attention-like
    # rows (one reduceat, a product for the sum), rows past the product's limit
    ("softmax_rows_of_7", lambda api, x: api.nn.softmax(x * 9.0), [arr(6, 5, 7)]),
    ("softmax_attention_rows", lambda api, x: api.nn.softmax(x * 9.0), [arr(2, 4, 16, 64)]),
    ("log_softmax_rows_of_300", lambda api, x: api.nn.log_softmax(x * 9.0),
     [arr(12, 300, dtype=np.float64)]),
    ("softmax_rows_of_5000", lambda api, x: api.nn.softmax(x * 9.0), [arr(3, 5000)]),
    ("bias_add", lambda api, x, b: api.nn.bias_add(x, b), [IMG, arr(3)]),
    ("bias_add_2d_named", lambda api, x, b: api.nn.bias_add(x, b, name="bb"), [X23, arr(3)]),
    ("bias_add_nchw", lambda api, x, b: api.nn.bias_add(x, b, data_format="NCHW"),
     [arr(2, 3, 4, 4), arr(3)]),
    ("bias_add_f64", lambda api, x, b: api.nn.bias_add(x, b), [X23_64, arr(3, dtype=np.float64)]),
    ("bias_add_int32", lambda api, x, b: api.nn.bias_add(x, b),
     [np.arange(6, dtype=np.int32).reshape(2, 3), np.array([1, -1, 2], np.int32)]),
    ("l2_loss_named", lambda api, x: api.nn.l2_loss(x, name="wd"), [IMG]),
    ("in_top_k", lambda api, p, t: api.nn.in_top_k(p, t, 2),
     [arr(4, 5), np.array([0, 4, 2, 1], np.int32)]),
    ("in_top_k_int64_named", lambda api, p, t: api.nn.in_top_k(p, t, k=1, name="itk"),
     [arr(3, 4), np.array([3, 0, 2], np.int64)]),
]

CONVS = [  # (name, input, filter, strides, padding, dilations)
    ("same_s1", IMG, W33, [1, 1, 1, 1], "SAME", [1, 1, 1, 1]),
    ("same_s2", IMG, W33, [1, 2, 2, 1], "SAME", [1, 1, 1, 1]),
    ("valid_s1", IMG, W33, 1, "VALID", [1, 1, 1, 1]),
    ("valid_s2", IMG, W33, 2, "VALID", [1, 1, 1, 1]),
    ("valid_k5x3_s2x3", IMG_ODD, W53, [2, 3], "VALID", [1, 1, 1, 1]),
    ("same_k5x3_s3", IMG_ODD, W53, 3, "SAME", [1, 1, 1, 1]),
    ("pointwise", IMG, W11, 1, "VALID", [1, 1, 1, 1]),
    ("dilated_same", IMG, W33, 1, "SAME", 2),
    ("dilated_valid", IMG, W33, 1, "VALID", [1, 2, 1, 1]),
    ("explicit", IMG, W33, 2, [[0, 0], [1, 2], [0, 1], [0, 0]], [1, 1, 1, 1]),
    ("f64_same_s2", IMG64, W64, 2, "SAME", [1, 1, 1, 1]),
    ("f64_valid", IMG64, W64, 1, "VALID", [1, 1, 1, 1]),
]
for n, x, w, s, p, d in CONVS:
    CASES.append((f"conv2d_{n}", lambda api, a, b, s=s, p=p, d=d:
                  api.nn.conv2d(a, b, strides=s, padding=p, dilations=d), [x, w]))
CASES += [
    ("conv2d_filters_kw_named", lambda api, a, b:
     api.nn.conv2d(a, filters=b, strides=[1, 2, 2, 1], padding="SAME", name="c1"), [IMG, W33]),
    ("conv2d_const_filter", lambda api, a:
     api.nn.conv2d(a, W33, strides=1, padding="VALID", name="c2"), [IMG]),
    ("conv2d_relu_bias", lambda api, a, b, c:
     api.nn.relu(api.nn.bias_add(api.nn.conv2d(a, b, [1, 1, 1, 1], "SAME"), c)),
     [IMG, W33, arr(4)]),
]

POOLS = [  # (name, input, ksize, strides, padding)
    ("k2_s2_valid", IMG, 2, 2, "VALID"),
    ("k2_s2_same", IMG, [1, 2, 2, 1], [1, 2, 2, 1], "SAME"),
    ("k3_s2_same", IMG, 3, 2, "SAME"),
    ("k3_s1_same", IMG, [3, 3], [1, 1], "SAME"),
    ("k3x2_s1x2_valid", IMG_ODD, [3, 2], [1, 2], "VALID"),
    ("k4_s3_same_odd", IMG_ODD, 4, 3, "SAME"),
    ("f64_k2_s1_same", IMG64, 2, 1, "SAME"),
]
for n, x, k, s, p in POOLS:
    CASES.append((f"max_pool_{n}", lambda api, a, k=k, s=s, p=p:
                  api.nn.max_pool(a, ksize=k, strides=s, padding=p), [x]))
    CASES.append((f"avg_pool_{n}", lambda api, a, k=k, s=s, p=p:
                  api.nn.avg_pool(a, ksize=k, strides=s, padding=p), [x]))
CASES += [
    ("max_pool_explicit", lambda api, a: api.nn.max_pool(
        a, 2, 2, [[0, 0], [1, 1], [1, 0], [0, 0]]), [IMG]),
    ("max_pool_named", lambda api, a: api.nn.max_pool(a, [2, 2], 2, "VALID", name="mp"), [IMG]),
    ("avg_pool_value_kw_named", lambda api, a: api.nn.avg_pool(
        value=a, ksize=2, strides=2, padding="SAME", name="ap"), [IMG]),
    ("max_pool_int32", lambda api, a: api.nn.max_pool(a, 2, 1, "SAME"),
     [np.arange(32, dtype=np.int32).reshape(1, 4, 4, 2)]),
]

XENT = [
    ("xent_v2", lambda api, l, x: api.nn.softmax_cross_entropy_with_logits_v2(
        labels=l, logits=x), [labels(4, 3), arr(4, 3)]),
    ("xent_v2_named_f64", lambda api, l, x: api.nn.softmax_cross_entropy_with_logits_v2(
        l, x, name="loss"), [labels(3, 5, np.float64), arr(3, 5, dtype=np.float64)]),
    ("xent_v2_rank3", lambda api, l, x: api.nn.softmax_cross_entropy_with_logits_v2(
        labels=l, logits=x), [labels(6, 4).reshape(2, 3, 4), arr(2, 3, 4)]),
    ("xent_v2_axis0", lambda api, l, x: api.nn.softmax_cross_entropy_with_logits_v2(
        labels=l, logits=x, axis=0), [labels(3, 2).T.copy(), arr(2, 3)]),
    ("xent_v1", lambda api, l, x: api.nn.softmax_cross_entropy_with_logits(
        labels=l, logits=x), [labels(4, 3), arr(4, 3)]),
    ("xent_v1_named", lambda api, l, x: api.nn.softmax_cross_entropy_with_logits(
        labels=l, logits=x, name="q"), [labels(2, 6), arr(2, 6)]),
    ("sparse_xent", lambda api, l, x: api.nn.sparse_softmax_cross_entropy_with_logits(
        labels=l, logits=x), [np.array([0, 2, 1, 2], np.int32), arr(4, 3)]),
    ("sparse_xent_int64_named", lambda api, l, x: api.nn.sparse_softmax_cross_entropy_with_logits(
        labels=l, logits=x, name="s"), [np.array([4, 0], np.int64), arr(2, 5)]),
    ("sparse_xent_f64", lambda api, l, x: api.nn.sparse_softmax_cross_entropy_with_logits(
        labels=l, logits=x), [np.array([1, 0], np.int32), arr(2, 3, dtype=np.float64)]),
    ("sparse_xent_rank3", lambda api, l, x: api.nn.sparse_softmax_cross_entropy_with_logits(
        labels=l, logits=x), [np.array([[0, 1, 3], [2, 2, 0]], np.int32), arr(2, 3, 4)]),
]
CASES += XENT


@pytest.mark.parametrize("name,fn,inputs", CASES, ids=[c[0] for c in CASES])
def test_op_matches_tensorflow(tf, name, fn, inputs):
    def build(api):
        phs = [api.placeholder(a.dtype, a.shape, name=f"in{i}") for i, a in enumerate(inputs)]
        return fn(api, *phs)
    ours, theirs = run_both(tf, build, {f"in{i}": a for i, a in enumerate(inputs)})
    assert_close(ours, theirs)
    (g1, _), (g2, _) = build_both(tf, build)
    assert_same_graph_def(g1, g2)


# Programs over Python constants: the Const nodes' names come from the argument names.
CONSTANT_PROGRAMS = [
    ("relu", lambda api: api.nn.relu([1.0, -2.0])),
    ("relu6", lambda api: api.nn.relu6([7.0, -2.0, 3.0])),
    ("elu_selu", lambda api: [api.nn.elu([1.0, -1.0]), api.nn.selu([1.0, -1.0])]),
    ("leaky_relu", lambda api: api.nn.leaky_relu([1.0, -1.0], alpha=np.float32(0.1))),
    ("leaky_relu_int", lambda api: api.nn.leaky_relu(api.constant([3, -4]))),
    ("softplus_softsign", lambda api: [api.nn.softplus([1.0, -1.0]),
                                       api.nn.softsign([1.0, -1.0])]),
    ("sigmoid_tanh", lambda api: [api.nn.sigmoid([1.0, -1.0]), api.nn.tanh([1.0, -1.0])]),
    ("softmax", lambda api: api.nn.softmax([1.0, 2.0, 3.0])),
    ("log_softmax_named", lambda api: api.nn.log_softmax([[1.0, -1.0]], name="ls")),
    ("l2_loss", lambda api: api.nn.l2_loss([1.0, -3.0])),
    ("bias_add", lambda api: api.nn.bias_add([[1.0, 2.0]], [0.5, -0.5], name="bb")),
    ("in_top_k", lambda api: api.nn.in_top_k([[1.0, 2.0], [3.0, 0.0]], [1, 1], 1)),
    ("max_pool", lambda api: api.nn.max_pool(IMG, 2, 2, "VALID")),
    ("max_pool_f64_numpy", lambda api: api.nn.max_pool(IMG64, 2, 2, "VALID")),
    ("max_pool_int_list", lambda api: api.nn.max_pool([[[[1], [3]], [[2], [0]]]], 2, 1, "VALID")),
    ("avg_pool", lambda api: api.nn.avg_pool(IMG, 2, 2, "SAME")),
    ("conv2d", lambda api: api.nn.conv2d(IMG, W33, 1, "SAME")),
    ("xent_v2", lambda api: api.nn.softmax_cross_entropy_with_logits_v2(
        labels=[[0.0, 1.0, 0.0]], logits=[[0.5, 1.0, -1.0]])),
    ("xent_v1", lambda api: api.nn.softmax_cross_entropy_with_logits(
        labels=[[0.0, 1.0]], logits=[[0.5, 1.0]], name="q")),
    ("sparse_xent", lambda api: api.nn.sparse_softmax_cross_entropy_with_logits(
        labels=[0, 2], logits=[[1.0, 2.0, 3.0], [1.0, 2.0, 3.0]])),
    ("two_relus_unique_names", lambda api: [api.nn.relu([1.0]), api.nn.relu([2.0])]),
]


@pytest.mark.parametrize("name,fn", CONSTANT_PROGRAMS, ids=[c[0] for c in CONSTANT_PROGRAMS])
def test_constant_program_matches_tensorflow(tf, name, fn):
    ours, theirs = run_both(tf, fn)
    assert_close(ours, theirs)
    (g1, _), (g2, _) = build_both(tf, fn)
    assert_same_graph_def(g1, g2)


def test_conv2d_nchw_matches_tensorflow_nhwc(tf):
    """TensorFlow's CPU kernel takes NHWC only: compare our NCHW result with its NHWC one."""
    def nchw(api):
        x = api.placeholder(np.float32, [2, 3, 7, 7], name="in0")
        w = api.placeholder(np.float32, [3, 3, 3, 4], name="in1")
        return api.nn.conv2d(x, w, strides=[1, 1, 2, 2], padding="SAME", data_format="NCHW")

    (g1, _), (g2, _) = build_both(tf, nchw)
    assert_same_graph_def(g1, g2)

    def nhwc(api):
        x = api.placeholder(np.float32, [2, 7, 7, 3], name="in0")
        w = api.placeholder(np.float32, [3, 3, 3, 4], name="in1")
        return api.nn.conv2d(x, w, strides=[1, 2, 2, 1], padding="SAME")

    _, theirs = run_both(tf, nhwc, {"in0": IMG, "in1": W33})
    ours = flowsaver.Session(graph=g1).run(g1.get_tensor_by_name("Conv2D:0"),
                                           {"in0:0": IMG.transpose(0, 3, 1, 2), "in1:0": W33})
    assert_close(ours.transpose(0, 2, 3, 1), theirs)


@pytest.mark.parametrize("kind", ["max_pool", "avg_pool"])
def test_pool_nchw_graph_matches_tensorflow(tf, kind):
    def build(api):
        x = api.placeholder(np.float32, [2, 3, 7, 7], name="in0")
        return getattr(api.nn, kind)(x, [1, 1, 3, 3], [1, 1, 2, 2], "SAME", data_format="NCHW")
    (g1, ours), (g2, theirs) = build_both(tf, build)
    assert_same_graph_def(g1, g2)
    assert ours.shape.as_list() == theirs.shape.as_list() == [2, 3, 4, 4]


# ---- dropout ----------------------------------------------------------------------------------
DROPOUTS = [
    ("keep_prob", lambda api, x: api.nn.dropout(x, keep_prob=0.5), 0.5),
    ("rate_seed_named", lambda api, x: api.nn.dropout(x, rate=0.3, seed=3, name="dd"), 0.3),
    ("keep_prob_0_9_f64", lambda api, x: api.nn.dropout(x, keep_prob=0.9), 0.1),
    ("keep_prob_tensor", lambda api, x: api.nn.dropout(
        x, keep_prob=api.placeholder_with_default(0.75, [], name="kp")), 0.25),
    ("rate_tensor", lambda api, x: api.nn.dropout(
        x, rate=api.placeholder_with_default(0.4, [], name="r")), 0.4),
    ("noise_shape", lambda api, x: api.nn.dropout(x, keep_prob=0.5, noise_shape=[200, 1]), 0.5),
    ("noise_shape_none", lambda api, x: api.nn.dropout(x, rate=0.5, noise_shape=[None, 1]), 0.5),
    ("rate_numpy", lambda api, x: api.nn.dropout(x, rate=np.float32(0.25)), 0.25),
]


@pytest.mark.parametrize("name,fn,rate", DROPOUTS, ids=[d[0] for d in DROPOUTS])
def test_dropout_graph_and_statistics(tf, name, fn, rate):
    x = np.full((200, 50), 2.0, np.float64 if "f64" in name else np.float32)

    def build(api):
        return fn(api, api.placeholder(x.dtype, [200, 50], name="x"))
    (g1, _), (g2, _) = build_both(tf, build)
    assert_same_graph_def(g1, g2)
    ours, theirs = run_both(tf, build, {"x": x})
    assert ours.dtype == theirs.dtype and ours.shape == theirs.shape
    draws = 200 if "noise_shape" in name else x.size  # independent keep/drop decisions
    tolerance = 5 * np.sqrt(rate * (1 - rate) / draws)  # five standard deviations
    for out in (ours, theirs):
        kept = out != 0
        np.testing.assert_allclose(out[kept], 2.0 / (1 - rate), rtol=1e-6)
        assert abs(kept.mean() - (1 - rate)) < tolerance
    if "noise_shape" in name:  # one draw per row: whole rows are kept or dropped
        assert np.all((ours == 0).all(axis=1) | (ours != 0).all(axis=1))


@pytest.mark.parametrize("kwargs", [{"keep_prob": 1.0}, {"keep_prob": 1}, {"rate": 0.0}])
def test_dropout_that_keeps_everything_returns_its_input(tf, kwargs):
    def build(api):
        return api.nn.dropout(api.placeholder(np.float32, [3], name="x"), **kwargs)
    (g1, ours), (g2, theirs) = build_both(tf, build)
    assert_same_graph_def(g1, g2)
    assert ours.name == theirs.name == "x:0"

    def constant(api):
        return api.nn.dropout([1.0, 2.0], **kwargs)
    (g1, ours), (g2, theirs) = build_both(tf, constant)
    assert_same_graph_def(g1, g2)
    assert ours.name == theirs.name == "dropout/x:0"


# ---- errors at build time -------------------------------------------------------------------
ERRORS = [
    ("conv_depth", lambda api: api.nn.conv2d(api.placeholder(np.float32, [1, 5, 5, 3]),
                                             api.placeholder(np.float32, [3, 3, 2, 4]),
                                             1, "SAME"), ValueError),
    ("conv_too_small", lambda api: api.nn.conv2d(api.placeholder(np.float32, [1, 4, 4, 2]),
                                                 api.placeholder(np.float32, [5, 5, 2, 3]),
                                                 1, "VALID"), ValueError),
    ("conv_rank", lambda api: api.nn.conv2d(api.placeholder(np.float32, [4, 4, 2]),
                                            api.placeholder(np.float32, [3, 3, 2, 3]),
                                            1, "VALID"), ValueError),
    ("conv_padding", lambda api: api.nn.conv2d(api.placeholder(np.float32, [1, 4, 4, 2]),
                                               api.placeholder(np.float32, [3, 3, 2, 3]),
                                               1, "same"), ValueError),
    ("conv_strides_len3", lambda api: api.nn.conv2d(api.placeholder(np.float32, [1, 4, 4, 2]),
                                                    api.placeholder(np.float32, [3, 3, 2, 3]),
                                                    [1, 2, 2], "SAME"), ValueError),
    ("conv_batch_padding", lambda api: api.nn.conv2d(
        api.placeholder(np.float32, [1, 4, 4, 1]), np.ones((1, 1, 1, 1), np.float32), 1,
        [[1, 0], [0, 0], [0, 0], [0, 0]]), ValueError),
    ("pool_depth_padding", lambda api: api.nn.max_pool(
        api.placeholder(np.float32, [1, 4, 4, 1]), 1, 1, [[0, 0], [0, 0], [0, 0], [0, 1]]),
     ValueError),
    ("pool_rank", lambda api: api.nn.max_pool(api.placeholder(np.float32, [5, 5, 2]), 2, 2,
                                              "VALID"), ValueError),
    ("bias_rank1", lambda api: api.nn.bias_add(api.placeholder(np.float32, [4]),
                                               api.placeholder(np.float32, [4])), ValueError),
    ("bias_size", lambda api: api.nn.bias_add(api.placeholder(np.float32, [2, 4]),
                                              api.placeholder(np.float32, [3])), ValueError),
    ("softmax_int", lambda api: api.nn.softmax([1, 2]), TypeError),
    ("softmax_scalar", lambda api: api.nn.softmax(api.placeholder(np.float32, [])), ValueError),
    ("sparse_rank", lambda api: api.nn.sparse_softmax_cross_entropy_with_logits(
        labels=api.placeholder(np.int32, [2, 3]), logits=api.placeholder(np.float32, [2, 3])),
     ValueError),
    ("sparse_batch", lambda api: api.nn.sparse_softmax_cross_entropy_with_logits(
        labels=api.placeholder(np.int32, [3]), logits=api.placeholder(np.float32, [2, 3])),
     ValueError),
    ("softmax_axis_and_dim", lambda api: api.nn.softmax([1.0], axis=0, dim=0), ValueError),
    ("xent_v1_axis_with_default_dim", lambda api: api.nn.softmax_cross_entropy_with_logits(
        labels=[[1.0]], logits=[[1.0]], axis=0), ValueError),
    ("conv_filter_and_filters", lambda api: api.nn.conv2d(
        np.ones((1, 2, 2, 1), np.float32), np.ones((1, 1, 1, 1), np.float32), 1, "SAME",
        filters=np.ones((1, 1, 1, 1), np.float32)), ValueError),
    ("dropout_rate_1", lambda api: api.nn.dropout([1.0], rate=1.0), ValueError),
    ("dropout_both", lambda api: api.nn.dropout([1.0], keep_prob=0.5, rate=0.5), ValueError),
    ("dropout_int", lambda api: api.nn.dropout(api.constant([1, 2]), rate=0.5), ValueError),
]


@pytest.mark.parametrize("name,fn,exc", ERRORS, ids=[e[0] for e in ERRORS])
def test_build_errors_match_tensorflow(tf, name, fn, exc):
    with flowsaver.Graph().as_default(), pytest.raises(exc):
        fn(flowsaver)
    with tf1_mode(tf) as v1, v1.Graph().as_default(), pytest.raises(exc):
        fn(v1)
