"""Panels from frames: the importer's checks and reasons, labels kept, TA-Lib's values per symbol."""

import numpy as np
import pandas as pd
import pytest
import talib

import technic_core
from technic_core import indicators as ind
from technic_core.universe.generate import generate_universe
from technic_core.universe.validate import check_long


@pytest.fixture(scope="module")
def long():
    g = generate_universe(24, 280, 9)
    df = g.long_frame()
    assert df.groupby("symbol").size().nunique() > 1  # late listings are in it
    return df


def test_panel_from_long_is_talib_per_symbol(long):
    panel = technic_core.panel_from_long(long)
    syms = list(pd.unique(long["symbol"]))
    rsi = ind.rsi(panel, 14)
    upper, middle, lower = ind.bbands(panel, 20)
    assert list(rsi.columns) == syms and rsi.index.equals(
        pd.DatetimeIndex(sorted(long["date"].unique()))
    )
    assert upper.columns.equals(rsi.columns) and lower.index.equals(rsi.index)
    for s in syms:
        g = long[long["symbol"] == s].set_index("date")
        ref = talib.RSI(g["close"], 14)  # TA-Lib's Series on the symbol's own dates
        got = rsi[s].loc[g.index]
        assert rsi[s].drop(g.index).isna().all()  # before its listing: NaN
        np.testing.assert_allclose(got.to_numpy(), ref.to_numpy(), rtol=1e-9, equal_nan=True)
        np.testing.assert_allclose(
            upper[s].loc[g.index].to_numpy(),
            talib.BBANDS(g["close"], 20, 2.0, 2.0, 0)[0].to_numpy(),
            rtol=1e-9,
            equal_nan=True,
        )


def test_panel_from_frames_equals_panel_from_long(long):
    a = technic_core.panel_from_long(long)
    b = technic_core.panel_from_frames(**a.frames)
    for f in ("open", "high", "low", "close", "volume"):
        pd.testing.assert_frame_equal(a.frames[f], b.frames[f])
    pd.testing.assert_frame_equal(ind.adx(a), ind.adx(b))


def test_bad_symbols_get_the_importers_reasons(long):
    bad = long.copy()
    syms = list(pd.unique(bad["symbol"]))
    rows = bad.index[bad["symbol"] == syms[2]]
    bad.loc[rows[10], "close"] = -1.0
    expected = check_long(bad)
    assert set(expected) == {syms[2]}
    with pytest.raises(technic_core.PanelInputError) as err:
        technic_core.panel_from_long(bad)
    assert err.value.errors == expected
    assert f"{syms[2]}: {expected[syms[2]]}" in str(err.value) and "errors='skip'" in str(err.value)
    panel = technic_core.panel_from_long(bad, errors="skip")
    assert panel.errors == expected and syms[2] not in ind.sma(panel).columns


def test_a_missing_session_inside_a_history_is_named(long):
    syms = list(pd.unique(long["symbol"]))
    rows = long.index[long["symbol"] == syms[5]]
    holed = long.drop(rows[100])
    day = pd.Timestamp(long.loc[rows[100], "date"]).date()
    with pytest.raises(technic_core.PanelInputError, match=rf"{syms[5]}: no bar on {day} while"):
        technic_core.panel_from_long(holed)


def test_per_symbol_vendor_frames_and_repairs(long):
    frames = {
        s: g.drop(columns="symbol").rename(columns=str.title).set_index("Date").iloc[::-1]
        for s, g in long.groupby("symbol", sort=False)
    }
    panel = technic_core.panel_from_long(frames)
    pd.testing.assert_frame_equal(
        panel.frames["close"], technic_core.panel_from_long(long).frames["close"]
    )
    assert all(r == "dates sorted" for _, r in panel.repaired) and len(panel.repaired) == len(
        frames
    )
