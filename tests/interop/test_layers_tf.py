"""``tf.layers`` against real TensorFlow (whose ``tf.compat.v1.layers`` are tf_keras'
legacy layers): the same GraphDef node for node, the same variables and collections, the
same initial values (Keras' seeds come from Python's ``random``, seeded alike before each
build, and the stateless Philox draws are TensorFlow's) and the same outputs.
"""
from __future__ import annotations

import random

import numpy as np
import pytest

import flowsaver
from parity import (assert_close, assert_same_graph_def, build_both, run_both, run_built,
                    tf1_mode)

RNG = np.random.default_rng(41)
SEED = 1234
GRAPH_ONLY = "graph only"


def arr(*shape, low=-2.0, high=2.0, dtype=np.float32):
    return RNG.uniform(low, high, shape).astype(dtype)


def _seeded(fn, inputs):
    def build(api):
        random.seed(SEED)
        phs = [api.placeholder(a.dtype, [None] + list(a.shape[1:]) if a.ndim > 1 else a.shape,
                               name=f"in{i}") for i, a in enumerate(inputs)]
        out = fn(api, *phs)
        graph = api.get_default_graph()
        names = {k: [getattr(v, "name", str(v)) for v in graph.get_collection(k)]
                 for k in ("variables", "trainable_variables", "update_ops",
                           "regularization_losses", "losses", "model_variables")}
        api.group(api.global_variables_initializer(), name="init_all")
        build.collections[api.__name__.split(".")[0]] = names
        return out
    build.collections = {}
    return build


