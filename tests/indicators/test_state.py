"""Indicator state: built from a history or advanced bar by bar, it equals TA-Lib."""

import numpy as np
import pytest
import talib

from technic_core.indicators import IndicatorInputError
from technic_core.indicators.state import FIELDS, IndicatorState, StateParams, build_state
from technic_core.universe.generate import generate_universe

RTOL = 1e-9


def reference(f, p: StateParams) -> dict[str, np.ndarray]:
    """Every output of ``p`` by TA-Lib, full length, column by column (leading NaNs skipped)."""
    o, h, lo, c, v = (f[k] for k in FIELDS)
    t, n = c.shape
    out: dict[str, np.ndarray] = {}

    def put(key, func, *arrays, **kw):
        res = np.full((t, n), np.nan)
        for j in range(n):
            start = (
                int(np.argmax(~np.isnan(arrays[0][:, j])))
                if (~np.isnan(arrays[0][:, j])).any()
                else t
            )
            if start == t:
                continue
            r = func(*(a[start:, j] for a in arrays), **kw)
            res[start:, j] = r
        out[key] = res

    for per in p.sma:
        put(f"sma_{per}", talib.SMA, c, timeperiod=per)
    for per in p.ema:
        put(f"ema_{per}", talib.EMA, c, timeperiod=per)
    put(f"rsi_{p.rsi}", talib.RSI, c, timeperiod=p.rsi)
    f_, s_, g_ = p.macd
    for k, idx in (("macd", 0), ("macd_signal", 1), ("macd_hist", 2)):
        put(k, lambda x, i=idx: talib.MACD(x, f_, s_, g_)[i], c)
    bp, up, dn = p.bbands
    for k, idx in (("bb_upper", 0), ("bb_middle", 1), ("bb_lower", 2)):
        put(k, lambda x, i=idx: talib.BBANDS(x, bp, up, dn, 0)[i], c)
    put(f"atr_{p.atr}", talib.ATR, h, lo, c, timeperiod=p.atr)
    fk, sk, sd = p.stoch
    put("stoch_k", lambda a, b, x: talib.STOCH(a, b, x, fk, sk, 0, sd, 0)[0], h, lo, c)
    put("stoch_d", lambda a, b, x: talib.STOCH(a, b, x, fk, sk, 0, sd, 0)[1], h, lo, c)
    put(f"adx_{p.adx}", talib.ADX, h, lo, c, timeperiod=p.adx)
    put(f"mfi_{p.mfi}", talib.MFI, h, lo, c, v, timeperiod=p.mfi)
    put(f"cci_{p.cci}", talib.CCI, h, lo, c, timeperiod=p.cci)
    put(f"willr_{p.willr}", talib.WILLR, h, lo, c, timeperiod=p.willr)
    put(f"roc_{p.roc}", talib.ROC, c, timeperiod=p.roc)
    put("obv", talib.OBV, c, v)
    return out


def assert_close(got: np.ndarray, want: np.ndarray, what: str) -> None:
    nan_g, nan_w = np.isnan(got), np.isnan(want)
    assert np.array_equal(nan_g, nan_w), (
        f"{what}: NaN differs at columns {np.flatnonzero(nan_g != nan_w)[:10]}"
    )
    both = ~nan_g
    tol = RTOL * np.maximum(np.maximum(np.abs(got[both]), np.abs(want[both])), 1.0)
    bad = np.abs(got[both] - want[both]) > tol
    assert not bad.any(), f"{what}: {got[both][bad][:5]} vs {want[both][bad][:5]}"


