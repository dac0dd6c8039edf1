"""Kernels writing over inputs the compiled plan hands over (ops/donation.py): only arrays
nothing else holds are ever written, and every result stays what NumPy computes."""
from __future__ import annotations

import gc
import tracemalloc

import numpy as np
import pytest

import flowsaver as tf
from flowsaver.ops import donation
from flowsaver.runtime import runners

N = 1 << 18   # elements per tensor: above donation.MIN_ELEMENTS


@pytest.fixture(autouse=True)
def compiled_plans(monkeypatch):
    """Only compiled plans hand arrays over; the suite's second pass sets
    FLOWSAVER_EXECUTOR=interpreter for everything else."""
    monkeypatch.delenv(runners.EXECUTOR_SWITCH, raising=False)


def _x():
    return np.random.default_rng(3).normal(size=(N // 512, 512)).astype(np.float32)


def test_fed_arrays_constants_and_fetched_tensors_keep_their_values():
    x_value = _x()
    kept = x_value.copy()
    c_value = np.full(x_value.shape, 0.5, np.float32)
    g = tf.Graph()
    with g.as_default():
        x = tf.placeholder(tf.float32, x_value.shape)
        c = tf.constant(c_value)
        shifted = x - c                        # fetched below: must keep its value
        act = tf.nn.relu(shifted)              # reads shifted, which is also fetched
        out = tf.exp(tf.negative(act * 2.0)) + c
    with tf.Session(graph=g) as sess:
        for _ in range(2):
            got_shifted, got_out = sess.run([shifted, out], {x: x_value})
            np.testing.assert_array_equal(x_value, kept)
            np.testing.assert_array_equal(got_shifted, kept - 0.5)
            want = np.exp(-(np.maximum(kept - 0.5, 0) * 2)) + 0.5
            np.testing.assert_allclose(got_out, want, rtol=1e-6)
        np.testing.assert_array_equal(sess.run(c), c_value)


def test_a_tensor_read_by_two_ops_is_not_overwritten_by_the_first():
    x_value = _x()
    g = tf.Graph()
    with g.as_default():
        x = tf.placeholder(tf.float32, x_value.shape)
        shared = x * 3.0
        first = tf.nn.relu(shared)           # not shared's last reader
        second = tf.tanh(shared)
        total = first + second
    with tf.Session(graph=g) as sess:
        got = sess.run(total, {x: x_value})
    shared_value = x_value * 3
    np.testing.assert_allclose(got, np.maximum(shared_value, 0) + np.tanh(shared_value),
                               rtol=1e-6)


def test_variables_and_their_reads_are_never_written():
    start = _x()
    g = tf.Graph()
    with g.as_default():
        v = tf.Variable(start)
        out = tf.nn.relu(tf.nn.bias_add(v * 1.0, tf.zeros([512]))) - v
    with tf.Session(graph=g) as sess:
        sess.run(tf.variables_initializer([v]))
        for _ in range(2):
            got = sess.run(out)
            np.testing.assert_array_equal(sess.run(v), start)
            np.testing.assert_allclose(got, np.maximum(start, 0) - start)


def _peak_of_chain(sess, out, x, x_value) -> int:
    sess.run(out, {x: x_value})
    gc.collect()
    gc.disable()      # no other test's garbage finalized (and allocating) in the window
    tracemalloc.start()
    try:
        sess.run(out, {x: x_value})
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
        gc.enable()


def test_a_chain_of_elementwise_ops_reuses_one_array(monkeypatch):
    x_value = _x()
    g = tf.Graph()
    with g.as_default():
        x = tf.placeholder(tf.float32, x_value.shape)
        out = tf.sqrt(tf.exp(tf.nn.relu(tf.square(x + 1.0) * 0.5) - 2.0))
    with tf.Session(graph=g) as sess:
        reusing = _peak_of_chain(sess, out, x, x_value)
        monkeypatch.setattr(donation, "MIN_ELEMENTS", 1 << 40)
        fresh = _peak_of_chain(sess, out, x, x_value)
    size = x_value.nbytes
    assert reusing < 1.5 * size <= fresh, (reusing, fresh, size)


def test_assign_keeps_a_computed_value_apart_from_a_fetched_or_fed_one():
    x_value = _x()
    kept = x_value.copy()
    g = tf.Graph()
    with g.as_default():
        x = tf.placeholder(tf.float32, x_value.shape)
        v = tf.Variable(tf.zeros(x_value.shape))
        w = tf.Variable(tf.zeros(x_value.shape))
        doubled = x * 2.0
        to_v = v.assign(doubled)           # doubled is also fetched: v must take a copy
        to_w = w.assign(x)                 # a fed array: w must take a copy
        tripled = tf.assign(w, x * 3.0)    # nothing else holds x * 3: w may keep it
    with tf.Session(graph=g) as sess:
        sess.run(tf.global_variables_initializer())
        got_doubled, _, _ = sess.run([doubled, to_v, to_w], {x: x_value})
        got_doubled += 1.0
        x_value += 1.0
        np.testing.assert_array_equal(sess.run(v), kept * 2)
        np.testing.assert_array_equal(sess.run(w), kept)
        sess.run(tripled, {x: kept})
        after = sess.run(w)
        np.testing.assert_array_equal(after, kept * 3)
        after += 1.0                       # a fetched value is the caller's own
        np.testing.assert_array_equal(sess.run(w), kept * 3)


def _restore_peak(saver, sess, prefix) -> int:
    gc.collect()
    gc.disable()      # no other test's garbage finalized (and allocating) in the window
    tracemalloc.start()
    try:
        start = tracemalloc.get_traced_memory()[0]
        saver.restore(sess, prefix)
        return tracemalloc.get_traced_memory()[1] - start
    finally:
        tracemalloc.stop()
        gc.enable()


@pytest.mark.parametrize("use_resource", [False, True])
def test_restore_makes_the_read_tensors_the_variables_arrays(tmp_path, monkeypatch,
                                                              use_resource):
    """Saver.restore holds each variable's new value once: the array read from the
    checkpoint, not a copy of it (TensorFlow's Assign forwards its input the same way)."""
    start = np.stack([_x()] * 16)          # 16 MiB
    g = tf.Graph()
    with g.as_default():
        v = tf.Variable(start, name="big", use_resource=use_resource)
        saver = tf.train.Saver()
    with tf.Session(graph=g) as sess:
        sess.run(tf.global_variables_initializer())
        prefix = saver.save(sess, str(tmp_path / "model.ckpt"))
        sess.run(v.assign(v * 0.0))
        keeping = _restore_peak(saver, sess, prefix)
        np.testing.assert_array_equal(sess.run(v), start)
        restored = sess.run(v)
        restored[:] = 7.0
        np.testing.assert_array_equal(sess.run(v), start)
        monkeypatch.setattr(donation, "MIN_ELEMENTS", 1 << 40)
        copying = _restore_peak(saver, sess, prefix)
        np.testing.assert_array_equal(sess.run(v), start)
    size = start.nbytes
    assert keeping < 1.5 * size <= copying, (keeping, copying, size)
