"""Numba kernels for the indicators, on ``(T, N)`` float64 C-order arrays.

Layout.  A C-order ``(T, N)`` row is contiguous over symbols, so each kernel
walks time in the outer loop and a block of columns in the inner loop: the
inner loops are straight-line over contiguous memory and vectorise (indices
are unsigned so that Numba drops its negative-index wraparound, which would
block that).  Per-column state lives in small ``(width,)`` vectors (and
``(period, width)`` rings) that stay in L1/L2.  Outputs are written once, row
by row, NaN chosen per element by a select (``t >= ready[j]``), not a branch.

Ragged columns.  ``starts[j]`` is the row where column j's series begins (T
for a column with no data); rows before it are NaN and never read as data.
Within a block, the columns that start first (at ``base``) are stepped by the
vector loop at phase ``t - base``.  A column that starts later (a late
listing) is stepped by the same vector loop too, on garbage until its start,
and its first ``L`` rows (the rows where an indicator's seeding differs from
its steady recurrence; ``L >= 1`` so that the state is reset at the start)
are re-run one column at a time from its own start, on a small side state;
after its ``L``-th row the side state is copied into the block's state and
the vector loop carries it on from there.  So every column's recurrence
begins at its own start, with the same steps in the same order as a series
that starts at row 0: the results are bit for bit those of TA-Lib applied to
the column's own history, with no shifted copy of anything.  The extra work
is ``L`` scalar steps per late column.

Threads.  A kernel computes columns ``col0:col1`` in blocks of ``width`` and
releases the GIL (``nogil``); the backend runs disjoint column ranges on a
thread pool, a few chunks per thread, so a core slowed by a neighbour does
less of the work.  (``prange`` gives the same speed on a quiet machine but
makes first-time compilation about five times slower, and its static split
loses more to a busy neighbour.)

Arithmetic.  Each step follows TA-Lib's C code operation by operation
(accumulation order, where it divides or multiplies by ``1/period``, its
zero tests), so that results match TA-Lib 0.8.1 to the last bit.
``error_model='numpy'``: a division by zero gives inf/NaN, it does not raise;
nothing loops on data, so no input can hang a kernel.

The ``*_step`` functions advance one indicator by one row for ``w`` columns:
data columns ``dc + j``, state slots ``sc + j``, at phase ``u`` (rows since
the series began).  The per-indicator kernels and the fused kernel are loops
over the same steps, which is what makes the fused values identical to the
last row of the separate ones.
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
U0 = uintp(0)


@intrinsic
def _fma(typingctx, a, b, c):
    """a * b + c with one rounding (llvm.fma), as TA-Lib's fused steps use."""
    sig = types.float64(types.float64, types.float64, types.float64)

    def codegen(context, builder, signature, args):
        d = ir.DoubleType()
        fn = cgutils.get_or_insert_function(
            builder.module, ir.FunctionType(d, [d, d, d]), "llvm.fma.f64"
        )
        return builder.call(fn, args)

    return sig, codegen


# ---------------------------------------------------------------- ragged columns


@njit(**_JIT)
def _block_layout(starts, cb, w, T):
    """(base, late columns of the block (block-relative), their starts), late sorted by start.

    ``base`` is the first row where any column of the block starts (T when
    none does); columns starting there are stepped by the vector loop.  Every
    other column with data is late.
    """
    base = T
    for j in range(w):
        base = min(base, starts[cb + j])
    k = 0
    for j in range(w):
        s = starts[cb + j]
        if s != base and s < T:
            k += 1
    late = np.empty(k, np.int64)
    ls = np.empty(k, np.int64)
    k = 0
    for j in range(w):
        s = starts[cb + j]
        if s != base and s < T:
            late[k] = j
            ls[k] = s
            k += 1
    order = np.argsort(ls, kind="mergesort")
    return base, late[order], ls[order]


@njit(**_JIT)
def _ready(starts, cb, w, lookback):
    """First row with a value in each column: its start plus the lookback."""
    r = np.empty(w, np.int64)
    for j in range(w):
        r[j] = starts[cb + j] + lookback
    return r


@njit(**_JIT)
def _window(ls, a, b, t, L):
    """The late columns still in their first L rows at row t: ls[a:b] <= t < ls[a:b] + L."""
    k = ls.shape[0]
    while b < k and ls[b] <= t:
        b += 1
    while a < b and ls[a] + L <= t:
        a += 1
    return a, b


@njit(**_JIT)
def _emit(out, t, c0, w, val, ready):
    """out[t, c0:c0+w] = val where the column has a value at row t, else NaN."""
    for j in range(w):
        out[t, c0 + uintp(j)] = val[j] if t >= ready[j] else np.nan


@njit(**_JIT)
def first_rows(a):
    """Row of each column's first non-NaN value (T for none), for validated input.

    Validated input has only leading NaNs, so a column NaN at row 0 is found
    by bisection: a few reads per late column instead of a walk down it.
    """
    t_len, n = a.shape
    out = np.zeros(n, np.int64)
    if t_len == 0:
        return out
    for j in range(n):
        if not np.isnan(a[0, j]):
            continue
        lo, hi = 1, t_len
        while lo < hi:
            mid = (lo + hi) // 2
            if np.isnan(a[mid, j]):
                lo = mid + 1
            else:
                hi = mid
        out[j] = lo
    return out


# ---------------------------------------------------------------- moving averages


@njit(inline="always", **_JIT)
def _sma_step(x, t, dc, sc, w, p, acc, val, emit, first):
    # TA_SMA: periodTotal += x[i]; out = periodTotal / p; periodTotal -= x[trailing].
    # Before a column's window is full nothing leaves it: subtracting 0.0 there
    # changes no bit, so one select on the trailing row's place (``first``: the
    # row each column starts at) serves every row, and only the reset at the
    # column's start is phase-specific.  The division only when the row's value
    # is wanted (``emit``).
    trow = t - p + 1
    tr = max(trow, 0)
    if emit:
        for j in range(w):
            sj = sc + uintp(j)
            cj = dc + uintp(j)
            a = acc[sj] + x[t, cj]
            val[sj] = a / p
            acc[sj] = a - (x[tr, cj] if trow >= first[sj] else 0.0)
    else:
        for j in range(w):
            sj = sc + uintp(j)
            cj = dc + uintp(j)
            acc[sj] = (acc[sj] + x[t, cj]) - (x[tr, cj] if trow >= first[sj] else 0.0)


