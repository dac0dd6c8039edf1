"""How busy the machine is with other processes' work, for choosing how many threads to use.

Linux only (``/proc/stat``); elsewhere the machine counts as free. Other processes' CPU use
is the machine's busy time minus this process's own (all its threads), averaged over the
time since the previous look; a look costs ~20 us and is repeated at most every
``RESAMPLE_SECONDS``. Used by the checkpoint writer and reader (a CRC helper thread only
where a core is spare) and by the runtime (BLAS threads).
"""
from __future__ import annotations

import os
import threading
import time

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
    """Non-idle CPU ticks of the whole machine so far, else None."""
    try:
        with open("/proc/stat", "rb") as f:
            ticks = [int(x) for x in f.readline().split()[1:9]]
    except (OSError, ValueError):
        return None
    return sum(ticks) - ticks[3] - ticks[4]    # idle and iowait are not busy


def _own_ticks() -> float:
    t = os.times()
    return (t.user + t.system) * _CLOCK_TICKS


class LoadMeter:
    """Other processes' CPU use, in cores, averaged since the previous sample."""

    def __init__(self):
        self.cpus = os.cpu_count() or 1
        self._last = None      # (monotonic seconds, machine busy ticks, own ticks)
        self._next = 0.0
        self._lock = threading.Lock()
        self.others = 0.0

    def others_busy(self) -> float:
        """Cores' worth of CPU other processes used lately (resampled when stale)."""
        now = time.monotonic()
        if now < self._next:
            return self.others
        with self._lock:
            self._next = now + RESAMPLE_SECONDS
            busy = _machine_busy_ticks()
            if busy is None:
                return 0.0
            own = _own_ticks()
            last = self._last
            if last is not None and now > last[0]:
                used = (busy - last[1]) - (own - last[2])
                self.others = min(float(self.cpus),
                                  max(0.0, used / ((now - last[0]) * _CLOCK_TICKS)))
            self._last = (now, busy, own)
        return self.others

    def free_cores(self) -> int:
        """``threads_for`` this process's usable cores and the current load."""
        return threads_for(usable_cpus(), self.others_busy())


METER = LoadMeter()
