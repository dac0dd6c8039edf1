"""Saver.restore of checkpoints TensorFlow wrote in other forms: legacy V1 files and TF2
object-based checkpoints (keys found through the object graph), from the vendored samples."""
import numpy as np
import pytest

import flowsaver as tf
from fixture_paths import SAMPLES


def test_restores_a_v1_checkpoint():
    g = tf.Graph()
    with g.as_default():
        v = tf.Variable(np.zeros(3, np.float32), name="v")
        saver = tf.train.Saver()
        with tf.Session() as sess:
            saver.restore(sess, str(SAMPLES / "s7_v1_format" / "v1model.ckpt"))
            expected = tf.train.load_variable(str(SAMPLES / "s7_v1_format" / "v1model.ckpt"), "v")
            np.testing.assert_array_equal(sess.run(v), expected)


def test_restores_an_object_based_checkpoint_through_its_object_graph():
    g = tf.Graph()
    with g.as_default():
        kernel = tf.Variable(np.zeros((2, 2), np.float32), name="kernel")
        bias = tf.Variable(np.ones(2, np.float32), name="bias")
        saver = tf.train.Saver()
        with tf.Session() as sess:
            saver.restore(sess, str(SAMPLES / "s5_tf2_object" / "written"))
            np.testing.assert_array_equal(sess.run(kernel), np.ones((2, 2), np.float32))
            np.testing.assert_array_equal(sess.run(bias), np.zeros(2, np.float32))


def test_object_based_checkpoint_without_the_variable_names_it():
    g = tf.Graph()
    with g.as_default():
        tf.Variable(np.zeros(2, np.float32), name="nowhere")
        saver = tf.train.Saver()
        with tf.Session() as sess, pytest.raises(tf.errors.NotFoundError, match="nowhere"):
            saver.restore(sess, str(SAMPLES / "s5_tf2_object" / "written"))


def test_restore_from_a_directory_names_its_latest_checkpoint(tmp_path):
    g = tf.Graph()
    with g.as_default():
        tf.Variable(1.0, name="v")
        saver = tf.train.Saver()
        with tf.Session() as sess:
            sess.run(tf.global_variables_initializer())
            prefix = saver.save(sess, str(tmp_path / "m"), global_step=2)
            with pytest.raises(ValueError, match="is a directory.*latest checkpoint is " + prefix):
                saver.restore(sess, str(tmp_path))