IMG, SEQ, VEC = arr(2, 6, 6, 3), arr(2, 7, 3), arr(3, 5)
CASES = [
    ("dense", lambda api, x: api.layers.dense(x, 4), [VEC]),
    ("dense_relu_two", lambda api, x: api.layers.dense(
        api.layers.dense(x, 4, activation=api.nn.relu), 2), [VEC]),
    ("dense_named_no_bias", lambda api, x: api.layers.dense(
        x, 3, use_bias=False, name="fc"), [VEC]),
    ("dense_initializers", lambda api, x: api.layers.dense(
        x, 3, kernel_initializer=api.ones_initializer(),
        bias_initializer=api.constant_initializer(0.1)), [VEC]),
    ("dense_random_v1_initializer", lambda api, x: api.layers.dense(
        x, 3, kernel_initializer=api.truncated_normal_initializer(stddev=0.1, seed=1)),
     [VEC], GRAPH_ONLY),
    ("dense_string_initializers", lambda api, x: api.layers.dense(
        x, 3, kernel_initializer="he_uniform", bias_initializer="ones"), [VEC]),
    ("dense_regularizers", lambda api, x: api.layers.dense(
        x, 3, kernel_regularizer=api.nn.l2_loss,
        bias_regularizer=lambda b: 0.1 * api.reduce_sum(b)), [VEC]),
    ("dense_not_trainable", lambda api, x: api.layers.dense(x, 3, trainable=False), [VEC]),
    ("dense_rank3", lambda api, x: api.layers.dense(x, 4), [SEQ]),
    ("dense_f64", lambda api, x: api.layers.dense(x, 2), [arr(3, 5, dtype=np.float64)]),
    ("dense_in_scopes", lambda api, x: _in_scopes(api, x), [VEC]),
    ("dense_reuse", lambda api, x: [api.layers.dense(x, 3, name="shared"),
                                    api.layers.dense(x * 2.0, 3, name="shared", reuse=True)],
     [VEC]),
    ("dense_class_shared", lambda api, x: _shared_class(api, x), [VEC]),
    ("dense_auto_reuse", lambda api, x: [api.layers.dense(x, 3, name="auto",
                                                          reuse=api.AUTO_REUSE)
                                         for _ in range(2)], [VEC]),
    ("dense_scope_initializer", lambda api, x: _scope_initializer(api, x), [VEC]),
    ("flatten", lambda api, x: api.layers.flatten(x), [IMG]),
    ("flatten_unknown", lambda api, x: api.layers.flatten(
        api.placeholder_with_default(x, [None, None, 6, 3])), [IMG]),
    ("dropout_inference", lambda api, x: api.layers.dropout(x, 0.3), [VEC]),
    ("dropout_rate0_training", lambda api, x: api.layers.dropout(x, 0.0, training=True),
     [VEC]),
    ("dropout_placeholder_false", lambda api, x: api.layers.dropout(
        x, 0.4, training=api.placeholder_with_default(False, [])), [VEC]),
    ("dropout_class", lambda api, x: api.layers.Dropout(0.5, name="drop")(x), [VEC]),
    ("conv2d", lambda api, x: api.layers.conv2d(x, 4, 3), [IMG]),
    ("conv2d_same_s2_relu", lambda api, x: api.layers.conv2d(
        x, 4, [3, 2], strides=2, padding="same", activation=api.nn.relu, name="c"), [IMG]),
    ("conv2d_no_bias_regularized", lambda api, x: api.layers.conv2d(
        x, 2, 1, use_bias=False, kernel_regularizer=api.nn.l2_loss), [IMG]),
    ("conv2d_class_twice", lambda api, x: _conv_twice(api, x), [IMG]),
    ("conv2d_dilated", lambda api, x: api.layers.conv2d(x, 2, 3, dilation_rate=2), [IMG]),
    ("conv2d_dilated_same_named", lambda api, x: api.layers.conv2d(
        x, 3, 2, padding="same", dilation_rate=(2, 1), name="atrous"), [IMG]),
    ("conv1d_dilated", lambda api, x: api.layers.conv1d(x, 2, 2, dilation_rate=2), [SEQ]),
    ("separable_conv2d_dilated", lambda api, x: api.layers.separable_conv2d(
        x, 2, 3, padding="same", dilation_rate=2), [IMG]),
    ("conv1d", lambda api, x: api.layers.conv1d(x, 4, 3), [SEQ]),
    ("conv1d_same_s2", lambda api, x: api.layers.conv1d(
        x, 2, 2, strides=2, padding="same", name="c1"), [SEQ]),
    ("conv2d_transpose", lambda api, x: api.layers.conv2d_transpose(x, 4, 3), [IMG]),
    ("conv2d_transpose_same_s2", lambda api, x: api.layers.conv2d_transpose(
        x, 2, [3, 2], strides=(2, 1), padding="same", activation=api.nn.sigmoid), [IMG]),
    ("conv2d_transpose_unknown_hw", lambda api, x: api.layers.conv2d_transpose(
        api.placeholder_with_default(x, [None, None, None, 3]), 2, 2, strides=2), [IMG]),
    ("separable_conv2d", lambda api, x: api.layers.separable_conv2d(x, 5, 3), [IMG]),
    ("separable_conv2d_multiplier_same", lambda api, x: api.layers.separable_conv2d(
        x, 4, 2, padding="same", depth_multiplier=2, strides=2), [IMG]),
    ("max_pooling2d", lambda api, x: api.layers.max_pooling2d(x, 2, 2), [IMG]),
    ("average_pooling2d_same", lambda api, x: api.layers.average_pooling2d(
        x, [3, 2], [2, 1], padding="same", name="ap"), [IMG]),
    ("max_pooling1d", lambda api, x: api.layers.max_pooling1d(x, 2, 2), [SEQ]),
    ("average_pooling1d_same", lambda api, x: api.layers.average_pooling1d(
        x, 3, 1, padding="same"), [SEQ]),
    ("pool_classes", lambda api, x: [api.layers.MaxPooling2D(2, 1)(x),
                                     api.layers.AveragePooling2D(2, 2)(x)], [IMG]),
    ("bn_fused_training", lambda api, x: _with_updates(
        api, api.layers.batch_normalization(x, training=True)), [IMG]),
    ("bn_fused_inference", lambda api, x: _with_updates(
        api, api.layers.batch_normalization(x, name="bn")), [IMG]),
    ("bn_fused_placeholder", lambda api, x: _with_updates(
        api, api.layers.batch_normalization(
            x, training=api.placeholder_with_default(True, []), momentum=0.9)), [IMG]),
    ("bn_fused_no_affine", lambda api, x: _with_updates(api, api.layers.batch_normalization(
        x, center=False, scale=False, epsilon=1e-2, training=True)), [IMG]),
    ("bn_dense_training", lambda api, x: _with_updates(
        api, api.layers.batch_normalization(x, training=True)), [VEC]),
    ("bn_dense_inference", lambda api, x: _with_updates(
        api, api.layers.batch_normalization(x)), [VEC]),
    ("bn_dense_placeholder", lambda api, x: _with_updates(
        api, api.layers.batch_normalization(
            x, training=api.placeholder_with_default(False, []))), [VEC]),
    ("bn_rank3_axis1", lambda api, x: _with_updates(
        api, api.layers.batch_normalization(x, axis=1, training=True)), [SEQ]),
    ("bn_not_fused", lambda api, x: _with_updates(
        api, api.layers.batch_normalization(x, fused=False, training=True)), [IMG]),
    ("bn_class_not_trainable", lambda api, x: _with_updates(
        api, api.layers.BatchNormalization(trainable=False)(x, training=True)), [IMG]),
    ("bn_reuse", lambda api, x: _with_updates(api, [
        api.layers.batch_normalization(x, training=True, name="bn"),
        api.layers.batch_normalization(x, training=False, name="bn", reuse=True)]), [IMG]),
    ("cnn", lambda api, x: api.layers.dense(api.layers.flatten(api.layers.max_pooling2d(
        api.layers.conv2d(x, 3, 3, activation=api.nn.relu), 2, 2)), 2), [IMG]),
]


