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

import dataclasses
import os
import threading
import time

ENV_SWITCH = "FLOWSAVER_BLAS_THREADS"
# How often the machine's load is looked at again: reading /proc/stat costs ~20 us, a
# step of a small graph less than that, and load changes on the scale of a second.
RESAMPLE_SECONDS = 0.2
_CLOCK_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def usable_cpus() -> int:
    """Cores this process may run on (its affinity mask, not the machine's count)."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def threads_for(usable: int, others_busy: float) -> int:
    """The thread count for ``usable`` cores when other processes keep ``others_busy``
    cores' worth busy: what is left, rounded, at least 1.

    >>> threads_for(2, 0.1), threads_for(2, 0.9), threads_for(8, 2.2)
    (2, 1, 6)
    """
    return max(1, min(usable, int(usable - others_busy + 0.5)))


def _machine_busy_ticks() -> int | None:
    """Non-idle CPU ticks of the whole machine so far (Linux ``/proc/stat``), else None."""
    try:
        with open("/proc/stat", "rb") as f:
            ticks = [int(x) for x in f.readline().split()[1:9]]
    except (OSError, ValueError):
        return None
    return sum(ticks) - ticks[3] - ticks[4]    # idle and iowait are not busy


def _own_ticks() -> float:
    t = os.times()
    return (t.user + t.system) * _CLOCK_TICKS


@dataclasses.dataclass
class LoadMeter:
    """Other processes' CPU use, in cores, averaged since the previous sample."""

    cpus: int = dataclasses.field(default_factory=lambda: os.cpu_count() or 1)
    last: tuple | None = None   # (monotonic seconds, machine busy ticks, own ticks)
    others: float = 0.0

    def sample(self, now: float) -> float:
        busy = _machine_busy_ticks()
        if busy is None:
            return 0.0
        own = _own_ticks()
        if self.last is not None and now > self.last[0]:
            span_ticks = (now - self.last[0]) * _CLOCK_TICKS
            used = (busy - self.last[1]) - (own - self.last[2])
            self.others = min(float(self.cpus), max(0.0, used / span_ticks))
        self.last = (now, busy, own)
        return self.others


class BlasThreads:
    """Sets BLAS's thread count while runs are active and puts the old one back after.

    Runs may overlap (queue runners run in threads): the count found before the first of
    them is restored when the last one ends."""

    def __init__(self):
        self._libs = None         # threadpoolctl LibControllers of BLAS, [] when unavailable
        self._fixed = None
        self._meter = LoadMeter()
        self._next_sample = 0.0
        self._choice = None
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
        if self._fixed is not None:
            return self._fixed
        now = time.monotonic()
        if now >= self._next_sample or self._choice is None:
            self._next_sample = now + RESAMPLE_SECONDS
            self._choice = threads_for(usable_cpus(), self._meter.sample(now))
        return self._choice

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
