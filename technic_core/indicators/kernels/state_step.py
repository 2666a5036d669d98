"""Numba kernels that advance indicator state one bar at a time, every symbol at once.

A symbol's state is one float64 row: its bar count, rings of its last raw
bars, the running sums and averages of each indicator exactly as TA-Lib keeps
them, and the indicator values at its last bar.  ``advance`` feeds new bars to
many rows in parallel; building a state from a whole history is the same call
with every bar, so a state advanced by one bar and a state built from scratch
ran the very same arithmetic (bit for bit).

Where TA-Lib (0.8) tests a value against zero, the test here is the same
(``TA_EPSILON``, scaled by the operands where TA-Lib scales it), so a flat
window gives TA-Lib's answer, not a division by a rounding residue.

The kernels know nothing of what calls them: the layout array ``lay`` says
where each quantity lives in a row and with which period (see
``technic_core.indicators.state``, which builds it).
"""
from __future__ import annotations

import numpy as np
from numba import njit, prange

EPS = 1e-14  # TA-Lib's TA_EPSILON

# Slots of the int64 layout array.  Offsets are column indices into a state row;
# a period of 0 switches the indicator off.  Slot names are shared with state.py.
SLOTS = (
    "RC", "OC", "RH", "OH", "RL", "OL", "RO", "OO", "RV", "OV",
    "RSI_P", "RSI_GAIN", "RSI_LOSS", "RSI_OUT",
    "MACD_F", "MACD_S", "MACD_SIG", "MACD_ACCF", "MACD_ACCS", "MACD_EF", "MACD_ES",
    "MACD_ACCSIG", "MACD_ESIG", "MACD_OUT",
    "BB_P", "BB_SUM", "BB_OUT",
    "ATR_P", "ATR_V", "ATR_OUT",
    "ST_FK", "ST_SK", "ST_SD", "ST_KRING", "ST_DRING", "ST_KSUM", "ST_DSUM", "ST_OUT",
    "ADX_P", "ADX_PDM", "ADX_MDM", "ADX_TR", "ADX_SUMDX", "ADX_V", "ADX_OUT",
    "MFI_P", "MFI_POSR", "MFI_NEGR", "MFI_POS", "MFI_NEG", "MFI_NULL", "MFI_OUT",
    "CCI_P", "CCI_RING", "CCI_OUT",
    "WILLR_P", "WILLR_OUT",
    "ROC_P", "ROC_OUT",
    "OBV_ON", "OBV_V", "OBV_OUT",
)
(RC, OC, RH, OH, RL, OL, RO, OO, RV, OV,
 RSI_P, RSI_GAIN, RSI_LOSS, RSI_OUT,
 MACD_F, MACD_S, MACD_SIG, MACD_ACCF, MACD_ACCS, MACD_EF, MACD_ES,
 MACD_ACCSIG, MACD_ESIG, MACD_OUT,
 BB_P, BB_SUM, BB_OUT,
 ATR_P, ATR_V, ATR_OUT,
 ST_FK, ST_SK, ST_SD, ST_KRING, ST_DRING, ST_KSUM, ST_DSUM, ST_OUT,
 ADX_P, ADX_PDM, ADX_MDM, ADX_TR, ADX_SUMDX, ADX_V, ADX_OUT,
 MFI_P, MFI_POSR, MFI_NEGR, MFI_POS, MFI_NEG, MFI_NULL, MFI_OUT,
 CCI_P, CCI_RING, CCI_OUT,
 WILLR_P, WILLR_OUT,
 ROC_P, ROC_OUT,
 OBV_ON, OBV_V, OBV_OUT) = range(len(SLOTS))

# Column 0 of every row is the number of bars the state has seen.
COUNT = 0


@njit(inline="always")
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


@njit(inline="always")
def _sma_step(s, n, x, trailing, p, a, out):
    """TA-Lib's SMA running total: the sum of the last p-1 values is carried."""
    if n < p:
        s[a] += x
        s[out] = np.nan
    else:
        tmp = s[a] + x
        s[out] = tmp / p
        s[a] = tmp - trailing


