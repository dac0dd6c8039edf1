"""Whole models written the way the field wrote them, against real TensorFlow.

An MNIST-style CNN with ``tf.layers`` (conv, batch norm, pooling, dropout, dense),
``tf.losses`` and Adam with the batch-norm updates run through ``UPDATE_OPS``: the same
GraphDef node for node (gradients and optimizer included), TensorFlow's initial values
carried into flowsaver by a checkpoint TensorFlow wrote, the same forward outputs and 20
training losses (rtol 1e-4), and flowsaver's trained checkpoint read back by TensorFlow
with the same outputs. Dropout is on (``training=True``) under ``tf.set_random_seed``: both
systems draw the same masks from TensorFlow's Philox streams, run after run.
"""
from __future__ import annotations

import random

import numpy as np

import flowsaver
from parity import assert_close, assert_same_graph_def, build_both, tf1_mode

STEPS = 20
RNG = np.random.default_rng(47)
IMAGES = RNG.uniform(0, 1, (16, 14, 14, 1)).astype(np.float32)
LABELS = RNG.integers(0, 10, 16).astype(np.int64)


def mnist_cnn(api):
    random.seed(11)
    api.set_random_seed(31)
    x = api.placeholder(api.float32, [None, 14, 14, 1], name="x")
    y = api.placeholder(api.int64, [None], name="y")
    h = api.layers.conv2d(x, 8, 3, padding="same", activation=api.nn.relu)
    h = api.layers.batch_normalization(h, training=True)
    h = api.layers.max_pooling2d(h, 2, 2)
    h = api.layers.conv2d(h, 8, 3, activation=api.nn.relu, name="conv_b")
    h = api.layers.max_pooling2d(h, 2, 2)
    h = api.layers.flatten(h)
    h = api.layers.dense(h, 32, activation=api.nn.relu)
    h = api.layers.dropout(h, rate=0.4, training=True)
    logits = api.layers.dense(h, 10, name="logits")
    loss = api.losses.sparse_softmax_cross_entropy(y, logits)
    with api.control_dependencies(api.get_collection(api.GraphKeys.UPDATE_OPS)):
        train = api.train.AdamOptimizer(0.002).minimize(loss, name="train")
    api.group(api.global_variables_initializer(), name="init_all")
    return {"logits": logits, "loss": loss, "train": train}


def _session(api, graph):
    return flowsaver.Session(graph=graph) if api is flowsaver else api.Session(graph=graph)


def _train(sess, graph, fetches):
    feed = {graph.get_tensor_by_name("x:0"): IMAGES, graph.get_tensor_by_name("y:0"): LABELS}
    logits = sess.run(fetches["logits"], feed)
    losses = []
    for _ in range(STEPS):
        losses.append(sess.run([fetches["loss"], fetches["train"]], feed)[0])
    return logits, losses, sess.run(fetches["logits"], feed)


def test_mnist_cnn_trains_like_tensorflow(tf, tmp_path):
    (ours, our_fetches), (theirs, their_fetches) = build_both(tf, mnist_cnn)
    assert_same_graph_def(ours, theirs)
    tf_ckpt, our_ckpt = str(tmp_path / "tf" / "init"), str(tmp_path / "ours" / "trained")
    with tf1_mode(tf) as v1, theirs.as_default():
        their_saver = v1.train.Saver()
        with v1.Session(graph=theirs) as sess:
            sess.run(theirs.get_operation_by_name("init_all"))
            their_saver.save(sess, tf_ckpt)
            their_run = _train(sess, theirs, their_fetches)
    with ours.as_default():
        saver = flowsaver.train.Saver()
        with flowsaver.Session(graph=ours) as sess:
            saver.restore(sess, tf_ckpt)  # TensorFlow's initial values, from its checkpoint
            our_run = _train(sess, ours, our_fetches)
            saver.save(sess, our_ckpt)
    assert_close(our_run[0], their_run[0], rtol=1e-4, atol=1e-5, what="initial logits")
    np.testing.assert_allclose(our_run[1], their_run[1], rtol=1e-4, err_msg="losses")
    assert their_run[1][-1] < their_run[1][0] * 0.8  # it does learn
    assert_close(our_run[2], their_run[2], rtol=1e-3, atol=1e-4, what="trained logits")
    # flowsaver's checkpoint, read by TF and by flowsaver in new sessions (whose dropout
    # streams start over, so both draw the first masks again)
    with tf1_mode(tf) as v1, theirs.as_default():
        with v1.Session(graph=theirs) as sess:
            their_saver.restore(sess, our_ckpt)
            restored = sess.run(their_fetches["logits"], {"x:0": IMAGES})
            moving = sess.run("batch_normalization/moving_mean:0")
    with ours.as_default(), flowsaver.Session(graph=ours) as sess:
        saver.restore(sess, our_ckpt)
        ours_restored = sess.run(our_fetches["logits"], {"x:0": IMAGES})
    np.testing.assert_allclose(restored, ours_restored, rtol=1e-4, atol=1e-4)
    reader = flowsaver.train.load_checkpoint(our_ckpt)
    np.testing.assert_array_equal(reader.get_tensor("batch_normalization/moving_mean"), moving)
    assert "batch_normalization/moving_mean/Adam" not in reader.get_variable_to_shape_map()