def _with_updates(api, out):
    """The outputs, the update ops, and (with ``RUN_TWICE``) the moving statistics."""
    updates = api.get_collection(api.GraphKeys.UPDATE_OPS)
    stats = [v for v in api.global_variables() if "moving" in v.name]
    return {"out": out, "updates": updates, "stats": stats}


def _conv_twice(api, x):
    layer = api.layers.Conv2D(3, 2, name="shared_conv")
    return [layer(x), layer(x * 0.5)]


def _in_scopes(api, x):
    with api.variable_scope("net"):
        a = api.layers.dense(x, 3)
        with api.variable_scope("head"):
            b = api.layers.dense(a, 2)
    with api.variable_scope("net", reuse=True):
        c = api.layers.dense(x, 3)
    return [a, b, c]


def _shared_class(api, x):
    layer = api.layers.Dense(3, activation=api.nn.tanh)
    out = [layer(x), layer(x + 1.0), layer.apply(x)]
    return out + [api.constant([v.name for v in layer.weights]),
                  api.constant([v.name for v in layer.trainable_variables]),
                  api.constant(layer.name), api.constant(layer.scope_name)]


def _scope_initializer(api, x):
    with api.variable_scope("init", initializer=api.constant_initializer(0.25)):
        return api.layers.dense(x, 2)


CASES = [c if len(c) == 4 else c + ("exact",) for c in CASES]


@pytest.mark.parametrize("name,fn,inputs,kind", CASES, ids=[c[0] for c in CASES])
def test_layer_matches_tensorflow(tf, name, fn, inputs, kind):
    build = _seeded(fn, inputs)
    built = build_both(tf, build)
    (g1, f1), (g2, _) = built
    assert_same_graph_def(g1, g2)
    assert build.collections["flowsaver"] == build.collections["tensorflow"]
    if kind == GRAPH_ONLY:  # TensorFlow's stateful random streams: the Philox issue
        return
    feeds = {f"in{i}": a for i, a in enumerate(inputs)}
    if isinstance(f1, dict):  # outputs and updates, then the statistics they wrote
        ours, theirs = _steps(tf, built, feeds)
    else:
        ours, theirs = run_built(tf, built, feeds, init=True)
    assert_close(ours, theirs)