@njit(inline="always")
def _ema_seeded(s, n, x, p, acc, ema):
    """TA-Lib's EMA: seeded with the mean of the first p values; True once it exists."""
    if n < p:
        s[acc] += x
        return False
    if n == p:
        s[acc] += x
        s[ema] = s[acc] / p
        return True
    s[ema] = (x - s[ema]) * (2.0 / (p + 1)) + s[ema]
    return True


@njit
def _step(s, lay, sma, ema, fp, o, h, lw, c, v):
    n = int(s[COUNT]) + 1
    i = n - 1
    rc, rh, rl = lay[RC], lay[RH], lay[RL]
    oc, oh, ol = lay[OC], lay[OH], lay[OL]
    if n > 1:
        pc = s[oc + (i - 1) % rc]
        ph = s[oh + (i - 1) % rh]
        pl = s[ol + (i - 1) % rl]
    else:
        pc = ph = pl = np.nan
    s[oc + i % rc] = c
    s[oh + i % rh] = h
    s[ol + i % rl] = lw
    s[lay[OO] + i % lay[RO]] = o
    s[lay[OV] + i % lay[RV]] = v
    s[COUNT] = n

    # SMA: (period, running-sum column, output column) per row of `sma`
    for q in range(sma.shape[0]):
        p = sma[q, 0]
        trailing = s[oc + (i - p + 1) % rc] if n >= p else 0.0
        _sma_step(s, n, c, trailing, p, sma[q, 1], sma[q, 2])

    # EMA: (period, seed-sum column, ema column, output column)
    for q in range(ema.shape[0]):
        if _ema_seeded(s, n, c, ema[q, 0], ema[q, 1], ema[q, 2]):
            s[ema[q, 3]] = s[ema[q, 2]]
        else:
            s[ema[q, 3]] = np.nan

    # RSI (Wilder): sums over the first p changes, then smoothed averages
    p = lay[RSI_P]
    if p > 0:
        g, lo, out = lay[RSI_GAIN], lay[RSI_LOSS], lay[RSI_OUT]
        s[out] = np.nan
        if n >= 2:
            d = c - pc
            if n > p + 1:
                s[lo] *= (p - 1)
                s[g] *= (p - 1)
            if d < 0.0:
                s[lo] -= d
            else:
                s[g] += d
            if n >= p + 1:
                s[lo] /= p
                s[g] /= p
                tot = s[g] + s[lo]
                s[out] = 100.0 * (s[g] / tot) if tot > 0.0 else 0.0

    # MACD: both EMAs start at bar slow-1, the fast one seeded over its last `fast` bars
    f, sl, sg = lay[MACD_F], lay[MACD_S], lay[MACD_SIG]
    if sl > 0:
        out = lay[MACD_OUT]
        s[out] = s[out + 1] = s[out + 2] = np.nan
        if n <= sl:
            s[lay[MACD_ACCS]] += c
            if n > sl - f:
                s[lay[MACD_ACCF]] += c
            if n == sl:
                s[lay[MACD_ES]] = s[lay[MACD_ACCS]] / sl
                s[lay[MACD_EF]] = s[lay[MACD_ACCF]] / f
        else:
            es, ef = lay[MACD_ES], lay[MACD_EF]
            s[es] = (c - s[es]) * (2.0 / (sl + 1)) + s[es]
            s[ef] = (c - s[ef]) * (2.0 / (f + 1)) + s[ef]
        if n >= sl:
            m = s[lay[MACD_EF]] - s[lay[MACD_ES]]
            if _ema_seeded(s, n - sl + 1, m, sg, lay[MACD_ACCSIG], lay[MACD_ESIG]):
                sig = s[lay[MACD_ESIG]]
                s[out] = m
                s[out + 1] = sig
                s[out + 2] = m - sig

    # BBANDS (SMA middle): TA-Lib's running-sum middle, population deviation of the window
    p = lay[BB_P]
    if p > 0:
        out = lay[BB_OUT]
        trailing = s[oc + (i - p + 1) % rc] if n >= p else 0.0
        _sma_step(s, n, c, trailing, p, lay[BB_SUM], out + 1)
        if n >= p:
            tot = 0.0
            for k in range(p):
                tot += s[oc + (i - k) % rc]
            mean = tot / p
            var = 0.0
            for k in range(p):
                d = s[oc + (i - k) % rc] - mean
                var += d * d
            var /= p
            sd = np.sqrt(var) if not (var < EPS) else 0.0
            mid = s[out + 1]
            if fp[0] == fp[1]:
                w = sd * fp[0]
                s[out] = mid + w
                s[out + 2] = mid - w
            else:
                s[out] = mid + sd * fp[0]
                s[out + 2] = mid - sd * fp[1]
        else:
            s[out] = s[out + 2] = np.nan

    # ATR: mean of the first p true ranges, then Wilder's smoothing
    p = lay[ATR_P]
    if p > 0:
        a, out = lay[ATR_V], lay[ATR_OUT]
        s[out] = np.nan
        if n >= 2:
            tr = _true_range(h, lw, pc)
            if n <= p + 1:
                s[a] += tr
                if n == p + 1:
                    s[a] /= p
                    s[out] = s[a]
            else:
                s[a] = (s[a] * (p - 1) + tr) / p
                s[out] = s[a]

    # STOCH (SMA slow lines): fast %K over the window, then two SMAs of it
    fk, sk, sd_ = lay[ST_FK], lay[ST_SK], lay[ST_SD]
    if fk > 0:
        out = lay[ST_OUT]
        s[out] = s[out + 1] = np.nan
        if n >= fk:
            hi = -np.inf
            lo_ = np.inf
            for k in range(fk):
                x = s[oh + (i - k) % rh]
                if x > hi:
                    hi = x
                x = s[ol + (i - k) % rl]
                if x < lo_:
                    lo_ = x
            rng = hi - lo_
            if not (abs(rng) <= EPS * (abs(hi) + abs(lo_))):
                fast = ((c - lo_) / rng) * 100.0
            else:
                fast = 0.0
            qk = n - fk              # index of this value in the fast %K stream
            kr = lay[ST_KRING]
            s[kr + qk % sk] = fast
            trailing = s[kr + (qk - sk + 1) % sk] if qk + 1 >= sk else 0.0
            _sma_step(s, qk + 1, fast, trailing, sk, lay[ST_KSUM], out)
            if qk + 1 >= sk:
                slowk = s[out]
                qd = qk + 1 - sk     # index in the slow %K stream
                dr = lay[ST_DRING]
                s[dr + qd % sd_] = slowk
                trailing = s[dr + (qd - sd_ + 1) % sd_] if qd + 1 >= sd_ else 0.0
                _sma_step(s, qd + 1, slowk, trailing, sd_, lay[ST_DSUM], out + 1)
                if qd + 1 < sd_:
                    s[out] = np.nan

    # ADX: p-1 raw DM/TR sums, p smoothed bars summing DX, then Wilder's average of DX
    p = lay[ADX_P]
    if p > 0:
        pdm, mdm, trc = lay[ADX_PDM], lay[ADX_MDM], lay[ADX_TR]
        out = lay[ADX_OUT]
        s[out] = np.nan
        if n >= 2:
            dp = h - ph
            dm = pl - lw
            tr = _true_range(h, lw, pc)
            if n <= p:
                if dm > 0 and dp < dm:
                    s[mdm] += dm
                elif dp > 0 and dp > dm:
                    s[pdm] += dp
                s[trc] += tr
            else:
                s[mdm] -= s[mdm] / p
                s[pdm] -= s[pdm] / p
                if dm > 0 and dp < dm:
                    s[mdm] += dm
                elif dp > 0 and dp > dm:
                    s[pdm] += dp
                s[trc] = s[trc] - s[trc] / p + tr
                dx = np.nan
                if not (-EPS < s[trc] < EPS):
                    mdi = 100.0 * (s[mdm] / s[trc])
                    pdi = 100.0 * (s[pdm] / s[trc])
                    tot = mdi + pdi
                    if not (-EPS < tot < EPS):
                        dx = 100.0 * (abs(mdi - pdi) / tot)
                if n <= 2 * p:
                    if dx == dx:
                        s[lay[ADX_SUMDX]] += dx
                    if n == 2 * p:
                        s[lay[ADX_V]] = s[lay[ADX_SUMDX]] / p
                        s[out] = s[lay[ADX_V]]
                else:
                    if dx == dx:
                        s[lay[ADX_V]] = (s[lay[ADX_V]] * (p - 1) + dx) / p
                    s[out] = s[lay[ADX_V]]

    # MFI: money flow of each typical-price move in a ring, running sums
    p = lay[MFI_P]
    if p > 0:
        out = lay[MFI_OUT]
        s[out] = np.nan
        if n >= 2:
            pos, neg, nul = lay[MFI_POS], lay[MFI_NEG], lay[MFI_NULL]
            slot = (n - 2) % p
            if n > p + 1:
                s[pos] -= s[lay[MFI_POSR] + slot]
                s[neg] -= s[lay[MFI_NEGR] + slot]
            tp = (h + lw + c) / 3.0
            ptp = (ph + pl + pc) / 3.0
            d = tp - ptp
            mf = 0.0 if abs(d) <= EPS * (abs(tp) + abs(ptp)) else tp * v
            pf = 0.0 if d < 0.0 else mf
            nf = mf if d < 0.0 else 0.0
            s[lay[MFI_POSR] + slot] = pf
            s[lay[MFI_NEGR] + slot] = nf
            s[pos] += pf
            s[neg] += nf
            s[nul] = s[nul] + 1.0 if mf == 0.0 else 0.0
            if s[nul] >= p:
                s[nul] = p
                s[pos] = 0.0
                s[neg] = 0.0
            if n >= p + 1:
                tot = s[pos] + s[neg]
                pcl = s[pos]
                if pcl < 0.0:
                    pcl = 0.0
                elif pcl > tot:
                    pcl = tot
                s[out] = 0.0 if tot <= 0.0 else 100.0 * (pcl / tot)

    # CCI: typical prices in a ring summed in ring order, as TA-Lib's circular buffer
    p = lay[CCI_P]
    if p > 0:
        ring, out = lay[CCI_RING], lay[CCI_OUT]
        tp = (h + lw + c) / 3
        s[ring + i % p] = tp
        s[out] = np.nan
        if n >= p:
            avg = 0.0
            for k in range(p):
                avg += s[ring + k]
            avg /= p
            dev = 0.0
            for k in range(p):
                dev += abs(s[ring + k] - avg)
            dev /= p
            t = tp - avg
            scale = abs(avg)
            if not (abs(t) <= EPS * scale) and not (abs(dev) <= EPS * scale):
                s[out] = t / (0.015 * dev)
            else:
                s[out] = 0.0

    # WILLR: highest high and lowest low of the window
    p = lay[WILLR_P]
    if p > 0:
        out = lay[WILLR_OUT]
        s[out] = np.nan
        if n >= p:
            hi = -np.inf
            lo_ = np.inf
            for k in range(p):
                x = s[oh + (i - k) % rh]
                if x > hi:
                    hi = x
                x = s[ol + (i - k) % rl]
                if x < lo_:
                    lo_ = x
            if not (abs(hi - lo_) <= EPS * (abs(hi) + abs(lo_))):
                t = ((hi - c) / (hi - lo_)) * (-100.0)
                if t > 0.0:
                    t = 0.0
                elif t < -100.0:
                    t = -100.0
                s[out] = t
            else:
                s[out] = 0.0

    # ROC
    p = lay[ROC_P]
    if p > 0:
        out = lay[ROC_OUT]
        s[out] = np.nan
        if n >= p + 1:
            prev = s[oc + (i - p) % rc]
            s[out] = ((c / prev) - 1.0) * 100.0 if prev != 0.0 else 0.0

    # OBV: starts at the first bar's volume
    if lay[OBV_ON] > 0:
        a = lay[OBV_V]
        if n == 1:
            s[a] = v
        elif c > pc:
            s[a] += v
        elif c < pc:
            s[a] -= v
        s[lay[OBV_OUT]] = s[a]


@njit(parallel=True, cache=True)
def advance(rows, which, starts, lengths, lay, sma, ema, fp, o, h, lw, c, v):
    """Feed bars to state rows: group g's bars are ``[starts[g], starts[g] + lengths[g])``
    of the 1-D bar arrays, oldest first, and go to ``rows[which[g]]``.

    Groups must name distinct rows (they may run in parallel).
    """
    for g in prange(which.shape[0]):
        s = rows[which[g]]
        a = starts[g]
        for k in range(lengths[g]):
            _step(s, lay, sma, ema, fp, o[a + k], h[a + k], lw[a + k], c[a + k], v[a + k])

