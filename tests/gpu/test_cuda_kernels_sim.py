"""The ``cupy`` backend against TA-Lib, column by column.

Without an NVIDIA driver, tests/conftest.py turns on Numba's CUDA simulator:
the same kernels then run on the CPU on NumPy arrays, through the same
backend functions.  On a machine with a device the very same tests run the
kernels on the GPU through CuPy.  The data are tiny because the simulator
runs each GPU thread as a Python thread.
"""

from __future__ import annotations

import numpy as np
import pytest

talib = pytest.importorskip("talib")

from technic_core import indicators  # noqa: E402
from technic_core.indicators import BackendUnavailable, IndicatorInputError  # noqa: E402
from technic_core.indicators.backends import cupy_backend as gpu  # noqa: E402
from technic_core.indicators.backends import cupy_timing  # noqa: E402

RTOL = 1e-9

if not gpu.simulated():
    pytest.importorskip(
        "cupy",
        reason="a CUDA device needs the gpu extra (pip install '.[gpu]'); "
        "NUMBA_ENABLE_CUDASIM=1 tests in the simulator instead",
    )


def make_universe(n_bars: int = 260, seed: int = 7) -> dict[str, np.ndarray]:
    """A small ragged universe whose columns hit the conventions' corner cases."""
    rng = np.random.default_rng(seed)
    cols = []

    def walk(level, vol):
        return level * np.exp(np.cumsum(rng.normal(0, vol, n_bars)))

    def bars(close, spread):
        high = close * (1 + rng.uniform(0, spread, n_bars))
        low = close * (1 - rng.uniform(0, spread, n_bars))
        return high, low

    for level, vol, spread in (
        (50, 0.02, 0.01),
        (8, 0.05, 0.03),
        (1500, 0.01, 0.005),
        (0.002, 0.04, 0.02),
    ):
        c = walk(level, vol)
        h, lo = bars(c, spread)
        cols.append((h, lo, c, rng.uniform(1e4, 1e6, n_bars).round()))
    flat = np.full(n_bars, 12.5)  # constant for the whole history
    cols.append((flat.copy(), flat.copy(), flat.copy(), np.full(n_bars, 1000.0)))
    c = walk(30, 0.03)
    c[:70] = 30.0  # flat, then moving
    h, lo = bars(c, 0.01)
    h[:70] = lo[:70] = 30.0
    cols.append((h, lo, c, rng.uniform(1e3, 1e5, n_bars).round()))
    ticks = np.round(20 + np.cumsum(rng.choice([-0.01, 0.0, 0.0, 0.01], n_bars)), 2)
    v = rng.uniform(100, 5000, n_bars).round()
    v[100:130] = 0.0  # a halted stretch: no volume
    cols.append(
        (
            np.round(ticks + rng.choice([0, 0.01], n_bars), 2),
            np.round(ticks - rng.choice([0, 0.01], n_bars), 2),
            ticks,
            v,
        )
    )
    for _ in range(9):  # plain random walks
        c = walk(rng.uniform(5, 200), rng.uniform(0.01, 0.04))
        h, lo = bars(c, 0.015)
        cols.append((h, lo, c, rng.uniform(1e4, 1e6, n_bars).round()))
    high, low, close, volume = (np.column_stack([col[i] for col in cols]) for i in range(4))
    openp = close * (1 + rng.normal(0, 0.003, close.shape))
    # Ragged starts: recent listings, one too short for anything long, one not yet listed.
    starts = [0, 0, 17, 0, 0, 45, 0, 3, 90, 0, 150, n_bars - 12, 0, 0, 200, n_bars]
    assert len(starts) == close.shape[1]
    data = {"open": openp, "high": high, "low": low, "close": close, "volume": volume}
    for j, s in enumerate(starts):
        for a in data.values():
            a[:s, j] = np.nan
    return {k: np.ascontiguousarray(v) for k, v in data.items()}


@pytest.fixture(scope="module")
def uni():
    return make_universe()


