"""Numba kernels that advance indicator state one bar at a time, every symbol at once.

The state of N symbols is one slot-major ``(width, N)`` float64 array: slot 0
is each symbol's bar count, then rings of its last raw bars, the running sums
and averages of each indicator exactly as TA-Lib keeps them, and the
indicator values at its last bar.  A slot is one contiguous sweep across
symbols, so a bar touches a few kilobytes per slot for 512 symbols at
once instead of a scattered cache line per slot per symbol.

``advance`` feeds new bars to many symbols in parallel.  Symbols are taken in
chunks of ``CHUNK``, and within a chunk each indicator is one short loop over
the chunk's symbols (a pass): the loop body is small, so the CPU overlaps the
latency chains of consecutive symbols (a window sum is a chain of dependent
adds) instead of waiting on each.  Ring positions (a bar's place in a ring,
``bar count % ring size``) come from a float reciprocal with an exact
correction, not from an integer division, which cost ~40 cycles each and was
most of the time of a one-bar step.  Building a state from a whole history
is the same call with every bar (the chunk's symbols advance in lockstep), so
a state advanced by one bar and a state built from scratch ran the very same
arithmetic, in the same order, bit for bit.

Where TA-Lib (0.8) tests a value against zero, the test here is the same
(``TA_EPSILON``, scaled by the operands where TA-Lib scales it), so a flat
window gives TA-Lib's answer, not a division by a rounding residue.

The kernels know nothing of what calls them: the layout array ``lay`` says
where each quantity lives (its slot) and with which period (see
``technic_core.indicators.state``, which builds it).
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange, uintp

EPS = 1e-14  # TA-Lib's TA_EPSILON

# Entries of the int64 layout array.  Offsets are slot indices into a state (its rows);
# a period of 0 switches the indicator off.  Slot names are shared with state.py.
SLOTS = (
    "RC",
    "OC",
    "RH",
    "OH",
    "RL",
    "OL",
    "RO",
    "OO",
    "RV",
    "OV",
    "RSI_P",
    "RSI_GAIN",
    "RSI_LOSS",
    "RSI_OUT",
    "MACD_F",
    "MACD_S",
    "MACD_SIG",
    "MACD_ACCF",
    "MACD_ACCS",
    "MACD_EF",
    "MACD_ES",
    "MACD_ACCSIG",
    "MACD_ESIG",
    "MACD_OUT",
    "BB_P",
    "BB_SUM",
    "BB_OUT",
    "ATR_P",
    "ATR_V",
    "ATR_OUT",
    "ST_FK",
    "ST_SK",
    "ST_SD",
    "ST_KRING",
    "ST_DRING",
    "ST_KSUM",
    "ST_DSUM",
    "ST_OUT",
    "ADX_P",
    "ADX_PDM",
    "ADX_MDM",
    "ADX_TR",
    "ADX_SUMDX",
    "ADX_V",
    "ADX_OUT",
    "MFI_P",
    "MFI_POSR",
    "MFI_NEGR",
    "MFI_POS",
    "MFI_NEG",
    "MFI_NULL",
    "MFI_OUT",
    "CCI_P",
    "CCI_RING",
    "CCI_OUT",
    "WILLR_P",
    "WILLR_OUT",
    "ROC_P",
    "ROC_OUT",
    "OBV_ON",
    "OBV_V",
    "OBV_OUT",
)
(
    RC,
    OC,
    RH,
    OH,
    RL,
    OL,
    RO,
    OO,
    RV,
    OV,
    RSI_P,
    RSI_GAIN,
    RSI_LOSS,
    RSI_OUT,
    MACD_F,
    MACD_S,
    MACD_SIG,
    MACD_ACCF,
    MACD_ACCS,
    MACD_EF,
    MACD_ES,
    MACD_ACCSIG,
    MACD_ESIG,
    MACD_OUT,
    BB_P,
    BB_SUM,
    BB_OUT,
    ATR_P,
    ATR_V,
    ATR_OUT,
    ST_FK,
    ST_SK,
    ST_SD,
    ST_KRING,
    ST_DRING,
    ST_KSUM,
    ST_DSUM,
    ST_OUT,
    ADX_P,
    ADX_PDM,
    ADX_MDM,
    ADX_TR,
    ADX_SUMDX,
    ADX_V,
    ADX_OUT,
    MFI_P,
    MFI_POSR,
    MFI_NEGR,
    MFI_POS,
    MFI_NEG,
    MFI_NULL,
    MFI_OUT,
    CCI_P,
    CCI_RING,
    CCI_OUT,
    WILLR_P,
    WILLR_OUT,
    ROC_P,
    ROC_OUT,
    OBV_ON,
    OBV_V,
    OBV_OUT,
) = range(len(SLOTS))

# Slot 0 of every symbol is the number of bars the state has seen.
COUNT = 0

# The small helpers below are plain jitted functions, not ``inline="always"``: LLVM inlines
# them all the same (the one-bar step's time and bits unchanged, `tools/state_kernel_ab.py
# --rev f1ec933`), while Numba's own inlining typed each helper again at every call site,
# and the kernels' compile into an empty cache took 38-47 s instead of 30-40 (three new
# processes each; every gate tree and every fresh CI run pays it).


@njit(error_model="numpy")
def _true_range(h, lw, pc):
    # TA-Lib's TRANGE, comparisons in its order
    greatest = h - lw
    v = abs(pc - h)
    if v > greatest:
        greatest = v
    v = abs(pc - lw)
    if v > greatest:
        greatest = v
    return greatest


# Symbols per chunk.  A chunk's slot is 4 KB of one slot row: long enough that the hardware
# prefetcher streams each row a pass reads (a bar's state is cold: it was last touched a
# bar ago), and short enough that the chunk's scratch rows stay in L1/L2.  Measured on the
# scan's state of 5,027 symbols, caches evicted between bars: 64 symbols 1.80-1.92 ms,
# 256 1.23, 512 1.11, 1024 1.11, 2048 1.13 (one thread; warm: 1.60 ms at 64, 1.00 at 512).
CHUNK = 512

# Per-chunk scratch rows: integers ...
_J, _N, _QC, _QH, _QL = range(5)
# ... and floats: this bar, the previous bar, the STOCH window's extremes (WILLR reuses them)
_O, _H, _L, _C, _V, _PC, _PH, _PL, _HI, _LO = range(10)


@njit(error_model="numpy")
def _mod(i, r, inv):
    """``i % r`` for 0 <= i < 2**40 and r >= 1 without an integer division: the float
    quotient is off by at most one, and the correction makes the remainder exact."""
    q = i - r * np.int64(i * inv)
    if q >= r:
        q -= r
    elif q < 0:
        q += r
    return q


@njit(error_model="numpy")
def _back(q, k, r):
    """Ring slot of the value ``k`` bars before the one at slot ``q`` (0 <= k < r)."""
    q = q - k
    return q + r if q < 0 else q


@njit(error_model="numpy")
def _sma_step(S, j, n, x, trailing, p, a, out):
    """TA-Lib's SMA running total: the sum of the last p-1 values is carried."""
    if n < p:
        S[a, j] += x
        S[out, j] = np.nan
    else:
        tmp = S[a, j] + x
        S[out, j] = tmp / p
        S[a, j] = tmp - trailing


@njit(error_model="numpy")
def _ema_seeded(S, j, n, x, p, acc, ema):
    """TA-Lib's EMA: seeded with the mean of the first p values; True once it exists."""
    if n < p:
        S[acc, j] += x
        return False
    if n == p:
        S[acc, j] += x
        S[ema, j] = S[acc, j] / p
        return True
    S[ema, j] = (x - S[ema, j]) * (2.0 / (p + 1)) + S[ema, j]
    return True


@njit(cache=True, error_model="numpy")
def _prepare(S, act, na, which, starts, k, step, lay, inv, o, h, lw, c, v, it, ft):
    """Count the bar, note where it goes and what came before, and put it in the rings."""
    rc, rh, rl, ro, rv = lay[RC], lay[RH], lay[RL], lay[RO], lay[RV]
    oc, oh, ol = lay[OC], lay[OH], lay[OL]
    for a in range(na):
        t = act[a]
        j = which[t]
        x = starts[t] + k * step
        n = np.int64(S[COUNT, j]) + 1
        i = n - 1
        qc = _mod(i, rc, inv[0])
        qh = _mod(i, rh, inv[1])
        ql = _mod(i, rl, inv[2])
        if n > 1:
            ft[_PC, a] = S[oc + _back(qc, 1, rc), j]
            ft[_PH, a] = S[oh + _back(qh, 1, rh), j]
            ft[_PL, a] = S[ol + _back(ql, 1, rl), j]
        else:
            ft[_PC, a] = ft[_PH, a] = ft[_PL, a] = np.nan
        S[oc + qc, j] = c[x]
        S[oh + qh, j] = h[x]
        S[ol + ql, j] = lw[x]
        S[lay[OO] + _mod(i, ro, inv[3]), j] = o[x]
        S[lay[OV] + _mod(i, rv, inv[4]), j] = v[x]
        S[COUNT, j] = n
        it[_J, a], it[_N, a], it[_QC, a], it[_QH, a], it[_QL, a] = j, n, qc, qh, ql
        ft[_O, a], ft[_H, a], ft[_L, a], ft[_C, a], ft[_V, a] = o[x], h[x], lw[x], c[x], v[x]


