"""Progress that reaches any log: a tqdm bar on a terminal, plain lines elsewhere.

A tqdm bar redraws one line with carriage returns and ANSI codes: on a
terminal that is a bar, in a CI log or behind ``tee`` it is one endless line
that only appears when the job ends.  So ``track`` draws tqdm only when the
stream is a terminal; anywhere else it writes a plain line every few seconds
(``$TECHNIC_PROGRESS_S``, default 5): items done, rate, ETA.  A task that
ends before the first interval writes nothing, and a longer one closes with a
line giving its total time.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable, Iterable, Iterator

DEFAULT_EVERY_S = 5.0


def every_s() -> float:
    """Seconds between two progress lines, from ``$TECHNIC_PROGRESS_S`` (default 5)."""
    text = os.environ.get("TECHNIC_PROGRESS_S")
    if not text:
        return DEFAULT_EVERY_S
    try:
        value = float(text)
    except ValueError:
        raise ValueError(f"TECHNIC_PROGRESS_S={text!r} is not a number of seconds") from None
    if value <= 0:
        raise ValueError(f"TECHNIC_PROGRESS_S={text!r} must be positive")
    return value


def duration(seconds: float) -> str:
    """``4.2s``, ``1m05s``, ``2h03m``: short enough for a log line."""
    if seconds != seconds or seconds == float("inf"):
        return "?"
    s = int(round(seconds))
    if seconds < 60:
        return f"{seconds:.1f}s"
    if s < 3600:
        return f"{s // 60}m{s % 60:02d}s"
    return f"{s // 3600}h{(s % 3600) // 60:02d}m"


def _is_terminal(stream) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):
        return False


class LineProgress:
    """tqdm's small interface (iterate, ``update``, ``close``) writing a plain line every ``every`` s."""

    def __init__(
        self,
        iterable: Iterable | None = None,
        *,
        desc: str = "",
        unit: str = "it",
        total: int | None = None,
        stream=None,
        every: float | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.iterable = iterable
        self.desc, self.unit = desc, unit
        if total is None and iterable is not None:
            try:
                total = len(iterable)  # type: ignore[arg-type]
            except TypeError:
                total = None
        self.total = total
        self.stream = stream if stream is not None else sys.stderr
        self.every = every_s() if every is None else every
        self.clock = clock
        self.n = 0
        self.t0 = clock()
        self.last = self.t0
        self.lines = 0
        self.closed = False

    def __iter__(self) -> Iterator:
        try:
            for item in self.iterable:  # type: ignore[union-attr]
                yield item
                self.update(1)
        finally:
            self.close()

    def __len__(self) -> int:
        return self.total or 0

    def update(self, n: int = 1) -> None:
        self.n += n
        now = self.clock()
        if now - self.last >= self.every:
            self.last = now
            self._write(self.status(now))

    def status(self, now: float) -> str:
        elapsed = max(now - self.t0, 1e-9)
        rate = self.n / elapsed
        done = f"{self.n:,}" + (f"/{self.total:,}" if self.total else "")
        pct = f" ({100.0 * self.n / self.total:.0f}%)" if self.total else ""
        eta = ""
        if self.total:
            left = (self.total - self.n) / rate if rate > 0 else float("inf")
            eta = f", ETA {duration(left)}"
        return f"{self.desc}: {done} {self.unit}{pct}, {rate:,.1f} {self.unit}/s{eta}"

    def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        if self.lines:  # a task long enough to have reported says when it ended
            now = self.clock()
            elapsed = max(now - self.t0, 1e-9)
            self._write(
                f"{self.desc}: {self.n:,} {self.unit} in {duration(elapsed)} "
                f"({self.n / elapsed:,.1f} {self.unit}/s)"
            )

    def _write(self, line: str) -> None:
        self.lines += 1
        print(line, file=self.stream, flush=True)


def track(
    iterable: Iterable | None = None,
    desc: str = "",
    unit: str = "it",
    *,
    total: int | None = None,
    stream=None,
    every: float | None = None,
):
    """An iterable wrapper with ``update`` and ``close``: tqdm on a terminal, else ``LineProgress``."""
    stream = stream if stream is not None else sys.stderr
    if _is_terminal(stream):
        from tqdm import tqdm

        return tqdm(
            iterable, desc=desc, unit=unit, total=total, file=stream, mininterval=0.5, leave=False
        )
    return LineProgress(iterable, desc=desc, unit=unit, total=total, stream=stream, every=every)


def tracker(desc: str, unit: str, stream=None) -> Callable[[Iterable], object]:
    """``track`` with its labels fixed: what the scan's ``progress`` hook expects."""

    def wrap(iterable: Iterable):
        return track(iterable, desc, unit, stream=stream)

    return wrap
