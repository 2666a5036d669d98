"""Scans from memory: a long DataFrame or a dict of frames scans as its import-then-scan does."""

import numpy as np
import pandas as pd
import pytest

import technic_core
from technic_core.scan import PhaseUnavailable, results_match, table_differences
from technic_core.sources.memory import MemorySource
from technic_core.universe.generate import generate_universe
from technic_core.universe.importer import import_store

PHASES = ("baseline", "vectorized", "prefetch,prescreen,vectorized")


@pytest.fixture(scope="module")
def bars():
    """A generated universe's bars with the importer's cases: a bad bar, unsorted and duplicate rows."""
    g = generate_universe(60, 300, 17)
    long = g.long_frame()
    syms = long["symbol"].unique()
    # a bar with high < low: the importer skips the symbol, a memory scan reports it
    i = long.index[long["symbol"] == syms[3]][-5]
    high, low = float(long.at[i, "high"]), float(long.at[i, "low"])
    long.loc[i, "high"], long.loc[i, "low"] = low, high
    # shuffled rows and an exact duplicate row of another symbol: repaired by both paths
    rows = long.index[long["symbol"] == syms[7]]
    long = pd.concat(
        [long.drop(rows), long.loc[rows].iloc[::-1], long.loc[rows[:1]]], ignore_index=True
    )
    return long, g.universe.copy(), syms[3], syms[7]


@pytest.fixture(scope="module")
def imported(tmp_path_factory, bars):
    long, uni, _, _ = bars
    d = tmp_path_factory.mktemp("mem")
    long.to_parquet(d / "bars.parquet")
    uni.to_parquet(d / "universe.parquet")
    report = import_store(
        [d / "bars.parquet"], d / "store", universe=d / "universe.parquet", log=lambda *_: None
    )
    return d / "store", report


@pytest.mark.parametrize("phases", PHASES)
def test_long_frame_scans_as_its_import(bars, imported, phases):
    long, uni, bad, _ = bars
    store, report = imported
    a = technic_core.scan(store, phases=phases)
    b = technic_core.scan(long, uni, phases=phases)
    assert len(a.table) > 10
    # the one difference: the symbol the import skipped is in the memory scan's errors table
    assert results_match(a, b) == [f"errors differ for [{bad!r}]"]
    assert table_differences(a.table, b.table) == []
    pd.testing.assert_frame_equal(a.table, b.table)
    # the store never held the symbol the import skipped; the memory scan reports it, same words
    skipped = {s: r for _, s, r in report.skipped}
    assert bad in skipped and bad not in set(a.errors["symbol"])
    got = dict(zip(b.errors["symbol"], b.errors["reason"]))
    assert got == {bad: skipped[bad]}
    assert a.rejections == b.rejections
    assert b.info["source"].startswith("frames in memory")


def test_dict_of_vendor_frames_scans_as_the_long_frame(bars):
    long, uni, _, _ = bars
    # per-symbol frames as a vendor gives them: a Date index, capitalised columns, Adj Close
    frames = {}
    for s, g in long.groupby("symbol", sort=False):
        f = g.drop(columns="symbol").rename(columns=str.capitalize).set_index("Date")
        frames[s] = f.assign(**{"Adj Close": f["Close"] * 0.9})
    a = technic_core.scan(long, uni, phases="vectorized")
    b = technic_core.scan(frames, uni, phases="vectorized")
    pd.testing.assert_frame_equal(a.table, b.table)
    assert a.errors.equals(b.errors)


def test_without_a_universe_every_symbol_gets_the_importers_defaults(bars):
    long, _, _, _ = bars
    res = technic_core.scan(long, phases="vectorized")
    src = MemorySource(long)
    uni = src.universe()
    assert list(uni["symbol"]) == list(pd.unique(long["symbol"]))
    assert (uni["sector"] == "Unknown").all() and uni["market_cap"].isna().all()
    assert res.n_symbols == len(uni) and len(res.table) > 0


def test_repairs_are_the_importers(bars):
    long, _, bad, shuffled = bars
    src = MemorySource(long)
    notes = dict(src.checked.repaired)
    assert (
        "dates sorted" in notes[shuffled] and "1 exact duplicate row(s) dropped" in notes[shuffled]
    )
    got = src.bars(shuffled)
    assert got["date"].is_monotonic_increasing and not got["date"].duplicated().any()
    assert "high < low" in src.checked.errors[bad]


def test_phases_that_need_a_store_say_so(bars):
    long, uni, _, _ = bars
    with pytest.raises(
        PhaseUnavailable,
        match=r"phase cache cannot scan frames in memory .*: .*\(technic data import\)",
    ):
        technic_core.scan(long, uni, phases="vectorized,cache")
    with pytest.raises(TypeError, match="universe= goes with bars in memory"):
        technic_core.scan("some/store", uni)


def test_bad_input_as_a_whole_and_bad_symbols(bars):
    long, _, _, _ = bars
    with pytest.raises(ValueError, match="missing columns: close"):
        technic_core.scan(long.drop(columns="close"))
    one = long[long["symbol"] == long["symbol"].iat[0]].drop(columns="symbol")
    frames = {"GOOD": one, "BA D": one, "NOVOL": one.drop(columns="volume"), "EMPTY": one.iloc[:0]}
    res = technic_core.scan(frames, phases="vectorized")
    reasons = dict(zip(res.errors["symbol"], res.errors["reason"]))
    # a name the store cannot hold fails SPEC's symbol rule first (universe rules outrank bad data)
    assert "BA D" not in reasons and "BA D" not in set(res.table["symbol"])
    assert (
        MemorySource(frames).checked.errors["BA D"] == "symbol name cannot be stored: contains ' '"
    )
    assert reasons["NOVOL"] == "missing columns: volume"
    assert reasons["EMPTY"] == "no bars (empty frame)"
    assert "GOOD" not in reasons


def test_intraday_frames_are_refused_as_a_store_of_them_is():
    idx = pd.date_range("2026-01-05 09:30", periods=300, freq="5min")
    c = 50 + np.cumsum(np.random.default_rng(0).normal(0, 0.1, 300))
    df = pd.DataFrame(
        {"open": c, "high": c + 1, "low": c - 1, "close": c, "volume": 1e6}, index=idx
    )
    with pytest.raises(ValueError, match="intraday bars; scans need daily bars"):
        technic_core.scan({"ABC": df})


def test_polars_long_frame_scans_as_pandas(bars):
    pl = pytest.importorskip(
        "polars", reason="polars is not installed (pip install technic[polars])"
    )
    long, uni, _, _ = bars
    a = technic_core.scan(long, uni, phases="vectorized")
    b = technic_core.scan(pl.from_pandas(long), pl.from_pandas(uni), phases="vectorized")
    pd.testing.assert_frame_equal(a.table, b.table)


@pytest.mark.parametrize("phases", ("baseline", "vectorized"))
def test_every_symbol_bad_gives_an_empty_table_and_the_errors(phases):
    # the baseline built its table from a frame without columns and raised KeyError here
    idx = pd.bdate_range("2026-01-05", periods=300)
    c = 50 + np.cumsum(np.random.default_rng(0).normal(0, 0.1, 300))
    df = pd.DataFrame(
        {"open": c, "high": c - 1, "low": c + 1, "close": c, "volume": 1e6}, index=idx
    )
    res = technic_core.scan({"ABC": df}, phases=phases)
    assert len(res.table) == 0 and list(res.errors["symbol"]) == ["ABC"]
    assert res.errors["reason"].iat[0].startswith("high < low on 2026-01-05")
