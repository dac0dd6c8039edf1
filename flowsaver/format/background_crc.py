"""CRC32C computed on a helper thread while the caller moves bytes to or from a file.

(``BackgroundCall`` runs any function there: a reader hands it the second part of a
large tensor to read and check while it reads and checks the first.)

The crc32c package releases the GIL for buffers of 32 KiB and more, and so do file reads
and writes; on two or more cores a tensor's CRC then costs its reader or writer only the
hand-over, a few microseconds a buffer, instead of ~0.1 s a GiB.

One daemon thread serves every job of the process from one queue, in order, so the
buffers of one job are always combined in the order they were given. A forked child
starts its own thread on first use.

The helper only pays when it has a core of its own: on a machine whose cores other
processes keep busy, the caller would wait for a thread that is not running (a write
measured at 0.63x the raw write's speed), so ``worth_it()`` asks the load meter, and
callers compute the CRC inline, piece by piece while each piece is in cache, when no core
is spare.
"""
from __future__ import annotations

import os
import queue
import threading

from flowsaver.format import cpu_load
from flowsaver.format.coding import crc32c

_queue: queue.SimpleQueue | None = None
_start_lock = threading.Lock()


class _Job:
    """What the helper thread works on: a value, the error that stopped it, and a lock
    held until the caller may read them (``_done``, released by the helper)."""

    __slots__ = ("value", "_error", "_done")

    def __init__(self, value) -> None:
        self.value = value
        self._error: BaseException | None = None
        self._done = threading.Lock()
        self._done.acquire()

    def _outcome(self):
        if self._error is not None:
            raise self._error
        return self.value


class BackgroundCrc32c(_Job):
    """The CRC32C of buffers given one by one, computed on the helper thread.

    Example:
      >>> crc = BackgroundCrc32c()
      >>> crc.update(piece)        # returns at once; ``piece`` must not change meanwhile
      >>> value = crc.result()     # waits for every buffer given so far
    """

    __slots__ = ()

    def __init__(self) -> None:
        super().__init__(0)

    def update(self, data) -> None:
        _helper_queue().put((self, data))

    def result(self) -> int:
        _helper_queue().put((self, None))
        self._done.acquire()
        return self._outcome()

    def _serve(self, data) -> None:
        if data is None:
            self._done.release()
        elif self._error is None:
            try:
                self.value = crc32c(data, self.value)
            except BaseException as exc:  # handed to the caller by result()
                self._error = exc


class BackgroundCall(_Job):
    """``fn(*args)`` run on the helper thread, after every job given before it.

    Example:
      >>> call = BackgroundCall(read_and_crc, fd, view, offset)   # starts at once
      >>> crc = call.result()     # waits; raises what ``fn`` raised
    """

    __slots__ = ()

    def __init__(self, fn, *args) -> None:
        super().__init__(None)
        _helper_queue().put((self, (fn, args)))

    def result(self):
        self._done.acquire()
        self._done.release()    # a second result() returns at once
        return self._outcome()

    def _serve(self, call) -> None:
        fn, args = call
        try:
            self.value = fn(*args)
        except BaseException as exc:  # handed to the caller by result()
            self._error = exc
        self._done.release()


def worth_it() -> bool:
    """Whether a core is free for the helper beside the calling thread."""
    return cpu_load.METER.free_cores() >= 2


def _serve(jobs: queue.SimpleQueue) -> None:
    while True:
        job, data = jobs.get()
        job._serve(data)
        del job, data   # holding the last buffer until the next job would hold a tensor


def _helper_queue() -> queue.SimpleQueue:
    global _queue
    if _queue is None:
        with _start_lock:
            if _queue is None:
                jobs = queue.SimpleQueue()
                threading.Thread(target=_serve, args=(jobs,), name="flowsaver-crc32c",
                                 daemon=True).start()
                _queue = jobs
    return _queue


def _forget_helper() -> None:
    # The child of a fork has the queue but not the thread that serves it.
    global _queue, _start_lock
    _queue, _start_lock = None, threading.Lock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_helper)
