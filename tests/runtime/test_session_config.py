"""``tf.Session(config=tf.ConfigProto(...))`` and ``run(options=..., run_metadata=...)``:
accepted and recorded; ``log_device_placement`` writes TensorFlow's placement lines."""
from __future__ import annotations

import pytest

import flowsaver as tf


def test_config_is_recorded_and_checked():
    config = tf.ConfigProto(allow_soft_placement=True,
                            gpu_options=tf.GPUOptions(allow_growth=True))
    with tf.Graph().as_default():
        sess = tf.Session(config=config)
        assert sess.config.gpu_options.allow_growth
        sess.close()
        with pytest.raises(TypeError, match="config must be a tf.ConfigProto"):
            tf.Session(config={"allow_soft_placement": True})


def test_log_device_placement_writes_each_op_once(capfd, caplog):
    caplog.set_level("INFO", logger="tensorflow")
    g = tf.Graph()
    with g.as_default():
        x = tf.placeholder(tf.float32, [2], name="x")
        y = tf.add(x, 1.0, name="y")
        z = y * 2
        with tf.Session(config=tf.ConfigProto(log_device_placement=True)) as sess:
            sess.run(z, {x: [1.0, 2.0]})
            sess.run(y, {x: [1.0, 2.0]})
    err = capfd.readouterr().err
    device = "/job:localhost/replica:0/task:0/device:CPU:0"
    assert "Device mapping: no known devices." in caplog.text
    for line in (f"x: (Placeholder): {device}", f"y: (AddV2): {device}",
                 f"mul: (Mul): {device}", f"y/y: (Const): {device}", f"mul/y: (Const): {device}"):
        assert err.count(line + "\n") == 1, err


def test_run_options_and_metadata_are_accepted():
    with tf.Graph().as_default():
        x = tf.constant(3.0) * 2
        with tf.Session() as sess:
            options = tf.RunOptions(trace_level=tf.RunOptions.FULL_TRACE)
            metadata = tf.RunMetadata()
            assert sess.run(x, options=options, run_metadata=metadata) == 6.0
            assert sess.last_run_options is options
            with pytest.raises(TypeError, match="run_metadata"):
                sess.run(x, run_metadata="not a message")
