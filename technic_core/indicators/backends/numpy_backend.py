"""NumPy backend: whole-universe indicators on ``(T, N)`` arrays.

Each function takes validated C-contiguous float64 ``(T, N)`` arrays (time on
axis 0, symbols on axis 1) and TA-Lib's parameter names, and returns float64
``(T, N)`` arrays equal to TA-Lib applied column by column.  Leading NaNs mark
a short history: that column equals TA-Lib on its own non-NaN tail.  Interior
NaNs are rejected by the public API before a backend is called (TA-Lib would
silently smear them over every later value of a recurrence), so they are not
handled here.

Everything without a recurrence (true range, typical price, money flow,
rolling extremes, ROC) is one array expression over all rows and symbols.
Recurrences and running sums loop over time with vector operations over all
symbols at once, in TA-Lib's order of operations: the running sums are
TA-Lib's own (add the new bar, subtract the leaving one), not cumulative-sum
differences, so windows of exact zeros stay exactly zero and results agree
with TA-Lib to the last bit, or to a few ulp where TA-Lib fuses a
multiply-add (EMA, MACD, ATR), which NumPy cannot express.
"""

from __future__ import annotations

import sys

import numpy as np

from . import _fused
from ._ragged_columns import apply_ragged, column_starts

EPS = 1e-14  # TA-Lib's TA_EPSILON (scale-aware zero tests)


def _ragged(fn):
    """Run ``fn`` (written for columns that all start at row 0) on ragged input."""

    def wrapper(*arrays, **params):
        def compute(arrs):
            with np.errstate(all="ignore"):  # NaN rows of short columns are recomputed
                out = fn(*arrs, **params)
            return out if isinstance(out, tuple) else (out,)

        outs = apply_ragged(compute, arrays)
        return outs if len(outs) > 1 else outs[0]

    wrapper.__name__ = fn.__name__
    wrapper.__doc__ = fn.__doc__
    return wrapper


def _alloc(shape, lookback):
    out = np.empty(shape)
    out[:lookback] = np.nan
    return out


def _running_mean(x, p, out, start=0):
    """TA_SMA of ``x`` into ``out`` from row start+p-1 (rows before ``start`` are 0)."""
    t_len = x.shape[0]
    acc = np.zeros(x.shape[1])
    for t in range(start, t_len):
        acc += x[t]
        if t >= start + p - 1:
            np.divide(acc, p, out=out[t])
            acc -= x[t - p + 1]
    return out


