"""The models of bench_models.py, written once for both systems.

``api`` is ``flowsaver`` or TensorFlow's ``tf.compat.v1``. Each builder makes its
placeholders and variables in the default graph and returns a ``Model``: the feeds'
names, the inference fetch and the training op. ``feeds(name)`` makes a seeded batch.
The shapes are the ones issue 17 names.
"""
from __future__ import annotations

import dataclasses
import random

import numpy as np


@dataclasses.dataclass(frozen=True)
class Model:
    output: object      # what inference fetches
    loss: object
    train: object       # one training step


def _conv(api, x, out_c, k, name, stride=1, bias=True):
    in_c = int(x.shape[-1])
    w = api.get_variable(f"{name}/kernel", [k, k, in_c, out_c])
    y = api.nn.conv2d(x, w, [1, stride, stride, 1], "SAME")
    if bias:
        b = api.get_variable(f"{name}/bias", [out_c], initializer=api.zeros_initializer())
        y = api.nn.bias_add(y, b)
    return y


def _dense(api, x, units, name):
    w = api.get_variable(f"{name}/kernel", [int(x.shape[-1]), units])
    b = api.get_variable(f"{name}/bias", [units], initializer=api.zeros_initializer())
    return api.nn.bias_add(api.matmul(x, w), b)


def _pool(api, x):
    return api.nn.max_pool(x, [1, 2, 2, 1], [1, 2, 2, 1], "VALID")


def mnist_cnn(api) -> Model:
    """Two 5x5 convolutions (32, 64 channels), 2x2 max pooling, 1024-unit dense, Momentum."""
    x = api.placeholder(api.float32, [None, 28, 28, 1], name="x")
    y = api.placeholder(api.int64, [None], name="y")
    h = _pool(api, api.nn.relu(_conv(api, x, 32, 5, "conv1")))
    h = _pool(api, api.nn.relu(_conv(api, h, 64, 5, "conv2")))
    h = api.nn.relu(_dense(api, api.reshape(h, [-1, 7 * 7 * 64]), 1024, "fc1"))
    logits = _dense(api, h, 10, "logits")
    loss = api.reduce_mean(api.nn.sparse_softmax_cross_entropy_with_logits(
        labels=y, logits=logits))
    train = api.train.MomentumOptimizer(0.01, 0.9).minimize(loss)
    return Model(logits, loss, train)


def vgg_block(api) -> Model:
    """Four 3x3 convolutions (3->64->64, pool, ->128->128, pool) at 32x32, dense 10, SGD."""
    x = api.placeholder(api.float32, [None, 32, 32, 3], name="x")
    y = api.placeholder(api.int64, [None], name="y")
    h = api.nn.relu(_conv(api, x, 64, 3, "conv1"))
    h = _pool(api, api.nn.relu(_conv(api, h, 64, 3, "conv2")))
    h = api.nn.relu(_conv(api, h, 128, 3, "conv3"))
    h = _pool(api, api.nn.relu(_conv(api, h, 128, 3, "conv4")))
    logits = _dense(api, api.reshape(h, [-1, 8 * 8 * 128]), 10, "logits")
    loss = api.reduce_mean(api.nn.sparse_softmax_cross_entropy_with_logits(
        labels=y, logits=logits))
    train = api.train.GradientDescentOptimizer(0.01).minimize(loss)
    return Model(logits, loss, train)


def resnet_block(api) -> Model:
    """conv-BN-relu-conv-BN + identity, relu, global average pool, dense 10; Momentum.

    Batch normalization is ``tf.layers.batch_normalization(training=True)`` (the fused op),
    its moving averages updated through UPDATE_OPS."""
    random.seed(3)
    x = api.placeholder(api.float32, [None, 32, 32, 64], name="x")
    y = api.placeholder(api.int64, [None], name="y")
    h = _conv(api, x, 64, 3, "conv1", bias=False)
    h = api.nn.relu(api.layers.batch_normalization(h, training=True, name="bn1"))
    h = _conv(api, h, 64, 3, "conv2", bias=False)
    h = api.layers.batch_normalization(h, training=True, name="bn2")
    h = api.nn.relu(h + x)
    logits = _dense(api, api.reduce_mean(h, [1, 2]), 10, "logits")
    loss = api.reduce_mean(api.nn.sparse_softmax_cross_entropy_with_logits(
        labels=y, logits=logits))
    with api.control_dependencies(api.get_collection(api.GraphKeys.UPDATE_OPS)):
        train = api.train.MomentumOptimizer(0.01, 0.9).minimize(loss)
    return Model(logits, loss, train)


def _layer_norm(api, x, name):
    units = int(x.shape[-1])
    gamma = api.get_variable(f"{name}/gamma", [units], initializer=api.ones_initializer())
    beta = api.get_variable(f"{name}/beta", [units], initializer=api.zeros_initializer())
    mean, var = api.nn.moments(x, [-1], keep_dims=True)
    return (x - mean) * api.rsqrt(var + 1e-6) * gamma + beta


