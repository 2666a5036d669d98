"""NumPy backend: the whole universe at once, one vector step per bar.

Recurrences cannot be vectorised over time, so each function walks time in a
Python loop and does every symbol's step as one array operation: the same
arithmetic, in the same order, as TA-Lib's C code and the Numba kernels
(running sums with the trailing value subtracted after the output,
SMA-seeded EMAs, Wilder's ``(prev*(p-1)+x)/p``, ``TA_IS_ZERO`` as
``|x| < 1e-14``, and TA-Lib 0.8's scaled dead zones).  ``k = t - s`` is how far into its own series each column
is; columns not yet started take no part in a step.  Interior NaNs are
rejected by the public API before they get here.
"""
from __future__ import annotations

import numpy as np

EPS = 1e-14  # TA-Lib 0.8's TA_EPSILON


def _start(x: np.ndarray) -> np.ndarray:
    valid = ~np.isnan(x)
    s = np.argmax(valid, axis=0)
    s[~valid.any(axis=0)] = x.shape[0]
    return s


def _nan(like, n=1):
    outs = tuple(np.full(like.shape, np.nan) for _ in range(n))
    return outs[0] if n == 1 else outs


def _z(a):
    return np.where(np.isnan(a), 0.0, a)


def _is_zero(a):
    return (a > -EPS) & (a < EPS)


def _safe_div(num, den, ok):
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(ok, num / np.where(ok, den, 1.0), 0.0)


def _is_zero_scaled(a, scale):
    return np.abs(a) <= EPS * scale


def _true_range(h, lo, prev_close):
    return np.maximum(np.maximum(h - lo, np.abs(prev_close - h)), np.abs(prev_close - lo))


def _sma(x, s, p, out):
    t = x.shape[0]
    total = np.zeros(x.shape[1])
    for i in range(t):
        k = i - s
        total += np.where(k >= 0, _z(x[i]), 0.0)
        ready = k >= p - 1
        if ready.any():
            out[i] = np.where(ready, total / p, np.nan)
            total -= np.where(ready, _z(x[i - p + 1]) if i >= p - 1 else 0.0, 0.0)
    return out


def sma(close, timeperiod):
    return _sma(close, _start(close), timeperiod, _nan(close))


def _ema_steps(x, s, p, kk, out, seed_offset=0):
    acc = np.zeros(x.shape[1])
    for i in range(x.shape[0]):
        k = i - s - seed_offset
        xi = _z(x[i])
        seeding = (k >= 0) & (k < p)
        acc = np.where(seeding, acc + xi, acc)
        seeded = k == p - 1
        acc = np.where(seeded, acc / p, acc)
        run = k >= p
        acc = np.where(run, (xi - acc) * kk + acc, acc)
        out[i] = np.where(k >= p - 1, acc, np.nan)
    return out


def ema(close, timeperiod):
    return _ema_steps(close, _start(close), timeperiod, 2.0 / (timeperiod + 1), _nan(close))


def rsi(close, timeperiod):
    p = timeperiod
    s = _start(close)
    out = _nan(close)
    n = close.shape[1]
    gain, loss = np.zeros(n), np.zeros(n)
    for i in range(1, close.shape[0]):
        k = i - s
        live = k >= 1
        d = _z(close[i]) - _z(close[i - 1])
        smooth = k > p
        loss = np.where(smooth, loss * (p - 1), loss)
        gain = np.where(smooth, gain * (p - 1), gain)
        loss = np.where(live & (d < 0), loss - d, loss)
        gain = np.where(live & ~(d < 0), gain + d, gain)
        ready = k >= p
        loss = np.where(ready, loss / p, loss)
        gain = np.where(ready, gain / p, gain)
        tot = gain + loss
        out[i] = np.where(ready, _safe_div(100.0 * gain, tot, ~_is_zero(tot)), np.nan)
    return out


def macd(close, fastperiod, slowperiod, signalperiod):
    fast, slow, signal = fastperiod, slowperiod, signalperiod
    s = _start(close)
    line, sig, hist = _nan(close, 3)
    n = close.shape[1]
    es, ef, g = np.zeros(n), np.zeros(n), np.zeros(n)
    ks, kf, kg = 2.0 / (slow + 1), 2.0 / (fast + 1), 2.0 / (signal + 1)
    first, begin = slow - 1, slow - 1 + signal - 1
    for i in range(close.shape[0]):
        k = i - s
        xv = _z(close[i])
        pre = (k >= 0) & (k < first)
        es = np.where(pre, es + xv, es)
        ef = np.where(pre & (k >= first - fast + 1), ef + xv, ef)
        # TA-Lib seeds the fast EMA on the fast window ending at the slow seed
        seed = k == first
        es = np.where(seed, (es + xv) / slow, es)
        ef = np.where(seed, (ef + xv) / fast, ef)
        run = k > first
        es = np.where(run, (xv - es) * ks + es, es)
        ef = np.where(run, (xv - ef) * kf + ef, ef)
        raw = ef - es
        acc = (k >= first) & (k < begin)
        g = np.where(acc, g + raw, g)
        g = np.where(k == begin, (g + raw) / signal, g)
        g = np.where(k > begin, (raw - g) * kg + g, g)
        ready = k >= begin
        line[i] = np.where(ready, raw, np.nan)
        sig[i] = np.where(ready, g, np.nan)
        hist[i] = np.where(ready, raw - g, np.nan)
    return line, sig, hist