def ta_columns(func, arrays, n_out, **params):
    """TA-Lib applied column by column, stacked back into (T, N) arrays."""
    t_len, n_sym = arrays[0].shape
    outs = [np.full((t_len, n_sym), np.nan) for _ in range(n_out)]
    for j in range(n_sym):
        cols = [np.ascontiguousarray(a[:, j]) for a in arrays]
        if np.isnan(cols[0]).all():
            continue  # TA-Lib gives all-NaN; so must we
        res = func(*cols, **params)
        res = res if isinstance(res, tuple) else (res,)
        for o, r in zip(outs, res):
            o[:, j] = r
    return outs


# (backend function, TA-Lib function, input fields, outputs, parameter sets)
CASES = [
    (
        "sma",
        talib.SMA,
        ("close",),
        1,
        [dict(timeperiod=20), dict(timeperiod=1), dict(timeperiod=200)],
    ),
    ("ema", talib.EMA, ("close",), 1, [dict(timeperiod=12), dict(timeperiod=1)]),
    ("rsi", talib.RSI, ("close",), 1, [dict(timeperiod=14), dict(timeperiod=2)]),
    (
        "macd",
        talib.MACD,
        ("close",),
        3,
        [
            dict(fastperiod=12, slowperiod=26, signalperiod=9),
            dict(fastperiod=7, slowperiod=3, signalperiod=1),
        ],
    ),
    (
        "bbands",
        talib.BBANDS,
        ("close",),
        3,
        [
            dict(timeperiod=20, nbdevup=2.0, nbdevdn=2.0),
            dict(timeperiod=5, nbdevup=1.5, nbdevdn=2.5),
        ],
    ),
    ("atr", talib.ATR, ("high", "low", "close"), 1, [dict(timeperiod=14), dict(timeperiod=1)]),
    (
        "stoch",
        talib.STOCH,
        ("high", "low", "close"),
        2,
        [
            dict(fastk_period=14, slowk_period=3, slowd_period=3),
            dict(fastk_period=5, slowk_period=1, slowd_period=4),
        ],
    ),
    ("adx", talib.ADX, ("high", "low", "close"), 1, [dict(timeperiod=14), dict(timeperiod=3)]),
    ("obv", talib.OBV, ("close", "volume"), 1, [{}]),
    ("roc", talib.ROC, ("close",), 1, [dict(timeperiod=10), dict(timeperiod=1)]),
    ("willr", talib.WILLR, ("high", "low", "close"), 1, [dict(timeperiod=14)]),
    ("cci", talib.CCI, ("high", "low", "close"), 1, [dict(timeperiod=14), dict(timeperiod=5)]),
    (
        "mfi",
        talib.MFI,
        ("high", "low", "close", "volume"),
        1,
        [dict(timeperiod=14), dict(timeperiod=3)],
    ),
]
PARAMS = [(name, tf, fields, n_out, p) for name, tf, fields, n_out, ps in CASES for p in ps]


def talib_params(name, params):
    if name == "stoch":  # TA-Lib's STOCH also takes the MA types (0 = SMA)
        return dict(params, slowk_matype=0, slowd_matype=0)
    if name == "bbands":
        return dict(params, matype=0)
    return params


@pytest.mark.parametrize(
    "name,ta_func,fields,n_out,params",
    PARAMS,
    ids=[f"{c[0]}-{'-'.join(map(str, c[4].values())) or 'default'}" for c in PARAMS],
)
def test_indicator_matches_talib(uni, name, ta_func, fields, n_out, params):
    arrays = [uni[f] for f in fields]
    got = getattr(gpu, name)(*arrays, **params)
    got = got if isinstance(got, tuple) else (got,)
    want = ta_columns(ta_func, arrays, n_out, **talib_params(name, params))
    assert len(got) == n_out
    for g, w in zip(got, want):
        assert isinstance(g, np.ndarray) and g.dtype == np.float64 and g.shape == w.shape
        np.testing.assert_array_equal(np.isnan(g), np.isnan(w))
        np.testing.assert_allclose(g, w, rtol=RTOL, atol=0.0, equal_nan=True)
        # The kernels replay TA-Lib's operations in its order, so nothing is left
        # to round differently: equal bit for bit (a contracted FMA would show here).
        np.testing.assert_array_equal(g, w)


