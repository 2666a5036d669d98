"""Numba kernels for the indicators, on ``(T, N)`` float64 C-order arrays.

Layout.  Every kernel here assumes that *every column starts at row 0* (the
backend shifts ragged columns up before calling, see
``backends/_layout.py``).  Rows before an indicator's lookback are written as
NaN.  A C-order ``(T, N)`` row is contiguous over symbols, so each kernel walks
time in the outer loop and a block of columns in the inner loop: the inner
loops are straight-line and vectorise (column indices are unsigned so that
Numba drops its negative-index wraparound, which would block that).  Per-column
state lives in small ``(width,)`` vectors (and ``(period, width)`` rings) that
stay in L1/L2.

Threads.  A kernel computes columns ``col0:col1`` in blocks of ``width`` and
releases the GIL (``nogil``); the backend runs disjoint column ranges on a
thread pool.  (``prange`` gives the same speed but made first-time
compilation about five times slower: ~55 s against ~10 s for these kernels.)

Arithmetic.  Each step follows TA-Lib's C code operation by operation
(accumulation order, where it divides or multiplies by ``1/period``, its
zero tests), so that results match TA-Lib to the last bit or a few ulp.
Columns holding NaN (a short history before the backend re-aligns it) only
produce NaN garbage here; nothing loops on data, so no input can hang a
kernel.  ``error_model='numpy'``: a division by zero gives inf/NaN, it does
not raise.

The ``*_step`` functions advance one indicator by one row for one column
block and leave the row's value(s) in a state vector; the per-indicator
kernels and the fused kernel are loops over the same steps, which is what
makes the fused values identical to the last row of the separate ones.
"""
from __future__ import annotations

import numpy as np
from llvmlite import ir
from numba import njit, types, uintp
from numba.core import cgutils
from numba.extending import intrinsic

# TA-Lib's TA_EPSILON, used by its scale-aware zero test
# TA_IS_ZERO_SCALED(v, scale) := |v| <= TA_EPSILON * scale, and by TA_IS_ZERO.
EPS = 1e-14

_JIT = dict(cache=True, error_model="numpy", nogil=True)


@intrinsic
def _fma(typingctx, a, b, c):
    """a * b + c with one rounding (llvm.fma), as TA-Lib's fused steps use."""
    sig = types.float64(types.float64, types.float64, types.float64)

    def codegen(context, builder, signature, args):
        d = ir.DoubleType()
        fn = cgutils.get_or_insert_function(builder.module, ir.FunctionType(d, [d, d, d]),
                                            "llvm.fma.f64")
        return builder.call(fn, args)
    return sig, codegen


@njit(**_JIT)
def _emit(out, t, c0, w, val, ok):
    """out[t, c0:c0+w] = val, or NaN while the lookback is not reached."""
    if ok:
        for j in range(w):
            out[t, c0 + uintp(j)] = val[j]
    else:
        for j in range(w):
            out[t, c0 + uintp(j)] = np.nan


# ---------------------------------------------------------------- moving averages

@njit(**_JIT)
def _sma_step(x, t, c0, w, p, acc, val, emit):
    # TA_SMA: periodTotal += x[i]; out = periodTotal / p; periodTotal -= x[trailing].
    # The division only when the row's value is wanted (``emit``).
    for j in range(w):
        acc[j] += x[t, c0 + uintp(j)]
    if t >= p - 1:
        tr = t - p + 1
        if emit:
            for j in range(w):
                val[j] = acc[j] / p
                acc[j] -= x[tr, c0 + uintp(j)]
        else:
            for j in range(w):
                acc[j] -= x[tr, c0 + uintp(j)]


@njit(**_JIT)
def sma(x, p, out, col0, col1, width):
    T = x.shape[0]
    for cb in range(col0, col1, width):
        w = min(col1, cb + width) - cb
        c0 = uintp(cb)
        acc = np.zeros(w)
        val = np.empty(w)
        for t in range(T):
            _sma_step(x, t, c0, w, p, acc, val, True)
            _emit(out, t, c0, w, val, t >= p - 1)


@njit(**_JIT)
def _ema_step(x, t, c0, w, p, k, acc, e):
    # Seed: sum of the first p values from 0.0, divided by p; then
    # prevMA = fma(x - prevMA, k, prevMA).
    if t < p - 1:
        for j in range(w):
            acc[j] += x[t, c0 + uintp(j)]
    elif t == p - 1:
        for j in range(w):
            acc[j] += x[t, c0 + uintp(j)]
            e[j] = acc[j] / p
    else:
        for j in range(w):
            e[j] = _fma(x[t, c0 + uintp(j)] - e[j], k, e[j])


@njit(**_JIT)
def ema(x, p, out, col0, col1, width):
    T = x.shape[0]
    k = 2.0 / (p + 1)
    for cb in range(col0, col1, width):
        w = min(col1, cb + width) - cb
        c0 = uintp(cb)
        acc = np.zeros(w)
        e = np.empty(w)
        for t in range(T):
            _ema_step(x, t, c0, w, p, k, acc, e)
            _emit(out, t, c0, w, e, t >= p - 1)