@njit(cache=True, error_model="numpy")
def _pass_averages(S, na, lay, sma, ema, it, ft):
    oc, rc = lay[OC], lay[RC]
    for q in range(sma.shape[0]):
        p, acc, out = sma[q, 0], sma[q, 1], sma[q, 2]
        for a in range(na):
            j, n, c = it[_J, a], it[_N, a], ft[_C, a]
            trailing = S[oc + _back(it[_QC, a], p - 1, rc), j] if n >= p else 0.0
            _sma_step(S, j, n, c, trailing, p, acc, out)
    for q in range(ema.shape[0]):
        p, acc, e, out = ema[q, 0], ema[q, 1], ema[q, 2], ema[q, 3]
        for a in range(na):
            j = it[_J, a]
            if _ema_seeded(S, j, it[_N, a], ft[_C, a], p, acc, e):
                S[out, j] = S[e, j]
            else:
                S[out, j] = np.nan


@njit(cache=True, error_model="numpy")
def _pass_rsi(S, na, lay, it, ft):
    """RSI (Wilder): sums over the first p changes, then smoothed averages."""
    p = lay[RSI_P]
    g, lo, out = lay[RSI_GAIN], lay[RSI_LOSS], lay[RSI_OUT]
    for a in range(na):
        j, n = it[_J, a], it[_N, a]
        r = np.nan
        if n >= 2:
            # the running sums in locals: the same operations, in the same order, without
            # a store and a reload between them
            gain, loss = S[g, j], S[lo, j]
            d = ft[_C, a] - ft[_PC, a]
            if n > p + 1:
                loss *= p - 1
                gain *= p - 1
            if d < 0.0:
                loss -= d
            else:
                gain += d
            if n >= p + 1:
                loss /= p
                gain /= p
                tot = gain + loss
                r = 100.0 * (gain / tot) if tot > 0.0 else 0.0
            S[g, j], S[lo, j] = gain, loss
        S[out, j] = r


@njit(cache=True, error_model="numpy")
def _pass_macd(S, na, lay, it, ft):
    """MACD: both EMAs start at bar slow-1, the fast one seeded over its last `fast` bars."""
    f, sl, sg = lay[MACD_F], lay[MACD_S], lay[MACD_SIG]
    out = lay[MACD_OUT]
    accs, accf, es, ef = lay[MACD_ACCS], lay[MACD_ACCF], lay[MACD_ES], lay[MACD_EF]
    for a in range(na):
        j, n, c = it[_J, a], it[_N, a], ft[_C, a]
        m0 = m1 = m2 = np.nan
        if n <= sl:
            S[accs, j] += c
            if n > sl - f:
                S[accf, j] += c
            if n == sl:
                S[es, j] = S[accs, j] / sl
                S[ef, j] = S[accf, j] / f
        else:
            vs, vf = S[es, j], S[ef, j]
            S[es, j] = (c - vs) * (2.0 / (sl + 1)) + vs
            S[ef, j] = (c - vf) * (2.0 / (f + 1)) + vf
        if n >= sl:
            m = S[ef, j] - S[es, j]
            if _ema_seeded(S, j, n - sl + 1, m, sg, lay[MACD_ACCSIG], lay[MACD_ESIG]):
                sig = S[lay[MACD_ESIG], j]
                m0, m1, m2 = m, sig, m - sig
        S[out, j], S[out + 1, j], S[out + 2, j] = m0, m1, m2


# The window sweeps take four ring slots per sweep of the columns, the running value held in a
# register between them: one load and store of ``out`` per four slots instead of per slot.  The
# operations on each value are the one-slot loop's, in its order (newest first), so the
# results are the same bit for bit.
@njit(error_model="numpy")
def _older(q, r):
    return q - 1 if q > 0 else r - 1


@njit(error_model="numpy")
def _slots4(base, q, r):
    """The rows of ring slots q, q-1, q-2, q-3 (wrapping), and the slot after them."""
    q1 = _older(q, r)
    q2 = _older(q1, r)
    q3 = _older(q2, r)
    return uintp(base + q), uintp(base + q1), uintp(base + q2), uintp(base + q3), _older(q3, r)


@njit(cache=True, error_model="numpy")
def _vsum(S, base, r, q, p, j0, m, out):
    """``out[t]``: the sum of the last ``p`` ring values of column ``j0 + t`` whose newest is
    at slot ``q``, newest first: one sweep of ``m`` contiguous columns per four ring slots."""
    # unsigned indices: Numba then drops the negative-index wraparound, which would keep
    # these sweeps from vectorising
    c0 = uintp(j0)
    for t in range(m):
        out[t] = 0.0
    k = 0
    while k + 4 <= p:
        r0, r1, r2, r3, q = _slots4(base, q, r)
        for t in range(m):
            j = c0 + uintp(t)
            out[t] = (((out[t] + S[r0, j]) + S[r1, j]) + S[r2, j]) + S[r3, j]
        k += 4
    while k < p:
        row = uintp(base + q)
        for t in range(m):
            out[t] += S[row, c0 + uintp(t)]
        q = _older(q, r)
        k += 1


@njit(cache=True, error_model="numpy")
def _vvar(S, base, r, q, p, j0, m, mean, out):
    """``out[t]``: the sum of squared deviations from ``mean[t]`` over the same window."""
    c0 = uintp(j0)
    for t in range(m):
        out[t] = 0.0
    k = 0
    while k + 4 <= p:
        r0, r1, r2, r3, q = _slots4(base, q, r)
        for t in range(m):
            j = c0 + uintp(t)
            mu = mean[t]
            d0 = S[r0, j] - mu
            d1 = S[r1, j] - mu
            d2 = S[r2, j] - mu
            d3 = S[r3, j] - mu
            out[t] = (((out[t] + d0 * d0) + d1 * d1) + d2 * d2) + d3 * d3
        k += 4
    while k < p:
        row = uintp(base + q)
        for t in range(m):
            d = S[row, c0 + uintp(t)] - mean[t]
            out[t] += d * d
        q = _older(q, r)
        k += 1


@njit(error_model="numpy")
def _hi(x, a):
    return x if x > a else a


@njit(error_model="numpy")
def _lo(x, a):
    return x if x < a else a


@njit(cache=True, error_model="numpy")
def _vext(S, oh, rh, qh, ol, rl, ql, p, j0, m, hi, lo):
    """``hi[t]``, ``lo[t]``: highest high and lowest low of the window, newest first."""
    for t in range(m):
        hi[t] = -np.inf
        lo[t] = np.inf
    c0 = uintp(j0)
    k = 0
    while k + 4 <= p:
        a0, a1, a2, a3, qh = _slots4(oh, qh, rh)
        b0, b1, b2, b3, ql = _slots4(ol, ql, rl)
        for t in range(m):
            j = c0 + uintp(t)
            hi[t] = _hi(S[a3, j], _hi(S[a2, j], _hi(S[a1, j], _hi(S[a0, j], hi[t]))))
            lo[t] = _lo(S[b3, j], _lo(S[b2, j], _lo(S[b1, j], _lo(S[b0, j], lo[t]))))
        k += 4
    while k < p:
        rowh, rowl = uintp(oh + qh), uintp(ol + ql)
        for t in range(m):
            j = c0 + uintp(t)
            hi[t] = _hi(S[rowh, j], hi[t])
            lo[t] = _lo(S[rowl, j], lo[t])
        qh = _older(qh, rh)
        ql = _older(ql, rl)
        k += 1