@njit(**_JIT)
def sma(x, p, starts, out, col0, col1, width):
    T = x.shape[0]
    L = 1
    for cb in range(col0, col1, width):
        w = min(col1, cb + width) - cb
        c0 = uintp(cb)
        base, late, ls = _block_layout(starts, cb, w, T)
        first = starts[cb : cb + w]
        acc = np.zeros(w)
        val = np.empty(w)
        kacc = np.zeros(late.size)
        kval = np.empty(late.size)
        ready = _ready(starts, cb, w, p - 1)
        a = b = 0
        for t in range(T):
            if t >= base:
                _sma_step(x, t, c0, U0, w, p, acc, val, True, first)
            a, b = _window(ls, a, b, t, L)
            for k in range(a, b):
                j = late[k]
                _sma_step(x, t, c0 + uintp(j), uintp(k), 1, p, kacc, kval, True, ls)
                acc[j], val[j] = kacc[k], kval[k]
            _emit(out, t, c0, w, val, ready)


@njit(inline="always", **_JIT)
def _ema_step(x, t, u, dc, sc, w, p, k, acc, e):
    # Seed: sum of the first p values from 0.0, divided by p; then
    # prevMA = fma(x - prevMA, k, prevMA).
    if u < p - 1:
        for j in range(w):
            acc[sc + uintp(j)] += x[t, dc + uintp(j)]
    elif u == p - 1:
        for j in range(w):
            sj = sc + uintp(j)
            acc[sj] += x[t, dc + uintp(j)]
            e[sj] = acc[sj] / p
    else:
        for j in range(w):
            sj = sc + uintp(j)
            e[sj] = _fma(x[t, dc + uintp(j)] - e[sj], k, e[sj])


@njit(**_JIT)
def ema(x, p, starts, out, col0, col1, width):
    T = x.shape[0]
    k_ = 2.0 / (p + 1)
    L = p
    for cb in range(col0, col1, width):
        w = min(col1, cb + width) - cb
        c0 = uintp(cb)
        base, late, ls = _block_layout(starts, cb, w, T)
        acc = np.zeros(w)
        e = np.empty(w)
        kacc = np.zeros(late.size)
        ke = np.empty(late.size)
        ready = _ready(starts, cb, w, p - 1)
        a = b = 0
        for t in range(T):
            if t >= base:
                _ema_step(x, t, t - base, c0, U0, w, p, k_, acc, e)
            a, b = _window(ls, a, b, t, L)
            for k in range(a, b):
                j, u = late[k], t - ls[k]
                _ema_step(x, t, u, c0 + uintp(j), uintp(k), 1, p, k_, kacc, ke)
                if u == L - 1:
                    acc[j], e[j] = kacc[k], ke[k]
            _emit(out, t, c0, w, e, ready)


@njit(inline="always", **_JIT)
def _macd_step(x, t, u, dc, sc, w, fast, slow, sig, fk, sk, gk, accf, accs, ef, es, m, sg):
    # TA_MACD (default compatibility): the slow seed is the mean of the first
    # `slow` bars, the fast seed the mean of the last `fast` of those; the
    # signal is seeded with the mean of the first `sig` MACD values.  Each EMA
    # step is fma(x - prev, k, prev).
    lb = slow - 1 + sig - 1
    if u < slow:
        if u < slow - fast:
            for j in range(w):
                accs[sc + uintp(j)] += x[t, dc + uintp(j)]
        else:
            for j in range(w):
                sj = sc + uintp(j)
                v = x[t, dc + uintp(j)]
                accf[sj] += v
                accs[sj] += v
        if u == slow - 1:
            for j in range(w):
                sj = sc + uintp(j)
                ef[sj] = accf[sj] / fast
                es[sj] = accs[sj] / slow
                m[sj] = ef[sj] - es[sj]
                sg[sj] = 0.0 + m[sj]  # the signal's running sum
    elif u <= lb:
        for j in range(w):
            sj = sc + uintp(j)
            v = x[t, dc + uintp(j)]
            ef[sj] = _fma(v - ef[sj], fk, ef[sj])
            es[sj] = _fma(v - es[sj], sk, es[sj])
            m[sj] = ef[sj] - es[sj]
            sg[sj] += m[sj]
    else:
        for j in range(w):
            sj = sc + uintp(j)
            v = x[t, dc + uintp(j)]
            ef[sj] = _fma(v - ef[sj], fk, ef[sj])
            es[sj] = _fma(v - es[sj], sk, es[sj])
            m[sj] = ef[sj] - es[sj]
            sg[sj] = _fma(m[sj] - sg[sj], gk, sg[sj])
    if u == lb:
        for j in range(w):
            sj = sc + uintp(j)
            sg[sj] = sg[sj] / sig


@njit(**_JIT)
def _macd_state(w):
    return (np.zeros(w), np.zeros(w), np.empty(w), np.empty(w), np.empty(w), np.empty(w))


@njit(inline="always", **_JIT)
def _macd_copy(src, k, dst, j):
    for a, b in zip(src, dst):
        b[j] = a[k]


@njit(**_JIT)
def macd(x, fast, slow, sig, starts, out_m, out_s, out_h, col0, col1, width):
    T = x.shape[0]
    fk = 2.0 / (fast + 1)
    sk = 2.0 / (slow + 1)
    gk = 2.0 / (sig + 1)
    lb = slow - 1 + sig - 1
    L = lb + 1
    for cb in range(col0, col1, width):
        w = min(col1, cb + width) - cb
        c0 = uintp(cb)
        base, late, ls = _block_layout(starts, cb, w, T)
        st = _macd_state(w)
        ks = _macd_state(late.size)
        m, sg = st[4], st[5]
        ready = _ready(starts, cb, w, lb)
        a = b = 0
        for t in range(T):
            if t >= base:
                _macd_step(
                    x,
                    t,
                    t - base,
                    c0,
                    U0,
                    w,
                    fast,
                    slow,
                    sig,
                    fk,
                    sk,
                    gk,
                    st[0],
                    st[1],
                    st[2],
                    st[3],
                    st[4],
                    st[5],
                )
            a, b = _window(ls, a, b, t, L)
            for k in range(a, b):
                j, u = late[k], t - ls[k]
                _macd_step(
                    x,
                    t,
                    u,
                    c0 + uintp(j),
                    uintp(k),
                    1,
                    fast,
                    slow,
                    sig,
                    fk,
                    sk,
                    gk,
                    ks[0],
                    ks[1],
                    ks[2],
                    ks[3],
                    ks[4],
                    ks[5],
                )
                if u == L - 1:
                    _macd_copy(ks, k, st, j)
            for j in range(w):
                ok = t >= ready[j]
                cj = c0 + uintp(j)
                out_m[t, cj] = m[j] if ok else np.nan
                out_s[t, cj] = sg[j] if ok else np.nan
                out_h[t, cj] = m[j] - sg[j] if ok else np.nan


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


