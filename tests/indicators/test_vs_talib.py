"""Every backend against TA-Lib: same values (1e-9 relative), NaN in the same places."""

import numpy as np
import pytest
import talib
from hypothesis import given, settings
from hypothesis import strategies as st

from technic_core import indicators as ind

from .cases import ragged, random_walk, with_awkward_columns

BACKENDS = [b for b in ind.available_backends() if b != "talib"]

# name -> (our call on a field dict, TA-Lib call on one column's field dict)
SPECS = {
    "sma": (lambda f, b: ind.sma(f["close"], 20, backend=b), lambda f: talib.SMA(f["close"], 20)),
    "sma1": (lambda f, b: ind.sma(f["close"], 1, backend=b), lambda f: talib.SMA(f["close"], 1)),
    "ema": (lambda f, b: ind.ema(f["close"], 21, backend=b), lambda f: talib.EMA(f["close"], 21)),
    "rsi": (lambda f, b: ind.rsi(f["close"], 14, backend=b), lambda f: talib.RSI(f["close"], 14)),
    "macd": (
        lambda f, b: ind.macd(f["close"], 12, 26, 9, backend=b),
        lambda f: talib.MACD(f["close"], 12, 26, 9),
    ),
    "macd_swapped": (
        lambda f, b: ind.macd(f["close"], 26, 12, 5, backend=b),
        lambda f: talib.MACD(f["close"], 26, 12, 5),
    ),
    "bbands": (
        lambda f, b: ind.bbands(f["close"], 20, 2.0, 2.0, backend=b),
        lambda f: talib.BBANDS(f["close"], 20, 2.0, 2.0, 0),
    ),
    "bbands_asym": (
        lambda f, b: ind.bbands(f["close"], 10, 1.5, 2.5, backend=b),
        lambda f: talib.BBANDS(f["close"], 10, 1.5, 2.5, 0),
    ),
    "atr": (
        lambda f, b: ind.atr(f["high"], f["low"], f["close"], 14, backend=b),
        lambda f: talib.ATR(f["high"], f["low"], f["close"], 14),
    ),
    "stoch": (
        lambda f, b: ind.stoch(f["high"], f["low"], f["close"], 14, 3, 0, 3, 0, backend=b),
        lambda f: talib.STOCH(f["high"], f["low"], f["close"], 14, 3, 0, 3, 0),
    ),
    "stoch_default": (
        lambda f, b: ind.stoch(f["high"], f["low"], f["close"], backend=b),
        lambda f: talib.STOCH(f["high"], f["low"], f["close"]),
    ),
    "adx": (
        lambda f, b: ind.adx(f["high"], f["low"], f["close"], 14, backend=b),
        lambda f: talib.ADX(f["high"], f["low"], f["close"], 14),
    ),
    "obv": (
        lambda f, b: ind.obv(f["close"], f["volume"], backend=b),
        lambda f: talib.OBV(f["close"], f["volume"]),
    ),
    "roc": (lambda f, b: ind.roc(f["close"], 10, backend=b), lambda f: talib.ROC(f["close"], 10)),
    "willr": (
        lambda f, b: ind.willr(f["high"], f["low"], f["close"], 14, backend=b),
        lambda f: talib.WILLR(f["high"], f["low"], f["close"], 14),
    ),
    "cci": (
        lambda f, b: ind.cci(f["high"], f["low"], f["close"], 14, backend=b),
        lambda f: talib.CCI(f["high"], f["low"], f["close"], 14),
    ),
    "mfi": (
        lambda f, b: ind.mfi(f["high"], f["low"], f["close"], f["volume"], 14, backend=b),
        lambda f: talib.MFI(f["high"], f["low"], f["close"], f["volume"], 14),
    ),
}


def assert_equal_to_talib(got, ref, what):
    got = got if isinstance(got, tuple) else (got,)
    ref = ref if isinstance(ref, tuple) else (ref,)
    assert len(got) == len(ref), what
    for k, (a, b) in enumerate(zip(got, ref)):
        nan_a, nan_b = np.isnan(a), np.isnan(b)
        assert np.array_equal(nan_a, nan_b), (
            f"{what} output {k}: NaN at {np.flatnonzero(nan_a != nan_b)[:5]}"
        )
        m = ~nan_a
        # 1e-9 relative; near zero (oscillators crossing 0) the scale is the series' own magnitude
        scale = max(1.0, float(np.max(np.abs(b[m])))) if m.any() else 1.0
        np.testing.assert_allclose(
            a[m], b[m], rtol=1e-9, atol=1e-9 * scale, err_msg=f"{what} output {k}"
        )