@njit(cache=True, error_model="numpy")
def _wsum4(S, base, r, p, j0, q0, j1, q1, j2, q2, j3, q3):
    """Sums of the last ``p`` ring values of four symbols, newest first, side by side: four
    independent chains of adds, each in the order of the one-symbol loop."""
    t0 = t1 = t2 = t3 = 0.0
    for _ in range(p):
        t0 += S[base + q0, j0]
        t1 += S[base + q1, j1]
        t2 += S[base + q2, j2]
        t3 += S[base + q3, j3]
        q0 = q0 - 1 if q0 > 0 else r - 1
        q1 = q1 - 1 if q1 > 0 else r - 1
        q2 = q2 - 1 if q2 > 0 else r - 1
        q3 = q3 - 1 if q3 > 0 else r - 1
    return t0, t1, t2, t3


@njit(cache=True, error_model="numpy")
def _wvar4(S, base, r, p, j0, q0, m0, j1, q1, m1, j2, q2, m2, j3, q3, m3):
    """Sums of squared deviations from ``m`` over the last ``p`` ring values, four symbols."""
    t0 = t1 = t2 = t3 = 0.0
    for _ in range(p):
        d0 = S[base + q0, j0] - m0
        d1 = S[base + q1, j1] - m1
        d2 = S[base + q2, j2] - m2
        d3 = S[base + q3, j3] - m3
        t0 += d0 * d0
        t1 += d1 * d1
        t2 += d2 * d2
        t3 += d3 * d3
        q0 = q0 - 1 if q0 > 0 else r - 1
        q1 = q1 - 1 if q1 > 0 else r - 1
        q2 = q2 - 1 if q2 > 0 else r - 1
        q3 = q3 - 1 if q3 > 0 else r - 1
    return t0, t1, t2, t3


@njit(error_model="numpy")
def _bb_finish(S, j, n, p, out, fp, tot, var):
    if n >= p:
        var /= p
        sd = np.sqrt(var) if not (var < EPS) else 0.0
        mid = S[out + 1, j]
        if fp[0] == fp[1]:
            w = sd * fp[0]
            S[out, j] = mid + w
            S[out + 2, j] = mid - w
        else:
            S[out, j] = mid + sd * fp[0]
            S[out + 2, j] = mid - sd * fp[1]
    else:
        S[out, j] = S[out + 2, j] = np.nan


@njit(cache=True, error_model="numpy")
def _pass_bbands(S, na, act, j0, m, lay, fp, it, ft, vt, vm, vv):
    """BBANDS (SMA middle): TA-Lib's running-sum middle, population deviation of the window."""
    p, out, oc, rc = lay[BB_P], lay[BB_OUT], lay[OC], lay[RC]
    for a in range(na):
        j, n = it[_J, a], it[_N, a]
        trailing = S[oc + _back(it[_QC, a], p - 1, rc), j] if n >= p else 0.0
        _sma_step(S, j, n, ft[_C, a], trailing, p, lay[BB_SUM], out + 1)
    # The window's mean and deviation.  Where the chunk's columns are contiguous, one sweep
    # computes them for every column at the ring slot of the first symbol (most symbols of
    # a universe have equally long histories, so their rings turn together), and only the
    # symbols whose ring is elsewhere are summed on their own; else four at a time.
    a = 0
    if j0 >= 0 and na > 0:
        qm = it[_QC, 0]
        _vsum(S, oc, rc, qm, p, j0, m, vt)
        for t in range(m):
            vm[t] = vt[t] / p
        _vvar(S, oc, rc, qm, p, j0, m, vm, vv)
        for a in range(na):
            if it[_QC, a] == qm:
                t = act[a]
                _bb_finish(S, it[_J, a], it[_N, a], p, out, fp, vt[t], vv[t])
            else:
                j, q = it[_J, a], it[_QC, a]
                t0, _, _, _ = _wsum4(S, oc, rc, p, j, q, j, q, j, q, j, q)
                m0 = t0 / p
                v0, _, _, _ = _wvar4(S, oc, rc, p, j, q, m0, j, q, m0, j, q, m0, j, q, m0)
                _bb_finish(S, j, it[_N, a], p, out, fp, t0, v0)
        return
    while a + 4 <= na:
        j0_, j1, j2, j3 = it[_J, a], it[_J, a + 1], it[_J, a + 2], it[_J, a + 3]
        q0, q1, q2, q3 = it[_QC, a], it[_QC, a + 1], it[_QC, a + 2], it[_QC, a + 3]
        t0, t1, t2, t3 = _wsum4(S, oc, rc, p, j0_, q0, j1, q1, j2, q2, j3, q3)
        m0, m1, m2, m3 = t0 / p, t1 / p, t2 / p, t3 / p
        v0, v1, v2, v3 = _wvar4(S, oc, rc, p, j0_, q0, m0, j1, q1, m1, j2, q2, m2, j3, q3, m3)
        _bb_finish(S, j0_, it[_N, a], p, out, fp, t0, v0)
        _bb_finish(S, j1, it[_N, a + 1], p, out, fp, t1, v1)
        _bb_finish(S, j2, it[_N, a + 2], p, out, fp, t2, v2)
        _bb_finish(S, j3, it[_N, a + 3], p, out, fp, t3, v3)
        a += 4
    while a < na:
        j, q = it[_J, a], it[_QC, a]
        t0, _, _, _ = _wsum4(S, oc, rc, p, j, q, j, q, j, q, j, q)
        m0 = t0 / p
        v0, _, _, _ = _wvar4(S, oc, rc, p, j, q, m0, j, q, m0, j, q, m0, j, q, m0)
        _bb_finish(S, j, it[_N, a], p, out, fp, t0, v0)
        a += 1


@njit(cache=True, error_model="numpy")
def _pass_atr(S, na, lay, it, ft):
    """ATR: mean of the first p true ranges, then Wilder's smoothing."""
    p, acc, out = lay[ATR_P], lay[ATR_V], lay[ATR_OUT]
    for a in range(na):
        j, n = it[_J, a], it[_N, a]
        r = np.nan
        if n >= 2:
            tr = _true_range(ft[_H, a], ft[_L, a], ft[_PC, a])
            x = S[acc, j]
            if n <= p + 1:
                x += tr
                if n == p + 1:
                    x /= p
                    r = x
            else:
                x = (x * (p - 1) + tr) / p
                r = x
            S[acc, j] = x
        S[out, j] = r


@njit(cache=True, error_model="numpy")
def _hilo4(S, oh, rh, ol, rl, p, j0, h0, l0, j1, h1, l1, j2, h2, l2, j3, h3, l3):
    """Highest high and lowest low of the last ``p`` bars of four symbols, newest first."""
    a0 = a1 = a2 = a3 = -np.inf
    b0 = b1 = b2 = b3 = np.inf
    for _ in range(p):
        x0, x1, x2, x3 = S[oh + h0, j0], S[oh + h1, j1], S[oh + h2, j2], S[oh + h3, j3]
        if x0 > a0:
            a0 = x0
        if x1 > a1:
            a1 = x1
        if x2 > a2:
            a2 = x2
        if x3 > a3:
            a3 = x3
        x0, x1, x2, x3 = S[ol + l0, j0], S[ol + l1, j1], S[ol + l2, j2], S[ol + l3, j3]
        if x0 < b0:
            b0 = x0
        if x1 < b1:
            b1 = x1
        if x2 < b2:
            b2 = x2
        if x3 < b3:
            b3 = x3
        h0 = h0 - 1 if h0 > 0 else rh - 1
        h1 = h1 - 1 if h1 > 0 else rh - 1
        h2 = h2 - 1 if h2 > 0 else rh - 1
        h3 = h3 - 1 if h3 > 0 else rh - 1
        l0 = l0 - 1 if l0 > 0 else rl - 1
        l1 = l1 - 1 if l1 > 0 else rl - 1
        l2 = l2 - 1 if l2 > 0 else rl - 1
        l3 = l3 - 1 if l3 > 0 else rl - 1
    return a0, b0, a1, b1, a2, b2, a3, b3


