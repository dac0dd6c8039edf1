"""BLAS thread control around Session.run: the count is set for the run and restored."""
from __future__ import annotations

import os

import numpy as np

import pytest
import threadpoolctl   # in the test extra; the package itself treats it as optional

import flowsaver
from flowsaver.format import cpu_load
from flowsaver.ops import blas_threads


def _blas():
    libs = [lib for lib in threadpoolctl.ThreadpoolController().lib_controllers
            if lib.user_api == "blas"]
    if not libs:
        (pytest.fail if os.environ.get("CI") == "true" else pytest.skip)("NumPy's BLAS is not visible to threadpoolctl")
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


def test_a_run_leaves_no_blas_thread_spinning(monkeypatch):
    """BLAS runs on one thread during a run, so no OpenBLAS worker is left spinning after
    it (a spinning worker burns ~0.1 s of CPU and takes a core from the kernel threads)."""
    lib = _blas()
    control = blas_threads.BlasThreads()
    monkeypatch.delenv(blas_threads.ENV_SWITCH, raising=False)
    monkeypatch.setattr(cpu_load.METER, "free_cores", lambda: 2)   # an idle machine
    monkeypatch.setattr(blas_threads, "enter", control.enter)
    monkeypatch.setattr(blas_threads, "leave", control.leave)
    seen = []
    monkeypatch.setattr(blas_threads, "SPLIT_MIN_FLOPS", 1 << 40)  # NumPy's own product
    monkeypatch.setattr(blas_threads, "BUSY_SPLIT_MIN_FLOPS", 1 << 40)
    real = np.matmul

    def spy(*args, **kwargs):
        seen.append(lib.get_num_threads())
        return real(*args, **kwargs)

    monkeypatch.setattr(np, "matmul", spy)
    g = flowsaver.Graph()
    with g.as_default():
        x = flowsaver.placeholder(flowsaver.float32, [256, 256])
        y = flowsaver.matmul(x, x)
    with flowsaver.Session(graph=g) as sess:
        sess.run(y, {x: np.ones((256, 256), np.float32)})
    assert seen == [1]


@pytest.mark.parametrize("m,k,n", [(300, 200, 90), (40, 300, 700), (513, 129, 257)])
@pytest.mark.parametrize("transposed", [False, True])
def test_split_matmul_equals_numpy(monkeypatch, m, k, n, transposed):
    """During a run a large product is cut into parts run on threads; every cut gives
    NumPy's product."""
    control = blas_threads.BlasThreads()
    control._libs, control.workers, control.spare = [], 3, 3
    monkeypatch.setattr(blas_threads, "_CONTROL", control)
    monkeypatch.setattr(blas_threads, "SPLIT_MIN_FLOPS", 1)
    rng = np.random.default_rng(0)
    a = rng.standard_normal((k, m) if transposed else (m, k)).astype(np.float32)
    b = rng.standard_normal((n, k) if transposed else (k, n)).astype(np.float32)
    a, b = (a.T, b.T) if transposed else (a, b)
    np.testing.assert_allclose(blas_threads.matmul(a, b), a @ b, rtol=1e-5, atol=1e-4)
    out = np.empty((m, n), np.float32)
    assert blas_threads.matmul(a, b, out=out) is out
    np.testing.assert_allclose(out, a @ b, rtol=1e-5, atol=1e-4)


@pytest.mark.parametrize("m,k,n,taken", [(32, 512, 160, True), (64, 128, 128, True),
                                         (1, 7, 300, True), (65, 128, 300, False),
                                         (32, 128, 127, False)])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_few_rows_times_a_transposed_matrix(m, k, n, taken, dtype):
    """``a @ w.T`` with few rows of ``a`` is computed with a Fortran-ordered output (faster
    in OpenBLAS); the result is NumPy's product, C-contiguous, of the same dtype."""
    rng = np.random.default_rng(1)
    a = rng.standard_normal((m, k)).astype(dtype)
    w = rng.standard_normal((n, k)).astype(dtype)
    assert blas_threads._wide_transposed(a, w.T) is taken
    got = blas_threads.matmul(a, w.T)
    assert got.flags.c_contiguous and got.dtype == dtype and got.shape == (m, n)
    np.testing.assert_allclose(got, a @ w.T, rtol=1e-5, atol=1e-4)
    assert not blas_threads._wide_transposed(a, np.ascontiguousarray(w.T))  # not a view


def test_products_are_split_only_over_cores_others_leave(monkeypatch):
    control = blas_threads.BlasThreads()
    monkeypatch.delenv(blas_threads.ENV_SWITCH, raising=False)
    monkeypatch.setattr(control, "_load_libs", lambda: [_blas()])
    monkeypatch.setattr(control, "_kernel_workers", lambda: 2)
    for free, spare in ((2, 2), (1, 1)):
        monkeypatch.setattr(cpu_load.METER, "free_cores", lambda free=free: free)
        assert control.enter()
        assert (control.workers, control.spare) == (2, spare)
        control.leave()
    assert (control.workers, control.spare) == (1, 1)


def test_split_thresholds_idle_and_busy(monkeypatch):
    control = blas_threads.BlasThreads()
    monkeypatch.setattr(blas_threads, "_CONTROL", control)
    control.workers = 2
    for spare, work, threads in ((2, 1 << 23, 2), (2, 1 << 22, 1), (1, 1 << 23, 1),
                                 (1, 1 << 27, 2)):
        control.spare = spare
        assert blas_threads._split_workers(work, 1 << 23, 1 << 27) == threads


