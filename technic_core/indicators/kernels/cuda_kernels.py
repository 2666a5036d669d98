"""CUDA kernels for the thirteen indicators, one thread per symbol.

Arrays are ``(T, N)`` float64, C-contiguous, time on axis 0: thread ``n``
walks column ``n`` down the rows, so at each step the threads of a warp read
one contiguous stretch of a row.  Each kernel writes every element of its
column (NaN before the first value), so outputs need no prior fill.

The arithmetic reproduces the installed TA-Lib (0.8.x C library) operation
for operation, because a recurrence's rounding is part of its answer: a MACD
histogram near zero differs by 1e-8 relative from an algebraically equal
formula.  The conventions below were checked bit for bit against ``talib``
(see tests/gpu).  Two helpers pin the rounding:

* ``_fma(a, b, c)``: a single-rounding multiply-add where TA-Lib calls
  ``fma()`` (EMA and MACD steps, the ATR Wilder step, BBANDS' upper band when
  the deviations differ).
* ``_mul(a, b)``: a product that must be rounded on its own.  NVVM contracts
  ``a*b + c`` into an FMA by default, and ptxas may fuse a PTX ``mul.f64``
  with a following ``add.f64``; TA-Lib is built with contraction off, so
  every product whose value reaches an addition goes through ``_mul`` (PTX
  ``mul.rn.f64``, which neither compiler fuses).  Plain ``*`` is left only
  where a product feeds a comparison, a division or a store.

Numba's CUDA simulator (``NUMBA_ENABLE_CUDASIM=1``) runs these same kernels
on the CPU; only the two helpers differ there (plain Python floats never
contract, and its ``cuda.fma`` is not fused, so an exact rational FMA stands
in).  The kernels know nothing of the API above them.
"""

from __future__ import annotations

import math

from numba import cuda

try:  # numba-cuda keeps its own config; older numba exposes it at the top
    from numba.cuda.core import config as _cuda_config
except ImportError:  # pragma: no cover - older numba
    from numba import config as _cuda_config

SIMULATED = bool(getattr(_cuda_config, "ENABLE_CUDASIM", False))

# TA-Lib's TA_EPSILON: TA_IS_ZERO(v) is |v| < eps, TA_IS_ZERO_SCALED(v, s) is |v| <= eps*s.
EPS = 1e-14
NAN = math.nan
THREADS_PER_BLOCK = 128

if SIMULATED:
    from fractions import Fraction

    @cuda.jit(device=True)
    def _fma(a, b, c):
        # The simulator's cuda.fma is a*b+c (two roundings); round once, exactly.
        if math.isfinite(a) and math.isfinite(b) and math.isfinite(c):
            return float(Fraction(a) * Fraction(b) + Fraction(c))
        return a * b + c

    @cuda.jit(device=True)
    def _mul(a, b):
        return a * b

else:
    from numba.cuda import libdevice

    @cuda.jit(device=True)
    def _fma(a, b, c):
        return cuda.fma(a, b, c)

    @cuda.jit(device=True)
    def _mul(a, b):
        return libdevice.dmul_rn(a, b)


