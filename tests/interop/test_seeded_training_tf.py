"""A seeded TF1 training script gives TensorFlow's numbers in flowsaver.

A small CNN built with ``tf.get_variable`` and seeded initializers (Glorot uniform, truncated
normal, He normal), ``tf.nn.conv2d``, dropout and Adam, under ``tf.set_random_seed``. Both
systems initialize their own variables from their own random streams (no values are copied
across), then train 20 steps on the same batch, each step one ``Session.run`` of the train op
with the loss and dropout's noise. The initial weights and every step's dropout noise and
mask must be bit-identical; the losses agree to rtol 1e-4 (convolution sums in another order).
The same holds for a CNN written with ``tf.layers`` (default Glorot-uniform kernels, a
seeded He initializer, batch norm, ``tf.layers.dropout(training=True)``). In TensorFlow
2.21 ``tf.layers``' default initializers are stateless ops whose seed comes from Python's
``random`` module (tf-keras draws one when none is given), not from ``tf.set_random_seed``;
flowsaver draws it the same way, so ``random.seed`` fixes both.
"""
from __future__ import annotations

import random

import numpy as np

import flowsaver
from parity import tf1_mode

STEPS = 20
NOISE = ["dropout/random_uniform/RandomUniform:0", "dropout/GreaterEqual:0",
         "dropout_1/random_uniform/RandomUniform:0", "dropout_1/GreaterEqual:0"]


def seeded_cnn(api):
    api.set_random_seed(20240607)
    x = api.placeholder(api.float32, [None, 12, 12, 1], name="x")
    y = api.placeholder(api.int64, [None], name="y")
    k1 = api.get_variable("conv1/kernel", [3, 3, 1, 8],
                          initializer=api.glorot_uniform_initializer())
    b1 = api.get_variable("conv1/bias", [8], initializer=api.zeros_initializer())
    h = api.nn.relu(api.nn.bias_add(api.nn.conv2d(x, k1, [1, 1, 1, 1], "SAME"), b1))
    h = api.nn.max_pool(h, [1, 2, 2, 1], [1, 2, 2, 1], "VALID")
    k2 = api.get_variable("conv2/kernel", [3, 3, 8, 16],
                          initializer=api.truncated_normal_initializer(stddev=0.1))
    h = api.nn.relu(api.nn.conv2d(h, k2, [1, 1, 1, 1], "SAME"))
    h = api.nn.dropout(h, rate=0.25)
    h = api.reshape(h, [-1, 6 * 6 * 16])
    w1 = api.get_variable("dense/kernel", [6 * 6 * 16, 32],
                          initializer=api.initializers.he_normal(seed=7))
    h = api.nn.relu(api.matmul(h, w1))
    h = api.nn.dropout(h, keep_prob=0.8)
    w2 = api.get_variable("logits/kernel", [32, 5],
                          initializer=api.glorot_normal_initializer())
    logits = api.matmul(h, w2, name="logits")
    loss = api.reduce_mean(api.nn.sparse_softmax_cross_entropy_with_logits(
        labels=y, logits=logits), name="loss")
    train = api.train.AdamOptimizer(1e-3).minimize(loss, name="train")
    return api.global_variables_initializer(), train


def _batch():
    rng = np.random.default_rng(5)
    return {"x:0": rng.standard_normal((16, 12, 12, 1)).astype(np.float32),
            "y:0": rng.integers(0, 5, 16).astype(np.int64)}


def _run(api, sess_class, graph):
    with graph.as_default():
        init, train = seeded_cnn(api)
        names = [v.op.name for v in api.trainable_variables()]
        with sess_class(graph=graph) as sess:
            sess.run(init)
            initial = dict(zip(names, sess.run([n + ":0" for n in names])))
            steps = [sess.run(["loss:0"] + NOISE + [train], _batch())[:-1]
                     for _ in range(STEPS)]
    return initial, steps


