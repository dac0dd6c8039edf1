"""How flowsaver uses the cores during a ``Session.run``: BLAS on one thread, products and
convolutions split over a small pool of Python threads sized to the usable cores.

NumPy's OpenBLAS starts one thread per core, and after every multithreaded product its
threads spin, waiting for the next one, for about 0.1 s of CPU each (measured: a 2-thread
product followed by a 0.3 s sleep costs 100 ms of CPU; lowering the thread count does not
stop the spinning). On a busy machine a product waits for a thread that is not running
(a CNN step measured 26x TensorFlow's beside a fuzzing campaign); on an idle 2-core
machine the spinning thread takes a core from the kernel threads below. So during a run
BLAS is set to one thread (the previous count is restored after the run, so NumPy code
outside flowsaver is unaffected), and work that pays for it is split over threads here:
``split`` hands parts to this thread and a pool whose threads wait for work without
spinning; the convolutions' blocks and large products (``matmul``) go through it. On a
busy machine a pool thread that is not running takes fewer parts, and one that has not
started when the parts are gone is cancelled rather than waited for.

The control goes through ``threadpoolctl`` when it is installed (an optional extra,
``flowsaver[speed]``); without it BLAS keeps its own setting and nothing is split.
``FLOWSAVER_BLAS_THREADS`` set to a number fixes how many threads split work (``0``
leaves BLAS alone and splits nothing).
"""
from __future__ import annotations

import contextlib
import os
import sys
import threading

import numpy as np

from flowsaver.format import cpu_load

ENV_SWITCH = "FLOWSAVER_BLAS_THREADS"
# The interpreter's switch interval while threads share work made of short NumPy calls
# (``split(short_calls=True)``). 10 million float32 normals on two threads, idle 2-core
# machine: 146 ms with the default 5 ms, 138 ms with 2 ms, 134 ms with 0.5 ms, 132 ms with
# 0.1-0.2 ms.
SHORT_SWITCH_INTERVAL = 0.0005


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
        self.spare = 1            # of those, how many other processes leave a core for
        self._short_splits = 0    # splits of short calls running (see split)
        self._saved_interval = 0.0
        self._set_interval = None  # the interval those splits set, as read back

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

    def enter(self) -> bool:
        """Set BLAS to one thread for a run starting now; True when ``leave`` must follow."""
        if self._libs is None:
            with self._lock:
                if self._libs is None:
                    self._libs = self._load_libs()
        if not self._libs:
            return False
        with self._lock:
            # Kernel parts wait for each other only at the end, never spinning, so they
            # may use every usable core even under load: each part gets its share of CPU
            # time, as the threads of TensorFlow's pool do.
            self.workers = self._kernel_workers()
            # Optional splits (products, elementwise kernels) only over the cores other
            # processes leave: under load they cost more CPU than they save time.
            self.spare = min(self.workers, self._fixed if self._fixed is not None
                             else cpu_load.METER.free_cores())
            for lib in self._libs:
                have = lib.get_num_threads()
                if self._active == 0:
                    self._saved.append((lib, have))
                if have != 1:
                    lib.set_num_threads(1)
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
                self.workers = self.spare = 1

    def _kernel_workers(self) -> int:
        return cpu_load.usable_cpus() if self._fixed is None else self._fixed

    def split(self, fn, parts: list, short_calls: bool = False) -> list:
        """``[fn(part) for part in parts]``, the parts taken one by one by this thread and
        up to ``workers - 1`` pool threads. NumPy's copies and BLAS (on one thread, see
        ``enter``) release the GIL, so parts overlap.

        On a busy machine a pool thread may not run for a while: this thread keeps taking
        parts meanwhile, and a helper that has not started when the parts are gone is
        cancelled rather than waited for.

        ``short_calls``: each part makes many NumPy calls of tens of microseconds. A thread
        whose call ends while another holds the GIL waits on it, and the other, back from
        its own short call before the waiter has woken, takes the GIL again: the waiter
        may starve for the interpreter's whole switch interval (5 ms by default) before it
        forces a hand-over. For such parts the interval is shortened while they run
        (``_short_switch_interval``)."""
        helpers = min(self.workers, len(parts)) - 1
        if helpers < 1:
            return [fn(part) for part in parts]
        if short_calls:
            with self._short_switch_interval():
                return self._run_parts(fn, parts, helpers)
        return self._run_parts(fn, parts, helpers)

    @contextlib.contextmanager
    def _short_switch_interval(self):
        """``sys.setswitchinterval(SHORT_SWITCH_INTERVAL)`` while any such split runs; the
        previous interval comes back when the last one ends, unless someone else set
        another meanwhile."""
        with self._lock:
            if self._short_splits == 0:
                self._saved_interval = sys.getswitchinterval()
                self._set_interval = None
                if self._saved_interval > SHORT_SWITCH_INTERVAL:
                    sys.setswitchinterval(SHORT_SWITCH_INTERVAL)
                    self._set_interval = sys.getswitchinterval()  # as the interpreter keeps it
            self._short_splits += 1
        try:
            yield
        finally:
            with self._lock:
                self._short_splits -= 1
                if (self._short_splits == 0 and self._set_interval is not None
                        and sys.getswitchinterval() == self._set_interval):
                    sys.setswitchinterval(self._saved_interval)

    def _run_parts(self, fn, parts: list, helpers: int) -> list:
        results = [None] * len(parts)
        # What the helpers' jobs reach, emptied once the parts are done: a cancelled job
        # stays in the pool's queue until a pool thread gets to it, and must not keep the
        # kernel's arrays alive until then (their extra references would also stop the
        # next kernel from writing over them, see ops/donation.py).
        job = [fn, parts, results, iter(range(len(parts)))]  # next() on the iterator holds the GIL

        def work():
            if job:
                fn, parts, results, todo = job
                for i in todo:
                    results[i] = fn(parts[i])

        pool = self._pool(helpers)
        futures = [pool.submit(work) for _ in range(helpers)]
        try:
            work()
            for future in futures:
                if not future.cancel():
                    future.result()
        finally:
            job.clear()
        return results

    def _pool(self, size: int):
        pool = getattr(self, "_executor", None)
        if pool is None or pool._max_workers < size:
            from concurrent.futures import ThreadPoolExecutor
            pool = self._executor = ThreadPoolExecutor(size, "flowsaver-kernel")
        return pool


