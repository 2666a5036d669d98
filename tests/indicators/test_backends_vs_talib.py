"""Every backend against TA-Lib, column by column.

TA-Lib is the reference: each backend's ``(T, N)`` output must equal TA-Lib
applied to each column (TA-Lib skips a column's leading NaNs), NaN exactly
where TA-Lib gives NaN, and values within 1e-9 relative to the indicator's
own scale: the price level for price-unit indicators (so a MACD crossing
zero is judged against the price it is made of), 100 for oscillators and
percentages, the column's total volume for OBV.

Backends come from ``available_backends()``; one whose module is not written
yet is skipped.  The fused scan path must equal the last row of the separate
functions.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

try:  # tests/ as a package or as plain directories
    from .ohlcv_cases import (
        check_realistic,
        constant,
        flat_then_moving,
        make_ohlcv,
        moving_then_flat,
    )
except ImportError:
    from ohlcv_cases import (
        check_realistic,
        constant,
        flat_then_moving,
        make_ohlcv,
        moving_then_flat,
    )

import technic_core.indicators as ind
from technic_core.indicators import registry
from technic_core.indicators.backends import _fused

talib = pytest.importorskip("talib")

RTOL = 1e-9

# (name, TA-Lib function, inputs, parameters, scale kind)
CASES = [
    ("sma", talib.SMA, ("close",), {"timeperiod": 20}, "price"),
    ("sma", talib.SMA, ("close",), {"timeperiod": 200}, "price"),
    ("sma", talib.SMA, ("close",), {"timeperiod": 1}, "price"),
    ("ema", talib.EMA, ("close",), {"timeperiod": 20}, "price"),
    ("ema", talib.EMA, ("close",), {"timeperiod": 3}, "price"),
    ("rsi", talib.RSI, ("close",), {"timeperiod": 14}, "osc"),
    ("rsi", talib.RSI, ("close",), {"timeperiod": 2}, "osc"),
    (
        "macd",
        talib.MACD,
        ("close",),
        {"fastperiod": 12, "slowperiod": 26, "signalperiod": 9},
        "price",
    ),
    (
        "macd",
        talib.MACD,
        ("close",),
        {"fastperiod": 5, "slowperiod": 13, "signalperiod": 1},
        "price",
    ),
    (
        "macd",
        talib.MACD,
        ("close",),
        {"fastperiod": 26, "slowperiod": 12, "signalperiod": 4},
        "price",
    ),
    (
        "bbands",
        talib.BBANDS,
        ("close",),
        {"timeperiod": 20, "nbdevup": 2.0, "nbdevdn": 2.0},
        "price",
    ),
    (
        "bbands",
        talib.BBANDS,
        ("close",),
        {"timeperiod": 5, "nbdevup": 1.5, "nbdevdn": 2.5},
        "price",
    ),
    ("atr", talib.ATR, ("high", "low", "close"), {"timeperiod": 14}, "price"),
    ("atr", talib.ATR, ("high", "low", "close"), {"timeperiod": 1}, "price"),
    (
        "stoch",
        talib.STOCH,
        ("high", "low", "close"),
        {"fastk_period": 14, "slowk_period": 3, "slowd_period": 3},
        "osc",
    ),
    (
        "stoch",
        talib.STOCH,
        ("high", "low", "close"),
        {"fastk_period": 5, "slowk_period": 1, "slowd_period": 4},
        "osc",
    ),
    ("adx", talib.ADX, ("high", "low", "close"), {"timeperiod": 14}, "osc"),
    ("adx", talib.ADX, ("high", "low", "close"), {"timeperiod": 3}, "osc"),
    ("obv", talib.OBV, ("close", "volume"), {}, "volume"),
    ("roc", talib.ROC, ("close",), {"timeperiod": 10}, "osc"),
    ("roc", talib.ROC, ("close",), {"timeperiod": 1}, "osc"),
    ("willr", talib.WILLR, ("high", "low", "close"), {"timeperiod": 14}, "osc"),
    ("willr", talib.WILLR, ("high", "low", "close"), {"timeperiod": 2}, "osc"),
    ("cci", talib.CCI, ("high", "low", "close"), {"timeperiod": 14}, "osc"),
    ("cci", talib.CCI, ("high", "low", "close"), {"timeperiod": 4}, "osc"),
    ("mfi", talib.MFI, ("high", "low", "close", "volume"), {"timeperiod": 14}, "osc"),
    ("mfi", talib.MFI, ("high", "low", "close", "volume"), {"timeperiod": 3}, "osc"),
]
CASE_IDS = [f"{c[0]}-" + "-".join(str(v) for v in c[3].values()) for c in CASES]


def _backend_or_skip(name: str) -> str:
    try:
        registry.load_backend(name)
    except ModuleNotFoundError as exc:
        mod = registry._BACKENDS[name].module
        if exc.name and mod.startswith(exc.name):
            pytest.skip(f"backend {name!r}: module {mod} is not written yet")
        raise
    return name


@pytest.fixture(params=registry.available_backends())
def backend(request):
    return _backend_or_skip(request.param)


def talib_columns(fn, data, inputs, params):
    """TA-Lib applied to each column; a tuple of (T, N) arrays."""
    t, n = data["close"].shape
    outs = None
    for j in range(n):
        res = fn(*(np.ascontiguousarray(data[k][:, j]) for k in inputs), **params)
        res = res if isinstance(res, tuple) else (res,)
        if outs is None:
            outs = [np.empty((t, n)) for _ in res]
        for o, r in zip(outs, res):
            o[:, j] = r
    return tuple(outs)


def scale_of(kind: str, data) -> np.ndarray:
    """Per-column scale against which 1e-9 is measured."""
    c = data["close"]
    if kind == "price":
        s = np.nanmax(np.abs(np.where(np.isnan(c), 0.0, c)), axis=0, initial=0.0)
    elif kind == "volume":
        s = np.nansum(np.abs(data["volume"]), axis=0)
    else:
        s = np.full(c.shape[1], 100.0)
    return np.where(s > 0, s, 1.0)


def assert_close(got, ref, scale, what=""):
    assert got.shape == ref.shape, f"{what}: shape {got.shape} != {ref.shape}"
    assert got.dtype == np.float64, f"{what}: dtype {got.dtype}"
    gn, rn = np.isnan(got), np.isnan(ref)
    if not np.array_equal(gn, rn):
        i, j = np.argwhere(gn != rn)[0]
        raise AssertionError(
            f"{what}: NaN mismatch at row {i} col {j}: got {got[i, j]!r}, TA-Lib {ref[i, j]!r}"
        )
    ok = ~rn
    bound = RTOL * np.maximum(np.abs(ref), np.broadcast_to(scale, ref.shape))
    bad = ok & ~(np.abs(got - ref) <= bound)
    if bad.any():
        i, j = np.argwhere(bad)[0]
        raise AssertionError(
            f"{what}: {bad.sum()} values off, first at row {i} col {j}: got "
            f"{got[i, j]!r}, TA-Lib {ref[i, j]!r}"
        )


def check_case(backend_name, case, data):
    name, fn, inputs, params, kind = case
    ref = talib_columns(fn, data, inputs, params)
    got = getattr(ind, name)(*(data[k] for k in inputs), **params, backend=backend_name)
    got = got if isinstance(got, tuple) else (got,)
    assert len(got) == len(ref)
    scale = scale_of(kind, data)
    for k, (g, r) in enumerate(zip(got, ref)):
        assert_close(g, r, scale, f"{backend_name} {name}{params}[{k}]")


def test_generator_is_realistic():
    d = make_ohlcv(120, 30, seed=1)
    check_realistic(d)
    assert (d["volume"] == 0).any() and np.isnan(d["close"][0]).any()


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
def test_generated_ragged(backend, case, seed):
    check_case(backend, case, make_ohlcv(260, 24, seed))


@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
def test_short_series_around_lookback(backend, case):
    name, fn, inputs, params, kind = case
    lookback = int(
        np.argmax(
            ~np.isnan(talib_columns(fn, make_ohlcv(300, 1, 9, ragged=0.0), inputs, params)[0][:, 0])
        )
    )
    for t in sorted({1, 2, lookback - 1, lookback, lookback + 1, lookback + 2} - {-1, 0}):
        check_case(backend, case, make_ohlcv(t, 6, seed=t, ragged=0.5, min_start_left=0))


@pytest.mark.parametrize("value", [10.0, 0.0, 1e-6, 12345.678])
@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
def test_constant_series(backend, case, value):
    check_case(backend, case, constant(60, 3, value=value))


@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
def test_flat_then_moving(backend, case):
    check_case(backend, case, flat_then_moving(90, 5, seed=3, flat_until=40))
    check_case(backend, case, moving_then_flat(90, 5, seed=4, flat_from=35))


@pytest.mark.parametrize("t", [260, 40, 5])
def test_fused_equals_last_row(backend, t):
    mod = registry.load_backend(backend)
    if not hasattr(mod, "fused_indicators"):
        pytest.skip(f"backend {backend!r} has no fused path")
    d = make_ohlcv(t, 30, seed=t, ragged=0.3, min_start_left=0)
    flat = constant(t, 2, value=7.5)
    d = {k: np.ascontiguousarray(np.hstack([d[k], flat[k]])) for k in d}
    got = mod.fused_indicators(d["open"], d["high"], d["low"], d["close"], d["volume"])
    assert list(got) == list(_fused.FUSED)
    for key, (fname, params, k) in _fused.FUSED.items():
        ins = _fused.INPUTS[fname]
        full = getattr(ind, fname)(*(d[a] for a in ins), **params, backend=backend)
        full = full if isinstance(full, tuple) else (full,)
        want = full[k][-1]
        assert got[key].shape == want.shape
        kind = (
            "volume"
            if fname == "obv"
            else ("price" if fname in ("sma", "macd", "bbands", "atr") else "osc")
        )
        assert_close(got[key][None, :], want[None, :], scale_of(kind, d), f"fused {key}")
        if backend == "numba":  # documented: the same steps, so the same bits
            np.testing.assert_array_equal(got[key], want, err_msg=f"fused {key}")


def test_fused_differs_when_data_differs(backend):
    # guards against a fused path that ignores its input
    mod = registry.load_backend(backend)
    if not hasattr(mod, "fused_indicators"):
        pytest.skip(f"backend {backend!r} has no fused path")
    a = make_ohlcv(260, 4, seed=11, ragged=0.0)
    b = make_ohlcv(260, 4, seed=12, ragged=0.0)
    fa = mod.fused_indicators(*(a[k] for k in ("open", "high", "low", "close", "volume")))
    fb = mod.fused_indicators(*(b[k] for k in ("open", "high", "low", "close", "volume")))
    assert not np.allclose(fa["rsi_14"], fb["rsi_14"])


# ---------------------------------------------------------------- properties


@st.composite
def ohlcv_frames(draw):
    """Random lengths, ragged starts, constant runs, prices from 1e-4 to 1e6."""
    t = draw(st.integers(1, 70))
    n = draw(st.integers(1, 3))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    level = 10.0 ** draw(st.floats(-4, 6))
    step = draw(st.sampled_from([0.0, 1e-12, 1e-3, 0.05, 0.5]))
    ret = rng.normal(0.0, step, (t, n))
    if draw(st.booleans()):  # constant runs (halts, pegged prices)
        for j in range(n):
            a = rng.integers(0, t)
            ret[a : a + rng.integers(1, t + 1), j] = 0.0
    close = np.clip(level * np.exp(np.cumsum(ret, axis=0)), 1e-4, 1e6)
    span = np.abs(rng.normal(0.0, step, (t, n))) * close * draw(st.sampled_from([0.0, 1.0]))
    open_ = np.clip(close * np.exp(rng.normal(0.0, step, (t, n))), 1e-4, 1e6)
    high = np.maximum(open_, close) + span
    low = np.maximum(np.minimum(open_, close) - span, 1e-5)
    volume = np.where(rng.random((t, n)) < 0.2, 0.0, np.round(10.0 ** rng.uniform(0, 10, (t, n))))
    data = {"open": open_, "high": high, "low": low, "close": close, "volume": volume}
    starts = [draw(st.integers(0, t)) for _ in range(n)]
    for j, s in enumerate(starts):
        for a in data.values():
            a[:s, j] = np.nan
    return {k: np.ascontiguousarray(v) for k, v in data.items()}


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=ohlcv_frames(), case=st.sampled_from(CASES))
def _property(backend_name, data, case):
    check_case(backend_name, case, data)


def test_property_matches_talib(backend):
    _property(backend)


@pytest.mark.parametrize("case", CASES[::3], ids=CASE_IDS[::3])
def test_wide_universe(backend, case):
    # enough symbols for the fast backends to split the columns across threads
    check_case(backend, case, make_ohlcv(70, 700, seed=5, ragged=0.2))
