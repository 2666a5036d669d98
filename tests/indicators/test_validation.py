"""Every input check, one by one, through plain arrays and through a Panel.

Each bad input gets an ``IndicatorInputError`` that names the argument (and
column and row where there is one); parameters outside TA-Lib's ranges are
refused as TA-Lib refuses them.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import technic_core.indicators as ind
from technic_core.indicators import Panel
from technic_core.indicators.validate import check_layout, layout_scan

from .ohlcv_cases import make_ohlcv

talib = pytest.importorskip("talib")

BACKENDS = [b for b in ind.available_backends() if b != "talib"]


def fields(t=80, n=6, seed=3, ragged=0.3):
    return make_ohlcv(t, n, seed, ragged=ragged)


# ---------------------------------------------------------------- layout, plain arrays


@pytest.mark.parametrize("backend", BACKENDS)
def test_interior_nan_names_column_and_row(backend):
    f = fields()
    f["close"][50, 3] = np.nan
    with pytest.raises(ind.IndicatorInputError, match=r"rsi: close column 3 has a NaN at row 50"):
        ind.rsi(f["close"], 14, backend=backend)


@pytest.mark.parametrize("value", [np.inf, -np.inf])
def test_infinity_names_column_and_row(value):
    f = fields()
    f["low"][40, 2] = value
    with pytest.raises(
        ind.IndicatorInputError, match="atr: low column 2 holds an infinite value at row 40"
    ):
        ind.atr(f["high"], f["low"], f["close"], 14)


def test_infinity_as_a_columns_first_value():
    f = fields(ragged=0.0)
    f["close"][0, 1] = np.inf
    with pytest.raises(
        ind.IndicatorInputError, match="close column 1 holds an infinite value at row 0"
    ):
        ind.sma(f["close"], 5)


def test_first_defect_in_row_order_is_the_one_named():
    f = fields(ragged=0.0)
    f["close"][60, 0] = np.nan
    f["close"][30, 4] = np.nan
    with pytest.raises(ind.IndicatorInputError, match="column 4 has a NaN at row 30"):
        ind.ema(f["close"], 10)


def test_mismatched_starts_between_fields():
    f = fields(ragged=0.0)
    f["volume"][:5, 1] = np.nan
    with pytest.raises(
        ind.IndicatorInputError,
        match="obv: volume column 1 starts at row 5 but the other inputs start at row 0",
    ):
        ind.obv(f["close"], f["volume"])


def test_shape_mismatch_between_fields():
    f = fields()
    with pytest.raises(
        ind.IndicatorInputError,
        match=r"willr: low has shape \(80, 5\), other inputs have \(80, 6\)",
    ):
        ind.willr(f["high"], f["low"][:, :5], f["close"])


def test_three_dimensional_input():
    with pytest.raises(
        ind.IndicatorInputError,
        match=r"sma: close must be 1-D \(T,\) or 2-D \(T, N\); got shape \(4, 3, 2\)",
    ):
        ind.sma(np.ones((4, 3, 2)), 2)


def test_complex_input_is_refused_not_truncated():
    x = np.linspace(1, 2, 40) + 1j
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no ComplexWarning on the way to the error
        with pytest.raises(ind.IndicatorInputError, match="rsi: close is complex"):
            ind.rsi(x, 14)


@pytest.mark.parametrize(
    "bad",
    [
        np.array(["1.0", "2.0"] * 20),
        np.array([True, False] * 20),
        np.array([1.0, None] * 20, dtype=object),
    ],
    ids=["str", "bool", "object"],
)
def test_non_numeric_dtypes_are_refused(bad):
    with pytest.raises(ind.IndicatorInputError, match="sma: close has dtype"):
        ind.sma(bad, 3)


def test_integer_input_is_widened_not_refused():
    x = np.arange(1, 41, dtype=np.int32)
    np.testing.assert_array_equal(ind.sma(x, 5), talib.SMA(x.astype(np.float64), 5))


# ---------------------------------------------------------------- parameters (issue 14 item 12)

PERIOD_CALLS = {
    "sma": lambda x, p: ind.sma(x, p),
    "ema": lambda x, p: ind.ema(x, p),
    "rsi": lambda x, p: ind.rsi(x, p),
    "roc": lambda x, p: ind.roc(x, p),
    "bbands": lambda x, p: ind.bbands(x, p),
    "atr": lambda x, p: ind.atr(x, x, x, p),
    "adx": lambda x, p: ind.adx(x, x, x, p),
    "willr": lambda x, p: ind.willr(x, x, x, p),
    "cci": lambda x, p: ind.cci(x, x, x, p),
    "mfi": lambda x, p: ind.mfi(x, x, x, x, p),
    "macd_fast": lambda x, p: ind.macd(x, p, 26, 9),
    "macd_slow": lambda x, p: ind.macd(x, 12, p, 9),
    "macd_signal": lambda x, p: ind.macd(x, 12, 26, p),
    "stoch_k": lambda x, p: ind.stoch(x, x, x, p),
    "stoch_slowk": lambda x, p: ind.stoch(x, x, x, 5, p),
    "stoch_slowd": lambda x, p: ind.stoch(x, x, x, 5, 3, 0, p),
}


@pytest.mark.parametrize("name", sorted(PERIOD_CALLS))
@pytest.mark.parametrize(
    "period", [1e9, 100_001, 2**40, 2.5, float("nan"), float("inf"), -3, "14", None]
)
def test_periods_outside_talibs_range_raise(name, period):
    x = np.linspace(10, 20, 60)
    with pytest.raises(ind.IndicatorInputError, match="must be an integer from"):
        PERIOD_CALLS[name](x, period)


def test_talib_raises_where_we_raise():
    # the reference agrees: TA-Lib refuses a period of 1e9 and of 100001
    x = np.linspace(10, 20, 60)
    for p in (10**9, 100_001):
        with pytest.raises(Exception, match="Bad Parameter"):
            talib.SMA(x, p)


@pytest.mark.parametrize("backend", BACKENDS)
def test_largest_period_talib_accepts_runs_and_agrees(backend):
    # 100000 is TA-Lib's maximum: all NaN on a short series, and no period-sized state is built
    f = fields(60, 4)
    for call, ref in [
        (
            lambda: ind.willr(f["high"], f["low"], f["close"], 100_000, backend=backend),
            talib.WILLR(f["high"][:, 0], f["low"][:, 0], f["close"][:, 0], 100_000),
        ),
        (
            lambda: ind.mfi(f["high"], f["low"], f["close"], f["volume"], 100_000, backend=backend),
            None,
        ),
        (
            lambda: ind.stoch(
                f["high"], f["low"], f["close"], 100_000, 100_000, 0, 100_000, 0, backend=backend
            )[0],
            None,
        ),
    ]:
        out = call()
        assert np.isnan(out).all()
        if ref is not None:
            assert np.isnan(ref).all()


@pytest.mark.parametrize("dev", [float("nan"), float("inf"), 3.1e37, -3.1e37, True])
def test_band_width_outside_talibs_range_raises(dev):
    x = np.linspace(10, 20, 60)
    with pytest.raises(ind.IndicatorInputError, match="bbands: nbdev"):
        ind.bbands(x, 20, dev, 2.0)
    with pytest.raises(ind.IndicatorInputError, match="bbands: nbdev"):
        ind.bbands(x, 20, 2.0, dev)


def test_band_width_at_talibs_limit_is_accepted():
    x = np.linspace(10, 20, 60)
    got = ind.bbands(x, 20, 3e37, -3e37)
    ref = talib.BBANDS(x, 20, 3e37, -3e37)
    for g, r in zip(got, ref):
        np.testing.assert_array_equal(np.isnan(g), np.isnan(r))


@pytest.mark.parametrize("backend", BACKENDS)
def test_rsi_near_the_largest_double_is_talibs(backend):
    # gains near 1e308: TA-Lib divides before it scales by 100, so RSI is 100, not inf
    x = np.linspace(1e307, 1.7e308, 40)
    got = ind.rsi(x, 14, backend=backend)
    ref = talib.RSI(x, 14)
    np.testing.assert_array_equal(got, ref)
    assert (got[14:] == 100.0).all()
    y = 1e307 * (1 + np.random.default_rng(1).random(40) * 5)
    np.testing.assert_allclose(ind.rsi(y, 14, backend=backend), talib.RSI(y, 14), rtol=1e-12)


# ---------------------------------------------------------------- the Panel


def test_panel_runs_every_check_once():
    f = fields()
    f["close"][50, 3] = np.nan
    with pytest.raises(ind.IndicatorInputError, match="Panel: close column 3 has a NaN at row 50"):
        Panel(**f)
    f = fields()
    f["open"][10, 0] = np.inf
    with pytest.raises(
        ind.IndicatorInputError, match="Panel: open column 0 holds an infinite value at row 10"
    ):
        Panel(**f)
    f = fields(ragged=0.0)
    f["volume"][:3, 2] = np.nan
    with pytest.raises(ind.IndicatorInputError, match="Panel: volume column 2 starts at row 3"):
        Panel(**f)
    f = fields()
    with pytest.raises(ind.IndicatorInputError, match="Panel: close has shape"):
        Panel(high=f["high"], close=f["close"][:, :2])
    with pytest.raises(ind.IndicatorInputError, match="Panel: close is complex"):
        Panel(close=f["close"] + 0j)
    with pytest.raises(ind.IndicatorInputError, match="Panel: give at least one field"):
        Panel()


def test_panel_missing_field_is_named():
    f = fields()
    p = Panel(close=f["close"])
    with pytest.raises(ind.IndicatorInputError, match="atr: the panel has no 'high' field"):
        ind.atr(p, 14)


def test_panel_and_arrays_do_not_mix():
    f = fields()
    p = Panel(**f)
    with pytest.raises(ind.IndicatorInputError, match="either one Panel or arrays"):
        ind.atr(high=p, low=f["low"], close=f["close"])


def test_panel_call_signature_errors():
    p = Panel(**fields())
    with pytest.raises(TypeError, match="at most 1 parameters after a Panel"):
        ind.rsi(p, 14, 15)
    with pytest.raises(TypeError, match="multiple values for 'timeperiod'"):
        ind.rsi(p, 14, timeperiod=14)
    with pytest.raises(TypeError, match="comes from the Panel"):
        ind.rsi(p, close=p)


def test_panel_fields_are_read_only_views_and_starts_are_right():
    f = fields(ragged=0.5)
    p = Panel(**f)
    assert np.shares_memory(p.close, f["close"])
    with pytest.raises(ValueError):
        p.close[0, 0] = 1.0
    want = np.array([int(np.argmax(~np.isnan(f["close"][:, j]))) for j in range(6)])
    np.testing.assert_array_equal(p.starts, want)
    assert "starting late" in repr(p)


# ---------------------------------------------------------------- the fast pass against the slow scan


@settings(max_examples=60, deadline=None)
@given(
    t=st.integers(1, 40),
    n=st.integers(1, 70),
    seed=st.integers(0, 2**31),
    defects=st.lists(
        st.tuples(
            st.integers(0, 10**6), st.integers(0, 10**6), st.sampled_from([np.nan, np.inf, -np.inf])
        ),
        max_size=3,
    ),
)
def test_fast_pass_raises_exactly_when_the_scan_finds_a_defect(t, n, seed, defects):
    a = make_ohlcv(t, n, seed, ragged=0.4, min_start_left=0)["close"]
    for r, c, v in defects:
        a[r % t, c % n] = v
    _, col, row, kind = layout_scan(a)
    if kind == 0:
        s = check_layout("x", {"close": a})
        np.testing.assert_array_equal(s, layout_scan(a)[0])
    else:
        what = "infinite value" if kind == 1 else "has a NaN"
        with pytest.raises(ind.IndicatorInputError, match=f"column {col} .*{what}.* row {row}"):
            check_layout("x", {"close": a})
