"""Phase 0's indicators: per-symbol pandas, as the original scanner computed them.

Each column is taken as its own pandas Series (dropping its leading NaNs) and
computed with rolling windows and ``ewm(adjust=False)``.  It is deliberately
the slow path, but it is exact: seeds and zero conventions follow TA-Lib's C
code (TA-Lib 0.8: ``TA_IS_ZERO`` is ``|x| < 1e-14``, flat windows are
detected relative to the prices (``|d| <= 1e-14 * scale``); EMA seeded with the SMA of its first
window; Wilder averages seeded with a plain mean; MACD's fast EMA seeded on
the window that ends where the slow one starts; MFI is 0 while its money flow
is below 1).  Interior NaNs never reach here: the public API rejects them.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

EPS = 1e-14  # TA-Lib 0.8's TA_EPSILON


def _is_zero(x):
    return (x > -EPS) & (x < EPS)


def _is_zero_scaled(x, scale):
    return x.abs() <= EPS * scale


def _columns(*arrays):
    """Yield (column index, first valid row, Series per input) for every column with data."""
    t, n = arrays[0].shape
    for j in range(n):
        col = arrays[0][:, j]
        valid = np.flatnonzero(~np.isnan(col))
        start = int(valid[0]) if valid.size else t
        yield j, start, [pd.Series(a[start:, j]) for a in arrays]


def _per_column(func, *arrays, n_out=1, **params):
    t, n = arrays[0].shape
    outs = [np.full((t, n), np.nan) for _ in range(n_out)]
    for j, start, series in _columns(*arrays):
        if len(series[0]) == 0:
            continue
        res = func(*series, **params)
        if n_out == 1:
            res = (res,)
        for o, r in zip(outs, res):
            o[start:, j] = np.asarray(r, dtype=np.float64)
    return outs[0] if n_out == 1 else tuple(outs)


# --- one-series building blocks ------------------------------------------------


def _sma(s: pd.Series, p: int) -> pd.Series:
    return s.rolling(p, min_periods=p).mean()


def _ema_from(s: pd.Series, p: int, seed_at: int, seed: float, alpha: float) -> pd.Series:
    """EMA that starts at ``seed_at`` with ``seed``, NaN before."""
    out = pd.Series(np.nan, index=s.index)
    if seed_at >= len(s):
        return out
    tail = s.iloc[seed_at:].copy()
    tail.iloc[0] = seed
    out.iloc[seed_at:] = tail.ewm(alpha=alpha, adjust=False).mean().to_numpy()
    return out


def _ema(s: pd.Series, p: int) -> pd.Series:
    if len(s) < p:
        return pd.Series(np.nan, index=s.index)
    return _ema_from(s, p, p - 1, float(s.iloc[:p].mean()), 2.0 / (p + 1))


def _wilder(s: pd.Series, p: int, seed_at: int, seed: float) -> pd.Series:
    """Wilder's average (alpha 1/p) seeded at ``seed_at``."""
    return _ema_from(s, p, seed_at, seed, 1.0 / p)


def _true_range(h: pd.Series, lo: pd.Series, c: pd.Series) -> pd.Series:
    prev = c.shift(1)
    tr = pd.concat([h - lo, (h - prev).abs(), (lo - prev).abs()], axis=1).max(axis=1, skipna=False)
    tr.iloc[:1] = np.nan
    return tr


# --- the indicators, one series each --------------------------------------------


def _rsi1(c: pd.Series, p: int) -> pd.Series:
    if len(c) <= p:
        return pd.Series(np.nan, index=c.index)
    d = c.diff()
    gain, loss = d.clip(lower=0), (-d).clip(lower=0)
    g = _wilder(gain, p, p, float(gain.iloc[1 : p + 1].sum() / p))
    lo = _wilder(loss, p, p, float(loss.iloc[1 : p + 1].sum() / p))
    total = g + lo
    # TA-Lib 0.8 gives 0 only when gain and loss are both exactly zero (a flat series)
    # TA-Lib's order: the ratio first, then x100 (100 * g first overflows near 1e308)
    return (100.0 * (g / total)).where(total != 0.0, 0.0).where(total.notna())


