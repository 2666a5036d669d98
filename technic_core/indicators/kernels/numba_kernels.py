"""Numba kernels over ``(T, N)`` blocks: time outside, symbols inside.

Rows of a C-order ``(T, N)`` array are contiguous over symbols, so each
kernel walks time in its outer loop and a block of symbols in its inner
loop: the recurrences of different symbols are independent, so the CPU
overlaps them (and SIMD can pair them), where a walk down one symbol's series
would wait on every division of its own chain.  Blocks of columns run in
parallel (``prange``) over both cores.

Each column starts at its own first valid row ``s[j]`` (leading NaNs mark a
short history); ``k = t - s[j]`` is how far into its own series a column is.
The arithmetic follows TA-Lib's C code (running sums with the trailing value
subtracted after the output, SMA-seeded EMAs, Wilder's ``(prev*(p-1)+x)/p``,
``TA_IS_ZERO`` as ``|x| < 1e-14`` and the scaled dead zones of TA-Lib 0.8) so
results agree with TA-Lib to rounding.
``cache=True`` keeps compiled code on disk so a new process does not
recompile.  Kernels know nothing of validation: callers pass NaN-filled
outputs and gap-free columns.
"""
from __future__ import annotations

import numpy as np
from numba import njit, prange

EPS = 1e-14  # TA-Lib 0.8's TA_EPSILON
BLOCK = 64  # columns per parallel task: 512 bytes of each row
_OPTS = dict(cache=True, nogil=True)


@njit(**_OPTS)
def first_valid(x):
    t, n = x.shape
    s = np.full(n, t, dtype=np.int64)
    for j in range(n):
        for i in range(t):
            if not np.isnan(x[i, j]):
                s[j] = i
                break
    return s


@njit(inline="always", **_OPTS)
def is_zero(x):
    return -EPS < x < EPS


@njit(inline="always", **_OPTS)
def is_zero_scaled(x, scale):
    return abs(x) <= EPS * scale


@njit(inline="always", **_OPTS)
def true_range(h, lo, prev_close):
    g = h - lo
    v = abs(prev_close - h)
    if v > g:
        g = v
    v = abs(prev_close - lo)
    if v > g:
        g = v
    return g


@njit(inline="always", **_OPTS)
def n_blocks(n):
    return (n + BLOCK - 1) // BLOCK


# --- moving averages ------------------------------------------------------------

@njit(parallel=True, **_OPTS)
def sma_2d(x, s, p, out):
    t, n = x.shape
    for b in prange(n_blocks(n)):
        j0 = b * BLOCK
        j1 = min(n, j0 + BLOCK)
        total = np.zeros(j1 - j0)
        for i in range(t):
            for j in range(j0, j1):
                k = i - s[j]
                if k < 0:
                    continue
                total[j - j0] += x[i, j]
                if k >= p - 1:
                    out[i, j] = total[j - j0] / p
                    total[j - j0] -= x[i - p + 1, j]


@njit(parallel=True, **_OPTS)
def ema_2d(x, s, p, out):
    t, n = x.shape
    kk = 2.0 / (p + 1)
    for b in prange(n_blocks(n)):
        j0 = b * BLOCK
        j1 = min(n, j0 + BLOCK)
        acc = np.zeros(j1 - j0)
        for i in range(t):
            for j in range(j0, j1):
                k = i - s[j]
                if k < 0:
                    continue
                if k < p:
                    acc[j - j0] += x[i, j]
                    if k == p - 1:
                        acc[j - j0] /= p
                        out[i, j] = acc[j - j0]
                else:
                    acc[j - j0] = (x[i, j] - acc[j - j0]) * kk + acc[j - j0]
                    out[i, j] = acc[j - j0]


@njit(inline="always", **_OPTS)
def macd_step(k, xv, fast, slow, signal, es, ef, g, q):
    """One bar of MACD for column q; (line, signal) once ready, else NaNs."""
    first = slow - 1
    begin = first + signal - 1
    if k < first:
        es[q] += xv
        if k >= first - fast + 1:
            ef[q] += xv
        return np.nan, np.nan
    if k == first:
        # TA-Lib seeds the fast EMA on the fast window ending at the slow seed
        es[q] = (es[q] + xv) / slow
        ef[q] = (ef[q] + xv) / fast
    else:
        es[q] = (xv - es[q]) * (2.0 / (slow + 1)) + es[q]
        ef[q] = (xv - ef[q]) * (2.0 / (fast + 1)) + ef[q]
    raw = ef[q] - es[q]
    if k < begin:
        g[q] += raw
        return np.nan, np.nan
    if k == begin:
        g[q] = (g[q] + raw) / signal
    else:
        g[q] = (raw - g[q]) * (2.0 / (signal + 1)) + g[q]
    return raw, g[q]