_CONTROL = BlasThreads()
enter, leave = _CONTROL.enter, _CONTROL.leave


# Products of fewer multiply-adds than this (about 0.25 ms on one core) run on this
# thread: handing pieces to the pool costs tens of microseconds. Measured on the idle
# 2-core machine (OpenBLAS 0.3.31, one thread per piece): products of 2**23 took 0.13 ms
# on one thread and 0.15-0.18 ms split; 2**24 0.25 and 0.22 ms; 2**25 0.50 and 0.36 ms
# (the transformer layer's twelve 512x128x128 products per step). When other processes
# hold the cores only products of BUSY_SPLIT_MIN_FLOPS (about 2.5 ms) and more are split:
# a pool thread may then wait a time slice to run, which only long pieces amortize, and
# they gain the CPU share of a second runnable thread (the scheduler shares the cores out
# by thread, as TensorFlow's pool benefits from).
SPLIT_MIN_FLOPS = 1 << 24
BUSY_SPLIT_MIN_FLOPS = 1 << 27


def _split_workers(work: int, idle_min: int, busy_min: int) -> int:
    """Threads to split ``work`` over: the spare cores for work of ``idle_min`` and more,
    every usable core for work of ``busy_min`` and more, else 1."""
    if work >= busy_min:
        return _CONTROL.workers
    return _CONTROL.spare if work >= idle_min else 1


