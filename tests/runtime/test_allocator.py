"""glibc's malloc thresholds raised at the first Session.run (runtime/allocator.py): a
training step stops faulting in fresh pages for its tensors on every run."""
from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest

from flowsaver.runtime import allocator

# A ResNet-style step: convolution, batch norm, residual add, SGD; it prints the minor
# page faults of one run, averaged over ten after three warm-up runs.
STEP = textwrap.dedent("""
    import resource
    import numpy as np
    import flowsaver as tf

    images = tf.placeholder(tf.float32, [None, 32, 32, 64])
    kernel = tf.get_variable("kernel", [3, 3, 64, 64])
    mixed = tf.nn.conv2d(images, kernel, [1, 1, 1, 1], "SAME")
    normed = tf.layers.batch_normalization(mixed, training=True)
    loss = tf.reduce_mean(tf.nn.relu(normed + images))
    train = tf.train.GradientDescentOptimizer(0.1).minimize(loss)
    batch = np.random.default_rng(0).standard_normal((16, 32, 32, 64)).astype(np.float32)
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        for _ in range(3):
            sess.run(train, {images: batch})
        start = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
        for _ in range(10):
            sess.run(train, {images: batch})
        print((resource.getrusage(resource.RUSAGE_SELF).ru_minflt - start) / 10)
""")


def _faults_per_step(setting: str | None) -> float:
    env = dict(os.environ)
    env.pop(allocator.ENV_SWITCH, None)
    if setting is not None:
        env[allocator.ENV_SWITCH] = setting
    done = subprocess.run([sys.executable, "-c", STEP], env=env, capture_output=True,
                          text=True, timeout=300, check=True)
    return float(done.stdout.split()[-1])


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's malloc")
def test_a_training_step_stops_faulting_in_its_tensors():
    system = _faults_per_step("system")
    tuned = _faults_per_step(None)
    assert system > 500, f"glibc's own thresholds already kept the pages ({system} faults)"
    assert tuned < system / 20, (tuned, system)


def test_thresholds_are_set_once_mmap_first_and_the_switch_leaves_malloc_alone(monkeypatch):
    calls = []

    def mallopt(option, value):
        calls.append((option, value))
        return 1

    monkeypatch.delenv(allocator.ENV_SWITCH, raising=False)
    assert allocator._apply(mallopt)
    assert calls == [(allocator.M_MMAP_THRESHOLD, allocator.MMAP_THRESHOLD),
                     (allocator.M_TRIM_THRESHOLD, allocator.TRIM_THRESHOLD)]
    calls.clear()
    monkeypatch.setenv(allocator.ENV_SWITCH, "system")
    assert not allocator._apply(mallopt) and calls == []
    assert not allocator._apply(None)                 # no mallopt in this C library
    assert not allocator._apply(lambda option, value: 0)   # refused
    monkeypatch.setattr(allocator, "_state", {"done": False, "tuned": False})
    monkeypatch.setattr(allocator, "_mallopt", lambda: mallopt)
    monkeypatch.delenv(allocator.ENV_SWITCH)
    assert allocator.tune() and allocator.tune()
    assert len(calls) == 2                            # once a process