@njit(inline="always", **_JIT)
def _bb_step(x, t, u, dc, sc, w, p, ma, shift, vt1, vt2, bars, var, mid, flag, emit):
    # TA_BBANDS, SMA path: the middle band is TA_SMA's running sum; the
    # variance uses sums of deviations from a shift (the window's first bar,
    # later the window mean) that is re-taken whenever cancellation threatens
    # (relative variance < 1e-6, a leaving term > 1e6 x the sum, or every 32
    # periods), with a 1e-12 floor at each re-take.  The rare re-takes run in
    # a second, scalar pass so that the main pass stays vectorised.
    inv = 1.0 / p
    lb = p - 1
    if u == 0:
        for j in range(w):
            shift[sc + uintp(j)] = x[t, dc + uintp(j)]
    for j in range(w):
        sj = sc + uintp(j)
        v = x[t, dc + uintp(j)]
        ma[sj] += v
        d = v - shift[sj]
        vt1[sj] += d
        vt2[sj] += d * d
    if u == lb:
        for j in range(w):
            bars[sc + uintp(j)] = 32 * p
    if u >= lb:
        tr = t - lb
        for j in range(w):
            sj = sc + uintp(j)
            m1 = vt1[sj] * inv
            vr = vt2[sj] * inv - m1 * m1
            if emit:
                mid[sj] = ma[sj] / p
            xt = x[tr, dc + uintp(j)]
            ma[sj] -= xt
            d = xt - shift[sj]
            vt1[sj] -= d
            d2 = d * d
            vt2[sj] -= d2
            bars[sj] -= 1
            flag[sj] = (
                (vr < 0.000001 * (vt2[sj] * inv)) | (d2 > 1000000.0 * vt2[sj]) | (bars[sj] <= 0)
            )
            var[sj] = vr
        # re-takes are rare: test the whole row at once (vectorised) before walking it
        anyf = False
        for j in range(w):
            anyf |= flag[sc + uintp(j)]
        if anyf:
            for j in range(w):
                if flag[sc + uintp(j)]:
                    _bb_reseed(
                        x, tr, t, dc + uintp(j), p, sc + uintp(j), shift, vt1, vt2, bars, var
                    )


@njit(**_JIT)
def _bb_state(w):
    return (
        np.zeros(w),
        np.empty(w),
        np.zeros(w),
        np.zeros(w),
        np.zeros(w, np.int64),
        np.empty(w),
        np.empty(w),
        np.zeros(w, np.bool_),
    )


@njit(inline="always", **_JIT)
def _bb_copy(src, k, dst, j):
    ma, shift, vt1, vt2, bars, var, mid, flag = src
    ma2, shift2, vt12, vt22, bars2, var2, mid2, flag2 = dst
    ma2[j] = ma[k]
    shift2[j] = shift[k]
    vt12[j] = vt1[k]
    vt22[j] = vt2[k]
    bars2[j] = bars[k]
    var2[j] = var[k]
    mid2[j] = mid[k]
    flag2[j] = flag[k]


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
def bbands(x, p, up, dn, starts, out_u, out_m, out_l, col0, col1, width):
    T = x.shape[0]
    L = p
    for cb in range(col0, col1, width):
        w = min(col1, cb + width) - cb
        c0 = uintp(cb)
        base, late, ls = _block_layout(starts, cb, w, T)
        st = _bb_state(w)
        ks = _bb_state(late.size)
        var, mid = st[5], st[6]
        ready = _ready(starts, cb, w, p - 1)
        a = b = 0
        for t in range(T):
            if t >= base:
                _bb_step(
                    x,
                    t,
                    t - base,
                    c0,
                    U0,
                    w,
                    p,
                    st[0],
                    st[1],
                    st[2],
                    st[3],
                    st[4],
                    st[5],
                    st[6],
                    st[7],
                    True,
                )
            a, b = _window(ls, a, b, t, L)
            for k in range(a, b):
                j, u = late[k], t - ls[k]
                _bb_step(
                    x,
                    t,
                    u,
                    c0 + uintp(j),
                    uintp(k),
                    1,
                    p,
                    ks[0],
                    ks[1],
                    ks[2],
                    ks[3],
                    ks[4],
                    ks[5],
                    ks[6],
                    ks[7],
                    True,
                )
                if u == L - 1:
                    _bb_copy(ks, k, st, j)
            for j in range(w):
                ok = t >= ready[j]
                hi, mm, lo = _bb_bands(var[j], mid[j], up, dn)
                cj = c0 + uintp(j)
                out_u[t, cj] = hi if ok else np.nan
                out_m[t, cj] = mm if ok else np.nan
                out_l[t, cj] = lo if ok else np.nan


# ---------------------------------------------------------------- Wilder family


@njit(inline="always", **_JIT)
def _rsi_step(x, t, u, dc, sc, w, p, g, lo):
    # TA_RSI: gains and losses summed over the first p changes and scaled by
    # 1/p, then prev = (prev * (p - 1) + today) * (1/p).
    if u == 0:
        return
    inv = 1.0 / p
    if u <= p:
        for j in range(w):
            sj = sc + uintp(j)
            d = x[t, dc + uintp(j)] - x[t - 1, dc + uintp(j)]
            gd = d if d > 0.0 else 0.0
            g[sj] += gd
            lo[sj] += gd - d
        if u == p:
            for j in range(w):
                sj = sc + uintp(j)
                lo[sj] *= inv
                g[sj] *= inv
    else:
        pm1 = float(p - 1)
        for j in range(w):
            sj = sc + uintp(j)
            d = x[t, dc + uintp(j)] - x[t - 1, dc + uintp(j)]
            gd = d if d > 0.0 else 0.0
            lo[sj] = (lo[sj] * pm1 + (gd - d)) * inv
            g[sj] = (g[sj] * pm1 + gd) * inv


@njit(**_JIT)
def _rsi_value(gj, lj):
    # gain + loss is a sum of magnitudes: exactly 0 only for a flat series,
    # which TA-Lib reports as 0.
    tot = gj + lj
    return 100.0 * (gj / tot) if tot > 0.0 else 0.0


@njit(**_JIT)
def rsi(x, p, starts, out, col0, col1, width):
    T = x.shape[0]
    L = p + 1
    for cb in range(col0, col1, width):
        w = min(col1, cb + width) - cb
        c0 = uintp(cb)
        base, late, ls = _block_layout(starts, cb, w, T)
        g = np.zeros(w)
        lo = np.zeros(w)
        kg = np.zeros(late.size)
        klo = np.zeros(late.size)
        ready = _ready(starts, cb, w, p)
        a = b = 0
        for t in range(T):
            if t >= base:
                _rsi_step(x, t, t - base, c0, U0, w, p, g, lo)
            a, b = _window(ls, a, b, t, L)
            for k in range(a, b):
                j, u = late[k], t - ls[k]
                _rsi_step(x, t, u, c0 + uintp(j), uintp(k), 1, p, kg, klo)
                if u == L - 1:
                    g[j], lo[j] = kg[k], klo[k]
            for j in range(w):
                v = _rsi_value(g[j], lo[j])
                out[t, c0 + uintp(j)] = v if t >= ready[j] else np.nan