@njit(**_JIT)
def _macd_step(x, t, c0, w, fast, slow, sig, fk, sk, gk, accf, accs, ef, es, m, sg):
    # TA_MACD (default compatibility): the slow seed is the mean of the first
    # `slow` bars, the fast seed the mean of the last `fast` of those; the
    # signal is seeded with the mean of the first `sig` MACD values.  Each EMA
    # step is fma(x - prev, k, prev).
    lb = slow - 1 + sig - 1
    if t < slow:
        if t < slow - fast:
            for j in range(w):
                accs[j] += x[t, c0 + uintp(j)]
        else:
            for j in range(w):
                v = x[t, c0 + uintp(j)]
                accf[j] += v
                accs[j] += v
        if t == slow - 1:
            for j in range(w):
                ef[j] = accf[j] / fast
                es[j] = accs[j] / slow
                m[j] = ef[j] - es[j]
                sg[j] = 0.0 + m[j]  # the signal's running sum
    else:
        if t <= lb:
            for j in range(w):
                v = x[t, c0 + uintp(j)]
                ef[j] = _fma(v - ef[j], fk, ef[j])
                es[j] = _fma(v - es[j], sk, es[j])
                m[j] = ef[j] - es[j]
                sg[j] += m[j]
        else:
            for j in range(w):
                v = x[t, c0 + uintp(j)]
                ef[j] = _fma(v - ef[j], fk, ef[j])
                es[j] = _fma(v - es[j], sk, es[j])
                m[j] = ef[j] - es[j]
                sg[j] = _fma(m[j] - sg[j], gk, sg[j])
    if t == lb:
        for j in range(w):
            sg[j] = sg[j] / sig


@njit(**_JIT)
def macd(x, fast, slow, sig, out_m, out_s, out_h, col0, col1, width):
    T = x.shape[0]
    fk = 2.0 / (fast + 1)
    sk = 2.0 / (slow + 1)
    gk = 2.0 / (sig + 1)
    lb = slow - 1 + sig - 1
    for cb in range(col0, col1, width):
        w = min(col1, cb + width) - cb
        c0 = uintp(cb)
        accf = np.zeros(w)
        accs = np.zeros(w)
        ef = np.empty(w)
        es = np.empty(w)
        m = np.empty(w)
        sg = np.empty(w)
        for t in range(T):
            _macd_step(x, t, c0, w, fast, slow, sig, fk, sk, gk, accf, accs, ef, es, m, sg)
            if t >= lb:
                for j in range(w):
                    out_m[t, c0 + uintp(j)] = m[j]
                    out_s[t, c0 + uintp(j)] = sg[j]
                    out_h[t, c0 + uintp(j)] = m[j] - sg[j]
            else:
                for j in range(w):
                    out_m[t, c0 + uintp(j)] = np.nan
                    out_s[t, c0 + uintp(j)] = np.nan
                    out_h[t, c0 + uintp(j)] = np.nan


@njit(**_JIT)
def _bb_reseed(x, tr, t, c, p, j, shift, vt1, vt2, bars, var):
    # Re-take the shift as the window mean and recompute the sums from scratch.
    inv = 1.0 / p
    bars[j] = 32 * p
    s = 0.0
    for r in range(tr, t + 1):
        s += x[r, c]
    sh = s * inv
    a1 = 0.0
    a2 = 0.0
    for r in range(tr, t + 1):
        d = x[r, c] - sh
        a1 += d
        a2 += d * d
    m1 = a1 * inv
    vr = a2 * inv - m1 * m1
    if vr < 0.000000000001 * (a2 * inv):
        vr = 0.0
    d = x[tr, c] - sh
    a1 -= d
    a2 -= d * d
    shift[j] = sh
    vt1[j] = a1
    vt2[j] = a2
    var[j] = vr


@njit(**_JIT)
def _bb_step(x, t, c0, w, p, ma, shift, vt1, vt2, bars, var, mid, flag, emit):
    # TA_BBANDS, SMA path: the middle band is TA_SMA's running sum; the
    # variance uses sums of deviations from a shift (the window's first bar,
    # later the window mean) that is re-taken whenever cancellation threatens
    # (relative variance < 1e-6, a leaving term > 1e6 x the sum, or every 32
    # periods), with a 1e-12 floor at each re-take.  The rare re-takes run in
    # a second, scalar pass so that the main pass stays vectorised.
    inv = 1.0 / p
    lb = p - 1
    if t == 0:
        for j in range(w):
            shift[j] = x[0, c0 + uintp(j)]
    for j in range(w):
        v = x[t, c0 + uintp(j)]
        ma[j] += v
        d = v - shift[j]
        vt1[j] += d
        vt2[j] += d * d
    if t == lb:
        for j in range(w):
            bars[j] = 32 * p
    if t >= lb:
        tr = t - lb
        for j in range(w):
            m1 = vt1[j] * inv
            vr = vt2[j] * inv - m1 * m1
            if emit:
                mid[j] = ma[j] / p
            xt = x[tr, c0 + uintp(j)]
            ma[j] -= xt
            d = xt - shift[j]
            vt1[j] -= d
            d2 = d * d
            vt2[j] -= d2
            bars[j] -= 1
            flag[j] = ((vr < 0.000001 * (vt2[j] * inv)) | (d2 > 1000000.0 * vt2[j])
                       | (bars[j] <= 0))
            var[j] = vr
        for j in range(w):
            if flag[j]:
                _bb_reseed(x, tr, t, c0 + uintp(j), p, j, shift, vt1, vt2, bars, var)