def ragged_universe(n=90, t=260, seed=5):
    """Generated bars, with histories cut to every length from 1 to 80 on some columns."""
    g = generate_universe(n, t, seed)
    f = {k: getattr(g, k).copy() for k in FIELDS}
    lengths = np.arange(1, 81)
    for j, m in enumerate(lengths[: n // 2]):
        for k in FIELDS:
            f[k][: t - m, j] = np.nan
    return f


@pytest.fixture(scope="module")
def bars():
    return ragged_universe()


@pytest.fixture(scope="module")
def ref(bars):
    return reference(bars, StateParams())


def test_built_state_equals_talib_at_the_last_bar(bars, ref):
    st = build_state(bars)
    vals = st.values()
    assert set(vals) == set(ref)
    for k, want in ref.items():
        assert_close(vals[k], want[-1], k)
    assert np.array_equal(st.n_bars, (~np.isnan(bars["close"])).sum(axis=0))


def test_advancing_bar_by_bar_equals_talib_at_every_bar_and_the_built_state(bars, ref):
    """Cross every lookback: histories of 1..80 bars get 40 more bars, one at a time."""
    k = 40
    first = {f: a[:-k] for f, a in bars.items()}
    st = build_state(first)
    for r in range(k, 0, -1):
        row = bars["close"].shape[0] - r
        st.advance(*(bars[f][row] for f in FIELDS))
        vals = st.values()
        for key, want in ref.items():
            assert_close(vals[key], want[row], f"{key} at row {row}")
    full = build_state(bars)
    # the same arithmetic in the same order: bit for bit, NaN in the same places
    assert np.array_equal(st.rows, full.rows, equal_nan=True)


def test_advancing_several_bars_at_once(bars):
    st = build_state({f: a[:-5] for f, a in bars.items()})
    st.advance(*(bars[f][-5:] for f in FIELDS))
    assert np.array_equal(st.rows, build_state(bars).rows, equal_nan=True)


def test_symbols_without_a_new_bar_keep_their_state(bars):
    st = build_state({f: a[:-1] for f, a in bars.items()})
    before = st.rows.copy()
    new = {f: bars[f][-1].copy() for f in FIELDS}
    skip = np.arange(0, new["close"].size, 3)
    for f in FIELDS:
        new[f][skip] = np.nan
    st.advance(*(new[f] for f in FIELDS))
    assert np.array_equal(st.rows[skip], before[skip], equal_nan=True)
    moved = np.setdiff1d(np.arange(new["close"].size), skip)
    moved = moved[~np.isnan(bars["close"][-1, moved])]
    assert (st.n_bars[moved] == (~np.isnan(bars["close"][:, moved])).sum(axis=0)).all()


def test_other_parameters_equal_talib():
    p = StateParams(
        sma=(1, 7),
        ema=(1, 5),
        rsi=3,
        macd=(6, 4, 2),
        bbands=(9, 1.5, 2.5),
        atr=1,
        stoch=(5, 1, 4),
        adx=4,
        mfi=3,
        cci=5,
        willr=2,
        roc=1,
    )
    f = ragged_universe(40, 120, seed=9)
    want = reference(f, StateParams(**{**p.__dict__, "macd": p.macd_periods}))
    st = build_state({k: a[:-3] for k, a in f.items()}, p)
    st.advance(*(f[k][-3:] for k in FIELDS))
    for key, w in want.items():
        assert_close(st.values()[key], w[-1], key)


def flat_and_tiny():
    """Halted stretches, flat windows, sub-micro prices, heavy-tailed and zero volume.

    TA-Lib's zero tests decide these: a gain average of 1e-10 is not zero
    (RSI), a window of halted bars empties MFI's sums exactly, a flat window
    divides by nothing (STOCH, WILLR, CCI, BBANDS).
    """
    t = 120
    rng = np.random.default_rng(3)
    closes = []
    base = 10 * np.exp(np.cumsum(rng.normal(0, 0.02, t)))
    flat = base.copy()
    flat[30:90] = flat[30]  # a long halt
    closes += [base, flat, base * 1e-5, base * 1e-9, np.full(t, 3.25), np.round(base, 1)]
    for _ in range(24):  # halts after bursts of wildly different volume
        c = 5 * np.exp(np.cumsum(rng.normal(0, 0.03, t)))
        a = int(rng.integers(20, 80))
        c[a : a + 25] = c[a]
        closes.append(c)
    cols = []
    for c in closes:
        h = c * 1.01
        lo = c * 0.99
        same = np.r_[False, c[1:] == c[:-1]]
        h[same], lo[same] = c[same], c[same]
        v = np.where(same, 0.0, np.round(np.exp(rng.normal(8, 4, t))))
        cols.append((c, h, lo, v))
    return {
        "open": np.column_stack([c for c, *_ in cols]),
        "high": np.column_stack([h for _, h, _, _ in cols]),
        "low": np.column_stack([lo for _, _, lo, _ in cols]),
        "close": np.column_stack([c for c, *_ in cols]),
        "volume": np.column_stack([v for *_, v in cols]),
    }


def test_flat_windows_and_tiny_prices_follow_talib():
    f = flat_and_tiny()
    want = reference(f, StateParams())
    st = build_state({k: a[:60] for k, a in f.items()})
    for row in range(60, f["close"].shape[0]):
        st.advance(*(f[k][row] for k in FIELDS))
        for key, w in want.items():
            assert_close(st.values()[key], w[row], f"{key} at row {row}")


def test_tail_is_the_last_bars_right_aligned(bars):
    p = StateParams(keep=(("close", 64), ("open", 10), ("volume", 20)))
    st = build_state(bars, p)
    for fld, k in p.keep:
        assert np.array_equal(st.tail(fld, k), bars[fld][-k:], equal_nan=True)
    with pytest.raises(IndicatorInputError, match="keeps"):
        st.tail("open", 11)


def test_bad_input_is_named():
    with pytest.raises(IndicatorInputError, match="non-negative"):
        StateParams(rsi=-1)
    with pytest.raises(IndicatorInputError, match="unknown field"):
        StateParams(keep=(("vwap", 3),))
    g = ragged_universe(6, 40)
    st = build_state(g)
    bad = {k: g[k][-1].copy() for k in FIELDS}
    bad["high"][2] = np.nan
    with pytest.raises(IndicatorInputError, match="high and close are not NaN in the same"):
        st.advance(*(bad[k] for k in FIELDS))
    bad["volume"][0] = np.inf  # an infinity is named before a NaN out of place
    with pytest.raises(IndicatorInputError, match="volume holds an infinite value"):
        st.advance(*(bad[k] for k in FIELDS))
    bad["volume"][0] = 1.0
    bad["open"][5] = np.nan  # the first field in order is named, wherever its NaN is
    with pytest.raises(IndicatorInputError, match="open and close are not NaN"):
        st.advance(*(bad[k] for k in FIELDS))
    two = {k: g[k][-2:].copy() for k in FIELDS}
    two["low"][1, 3] = -np.inf
    with pytest.raises(IndicatorInputError, match="low holds an infinite value"):
        st.advance(*(two[k] for k in FIELDS))
    gap = {k: a.copy() for k, a in g.items()}
    for k in FIELDS:
        gap[k][30, 4] = np.nan
    with pytest.raises(IndicatorInputError, match="interior gaps"):
        build_state(gap)
    with pytest.raises(IndicatorInputError, match="symbols"):
        st.advance(*(g[k][-1][:3] for k in FIELDS))
    with pytest.raises(IndicatorInputError, match="float64"):
        IndicatorState(StateParams(), np.zeros((2, 3)))


def test_params_ident_changes_with_any_parameter():
    a = StateParams()
    assert a.ident() == StateParams().ident()
    assert a.ident() != StateParams(rsi=15).ident()
    assert a.ident() != StateParams(bbands=(20, 2.0, 2.5)).ident()
    assert a.ident() != StateParams(keep=(("close", 64),)).ident()


def _first_defect(fields):
    """bar_defect's answer the slow way: numpy, field by field."""
    for f, x in enumerate(fields):
        if np.isinf(x).any():
            return 1, f, int(np.flatnonzero(np.isinf(x))[0])
    c = fields[3]
    for f in (0, 1, 2, 4):
        odd = np.isnan(fields[f]) != np.isnan(c)
        if odd.any():
            return 2, f, int(np.flatnonzero(odd)[0])
    return 0, 0, int((~np.isnan(c)).sum())


@pytest.mark.parametrize("seed", range(40))
def test_bar_defect_finds_every_defect_its_fast_pass_screens(seed):
    # the clean-bar pass is branch-free arithmetic (NaN * 0, inf * 0); a defect it let through
    # would be advanced into the state as if it were a bar
    from technic_core.indicators.kernels.state_step import bar_defect

    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 300))
    fields = [rng.random(n) * 100 for _ in range(5)]
    gone = rng.random(n) < 0.2  # no bar: all five NaN
    for x in fields:
        x[gone] = np.nan
    for _ in range(int(rng.integers(0, 3))):  # a few defects, of any kind, anywhere
        f, i = int(rng.integers(5)), int(rng.integers(n))
        fields[f][i] = rng.choice([np.nan, np.inf, -np.inf, 1.0])
    assert tuple(int(x) for x in bar_defect(*fields)) == _first_defect(fields)
