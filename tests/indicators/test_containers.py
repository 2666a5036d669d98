"""Containers in, the same containers out: every function, each container, against TA-Lib's own
pandas and polars results (ta-lib-python wraps Series in and out) on the same data."""

import numpy as np
import pandas as pd
import pytest
import talib

from technic_core import indicators as ind
from technic_core.indicators import validate
from technic_core.indicators.containers import OUTPUT_NAMES, unwrap

from .cases import ragged
from .test_vs_talib import assert_equal_to_talib

try:
    import polars as pl
except ImportError:  # polars is optional (the `polars` extra); its tests say so
    pl = None
needs_polars = pytest.mark.skipif(
    pl is None, reason="polars is not installed (pip install technic[polars])"
)

# name -> (TA-Lib function, price inputs, parameters: the same names for both)
CALLS = {
    "sma": (talib.SMA, ("close",), {"timeperiod": 20}),
    "ema": (talib.EMA, ("close",), {"timeperiod": 21}),
    "rsi": (talib.RSI, ("close",), {"timeperiod": 14}),
    "macd": (talib.MACD, ("close",), {"fastperiod": 12, "slowperiod": 26, "signalperiod": 9}),
    "bbands": (talib.BBANDS, ("close",), {"timeperiod": 20, "nbdevup": 2.0, "nbdevdn": 2.0}),
    "atr": (talib.ATR, ("high", "low", "close"), {"timeperiod": 14}),
    "stoch": (
        talib.STOCH,
        ("high", "low", "close"),
        {"fastk_period": 14, "slowk_period": 3, "slowd_period": 3},
    ),
    "adx": (talib.ADX, ("high", "low", "close"), {"timeperiod": 14}),
    "obv": (talib.OBV, ("close", "volume"), {}),
    "roc": (talib.ROC, ("close",), {"timeperiod": 10}),
    "willr": (talib.WILLR, ("high", "low", "close"), {"timeperiod": 14}),
    "cci": (talib.CCI, ("high", "low", "close"), {"timeperiod": 14}),
    "mfi": (talib.MFI, ("high", "low", "close", "volume"), {"timeperiod": 14}),
}
assert tuple(CALLS) == ind.INDICATORS


def expected_names(name):
    if name in OUTPUT_NAMES:
        return OUTPUT_NAMES[name]
    period = CALLS[name][2].get("timeperiod")
    return (name if period is None else f"{name}_{period}",)


def tup(x):
    return x if isinstance(x, tuple) else (x,)


@pytest.fixture(scope="module")
def wide():
    """Wide pandas frames per field: business dates x symbols, some symbols listed late."""
    f = ragged(n_symbols=7, n_bars=260, seed=5)
    for j, start in ((2, 40), (5, 150)):  # two late listings beside full histories
        for v in f.values():
            v[:start, j] = np.nan
    index = pd.bdate_range("2023-01-02", periods=260, name="date")
    columns = pd.Index([f"S{j}" for j in range(7)], name="symbol")
    # built column by column, as read_csv or pivot build them (pandas' own column-major layout)
    return {
        k: pd.DataFrame({c: v[:, j] for j, c in enumerate(columns)}, index=index).rename_axis(
            columns="symbol"
        )
        for k, v in f.items()
    }


def call(name, inputs):
    return getattr(ind, name)(*inputs, **CALLS[name][2])


def reference(name, inputs):
    func, _, params = CALLS[name]
    return func(*inputs, **params)


@pytest.mark.parametrize("name", ind.INDICATORS)
def test_pandas_series(wide, name):
    for col in wide["close"].columns:
        inputs = [wide[f][col] for f in CALLS[name][1]]
        got, ref = tup(call(name, inputs)), tup(reference(name, inputs))
        assert len(got) == len(ref)
        for g, r, n in zip(got, ref, expected_names(name)):
            assert isinstance(g, pd.Series) and isinstance(r, pd.Series)
            assert g.index.equals(wide["close"].index) and g.index.equals(r.index)
            assert g.name == n
        assert_equal_to_talib(
            tuple(g.to_numpy() for g in got), tuple(r.to_numpy() for r in ref), f"{name} {col}"
        )