@njit(**_JIT)
def _bb_bands(vr, md, up, dn):
    # TA-Lib: one product for equal multipliers; otherwise its upper band is a
    # fused multiply-add and its lower band is not (measured against 0.8).
    sd = np.sqrt(vr) if vr != 0.0 else 0.0
    if up == dn:
        dev = sd * up
        return md + dev, md, md - dev
    return _fma(sd, up, md), md, md - sd * dn


@njit(**_JIT)
def bbands(x, p, up, dn, out_u, out_m, out_l, col0, col1, width):
    T = x.shape[0]
    for cb in range(col0, col1, width):
        w = min(col1, cb + width) - cb
        c0 = uintp(cb)
        ma = np.zeros(w)
        shift = np.empty(w)
        vt1 = np.zeros(w)
        vt2 = np.zeros(w)
        bars = np.zeros(w, np.int64)
        var = np.empty(w)
        mid = np.empty(w)
        flag = np.zeros(w, np.bool_)
        for t in range(T):
            _bb_step(x, t, c0, w, p, ma, shift, vt1, vt2, bars, var, mid, flag, True)
            if t >= p - 1:
                for j in range(w):
                    u, mm, lo = _bb_bands(var[j], mid[j], up, dn)
                    out_u[t, c0 + uintp(j)] = u
                    out_m[t, c0 + uintp(j)] = mm
                    out_l[t, c0 + uintp(j)] = lo
            else:
                for j in range(w):
                    out_u[t, c0 + uintp(j)] = np.nan
                    out_m[t, c0 + uintp(j)] = np.nan
                    out_l[t, c0 + uintp(j)] = np.nan


# ---------------------------------------------------------------- Wilder family

@njit(**_JIT)
def _rsi_step(x, t, c0, w, p, g, lo):
    # TA_RSI: gains and losses summed over the first p changes and scaled by
    # 1/p, then prev = (prev * (p - 1) + today) * (1/p).
    if t == 0:
        return
    inv = 1.0 / p
    if t <= p:
        for j in range(w):
            d = x[t, c0 + uintp(j)] - x[t - 1, c0 + uintp(j)]
            gd = d if d > 0.0 else 0.0
            g[j] += gd
            lo[j] += gd - d
        if t == p:
            for j in range(w):
                lo[j] *= inv
                g[j] *= inv
    else:
        pm1 = float(p - 1)
        for j in range(w):
            d = x[t, c0 + uintp(j)] - x[t - 1, c0 + uintp(j)]
            gd = d if d > 0.0 else 0.0
            lo[j] = (lo[j] * pm1 + (gd - d)) * inv
            g[j] = (g[j] * pm1 + gd) * inv


@njit(**_JIT)
def _rsi_value(gj, lj):
    # gain + loss is a sum of magnitudes: exactly 0 only for a flat series,
    # which TA-Lib reports as 0.
    tot = gj + lj
    return 100.0 * (gj / tot) if tot > 0.0 else 0.0


@njit(**_JIT)
def rsi(x, p, out, col0, col1, width):
    T = x.shape[0]
    for cb in range(col0, col1, width):
        w = min(col1, cb + width) - cb
        c0 = uintp(cb)
        g = np.zeros(w)
        lo = np.zeros(w)
        for t in range(T):
            _rsi_step(x, t, c0, w, p, g, lo)
            if t >= p:
                for j in range(w):
                    out[t, c0 + uintp(j)] = _rsi_value(g[j], lo[j])
            else:
                for j in range(w):
                    out[t, c0 + uintp(j)] = np.nan


@njit(**_JIT)
def _true_range(h, lo, cy):
    # TA-Lib order: high-low, then the two distances to the previous close.
    greatest = h - lo
    v2 = abs(cy - h)
    if v2 > greatest:
        greatest = v2
    v3 = abs(cy - lo)
    if v3 > greatest:
        greatest = v3
    return greatest


