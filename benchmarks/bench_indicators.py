"""Indicators: each of the thirteen, the full set, and the fused path, per backend and size.

``talib`` is TA-Lib called once per symbol: the outside reference every
backend is measured against (PEERS: the full set in 316 ms at 5,277 symbols).
The pandas ``baseline`` is timed at the smallest size only; it is there to
show where phase 0 starts, not to be tracked at every size.
"""
from __future__ import annotations

import time

import numpy as np

from .common import (
    FULL,
    INDICATOR_CALLS,
    KNOWN_BACKENDS,
    SIZES,
    arrays,
    backend_module,
    full_set,
    indicator_inputs,
)

SMALLEST = min(SIZES)


def _check_size(backend: str, n: int) -> None:
    if backend == "baseline" and n > SMALLEST:
        raise NotImplementedError(f"baseline is timed at {SMALLEST} symbols only")


class Indicator:
    """One indicator, SPEC's parameters, (504, N) arrays, through the public API."""
    params = [list(INDICATOR_CALLS), list(KNOWN_BACKENDS), list(SIZES)]
    param_names = ["indicator", "backend", "symbols"]
    timeout = 180

    def setup(self, name, backend, n):
        _check_size(backend, n)
        backend_module(backend)
        from technic_core import indicators as ind
        self.func = getattr(ind, name)
        self.args, self.kwargs = indicator_inputs(arrays(n), name)
        self.kwargs["backend"] = backend
        self.func(*self.args, **self.kwargs)  # JIT compile / cache load outside the timing

    def time_indicator(self, name, backend, n):
        self.func(*self.args, **self.kwargs)


class FullSet:
    """All thirteen indicators, one public call each (what a user of the API pays)."""
    params = [list(KNOWN_BACKENDS), list(SIZES)]
    param_names = ["backend", "symbols"]
    timeout = 300

    def setup(self, backend, n):
        _check_size(backend, n)
        backend_module(backend)
        from technic_core import indicators as ind
        self.ind = ind
        self.data = arrays(n)
        full_set(ind, self.data, backend)

    def time_full_set(self, backend, n):
        full_set(self.ind, self.data, backend)


class Fused:
    """The scan's fused path: every indicator value the scan needs at the last bar, one call."""
    params = [list(KNOWN_BACKENDS), list(SIZES)]
    param_names = ["backend", "symbols"]
    timeout = 180

    def setup(self, backend, n):
        mod = backend_module(backend)
        self.fused = getattr(mod, "fused_indicators", None)
        if self.fused is None:
            raise NotImplementedError(f"backend {backend!r} has no fused_indicators")
        d = arrays(n)
        self.args = [d[f] for f in ("open", "high", "low", "close", "volume")]
        self.fused(*self.args)

    def time_fused(self, backend, n):
        self.fused(*self.args)


def _best_of(fn, repeat: int, budget_s: float) -> float:
    best, t_end = float("inf"), time.perf_counter() + budget_s
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
        if time.perf_counter() > t_end:
            break
    return best


class SpeedupOverTALib:
    """Full set at the default universe: TA-Lib loop time / backend time, measured in one process.

    PEERS' yardstick: at least 2x, 4x or more the real aim, while TA-Lib-exact.
    Both are timed alternately in the same process, so machine noise cancels.
    """
    params = [[b for b in KNOWN_BACKENDS if b not in ("talib", "baseline")]]
    param_names = ["backend"]
    unit = "x"
    timeout = 300

    def setup(self, backend):
        backend_module(backend)
        backend_module("talib")
        from technic_core import indicators as ind
        self.ind = ind
        self.data = arrays(FULL)
        full_set(ind, self.data, backend)

    def track_speedup(self, backend):
        talib_s, ours_s = float("inf"), float("inf")
        for _ in range(3):  # alternate, keep the best of each
            talib_s = min(talib_s, _best_of(lambda: full_set(self.ind, self.data, "talib"), 1, 10))
            ours_s = min(ours_s, _best_of(lambda: full_set(self.ind, self.data, backend), 1, 10))
        return float(np.float64(talib_s) / ours_s)



# What `technic gate` times at CI's budget (docs/gate.md); each kernel alone is in bench_kernels.
GATE = ["FullSet.time_full_set(numba, 2000)", "Fused.time_fused(numba, 2000)"]
GATE_SCALING = ["FullSet.time_full_set(numba, 2000)"]