def launch_config(n_symbols: int) -> tuple[int, int]:
    """(blocks, threads per block) for one thread per symbol."""
    blocks = max(1, (n_symbols + THREADS_PER_BLOCK - 1) // THREADS_PER_BLOCK)
    return blocks, THREADS_PER_BLOCK


# --------------------------------------------------------------------------
# shared device helpers
# --------------------------------------------------------------------------


@cuda.jit(device=True)
def _first_valid(x, n):
    t_len = x.shape[0]
    for t in range(t_len):
        if not math.isnan(x[t, n]):
            return t
    return t_len


@cuda.jit(device=True)
def _fill_nan(out, n, stop):
    hi = min(stop, out.shape[0])
    for t in range(hi):
        out[t, n] = NAN


@cuda.jit(device=True)
def _true_range(high, low, close, n, t):
    greatest = high[t, n] - low[t, n]
    v2 = abs(close[t - 1, n] - high[t, n])
    if v2 > greatest:
        greatest = v2
    v3 = abs(close[t - 1, n] - low[t, n])
    if v3 > greatest:
        greatest = v3
    return greatest


@cuda.jit(device=True)
def _typical(high, low, close, n, t):
    return (high[t, n] + low[t, n] + close[t, n]) / 3.0


@cuda.jit(device=True)
def _window_extremes(high, low, n, t, period):
    hi = high[t - period + 1, n]
    lo = low[t - period + 1, n]
    for j in range(t - period + 2, t + 1):
        if high[j, n] > hi:
            hi = high[j, n]
        if low[j, n] < lo:
            lo = low[j, n]
    return hi, lo


@cuda.jit(device=True)
def _is_flat(hi, lo):
    # TA_IS_ZERO_SCALED(hi-lo, |hi|+|lo|): a range within ~90 ulp of the prices.
    return abs(hi - lo) <= EPS * (abs(hi) + abs(lo))


@cuda.jit(device=True)
def _fast_k(high, low, close, n, t, period):
    hi, lo = _window_extremes(high, low, n, t, period)
    if _is_flat(hi, lo):
        return 0.0
    return _mul(100.0, (close[t, n] - lo) / (hi - lo))


@cuda.jit(device=True)
def _money_flow(high, low, close, volume, n, t):
    """(positive, negative, raw) money flow of bar t against bar t-1."""
    cur = _typical(high, low, close, n, t)
    prev = _typical(high, low, close, n, t - 1)
    diff = cur - prev
    flow = _mul(cur, volume[t, n])
    if abs(diff) <= EPS * (abs(cur) + abs(prev)):
        flow = 0.0
    if diff < 0.0:
        return 0.0, flow, flow
    return flow, 0.0, flow


# --------------------------------------------------------------------------
# kernels (one per indicator); ``n`` is the symbol, ``s`` its first row
# --------------------------------------------------------------------------


@cuda.jit
def sma_kernel(x, period, out):
    n = cuda.grid(1)
    if n >= x.shape[1]:
        return
    t_len = x.shape[0]
    s = _first_valid(x, n)
    first = s + period - 1
    _fill_nan(out, n, first)
    if first >= t_len:
        return
    total = 0.0
    for t in range(s, first):
        total += x[t, n]
    trailing = s
    for t in range(first, t_len):
        total += x[t, n]
        value = total
        total -= x[trailing, n]
        trailing += 1
        out[t, n] = value / period


@cuda.jit
def ema_kernel(x, period, out):
    n = cuda.grid(1)
    if n >= x.shape[1]:
        return
    t_len = x.shape[0]
    s = _first_valid(x, n)
    first = s + period - 1
    _fill_nan(out, n, first)
    if first >= t_len:
        return
    if period == 1:  # TA-Lib copies at period 1 (its k=1 step is not exact)
        for t in range(first, t_len):
            out[t, n] = x[t, n]
        return
    total = 0.0
    for t in range(s, first + 1):
        total += x[t, n]
    prev = total / period
    out[first, n] = prev
    k = 2.0 / (period + 1)
    for t in range(first + 1, t_len):
        prev = _fma(x[t, n] - prev, k, prev)
        out[t, n] = prev


@cuda.jit
def rsi_kernel(x, period, out):
    n = cuda.grid(1)
    if n >= x.shape[1]:
        return
    t_len = x.shape[0]
    s = _first_valid(x, n)
    first = s + period
    _fill_nan(out, n, first)
    if first >= t_len:
        return
    inv = 1.0 / period
    keep = period - 1.0
    prev = x[s, n]
    gain = 0.0
    loss = 0.0
    for t in range(s + 1, first + 1):
        d = x[t, n] - prev
        prev = x[t, n]
        up = d if d > 0.0 else 0.0
        gain += up
        loss += up - d
    loss = _mul(loss, inv)
    gain = _mul(gain, inv)
    total = gain + loss
    out[first, n] = 100.0 * (gain / total) if total > 0.0 else 0.0
    for t in range(first + 1, t_len):
        d = x[t, n] - prev
        prev = x[t, n]
        loss = _mul(loss, keep)
        gain = _mul(gain, keep)
        up = d if d > 0.0 else 0.0
        gain += up
        loss += up - d
        loss = _mul(loss, inv)
        gain = _mul(gain, inv)
        total = gain + loss
        out[t, n] = 100.0 * (gain / total) if total > 0.0 else 0.0


@cuda.jit
def macd_kernel(x, fast, slow, signal, out_macd, out_signal, out_hist):
    # fast <= slow (the public API swaps them like TA-Lib does).
    n = cuda.grid(1)
    if n >= x.shape[1]:
        return
    t_len = x.shape[0]
    s = _first_valid(x, n)
    first = s + slow - 1 + signal - 1
    _fill_nan(out_macd, n, first)
    _fill_nan(out_signal, n, first)
    _fill_nan(out_hist, n, first)
    if first >= t_len:
        return
    # Both EMAs are seeded by an SMA whose windows end on the same bar (the
    # fast one does not start at the first bar: TA-Lib's MACD convention).
    t = s
    slow_total = 0.0
    for _ in range(slow - fast):
        slow_total += x[t, n]
        t += 1
    fast_ema = 0.0
    for _ in range(fast):
        fast_ema += x[t, n]
        slow_total += x[t, n]
        t += 1
    slow_ema = slow_total / slow
    fast_ema = fast_ema / fast
    k_fast = 2.0 / (fast + 1)
    k_slow = 2.0 / (slow + 1)
    k_signal = 2.0 / (signal + 1)
    line = fast_ema - slow_ema
    sig = 0.0
    sig += line
    for _ in range(signal - 1):
        fast_ema = _fma(x[t, n] - fast_ema, k_fast, fast_ema)
        slow_ema = _fma(x[t, n] - slow_ema, k_slow, slow_ema)
        t += 1
        line = fast_ema - slow_ema
        sig += line
    sig = sig / signal
    out_macd[first, n] = line
    out_signal[first, n] = sig
    out_hist[first, n] = line - sig
    for t in range(first + 1, t_len):
        fast_ema = _fma(x[t, n] - fast_ema, k_fast, fast_ema)
        slow_ema = _fma(x[t, n] - slow_ema, k_slow, slow_ema)
        line = fast_ema - slow_ema
        if signal == 1:
            sig = line
        else:
            sig = _fma(line - sig, k_signal, sig)
        out_macd[t, n] = line
        out_signal[t, n] = sig
        out_hist[t, n] = line - sig


@cuda.jit
def bbands_kernel(x, period, nbdevup, nbdevdn, out_upper, out_middle, out_lower):
    """Middle band: SMA running sum.  Deviation: TA-Lib's shifted-data variance,
    two running sums around a shift that is re-centred (from scratch) when
    cancellation threatens or every 32 periods."""
    n = cuda.grid(1)
    if n >= x.shape[1]:
        return
    t_len = x.shape[0]
    s = _first_valid(x, n)
    first = s + period - 1
    _fill_nan(out_upper, n, first)
    _fill_nan(out_middle, n, first)
    _fill_nan(out_lower, n, first)
    if first >= t_len:
        return
    inv = 1.0 / period
    trailing = s
    shift = x[s, n]
    ma_total = 0.0
    sum1 = 0.0
    sum2 = 0.0
    for j in range(s, first):
        ma_total += x[j, n]
        d = x[j, n] - shift
        sum1 += d
        sum2 += _mul(d, d)
    since_reseed = 32 * period
    for i in range(first, t_len):
        ma_total += x[i, n]
        d = x[i, n] - shift
        sum1 += d
        sum2 += _mul(d, d)
        mean1 = _mul(sum1, inv)
        variance = _mul(sum2, inv) - _mul(mean1, mean1)
        middle = ma_total / period

        ma_total -= x[trailing, n]
        d = x[trailing, n] - shift
        sum1 -= d
        d2 = _mul(d, d)
        sum2 -= d2
        trailing += 1

        since_reseed -= 1
        if variance < 0.000001 * _mul(sum2, inv) or d2 > 1000000.0 * sum2 or since_reseed <= 0:
            since_reseed = 32 * period
            start = i - (period - 1)
            acc = 0.0
            for j in range(start, i + 1):
                acc += x[j, n]
            shift = _mul(acc, inv)
            sum1 = 0.0
            sum2 = 0.0
            for j in range(start, i + 1):
                d = x[j, n] - shift
                sum1 += d
                sum2 += _mul(d, d)
            mean1 = _mul(sum1, inv)
            variance = _mul(sum2, inv) - _mul(mean1, mean1)
            if variance < 0.000000000001 * _mul(sum2, inv):
                variance = 0.0
            d = x[start, n] - shift
            sum1 -= d
            sum2 -= _mul(d, d)

        dev = math.sqrt(variance) if variance != 0.0 else 0.0
        out_middle[i, n] = middle
        if nbdevup == nbdevdn:
            width = _mul(dev, nbdevup)
            out_upper[i, n] = middle + width
            out_lower[i, n] = middle - width
        else:
            out_upper[i, n] = _fma(dev, nbdevup, middle)
            out_lower[i, n] = middle - _mul(dev, nbdevdn)


@cuda.jit
def atr_kernel(high, low, close, period, out):
    n = cuda.grid(1)
    if n >= close.shape[1]:
        return
    t_len = close.shape[0]
    s = _first_valid(close, n)
    first = s + period
    _fill_nan(out, n, first)
    if first >= t_len:
        return
    # Wilder step as TA-Lib: beta first, alpha = 1 - beta (they sum to 1 exactly).
    beta = (period - 1.0) / period
    alpha = 1.0 - beta
    total = 0.0
    for t in range(s + 1, first + 1):
        total += _true_range(high, low, close, n, t)
    prev = total / period
    out[first, n] = prev
    for t in range(first + 1, t_len):
        prev = _fma(beta, prev, _mul(alpha, _true_range(high, low, close, n, t)))
        out[t, n] = prev


@cuda.jit
def adx_kernel(high, low, close, period, out):
    n = cuda.grid(1)
    if n >= close.shape[1]:
        return
    t_len = close.shape[0]
    s = _first_valid(close, n)
    first = s + 2 * period - 1
    _fill_nan(out, n, first)
    if first >= t_len:
        return
    keep = period - 1.0
    t = s
    prev_high = high[s, n]
    prev_low = low[s, n]
    minus_dm = 0.0
    plus_dm = 0.0
    tr_sum = 0.0
    for _ in range(period - 1):
        t += 1
        diff_p = high[t, n] - prev_high
        diff_m = prev_low - low[t, n]
        prev_high = high[t, n]
        prev_low = low[t, n]
        if diff_m > 0.0 and diff_p < diff_m:
            minus_dm += diff_m
        elif diff_p > 0.0 and diff_p > diff_m:
            plus_dm += diff_p
        tr_sum += _true_range(high, low, close, n, t)
    sum_dx = 0.0
    for _ in range(period):
        t += 1
        diff_p = high[t, n] - prev_high
        diff_m = prev_low - low[t, n]
        prev_high = high[t, n]
        prev_low = low[t, n]
        minus_dm -= minus_dm / period
        plus_dm -= plus_dm / period
        if diff_m > 0.0 and diff_p < diff_m:
            minus_dm += diff_m
        elif diff_p > 0.0 and diff_p > diff_m:
            plus_dm += diff_p
        tr_sum = tr_sum - tr_sum / period + _true_range(high, low, close, n, t)
        if tr_sum > 0.0:
            minus_di = _mul(100.0, minus_dm / tr_sum)
            plus_di = _mul(100.0, plus_dm / tr_sum)
            di_sum = minus_di + plus_di
            if abs(di_sum) >= EPS:
                sum_dx += _mul(100.0, abs(minus_di - plus_di) / di_sum)
    adx = sum_dx / period
    out[first, n] = adx
    for t in range(first + 1, t_len):
        diff_p = high[t, n] - prev_high
        diff_m = prev_low - low[t, n]
        prev_high = high[t, n]
        prev_low = low[t, n]
        minus_dm -= minus_dm / period
        plus_dm -= plus_dm / period
        if diff_m > 0.0 and diff_p < diff_m:
            minus_dm += diff_m
        elif diff_p > 0.0 and diff_p > diff_m:
            plus_dm += diff_p
        tr_sum = tr_sum - tr_sum / period + _true_range(high, low, close, n, t)
        if tr_sum > 0.0:
            minus_di = _mul(100.0, minus_dm / tr_sum)
            plus_di = _mul(100.0, plus_dm / tr_sum)
            di_sum = minus_di + plus_di
            if abs(di_sum) >= EPS:
                dx = _mul(100.0, abs(minus_di - plus_di) / di_sum)
                adx = (_mul(adx, keep) + dx) / period
        out[t, n] = adx


@cuda.jit
def stoch_kernel(high, low, close, fastk_period, slowk_period, slowd_period, out_k, out_d):
    """SMA-smoothed stochastic.  Slow %K values before the first output are
    parked in ``out_k`` (slow %D's running sum reads its trailing term back)
    and overwritten with NaN at the end; fast %K's trailing term is
    recomputed from the window."""
    n = cuda.grid(1)
    if n >= close.shape[1]:
        return
    t_len = close.shape[0]
    s = _first_valid(close, n)
    k0 = s + fastk_period - 1
    k1 = k0 + slowk_period - 1
    first = k1 + slowd_period - 1
    if first >= t_len:
        _fill_nan(out_k, n, t_len)
        _fill_nan(out_d, n, t_len)
        return
    k_total = 0.0
    d_total = 0.0
    for t in range(k0, t_len):
        k_total += _fast_k(high, low, close, n, t, fastk_period)
        if t >= k1:
            value = k_total
            k_total -= _fast_k(high, low, close, n, t - slowk_period + 1, fastk_period)
            slow_k = value / slowk_period
            out_k[t, n] = slow_k
            d_total += slow_k
            if t >= first:
                value = d_total
                d_total -= out_k[t - slowd_period + 1, n]
                out_d[t, n] = value / slowd_period
    _fill_nan(out_k, n, first)
    _fill_nan(out_d, n, first)


@cuda.jit
def obv_kernel(close, volume, out):
    n = cuda.grid(1)
    if n >= close.shape[1]:
        return
    t_len = close.shape[0]
    s = _first_valid(close, n)
    _fill_nan(out, n, s)
    if s >= t_len:
        return
    level = volume[s, n]  # TA-Lib's OBV starts at the first bar's volume
    prev = close[s, n]
    for t in range(s, t_len):
        price = close[t, n]
        if price > prev:
            level += volume[t, n]
        elif price < prev:
            level -= volume[t, n]
        out[t, n] = level
        prev = price


@cuda.jit
def roc_kernel(x, period, out):
    n = cuda.grid(1)
    if n >= x.shape[1]:
        return
    t_len = x.shape[0]
    s = _first_valid(x, n)
    first = s + period
    _fill_nan(out, n, first)
    for t in range(first, t_len):
        base = x[t - period, n]
        out[t, n] = ((x[t, n] / base) - 1.0) * 100.0 if base != 0.0 else 0.0


@cuda.jit
def willr_kernel(high, low, close, period, out):
    n = cuda.grid(1)
    if n >= close.shape[1]:
        return
    t_len = close.shape[0]
    s = _first_valid(close, n)
    first = s + period - 1
    _fill_nan(out, n, first)
    for t in range(first, t_len):
        hi, lo = _window_extremes(high, low, n, t, period)
        if _is_flat(hi, lo):
            out[t, n] = 0.0
        else:
            value = _mul(-100.0, (hi - close[t, n]) / (hi - lo))
            # TA-Lib clamps to [-100, 0] (a close outside its bar's range).
            if value < -100.0:
                value = -100.0
            if value > 0.0:
                value = 0.0
            out[t, n] = value


@cuda.jit
def cci_kernel(high, low, close, period, out):
    """TA-Lib sums its circular buffer in slot order, not time order: slot j
    holds the bar tau with (tau - s) % period == j.  Sums follow that order."""
    n = cuda.grid(1)
    if n >= close.shape[1]:
        return
    t_len = close.shape[0]
    s = _first_valid(close, n)
    first = s + period - 1
    _fill_nan(out, n, first)
    for t in range(first, t_len):
        average = 0.0
        for j in range(period):
            tau = t - ((t - s - j) % period)
            average += _typical(high, low, close, n, tau)
        average /= period
        deviation = 0.0
        for j in range(period):
            tau = t - ((t - s - j) % period)
            deviation += abs(_typical(high, low, close, n, tau) - average)
        deviation /= period
        delta = _typical(high, low, close, n, t) - average
        scale = EPS * abs(average)
        if abs(delta) <= scale or abs(deviation) <= scale:
            out[t, n] = 0.0
        else:
            out[t, n] = delta / (0.015 * deviation)


@cuda.jit
def mfi_kernel(high, low, close, volume, period, out):
    """Running positive/negative flow sums; the flow leaving the window is
    recomputed from its bars (no ring buffer).  A window of bars that put no
    flow in (flat price or no volume) resets both sums to exactly zero."""
    n = cuda.grid(1)
    if n >= close.shape[1]:
        return
    t_len = close.shape[0]
    s = _first_valid(close, n)
    first = s + period
    _fill_nan(out, n, first)
    if first >= t_len:
        return
    pos_sum = 0.0
    neg_sum = 0.0
    null_run = 0
    for t in range(s + 1, t_len):
        if t > first:
            old_pos, old_neg, _ = _money_flow(high, low, close, volume, n, t - period)
            pos_sum -= old_pos
            neg_sum -= old_neg
        pos, neg, flow = _money_flow(high, low, close, volume, n, t)
        pos_sum += pos
        neg_sum += neg
        null_run = null_run + 1 if flow == 0.0 else 0
        if null_run >= period:
            null_run = period
            pos_sum = 0.0
            neg_sum = 0.0
        if t >= first:
            total = pos_sum + neg_sum
            # the sums drift by a few ulp as the window slides: clamp into [0, total]
            if pos_sum < 0.0:
                clamped = 0.0
            elif pos_sum > total:
                clamped = total
            else:
                clamped = pos_sum
            out[t, n] = 100.0 * (clamped / total) if total > 0.0 else 0.0
