"""From a sample's timed runs to the whole universe's time, with an interval.

A per-symbol step's scan is a sum over symbols plus a little that does not
depend on how many are scanned.  So each timed run on the sample gives:

* ``fixed``: what costs the same whatever is scanned: the universe table and
  pre-screening's last-session snapshot (both read whole), and the prefetch's
  one batch read, which reads whole row groups of the store or whole sessions
  of an API (a sample spread over the universe touches all of them: measured,
  the batch read of 250 symbols and of all 5,277 both take 0.2-0.6 s), kept
  as measured;
* ``loop``: each sample symbol's seconds in the per-symbol loop (fetch and
  compute in the baseline, compute after prefetch; 0 for a symbol the step
  never reached), timed between the loop's iterations;
* the rest (splitting the batch into symbols, filtering, ranking): per
  symbol, scaled by universe / sample.

A run's projection is ``fixed + rest * N/n + sum over strata of N_h x the
stratum's mean loop time``, ``N_h`` the stratum's symbols in the universe.
The point estimate is the median over runs.  The interval is a percentile
bootstrap that carries both kinds of noise: each replicate picks one of the
runs at random (run-to-run noise: load, caches) and resamples the sample's
symbols within each stratum (sampling error), 95% by default, with a fixed
seed so the same times give the same interval.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

import numpy as np

from .sample import Sample

BOOTSTRAP = 2000
LEVEL = 0.95
SEED = 20261201
FIXED_STAGES = ("universe", "prescreen")


class SymbolTimer:
    """A scan ``progress`` hook that times each symbol of the per-symbol loop.

    It sits between the loop and its iterable: the time from handing out one
    symbol to being asked for the next is that symbol's work.  ``display``,
    when given, is the visible progress wrapped inside it.
    """

    def __init__(self, display=None, clock=time.perf_counter) -> None:
        self.display = display
        self.clock = clock  # wall time; time.thread_time gives each symbol's CPU time
        self.seconds: dict[str, float] = {}

    def __call__(self, iterable: Iterable) -> Iterator:
        inner = self.display(iterable) if self.display is not None else iterable
        return self._timed(inner)

    def _timed(self, inner: Iterable) -> Iterator:
        clock = self.clock
        last, t0 = None, 0.0
        try:
            for item in inner:
                now = clock()
                if last is not None:
                    self.seconds[last] = now - t0
                last, t0 = item, clock()
                yield item
        finally:
            if last is not None:
                self.seconds[last] = clock() - t0


@dataclass
class SampledRun:
    wall: float  # the scan's total seconds on the sample
    fixed: float  # seconds of stages independent of the sample's size
    loop: np.ndarray  # per sample symbol (sample order), seconds in the per-symbol loop

    @classmethod
    def from_scan(cls, res, timer: SymbolTimer, symbols: list[str]) -> SampledRun:
        fixed = sum(res.timings.get(k, 0.0) for k in FIXED_STAGES) + res.info.get(
            "_batch_read_s", 0.0
        )
        loop = np.array([timer.seconds.get(s, 0.0) for s in symbols], dtype=np.float64)
        return cls(float(res.wall_s), float(fixed), loop)


@dataclass
class Projection:
    estimate: float  # median over runs of each run's projection
    low: float
    high: float
    per_run: list[float]
    level: float
    method: str


def _groups(sample: Sample) -> tuple[list[np.ndarray], np.ndarray]:
    keys = [sample.stratum[s] for s in sample.symbols]
    order = sorted(set(keys))
    idx = [np.flatnonzero(np.array([k == h for k in keys])) for h in order]
    weights = np.array([sample.population[h] for h in order], dtype=np.float64)
    return idx, weights


def project_run(run: SampledRun, sample: Sample) -> float:
    idx, weights = _groups(sample)
    return _project(run, idx, weights, sample.universe_size, sample.size)


def _project(run: SampledRun, idx, weights, n_universe: int, n_sample: int) -> float:
    rest = run.wall - run.fixed - float(run.loop.sum())
    loop = sum(w * float(run.loop[i].mean()) for i, w in zip(idx, weights) if len(i))
    return run.fixed + rest * n_universe / n_sample + loop


def project(
    runs: list[SampledRun],
    sample: Sample,
    *,
    replicates: int = BOOTSTRAP,
    level: float = LEVEL,
    seed: int = SEED,
) -> Projection:
    """The universe's scan time from timed runs on ``sample`` (see the module's note)."""
    if not runs:
        raise ValueError("no timed runs to project from")
    idx, weights = _groups(sample)
    n_u, n_s = sample.universe_size, sample.size
    per_run = [_project(r, idx, weights, n_u, n_s) for r in runs]
    rng = np.random.default_rng(seed)
    pick = rng.integers(0, len(runs), replicates)
    # one draw of symbol positions per stratum, shared by every run a replicate may pick
    draws = [i[rng.integers(0, len(i), (replicates, len(i)))] for i in idx]
    loops = np.stack([r.loop for r in runs])  # (runs, sample)
    rest = np.array([r.wall - r.fixed - r.loop.sum() for r in runs])
    fixed = np.array([r.fixed for r in runs])
    total = fixed[pick] + rest[pick] * n_u / n_s
    for d, w in zip(draws, weights):
        total += w * loops[pick[:, None], d].mean(axis=1)
    tail = (1.0 - level) / 2.0
    lo, hi = np.quantile(total, [tail, 1.0 - tail])
    return Projection(
        statistics.median(per_run),
        float(lo),
        float(hi),
        per_run,
        level,
        f"{level:.0%} bootstrap: {replicates} replicates, each one of the "
        f"{len(runs)} runs at random and the sample's symbols resampled within "
        f"their strata",
    )


def spread(values: list[float]) -> tuple[float, float, float]:
    """(median, min, max) of repeated measurements of one thing."""
    return statistics.median(values), min(values), max(values)


def ratio(
    a: tuple[float, float, float], b: tuple[float, float, float]
) -> tuple[float, float, float]:
    """Speedup of ``b`` over ``a`` (time a / time b), each (estimate, low, high), with the
    interval of the two ranges: it includes 1 exactly when the two ranges overlap."""
    return a[0] / b[0], a[1] / b[2], a[2] / b[1]


def within_noise(speedup: tuple[float, float, float]) -> bool:
    return speedup[1] <= 1.0 <= speedup[2]