@njit(**_JIT)
def _atr_step(h, lo, c, t, c0, w, p, acc, a):
    # TA_ATR: the seed is the mean of the first p true ranges; then
    # prevATR = fma(wBeta, prevATR, wAlpha * TR), wBeta = (p-1)/p, wAlpha = 1 - wBeta.
    if t == 0:
        return
    if t <= p:
        for j in range(w):
            cj = c0 + uintp(j)
            acc[j] += _true_range(h[t, cj], lo[t, cj], c[t - 1, cj])
        if t == p:
            for j in range(w):
                a[j] = acc[j] / p
    else:
        wb = (p - 1) / p
        wa = 1.0 - wb
        for j in range(w):
            cj = c0 + uintp(j)
            a[j] = _fma(wb, a[j], wa * _true_range(h[t, cj], lo[t, cj], c[t - 1, cj]))


@njit(**_JIT)
def atr(h, lo, c, p, out, col0, col1, width):
    T = c.shape[0]
    for cb in range(col0, col1, width):
        w = min(col1, cb + width) - cb
        c0 = uintp(cb)
        acc = np.zeros(w)
        a = np.empty(w)
        for t in range(T):
            _atr_step(h, lo, c, t, c0, w, p, acc, a)
            _emit(out, t, c0, w, a, t >= p)


@njit(**_JIT)
def _adx_step(h, lo, c, t, c0, w, p, pm, pp, ptr, adx):
    # TA_ADX: +DM/-DM and TR summed over p-1 bars, then Wilder-smoothed
    # (x -= x/p; x += today); DX summed over the next p bars gives the first
    # ADX (at row 2p-1), then ADX = (ADX*(p-1) + DX)/p.  A bar whose smoothed TR is
    # 0, or whose DI sum is within TA_EPSILON of 0, leaves the sums unchanged.
    if t == 0:
        return
    if t < p:
        for j in range(w):
            cj = c0 + uintp(j)
            hh = h[t, cj]
            ll = lo[t, cj]
            dp = hh - h[t - 1, cj]
            dm = lo[t - 1, cj] - ll
            pm[j] += dm if (dm > 0.0 and dm - dp > 0.0) else 0.0
            pp[j] += dp if (dp > 0.0 and dp - dm > 0.0) else 0.0
            ptr[j] += _true_range(hh, ll, c[t - 1, cj])
        return
    for j in range(w):
        cj = c0 + uintp(j)
        hh = h[t, cj]
        ll = lo[t, cj]
        dp = hh - h[t - 1, cj]
        dm = lo[t - 1, cj] - ll
        pm[j] -= pm[j] / p
        pp[j] -= pp[j] / p
        pm[j] += dm if (dm > 0.0 and dm - dp > 0.0) else 0.0
        pp[j] += dp if (dp > 0.0 and dp - dm > 0.0) else 0.0
        tr = ptr[j]
        tr = tr - tr / p + _true_range(hh, ll, c[t - 1, cj])
        ptr[j] = tr
        if tr > 0.0:
            mdi = 100.0 * (pm[j] / tr)
            pdi = 100.0 * (pp[j] / tr)
            s = mdi + pdi
            if not (-EPS < s and s < EPS):
                dx = 100.0 * (abs(mdi - pdi) / s)
                if t <= 2 * p - 1:
                    adx[j] += dx  # the DX sum that seeds ADX
                else:
                    adx[j] = (adx[j] * (p - 1) + dx) / p
    if t == 2 * p - 1:
        for j in range(w):
            adx[j] = adx[j] / p


@njit(**_JIT)
def adx(h, lo, c, p, out, col0, col1, width):
    T = c.shape[0]
    for cb in range(col0, col1, width):
        w = min(col1, cb + width) - cb
        c0 = uintp(cb)
        pm = np.zeros(w)
        pp = np.zeros(w)
        ptr = np.zeros(w)
        a = np.zeros(w)
        for t in range(T):
            _adx_step(h, lo, c, t, c0, w, p, pm, pp, ptr, a)
            _emit(out, t, c0, w, a, t >= 2 * p - 1)


# ---------------------------------------------------------------- volume

@njit(**_JIT)
def _obv_step(c, v, t, c0, w, o):
    # TA_OBV: starts at the first volume; +volume on an up close, -volume on a down one.
    if t == 0:
        for j in range(w):
            o[j] = v[0, c0 + uintp(j)]
        return
    for j in range(w):
        cj = c0 + uintp(j)
        x = c[t, cj]
        xp = c[t - 1, cj]
        vv = v[t, cj]
        # adding 0.0 on an unchanged close is exact, so one select replaces the branches
        o[j] += vv if x > xp else (-vv if x < xp else 0.0)


@njit(**_JIT)
def obv(c, v, out, col0, col1, width):
    T = c.shape[0]
    for cb in range(col0, col1, width):
        w = min(col1, cb + width) - cb
        c0 = uintp(cb)
        o = np.zeros(w)
        for t in range(T):
            _obv_step(c, v, t, c0, w, o)
            _emit(out, t, c0, w, o, True)


@njit(**_JIT)
def _typical(hv, lv, cv):
    return (hv + lv + cv) / 3.0