def _steps(tf, built, feeds):
    """Run the outputs, then the updates, then read the statistics, in both systems."""
    (g1, f1), (g2, f2) = built
    results = []
    for graph, fetches, session in ((g1, f1, flowsaver.Session(graph=g1)),
                                    (g2, f2, None)):
        with tf1_mode(tf) as v1:
            sess = session or v1.Session(graph=graph)
            feed = {graph.get_tensor_by_name(k + ":0"): v for k, v in feeds.items()}
            sess.run(graph.get_operation_by_name("init_all"))
            # outputs first, then the updates: in one run, whether a training=False output
            # reads the moving statistics before or after that run's updates is undefined
            # (in TensorFlow too), and bn_reuse fetches one
            out = sess.run(fetches["out"], feed)
            sess.run(fetches["updates"], feed)
            stats = sess.run(fetches["stats"])
            sess.run(fetches["updates"], feed)
            results.append([out, stats, sess.run(fetches["stats"])])
            sess.close()
    return results


def test_initial_values_are_tensorflows(tf):
    """Default kernels: Keras' Glorot uniform from the same seed, bit for bit."""
    def build(api):
        random.seed(7)
        x = api.placeholder(api.float32, [None, 6], name="x")
        api.layers.dense(api.layers.dense(x, 5), 4)
        return api.global_variables()
    ours, theirs = run_both(tf, build, init=True)
    for a, b in zip(ours, theirs):
        np.testing.assert_array_equal(a, b)


ERRORS = [
    ("dense_reuse_missing", lambda api: api.layers.dense(
        api.placeholder(np.float32, [2, 3]), 2, name="nothing", reuse=True), ValueError),
    ("dense_twice_same_name", lambda api: [api.layers.dense(
        api.placeholder(np.float32, [2, 3]), 2, name="fc") for _ in range(2)], ValueError),
    ("dense_unknown_last", lambda api: api.layers.dense(
        api.placeholder(np.float32, [2, None]), 2), ValueError),
    ("dense_rank1", lambda api: api.layers.dense(api.placeholder(np.float32, [3]), 2),
     ValueError),
    ("dense_int", lambda api: api.layers.dense(api.placeholder(np.int32, [2, 3]), 2),
     TypeError),
    ("dense_wrong_width_on_reuse", lambda api: _reuse_width(api), ValueError),
    ("conv2d_unknown_channels", lambda api: api.layers.conv2d(
        api.placeholder(np.float32, [1, 5, 5, None]), 2, 3), ValueError),
    ("conv2d_too_small", lambda api: api.layers.conv2d(
        api.placeholder(np.float32, [1, 2, 2, 1]), 2, 3), ValueError),
    ("pool_no_strides", lambda api: api.layers.max_pooling2d(
        api.placeholder(np.float32, [1, 4, 4, 1]), 2, None), ValueError),
    ("pool_rank", lambda api: api.layers.max_pooling2d(
        api.placeholder(np.float32, [4, 4, 1]), 2, 2), ValueError),
]


def _reuse_width(api):
    layer = api.layers.Dense(2)
    layer(api.placeholder(np.float32, [2, 3]))
    layer(api.placeholder(np.float32, [2, 4]))


@pytest.mark.parametrize("name,fn,exc", ERRORS, ids=[e[0] for e in ERRORS])
def test_build_errors_match_tensorflow(tf, name, fn, exc):
    with flowsaver.Graph().as_default(), pytest.raises(exc):
        fn(flowsaver)
    with tf1_mode(tf) as v1, v1.Graph().as_default(), pytest.raises(exc):
        fn(v1)
