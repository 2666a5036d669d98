"""Shared pieces of the Ray tests: the reference answer, a worker killer."""

from __future__ import annotations

import threading
import time

import psutil

from technic_core.indicators.registry import unavailable_reason
from technic_core.scan import scan

# TA-Lib is exact and always here; the engine's own backends are tested elsewhere.
BACKEND = "talib"
PHASES = "prefetch,prescreen,vectorized"
RAY_PHASES = PHASES + ",ray"


def reference(root):
    """The answer every engine must give: the baseline's, or (until the pandas backend
    exists) the in-process vectorised engine's over one block."""
    if unavailable_reason("baseline") is None:
        try:
            return scan(root, phases="baseline")
        except ImportError:
            pass
    return scan(root, phases=PHASES, backend=BACKEND, block_size=None)


class WorkerKiller(threading.Thread):
    """SIGKILLs one Ray worker of this process's Ray while it computes a block.

    Only descendants of this process are candidates (never another user's Ray).
    A candidate is frozen first and killed only if its title still says it is
    inside ``block_task``: the kill lands mid-task, never on an idle worker.
    """

    def __init__(self, title: str = "ray::block_task", limit_s: float = 60.0):
        super().__init__(daemon=True)
        self.title, self.limit_s = title, limit_s
        self.killed: list[int] = []
        self.stop = threading.Event()

    def _title(self, p: psutil.Process) -> str:
        return " ".join(p.cmdline())

    def run(self) -> None:
        me = psutil.Process()
        deadline = time.monotonic() + self.limit_s
        while not self.stop.is_set() and not self.killed and time.monotonic() < deadline:
            for p in me.children(recursive=True):
                try:
                    if not self._title(p).startswith(self.title):
                        continue
                    p.suspend()
                    if self._title(p).startswith(self.title):
                        p.kill()
                        self.killed.append(p.pid)
                        return
                    p.resume()
                except psutil.Error:
                    continue
            time.sleep(0.002)