@njit(cache=True, error_model="numpy")
def _window_extremes(S, na, act, j0, m, lay, p, it, ft, vt, vm):
    """Each symbol's highest high and lowest low of its last ``p`` bars, into ``ft[_HI/_LO]``
    (one sweep of contiguous columns, as for BBANDS, else four symbols at a time)."""
    oh, rh, ol, rl = lay[OH], lay[RH], lay[OL], lay[RL]
    a = 0
    if j0 >= 0 and na > 0:
        qh, ql = it[_QH, 0], it[_QL, 0]
        _vext(S, oh, rh, qh, ol, rl, ql, p, j0, m, vt, vm)
        for a in range(na):
            if it[_QH, a] == qh and it[_QL, a] == ql:
                t = act[a]
                ft[_HI, a], ft[_LO, a] = vt[t], vm[t]
            else:
                j = it[_J, a]
                r = _hilo4(
                    S,
                    oh,
                    rh,
                    ol,
                    rl,
                    p,
                    j,
                    it[_QH, a],
                    it[_QL, a],
                    j,
                    it[_QH, a],
                    it[_QL, a],
                    j,
                    it[_QH, a],
                    it[_QL, a],
                    j,
                    it[_QH, a],
                    it[_QL, a],
                )
                ft[_HI, a], ft[_LO, a] = r[0], r[1]
        return
    while a + 4 <= na:
        r = _hilo4(
            S,
            oh,
            rh,
            ol,
            rl,
            p,
            it[_J, a],
            it[_QH, a],
            it[_QL, a],
            it[_J, a + 1],
            it[_QH, a + 1],
            it[_QL, a + 1],
            it[_J, a + 2],
            it[_QH, a + 2],
            it[_QL, a + 2],
            it[_J, a + 3],
            it[_QH, a + 3],
            it[_QL, a + 3],
        )
        ft[_HI, a], ft[_LO, a], ft[_HI, a + 1], ft[_LO, a + 1] = r[0], r[1], r[2], r[3]
        ft[_HI, a + 2], ft[_LO, a + 2], ft[_HI, a + 3], ft[_LO, a + 3] = r[4], r[5], r[6], r[7]
        a += 4
    while a < na:
        j, qh, ql = it[_J, a], it[_QH, a], it[_QL, a]
        r = _hilo4(S, oh, rh, ol, rl, p, j, qh, ql, j, qh, ql, j, qh, ql, j, qh, ql)
        ft[_HI, a], ft[_LO, a] = r[0], r[1]
        a += 1


@njit(cache=True, error_model="numpy")
def _pass_stoch(S, na, act, j0, m, lay, inv, it, ft, vt, vm):
    """STOCH (SMA slow lines): fast %K over the window, then two SMAs of it."""
    fk, sk, sd_ = lay[ST_FK], lay[ST_SK], lay[ST_SD]
    out, kr, dr = lay[ST_OUT], lay[ST_KRING], lay[ST_DRING]
    _window_extremes(S, na, act, j0, m, lay, fk, it, ft, vt, vm)
    for a in range(na):
        j, n = it[_J, a], it[_N, a]
        S[out, j] = S[out + 1, j] = np.nan
        if n >= fk:
            hi, lo_ = ft[_HI, a], ft[_LO, a]
            rng = hi - lo_
            if not (abs(rng) <= EPS * (abs(hi) + abs(lo_))):
                fast = ((ft[_C, a] - lo_) / rng) * 100.0
            else:
                fast = 0.0
            qk = n - fk  # index of this value in the fast %K stream
            pk = _mod(qk, sk, inv[5])
            S[kr + pk, j] = fast
            # the slot after this one holds the value sk-1 back: (qk - sk + 1) % sk
            trailing = S[kr + (pk + 1 if pk + 1 < sk else 0), j] if qk + 1 >= sk else 0.0
            _sma_step(S, j, qk + 1, fast, trailing, sk, lay[ST_KSUM], out)
            if qk + 1 >= sk:
                slowk = S[out, j]
                qd = qk + 1 - sk  # index in the slow %K stream
                pd = _mod(qd, sd_, inv[6])
                S[dr + pd, j] = slowk
                trailing = S[dr + (pd + 1 if pd + 1 < sd_ else 0), j] if qd + 1 >= sd_ else 0.0
                _sma_step(S, j, qd + 1, slowk, trailing, sd_, lay[ST_DSUM], out + 1)
                if qd + 1 < sd_:
                    S[out, j] = np.nan


@njit(cache=True, error_model="numpy")
def _pass_adx(S, na, lay, it, ft):
    """ADX: p-1 raw DM/TR sums, p smoothed bars summing DX, then Wilder's average of DX."""
    p = lay[ADX_P]
    pdm, mdm, trc = lay[ADX_PDM], lay[ADX_MDM], lay[ADX_TR]
    out, sumdx, av = lay[ADX_OUT], lay[ADX_SUMDX], lay[ADX_V]
    for a in range(na):
        j, n = it[_J, a], it[_N, a]
        r = np.nan
        if n >= 2:
            h, lw = ft[_H, a], ft[_L, a]
            dp = h - ft[_PH, a]
            dm = ft[_PL, a] - lw
            tr = _true_range(h, lw, ft[_PC, a])
            vm, vp, vt = S[mdm, j], S[pdm, j], S[trc, j]
            if n <= p:
                if dm > 0 and dp < dm:
                    vm += dm
                elif dp > 0 and dp > dm:
                    vp += dp
                vt += tr
            else:
                vm -= vm / p
                vp -= vp / p
                if dm > 0 and dp < dm:
                    vm += dm
                elif dp > 0 and dp > dm:
                    vp += dp
                vt = vt - vt / p + tr
                dx = np.nan
                if not (-EPS < vt < EPS):
                    mdi = 100.0 * (vm / vt)
                    pdi = 100.0 * (vp / vt)
                    tot = mdi + pdi
                    if not (-EPS < tot < EPS):
                        dx = 100.0 * (abs(mdi - pdi) / tot)
                if n <= 2 * p:
                    if dx == dx:
                        S[sumdx, j] += dx
                    if n == 2 * p:
                        S[av, j] = S[sumdx, j] / p
                        r = S[av, j]
                else:
                    if dx == dx:
                        S[av, j] = (S[av, j] * (p - 1) + dx) / p
                    r = S[av, j]
            S[mdm, j], S[pdm, j], S[trc, j] = vm, vp, vt
        S[out, j] = r


@njit(cache=True, error_model="numpy")
def _pass_mfi(S, na, lay, inv, it, ft):
    """MFI: money flow of each typical-price move in a ring, running sums."""
    p, out = lay[MFI_P], lay[MFI_OUT]
    pos, neg, nul = lay[MFI_POS], lay[MFI_NEG], lay[MFI_NULL]
    posr, negr = lay[MFI_POSR], lay[MFI_NEGR]
    for a in range(na):
        j, n = it[_J, a], it[_N, a]
        r = np.nan
        if n >= 2:
            slot = _mod(n - 2, p, inv[7])
            vp, vn, vz = S[pos, j], S[neg, j], S[nul, j]
            if n > p + 1:
                vp -= S[posr + slot, j]
                vn -= S[negr + slot, j]
            tp = (ft[_H, a] + ft[_L, a] + ft[_C, a]) / 3.0
            ptp = (ft[_PH, a] + ft[_PL, a] + ft[_PC, a]) / 3.0
            d = tp - ptp
            mf = 0.0 if abs(d) <= EPS * (abs(tp) + abs(ptp)) else tp * ft[_V, a]
            pf = 0.0 if d < 0.0 else mf
            nf = mf if d < 0.0 else 0.0
            S[posr + slot, j] = pf
            S[negr + slot, j] = nf
            vp += pf
            vn += nf
            vz = vz + 1.0 if mf == 0.0 else 0.0
            if vz >= p:
                vz = p
                vp = 0.0
                vn = 0.0
            if n >= p + 1:
                tot = vp + vn
                pcl = vp
                if pcl < 0.0:
                    pcl = 0.0
                elif pcl > tot:
                    pcl = tot
                r = 0.0 if tot <= 0.0 else 100.0 * (pcl / tot)
            S[pos, j], S[neg, j], S[nul, j] = vp, vn, vz
        S[out, j] = r


@njit(error_model="numpy")
def _cci_finish(S, j, n, p, out, tp, avg, dev):
    if n >= p:
        avg /= p
        dev /= p
        t = tp - avg
        scale = abs(avg)
        if not (abs(t) <= EPS * scale) and not (abs(dev) <= EPS * scale):
            S[out, j] = t / (0.015 * dev)
        else:
            S[out, j] = 0.0
    else:
        S[out, j] = np.nan