@njit(parallel=True, **_OPTS)
def macd_2d(x, s, fast, slow, signal, line, sig, hist):
    t, n = x.shape
    for b in prange(n_blocks(n)):
        j0 = b * BLOCK
        j1 = min(n, j0 + BLOCK)
        es = np.zeros(j1 - j0)
        ef = np.zeros(j1 - j0)
        g = np.zeros(j1 - j0)
        for i in range(t):
            for j in range(j0, j1):
                k = i - s[j]
                if k < 0:
                    continue
                raw, gv = macd_step(k, x[i, j], fast, slow, signal, es, ef, g, j - j0)
                if not np.isnan(gv):
                    line[i, j] = raw
                    sig[i, j] = gv
                    hist[i, j] = raw - gv


@njit(parallel=True, **_OPTS)
def bbands_2d(x, s, p, up, dn, upper, middle, lower):
    # TA-Lib 0.8 takes the deviation from the window's own SMA (two passes), not
    # mean(x^2) - mean^2, which cancels badly on a flat window
    t, n = x.shape
    for b in prange(n_blocks(n)):
        j0 = b * BLOCK
        j1 = min(n, j0 + BLOCK)
        total = np.zeros(j1 - j0)
        for i in range(t):
            for j in range(j0, j1):
                k = i - s[j]
                if k < 0:
                    continue
                q = j - j0
                total[q] += x[i, j]
                if k >= p - 1:
                    mid = total[q] / p
                    total[q] -= x[i - p + 1, j]
                    var = 0.0
                    for r in range(i - p + 1, i + 1):
                        d = x[r, j] - mid
                        var += d * d
                    var /= p
                    sd = np.sqrt(var) if var > 0.0 else 0.0
                    middle[i, j] = mid
                    upper[i, j] = mid + sd * up
                    lower[i, j] = mid - sd * dn


# --- Wilder averages -------------------------------------------------------------

@njit(inline="always", **_OPTS)
def rsi_step(k, d, p, gain, loss, q):
    """Bar k >= 1 of RSI for column q, given the close's change d."""
    if k > p:
        loss[q] *= p - 1
        gain[q] *= p - 1
    if d < 0:
        loss[q] -= d
    else:
        gain[q] += d
    if k < p:
        return np.nan
    loss[q] /= p
    gain[q] /= p
    tot = gain[q] + loss[q]
    return 0.0 if is_zero(tot) else 100.0 * (gain[q] / tot)


@njit(parallel=True, **_OPTS)
def rsi_2d(x, s, p, out):
    t, n = x.shape
    for b in prange(n_blocks(n)):
        j0 = b * BLOCK
        j1 = min(n, j0 + BLOCK)
        gain = np.zeros(j1 - j0)
        loss = np.zeros(j1 - j0)
        for i in range(t):
            for j in range(j0, j1):
                k = i - s[j]
                if k >= 1:
                    out[i, j] = rsi_step(k, x[i, j] - x[i - 1, j], p, gain, loss, j - j0)


@njit(inline="always", **_OPTS)
def atr_step(k, tr, p, acc, q):
    """Bar k >= 1 of ATR for column q, given that bar's true range."""
    if p == 1:
        return tr
    if k < p:
        acc[q] += tr
        return np.nan
    if k == p:
        acc[q] = (acc[q] + tr) / p
    else:
        acc[q] = (acc[q] * (p - 1) + tr) / p
    return acc[q]


@njit(parallel=True, **_OPTS)
def atr_2d(h, lo, c, s, p, out):
    t, n = c.shape
    for b in prange(n_blocks(n)):
        j0 = b * BLOCK
        j1 = min(n, j0 + BLOCK)
        acc = np.zeros(j1 - j0)
        for i in range(t):
            for j in range(j0, j1):
                k = i - s[j]
                if k >= 1:
                    tr = true_range(h[i, j], lo[i, j], c[i - 1, j])
                    out[i, j] = atr_step(k, tr, p, acc, j - j0)


