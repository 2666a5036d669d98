"""The main job's short sweeps: each indicator by backend, and growth with the universe.

What the report's indicator and growth charts need, measured by ``technic
bench`` itself in a few seconds, so the report is complete without an asv run
(asv's suites measure the same things at more sizes and across commits).

* Every backend that runs here computes each of the thirteen indicators on the
  universe's ``(T, N)`` arrays through the public API; the pandas baseline on
  ``BASELINE_SYMBOLS`` of them (it is ~100x slower; its figures are per symbol).
* TA-Lib, the outside reference, is timed at its best: each symbol's own
  history as a contiguous 1-D array, built before the timing, one TA-Lib call
  per symbol (no NaN padding, no column slicing inside the timing).
* Growth: the full set (the thirteen calls) at ``SIZES`` and the whole
  universe, and the vectorised scan at the same sizes.  Sub-universes are
  stratified samples, so they keep the universe's mix.

Backends are interleaved inside each repeat, so a change in the machine's
load touches all of them alike.
"""

from __future__ import annotations

import statistics
import time
import warnings
from collections.abc import Callable

import numpy as np

from .. import indicators as ind
from ..indicators.scan_set import INDICATOR_CALLS

# The thirteen indicators with the scan's parameters, TA-Lib's keyword names: the one table
# (indicators/scan_set.py; tests/bench/test_sweep.py asserts the asv suite's copy equals it).
SWEEP_CALLS: dict[str, tuple[tuple[str, ...], dict]] = {
    name: (fields, dict(kwargs)) for name, (fields, kwargs) in INDICATOR_CALLS.items()
}
SIZES = (500, 2000)  # plus the whole universe
BASELINE_SYMBOLS = 50
TALIB = "talib"
REFERENCE_NOTE = (
    "TA-Lib at its best: one call per symbol on that symbol's own history as a "
    "contiguous 1-D array, built before the timing"
)


def _columns(n_total: int, k: int) -> np.ndarray:
    """``k`` evenly spaced columns of ``n_total`` (the block's symbols are in universe order)."""
    if k >= n_total:
        return np.arange(n_total)
    return np.minimum(((np.arange(k) + 0.5) * n_total / k).astype(int), n_total - 1)


def _subset(fields: dict[str, np.ndarray], cols: np.ndarray) -> dict[str, np.ndarray]:
    return {f: np.ascontiguousarray(a[:, cols]) for f, a in fields.items()}


def own_histories(
    fields: dict[str, np.ndarray], lengths: np.ndarray
) -> list[dict[str, np.ndarray]]:
    """Per symbol: its own bars (no padding) as contiguous 1-D float64 arrays."""
    t = next(iter(fields.values())).shape[0]
    return [
        {f: np.ascontiguousarray(a[t - int(n) :, j], dtype=np.float64) for f, a in fields.items()}
        for j, n in enumerate(lengths)
    ]


def _talib_runner(name: str, per_symbol: list[dict[str, np.ndarray]]) -> Callable[[], None]:
    import talib

    func = getattr(talib, name.upper())
    fields, kwargs = SWEEP_CALLS[name]
    args = [tuple(s[f] for f in fields) for s in per_symbol]

    def run() -> None:
        for a in args:
            func(*a, **kwargs)

    return run


def _api_runner(name: str, data: dict[str, np.ndarray], backend: str) -> Callable[[], None]:
    func = getattr(ind, name)
    fields, kwargs = SWEEP_CALLS[name]
    args = [data[f] for f in fields]

    def run() -> None:
        func(*args, backend=backend, **kwargs)

    return run


def _timed(run: Callable[[], None]) -> float:
    t0 = time.perf_counter()
    run()
    return time.perf_counter() - t0