@njit(cache=True, error_model="numpy")
def _pass_cci(S, na, act, j0, m, lay, inv, it, ft, vt, vm, vv):
    """CCI: typical prices in a ring summed in ring order, as TA-Lib's circular buffer."""
    p, ring, out = lay[CCI_P], lay[CCI_RING], lay[CCI_OUT]
    for a in range(na):
        j, n = it[_J, a], it[_N, a]
        tp = (ft[_H, a] + ft[_L, a] + ft[_C, a]) / 3
        S[ring + _mod(n - 1, p, inv[8]), j] = tp
        ft[_HI, a] = tp  # (STOCH and WILLR are done with the extremes)
    a = 0
    if j0 >= 0 and na > 0:
        for t in range(m):
            vt[t] = 0.0
        for q in range(p):
            for t in range(m):
                vt[t] += S[ring + q, j0 + t]
        for t in range(m):
            vm[t] = vt[t] / p
            vv[t] = 0.0
        for q in range(p):
            for t in range(m):
                vv[t] += abs(S[ring + q, j0 + t] - vm[t])
        for a in range(na):
            t = act[a]
            _cci_finish(S, it[_J, a], it[_N, a], p, out, ft[_HI, a], vt[t], vv[t])
        return
    while a + 4 <= na:
        j0, j1, j2, j3 = it[_J, a], it[_J, a + 1], it[_J, a + 2], it[_J, a + 3]
        s0 = s1 = s2 = s3 = 0.0
        for q in range(p):
            s0 += S[ring + q, j0]
            s1 += S[ring + q, j1]
            s2 += S[ring + q, j2]
            s3 += S[ring + q, j3]
        m0, m1, m2, m3 = s0 / p, s1 / p, s2 / p, s3 / p
        d0 = d1 = d2 = d3 = 0.0
        for q in range(p):
            d0 += abs(S[ring + q, j0] - m0)
            d1 += abs(S[ring + q, j1] - m1)
            d2 += abs(S[ring + q, j2] - m2)
            d3 += abs(S[ring + q, j3] - m3)
        _cci_finish(S, j0, it[_N, a], p, out, ft[_HI, a], s0, d0)
        _cci_finish(S, j1, it[_N, a + 1], p, out, ft[_HI, a + 1], s1, d1)
        _cci_finish(S, j2, it[_N, a + 2], p, out, ft[_HI, a + 2], s2, d2)
        _cci_finish(S, j3, it[_N, a + 3], p, out, ft[_HI, a + 3], s3, d3)
        a += 4
    while a < na:
        j = it[_J, a]
        s0 = 0.0
        for q in range(p):
            s0 += S[ring + q, j]
        m0 = s0 / p
        d0 = 0.0
        for q in range(p):
            d0 += abs(S[ring + q, j] - m0)
        _cci_finish(S, j, it[_N, a], p, out, ft[_HI, a], s0, d0)
        a += 1


@njit(cache=True, error_model="numpy")
def _pass_willr(S, na, act, j0, m, lay, it, ft, vt, vm):
    """WILLR: highest high and lowest low of the window (STOCH's, when the periods match)."""
    p, out = lay[WILLR_P], lay[WILLR_OUT]
    if p != lay[ST_FK]:
        _window_extremes(S, na, act, j0, m, lay, p, it, ft, vt, vm)
    for a in range(na):
        j, n = it[_J, a], it[_N, a]
        S[out, j] = np.nan
        if n >= p:
            hi, lo_ = ft[_HI, a], ft[_LO, a]
            if not (abs(hi - lo_) <= EPS * (abs(hi) + abs(lo_))):
                t = ((hi - ft[_C, a]) / (hi - lo_)) * (-100.0)
                if t > 0.0:
                    t = 0.0
                elif t < -100.0:
                    t = -100.0
                S[out, j] = t
            else:
                S[out, j] = 0.0


@njit(cache=True, error_model="numpy")
def _pass_roc_obv(S, na, lay, it, ft):
    p = lay[ROC_P]
    if p > 0:
        out, oc, rc = lay[ROC_OUT], lay[OC], lay[RC]
        for a in range(na):
            j, n = it[_J, a], it[_N, a]
            S[out, j] = np.nan
            if n >= p + 1:
                prev = S[oc + _back(it[_QC, a], p, rc), j]
                S[out, j] = ((ft[_C, a] / prev) - 1.0) * 100.0 if prev != 0.0 else 0.0
    if lay[OBV_ON] > 0:
        acc, out = lay[OBV_V], lay[OBV_OUT]
        for a in range(na):
            j, n = it[_J, a], it[_N, a]
            v = ft[_V, a]
            x = S[acc, j]
            if n == 1:
                x = v
            elif ft[_C, a] > ft[_PC, a]:
                x += v
            elif ft[_C, a] < ft[_PC, a]:
                x -= v
            S[acc, j] = x
            S[out, j] = x


# ---------------------------------------------------------------- uniform chunks
#
# In a universe most symbols have equally long histories: in a chunk whose symbols are
# contiguous columns and all take the bar, those that have seen the chunk's most common
# number of bars share every branch on the bar count and every ring position.  Once that
# count is past every indicator's seeding, a uniform step runs each pass as a straight loop
# over the chunk's contiguous slots, which the compiler vectorises: no per-symbol
# indirection, ring arithmetic or branch.  Symbols with another count (late listings) ride
# along and have their stores masked off (a select that keeps the old value); the generic
# passes then step them on their own.  Where the generic pass chooses between two values by
# the data, the uniform one computes both and selects, so the arithmetic of each value is the
# generic pass's, bit for bit (``tests/indicators/test_state_uniform.py`` compares the two
# paths on the same bars).  Indices are unsigned so that Numba drops its negative-index
# wraparound, which would keep the loops from vectorising.


# Fewer symbols of the common count than this take the generic passes: a uniform step's
# fixed cost (a dozen calls over the whole chunk) is worth it only over enough of them.
MIN_RUN = 16


@njit(error_model="numpy")
def _put(S, row, j, x, keep):
    S[row, j] = x if keep else S[row, j]


@njit(cache=True, error_model="numpy")
def _warmup(lay, sma, ema):
    """The bar count from which every indicator of ``lay`` is past its seeding (the generic
    passes' branches on the count all go the steady way)."""
    w = 2
    for q in range(sma.shape[0]):
        w = max(w, sma[q, 0])
    for q in range(ema.shape[0]):
        w = max(w, ema[q, 0] + 1)
    w = max(w, lay[RSI_P] + 2, lay[MACD_S] + lay[MACD_SIG], lay[BB_P], lay[ATR_P] + 2)
    w = max(w, lay[ST_FK] + lay[ST_SK] + lay[ST_SD], 2 * lay[ADX_P] + 1, lay[MFI_P] + 2)
    return max(w, lay[CCI_P], lay[WILLR_P], lay[ROC_P] + 1)


@njit(cache=True, error_model="numpy")
def _common_count(S, j0, m, warm, keep):
    """The bar count (after this bar) of the chunk's longest run of equal counts, with
    ``keep[t]`` set for every symbol that has it; -1 when it is below ``warm`` or fewer than
    ``MIN_RUN`` symbols have it."""
    best, bestlen = -1.0, 0
    r0 = 0
    while r0 < m:
        cnt = S[COUNT, j0 + r0]
        r1 = r0 + 1
        while r1 < m and S[COUNT, j0 + r1] == cnt:
            r1 += 1
        if r1 - r0 > bestlen:
            best, bestlen = cnt, r1 - r0
        r0 = r1
    n = np.int64(best) + 1
    if n < warm:
        return -1
    kept = 0
    for t in range(m):
        keep[t] = S[COUNT, j0 + t] == best
        kept += keep[t]
    return n if kept >= MIN_RUN else -1


@njit(cache=True, error_model="numpy")
def _prepare_u(S, n, j0, m, keep, starts, k, step, lay, inv, o, h, lw, c, v, ft):
    """``_prepare`` for the symbols of a uniform chunk that have seen ``n - 1`` bars."""
    rc, rh, rl, ro, rv = lay[RC], lay[RH], lay[RL], lay[RO], lay[RV]
    i = n - 1
    qc = _mod(i, rc, inv[0])
    qh = _mod(i, rh, inv[1])
    ql = _mod(i, rl, inv[2])
    c0 = uintp(j0)
    pc_ = uintp(lay[OC] + _back(qc, 1, rc))
    ph_ = uintp(lay[OH] + _back(qh, 1, rh))
    pl_ = uintp(lay[OL] + _back(ql, 1, rl))
    wc, wh, wl = uintp(lay[OC] + qc), uintp(lay[OH] + qh), uintp(lay[OL] + ql)
    wo, wv = uintp(lay[OO] + _mod(i, ro, inv[3])), uintp(lay[OV] + _mod(i, rv, inv[4]))
    fn = np.float64(n)
    for t in range(m):
        x = uintp(starts[t] + k * step)
        j = c0 + uintp(t)
        ft[_PC, t] = S[pc_, j]
        ft[_PH, t] = S[ph_, j]
        ft[_PL, t] = S[pl_, j]
        ft[_O, t], ft[_H, t], ft[_L, t], ft[_C, t], ft[_V, t] = o[x], h[x], lw[x], c[x], v[x]
    for t in range(m):
        j = c0 + uintp(t)
        kp = keep[t]
        _put(S, wc, j, ft[_C, t], kp)
        _put(S, wh, j, ft[_H, t], kp)
        _put(S, wl, j, ft[_L, t], kp)
        _put(S, wo, j, ft[_O, t], kp)
        _put(S, wv, j, ft[_V, t], kp)
        _put(S, COUNT, j, fn, kp)
    return qc, qh, ql