def _macd1(c: pd.Series, fast: int, slow: int, signal: int):
    nan = pd.Series(np.nan, index=c.index)
    start = slow - 1 + signal - 1
    if len(c) <= start:
        return nan, nan, nan
    slow_ema = _ema_from(c, slow, slow - 1, float(c.iloc[:slow].mean()), 2.0 / (slow + 1))
    # TA-Lib seeds the fast EMA on the fast window ending where the slow EMA begins.
    fast_ema = _ema_from(
        c, fast, slow - 1, float(c.iloc[slow - fast : slow].mean()), 2.0 / (fast + 1)
    )
    line = fast_ema - slow_ema
    sig = _ema_from(
        line, signal, start, float(line.iloc[slow - 1 : start + 1].mean()), 2.0 / (signal + 1)
    )
    line = line.where(c.index >= start)
    return line, sig, line - sig


def _bbands1(c: pd.Series, p: int, up: float, dn: float):
    mid = _sma(c, p)
    # deviation from the window's own mean, two passes, as TA-Lib 0.8 computes it
    # (pandas' online rolling std drifts after a flat run at large prices)
    std = c.rolling(p, min_periods=p).apply(
        lambda w: np.sqrt(np.mean((w - w.mean()) ** 2)), raw=True
    )
    return mid + up * std, mid, mid - dn * std


def _atr1(h, lo, c, p: int):
    tr = _true_range(h, lo, c)
    if p == 1:
        return tr
    if len(c) <= p:
        return pd.Series(np.nan, index=c.index)
    return _wilder(tr, p, p, float(tr.iloc[1 : p + 1].mean()))


def _stoch1(h, lo, c, fastk: int, slowk: int, slowd: int):
    hh = h.rolling(fastk, min_periods=fastk).max()
    ll = lo.rolling(fastk, min_periods=fastk).min()
    diff = (hh - ll) / 100.0
    flat = _is_zero_scaled(hh - ll, hh.abs() + ll.abs())
    k = ((c - ll) / diff).where(~flat, 0.0).where(diff.notna())
    sk = _sma(k, slowk)
    sd = _sma(sk, slowd)
    start = fastk - 1 + slowk - 1 + slowd - 1
    return sk.where(c.index >= start), sd


def _dm(h, lo):
    up = h.diff()
    down = -lo.diff()
    minus = down.where((down > 0) & (up < down), 0.0)
    plus = up.where(~((down > 0) & (up < down)) & (up > 0) & (up > down), 0.0)
    return plus, minus


def _adx1(h, lo, c, p: int):
    nan = pd.Series(np.nan, index=c.index)
    if len(c) < 2 * p:
        return nan
    plus, minus, tr = *_dm(h, lo), _true_range(h, lo, c)
    # Wilder sums seeded with the first p-1 values, kept as averages (sum / p) for ewm.
    seeds = {k: float(v.iloc[1:p].sum()) / p for k, v in (("p", plus), ("m", minus), ("t", tr))}
    sp = _wilder(plus, p, p - 1, seeds["p"]) * p
    sm = _wilder(minus, p, p - 1, seeds["m"]) * p
    st = _wilder(tr, p, p - 1, seeds["t"]) * p
    ok_tr = ~_is_zero(st)
    pdi, mdi = 100.0 * sp / st, 100.0 * sm / st
    di_sum = pdi + mdi
    dx = (100.0 * (mdi - pdi).abs() / di_sum).where(ok_tr & ~_is_zero(di_sum))
    first = 2 * p - 1
    seed = float(dx.iloc[p : first + 1].fillna(0.0).sum()) / p
    # a DX TA-Lib cannot compute leaves ADX where it was: ewm with ignore_na carries it
    tail = dx.iloc[first:].copy()
    tail.iloc[0] = seed
    out = nan.copy()
    out.iloc[first:] = tail.ewm(alpha=1.0 / p, adjust=False, ignore_na=True).mean().to_numpy()
    return out


def _obv1(c, v):
    step = np.sign(c.diff()).fillna(0.0) * v
    step.iloc[0] = v.iloc[0]
    return step.cumsum()


def _roc1(c, p: int):
    prev = c.shift(p)
    return (((c / prev) - 1.0) * 100.0).where(prev != 0, 0.0).where(prev.notna())


def _willr1(h, lo, c, p: int):
    hh = h.rolling(p, min_periods=p).max()
    ll = lo.rolling(p, min_periods=p).min()
    diff = (hh - ll) / -100.0
    flat = _is_zero_scaled(hh - ll, hh.abs() + ll.abs())
    return ((hh - c) / diff).where(~flat, 0.0).where(diff.notna())