@njit(**_JIT)
def _true_range(h, lo, cy):
    # TA-Lib order: high-low, then the two distances to the previous close.
    greatest = h - lo
    v2 = abs(cy - h)
    greatest = v2 if v2 > greatest else greatest
    v3 = abs(cy - lo)
    return v3 if v3 > greatest else greatest


@njit(inline="always", **_JIT)
def _atr_step(h, lo, c, t, u, dc, sc, w, p, acc, a):
    # TA_ATR: the seed is the mean of the first p true ranges; then
    # prevATR = fma(wBeta, prevATR, wAlpha * TR), wBeta = (p-1)/p, wAlpha = 1 - wBeta.
    if u == 0:
        return
    if u <= p:
        for j in range(w):
            cj = dc + uintp(j)
            acc[sc + uintp(j)] += _true_range(h[t, cj], lo[t, cj], c[t - 1, cj])
        if u == p:
            for j in range(w):
                sj = sc + uintp(j)
                a[sj] = acc[sj] / p
    else:
        wb = (p - 1) / p
        wa = 1.0 - wb
        for j in range(w):
            cj = dc + uintp(j)
            sj = sc + uintp(j)
            a[sj] = _fma(wb, a[sj], wa * _true_range(h[t, cj], lo[t, cj], c[t - 1, cj]))


@njit(**_JIT)
def atr(h, lo, c, p, starts, out, col0, col1, width):
    T = c.shape[0]
    L = p + 1
    for cb in range(col0, col1, width):
        w = min(col1, cb + width) - cb
        c0 = uintp(cb)
        base, late, ls = _block_layout(starts, cb, w, T)
        acc = np.zeros(w)
        av = np.empty(w)
        kacc = np.zeros(late.size)
        kav = np.empty(late.size)
        ready = _ready(starts, cb, w, p)
        a = b = 0
        for t in range(T):
            if t >= base:
                _atr_step(h, lo, c, t, t - base, c0, U0, w, p, acc, av)
            a, b = _window(ls, a, b, t, L)
            for k in range(a, b):
                j, u = late[k], t - ls[k]
                _atr_step(h, lo, c, t, u, c0 + uintp(j), uintp(k), 1, p, kacc, kav)
                if u == L - 1:
                    acc[j], av[j] = kacc[k], kav[k]
            _emit(out, t, c0, w, av, ready)


@njit(**_JIT)
def _dm(dp, dm):
    """(+DM, -DM) of one bar, TA-Lib's rules: the larger move counts if positive."""
    mdm = dm if (dm > 0.0) & (dm - dp > 0.0) else 0.0
    pdm = dp if (dp > 0.0) & (dp - dm > 0.0) else 0.0
    return pdm, mdm


@njit(inline="always", **_JIT)
def _adx_step(h, lo, c, t, u, dc, sc, w, p, pm, pp, ptr, adx):
    # TA_ADX: +DM/-DM and TR summed over p-1 bars, then Wilder-smoothed
    # (x -= x/p; x += today); DX summed over the next p bars gives the first
    # ADX (at row 2p-1), then ADX = (ADX*(p-1) + DX)/p.  A bar whose smoothed TR is
    # 0, or whose DI sum is within TA_EPSILON of 0, leaves the sums unchanged.
    if u == 0:
        return
    if u < p:
        for j in range(w):
            cj = dc + uintp(j)
            sj = sc + uintp(j)
            hh = h[t, cj]
            ll = lo[t, cj]
            pdm, mdm = _dm(hh - h[t - 1, cj], lo[t - 1, cj] - ll)
            pm[sj] += mdm
            pp[sj] += pdm
            ptr[sj] += _true_range(hh, ll, c[t - 1, cj])
        return
    seeding = u <= 2 * p - 1
    for j in range(w):
        cj = dc + uintp(j)
        sj = sc + uintp(j)
        hh = h[t, cj]
        ll = lo[t, cj]
        pdm, mdm = _dm(hh - h[t - 1, cj], lo[t - 1, cj] - ll)
        m_ = pm[sj] - pm[sj] / p + mdm
        p_ = pp[sj] - pp[sj] / p + pdm
        pm[sj] = m_
        pp[sj] = p_
        tr = ptr[sj]
        tr = tr - tr / p + _true_range(hh, ll, c[t - 1, cj])
        ptr[sj] = tr
        mdi = 100.0 * (m_ / tr)
        pdi = 100.0 * (p_ / tr)
        s = mdi + pdi
        dx = 100.0 * (abs(mdi - pdi) / s)
        ok = (tr > 0.0) & ~((-EPS < s) & (s < EPS))
        old = adx[sj]
        new = old + dx if seeding else (old * (p - 1) + dx) / p
        adx[sj] = new if ok else old
    if u == 2 * p - 1:
        for j in range(w):
            sj = sc + uintp(j)
            adx[sj] = adx[sj] / p


@njit(**_JIT)
def adx(h, lo, c, p, starts, out, col0, col1, width):
    T = c.shape[0]
    L = 2 * p
    for cb in range(col0, col1, width):
        w = min(col1, cb + width) - cb
        c0 = uintp(cb)
        base, late, ls = _block_layout(starts, cb, w, T)
        pm = np.zeros(w)
        pp = np.zeros(w)
        ptr = np.zeros(w)
        av = np.zeros(w)
        kpm = np.zeros(late.size)
        kpp = np.zeros(late.size)
        kptr = np.zeros(late.size)
        kav = np.zeros(late.size)
        ready = _ready(starts, cb, w, 2 * p - 1)
        a = b = 0
        for t in range(T):
            if t >= base:
                _adx_step(h, lo, c, t, t - base, c0, U0, w, p, pm, pp, ptr, av)
            a, b = _window(ls, a, b, t, L)
            for k in range(a, b):
                j, u = late[k], t - ls[k]
                _adx_step(h, lo, c, t, u, c0 + uintp(j), uintp(k), 1, p, kpm, kpp, kptr, kav)
                if u == L - 1:
                    pm[j], pp[j], ptr[j], av[j] = kpm[k], kpp[k], kptr[k], kav[k]
            _emit(out, t, c0, w, av, ready)


# ---------------------------------------------------------------- volume


@njit(inline="always", **_JIT)
def _obv_step(c, v, t, u, dc, sc, w, o):
    # TA_OBV: starts at the first volume; +volume on an up close, -volume on a down one.
    if u == 0:
        for j in range(w):
            o[sc + uintp(j)] = v[t, dc + uintp(j)]
        return
    for j in range(w):
        cj = dc + uintp(j)
        x = c[t, cj]
        xp = c[t - 1, cj]
        vv = v[t, cj]
        # adding 0.0 on an unchanged close is exact, so one select replaces the branches
        o[sc + uintp(j)] += vv if x > xp else (-vv if x < xp else 0.0)