def test_conventions_on_flat_and_short_columns(uni):
    """Spot checks that would catch a wrong zero-division or seeding rule."""
    flat = 4  # constant for the whole history
    assert gpu.rsi(uni["close"], 14)[-1, flat] == 0.0
    assert gpu.willr(uni["high"], uni["low"], uni["close"], 14)[-1, flat] == 0.0
    assert gpu.cci(uni["high"], uni["low"], uni["close"], 14)[-1, flat] == 0.0
    assert gpu.mfi(uni["high"], uni["low"], uni["close"], uni["volume"], 14)[-1, flat] == 0.0
    upper, middle, lower = gpu.bbands(uni["close"], 20, 2.0, 2.0)
    assert upper[-1, flat] == middle[-1, flat] == lower[-1, flat] == 12.5
    obv = gpu.obv(uni["close"], uni["volume"])
    assert obv[0, 0] == uni["volume"][0, 0]  # OBV starts at the first volume
    short = 11  # 12 bars of history
    assert np.isnan(gpu.sma(uni["close"], 20)[:, short]).all()
    assert np.isnan(gpu.sma(uni["close"], 20)[:, 15]).all()  # never listed


def test_fused_equals_separate_functions(uni):
    fused = gpu.fused_indicators(uni["open"], uni["high"], uni["low"], uni["close"], uni["volume"])
    assert tuple(fused) == gpu.FUSED_KEYS
    h, lo, c, v = uni["high"], uni["low"], uni["close"], uni["volume"]
    m, ms, mh = gpu.macd(c, 12, 26, 9)
    bu, bm, bl = gpu.bbands(c, 20, 2.0, 2.0)
    sk, sd = gpu.stoch(h, lo, c, 14, 3, 3)
    separate = {
        "sma_20": gpu.sma(c, 20),
        "sma_50": gpu.sma(c, 50),
        "sma_200": gpu.sma(c, 200),
        "rsi_14": gpu.rsi(c, 14),
        "macd": m,
        "macd_signal": ms,
        "macd_hist": mh,
        "bb_upper": bu,
        "bb_middle": bm,
        "bb_lower": bl,
        "atr_14": gpu.atr(h, lo, c, 14),
        "stoch_k": sk,
        "stoch_d": sd,
        "adx_14": gpu.adx(h, lo, c, 14),
        "mfi_14": gpu.mfi(h, lo, c, v, 14),
        "cci_14": gpu.cci(h, lo, c, 14),
        "willr_14": gpu.willr(h, lo, c, 14),
        "roc_10": gpu.roc(c, 10),
        "obv": gpu.obv(c, v),
    }
    assert set(separate) == set(fused)
    for key, full in separate.items():
        assert fused[key].shape == (c.shape[1],)
        np.testing.assert_array_equal(fused[key], full[-1], err_msg=key)
    # sma_200 exists only where 200 bars do
    assert np.isnan(fused["sma_200"]).tolist() == [
        bool(np.isnan(c[:, j]).sum() > c.shape[0] - 200) for j in range(c.shape[1])
    ]


def test_fused_validates_input(uni):
    bad = uni["close"].copy()
    bad[50, 3] = np.nan
    with pytest.raises(IndicatorInputError, match="close column 3 has a NaN at row 50"):
        gpu.fused_indicators(uni["open"], uni["high"], uni["low"], bad, uni["volume"])


def test_resident_append_equals_full_recompute():
    full = make_universe(n_bars=240, seed=11)
    t0 = 200
    # Column 14 lists at row 200, column 15 (never listed in make_universe) at row 236:
    # both start inside the appended rows.
    for a in full.values():
        a[236:, 15] = 10.0 + np.arange(4)
    head = {k: v[:t0] for k, v in full.items()}
    res = gpu.DeviceUniverse(**head, capacity=t0 + 8)
    assert res.capacity == t0 + 8
    n_sym = full["close"].shape[1]
    assert res.uploaded_bytes == 5 * t0 * n_sym * 8
    before = res.uploaded_bytes
    res.append(**{k: v[t0 : t0 + 1][0] for k, v in full.items()})  # one bar as (N,)
    assert res.uploaded_bytes - before == 5 * 1 * n_sym * 8  # only the new row moved
    res.append(**{k: v[t0 + 1 :] for k, v in full.items()})  # 39 rows: outgrows capacity
    assert res.n_bars == 240 and res.capacity >= 240  # grew on the device
    assert res.uploaded_bytes == 5 * 240 * n_sym * 8  # nothing was uploaded twice

    expected = gpu.fused_indicators(**full)
    got = res.fused()
    for key in gpu.FUSED_KEYS:
        np.testing.assert_array_equal(got[key], expected[key], err_msg=key)
    np.testing.assert_array_equal(
        res.indicator("adx", timeperiod=14), gpu.adx(full["high"], full["low"], full["close"], 14)
    )
    m_res = res.indicator("macd", fastperiod=26, slowperiod=12, signalperiod=9)
    m_full = gpu.macd(full["close"], 12, 26, 9)
    for a, b in zip(m_res, m_full):
        np.testing.assert_array_equal(a, b)


