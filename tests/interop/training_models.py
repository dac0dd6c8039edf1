"""Two small training programs, written once for both systems (``api`` is ``flowsaver`` or
TensorFlow's ``tf.compat.v1``): an MLP trained with Adam and a CNN trained with Momentum.
Each returns the names that tests fetch and feed."""
from __future__ import annotations

import numpy as np


def mlp_adam(api):
    x = api.placeholder(api.float32, [None, 8], name="x")
    y = api.placeholder(api.int64, [None], name="y")
    w1 = api.get_variable("fc1/w", [8, 16])
    b1 = api.get_variable("fc1/b", [16], initializer=api.zeros_initializer())
    h = api.nn.relu(api.nn.bias_add(api.matmul(x, w1), b1))
    w2 = api.get_variable("fc2/w", [16, 4])
    b2 = api.get_variable("fc2/b", [4], initializer=api.zeros_initializer())
    logits = api.add(api.matmul(h, w2), b2, name="logits")
    loss = api.reduce_mean(api.nn.sparse_softmax_cross_entropy_with_logits(
        labels=y, logits=logits), name="loss")
    step = api.train.get_or_create_global_step()
    train = api.train.AdamOptimizer(0.01).minimize(loss, global_step=step, name="train")
    api.add_to_collection("train_op", train)
    return "logits:0", "loss:0", "train"


def cnn_momentum(api):
    x = api.placeholder(api.float32, [None, 8, 8, 1], name="x")
    y = api.placeholder(api.float32, [None, 3], name="y")
    k = api.get_variable("conv/k", [3, 3, 1, 4])
    b = api.get_variable("conv/b", [4], initializer=api.zeros_initializer())
    c = api.nn.relu(api.nn.bias_add(api.nn.conv2d(x, k, [1, 1, 1, 1], "SAME"), b))
    p = api.nn.max_pool(c, [1, 2, 2, 1], [1, 2, 2, 1], "VALID")
    f = api.reshape(p, [-1, 4 * 4 * 4])
    w = api.get_variable("fc/w", [64, 3])
    bb = api.get_variable("fc/b", [3], initializer=api.zeros_initializer())
    logits = api.add(api.matmul(f, w), bb, name="logits")
    loss = api.reduce_mean(api.nn.softmax_cross_entropy_with_logits_v2(
        labels=y, logits=logits), name="loss")
    train = api.train.MomentumOptimizer(0.05, 0.9).minimize(loss, name="train")
    api.add_to_collection("train_op", train)
    return "logits:0", "loss:0", "train"


def data(model: str, seed: int = 0, batch: int = 16):
    """A fixed batch of inputs and labels for ``model`` ("mlp" or "cnn")."""
    rng = np.random.default_rng(seed)
    if model == "mlp":
        return {"x:0": rng.standard_normal((batch, 8)).astype(np.float32),
                "y:0": rng.integers(0, 4, batch).astype(np.int64)}
    labels = np.eye(3, dtype=np.float32)[rng.integers(0, 3, batch)]
    return {"x:0": rng.standard_normal((batch, 8, 8, 1)).astype(np.float32), "y:0": labels}


MODELS = {"mlp": mlp_adam, "cnn": cnn_momentum}