@njit(**_JIT)
def obv(c, v, starts, out, col0, col1, width):
    T = c.shape[0]
    L = 1
    for cb in range(col0, col1, width):
        w = min(col1, cb + width) - cb
        c0 = uintp(cb)
        base, late, ls = _block_layout(starts, cb, w, T)
        o = np.zeros(w)
        ko = np.zeros(late.size)
        ready = _ready(starts, cb, w, 0)
        a = b = 0
        for t in range(T):
            if t >= base:
                _obv_step(c, v, t, t - base, c0, U0, w, o)
            a, b = _window(ls, a, b, t, L)
            for k in range(a, b):
                j = late[k]
                _obv_step(c, v, t, t - ls[k], c0 + uintp(j), uintp(k), 1, ko)
                o[j] = ko[k]
            _emit(out, t, c0, w, o, ready)


@njit(**_JIT)
def _typical(hv, lv, cv):
    return (hv + lv + cv) / 3.0


@njit(inline="always", **_JIT)
def _mfi_step(h, lo, c, v, t, u, dc, sc, w, p, rpos, rneg, pos, neg, nullrun, ptp, val, emit):
    # TA_MFI: money flow = typical price x volume, positive or negative with
    # the typical price's move, none when the move is within TA_EPSILON of the
    # two prices' size; sums over p bars kept in rings (all 0.0 at first, so
    # subtracting the leaving slot is exact before the ring is full); a run of
    # p bars with no flow resets the sums to exactly 0; the ratio is clamped
    # to [0, 100].  Ring slots follow the row (t - 1) % p.
    if u == 0:
        for j in range(w):
            cj = dc + uintp(j)
            ptp[sc + uintp(j)] = _typical(h[t, cj], lo[t, cj], c[t, cj])
        return
    slot = (t - 1) % p
    for j in range(w):
        cj = dc + uintp(j)
        sj = sc + uintp(j)
        tp = _typical(h[t, cj], lo[t, cj], c[t, cj])
        tpp = ptp[sj]
        ptp[sj] = tp
        d = tp - tpp
        scale = abs(tp) + abs(tpp)
        mf = tp * v[t, cj]
        flow = 0.0 if abs(d) <= EPS * scale else mf
        down = d < 0.0
        pf = 0.0 if down else flow
        nf = flow if down else 0.0
        ps = (pos[sj] - rpos[slot, sj]) + pf
        ns = (neg[sj] - rneg[slot, sj]) + nf
        rpos[slot, sj] = pf
        rneg[slot, sj] = nf
        nr = nullrun[sj] + 1 if flow == 0.0 else 0
        full = nr >= p
        nullrun[sj] = p if full else nr
        pos[sj] = 0.0 if full else ps
        neg[sj] = 0.0 if full else ns
    if emit:
        for j in range(w):
            sj = sc + uintp(j)
            tot = pos[sj] + neg[sj]
            pc = 0.0 if pos[sj] < 0.0 else (tot if pos[sj] > tot else pos[sj])
            val[sj] = 0.0 if tot <= 0.0 else 100.0 * (pc / tot)


@njit(**_JIT)
def _mfi_state(p, w):
    return (
        np.zeros((p, w)),
        np.zeros((p, w)),
        np.zeros(w),
        np.zeros(w),
        np.zeros(w, np.int64),
        np.empty(w),
        np.empty(w),
    )


@njit(inline="always", **_JIT)
def _mfi_copy(src, k, dst, j):
    rpos, rneg, pos, neg, nullrun, ptp, val = src
    rpos2, rneg2, pos2, neg2, nullrun2, ptp2, val2 = dst
    for r in range(rpos.shape[0]):
        rpos2[r, j] = rpos[r, k]
        rneg2[r, j] = rneg[r, k]
    pos2[j] = pos[k]
    neg2[j] = neg[k]
    nullrun2[j] = nullrun[k]
    ptp2[j] = ptp[k]
    val2[j] = val[k]


