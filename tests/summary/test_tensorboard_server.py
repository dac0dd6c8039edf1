"""End to end: a real ``tensorboard --logdir`` serves the scalars and the graph that
flowsaver wrote (queried through its HTTP data API on 127.0.0.1, bounded in time)."""
from __future__ import annotations

import importlib.util

import numpy as np
import pytest

import flowsaver as tf
from tensorboard_helpers import get, get_json, running_tensorboard


def test_tensorboard_serves_our_run(tmp_path):
    if importlib.util.find_spec("tensorboard") is None:
        pytest.fail("the tensorboard package is a test dependency (pip install -e .[test])")
    logdir = str(tmp_path / "logs")
    graph = tf.Graph()
    with graph.as_default():
        x = tf.placeholder(tf.float32, [None], name="x")
        loss = tf.reduce_mean(tf.square(x), name="loss_value")
        tf.summary.scalar("loss", loss)
        merged = tf.summary.merge_all()
        with tf.Session() as sess, tf.summary.FileWriter(logdir, graph) as writer:
            for step in range(5):
                writer.add_summary(sess.run(merged, {x: np.arange(3.0) + step}), step)
    with running_tensorboard(logdir, "loss") as base:
        assert get_json(base + "/data/runs") == ["."]
        points = get_json(base + "/data/plugin/scalars/scalars?run=.&tag=loss")
        assert [p[1] for p in points] == [0, 1, 2, 3, 4]
        expected = [np.mean(np.square(np.arange(3.0) + s)) for s in range(5)]
        np.testing.assert_allclose([p[2] for p in points], expected, rtol=1e-6)
        graph_text = get(base + "/data/plugin/graphs/graph?run=.&conversions=false").decode()
        assert 'name: "loss_value"' in graph_text and 'op: "Placeholder"' in graph_text
        assert graph_text.count("node {") == len(graph.as_graph_def().node)
