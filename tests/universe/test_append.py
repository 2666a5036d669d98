"""append_session: one deterministic new bar per symbol, on the next weekday."""

import warnings

import numpy as np
import pandas as pd
import pytest

from technic_core.universe import Store, StoreDamaged, StoreError
from technic_core.universe.append import append_session, next_session

from ..helpers import make_store


def test_every_symbol_gets_the_next_sessions_bar(tmp_path):
    root = make_store(tmp_path / "a", 30, 40, seed=4)
    before = Store(root).long()
    last_before = Store(root).meta["last_session"]
    day = append_session(root, seed=1)
    assert day == next_session(last_before)
    after = Store(root).long()
    n0 = before.groupby("symbol", observed=True).size()
    n1 = after.groupby("symbol", observed=True).size()
    assert (n1 - n0 == 1).all()
    last = after.groupby("symbol", observed=True).tail(1)
    assert (last["date"] == pd.Timestamp(day)).all()
    assert (last["high"] >= last["low"]).all() and (
        last[["open", "high", "low", "close"]] > 0
    ).all().all()
    assert Store(root).meta["last_session"] == str(day)
    # the old bars are untouched
    pd.testing.assert_frame_equal(
        after.drop(last.index)
        .reset_index(drop=True)
        .assign(symbol=lambda d: d["symbol"].astype(str)),
        before.assign(symbol=lambda d: d["symbol"].astype(str)),
    )


def test_deterministic_and_weekdays_only(tmp_path):
    a = make_store(tmp_path / "a", 10, 30, seed=4)
    b = make_store(tmp_path / "b", 10, 30, seed=4)
    days = [append_session(a, seed=2) for _ in range(3)]
    for _ in range(3):
        append_session(b, seed=2)
    pd.testing.assert_frame_equal(Store(a).long(), Store(b).long())
    assert all(np.is_busday(d) for d in days)
    assert next_session(np.datetime64("2026-10-30")) == np.datetime64(
        "2026-11-02"
    )  # Friday -> Monday


def test_a_damaged_file_is_read_from_the_other_copy(tmp_path):
    root = make_store(tmp_path / "a", 10, 30, seed=4)
    store = Store(root)
    sym = store.universe()["symbol"].iloc[0]
    before = store.bars(sym)
    store.bar_file(sym).write_bytes(b"not parquet")
    append_session(root)  # reads bars.parquet: the damage is not in its way
    with warnings.catch_warnings():
        warnings.simplefilter("error", StoreDamaged)
        after = Store(root).bars(sym)  # its new file, with the new bar
    assert len(after) == len(before) + 1
    pd.testing.assert_frame_equal(after.iloc[:-1], before)


def test_refuses_a_store_it_would_damage(tmp_path):
    root = make_store(tmp_path / "a", 10, 30, seed=4)
    store = Store(root)
    sym = store.universe()["symbol"].iloc[0]
    store.bar_file(sym).write_bytes(b"not parquet")
    store.file("bars").write_bytes(b"not parquet either")
    store.file("panel").write_bytes(b"nor this")  # no copy of sym's bars is left
    version = store.version
    with pytest.warns(StoreDamaged), pytest.raises(StoreError, match="cannot be read"):
        append_session(root)
    assert Store(root).version == version