@pytest.mark.parametrize("name", ind.INDICATORS)
def test_pandas_wide_frame(wide, name):
    inputs = [wide[f] for f in CALLS[name][1]]
    got = tup(call(name, inputs))
    assert len(got) == len(expected_names(name))
    for g in got:
        assert isinstance(g, pd.DataFrame)
        assert g.index.equals(wide["close"].index) and g.columns.equals(wide["close"].columns)
        assert g.index.name == "date" and g.columns.name == "symbol"
    for col in wide["close"].columns:
        ref = tup(reference(name, [x[col] for x in inputs]))
        assert_equal_to_talib(
            tuple(g[col].to_numpy() for g in got), tuple(r.to_numpy() for r in ref), f"{name} {col}"
        )


@pytest.mark.parametrize("name", ind.INDICATORS)
def test_numpy_in_numpy_out(wide, name):
    arrays = [wide[f].to_numpy() for f in CALLS[name][1]]
    got = tup(call(name, arrays))
    assert all(type(g) is np.ndarray and g.shape == arrays[0].shape for g in got)
    frames = tup(call(name, [wide[f] for f in CALLS[name][1]]))
    for g, fr in zip(got, frames):
        np.testing.assert_array_equal(g, fr.to_numpy())
    one = tup(call(name, [a[:, 0] for a in arrays]))
    assert all(type(g) is np.ndarray and g.shape == (arrays[0].shape[0],) for g in one)


@needs_polars
@pytest.mark.parametrize("name", ind.INDICATORS)
def test_polars_series(wide, name):
    for col in wide["close"].columns[:3]:
        inputs = [pl.Series(col, wide[f][col].to_numpy()) for f in CALLS[name][1]]
        got, ref = tup(call(name, inputs)), tup(reference(name, inputs))
        for g, r, n in zip(got, ref, expected_names(name)):
            assert isinstance(g, pl.Series) and isinstance(r, pl.Series)
            assert g.name == n and len(g) == len(inputs[0])
        assert_equal_to_talib(
            tuple(g.to_numpy() for g in got), tuple(r.to_numpy() for r in ref), f"{name} {col}"
        )


@needs_polars
@pytest.mark.parametrize("name", ind.INDICATORS)
def test_polars_wide_frame(wide, name):
    def frame(f):  # a date key column first, then one column per symbol
        df = wide[f]
        return pl.DataFrame(
            {"date": df.index.to_numpy(), **{c: df[c].to_numpy() for c in df.columns}}
        )

    inputs = [frame(f) for f in CALLS[name][1]]
    got = tup(call(name, inputs))
    for g in got:
        assert isinstance(g, pl.DataFrame)
        assert g.columns == inputs[0].columns
        assert g["date"].equals(inputs[0]["date"])
    for col in wide["close"].columns:
        ref = tup(reference(name, [x[col] for x in inputs]))
        assert_equal_to_talib(
            tuple(g[col].to_numpy() for g in got), tuple(r.to_numpy() for r in ref), f"{name} {col}"
        )