def test_seeded_cnn_trains_as_in_tensorflow(tf):
    ours = _run(flowsaver, flowsaver.Session, flowsaver.Graph())
    with tf1_mode(tf) as v1:
        theirs = _run(v1, v1.Session, v1.Graph())
    (our_init, our_steps), (their_init, their_steps) = ours, theirs
    assert sorted(our_init) == sorted(their_init) and len(our_init) == 5
    for name, value in their_init.items():
        assert our_init[name].dtype == value.dtype
        assert our_init[name].tobytes() == value.tobytes(), f"initial {name} differs"
    for step, (ours_step, theirs_step) in enumerate(zip(our_steps, their_steps)):
        for name, a, b in zip(NOISE, ours_step[1:], theirs_step[1:]):
            assert a.tobytes() == b.tobytes(), f"step {step}: {name} differs"
    losses = np.array([s[0] for s in our_steps]), np.array([s[0] for s in their_steps])
    np.testing.assert_allclose(*losses, rtol=1e-4)
    assert losses[1][-1] < losses[1][0]  # it trains


LAYER_NOISE = ["dropout/dropout/random_uniform/RandomUniform:0",
               "dropout_1/dropout/random_uniform/RandomUniform:0"]


def seeded_layers_cnn(api):
    random.seed(2024)  # tf.layers' default kernel initializers draw their seeds here
    api.set_random_seed(97)
    x = api.placeholder(api.float32, [None, 12, 12, 1], name="x")
    y = api.placeholder(api.int64, [None], name="y")
    h = api.layers.conv2d(x, 8, 3, padding="same", activation=api.nn.relu)
    h = api.layers.max_pooling2d(h, 2, 2)
    h = api.layers.batch_normalization(h, training=True)
    h = api.layers.dropout(h, rate=0.2, training=True)
    h = api.layers.conv2d(h, 16, 3, activation=api.nn.relu,
                          kernel_initializer=api.initializers.he_normal(seed=3))
    h = api.layers.flatten(h)
    h = api.layers.dropout(h, rate=0.3, training=True)
    logits = api.layers.dense(h, 5, name="logits")
    loss = api.losses.sparse_softmax_cross_entropy(y, logits)
    with api.control_dependencies(api.get_collection(api.GraphKeys.UPDATE_OPS)):
        train = api.train.AdamOptimizer(1e-3).minimize(loss, name="train")
    return api.global_variables_initializer(), train, loss


def _run_layers(api, sess_class, graph):
    with graph.as_default():
        init, train, loss = seeded_layers_cnn(api)
        names = [v.op.name for v in api.global_variables()]
        with sess_class(graph=graph) as sess:
            sess.run(init)
            initial = dict(zip(names, sess.run([n + ":0" for n in names])))
            steps = [sess.run([loss] + LAYER_NOISE + [train], _batch())[:-1]
                     for _ in range(STEPS)]
    return initial, steps


def test_seeded_layers_cnn_trains_as_in_tensorflow(tf):
    our_init, our_steps = _run_layers(flowsaver, flowsaver.Session, flowsaver.Graph())
    with tf1_mode(tf) as v1:
        their_init, their_steps = _run_layers(v1, v1.Session, v1.Graph())
    assert sorted(our_init) == sorted(their_init) and "conv2d/kernel" in our_init
    for name, value in their_init.items():
        assert our_init[name].tobytes() == value.tobytes(), f"initial {name} differs"
    for step, (ours, theirs) in enumerate(zip(our_steps, their_steps)):
        for name, a, b in zip(LAYER_NOISE, ours[1:], theirs[1:]):
            assert a.tobytes() == b.tobytes(), f"step {step}: {name} differs"
    losses = np.array([s[0] for s in our_steps]), np.array([s[0] for s in their_steps])
    np.testing.assert_allclose(*losses, rtol=1e-4)
    assert losses[1][-1] < losses[1][0]