@njit(**_JIT)
def mfi(h, lo, c, v, p, starts, out, col0, col1, width):
    T = c.shape[0]
    L = 1
    for cb in range(col0, col1, width):
        w = min(col1, cb + width) - cb
        c0 = uintp(cb)
        base, late, ls = _block_layout(starts, cb, w, T)
        st = _mfi_state(p, w)
        ks = _mfi_state(p, late.size)
        val = st[6]
        ready = _ready(starts, cb, w, p)
        a = b = 0
        for t in range(T):
            if t >= base:
                _mfi_step(
                    h,
                    lo,
                    c,
                    v,
                    t,
                    t - base,
                    c0,
                    U0,
                    w,
                    p,
                    st[0],
                    st[1],
                    st[2],
                    st[3],
                    st[4],
                    st[5],
                    st[6],
                    t >= base + p,
                )
            a, b = _window(ls, a, b, t, L)
            for k in range(a, b):
                j = late[k]
                _mfi_step(
                    h,
                    lo,
                    c,
                    v,
                    t,
                    t - ls[k],
                    c0 + uintp(j),
                    uintp(k),
                    1,
                    p,
                    ks[0],
                    ks[1],
                    ks[2],
                    ks[3],
                    ks[4],
                    ks[5],
                    ks[6],
                    False,
                )
                _mfi_copy(ks, k, st, j)
            _emit(out, t, c0, w, val, ready)


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
    """Highest high and lowest low of rows t-p+1..t into hh/ll.

    van Herk / Gil-Werman: rows fall in blocks of p; ``pre*`` holds the
    extremes from the current block's first row to t, ``suf*[k]`` those from
    row k of the previous block to its end, so a window is one max of two.
    Call it for every row in order from a row where the window's values are
    not needed yet (a window read at row t only needs rows t-p+1..t to have
    been stepped).
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
def _extremes_state(p, w):
    return (
        np.empty(w),
        np.empty(w),
        np.empty((p, w)),
        np.empty((p, w)),
        np.full(w, np.nan),
        np.full(w, np.nan),
    )


@njit(**_JIT)
def willr(h, lo, c, p, starts, out, col0, col1, width):
    T = c.shape[0]
    for cb in range(col0, col1, width):
        w = min(col1, cb + width) - cb
        c0 = uintp(cb)
        base = T
        for j in range(w):
            base = min(base, starts[cb + j])
        preh, prel, sufh, sufl, hh, ll = _extremes_state(p, w)
        val = np.full(w, np.nan)
        ready = _ready(starts, cb, w, p - 1)
        for t in range(T):
            if t >= base:
                _extremes_step(h, lo, t, c0, w, p, preh, prel, sufh, sufl, hh, ll)
                if t >= base + p - 1:
                    _willr_from(c, t, c0, w, hh, ll, val)
            _emit(out, t, c0, w, val, ready)


@njit(inline="always", **_JIT)
def _stoch_lines(
    c, t, u, dc, hc, sc, w, fk, sk, sd, hh, ll, fast, rk, rs, acck, accd, slowk, slowd, emit
):
    # TA_STOCH: fast %K = 100 * ((close - lowest) / (highest - lowest)) over fk
    # bars (0 for a flat window, TA_IS_ZERO_SCALED); slow %K = TA_SMA(fast %K,
    # sk) and slow %D = TA_SMA(slow %K, sd), both running sums over their
    # whole history (each line taken as 0 before it starts, which adds
    # exactly nothing).  Rings hold the last sk fast and sd slow values, in
    # slots that follow the row.  The window's extremes come in hh/ll (slots hc + j).
    if u >= fk - 1:
        for j in range(w):
            hj = hc + uintp(j)
            r = 100.0 * ((c[t, dc + uintp(j)] - ll[hj]) / (hh[hj] - ll[hj]))
            fast[sc + uintp(j)] = 0.0 if _flat(hh[hj], ll[hj]) else r
    else:
        for j in range(w):
            fast[sc + uintp(j)] = 0.0
    slot = t % sk
    trk = (t - sk + 1) % sk
    if u >= fk + sk - 2:
        for j in range(w):
            sj = sc + uintp(j)
            acck[sj] += fast[sj]
            rk[slot, sj] = fast[sj]
            slowk[sj] = acck[sj] / sk
            acck[sj] -= rk[trk, sj]
    else:
        for j in range(w):
            sj = sc + uintp(j)
            acck[sj] += fast[sj]
            rk[slot, sj] = fast[sj]
            slowk[sj] = 0.0
    slot = t % sd
    trd = (t - sd + 1) % sd
    if u >= fk + sk + sd - 3:
        for j in range(w):
            sj = sc + uintp(j)
            accd[sj] += slowk[sj]
            rs[slot, sj] = slowk[sj]
            if emit:
                slowd[sj] = accd[sj] / sd
            accd[sj] -= rs[trd, sj]
    else:
        for j in range(w):
            sj = sc + uintp(j)
            accd[sj] += slowk[sj]
            rs[slot, sj] = slowk[sj]


@njit(**_JIT)
def _stoch_state(sk, sd, w):
    return (
        np.empty(w),
        np.zeros((sk, w)),
        np.zeros((sd, w)),
        np.zeros(w),
        np.zeros(w),
        np.empty(w),
        np.empty(w),
    )


@njit(inline="always", **_JIT)
def _stoch_copy(src, k, dst, j):
    fast, rk, rs, acck, accd, slowk, slowd = src
    fast2, rk2, rs2, acck2, accd2, slowk2, slowd2 = dst
    for r in range(rk.shape[0]):
        rk2[r, j] = rk[r, k]
    for r in range(rs.shape[0]):
        rs2[r, j] = rs[r, k]
    fast2[j] = fast[k]
    acck2[j] = acck[k]
    accd2[j] = accd[k]
    slowk2[j] = slowk[k]
    slowd2[j] = slowd[k]


@njit(**_JIT)
def stoch(h, lo, c, fk, sk, sd, starts, out_k, out_d, col0, col1, width):
    T = c.shape[0]
    lb = fk + sk + sd - 3
    L = max(lb, 1)
    for cb in range(col0, col1, width):
        w = min(col1, cb + width) - cb
        c0 = uintp(cb)
        base, late, ls = _block_layout(starts, cb, w, T)
        preh, prel, sufh, sufl, hh, ll = _extremes_state(fk, w)
        st = _stoch_state(sk, sd, w)
        ks = _stoch_state(sk, sd, late.size)
        slowk, slowd = st[5], st[6]
        ready = _ready(starts, cb, w, lb)
        a = b = 0
        for t in range(T):
            if t >= base:
                _extremes_step(h, lo, t, c0, w, fk, preh, prel, sufh, sufl, hh, ll)
                _stoch_lines(
                    c,
                    t,
                    t - base,
                    c0,
                    U0,
                    U0,
                    w,
                    fk,
                    sk,
                    sd,
                    hh,
                    ll,
                    st[0],
                    st[1],
                    st[2],
                    st[3],
                    st[4],
                    st[5],
                    st[6],
                    True,
                )
            a, b = _window(ls, a, b, t, L)
            for k in range(a, b):
                j, u = late[k], t - ls[k]
                _stoch_lines(
                    c,
                    t,
                    u,
                    c0 + uintp(j),
                    uintp(j),
                    uintp(k),
                    1,
                    fk,
                    sk,
                    sd,
                    hh,
                    ll,
                    ks[0],
                    ks[1],
                    ks[2],
                    ks[3],
                    ks[4],
                    ks[5],
                    ks[6],
                    True,
                )
                if u == L - 1:
                    _stoch_copy(ks, k, st, j)
            _emit(out_k, t, c0, w, slowk, ready)
            _emit(out_d, t, c0, w, slowd, ready)


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
def _cci_at(h, lo, c, t, starts, cb, c0, w, p, val):
    # TA_CCI keeps the typical prices in a ring whose slot for a series' bar i
    # is i % p and sums it slot 0..p-1 (not in time order); recomputing a bar's
    # typical price gives the same bits, so only the order needs reproducing.
    buf = np.empty(p)
    for j in range(w):
        cj = c0 + uintp(j)
        i = t - starts[cb + j]  # the bar's index in its own series
        for k in range(p):
            r = t - ((i - k) % p)
            buf[k] = _typical(h[r, cj], lo[r, cj], c[r, cj])
        val[j] = _cci_value(buf, buf[i % p], p)


@njit(**_JIT)
def _cci_push(h, lo, c, t, dc, sc, w, p, ring, slot, tp):
    """Typical price of row t into each column's ring, at the column's own slot."""
    for j in range(w):
        cj = dc + uintp(j)
        tp[sc + uintp(j)] = _typical(h[t, cj], lo[t, cj], c[t, cj])
    for j in range(w):
        sj = sc + uintp(j)
        s = slot[sj]
        ring[s, sj] = tp[sj]
        slot[sj] = s + 1 if s + 1 < p else 0


@njit(**_JIT)
def cci(h, lo, c, p, starts, out, col0, col1, width):
    T = c.shape[0]
    for cb in range(col0, col1, width):
        w = min(col1, cb + width) - cb
        c0 = uintp(cb)
        base, late, ls = _block_layout(starts, cb, w, T)
        # Each column's ring slot counts its own bars from 0 at its start (TA-Lib's
        # summation order); a late column's counter is reset there (L = 1).
        ring = np.empty((p, w))
        slot = np.zeros(w, np.int64)
        tp = np.empty(w)
        kring = np.empty((p, late.size))
        kslot = np.zeros(late.size, np.int64)
        ktp = np.empty(late.size)
        avg = np.empty(w)
        md = np.empty(w)
        ready = _ready(starts, cb, w, p - 1)
        a = b = 0
        for t in range(T):
            if t >= base:
                _cci_push(h, lo, c, t, c0, U0, w, p, ring, slot, tp)
            a, b = _window(ls, a, b, t, 1)
            for k in range(a, b):
                j = late[k]
                _cci_push(h, lo, c, t, c0 + uintp(j), uintp(k), 1, p, kring, kslot, ktp)
                for r in range(p):
                    ring[r, j] = kring[r, k]
                slot[j] = kslot[k]
            if t < base + p - 1:
                _emit(out, t, c0, w, avg, ready)
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
                dev = tp[j] - avg[j]
                scale = abs(avg[j])
                flat = (abs(dev) <= EPS * scale) | (abs(m) <= EPS * scale)
                v = 0.0 if flat else dev / (0.015 * m)
                out[t, c0 + uintp(j)] = v if t >= ready[j] else np.nan


@njit(**_JIT)
def _roc_value(cur, prev):
    return (cur / prev - 1.0) * 100.0 if prev != 0.0 else 0.0


@njit(**_JIT)
def roc(x, p, starts, out, col0, col1, width):
    T = x.shape[0]
    for cb in range(col0, col1, width):
        w = min(col1, cb + width) - cb
        c0 = uintp(cb)
        base = T
        for j in range(w):
            base = min(base, starts[cb + j])
        ready = _ready(starts, cb, w, p)
        for t in range(T):
            if t >= base + p:
                for j in range(w):
                    cj = c0 + uintp(j)
                    v = _roc_value(x[t, cj], x[t - p, cj])
                    out[t, cj] = v if t >= ready[j] else np.nan
            else:
                for j in range(w):
                    out[t, c0 + uintp(j)] = np.nan


# ---------------------------------------------------------------- fused scan set

# Rows of the fused kernel's result, in this order.
FUSED_ROWS = (
    "sma_20",
    "sma_50",
    "sma_200",
    "rsi_14",
    "macd",
    "macd_signal",
    "macd_hist",
    "bb_upper",
    "bb_middle",
    "bb_lower",
    "atr_14",
    "stoch_k",
    "stoch_d",
    "adx_14",
    "mfi_14",
    "cci_14",
    "willr_14",
    "roc_10",
    "obv",
)

# Rows at which a late column's side state joins the block's, per indicator
# of the fused set (the L of each kernel above with the set's parameters).
_FL_SMA = 1
_FL_RSI, _FL_MACD, _FL_BB, _FL_ATR, _FL_STOCH, _FL_ADX, _FL_MFI, _FL_OBV = (
    15,
    34,
    20,
    15,
    17,
    28,
    1,
    1,
)
_FL_MAX = 34


@njit(**_JIT)
def fused_last(h, lo, c, v, starts, res, col0, col1, width):
    """Every scan indicator at the last row of each column, one walk over the bars.

    ``res`` is ``(len(FUSED_ROWS), N)``.  Recurrences and running sums are
    carried with the same steps as the separate kernels (late columns begun
    at their own start the same way), so the values are bit-identical to
    their last row; the window-only indicators (CCI, WILLR, ROC) are
    evaluated at that row alone.  Every state vector is a local of its own
    (no tuples of arrays in the loop: Numba would count references to each
    array at every step).
    """
    T = c.shape[0]
    t_last = T - 1
    nan = np.nan
    for cb in range(col0, col1, width):
        w = min(col1, cb + width) - cb
        c0 = uintp(cb)
        base, late, ls = _block_layout(starts, cb, w, T)
        nk = late.size
        first = starts[cb : cb + w]
        preh, prel, sufh, sufl, hh, ll = _extremes_state(14, w)
        # the block's state, then the late columns' side state (k*)
        a20, v20, a50, v50 = np.zeros(w), np.full(w, nan), np.zeros(w), np.full(w, nan)
        a200, v200 = np.zeros(w), np.full(w, nan)
        g, gl = np.zeros(w), np.zeros(w)
        accf, accs, ef, es, m, sg = _macd_state(w)
        bma, bsh, bv1, bv2, bbar, bvar, bmid, bflag = _bb_state(w)
        tacc, at = np.zeros(w), np.empty(w)
        fast, rk, rs, acck, accd, slowk, slowd = _stoch_state(3, 3, w)
        pm, pp, ptr, ax = np.zeros(w), np.zeros(w), np.zeros(w), np.zeros(w)
        rpos, rneg, pos, neg, nullrun, ptp, mf = _mfi_state(14, w)
        ob = np.zeros(w)
        ka20, kv20, ka50, kv50 = np.zeros(nk), np.full(nk, nan), np.zeros(nk), np.full(nk, nan)
        ka200, kv200 = np.zeros(nk), np.full(nk, nan)
        kg, kgl = np.zeros(nk), np.zeros(nk)
        kaccf, kaccs, kef, kes, km, ksg = _macd_state(nk)
        kbma, kbsh, kbv1, kbv2, kbbar, kbvar, kbmid, kbflag = _bb_state(nk)
        ktacc, kat = np.zeros(nk), np.empty(nk)
        kfast, krk, krs, kacck, kaccd, kslowk, kslowd = _stoch_state(3, 3, nk)
        kpm, kpp, kptr, kax = np.zeros(nk), np.zeros(nk), np.zeros(nk), np.zeros(nk)
        krpos, krneg, kpos, kneg, knullrun, kptp, kmf = _mfi_state(14, nk)
        kob = np.zeros(nk)
        a = b = 0
        for t in range(T):
            emit = t == t_last
            if t >= base:
                u = t - base
                _extremes_step(h, lo, t, c0, w, 14, preh, prel, sufh, sufl, hh, ll)
                _sma_step(c, t, c0, U0, w, 20, a20, v20, emit, first)
                _sma_step(c, t, c0, U0, w, 50, a50, v50, emit, first)
                _sma_step(c, t, c0, U0, w, 200, a200, v200, emit, first)
                _rsi_step(c, t, u, c0, U0, w, 14, g, gl)
                _macd_step(
                    c,
                    t,
                    u,
                    c0,
                    U0,
                    w,
                    12,
                    26,
                    9,
                    2.0 / 13,
                    2.0 / 27,
                    2.0 / 10,
                    accf,
                    accs,
                    ef,
                    es,
                    m,
                    sg,
                )
                _bb_step(c, t, u, c0, U0, w, 20, bma, bsh, bv1, bv2, bbar, bvar, bmid, bflag, emit)
                _atr_step(h, lo, c, t, u, c0, U0, w, 14, tacc, at)
                _stoch_lines(
                    c,
                    t,
                    u,
                    c0,
                    U0,
                    U0,
                    w,
                    14,
                    3,
                    3,
                    hh,
                    ll,
                    fast,
                    rk,
                    rs,
                    acck,
                    accd,
                    slowk,
                    slowd,
                    emit,
                )
                _adx_step(h, lo, c, t, u, c0, U0, w, 14, pm, pp, ptr, ax)
                _mfi_step(
                    h, lo, c, v, t, u, c0, U0, w, 14, rpos, rneg, pos, neg, nullrun, ptp, mf, emit
                )
                _obv_step(c, v, t, u, c0, U0, w, ob)
            a, b = _window(ls, a, b, t, _FL_MAX)
            for k in range(a, b):
                j, u = late[k], t - ls[k]
                dc, sk_ = c0 + uintp(j), uintp(k)
                # each indicator re-run for its own first L rows, then joined
                if u < _FL_SMA:
                    _sma_step(c, t, dc, sk_, 1, 20, ka20, kv20, emit, ls)
                    _sma_step(c, t, dc, sk_, 1, 50, ka50, kv50, emit, ls)
                    _sma_step(c, t, dc, sk_, 1, 200, ka200, kv200, emit, ls)
                    a20[j], v20[j], a50[j], v50[j] = ka20[k], kv20[k], ka50[k], kv50[k]
                    a200[j], v200[j] = ka200[k], kv200[k]
                if u < _FL_OBV:
                    _obv_step(c, v, t, u, dc, sk_, 1, kob)
                    ob[j] = kob[k]
                if u < _FL_MFI:
                    _mfi_step(
                        h,
                        lo,
                        c,
                        v,
                        t,
                        u,
                        dc,
                        sk_,
                        1,
                        14,
                        krpos,
                        krneg,
                        kpos,
                        kneg,
                        knullrun,
                        kptp,
                        kmf,
                        emit,
                    )
                    for r in range(14):
                        rpos[r, j], rneg[r, j] = krpos[r, k], krneg[r, k]
                    pos[j], neg[j], nullrun[j], ptp[j], mf[j] = (
                        kpos[k],
                        kneg[k],
                        knullrun[k],
                        kptp[k],
                        kmf[k],
                    )
                if u < _FL_RSI:
                    _rsi_step(c, t, u, dc, sk_, 1, 14, kg, kgl)
                    if u == _FL_RSI - 1:
                        g[j], gl[j] = kg[k], kgl[k]
                if u < _FL_ATR:
                    _atr_step(h, lo, c, t, u, dc, sk_, 1, 14, ktacc, kat)
                    if u == _FL_ATR - 1:
                        tacc[j], at[j] = ktacc[k], kat[k]
                if u < _FL_STOCH:
                    _stoch_lines(
                        c,
                        t,
                        u,
                        dc,
                        uintp(j),
                        sk_,
                        1,
                        14,
                        3,
                        3,
                        hh,
                        ll,
                        kfast,
                        krk,
                        krs,
                        kacck,
                        kaccd,
                        kslowk,
                        kslowd,
                        emit,
                    )
                    if u == _FL_STOCH - 1:
                        for r in range(3):
                            rk[r, j], rs[r, j] = krk[r, k], krs[r, k]
                        fast[j], acck[j], accd[j] = kfast[k], kacck[k], kaccd[k]
                        slowk[j], slowd[j] = kslowk[k], kslowd[k]
                if u < _FL_BB:
                    _bb_step(
                        c,
                        t,
                        u,
                        dc,
                        sk_,
                        1,
                        20,
                        kbma,
                        kbsh,
                        kbv1,
                        kbv2,
                        kbbar,
                        kbvar,
                        kbmid,
                        kbflag,
                        emit,
                    )
                    if u == _FL_BB - 1:
                        bma[j], bsh[j], bv1[j], bv2[j] = kbma[k], kbsh[k], kbv1[k], kbv2[k]
                        bbar[j], bvar[j], bmid[j], bflag[j] = (
                            kbbar[k],
                            kbvar[k],
                            kbmid[k],
                            kbflag[k],
                        )
                if u < _FL_ADX:
                    _adx_step(h, lo, c, t, u, dc, sk_, 1, 14, kpm, kpp, kptr, kax)
                    if u == _FL_ADX - 1:
                        pm[j], pp[j], ptr[j], ax[j] = kpm[k], kpp[k], kptr[k], kax[k]
                if u < _FL_MACD:
                    _macd_step(
                        c,
                        t,
                        u,
                        dc,
                        sk_,
                        1,
                        12,
                        26,
                        9,
                        2.0 / 13,
                        2.0 / 27,
                        2.0 / 10,
                        kaccf,
                        kaccs,
                        kef,
                        kes,
                        km,
                        ksg,
                    )
                    if u == _FL_MACD - 1:
                        accf[j], accs[j], ef[j], es[j] = kaccf[k], kaccs[k], kef[k], kes[k]
                        m[j], sg[j] = km[k], ksg[k]
        if T == 0:
            for r in range(res.shape[0]):
                for j in range(w):
                    res[r, c0 + uintp(j)] = nan
            continue
        val = np.empty(w)
        _cci_at(h, lo, c, t_last, starts, cb, c0, w, 14, val)
        wv = np.empty(w)
        if T >= 14:
            _window_extremes(h, lo, t_last, c0, w, 14, hh, ll)
            _willr_from(c, t_last, c0, w, hh, ll, wv)
        for j in range(w):
            cj = c0 + uintp(j)
            n = T - starts[cb + j]  # bars the column has
            res[0, cj] = v20[j] if n >= 20 else nan
            res[1, cj] = v50[j] if n >= 50 else nan
            res[2, cj] = v200[j] if n >= 200 else nan
            res[3, cj] = _rsi_value(g[j], gl[j]) if n >= 15 else nan
            ok = n >= 34
            res[4, cj] = m[j] if ok else nan
            res[5, cj] = sg[j] if ok else nan
            res[6, cj] = m[j] - sg[j] if ok else nan
            up, md, dn = _bb_bands(bvar[j], bmid[j], 2.0, 2.0)
            ok = n >= 20
            res[7, cj] = up if ok else nan
            res[8, cj] = md if ok else nan
            res[9, cj] = dn if ok else nan
            res[10, cj] = at[j] if n >= 15 else nan
            res[11, cj] = slowk[j] if n >= 18 else nan
            res[12, cj] = slowd[j] if n >= 18 else nan
            res[13, cj] = ax[j] if n >= 28 else nan
            res[14, cj] = mf[j] if n >= 15 else nan
            res[15, cj] = val[j] if n >= 14 else nan
            res[16, cj] = wv[j] if n >= 14 else nan
            res[17, cj] = _roc_value(c[t_last, cj], c[t_last - 10, cj]) if n >= 11 else nan
            res[18, cj] = ob[j] if n >= 1 else nan
