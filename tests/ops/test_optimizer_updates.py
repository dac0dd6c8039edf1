"""Optimizer updates of large variables: block by block, in place when nothing else holds
the stored array, with the same results as whole-array updates and no visible writes."""
from __future__ import annotations

import numpy as np
import pytest

import flowsaver as tf
from flowsaver.format import cpu_load
from flowsaver.ops import blas_threads
from flowsaver.ops.training import kernels

OPTIMIZERS = {
    "sgd": lambda: tf.train.GradientDescentOptimizer(0.1),
    "momentum": lambda: tf.train.MomentumOptimizer(0.05, 0.9),
    "nesterov": lambda: tf.train.MomentumOptimizer(0.05, 0.9, use_nesterov=True),
    "adam": lambda: tf.train.AdamOptimizer(0.01),
    "adagrad": lambda: tf.train.AdagradOptimizer(0.1),
    "rmsprop": lambda: tf.train.RMSPropOptimizer(0.01, momentum=0.9),
}
ROWS = 3 * kernels.BLOCK // 64 + 5    # (ROWS, 64): several blocks and a partial one


def _train(make_optimizer, steps=3, read_first=False):
    """Variable and slot values after ``steps`` steps; with ``read_first``, also what an
    Identity of the variable read before each update returned."""
    g = tf.Graph()
    with g.as_default():
        rng = np.random.default_rng(1)
        w = tf.Variable(rng.standard_normal((ROWS, 64)).astype(np.float32), name="w")
        x = tf.constant(rng.standard_normal((8, ROWS)).astype(np.float32))
        loss = tf.reduce_sum(tf.square(tf.matmul(x, w)))
        read = tf.identity(w)
        with tf.control_dependencies([read] if read_first else []):
            train = make_optimizer().minimize(loss)
        init = tf.global_variables_initializer()
    reads = []
    with tf.Session(graph=g) as sess:
        sess.run(init)
        for _ in range(steps):
            before = sess.run(w)
            if read_first:
                got, _ = sess.run([read, train])
                np.testing.assert_array_equal(got, before)  # the update did not write into it
                reads.append(got)
            else:
                sess.run(train)
        return {v.op.name: sess.run(v) for v in tf.global_variables()}


@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_blockwise_updates_equal_whole_array_updates(monkeypatch, name, threads):
    monkeypatch.setattr(blas_threads.BlasThreads, "_kernel_workers", lambda self: threads)
    monkeypatch.setattr(cpu_load.METER, "free_cores", lambda: threads)   # an idle machine
    monkeypatch.setattr(blas_threads, "SPLIT_MIN_ELEMENTS", 1)   # blocks split on 2 threads
    blockwise = _train(OPTIMIZERS[name])
    monkeypatch.setattr(kernels, "BLOCK", 10 ** 9)   # every update as whole arrays
    whole = _train(OPTIMIZERS[name])
    assert sorted(blockwise) == sorted(whole)
    for key in whole:
        np.testing.assert_array_equal(blockwise[key], whole[key], err_msg=key)


@pytest.mark.parametrize("name", ["momentum", "adam"])
def test_a_value_read_in_the_same_run_is_not_overwritten(name):
    shared = _train(OPTIMIZERS[name], read_first=True)
    alone = _train(OPTIMIZERS[name])
    for key in alone:
        np.testing.assert_array_equal(shared[key], alone[key], err_msg=key)


def test_only_unshared_arrays_are_written_in_place():
    store = {"a": np.ones(4, np.float32), "b": np.ones(4, np.float32),
             "c": np.ones(8, np.float32)[::2], "d": np.ones(4, np.float64)}
    olds = [store[k] for k in "abcd"]
    held = store["b"]   # someone else holds b
    assert kernels._unshared(olds, np.dtype(np.float32)) == [True, False, False, False]
    del held, olds
    frozen = np.ones(4, np.float32)
    frozen.flags.writeable = False
    assert kernels._unshared([frozen], np.dtype(np.float32)) == [False]


def test_fetched_variable_values_keep_their_contents():
    g = tf.Graph()
    with g.as_default():
        w = tf.Variable(np.ones((ROWS, 64), np.float32))
        train = tf.train.GradientDescentOptimizer(0.5).minimize(tf.reduce_sum(w * w))
        init = tf.global_variables_initializer()
    with tf.Session(graph=g) as sess:
        sess.run(init)
        first = sess.run(w)
        sess.run(train)
        np.testing.assert_array_equal(first, np.ones((ROWS, 64), np.float32))
        np.testing.assert_array_equal(sess.run(w), np.zeros((ROWS, 64), np.float32))