def _window_max(x, p, pad, op):
    """op-extreme of rows t-p+1..t for rows p-1.. (van Herk / Gil-Werman):
    running extremes forward and backward inside blocks of p rows, so each
    window is the extreme of one block's tail and the next block's head."""
    t_len, n = x.shape
    nb = -(-t_len // p)
    xb = np.full((nb, p, n), pad)
    xb.reshape(nb * p, n)[:t_len] = x
    head = xb.copy()
    tail = xb.copy()
    for k in range(1, p):
        op(head[:, k - 1], head[:, k], out=head[:, k])
        op(tail[:, p - k], tail[:, p - k - 1], out=tail[:, p - k - 1])
    head = head.reshape(nb * p, n)
    tail = tail.reshape(nb * p, n)
    return op(tail[: t_len - p + 1], head[p - 1 : t_len])


def _rolling_extremes(h, lo, p):
    """Highest high and lowest low of rows t-p+1..t, for rows p-1.. (exact)."""
    return _window_max(h, p, -np.inf, np.maximum), _window_max(lo, p, np.inf, np.minimum)


def _flat(hh, ll):
    # TA_IS_ZERO_SCALED(highest - lowest, |highest| + |lowest|)
    return np.abs(hh - ll) <= EPS * (np.abs(hh) + np.abs(ll))


@_ragged
def sma(close, timeperiod):
    p = timeperiod
    return _running_mean(close, p, _alloc(close.shape, p - 1))


@_ragged
def ema(close, timeperiod):
    p = timeperiod
    t_len, n = close.shape
    out = _alloc(close.shape, p - 1)
    if t_len < p:
        return out
    k = 2.0 / (p + 1)
    acc = np.zeros(n)
    for t in range(p):
        acc += close[t]
    e = acc / p
    out[p - 1] = e
    for t in range(p, t_len):
        e = (close[t] - e) * k + e
        out[t] = e
    return out


@_ragged
def rsi(close, timeperiod):
    p = timeperiod
    t_len, n = close.shape
    out = _alloc(close.shape, p)
    if t_len <= p:
        return out
    inv = 1.0 / p
    pm1 = float(p - 1)
    g = np.zeros(n)
    lo = np.zeros(n)
    for t in range(1, t_len):
        d = close[t] - close[t - 1]
        gain = np.maximum(d, 0.0)
        if t <= p:
            g += gain
            lo += gain - d
            if t < p:
                continue
            lo *= inv
            g *= inv
        else:
            lo = (lo * pm1 + (gain - d)) * inv
            g = (g * pm1 + gain) * inv
        tot = g + lo
        out[t] = np.where(tot > 0.0, 100.0 * (g / tot), 0.0)
    return out


@_ragged
def macd(close, fastperiod, slowperiod, signalperiod):
    fast, slow, sig = fastperiod, slowperiod, signalperiod
    if slow < fast:  # as TA-Lib (the public API swaps already)
        fast, slow = slow, fast
    t_len, n = close.shape
    lb = slow - 1 + sig - 1
    outs = tuple(_alloc(close.shape, lb) for _ in range(3))
    if t_len <= lb:
        return outs
    fk, sk, gk = 2.0 / (fast + 1), 2.0 / (slow + 1), 2.0 / (sig + 1)
    # Seeds: the slow EMA's is the mean of the first `slow` bars, the fast
    # one's the mean of the last `fast` of those; the signal is seeded with the
    # mean of the first `sig` MACD values.
    accs = np.zeros(n)
    accf = np.zeros(n)
    for t in range(slow):
        accs += close[t]
        if t >= slow - fast:
            accf += close[t]
    ef = accf / fast
    es = accs / slow
    m = ef - es
    sg = 0.0 + m
    for t in range(slow - 1, t_len):
        if t >= slow:
            x = close[t]
            ef = (x - ef) * fk + ef
            es = (x - es) * sk + es
            m = ef - es
            sg = sg + m if t <= lb else (m - sg) * gk + sg
        if t == lb:
            sg = sg / sig
        if t >= lb:
            outs[0][t], outs[1][t], outs[2][t] = m, sg, m - sg
    return outs


@_ragged
def bbands(close, timeperiod, nbdevup, nbdevdn):
    p = timeperiod
    t_len, n = close.shape
    lb = p - 1
    up_, mid_, lo_ = (_alloc(close.shape, lb) for _ in range(3))
    if t_len <= lb:
        return up_, mid_, lo_
    inv = 1.0 / p
    x = close
    ma = np.zeros(n)
    shift = x[0].copy()
    vt1 = np.zeros(n)
    vt2 = np.zeros(n)
    bars = np.full(n, 32 * p)
    for t in range(t_len):
        v = x[t]
        ma += v
        d = v - shift
        vt1 += d
        vt2 += d * d
        if t < lb:
            continue
        tr = t - lb
        m1 = vt1 * inv
        var = vt2 * inv - m1 * m1
        mid = ma / p
        xt = x[tr]
        ma -= xt
        d = xt - shift
        vt1 -= d
        d2 = d * d
        vt2 -= d2
        bars -= 1
        redo = np.flatnonzero((var < 0.000001 * (vt2 * inv)) | (d2 > 1000000.0 * vt2) | (bars <= 0))
        if redo.size:
            # TA-Lib's re-take of the shift (window mean) for these columns
            win = x[tr : t + 1, redo]
            s = np.zeros(redo.size)
            for r in range(p):
                s += win[r]
            sh = s * inv
            a1 = np.zeros(redo.size)
            a2 = np.zeros(redo.size)
            for r in range(p):
                dd = win[r] - sh
                a1 += dd
                a2 += dd * dd
            mm = a1 * inv
            vr = a2 * inv - mm * mm
            vr[vr < 0.000000000001 * (a2 * inv)] = 0.0
            dd = win[0] - sh
            a1 -= dd
            a2 -= dd * dd
            shift[redo], vt1[redo], vt2[redo], var[redo], bars[redo] = sh, a1, a2, vr, 32 * p
        sd = np.where(var != 0.0, np.sqrt(var), 0.0)
        mid_[t] = mid
        up_[t] = mid + sd * nbdevup
        lo_[t] = mid - sd * nbdevdn
    return up_, mid_, lo_


def _tr_row(high, low, close, t):
    cy = close[t - 1]
    return np.maximum(np.maximum(high[t] - low[t], np.abs(cy - high[t])), np.abs(cy - low[t]))


@_ragged
def atr(high, low, close, timeperiod):
    p = timeperiod
    t_len, n = close.shape
    out = _alloc(close.shape, p)
    if t_len <= p:
        return out
    acc = np.zeros(n)
    for t in range(1, p + 1):
        acc += _tr_row(high, low, close, t)
    a = acc / p
    out[p] = a
    wb = (p - 1) / p
    wa = 1.0 - wb
    for t in range(p + 1, t_len):
        a = wb * a + wa * _tr_row(high, low, close, t)
        out[t] = a
    return out


@_ragged
def adx(high, low, close, timeperiod):
    p = timeperiod
    t_len, n = close.shape
    lb = 2 * p - 1
    out = _alloc(close.shape, lb)
    if t_len <= lb:
        return out
    pm = np.zeros(n)
    pp = np.zeros(n)
    ptr = np.zeros(n)
    a = np.zeros(n)
    for t in range(1, t_len):
        dp = high[t] - high[t - 1]
        dm = low[t - 1] - low[t]
        mdm = np.where((dm > 0.0) & (dm - dp > 0.0), dm, 0.0)
        pdm = np.where((dp > 0.0) & (dp - dm > 0.0), dp, 0.0)
        tr = _tr_row(high, low, close, t)
        if t < p:
            pm += mdm
            pp += pdm
            ptr += tr
            continue
        pm = pm - pm / p + mdm
        pp = pp - pp / p + pdm
        ptr = ptr - ptr / p + tr
        mdi = 100.0 * (pm / ptr)
        pdi = 100.0 * (pp / ptr)
        s = mdi + pdi
        ok = (ptr > 0.0) & ~((-EPS < s) & (s < EPS))
        dx = 100.0 * (np.abs(mdi - pdi) / s)
        if t <= lb:
            a = np.where(ok, a + dx, a)
            if t == lb:
                a = a / p
        else:
            a = np.where(ok, (a * (p - 1) + dx) / p, a)
        if t >= lb:
            out[t] = a
    return out


@_ragged
def obv(close, volume):
    signed = np.where(
        close[1:] > close[:-1], volume[1:], np.where(close[1:] < close[:-1], -volume[1:], 0.0)
    )
    out = np.empty(close.shape)
    if close.shape[0]:
        out[0] = volume[0]
        for t in range(1, close.shape[0]):  # TA-Lib's running total, row by row
            np.add(out[t - 1], signed[t - 1], out=out[t])
    return out


@_ragged
def roc(close, timeperiod):
    p = timeperiod
    out = _alloc(close.shape, p)
    prev = close[:-p]
    out[p:] = np.where(prev != 0.0, (close[p:] / prev - 1.0) * 100.0, 0.0)
    return out


@_ragged
def willr(high, low, close, timeperiod):
    p = timeperiod
    out = _alloc(close.shape, p - 1)
    if close.shape[0] < p:
        return out
    hh, ll = _rolling_extremes(high, low, p)
    r = -100.0 * ((hh - close[p - 1 :]) / (hh - ll))
    out[p - 1 :] = np.where(_flat(hh, ll), 0.0, r)
    return out


@_ragged
def stoch(high, low, close, fastk_period, slowk_period, slowd_period):
    fk, sk, sd = fastk_period, slowk_period, slowd_period
    lb = fk + sk + sd - 3
    out_k = _alloc(close.shape, lb)
    out_d = _alloc(close.shape, lb)
    if close.shape[0] <= lb:
        return out_k, out_d
    hh, ll = _rolling_extremes(high, low, fk)
    fast = np.where(_flat(hh, ll), 0.0, 100.0 * ((close[fk - 1 :] - ll) / (hh - ll)))
    slow = _running_mean(fast, sk, np.zeros(fast.shape))  # 0 before slow %K starts
    d = _running_mean(slow, sd, np.empty(fast.shape), start=sk - 1)
    out_k[lb:] = slow[sk + sd - 2 :]
    out_d[lb:] = d[sk + sd - 2 :]
    return out_k, out_d


@_ragged
def cci(high, low, close, timeperiod):
    p = timeperiod
    t_len = close.shape[0]
    out = _alloc(close.shape, p - 1)
    tp = (high + low + close) / 3
    # TA-Lib sums its ring of typical prices slot 0..p-1, and bar t sits in
    # slot t % p: for output rows t = q (mod p) that order is a fixed set of
    # row offsets, so each residue class is a handful of strided slices.
    for q in range(p):
        t0 = p - 1 + (q - (p - 1)) % p
        if t0 >= t_len:
            continue
        rows = slice(t0, t_len, p)
        count = len(range(t0, t_len, p))
        offs = [(q - k) % p for k in range(p)]
        avg = np.zeros((count, close.shape[1]))
        for o in offs:
            avg += tp[t0 - o :: p][:count]
        avg /= p
        md = np.zeros_like(avg)
        for o in offs:
            md += np.abs(tp[t0 - o :: p][:count] - avg)
        md /= p
        dev = tp[rows] - avg
        scale = np.abs(avg)
        flat = (np.abs(dev) <= EPS * scale) | (np.abs(md) <= EPS * scale)
        out[rows] = np.where(flat, 0.0, dev / (0.015 * md))
    return out


@_ragged
def mfi(high, low, close, volume, timeperiod):
    # Row by row: a (T, N) temporary per step would be memory-bound, one row
    # (N values) stays in cache.
    p = timeperiod
    t_len, n = close.shape
    out = _alloc(close.shape, p)
    if t_len <= p:
        return out
    tp_prev = (high[0] + low[0] + close[0]) / 3.0
    pf = np.zeros((p, n))  # rings of the last p positive / negative flows
    nf = np.zeros((p, n))
    pos = np.zeros(n)
    neg = np.zeros(n)
    run = np.zeros(n, np.int64)
    for t in range(1, t_len):
        tp = (high[t] + low[t] + close[t]) / 3.0
        d = tp - tp_prev
        flow = tp * volume[t]
        flow[np.abs(d) <= EPS * (np.abs(tp) + np.abs(tp_prev))] = 0.0
        tp_prev = tp
        slot = (t - 1) % p
        down = d < 0.0
        pos -= pf[slot]
        neg -= nf[slot]
        np.multiply(flow, ~down, out=pf[slot])
        np.multiply(flow, down, out=nf[slot])
        pos += pf[slot]
        neg += nf[slot]
        run += 1
        run *= flow == 0.0
        if t >= p:
            full = run >= p  # p bars without flow: the sums are exactly 0
            if full.any():
                pos[full] = 0.0
                neg[full] = 0.0
            tot = pos + neg
            pc = np.where(pos < 0.0, 0.0, np.where(pos > tot, tot, pos))
            out[t] = np.where(tot <= 0.0, 0.0, 100.0 * (pc / tot))
    return out


def _last_row_windows(high, low, close, starts):
    """CCI(14), WILLR(14) and ROC(10) at row T-1 only (no recurrence to carry)."""
    t_len, n = close.shape
    t = t_len - 1
    have = t - starts  # bars before the last one
    cols = np.arange(n)
    out = {}
    with np.errstate(all="ignore"):
        prev = close[max(t - 10, 0)]
        roc = np.where(prev != 0.0, (close[t] / prev - 1.0) * 100.0, 0.0)
        out["roc_10"] = np.where(have >= 10, roc, np.nan)
        p = 14
        if t_len >= p:
            hh = high[t - p + 1 :].max(axis=0)
            ll = low[t - p + 1 :].min(axis=0)
            r = -100.0 * ((hh - close[t]) / (hh - ll))
            willr = np.where(_flat(hh, ll), 0.0, r)
            # TA-Lib's ring: a column's bar r sits in slot (r - start) % p
            tp = (high[t - p + 1 :] + low[t - p + 1 :] + close[t - p + 1 :]) / 3
            ring = [tp[p - 1 - ((t - starts - k) % p), cols] for k in range(p)]
            avg = np.zeros(n)
            for x in ring:
                avg += x
            avg /= p
            md = np.zeros(n)
            for x in ring:
                md += np.abs(x - avg)
            md /= p
            dev = tp[p - 1] - avg
            scale = np.abs(avg)
            flat = (np.abs(dev) <= EPS * scale) | (np.abs(md) <= EPS * scale)
            cci = np.where(flat, 0.0, dev / (0.015 * md))
        else:
            willr = cci = np.full(n, np.nan)
        out["willr_14"] = np.where(have >= p - 1, willr, np.nan)
        out["cci_14"] = np.where(have >= p - 1, cci, np.nan)
    return out


def fused_indicators(open, high, low, close, volume) -> dict[str, np.ndarray]:
    """The scan's indicators at each column's last row, as ``(N,)`` arrays.

    NumPy has no cheaper way to reach a recurrence's last value than to run
    it, so those are the last row of the separate functions (the same values
    by construction); CCI, WILLR and ROC are computed at the last row alone.
    ``open`` is accepted for a uniform OHLCV signature.
    """
    window = ("cci_14", "willr_14", "roc_10")
    me = sys.modules[__name__]
    out = _fused.last_rows(me, high, low, close, volume, skip=window)
    if close.shape[0]:
        out.update(_last_row_windows(high, low, close, column_starts(close)))
    else:
        out.update({k: np.full(close.shape[1], np.nan) for k in window})
    return {k: out[k] for k in _fused.FUSED}