@njit(inline="always", **_OPTS)
def adx_step(k, dp, dm, tr, p, pdm, mdm, trs, adx, q):
    """Bar k >= 1 of ADX for column q, given the highs' and lows' moves and the true range."""
    if k >= p:
        mdm[q] -= mdm[q] / p
        pdm[q] -= pdm[q] / p
    if dm > 0 and dp < dm:
        mdm[q] += dm
    elif dp > 0 and dp > dm:
        pdm[q] += dp
    if k < p:
        trs[q] += tr
        return np.nan
    trs[q] = trs[q] - trs[q] / p + tr
    dx = -1.0
    if not is_zero(trs[q]):
        mdi = 100.0 * (mdm[q] / trs[q])
        pdi = 100.0 * (pdm[q] / trs[q])
        tot = mdi + pdi
        if not is_zero(tot):
            dx = 100.0 * (abs(mdi - pdi) / tot)
    if k < 2 * p - 1:
        if dx >= 0.0:
            adx[q] += dx
        return np.nan
    if k == 2 * p - 1:
        if dx >= 0.0:
            adx[q] += dx
        adx[q] /= p
    elif dx >= 0.0:
        # a DX TA-Lib cannot compute leaves ADX where it was
        adx[q] = ((adx[q] * (p - 1)) + dx) / p
    return adx[q]


@njit(parallel=True, **_OPTS)
def adx_2d(h, lo, c, s, p, out):
    t, n = c.shape
    for b in prange(n_blocks(n)):
        j0 = b * BLOCK
        j1 = min(n, j0 + BLOCK)
        m = j1 - j0
        pdm = np.zeros(m)
        mdm = np.zeros(m)
        trs = np.zeros(m)
        adx = np.zeros(m)
        for i in range(t):
            for j in range(j0, j1):
                k = i - s[j]
                if k >= 1:
                    out[i, j] = adx_step(k, h[i, j] - h[i - 1, j], lo[i - 1, j] - lo[i, j],
                                         true_range(h[i, j], lo[i, j], c[i - 1, j]), p,
                                         pdm, mdm, trs, adx, j - j0)


# --- windows ------------------------------------------------------------------------

@njit(inline="always", **_OPTS)
def _hh_ll(h, lo, i0, i1, j):
    hh = h[i0, j]
    ll = lo[i0, j]
    for i in range(i0 + 1, i1 + 1):
        if h[i, j] >= hh:
            hh = h[i, j]
        if lo[i, j] <= ll:
            ll = lo[i, j]
    return hh, ll


@njit(parallel=True, **_OPTS)
def fastk_2d(h, lo, c, s, p, out):
    t, n = c.shape
    for b in prange(n_blocks(n)):
        j0 = b * BLOCK
        j1 = min(n, j0 + BLOCK)
        for i in range(t):
            for j in range(j0, j1):
                if i - s[j] < p - 1:
                    continue
                hh, ll = _hh_ll(h, lo, i - p + 1, i, j)
                if is_zero_scaled(hh - ll, abs(hh) + abs(ll)):
                    out[i, j] = 0.0
                else:
                    out[i, j] = (c[i, j] - ll) / ((hh - ll) / 100.0)


@njit(parallel=True, **_OPTS)
def willr_2d(h, lo, c, s, p, out):
    t, n = c.shape
    for b in prange(n_blocks(n)):
        j0 = b * BLOCK
        j1 = min(n, j0 + BLOCK)
        for i in range(t):
            for j in range(j0, j1):
                if i - s[j] < p - 1:
                    continue
                hh, ll = _hh_ll(h, lo, i - p + 1, i, j)
                if is_zero_scaled(hh - ll, abs(hh) + abs(ll)):
                    out[i, j] = 0.0
                else:
                    out[i, j] = (hh - c[i, j]) / ((hh - ll) / -100.0)


@njit(parallel=True, **_OPTS)
def cci_2d(h, lo, c, s, p, out):
    t, n = c.shape
    for b in prange(n_blocks(n)):
        j0 = b * BLOCK
        j1 = min(n, j0 + BLOCK)
        ring = np.empty((p, j1 - j0))  # TA-Lib's circular buffer: sums run in buffer order
        for i in range(t):
            for j in range(j0, j1):
                k = i - s[j]
                if k < 0:
                    continue
                q = j - j0
                last = (h[i, j] + lo[i, j] + c[i, j]) / 3.0
                ring[k % p, q] = last
                if k < p - 1:
                    continue
                avg = 0.0
                for r in range(p):
                    avg += ring[r, q]
                avg /= p
                dev = 0.0
                for r in range(p):
                    dev += abs(ring[r, q] - avg)
                dev /= p
                x = last - avg
                flat = is_zero_scaled(x, abs(avg)) or is_zero_scaled(dev, abs(avg))
                out[i, j] = 0.0 if flat else x / (0.015 * dev)