@njit(cache=True, error_model="numpy")
def _averages_u(S, j0, m, keep, qc, lay, sma, ema, ft):
    oc, rc = lay[OC], lay[RC]
    c0 = uintp(j0)
    for q in range(sma.shape[0]):
        p, acc, out = sma[q, 0], sma[q, 1], sma[q, 2]
        tr, ua, uo = uintp(oc + _back(qc, p - 1, rc)), uintp(acc), uintp(out)
        for t in range(m):
            j = c0 + uintp(t)
            tmp = S[ua, j] + ft[_C, t]
            _put(S, uo, j, tmp / p, keep[t])
            _put(S, ua, j, tmp - S[tr, j], keep[t])
    for q in range(ema.shape[0]):
        p, e, out = ema[q, 0], ema[q, 2], ema[q, 3]
        k = 2.0 / (p + 1)
        ue, uo = uintp(e), uintp(out)
        for t in range(m):
            j = c0 + uintp(t)
            x = S[ue, j]
            x = (ft[_C, t] - x) * k + x
            _put(S, ue, j, x, keep[t])
            _put(S, uo, j, x, keep[t])


@njit(cache=True, error_model="numpy")
def _rsi_u(S, j0, m, keep, lay, ft):
    p = lay[RSI_P]
    g, lo, out = uintp(lay[RSI_GAIN]), uintp(lay[RSI_LOSS]), uintp(lay[RSI_OUT])
    c0 = uintp(j0)
    for t in range(m):
        j = c0 + uintp(t)
        d = ft[_C, t] - ft[_PC, t]
        loss = S[lo, j] * (p - 1)
        gain = S[g, j] * (p - 1)
        neg = d < 0.0
        loss = (loss - d) if neg else loss
        gain = gain if neg else (gain + d)
        loss /= p
        gain /= p
        tot = gain + loss
        kp = keep[t]
        _put(S, out, j, 100.0 * (gain / tot) if tot > 0.0 else 0.0, kp)
        _put(S, g, j, gain, kp)
        _put(S, lo, j, loss, kp)


@njit(cache=True, error_model="numpy")
def _macd_u(S, j0, m, keep, lay, ft):
    f, sl, sg = lay[MACD_F], lay[MACD_S], lay[MACD_SIG]
    out = uintp(lay[MACD_OUT])
    es, ef, eg = uintp(lay[MACD_ES]), uintp(lay[MACD_EF]), uintp(lay[MACD_ESIG])
    ks, kf, kg = 2.0 / (sl + 1), 2.0 / (f + 1), 2.0 / (sg + 1)
    c0 = uintp(j0)
    for t in range(m):
        j = c0 + uintp(t)
        c = ft[_C, t]
        vs, vf = S[es, j], S[ef, j]
        vs = (c - vs) * ks + vs
        vf = (c - vf) * kf + vf
        x = vf - vs
        sig = S[eg, j]
        sig = (x - sig) * kg + sig
        kp = keep[t]
        _put(S, es, j, vs, kp)
        _put(S, ef, j, vf, kp)
        _put(S, eg, j, sig, kp)
        _put(S, out, j, x, kp)
        _put(S, out + uintp(1), j, sig, kp)
        _put(S, out + uintp(2), j, x - sig, kp)


@njit(cache=True, error_model="numpy")
def _bbands_u(S, j0, m, keep, qc, lay, fp, ft, vt, vm, vv):
    p, out, oc, rc = lay[BB_P], lay[BB_OUT], lay[OC], lay[RC]
    tr, ua = uintp(oc + _back(qc, p - 1, rc)), uintp(lay[BB_SUM])
    um, uu, ul = uintp(out + 1), uintp(out), uintp(out + 2)
    c0 = uintp(j0)
    for t in range(m):
        j = c0 + uintp(t)
        tmp = S[ua, j] + ft[_C, t]
        vt[t] = tmp / p  # the middle band
        _put(S, um, j, vt[t], keep[t])
        _put(S, ua, j, tmp - S[tr, j], keep[t])
    # the window as the kept symbols' rings hold it (their ring slot qc has this bar)
    _vsum(S, oc, rc, qc, p, j0, m, vm)
    for t in range(m):
        vm[t] = vm[t] / p
    _vvar(S, oc, rc, qc, p, j0, m, vm, vv)
    f0, f1 = fp[0], fp[1]
    same = f0 == f1
    for t in range(m):
        j = c0 + uintp(t)
        var = vv[t] / p
        sd = np.sqrt(var) if not (var < EPS) else 0.0
        mid = vt[t]
        w0 = sd * f0
        _put(S, uu, j, mid + w0, keep[t])
        _put(S, ul, j, (mid - w0) if same else (mid - sd * f1), keep[t])


@njit(cache=True, error_model="numpy")
def _atr_u(S, j0, m, keep, lay, ft):
    p = lay[ATR_P]
    acc, out = uintp(lay[ATR_V]), uintp(lay[ATR_OUT])
    c0 = uintp(j0)
    for t in range(m):
        j = c0 + uintp(t)
        g = _true_range(ft[_H, t], ft[_L, t], ft[_PC, t])
        r = (S[acc, j] * (p - 1) + g) / p
        _put(S, acc, j, r, keep[t])
        _put(S, out, j, r, keep[t])


@njit(cache=True, error_model="numpy")
def _extremes_u(S, j0, m, qh, ql, lay, p, ft):
    """Highest high and lowest low of the last ``p`` bars at ring slots ``qh``/``ql``, into
    ``ft[_HI/_LO]``."""
    _vext(S, lay[OH], lay[RH], qh, lay[OL], lay[RL], ql, p, j0, m, ft[_HI], ft[_LO])


@njit(cache=True, error_model="numpy")
def _stoch_u(S, n, j0, m, keep, qh, ql, lay, inv, ft):
    fk, sk, sd_ = lay[ST_FK], lay[ST_SK], lay[ST_SD]
    _extremes_u(S, j0, m, qh, ql, lay, fk, ft)
    out, kr, dr = lay[ST_OUT], lay[ST_KRING], lay[ST_DRING]
    qk = n - fk
    pk = _mod(qk, sk, inv[5])
    qd = qk + 1 - sk
    pd = _mod(qd, sd_, inv[6])
    wk, tk = uintp(kr + pk), uintp(kr + (pk + 1 if pk + 1 < sk else 0))
    wd, td = uintp(dr + pd), uintp(dr + (pd + 1 if pd + 1 < sd_ else 0))
    ks, ds, uk, ud = uintp(lay[ST_KSUM]), uintp(lay[ST_DSUM]), uintp(out), uintp(out + 1)
    c0 = uintp(j0)
    for t in range(m):
        j = c0 + uintp(t)
        kp = keep[t]
        hi, lo_ = ft[_HI, t], ft[_LO, t]
        rng = hi - lo_
        fast = ((ft[_C, t] - lo_) / rng) * 100.0
        fast = 0.0 if abs(rng) <= EPS * (abs(hi) + abs(lo_)) else fast
        # the rings are read after this bar's value is in them (their size may be 1)
        _put(S, wk, j, fast, kp)
        tmp = S[ks, j] + fast
        slowk = tmp / sk
        _put(S, uk, j, slowk, kp)
        _put(S, ks, j, tmp - S[tk, j], kp)
        _put(S, wd, j, slowk, kp)
        tmp = S[ds, j] + slowk
        _put(S, ud, j, tmp / sd_, kp)
        _put(S, ds, j, tmp - S[td, j], kp)


@njit(cache=True, error_model="numpy")
def _adx_u(S, j0, m, keep, lay, ft):
    p = lay[ADX_P]
    pdm, mdm, trc = uintp(lay[ADX_PDM]), uintp(lay[ADX_MDM]), uintp(lay[ADX_TR])
    out, av = uintp(lay[ADX_OUT]), uintp(lay[ADX_V])
    c0 = uintp(j0)
    for t in range(m):
        j = c0 + uintp(t)
        h, lw, pc = ft[_H, t], ft[_L, t], ft[_PC, t]
        dp = h - ft[_PH, t]
        dm = ft[_PL, t] - lw
        tr = _true_range(h, lw, pc)
        vm, vp, vt = S[mdm, j], S[pdm, j], S[trc, j]
        vm -= vm / p
        vp -= vp / p
        down = dm > 0 and dp < dm
        up = (not down) and dp > 0 and dp > dm
        vm = (vm + dm) if down else vm
        vp = (vp + dp) if up else vp
        vt = vt - vt / p + tr
        mdi = 100.0 * (vm / vt)
        pdi = 100.0 * (vp / vt)
        tot = mdi + pdi
        dx = 100.0 * (abs(mdi - pdi) / tot)
        ok = not (-EPS < vt < EPS) and not (-EPS < tot < EPS)
        a = S[av, j]
        a = ((a * (p - 1) + dx) / p) if ok and dx == dx else a
        kp = keep[t]
        _put(S, av, j, a, kp)
        _put(S, out, j, a, kp)
        _put(S, mdm, j, vm, kp)
        _put(S, pdm, j, vp, kp)
        _put(S, trc, j, vt, kp)