def test_split_returns_every_part_in_order_and_raises_a_part_error():
    control = blas_threads.BlasThreads()
    control._libs, control.workers = [], 3
    parts = list(range(40))
    assert control.split(lambda p: p * p, parts) == [p * p for p in parts]

    def fail_on_7(p):
        if p == 7:
            raise ValueError("part 7")
        return p

    with pytest.raises(ValueError, match="part 7"):
        control.split(fail_on_7, parts)


def test_short_call_splits_shorten_the_switch_interval_while_they_run():
    import sys
    control = blas_threads.BlasThreads()
    control._libs, control.workers = [], 2
    before = sys.getswitchinterval()
    seen = control.split(lambda p: sys.getswitchinterval(), list(range(6)), short_calls=True)
    assert seen == [pytest.approx(blas_threads.SHORT_SWITCH_INTERVAL)] * 6
    assert sys.getswitchinterval() == before
    assert control.split(lambda p: sys.getswitchinterval(), [0, 1]) == [before, before]
    # an interval set by someone else while the split ran is left as they set it
    try:
        control.split(lambda p: sys.setswitchinterval(0.003), [0, 1], short_calls=True)
        assert sys.getswitchinterval() == 0.003
    finally:
        sys.setswitchinterval(before)
    # a part's error still puts the interval back
    with pytest.raises(ValueError):
        control.split(lambda p: (_ for _ in ()).throw(ValueError(p)), [0, 1], short_calls=True)
    assert sys.getswitchinterval() == before


def test_a_helper_that_never_started_keeps_no_part_alive():
    """A helper cancelled because the pool thread was still busy stays queued until that
    thread gets to it: the parts, their function and results must not live on in it (a
    CI run on a loaded machine saw the next kernel find its input still referenced, so it
    could not write over it)."""
    import sys
    import threading
    control = blas_threads.BlasThreads()
    control._libs, control.workers = [], 2
    gate = threading.Event()
    control._pool(1).submit(gate.wait)        # the only pool thread is taken
    try:
        out = np.zeros(64, np.float32)
        parts = [(0, 32), (32, 64)]
        def piece(part):
            return np.add(out[part[0]:part[1]], 1.0, out=out[part[0]:part[1]])

        views = control.split(piece, parts)
        np.testing.assert_array_equal(out, np.ones(64))
        del views, piece
        assert sys.getrefcount(out) == 2      # this frame's name and the call's argument
    finally:
        gate.set()
        control._executor.shutdown()


@pytest.mark.parametrize("transposed", [False, True])
def test_a_deep_product_is_cut_by_depth_the_same_way_idle_or_busy(monkeypatch, transposed):
    """A product whose inner dimension dwarfs its output (a first layer's filter gradient)
    is summed from DEPTH_PARTS partial products; the cut does not depend on the threads
    free, so idle and busy runs give the same bits."""
    m, k, n = 25, 50176, 32
    assert blas_threads._deep(m, k, n) and not blas_threads._deep(512, 4096, 512)
    rng = np.random.default_rng(1)
    a = rng.standard_normal((k, m) if transposed else (m, k)).astype(np.float32)
    b = rng.standard_normal((k, n)).astype(np.float32)
    a = a.T if transposed else a
    cuts = []
    real = np.matmul

    def spy(x, y, **kw):
        cuts.append(x.shape[1])
        return real(x, y, **kw)

    results = []
    for workers in (1, 3):
        control = blas_threads.BlasThreads()
        control._libs, control.workers, control.spare = [], workers, workers
        monkeypatch.setattr(blas_threads, "_CONTROL", control)
        monkeypatch.setattr(np, "matmul", spy)
        results.append(blas_threads.matmul(a, b))
        out = np.empty((m, n), np.float32)
        assert blas_threads.matmul(a, b, out=out) is out
        monkeypatch.setattr(np, "matmul", real)
        np.testing.assert_array_equal(out, results[-1])
    assert cuts == [k // blas_threads.DEPTH_PARTS] * (4 * blas_threads.DEPTH_PARTS)
    np.testing.assert_array_equal(results[0], results[1])
    want = a.astype(np.float64) @ b.astype(np.float64)
    np.testing.assert_allclose(results[0], want, rtol=1e-4, atol=1e-2)


def test_l2_cache_size_comes_from_sysfs_or_the_default(monkeypatch, tmp_path):
    for index, level, size in (("index0", "1", "48K"), ("index2", "2", "1024K"),
                               ("index3", "3", "32M")):
        (tmp_path / index).mkdir()
        (tmp_path / index / "level").write_text(level + "\n")
        (tmp_path / index / "size").write_text(size + "\n")
    (tmp_path / "uevent").write_text("")
    monkeypatch.setattr(blas_threads, "_CACHE_DIR", str(tmp_path))
    assert blas_threads.l2_cache_bytes() == 1 << 20
    (tmp_path / "index2" / "size").write_text("2M\n")
    assert blas_threads.l2_cache_bytes() == 2 << 20
    (tmp_path / "index2" / "size").write_text("garbage\n")
    assert blas_threads.l2_cache_bytes() == blas_threads.DEFAULT_L2_BYTES
    monkeypatch.setattr(blas_threads, "_CACHE_DIR", str(tmp_path / "missing"))
    assert blas_threads.l2_cache_bytes() == blas_threads.DEFAULT_L2_BYTES