@njit(parallel=True, **_OPTS)
def mfi_2d(h, lo, c, v, s, p, out):
    t, n = c.shape
    for b in prange(n_blocks(n)):
        j0 = b * BLOCK
        j1 = min(n, j0 + BLOCK)
        m = j1 - j0
        pos_ring = np.zeros((p, m))
        neg_ring = np.zeros((p, m))
        pos = np.zeros(m)
        neg = np.zeros(m)
        for i in range(t):
            for j in range(j0, j1):
                k = i - s[j]
                if k < 1:
                    continue
                q = j - j0
                r = (k - 1) % p
                if k > p:
                    pos[q] -= pos_ring[r, q]
                    neg[q] -= neg_ring[r, q]
                tp = (h[i, j] + lo[i, j] + c[i, j]) / 3.0
                prev = (h[i - 1, j] + lo[i - 1, j] + c[i - 1, j]) / 3.0
                d = tp - prev
                flow = tp * v[i, j]
                if is_zero_scaled(d, abs(tp) + abs(prev)):
                    pos_ring[r, q] = 0.0
                    neg_ring[r, q] = 0.0
                elif d < 0:
                    neg_ring[r, q] = flow
                    neg[q] += flow
                    pos_ring[r, q] = 0.0
                else:
                    pos_ring[r, q] = flow
                    pos[q] += flow
                    neg_ring[r, q] = 0.0
                if k >= p:
                    tot = pos[q] + neg[q]
                    out[i, j] = 0.0 if tot < 1.0 else 100.0 * (pos[q] / tot)


# --- the rest ------------------------------------------------------------------------

@njit(parallel=True, **_OPTS)
def obv_2d(c, v, s, out):
    t, n = c.shape
    for b in prange(n_blocks(n)):
        j0 = b * BLOCK
        j1 = min(n, j0 + BLOCK)
        acc = np.zeros(j1 - j0)
        for i in range(t):
            for j in range(j0, j1):
                k = i - s[j]
                if k < 0:
                    continue
                q = j - j0
                if k == 0:
                    acc[q] = v[i, j]
                elif c[i, j] > c[i - 1, j]:
                    acc[q] += v[i, j]
                elif c[i, j] < c[i - 1, j]:
                    acc[q] -= v[i, j]
                out[i, j] = acc[q]


@njit(parallel=True, **_OPTS)
def roc_2d(x, s, p, out):
    t, n = x.shape
    for b in prange(n_blocks(n)):
        j0 = b * BLOCK
        j1 = min(n, j0 + BLOCK)
        for i in range(t):
            for j in range(j0, j1):
                if i - s[j] < p:
                    continue
                prev = x[i - p, j]
                out[i, j] = ((x[i, j] / prev) - 1.0) * 100.0 if prev != 0.0 else 0.0


# --- the scan's fused pass: every indicator at each column's last bar ---------------
#
# Recurrences (RSI, ATR, ADX, MACD) walk time once with their state in a few small
# arrays; window indicators only need their last window, read straight from the
# bars.  Nothing of size (T, N) is written.  Window sums run in time order here
# rather than TA-Lib's running order, which moves the last digit or so (1e-15).

FUSED_KEYS = ("sma_20", "sma_50", "sma_200", "rsi_14", "macd", "macd_signal", "macd_hist",
              "bb_upper", "bb_middle", "bb_lower", "atr_14", "stoch_k", "stoch_d",
              "adx_14", "mfi_14", "cci_14", "willr_14", "roc_10")


@njit(inline="always", **_OPTS)
def _mean(x, i0, i1, j):
    acc = 0.0
    for i in range(i0, i1 + 1):
        acc += x[i, j]
    return acc / (i1 - i0 + 1)


@njit(inline="always", **_OPTS)
def _fastk_at(h, lo, c, i, j, p):
    hh, ll = _hh_ll(h, lo, i - p + 1, i, j)
    if is_zero_scaled(hh - ll, abs(hh) + abs(ll)):
        return 0.0
    return (c[i, j] - ll) / ((hh - ll) / 100.0)