@njit(**_JIT)
def _mfi_step(h, lo, c, v, t, c0, w, p, rpos, rneg, pos, neg, nullrun, ptp, val, emit):
    # TA_MFI: money flow = typical price x volume, positive or negative with
    # the typical price's move, none when the move is within TA_EPSILON of the
    # two prices' size; sums over p bars kept in rings (all 0.0 at first, so
    # subtracting the leaving slot is exact before the ring is full); a run of
    # p bars with no flow resets the sums to exactly 0; the ratio is clamped
    # to [0, 100].
    if t == 0:
        for j in range(w):
            cj = c0 + uintp(j)
            ptp[j] = _typical(h[0, cj], lo[0, cj], c[0, cj])
        return
    slot = (t - 1) % p
    for j in range(w):
        cj = c0 + uintp(j)
        tp = _typical(h[t, cj], lo[t, cj], c[t, cj])
        tpp = ptp[j]
        ptp[j] = tp
        d = tp - tpp
        scale = abs(tp) + abs(tpp)
        mf = tp * v[t, cj]
        flow = 0.0 if abs(d) <= EPS * scale else mf
        down = d < 0.0
        pf = 0.0 if down else flow
        nf = flow if down else 0.0
        ps = (pos[j] - rpos[slot, j]) + pf
        ns = (neg[j] - rneg[slot, j]) + nf
        rpos[slot, j] = pf
        rneg[slot, j] = nf
        nr = nullrun[j] + 1 if flow == 0.0 else 0
        full = nr >= p
        nullrun[j] = p if full else nr
        pos[j] = 0.0 if full else ps
        neg[j] = 0.0 if full else ns
    if emit:
        for j in range(w):
            tot = pos[j] + neg[j]
            pc = 0.0 if pos[j] < 0.0 else (tot if pos[j] > tot else pos[j])
            val[j] = 0.0 if tot <= 0.0 else 100.0 * (pc / tot)


@njit(**_JIT)
def mfi(h, lo, c, v, p, out, col0, col1, width):
    T = c.shape[0]
    for cb in range(col0, col1, width):
        w = min(col1, cb + width) - cb
        c0 = uintp(cb)
        rpos = np.zeros((p, w))
        rneg = np.zeros((p, w))
        pos = np.zeros(w)
        neg = np.zeros(w)
        nullrun = np.zeros(w, np.int64)
        ptp = np.empty(w)
        val = np.empty(w)
        for t in range(T):
            _mfi_step(h, lo, c, v, t, c0, w, p, rpos, rneg, pos, neg, nullrun, ptp, val, t >= p)
            _emit(out, t, c0, w, val, t >= p)


# ---------------------------------------------------------------- window indicators

@njit(**_JIT)
def _window_extremes(h, lo, t, c0, w, p, hh, ll):
    """Highest high and lowest low of rows t-p+1..t (exact; any scan order)."""
    for j in range(w):
        hh[j] = h[t, c0 + uintp(j)]
        ll[j] = lo[t, c0 + uintp(j)]
    for r in range(t - p + 1, t):
        for j in range(w):
            a = h[r, c0 + uintp(j)]
            hh[j] = a if a > hh[j] else hh[j]
            z = lo[r, c0 + uintp(j)]
            ll[j] = z if z < ll[j] else ll[j]


@njit(**_JIT)
def _extremes_step(h, lo, t, c0, w, p, preh, prel, sufh, sufl, hh, ll):
    """Highest high and lowest low of rows t-p+1..t into hh/ll (from row p-1 on).

    van Herk / Gil-Werman: rows fall in blocks of p; ``pre*`` holds the
    extremes from the current block's first row to t, ``suf*[k]`` those from
    row k of the previous block to its end, so a window is one max of two.
    Call it for every row in order.
    """
    pos = t % p
    if pos == 0:
        if t >= p:
            for j in range(w):
                cj = c0 + uintp(j)
                sufh[p - 1, j] = h[t - 1, cj]
                sufl[p - 1, j] = lo[t - 1, cj]
            for k in range(p - 2, -1, -1):
                r = t - p + k
                for j in range(w):
                    cj = c0 + uintp(j)
                    a = h[r, cj]
                    b = sufh[k + 1, j]
                    sufh[k, j] = a if a > b else b
                    z = lo[r, cj]
                    y = sufl[k + 1, j]
                    sufl[k, j] = z if z < y else y
        for j in range(w):
            cj = c0 + uintp(j)
            preh[j] = h[t, cj]
            prel[j] = lo[t, cj]
    else:
        for j in range(w):
            cj = c0 + uintp(j)
            a = h[t, cj]
            preh[j] = a if a > preh[j] else preh[j]
            z = lo[t, cj]
            prel[j] = z if z < prel[j] else prel[j]
    if pos == p - 1:
        for j in range(w):
            hh[j] = preh[j]
            ll[j] = prel[j]
    elif t >= p - 1:
        for j in range(w):
            a = sufh[pos + 1, j]
            hh[j] = a if a > preh[j] else preh[j]
            z = sufl[pos + 1, j]
            ll[j] = z if z < prel[j] else prel[j]


