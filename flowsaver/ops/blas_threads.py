"""How many threads NumPy's BLAS may use during a ``Session.run``: the cores others leave.

NumPy's OpenBLAS starts one thread per core and its threads spin while they wait for each
other; when other processes hold the cores, a product waits for a thread that is not
running, and a step takes many times longer (a CNN step measured 26x TensorFlow's beside a
fuzzing campaign). TensorFlow's pool degrades gently. So before a run flowsaver measures
how much of the machine other processes used since it last looked (``/proc/stat`` ticks
minus this process's own) and gives BLAS the cores that are left, at least one; the
previous count is restored after the run, so NumPy code outside flowsaver is unaffected.
OpenBLAS already runs small products on one thread, so the work's size needs no rule here.

Kernels whose work splits into independent parts (the convolutions' blocks) may run them
on every usable core with ``split``: BLAS is then set to one thread per part, and the
gathering copies, which BLAS does not parallelize, overlap too. The threads take parts
from a shared list and wait for each other only once, at the end, without spinning, so
they use every usable core even on a busy machine.

The control goes through ``threadpoolctl`` when it is installed (an optional extra,
``flowsaver[speed]``); without it BLAS keeps its own setting. ``FLOWSAVER_BLAS_THREADS``
set to a number fixes the count (``0`` leaves BLAS alone).
"""
from __future__ import annotations

import os
import threading

import numpy as np

from flowsaver.format import cpu_load

ENV_SWITCH = "FLOWSAVER_BLAS_THREADS"


class BlasThreads:
    """Sets BLAS's thread count while runs are active and puts the old one back after.

    Runs may overlap (queue runners run in threads): the count found before the first of
    them is restored when the last one ends."""

    def __init__(self):
        self._libs = None         # threadpoolctl LibControllers of BLAS, [] when unavailable
        self._fixed = None
        self._lock = threading.Lock()
        self._active = 0
        self._saved = []          # (lib, count) to restore when no run is active
        self.workers = 1          # threads a kernel may split its work over in this run

    def _load_libs(self) -> list:
        setting = os.environ.get(ENV_SWITCH, "").strip()
        if setting:
            self._fixed = int(setting)
            if self._fixed <= 0:
                return []
        try:
            import threadpoolctl
        except ImportError:
            return []
        controller = threadpoolctl.ThreadpoolController()
        return [lib for lib in controller.lib_controllers if lib.user_api == "blas"]

    def _want(self) -> int:
        return self._fixed if self._fixed is not None else cpu_load.METER.free_cores()

    def enter(self) -> bool:
        """Choose and set the count for a run starting now; True when ``leave`` must follow."""
        if self._libs is None:
            with self._lock:
                if self._libs is None:
                    self._libs = self._load_libs()
        if not self._libs:
            return False
        with self._lock:
            want = self._want()
            # Kernel parts wait for each other only at the end, never spinning, so they
            # may use every usable core even under load: each part gets its share of CPU
            # time, as the threads of TensorFlow's pool do.
            self.workers = self._kernel_workers(want)
            for lib in self._libs:
                have = lib.get_num_threads()
                if self._active == 0:
                    self._saved.append((lib, have))
                if have != want:
                    lib.set_num_threads(want)
            self._active += 1
        return True

    def leave(self) -> None:
        """The run that ``enter`` started has ended."""
        with self._lock:
            self._active -= 1
            if self._active == 0:
                for lib, have in self._saved:
                    if lib.get_num_threads() != have:
                        lib.set_num_threads(have)
                self._saved = []
                self.workers = 1

    def _kernel_workers(self, want: int) -> int:
        return cpu_load.usable_cpus() if self._fixed is None else want

    def blas_count(self) -> int:
        """The thread count BLAS was given for the current run."""
        return self._fixed if self._fixed is not None else cpu_load.METER.free_cores()

    def split(self, fn, parts: list) -> list:
        """``[fn(part) for part in parts]``, the parts taken one by one by this thread and
        up to ``workers - 1`` pool threads, BLAS on one thread each so that the cores are
        never oversubscribed. NumPy's copies and BLAS release the GIL, so parts overlap.

        On a busy machine a pool thread may not run for a while: this thread keeps taking
        parts meanwhile, and a helper that has not started when the parts are gone is
        cancelled rather than waited for."""
        helpers = min(self.workers, len(parts)) - 1
        if helpers < 1:
            return [fn(part) for part in parts]
        results = [None] * len(parts)
        todo = iter(range(len(parts)))   # shared; next() on it holds the GIL

        def work():
            for i in todo:
                results[i] = fn(parts[i])

        pool = self._pool(helpers)
        with self._lock:
            for lib in self._libs:
                lib.set_num_threads(1)
        try:
            futures = [pool.submit(work) for _ in range(helpers)]
            work()
            for future in futures:
                if not future.cancel():
                    future.result()
        finally:
            with self._lock:
                for lib in self._libs:
                    lib.set_num_threads(self._want())
        return results

    def _pool(self, size: int):
        pool = getattr(self, "_executor", None)
        if pool is None or pool._max_workers < size:
            from concurrent.futures import ThreadPoolExecutor
            pool = self._executor = ThreadPoolExecutor(size, "flowsaver-kernel")
        return pool


_CONTROL = BlasThreads()
enter, leave = _CONTROL.enter, _CONTROL.leave


# Products smaller than this many multiply-adds (~10 ms on one core) are not worth handing
# to other threads on a busy machine, where a thread may wait a time slice to be scheduled.
SPLIT_MIN_FLOPS = 1 << 29


def matmul(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``a @ b`` of 2-D arrays; when other processes hold cores (BLAS was given fewer
    threads than there are usable cores), a large product is cut along its larger output
    dimension into pieces run by ``split``: no thread waits by spinning."""
    workers = _CONTROL.workers
    if workers < 2 or a.ndim != 2 or b.ndim != 2 or a.dtype != b.dtype \
            or a.dtype.kind != "f" or a.shape[0] * a.shape[1] * b.shape[1] < SPLIT_MIN_FLOPS \
            or _CONTROL.blas_count() >= workers:
        return np.matmul(a, b)
    m, n = a.shape[0], b.shape[1]
    out = np.empty((m, n), a.dtype)
    pieces = 2 * workers   # taken one by one: a thread that runs late takes fewer
    if m >= n:
        cuts = [(m * i // pieces, m * (i + 1) // pieces) for i in range(pieces)]
        split(lambda c: np.matmul(a[c[0]:c[1]], b, out=out[c[0]:c[1]]), cuts)
    else:
        cuts = [(n * i // pieces, n * (i + 1) // pieces) for i in range(pieces)]
        split(lambda c: np.matmul(a, b[:, c[0]:c[1]], out=out[:, c[0]:c[1]]), cuts)
    return out


def split(fn, parts: list) -> list:
    """``[fn(part) for part in parts]`` on ``len(parts)`` threads; see ``BlasThreads.split``."""
    return _CONTROL.split(fn, parts)
