"""Two models saved separately, wired into one graph and trained together.

    python examples/mix_models.py WORKDIR

Model A (an encoder, 4 -> 3) and model B (a classifier, 3 -> 2) are each trained alone and
saved with their own Saver and metagraph. Then one graph imports A under scope ``A`` and B
under scope ``B``, with B's input placeholder replaced by A's output (``input_map``). Each
part is restored by the Saver its metagraph describes (checkpoint keys stay as saved), and
a new optimizer trains both parts together: the gradient of B's loss reaches A's weights.
"""
from __future__ import annotations

import os
import sys

import numpy as np

import flowsaver as tf


def data(seed=0, n=256):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, 4)).astype(np.float32)
    y = (x[:, 0] * x[:, 1] + x[:, 2] > 0).astype(np.int64)
    return x, y


def save_model_a(directory):
    g = tf.Graph()
    with g.as_default():
        x = tf.placeholder(tf.float32, [None, 4], name="x")
        w = tf.get_variable("enc/w", [4, 3])
        b = tf.get_variable("enc/b", [3], initializer=tf.zeros_initializer())
        tf.tanh(tf.matmul(x, w) + b, name="code")
        with tf.Session() as sess:
            sess.run(tf.global_variables_initializer())
            return tf.train.Saver().save(sess, os.path.join(directory, "a", "model"))


def save_model_b(directory):
    g = tf.Graph()
    with g.as_default():
        code = tf.placeholder(tf.float32, [None, 3], name="code_in")
        labels = tf.placeholder(tf.int64, [None], name="labels")
        w = tf.get_variable("cls/w", [3, 2])
        b = tf.get_variable("cls/b", [2], initializer=tf.zeros_initializer())
        logits = tf.add(tf.matmul(code, w), b, name="logits")
        tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(
            labels=labels, logits=logits), name="loss")
        with tf.Session() as sess:
            sess.run(tf.global_variables_initializer())
            return tf.train.Saver().save(sess, os.path.join(directory, "b", "model"))


def main(directory: str) -> None:
    for sub in ("a", "b"):
        os.makedirs(os.path.join(directory, sub), exist_ok=True)
    prefix_a, prefix_b = save_model_a(directory), save_model_b(directory)
    x, y = data()
    g = tf.Graph()
    with g.as_default():
        saver_a = tf.train.import_meta_graph(prefix_a + ".meta", import_scope="A")
        code = g.get_tensor_by_name("A/code:0")
        saver_b = tf.train.import_meta_graph(prefix_b + ".meta", import_scope="B",
                                             input_map={"code_in:0": code})
        loss = g.get_tensor_by_name("B/loss:0")
        a_weights = g.get_tensor_by_name("A/enc/w:0")
        grad = tf.gradients(loss, [a_weights])[0]
        print(f"gradient of B's loss w.r.t. A's weights: {grad.name}")
        optimizer = tf.train.AdamOptimizer(0.05, name="Joint")
        train = optimizer.minimize(loss)  # all trainable variables: A's and B's
        with tf.Session() as sess:
            saver_a.restore(sess, prefix_a)   # keys enc/w, enc/b: as model A saved them
            saver_b.restore(sess, prefix_b)   # keys cls/w, cls/b
            sess.run(tf.variables_initializer(optimizer.variables()))  # the Adam slots
            feeds = {"A/x:0": x, "B/labels:0": y}
            before = sess.run(a_weights)
            first = sess.run(loss, feeds)
            for _ in range(200):
                sess.run(train, feeds)
            last = sess.run(loss, feeds)
            moved = float(np.abs(sess.run(a_weights) - before).max())
    print(f"joint training: loss {first:.3f} -> {last:.3f}; A's weights moved by up to "
          f"{moved:.3f}")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "mix-out")