def matmul(a: np.ndarray, b: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """``a @ b`` of 2-D arrays (into ``out`` if given); during a run a large product is
    cut along its larger output dimension into pieces run by ``split`` (see
    ``_split_workers``). A deep product (``_deep``) is always cut along its inner
    dimension, its pieces run by ``split`` when the product is large enough."""
    if a.ndim != 2 or b.ndim != 2 or a.dtype != b.dtype or a.dtype.kind != "f":
        return np.matmul(a, b, out=out)
    m, k, n = a.shape[0], a.shape[1], b.shape[1]
    workers = _split_workers(m * k * n, SPLIT_MIN_FLOPS, BUSY_SPLIT_MIN_FLOPS)
    if _deep(m, k, n):
        return _depth_split(a, b, out, workers)
    if workers < 2:
        if out is None and _wide_transposed(a, b):
            # (b.T @ a.T).T: OpenBLAS runs this shape 1.3x-2.2x faster (see below)
            product = np.empty((b.shape[1], a.shape[0]), a.dtype)
            np.matmul(a, b, out=product.T)
            return np.ascontiguousarray(product.T)
        return np.matmul(a, b, out=out)
    if out is None:
        out = np.empty((m, n), a.dtype)
    pieces = 2 * workers   # taken one by one: a thread that runs late takes fewer
    if m >= n:
        cuts = [(m * i // pieces, m * (i + 1) // pieces) for i in range(pieces)]
        split(lambda c: np.matmul(a[c[0]:c[1]], b, out=out[c[0]:c[1]]), cuts)
    else:
        cuts = [(n * i // pieces, n * (i + 1) // pieces) for i in range(pieces)]
        split(lambda c: np.matmul(a, b[:, c[0]:c[1]], out=out[:, c[0]:c[1]]), cuts)
    return out


# A product whose inner dimension dwarfs its output (a filter gradient over a first layer's
# few channels, ``x.T @ grad`` of a large batch) is cut along that dimension into DEPTH_PARTS
# partial products, summed in order. Cutting the output instead hands BLAS slivers of a few
# columns: the first 5x5 layer's filter gradient of the MNIST CNN, (25 x 50176) @ (50176 x
# 32), took 2.65 ms cut by columns over 2 threads, 1.11 ms uncut on one, 0.68 ms cut by depth
# over 2. The cut depends on the shapes alone, never on the threads free, so a product's
# rounding is the same on an idle and on a busy machine.
DEPTH_PARTS = 4
DEPTH_RATIO = 16


def _deep(m: int, k: int, n: int) -> bool:
    return m * k * n >= SPLIT_MIN_FLOPS and k >= DEPTH_RATIO * max(m, n)


def _depth_split(a: np.ndarray, b: np.ndarray, out, workers: int) -> np.ndarray:
    k = a.shape[1]
    cuts = [(k * i // DEPTH_PARTS, k * (i + 1) // DEPTH_PARTS) for i in range(DEPTH_PARTS)]

    def piece(cut):
        return np.matmul(a[:, cut[0]:cut[1]], b[cut[0]:cut[1]])

    total = sum_in_order(split(piece, cuts) if workers >= 2 else [piece(cut) for cut in cuts])
    if out is None:
        return total
    np.copyto(out, total)
    return out


def sum_in_order(partials: list) -> np.ndarray:
    """The sum of fresh partial results, added first to last into the first: the same
    rounding however many threads made them."""
    total = partials[0]
    for part in partials[1:]:
        total += part
    return total


# A product of few rows by a transposed matrix (``a @ w.T``: the input gradient of a dense
# layer or recurrent cell, ``transpose_b``) runs faster with a Fortran-ordered output,
# i.e. as ``w @ a.T`` transposed (then copied to C order: a few microseconds). Measured
# with OpenBLAS 0.3.31 (SkylakeX kernel) on one thread, inner sizes 128 and 512: rows
# <= 64 with 128-1024 columns gained 1.1x-2.2x (the LSTM's 32 x 512 @ 512 x 160: 116 ->
# 80 us); 64 columns or fewer about even; 128 rows 0.9x-1.2x and 512 rows 0.8x-1.1x.
WIDE_T_MAX_ROWS = 64
WIDE_T_MIN_COLUMNS = 128


def _wide_transposed(a: np.ndarray, b: np.ndarray) -> bool:
    return (a.shape[0] <= WIDE_T_MAX_ROWS and b.shape[1] >= WIDE_T_MIN_COLUMNS
            and a.flags.c_contiguous and b.flags.f_contiguous and not b.flags.c_contiguous)


def split(fn, parts: list, short_calls: bool = False) -> list:
    """``[fn(part) for part in parts]`` on ``len(parts)`` threads; see ``BlasThreads.split``."""
    return _CONTROL.split(fn, parts, short_calls)


# Elementwise work of fewer elements than this (~0.1 ms) stays on this thread; when other
# processes hold the cores, work of fewer than BUSY_SPLIT_MIN_ELEMENTS (~2 ms) does.
SPLIT_MIN_ELEMENTS = 1 << 18
BUSY_SPLIT_MIN_ELEMENTS = 1 << 21


def elementwise_workers(elements: int) -> int:
    """Threads an elementwise kernel of ``elements`` values may split over in this run
    (1 outside a run; see ``_split_workers``)."""
    return _split_workers(elements, SPLIT_MIN_ELEMENTS, BUSY_SPLIT_MIN_ELEMENTS)


def over_rows(fn, rows: int, elements: int, short_calls: bool = False) -> None:
    """``fn(lo, hi)`` over ``range(rows)``: in contiguous pieces on ``split``'s threads
    during a run when the work (``elements`` values) is large enough (see
    ``_split_workers``), else at once.
    For elementwise kernels writing each piece of a preallocated output: NumPy's loops
    release the GIL, and one core alone cannot saturate memory bandwidth."""
    workers = elementwise_workers(elements)
    if workers < 2 or rows < 2:
        fn(0, rows)
        return
    pieces = min(rows, 2 * workers)
    split(lambda c: fn(*c), [(rows * i // pieces, rows * (i + 1) // pieces)
                             for i in range(pieces)], short_calls)


DEFAULT_L2_BYTES = 512 << 10
_CACHE_DIR = "/sys/devices/system/cpu/cpu0/cache"


def l2_cache_bytes() -> int:
    """A core's L2 cache in bytes (Linux's sysfs), else DEFAULT_L2_BYTES."""
    try:
        for index in sorted(os.listdir(_CACHE_DIR)):
            if not index.startswith("index"):
                continue
            with open(os.path.join(_CACHE_DIR, index, "level")) as f:
                if f.read().strip() != "2":
                    continue
            with open(os.path.join(_CACHE_DIR, index, "size")) as f:
                text = f.read().strip().upper()
            scale = {"K": 1 << 10, "M": 1 << 20}.get(text[-1:], 1)
            size = int(text.rstrip("KM")) * scale
            return size if size > 0 else DEFAULT_L2_BYTES
    except (OSError, ValueError):
        pass
    return DEFAULT_L2_BYTES