@njit(**_JIT)
def _flat(hi, lo_):
    # TA_IS_ZERO_SCALED(highest - lowest, |highest| + |lowest|)
    return abs(hi - lo_) <= EPS * (abs(hi) + abs(lo_))


@njit(**_JIT)
def _willr_from(c, t, c0, w, hh, ll, val):
    # -100 * ((highest - close) / (highest - lowest)); 0 for a flat window
    # (TA_IS_ZERO_SCALED on the range against its two extremes).
    for j in range(w):
        r = -100.0 * ((hh[j] - c[t, c0 + uintp(j)]) / (hh[j] - ll[j]))
        val[j] = 0.0 if _flat(hh[j], ll[j]) else r


@njit(**_JIT)
def willr(h, lo, c, p, out, col0, col1, width):
    T = c.shape[0]
    for cb in range(col0, col1, width):
        w = min(col1, cb + width) - cb
        c0 = uintp(cb)
        preh = np.empty(w)
        prel = np.empty(w)
        sufh = np.empty((p, w))
        sufl = np.empty((p, w))
        hh = np.empty(w)
        ll = np.empty(w)
        val = np.empty(w)
        for t in range(T):
            _extremes_step(h, lo, t, c0, w, p, preh, prel, sufh, sufl, hh, ll)
            if t >= p - 1:
                _willr_from(c, t, c0, w, hh, ll, val)
            _emit(out, t, c0, w, val, t >= p - 1)


@njit(**_JIT)
def _stoch_step(h, lo, c, t, c0, w, fk, sk, sd, preh, prel, sufh, sufl, hh, ll, fast,
                rk, rs, acck, accd, slowk, slowd, emit):
    # TA_STOCH: fast %K = 100 * ((close - lowest) / (highest - lowest)) over fk
    # bars (0 for a flat window, TA_IS_ZERO_SCALED); slow %K = TA_SMA(fast %K,
    # sk) and slow %D = TA_SMA(slow %K, sd), both running sums over their
    # whole history (each line taken as 0 before it starts, which adds
    # exactly nothing).  Rings hold the last sk fast and sd slow values.
    _extremes_step(h, lo, t, c0, w, fk, preh, prel, sufh, sufl, hh, ll)
    if t >= fk - 1:
        for j in range(w):
            r = 100.0 * ((c[t, c0 + uintp(j)] - ll[j]) / (hh[j] - ll[j]))
            fast[j] = 0.0 if _flat(hh[j], ll[j]) else r
    else:
        for j in range(w):
            fast[j] = 0.0
    slot = t % sk
    trk = (t - sk + 1) % sk
    if t >= fk + sk - 2:
        for j in range(w):
            acck[j] += fast[j]
            rk[slot, j] = fast[j]
            slowk[j] = acck[j] / sk
            acck[j] -= rk[trk, j]
    else:
        for j in range(w):
            acck[j] += fast[j]
            rk[slot, j] = fast[j]
            slowk[j] = 0.0
    slot = t % sd
    trd = (t - sd + 1) % sd
    if t >= fk + sk + sd - 3:
        for j in range(w):
            accd[j] += slowk[j]
            rs[slot, j] = slowk[j]
            if emit:
                slowd[j] = accd[j] / sd
            accd[j] -= rs[trd, j]
    else:
        for j in range(w):
            accd[j] += slowk[j]
            rs[slot, j] = slowk[j]


@njit(**_JIT)
def stoch(h, lo, c, fk, sk, sd, out_k, out_d, col0, col1, width):
    T = c.shape[0]
    lb = fk + sk + sd - 3
    for cb in range(col0, col1, width):
        w = min(col1, cb + width) - cb
        c0 = uintp(cb)
        preh = np.empty(w)
        prel = np.empty(w)
        sufh = np.empty((fk, w))
        sufl = np.empty((fk, w))
        hh = np.empty(w)
        ll = np.empty(w)
        fast = np.empty(w)
        rk = np.zeros((sk, w))
        rs = np.zeros((sd, w))
        acck = np.zeros(w)
        accd = np.zeros(w)
        slowk = np.empty(w)
        slowd = np.empty(w)
        for t in range(T):
            _stoch_step(h, lo, c, t, c0, w, fk, sk, sd, preh, prel, sufh, sufl, hh, ll, fast,
                        rk, rs, acck, accd, slowk, slowd, True)
            _emit(out_k, t, c0, w, slowk, t >= lb)
            _emit(out_d, t, c0, w, slowd, t >= lb)


@njit(**_JIT)
def _cci_value(ring_order, lastv, p):
    """CCI from the window's typical prices given in TA-Lib's ring order."""
    avg = 0.0
    for k in range(p):
        avg += ring_order[k]
    avg /= p
    md = 0.0
    for k in range(p):
        md += abs(ring_order[k] - avg)
    md /= p
    dev = lastv - avg
    scale = abs(avg)
    if abs(dev) <= EPS * scale or abs(md) <= EPS * scale:
        return 0.0
    return dev / (0.015 * md)


