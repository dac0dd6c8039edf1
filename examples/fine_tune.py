"""Fine-tuning: a new head on a restored model's layer, training only the new variables.

    python examples/fine_tune.py WORKDIR

A "pretrained" network is trained and saved (its penultimate layer is named ``fc7``). A
fresh graph imports it, restores it, takes ``fc7`` by name, cuts the gradient there with
``tf.stop_gradient``, adds new weights from ``tf.truncated_normal`` and a softmax head for
a new task, and trains only those (``minimize(var_list=...)``). The restored weights do
not move.
"""
from __future__ import annotations

import os
import sys

import numpy as np

import flowsaver as tf


def data(task: int, seed=0, n=512):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, 6)).astype(np.float32)
    score = x[:, 0] + x[:, 1] * x[:, 2] if task == 0 else x[:, 3] - np.abs(x[:, 4])
    return x, (score > 0).astype(np.int64)


def pretrain(directory: str) -> str:
    x, y = data(task=0)
    with tf.Graph().as_default():
        inputs = tf.placeholder(tf.float32, [None, 6], name="x")
        labels = tf.placeholder(tf.int64, [None], name="y")
        w1 = tf.get_variable("fc6/w", [6, 24])
        b1 = tf.get_variable("fc6/b", [24], initializer=tf.zeros_initializer())
        h = tf.nn.relu(tf.matmul(inputs, w1) + b1)
        w2 = tf.get_variable("fc7/w", [24, 16])
        b2 = tf.get_variable("fc7/b", [16], initializer=tf.zeros_initializer())
        fc7 = tf.nn.relu(tf.matmul(h, w2) + b2, name="fc7")
        w3 = tf.get_variable("fc8/w", [16, 2])
        logits = tf.matmul(fc7, w3, name="fc8")
        loss = tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(
            labels=labels, logits=logits))
        train = tf.train.AdamOptimizer(0.02).minimize(loss)
        with tf.Session() as sess:
            sess.run(tf.global_variables_initializer())
            for _ in range(150):
                sess.run(train, {inputs: x, labels: y})
            print(f"pretrained on task 0: loss {sess.run(loss, {inputs: x, labels: y}):.3f}")
            return tf.train.Saver().save(sess, os.path.join(directory, "pretrained"))


def fine_tune(prefix: str) -> None:
    x, y = data(task=1, seed=1)
    graph = tf.Graph()
    with graph.as_default():
        saver = tf.train.import_meta_graph(prefix + ".meta")
        fc7 = graph.get_tensor_by_name("fc7:0")
        fc7 = tf.stop_gradient(fc7)   # nothing below fc7 is trained
        num_outputs = fc7.get_shape().as_list()[1]
        new_w = tf.Variable(tf.truncated_normal([num_outputs, 2], stddev=0.05), name="new_w")
        new_b = tf.Variable(tf.zeros([2]), name="new_b")
        logits = tf.matmul(fc7, new_w) + new_b
        probabilities = tf.nn.softmax(logits, name="probabilities")
        labels = tf.placeholder(tf.int64, [None], name="new_labels")
        loss = tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(
            labels=labels, logits=logits))
        optimizer = tf.train.AdamOptimizer(0.01)
        train = optimizer.minimize(loss, var_list=[new_w, new_b])
        accuracy = tf.reduce_mean(tf.cast(tf.equal(tf.argmax(probabilities, 1), labels),
                                          tf.float32))
        with tf.Session() as sess:
            saver.restore(sess, prefix)
            # Only what is new needs initializing: the head and the optimizer's slots.
            sess.run(tf.variables_initializer([new_w, new_b] + optimizer.variables()))
            feeds = {"x:0": x, labels: y}
            old = sess.run("fc7/w:0")
            print(f"new head before training: loss {sess.run(loss, feeds):.3f}, "
                  f"accuracy {sess.run(accuracy, feeds):.2%}")
            for _ in range(300):
                sess.run(train, feeds)
            print(f"new head after training:  loss {sess.run(loss, feeds):.3f}, "
                  f"accuracy {sess.run(accuracy, feeds):.2%}")
            unchanged = np.array_equal(old, sess.run("fc7/w:0"))
            print(f"restored fc7 weights unchanged: {unchanged}")


if __name__ == "__main__":
    workdir = sys.argv[1] if len(sys.argv) > 1 else "fine-tune-out"
    os.makedirs(workdir, exist_ok=True)
    fine_tune(pretrain(workdir))
