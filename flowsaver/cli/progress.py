"""A progress bar on stderr for long jobs, and nothing otherwise.

Shown only when stderr is a terminal and the job is still running after SHOW_AFTER
seconds: a quick conversion, or one whose stderr goes to a file or pipe, prints nothing.
Uses tqdm when it is installed, else one line redrawn in place.
"""
from __future__ import annotations

import sys
import time

SHOW_AFTER = 0.5          # seconds: shorter jobs never show a bar
REDRAW_EVERY = 0.1        # seconds between redraws of the plain line
BAR_WIDTH = 30


def _mib(n: int) -> str:
    return f"{n / (1 << 20):.1f} MiB"


class Progress:
    """Counts bytes done of a known total; call ``start(total)``, ``update(n, label)``
    after each piece of work, and ``close()`` at the end."""

    def __init__(self, enabled: bool = True, stream=None, desc: str = "converting"):
        self.stream = stream if stream is not None else sys.stderr
        self.enabled = enabled and getattr(self.stream, "isatty", lambda: False)()
        self.desc = desc
        self.total = self.done = 0
        self._began = time.monotonic()
        self._last_draw = 0.0
        self._bar = None
        self._drawn = False

    def start(self, total: int) -> None:
        self.total = max(int(total), 0)
        self._began = time.monotonic()

    def update(self, n: int, label: str = "") -> None:
        self.done += n
        if not self.enabled:
            return
        now = time.monotonic()
        if now - self._began < SHOW_AFTER:
            return
        if self._bar is None and not self._drawn:
            self._bar = self._make_tqdm()
        if self._bar is not None:
            self._bar.update(self.done - self._bar.n)
            self._bar.set_postfix_str(label[-40:], refresh=False)
            return
        if now - self._last_draw >= REDRAW_EVERY or self.done >= self.total:
            self._draw(label)
            self._last_draw = now

    def _make_tqdm(self):
        try:
            from tqdm import tqdm
        except ImportError:
            return None
        return tqdm(total=self.total, initial=0, unit="B", unit_scale=True,
                    unit_divisor=1024, desc=self.desc, file=self.stream, leave=False)

    def _draw(self, label: str) -> None:
        fraction = self.done / self.total if self.total else 1.0
        filled = int(BAR_WIDTH * min(fraction, 1.0))
        line = (f"\r{self.desc} [{'#' * filled}{'.' * (BAR_WIDTH - filled)}] "
                f"{fraction:4.0%} {_mib(self.done)} of {_mib(self.total)} {label[-40:]}")
        self.stream.write(line + "\x1b[K")   # erase what a longer line left behind
        self.stream.flush()
        self._drawn = True

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None
        elif self._drawn:
            self.stream.write("\r\x1b[K")
            self.stream.flush()
            self._drawn = False
