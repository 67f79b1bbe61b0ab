"""A progress report over chunks of trajectories: one bar on a terminal, plain lines otherwise.

``ProgressBar(total)(done, total)`` is called after each chunk. On a terminal it
redraws one line (done/total, rate, time left); when stderr is not a terminal
(a log file, a batch job) it prints a plain line at most every
``interval`` seconds and at the end, so logs stay readable.
"""

from __future__ import annotations

import sys
import time
from typing import TextIO

__all__ = ["ProgressBar"]


def _duration(seconds: float) -> str:
    seconds = int(round(seconds))
    h, rem = divmod(seconds, 3600)
    m, s = divmod(rem, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m:02d}:{s:02d}"


class ProgressBar:
    """Callable progress reporter: ``bar(done, total)``."""

    def __init__(
        self,
        total: int,
        *,
        unit: str = "trajectories",
        stream: TextIO | None = None,
        interval: float = 30.0,
        width: int = 30,
    ):
        self.total = total
        self.unit = unit
        self.stream = stream if stream is not None else sys.stderr
        self.interval = interval
        self.width = width
        self.tty = bool(getattr(self.stream, "isatty", lambda: False)())
        self.start = time.monotonic()
        self.first_done: int | None = None
        self.last_print = -float("inf")

    def line(self, done: int, total: int) -> str:
        elapsed = time.monotonic() - self.start
        fresh = done - (self.first_done or 0)
        rate = fresh / elapsed if elapsed > 0 and fresh > 0 else 0.0
        left = (total - done) / rate if rate > 0 else float("nan")
        frac = done / total if total else 1.0
        eta = _duration(left) if left == left else "--:--"
        bar = "#" * int(frac * self.width)
        return (
            f"[{bar:<{self.width}}] {done}/{total} {self.unit} ({100 * frac:5.1f}%), "
            f"{rate:,.0f}/s, elapsed {_duration(elapsed)}, left {eta}"
        )

    def __call__(self, done: int, total: int) -> None:
        if self.first_done is None:
            self.first_done = done
            self.start = time.monotonic()
        now = time.monotonic()
        finished = done >= total
        if self.tty:
            self.stream.write("\r" + self.line(done, total) + ("\n" if finished else ""))
            self.stream.flush()
        elif finished or now - self.last_print >= self.interval:
            self.stream.write(self.line(done, total) + "\n")
            self.stream.flush()
            self.last_print = now