def test_resident_append_rejects_gaps_and_bad_shapes():
    uni = make_universe(n_bars=60, seed=3)
    res = gpu.DeviceUniverse(**uni)
    row = {k: v[-1].copy() for k, v in uni.items()}
    row["close"][2] = np.nan  # column 2 has been trading: a gap, not a late listing
    with pytest.raises(IndicatorInputError, match="column 2 has a NaN at row 60"):
        res.append(**row)
    with pytest.raises(IndicatorInputError, match=r"must be \(k, 16\)"):
        res.append(**{k: v[-1, :5] for k, v in uni.items()})
    with pytest.raises(IndicatorInputError, match="unknown indicator 'vwap'"):
        res.indicator("vwap", timeperiod=5)
    with pytest.raises(IndicatorInputError, match="missing"):
        res.indicator("sma")
    assert res.n_bars == 60


def test_probe_and_registry_agree_with_this_machine():
    reason = indicators.unavailable_reason("cupy")
    if gpu.simulated():
        # The simulator is a test mode: never an available backend.
        assert reason is not None and reason.startswith("no CUDA device")
        assert "simulator" in reason
        assert "cupy" not in indicators.available_backends()
        with pytest.raises(BackendUnavailable, match="no CUDA device"):
            indicators.sma(np.arange(30.0), 5, backend="cupy")
        with pytest.raises(BackendUnavailable, match="needs a CUDA device"):
            cupy_timing.time_on_device(100, 50)
    else:
        assert reason is None, reason
        assert "cupy" in indicators.available_backends()
        x = np.arange(30.0)
        np.testing.assert_array_equal(indicators.sma(x, 5, backend="cupy"), talib.SMA(x, 5))
        timing = cupy_timing.time_on_device(64, 260, repeats=2)
        assert timing["upload_ms"] > 0 and timing["compute_ms"] > 0


@pytest.mark.skipif(gpu.simulated(), reason="PTX exists only for a real device")
def test_ptx_keeps_products_unfused():
    """No plain ``mul.f64`` may reach an add: ptxas could fuse it into an FMA that
    TA-Lib does not do.  Products that reach an addition must be ``_mul`` (mul.rn)."""
    import re

    from numba import cuda, types

    from technic_core.indicators.kernels import cuda_kernels as kernels

    a2, i8, f8 = types.float64[:, ::1], types.int64, types.float64
    sigs = {
        "rsi_kernel": (a2, i8, a2),
        "bbands_kernel": (a2, i8, f8, f8, a2, a2, a2),
        "atr_kernel": (a2, a2, a2, i8, a2),
        "adx_kernel": (a2, a2, a2, i8, a2),
        "stoch_kernel": (a2, a2, a2, i8, i8, i8, a2, a2),
        "mfi_kernel": (a2, a2, a2, a2, i8, a2),
    }
    for name, sig in sigs.items():
        ptx, _ = cuda.compile_ptx_for_current_device(getattr(kernels, name).py_func, sig)
        for reg in re.findall(r"\bmul\.f64\s+(%fd\d+)", ptx):
            for ins in re.findall(r"\b(?:add|sub|fma\.rn)\.f64\s+[^;]*", ptx):
                operands = [o.strip() for o in ins.split(None, 1)[1].split(",")[1:]]
                assert reg not in operands, f"{name}: {reg} feeds {ins}"
