"""Writing events from a background thread, so that logging never waits for the disk.

``AsyncEventWriter`` puts serialized events on a bounded queue (``max_queue``: a full
queue makes ``add_event`` wait, as TensorFlow's does) and one daemon thread writes them
with an ``EventFileWriter``, flushing the file at least every ``flush_secs``. ``flush``
waits until everything queued so far is on disk; ``close`` flushes and stops the thread.
An error in the thread is raised again by the next add_event, flush or close.
"""
from __future__ import annotations

import queue
import threading
import time

from flowsaver.format.events import EventFileWriter

_STOP = object()


class AsyncEventWriter:
    """An event file in ``logdir`` written by a background thread."""

    def __init__(self, logdir, max_queue: int = 10, flush_secs: float = 120,
                 filename_suffix: str = ""):
        self._file = EventFileWriter(logdir, filename_suffix=filename_suffix or "")
        self.path = self._file.path
        self._queue: queue.Queue = queue.Queue(max(1, int(max_queue)))
        self._flush_secs = float(flush_secs)
        self._error: BaseException | None = None
        self._closed = False
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._run, name="EventLoggerThread",
                                        daemon=True)
        self._thread.start()

    def _run(self) -> None:
        next_flush = time.monotonic() + self._flush_secs
        while True:
            try:
                item = self._queue.get(timeout=max(0.0, next_flush - time.monotonic()))
            except queue.Empty:
                item = None
            try:
                if item is _STOP:
                    return
                if isinstance(item, threading.Event):   # a flush request
                    self._file.flush()
                    item.set()
                elif item is not None:
                    self._file.add_event(item)
                if time.monotonic() >= next_flush:
                    self._file.flush()
                    next_flush = time.monotonic() + self._flush_secs
            except BaseException as exc:  # kept for the caller's next call, then raised
                self._error = exc
                if isinstance(item, threading.Event):
                    item.set()
            finally:
                if item is not None:
                    self._queue.task_done()

    def _check(self) -> None:
        if self._error is not None:
            error, self._error = self._error, None
            raise error

    def add_event(self, event) -> None:
        """Queue one Event message (ignored once the writer is closed, as in TensorFlow)."""
        if self._closed:
            return
        self._check()
        self._queue.put(event)

    def flush(self) -> None:
        """Return once every event queued before the call is written and flushed."""
        if self._closed:
            return
        done = threading.Event()
        self._queue.put(done)
        done.wait()
        self._check()

    def close(self) -> None:
        with self._lock:
            if self._closed:
                return
            self.flush()
            self._closed = True
            self._queue.put(_STOP)
            self._thread.join()
            self._file.close()
        self._check()
