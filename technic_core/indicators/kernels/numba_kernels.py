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
``TA_IS_ZERO`` as ``|x| < 1e-8``) so results agree with TA-Lib to rounding.
``cache=True`` keeps compiled code on disk so a new process does not
recompile.  Kernels know nothing of validation: callers pass NaN-filled
outputs and gap-free columns.
"""
from __future__ import annotations

import numpy as np
from numba import njit, prange

EPS = 1e-8
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


@njit(parallel=True, **_OPTS)
def macd_2d(x, s, fast, slow, signal, line, sig, hist):
    t, n = x.shape
    ks, kf, kg = 2.0 / (slow + 1), 2.0 / (fast + 1), 2.0 / (signal + 1)
    first = slow - 1
    begin = first + signal - 1
    for b in prange(n_blocks(n)):
        j0 = b * BLOCK
        j1 = min(n, j0 + BLOCK)
        m = j1 - j0
        es = np.zeros(m)
        ef = np.zeros(m)
        g = np.zeros(m)
        for i in range(t):
            for j in range(j0, j1):
                k = i - s[j]
                if k < 0:
                    continue
                q = j - j0
                xv = x[i, j]
                if k < first:
                    es[q] += xv
                    if k >= first - fast + 1:
                        ef[q] += xv
                    continue
                if k == first:
                    # TA-Lib seeds the fast EMA on the fast window ending at the slow seed
                    es[q] = (es[q] + xv) / slow
                    ef[q] = (ef[q] + xv) / fast
                else:
                    es[q] = (xv - es[q]) * ks + es[q]
                    ef[q] = (xv - ef[q]) * kf + ef[q]
                raw = ef[q] - es[q]
                if k < begin:
                    g[q] += raw
                    continue
                if k == begin:
                    g[q] = (g[q] + raw) / signal
                else:
                    g[q] = (raw - g[q]) * kg + g[q]
                line[i, j] = raw
                sig[i, j] = g[q]
                hist[i, j] = raw - g[q]


@njit(parallel=True, **_OPTS)
def bbands_2d(x, s, p, up, dn, upper, middle, lower):
    t, n = x.shape
    for b in prange(n_blocks(n)):
        j0 = b * BLOCK
        j1 = min(n, j0 + BLOCK)
        total = np.zeros(j1 - j0)
        sq = np.zeros(j1 - j0)
        for i in range(t):
            for j in range(j0, j1):
                k = i - s[j]
                if k < 0:
                    continue
                q = j - j0
                xv = x[i, j]
                total[q] += xv
                sq[q] += xv * xv
                if k >= p - 1:
                    mid = total[q] / p
                    mean2 = sq[q] / p
                    tr = x[i - p + 1, j]
                    total[q] -= tr
                    sq[q] -= tr * tr
                    mean2 -= mid * mid
                    sd = np.sqrt(mean2) if mean2 >= EPS else 0.0
                    middle[i, j] = mid
                    upper[i, j] = mid + sd * up
                    lower[i, j] = mid - sd * dn


# --- Wilder averages -------------------------------------------------------------

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
                if k < 1:
                    continue
                q = j - j0
                d = x[i, j] - x[i - 1, j]
                if k > p:
                    loss[q] *= p - 1
                    gain[q] *= p - 1
                if d < 0:
                    loss[q] -= d
                else:
                    gain[q] += d
                if k >= p:
                    loss[q] /= p
                    gain[q] /= p
                    tot = gain[q] + loss[q]
                    out[i, j] = 0.0 if is_zero(tot) else 100.0 * (gain[q] / tot)


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
                if k < 1:
                    continue
                q = j - j0
                tr = true_range(h[i, j], lo[i, j], c[i - 1, j])
                if p == 1:
                    out[i, j] = tr
                elif k < p:
                    acc[q] += tr
                elif k == p:
                    acc[q] = (acc[q] + tr) / p
                    out[i, j] = acc[q]
                else:
                    acc[q] = (acc[q] * (p - 1) + tr) / p
                    out[i, j] = acc[q]


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
                if k < 1:
                    continue
                q = j - j0
                dp = h[i, j] - h[i - 1, j]
                dm = lo[i - 1, j] - lo[i, j]
                tr = true_range(h[i, j], lo[i, j], c[i - 1, j])
                if k >= p:
                    mdm[q] -= mdm[q] / p
                    pdm[q] -= pdm[q] / p
                if dm > 0 and dp < dm:
                    mdm[q] += dm
                elif dp > 0 and dp > dm:
                    pdm[q] += dp
                if k < p:
                    trs[q] += tr
                    continue
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
                elif k == 2 * p - 1:
                    if dx >= 0.0:
                        adx[q] += dx
                    adx[q] /= p
                    out[i, j] = adx[q]
                else:
                    # a DX TA-Lib cannot compute leaves ADX where it was
                    if dx >= 0.0:
                        adx[q] = ((adx[q] * (p - 1)) + dx) / p
                    out[i, j] = adx[q]


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
                diff = (hh - ll) / 100.0
                out[i, j] = (c[i, j] - ll) / diff if diff != 0.0 else 0.0


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
                diff = (hh - ll) / -100.0
                out[i, j] = (hh - c[i, j]) / diff if diff != 0.0 else 0.0


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
                x = last - avg
                out[i, j] = x / (0.015 * (dev / p)) if (x != 0.0 and dev != 0.0) else 0.0


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
                if abs(d) <= 1e-14 * (abs(tp) + abs(prev)):   # TA-Lib 0.6's dead zone
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