@needs_polars
@pytest.mark.parametrize("where", ["first", "middle", "last", "two"])
def test_polars_key_columns_keep_their_places(wide, where):
    """Key columns anywhere in the frame come back at their places, values unmoved."""
    df = wide["close"]
    values = {c: df[c].to_numpy() for c in df.columns}
    keys = {"date": df.index.to_numpy()}
    if where == "two":
        keys["venue"] = np.array(["X", "Y"] * (len(df) // 2))
    names = list(values)
    at = {"first": 0, "middle": 3, "last": len(names), "two": 2}[where]
    order = names[:at] + list(keys) + names[at:]
    if where == "two":  # the second key further on
        order.remove("venue")
        order.insert(6, "venue")
    frame = pl.DataFrame({**keys, **values}).select(order)
    got = tup(ind.bbands(frame, timeperiod=20))
    plain = tup(ind.bbands(df.to_numpy(), timeperiod=20))
    for g, p in zip(got, plain):
        assert g.columns == order
        for k in keys:
            assert g[k].equals(frame[k])
        np.testing.assert_array_equal(g.select(names).to_numpy(), p)


@needs_polars
def test_polars_value_columns_must_be_numbers(wide):
    df = wide["close"]
    frame = pl.DataFrame({c: df[c].to_numpy() for c in df.columns}).with_columns(
        flag=pl.lit(True), S1=pl.col("S1").cast(pl.Int64, strict=False).fill_null(0)
    )
    with pytest.raises(
        ind.IndicatorInputError, match=r"non-numeric column\(s\) 'flag' \(Boolean\)"
    ):
        ind.rsi(frame)
    got = ind.rsi(frame.drop("flag"))  # an integer column is a number column
    np.testing.assert_array_equal(
        got["S1"].to_numpy(), talib.RSI(frame["S1"].cast(pl.Float64).to_numpy())
    )


@pytest.mark.parametrize("name", ind.INDICATORS)
def test_panel_of_frames_gives_frames(wide, name):
    panel = ind.Panel(**{f: wide[f] for f in ("high", "low", "close", "volume")})
    got = tup(getattr(ind, name)(panel, **CALLS[name][2]))
    direct = tup(call(name, [wide[f] for f in CALLS[name][1]]))
    for g, d in zip(got, direct):
        pd.testing.assert_frame_equal(g, d)


def test_float64_series_is_not_copied(wide):
    s = wide["close"]["S0"]
    arrays, wrap = unwrap("rsi", {"close": s})
    assert np.shares_memory(arrays["close"], s.to_numpy())
    assert wrap.kind == "pandas.Series"


def test_wide_frame_copied_once_into_row_major(wide):
    arrays, _ = unwrap("rsi", {"close": wide["close"]})
    a = arrays["close"]
    assert a.flags.c_contiguous and a.dtype == np.float64
    np.testing.assert_array_equal(a, wide["close"].to_numpy())
    # a frame already row-major (e.g. a result of ours) is used in place
    res = ind.sma(wide["close"], 5)
    again, _ = unwrap("rsi", {"close": res})
    assert np.shares_memory(again["close"], res.to_numpy())


def test_counted_copy_counts_as_the_check_does():
    # The copy of a column-major array counts each column's start, NaNs and
    # infinities as it goes; those counts must be the check's own, defects included.
    rng = np.random.default_rng(11)
    a = np.asfortranarray(100 + rng.normal(size=(90, 150)))
    a[:30, 7] = np.nan  # late listing
    a[:, 8] = np.nan  # no data at all
    a[50, 9] = np.nan  # interior gap
    a[3, 140] = np.inf
    a[:5, 141] = np.nan
    a[60, 141] = -np.inf
    out = validate.row_major_counted(a)
    assert out.flags.c_contiguous and not out.flags.writeable
    np.testing.assert_array_equal(out, a)
    got = validate.column_counts(out)  # takes the copy's counts
    assert id(out) not in validate._counted  # used once
    want = validate.column_counts(out)  # counted afresh from the copy
    for g, w in zip(got, want):
        np.testing.assert_array_equal(g, w)
    assert got[0][7] == 30 and got[0][8] == 90 and got[2][140] == 1 and got[2][141] == 1


@pytest.mark.parametrize("shape", [(5, 3), (8, 8), (17, 130), (504, 200)])
def test_counted_copy_of_any_shape(shape):
    # whole 8 x 8 blocks, the rows and columns past them, tiles of 64 columns
    a = np.asfortranarray(np.random.default_rng(2).normal(size=shape))
    a[: shape[0] // 2, 1] = np.nan
    out = validate.row_major_counted(a)
    np.testing.assert_array_equal(out, a)
    starts, nans, infs = validate.column_counts(out)
    assert starts[1] == nans[1] == shape[0] // 2 and not infs.any()


def test_frame_defects_found_by_the_counted_copy(wide):
    bad = wide["low"].copy()
    bad.iloc[120, 4] = np.inf
    with pytest.raises(
        ind.IndicatorInputError, match=r"low column 4 \('S4'\) holds an infinite value at row 120"
    ):
        ind.Panel(high=wide["high"], low=bad, close=wide["close"])
    late = wide["volume"].copy()
    late.iloc[:10, 1] = np.nan  # volume starts later than the prices
    with pytest.raises(ind.IndicatorInputError, match=r"volume column 1 \('S1'\) starts at row 10"):
        ind.obv(wide["close"], late)


def test_nullable_and_integer_dtypes(wide):
    s = wide["close"]["S0"]
    got = ind.rsi(s.astype("Float64"))
    pd.testing.assert_series_equal(got, ind.rsi(s))
    vol = wide["volume"]["S0"].dropna()
    got = ind.obv(wide["close"]["S0"].loc[vol.index], vol.astype("int64"))
    np.testing.assert_allclose(
        got.to_numpy(),
        talib.OBV(wide["close"]["S0"].loc[vol.index].to_numpy(), vol.to_numpy()),
        rtol=1e-12,
    )


def test_errors_name_the_column_label(wide):
    bad = wide["close"].copy()
    bad.iloc[200, 3] = np.nan
    with pytest.raises(ind.IndicatorInputError, match=r"column 3 \('S3'\) has a NaN at row 200"):
        ind.rsi(bad)
    with pytest.raises(ind.IndicatorInputError, match=r"column 3 \('S3'\)"):
        ind.Panel(close=bad)


def test_misaligned_or_mixed_inputs_are_refused(wide):
    h, lo, c = wide["high"], wide["low"], wide["close"]
    with pytest.raises(ind.IndicatorInputError, match="low's index differs from high's"):
        ind.atr(h, lo.iloc[::-1], c)
    with pytest.raises(ind.IndicatorInputError, match="columns differ"):
        ind.atr(h, lo[lo.columns[::-1]], c)
    with pytest.raises(
        ind.IndicatorInputError, match="pandas.DataFrame but low is a pandas.Series"
    ):
        ind.atr(h, lo["S0"], c)
    with pytest.raises(ind.IndicatorInputError, match="non-numeric column.*'date'"):
        ind.rsi(c.reset_index())


@needs_polars
def test_pandas_and_polars_are_not_mixed(wide):
    with pytest.raises(ind.IndicatorInputError, match="one kind of container"):
        ind.obv(wide["close"]["S0"], pl.Series(wide["volume"]["S0"].to_numpy()))


def test_docstrings_say_inputs_parameters_outputs_lookback():
    for name in ind.INDICATORS:
        doc = getattr(ind, name).__doc__
        for section in ("Parameters", "Returns", "Lookback", "NaN rules", "Examples"):
            assert section in doc, (name, section)
        for p in CALLS[name][2]:
            assert f"{p} :" in doc, (name, p)
        for out in OUTPUT_NAMES.get(name, ()):
            assert f"{out} :" in doc, (name, out)
        assert getattr(ind, name).__annotations__.get("return") is not None


@pytest.mark.parametrize("name", ind.INDICATORS)
def test_documented_lookback_is_the_leading_nan_count(wide, name):
    import inspect

    from technic_core.indicators.docs import SPECS

    params = {
        p.name: p.default
        for p in inspect.signature(getattr(ind, name)).parameters.values()
        if p.default is not inspect.Parameter.empty and p.name != "backend"
    }
    params.update(CALLS[name][2])
    lookback = eval(SPECS[name].lookback, {}, dict(params))  # the docstring's own formula
    assert f"Lookback: {SPECS[name].lookback} bars" in getattr(ind, name).__doc__
    out = tup(call(name, [wide[f]["S0"] for f in CALLS[name][1]]))  # S0 starts at row 0
    for o in out:
        assert int(o.isna().to_numpy().argmin()) == lookback, o.name