@njit(cache=True, error_model="numpy")
def _mfi_u(S, n, j0, m, keep, lay, inv, ft):
    p = lay[MFI_P]
    slot = _mod(n - 2, p, inv[7])
    pos, neg, nul = uintp(lay[MFI_POS]), uintp(lay[MFI_NEG]), uintp(lay[MFI_NULL])
    out = uintp(lay[MFI_OUT])
    rp, rn = uintp(lay[MFI_POSR] + slot), uintp(lay[MFI_NEGR] + slot)
    fp_ = np.float64(p)
    c0 = uintp(j0)
    for t in range(m):
        j = c0 + uintp(t)
        vp = S[pos, j] - S[rp, j]
        vn = S[neg, j] - S[rn, j]
        tp = (ft[_H, t] + ft[_L, t] + ft[_C, t]) / 3.0
        ptp = (ft[_PH, t] + ft[_PL, t] + ft[_PC, t]) / 3.0
        d = tp - ptp
        mf = 0.0 if abs(d) <= EPS * (abs(tp) + abs(ptp)) else tp * ft[_V, t]
        down = d < 0.0
        pf = 0.0 if down else mf
        nf = mf if down else 0.0
        vp += pf
        vn += nf
        vz = S[nul, j] + 1.0 if mf == 0.0 else 0.0
        full = vz >= p
        vz = fp_ if full else vz
        vp = 0.0 if full else vp
        vn = 0.0 if full else vn
        tot = vp + vn
        pcl = 0.0 if vp < 0.0 else (tot if vp > tot else vp)
        kp = keep[t]
        _put(S, rp, j, pf, kp)
        _put(S, rn, j, nf, kp)
        _put(S, out, j, 0.0 if tot <= 0.0 else 100.0 * (pcl / tot), kp)
        _put(S, pos, j, vp, kp)
        _put(S, neg, j, vn, kp)
        _put(S, nul, j, vz, kp)


@njit(cache=True, error_model="numpy")
def _willr_u(S, j0, m, keep, qh, ql, lay, ft):
    p = lay[WILLR_P]
    if p != lay[ST_FK]:  # else STOCH's pass left this window's extremes in ft
        _extremes_u(S, j0, m, qh, ql, lay, p, ft)
    out = uintp(lay[WILLR_OUT])
    c0 = uintp(j0)
    for t in range(m):
        hi, lo_ = ft[_HI, t], ft[_LO, t]
        x = ((hi - ft[_C, t]) / (hi - lo_)) * (-100.0)
        x = 0.0 if x > 0.0 else (-100.0 if x < -100.0 else x)
        x = 0.0 if abs(hi - lo_) <= EPS * (abs(hi) + abs(lo_)) else x
        _put(S, out, c0 + uintp(t), x, keep[t])


@njit(cache=True, error_model="numpy")
def _cci_u(S, n, j0, m, keep, lay, inv, ft, vt, vm, vv):
    p, ring, out = lay[CCI_P], lay[CCI_RING], uintp(lay[CCI_OUT])
    w = uintp(ring + _mod(n - 1, p, inv[8]))
    c0 = uintp(j0)
    for t in range(m):
        tp = (ft[_H, t] + ft[_L, t] + ft[_C, t]) / 3
        _put(S, w, c0 + uintp(t), tp, keep[t])
        ft[_HI, t] = tp  # (STOCH and WILLR are done with the extremes)
        vt[t] = 0.0
    q = 0
    # four ring slots a sweep as in _vsum, but in slot order 0..p-1 (the generic pass's
    # order, not _vsum's newest first: another order would change the sums' last bits)
    while q + 4 <= p:
        r0 = uintp(ring + q)
        r1, r2, r3 = r0 + uintp(1), r0 + uintp(2), r0 + uintp(3)
        for t in range(m):
            j = c0 + uintp(t)
            vt[t] = (((vt[t] + S[r0, j]) + S[r1, j]) + S[r2, j]) + S[r3, j]
        q += 4
    while q < p:
        row = uintp(ring + q)
        for t in range(m):
            vt[t] += S[row, c0 + uintp(t)]
        q += 1
    for t in range(m):
        vm[t] = vt[t] / p
        vv[t] = 0.0
    q = 0
    while q + 4 <= p:
        r0 = uintp(ring + q)
        r1, r2, r3 = r0 + uintp(1), r0 + uintp(2), r0 + uintp(3)
        for t in range(m):
            j = c0 + uintp(t)
            mu = vm[t]
            d0 = abs(S[r0, j] - mu)
            d1 = abs(S[r1, j] - mu)
            d2 = abs(S[r2, j] - mu)
            d3 = abs(S[r3, j] - mu)
            vv[t] = (((vv[t] + d0) + d1) + d2) + d3
        q += 4
    while q < p:
        row = uintp(ring + q)
        for t in range(m):
            vv[t] += abs(S[row, c0 + uintp(t)] - vm[t])
        q += 1
    for t in range(m):
        avg = vt[t] / p
        dev = vv[t] / p
        x = ft[_HI, t] - avg
        scale = abs(avg)
        r = x / (0.015 * dev)
        ok = not (abs(x) <= EPS * scale) and not (abs(dev) <= EPS * scale)
        _put(S, out, c0 + uintp(t), r if ok else 0.0, keep[t])


@njit(cache=True, error_model="numpy")
def _roc_obv_u(S, j0, m, keep, qc, lay, ft):
    p = lay[ROC_P]
    c0 = uintp(j0)
    if p > 0:
        out, prev = uintp(lay[ROC_OUT]), uintp(lay[OC] + _back(qc, p, lay[RC]))
        for t in range(m):
            j = c0 + uintp(t)
            pv = S[prev, j]
            r = ((ft[_C, t] / pv) - 1.0) * 100.0
            _put(S, out, j, r if pv != 0.0 else 0.0, keep[t])
    if lay[OBV_ON] > 0:
        acc, out = uintp(lay[OBV_V]), uintp(lay[OBV_OUT])
        for t in range(m):
            j = c0 + uintp(t)
            v, x = ft[_V, t], S[acc, j]
            c, pc = ft[_C, t], ft[_PC, t]
            x = (x + v) if c > pc else ((x - v) if c < pc else x)
            _put(S, acc, j, x, keep[t])
            _put(S, out, j, x, keep[t])


@njit(cache=True, error_model="numpy")
def _uniform_step(S, n, j0, m, keep, st, k, step, lay, sma, ema, fp, inv, bars, ft, scr):
    """One bar for the symbols ``keep`` marks (bar count ``n`` after it) of contiguous columns
    ``j0 .. j0+m-1``: the passes of ``_chunk`` in the same order.  ``bars``: the five bar
    arrays; ``scr``: three scratch rows."""
    o, h, lw, c, v = bars
    vt, vm, vv = scr
    qc, qh, ql = _prepare_u(S, n, j0, m, keep, st, k, step, lay, inv, o, h, lw, c, v, ft)
    _averages_u(S, j0, m, keep, qc, lay, sma, ema, ft)
    if lay[RSI_P] > 0:
        _rsi_u(S, j0, m, keep, lay, ft)
    if lay[MACD_S] > 0:
        _macd_u(S, j0, m, keep, lay, ft)
    if lay[BB_P] > 0:
        _bbands_u(S, j0, m, keep, qc, lay, fp, ft, vt, vm, vv)
    if lay[ATR_P] > 0:
        _atr_u(S, j0, m, keep, lay, ft)
    if lay[ST_FK] > 0:
        _stoch_u(S, n, j0, m, keep, qh, ql, lay, inv, ft)
    if lay[ADX_P] > 0:
        _adx_u(S, j0, m, keep, lay, ft)
    if lay[MFI_P] > 0:
        _mfi_u(S, n, j0, m, keep, lay, inv, ft)
    if lay[WILLR_P] > 0:
        _willr_u(S, j0, m, keep, qh, ql, lay, ft)
    if lay[CCI_P] > 0:  # after WILLR: its scratch row reuses the extremes'
        _cci_u(S, n, j0, m, keep, lay, inv, ft, vt, vm, vv)
    _roc_obv_u(S, j0, m, keep, qc, lay, ft)