@njit(**_JIT)
def _cci_row(h, lo, c, t, c0, w, p, val):
    # TA_CCI keeps the typical prices in a ring whose slot for bar t is t % p
    # and sums it slot 0..p-1 (not in time order); recomputing a bar's typical
    # price gives the same bits, so only the order needs reproducing.
    buf = np.empty(p)
    for j in range(w):
        cj = c0 + uintp(j)
        for k in range(p):
            r = t - ((t - k) % p)
            buf[k] = _typical(h[r, cj], lo[r, cj], c[r, cj])
        val[j] = _cci_value(buf, buf[t % p], p)


@njit(**_JIT)
def cci(h, lo, c, p, out, col0, col1, width):
    T = c.shape[0]
    for cb in range(col0, col1, width):
        w = min(col1, cb + width) - cb
        c0 = uintp(cb)
        ring = np.empty((p, w))
        avg = np.empty(w)
        md = np.empty(w)
        for t in range(T):
            slot = t % p
            for j in range(w):
                cj = c0 + uintp(j)
                ring[slot, j] = _typical(h[t, cj], lo[t, cj], c[t, cj])
            if t < p - 1:
                _emit(out, t, c0, w, avg, False)
                continue
            for j in range(w):
                avg[j] = 0.0
                md[j] = 0.0
            for k in range(p):
                for j in range(w):
                    avg[j] += ring[k, j]
            for j in range(w):
                avg[j] /= p
            for k in range(p):
                for j in range(w):
                    md[j] += abs(ring[k, j] - avg[j])
            for j in range(w):
                m = md[j] / p
                dev = ring[slot, j] - avg[j]
                scale = abs(avg[j])
                if abs(dev) <= EPS * scale or abs(m) <= EPS * scale:
                    out[t, c0 + uintp(j)] = 0.0
                else:
                    out[t, c0 + uintp(j)] = dev / (0.015 * m)


@njit(**_JIT)
def _roc_value(cur, prev):
    return (cur / prev - 1.0) * 100.0 if prev != 0.0 else 0.0


@njit(**_JIT)
def roc(x, p, out, col0, col1, width):
    T = x.shape[0]
    for cb in range(col0, col1, width):
        w = min(col1, cb + width) - cb
        c0 = uintp(cb)
        for t in range(T):
            if t >= p:
                for j in range(w):
                    cj = c0 + uintp(j)
                    out[t, cj] = _roc_value(x[t, cj], x[t - p, cj])
            else:
                for j in range(w):
                    out[t, c0 + uintp(j)] = np.nan


# ---------------------------------------------------------------- fused scan set

# Rows of the fused kernel's result, in this order.
FUSED_ROWS = (
    "sma_20", "sma_50", "sma_200", "rsi_14", "macd", "macd_signal", "macd_hist",
    "bb_upper", "bb_middle", "bb_lower", "atr_14", "stoch_k", "stoch_d", "adx_14",
    "mfi_14", "cci_14", "willr_14", "roc_10", "obv",
)


