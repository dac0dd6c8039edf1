"""BLAS thread control around Session.run: the count is set for the run and restored."""
from __future__ import annotations

import numpy as np
import pytest
import threadpoolctl   # in the test extra; the package itself treats it as optional

import flowsaver
from flowsaver.ops import blas_threads


def _blas():
    libs = [lib for lib in threadpoolctl.ThreadpoolController().lib_controllers
            if lib.user_api == "blas"]
    if not libs:
        pytest.skip("NumPy's BLAS is not visible to threadpoolctl")
    return libs[0]


def test_count_is_set_during_a_run_and_restored_after(monkeypatch):
    lib = _blas()
    control = blas_threads.BlasThreads()
    monkeypatch.setenv(blas_threads.ENV_SWITCH, "1")
    seen = []

    def enter():
        entered = control.enter()
        seen.append(lib.get_num_threads())
        return entered

    monkeypatch.setattr(blas_threads, "enter", enter)
    monkeypatch.setattr(blas_threads, "leave", control.leave)
    before = lib.get_num_threads()
    g = flowsaver.Graph()
    with g.as_default():
        x = flowsaver.placeholder(flowsaver.float32, [2, 2])
        y = flowsaver.matmul(x, x)
    with flowsaver.Session(graph=g) as sess:
        np.testing.assert_array_equal(sess.run(y, {x: np.eye(2, dtype=np.float32)}),
                                      np.eye(2))
    assert seen == [1]
    assert lib.get_num_threads() == before


def test_nested_runs_restore_the_count_of_the_first(monkeypatch):
    lib = _blas()
    control = blas_threads.BlasThreads()
    monkeypatch.setenv(blas_threads.ENV_SWITCH, "1")
    before = lib.get_num_threads()
    assert control.enter() and control.enter()
    assert lib.get_num_threads() == 1
    control.leave()
    assert lib.get_num_threads() == 1     # the other run is still going
    control.leave()
    assert lib.get_num_threads() == before


def test_zero_leaves_blas_alone(monkeypatch):
    monkeypatch.setenv(blas_threads.ENV_SWITCH, "0")
    assert blas_threads.BlasThreads().enter() is False
