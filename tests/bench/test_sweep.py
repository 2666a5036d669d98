"""The main job's sweeps: every indicator by backend, TA-Lib at its best, growth with the universe."""

import numpy as np
import pytest

from benchmarks.common import INDICATOR_CALLS
from technic_core.bench import sweep
from technic_core.universe.generate import generate_universe


def test_the_sweep_calls_are_the_asv_suites():
    assert sweep.SWEEP_CALLS == INDICATOR_CALLS


@pytest.fixture(scope="module")
def universe():
    g = generate_universe(40, 300, 6)
    return {f: getattr(g, f) for f in ("open", "high", "low", "close", "volume")}, g.lengths


def test_talib_gets_each_symbols_own_history_contiguous(universe):
    fields, lengths = universe
    assert lengths.min() < 300  # some recent listings: NaN-padded columns in (T, N)
    own = sweep.own_histories(fields, lengths)
    assert len(own) == 40
    for j, s in enumerate(own):
        for f, a in s.items():
            assert a.flags["C_CONTIGUOUS"] and a.ndim == 1 and a.dtype == np.float64
            assert len(a) == lengths[j] and not np.isnan(a).any()
            np.testing.assert_array_equal(a, fields[f][300 - lengths[j] :, j])


def test_talib_at_its_best_computes_what_the_reference_backend_does(universe):
    talib = pytest.importorskip("talib")
    fields, lengths = universe
    own = sweep.own_histories(fields, lengths)
    from technic_core import indicators as ind

    ref = ind.rsi(fields["close"], 14, backend="talib")
    for j in (0, int(np.argmin(lengths))):
        got = talib.RSI(own[j]["close"], timeperiod=14)
        np.testing.assert_allclose(got, ref[300 - lengths[j] :, j], rtol=1e-12, equal_nan=True)


def test_every_indicator_backend_and_size_is_timed(universe):
    pytest.importorskip("talib")
    fields, lengths = universe
    backends = ["baseline", "numpy", "talib"]
    rows = sweep.indicator_sweep(fields, lengths, repeat=2, backends=backends, sizes=(10, 20))
    got = {(r["indicator"], r["backend"], r["symbols"]) for r in rows}
    want = {(n, b, k) for n in sweep.SWEEP_CALLS for b in ("numpy", "talib") for k in (10, 20, 40)}
    want |= {(n, "baseline", 10) for n in sweep.SWEEP_CALLS}  # the baseline at the smallest only
    assert got == want
    assert all(len(r["times"]) == 2 and min(r["times"]) > 0 for r in rows)
    full = sweep.full_sets(rows)
    assert {(r["backend"], r["symbols"]) for r in full} == {(b, k) for n, b, k in want}
    row = next(r for r in full if r["backend"] == "talib" and r["symbols"] == 40)
    parts = [r["times"] for r in rows if r["backend"] == "talib" and r["symbols"] == 40]
    assert row["times"] == pytest.approx([sum(t) for t in zip(*parts)])


def test_growth_sizes_fit_the_universe():
    assert sweep.growth_sizes(5277) == [500, 2000]
    assert sweep.growth_sizes(1000) == [500]
    assert sweep.growth_sizes(40) == [10, 20]
