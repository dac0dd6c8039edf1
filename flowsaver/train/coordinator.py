"""``tf.train.Coordinator``: threads that stop together, and report the first error.

Any thread may ``request_stop`` (with the exception that made it stop); every thread
polls ``should_stop``; ``join`` waits for the threads and raises that exception, unless it
is one of the clean-stop kinds (``OutOfRangeError``: the input is exhausted).
"""
from __future__ import annotations

import contextlib
import sys
import threading
import time

from flowsaver import errors


class Coordinator:
    """Coordinates the termination of a set of threads."""

    def __init__(self, clean_stop_exception_types=None):
        self._clean = tuple(clean_stop_exception_types
                            if clean_stop_exception_types is not None
                            else (errors.OutOfRangeError,))
        self._lock = threading.Lock()
        self._stop_event = threading.Event()
        self._exc_info = None
        self._registered: set = set()
        self._joined = False

    def request_stop(self, ex=None) -> None:
        """Ask every thread to stop; ``ex`` (an exception or exc_info) is raised by join."""
        with self._lock:
            if ex is not None and self._exc_info is None and not self._joined:
                info = ex if isinstance(ex, tuple) else (type(ex), ex, ex.__traceback__)
                if not issubclass(info[0], self._clean):
                    self._exc_info = info
            self._stop_event.set()

    def clear_stop(self) -> None:
        with self._lock:
            self._joined = False
            self._exc_info = None
            self._stop_event.clear()

    def should_stop(self) -> bool:
        return self._stop_event.is_set()

    @contextlib.contextmanager
    def stop_on_exception(self):
        """A block whose exception (other than a clean stop) requests a stop instead."""
        try:
            yield
        except BaseException:  # noqa: BLE001 - handed to request_stop, raised by join
            self.request_stop(ex=sys.exc_info())

    def wait_for_stop(self, timeout=None) -> bool:
        return self._stop_event.wait(timeout)

    def register_thread(self, thread) -> None:
        with self._lock:
            self._registered.add(thread)

    def join(self, threads=None, stop_grace_period_secs=120, ignore_live_threads=False):
        """Wait for ``threads`` (and registered ones) after a stop was requested; raise the
        exception given to request_stop, or RuntimeError naming threads still alive."""
        threads = set(threads or ()) | self._registered
        while any(t.is_alive() for t in threads) and not self.wait_for_stop(0.05):
            pass
        deadline = time.monotonic() + stop_grace_period_secs
        for thread in threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        alive = [t.name for t in threads if t.is_alive()]
        with self._lock:
            self._joined = True
            self._registered = set()
            info = self._exc_info
        if info is not None:
            raise info[1].with_traceback(info[2])
        if alive and not ignore_live_threads:
            raise RuntimeError(f"Coordinator stopped with threads still running: "
                               f"{' '.join(alive)}")

    @property
    def joined(self) -> bool:
        return self._joined

    def raise_requested_exception(self) -> None:
        with self._lock:
            if self._exc_info is not None:
                raise self._exc_info[1].with_traceback(self._exc_info[2])