def bbands(close, timeperiod, nbdevup, nbdevdn):
    # deviation from the window's own SMA (two passes), as TA-Lib 0.8 computes it
    p = timeperiod
    middle = sma(close, p)
    upper, lower = _nan(close, 2)
    for i in range(p - 1, close.shape[0]):
        mid = middle[i]
        ready = ~np.isnan(mid)
        if not ready.any():
            continue
        dev = close[i - p + 1:i + 1] - mid
        var = np.sum(_z(dev * dev), axis=0) / p
        sd = np.sqrt(np.where(var > 0.0, var, 0.0))
        upper[i] = np.where(ready, mid + sd * nbdevup, np.nan)
        lower[i] = np.where(ready, mid - sd * nbdevdn, np.nan)
    return upper, middle, lower


def atr(high, low, close, timeperiod):
    p = timeperiod
    s = _start(close)
    out = _nan(close)
    acc = np.zeros(close.shape[1])
    for i in range(1, close.shape[0]):
        k = i - s
        tr = _z(_true_range(high[i], low[i], close[i - 1]))
        if p == 1:
            out[i] = np.where(k >= 1, tr, np.nan)
            continue
        acc = np.where((k >= 1) & (k < p), acc + tr, acc)
        acc = np.where(k == p, (acc + tr) / p, acc)
        acc = np.where(k > p, (acc * (p - 1) + tr) / p, acc)
        out[i] = np.where(k >= p, acc, np.nan)
    return out


def _window_extremes(high, low, i, p):
    return np.max(high[i - p + 1:i + 1], axis=0), np.min(low[i - p + 1:i + 1], axis=0)


def _fastk(high, low, close, s, p):
    out = _nan(close)
    for i in range(p - 1, close.shape[0]):
        ready = i - s >= p - 1
        if not ready.any():
            continue
        hh, ll = _window_extremes(high, low, i, p)
        diff = (hh - ll) / 100.0
        ok = ~_is_zero_scaled(hh - ll, np.abs(hh) + np.abs(ll))
        out[i] = np.where(ready, _safe_div(close[i] - ll, diff, ok), np.nan)
    return out


def stoch(high, low, close, fastk_period, slowk_period, slowd_period):
    s = _start(close)
    fk = _fastk(high, low, close, s, fastk_period)
    sk = _sma(fk, s + fastk_period - 1, slowk_period, _nan(close))
    sd = _sma(sk, s + fastk_period - 1 + slowk_period - 1, slowd_period, _nan(close))
    # TA-Lib reports both lines from the first row where slow %D exists
    sk[np.isnan(sd)] = np.nan
    return sk, sd


def adx(high, low, close, timeperiod):
    p = timeperiod
    s = _start(close)
    out = _nan(close)
    n = close.shape[1]
    pdm, mdm, trs, adx_ = (np.zeros(n) for _ in range(4))
    for i in range(1, close.shape[0]):
        k = i - s
        live = k >= 1
        dp = _z(high[i] - high[i - 1])
        dm = _z(low[i - 1] - low[i])
        tr = _z(_true_range(high[i], low[i], close[i - 1]))
        decay = k >= p
        mdm = np.where(decay, mdm - mdm / p, mdm)
        pdm = np.where(decay, pdm - pdm / p, pdm)
        minus = live & (dm > 0) & (dp < dm)
        plus = live & ~minus & (dp > 0) & (dp > dm)
        mdm = np.where(minus, mdm + dm, mdm)
        pdm = np.where(plus, pdm + dp, pdm)
        trs = np.where(live & (k < p), trs + tr, trs)
        trs = np.where(decay, trs - trs / p + tr, trs)
        ok_tr = ~_is_zero(trs)
        mdi = _safe_div(100.0 * mdm, trs, ok_tr)
        pdi = _safe_div(100.0 * pdm, trs, ok_tr)
        tot = mdi + pdi
        has_dx = decay & ok_tr & ~_is_zero(tot)
        dx = _safe_div(100.0 * np.abs(mdi - pdi), tot, has_dx)
        adx_ = np.where(has_dx & (k <= 2 * p - 1), adx_ + dx, adx_)
        adx_ = np.where(k == 2 * p - 1, adx_ / p, adx_)
        # a DX TA-Lib cannot compute leaves ADX where it was
        adx_ = np.where(has_dx & (k > 2 * p - 1), ((adx_ * (p - 1)) + dx) / p, adx_)
        out[i] = np.where(k >= 2 * p - 1, adx_, np.nan)
    return out


