"""One background job at a time, its error kept for the next caller.

A CheckpointManager with ``async_save=True`` writes each checkpoint on a thread while
training goes on. The next save (or ``wait_until_finished``) first waits for the previous
write, and a write that failed raises its error there: a failure is never lost, only
reported one call later.
"""
from __future__ import annotations

import threading
from typing import Callable


class BackgroundJob:
    """Runs one callable at a time on a daemon thread."""

    def __init__(self, name: str):
        self._name = name
        self._thread: threading.Thread | None = None
        self._error: BaseException | None = None

    def start(self, fn: Callable[[], None]) -> None:
        """Waits for the running job (raising its error), then runs ``fn`` in the background."""
        self.wait()

        def run() -> None:
            try:
                fn()
            except BaseException as exc:  # kept for the caller: nothing is swallowed
                self._error = exc

        self._thread = threading.Thread(target=run, name=self._name, daemon=True)
        self._thread.start()

    def wait(self) -> None:
        """Blocks until no job runs; raises the error of the last job if it failed."""
        if self._thread is not None:
            self._thread.join()
            self._thread = None
        error, self._error = self._error, None
        if error is not None:
            raise error

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()
