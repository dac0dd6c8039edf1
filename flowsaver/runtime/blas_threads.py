"""How many threads NumPy's BLAS may use during a ``Session.run``: the cores others leave.

NumPy's OpenBLAS starts one thread per core and its threads spin while they wait for each
other; when other processes hold the cores, a product waits for a thread that is not
running, and a step takes many times longer (a CNN step measured 26x TensorFlow's beside a
fuzzing campaign). TensorFlow's pool degrades gently. So before a run flowsaver measures
how much of the machine other processes used since it last looked (``/proc/stat`` ticks
minus this process's own) and gives BLAS the cores that are left, at least one; the
previous count is restored after the run, so NumPy code outside flowsaver is unaffected.
OpenBLAS already runs small products on one thread, so the work's size needs no rule here.

The control goes through ``threadpoolctl`` when it is installed (an optional extra,
``flowsaver[speed]``); without it BLAS keeps its own setting. ``FLOWSAVER_BLAS_THREADS``
set to a number fixes the count (``0`` leaves BLAS alone).
"""
from __future__ import annotations

import os
import threading

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


_CONTROL = BlasThreads()
enter, leave = _CONTROL.enter, _CONTROL.leave