@njit(cache=True, error_model="numpy")
def _chunk(S, which, starts, lengths, step, g0, g1, lay, sma, ema, fp, inv, o, h, lw, c, v):
    m = g1 - g0
    longest = 0
    for g in range(g0, g1):
        if lengths[g] > longest:
            longest = lengths[g]
    act = np.empty(m, np.int64)
    it = np.empty((5, m), np.int64)
    ft = np.empty((10, m), np.float64)
    vt = np.empty(m, np.float64)
    vm = np.empty(m, np.float64)
    vv = np.empty(m, np.float64)
    keep = np.empty(m, np.bool_)
    warm = _warmup(lay, sma, ema)
    bars, scr = (o, h, lw, c, v), (vt, vm, vv)
    w = which[g0:g1]
    st = starts[g0:g1]
    j0 = w[0]  # the chunk's columns are j0, j0+1, ... (else -1)
    for t in range(m):
        if w[t] != j0 + t:
            j0 = -1
            break
    for k in range(longest):
        na = 0
        for t in range(m):
            if k < lengths[g0 + t]:
                act[na] = t
                na += 1
        jj = j0
        if j0 >= 0 and na == m:
            # every symbol takes the bar: those of the common history length take the
            # uniform passes, the others (late listings) the generic ones after them
            un = _common_count(S, j0, m, warm, keep)
            if un > 0:
                _uniform_step(
                    S, un, j0, m, keep, st, k, step, lay, sma, ema, fp, inv, bars, ft, scr
                )
                na = 0
                for t in range(m):
                    if not keep[t]:
                        act[na] = t
                        na += 1
                if na == 0:
                    continue
                jj = -1
        _prepare(S, act, na, w, st, k, step, lay, inv, o, h, lw, c, v, it, ft)
        _pass_averages(S, na, lay, sma, ema, it, ft)
        if lay[RSI_P] > 0:
            _pass_rsi(S, na, lay, it, ft)
        if lay[MACD_S] > 0:
            _pass_macd(S, na, lay, it, ft)
        if lay[BB_P] > 0:
            _pass_bbands(S, na, act, jj, m, lay, fp, it, ft, vt, vm, vv)
        if lay[ATR_P] > 0:
            _pass_atr(S, na, lay, it, ft)
        if lay[ST_FK] > 0:
            _pass_stoch(S, na, act, jj, m, lay, inv, it, ft, vt, vm)
        if lay[ADX_P] > 0:
            _pass_adx(S, na, lay, it, ft)
        if lay[MFI_P] > 0:
            _pass_mfi(S, na, lay, inv, it, ft)
        if lay[WILLR_P] > 0:
            _pass_willr(S, na, act, jj, m, lay, it, ft, vt, vm)
        if lay[CCI_P] > 0:  # after WILLR: its scratch row reuses the extremes'
            _pass_cci(S, na, act, jj, m, lay, inv, it, ft, vt, vm, vv)
        _pass_roc_obv(S, na, lay, it, ft)


def reciprocals(lay: np.ndarray) -> np.ndarray:
    """1/size of every ring a step indexes (``_mod``'s divisors), 1.0 for rings switched off."""
    sizes = [
        lay[RC],
        lay[RH],
        lay[RL],
        lay[RO],
        lay[RV],
        lay[ST_SK],
        lay[ST_SD],
        lay[MFI_P],
        lay[CCI_P],
    ]
    return np.array([1.0 / s if s > 0 else 1.0 for s in sizes], dtype=np.float64)


@njit(parallel=True, cache=True, error_model="numpy")
def advance(S, which, starts, lengths, step, lay, sma, ema, fp, inv, o, h, lw, c, v):
    """Feed bars to state columns: group g's bars are ``starts[g] + k * step`` for
    ``k < lengths[g]`` in the 1-D bar arrays, oldest first, and go to column ``which[g]``
    of the slot-major state ``S`` (width, N).

    Groups must name distinct columns (chunks of them run in parallel).
    """
    groups = which.shape[0]
    for ch in prange((groups + CHUNK - 1) // CHUNK):
        g0 = ch * CHUNK
        _chunk(
            S,
            which,
            starts,
            lengths,
            step,
            g0,
            min(groups, g0 + CHUNK),
            lay,
            sma,
            ema,
            fp,
            inv,
            o,
            h,
            lw,
            c,
            v,
        )


@njit(cache=True, error_model="numpy")
def advance_serial(S, which, starts, lengths, step, lay, sma, ema, fp, inv, o, h, lw, c, v):
    """``advance`` on the calling thread alone (for small calls and for measuring)."""
    groups = which.shape[0]
    for g0 in range(0, groups, CHUNK):
        _chunk(
            S,
            which,
            starts,
            lengths,
            step,
            g0,
            min(groups, g0 + CHUNK),
            lay,
            sma,
            ema,
            fp,
            inv,
            o,
            h,
            lw,
            c,
            v,
        )


@njit(cache=True, error_model="numpy")
def bar_defect(o, h, lw, c, v):
    """The first defect of five equally long 1-D bar arrays, as ``(kind, field, index)``:
    kind 1, an infinity (the first field, in order, that holds one); kind 2, a field NaN
    where close is not or the other way (a bar is all five fields or none); ``(0, 0, n)``
    when there is none, with ``n`` the bars present.  One pass where numpy takes a dozen."""
    # Clean bars (every call but a refused one) take one branch-free pass that the compiler
    # vectorises; a loop that returns at the first defect cannot be, and took ~7x as long
    # (47 us against 7 for one bar of 5,224 symbols).  Only a defect pays for finding it.
    n = 0
    bad = 0
    for i in range(c.shape[0]):
        cn = c[i] != c[i]
        n += np.int64(not cn)
        # x * 0 is NaN for a NaN or an infinity: a bar is clean when that holds for no
        # field or for all five as NaNs (no bar)
        z = o[i] * 0.0 + h[i] * 0.0 + lw[i] * 0.0 + v[i] * 0.0 + c[i] * 0.0
        none = (o[i] != o[i]) & (h[i] != h[i]) & (lw[i] != lw[i]) & (v[i] != v[i]) & cn
        bad += np.int64((z != z) & (not none))
    if not bad:
        return 0, 0, n
    fields = (o, h, lw, c, v)
    for f in range(5):
        x = fields[f]
        for i in range(x.shape[0]):
            if np.isinf(x[i]):
                return 1, f, i
    for f in (0, 1, 2, 4):
        x = fields[f]
        for i in range(c.shape[0]):
            if np.isnan(x[i]) != np.isnan(c[i]):
                return 2, f, i
    return 0, 0, n  # not reached: the pass above found a defect


@njit(cache=True, error_model="numpy")
def ring_tail(S, offset, ring, k, out):
    """``out[r, j]``: bar ``count_j - k + r`` of symbol j from its ring at slots
    ``offset .. offset + ring`` (NaN before its first bar): the last ``k`` bars, right-aligned."""
    n = S.shape[1]
    for j in range(n):
        count = np.int64(S[COUNT, j])
        first = count - k  # bar index of row 0
        q = first % ring if first >= 0 else 0  # its ring slot: one division per symbol
        for r in range(k):
            if first + r < 0:
                out[r, j] = np.nan
            else:
                out[r, j] = S[offset + q, j]
                q = q + 1 if q + 1 < ring else 0


@njit(cache=True)
def rotate_rings(S, rings, shift, sign):
    """Turn every ring of every symbol by ``sign * shift[j]`` slots, in place: a value at ring
    slot q moves to ``(q + sign * shift[j]) % size``.  ``rings``: (first slot, size) pairs.

    Rings are indexed by each symbol's bar count; turned by the calendar position of its
    first bar they are indexed by session instead, so a new session writes the same ring
    slot for every symbol (what a store of the state that writes only changed rows wants).
    """
    n = S.shape[1]
    longest = 0
    for q in range(rings.shape[0]):
        if rings[q, 1] > longest:
            longest = rings[q, 1]
    tmp = np.empty(longest, np.float64)
    for q in range(rings.shape[0]):
        o, r = rings[q, 0], rings[q, 1]
        for j in range(n):
            d = (sign * shift[j]) % r
            if d == 0:
                continue
            for k in range(r):
                tmp[(k + d) % r] = S[o + k, j]
            for k in range(r):
                S[o + k, j] = tmp[k]