def check_block(fields, backend, name):
    ours, ref = SPECS[name]
    got = ours(fields, backend)
    got = got if isinstance(got, tuple) else (got,)
    for j in range(fields["close"].shape[1]):
        col = {k: np.ascontiguousarray(v[:, j]) for k, v in fields.items()}
        assert_equal_to_talib(
            tuple(g[:, j] for g in got), ref(col), f"{name}[{backend}] column {j}"
        )


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("name", sorted(SPECS))
@pytest.mark.parametrize("seed", [1, 2])
def test_ragged_universe(backend, name, seed):
    check_block(with_awkward_columns(ragged(16, 280, seed)), backend, name)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("name", sorted(SPECS))
@pytest.mark.parametrize("n_bars", [1, 2, 13, 14, 15, 27, 28, 33, 34, 35, 60])
def test_short_series_around_the_lookback(backend, name, n_bars):
    f = random_walk(n_bars, seed=n_bars)
    ours, ref = SPECS[name]
    assert_equal_to_talib(ours(f, backend), ref(f), f"{name}[{backend}] T={n_bars}")


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("name", sorted(SPECS))
def test_one_dimensional_input_keeps_its_shape(backend, name):
    f = random_walk(120, seed=5, start_nan=7)
    out = SPECS[name][0](f, backend)
    for o in out if isinstance(out, tuple) else (out,):
        assert o.shape == (120,)
    assert_equal_to_talib(out, SPECS[name][1](f), name)


@pytest.mark.parametrize("backend", BACKENDS)
def test_interior_nan_is_rejected_naming_column_and_row(backend):
    f = ragged(5, 80, 3)
    f["close"][50, 3] = np.nan
    with pytest.raises(ind.IndicatorInputError, match=r"column 3 has a NaN at row 50"):
        ind.rsi(f["close"], 14, backend=backend)


@pytest.mark.parametrize("backend", BACKENDS)
def test_mismatched_starts_are_rejected(backend):
    f = ragged(4, 60, 3)
    f["volume"][:5, 1] = np.nan
    with pytest.raises(ind.IndicatorInputError, match="volume column 1 starts at row 5"):
        ind.obv(f["close"], f["volume"], backend=backend)


def test_invalid_periods_are_rejected_like_talib():
    x = np.arange(50.0) + 1
    for call in (
        lambda: ind.rsi(x, 1),
        lambda: ind.bbands(x, 1),
        lambda: ind.sma(x, 0),
        lambda: ind.macd(x, 1, 26, 9),
        lambda: ind.adx(x, x, x, 1),
        lambda: ind.sma(x, 2.5),
    ):
        with pytest.raises(ind.IndicatorInputError):
            call()
    with pytest.raises(ind.IndicatorInputError, match="only matype=0"):
        ind.bbands(x, 20, matype=1)


def test_unknown_backend_is_a_clear_error():
    with pytest.raises(ValueError, match="unknown indicator backend 'warp'"):
        ind.sma(np.arange(40.0), 5, backend="warp")


@settings(max_examples=40, deadline=None)
@given(
    n_bars=st.integers(1, 90),
    start=st.integers(0, 30),
    seed=st.integers(0, 10_000),
    flat=st.tuples(st.integers(0, 90), st.integers(0, 40)),
    scale=st.sampled_from([1e-3, 1.0, 1e4]),
)
def test_property_all_backends_equal_talib(n_bars, start, seed, flat, scale):
    a = min(flat[0], n_bars)
    f = random_walk(
        n_bars,
        seed,
        start_nan=min(start, n_bars),
        flat_run=(a, min(n_bars, a + flat[1])),
        scale=scale,
    )
    for backend in BACKENDS:
        for name in SPECS:
            ours, ref = SPECS[name]
            assert_equal_to_talib(ours(f, backend), ref(f), f"{name}[{backend}]")


def test_infinity_is_rejected_naming_column_and_row():
    f = ragged(4, 60, 3)
    f["high"][40, 2] = np.inf
    with pytest.raises(
        ind.IndicatorInputError, match="high column 2 holds an infinite value at row 40"
    ):
        ind.atr(f["high"], f["low"], f["close"], 14)