@njit(**_OPTS)
def _windows_at_last(o, h, lo, c, v, j, n_bars, out, col):
    """Window indicators at the last row of column j (SPEC's parameters)."""
    t = c.shape[0] - 1
    for key, p in ((0, 20), (1, 50), (2, 200)):
        if n_bars >= p:
            out[key, col] = _mean(c, t - p + 1, t, j)
    if n_bars >= 20:
        mid = _mean(c, t - 19, t, j)
        var = 0.0
        for i in range(t - 19, t + 1):
            d = c[i, j] - mid
            var += d * d
        var /= 20
        sd = np.sqrt(var) if var > 0.0 else 0.0
        out[7, col] = mid + sd * 2.0
        out[8, col] = mid
        out[9, col] = mid - sd * 2.0
    if n_bars >= 14 + 2 + 2:
        fk = np.empty(5)
        for r in range(5):
            fk[r] = _fastk_at(h, lo, c, t - 4 + r, j, 14)
        sk = np.empty(3)
        for r in range(3):
            sk[r] = (fk[r] + fk[r + 1] + fk[r + 2]) / 3.0
        out[11, col] = sk[2]
        out[12, col] = (sk[0] + sk[1] + sk[2]) / 3.0
    if n_bars >= 15:
        pos = 0.0
        neg = 0.0
        for i in range(t - 13, t + 1):
            tp = (h[i, j] + lo[i, j] + c[i, j]) / 3.0
            prev = (h[i - 1, j] + lo[i - 1, j] + c[i - 1, j]) / 3.0
            d = tp - prev
            if is_zero_scaled(d, abs(tp) + abs(prev)):
                continue
            if d < 0:
                neg += tp * v[i, j]
            else:
                pos += tp * v[i, j]
        tot = pos + neg
        out[14, col] = 0.0 if tot < 1.0 else 100.0 * (pos / tot)
    if n_bars >= 14:
        avg = 0.0
        for i in range(t - 13, t + 1):
            avg += (h[i, j] + lo[i, j] + c[i, j]) / 3.0
        avg /= 14
        dev = 0.0
        for i in range(t - 13, t + 1):
            dev += abs((h[i, j] + lo[i, j] + c[i, j]) / 3.0 - avg)
        dev /= 14
        x = (h[t, j] + lo[t, j] + c[t, j]) / 3.0 - avg
        flat = is_zero_scaled(x, abs(avg)) or is_zero_scaled(dev, abs(avg))
        out[15, col] = 0.0 if flat else x / (0.015 * dev)
        hh, ll = _hh_ll(h, lo, t - 13, t, j)
        if is_zero_scaled(hh - ll, abs(hh) + abs(ll)):
            out[16, col] = 0.0
        else:
            out[16, col] = (hh - c[t, j]) / ((hh - ll) / -100.0)
    if n_bars >= 11:
        prev = c[t - 10, j]
        out[17, col] = ((c[t, j] / prev) - 1.0) * 100.0 if prev != 0.0 else 0.0


@njit(parallel=True, **_OPTS)
def fused_last_2d(o, h, lo, c, v, s, out):
    """``out[key, j]``: FUSED_KEYS at the last row of every column (NaN where not ready)."""
    t, n = c.shape
    for b in prange(n_blocks(n)):
        j0 = b * BLOCK
        j1 = min(n, j0 + BLOCK)
        m = j1 - j0
        gain, loss, atr_acc = np.zeros(m), np.zeros(m), np.zeros(m)
        pdm, mdm, trs, adx = np.zeros(m), np.zeros(m), np.zeros(m), np.zeros(m)
        es, ef, g = np.zeros(m), np.zeros(m), np.zeros(m)
        for i in range(t):
            last = i == t - 1
            for j in range(j0, j1):
                k = i - s[j]
                if k < 0:
                    continue
                q = j - j0
                line, sig = macd_step(k, c[i, j], 12, 26, 9, es, ef, g, q)
                if last and not np.isnan(sig):
                    out[4, j] = line
                    out[5, j] = sig
                    out[6, j] = line - sig
                if k == 0:
                    continue
                r = rsi_step(k, c[i, j] - c[i - 1, j], 14, gain, loss, q)
                tr = true_range(h[i, j], lo[i, j], c[i - 1, j])
                a = atr_step(k, tr, 14, atr_acc, q)
                d = adx_step(k, h[i, j] - h[i - 1, j], lo[i - 1, j] - lo[i, j], tr, 14,
                             pdm, mdm, trs, adx, q)
                if last:
                    out[3, j] = r
                    out[10, j] = a
                    out[13, j] = d
        for j in range(j0, j1):
            n_bars = t - s[j]
            if n_bars > 0:
                _windows_at_last(o, h, lo, c, v, j, n_bars, out, j)
