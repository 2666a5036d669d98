"""Projecting a sample's per-symbol times to the universe, and checking it against a full measurement."""

import statistics
import time

import numpy as np
import pytest

from technic_core.bench.projection import (
    SampledRun,
    SymbolTimer,
    project,
    project_run,
    ratio,
    within_noise,
)
from technic_core.bench.sample import Sample, sample_source
from technic_core.scan import scan
from technic_core.sources import open_source

from ..helpers import make_store


def _sample(pop: dict[str, int], taken: dict[str, int]) -> Sample:
    symbols, stratum = [], {}
    for key, n in pop.items():
        names = [f"{key}{i}" for i in range(n)]
        stratum.update(dict.fromkeys(names, key))
        symbols += names[: taken[key]]
    return Sample(symbols, stratum, dict(pop), dict(taken), ("test",))


def test_projection_weights_each_stratum_by_its_population():
    # 1,000 symbols: 900 cost 10 ms, 100 cost 0 (dropped early); the sample takes 9 + 1 (proportional)
    # and then 5 + 5 (not proportional): both must give 9 s of loop, plus fixed and the scaled rest.
    for taken in ({"a": 9, "b": 1}, {"a": 5, "b": 5}):
        smp = _sample({"a": 900, "b": 100}, taken)
        loop = np.array([0.01 if s.startswith("a") else 0.0 for s in smp.symbols])
        run = SampledRun(wall=0.2 + 0.05 + loop.sum(), fixed=0.2, loop=loop)
        assert project_run(run, smp) == pytest.approx(0.2 + 0.05 * 1000 / 10 + 9.0)
        p = project([run, run, run], smp)
        # identical runs and no spread inside a stratum: nothing to be uncertain about
        assert p.estimate == pytest.approx(p.low) == pytest.approx(p.high)


def test_interval_carries_run_to_run_and_sampling_noise():
    rng = np.random.default_rng(0)
    smp = _sample({"a": 2000, "b": 200}, {"a": 90, "b": 10})
    runs = []
    for scale in (1.0, 1.1, 0.95):  # three runs at different machine speeds
        loop = scale * np.where([s.startswith("a") for s in smp.symbols], 0.02, 0.005)
        loop = loop * rng.lognormal(0, 0.3, loop.size)
        runs.append(SampledRun(wall=0.1 + loop.sum(), fixed=0.1, loop=loop))
    p = project(runs, smp)
    assert p.low < min(p.per_run) <= max(p.per_run) < p.high  # wider than the runs alone
    assert p.low < p.estimate < p.high and p.estimate == statistics.median(p.per_run)
    assert project(runs, smp) == p  # fixed seed: the same interval
    one = project(runs[:1], smp)
    assert one.high - one.low > 0  # sampling noise alone is there too


def test_speedup_interval_and_noise_verdict():
    assert within_noise(ratio((10, 9, 11), (9.5, 9, 10)))  # ranges overlap
    sp = ratio((10, 9.5, 10.5), (5, 4.8, 5.2))
    assert sp == pytest.approx((2.0, 9.5 / 5.2, 10.5 / 4.8)) and not within_noise(sp)


def test_symbol_timer_times_each_item_of_the_loop():
    timer = SymbolTimer()
    for s in timer(["A", "B", "C"]):
        time.sleep(0.03 if s == "B" else 0.0)
    assert set(timer.seconds) == {"A", "B", "C"}
    assert timer.seconds["B"] >= 0.03 > timer.seconds["A"]


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    return make_store(tmp_path_factory.mktemp("p") / "store", n_symbols=150, n_bars=280, seed=9)


@pytest.mark.slow
def test_stratified_estimate_of_a_full_run_from_its_sample(store):
    """One full run, each symbol's CPU time taken (CPU time: other jobs on the machine barely
    move it): the sample's symbols, weighted by their strata, give the loop's total within
    the sampling interval."""
    with open_source(store) as src:
        smp = sample_source(src, 40)
    for phases in ("baseline", "prefetch,prescreen"):
        scan(store, phases=phases, symbols=smp.symbols[:10])
        timer = SymbolTimer(clock=time.thread_time)
        scan(store, phases=phases, progress=timer)
        total = sum(timer.seconds.values())
        loop = np.array([timer.seconds.get(s, 0.0) for s in smp.symbols])
        # 99%: the check is of the weighting, not a 1-in-20 coin (measured: errors -2.3% to
        # +1.2% against half-widths of 1.8-3.0% at 95%; a GC pause can widen one run to 16%)
        p = project([SampledRun(wall=float(loop.sum()), fixed=0.0, loop=loop)], smp, level=0.99)
        assert p.low <= total <= p.high, (phases, p, total)
        assert (p.high - p.low) / p.estimate < 1.0, (phases, p)  # an interval, not (0, inf)


@pytest.mark.slow
def test_sample_projection_agrees_with_the_full_measurement(store):
    """The default ladder's claim, end to end on a small universe: runs on the sample,
    projected to everything, agree with runs on everything within the printed intervals.

    Sample and full runs alternate.  Two figures agree, as everywhere in the harness
    ("within noise"), when their intervals overlap: the projection's bootstrap interval
    and the full runs' min-max.  On a quiet machine both are a few percent wide, so a
    projection biased by 10% fails; on a machine shared with other jobs, whose bursts slow
    a run by up to 3x, both widen with the noise they saw instead of failing at random."""
    with open_source(store) as src:
        smp = sample_source(src, 40)
    for phases in ("baseline", "prefetch,prescreen"):
        scan(store, phases=phases, symbols=smp.symbols[:10])  # warm-up
        runs, full = [], []
        for _ in range(3):
            timer = SymbolTimer()
            res = scan(store, phases=phases, symbols=smp.symbols, progress=timer)
            runs.append(SampledRun.from_scan(res, timer, smp.symbols))
            full.append(scan(store, phases=phases).wall_s)
        p = project(runs, smp)
        assert p.low <= max(full) and min(full) <= p.high, (phases, p.low, p.high, p.per_run, full)