def growth_sizes(n_total: int, sizes: tuple[int, ...] = SIZES) -> list[int]:
    """Sub-universe sizes below ``n_total`` (a quarter and a half of a universe smaller than them)."""
    below = [k for k in sizes if k < n_total]
    if not below:
        below = sorted({k for k in (n_total // 4, n_total // 2) if 0 < k < n_total})
    return below


def sweep_backends() -> list[str]:
    """Backends the sweep times here: every available one (TA-Lib as the reference)."""
    return list(ind.available_backends())


def indicator_sweep(
    fields: dict[str, np.ndarray],
    lengths: np.ndarray,
    *,
    repeat: int = 3,
    sizes: tuple[int, ...] = SIZES,
    backends: list[str] | None = None,
    log=None,
) -> list[dict]:
    """Rows ``{indicator, backend, symbols, times}``: every indicator, backend and size."""
    log = log or (lambda msg: None)
    backends = sweep_backends() if backends is None else backends
    n_total = next(iter(fields.values())).shape[1]
    sizes_all = sorted({*growth_sizes(n_total, sizes), n_total})
    cases: list[tuple[str, str, int, Callable[[], None]]] = []
    for k in sizes_all:
        for b in backends:
            if b == "baseline" and k != sizes_all[0]:
                continue
            m = min(k, BASELINE_SYMBOLS) if b == "baseline" else k
            cols = _columns(n_total, m)
            if b == TALIB:
                own = own_histories(_subset(fields, cols), lengths[cols])
                runners = {name: _talib_runner(name, own) for name in SWEEP_CALLS}
            else:
                data = _subset(fields, cols)
                runners = {name: _api_runner(name, data, b) for name in SWEEP_CALLS}
            for name, run in runners.items():
                cases.append((name, b, m, run))
    log(
        f"[bench] sweep: {len(SWEEP_CALLS)} indicators x {', '.join(backends)} at "
        f"{', '.join(f'{k:,}' for k in sizes_all)} symbols (baseline at {min(BASELINE_SYMBOLS, n_total)}), "
        f"{repeat} repeats"
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        # imports, JIT compilation or cache loads, outside the timing: one call of each
        # indicator per backend compiles it for every size (same dtype and dimensions)
        smallest: dict[str, int] = {}
        for _, b, m, _ in cases:
            smallest[b] = min(smallest.get(b, m), m)
        for _, b, m, run in cases:
            if m == smallest[b]:
                run()
    times: dict[tuple[str, str, int], list[float]] = {(n, b, m): [] for n, b, m, _ in cases}
    for r in range(repeat):
        t0 = time.perf_counter()
        for name, b, m, run in cases:
            times[(name, b, m)].append(_timed(run))
        log(f"[bench] sweep: repeat {r + 1}/{repeat} in {time.perf_counter() - t0:.1f} s")
    return [
        {"indicator": n, "backend": b, "symbols": m, "times": t} for (n, b, m), t in times.items()
    ]


def full_sets(rows: list[dict]) -> list[dict]:
    """The full set (all thirteen calls) per backend and size: per repeat, the sum of the calls."""
    groups: dict[tuple[str, int], list[list[float]]] = {}
    for row in rows:
        groups.setdefault((row["backend"], row["symbols"]), []).append(row["times"])
    out = []
    for (b, m), series in groups.items():
        if len(series) != len(SWEEP_CALLS):
            continue
        totals = [float(sum(t)) for t in zip(*series)]
        out.append({"backend": b, "symbols": m, "times": totals})
    return out


def scan_growth(
    scan_at: Callable[[int], float], sizes: list[int], repeat: int, log=None
) -> list[dict]:
    """``scan_at(k)`` seconds for each size, ``repeat`` times, sizes interleaved."""
    log = log or (lambda msg: None)
    for k in sizes:
        scan_at(k)  # warm-up: page cache, JIT cache loads
    times: dict[int, list[float]] = {k: [] for k in sizes}
    for _ in range(repeat):
        for k in sizes:
            times[k].append(scan_at(k))
    log(
        "[bench] growth: vectorised scan at "
        + ", ".join(f"{k:,} symbols {statistics.median(t):.3f} s" for k, t in times.items())
    )
    return [{"symbols": k, "times": t} for k, t in times.items()]
