"""The per-symbol steps' sample: fixed, stratified, with the universe's mix."""

import pandas as pd
import pytest

from technic_core.bench.sample import allocate, prescreen_fate, sample_source, stratified_sample
from technic_core.sources import open_source

from ..helpers import make_store


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    return make_store(tmp_path_factory.mktemp("s") / "store", n_symbols=400, n_bars=300, seed=3)


def test_allocation_is_proportional_and_keeps_every_stratum():
    take = allocate({"a": 900, "b": 90, "c": 9, "d": 1}, 100)
    assert sum(take.values()) == 100
    assert take["b"] == 9 and take["c"] >= 1 and take["d"] == 1
    assert abs(take["a"] - 90) <= 2
    assert allocate({"a": 3, "b": 2}, 10) == {"a": 3, "b": 2}  # more than there is: everything


def test_sample_is_the_same_every_time_and_has_the_universe_mix(store):
    with open_source(store) as src:
        a = sample_source(src, 100)
        b = sample_source(src, 100)
        uni = src.universe()
        snap = src.snapshot()
        lengths = src.store.index()["n_bars"]
    assert a.symbols == b.symbols and a.size == 100 and len(set(a.symbols)) == 100
    assert a.dimensions == ("pre-screening fate", "history length")
    assert a.universe_size == 400 and sum(a.taken.values()) == 100
    # every stratum is represented, in proportion (largest remainder, at least one)
    for key, n_pop in a.population.items():
        assert a.taken[key] >= 1
        assert abs(a.taken[key] - 100 * n_pop / 400) <= 1.5, key
    # the strata say what pre-screening does with each symbol
    fate = dict(zip(uni["symbol"], prescreen_fate(uni, snap)))
    assert all(a.stratum[s].startswith(fate[s]) for s in a.symbols)

    # history lengths and sectors follow the universe's mix
    def share(syms):
        return pd.Series(uni.set_index("symbol").loc[syms, "sector"]).value_counts(normalize=True)

    diff = (share(a.symbols) - share(list(uni["symbol"]))).abs()
    assert diff.max() < 0.05, diff
    full = lengths >= 260
    assert abs(full.loc[a.symbols].mean() - full.mean()) < 0.03


def test_sample_of_everything_is_everything(store):
    with open_source(store) as src:
        uni = src.universe()
    s = stratified_sample(uni, 10_000)
    assert sorted(s.symbols) == sorted(uni["symbol"])
    assert s.dimensions == ("pre-screening fate",)  # no lengths given: no history strata


def test_bad_sample_size_is_refused(store):
    with open_source(store) as src:
        with pytest.raises(ValueError, match="at least 1"):
            sample_source(src, 0)