@njit(**_JIT)
def fused_last(h, lo, c, v, last, res, col0, col1, width):
    """Every scan indicator at row ``last[j]`` of each column, one walk over the bars.

    ``res`` is ``(len(FUSED_ROWS), N)``, NaN-filled by the caller.  A column's
    series starts at row 0 and is read up to ``last[j]`` (T-1 for full
    histories; shorter for short ones shifted up to row 0).  Recurrences and
    running sums are carried with the same steps as the separate kernels, so
    the values are bit-identical to their row ``last[j]``; the window-only
    indicators (CCI, WILLR, ROC) are evaluated at that row alone.
    """
    nan = np.nan
    for cb in range(col0, col1, width):
        w = min(col1, cb + width) - cb
        c0 = uintp(cb)
        lmin = last[cb]
        lmax = last[cb]
        for j in range(w):
            lmin = min(lmin, last[cb + j])
            lmax = max(lmax, last[cb + j])
        a20 = np.zeros(w)
        a50 = np.zeros(w)
        a200 = np.zeros(w)
        s20 = np.full(w, nan)
        s50 = np.full(w, nan)
        s200 = np.full(w, nan)
        g = np.zeros(w)
        gl = np.zeros(w)
        accf = np.zeros(w)
        accs = np.zeros(w)
        ef = np.empty(w)
        es = np.empty(w)
        m = np.empty(w)
        sg = np.empty(w)
        bma = np.zeros(w)
        bsh = np.empty(w)
        bv1 = np.zeros(w)
        bv2 = np.zeros(w)
        bbar = np.zeros(w, np.int64)
        bvar = np.empty(w)
        bmid = np.empty(w)
        bflag = np.zeros(w, np.bool_)
        tacc = np.zeros(w)
        at = np.empty(w)
        preh = np.empty(w)
        prel = np.empty(w)
        sufh = np.empty((14, w))
        sufl = np.empty((14, w))
        hh = np.empty(w)
        ll = np.empty(w)
        fast = np.empty(w)
        rk = np.zeros((3, w))
        rs = np.zeros((3, w))
        acck = np.zeros(w)
        accd = np.zeros(w)
        slowk = np.empty(w)
        slowd = np.empty(w)
        pm = np.zeros(w)
        pp = np.zeros(w)
        ptr = np.zeros(w)
        ax = np.zeros(w)
        rpos = np.zeros((14, w))
        rneg = np.zeros((14, w))
        pos = np.zeros(w)
        neg = np.zeros(w)
        nullrun = np.zeros(w, np.int64)
        ptp = np.empty(w)
        mf = np.empty(w)
        ob = np.zeros(w)
        for t in range(lmax + 1):
            emit = t >= lmin  # some column of the block ends at or after t
            _sma_step(c, t, c0, w, 20, a20, s20, emit)
            _sma_step(c, t, c0, w, 50, a50, s50, emit)
            _sma_step(c, t, c0, w, 200, a200, s200, emit)
            _rsi_step(c, t, c0, w, 14, g, gl)
            _macd_step(c, t, c0, w, 12, 26, 9, 2.0 / 13, 2.0 / 27, 2.0 / 10,
                       accf, accs, ef, es, m, sg)
            _bb_step(c, t, c0, w, 20, bma, bsh, bv1, bv2, bbar, bvar, bmid, bflag, emit)
            _atr_step(h, lo, c, t, c0, w, 14, tacc, at)
            _stoch_step(h, lo, c, t, c0, w, 14, 3, 3, preh, prel, sufh, sufl, hh, ll, fast,
                        rk, rs, acck, accd, slowk, slowd, emit)
            _adx_step(h, lo, c, t, c0, w, 14, pm, pp, ptr, ax)
            _mfi_step(h, lo, c, v, t, c0, w, 14, rpos, rneg, pos, neg, nullrun, ptp, mf, emit)
            _obv_step(c, v, t, c0, w, ob)
            if not emit:
                continue
            for j in range(w):
                if last[cb + j] != t:
                    continue
                cj = c0 + uintp(j)
                res[0, cj] = s20[j] if t >= 19 else nan
                res[1, cj] = s50[j] if t >= 49 else nan
                res[2, cj] = s200[j] if t >= 199 else nan
                res[3, cj] = _rsi_value(g[j], gl[j]) if t >= 14 else nan
                if t >= 33:
                    res[4, cj] = m[j]
                    res[5, cj] = sg[j]
                    res[6, cj] = m[j] - sg[j]
                if t >= 19:
                    res[7, cj], res[8, cj], res[9, cj] = _bb_bands(bvar[j], bmid[j], 2.0, 2.0)
                res[10, cj] = at[j] if t >= 14 else nan
                res[11, cj] = slowk[j] if t >= 17 else nan
                res[12, cj] = slowd[j] if t >= 17 else nan
                res[13, cj] = ax[j] if t >= 27 else nan
                res[14, cj] = mf[j] if t >= 14 else nan
                res[17, cj] = _roc_value(c[t, cj], c[t - 10, cj]) if t >= 10 else nan
                res[18, cj] = ob[j]
        # windows read at the last row: the whole block at once when it shares one
        val = np.empty(w)
        if lmin == lmax:
            if lmin >= 13:
                _cci_row(h, lo, c, lmin, c0, w, 14, val)
                for j in range(w):
                    res[15, c0 + uintp(j)] = val[j]
                _window_extremes(h, lo, lmin, c0, w, 14, hh, ll)
                _willr_from(c, lmin, c0, w, hh, ll, val)
                for j in range(w):
                    res[16, c0 + uintp(j)] = val[j]
        else:
            for j in range(w):
                t = last[cb + j]
                if t >= 13:
                    cj = c0 + uintp(j)
                    _cci_row(h, lo, c, t, cj, 1, 14, val)
                    res[15, cj] = val[0]
                    _window_extremes(h, lo, t, cj, 1, 14, hh, ll)
                    _willr_from(c, t, cj, 1, hh, ll, val)
                    res[16, cj] = val[0]


# ---------------------------------------------------------------- ragged columns

@njit(**_JIT)
def shift_up(a, cols, starts, out):
    """out[t, k] = a[t + starts[k], cols[k]]; NaN past the end (row order, one pass)."""
    t_len = a.shape[0]
    r = cols.shape[0]
    for row in range(t_len):
        for k in range(r):
            dst = row - starts[k]
            if dst >= 0:
                out[dst, k] = a[row, cols[k]]
    for k in range(r):
        for dst in range(max(0, t_len - starts[k]), t_len):
            out[dst, k] = np.nan


@njit(**_JIT)
def shift_down(sub, cols, starts, out):
    """out[t, cols[k]] = sub[t - starts[k], k]; NaN above each column's start."""
    t_len = out.shape[0]
    r = cols.shape[0]
    for row in range(t_len):
        for k in range(r):
            src = row - starts[k]
            out[row, cols[k]] = sub[src, k] if src >= 0 else np.nan
