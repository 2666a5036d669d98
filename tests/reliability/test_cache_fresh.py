"""Issue 14, items 5 and 10: the cache never serves an answer the store no longer gives.

Each scan through the cache is checked against an uncached scan of the same
store (TA-Lib over full histories), after a change that the old cache missed.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from technic_core.scan import results_match, scan
from technic_core.scan.phases.cache_phase import SCAN_STATE, CacheUnavailable
from technic_core.sources import LocalSource
from technic_core.universe import Store
from technic_core.universe.importer import import_store
from technic_core.universe.store import StoreDamaged

from ..helpers import make_store
from .helpers import symbol_file, vendor_csv

PHASES = "vectorized,cache"
QUIET = {"log": lambda *_: None}


def reference(root):
    return scan(root, phases="vectorized", backend="talib")


@pytest.fixture
def root(tmp_path):
    return make_store(tmp_path / "store", 40, 280, seed=23)


def _warm(root, cache):
    cold = scan(root, phases=PHASES, cache=cache)
    warm = scan(root, phases=PHASES, cache=cache)
    assert (
        warm.info["cache"]["hits"]
        == cold.info["cache"]["fetched"] - cold.info["cache"]["bad_data"]
        > 0
    )
    return warm


def _values(res, sym):
    return (
        res.table.set_index("symbol").loc[sym, ["rsi_14", "macd", "macd_hist"]].to_numpy(np.float64)
    )


def test_a_past_bar_corrected_through_an_import_is_recomputed(root, cache, tmp_path):
    """Item 5: a past bar corrected through `technic data import`, then a cached scan: all hits,
    old RSI and MACD."""
    warm = _warm(root, cache)
    sym = warm.table["symbol"].iloc[0]
    fixed = Store(root).bars(sym)
    r = fixed.index[-60]
    fixed.loc[r, "close"] = fixed.loc[r, "high"] = fixed.loc[r, "high"] * 1.08
    import_store(
        [str(vendor_csv(fixed.assign(symbol=sym), tmp_path / "fix" / f"{sym}.csv"))], root, **QUIET
    )
    res = scan(root, phases=PHASES, cache=cache)
    ref = reference(root)
    assert results_match(ref, res) == []
    assert not np.allclose(
        _values(res, sym), _values(warm, sym), rtol=1e-12
    )  # the correction shows
    info = res.info["cache"]
    assert (
        info["hits"] == warm.info["cache"]["hits"] - 1
        and info["hits"] + info["misses"] + info["incremental"] > 0
    )


def test_bars_appended_to_a_few_symbols_advance_only_those(root, cache, tmp_path):
    """Item 5: a new bar appended to only a few symbols: cached scans kept the old answer."""
    warm = _warm(root, cache)
    syms = warm.table["symbol"].tolist()[:3]
    parts = []
    for s in syms:
        b = Store(root).bars(s)
        nxt = b.iloc[[-1]].assign(date=b["date"].iloc[-1] + pd.offsets.BDay(1))
        nxt[["open", "high", "low", "close"]] *= 1.03
        parts.append(nxt.assign(symbol=s))
    import_store(
        [str(vendor_csv(pd.concat(parts), tmp_path / "feed.csv", symbol_column=True))],
        root,
        **QUIET,
    )
    res = scan(root, phases=PHASES, cache=cache)
    assert results_match(reference(root), res) == []
    assert res.info["cache"]["incremental"] == 3, res.info["cache"]
    assert res.info["cache"]["hits"] == warm.info["cache"]["hits"] - 3


def test_an_edit_behind_the_writers_back_never_splits_the_answers(root, cache):
    """Item 5 as first reproduced: a bar appended to a few symbols' files in place. The store's
    version says what its bars are; a cached scan and an uncached one give the same table, and
    the per-symbol read that meets the edited file says so."""
    warm = _warm(root, cache)
    syms = warm.table["symbol"].tolist()[:3]
    for s in syms:
        path = symbol_file(root, s)
        b = pd.read_parquet(path)
        nxt = b.iloc[[-1]].assign(date=b["date"].iloc[-1] + pd.offsets.BDay(1))
        pd.concat([b, nxt]).to_parquet(path, index=False)
    res = scan(root, phases=PHASES, cache=cache)
    assert results_match(reference(root), res) == []
    # one warning per edited file (pytest.warns re-emits any that does not match)
    with pytest.warns(StoreDamaged, match="does not hold the bars") as seen:
        base = scan(root, phases="baseline")
    assert {s for s in syms for w in seen if f"{s}'s bars" in str(w.message)} == set(syms)
    assert results_match(base, res) == []


def test_a_key_of_the_wrong_type_is_a_corrupt_entry_and_repaired(root, cache):
    """Item 10: a cache key of the wrong Redis type (WRONGTYPE) turned the cache off for every
    later scan, and was never repaired."""
    warm = _warm(root, cache)
    a, b = warm.table["symbol"].tolist()[:2]
    st = cache.for_source(LocalSource(root).describe(), SCAN_STATE.ident())
    client = cache.client()
    client.delete(st.bars_key(a))
    client.set(st.bars_key(a), b"a string where a list belongs")
    client.delete(st.state_key(b))
    client.rpush(st.state_key(b), b"a list where a string belongs")
    ref = reference(root)
    with warnings.catch_warnings():
        warnings.simplefilter("error", CacheUnavailable)
        res = scan(root, phases=PHASES, cache=cache)
        again = scan(root, phases=PHASES, cache=cache)
    info = res.info["cache"]
    assert "failed" not in info and info["corrupt_reasons"] == {"bars wrongtype": 1}, info
    assert results_match(ref, res) == []
    # repaired: the next scan is all hits, and the keys hold their own types again
    assert "failed" not in again.info["cache"] and again.info["cache"]["corrupt"] == 0
    assert again.info["cache"]["hits"] == warm.info["cache"]["hits"]
    assert client.type(st.bars_key(a)) == b"list" and client.type(st.state_key(b)) == b"string"
    assert results_match(ref, again) == []