def _cci1(h, lo, c, p: int):
    tp = (h + lo + c) / 3.0
    out = pd.Series(np.nan, index=c.index)
    if len(tp) < p:
        return out
    # TA-Lib sums its window in circular-buffer order, and on a near-flat window that
    # order decides the dead zone: reorder each window so, and sum sequentially (cumsum)
    w = np.lib.stride_tricks.sliding_window_view(tp.to_numpy(), p)
    k = np.arange(len(w))
    ring = w[k[:, None], (np.arange(p)[None, :] - k[:, None]) % p]
    avg = np.cumsum(ring, axis=1)[:, -1] / p
    dev = np.cumsum(np.abs(ring - avg[:, None]), axis=1)[:, -1] / p
    x = w[:, -1] - avg
    scale = np.abs(avg)
    flat = (np.abs(x) <= EPS * scale) | (np.abs(dev) <= EPS * scale)
    with np.errstate(divide="ignore", invalid="ignore"):
        val = np.where(flat, 0.0, x / (0.015 * dev))
    out.iloc[p - 1 :] = val
    return out


def _mfi1(h, lo, c, v, p: int):
    # TA-Lib 0.8's running sums step by step (their residues decide near-flat
    # windows): flow within 1e-14 of the two typical prices is none; p bars of
    # no flow reset the sums to exactly 0; the ratio is clamped to [0, 100].
    tp = ((h + lo + c) / 3.0).to_numpy()
    vol = v.to_numpy()
    n = len(tp)
    out = np.full(n, np.nan)
    ring_pos, ring_neg = np.zeros(p), np.zeros(p)
    pos = neg = 0.0
    null_run = 0
    for t in range(1, n):
        slot = (t - 1) % p
        d = tp[t] - tp[t - 1]
        flow = 0.0 if abs(d) <= EPS * (abs(tp[t]) + abs(tp[t - 1])) else tp[t] * vol[t]
        pf, nf = (0.0, flow) if d < 0.0 else (flow, 0.0)
        pos = (pos - ring_pos[slot]) + pf
        neg = (neg - ring_neg[slot]) + nf
        ring_pos[slot], ring_neg[slot] = pf, nf
        null_run = null_run + 1 if flow == 0.0 else 0
        if null_run >= p:
            null_run, pos, neg = p, 0.0, 0.0
        if t >= p:
            tot = pos + neg
            pc = 0.0 if pos < 0.0 else min(pos, tot)
            out[t] = 0.0 if tot <= 0.0 else 100.0 * (pc / tot)
    return pd.Series(out, index=c.index)


# --- the backend interface ------------------------------------------------------


def sma(close, timeperiod):
    return _per_column(_sma, close, p=timeperiod)


def ema(close, timeperiod):
    return _per_column(_ema, close, p=timeperiod)


def rsi(close, timeperiod):
    return _per_column(_rsi1, close, p=timeperiod)


def macd(close, fastperiod, slowperiod, signalperiod):
    return _per_column(
        _macd1, close, n_out=3, fast=fastperiod, slow=slowperiod, signal=signalperiod
    )


def bbands(close, timeperiod, nbdevup, nbdevdn):
    return _per_column(_bbands1, close, n_out=3, p=timeperiod, up=nbdevup, dn=nbdevdn)


def atr(high, low, close, timeperiod):
    return _per_column(_atr1, high, low, close, p=timeperiod)


def stoch(high, low, close, fastk_period, slowk_period, slowd_period):
    return _per_column(
        _stoch1,
        high,
        low,
        close,
        n_out=2,
        fastk=fastk_period,
        slowk=slowk_period,
        slowd=slowd_period,
    )


def adx(high, low, close, timeperiod):
    return _per_column(_adx1, high, low, close, p=timeperiod)


def obv(close, volume):
    return _per_column(_obv1, close, volume)


def roc(close, timeperiod):
    return _per_column(_roc1, close, p=timeperiod)


def willr(high, low, close, timeperiod):
    return _per_column(_willr1, high, low, close, p=timeperiod)


def cci(high, low, close, timeperiod):
    return _per_column(_cci1, high, low, close, p=timeperiod)


def mfi(high, low, close, volume, timeperiod):
    return _per_column(_mfi1, high, low, close, volume, p=timeperiod)