def obv(close, volume):
    s = _start(close)
    out = _nan(close)
    acc = np.zeros(close.shape[1])
    for i in range(close.shape[0]):
        k = i - s
        acc = np.where(k == 0, _z(volume[i]), acc)
        if i > 0:
            up = (k >= 1) & (close[i] > close[i - 1])
            down = (k >= 1) & (close[i] < close[i - 1])
            acc = np.where(up, acc + _z(volume[i]), np.where(down, acc - _z(volume[i]), acc))
        out[i] = np.where(k >= 0, acc, np.nan)
    return out


def roc(close, timeperiod):
    p = timeperiod
    s = _start(close)
    out = _nan(close)
    prev = close[:-p] if p < close.shape[0] else close[:0]
    cur = close[p:]
    rows = np.arange(p, close.shape[0])[:, None]
    ready = rows - s[None, :] >= p
    val = _safe_div(cur, prev, prev != 0.0)
    out[p:] = np.where(ready, np.where(prev != 0.0, (val - 1.0) * 100.0, 0.0), np.nan)
    return out


def willr(high, low, close, timeperiod):
    p = timeperiod
    s = _start(close)
    out = _nan(close)
    for i in range(p - 1, close.shape[0]):
        ready = i - s >= p - 1
        if not ready.any():
            continue
        hh, ll = _window_extremes(high, low, i, p)
        diff = (hh - ll) / -100.0
        ok = ~_is_zero_scaled(hh - ll, np.abs(hh) + np.abs(ll))
        out[i] = np.where(ready, _safe_div(hh - close[i], diff, ok), np.nan)
    return out


def cci(high, low, close, timeperiod):
    p = timeperiod
    s = _start(close)
    out = _nan(close)
    n = close.shape[1]
    ring = np.zeros((p, n))  # TA-Lib's circular buffer: sums run in buffer order
    cols = np.arange(n)
    for i in range(close.shape[0]):
        k = i - s
        live = k >= 0
        last = (high[i] + low[i] + close[i]) / 3.0
        slot = np.where(live, k % p, 0)
        ring[slot[live], cols[live]] = last[live]
        ready = k >= p - 1
        if not ready.any():
            continue
        avg = ring[0].copy()
        for r in range(1, p):
            avg += ring[r]
        avg /= p
        dev = np.abs(ring[0] - avg)
        for r in range(1, p):
            dev += np.abs(ring[r] - avg)
        dev /= p
        x = last - avg
        ok = ~_is_zero_scaled(x, np.abs(avg)) & ~_is_zero_scaled(dev, np.abs(avg))
        out[i] = np.where(ready, _safe_div(x, 0.015 * dev, ok), np.nan)
    return out


def mfi(high, low, close, volume, timeperiod):
    p = timeperiod
    s = _start(close)
    out = _nan(close)
    n = close.shape[1]
    pos_ring, neg_ring = np.zeros((p, n)), np.zeros((p, n))
    pos, neg = np.zeros(n), np.zeros(n)
    cols = np.arange(n)
    for i in range(1, close.shape[0]):
        k = i - s
        live = k >= 1
        r = np.where(live, (k - 1) % p, 0)
        old = k > p
        pos = np.where(old, pos - pos_ring[r, cols], pos)
        neg = np.where(old, neg - neg_ring[r, cols], neg)
        tp = _z((high[i] + low[i] + close[i]) / 3.0)
        prev = _z((high[i - 1] + low[i - 1] + close[i - 1]) / 3.0)
        d = tp - prev
        flow = tp * _z(volume[i])
        flat = _is_zero_scaled(d, np.abs(tp) + np.abs(prev))
        is_neg = live & ~flat & (d < 0)
        is_pos = live & ~flat & ~(d < 0)
        pos_ring[r[live], cols[live]] = np.where(is_pos, flow, 0.0)[live]
        neg_ring[r[live], cols[live]] = np.where(is_neg, flow, 0.0)[live]
        pos = np.where(is_pos, pos + flow, pos)
        neg = np.where(is_neg, neg + flow, neg)
        tot = pos + neg
        ready = k >= p
        out[i] = np.where(ready, np.where(tot < 1.0, 0.0, _safe_div(100.0 * pos, tot, tot >= 1.0)), np.nan)
    return out