TOKENS, SEQ, HIDDEN, HEADS = 8, 64, 128, 4


def transformer_encoder(api) -> Model:
    """One post-norm encoder layer: 4-head self-attention and a 512-wide ReLU feed-forward,
    each with a residual and layer norm, on (8, 64, 128); squared-error loss, Adam."""
    x = api.placeholder(api.float32, [TOKENS, SEQ, HIDDEN], name="x")
    target = api.placeholder(api.float32, [TOKENS, SEQ, HIDDEN], name="y")
    flat = api.reshape(x, [-1, HIDDEN])
    depth = HIDDEN // HEADS

    def heads(name):
        t = api.reshape(_dense(api, flat, HIDDEN, name), [TOKENS, SEQ, HEADS, depth])
        return api.transpose(t, [0, 2, 1, 3])

    q, k, v = heads("query"), heads("key"), heads("value")
    scores = api.matmul(q, k, transpose_b=True) * (1.0 / float(np.sqrt(depth)))
    context = api.matmul(api.nn.softmax(scores), v)
    context = api.reshape(api.transpose(context, [0, 2, 1, 3]), [-1, HIDDEN])
    h = _layer_norm(api, flat + _dense(api, context, HIDDEN, "attention_out"), "ln1")
    ffn = _dense(api, api.nn.relu(_dense(api, h, 4 * HIDDEN, "ffn_in")), HIDDEN, "ffn_out")
    out = api.reshape(_layer_norm(api, h + ffn, "ln2"), [TOKENS, SEQ, HIDDEN])
    loss = api.reduce_mean(api.square(out - target))
    train = api.train.AdamOptimizer(1e-3).minimize(loss)
    return Model(out, loss, train)


LSTM_BATCH, LSTM_STEPS, LSTM_UNITS = 32, 50, 128


def lstm(api) -> Model:
    """An LSTM (128 units) over 50 steps of batch 32 through ``tf.nn.dynamic_rnn``; the last
    output feeds a dense 10 with softmax cross-entropy; Adam."""
    x = api.placeholder(api.float32, [LSTM_BATCH, LSTM_STEPS, 32], name="x")
    y = api.placeholder(api.int64, [LSTM_BATCH], name="y")
    cell = api.nn.rnn_cell.LSTMCell(LSTM_UNITS, name="lstm")
    outputs, _ = api.nn.dynamic_rnn(cell, x, dtype=api.float32)
    logits = _dense(api, outputs[:, -1], 10, "logits")
    loss = api.reduce_mean(api.nn.sparse_softmax_cross_entropy_with_logits(
        labels=y, logits=logits))
    train = api.train.AdamOptimizer(1e-3).minimize(loss)
    return Model(logits, loss, train)


MODELS = {
    "mnist_cnn": (mnist_cnn, "MNIST CNN (5x5 convs 32/64, batch 64), Momentum"),
    "vgg_block": (vgg_block, "VGG block (four 3x3 convs 64-128, 32x32, batch 16), SGD"),
    "resnet_block": (resnet_block, "ResNet block with batch norm (64 ch, 32x32, batch 16), "
                                   "Momentum"),
    "transformer": (transformer_encoder, "Transformer encoder layer (8x64x128, 4 heads), "
                                         "Adam"),
    "lstm": (lstm, "LSTM (batch 32, 50 steps, 128 units), Adam"),
}


def feeds(name: str, seed: int = 0) -> dict:
    """A seeded batch for model ``name``, keyed by placeholder tensor names."""
    rng = np.random.default_rng(seed)
    if name == "mnist_cnn":
        return {"x:0": rng.uniform(0, 1, (64, 28, 28, 1)).astype(np.float32),
                "y:0": rng.integers(0, 10, 64).astype(np.int64)}
    if name == "vgg_block":
        return {"x:0": rng.uniform(0, 1, (16, 32, 32, 3)).astype(np.float32),
                "y:0": rng.integers(0, 10, 16).astype(np.int64)}
    if name == "resnet_block":
        return {"x:0": rng.standard_normal((16, 32, 32, 64)).astype(np.float32),
                "y:0": rng.integers(0, 10, 16).astype(np.int64)}
    if name == "transformer":
        shape = (TOKENS, SEQ, HIDDEN)
        return {"x:0": rng.standard_normal(shape).astype(np.float32),
                "y:0": rng.standard_normal(shape).astype(np.float32)}
    if name == "lstm":
        return {"x:0": rng.standard_normal((LSTM_BATCH, LSTM_STEPS, 32)).astype(np.float32),
                "y:0": rng.integers(0, 10, LSTM_BATCH).astype(np.int64)}
    raise KeyError(name)
